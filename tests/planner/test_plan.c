/* SPDX-License-Identifier: MIT */
/*
 * The logical and physical plan, white box: C API checks, YAML errors with
 * file:line:column, partitions and dimensions of the tasks, the descriptor
 * that travels to workers, deterministic fault injection.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "planner.h"

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("tarn-plan-XXXXXX", NULL);
	cr_assert_not_null(tmp);
}

static void teardown(void)
{
	rm_rf(tmp);
	g_free(tmp);
}

static char *write_tmp(const char *name, const char *text)
{
	char *p = g_build_filename(tmp, name, NULL);

	cr_assert(g_file_set_contents(p, text, -1, NULL));
	return p;
}

static void make_inputs(int n)
{
	char *d = g_build_filename(tmp, "in", NULL);

	g_mkdir_with_parents(d, 0755);
	for (int i = 0; i < n; i++) {
		char *p = g_strdup_printf("%s/f%02d.txt", d, i);

		cr_assert(g_file_set_contents(p, "a,1\nb,2\n", -1, NULL));
		g_free(p);
	}
	g_free(d);
}

TestSuite(plan, .init = setup, .fini = teardown, .timeout = 30);

Test(plan, c_api_rejects_bad_nodes_naming_what_is_allowed)
{
	tarn_plan_t *p;
	tarn_node_spec_t s = TARN_NODE_SPEC_INIT;
	int id, bad = 7;

	tarn_plan_create("t", &p);
	s.kind = TARN_NODE_SOURCE;
	s.name = "src";
	cr_assert_eq(tarn_plan_add(p, &s, &id), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(), "glob is required"),
		  "%s", tarn_planner_last_error());
	s.glob = "*.txt";
	cr_assert_eq(tarn_plan_add(p, &s, &id), 0);
	cr_assert_eq(tarn_plan_add(p, &s, &id), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(), "already used"));

	memset(&s, 0, sizeof(s));
	s.kind = TARN_NODE_PARTITION;
	s.name = "p";
	s.inputs = &id;
	s.num_inputs = 1;
	s.by = TARN_PARTITION_HASH;
	s.npartitions = 0;
	cr_assert_eq(tarn_plan_add(p, &s, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(), "npartitions 0 (allowed: 1..100000)"),
		  "%s", tarn_planner_last_error());
	s.npartitions = 4;
	s.inputs = &bad;
	cr_assert_eq(tarn_plan_add(p, &s, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(), "not an earlier node"));
	s.inputs = &id;
	s.name = "bad name";
	cr_assert_eq(tarn_plan_add(p, &s, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(), "not usable"));
	cr_assert_eq(tarn_plan_num_nodes(p), 1);
	tarn_plan_destroy(p);
}

Test(plan, consolidate_checks_dimensions)
{
	tarn_plan_t *p;
	tarn_node_spec_t s = TARN_NODE_SPEC_INIT;
	const char *dims[] = {"nope", NULL};
	int src, part;

	tarn_plan_create("t", &p);
	s.kind = TARN_NODE_SOURCE;
	s.name = "src";
	s.glob = "x";
	cr_assert_eq(tarn_plan_add(p, &s, &src), 0);
	memset(&s, 0, sizeof(s));
	s.kind = TARN_NODE_PARTITION;
	s.name = "h";
	s.inputs = &src;
	s.num_inputs = 1;
	s.by = TARN_PARTITION_HASH;
	s.npartitions = 2;
	s.dimension = "hd";
	cr_assert_eq(tarn_plan_add(p, &s, &part), 0);
	memset(&s, 0, sizeof(s));
	s.kind = TARN_NODE_CONSOLIDATE;
	s.name = "c";
	s.inputs = &part;
	s.num_inputs = 1;
	s.dimensions = dims;
	cr_assert_eq(tarn_plan_add(p, &s, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(),
			 "no dimension 'nope' (allowed: hd)"),
		  "%s", tarn_planner_last_error());
	tarn_plan_destroy(p);
}

static void expect_yaml_error(const char *text, const char *where,
			      const char *what)
{
	char *f = write_tmp("bad.yaml", text);
	tarn_plan_t *p = NULL;
	char *want = g_strdup_printf("%s:%s: ", f, where);

	cr_assert_eq(tarn_plan_load_yaml(f, &p), TARN_EINVAL);
	cr_assert_null(p);
	cr_assert(g_str_has_prefix(tarn_planner_last_error(), want),
		  "got '%s', expected prefix '%s'", tarn_planner_last_error(),
		  want);
	cr_assert(strstr(tarn_planner_last_error(), what), "got '%s'",
		  tarn_planner_last_error());
	g_free(want);
	g_free(f);
}

Test(plan, yaml_errors_name_file_line_column_and_what_was_expected)
{
	expect_yaml_error("nodes:\n  - name: a\n    kind: sauce\n", "3:11",
			  "'kind: sauce' is not allowed (expected one of: source, partition");
	expect_yaml_error("nodes:\n  - name: a\n    kind: source\n    glob: x\n    globb: y\n",
			  "5:5", "unknown key 'globb' for a source node (expected name, kind, input or one of: glob format record_size)");
	expect_yaml_error("nodes:\n  - name: a\n    kind: source\n    glob: x\n  - name: b\n    kind: sort\n    input: c\n",
			  "7:12", "input 'c' is not a node defined above");
	expect_yaml_error("nodes:\n  - name: a\n    kind: source\n    glob: x\n  - name: p\n    kind: partition\n    input: a\n    npartitions: many\n",
			  "8:18", "'npartitions: many' is not a whole number in range (expected 0..100000)");
	expect_yaml_error("nodes: [\n", "2:1", "YAML syntax");
	expect_yaml_error("name: x\nnodez: []\n", "2:1",
			  "unknown key 'nodez' (expected name, libraries or nodes)");
	/* a check of tarn_plan_add, located at its node */
	expect_yaml_error("nodes:\n  - name: a\n    kind: source\n    glob: x\n  - name: p\n    kind: partition\n    input: a\n    npartitions: 0\n",
			  "5:5", "npartitions 0 (allowed: 1..100000)");
}

