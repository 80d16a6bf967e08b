/* SPDX-License-Identifier: MIT */
/* A plugin whose descriptor name differs from its file name (wrongname.so). */
#include "fake.h"

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "rightname",
	.version = "1.0.0",
	FAKE_FUNCS,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
