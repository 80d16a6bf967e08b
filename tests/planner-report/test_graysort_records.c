/* SPDX-License-Identifier: MIT */
/*
 * GraySort records: determinism and layout of generated records, the
 * checksum, and the validator on correct output (sorted by sort(1) for the
 * ascii layout, by qsort for the binary one) and on broken output (swapped,
 * dropped, duplicated records, torn files, missing files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include <tarn/errors.h>

#include "graysort_records.h"
#include "tmpdir.h"

#define RS TARN_GRAYSORT_RECORD_SIZE

static char *dir;

static void setup(void)
{
	dir = g_dir_make_tmp("tarn-graysort-XXXXXX", NULL);
	cr_assert_not_null(dir);
}

static void teardown(void)
{
	tmpdir_remove(dir);
	g_free(dir);
}

TestSuite(graysort, .init = setup, .fini = teardown, .timeout = 120);

static char *path(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static uint8_t *read_all(const char *p, size_t *len)
{
	char *data = NULL;
	gsize n = 0;

	cr_assert(g_file_get_contents(p, &data, &n, NULL), "cannot read %s", p);
	*len = n;
	return (uint8_t *)data;
}

static void write_all(const char *p, const uint8_t *data, size_t len)
{
	cr_assert(g_file_set_contents(p, (const char *)data, (gssize)len, NULL),
		  "cannot write %s", p);
}

Test(graysort, records_are_deterministic_and_laid_out)
{
	uint8_t a[RS], b[RS], c[RS];

	tarn_graysort_record(42, 7, true, a);
	tarn_graysort_record(42, 7, true, b);
	cr_assert_arr_eq(a, b, RS, "the same seed and index must give the same record");
	tarn_graysort_record(43, 7, true, c);
	cr_assert(memcmp(a, c, 10) != 0, "another seed must give another key");

	for (int i = 0; i < 10; i++)
		cr_assert(g_ascii_isalnum(a[i]), "key byte %d is 0x%02x", i, a[i]);
	cr_assert_eq(a[10], ' ');
	cr_assert_eq(memcmp(a + 11, "00000000000000000000000000000007", 32), 0,
		     "the ascii record must carry its index in hex: %.32s",
		     (const char *)a + 11);
	cr_assert_eq(a[43], ' ');
	cr_assert_eq(a[RS - 1], '\n');
	cr_assert_null(memchr(a, '\n', RS - 1), "one newline only, at the end");

	tarn_graysort_record(42, 0x0102030405060708ULL, false, b);
	cr_assert_eq(b[10], 0);
	cr_assert_eq(b[27], 0x08);
	cr_assert_eq(b[20], 0x01);
}

Test(graysort, sum_is_order_independent_and_round_trips)
{
	uint8_t recs[4 * RS];
	struct tarn_graysort_sum s1 = {0}, s2 = {0}, s3 = {0}, parsed;
	char *text;
	GError *e = NULL;

	for (int i = 0; i < 4; i++)
		tarn_graysort_record(1, (uint64_t)i, false, recs + i * RS);
	tarn_graysort_sum_add(&s1, recs, 4);
	for (int i = 3; i >= 0; i--)
		tarn_graysort_sum_add(&s2, recs + i * RS, 1);
	cr_assert(tarn_graysort_sum_equal(&s1, &s2));
	tarn_graysort_sum_add(&s3, recs, 2);
	{
		struct tarn_graysort_sum t = {0};

		tarn_graysort_sum_add(&t, recs + 2 * RS, 2);
		tarn_graysort_sum_merge(&s3, &t);
	}
	cr_assert(tarn_graysort_sum_equal(&s1, &s3));

	text = tarn_graysort_sum_format(&s1);
	cr_assert_eq(tarn_graysort_sum_parse(text, &parsed, NULL), 0);
	cr_assert(tarn_graysort_sum_equal(&s1, &parsed), "%s", text);
	g_free(text);

	cr_assert_eq(tarn_graysort_sum_parse("12:xyz", &parsed, &e),
		     TARN_EINVAL);
	cr_assert_not_null(strstr(e->message, "12:xyz"), "%s", e->message);
	cr_assert_not_null(strstr(e->message, "expected"), "%s", e->message);
	g_error_free(e);
}

/* Generate 3 input files, sort them with sort(1) into one, split it in 2. */
static void sorted_ascii(uint64_t records, struct tarn_graysort_sum *sum,
			 char **out0, char **out1)
{
	char *in[3] = {path("in0"), path("in1"), path("in2")};
	char *all = path("sorted");
	struct tarn_graysort_sum files = {0};
	char *cmd;
	uint8_t *data;
	size_t len, cut;
	GError *e = NULL;
	int status = 0;

	cr_assert_eq(tarn_graysort_generate((const char *const *)in, 3, records,
					    99, true, sum, &e),
		     0, "%s", e ? e->message : "");
	cr_assert_eq(sum->records, records);
	cr_assert_eq(tarn_graysort_sum_files((const char *const *)in, 3,
					     &files, NULL),
		     0);
	cr_assert(tarn_graysort_sum_equal(sum, &files),
		  "the files' checksum must equal the generator's");

	cmd = g_strdup_printf("env LC_ALL=C sort -o '%s' '%s' '%s' '%s'", all,
			      in[0], in[1], in[2]);
	cr_assert(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
	cr_assert_eq(status, 0, "%s failed", cmd);
	g_free(cmd);

	data = read_all(all, &len);
	cr_assert_eq(len, records * RS);
	cut = (size_t)(records / 3) * RS;
	*out0 = path("out0");
	*out1 = path("out1");
	write_all(*out0, data, cut);
	write_all(*out1, data + cut, len - cut);
	g_free(data);
	g_free(all);
	for (int i = 0; i < 3; i++)
		g_free(in[i]);
}

Test(graysort, sort_output_validates)
{
	struct tarn_graysort_sum sum, got;
	char *out[2];
	GError *e = NULL;

	sorted_ascii(20000, &sum, &out[0], &out[1]);
	cr_assert_eq(tarn_graysort_validate((const char *const *)out, 2, &sum,
					    &got, &e),
		     0, "%s", e ? e->message : "");
	cr_assert(tarn_graysort_sum_equal(&sum, &got));
	g_free(out[0]);
	g_free(out[1]);
}

Test(graysort, unsorted_input_is_an_order_error)
{
	char *in = path("in");
	struct tarn_graysort_sum sum;
	GError *e = NULL;

	cr_assert_eq(tarn_graysort_generate((const char *const *)&in, 1, 1000,
					    5, false, &sum, NULL),
		     0);
	cr_assert_eq(tarn_graysort_validate((const char *const *)&in, 1, &sum,
					    NULL, &e),
		     TARN_EPROTO);
	cr_assert_not_null(strstr(e->message, "out of order"), "%s",
			   e->message);
	g_error_free(e);
	g_free(in);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TARN_GRAYSORT_KEY_SIZE);
}

