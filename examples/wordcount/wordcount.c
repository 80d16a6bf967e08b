/* SPDX-License-Identifier: MIT */
/*
 * Word count's task functions, as a shared library that plan.yaml names:
 * wc_tokenize writes one word per line, wc_count counts the words of its
 * partition (all copies of a word are in one partition after the hash
 * partition on the word) and writes "word<TAB>count" lines.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tarn/plan.h>

static FILE *open_out(tarn_compute_ctx_t *ctx, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", tarn_compute_output_dir(ctx),
		 name);
	return fopen(path, "w");
}

TARN_COMPUTE(wc_tokenize)
{
	FILE *out = open_out(ctx, "words.txt");

	if (!out)
		return tarn_compute_fail(ctx, "cannot create words.txt");
	for (size_t i = 0; i < tarn_compute_num_inputs(ctx); i++) {
		FILE *in = fopen(tarn_compute_input(ctx, i), "r");
		int c, len = 0;

		if (!in) {
			fclose(out);
			return tarn_compute_fail(ctx, "cannot read %s",
						 tarn_compute_input(ctx, i));
		}
		while ((c = getc(in)) != EOF) {
			if (isalnum(c)) {
				putc(tolower(c), out);
				len++;
			} else if (len) {
				putc('\n', out);
				len = 0;
			}
		}
		if (len)
			putc('\n', out);
		fclose(in);
	}
	return fclose(out) == 0 ? 0 : tarn_compute_fail(ctx, "write error");
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TARN_COMPUTE(wc_count)
{
	char **words = NULL;
	size_t n = 0, cap = 0;
	char line[1024];
	FILE *out = open_out(ctx, "counts.tsv");

	if (!out)
		return tarn_compute_fail(ctx, "cannot create counts.tsv");
	for (size_t i = 0; i < tarn_compute_num_inputs(ctx); i++) {
		FILE *in = fopen(tarn_compute_input(ctx, i), "r");

		while (in && fgets(line, sizeof(line), in)) {
			line[strcspn(line, "\n")] = 0;
			if (!*line)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 1024;
				words = realloc(words, cap * sizeof(*words));
			}
			words[n++] = strdup(line);
		}
		if (in)
			fclose(in);
	}
	qsort(words, n, sizeof(*words), cmp);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && !strcmp(words[i], words[j]); j++)
			;
		fprintf(out, "%s\t%zu\n", words[i], j - i);
	}
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	free(words);
	return fclose(out) == 0 ? 0 : tarn_compute_fail(ctx, "write error");
}
