/* SPDX-License-Identifier: MIT */
/*
 * From sources to effective values: tarn_config_set() values, the
 * environment, the YAML file and the defaults, strongest first. Every source
 * is validated, not only the one that wins, so that a typo in a file fails
 * loudly even while the environment happens to override it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <yaml.h>

#include "settings.h"

struct tarn_settings {
	char **api; /* canonical value per row, or NULL */
};

tarn_settings_t *tarn_settings_new(void)
{
	tarn_settings_t *st = g_new0(tarn_settings_t, 1);

	st->api = g_new0(char *, tarn_settings_count);
	return st;
}

void tarn_settings_free(tarn_settings_t *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < tarn_settings_count; i++)
		g_free(st->api[i]);
	g_free(st->api);
	g_free(st);
}

static char *unknown_message(const char *name)
{
	const char *near = tarn_settings_suggest(name);

	if (near)
		return g_strdup_printf("unknown setting '%s' (did you mean %s?)",
				       name, near);
	return g_strdup_printf("unknown setting '%s'", name);
}

/* "NAME=value: why", with '' for an empty value so that it shows. */
static char *value_message(const tarn_setting_t *s, const char *value,
			   const char *why)
{
	return g_strdup_printf("%s=%s: %s", s->name, *value ? value : "''",
			       why);
}

int tarn_settings_set(tarn_settings_t *st, const char *name,
		      const char *value, char **err)
{
	size_t idx;
	const tarn_setting_t *s = tarn_settings_find(name, &idx);
	char *canon, *why;

	*err = NULL;
	if (!s) {
		*err = unknown_message(name ? name : "(null)");
		return TARN_SETTINGS_UNKNOWN;
	}
	if (!value) {
		g_clear_pointer(&st->api[idx], g_free);
		return TARN_SETTINGS_OK;
	}
	canon = tarn_settings_parse(s, value, &why);
	if (!canon) {
		*err = value_message(s, value, why);
		g_free(why);
		return TARN_SETTINGS_INVALID;
	}
	g_free(st->api[idx]);
	st->api[idx] = canon;
	return TARN_SETTINGS_OK;
}

/* Resolution ---------------------------------------------------------------- */

struct ctx {
	const tarn_settings_t *st;
	tarn_resolved_t *r;
	char **env;         /* canonical environment values */
	char **file;        /* canonical file values */
	char **file_origin; /* "FILE:LINE:COLUMN" of each file value */
	/* Problems by kind, concatenated in this order at the end. */
	GPtrArray *p_choice, *p_env, *p_file, *p_cross, *warnings;
};

static void setting_problem(struct ctx *c, GPtrArray *list, size_t idx,
			    char *msg)
{
	if (!c->r->error[idx])
		c->r->error[idx] = g_strdup(msg);
	g_ptr_array_add(list, msg);
}

static void env_pass(struct ctx *c)
{
	for (size_t i = 0; i < tarn_settings_count; i++) {
		const tarn_setting_t *s = &tarn_settings_table[i];
		const char *raw = g_getenv(s->name);
		char *why;

		/* An empty variable is how shells unset things in one line. */
		if (!raw || !*raw)
			continue;
		c->env[i] = tarn_settings_parse(s, raw, &why);
		if (!c->env[i]) {
			setting_problem(c, c->p_env, i,
					value_message(s, raw, why));
			g_free(why);
		}
	}
}

/* The API or environment value of a row that cannot come from the file. */
static const char *early_value(struct ctx *c, size_t idx)
{
	if (c->st && c->st->api[idx])
		return c->st->api[idx];
	return c->env[idx] ? c->env[idx] : "";
}

static size_t row(const char *name)
{
	size_t idx = 0;

	tarn_settings_find(name, &idx);
	return idx;
}

/* YAML ------------------------------------------------------------------------ */

struct yp {
	struct ctx *c;
	yaml_parser_t parser;
	const char *path;
	bool *seen;            /* per row: a key for it appeared */
	yaml_mark_t *seen_at;  /* where */
};

static char *at(struct yp *y, yaml_mark_t m)
{
	return g_strdup_printf("%s:%zu:%zu", y->path, m.line + 1,
			       m.column + 1);
}

