/* SPDX-License-Identifier: MIT */
/*
 * config/: the typed table of every setting and the rules that turn the
 * four sources (tarn_config_set(), environment, YAML file, default) into
 * effective values. It knows nothing of core or plugins: errors come back as
 * text, and core/src/config_api.c turns them into TARN_E* codes.
 *
 * Strings handed out by functions returning `char *` are g_malloc'd; free
 * them with g_free(). Everything else is owned by the table or the object it
 * came from.
 */
#ifndef TARN_SETTINGS_H
#define TARN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tarn_setting_type {
	TARN_SETTING_STRING,
	TARN_SETTING_BOOL,
	TARN_SETTING_INT,
	TARN_SETTING_SIZE,
	TARN_SETTING_FLOAT,
	TARN_SETTING_ENUM,
	TARN_SETTING_PATH,
	TARN_SETTING_LIST,
};

/* "" is a valid value and means "decide automatically". */
#define TARN_SETTING_EMPTY_AUTO (1u << 0)
/* Only tarn_config_set() or the environment may set it (it names the file). */
#define TARN_SETTING_NOT_IN_FILE (1u << 1)
/* An enum that also takes 1/0, yes/no, on/off for its true/false values. */
#define TARN_SETTING_BOOL_SYNONYMS (1u << 2)

/*
 * Extra check of a string value or of one list item: NULL when fine, else
 * a static phrase such as "not a host name".
 */
typedef const char *(*tarn_setting_check_fn)(const char *text);

/*
 * One row of the table. Adding a setting is adding one row to table.c; the
 * parser, the validation, tarn_config_describe() and docs/config.md all
 * follow from it.
 */
typedef struct tarn_setting {
	const char *name; /* also its environment variable */
	enum tarn_setting_type type;
	const char *def;                 /* default as canonical text */
	char *(*compute_default)(void);  /* overrides @def when set */
	const char *default_doc;         /* what docs say about the default */
	int64_t min, max;                /* INT and SIZE (max 0: no limit) */
	double fmin, fmax;               /* FLOAT */
	const char *const *choices;      /* ENUM, NULL-terminated */
	char sep;                        /* LIST */
	tarn_setting_check_fn check;     /* STRING, PATH, LIST items */
	const char *allowed;             /* words; NULL: derived from the type */
	unsigned flags;                  /* TARN_SETTING_* */
	const char *description;
} tarn_setting_t;

/* Numbers equal to enum tarn_config_source in <tarn/tarn.h>. */
enum tarn_setting_source {
	TARN_SETTING_FROM_DEFAULT = 0,
	TARN_SETTING_FROM_FILE = 1,
	TARN_SETTING_FROM_ENV = 2,
	TARN_SETTING_FROM_API = 3,
};

/* Status codes of this module; config_api.c maps them to TARN_E*. */
enum {
	TARN_SETTINGS_OK = 0,
	TARN_SETTINGS_UNKNOWN = -1, /* no such setting */
	TARN_SETTINGS_INVALID = -2, /* bad value or bad source */
};

/* The file looked for when neither config-file setting is set. */
#define TARN_SETTINGS_DEFAULT_FILE "tarn.yaml"

/* table.c ----------------------------------------------------------------- */

extern const tarn_setting_t tarn_settings_table[];
extern const size_t tarn_settings_count;

/* types.c ------------------------------------------------------------------ */

/* Row by name, case-insensitively; NULL when unknown. */
const tarn_setting_t *tarn_settings_find(const char *name, size_t *index);
/* Closest known name when it is close enough to be a likely typo, or NULL. */
const char *tarn_settings_suggest(const char *name);
/* Levenshtein distance counting a swap of neighbours as one edit. */
size_t tarn_settings_distance(const char *a, const char *b);
/* "string", "bool", "int", "size", "float", "enum", "path" or "list". */
const char *tarn_settings_type_name(enum tarn_setting_type type);
/* What is allowed, in words ("1..4096"). */
char *tarn_settings_allowed(const tarn_setting_t *s);
/* The default as canonical text, computed where the row says so. */
char *tarn_settings_default(const tarn_setting_t *s);
/*
 * Validate @text for @s. Returns the canonical text, or NULL with *why set
 * to the reason and what is allowed: "not an integer (allowed: 1..4096)".
 */
char *tarn_settings_parse(const tarn_setting_t *s, const char *text,
			  char **why);
/*
 * Validate the items of a YAML sequence for list setting @s. Returns the
 * canonical text (items joined by the separator), or NULL with *why and
 * *bad (index of the offending item) set.
 */
char *tarn_settings_parse_items(const tarn_setting_t *s,
				const char *const *items, size_t n,
				size_t *bad, char **why);
/* Parse canonical text (no validation beyond the syntax). */
bool tarn_settings_text_bool(const char *text);
int64_t tarn_settings_text_int(const char *text);
double tarn_settings_text_float(const char *text);

/* resolve.c ---------------------------------------------------------------- */

/* Values given through tarn_config_set(): the strongest source. */
typedef struct tarn_settings tarn_settings_t;

tarn_settings_t *tarn_settings_new(void);
void tarn_settings_free(tarn_settings_t *st);
/*
 * Set (@value validated and stored canonically) or, with NULL, forget the
 * API value of @name. TARN_SETTINGS_UNKNOWN or _INVALID with *err set.
 */
int tarn_settings_set(tarn_settings_t *st, const char *name,
		      const char *value, char **err);

/*
 * Effective values with where each came from. A setting whose sources hold
 * an invalid value gets its default and an error; problems with the YAML
 * file as a whole (unreadable, malformed, unknown keys) go to file_error and
 * to the list. Every array has tarn_settings_count entries.
 */
typedef struct tarn_resolved {
	char **value;      /* canonical effective value */
	int *source;       /* enum tarn_setting_source */
	char **origin;     /* "api", "env", "default" or "FILE:LINE:COLUMN" */
	char **error;      /* the setting's own first problem, or NULL */
	char *file_error;  /* first problem of the file as a whole, or NULL */
	char *file;        /* the YAML file read, or NULL */
	char **problems;   /* every problem, most important first */
	size_t nproblems;
	char **warnings;   /* things worth saying that are not errors */
	size_t nwarnings;
} tarn_resolved_t;

/* Read the environment and the YAML file now; @st may be NULL. */
tarn_resolved_t *tarn_settings_resolve(const tarn_settings_t *st);
void tarn_resolved_free(tarn_resolved_t *r);

/* doc.c -------------------------------------------------------------------- */

/* docs/config.md, generated from the table. */
char *tarn_settings_markdown(void);

#endif /* TARN_SETTINGS_H */
