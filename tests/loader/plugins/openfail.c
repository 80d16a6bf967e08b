/* SPDX-License-Identifier: MIT */
/*
 * A plugin that loads and says it is available, but whose open() fails
 * half way, as a backend whose workers do not start would: it must undo
 * what it did, say why through host->set_error(), and return an error.
 */
#include "fake.h"

#define WHY "cannot start the fake workers: they never start"

static int openfail_open(const tarn_host_services_t *host,
			 tarn_open_info_t *info, tarn_backend_t **out)
{
	tarn_backend_t *be;
	int rc;

	rc = fake_open(host, info, &be);
	if (rc)
		return rc;
	fake_close(be);
	*out = NULL;
	host->set_error(host->host, WHY);
	return TARN_EIO;
}

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "openfail",
	.version = "1.0.0",
	.description = "fake plugin whose open() always fails",
	.query = fake_query,
	.open = openfail_open,
	.close = fake_close,
	.submit = fake_submit,
	.create = fake_create,
	.seal = fake_seal,
	.fetch = fake_fetch,
	.unpin = fake_unpin,
	.wait = fake_wait,
	.release = fake_release,
	.cluster_info = fake_cluster_info,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
