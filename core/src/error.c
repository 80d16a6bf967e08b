/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "internal.h"

/* Long enough for a task error naming task, worker, attempt and cause. */
#define LAST_ERROR_MAX 4096

static _Thread_local char last_error[LAST_ERROR_MAX];

TARN_API const char *tarn_strerror(int err)
{
	switch (err) {
	case TARN_OK:
		return "success";
#define X(name, num, msg)    \
	case TARN_##name: \
		return msg;
		TARN_ERRNO_MAP(X)
#undef X
	default:
		return "unknown error";
	}
}

TARN_API const char *tarn_err_name(int err)
{
	switch (err) {
	case TARN_OK:
		return "TARN_OK";
#define X(name, num, msg)    \
	case TARN_##name: \
		return "TARN_" #name;
		TARN_ERRNO_MAP(X)
#undef X
	default:
		return "TARN_EUNKNOWN";
	}
}

TARN_API const char *tarn_last_error(void)
{
	return last_error;
}

int tarn_verror(int code, const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	return code;
}

void tarn_error_clear(void)
{
	last_error[0] = '\0';
}

int tarn_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tarn_verror(code, fmt, ap);
	va_end(ap);
	return code;
}
