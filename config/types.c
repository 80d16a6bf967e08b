/* SPDX-License-Identifier: MIT */
/* Parsing, validation and canonical text of each type of setting. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "settings.h"

static const char *const bool_true[] = {"1", "true", "yes", "on", NULL};
static const char *const bool_false[] = {"0", "false", "no", "off", NULL};

#define BOOL_ALLOWED "true, false (also 1/0, yes/no, on/off)"
#define SIZE_ALLOWED                                                        \
	"bytes, or a whole number with K, M, G, T or KiB, MiB, GiB, TiB "  \
	"(powers of 1024)"

const tarn_setting_t *tarn_settings_find(const char *name, size_t *index)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < tarn_settings_count; i++) {
		if (!g_ascii_strcasecmp(tarn_settings_table[i].name, name)) {
			if (index)
				*index = i;
			return &tarn_settings_table[i];
		}
	}
	return NULL;
}

size_t tarn_settings_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* Three rows of the matrix are enough for the swap rule. */
	size_t *prev2 = g_new0(size_t, lb + 1);
	size_t *prev = g_new0(size_t, lb + 1);
	size_t *cur = g_new0(size_t, lb + 1);
	size_t d;

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			char ca = g_ascii_toupper(a[i - 1]);
			char cb = g_ascii_toupper(b[j - 1]);
			size_t cost = ca != cb;
			size_t v = MIN(prev[j] + 1, cur[j - 1] + 1);

			v = MIN(v, prev[j - 1] + cost);
			if (i > 1 && j > 1 && ca == g_ascii_toupper(b[j - 2]) &&
			    g_ascii_toupper(a[i - 2]) == cb)
				v = MIN(v, prev2[j - 2] + 1);
			cur[j] = v;
		}
		size_t *t = prev2;

		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	g_free(prev2);
	g_free(prev);
	g_free(cur);
	return d;
}

const char *tarn_settings_suggest(const char *name)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, len = name ? strlen(name) : 0;

	if (!len)
		return NULL;
	for (size_t i = 0; i < tarn_settings_count; i++) {
		size_t d = tarn_settings_distance(name,
						  tarn_settings_table[i].name);

		if (d < best_d) {
			best_d = d;
			best = tarn_settings_table[i].name;
		}
	}
	/* A third of the name wrong is a different name, not a typo. */
	return best_d <= 3 && best_d * 3 <= len ? best : NULL;
}

const char *tarn_settings_type_name(enum tarn_setting_type type)
{
	switch (type) {
	case TARN_SETTING_STRING:
		return "string";
	case TARN_SETTING_BOOL:
		return "bool";
	case TARN_SETTING_INT:
		return "int";
	case TARN_SETTING_SIZE:
		return "size";
	case TARN_SETTING_FLOAT:
		return "float";
	case TARN_SETTING_ENUM:
		return "enum";
	case TARN_SETTING_PATH:
		return "path";
	case TARN_SETTING_LIST:
		return "list";
	}
	return "?";
}

/* Shortest text that reads back as the same double, in any locale. */
static char *float_text(double v)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	for (int prec = 1; prec <= 17; prec++) {
		char fmt[8];

		g_snprintf(fmt, sizeof(fmt), "%%.%dg", prec);
		g_ascii_formatd(buf, sizeof(buf), fmt, v);
		if (g_ascii_strtod(buf, NULL) == v)
			break;
	}
	return g_strdup(buf);
}

