/* SPDX-License-Identifier: MIT */
/*
 * The physical plan: every logical node becomes tasks with partition infos
 * (dimension, index, npartitions), inputs and dependencies, in smallpond's
 * manner. Nodes that move no data (sources, partition by files,
 * consolidate, union) become virtual tasks: listed, never dispatched; the
 * tasks downstream read the files they name directly.
 */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"

static const char *const role_names[] = {"virtual", "split", "sample",
					 "bounds", "compute", "sort",
					 "limit", "sink"};

static struct ptask *new_task(struct pplan *pp, int node, int role,
			      const char *key)
{
	struct ptask *t = g_new0(struct ptask, 1);

	t->id = (int)pp->tasks->len;
	t->node = node;
	t->role = role;
	t->key = g_strdup(key);
	t->bounds_task = -1;
	t->keep_bucket = -1;
	g_ptr_array_add(pp->tasks, t);
	return t;
}

static void set_infos(struct ptask *t, const struct pinfo *infos,
		      uint32_t n)
{
	t->infos = g_memdup2(infos, n * sizeof(*infos));
	t->ninfos = n;
}

static void add_refs(GArray *refs, const struct ppart *p, int group)
{
	for (uint32_t i = 0; i < p->nrefs; i++) {
		struct fref r = p->refs[i];

		r.group = group;
		g_array_append_val(refs, r);
	}
}

static void set_inputs(struct ptask *t, GArray *refs)
{
	GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	GArray *deps = g_array_new(FALSE, FALSE, sizeof(int));

	t->nin = refs->len;
	t->in = g_memdup2(refs->data, refs->len * sizeof(struct fref));
	for (guint i = 0; i < refs->len; i++) {
		int d = g_array_index(refs, struct fref, i).task;

		if (d >= 0 && !g_hash_table_contains(seen, GINT_TO_POINTER(d + 1))) {
			g_hash_table_add(seen, GINT_TO_POINTER(d + 1));
			g_array_append_val(deps, d);
		}
	}
	if (t->bounds_task >= 0)
		g_array_append_val(deps, t->bounds_task);
	t->ndeps = deps->len;
	t->deps = (int *)(void *)g_array_free(deps, FALSE);
	g_hash_table_destroy(seen);
}

static void add_part(GArray *parts, const struct pinfo *infos, uint32_t ni,
		     GArray *refs)
{
	struct ppart p;

	p.infos = g_memdup2(infos, ni * sizeof(*infos));
	p.ninfos = ni;
	p.nrefs = refs->len;
	p.refs = g_memdup2(refs->data, refs->len * sizeof(struct fref));
	p.bounds_task = -1;
	p.keep_bucket = -1;
	p.nbuckets = 0;
	g_array_append_val(parts, p);
}

/*
 * Whether range partition @id is fused into the sort that reads it: its
 * splits are left out, and each sort task reads the unsplit inputs and
 * keeps the rows of its own range. That writes every row once instead of
 * twice (a bucket file, then the sorted file), which is most of a sort's
 * cost (docs/performance.md, "graysort, fused"); in exchange each sort
 * task scans every input, so only a few ranges are fused. Only a sort that
 * is the partition's one reader can be fused: anything else needs the
 * buckets as files.
 */
#define FUSE_MAX_RANGES 4

static bool range_fused(const struct tarn_plan *plan, int id)
{
	const struct pnode *n = plan->nodes->pdata[id];
	const struct pnode *reader = NULL;
	int readers = 0;

	if (n->s.kind != TARN_NODE_PARTITION ||
	    n->s.by != TARN_PARTITION_RANGE || n->s.nested ||
	    n->s.npartitions > FUSE_MAX_RANGES)
		return false;
	for (guint i = (guint)id + 1; i < plan->nodes->len; i++) {
		const struct pnode *m = plan->nodes->pdata[i];

		for (size_t k = 0; k < m->s.num_inputs; k++)
			if (m->inputs[k] == id) {
				readers++;
				reader = m;
			}
	}
	return readers == 1 && reader->s.kind == TARN_NODE_SORT &&
	       reader->s.num_inputs == 1;
}

