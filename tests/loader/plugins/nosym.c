/* SPDX-License-Identifier: MIT */
/* A plugin whose entry has the wrong name, so tarn_backend_entry is missing. */
#include "fake.h"

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "nosym",
	.version = "1.0.0",
	FAKE_FUNCS,
};

TARN_BACKEND_EXPORT const tarn_backend_desc_t *tarn_backend_entry_v1(void);

const tarn_backend_desc_t *tarn_backend_entry_v1(void)
{
	return &desc;
}