static void file_problem(struct yp *y, yaml_mark_t m, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static void file_problem(struct yp *y, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	char *where = at(y, m), *what, *msg;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	msg = g_strdup_printf("%s: %s", where, what);
	if (!y->c->r->file_error)
		y->c->r->file_error = g_strdup(msg);
	g_ptr_array_add(y->c->p_file, msg);
	g_free(where);
	g_free(what);
}

static bool next(struct yp *y, yaml_event_t *ev)
{
	const yaml_parser_t *p = &y->parser;
	GPtrArray *list = y->c->p_file;
	char *msg;

	memset(ev, 0, sizeof(*ev));
	if (yaml_parser_parse(&y->parser, ev))
		return true;
	if (p->context)
		file_problem(y, p->problem_mark,
			     "malformed YAML: %s (%s at line %zu, column %zu)",
			     p->problem ? p->problem : "?", p->context,
			     p->context_mark.line + 1,
			     p->context_mark.column + 1);
	else
		file_problem(y, p->problem_mark, "malformed YAML: %s",
			     p->problem ? p->problem : "?");
	/*
	 * What was read before a syntax error may be a misreading of what
	 * the author meant, so the syntax error is the one to report.
	 */
	msg = g_ptr_array_steal_index(list, list->len - 1);
	g_ptr_array_insert(list, 0, msg);
	g_free(y->c->r->file_error);
	y->c->r->file_error = g_strdup(msg);
	return false;
}

/* After @first (already read), skip the rest of the node it starts. */
static bool skip_node(struct yp *y, const yaml_event_t *first)
{
	int depth;
	yaml_event_t ev;

	if (first->type != YAML_MAPPING_START_EVENT &&
	    first->type != YAML_SEQUENCE_START_EVENT)
		return true;
	for (depth = 1; depth > 0;) {
		if (!next(y, &ev))
			return false;
		if (ev.type == YAML_MAPPING_START_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (ev.type == YAML_MAPPING_END_EVENT ||
			 ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		yaml_event_delete(&ev);
	}
	return true;
}

static const char *scalar(const yaml_event_t *ev)
{
	return (const char *)ev->data.scalar.value;
}

/* A plain empty, ~ or null scalar: YAML's "no value", like an unset variable. */
static bool is_null(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(nulls); i++)
		if (!strcmp(scalar(ev), nulls[i]))
			return true;
	return false;
}

static void file_value(struct yp *y, size_t idx, char *canon,
		       yaml_mark_t m)
{
	y->c->file[idx] = canon;
	y->c->file_origin[idx] = at(y, m);
}

static void file_value_problem(struct yp *y, size_t idx, yaml_mark_t m,
			       const char *value, const char *why)
{
	const tarn_setting_t *s = &tarn_settings_table[idx];
	char *where = at(y, m), *what = value_message(s, value, why);

	setting_problem(y->c, y->c->p_file, idx,
			g_strdup_printf("%s: %s", where, what));
	g_free(where);
	g_free(what);
}

/* The value of a list setting given as a YAML sequence. */
static bool sequence_value(struct yp *y, size_t idx, yaml_mark_t start)
{
	const tarn_setting_t *s = &tarn_settings_table[idx];
	GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
	GArray *marks = g_array_new(FALSE, FALSE, sizeof(yaml_mark_t));
	bool ok = true, bad_node = false;
	yaml_event_t ev;

	for (;;) {
		if (!next(y, &ev)) {
			ok = false;
			break;
		}
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_SCALAR_EVENT) {
			g_ptr_array_add(items, g_strdup(scalar(&ev)));
			g_array_append_val(marks, ev.start_mark);
		} else if (!bad_node) {
			bad_node = true;
			setting_problem(
				y->c, y->c->p_file, idx,
				g_strdup_printf(
					"%s:%zu:%zu: expected a scalar in the list for %s",
					y->path, ev.start_mark.line + 1,
					ev.start_mark.column + 1, s->name));
		}
		ok = skip_node(y, &ev);
		yaml_event_delete(&ev);
		if (!ok)
			break;
	}
	if (ok && !bad_node) {
		size_t bad = 0;
		char *why, *canon = tarn_settings_parse_items(
				   s, (const char *const *)items->pdata,
				   items->len, &bad, &why);

		if (canon) {
			file_value(y, idx, canon, start);
		} else {
			GString *shown = g_string_new(NULL);

			for (guint i = 0; i < items->len; i++) {
				if (i)
					g_string_append_c(shown, s->sep);
				g_string_append(shown, items->pdata[i]);
			}
			file_value_problem(y, idx,
					   g_array_index(marks, yaml_mark_t,
							 bad),
					   shown->str, why);
			g_string_free(shown, TRUE);
			g_free(why);
		}
	}
	g_ptr_array_unref(items);
	g_array_unref(marks);
	return ok;
}

/* One "key: value" pair of the top-level mapping; @key is its key event. */
static bool pair(struct yp *y, const yaml_event_t *key)
{
	const tarn_setting_t *s = NULL;
	size_t idx = 0;
	yaml_event_t ev;
	bool ok;

	if (key->type != YAML_SCALAR_EVENT) {
		file_problem(y, key->start_mark,
			     "expected a setting name as the key");
	} else if (!(s = tarn_settings_find(scalar(key), &idx))) {
		char *m = unknown_message(scalar(key));

		file_problem(y, key->start_mark, "%s", m);
		g_free(m);
	} else if (s->flags & TARN_SETTING_NOT_IN_FILE) {
		file_problem(y, key->start_mark,
			     "%s cannot be set in the configuration file; set "
			     "it in the environment or with tarn_config_set()",
			     s->name);
		s = NULL;
	} else if (y->seen[idx]) {
		file_problem(y, key->start_mark,
			     "%s is set twice (first at line %zu, column %zu)",
			     s->name, y->seen_at[idx].line + 1,
			     y->seen_at[idx].column + 1);
		s = NULL;
	} else {
		y->seen[idx] = true;
		y->seen_at[idx] = key->start_mark;
	}
	if (!skip_node(y, key) || !next(y, &ev))
		return false;
	ok = true;
	if (!s) {
		ok = skip_node(y, &ev);
	} else if (ev.type == YAML_SCALAR_EVENT) {
		char *why, *canon;

		if (!is_null(&ev)) {
			canon = tarn_settings_parse(s, scalar(&ev), &why);
			if (canon) {
				file_value(y, idx, canon, ev.start_mark);
			} else {
				file_value_problem(y, idx, ev.start_mark,
						   scalar(&ev), why);
				g_free(why);
			}
		}
	} else if (ev.type == YAML_SEQUENCE_START_EVENT &&
		   s->type == TARN_SETTING_LIST) {
		ok = sequence_value(y, idx, ev.start_mark);
	} else if (ev.type == YAML_ALIAS_EVENT) {
		file_problem(y, ev.start_mark,
			     "aliases are not supported (value of %s)",
			     s->name);
	} else {
		setting_problem(
			y->c, y->c->p_file, idx,
			g_strdup_printf(
				"%s:%zu:%zu: expected a scalar value%s for %s",
				y->path, ev.start_mark.line + 1,
				ev.start_mark.column + 1,
				s->type == TARN_SETTING_LIST
					? " or a sequence of scalars"
					: "",
				s->name));
		ok = skip_node(y, &ev);
	}
	yaml_event_delete(&ev);
	return ok;
}

static void parse_document(struct yp *y)
{
	yaml_event_t ev;
	bool ok = true;

	if (!next(y, &ev))
		return;
	yaml_event_delete(&ev); /* stream start */
	if (!next(y, &ev))
		return;
	if (ev.type == YAML_STREAM_END_EVENT) {
		/* Nothing but comments: no settings. */
		yaml_event_delete(&ev);
		return;
	}
	yaml_event_delete(&ev); /* document start */
	if (!next(y, &ev))
		return;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		yaml_event_delete(&ev);
		for (;;) {
			if (!next(y, &ev))
				return;
			if (ev.type == YAML_MAPPING_END_EVENT)
				break;
			ok = pair(y, &ev);
			yaml_event_delete(&ev);
			if (!ok)
				return;
		}
	} else if (!(ev.type == YAML_SCALAR_EVENT && is_null(&ev))) {
		file_problem(y, ev.start_mark,
			     "expected a mapping from setting names to values "
			     "at the top level");
		yaml_event_delete(&ev);
		return;
	}
	yaml_event_delete(&ev);
	if (!next(y, &ev)) /* document end */
		return;
	yaml_event_delete(&ev);
	if (!next(y, &ev))
		return;
	if (ev.type == YAML_DOCUMENT_START_EVENT)
		file_problem(y, ev.start_mark,
			     "only one YAML document is allowed");
	yaml_event_delete(&ev);
}

