/* SPDX-License-Identifier: MIT */
/*
 * A plugin that claims multi-process execution and load_library() but has
 * no worker_loop(), so its workers could never run a task.
 */
#include "fake.h"

static int multinofn_load_library(tarn_backend_t *be, const char *path)
{
	(void)be;
	(void)path;
	return 0;
}

static const tarn_backend_desc_t desc = {
	FAKE_HEADER,
	.name = "multinofn",
	.version = "1.0.0",
	.caps = TARN_CAP_MULTI_PROCESS,
	FAKE_FUNCS,
	.load_library = multinofn_load_library,
};

const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &desc;
}
