/* SPDX-License-Identifier: MIT */
/* A plugin built for the next ABI major, which this host must refuse. */
#include "fake.h"

static const tarn_backend_desc_t desc = {
	.abi_major = TARN_BACKEND_ABI_MAJOR + 1,
	.abi_minor = 0,
	.size = sizeof(tarn_backend_desc_t),
	.name = "badmajor",
	.version = "9.9.9",
	FAKE_FUNCS,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
