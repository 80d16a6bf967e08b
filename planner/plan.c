/* SPDX-License-Identifier: MIT */
/*
 * The logical plan: nodes checked as they are added, so that a plan that
 * exists is a plan that can be expanded (globs aside, which are read when
 * the job starts). Also the small helpers every planner file shares.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "planner.h"

static __thread char *last_error;

int planner_set_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(last_error);
	last_error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return code;
}

TARN_PLANNER_API const char *tarn_planner_last_error(void)
{
	return last_error ? last_error : "";
}

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int mkdir_p(const char *path)
{
	return g_mkdir_with_parents(path, 0755);
}

int rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		sub = g_build_filename(path, e->d_name, NULL);
		rc |= rm_rf(sub);
		g_free(sub);
	}
	closedir(d);
	return rmdir(path) | rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int list_files(const char *dir, GPtrArray *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	guint first = out->len;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		p = g_build_filename(dir, e->d_name, NULL);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			g_ptr_array_add(out, p);
		else
			g_free(p);
	}
	closedir(d);
	if (out->len - first > 1)
		qsort(out->pdata + first, out->len - first, sizeof(void *),
		      cmp_str);
	return 0;
}

/* FNV-1a, then a 64-bit finaliser so that low bits are well mixed. */
uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

bool fault_inject(uint64_t seed, const char *task_key, uint32_t attempt,
		  int point, double prob)
{
	char buf[64];
	uint64_t h;

	if (prob <= 0)
		return false;
	snprintf(buf, sizeof(buf), "%llu/%u/%d/",
		 (unsigned long long)seed, attempt, point);
	h = hash_bytes(buf, strlen(buf)) ^ hash_bytes(task_key,
						       strlen(task_key));
	h = hash_bytes(&h, sizeof(h));
	return (double)(h >> 11) / (double)(1ull << 53) < prob;
}

const unsigned char *row_key(const unsigned char *row, size_t len,
			     const tarn_key_t *k, size_t *klen)
{
	if (k->field) {
		const unsigned char *p = row, *end = row + len, *q;

		for (uint32_t f = 1; f < k->field; f++) {
			q = memchr(p, k->delimiter, (size_t)(end - p));
			if (!q) {
				*klen = 0;
				return end;
			}
			p = q + 1;
		}
		q = memchr(p, k->delimiter, (size_t)(end - p));
		*klen = (size_t)((q ? q : end) - p);
		return p;
	}
	if (!k->length && !k->offset) {
		*klen = len;
		return row;
	}
	if (k->offset >= len) {
		*klen = 0;
		return row + len;
	}
	*klen = k->length && k->offset + k->length <= len ? k->length
							  : len - k->offset;
	return row + k->offset;
}

/* Compute-function registry ------------------------------------------------ */

static GMutex reg_lock;
static GHashTable *registry;

TARN_PLANNER_API int tarn_compute_register(const char *name,
					   tarn_compute_fn fn)
{
	tarn_compute_fn old;
	int rc = 0;

	if (!name || !*name || strlen(name) >= TARN_MAX_NAME || !fn)
		return planner_set_error(TARN_EINVAL,
					 "tarn_compute_register: a name of 1..%d bytes and a function are required",
					 TARN_MAX_NAME - 1);
	g_mutex_lock(&reg_lock);
	if (!registry)
		registry = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	old = (tarn_compute_fn)g_hash_table_lookup(registry, name);
	if (old && old != fn)
		rc = planner_set_error(TARN_EEXIST,
				       "compute function '%s' is already registered with another function",
				       name);
	else if (!old)
		g_hash_table_insert(registry, g_strdup(name), (gpointer)fn);
	g_mutex_unlock(&reg_lock);
	return rc;
}

tarn_compute_fn compute_lookup(const char *name)
{
	tarn_compute_fn fn = NULL;

	g_mutex_lock(&reg_lock);
	if (registry)
		fn = (tarn_compute_fn)g_hash_table_lookup(registry, name);
	g_mutex_unlock(&reg_lock);
	return fn;
}