Test(graysort, binary_records_sorted_in_memory_validate)
{
	char *in[2] = {path("b0"), path("b1")};
	char *out = path("bout");
	struct tarn_graysort_sum sum;
	uint8_t *a, *b, *all;
	size_t la, lb;
	GError *e = NULL;

	cr_assert_eq(tarn_graysort_generate((const char *const *)in, 2, 5001,
					    7, false, &sum, NULL),
		     0);
	a = read_all(in[0], &la);
	b = read_all(in[1], &lb);
	cr_assert_eq(la + lb, 5001 * RS);
	cr_assert_eq(la, 2500 * RS, "file 0 gets records [0, 2500)");
	all = g_malloc(la + lb);
	memcpy(all, a, la);
	memcpy(all + la, b, lb);
	qsort(all, 5001, RS, key_cmp);
	write_all(out, all, la + lb);
	cr_assert_eq(tarn_graysort_validate((const char *const *)&out, 1, &sum,
					    NULL, &e),
		     0, "%s", e ? e->message : "");
	g_free(a);
	g_free(b);
	g_free(all);
	g_free(out);
	g_free(in[0]);
	g_free(in[1]);
}

Test(graysort, swapped_records_name_the_file_and_offset)
{
	struct tarn_graysort_sum sum;
	char *out[2];
	uint8_t *data, tmp[RS];
	size_t len;
	GError *e = NULL;
	char *want;

	sorted_ascii(3000, &sum, &out[0], &out[1]);
	/* out1 holds records 1000..2999; swap its records 10 and 11. */
	data = read_all(out[1], &len);
	cr_assert(memcmp(data + 10 * RS, data + 11 * RS, 10) < 0);
	memcpy(tmp, data + 10 * RS, RS);
	memcpy(data + 10 * RS, data + 11 * RS, RS);
	memcpy(data + 11 * RS, tmp, RS);
	write_all(out[1], data, len);
	g_free(data);

	cr_assert_eq(tarn_graysort_validate((const char *const *)out, 2, &sum,
					    NULL, &e),
		     TARN_EPROTO);
	want = g_strdup_printf("%s: out of order: the record at offset %d ",
			       out[1], 11 * RS);
	cr_assert_not_null(strstr(e->message, want), "got: %s\nwant: %s",
			   e->message, want);
	g_free(want);
	g_error_free(e);
	g_free(out[0]);
	g_free(out[1]);
}

