/* SPDX-License-Identifier: MIT */
/*
 * A plugin whose descriptor claims to end before cluster_info, as a draft
 * of the 1.0 ABI might have: too small to hold the 1.0 table.
 */
#include <stddef.h>

#include "fake.h"

static const tarn_backend_desc_t desc = {
	.abi_major = TARN_BACKEND_ABI_MAJOR,
	.abi_minor = 0,
	.size = offsetof(tarn_backend_desc_t, cluster_info),
	.name = "small",
	.version = "0.9.0",
	FAKE_FUNCS,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
