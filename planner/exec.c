/* SPDX-License-Identifier: MIT */
/*
 * One attempt of one planner task, on whatever worker the backend picked.
 * It is an ordinary registered task (tarn_planner_attempt): it writes into
 * its own staging folder and commits by renaming that folder into place.
 * rename(2) of a folder onto a non-empty folder fails, so the first attempt
 * to commit wins and later ones (speculative copies, reruns) see EEXIST and
 * discard their staging. Every committed folder holds a .tarn-commit mark,
 * so it is never empty (an empty folder could be replaced).
 *
 * Fault injection (smallpond's fault_inject_prob) fails the attempt at its
 * start and just before the commit, decided by a hash of the job's seed,
 * the task and the attempt: the same job fails the same attempts again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#include <sys/stat.h>
#include <unistd.h>

#include "planner.h"

/* Descriptor encoding: fixed order, u32 lengths, host byte order (the
 * driver and its workers run the same build). */

static void put_u64(GByteArray *b, uint64_t v)
{
	g_byte_array_append(b, (const guint8 *)&v, sizeof(v));
}

static void put_str(GByteArray *b, const char *s)
{
	uint64_t n = s ? strlen(s) : 0;

	put_u64(b, n);
	if (n)
		g_byte_array_append(b, (const guint8 *)s, (guint)n);
}

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t get_u64(struct rd *r)
{
	uint64_t v = 0;

	if ((size_t)(r->end - r->p) < sizeof(v)) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	return v;
}

static char *get_str(struct rd *r)
{
	uint64_t n = get_u64(r);
	char *s;

	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return g_strdup("");
	}
	s = g_strndup((const char *)r->p, n);
	r->p += n;
	return s;
}

void tdesc_encode(const struct tdesc *d, GByteArray *b)
{
	double prob = d->fault_prob;
	uint64_t pbits;

	memcpy(&pbits, &prob, sizeof(pbits));
	put_u64(b, (uint64_t)d->role);
	put_u64(b, (uint64_t)d->format);
	put_u64(b, d->record_size);
	put_u64(b, (uint64_t)d->by);
	put_u64(b, d->nbuckets);
	put_u64(b, d->key.field);
	put_u64(b, (uint64_t)(unsigned char)d->key.delimiter);
	put_u64(b, d->key.offset);
	put_u64(b, d->key.length);
	put_u64(b, (uint64_t)(int64_t)d->keep_bucket);
	put_u64(b, d->range_key.field);
	put_u64(b, (uint64_t)(unsigned char)d->range_key.delimiter);
	put_u64(b, d->range_key.offset);
	put_u64(b, d->range_key.length);
	put_u64(b, d->rows);
	put_u64(b, (uint64_t)d->mode);
	put_u64(b, pbits);
	put_u64(b, d->seed);
	put_u64(b, d->attempt);
	put_str(b, d->function);
	put_str(b, d->args);
	put_str(b, d->task_key);
	put_str(b, d->node);
	put_str(b, d->staging);
	put_str(b, d->final);
	put_str(b, d->bounds);
	put_str(b, d->job_id);
	put_u64(b, d->inputs->len);
	for (guint i = 0; i < d->inputs->len; i++) {
		put_str(b, d->inputs->pdata[i]);
		put_u64(b, (uint64_t)g_array_index(d->groups, int, i));
	}
	put_u64(b, d->infos->len);
	for (guint i = 0; i < d->infos->len; i++) {
		const struct pinfo *p = &g_array_index(d->infos, struct pinfo, i);

		put_str(b, p->dim);
		put_u64(b, p->index);
		put_u64(b, p->n);
	}
}

static void tdesc_init(struct tdesc *d)
{
	memset(d, 0, sizeof(*d));
	d->inputs = g_ptr_array_new_with_free_func(g_free);
	d->groups = g_array_new(FALSE, FALSE, sizeof(int));
	d->dims = g_ptr_array_new_with_free_func(g_free);
	d->infos = g_array_new(FALSE, FALSE, sizeof(struct pinfo));
}

int tdesc_decode(const void *buf, size_t len, struct tdesc *d)
{
	struct rd r = {.p = buf, .end = (const unsigned char *)buf + len};
	uint64_t pbits, n;

	tdesc_init(d);
	d->role = (int)get_u64(&r);
	d->format = (int)get_u64(&r);
	d->record_size = (uint32_t)get_u64(&r);
	d->by = (int)get_u64(&r);
	d->nbuckets = (uint32_t)get_u64(&r);
	d->key.field = (uint32_t)get_u64(&r);
	d->key.delimiter = (char)get_u64(&r);
	d->key.offset = (uint32_t)get_u64(&r);
	d->key.length = (uint32_t)get_u64(&r);
	d->keep_bucket = (int)(int64_t)get_u64(&r);
	d->range_key.field = (uint32_t)get_u64(&r);
	d->range_key.delimiter = (char)get_u64(&r);
	d->range_key.offset = (uint32_t)get_u64(&r);
	d->range_key.length = (uint32_t)get_u64(&r);
	d->rows = get_u64(&r);
	d->mode = (int)get_u64(&r);
	pbits = get_u64(&r);
	memcpy(&d->fault_prob, &pbits, sizeof(pbits));
	d->seed = get_u64(&r);
	d->attempt = (uint32_t)get_u64(&r);
	d->function = get_str(&r);
	d->args = get_str(&r);
	d->task_key = get_str(&r);
	d->node = get_str(&r);
	d->staging = get_str(&r);
	d->final = get_str(&r);
	d->bounds = get_str(&r);
	d->job_id = get_str(&r);
	n = get_u64(&r);
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		int g;

		g_ptr_array_add(d->inputs, get_str(&r));
		g = (int)get_u64(&r);
		g_array_append_val(d->groups, g);
	}
	n = get_u64(&r);
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		struct pinfo p;
		char *dim = get_str(&r);

		g_ptr_array_add(d->dims, dim);
		p.dim = dim;
		p.index = (uint32_t)get_u64(&r);
		p.n = (uint32_t)get_u64(&r);
		g_array_append_val(d->infos, p);
	}
	return r.bad || r.p != r.end ? -1 : 0;
}

