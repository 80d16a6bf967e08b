/* SPDX-License-Identifier: MIT */
/* A loadable plugin whose query() says it cannot run here, and why. */
#include <stdio.h>

#include "fake.h"

static int declines_query(const tarn_host_services_t *host, char *reason,
			  size_t reason_len)
{
	(void)host;
	snprintf(reason, reason_len,
		 "needs the fake interconnect, found none on this host");
	return TARN_EUNAVAIL;
}

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "declines",
	.version = "2.0.0",
	.description = "fake plugin that is never available",
	.caps = TARN_CAP_MULTI_NODE | TARN_CAP_SPAWN,
	.query = declines_query,
	.open = fake_open,
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