/* "NODE/PREFIX00007"; @prefix "bounds" alone names the one bounds task. */
static char *task_key(const struct pnode *n, const char *prefix, uint32_t i)
{
	if (!strcmp(prefix, "bounds"))
		return g_strdup_printf("%s/bounds", n->name);
	return g_strdup_printf("%s/%s%05u", n->name, prefix, i);
}

static int expand_source(struct pplan *pp, int id, const struct pnode *n)
{
	char *pattern = g_canonicalize_filename(n->glob, pp->plan->base_dir);
	glob_t g;
	int rc;
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct fref));
	struct ptask *t;

	rc = glob(pattern, 0, NULL, &g);
	if (rc) {
		planner_set_error(TARN_EINVAL,
				  "source '%s': glob '%s' %s (expected at least one file)",
				  n->name, pattern,
				  rc == GLOB_NOMATCH ? "matches no file" :
						       "cannot be read");
		g_free(pattern);
		g_array_free(refs, TRUE);
		return TARN_EINVAL;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct fref r = {.task = -1, .bucket = -1, .group = 0};

		r.path = g_string_chunk_insert(pp->strs, g.gl_pathv[i]);
		g_array_append_val(refs, r);
	}
	globfree(&g);
	g_free(pattern);
	{
		char *k = task_key(n, "", 0);

		t = new_task(pp, id, ROLE_VIRTUAL, k);
		g_free(k);
	}
	set_inputs(t, refs);
	add_part(pp->parts[id], NULL, 0, refs);
	g_array_free(refs, TRUE);
	return 0;
}


static int expand_partition(struct pplan *pp, int id, const struct pnode *n)
{
	GArray *in = pp->parts[n->inputs[0]];
	uint32_t np = n->s.npartitions, m = in->len;
	int *split = g_new0(int, m);
	int bounds = -1;
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct fref));
	struct pinfo *infos;
	bool fused = range_fused(pp->plan, id);

	if (n->s.by == TARN_PARTITION_RANGE) {
		int *samples = g_new0(int, m);

		for (uint32_t p = 0; p < m; p++) {
			const struct ppart *pt = &g_array_index(in, struct ppart, p);
			char *k = task_key(n, "sample-", p);
			struct ptask *t = new_task(pp, id, ROLE_SAMPLE, k);

			g_free(k);
			g_array_set_size(refs, 0);
			add_refs(refs, pt, 0);
			set_infos(t, pt->infos, pt->ninfos);
			set_inputs(t, refs);
			samples[p] = t->id;
		}
		{
			char *k = task_key(n, "bounds", 0);
			struct ptask *t = new_task(pp, id, ROLE_BOUNDS, k);

			g_free(k);
			g_array_set_size(refs, 0);
			for (uint32_t p = 0; p < m; p++) {
				struct fref r = {.task = samples[p],
						 .bucket = -1};

				g_array_append_val(refs, r);
			}
			t->nbuckets = np;
			set_inputs(t, refs);
			bounds = t->id;
		}
		g_free(samples);
	}
	if (n->s.by != TARN_PARTITION_FILES && !fused) {
		for (uint32_t p = 0; p < m; p++) {
			const struct ppart *pt = &g_array_index(in, struct ppart, p);
			char *k = task_key(n, "", p);
			struct ptask *t = new_task(pp, id, ROLE_SPLIT, k);

			g_free(k);
			g_array_set_size(refs, 0);
			add_refs(refs, pt, 0);
			t->nbuckets = np;
			t->bounds_task = bounds;
			set_infos(t, pt->infos, pt->ninfos);
			set_inputs(t, refs);
			split[p] = t->id;
		}
	}
	/* Output partitions: (p, j) when nested, else j over every p. */
	infos = g_new0(struct pinfo, 64);
	for (uint32_t outer = 0; outer < (n->s.nested ? m : 1); outer++) {
		for (uint32_t j = 0; j < np; j++) {
			uint32_t ni = 0;

			g_array_set_size(refs, 0);
			for (uint32_t p = n->s.nested ? outer : 0;
			     p < (n->s.nested ? outer + 1 : m); p++) {
				const struct ppart *pt =
					&g_array_index(in, struct ppart, p);

				if (fused) {
					add_refs(refs, pt, 0);
				} else if (n->s.by == TARN_PARTITION_FILES) {
					/* contiguous runs of whole files */
					uint32_t lo = (uint32_t)((uint64_t)pt->nrefs * j / np);
					uint32_t hi = (uint32_t)((uint64_t)pt->nrefs * (j + 1) / np);

					for (uint32_t f = lo; f < hi; f++)
						g_array_append_val(refs, pt->refs[f]);
				} else {
					struct fref r = {.task = split[p],
							 .bucket = (int)j};

					g_array_append_val(refs, r);
				}
			}
			if (n->s.nested) {
				const struct ppart *pt =
					&g_array_index(in, struct ppart, outer);

				ni = MIN(pt->ninfos, 62);
				if (ni)
					memcpy(infos, pt->infos, ni * sizeof(*infos));
			}
			infos[ni].dim = n->dimension;
			infos[ni].index = j;
			infos[ni].n = np;
			ni++;
			if (n->s.by == TARN_PARTITION_FILES) {
				char *k = task_key(n, "", pp->parts[id]->len);
				struct ptask *t = new_task(pp, id, ROLE_VIRTUAL, k);

				g_free(k);
				set_infos(t, infos, ni);
				set_inputs(t, refs);
			}
			add_part(pp->parts[id], infos, ni, refs);
			if (fused) {
				GArray *a = pp->parts[id];
				struct ppart *last = &g_array_index(a,
					struct ppart, a->len - 1);

				last->bounds_task = bounds;
				last->keep_bucket = (int)j;
				last->nbuckets = np;
			}
		}
	}
	g_free(infos);
	g_free(split);
	g_array_free(refs, TRUE);
	return 0;
}