void tdesc_clear(struct tdesc *d)
{
	g_free(d->function);
	g_free(d->args);
	g_free(d->task_key);
	g_free(d->node);
	g_free(d->staging);
	g_free(d->final);
	g_free(d->bounds);
	g_free(d->job_id);
	if (d->inputs)
		g_ptr_array_free(d->inputs, TRUE);
	if (d->groups)
		g_array_free(d->groups, TRUE);
	if (d->dims)
		g_ptr_array_free(d->dims, TRUE);
	if (d->infos)
		g_array_free(d->infos, TRUE);
	memset(d, 0, sizeof(*d));
}

/* Compute context ----------------------------------------------------------- */

struct tarn_compute_ctx {
	struct tdesc *d;
	char **bucket_dirs;
	char *error;
};

TARN_PLANNER_API size_t tarn_compute_num_inputs(const tarn_compute_ctx_t *ctx)
{
	return ctx->d->inputs->len;
}

TARN_PLANNER_API const char *tarn_compute_input(const tarn_compute_ctx_t *ctx,
						size_t i)
{
	return i < ctx->d->inputs->len ? ctx->d->inputs->pdata[i] : NULL;
}

TARN_PLANNER_API int tarn_compute_input_group(const tarn_compute_ctx_t *ctx,
					      size_t i)
{
	return i < ctx->d->groups->len ? g_array_index(ctx->d->groups, int, i)
				       : -1;
}

TARN_PLANNER_API const char *
tarn_compute_output_dir(const tarn_compute_ctx_t *ctx)
{
	return ctx->d->staging;
}

TARN_PLANNER_API uint32_t
tarn_compute_npartitions(const tarn_compute_ctx_t *ctx)
{
	return ctx->d->role == ROLE_SPLIT ? ctx->d->nbuckets : 0;
}

TARN_PLANNER_API const char *tarn_compute_bucket_dir(tarn_compute_ctx_t *ctx,
						     uint32_t bucket)
{
	if (ctx->d->role != ROLE_SPLIT || bucket >= ctx->d->nbuckets)
		return NULL;
	if (!ctx->bucket_dirs)
		ctx->bucket_dirs = g_new0(char *, ctx->d->nbuckets);
	if (!ctx->bucket_dirs[bucket]) {
		char name[16];

		snprintf(name, sizeof(name), "%05u", bucket);
		ctx->bucket_dirs[bucket] =
			g_build_filename(ctx->d->staging, name, NULL);
		if (mkdir_p(ctx->bucket_dirs[bucket]) != 0)
			return NULL;
	}
	return ctx->bucket_dirs[bucket];
}

TARN_PLANNER_API const char *tarn_compute_args(const tarn_compute_ctx_t *ctx)
{
	return ctx->d->args ? ctx->d->args : "";
}

TARN_PLANNER_API size_t tarn_compute_num_dims(const tarn_compute_ctx_t *ctx)
{
	return ctx->d->infos->len;
}

TARN_PLANNER_API int tarn_compute_partition(const tarn_compute_ctx_t *ctx,
					    size_t i,
					    tarn_partition_info_t *out)
{
	const struct pinfo *p;

	if (i >= ctx->d->infos->len || !out)
		return TARN_EINVAL;
	p = &g_array_index(ctx->d->infos, struct pinfo, i);
	out->dimension = p->dim;
	out->index = p->index;
	out->npartitions = p->n;
	return 0;
}

TARN_PLANNER_API int tarn_compute_fail(tarn_compute_ctx_t *ctx,
				       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(ctx->error);
	ctx->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return TARN_ETASK;
}

/* Rows ------------------------------------------------------------------------ */

struct mapped {
	const unsigned char *p;
	size_t len;
};

