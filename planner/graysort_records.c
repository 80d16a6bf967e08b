/* SPDX-License-Identifier: MIT */
/* GraySort records: deterministic generation, validation of sorted output. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tarn/errors.h>

#include "graysort_records.h"

#define RS TARN_GRAYSORT_RECORD_SIZE
#define KS TARN_GRAYSORT_KEY_SIZE
/* Records per read() or write(): 4 MB, a whole number of records. */
#define CHUNK_RECORDS 40960

G_DEFINE_QUARK(tarn-graysort-error-quark, tarn_graysort_error)
#define EDOMAIN tarn_graysort_error_quark()

static const char alnum[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char hexdig[] = "0123456789ABCDEF";

/*
 * splitmix64's finaliser: a bijection with good avalanche, so hashing
 * (seed, index, word) through it gives independent-looking streams that
 * need no state, and record i can be made without making records 0..i-1.
 */
static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void tarn_graysort_record(uint64_t seed, uint64_t index, bool ascii,
			  uint8_t *out)
{
	uint64_t base = mix64(seed ^ mix64(index));
	uint64_t r[2] = {mix64(base), mix64(base + 1)};

	if (!ascii) {
		/* 10 random key bytes from two 64-bit draws. */
		for (int i = 0; i < KS; i++)
			out[i] = (uint8_t)(r[i / 8] >> (8 * (i % 8)));
		out[10] = 0;
		out[11] = 0;
		/* The index as 16 bytes big-endian (the top 8 are 0). */
		memset(out + 12, 0, 8);
		for (int i = 0; i < 8; i++)
			out[20 + i] = (uint8_t)(index >> (56 - 8 * i));
		for (int i = 28; i < RS; i++)
			out[i] = (uint8_t)(0x41 + (index + (uint64_t)i) % 26);
		return;
	}

	/*
	 * 62^10 keys; each character from 6 bits of a draw, rejection-free
	 * via multiply-shift (the tiny bias does not matter for sorting).
	 */
	for (int i = 0; i < KS; i++) {
		uint64_t bits = (r[i / 5] >> (12 * (i % 5))) & 0xfff;

		out[i] = (uint8_t)alnum[(bits * 62) >> 12];
	}
	out[10] = ' ';
	for (int i = 0; i < 16; i++)
		out[11 + i] = '0';
	for (int i = 0; i < 16; i++)
		out[27 + i] = (uint8_t)hexdig[(index >> (60 - 4 * i)) & 0xf];
	out[43] = ' ';
	for (int i = 44; i < RS - 1; i++)
		out[i] = (uint8_t)('A' + (index + (uint64_t)i) % 26);
	out[RS - 1] = '\n';
}

/*
 * A 128-bit hash of one record: two 64-bit lanes over the 12 whole words
 * and the 4-byte tail, each lane with its own multiplier, finished with
 * mix64(). Not cryptographic; it has to make an accidental cancellation in
 * the sum (a lost record and a duplicated one whose hashes differ by
 * exactly the same amount) practically impossible, which 128 bits does.
 */
static inline void record_hash(const uint8_t *rec, uint64_t *lo, uint64_t *hi)
{
	uint64_t a = 0x243f6a8885a308d3ULL, b = 0x13198a2e03707344ULL;
	uint64_t w;
	uint32_t t;

	for (int i = 0; i < 12; i++) {
		memcpy(&w, rec + 8 * i, 8);
		a = (a ^ w) * 0x100000001b3ULL;
		a ^= a >> 29;
		b = (b + w) * 0xc2b2ae3d27d4eb4fULL;
		b ^= b >> 31;
	}
	memcpy(&t, rec + 96, 4);
	a = mix64(a ^ t);
	b = mix64(b + ((uint64_t)t << 7) + a);
	*lo = a;
	*hi = b;
}

void tarn_graysort_sum_add(struct tarn_graysort_sum *sum,
			   const uint8_t *records, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t lo, hi;

		record_hash(records + i * RS, &lo, &hi);
		sum->lo += lo;
		sum->hi += hi + (sum->lo < lo);
	}
	sum->records += n;
}

void tarn_graysort_sum_merge(struct tarn_graysort_sum *a,
			     const struct tarn_graysort_sum *b)
{
	a->lo += b->lo;
	a->hi += b->hi + (a->lo < b->lo);
	a->records += b->records;
}