Test(plan, physical_plan_partitions_dimensions_and_dependencies)
{
	char *f;
	tarn_plan_t *p;
	struct pplan *pp;
	const struct ptask *t;
	char *text = NULL;

	make_inputs(6);
	f = write_tmp("ok.yaml",
		      "name: shapes\n"
		      "nodes:\n"
		      "  - {name: src, kind: source, glob: in/*.txt}\n"
		      "  - {name: files, kind: partition, input: src, by: files, npartitions: 3}\n"
		      "  - {name: h, kind: partition, input: files, by: hash, npartitions: 2, nested: true,\n"
		      "     key: {field: 1, delimiter: ','}}\n"
		      "  - {name: s, kind: sort, input: h, key: {field: 1, delimiter: ','}}\n"
		      "  - {name: byh, kind: consolidate, input: s, dimensions: [h]}\n"
		      "  - {name: lim, kind: limit, input: byh, rows: 1}\n"
		      "  - {name: r, kind: partition, input: lim, by: range, npartitions: 4,\n"
		      "     key: {bytes: [0, 1]}}\n"
		      "  - {name: out, kind: sink, input: r, mode: manifest}\n");
	cr_assert_eq(tarn_plan_load_yaml(f, &p), 0, "%s",
		     tarn_planner_last_error());
	cr_assert_str_eq(tarn_plan_name(p), "shapes");
	cr_assert_eq(pplan_build(p, &pp), 0, "%s", tarn_planner_last_error());
	/* src 1 virtual, files 3 virtual, h 3 splits, s 3*2 sorts, byh 2
	 * virtual, lim 2, r 2 samples + bounds + 2 splits, out 1 sink */
	cr_assert_eq(pp->node_count[0], 1);
	cr_assert_eq(pp->node_count[1], 3);
	cr_assert_eq(pp->node_count[2], 3);
	cr_assert_eq(pp->node_count[3], 6);
	cr_assert_eq(pp->node_count[4], 2);
	cr_assert_eq(pp->node_count[5], 2);
	cr_assert_eq(pp->node_count[6], 5);
	cr_assert_eq(pp->node_count[7], 1);
	/* sort task 3 is files=1/3, h=1/2 and reads bucket 1 of split 1 */
	t = pp->tasks->pdata[pp->node_first[3] + 3];
	cr_assert_eq(t->role, ROLE_SORT);
	cr_assert_eq(t->ninfos, 2);
	cr_assert_str_eq(t->infos[0].dim, "files");
	cr_assert_eq(t->infos[0].index, 1);
	cr_assert_eq(t->infos[0].n, 3);
	cr_assert_str_eq(t->infos[1].dim, "h");
	cr_assert_eq(t->infos[1].index, 1);
	cr_assert_eq(t->nin, 1);
	cr_assert_eq(t->in[0].task, pp->node_first[2] + 1);
	cr_assert_eq(t->in[0].bucket, 1);
	cr_assert_eq(t->ndeps, 1);
	/* consolidate by h: partition h=0 gathers the 3 sorts with h=0 */
	cr_assert_eq(g_array_index(pp->parts[4], struct ppart, 0).nrefs, 3);
	cr_assert_eq(g_array_index(pp->parts[4], struct ppart, 0).ninfos, 1);
	/* range splits depend on their input and on the bounds task */
	t = pp->tasks->pdata[pp->node_first[6] + 3];
	cr_assert_eq(t->role, ROLE_SPLIT);
	cr_assert_eq(t->ndeps, 2);
	cr_assert_eq(t->bounds_task, pp->node_first[6] + 2);
	cr_assert_str_eq(t->key, "r/00000");
	/* the sink reads the 4 range partitions of both splits */
	t = pp->tasks->pdata[pp->node_first[7]];
	cr_assert_eq(t->nin, 8);
	pplan_free(pp);

	cr_assert_eq(tarn_plan_describe(p, false, "/jobs/x", &text), 0);
	cr_assert(strstr(text, "plan shapes: 8 nodes, 23 tasks (17 to run, 6 virtual)"),
		  "%s", text);
	cr_assert(strstr(text, "s/00002"), "%s", text);
	cr_assert(strstr(text, "files=0/3,h=1/2"), "%s", text);
	free(text);
	cr_assert_eq(tarn_plan_describe(p, true, NULL, &text), 0);
	cr_assert(g_str_has_prefix(text, "digraph \"shapes\" {"));
	cr_assert(strstr(text, "subgraph \"cluster_h\""));
	cr_assert(strstr(text, " -> "));
	free(text);
	tarn_plan_destroy(p);
	g_free(f);
}

