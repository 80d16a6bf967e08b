/* SPDX-License-Identifier: MIT */
/* A plugin whose entry returns no descriptor. */
#include "fake.h"

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return NULL;
}