bool tarn_graysort_sum_equal(const struct tarn_graysort_sum *a,
			     const struct tarn_graysort_sum *b)
{
	return a->records == b->records && a->lo == b->lo && a->hi == b->hi;
}

char *tarn_graysort_sum_format(const struct tarn_graysort_sum *sum)
{
	return g_strdup_printf("%" PRIu64 ":%016" PRIx64 "%016" PRIx64,
			       sum->records, sum->hi, sum->lo);
}

int tarn_graysort_sum_parse(const char *text, struct tarn_graysort_sum *sum,
			    GError **error)
{
	const char *colon = text ? strchr(text, ':') : NULL;
	char hi[17], lo[17];
	char *end;
	guint64 n;

	if (!colon || colon == text || strlen(colon + 1) != 32 ||
	    strspn(colon + 1, "0123456789abcdefABCDEF") != 32)
		goto bad;
	errno = 0;
	n = g_ascii_strtoull(text, &end, 10);
	if (errno || end != colon || text[0] == '-' || text[0] == '+')
		goto bad;
	memcpy(hi, colon + 1, 16);
	hi[16] = 0;
	memcpy(lo, colon + 17, 16);
	lo[16] = 0;
	sum->records = n;
	sum->hi = g_ascii_strtoull(hi, NULL, 16);
	sum->lo = g_ascii_strtoull(lo, NULL, 16);
	return 0;
bad:
	g_set_error(error, EDOMAIN, TARN_EINVAL,
		    "graysort checksum \"%s\": expected <records>:<32 hex digits>",
		    text ? text : "(null)");
	return TARN_EINVAL;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* records * k / n without overflowing: q*k + r*k/n, with r*k < n*n. */
static uint64_t split_point(uint64_t records, uint64_t k, uint64_t n)
{
	return records / n * k + records % n * k / n;
}

int tarn_graysort_generate(const char *const *paths, size_t npaths,
			   uint64_t records, uint64_t seed, bool ascii,
			   struct tarn_graysort_sum *sum, GError **error)
{
	struct tarn_graysort_sum total = {0};
	uint8_t *buf;
	int ret = 0;

	if (!paths || npaths == 0) {
		g_set_error(error, EDOMAIN, TARN_EINVAL,
			    "graysort generate: no output files (expected at least 1)");
		return TARN_EINVAL;
	}
	buf = g_malloc((size_t)CHUNK_RECORDS * RS);
	for (size_t k = 0; k < npaths && !ret; k++) {
		uint64_t first = split_point(records, k, npaths);
		uint64_t last = split_point(records, k + 1, npaths);
		int fd = open(paths[k],
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0) {
			ret = -errno;
			g_set_error(error, EDOMAIN, TARN_EIO,
				    "graysort generate: cannot create %s: %s",
				    paths[k], g_strerror(-ret));
			break;
		}
		for (uint64_t i = first; i < last && !ret;) {
			size_t n = (size_t)MIN((uint64_t)CHUNK_RECORDS,
					       last - i);

			for (size_t j = 0; j < n; j++)
				tarn_graysort_record(seed, i + j, ascii,
						     buf + j * RS);
			tarn_graysort_sum_add(&total, buf, n);
			ret = write_all(fd, buf, n * RS);
			i += n;
		}
		if (!ret && close(fd) < 0)
			ret = -errno;
		else if (ret)
			close(fd);
		if (ret)
			g_set_error(error, EDOMAIN, TARN_EIO,
				    "graysort generate: cannot write %s: %s",
				    paths[k], g_strerror(-ret));
	}
	g_free(buf);
	if (ret)
		return TARN_EIO;
	if (sum)
		*sum = total;
	return 0;
}

static char *key_hex(const uint8_t *key)
{
	char *s = g_malloc(2 * KS + 1);

	for (int i = 0; i < KS; i++) {
		s[2 * i] = hexdig[key[i] >> 4];
		s[2 * i + 1] = hexdig[key[i] & 0xf];
	}
	s[2 * KS] = 0;
	return s;
}

/*
 * The one reader behind sum_files and validate: reads each file in chunks
 * of whole records, keeps the last key across chunks and files, and checks
 * order when asked.
 */
static int scan(const char *const *paths, size_t npaths, bool check_order,
		struct tarn_graysort_sum *sum, GError **error)
{
	uint8_t prev[KS];
	bool have_prev = false;
	const char *prev_path = NULL;
	uint64_t prev_off = 0;
	uint8_t *buf = g_malloc((size_t)CHUNK_RECORDS * RS);
	int ret = 0;

	for (size_t k = 0; k < npaths && !ret; k++) {
		int fd = open(paths[k], O_RDONLY | O_CLOEXEC);
		uint64_t off = 0;
		size_t fill = 0;
		struct stat st;

		if (fd < 0) {
			g_set_error(error, EDOMAIN, TARN_EIO,
				    "graysort: cannot open %s: %s", paths[k],
				    g_strerror(errno));
			ret = TARN_EIO;
			break;
		}
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size % RS) {
			g_set_error(error, EDOMAIN,
				    TARN_EPROTO,
				    "graysort: %s: size %jd is not a multiple of the %d-byte record size",
				    paths[k], (intmax_t)st.st_size, RS);
			close(fd);
			ret = TARN_EPROTO;
			break;
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		for (;;) {
			ssize_t n = read(fd, buf + fill,
					 (size_t)CHUNK_RECORDS * RS - fill);
			size_t whole;

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				g_set_error(error, EDOMAIN,
					    TARN_EIO, "graysort: cannot read %s: %s",
					    paths[k], g_strerror(errno));
				ret = TARN_EIO;
				break;
			}
			fill += (size_t)n;
			if (n > 0 && fill < (size_t)CHUNK_RECORDS * RS)
				continue;
			whole = fill / RS;
			for (size_t j = 0; check_order && j < whole; j++) {
				const uint8_t *key = buf + j * RS;
				char *a, *b;

				if (have_prev && memcmp(key, prev, KS) < 0) {
					a = key_hex(key);
					b = key_hex(prev);
					g_set_error(error,
						    tarn_graysort_error_quark(),
						    TARN_EPROTO,
						    "graysort: %s: out of order: the record at offset %" PRIu64 " (record %" PRIu64 " of the file) has key %s, less than the key %s of the record before it (%s offset %" PRIu64 ")",
						    paths[k], off + j * RS,
						    (off / RS) + j, a, b,
						    prev_path, prev_off);
					g_free(a);
					g_free(b);
					ret = TARN_EPROTO;
					break;
				}
				memcpy(prev, key, KS);
				have_prev = true;
				prev_path = paths[k];
				prev_off = off + j * RS;
			}
			if (ret)
				break;
			tarn_graysort_sum_add(sum, buf, whole);
			off += whole * RS;
			if (fill % RS) {
				if (n == 0) {
					/* A pipe: fstat could not tell. */
					g_set_error(error,
						    tarn_graysort_error_quark(),
						    TARN_EPROTO,
						    "graysort: %s: size %" PRIu64 " is not a multiple of the %d-byte record size",
						    paths[k], off + fill % RS,
						    RS);
					ret = TARN_EPROTO;
					break;
				}
				memmove(buf, buf + whole * RS, fill % RS);
			}
			fill %= RS;
			if (n == 0)
				break;
		}
		close(fd);
	}
	g_free(buf);
	return ret;
}

