/* SPDX-License-Identifier: MIT */
/* A plugin that claims actors but has neither actor_create nor actor_kill. */
#include "fake.h"

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "actorsnofn",
	.version = "1.0.0",
	.caps = TARN_CAP_ACTORS,
	FAKE_FUNCS,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