char *tarn_settings_allowed(const tarn_setting_t *s)
{
	const char *auto_part = s->flags & TARN_SETTING_EMPTY_AUTO
					? ", or empty for automatic"
					: "";

	if (s->allowed)
		return g_strdup(s->allowed);
	switch (s->type) {
	case TARN_SETTING_BOOL:
		return g_strdup(BOOL_ALLOWED);
	case TARN_SETTING_INT:
		return g_strdup_printf("%" PRId64 "..%" PRId64, s->min, s->max);
	case TARN_SETTING_SIZE:
		return g_strdup_printf("%s%s", SIZE_ALLOWED, auto_part);
	case TARN_SETTING_FLOAT: {
		char *lo = float_text(s->fmin), *hi = float_text(s->fmax);
		char *t = isinf(s->fmax)
				  ? g_strdup_printf(">= %s", lo)
				  : g_strdup_printf("%s..%s", lo, hi);

		g_free(lo);
		g_free(hi);
		return t;
	}
	case TARN_SETTING_ENUM: {
		char *list = g_strjoinv(", ", (char **)s->choices);
		char *t = g_strdup_printf(
			"%s%s", list,
			s->flags & TARN_SETTING_BOOL_SYNONYMS
				? " (also 1/0, yes/no, on/off)"
				: "");

		g_free(list);
		return t;
	}
	case TARN_SETTING_PATH:
		return g_strdup_printf("a path%s", auto_part);
	case TARN_SETTING_LIST:
		return g_strdup_printf("items separated by '%c'", s->sep);
	case TARN_SETTING_STRING:
		break;
	}
	return g_strdup("any text");
}

char *tarn_settings_default(const tarn_setting_t *s)
{
	if (s->compute_default)
		return s->compute_default();
	return g_strdup(s->def ? s->def : "");
}

static bool in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (!g_ascii_strcasecmp(*list, v))
			return true;
	return false;
}

static char *reject(const tarn_setting_t *s, char **why, const char *what)
{
	char *allowed = tarn_settings_allowed(s);

	*why = g_strdup_printf("%s (allowed: %s)", what, allowed);
	g_free(allowed);
	return NULL;
}

static char *parse_int(const tarn_setting_t *s, const char *v, char **why)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end)
		return reject(s, why, "not an integer");
	if (errno == ERANGE || n < s->min || n > s->max)
		return reject(s, why, "out of range");
	return g_strdup_printf("%lld", n);
}