/* The plan ------------------------------------------------------------------ */

static void pnode_free(gpointer p)
{
	struct pnode *n = p;

	g_free(n->name);
	g_free(n->glob);
	g_free(n->dimension);
	g_free(n->function);
	g_free(n->args);
	g_free(n->path);
	g_free(n->inputs);
	g_strfreev(n->dimensions);
	g_free(n);
}

TARN_PLANNER_API int tarn_plan_create(const char *name, tarn_plan_t **out)
{
	tarn_plan_t *p = g_new0(tarn_plan_t, 1);

	p->name = g_strdup(name ? name : "");
	p->base_dir = g_get_current_dir();
	p->nodes = g_ptr_array_new_with_free_func(pnode_free);
	p->libraries = g_ptr_array_new_with_free_func(g_free);
	*out = p;
	return 0;
}

TARN_PLANNER_API void tarn_plan_destroy(tarn_plan_t *plan)
{
	if (!plan)
		return;
	g_free(plan->name);
	g_free(plan->base_dir);
	g_free(plan->file);
	g_ptr_array_free(plan->nodes, TRUE);
	g_ptr_array_free(plan->libraries, TRUE);
	g_free(plan);
}

TARN_PLANNER_API size_t tarn_plan_num_nodes(const tarn_plan_t *plan)
{
	return plan ? plan->nodes->len : 0;
}

TARN_PLANNER_API const char *tarn_plan_name(const tarn_plan_t *plan)
{
	return plan && plan->name ? plan->name : "";
}

TARN_PLANNER_API int tarn_plan_set_base_dir(tarn_plan_t *plan,
					    const char *dir)
{
	if (!plan || !dir || !*dir)
		return planner_set_error(TARN_EINVAL,
					 "tarn_plan_set_base_dir: a folder is required");
	g_free(plan->base_dir);
	plan->base_dir = g_canonicalize_filename(dir, NULL);
	return 0;
}

TARN_PLANNER_API int tarn_plan_add_library(tarn_plan_t *plan,
					   const char *path)
{
	if (!plan || !path || !*path)
		return planner_set_error(TARN_EINVAL,
					 "tarn_plan_add_library: a library path is required");
	g_ptr_array_add(plan->libraries,
			g_canonicalize_filename(path, plan->base_dir));
	return 0;
}

static const char *kind_name(int kind)
{
	static const char *const names[] = {
		NULL, "source", "partition", "compute", "consolidate",
		"union", "limit", "sort", "sink",
	};

	return kind >= 1 && kind <= 8 ? names[kind] : "?";
}

static bool valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return false;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
			return false;
	return s[0] != '.';
}

static struct pnode *find_node(const tarn_plan_t *plan, const char *name)
{
	for (guint i = 0; i < plan->nodes->len; i++) {
		struct pnode *n = plan->nodes->pdata[i];

		if (!strcmp(n->name, name))
			return n;
	}
	return NULL;
}

/* Dimensions the output of node @id has, by name, outermost first. */
static void node_dims(const tarn_plan_t *plan, int id, GPtrArray *out)
{
	const struct pnode *n = plan->nodes->pdata[id];

	switch (n->s.kind) {
	case TARN_NODE_SOURCE:
	case TARN_NODE_SINK:
		return;
	case TARN_NODE_PARTITION:
		if (n->s.nested)
			node_dims(plan, n->inputs[0], out);
		g_ptr_array_add(out, n->dimension);
		return;
	case TARN_NODE_CONSOLIDATE:
		for (char **d = n->dimensions; *d; d++)
			g_ptr_array_add(out, *d);
		return;
	default:
		node_dims(plan, n->inputs[0], out);
	}
}

static bool has_dim(GPtrArray *dims, const char *d)
{
	for (guint i = 0; i < dims->len; i++)
		if (!strcmp(dims->pdata[i], d))
			return true;
	return false;
}

