/* SPDX-License-Identifier: MIT */
/*
 * The process-wide table of task functions, actor classes and methods.
 *
 * Entries are added by constructors (TARN_TASK, TARN_ACTOR, TARN_METHOD)
 * before main() and by tarn_load_library(); they are never removed, because
 * a loaded library is never unloaded. A conflict found in a constructor has
 * no caller to return to, so it is remembered and reported by the next
 * tarn_init() or tarn_load_library().
 */
#include <dlfcn.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "runtime.h"

static GMutex lock;
static GHashTable *entries; /* "name" or "Class.method" -> struct reg_entry */
static GString *conflicts;  /* messages not reported yet */

static void describe_fn(const void *fn, char *buf, size_t len)
{
	Dl_info info;

	if (dladdr(fn, &info) && info.dli_fname)
		snprintf(buf, len, "%s", info.dli_fname);
	else
		snprintf(buf, len, "%p", fn);
}

bool tarn_registry_name_ok(const char *name)
{
	size_t n;

	if (!name || !name[0])
		return false;
	n = strlen(name);
	if (n > TARN_MAX_NAME)
		return false;
	if (!g_ascii_isalpha(name[0]) && name[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = name[i];
		if (!g_ascii_isalnum(c) && c != '_' && c != '.' && c != ':' &&
		    c != '-')
			return false;
	}
	return true;
}

static int add(const char *key, int kind, tarn_task_fn fn,
	       tarn_actor_dtor_fn dtor)
{
	struct reg_entry *e;
	int rc = 0;

	g_mutex_lock(&lock);
	if (!entries)
		entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						g_free);
	e = g_hash_table_lookup(entries, key);
	if (e) {
		if (e->kind != kind || e->fn != fn || e->dtor != dtor) {
			char a[512], b[512];

			describe_fn((const void *)e->fn, a, sizeof(a));
			describe_fn((const void *)fn, b, sizeof(b));
			if (!conflicts)
				conflicts = g_string_new(NULL);
			if (conflicts->len)
				g_string_append(conflicts, "; ");
			g_string_append_printf(
				conflicts,
				"'%s' is registered twice with different functions (in %s and in %s)",
				key, a, b);
			rc = tarn_error(TARN_EEXIST,
					"'%s' is registered twice with different functions (in %s and in %s)",
					key, a, b);
		}
		g_mutex_unlock(&lock);
		return rc;
	}
	e = g_new0(struct reg_entry, 1);
	g_strlcpy(e->name, key, sizeof(e->name));
	e->kind = kind;
	e->fn = fn;
	e->dtor = dtor;
	g_hash_table_insert(entries, e->name, e);
	g_mutex_unlock(&lock);
	return 0;
}

TARN_API int tarn_task_register(const char *name, tarn_task_fn fn)
{
	if (!tarn_registry_name_ok(name))
		return tarn_error(TARN_EINVAL,
				  "bad task name '%s': use 1..%d characters of [A-Za-z0-9_.:-], starting with a letter or '_'",
				  name ? name : "(null)", TARN_MAX_NAME);
	if (!fn)
		return tarn_error(TARN_EINVAL, "task '%s': function is NULL",
				  name);
	return add(name, REG_TASK, fn, NULL);
}

TARN_API int tarn_actor_register(const char *cls, tarn_task_fn ctor,
				 tarn_actor_dtor_fn dtor)
{
	if (!tarn_registry_name_ok(cls) || strchr(cls, '.'))
		return tarn_error(TARN_EINVAL,
				  "bad actor class name '%s': use 1..%d characters of [A-Za-z0-9_:-], starting with a letter or '_'",
				  cls ? cls : "(null)", TARN_MAX_NAME);
	if (!ctor)
		return tarn_error(TARN_EINVAL,
				  "actor class '%s': constructor is NULL", cls);
	return add(cls, REG_CLASS, ctor, dtor);
}

TARN_API int tarn_method_register(const char *cls, const char *method,
				  tarn_task_fn fn)
{
	char key[2 * TARN_MAX_NAME + 2];

	if (!tarn_registry_name_ok(cls) || strchr(cls, '.') ||
	    !tarn_registry_name_ok(method) || strchr(method, '.'))
		return tarn_error(TARN_EINVAL,
				  "bad method name '%s.%s': class and method use [A-Za-z0-9_:-], starting with a letter or '_'",
				  cls ? cls : "(null)",
				  method ? method : "(null)");
	if (!fn)
		return tarn_error(TARN_EINVAL, "method '%s.%s': function is NULL",
				  cls, method);
	snprintf(key, sizeof(key), "%s.%s", cls, method);
	return add(key, REG_METHOD, fn, NULL);
}

const struct reg_entry *tarn_registry_find(const char *key, int kind)
{
	/*
	 * Programs call the same task over and over: the last entry found by
	 * this thread answers without the lock and the hash. Entries never
	 * change or go away, so a match by name is the entry.
	 */
	static _Thread_local struct reg_entry *last;
	struct reg_entry *e = NULL;

	if (last && last->kind == kind && strcmp(last->name, key) == 0)
		return last;
	g_mutex_lock(&lock);
	if (entries)
		e = g_hash_table_lookup(entries, key);
	g_mutex_unlock(&lock);
	/* Entries are never freed while the process runs: safe to return. */
	if (e && e->kind != kind)
		return NULL;
	if (e)
		last = e;
	return e;
}

int tarn_registry_take_conflicts(void)
{
	int rc = 0;

	g_mutex_lock(&lock);
	if (conflicts && conflicts->len) {
		rc = tarn_error(TARN_EEXIST, "%s", conflicts->str);
		g_string_truncate(conflicts, 0);
	}
	g_mutex_unlock(&lock);
	return rc;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *tarn_registry_names(int kind, size_t max)
{
	GString *out = g_string_new(NULL);
	GPtrArray *names = g_ptr_array_new();
	GHashTableIter it;
	gpointer k, v;

	g_mutex_lock(&lock);
	if (entries) {
		g_hash_table_iter_init(&it, entries);
		while (g_hash_table_iter_next(&it, &k, &v))
			if (((struct reg_entry *)v)->kind == kind)
				g_ptr_array_add(names, k);
	}
	g_mutex_unlock(&lock);
	g_ptr_array_sort(names, cmp_names);
	for (size_t i = 0; i < names->len && i < max; i++)
		g_string_append_printf(out, "%s%s", i ? ", " : "",
				       (const char *)names->pdata[i]);
	if (names->len > max)
		g_string_append_printf(out, ", ... (%u in all)", names->len);
	if (!names->len)
		g_string_append(out, "none");
	g_ptr_array_free(names, TRUE);
	return g_string_free(out, FALSE);
}