static int map_file(const char *path, struct mapped *m, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	m->p = NULL;
	m->len = 0;
	if (fd < 0 || fstat(fd, &st) != 0) {
		*err = g_strdup_printf("cannot read %s: %s", path,
				       strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m->len = (size_t)st.st_size;
	if (m->len) {
		void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			*err = g_strdup_printf("cannot map %s: %s", path,
					       strerror(errno));
			close(fd);
			return -1;
		}
		madvise(p, m->len, MADV_SEQUENTIAL);
		m->p = p;
	}
	close(fd);
	return 0;
}

static void unmap_file(struct mapped *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
}

/* Calls @fn for every row of every input; rows of text keep no '\n'. */
typedef int (*row_fn)(void *arg, const unsigned char *row, size_t len);

static int for_rows(const struct tdesc *d, row_fn fn, void *arg,
		    uint64_t *bytes_in, char **err)
{
	for (guint i = 0; i < d->inputs->len; i++) {
		const char *path = d->inputs->pdata[i];
		struct mapped m;
		int rc = 0;

		if (map_file(path, &m, err))
			return -1;
		*bytes_in += m.len;
		if (d->format == TARN_FORMAT_RECORDS) {
			if (m.len % d->record_size) {
				*err = g_strdup_printf("%s: %zu bytes is not a whole number of %u-byte records",
						       path, m.len, d->record_size);
				unmap_file(&m);
				return -1;
			}
			for (size_t o = 0; o < m.len && !rc; o += d->record_size)
				rc = fn(arg, m.p + o, d->record_size);
		} else {
			const unsigned char *p = m.p, *end = m.p + m.len;

			while (p < end && !rc) {
				const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
				const unsigned char *e = nl ? nl : end;

				rc = fn(arg, p, (size_t)(e - p));
				p = nl ? nl + 1 : end;
			}
		}
		unmap_file(&m);
		if (rc)
			return rc;
	}
	return 0;
}

static void append_row(GByteArray *b, const struct tdesc *d,
		       const unsigned char *row, size_t len)
{
	g_byte_array_append(b, row, (guint)len);
	if (d->format == TARN_FORMAT_LINES)
		g_byte_array_append(b, (const guint8 *)"\n", 1);
}

static int write_file(const char *path, const void *data, size_t len,
		      uint64_t *bytes_out, char **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *p = data;

	if (fd < 0) {
		*err = g_strdup_printf("cannot create %s: %s", path,
				       strerror(errno));
		return -1;
	}
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = g_strdup_printf("cannot write %s: %s", path,
					       strerror(errno));
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
		*bytes_out += (uint64_t)w;
	}
	return close(fd);
}

static const char *data_ext(const struct tdesc *d)
{
	const char *first = d->inputs->len ? d->inputs->pdata[0] : "";
	const char *slash = strrchr(first, '/');
	const char *dot = strrchr(slash ? slash : first, '.');

	return dot ? dot : (d->format == TARN_FORMAT_RECORDS ? ".dat" : ".txt");
}

/* Split ------------------------------------------------------------------------- */

struct split {
	const struct tdesc *d;
	GByteArray **b;
	uint64_t row, total;
	GPtrArray *bounds; /* GBytes *, sorted */
};

static int count_row(void *arg, const unsigned char *row, size_t len)
{
	(void)row;
	(void)len;
	((struct split *)arg)->total++;
	return 0;
}