#define BAD(...) planner_set_error(TARN_EINVAL, __VA_ARGS__)

static int check_spec(const tarn_plan_t *plan, const tarn_node_spec_t *s)
{
	const char *nm = s->name;
	size_t want_min = 1, want_max = 1;

	if (s->kind < TARN_NODE_SOURCE || s->kind > TARN_NODE_SINK)
		return BAD("node '%s': unknown kind %d (allowed: source, partition, compute, consolidate, union, limit, sort, sink)",
			   nm ? nm : "?", s->kind);
	if (!valid_name(nm))
		return BAD("%s node: name '%s' is not usable (allowed: 1..100 of letters, digits, '_', '.', '-', not starting with '.')",
			   kind_name(s->kind), nm ? nm : "(none)");
	if (find_node(plan, nm))
		return BAD("node '%s': the name is already used by another node",
			   nm);
	if (s->kind == TARN_NODE_SOURCE)
		want_min = want_max = 0;
	if (s->kind == TARN_NODE_UNION || s->kind == TARN_NODE_COMPUTE) {
		want_max = 64;
	}
	if (s->kind == TARN_NODE_UNION)
		want_min = 2;
	if (s->num_inputs < want_min || s->num_inputs > want_max)
		return BAD("node '%s': %s takes %zu..%zu inputs, not %zu", nm,
			   kind_name(s->kind), want_min, want_max,
			   s->num_inputs);
	for (size_t i = 0; i < s->num_inputs; i++) {
		int in = s->inputs[i];

		if (in < 0 || (guint)in >= plan->nodes->len)
			return BAD("node '%s': input %d is not an earlier node (allowed: 0..%u)",
				   nm, in, plan->nodes->len - 1);
		if (((struct pnode *)plan->nodes->pdata[in])->s.kind ==
		    TARN_NODE_SINK)
			return BAD("node '%s': input '%s' is a sink, which has no output to read",
				   nm,
				   ((struct pnode *)plan->nodes->pdata[in])
					   ->name);
	}
	switch (s->kind) {
	case TARN_NODE_SOURCE:
		if (!s->glob || !*s->glob)
			return BAD("source '%s': glob is required", nm);
		if (s->format != TARN_FORMAT_LINES &&
		    s->format != TARN_FORMAT_RECORDS)
			return BAD("source '%s': unknown format %d (allowed: lines, records)",
				   nm, s->format);
		if (s->format == TARN_FORMAT_RECORDS &&
		    (s->record_size < 1 || s->record_size > (1u << 24)))
			return BAD("source '%s': record_size %u (allowed: 1..16777216 with format records)",
				   nm, s->record_size);
		break;
	case TARN_NODE_PARTITION:
		if (s->by < TARN_PARTITION_FILES ||
		    s->by > TARN_PARTITION_FUNCTION)
			return BAD("partition '%s': unknown method %d (allowed: files, rows, hash, range, function)",
				   nm, s->by);
		if (s->npartitions < 1 || s->npartitions > 100000)
			return BAD("partition '%s': npartitions %u (allowed: 1..100000)",
				   nm, s->npartitions);
		if (s->by == TARN_PARTITION_FUNCTION &&
		    (!s->function || !*s->function))
			return BAD("partition '%s': by function needs 'function', a compute function's name",
				   nm);
		if (s->by == TARN_PARTITION_FILES &&
		    ((struct pnode *)plan->nodes->pdata[s->inputs[0]])->s.kind !=
			    TARN_NODE_SOURCE)
			return BAD("partition '%s': by files needs a source as input (its files are known when planning); use by rows otherwise",
				   nm);
		if (s->dimension && !valid_name(s->dimension))
			return BAD("partition '%s': dimension '%s' is not usable (allowed: letters, digits, '_', '.', '-')",
				   nm, s->dimension);
		{
			GPtrArray *dims = g_ptr_array_new();
			bool dup;

			node_dims(plan, s->inputs[0], dims);
			dup = s->nested &&
			      has_dim(dims, s->dimension ? s->dimension : nm);
			g_ptr_array_free(dims, TRUE);
			if (dup)
				return BAD("partition '%s': nested dimension '%s' already exists in the input",
					   nm, s->dimension ? s->dimension : nm);
		}
		break;
	case TARN_NODE_COMPUTE:
		if (!s->function || !*s->function)
			return BAD("compute '%s': function is required (a name registered with TARN_COMPUTE)",
				   nm);
		break;
	case TARN_NODE_CONSOLIDATE: {
		GPtrArray *dims = g_ptr_array_new();
		const char *bad = NULL;

		node_dims(plan, s->inputs[0], dims);
		for (const char *const *d = s->dimensions; d && *d && !bad;
		     d++)
			if (!has_dim(dims, *d))
				bad = *d;
		if (bad) {
			GString *have = g_string_new(NULL);

			for (guint i = 0; i < dims->len; i++)
				g_string_append_printf(have, "%s%s",
						       i ? ", " : "",
						       (char *)dims->pdata[i]);
			BAD("consolidate '%s': the input has no dimension '%s' (allowed: %s)",
			    nm, bad, have->len ? have->str : "none");
			g_string_free(have, TRUE);
			g_ptr_array_free(dims, TRUE);
			return TARN_EINVAL;
		}
		g_ptr_array_free(dims, TRUE);
		break;
	}
	case TARN_NODE_LIMIT:
		if (!s->rows)
			return BAD("limit '%s': rows must be at least 1", nm);
		break;
	case TARN_NODE_SINK:
		if (s->mode < TARN_SINK_COPY || s->mode > TARN_SINK_MANIFEST)
			return BAD("sink '%s': unknown mode %d (allowed: copy, link, manifest)",
				   nm, s->mode);
		break;
	default:
		break;
	}
	if (s->cpus < 0 || s->gpus < 0)
		return BAD("node '%s': cpus and gpus must not be negative", nm);
	if (s->key.field && !s->key.delimiter)
		return BAD("node '%s': a field key needs a delimiter", nm);
	return 0;
}

