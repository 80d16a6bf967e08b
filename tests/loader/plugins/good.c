/* SPDX-License-Identifier: MIT */
/*
 * A minimal plugin that passes every loader check, built for exactly this
 * header's ABI. Built again in shadow/ under other names and versions to
 * show which folder wins.
 */
#include "fake.h"

#ifndef FAKE_NAME
#define FAKE_NAME "good"
#endif
#ifndef FAKE_VERSION
#define FAKE_VERSION "1.0.0"
#endif

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = FAKE_NAME,
	.version = FAKE_VERSION,
	.description = "fake plugin that passes every check",
	.caps = TARN_CAP_DETERMINISTIC,
	FAKE_FUNCS,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