static int bucket_of_bounds(GPtrArray *bounds, const unsigned char *k,
			    size_t kl)
{
	guint lo = 0, hi = bounds->len;

	/* first boundary greater than the key */
	while (lo < hi) {
		guint mid = (lo + hi) / 2;
		gsize bl;
		const unsigned char *b = g_bytes_get_data(bounds->pdata[mid], &bl);
		int c = memcmp(k, b, MIN(kl, bl));

		if (c == 0)
			c = (kl > bl) - (kl < bl);
		if (c >= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo;
}

static int split_row(void *arg, const unsigned char *row, size_t len)
{
	struct split *s = arg;
	const struct tdesc *d = s->d;
	uint64_t j;
	size_t kl;
	const unsigned char *k;

	switch (d->by) {
	case TARN_PARTITION_ROWS:
		j = s->total ? s->row * d->nbuckets / s->total : 0;
		break;
	case TARN_PARTITION_HASH:
		k = row_key(row, len, &d->key, &kl);
		j = hash_bytes(k, kl) % d->nbuckets;
		break;
	default:
		k = row_key(row, len, &d->key, &kl);
		j = (uint64_t)bucket_of_bounds(s->bounds, k, kl);
		break;
	}
	s->row++;
	append_row(s->b[j], d, row, len);
	return 0;
}

/* Keys file: u32 length + bytes, repeated. */
static int read_keys(const char *path, GPtrArray *out, char **err)
{
	struct mapped m;
	size_t o = 0;

	if (map_file(path, &m, err))
		return -1;
	while (o + 4 <= m.len) {
		uint32_t n;

		memcpy(&n, m.p + o, 4);
		o += 4;
		if (n > m.len - o)
			break;
		g_ptr_array_add(out, g_bytes_new(m.p + o, n));
		o += n;
	}
	unmap_file(&m);
	return 0;
}

static int cmp_bytes(const void *a, const void *b)
{
	return g_bytes_compare(*(GBytes *const *)a, *(GBytes *const *)b);
}

static int run_split(tarn_compute_ctx_t *ctx, uint64_t *in, uint64_t *out,
		     char **err)
{
	struct tdesc *d = ctx->d;
	struct split s = {.d = d};
	int rc = 0;

	if (d->by == TARN_PARTITION_FUNCTION) {
		tarn_compute_fn fn = compute_lookup(d->function);

		if (!fn) {
			*err = g_strdup_printf("partition function '%s' is not registered in this process (load its library in the plan, or register it with TARN_COMPUTE)",
					       d->function);
			return -1;
		}
		for (uint32_t j = 0; j < d->nbuckets; j++)
			if (!tarn_compute_bucket_dir(ctx, j)) {
				*err = g_strdup_printf("cannot create bucket folder %u under %s",
						       j, d->staging);
				return -1;
			}
		rc = fn(ctx);
		if (rc) {
			*err = g_strdup_printf("partition function '%s' failed: %s",
					       d->function,
					       ctx->error ? ctx->error : tarn_strerror(rc));
			return -1;
		}
		return 0;
	}
	s.b = g_new0(GByteArray *, d->nbuckets);
	{
		/* sized for an even split and a quarter more: few reallocs */
		uint64_t total = 0;

		for (guint i = 0; i < d->inputs->len; i++) {
			struct stat st;

			if (stat(d->inputs->pdata[i], &st) == 0)
				total += (uint64_t)st.st_size;
		}
		for (uint32_t j = 0; j < d->nbuckets; j++)
			s.b[j] = g_byte_array_sized_new(
				(guint)MIN(total / d->nbuckets * 5 / 4 + 64,
					   (uint64_t)1 << 30));
	}
	if (d->by == TARN_PARTITION_RANGE) {
		s.bounds = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		rc = read_keys(d->bounds, s.bounds, err);
	}
	if (!rc && d->by == TARN_PARTITION_ROWS) {
		uint64_t dummy = 0;

		rc = for_rows(d, count_row, &s, &dummy, err);
	}
	if (!rc)
		rc = for_rows(d, split_row, &s, in, err);
	for (uint32_t j = 0; j < d->nbuckets; j++) {
		if (!rc) {
			const char *dir = tarn_compute_bucket_dir(ctx, j);
			char *name = g_strdup_printf("data%s", data_ext(d));
			char *p = dir ? g_build_filename(dir, name, NULL) : NULL;

			rc = p ? write_file(p, s.b[j]->data, s.b[j]->len, out, err)
			       : -1;
			if (!p)
				*err = g_strdup("cannot create a bucket folder");
			g_free(p);
			g_free(name);
		}
		g_byte_array_free(s.b[j], TRUE);
	}
	g_free(s.b);
	if (s.bounds)
		g_ptr_array_free(s.bounds, TRUE);
	return rc;
}

/* Sample and bounds ------------------------------------------------------------- */

#define SAMPLE_KEYS 1024

struct sample {
	const struct tdesc *d;
	GPtrArray *keys;
	uint64_t row;
};

static int sample_row(void *arg, const unsigned char *row, size_t len)
{
	struct sample *s = arg;
	size_t kl;
	const unsigned char *k = row_key(row, len, &s->d->key, &kl);

	/* reservoir-free: every row while few, then a deterministic stride */
	if (s->keys->len < SAMPLE_KEYS)
		g_ptr_array_add(s->keys, g_bytes_new(k, kl));
	else if (hash_bytes(&s->row, sizeof(s->row)) % (s->row + 1) < SAMPLE_KEYS) {
		guint at = (guint)(hash_bytes(k, kl) % SAMPLE_KEYS);

		g_bytes_unref(s->keys->pdata[at]);
		s->keys->pdata[at] = g_bytes_new(k, kl);
	}
	s->row++;
	return 0;
}

static int write_keys(const char *path, GPtrArray *keys, uint64_t *out,
		      char **err)
{
	GByteArray *b = g_byte_array_new();
	int rc;

	for (guint i = 0; i < keys->len; i++) {
		gsize n;
		const void *p = g_bytes_get_data(keys->pdata[i], &n);
		uint32_t n32 = (uint32_t)n;

		g_byte_array_append(b, (const guint8 *)&n32, 4);
		g_byte_array_append(b, p, (guint)n);
	}
	rc = write_file(path, b->data, b->len, out, err);
	g_byte_array_free(b, TRUE);
	return rc;
}

/* Fixed-size records: SAMPLE_KEYS evenly spaced records, read in place. */
static int sample_records(const struct tdesc *d, GPtrArray *keys,
			  uint64_t *in, char **err)
{
	uint64_t total = 0, *nrec = g_new0(uint64_t, d->inputs->len + 1);
	int rc = 0;

	for (guint i = 0; i < d->inputs->len; i++) {
		struct stat st;

		if (stat(d->inputs->pdata[i], &st) != 0) {
			*err = g_strdup_printf("cannot read %s: %s",
					       (char *)d->inputs->pdata[i],
					       strerror(errno));
			g_free(nrec);
			return -1;
		}
		nrec[i] = (uint64_t)st.st_size / d->record_size;
		total += nrec[i];
	}
	for (guint i = 0, base = 0; i < d->inputs->len && !rc; i++) {
		struct mapped m;
		uint64_t want = total ? (nrec[i] * SAMPLE_KEYS + total - 1) / total : 0;

		(void)base;
		if (!nrec[i])
			continue;
		rc = map_file(d->inputs->pdata[i], &m, err);
		if (rc)
			break;
		for (uint64_t k = 0; k < want; k++) {
			uint64_t r = k * nrec[i] / want;
			size_t kl;
			const unsigned char *key = row_key(m.p + r * d->record_size,
							   d->record_size, &d->key, &kl);

			g_ptr_array_add(keys, g_bytes_new(key, kl));
		}
		*in += want * d->record_size;
		unmap_file(&m);
	}
	g_free(nrec);
	return rc;
}

static int run_sample(struct tdesc *d, uint64_t *in, uint64_t *out,
		      char **err)
{
	struct sample s = {.d = d};
	char *p;
	int rc;

	s.keys = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	if (d->format == TARN_FORMAT_RECORDS)
		rc = sample_records(d, s.keys, in, err);
	else
		rc = for_rows(d, sample_row, &s, in, err);
	p = g_build_filename(d->staging, "sample.keys", NULL);
	if (!rc)
		rc = write_keys(p, s.keys, out, err);
	g_free(p);
	g_ptr_array_free(s.keys, TRUE);
	return rc;
}

static int run_bounds(struct tdesc *d, uint64_t *out, char **err)
{
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	GPtrArray *b = g_ptr_array_new();
	char *p;
	int rc = 0;

	for (guint i = 0; i < d->inputs->len && !rc; i++)
		rc = read_keys(d->inputs->pdata[i], all, err);
	if (all->len > 1)
		qsort(all->pdata, all->len, sizeof(void *), cmp_bytes);
	for (uint32_t j = 1; j < d->nbuckets && all->len; j++)
		g_ptr_array_add(b, all->pdata[(uint64_t)all->len * j /
					      d->nbuckets]);
	p = g_build_filename(d->staging, "bounds.keys", NULL);
	if (!rc)
		rc = write_keys(p, b, out, err);
	g_free(p);
	g_ptr_array_free(b, TRUE);
	g_ptr_array_free(all, TRUE);
	return rc;
}

/* Sort and limit ------------------------------------------------------------------ */

struct rowref {
	const unsigned char *p;
	size_t len;
	uint64_t prefix; /* first 8 key bytes, big-endian, for fast compares */
};

struct collect {
	const struct tdesc *d;
	GArray *rows;
	uint64_t limit;
	/* a fused range partition: the bounds, their key prefixes */
	GPtrArray *bounds;
	uint64_t *bound_prefix;
};

/* The first 8 bytes of @k, big-endian, zero-padded: compares as memcmp. */
static inline uint64_t key_prefix(const unsigned char *k, size_t kl)
{
	uint64_t v = 0;

	if (kl >= 8) {
		memcpy(&v, k, 8);
		return GUINT64_FROM_BE(v);
	}
	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | (i < kl ? k[i] : 0);
	return v;
}

/*
 * bucket_of_bounds() with the bounds' prefixes compared first: a fused
 * sort checks every row of every input (21M per task in graysort), and a
 * prefix settles nearly all of them.
 */
static int range_of(const struct collect *c, const unsigned char *k,
		    size_t kl)
{
	uint64_t kp = key_prefix(k, kl);
	guint j;

	for (j = 0; j < c->bounds->len; j++) {
		if (kp < c->bound_prefix[j])
			return (int)j;
		if (kp == c->bound_prefix[j])
			break; /* the full compare decides from here */
	}
	if (j == c->bounds->len)
		return (int)j;
	return bucket_of_bounds(c->bounds, k, kl);
}

static int collect_row(void *arg, const unsigned char *row, size_t len)
{
	struct collect *c = arg;
	struct rowref r = {.p = row, .len = len};
	size_t kl;
	const unsigned char *k;

	if (c->bounds) {
		k = row_key(row, len, &c->d->range_key, &kl);
		if (range_of(c, k, kl) != c->d->keep_bucket)
			return 0;
	}
	k = row_key(row, len, &c->d->key, &kl);
	r.prefix = key_prefix(k, kl);
	g_array_append_val(c->rows, r);
	return c->limit && c->rows->len >= c->limit ? 1 : 0;
}

static __thread const tarn_key_t *sort_key;

static int cmp_rows(const void *a, const void *b)
{
	const struct rowref *x = a, *y = b;
	size_t kx, ky;
	const unsigned char *px, *py;
	int c;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	px = row_key(x->p, x->len, sort_key, &kx);
	py = row_key(y->p, y->len, sort_key, &ky);
	c = memcmp(px, py, MIN(kx, ky));
	if (!c)
		c = (kx > ky) - (kx < ky);
	if (!c) /* ties by the whole row: the output does not depend on order */
		c = memcmp(x->p, y->p, MIN(x->len, y->len));
	if (!c)
		c = (x->len > y->len) - (x->len < y->len);
	return c;
}

/*
 * Asks for transparent huge pages under a big array of rows: 2 MiB pages
 * take 512 times fewer faults to fill, and the radix passes scatter rows
 * over the whole array, where 4 KiB pages miss the TLB on nearly every
 * move. Only a hint: where huge pages are off, nothing changes.
 */
static void advise_huge(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)4095;

	if (e > a + ((uintptr_t)4 << 20))
		madvise((void *)a, e - a, MADV_HUGEPAGE);
}

/*
 * Sorts @a (@n rows) on the low @nbytes bytes of the prefix, an LSD radix
 * sort of 8-bit digits through @scratch; the result ends in @out, which is
 * @a or @scratch. Runs on one MSD bucket, which fits in the L2 cache.
 */
static void sort_low_bytes(struct rowref *a, struct rowref *scratch,
			   struct rowref *out, size_t n, int nbytes)
{
	struct rowref *from = a, *to = scratch;
	size_t c[256];

	if (n <= 16) { /* insertion sort: cheaper than a pass of counts */
		for (size_t i = 1; i < n; i++) {
			struct rowref r = a[i];
			size_t k = i;

			for (; k && a[k - 1].prefix > r.prefix; k--)
				a[k] = a[k - 1];
			a[k] = r;
		}
	} else {
		for (int pass = 0; pass < nbytes; pass++) {
			int shift = 8 * pass;
			size_t sum = 0;

			memset(c, 0, sizeof(c));
			for (size_t i = 0; i < n; i++)
				c[(from[i].prefix >> shift) & 0xff]++;
			if (c[(from[0].prefix >> shift) & 0xff] == n)
				continue; /* one digit for all: no move */
			for (int b = 0; b < 256; b++) {
				size_t k = c[b];

				c[b] = sum;
				sum += k;
			}
			for (size_t i = 0; i < n; i++) {
				size_t b = (from[i].prefix >> shift) & 0xff;

				to[c[b]++] = from[i];
			}
			to = from;
			from = to == a ? scratch : a;
		}
	}
	if (from != out)
		memcpy(out, from, n * sizeof(*out));
}

/*
 * Radix sort on the 8-byte key prefix: one MSD pass on the top 16 bits
 * into @tmp, then each of those buckets (a few thousand rows for random
 * keys) sorted on the other 48 bits while it is in the cache, back into
 * @rows. Four LSD passes of 16 bits over all rows, which this replaces,
 * moved every row four times through memory with 65536 write streams.
 * Rows with equal prefixes are then sorted with the full comparison: for
 * random keys (graysort) there are none; for text keys, short runs.
 */
static void sort_rows(struct rowref *rows, size_t n, const tarn_key_t *key)
{
	struct rowref *tmp;
	size_t *start;

	sort_key = key;
	if (n < 2)
		return;
	if (n < 256) {
		qsort(rows, n, sizeof(*rows), cmp_rows);
		return;
	}
	tmp = g_new(struct rowref, n);
	advise_huge(tmp, n * sizeof(*tmp));
	start = g_new0(size_t, 65536 + 1);
	for (size_t i = 0; i < n; i++)
		start[(rows[i].prefix >> 48) + 1]++;
	for (int b = 0; b < 65536; b++)
		start[b + 1] += start[b];
	{
		size_t *pos = g_memdup2(start, 65536 * sizeof(*pos));

		for (size_t i = 0; i < n; i++)
			tmp[pos[rows[i].prefix >> 48]++] = rows[i];
		g_free(pos);
	}
	for (int b = 0; b < 65536; b++) {
		size_t lo = start[b], k = start[b + 1] - lo;

		if (k)
			sort_low_bytes(tmp + lo, rows + lo, rows + lo, k, 6);
	}
	g_free(start);
	g_free(tmp);
	for (size_t i = 0, k; i < n; i = k) {
		for (k = i + 1; k < n && rows[k].prefix == rows[i].prefix; k++)
			;
		if (k - i > 1)
			qsort(rows + i, k - i, sizeof(*rows), cmp_rows);
	}
}

static int write_all(int fd, const char *p, size_t len, uint64_t *bytes_out)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
		*bytes_out += (uint64_t)w;
	}
	return 0;
}