TARN_PLANNER_API int tarn_plan_add(tarn_plan_t *plan,
				   const tarn_node_spec_t *spec, int *out_id)
{
	struct pnode *n;
	int rc;
	size_t nd = 0;

	if (!plan || !spec)
		return BAD("tarn_plan_add: plan and spec are required");
	rc = check_spec(plan, spec);
	if (rc)
		return rc;
	n = g_new0(struct pnode, 1);
	n->s = *spec;
	n->name = g_strdup(spec->name);
	n->glob = g_strdup(spec->glob);
	n->dimension = g_strdup(spec->dimension ? spec->dimension
						: spec->name);
	n->function = g_strdup(spec->function);
	n->args = g_strdup(spec->args ? spec->args : "");
	n->path = g_strdup(spec->path ? spec->path : spec->name);
	n->inputs = g_new0(int, spec->num_inputs + 1);
	if (spec->num_inputs)
		memcpy(n->inputs, spec->inputs,
		       spec->num_inputs * sizeof(int));
	while (spec->dimensions && spec->dimensions[nd])
		nd++;
	n->dimensions = g_new0(char *, nd + 1);
	for (size_t i = 0; i < nd; i++)
		n->dimensions[i] = g_strdup(spec->dimensions[i]);
	if (n->s.cpus == 0)
		n->s.cpus = 1;
	n->s.name = n->name;
	n->s.glob = n->glob;
	n->s.dimension = n->dimension;
	n->s.function = n->function;
	n->s.args = n->args;
	n->s.path = n->path;
	n->s.inputs = n->inputs;
	n->s.dimensions = (const char *const *)n->dimensions;
	g_ptr_array_add(plan->nodes, n);
	if (out_id)
		*out_id = (int)plan->nodes->len - 1;
	return 0;
}
