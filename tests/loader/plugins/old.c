/* SPDX-License-Identifier: MIT */
/*
 * A plugin built for ABI 1.0 exactly: its size covers the 1.0 table and no
 * more, and put, optional, is left out. Whatever lies in memory after its
 * descriptor (here: non-NULL junk) must never be read as a later minor's
 * function, which the test checks byte by byte once 1.1 appends fields.
 */
#include "fake.h"

struct desc_and_junk {
	tarn_backend_desc_t desc;
	void *junk[8];
};

static const struct desc_and_junk desc = {
	.desc = {
		.abi_major = TARN_BACKEND_ABI_MAJOR,
		.abi_minor = 0,
		.size = TARN_BACKEND_DESC_V1_0_SIZE,
		.name = "old",
		.version = "1.0.0",
		.description = "fake plugin built for ABI 1.0",
		FAKE_FUNCS,
	},
	.junk = {
		(void *)&desc, (void *)&desc, (void *)&desc, (void *)&desc,
		(void *)&desc, (void *)&desc, (void *)&desc, (void *)&desc,
	},
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc.desc;
}