/* A range partition whose one reader is a sort is fused into it. */
static struct pplan *range_sort_plan(const char *name, uint32_t ranges,
				     bool second_reader, tarn_plan_t **p)
{
	char *yaml = g_strdup_printf(
		"nodes:\n"
		"  - {name: src, kind: source, glob: in/*.txt}\n"
		"  - {name: files, kind: partition, input: src, by: files,\n"
		"     npartitions: 3}\n"
		"  - {name: r, kind: partition, input: files, by: range,\n"
		"     npartitions: %u, key: {bytes: [0, 2]}}\n"
		"  - {name: s, kind: sort, input: r, key: {bytes: [1, 3]}}\n"
		"  - {name: out, kind: sink, input: s}\n%s",
		ranges, second_reader ?
		"  - {name: raw, kind: sink, input: r, mode: manifest}\n" : "");
	char *f = write_tmp(name, yaml);
	struct pplan *pp;

	cr_assert_eq(tarn_plan_load_yaml(f, p), 0, "%s",
		     tarn_planner_last_error());
	cr_assert_eq(pplan_build(*p, &pp), 0, "%s", tarn_planner_last_error());
	g_free(yaml);
	g_free(f);
	return pp;
}

Test(plan, range_partition_read_only_by_a_sort_is_fused_into_it)
{
	tarn_plan_t *p;
	struct pplan *pp;
	const struct ptask *t;
	int bounds;

	make_inputs(6);
	pp = range_sort_plan("fused.yaml", 3, false, &p);
	/* r: 3 samples and the bounds, no splits; s: one sort per range */
	cr_assert_eq(pp->node_count[2], 4);
	bounds = pp->node_first[2] + 3;
	t = pp->tasks->pdata[bounds];
	cr_assert_eq(t->role, ROLE_BOUNDS);
	cr_assert_eq(pp->node_count[3], 3);
	for (int j = 0; j < 3; j++) {
		t = pp->tasks->pdata[pp->node_first[3] + j];
		cr_assert_eq(t->role, ROLE_SORT);
		/* every input file, unsplit, and the bounds to pick its rows */
		cr_assert_eq(t->nin, 6);
		cr_assert_eq(t->in[0].task, -1);
		cr_assert_eq(t->bounds_task, bounds);
		cr_assert_eq(t->keep_bucket, j);
		cr_assert_eq(t->nbuckets, 3);
		cr_assert_eq(t->ndeps, 1);
		cr_assert_eq(t->deps[0], bounds);
		cr_assert_eq(t->ninfos, 1);
		cr_assert_str_eq(t->infos[0].dim, "r");
		cr_assert_eq(t->infos[0].index, (uint32_t)j);
	}
	pplan_free(pp);
	tarn_plan_destroy(p);

	/* a second reader needs the buckets as files: not fused */
	pp = range_sort_plan("two.yaml", 3, true, &p);
	cr_assert_eq(pp->node_count[2], 3 + 1 + 3);
	t = pp->tasks->pdata[pp->node_first[3]];
	cr_assert_eq(t->keep_bucket, -1);
	cr_assert_eq(t->nin, 3);
	cr_assert_eq(t->in[0].bucket, 0);
	pplan_free(pp);
	tarn_plan_destroy(p);

	/* many ranges: each fused sort would scan every input; not fused */
	pp = range_sort_plan("many.yaml", 5, false, &p);
	cr_assert_eq(pp->node_count[2], 3 + 1 + 3);
	t = pp->tasks->pdata[pp->node_first[3] + 4];
	cr_assert_eq(t->keep_bucket, -1);
	cr_assert_eq(t->bounds_task, -1);
	pplan_free(pp);
	tarn_plan_destroy(p);
}

