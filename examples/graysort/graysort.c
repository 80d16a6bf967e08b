/* SPDX-License-Identifier: MIT */
/*
 * GraySort with tarn's planner, the plan built with the C API:
 *
 *   source (100-byte records) -> one partition per file -> range partition on the 10-byte key
 *   (sampled boundaries) -> sort each partition -> sink (hard links)
 *
 * then the built-in validator checks that the output, file after file, is
 * in key order and holds exactly the generated records (count and an
 * order-independent checksum).
 *
 *   graysort [--records=N] [--files=N] [--partitions=N] [--seed=N]
 *            [--input=DIR] [--output=DIR] [--no-generate]
 *            [tarn run options: --data_root, --job_id, ...]
 *
 * --no-generate sorts the *.dat files already in --input (any 100-byte
 * records, e.g. bench/graysort.sh's) and skips the validation (the caller
 * validates); --output=DIR puts the sorted files in DIR itself (which must
 * be missing or empty) instead of {output_path}/graysort.
 *
 * Exit status: 0 sorted and valid, 1 the job failed or the output is
 * wrong, 2 bad command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tarn/plan.h>
#include <tarn/tarn.h>

#include "graysort_records.h"

static uint64_t opt_u64(const char *arg, const char *name, uint64_t *out)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) || arg[n] != '=')
		return 0;
	*out = g_ascii_strtoull(arg + n + 1, NULL, 10);
	return 1;
}

static gint cmp_path(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int build_plan(const char *input, const char *output, uint32_t nfiles,
		      uint32_t parts, tarn_plan_t **out)
{
	tarn_node_spec_t split = TARN_NODE_SPEC_INIT;
	int f;
	tarn_plan_t *plan;
	char *glob = g_build_filename(input, "*.dat", NULL);
	tarn_node_spec_t src = TARN_NODE_SPEC_INIT, part = TARN_NODE_SPEC_INIT;
	tarn_node_spec_t sort = TARN_NODE_SPEC_INIT, sink = TARN_NODE_SPEC_INIT;
	tarn_key_t key = {.offset = 0, .length = TARN_GRAYSORT_KEY_SIZE};
	int s, p, o, rc;

	tarn_plan_create("graysort", &plan);
	src.kind = TARN_NODE_SOURCE;
	src.name = "records";
	src.glob = glob;
	src.format = TARN_FORMAT_RECORDS;
	src.record_size = TARN_GRAYSORT_RECORD_SIZE;
	rc = tarn_plan_add(plan, &src, &s);
	/* one partition per input file, so that sampling and splitting run
	 * in parallel */
	split.kind = TARN_NODE_PARTITION;
	split.name = "files";
	split.inputs = &s;
	split.num_inputs = 1;
	split.by = TARN_PARTITION_FILES;
	split.npartitions = nfiles;
	if (!rc)
		rc = tarn_plan_add(plan, &split, &f);
	part.kind = TARN_NODE_PARTITION;
	part.name = "ranges";
	part.inputs = &f;
	part.num_inputs = 1;
	part.by = TARN_PARTITION_RANGE;
	part.npartitions = parts;
	part.key = key;
	if (!rc)
		rc = tarn_plan_add(plan, &part, &p);
	sort.kind = TARN_NODE_SORT;
	sort.name = "sorted";
	sort.inputs = &p;
	sort.num_inputs = 1;
	sort.key = key;
	if (!rc)
		rc = tarn_plan_add(plan, &sort, &o);
	sink.kind = TARN_NODE_SINK;
	sink.name = "output";
	sink.inputs = &o;
	sink.num_inputs = 1;
	sink.path = output ? output : "graysort";
	sink.mode = TARN_SINK_LINK; /* hard links: no second copy */
	if (!rc)
		rc = tarn_plan_add(plan, &sink, NULL);
	g_free(glob);
	if (rc) {
		fprintf(stderr, "graysort: %s\n", tarn_planner_last_error());
		tarn_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t records = 100000, files = 4, parts = 4, seed = 42;
	const char *input = "graysort-input", *output = NULL;
	bool generate = true;
	char **rest = g_new0(char *, argc + 2);
	int n = 0, status;
	tarn_plan_t *plan = NULL;
	struct tarn_graysort_sum want = {0}, got = {0};
	GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	char *id, *out_root, *out_dir;

	if (tarn_is_worker())
		return tarn_init(NULL) == 0 ? 0 : 1;
	rest[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (opt_u64(argv[i], "--records", &records) ||
		    opt_u64(argv[i], "--files", &files) ||
		    opt_u64(argv[i], "--partitions", &parts) ||
		    opt_u64(argv[i], "--seed", &seed))
			continue;
		if (!strncmp(argv[i], "--input=", 8)) {
			input = argv[i] + 8;
			continue;
		}
		if (!strncmp(argv[i], "--output=", 9)) {
			output = g_canonicalize_filename(argv[i] + 9, NULL);
			continue;
		}
		if (!strcmp(argv[i], "--no-generate")) {
			generate = false;
			continue;
		}
		rest[n++] = argv[i];
	}
	if (!files || !parts || parts > 100000) {
		fprintf(stderr, "graysort: --files must be >= 1 and --partitions 1..100000\n");
		return 2;
	}
	if (generate) {
		/* file k holds records [k*N/F, (k+1)*N/F) of the seed */
		g_mkdir_with_parents(input, 0755);
		for (uint64_t k = 0; k < files; k++)
			g_ptr_array_add(paths, g_strdup_printf("%s/in-%05llu.dat", input,
							       (unsigned long long)k));
		if (tarn_graysort_generate((const char *const *)paths->pdata,
					   paths->len, records, seed, false,
					   &want, &err)) {
			fprintf(stderr, "graysort: %s\n", err->message);
			return 1;
		}
	} else {
		GDir *d = g_dir_open(input, 0, NULL);
		const char *e;

		files = 0;
		while (d && (e = g_dir_read_name(d)))
			files += g_str_has_suffix(e, ".dat");
		if (d)
			g_dir_close(d);
		if (!files) {
			fprintf(stderr, "graysort: no .dat files in %s\n", input);
			return 2;
		}
	}
	if (build_plan(input, output, (uint32_t)files, (uint32_t)parts, &plan))
		return 2;
	/* a job id we know, to find the output afterwards */
	if (!*tarn_config_get("SP_JOBID")) {
		char *uuid = g_uuid_string_random();

		id = g_strdup_printf("graysort-%s", uuid);
		tarn_config_set("SP_JOBID", id);
		g_free(id);
		g_free(uuid);
	}
	status = tarn_driver_main(plan, n, rest);
	tarn_plan_destroy(plan);
	if (status || !generate)
		return status;
	out_root = *tarn_config_get("SP_OUTPUT_PATH") ?
			   g_strdup(tarn_config_get("SP_OUTPUT_PATH")) :
			   g_build_filename(tarn_config_get("SP_DATA_ROOT"),
					    tarn_config_get("SP_JOBID"), "output",
					    NULL);
	out_dir = output ? g_strdup(output) :
			   g_build_filename(out_root, "graysort", NULL);
	g_ptr_array_set_size(paths, 0);
	{
		GDir *d = g_dir_open(out_dir, 0, NULL);
		const char *e;

		while (d && (e = g_dir_read_name(d)))
			if (e[0] != '.')
				g_ptr_array_add(paths, g_build_filename(out_dir, e, NULL));
		if (d)
			g_dir_close(d);
	}
	g_ptr_array_sort(paths, cmp_path);
	if (tarn_graysort_validate((const char *const *)paths->pdata, paths->len,
				   &want, &got, &err)) {
		fprintf(stderr, "graysort: output in %s is wrong: %s\n", out_dir,
			err->message);
		return 1;
	}
	{
		char *sum = tarn_graysort_sum_format(&got);

		printf("graysort: %llu records in %u files, globally sorted, checksum %s matches the input\n",
		       (unsigned long long)got.records, paths->len, sum);
		g_free(sum);
	}
	g_free(out_dir);
	g_free(out_root);
	g_ptr_array_free(paths, TRUE);
	g_free(rest);
	return 0;
}