static int expand_per_partition(struct pplan *pp, int id,
				const struct pnode *n, int role)
{
	GArray *first = pp->parts[n->inputs[0]];
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct fref));

	for (size_t g = 1; g < n->s.num_inputs; g++) {
		GArray *o = pp->parts[n->inputs[g]];

		if (o->len != first->len) {
			const struct pnode *a = pp->plan->nodes->pdata[n->inputs[0]];
			const struct pnode *b = pp->plan->nodes->pdata[n->inputs[g]];

			g_array_free(refs, TRUE);
			return planner_set_error(TARN_EINVAL,
						 "node '%s': inputs '%s' (%u partitions) and '%s' (%u partitions) cannot be zipped (expected equal partition counts)",
						 n->name, a->name, first->len,
						 b->name, o->len);
		}
	}
	for (guint i = 0; i < first->len; i++) {
		const struct ppart *p0 = &g_array_index(first, struct ppart, i);
		char *k = task_key(n, "", i);
		struct ptask *t = new_task(pp, id, role, k);
		struct fref r = {.bucket = -1};
		GArray *one = g_array_new(FALSE, FALSE, sizeof(struct fref));

		g_free(k);
		g_array_set_size(refs, 0);
		for (size_t g = 0; g < n->s.num_inputs; g++)
			add_refs(refs,
				 &g_array_index(pp->parts[n->inputs[g]],
						struct ppart, i),
				 (int)g);
		if (p0->keep_bucket >= 0) {
			/* range_fused() let only a sort read this */
			t->bounds_task = p0->bounds_task;
			t->keep_bucket = p0->keep_bucket;
			t->nbuckets = p0->nbuckets;
		}
		set_infos(t, p0->infos, p0->ninfos);
		set_inputs(t, refs);
		if (role == ROLE_VIRTUAL) {
			add_part(pp->parts[id], p0->infos, p0->ninfos, refs);
		} else {
			r.task = t->id;
			g_array_append_val(one, r);
			add_part(pp->parts[id], p0->infos, p0->ninfos, one);
		}
		g_array_free(one, TRUE);
	}
	g_array_free(refs, TRUE);
	return 0;
}