Test(plan, source_glob_without_match_is_an_error)
{
	char *f = write_tmp("g.yaml",
			    "nodes:\n  - {name: src, kind: source, glob: none/*.x}\n"
			    "  - {name: o, kind: sink, input: src}\n");
	tarn_plan_t *p;
	char *text = NULL;

	cr_assert_eq(tarn_plan_load_yaml(f, &p), 0);
	cr_assert_eq(tarn_plan_describe(p, false, NULL, &text), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(), "matches no file (expected at least one file)"),
		  "%s", tarn_planner_last_error());
	tarn_plan_destroy(p);
	g_free(f);
}

Test(plan, zipped_inputs_need_equal_partition_counts)
{
	tarn_plan_t *p;
	char *f, *text = NULL;

	make_inputs(2);
	f = write_tmp("z.yaml",
		      "nodes:\n"
		      "  - {name: a, kind: source, glob: in/*.txt}\n"
		      "  - {name: h2, kind: partition, input: a, by: hash, npartitions: 2}\n"
		      "  - {name: h3, kind: partition, input: a, by: hash, npartitions: 3}\n"
		      "  - {name: u, kind: union, inputs: [h2, h3]}\n");
	cr_assert_eq(tarn_plan_load_yaml(f, &p), 0, "%s", tarn_planner_last_error());
	cr_assert_eq(tarn_plan_describe(p, false, NULL, &text), TARN_EINVAL);
	cr_assert(strstr(tarn_planner_last_error(),
			 "inputs 'h2' (2 partitions) and 'h3' (3 partitions) cannot be zipped"),
		  "%s", tarn_planner_last_error());
	tarn_plan_destroy(p);
	g_free(f);
}

Test(plan, env_expansion_in_paths)
{
	tarn_plan_t *p;
	char *f;

	setenv("TARN_TEST_DIR", "/data/x", 1);
	f = write_tmp("e.yaml",
		      "libraries: ${TARN_TEST_NOPE:-/lib}/a.so\n"
		      "nodes:\n  - {name: a, kind: source, glob: '${TARN_TEST_DIR}/*.txt'}\n");
	cr_assert_eq(tarn_plan_load_yaml(f, &p), 0, "%s", tarn_planner_last_error());
	cr_assert_str_eq(((struct pnode *)p->nodes->pdata[0])->glob,
			 "/data/x/*.txt");
	cr_assert_str_eq(p->libraries->pdata[0], "/lib/a.so");
	tarn_plan_destroy(p);
	g_free(f);
}