/*
 * Writes @rows in order through one small buffer, reused: gathering the
 * whole output into fresh memory first would fault in and zero as many
 * pages as the file has, only to copy them once more into the page cache.
 * The rows are scattered over the inputs, so they are prefetched a few
 * ahead of the copy.
 */
#define WRITE_CHUNK (4u << 20)
#define GATHER_AHEAD 16

static int write_rows(const char *path, const struct tdesc *d,
		      const struct rowref *rows, size_t n, uint64_t *bytes_out,
		      char **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool nl = d->format == TARN_FORMAT_LINES;
	char *buf;
	size_t used = 0;
	int rc = 0;

	if (fd < 0) {
		*err = g_strdup_printf("cannot create %s: %s", path,
				       strerror(errno));
		return -1;
	}
	buf = g_malloc(WRITE_CHUNK);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct rowref *r = &rows[i];

		if (i + GATHER_AHEAD < n)
			__builtin_prefetch(rows[i + GATHER_AHEAD].p);
		if (used + r->len + 1 > WRITE_CHUNK) {
			rc = write_all(fd, buf, used, bytes_out);
			used = 0;
		}
		if (r->len + 1 > WRITE_CHUNK) { /* bigger than the buffer */
			rc = rc ? rc : write_all(fd, (const char *)r->p, r->len,
						 bytes_out);
			if (nl && !rc)
				rc = write_all(fd, "\n", 1, bytes_out);
			continue;
		}
		memcpy(buf + used, r->p, r->len);
		used += r->len;
		if (nl)
			buf[used++] = '\n';
	}
	if (!rc && used)
		rc = write_all(fd, buf, used, bytes_out);
	if (rc)
		*err = g_strdup_printf("cannot write %s: %s", path,
				       strerror(errno));
	g_free(buf);
	if (close(fd) != 0 && !rc) {
		*err = g_strdup_printf("cannot write %s: %s", path,
				       strerror(errno));
		rc = -1;
	}
	return rc;
}