Test(graysort, order_is_checked_across_files)
{
	struct tarn_graysort_sum sum;
	char *out[2];
	GError *e = NULL;

	sorted_ascii(3000, &sum, &out[0], &out[1]);
	/* The files in the wrong order: each sorted, the whole is not. */
	{
		char *swapped[2] = {out[1], out[0]};

		cr_assert_eq(tarn_graysort_validate(
				     (const char *const *)swapped, 2, &sum,
				     NULL, &e),
			     TARN_EPROTO);
	}
	cr_assert_not_null(strstr(e->message, "offset 0 "), "%s", e->message);
	cr_assert_not_null(strstr(e->message, out[0]), "%s", e->message);
	g_error_free(e);
	g_free(out[0]);
	g_free(out[1]);
}

Test(graysort, dropped_record_is_a_count_error)
{
	struct tarn_graysort_sum sum;
	char *out[2];
	uint8_t *data;
	size_t len;
	GError *e = NULL;

	sorted_ascii(3000, &sum, &out[0], &out[1]);
	data = read_all(out[0], &len);
	/* Drop record 500: the rest stays sorted. */
	memmove(data + 500 * RS, data + 501 * RS, len - 501 * RS);
	write_all(out[0], data, len - RS);
	g_free(data);

	cr_assert_eq(tarn_graysort_validate((const char *const *)out, 2, &sum,
					    NULL, &e),
		     TARN_EPROTO);
	cr_assert_not_null(strstr(e->message, "2999 records, the input 3000"),
			   "%s", e->message);
	g_error_free(e);
	g_free(out[0]);
	g_free(out[1]);
}

Test(graysort, duplicated_record_is_a_checksum_error)
{
	struct tarn_graysort_sum sum;
	char *out[2];
	uint8_t *data;
	size_t len;
	GError *e = NULL;

	sorted_ascii(3000, &sum, &out[0], &out[1]);
	data = read_all(out[0], &len);
	/* Record 7 replaced by a copy of record 6: same count, still sorted. */
	memcpy(data + 7 * RS, data + 6 * RS, RS);
	write_all(out[0], data, len);
	g_free(data);

	cr_assert_eq(tarn_graysort_validate((const char *const *)out, 2, &sum,
					    NULL, &e),
		     TARN_EPROTO);
	cr_assert_not_null(strstr(e->message, "checksum"), "%s", e->message);
	g_error_free(e);
	g_free(out[0]);
	g_free(out[1]);
}

Test(graysort, torn_and_missing_files_are_named)
{
	char *torn = path("torn");
	char *missing = path("missing");
	uint8_t rec[RS + 3] = {0};
	GError *e = NULL;

	write_all(torn, rec, sizeof(rec));
	cr_assert_eq(tarn_graysort_validate((const char *const *)&torn, 1,
					    NULL, NULL, &e),
		     TARN_EPROTO);
	cr_assert_not_null(strstr(e->message, torn), "%s", e->message);
	cr_assert_not_null(strstr(e->message, "size 103"), "%s", e->message);
	g_clear_error(&e);

	cr_assert_eq(tarn_graysort_validate((const char *const *)&missing, 1,
					    NULL, NULL, &e),
		     TARN_EIO);
	cr_assert_not_null(strstr(e->message, missing), "%s", e->message);
	g_clear_error(&e);

	cr_assert_eq(tarn_graysort_generate(NULL, 0, 10, 1, true, NULL, &e),
		     TARN_EINVAL);
	cr_assert_not_null(strstr(e->message, "expected at least 1"), "%s",
			   e->message);
	g_clear_error(&e);
	g_free(torn);
	g_free(missing);
}

Test(graysort, empty_files_are_fine)
{
	char *f[3] = {path("e0"), path("e1"), path("e2")};
	struct tarn_graysort_sum sum, got;

	/* 2 records in 3 files: file 0 is empty. */
	cr_assert_eq(tarn_graysort_generate((const char *const *)f, 3, 2, 3,
					    true, &sum, NULL),
		     0);
	cr_assert_eq(tarn_graysort_sum_files((const char *const *)f, 3, &got,
					     NULL),
		     0);
	cr_assert(tarn_graysort_sum_equal(&sum, &got));
	cr_assert_eq(got.records, 2);
	for (int i = 0; i < 3; i++)
		g_free(f[i]);
}
