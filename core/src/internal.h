/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared between the files of libtarn. Nothing here is
 * exported: libtarn is built with -fvisibility=hidden and only TARN_API
 * functions leave the library.
 */
#ifndef TARN_INTERNAL_H
#define TARN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tarn/backend.h>
#include <tarn/tarn.h>

/* error.c ---------------------------------------------------------------- */

/*
 * Set the calling thread's tarn_last_error() message and return @code, so
 * that callers can write `return tarn_error(TARN_EINVAL, "...", ...)`.
 */
int tarn_error(int code, const char *fmt, ...) TARN_PRINTF(2, 3);
int tarn_verror(int code, const char *fmt, va_list ap) TARN_PRINTF(2, 0);
/* Empty the thread's last-error message: no formatting, for hot paths. */
void tarn_error_clear(void);

/* log.c ------------------------------------------------------------------ */

/* One line on stderr, "tarn: " + message, when @level is enabled. */
void tarn_log(int level, const char *fmt, ...) TARN_PRINTF(2, 3);
/* Level from UNIDIST_LOG_LEVEL; set by tarn_init, warning before it. */
void tarn_log_set_level(int level);
int tarn_log_get_level(void);

/* config_api.c: the process's configuration -------------------------------- */

/*
 * Resolve every source and validate; on success the values stay fixed until
 * tarn_config_unfreeze() (called by tarn_shutdown). Returns 0 or
 * TARN_ECONFIG with tarn_last_error() set.
 */
int tarn_config_freeze(void);
void tarn_config_unfreeze(void);
/* Effective value as canonical text; "" when unset; NULL when unknown. */
const char *tarn_config_value(const char *name);
int64_t tarn_config_int(const char *name);
bool tarn_config_bool(const char *name);
double tarn_config_float(const char *name);
/* Effective backend choice: UNIDIST_BACKEND or SP_PLATFORM, "" for auto. */
const char *tarn_config_backend(void);

/* loader.c: finding, checking and opening plugins ------------------------ */

typedef struct tarn_plugin {
	void *dl;                 /* dlopen handle */
	char *path;               /* file it came from */
	char *name;               /* file stem == desc.name */
	tarn_backend_desc_t desc; /* copy; fields past the plugin's size are 0 */
} tarn_plugin_t;

/*
 * Load @name_or_path: a built-in name looked up in UNIDIST_PLUGIN_PATH,
 * the build tree (when libtarn runs from it) and the install directory, or
 * a path containing '/'. Runs every loader check in order. On failure
 * returns TARN_ENOENT (unknown name: the message lists what exists),
 * TARN_EPLUGIN or TARN_EABI with one line in tarn_last_error() naming the
 * file, what was expected and what was found.
 */
int tarn_plugin_load(const char *name_or_path, tarn_plugin_t **out);
void tarn_plugin_unload(tarn_plugin_t *p);

/*
 * The backend choice when UNIDIST_BACKEND and SP_PLATFORM are unset:
 * "mpi" under mpiexec/mpirun, otherwise "procpool" when that plugin can be
 * found, otherwise "seq".
 */
const char *tarn_plugin_default(void);

/* runtime.c ---------------------------------------------------------------- */

/* Services table for query() calls made outside an open backend. */
const tarn_host_services_t *tarn_host_services_get(void);

#endif /* TARN_INTERNAL_H */
