/* SPDX-License-Identifier: MIT */
/*
 * report-bench: what the job report costs the scheduler. Feeds N synthetic
 * attempts (start, end, progress) across W workers and 3 nodes into a
 * report, as fast as it takes them, then closes it; prints the time per
 * attempt, the time to close (trace and timeline), the memory the report
 * grew by, and the size of each output. The job folder is left for
 * inspection (bench/timeline-check.sh opens its timeline in chromium).
 *
 *   report-bench [--attempts N] [--workers W] JOB_DIR
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "report.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident and heap memory of this process, in kB, from /proc. */
static long rss_kb(void)
{
	char *status = NULL;
	const char *p;
	long kb = -1;

	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return -1;
	p = strstr(status, "VmRSS:");
	if (p)
		kb = strtol(p + 6, NULL, 10);
	g_free(status);
	return kb;
}

static long file_kb(const char *dir, const char *name)
{
	char *p = g_build_filename(dir, name, NULL);
	struct stat st;
	long kb = stat(p, &st) == 0 ? (long)(st.st_size / 1024) : -1;

	g_free(p);
	return kb;
}

int main(int argc, char **argv)
{
	struct tarn_report_options o = TARN_REPORT_OPTIONS_INIT;
	struct tarn_report_progress p = {0};
	static const char *const nodes[] = {"load", "sort", "merge"};
	struct tarn_report *r;
	long attempts = 100000, workers = 2, rss0, rss1;
	double t0, t1, t2;
	int64_t base;
	GError *e = NULL;
	int i;

	for (i = 1; i < argc - 1 && g_str_has_prefix(argv[i], "--"); i += 2) {
		if (strcmp(argv[i], "--attempts") == 0)
			attempts = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--workers") == 0)
			workers = strtol(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (i != argc - 1 || attempts < 1 || workers < 1) {
		fprintf(stderr, "usage: report-bench [--attempts N>0] [--workers W>0] JOB_DIR\n");
		return 2;
	}
	o.job_dir = argv[i];
	o.job_id = "report-bench";
	o.job_name = "synthetic";
	o.tty = 0;
	o.console_log_level = TARN_REPORT_ERROR;
	o.file_log_level = TARN_REPORT_INFO;
	if (tarn_report_open(&o, &r, &e)) {
		fprintf(stderr, "report-bench: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	p.total = (size_t)attempts;
	base = tarn_report_now_ns();
	rss0 = rss_kb();
	t0 = now_s();
	for (long k = 0; k < attempts; k++) {
		char task[48], part[48], worker[32];
		long w = k % workers;
		/* Each worker runs its attempts back to back, 1 ms each. */
		int64_t start = base + (k / workers) * 1000000LL;
		struct tarn_report_attempt a = {
			.task = task, .node = nodes[k * 3 / attempts],
			.node_id = (int)(k * 3 / attempts),
			.partition = part, .attempt = 1, .worker = worker,
			.start_ns = start, .end_ns = start + 900000,
			.bytes_in = 4096, .bytes_out = 4096,
			.outcome = k % 997 == 5 ? TARN_REPORT_INJECTED :
						  TARN_REPORT_OK,
			.error = k % 997 == 5 ? "injected fault at commit" : NULL,
		};

		snprintf(task, sizeof(task), "%s.%ld", a.node, k);
		snprintf(part, sizeof(part), "0:%ld/%ld", k, attempts);
		snprintf(worker, sizeof(worker), "pid %ld@bench", 1000 + w);
		tarn_report_attempt_start(r, &a);
		tarn_report_attempt_end(r, &a);
		p.done++;
		tarn_report_progress(r, &p);
	}
	t1 = now_s();
	rss1 = rss_kb();
	tarn_report_close(r, true, NULL);
	t2 = now_s();
	printf("report-bench: %ld attempts on %ld workers\n", attempts,
	       workers);
	printf("  per attempt (start + end + progress): %.2f us\n",
	       (t1 - t0) / attempts * 1e6);
	printf("  memory grown while recording: %ld kB (%.0f bytes per attempt)\n",
	       rss1 - rss0, (double)(rss1 - rss0) * 1024 / attempts);
	printf("  close (trace.json, timeline.html, summary): %.3f s\n",
	       t2 - t1);
	printf("  task_metrics.csv %ld kB, trace.json %ld kB, timeline.html %ld kB\n",
	       file_kb(o.job_dir, "task_metrics.csv"),
	       file_kb(o.job_dir, "trace.json"),
	       file_kb(o.job_dir, "timeline.html"));
	return 0;
}
