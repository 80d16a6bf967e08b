/* SPDX-License-Identifier: MIT */
/*
 * The planner's scheduling overhead: a plan of N no-op compute tasks (one
 * tiny source file, partitioned by files into N partitions), run by
 * tarn_driver_main() on the selected backend (procpool by default).
 *
 *   planner-overhead [--tasks=N] [--keep] [tarn run options]
 *
 * Prints the driver's CPU time per task (the scheduler's cost: planning,
 * dispatch, result handling, journal, report; the workers' time is not in
 * it), the wall time per task, and the driver's peak memory per task.
 * Speed is reported, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <glib.h>

#include <tarn/plan.h>
#include <tarn/tarn.h>

TARN_COMPUTE(bench_noop)
{
	return 0;
}

static double secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static long rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	uint64_t n = 100000;
	bool keep = false;
	char **rest = g_new0(char *, argc + 4);
	int nr = 0, status, src, part;
	char *root, *file, *glob, *droot, *jid;
	tarn_plan_t *plan;
	tarn_node_spec_t s = TARN_NODE_SPEC_INIT;
	struct rusage ru;
	struct timespec t0, t1;
	long rss0;
	double cpu, wall;

	if (tarn_is_worker())
		return tarn_init(NULL) == 0 ? 0 : 1;
	rest[nr++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--tasks=", 8))
			n = g_ascii_strtoull(argv[i] + 8, NULL, 10);
		else if (!strcmp(argv[i], "--keep"))
			keep = true;
		else
			rest[nr++] = argv[i];
	}
	if (n < 1 || n > 100000) {
		fprintf(stderr, "planner-overhead: --tasks is 1..100000\n");
		return 2;
	}
	root = g_dir_make_tmp("tarn-overhead-XXXXXX", NULL);
	file = g_build_filename(root, "in.txt", NULL);
	g_file_set_contents(file, "x\n", -1, NULL);
	glob = g_build_filename(root, "*.txt", NULL);
	droot = g_strdup_printf("--data_root=%s/data", root);
	jid = g_strdup("--job_id=overhead");
	rest[nr++] = droot;
	rest[nr++] = jid;

	tarn_plan_create("overhead", &plan);
	s.kind = TARN_NODE_SOURCE;
	s.name = "src";
	s.glob = glob;
	tarn_plan_add(plan, &s, &src);
	memset(&s, 0, sizeof(s));
	s.kind = TARN_NODE_PARTITION;
	s.name = "parts";
	s.inputs = &src;
	s.num_inputs = 1;
	s.by = TARN_PARTITION_FILES;
	s.npartitions = (uint32_t)n;
	tarn_plan_add(plan, &s, &part);
	memset(&s, 0, sizeof(s));
	s.kind = TARN_NODE_COMPUTE;
	s.name = "noop";
	s.inputs = &part;
	s.num_inputs = 1;
	s.function = "bench_noop";
	if (tarn_plan_add(plan, &s, NULL)) {
		fprintf(stderr, "%s\n", tarn_planner_last_error());
		return 1;
	}
	rss0 = rss_kib();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	status = tarn_driver_main(plan, nr, rest);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	cpu = secs(ru.ru_utime) + secs(ru.ru_stime);
	wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("planner-overhead: %llu no-op tasks on %s: wall %.2f s (%.1f us/task), "
	       "driver CPU %.2f s (%.1f us/task), driver peak RSS %.1f MiB "
	       "(%.0f bytes/task over the %.1f MiB before the job)\n",
	       (unsigned long long)n,
	       *tarn_config_get("UNIDIST_BACKEND") ? tarn_config_get("UNIDIST_BACKEND")
						  : "the default backend",
	       wall, wall * 1e6 / (double)n, cpu, cpu * 1e6 / (double)n,
	       (double)rss_kib() / 1024,
	       (double)(rss_kib() - rss0) * 1024 / (double)n,
	       (double)rss0 / 1024);
	tarn_plan_destroy(plan);
	if (!keep) {
		char *cmd = g_strdup_printf("rm -rf '%s'", root);

		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
		g_free(cmd);
	} else {
		printf("job folder kept: %s/data/overhead\n", root);
	}
	g_free(root);
	g_free(file);
	g_free(glob);
	g_free(droot);
	g_free(jid);
	g_free(rest);
	return status;
}