static int expand_consolidate(struct pplan *pp, int id, const struct pnode *n)
{
	GArray *in = pp->parts[n->inputs[0]];
	GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free, NULL);
	GPtrArray *order = g_ptr_array_new();
	GPtrArray *grefs = g_ptr_array_new();
	GPtrArray *ginfos = g_ptr_array_new();

	for (guint i = 0; i < in->len; i++) {
		const struct ppart *p = &g_array_index(in, struct ppart, i);
		GString *key = g_string_new(NULL);
		struct pinfo *kept = g_new0(struct pinfo, p->ninfos + 1);
		uint32_t nk = 0;
		gpointer slot;

		for (char **d = n->dimensions; *d; d++)
			for (uint32_t k = 0; k < p->ninfos; k++)
				if (!strcmp(p->infos[k].dim, *d)) {
					kept[nk++] = p->infos[k];
					g_string_append_printf(key, "%s=%u;", *d,
							       p->infos[k].index);
				}
		if (!g_hash_table_lookup_extended(groups, key->str, NULL, &slot)) {
			slot = GUINT_TO_POINTER(order->len);
			g_hash_table_insert(groups, g_strdup(key->str), slot);
			g_ptr_array_add(order, g_strdup(key->str));
			g_ptr_array_add(grefs, g_array_new(FALSE, FALSE,
							   sizeof(struct fref)));
			g_ptr_array_add(ginfos, kept);
		} else {
			g_free(kept);
		}
		add_refs(grefs->pdata[GPOINTER_TO_UINT(slot)], p, 0);
		g_string_free(key, TRUE);
	}
	for (guint gi = 0; gi < order->len; gi++) {
		GArray *refs = grefs->pdata[gi];
		struct pinfo *kept = ginfos->pdata[gi];
		uint32_t nk = 0;
		char *k = task_key(n, "", gi);
		struct ptask *t = new_task(pp, id, ROLE_VIRTUAL, k);

		g_free(k);
		while (n->dimensions[nk])
			nk++;
		set_infos(t, kept, nk);
		set_inputs(t, refs);
		add_part(pp->parts[id], kept, nk, refs);
		g_array_free(refs, TRUE);
		g_free(kept);
		g_free(order->pdata[gi]);
	}
	g_ptr_array_free(order, TRUE);
	g_ptr_array_free(grefs, TRUE);
	g_ptr_array_free(ginfos, TRUE);
	g_hash_table_destroy(groups);
	return 0;
}

static int expand_sink(struct pplan *pp, int id, const struct pnode *n)
{
	GArray *in = pp->parts[n->inputs[0]];
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct fref));
	char *k = task_key(n, "", 0);
	struct ptask *t = new_task(pp, id, ROLE_SINK, k);

	g_free(k);
	for (guint i = 0; i < in->len; i++)
		add_refs(refs, &g_array_index(in, struct ppart, i), 0);
	set_inputs(t, refs);
	g_array_free(refs, TRUE);
	return 0;
}