Test(plan, descriptor_round_trip)
{
	struct tdesc d, e;
	GByteArray *b = g_byte_array_new();
	struct pinfo pi = {.dim = "files", .index = 2, .n = 5};
	int g = 1;

	memset(&d, 0, sizeof(d));
	d.inputs = g_ptr_array_new();
	d.groups = g_array_new(FALSE, FALSE, sizeof(int));
	d.infos = g_array_new(FALSE, FALSE, sizeof(struct pinfo));
	g_ptr_array_add(d.inputs, "/a/b");
	g_array_append_val(d.groups, g);
	g_array_append_val(d.infos, pi);
	d.role = ROLE_SPLIT;
	d.nbuckets = 7;
	d.key.field = 2;
	d.key.delimiter = '\t';
	d.keep_bucket = -1; /* not a fused sort */
	d.range_key.offset = 3;
	d.range_key.length = 10;
	d.fault_prob = 0.25;
	d.seed = 99;
	d.attempt = 3;
	d.task_key = "n/00001";
	d.staging = "/s";
	tdesc_encode(&d, b);
	cr_assert_eq(tdesc_decode(b->data, b->len, &e), 0);
	cr_assert_eq(e.role, ROLE_SPLIT);
	cr_assert_eq(e.nbuckets, 7);
	cr_assert_eq(e.key.delimiter, '\t');
	cr_assert_eq(e.keep_bucket, -1);
	cr_assert_eq(e.range_key.offset, 3);
	cr_assert_eq(e.range_key.length, 10);
	cr_assert_float_eq(e.fault_prob, 0.25, 1e-12);
	cr_assert_eq(e.attempt, 3);
	cr_assert_str_eq(e.task_key, "n/00001");
	cr_assert_str_eq(e.inputs->pdata[0], "/a/b");
	cr_assert_eq(g_array_index(e.groups, int, 0), 1);
	cr_assert_str_eq(g_array_index(e.infos, struct pinfo, 0).dim, "files");
	cr_assert_eq(g_array_index(e.infos, struct pinfo, 0).n, 5);
	tdesc_clear(&e);
	/* truncated: refused, not misread */
	cr_assert_neq(tdesc_decode(b->data, b->len - 3, &e), 0);
	tdesc_clear(&e);
	g_ptr_array_free(d.inputs, TRUE);
	g_array_free(d.groups, TRUE);
	g_array_free(d.infos, TRUE);
	g_byte_array_free(b, TRUE);
}

Test(plan, fault_injection_is_deterministic_and_near_its_probability)
{
	int hits = 0, n = 20000;

	for (int i = 0; i < n; i++) {
		char key[32];
		bool a, b;

		snprintf(key, sizeof(key), "node/%05d", i);
		a = fault_inject(7, key, 1, 0, 0.2);
		b = fault_inject(7, key, 1, 0, 0.2);
		cr_assert_eq(a, b);
		hits += a;
	}
	cr_assert(hits > n * 0.18 && hits < n * 0.22, "%d of %d", hits, n);
	cr_assert(!fault_inject(7, "x", 1, 0, 0.0));
	cr_assert(fault_inject(7, "x", 1, 0, 1.0));
	/* seeds, attempts and points decide independently */
	{
		int same = 0;

		for (int i = 0; i < 1000; i++) {
			char key[32];

			snprintf(key, sizeof(key), "k%d", i);
			same += fault_inject(1, key, 1, 0, 0.5) ==
				fault_inject(2, key, 1, 0, 0.5);
		}
		cr_assert(same > 400 && same < 600, "%d", same);
	}
}

Test(plan, row_keys)
{
	tarn_key_t f = {.field = 2, .delimiter = ','};
	tarn_key_t b = {.offset = 1, .length = 2};
	tarn_key_t whole = {0};
	const unsigned char *row = (const unsigned char *)"ab,cd,ef";
	size_t kl;
	const unsigned char *k;

	k = row_key(row, 8, &f, &kl);
	cr_assert_eq(kl, 2);
	cr_assert_eq(memcmp(k, "cd", 2), 0);
	k = row_key(row, 8, &b, &kl);
	cr_assert_eq(memcmp(k, "b,", 2), 0);
	k = row_key(row, 8, &whole, &kl);
	cr_assert_eq(kl, 8);
	f.field = 9;
	row_key(row, 8, &f, &kl);
	cr_assert_eq(kl, 0);
}