static const struct {
	const char *suffix;
	int shift;
} size_suffixes[] = {
	{"", 0},    {"B", 0},    {"K", 10},   {"KiB", 10}, {"M", 20},
	{"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40},
};

static char *parse_size(const tarn_setting_t *s, const char *v, char **why)
{
	const char *p = v;
	uint64_t n = 0;
	int shift = -1;

	if (!g_ascii_isdigit(*p))
		return reject(s, why, "not a size");
	for (; g_ascii_isdigit(*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return reject(s, why, "too large");
		n = n * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < G_N_ELEMENTS(size_suffixes); i++)
		if (!g_ascii_strcasecmp(p, size_suffixes[i].suffix))
			shift = size_suffixes[i].shift;
	if (shift < 0)
		return reject(s, why, "not a size");
	if (n > ((uint64_t)INT64_MAX >> shift))
		return reject(s, why, "too large");
	n <<= shift;
	if ((int64_t)n < s->min || (s->max && (int64_t)n > s->max))
		return reject(s, why, "out of range");
	return g_strdup_printf("%" PRIu64, n);
}

static char *parse_float(const tarn_setting_t *s, const char *v, char **why)
{
	char *end;
	double d = g_ascii_strtod(v, &end);

	if (end == v || *end || !isfinite(d))
		return reject(s, why, "not a number");
	if (d < s->fmin || d > s->fmax)
		return reject(s, why, "out of range");
	return float_text(d);
}

static char *parse_enum(const tarn_setting_t *s, const char *v, char **why)
{
	for (const char *const *c = s->choices; *c; c++)
		if (!g_ascii_strcasecmp(*c, v))
			return g_strdup(*c);
	if (s->flags & TARN_SETTING_BOOL_SYNONYMS) {
		if (in_list(bool_true, v))
			return g_strdup("true");
		if (in_list(bool_false, v))
			return g_strdup("false");
	}
	return reject(s, why, "unknown value");
}

/* @item is already trimmed and not empty. */
static bool list_item_ok(const tarn_setting_t *s, const char *item,
			 char **why)
{
	const char *bad = s->check ? s->check(item) : NULL;
	char *what;

	if (bad)
		what = g_strdup_printf("'%s' is %s", item, bad);
	else if (strchr(item, s->sep))
		what = g_strdup_printf("'%s' contains the separator '%c'",
				       item, s->sep);
	else
		return true;
	reject(s, why, what);
	g_free(what);
	return false;
}

char *tarn_settings_parse_items(const tarn_setting_t *s,
				const char *const *items, size_t n,
				size_t *bad, char **why)
{
	GString *out = g_string_new(NULL);

	for (size_t i = 0; i < n; i++) {
		char *item = g_strstrip(g_strdup(items[i]));

		if (*item && !list_item_ok(s, item, why)) {
			if (bad)
				*bad = i;
			g_free(item);
			g_string_free(out, TRUE);
			return NULL;
		}
		if (*item) {
			if (out->len)
				g_string_append_c(out, s->sep);
			g_string_append(out, item);
		}
		g_free(item);
	}
	return g_string_free(out, FALSE);
}

static char *parse_list(const tarn_setting_t *s, const char *v, char **why)
{
	char sep[2] = {s->sep, 0};
	char **items = g_strsplit(v, sep, -1);
	GString *out = g_string_new(NULL);

	for (char **it = items; *it; it++) {
		g_strstrip(*it);
		if (!**it)
			continue;
		if (!list_item_ok(s, *it, why)) {
			g_strfreev(items);
			g_string_free(out, TRUE);
			return NULL;
		}
		if (out->len)
			g_string_append_c(out, s->sep);
		g_string_append(out, *it);
	}
	g_strfreev(items);
	return g_string_free(out, FALSE);
}

char *tarn_settings_parse(const tarn_setting_t *s, const char *text,
			  char **why)
{
	char *v, *out = NULL;
	const char *bad;

	*why = NULL;
	/* Free text is taken as written; everything else ignores blanks. */
	if (s->type == TARN_SETTING_STRING) {
		if (!*text)
			return g_strdup("");
		bad = s->check ? s->check(text) : NULL;
		return bad ? reject(s, why, bad) : g_strdup(text);
	}
	v = g_strstrip(g_strdup(text));
	if (!*v && s->type != TARN_SETTING_LIST) {
		g_free(v);
		if (s->flags & TARN_SETTING_EMPTY_AUTO)
			return g_strdup("");
		return reject(s, why, "empty");
	}
	switch (s->type) {
	case TARN_SETTING_BOOL:
		if (in_list(bool_true, v))
			out = g_strdup("true");
		else if (in_list(bool_false, v))
			out = g_strdup("false");
		else
			reject(s, why, "not a boolean");
		break;
	case TARN_SETTING_INT:
		out = parse_int(s, v, why);
		break;
	case TARN_SETTING_SIZE:
		out = parse_size(s, v, why);
		break;
	case TARN_SETTING_FLOAT:
		out = parse_float(s, v, why);
		break;
	case TARN_SETTING_ENUM:
		out = parse_enum(s, v, why);
		break;
	case TARN_SETTING_PATH:
		bad = s->check ? s->check(v) : NULL;
		out = bad ? reject(s, why, bad) : g_strdup(v);
		break;
	case TARN_SETTING_LIST:
		out = parse_list(s, v, why);
		break;
	case TARN_SETTING_STRING:
		break;
	}
	g_free(v);
	return out;
}

bool tarn_settings_text_bool(const char *text)
{
	return text && in_list(bool_true, text);
}

int64_t tarn_settings_text_int(const char *text)
{
	return text ? (int64_t)g_ascii_strtoll(text, NULL, 10) : 0;
}

double tarn_settings_text_float(const char *text)
{
	return text ? g_ascii_strtod(text, NULL) : 0.0;
}