int pplan_build(const tarn_plan_t *plan, struct pplan **out)
{
	struct pplan *pp = g_new0(struct pplan, 1);
	guint nn = plan->nodes->len;
	int rc = 0;

	pp->plan = plan;
	pp->tasks = g_ptr_array_new();
	pp->strs = g_string_chunk_new(4096);
	pp->parts = g_new0(GArray *, nn);
	pp->node_first = g_new0(int, nn);
	pp->node_count = g_new0(int, nn);
	for (guint i = 0; i < nn && !rc; i++) {
		const struct pnode *n = plan->nodes->pdata[i];

		pp->parts[i] = g_array_new(FALSE, FALSE, sizeof(struct ppart));
		pp->node_first[i] = (int)pp->tasks->len;
		switch (n->s.kind) {
		case TARN_NODE_SOURCE:
			rc = expand_source(pp, (int)i, n);
			break;
		case TARN_NODE_PARTITION:
			rc = expand_partition(pp, (int)i, n);
			break;
		case TARN_NODE_COMPUTE:
			rc = expand_per_partition(pp, (int)i, n, ROLE_COMPUTE);
			break;
		case TARN_NODE_SORT:
			rc = expand_per_partition(pp, (int)i, n, ROLE_SORT);
			break;
		case TARN_NODE_LIMIT:
			rc = expand_per_partition(pp, (int)i, n, ROLE_LIMIT);
			break;
		case TARN_NODE_UNION:
			rc = expand_per_partition(pp, (int)i, n, ROLE_VIRTUAL);
			break;
		case TARN_NODE_CONSOLIDATE:
			rc = expand_consolidate(pp, (int)i, n);
			break;
		case TARN_NODE_SINK:
			rc = expand_sink(pp, (int)i, n);
			break;
		}
		pp->node_count[i] = (int)pp->tasks->len - pp->node_first[i];
	}
	if (rc) {
		pplan_free(pp);
		return rc;
	}
	*out = pp;
	return 0;
}

void pplan_free(struct pplan *pp)
{
	if (!pp)
		return;
	for (guint i = 0; i < pp->tasks->len; i++) {
		struct ptask *t = pp->tasks->pdata[i];

		g_free(t->key);
		g_free(t->infos);
		g_free(t->in);
		g_free(t->deps);
		g_free(t);
	}
	for (guint i = 0; i < pp->plan->nodes->len; i++) {
		if (!pp->parts[i])
			continue;
		for (guint j = 0; j < pp->parts[i]->len; j++) {
			struct ppart *p = &g_array_index(pp->parts[i],
							 struct ppart, j);

			g_free(p->infos);
			g_free(p->refs);
		}
		g_array_free(pp->parts[i], TRUE);
	}
	g_ptr_array_free(pp->tasks, TRUE);
	g_string_chunk_free(pp->strs);
	g_free(pp->parts);
	g_free(pp->node_first);
	g_free(pp->node_count);
	g_free(pp);
}

char *pplan_partition_name(const struct ptask *t)
{
	GString *s = g_string_new(NULL);

	for (uint32_t i = 0; i < t->ninfos; i++)
		g_string_append_printf(s, "%s%s=%u/%u", i ? "," : "",
				       t->infos[i].dim, t->infos[i].index,
				       t->infos[i].n);
	if (!t->ninfos)
		g_string_append(s, "-");
	return g_string_free(s, FALSE);
}

static const char *kind_word(int kind)
{
	static const char *const w[] = {"?", "source", "partition", "compute",
					"consolidate", "union", "limit",
					"sort", "sink"};

	return kind >= 1 && kind <= 8 ? w[kind] : "?";
}

