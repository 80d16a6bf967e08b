/* SPDX-License-Identifier: MIT */
/*
 * docs/config.md, generated from the table so that the page can never
 * disagree with what the parser accepts. Only static text goes in: a
 * computed default is described, not computed, so that the page is the same
 * on every machine.
 */
#include <string.h>

#include <glib.h>

#include "settings.h"

static const char intro[] =
	"<!-- Generated from config/table.c by config/gen-config-doc.c. Do not "
	"edit:\n"
	"     change the table, then run `meson compile -C BUILDDIR "
	"config-doc`. -->\n"
	"# Configuration\n"
	"\n"
	"Every tarn setting is defined once, in one typed table "
	"(`config/table.c`); the\n"
	"parser, the validation, `tarn_config_describe()` and this page come "
	"from it.\n"
	"A setting's name is also its environment variable. unidist's "
	"(`UNIDIST_*`) and\n"
	"smallpond's (`SP_*`) names and defaults are kept where the setting "
	"means the\n"
	"same thing in tarn.\n"
	"\n"
	"## Sources and precedence\n"
	"\n"
	"A setting takes its value from the first of these sources that sets "
	"it:\n"
	"\n"
	"1. `tarn_config_set(name, value)`, called before `tarn_init()`;\n"
	"2. the environment variable of the same name (set to the empty "
	"string, it\n"
	"   counts as unset);\n"
	"3. the YAML file: the one named by `UNIDIST_CONFIG_FILE` or "
	"`SP_CONFIG_FILE`\n"
	"   (which only the first two sources can set; if both are set they "
	"must name\n"
	"   the same file), otherwise `tarn.yaml` in the working directory "
	"when it\n"
	"   exists;\n"
	"4. the default.\n"
	"\n"
	"Every source is validated, including values that a stronger source "
	"overrides.\n"
	"`tarn_init()` reads and checks them all and then fixes the values "
	"until\n"
	"`tarn_shutdown()`; when anything is wrong it starts nothing and "
	"returns\n"
	"`TARN_ECONFIG`. Before `tarn_init()`, `tarn_config_get()` reads the "
	"sources\n"
	"at each call, and `tarn_config_check()` validates them on demand.\n"
	"`tarn_config_source()` and `tarn_config_describe()` say where a value "
	"came\n"
	"from: `api`, `env`, `FILE:LINE:COLUMN` or `default`; `tarn config` "
	"prints\n"
	"them all.\n"
	"\n"
	"An error names the variable (or the file, line and column), the value "
	"and\n"
	"what is allowed, and suggests the closest name for an unknown one:\n"
	"\n"
	"```\n"
	"UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)\n"
	"tarn.yaml:3:1: unknown setting 'UNIDIST_CPU' (did you mean "
	"UNIDIST_CPUS?)\n"
	"```\n"
	"\n"
	"`UNIDIST_BACKEND` and `SP_PLATFORM` are the same choice under two "
	"names: set\n"
	"to different backends, they are an error.\n"
	"\n"
	"## The YAML file\n"
	"\n"
	"One document whose top level is a mapping from setting names (in any "
	"case) to\n"
	"scalar values; a list setting also takes a sequence of scalars. A "
	"value left\n"
	"empty (or `~`, `null`) leaves the setting unset. Unknown names, "
	"names given\n"
	"twice, nested mappings, aliases and the two config-file settings are "
	"errors.\n"
	"Relative paths are relative to the working directory, as in the "
	"environment.\n"
	"\n"
	"```yaml\n"
	"# tarn.yaml\n"
	"UNIDIST_BACKEND: procpool\n"
	"UNIDIST_CPUS: 8\n"
	"UNIDIST_LOG_LEVEL: info\n"
	"UNIDIST_MPI_HOSTS: [node1, node2]   # or \"node1,node2\"\n"
	"UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY: 16GiB\n"
	"SP_DATA_ROOT: /scratch/tarn\n"
	"SP_BIND_NUMA_NODE: yes\n"
	"```\n"
	"\n"
	"## Types\n"
	"\n"
	"Blanks around a value are ignored, except in strings. Each value is "
	"kept as\n"
	"canonical text, which is what `tarn_config_get()` returns.\n"
	"\n"
	"| Type | Accepts | Canonical text |\n"
	"|---|---|---|\n"
	"| string | any text, checked where the setting says | as given |\n"
	"| bool | true, false, 1, 0, yes, no, on, off, in any case | `true`, "
	"`false` |\n"
	"| int | a decimal integer in the allowed range | decimal |\n"
	"| size | bytes, or a whole number with K, M, G, T or KiB, MiB, GiB, "
	"TiB (powers of 1024, any case) | bytes, in decimal |\n"
	"| float | a decimal number in the allowed range | shortest decimal "
	"that reads back the same |\n"
	"| enum | one of the allowed words, in any case | the word in lower "
	"case |\n"
	"| path | a file or folder | as given |\n"
	"| list | items separated by the setting's separator, or a YAML "
	"sequence | items joined by the separator, empty items dropped |\n";

/* Table cells must not end early at a '|'. */
static void cell(GString *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '|')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
}

static char *default_words(const tarn_setting_t *s)
{
	if (s->compute_default)
		return g_strdup(s->default_doc);
	if (!*s->def)
		return s->default_doc
			       ? g_strdup_printf("empty (%s)", s->default_doc)
			       : g_strdup("empty");
	if (s->default_doc)
		return g_strdup_printf("`%s` (%s)", s->def, s->default_doc);
	return g_strdup_printf("`%s`", s->def);
}

static char *short_default(const tarn_setting_t *s)
{
	if (s->compute_default)
		return g_strdup("computed");
	return *s->def ? g_strdup_printf("`%s`", s->def) : g_strdup("empty");
}

char *tarn_settings_markdown(void)
{
	GString *out = g_string_new(intro);

	g_string_append(out, "\n## Summary\n\n"
			     "| Setting | Type | Default |\n|---|---|---|\n");
	for (size_t i = 0; i < tarn_settings_count; i++) {
		const tarn_setting_t *s = &tarn_settings_table[i];
		char *anchor = g_ascii_strdown(s->name, -1);
		char *def = short_default(s);

		g_string_append_printf(out, "| [`%s`](#%s) | %s | ", s->name,
				       anchor,
				       tarn_settings_type_name(s->type));
		cell(out, def);
		g_string_append(out, " |\n");
		g_free(anchor);
		g_free(def);
	}
	g_string_append(out, "\n## Settings\n");
	for (size_t i = 0; i < tarn_settings_count; i++) {
		const tarn_setting_t *s = &tarn_settings_table[i];
		char *def = default_words(s), *allowed = tarn_settings_allowed(s);

		g_string_append_printf(out,
				       "\n### %s\n\n%s\n\n"
				       "- Environment variable: `%s`\n"
				       "- Type: %s\n"
				       "- Default: %s\n"
				       "- Allowed: %s\n",
				       s->name, s->description, s->name,
				       tarn_settings_type_name(s->type), def,
				       allowed);
		if (s->flags & TARN_SETTING_NOT_IN_FILE)
			g_string_append(out, "- Not allowed in the YAML file\n");
		g_free(def);
		g_free(allowed);
	}
	return g_string_free(out, FALSE);
}