static bool read_all(const char *path, GString *out, int *err)
{
	FILE *f = fopen(path, "rb");
	char buf[4096];
	size_t n;
	bool ok;

	if (!f) {
		*err = errno;
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		g_string_append_len(out, buf, (gssize)n);
	*err = errno;
	ok = !ferror(f);
	fclose(f);
	return ok;
}

static void read_file(struct ctx *c, const char *path, const char *named_by)
{
	GString *text = g_string_new(NULL);
	struct yp y = {.c = c, .path = path};
	int err = 0;

	c->r->file = g_strdup(path);
	if (!read_all(path, text, &err)) {
		char *msg = named_by
			? g_strdup_printf("%s=%s: cannot read the file: %s",
					  named_by, path, g_strerror(err))
			: g_strdup_printf("%s: cannot read the file: %s", path,
					  g_strerror(err));

		c->r->file_error = g_strdup(msg);
		g_ptr_array_add(c->p_file, msg);
		g_string_free(text, TRUE);
		return;
	}
	y.seen = g_new0(bool, tarn_settings_count);
	y.seen_at = g_new0(yaml_mark_t, tarn_settings_count);
	yaml_parser_initialize(&y.parser);
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text->str,
				     text->len);
	parse_document(&y);
	yaml_parser_delete(&y.parser);
	g_free(y.seen);
	g_free(y.seen_at);
	g_string_free(text, TRUE);
}

