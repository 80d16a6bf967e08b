/* SPDX-License-Identifier: MIT */
/*
 * A plugin built for a newer minor of the ABI: its descriptor is longer
 * and carries functions this host has never heard of after the ones it
 * knows. The host must accept it and read only the prefix it knows.
 */
#include "fake.h"

static int future_op(tarn_backend_t *be, int x)
{
	(void)be;
	return x + 1;
}

/* The layout a future header would give: 1.0's fields, then appended ones. */
struct desc_next {
	tarn_backend_desc_t known;
	int (*future_op)(tarn_backend_t *be, int x);
	const char *future_note;
	uint64_t future_flags;
};

static const struct desc_next desc = {
	.known = {
		.abi_major = TARN_BACKEND_ABI_MAJOR,
		.abi_minor = TARN_BACKEND_ABI_MINOR + 1,
		.size = sizeof(struct desc_next),
		.name = "newer",
		.version = "1.1.0",
		.description = "fake plugin from a newer minor ABI",
		.caps = TARN_CAP_DETERMINISTIC | TARN_CAP_ZERO_COPY,
		FAKE_FUNCS,
		.put = fake_put,
	},
	.future_op = future_op,
	.future_note = "appended in a later minor",
	.future_flags = UINT64_MAX,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc.known;
}