static void describe_summary(const struct pplan *pp, const char *job_dir,
			     GString *s)
{
	const tarn_plan_t *plan = pp->plan;
	guint virt = 0;

	for (guint i = 0; i < pp->tasks->len; i++)
		virt += ((struct ptask *)pp->tasks->pdata[i])->role ==
			ROLE_VIRTUAL;
	g_string_append_printf(s,
			       "plan %s: %u nodes, %u tasks (%u to run, %u virtual)\n"
			       "task outputs under %s/tasks/ ({output_path} is %s/output unless set)\n\n",
			       plan->name, plan->nodes->len, pp->tasks->len,
			       pp->tasks->len - virt, virt, job_dir, job_dir);
	g_string_append_printf(s, "%-20s %-11s %7s %10s  %-24s %s\n", "NODE",
			       "KIND", "TASKS", "PARTITIONS", "DIMENSIONS",
			       "LIMITS");
	for (guint i = 0; i < plan->nodes->len; i++) {
		const struct pnode *n = plan->nodes->pdata[i];
		const GArray *parts = pp->parts[i];
		GString *dims = g_string_new(NULL);

		if (parts->len) {
			const struct ppart *p =
				&g_array_index(parts, struct ppart, 0);

			for (uint32_t k = 0; k < p->ninfos; k++)
				g_string_append_printf(dims, "%s%s[%u]",
						       k ? "," : "",
						       p->infos[k].dim,
						       p->infos[k].n);
		}
		g_string_append_printf(s, "%-20s %-11s %7d %10u  %-24s cpus=%g gpus=%g memory=%llu\n",
				       n->name, kind_word(n->s.kind),
				       pp->node_count[i], parts->len,
				       dims->len ? dims->str : "-", n->s.cpus,
				       n->s.gpus,
				       (unsigned long long)n->s.memory);
		g_string_free(dims, TRUE);
	}
	g_string_append(s, "\nTASK (first 3 of each node)               ROLE     PARTITION                 INPUTS DEPS OUTPUT\n");
	for (guint i = 0; i < plan->nodes->len; i++) {
		for (int j = 0; j < MIN(pp->node_count[i], 3); j++) {
			const struct ptask *t =
				pp->tasks->pdata[pp->node_first[i] + j];
			char *part = pplan_partition_name(t);
			const struct pnode *n = plan->nodes->pdata[t->node];

			char *where = t->role == ROLE_VIRTUAL ? g_strdup("-") :
				      t->role == ROLE_SINK ?
				      (g_path_is_absolute(n->path) ?
					       g_strdup(n->path) :
					       g_strdup_printf("{output_path}/%s", n->path)) :
				      g_strdup_printf("%s/tasks/%s/", job_dir, t->key);

			g_string_append_printf(s, "%-42s %-8s %-25s %6u %4u %s\n",
					       t->key, role_names[t->role], part,
					       t->nin, t->ndeps, where);
			g_free(where);
			g_free(part);
		}
	}
}

static void describe_dot(const struct pplan *pp, GString *s)
{
	const tarn_plan_t *plan = pp->plan;

	g_string_append_printf(s, "digraph \"%s\" {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n",
			       plan->name);
	for (guint i = 0; i < plan->nodes->len; i++) {
		const struct pnode *n = plan->nodes->pdata[i];

		g_string_append_printf(s, "  subgraph \"cluster_%s\" {\n    label=\"%s (%s)\";\n",
				       n->name, n->name, kind_word(n->s.kind));
		for (int j = 0; j < pp->node_count[i]; j++) {
			const struct ptask *t =
				pp->tasks->pdata[pp->node_first[i] + j];
			char *part = pplan_partition_name(t);

			g_string_append_printf(s, "    t%d [label=\"%s\\n%s\\n%s\"%s];\n",
					       t->id, t->key, role_names[t->role],
					       part,
					       t->role == ROLE_VIRTUAL ?
						       ", style=dashed" :
						       "");
			g_free(part);
		}
		g_string_append(s, "  }\n");
	}
	for (guint i = 0; i < pp->tasks->len; i++) {
		const struct ptask *t = pp->tasks->pdata[i];

		for (uint32_t d = 0; d < t->ndeps; d++)
			g_string_append_printf(s, "  t%d -> t%d;\n",
					       t->deps[d], t->id);
	}
	g_string_append(s, "}\n");
}

TARN_PLANNER_API int tarn_plan_describe(const tarn_plan_t *plan, bool dot,
					const char *job_dir, char **out)
{
	struct pplan *pp;
	GString *s;
	int rc;

	if (!plan || !out)
		return planner_set_error(TARN_EINVAL,
					 "tarn_plan_describe: plan and out are required");
	if (!plan->nodes->len)
		return planner_set_error(TARN_EINVAL, "plan '%s' has no nodes",
					 plan->name);
	rc = pplan_build(plan, &pp);
	if (rc)
		return rc;
	s = g_string_new(NULL);
	if (dot)
		describe_dot(pp, s);
	else
		describe_summary(pp, job_dir ? job_dir : "{data_root}/{job}", s);
	pplan_free(pp);
	*out = strdup(s->str);
	g_string_free(s, TRUE);
	return *out ? 0 : TARN_ENOMEM;
}
