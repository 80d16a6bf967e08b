/* SPDX-License-Identifier: MIT */
/*
 * GraySort records: generate them deterministically from a seed, and
 * validate sorted output (global key order, record count, and an
 * order-independent checksum that catches lost or duplicated records).
 * Used by examples/graysort and bench/. Internal to tarn; not installed.
 */
#ifndef TARN_PLANNER_GRAYSORT_RECORDS_H
#define TARN_PLANNER_GRAYSORT_RECORDS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * DOC: graysort records
 *
 * A record is %TARN_GRAYSORT_RECORD_SIZE (100) bytes; its first
 * %TARN_GRAYSORT_KEY_SIZE (10) bytes are the key, and records sort by
 * memcmp() of their keys. Record i of a data set is a function of the seed
 * and i only, so that any range of records can be generated on its own.
 * Every record carries its number, so no two records of a data set are the
 * same bytes and the checksum of the set changes when one is lost or
 * duplicated.
 *
 * Two layouts, both 100 bytes a record, so a sorter that treats a file as
 * fixed 100-byte records handles either:
 *
 * - binary: 10 random key bytes, 2 zero bytes, the record number as 16
 *   bytes big-endian, 72 filler bytes.
 * - ascii (like gensort -a): 10 key characters from [0-9A-Za-z], a space,
 *   the record number as 32 upper-case hex digits, a space, 55 filler
 *   letters, '\n'. A file of them is a text file of 100-byte lines that
 *   ``LC_ALL=C sort`` and DuckDB's CSV reader (one column, no delimiter or
 *   quote inside a line) sort by key correctly.
 *
 * The checksum of a set of records is the count and the sum, modulo 2^128,
 * of a 128-bit hash of each record's 100 bytes: independent of order and of
 * how the records are split into files.
 *
 * Thread safety: no shared state; every function may be called from any
 * thread.
 */

#define TARN_GRAYSORT_RECORD_SIZE 100
#define TARN_GRAYSORT_KEY_SIZE 10

/**
 * struct tarn_graysort_sum - the checksum of a set of records
 * @records: how many
 * @lo: low 64 bits of the sum of the records' 128-bit hashes
 * @hi: high 64 bits of it
 *
 * Start from all zeroes (``{0}``).
 */
struct tarn_graysort_sum {
	uint64_t records;
	uint64_t lo;
	uint64_t hi;
};

/**
 * tarn_graysort_error_quark() - the GError domain of this module's errors
 *
 * The GError's code is the TARN_E* code the function returned.
 */
GQuark tarn_graysort_error_quark(void);

/**
 * tarn_graysort_record() - make one record
 * @seed: the data set's seed
 * @index: the record's number in the data set, from 0
 * @ascii: the ascii layout (true) or the binary one (false)
 * @out: caller storage for %TARN_GRAYSORT_RECORD_SIZE bytes
 */
void tarn_graysort_record(uint64_t seed, uint64_t index, bool ascii,
			  uint8_t *out);

/**
 * tarn_graysort_sum_add() - add records to a checksum
 * @sum: the checksum, updated
 * @records: whole records; borrowed
 * @n: how many
 */
void tarn_graysort_sum_add(struct tarn_graysort_sum *sum,
			   const uint8_t *records, size_t n);

/** tarn_graysort_sum_merge() - add checksum @b into @a (for parallel sums) */
void tarn_graysort_sum_merge(struct tarn_graysort_sum *a,
			     const struct tarn_graysort_sum *b);

/** tarn_graysort_sum_equal() - whether two checksums are the same */
bool tarn_graysort_sum_equal(const struct tarn_graysort_sum *a,
			     const struct tarn_graysort_sum *b);

/**
 * tarn_graysort_sum_format() - a checksum as text
 * @sum: the checksum
 *
 * Return: "<records>:<32 hex digits>", newly allocated (g_free()).
 */
char *tarn_graysort_sum_format(const struct tarn_graysort_sum *sum);

/**
 * tarn_graysort_sum_parse() - parse tarn_graysort_sum_format()'s text
 * @text: the text
 * @sum: receives the checksum
 * @error: receives what was wrong with @text; may be NULL
 *
 * Return: 0; TARN_EINVAL when @text is not "<records>:<32 hex digits>".
 */
int tarn_graysort_sum_parse(const char *text, struct tarn_graysort_sum *sum,
			    GError **error);

/**
 * tarn_graysort_generate() - write a data set split into files
 * @paths: the files to write, in order; each is created or truncated
 * @npaths: how many (at least 1)
 * @records: records in all; file k gets records [k*records/npaths,
 *           (k+1)*records/npaths)
 * @seed: the data set's seed
 * @ascii: the ascii layout (true) or the binary one (false)
 * @sum: receives the data set's checksum; may be NULL
 * @error: receives what went wrong, naming the file; may be NULL
 *
 * Return: 0; TARN_EINVAL when @npaths is 0; TARN_EIO when a file cannot be
 * written (a partly written file is left behind).
 */
int tarn_graysort_generate(const char *const *paths, size_t npaths,
			   uint64_t records, uint64_t seed, bool ascii,
			   struct tarn_graysort_sum *sum, GError **error);

/**
 * tarn_graysort_sum_files() - the checksum of the records in files
 * @paths: the files; borrowed
 * @npaths: how many
 * @sum: receives the checksum
 * @error: receives what went wrong, naming the file; may be NULL
 *
 * Return: 0; TARN_EIO when a file cannot be read; TARN_EPROTO when a file's
 * size is not a multiple of the record size.
 */
int tarn_graysort_sum_files(const char *const *paths, size_t npaths,
			    struct tarn_graysort_sum *sum, GError **error);

/**
 * tarn_graysort_validate() - check sorted output
 * @paths: the output files, in the order their records should be read
 *         (empty files are fine); borrowed
 * @npaths: how many
 * @expect: the input's checksum (from tarn_graysort_generate() or
 *          tarn_graysort_sum_files()); NULL: check the order only
 * @got: receives the output's checksum; may be NULL
 * @error: receives the first problem; may be NULL
 *
 * Reads every record once, in order, checking that no key is less than the
 * one before it (across file boundaries too), then compares the count and
 * the checksum with @expect. An order error names the file, the record's
 * byte offset in it and both keys (hex); a count or checksum error gives
 * both values.
 *
 * Return: 0 when the output is sorted and matches @expect; TARN_EPROTO when
 * it is not (order, count, checksum, or a file size that is not a multiple
 * of the record size); TARN_EIO when a file cannot be read.
 */
int tarn_graysort_validate(const char *const *paths, size_t npaths,
			   const struct tarn_graysort_sum *expect,
			   struct tarn_graysort_sum *got, GError **error);

#endif /* TARN_PLANNER_GRAYSORT_RECORDS_H */
