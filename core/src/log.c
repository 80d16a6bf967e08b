/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"

static atomic_int log_level = TARN_LOG_WARNING;

void tarn_log_set_level(int level)
{
	atomic_store(&log_level, level);
}

int tarn_log_get_level(void)
{
	return atomic_load(&log_level);
}

void tarn_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char line[2048];
	va_list ap;

	if (level > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines from several threads do not mix. */
	fprintf(stderr, "tarn: %s: %s\n",
		names[level < 0 ? 0 : level > 3 ? 3 : level], line);
}
