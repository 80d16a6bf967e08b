/* SPDX-License-Identifier: MIT */
/*
 * A plugin that needs a symbol nobody provides, as one linked against a
 * library that is missing at run time would: RTLD_NOW makes dlopen() fail.
 */
#include "fake.h"

int fake_symbol_nobody_defines(void);

static int unresolved_query(const tarn_host_services_t *host, char *reason,
			    size_t reason_len)
{
	(void)host;
	(void)reason;
	(void)reason_len;
	return fake_symbol_nobody_defines();
}

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "unresolved",
	.version = "1.0.0",
	.query = unresolved_query,
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