static void file_pass(struct ctx *c)
{
	size_t iu = row("UNIDIST_CONFIG_FILE"), is = row("SP_CONFIG_FILE");
	const char *u = early_value(c, iu), *s = early_value(c, is);

	if (c->r->error[iu] || c->r->error[is])
		return;
	if (*u && *s && strcmp(u, s)) {
		char *msg = g_strdup_printf(
			"UNIDIST_CONFIG_FILE=%s and SP_CONFIG_FILE=%s name "
			"different files; set only one of them, or both to the "
			"same file",
			u, s);

		c->r->error[iu] = g_strdup(msg);
		c->r->error[is] = g_strdup(msg);
		c->r->file_error = g_strdup(msg);
		g_ptr_array_add(c->p_choice, msg);
		return;
	}
	if (*u)
		read_file(c, u, "UNIDIST_CONFIG_FILE");
	else if (*s)
		read_file(c, s, "SP_CONFIG_FILE");
	else if (g_file_test(TARN_SETTINGS_DEFAULT_FILE, G_FILE_TEST_IS_REGULAR))
		read_file(c, TARN_SETTINGS_DEFAULT_FILE, NULL);
}

static void choose(struct ctx *c)
{
	tarn_resolved_t *r = c->r;

	for (size_t i = 0; i < tarn_settings_count; i++) {
		const tarn_setting_t *s = &tarn_settings_table[i];

		if (r->error[i]) {
			/* An invalid source leaves the safe, documented value. */
			r->value[i] = tarn_settings_default(s);
			r->source[i] = TARN_SETTING_FROM_DEFAULT;
			r->origin[i] = g_strdup("default");
		} else if (c->st && c->st->api[i]) {
			r->value[i] = g_strdup(c->st->api[i]);
			r->source[i] = TARN_SETTING_FROM_API;
			r->origin[i] = g_strdup("api");
		} else if (c->env[i]) {
			r->value[i] = g_strdup(c->env[i]);
			r->source[i] = TARN_SETTING_FROM_ENV;
			r->origin[i] = g_strdup("env");
		} else if (c->file[i]) {
			r->value[i] = g_strdup(c->file[i]);
			r->source[i] = TARN_SETTING_FROM_FILE;
			r->origin[i] = g_strdup(c->file_origin[i]);
		} else {
			r->value[i] = tarn_settings_default(s);
			r->source[i] = TARN_SETTING_FROM_DEFAULT;
			r->origin[i] = g_strdup("default");
		}
	}
}

/*
 * The backend a value names: the value itself for a name, the file stem for
 * a path ("/opt/tarn/procpool.so" names procpool). g_free() it.
 */
static char *backend_stem(const char *v)
{
	char *base = g_path_get_basename(v), *dot;

	if (strchr(v, '/') && (dot = strrchr(base, '.')) && !strcmp(dot, ".so"))
		*dot = '\0';
	return base;
}

