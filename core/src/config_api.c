/* SPDX-License-Identifier: MIT */
/*
 * The process's configuration: the public tarn_config_* functions and the
 * internal accessors of internal.h, on top of config/'s table and resolver.
 *
 * Before tarn_init() every call reads the sources afresh, so that a test or
 * a program can change the environment and see it; tarn_init() freezes one
 * resolution, which every later call reads, until tarn_shutdown().
 *
 * Returned strings are interned for the life of the process. That is more
 * than the API promises ("valid until the next configuration call") and is
 * what makes handing them out safe while another thread re-resolves.
 */
#include <string.h>

#include <glib.h>

#include "internal.h"
#include "settings.h"

_Static_assert(TARN_CONFIG_DEFAULT == (int)TARN_SETTING_FROM_DEFAULT &&
		       TARN_CONFIG_FILE == (int)TARN_SETTING_FROM_FILE &&
		       TARN_CONFIG_ENV == (int)TARN_SETTING_FROM_ENV &&
		       TARN_CONFIG_API == (int)TARN_SETTING_FROM_API,
	       "config/ and tarn.h number the sources alike");

static GMutex lock;
static tarn_settings_t *api_values; /* tarn_config_set(); NULL until used */
static tarn_resolved_t *frozen;     /* set by tarn_config_freeze() */
static GStringChunk *pool;          /* interned strings handed out */

static const char *intern(const char *s)
{
	if (!pool)
		pool = g_string_chunk_new(1024);
	return g_string_chunk_insert_const(pool, s);
}

/* The resolution to read; release it with done(). Call with the lock held. */
static tarn_resolved_t *current(void)
{
	return frozen ? frozen : tarn_settings_resolve(api_values);
}

static void done(tarn_resolved_t *r)
{
	if (r != frozen)
		tarn_resolved_free(r);
}

static int unknown(const char *name)
{
	const char *near = name ? tarn_settings_suggest(name) : NULL;

	if (near)
		return tarn_error(TARN_ENOENT,
				  "unknown setting '%s' (did you mean %s?)",
				  name, near);
	return tarn_error(TARN_ENOENT, "unknown setting '%s'",
			  name ? name : "(null)");
}

/* The problem that makes setting @idx untrustworthy, or NULL. */
static const char *problem(const tarn_resolved_t *r, size_t idx)
{
	return r->error[idx] ? r->error[idx] : r->file_error;
}

TARN_API int tarn_config_set(const char *name, const char *value)
{
	char *err = NULL;
	int rc;

	g_mutex_lock(&lock);
	if (frozen) {
		g_mutex_unlock(&lock);
		return tarn_error(TARN_EBUSY,
				  "tarn_config_set(%s): tarn is initialized; "
				  "settings are fixed until tarn_shutdown()",
				  name ? name : "(null)");
	}
	if (!api_values)
		api_values = tarn_settings_new();
	rc = tarn_settings_set(api_values, name, value, &err);
	g_mutex_unlock(&lock);
	if (rc == TARN_SETTINGS_UNKNOWN)
		rc = tarn_error(TARN_ENOENT, "%s", err);
	else if (rc)
		rc = tarn_error(TARN_ECONFIG, "%s", err);
	g_free(err);
	return rc;
}

TARN_API const char *tarn_config_get(const char *name)
{
	size_t idx;
	tarn_resolved_t *r;
	const char *out = NULL;

	if (!tarn_settings_find(name, &idx)) {
		unknown(name);
		return NULL;
	}
	g_mutex_lock(&lock);
	r = current();
	if (problem(r, idx))
		tarn_error(TARN_ECONFIG, "%s", problem(r, idx));
	else
		out = intern(r->value[idx]);
	done(r);
	g_mutex_unlock(&lock);
	return out;
}

TARN_API int tarn_config_source(const char *name)
{
	size_t idx;
	tarn_resolved_t *r;
	int rc;

	if (!tarn_settings_find(name, &idx))
		return unknown(name);
	g_mutex_lock(&lock);
	r = current();
	if (problem(r, idx))
		rc = tarn_error(TARN_ECONFIG, "%s", problem(r, idx));
	else
		rc = r->source[idx];
	done(r);
	g_mutex_unlock(&lock);
	return rc;
}

TARN_API size_t tarn_config_count(void)
{
	return tarn_settings_count;
}