/* Rows must stay mapped while sorted: map every input first. */
static int run_sort_or_limit(struct tdesc *d, uint64_t *in, uint64_t *out,
			     char **err)
{
	GArray *maps = g_array_new(FALSE, FALSE, sizeof(struct mapped));
	struct collect c = {.d = d, .limit = d->role == ROLE_LIMIT ? d->rows : 0};
	char *name, *p;
	int rc = 0;

	if (d->role == ROLE_SORT && d->keep_bucket >= 0 && d->bounds) {
		c.bounds = g_ptr_array_new_with_free_func(
			(GDestroyNotify)g_bytes_unref);
		rc = read_keys(d->bounds, c.bounds, err);
		c.bound_prefix = g_new0(uint64_t, c.bounds->len + 1);
		for (guint j = 0; j < c.bounds->len; j++) {
			gsize bl;
			const unsigned char *b =
				g_bytes_get_data(c.bounds->pdata[j], &bl);

			c.bound_prefix[j] = key_prefix(b, bl);
		}
	}
	{
		/* records: as many rows as the inputs hold (a fused sort's
		 * range: its share, and some), so the array never moves */
		uint64_t want = 0;

		for (guint i = 0; d->format == TARN_FORMAT_RECORDS &&
				  d->record_size && i < d->inputs->len; i++) {
			struct stat st;

			if (stat(d->inputs->pdata[i], &st) == 0)
				want += (uint64_t)st.st_size / d->record_size;
		}
		if (c.bounds && d->nbuckets)
			want = want / d->nbuckets * 9 / 8 + 1024;
		if (c.limit)
			want = MIN(want, c.limit);
		want = MIN(want, (uint64_t)1 << 28);
		c.rows = g_array_sized_new(FALSE, FALSE, sizeof(struct rowref),
					   (guint)want);
		advise_huge(c.rows->data, (size_t)want * sizeof(struct rowref));
	}
	for (guint i = 0; i < d->inputs->len && !rc; i++) {
		struct mapped m;

		rc = map_file(d->inputs->pdata[i], &m, err);
		if (rc)
			break;
		g_array_append_val(maps, m);
		*in += m.len;
		if (c.limit && c.rows->len >= c.limit)
			continue;
		/* a sort reads it all: map it in one call, not a fault per
		 * 64 KiB (only a hint, as on kernels before 5.14) */
		if (!c.limit && m.len)
			madvise((void *)m.p, m.len, MADV_POPULATE_READ);
		if (d->format == TARN_FORMAT_RECORDS) {
			if (m.len % d->record_size) {
				*err = g_strdup_printf("%s: %zu bytes is not a whole number of %u-byte records",
						       (char *)d->inputs->pdata[i],
						       m.len, d->record_size);
				rc = -1;
				break;
			}
			for (size_t o = 0; o < m.len; o += d->record_size)
				if (collect_row(&c, m.p + o, d->record_size))
					break;
		} else {
			const unsigned char *q = m.p, *end = m.p + m.len;

			while (q < end) {
				const unsigned char *nl = memchr(q, '\n', (size_t)(end - q));
				const unsigned char *e = nl ? nl : end;

				if (collect_row(&c, q, (size_t)(e - q)))
					break;
				q = nl ? nl + 1 : end;
			}
		}
	}
	if (!rc && d->role == ROLE_SORT)
		sort_rows((struct rowref *)(void *)c.rows->data, c.rows->len,
			  &d->key);
	name = g_strdup_printf("%s%s", d->role == ROLE_SORT ? "sorted" : "limit",
			       data_ext(d));
	p = g_build_filename(d->staging, name, NULL);
	if (!rc)
		rc = write_rows(p, d, (struct rowref *)(void *)c.rows->data,
				c.rows->len, out, err);
	g_free(p);
	g_free(name);
	if (c.bounds)
		g_ptr_array_free(c.bounds, TRUE);
	g_free(c.bound_prefix);
	for (guint i = 0; i < maps->len; i++)
		unmap_file(&g_array_index(maps, struct mapped, i));
	g_array_free(maps, TRUE);
	g_array_free(c.rows, TRUE);
	return rc;
}