/*
 * Settings that are one choice under two names must agree. A name and a
 * path to the plugin of that name agree: procpool's workers, for one, get
 * the driver's plugin by path while the program may name it in code.
 */
static void cross_check(struct ctx *c)
{
	tarn_resolved_t *r = c->r;
	size_t ib = row("UNIDIST_BACKEND"), ip = row("SP_PLATFORM");
	const char *b = r->value[ib], *p = r->value[ip];
	char *msg, *sb, *sp;
	bool same;

	if (r->error[ib] || r->error[ip] || !*b || !*p || !strcmp(b, p))
		return;
	sb = backend_stem(b);
	sp = backend_stem(p);
	/* Two different paths are two plugins even with one stem. */
	same = !strcmp(sb, sp) && !(strchr(b, '/') && strchr(p, '/'));
	g_free(sb);
	g_free(sp);
	if (same)
		return;
	msg = g_strdup_printf(
		"UNIDIST_BACKEND=%s (from %s) and SP_PLATFORM=%s (from %s) "
		"name different backends; set only one of them, or both to "
		"the same backend",
		b, r->origin[ib], p, r->origin[ip]);
	r->error[ib] = g_strdup(msg);
	r->error[ip] = g_strdup(msg);
	g_ptr_array_add(c->p_cross, msg);
}

/* Unknown UNIDIST_* and SP_* variables close to a known name: likely typos. */
static void env_typos(struct ctx *c)
{
	char **names = g_listenv();

	for (char **n = names; *n; n++) {
		const char *near;

		if (!g_str_has_prefix(*n, "UNIDIST_") &&
		    !g_str_has_prefix(*n, "SP_"))
			continue;
		if (tarn_settings_find(*n, NULL) ||
		    !(near = tarn_settings_suggest(*n)))
			continue;
		g_ptr_array_add(c->warnings,
				g_strdup_printf("environment variable %s is not "
						"a tarn setting (did you mean "
						"%s?); ignored",
						*n, near));
	}
	g_strfreev(names);
}

static char **take(GPtrArray *a, size_t *n)
{
	*n = a->len;
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

tarn_resolved_t *tarn_settings_resolve(const tarn_settings_t *st)
{
	size_t n = tarn_settings_count;
	tarn_resolved_t *r = g_new0(tarn_resolved_t, 1);
	struct ctx c = {.st = st, .r = r};
	GPtrArray *all = g_ptr_array_new();

	r->value = g_new0(char *, n);
	r->source = g_new0(int, n);
	r->origin = g_new0(char *, n);
	r->error = g_new0(char *, n);
	c.env = g_new0(char *, n);
	c.file = g_new0(char *, n);
	c.file_origin = g_new0(char *, n);
	c.p_choice = g_ptr_array_new();
	c.p_env = g_ptr_array_new();
	c.p_file = g_ptr_array_new();
	c.p_cross = g_ptr_array_new();
	c.warnings = g_ptr_array_new();

	env_pass(&c);
	file_pass(&c);
	choose(&c);
	cross_check(&c);
	env_typos(&c);

	/* Strongest source first: the file choice, then env, file, pairs. */
	GPtrArray *parts[] = {c.p_choice, c.p_env, c.p_file, c.p_cross};
	for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
		for (guint j = 0; j < parts[i]->len; j++)
			g_ptr_array_add(all, parts[i]->pdata[j]);
		g_ptr_array_free(parts[i], TRUE);
	}
	r->problems = take(all, &r->nproblems);
	r->warnings = take(c.warnings, &r->nwarnings);

	for (size_t i = 0; i < n; i++) {
		g_free(c.env[i]);
		g_free(c.file[i]);
		g_free(c.file_origin[i]);
	}
	g_free(c.env);
	g_free(c.file);
	g_free(c.file_origin);
	return r;
}

void tarn_resolved_free(tarn_resolved_t *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < tarn_settings_count; i++) {
		g_free(r->value[i]);
		g_free(r->origin[i]);
		g_free(r->error[i]);
	}
	g_free(r->value);
	g_free(r->source);
	g_free(r->origin);
	g_free(r->error);
	g_free(r->file_error);
	g_free(r->file);
	g_strfreev(r->problems);
	g_strfreev(r->warnings);
	g_free(r);
}