TARN_API int tarn_config_describe(size_t index, tarn_config_info_t *out)
{
	const tarn_setting_t *s;
	tarn_resolved_t *r;
	char *def, *allowed;
	int rc = 0;

	if (!out)
		return tarn_error(TARN_EINVAL, "tarn_config_describe: NULL out");
	if (index >= tarn_settings_count)
		return tarn_error(TARN_EINVAL,
				  "tarn_config_describe: no setting %zu (there "
				  "are %zu)",
				  index, tarn_settings_count);
	s = &tarn_settings_table[index];
	def = tarn_settings_default(s);
	allowed = tarn_settings_allowed(s);
	g_mutex_lock(&lock);
	r = current();
	out->name = s->name;
	out->type = tarn_settings_type_name(s->type);
	out->default_value = intern(def);
	out->allowed = intern(allowed);
	out->description = s->description;
	out->value = intern(r->value[index]);
	out->source = r->source[index];
	out->origin = intern(r->origin[index]);
	if (problem(r, index))
		rc = tarn_error(TARN_ECONFIG, "%s", problem(r, index));
	done(r);
	g_mutex_unlock(&lock);
	g_free(def);
	g_free(allowed);
	return rc;
}

TARN_API int tarn_config_check(void)
{
	tarn_resolved_t *r;
	int rc = 0;

	g_mutex_lock(&lock);
	r = current();
	if (r->nproblems)
		rc = tarn_error(TARN_ECONFIG, "%s", r->problems[0]);
	done(r);
	g_mutex_unlock(&lock);
	return rc;
}

/* Internal ------------------------------------------------------------------ */

static int log_level_of(const char *v)
{
	static const char *const names[] = {
		[TARN_LOG_ERROR] = "error",
		[TARN_LOG_WARNING] = "warning",
		[TARN_LOG_INFO] = "info",
		[TARN_LOG_DEBUG] = "debug",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (!strcmp(v, names[i]))
			return (int)i;
	return TARN_LOG_WARNING;
}

int tarn_config_freeze(void)
{
	tarn_resolved_t *r;
	size_t idx;

	g_mutex_lock(&lock);
	if (frozen) {
		g_mutex_unlock(&lock);
		return 0;
	}
	r = tarn_settings_resolve(api_values);
	if (r->nproblems) {
		int rc = tarn_error(TARN_ECONFIG, "%s", r->problems[0]);

		/* The caller reports the first; the user fixes them all at once. */
		for (size_t i = 1; i < r->nproblems; i++)
			tarn_log(TARN_LOG_ERROR, "%s", r->problems[i]);
		tarn_resolved_free(r);
		g_mutex_unlock(&lock);
		return rc;
	}
	frozen = r;
	tarn_settings_find("UNIDIST_LOG_LEVEL", &idx);
	tarn_log_set_level(log_level_of(r->value[idx]));
	for (size_t i = 0; i < r->nwarnings; i++)
		tarn_log(TARN_LOG_WARNING, "%s", r->warnings[i]);
	g_mutex_unlock(&lock);
	return 0;
}

void tarn_config_unfreeze(void)
{
	g_mutex_lock(&lock);
	g_clear_pointer(&frozen, tarn_resolved_free);
	g_mutex_unlock(&lock);
	tarn_log_set_level(TARN_LOG_WARNING);
}

const char *tarn_config_value(const char *name)
{
	size_t idx;
	tarn_resolved_t *r;
	const char *out;

	if (!tarn_settings_find(name, &idx))
		return NULL;
	g_mutex_lock(&lock);
	r = current();
	out = intern(r->value[idx]);
	done(r);
	g_mutex_unlock(&lock);
	return out;
}

int64_t tarn_config_int(const char *name)
{
	return tarn_settings_text_int(tarn_config_value(name));
}

bool tarn_config_bool(const char *name)
{
	return tarn_settings_text_bool(tarn_config_value(name));
}

double tarn_config_float(const char *name)
{
	return tarn_settings_text_float(tarn_config_value(name));
}

const char *tarn_config_backend(void)
{
	size_t ib, ip;
	tarn_resolved_t *r;
	const char *out;

	tarn_settings_find("UNIDIST_BACKEND", &ib);
	tarn_settings_find("SP_PLATFORM", &ip);
	/* One resolution for both, so that the answer is consistent. */
	g_mutex_lock(&lock);
	r = current();
	/* Both set agree (else resolution failed); the path is the more exact. */
	if (*r->value[ib] && *r->value[ip])
		out = intern(strchr(r->value[ip], '/') ? r->value[ip] : r->value[ib]);
	else
		out = intern(*r->value[ib] ? r->value[ib] : r->value[ip]);
	done(r);
	g_mutex_unlock(&lock);
	return out;
}