/* Sink --------------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to, uint64_t *in,
		     uint64_t *out, char **err)
{
	struct mapped m;
	int rc;

	if (map_file(from, &m, err))
		return -1;
	*in += m.len;
	rc = write_file(to, m.p ? (const void *)m.p : "", m.len, out, err);
	unmap_file(&m);
	return rc;
}

static int run_sink(struct tdesc *d, uint64_t *in, uint64_t *out, char **err)
{
	GString *manifest = g_string_new(NULL);
	int rc = 0;

	for (guint i = 0; i < d->inputs->len && !rc; i++) {
		const char *from = d->inputs->pdata[i];
		char *base = g_path_get_basename(from);
		char *name = g_strdup_printf("part-%05u-%s", i, base);
		char *to = g_build_filename(d->staging, name, NULL);

		if (d->mode == TARN_SINK_MANIFEST) {
			g_string_append_printf(manifest, "%s\n", from);
		} else if (d->mode == TARN_SINK_LINK) {
			if (link(from, to) != 0 && symlink(from, to) != 0) {
				*err = g_strdup_printf("cannot link %s to %s: %s",
						       from, to, strerror(errno));
				rc = -1;
			}
		} else {
			rc = copy_file(from, to, in, out, err);
		}
		g_free(base);
		g_free(name);
		g_free(to);
	}
	if (!rc && d->mode == TARN_SINK_MANIFEST) {
		char *p = g_build_filename(d->staging, "manifest.txt", NULL);

		rc = write_file(p, manifest->str, manifest->len, out, err);
		g_free(p);
	}
	g_string_free(manifest, TRUE);
	return rc;
}

/* The attempt ------------------------------------------------------------------- */