int tarn_graysort_sum_files(const char *const *paths, size_t npaths,
			    struct tarn_graysort_sum *sum, GError **error)
{
	struct tarn_graysort_sum s = {0};
	int ret = scan(paths, npaths, false, &s, error);

	if (!ret)
		*sum = s;
	return ret;
}

int tarn_graysort_validate(const char *const *paths, size_t npaths,
			   const struct tarn_graysort_sum *expect,
			   struct tarn_graysort_sum *got, GError **error)
{
	struct tarn_graysort_sum s = {0};
	int ret = scan(paths, npaths, true, &s, error);
	char *a, *b;

	if (ret)
		return ret;
	if (got)
		*got = s;
	if (!expect)
		return 0;
	if (s.records != expect->records) {
		g_set_error(error, EDOMAIN, TARN_EPROTO,
			    "graysort: the output has %" PRIu64 " records, the input %" PRIu64 " (records lost or duplicated)",
			    s.records, expect->records);
		return TARN_EPROTO;
	}
	if (!tarn_graysort_sum_equal(&s, expect)) {
		a = tarn_graysort_sum_format(&s);
		b = tarn_graysort_sum_format(expect);
		g_set_error(error, EDOMAIN, TARN_EPROTO,
			    "graysort: the output's checksum %s differs from the input's %s (records changed, lost or duplicated)",
			    a, b);
		g_free(a);
		g_free(b);
		return TARN_EPROTO;
	}
	return 0;
}
