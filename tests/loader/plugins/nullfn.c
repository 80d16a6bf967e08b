/* SPDX-License-Identifier: MIT */
/* A plugin that forgot two mandatory functions, submit and release. */
#include "fake.h"

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "nullfn",
	.version = "1.0.0",
	.query = fake_query,
	.open = fake_open,
	.close = fake_close,
	.create = fake_create,
	.seal = fake_seal,
	.fetch = fake_fetch,
	.unpin = fake_unpin,
	.wait = fake_wait,
	.cluster_info = fake_cluster_info,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