static int run_role(tarn_compute_ctx_t *ctx, uint64_t *in, uint64_t *out,
		    char **err)
{
	struct tdesc *d = ctx->d;
	tarn_compute_fn fn;
	int rc;

	switch (d->role) {
	case ROLE_SPLIT:
		return run_split(ctx, in, out, err);
	case ROLE_SAMPLE:
		return run_sample(d, in, out, err);
	case ROLE_BOUNDS:
		return run_bounds(d, out, err);
	case ROLE_SORT:
	case ROLE_LIMIT:
		return run_sort_or_limit(d, in, out, err);
	case ROLE_SINK:
		return run_sink(d, in, out, err);
	case ROLE_COMPUTE:
		fn = compute_lookup(d->function);
		if (!fn) {
			*err = g_strdup_printf("compute function '%s' is not registered in this process (load its library in the plan, or register it with TARN_COMPUTE)",
					       d->function);
			return -1;
		}
		for (guint i = 0; i < d->inputs->len; i++) {
			struct stat st;

			if (stat(d->inputs->pdata[i], &st) == 0)
				*in += (uint64_t)st.st_size;
		}
		rc = fn(ctx);
		if (rc) {
			*err = g_strdup_printf("compute function '%s' failed: %s",
					       d->function,
					       ctx->error ? ctx->error : tarn_strerror(rc));
			return -1;
		}
		{
			GPtrArray *files = g_ptr_array_new_with_free_func(g_free);

			list_files(d->staging, files);
			for (guint i = 0; i < files->len; i++) {
				struct stat st;

				if (stat(files->pdata[i], &st) == 0)
					*out += (uint64_t)st.st_size;
			}
			g_ptr_array_free(files, TRUE);
		}
		return 0;
	default:
		*err = g_strdup_printf("task role %d cannot run", d->role);
		return -1;
	}
}

/* Whether @dir holds a commit mark of job @job_id. */
static bool committed_by(const char *dir, const char *job_id)
{
	char *m = g_build_filename(dir, COMMIT_MARK, NULL);
	char *text = NULL;
	bool ok = false;

	if (g_file_get_contents(m, &text, NULL, NULL)) {
		size_t n = strlen(job_id);

		ok = !strncmp(text, job_id, n) && text[n] == ' ';
	}
	g_free(text);
	g_free(m);
	return ok;
}

static int finish_fail(tarn_task_ctx_t *tctx, struct tdesc *d, char *err)
{
	int rc;

	rm_rf(d->staging);
	rc = tarn_task_fail(tctx, "%s", err);
	g_free(err);
	return rc;
}

TARN_TASK(tarn_planner_attempt)
{
	const void *buf;
	size_t len;
	struct tdesc d;
	struct tresult r;
	tarn_compute_ctx_t cctx = {.d = &d};
	char *err = NULL, *mark, *parent;
	int rc;

	memset(&r, 0, sizeof(r));
	r.start_ns = now_ns();
	r.pid = (int32_t)getpid();
	gethostname(r.host, sizeof(r.host) - 1);
	rc = tarn_task_arg(ctx, 0, &buf, &len);
	if (rc)
		return rc;
	if (tdesc_decode(buf, len, &d)) {
		tdesc_clear(&d);
		return tarn_task_fail(ctx, "planner task descriptor is malformed");
	}
	if (fault_inject(d.seed, d.task_key, d.attempt, 0, d.fault_prob)) {
		rc = tarn_task_fail(ctx, INJECTED_PREFIX " at task start (fault_inject_prob=%g)",
				    d.fault_prob);
		tdesc_clear(&d);
		return rc;
	}
	rm_rf(d.staging);
	if (mkdir_p(d.staging) != 0) {
		err = g_strdup_printf("cannot create staging folder %s: %s",
				      d.staging, strerror(errno));
		goto fail;
	}
	if (run_role(&cctx, &r.bytes_in, &r.bytes_out, &err)) {
		if (!err)
			err = g_strdup("failed");
		goto fail;
	}
	mark = g_build_filename(d.staging, COMMIT_MARK, NULL);
	{
		char *text = g_strdup_printf("%s %s %u\n", d.job_id, d.task_key,
					     d.attempt);
		uint64_t ignored = 0;

		rc = write_file(mark, text, strlen(text), &ignored, &err);
		g_free(text);
	}
	g_free(mark);
	if (rc)
		goto fail;
	if (fault_inject(d.seed, d.task_key, d.attempt, 1, d.fault_prob)) {
		err = g_strdup_printf(INJECTED_PREFIX " before commit (fault_inject_prob=%g)",
				      d.fault_prob);
		goto fail;
	}
	parent = g_path_get_dirname(d.final);
	mkdir_p(parent);
	g_free(parent);
	if (rename(d.staging, d.final) != 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			err = g_strdup_printf("cannot commit %s to %s: %s",
					      d.staging, d.final,
					      strerror(errno));
			goto fail;
		}
		/* another attempt committed first: ours is a duplicate, if
		 * the folder there is this job's (a sink's path may hold
		 * another job's output, which must not pass for ours) */
		if (!committed_by(d.final, d.job_id)) {
			err = g_strdup_printf("output folder %s exists and was not written by job %s; remove it or choose another path",
					      d.final, d.job_id);
			goto fail;
		}
		rm_rf(d.staging);
		r.outcome = RESULT_DUPLICATE;
	}
	r.end_ns = now_ns();
	if (cctx.bucket_dirs)
		for (uint32_t j = 0; j < d.nbuckets; j++)
			g_free(cctx.bucket_dirs[j]);
	g_free(cctx.bucket_dirs);
	g_free(cctx.error);
	tdesc_clear(&d);
	return tarn_task_return(ctx, 0, &r, sizeof(r));
fail:
	if (cctx.bucket_dirs)
		for (uint32_t j = 0; j < d.nbuckets; j++)
			g_free(cctx.bucket_dirs[j]);
	g_free(cctx.bucket_dirs);
	g_free(cctx.error);
	rc = finish_fail(ctx, &d, err);
	tdesc_clear(&d);
	return rc;
}
