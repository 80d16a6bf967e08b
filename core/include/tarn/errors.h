/* SPDX-License-Identifier: MIT */
/**
 * DOC: tarn error codes
 *
 * Every tarn function that can fail returns 0 on success or a negative
 * ``TARN_E*`` code. The codes come from one X-macro list, TARN_ERRNO_MAP(),
 * so that the enum, tarn_strerror() and tarn_err_name() can never disagree.
 *
 * The list is append-only: a code keeps its number forever, because plugins
 * built against an older header return these numbers across the ABI.
 *
 * A code says what kind of failure happened; tarn_last_error() says the
 * rest (which setting, which file, which task, which worker).
 */
#ifndef TARN_ERRORS_H
#define TARN_ERRORS_H

#include <tarn/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, number, message). Append only; never renumber. */
#define TARN_ERRNO_MAP(X)                                                   \
	X(EINVAL, -1, "invalid argument")                                   \
	X(ENOMEM, -2, "out of memory")                                      \
	X(ENOENT, -3, "no such object, task, setting or file")              \
	X(ETIMEDOUT, -4, "timed out")                                       \
	X(ETASK, -5, "task failed")                                         \
	X(ENOTINIT, -6, "tarn is not initialized")                          \
	X(EBUSY, -7, "already initialized or in use")                       \
	X(ECONFIG, -8, "invalid configuration")                             \
	X(EPLUGIN, -9, "backend plugin could not be loaded")                \
	X(EABI, -10, "backend plugin ABI mismatch")                         \
	X(EUNAVAIL, -11, "backend not available here")                      \
	X(ENOTSUP, -12, "not supported by this backend")                    \
	X(EIO, -13, "input/output error")                                   \
	X(ENOSPC, -14, "object store full")                                 \
	X(EWORKER, -15, "worker process died")                              \
	X(ECANCELED, -16, "canceled")                                       \
	X(EEXIST, -17, "already exists")                                    \
	X(EPROTO, -18, "protocol error")                                    \
	X(EACTOR, -19, "actor is dead or failed")                           \
	X(EAGAIN, -20, "resource temporarily unavailable")

/**
 * enum tarn_errno - error codes returned by tarn functions
 *
 * TARN_OK is 0; every error is negative. Use tarn_strerror() for a fixed
 * message, tarn_err_name() for the symbolic name and tarn_last_error() for
 * the detail of the last failure on the calling thread.
 */
typedef enum tarn_errno {
	TARN_OK = 0,
#define TARN_ERRNO_ENUM_(name, num, msg) TARN_##name = (num),
	TARN_ERRNO_MAP(TARN_ERRNO_ENUM_)
#undef TARN_ERRNO_ENUM_
} tarn_errno_t;

/**
 * tarn_strerror() - fixed message for an error code
 * @err: a TARN_E* code, 0, or any other integer
 *
 * Thread safety: safe from any thread.
 *
 * Return: a static string, never NULL; "unknown error" for numbers that are
 * not in the list (for instance a code added by a newer tarn).
 */
TARN_API const char *tarn_strerror(int err);

/**
 * tarn_err_name() - symbolic name of an error code
 * @err: a TARN_E* code
 *
 * Return: a static string such as "TARN_ETIMEDOUT", "TARN_OK", or
 * "TARN_EUNKNOWN" for numbers that are not in the list.
 */
TARN_API const char *tarn_err_name(int err);

/**
 * tarn_last_error() - detail of the last error on this thread
 *
 * Every tarn function that returns an error sets a message for the calling
 * thread that names what was wrong and, where it applies, what is allowed:
 * "UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)". Success does not
 * clear it.
 *
 * Thread safety: the message is thread-local.
 *
 * Return: a string owned by tarn, valid until the next tarn call on this
 * thread; "" when no error has happened yet. Never NULL.
 */
TARN_API const char *tarn_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* TARN_ERRORS_H */
