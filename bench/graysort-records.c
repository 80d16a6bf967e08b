/* SPDX-License-Identifier: MIT */
/*
 * graysort-records: the graysort benchmark's record tool, a thin command
 * line over planner/graysort_records.h.
 *
 *   graysort-records gen [--binary] [--seed S] [--files K] RECORDS PREFIX
 *       writes PREFIX-00000.dat ... (K files, default 1) and prints the
 *       checksum of all records
 *   graysort-records sum FILE...
 *       prints the checksum of the records in the files
 *   graysort-records validate [--expect SUM] FILE...
 *       checks that the files, in the order given, hold records in key
 *       order (and, with --expect, the same records as the input)
 *
 * Exit status: 0 on success, 1 when validation fails or a file cannot be
 * read or written, 2 for a usage error.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graysort_records.h"

static const char usage[] =
	"usage: graysort-records gen [--binary] [--seed S] [--files K] RECORDS PREFIX\n"
	"       graysort-records sum FILE...\n"
	"       graysort-records validate [--expect SUM] FILE...\n";

static int parse_u64(const char *what, const char *s, uint64_t min,
		     uint64_t *out)
{
	guint64 v;
	GError *e = NULL;

	if (!g_ascii_string_to_unsigned(s, 10, min, G_MAXUINT64, &v, &e)) {
		fprintf(stderr, "graysort-records: %s=%s: %s (allowed: an integer >= %" PRIu64 ")\n",
			what, s, e->message, min);
		g_error_free(e);
		return -1;
	}
	*out = v;
	return 0;
}

static int cmd_gen(int argc, char **argv)
{
	uint64_t seed = 1, files = 1, records;
	bool binary = false;
	struct tarn_graysort_sum sum;
	GPtrArray *paths;
	GError *e = NULL;
	char *text;
	int i, ret;

	for (i = 0; i < argc && g_str_has_prefix(argv[i], "--"); i++) {
		if (strcmp(argv[i], "--binary") == 0) {
			binary = true;
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			if (parse_u64("--seed", argv[++i], 0, &seed))
				return 2;
		} else if (strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
			if (parse_u64("--files", argv[++i], 1, &files))
				return 2;
		} else {
			fprintf(stderr, "graysort-records gen: unknown option %s\n%s",
				argv[i], usage);
			return 2;
		}
	}
	if (argc - i != 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (parse_u64("RECORDS", argv[i], 0, &records))
		return 2;
	paths = g_ptr_array_new_with_free_func(g_free);
	for (uint64_t k = 0; k < files; k++)
		g_ptr_array_add(paths, g_strdup_printf("%s-%05" PRIu64 ".dat",
						       argv[i + 1], k));
	ret = tarn_graysort_generate((const char *const *)paths->pdata,
				     paths->len, records, seed, !binary, &sum,
				     &e);
	g_ptr_array_unref(paths);
	if (ret) {
		fprintf(stderr, "graysort-records: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	text = tarn_graysort_sum_format(&sum);
	printf("%s\n", text);
	g_free(text);
	return 0;
}

static int cmd_sum(int argc, char **argv)
{
	struct tarn_graysort_sum sum;
	GError *e = NULL;
	char *text;

	if (tarn_graysort_sum_files((const char *const *)argv, (size_t)argc,
				    &sum, &e)) {
		fprintf(stderr, "graysort-records: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	text = tarn_graysort_sum_format(&sum);
	printf("%s\n", text);
	g_free(text);
	return 0;
}

static int cmd_validate(int argc, char **argv)
{
	struct tarn_graysort_sum expect, got;
	bool have_expect = false;
	GError *e = NULL;
	char *text;
	int i = 0;

	if (argc >= 2 && strcmp(argv[0], "--expect") == 0) {
		if (tarn_graysort_sum_parse(argv[1], &expect, &e)) {
			fprintf(stderr, "graysort-records: %s\n", e->message);
			g_error_free(e);
			return 2;
		}
		have_expect = true;
		i = 2;
	}
	if (tarn_graysort_validate((const char *const *)argv + i,
				   (size_t)(argc - i),
				   have_expect ? &expect : NULL, &got, &e)) {
		fprintf(stderr, "graysort-records: invalid output: %s\n",
			e->message);
		g_error_free(e);
		return 1;
	}
	text = tarn_graysort_sum_format(&got);
	printf("ok: %" PRIu64 " records in key order%s, checksum %s\n",
	       got.records, have_expect ? ", same records as the input" : "",
	       text);
	g_free(text);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "sum") == 0)
		return cmd_sum(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "validate") == 0)
		return cmd_validate(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}
