/* SPDX-License-Identifier: MIT */
/*
 * tarn-bench: the workloads of issue 3 item 7, on whatever backend
 * UNIDIST_BACKEND (or --backend) selects, through the public API only, so
 * that the figures are what a user program gets. docs/performance.md says
 * what each workload measures and why; bench/run.sh runs this program on
 * every built backend next to the Python peers and prints the ratios.
 *
 * Multi-process backends start their workers by running this same program
 * again, and tarn_init() does not return on a worker. A worker goes
 * straight into tarn_init() (tarn_is_worker()), before the command line is
 * parsed: the driver's tarn_config_set() calls are not the worker's to
 * repeat, and the backend hands its workers their configuration itself.
 *
 * Figures are medians of repeated runs where a run is cheap, and of many
 * samples for latencies. Speed is reported, never asserted: a slow run is
 * not a failure, only a wrong result or an API error is.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

/*
 * No get in this program waits forever: a backend that loses a task must
 * show up as an error line, not as a benchmark that never ends. No single
 * get here needs more than a few seconds on a working backend.
 */
#define GET_TIMEOUT 60.0

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* Tasks -------------------------------------------------------------------- */

TARN_TASK(bench_noop)
{
	return tarn_task_return_i64(ctx, 0, 0);
}

/* An actor with no state, for noop-actors: live actors the driver keeps. */
static int bench_idle_actor_new(tarn_task_ctx_t *ctx)
{
	(void)ctx; /* no state, no result */
	return 0;
}
TARN_ACTOR(bench_idle_actor, bench_idle_actor_new, NULL)
TARN_METHOD(bench_idle_actor, ping)
{
	return tarn_task_return_i64(ctx, 0, 1);
}

/* Argument 0: size in bytes; 1: the byte to fill with. Writes in place. */
TARN_TASK(bench_fill)
{
	int64_t size, byte;
	void *p;
	int rc;

	if (tarn_task_arg_i64(ctx, 0, &size) || tarn_task_arg_i64(ctx, 1, &byte))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	rc = tarn_task_return_alloc(ctx, 0, (size_t)size, &p);
	if (rc)
		return tarn_task_fail(ctx, "return_alloc(%" PRId64 "): %s", size,
				      tarn_last_error());
	memset(p, (int)byte, (size_t)size);
	return 0;
}

/* Argument 0: any bytes; returns their sum, having read every byte. */
TARN_TASK(bench_sum)
{
	const unsigned char *p;
	uint64_t sum = 0;
	size_t n;

	if (tarn_task_arg(ctx, 0, (const void **)&p, &n))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return tarn_task_return_i64(ctx, 0, (int64_t)sum);
}

/* Argument 0: any bytes; reads one byte per page, returns their sum. */
TARN_TASK(bench_touch)
{
	const unsigned char *p;
	int64_t sum = 0;
	size_t n;

	if (tarn_task_arg(ctx, 0, (const void **)&p, &n))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	for (size_t i = 0; i < n; i += 4096)
		sum += p[i];
	return tarn_task_return_i64(ctx, 0, sum);
}

TARN_TASK(bench_dag_src)
{
	return tarn_task_return_i64(ctx, 0, 1);
}

/* Argument 0: the source's result (a ref); 1: this task's index. */
TARN_TASK(bench_dag_mid)
{
	int64_t src, i;

	if (tarn_task_arg_i64(ctx, 0, &src) || tarn_task_arg_i64(ctx, 1, &i))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, src + i);
}

/* Sums every argument: the results of all the middle tasks. */
TARN_TASK(bench_dag_sink)
{
	size_t n = tarn_task_num_args(ctx);
	int64_t sum = 0, v;

	for (size_t i = 0; i < n; i++) {
		if (tarn_task_arg_i64(ctx, i, &v))
			return tarn_task_fail(ctx, "%s", tarn_last_error());
		sum += v;
	}
	return tarn_task_return_i64(ctx, 0, sum);
}

/* Options ------------------------------------------------------------------ */

struct params {
	size_t noop_n;
	size_t hot_samples;
	size_t idle_samples;
	size_t large;      /* the "1 GiB" size; smaller with --quick */
	size_t dag_width;
	double idle_secs;
	int runs;          /* repetitions of whole cheap workloads */
};

static const struct params full_params = {
	.noop_n = 1000000,
	.hot_samples = 20000,
	.idle_samples = 50,
	.large = GIB,
	.dag_width = 10000,
	.idle_secs = 2.0,
	.runs = 3,
};

/* A smoke run: every code path, in a few seconds. */
static const struct params quick_params = {
	.noop_n = 10000,
	.hot_samples = 1000,
	.idle_samples = 5,
	.large = 64 * MIB,
	.dag_width = 1000,
	.idle_secs = 0.5,
	.runs = 1,
};

static struct params P;
static const char *opt_backend;
static const char *opt_workers = "2";
static const char *opt_only;
static const char *opt_json;
static const char *opt_label;
static int opt_quick;
static const char *backend = "?"; /* the backend really running */
/*
 * Set when a get timed out: the backend is stuck or lost work, and every
 * later workload would wait out its own timeout for nothing.
 */
static int stuck;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tarn-bench [OPTION]...\n"
		"Run tarn's benchmark workloads on one backend and print one line\n"
		"per workload: backend, workload, figures and units.\n"
		"\n"
		"  --backend NAME     backend (UNIDIST_BACKEND); default: tarn's\n"
		"                     choice\n"
		"  --workers N        worker processes (UNIDIST_CPUS); default 2\n"
		"  --only LIST        comma-separated workloads; a family name (put, get,\n"
		"                     roundtrip) selects all its sizes\n"
		"  --quick            small sizes, one run each: a smoke test\n"
		"  --json FILE        also write the results as JSON to FILE\n"
		"  --label NAME       name the backend NAME in the output (mpi-spmd,\n"
		"                     mpi-spawn: one backend in two launch modes)\n"
		"  -n, --tasks N      no-op tasks for the noop workload (default 1000000)\n"
		"  --samples N        roundtrip-hot samples (default 20000)\n"
		"  --idle-samples N   roundtrip-idle samples (default 50)\n"
		"  --runs N           repetitions of the cheap workloads (default 3)\n"
		"  -h, --help         this text\n"
		"\n"
		"Workloads: noop noop-batch roundtrip-hot roundtrip-idle put-1MiB\n"
		"get-1MiB put-1GiB get-1GiB dag idle-cpu (--quick: 64MiB for 1GiB),\n"
		"and locality, xfer-64MiB, noop-actors, only when --only names them.\n"
		"Exit status: 0 when every workload ran, 1 when one failed, 2 for\n"
		"a bad command line or when tarn could not start.\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

enum { OPT_BACKEND = 256, OPT_WORKERS, OPT_ONLY, OPT_QUICK, OPT_JSON, OPT_LABEL,
       OPT_SAMPLES, OPT_IDLE_SAMPLES, OPT_RUNS };

static int check_only(void);

/* Returns -1 to go on, or an exit status. Prints only on errors and --help. */
static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "tasks", required_argument, NULL, 'n' },
		{ "samples", required_argument, NULL, OPT_SAMPLES },
		{ "idle-samples", required_argument, NULL, OPT_IDLE_SAMPLES },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t n_tasks = 0, samples = 0, idle_samples = 0, runs = 0;
	size_t *dst;
	int c;

	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		dst = NULL;
		switch (c) {
		case OPT_BACKEND:
			opt_backend = optarg;
			break;
		case OPT_WORKERS:
			opt_workers = optarg;
			break;
		case OPT_ONLY:
			opt_only = optarg;
			break;
		case OPT_QUICK:
			opt_quick = 1;
			break;
		case OPT_JSON:
			opt_json = optarg;
			break;
		case OPT_LABEL:
			opt_label = optarg;
			break;
		case 'n':
			dst = &n_tasks;
			break;
		case OPT_SAMPLES:
			dst = &samples;
			break;
		case OPT_IDLE_SAMPLES:
			dst = &idle_samples;
			break;
		case OPT_RUNS:
			dst = &runs;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (dst && parse_size(optarg, dst)) {
			fprintf(stderr, "tarn-bench: %s: not a positive integer\n",
				optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tarn-bench: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	P = opt_quick ? quick_params : full_params;
	if (n_tasks)
		P.noop_n = n_tasks;
	if (samples)
		P.hot_samples = samples;
	if (idle_samples)
		P.idle_samples = idle_samples;
	if (runs)
		P.runs = (int)(runs > 100 ? 100 : runs);
	return check_only() ? 2 : -1;
}

static int asked_for(const char *name);
static void skip(const char *name);

/*
 * Whether to run workload @name: it was asked for and the backend has not
 * been found stuck (then it is reported as skipped).
 */
static int selected(const char *name)
{
	if (!asked_for(name))
		return 0;
	if (stuck) {
		skip(name);
		return 0;
	}
	return 1;
}

/*
 * @token (@len bytes) names @name exactly, or is its family: "put",
 * "get" or "roundtrip" (so that "noop" does not also select noop-batch).
 */
static int matches(const char *name, const char *token, size_t len)
{
	static const char *const families[] = { "put", "get", "roundtrip" };

	if (!len || strncmp(name, token, len))
		return 0;
	if (name[len] == '\0')
		return 1;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strlen(families[i]) == len && !strncmp(families[i], token, len) &&
		    name[len] == '-')
			return 1;
	return 0;
}

/*
 * Whether workload @name was asked for: every one without --only, else
 * those named exactly or by family ("put" selects "put-1MiB").
 */
static int asked_for(const char *name)
{
	const char *p = opt_only;
	size_t len;

	if (!p)
		return 1;
	while (*p) {
		len = strcspn(p, ",");
		if (matches(name, p, len))
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void size_name(char *buf, size_t len, const char *verb, size_t size);

/* Refuses an --only that names no workload, rather than run nothing. */
static int check_only(void)
{
	static const char *const fixed[] = {
		"noop", "noop-batch", "roundtrip-hot", "roundtrip-idle",
		"put-1MiB", "get-1MiB", "dag", "idle-cpu", "locality", "xfer-64MiB",
		"noop-actors",
	};
	char large[2][32];
	const char *p = opt_only;
	size_t len, i;
	int ok;

	size_name(large[0], sizeof(large[0]), "put", P.large);
	size_name(large[1], sizeof(large[1]), "get", P.large);
	while (p && *p) {
		len = strcspn(p, ",");
		ok = len == 0 || matches(large[0], p, len) ||
		     matches(large[1], p, len);
		for (i = 0; !ok && i < sizeof(fixed) / sizeof(fixed[0]); i++)
			ok = matches(fixed[i], p, len);
		if (!ok) {
			fprintf(stderr, "tarn-bench: --only: no workload "
				"'%.*s' (try --help)\n", (int)len, p);
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Results ------------------------------------------------------------------ */

/*
 * One figure. The JSON keeps base units (tasks/s, us, GB/s, s, cpu-s/s)
 * so that run.sh can compute ratios; "higher" says which way is better.
 */
struct result {
	char workload[32];
	char metric[24];
	double value;
	const char *unit;
	int higher;
	char note[200];
	char error[300]; /* non-empty: the workload failed */
	char na[120];    /* non-empty: the workload does not apply */
};

static struct result results[64];
static size_t nresults;
static int failures;

static struct result *add(const char *workload, const char *metric,
			  double value, const char *unit, int higher)
{
	struct result *r;

	if (nresults == sizeof(results) / sizeof(results[0]))
		return &results[nresults - 1]; /* cannot happen: fixed set */
	r = &results[nresults++];
	memset(r, 0, sizeof(*r));
	snprintf(r->workload, sizeof(r->workload), "%s", workload);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	r->value = value;
	r->unit = unit;
	r->higher = higher;
	return r;
}

static void note(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

/* Scales a value for people: "1.52 M tasks/s", "0.71 us". */
static void human(char *buf, size_t len, double v, const char *unit)
{
	if (!strcmp(unit, "tasks/s") && v >= 1e6)
		snprintf(buf, len, "%.3g M tasks/s", v / 1e6);
	else if (!strcmp(unit, "tasks/s") && v >= 1e3)
		snprintf(buf, len, "%.3g k tasks/s", v / 1e3);
	else if (!strcmp(unit, "us") && v >= 10000)
		snprintf(buf, len, "%.4g ms", v / 1e3);
	else if (!strcmp(unit, "us"))
		snprintf(buf, len, "%.3g \u00b5s", v);
	else
		snprintf(buf, len, "%.3g %s", v, unit);
}

/*
 * Prints every result of @workload added since index @from as one line:
 * backend, workload, figures with units, then the note of the first.
 */
static void print_line(const char *workload, size_t from)
{
	char v[64];

	printf("%-9s %-15s ", backend, workload);
	for (size_t i = from; i < nresults; i++) {
		const struct result *r = &results[i];

		if (r->error[0]) {
			printf("error: %s", r->error);
			break;
		}
		if (r->na[0]) {
			printf("n/a (%s)", r->na);
			break;
		}
		human(v, sizeof(v), r->value, r->unit);
		printf("%s%s %s", i > from ? ", " : "", r->metric, v);
	}
	if (from < nresults && results[from].note[0])
		printf("  [%s]", results[from].note);
	printf("\n");
	fflush(stdout);
}

/*
 * What this program found wrong itself (a wrong sum, a wrong size), for
 * fail() to report instead of tarn_last_error(), which is about tarn calls.
 */
static char bench_error[200];

/* Records that @workload failed with the current error. */
static void fail(const char *workload, const char *what, int rc)
{
	struct result *r = add(workload, "error", 0, "", 0);

	snprintf(r->error, sizeof(r->error), "%s: %s (%s)", what,
		 bench_error[0] ? bench_error : tarn_last_error(),
		 tarn_err_name(rc));
	bench_error[0] = '\0';
	failures++;
	if (rc == TARN_ETIMEDOUT)
		stuck = 1;
}

static void skip(const char *name)
{
	size_t from = nresults;
	struct result *r = add(name, "error", 0, "", 0);

	snprintf(r->error, sizeof(r->error),
		 "skipped: an earlier get timed out, the backend looks stuck");
	failures++;
	print_line(name, from);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int write_json(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "tarn-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"system\": \"tarn\", \"backend\": ");
	json_str(f, backend);
	fprintf(f, ", \"workers\": %d, \"quick\": %s, \"tarn_version\": ",
		atoi(opt_workers), opt_quick ? "true" : "false");
	json_str(f, TARN_VERSION_STRING);
	fprintf(f, ",\n \"results\": [");
	for (size_t i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		fprintf(f, "%s\n  {\"workload\": ", i ? "," : "");
		json_str(f, r->workload);
		if (r->error[0]) {
			fprintf(f, ", \"error\": ");
			json_str(f, r->error);
		} else if (r->na[0]) {
			fprintf(f, ", \"na\": ");
			json_str(f, r->na);
		} else {
			fprintf(f, ", \"metric\": ");
			json_str(f, r->metric);
			fprintf(f, ", \"value\": %.9g, \"unit\": ", r->value);
			json_str(f, r->unit);
			fprintf(f, ", \"better\": \"%s\"",
				r->higher ? "higher" : "lower");
		}
		if (r->note[0]) {
			fprintf(f, ", \"note\": ");
			json_str(f, r->note);
		}
		fputc('}', f);
	}
	fprintf(f, "\n]}\n");
	if (fclose(f)) {
		fprintf(stderr, "tarn-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Helpers ------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_secs(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - (double)(time_t)s) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of @n values; sorts them. */
static double percentile(double *v, size_t n, double pct)
{
	size_t rank;

	qsort(v, n, sizeof(*v), cmp_double);
	rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* "1MiB", "64MiB", "1GiB": workload names follow the size really used. */
static void size_name(char *buf, size_t len, const char *verb, size_t size)
{
	if (size >= GIB && size % GIB == 0)
		snprintf(buf, len, "%s-%zuGiB", verb, size / GIB);
	else
		snprintf(buf, len, "%s-%zuMiB", verb, size / MIB);
}

/*
 * Reads every byte of @len at @p and returns a sum of its 8-byte words.
 * Four accumulators keep the loop bound by memory rather than by the
 * addition chain; the caller checks the sum, so the read cannot be elided.
 */
static uint64_t read_all(const void *p, size_t len)
{
	const uint64_t *w = p;
	size_t n = len / 8, i;
	uint64_t a = 0, b = 0, c = 0, d = 0;

	for (i = 0; i + 4 <= n; i += 4) {
		a += w[i];
		b += w[i + 1];
		c += w[i + 2];
		d += w[i + 3];
	}
	for (; i < n; i++)
		a += w[i];
	return a + b + c + d;
}

/* noop --------------------------------------------------------------------- */

/* One run: submit @n tasks, then get every result and release its ref. */
static int noop_once(size_t n, double *submit, double *total)
{
	tarn_ref_t *refs = malloc(n * sizeof(*refs));
	size_t i, got = 0;
	int64_t v;
	double t0, t1;
	int rc = 0;

	if (!refs)
		return TARN_ENOMEM;
	t0 = now();
	for (i = 0; i < n; i++) {
		rc = tarn_remote("bench_noop", NULL, 0, NULL, &refs[i]);
		if (rc)
			break;
	}
	t1 = now();
	n = i;
	for (; got < n && !rc; got++) {
		rc = tarn_get_i64(refs[got], GET_TIMEOUT, &v);
		tarn_ref_release(refs[got]);
	}
	*submit = t1 - t0;
	*total = now() - t0;
	for (; got < n; got++)
		tarn_ref_release(refs[got]);
	free(refs);
	return rc;
}

static void bench_noop(void)
{
	double rate[100], sub[100], tot[100], start = now();
	size_t from = nresults;
	struct result *r;
	int runs = 0, rc;

	for (int i = 0; i < P.runs; i++) {
		rc = noop_once(P.noop_n, &sub[i], &tot[i]);
		if (rc) {
			fail("noop", "noop tasks", rc);
			print_line("noop", from);
			return;
		}
		rate[i] = (double)P.noop_n / tot[i];
		runs++;
		/* A slow backend gets one run, not three long ones. */
		if (now() - start > 15.0)
			break;
	}
	r = add("noop", "rate", median(rate, (size_t)runs), "tasks/s", 1);
	note(r, "N=%zu, median of %d; submit %.3g s, get+release %.3g s",
	     P.noop_n, runs, median(sub, (size_t)runs),
	     median(tot, (size_t)runs) - median(sub, (size_t)runs));
	print_line("noop", from);
}

/* noop-batch --------------------------------------------------------------- */

#ifdef TARN_HAVE_REMOTE_BATCH
/*
 * Submit @n no-op tasks through tarn_remote_batch(), get and release every
 * result, and return the elapsed seconds in @total.
 */
static int noop_batch_once(size_t n, double *submit, double *total)
{
	tarn_ref_t *refs = malloc(n * sizeof(*refs));
	double t0 = now();
	int64_t v = 0;
	int rc;

	if (!refs)
		return TARN_ENOMEM;
	rc = tarn_remote_batch("bench_noop", NULL, 0, n, NULL, refs);
	if (rc) {
		free(refs); /* a refused batch made no refs */
		return rc;
	}
	*submit = now() - t0;
#ifdef TARN_HAVE_GET_BATCH
	/*
	 * Results come back as they were submitted: many at a time, each
	 * chunk released once read, as a program consuming a batch would
	 * (its records are still in cache from the get).
	 */
	for (size_t i = 0; i < n; i += 4096) {
		int64_t vals[4096];
		size_t k = n - i < 4096 ? n - i : 4096;

		if (!rc && !(rc = tarn_get_i64_batch(refs + i, k, GET_TIMEOUT, vals)))
			v = vals[k - 1];
		tarn_ref_release_batch(refs + i, k);
	}
#else
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = tarn_get_i64(refs[i], GET_TIMEOUT, &v);
		tarn_ref_release(refs[i]);
	}
#endif
	(void)v; /* the task's value is not checked: it is timed */
	*total = now() - t0;
	free(refs);
	return rc;
}
#endif

static void bench_noop_batch(void)
{
	size_t from = nresults;
#ifdef TARN_HAVE_REMOTE_BATCH
	double rate[100], sub[100], rest[100], tot;
	struct result *r;
	int rc;

	for (int i = 0; i < P.runs; i++) {
		rc = noop_batch_once(P.noop_n, &sub[i], &tot);
		if (rc) {
			fail("noop-batch", "batch of no-op tasks", rc);
			print_line("noop-batch", from);
			return;
		}
		rate[i] = (double)P.noop_n / tot;
		rest[i] = tot - sub[i];
	}
	r = add("noop-batch", "rate", median(rate, (size_t)P.runs), "tasks/s", 1);
	/* Submit: the call itself; workers run while it goes on. */
	note(r, "N=%zu, median of %d; submit %.3g s, get+release %.3g s", P.noop_n, P.runs,
	     median(sub, (size_t)P.runs), median(rest, (size_t)P.runs));
#else
	struct result *r = add("noop-batch", "rate", 0, "", 1);

	snprintf(r->na, sizeof(r->na), "no batch call in this API");
#endif
	print_line("noop-batch", from);
}

/* Round trips -------------------------------------------------------------- */

/* One submit -> get of a no-op task, in microseconds. */
static int roundtrip(double *us)
{
	tarn_ref_t ref;
	int64_t v;
	double t0 = now();
	int rc;

	rc = tarn_remote("bench_noop", NULL, 0, NULL, &ref);
	if (rc)
		return rc;
	rc = tarn_get_i64(ref, GET_TIMEOUT, &v);
	*us = (now() - t0) * 1e6;
	tarn_ref_release(ref);
	return rc;
}

/*
 * @pause: seconds to sleep before each sample (0: back to back). The
 * warm-up gets workers, caches and allocator pools into their steady state
 * for the hot case; the idle case measures the wake-up and needs none.
 */
static void bench_roundtrip(const char *workload, size_t samples, double pause,
			    size_t warmup)
{
	double *us = malloc(samples * sizeof(*us)), x;
	size_t from = nresults;
	struct result *r;
	int rc = 0;

	if (!us) {
		fail(workload, "malloc", TARN_ENOMEM);
		print_line(workload, from);
		return;
	}
	for (size_t i = 0; i < warmup && !rc; i++)
		rc = roundtrip(&x);
	for (size_t i = 0; i < samples && !rc; i++) {
		if (pause > 0)
			sleep_secs(pause);
		rc = roundtrip(&us[i]);
	}
	if (rc) {
		fail(workload, "round trip", rc);
	} else {
		r = add(workload, "median", median(us, samples), "us", 0);
		if (pause > 0)
			note(r, "%zu samples, %.0f ms asleep before each",
			     samples, pause * 1e3);
		else
			note(r, "%zu samples after %zu warm-up", samples,
			     warmup);
		add(workload, "p99", percentile(us, samples, 99), "us", 0);
	}
	free(us);
	print_line(workload, from);
}

/* put ---------------------------------------------------------------------- */

/*
 * The first put of a size touches fresh store memory; the repeats release
 * the previous object first, so a store that recycles memory can show it.
 * The source buffer is touched beforehand so that only the store's side
 * is fresh.
 */
static void bench_put(size_t size, int repeats)
{
	double secs[128], t0;
	char name[32];
	size_t from = nresults;
	unsigned char *buf;
	struct result *r;
	tarn_ref_t ref;
	int rc;

	size_name(name, sizeof(name), "put", size);
	buf = malloc(size);
	if (!buf) {
		fail(name, "malloc", TARN_ENOMEM);
		print_line(name, from);
		return;
	}
	memset(buf, 0x5a, size);
	for (int i = 0; i <= repeats; i++) {
		t0 = now();
		rc = tarn_put(buf, size, &ref);
		secs[i] = now() - t0;
		if (rc) {
			fail(name, "tarn_put", rc);
			goto out;
		}
		tarn_ref_release(ref);
	}
	r = add(name, "first", (double)size / secs[0] / 1e9, "GB/s", 1);
	note(r, "repeat: median of %d, each after releasing the last", repeats);
	add(name, "repeat", (double)size / median(secs + 1, (size_t)repeats) / 1e9,
	    "GB/s", 1);
out:
	free(buf);
	print_line(name, from);
}

/* get ---------------------------------------------------------------------- */

/*
 * Makes a task write @size bytes of @byte as its result, in place
 * (tarn_task_return_alloc), and waits until it is ready, so that the timed
 * get sees a finished object and measures only the hand-over.
 */
static int produce(size_t size, int byte, tarn_ref_t *ref)
{
	tarn_arg_t args[2] = { tarn_arg_i64((int64_t)size), tarn_arg_i64(byte) };
	int rc;

	rc = tarn_remote("bench_fill", args, 2, NULL, ref);
	if (rc)
		return rc;
	rc = tarn_wait(ref, 1, 1, GET_TIMEOUT, NULL);
	if (rc == 1)
		return 0;
	tarn_ref_release(*ref);
	return rc < 0 ? rc : TARN_ETIMEDOUT;
}

/*
 * One get of a ready object of @size bytes: the time tarn_get() takes
 * (@get_us) and the first full read of the bytes (@read_s), checked.
 */
static int get_once(size_t size, int byte, double *get_us, double *read_s)
{
	tarn_object_t *obj = NULL;
	uint64_t sum, want;
	tarn_ref_t ref;
	double t0, t1;
	int rc;

	rc = produce(size, byte, &ref);
	if (rc)
		return rc;
	t0 = now();
	rc = tarn_get(ref, GET_TIMEOUT, &obj);
	t1 = now();
	if (rc)
		goto out;
	if (tarn_object_size(obj) != size) {
		snprintf(bench_error, sizeof(bench_error),
			 "object of %zu bytes, expected %zu",
			 tarn_object_size(obj), size);
		rc = TARN_EIO;
		goto out;
	}
	sum = read_all(tarn_object_data(obj), size);
	*read_s = now() - t1;
	*get_us = (t1 - t0) * 1e6;
	want = (uint64_t)byte * 0x0101010101010101ull * (size / 8);
	if (sum != want) {
		snprintf(bench_error, sizeof(bench_error),
			 "object bytes are not the %d the task wrote", byte);
		rc = TARN_EIO;
	}
out:
	tarn_object_release(obj);
	tarn_ref_release(ref);
	return rc;
}

/* Submit -> get of a task producing @size bytes, in microseconds. */
static int produce_roundtrip(size_t size, double *us)
{
	tarn_arg_t args[2] = { tarn_arg_i64((int64_t)size), tarn_arg_i64(7) };
	tarn_object_t *obj = NULL;
	tarn_ref_t ref;
	double t0 = now();
	int rc;

	rc = tarn_remote("bench_fill", args, 2, NULL, &ref);
	if (rc)
		return rc;
	rc = tarn_get(ref, GET_TIMEOUT, &obj);
	*us = (now() - t0) * 1e6;
	tarn_object_release(obj);
	tarn_ref_release(ref);
	return rc;
}

static void bench_get(size_t size, int repeats, int with_roundtrip)
{
	double get_us[100], read_s[100], rt[100];
	char name[32];
	size_t from = nresults;
	struct result *r;
	int rc = 0;

	size_name(name, sizeof(name), "get", size);
	for (int i = 0; i < repeats && !rc; i++)
		rc = get_once(size, 1 + i % 200, &get_us[i], &read_s[i]);
	if (rc) {
		fail(name, "get of a task's result", rc);
		print_line(name, from);
		return;
	}
	r = add(name, "get", median(get_us, (size_t)repeats), "us", 0);
	note(r, "object written by a task with tarn_task_return_alloc, "
		"ready before the get; median of %d", repeats);
	add(name, "read", (double)size / median(read_s, (size_t)repeats) / 1e9,
	    "GB/s", 1);
	for (int i = 0; with_roundtrip && i < repeats && !rc; i++)
		rc = produce_roundtrip(size, &rt[i]);
	if (rc)
		fail(name, "produce round trip", rc);
	else if (with_roundtrip)
		add(name, "roundtrip", median(rt, (size_t)repeats), "us", 0);
	print_line(name, from);
}

/* dag ---------------------------------------------------------------------- */

/*
 * 1 -> @w -> 1: every middle task takes the source's ref, the sink takes
 * all @w middle refs in one call. The driver releases its refs as soon as
 * the tasks holding them are submitted, as a real program would, so the
 * figure includes the backend's dependency tracking and freeing.
 */
static int dag_once(size_t w, double *secs)
{
	tarn_ref_t src, sink, *mid = malloc(w * sizeof(*mid));
	tarn_arg_t *args = malloc(w * sizeof(*args));
	int64_t sum, want = (int64_t)w + (int64_t)(w * (w - 1) / 2);
	size_t made = 0;
	double t0 = now();
	int rc;

	if (!mid || !args) {
		rc = TARN_ENOMEM;
		goto out_free;
	}
	rc = tarn_remote("bench_dag_src", NULL, 0, NULL, &src);
	if (rc)
		goto out_free;
	for (; made < w && !rc; made++) {
		tarn_arg_t a[2] = { tarn_arg_ref(src), tarn_arg_i64((int64_t)made) };

		rc = tarn_remote("bench_dag_mid", a, 2, NULL, &mid[made]);
		args[made] = tarn_arg_ref(mid[made]);
	}
	tarn_ref_release(src);
	if (rc) {
		made--; /* the failed call made no ref */
		goto out;
	}
	rc = tarn_remote("bench_dag_sink", args, w, NULL, &sink);
	if (rc)
		goto out;
	for (size_t i = 0; i < made; i++)
		tarn_ref_release(mid[i]);
	made = 0;
	rc = tarn_get_i64(sink, GET_TIMEOUT, &sum);
	*secs = now() - t0;
	tarn_ref_release(sink);
	if (!rc && sum != want) {
		snprintf(bench_error, sizeof(bench_error),
			 "sink returned %" PRId64 ", expected %" PRId64, sum,
			 want);
		rc = TARN_EIO;
	}
out:
	for (size_t i = 0; i < made; i++)
		tarn_ref_release(mid[i]);
out_free:
	free(mid);
	free(args);
	return rc;
}

static void bench_dag(void)
{
	double secs[100];
	size_t from = nresults;
	struct result *r;
	int rc = 0, i;

	for (i = 0; i < P.runs && !rc; i++)
		rc = dag_once(P.dag_width, &secs[i]);
	if (rc) {
		fail("dag", "fan-out/fan-in", rc);
	} else {
		double s = median(secs, (size_t)P.runs);

		r = add("dag", "total", s, "s", 0);
		note(r, "1 -> %zu -> 1, sink takes %zu refs; median of %d",
		     P.dag_width, P.dag_width, P.runs);
		add("dag", "rate", (double)(P.dag_width + 2) / s, "tasks/s", 1);
	}
	print_line("dag", from);
}

/* idle-cpu ----------------------------------------------------------------- */

struct proc {
	int pid, ppid;
	int in_tree;
	unsigned long long ticks; /* utime + stime, all threads */
};

/* Fields 4 (ppid), 14 (utime) and 15 (stime) of /proc/@pid/stat. */
static int read_stat(int pid, struct proc *p)
{
	char path[64], buf[1024], *s;
	unsigned long long ut, st;
	FILE *f;
	size_t n;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
			 &ppid, &ut, &st) != 3)
		return -1;
	p->pid = pid;
	p->ppid = ppid;
	p->in_tree = 0;
	p->ticks = ut + st;
	return 0;
}

/*
 * Nanoseconds on a CPU of every thread of @pid, from schedstat, which
 * counts exactly where utime/stime count in 10 ms ticks: an idle pool's
 * few wake-ups a second would otherwise read as 0 or as a whole tick.
 * Returns -1 when schedstat is not there (a kernel without sched_info).
 */
static double sched_ns(int pid)
{
	char path[96];
	unsigned long long ns;
	struct dirent *de;
	double total = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* the thread just ended */
		if (fscanf(f, "%llu", &ns) == 1)
			total += (double)ns;
		else
			total = -1e300;
		fclose(f);
	}
	closedir(d);
	return total < 0 ? -1 : total;
}

/*
 * This process and all its descendants, from one scan of /proc: @pids
 * gets up to @max of them. Scanning every process costs milliseconds, so
 * it is done once, outside the measured window.
 */
static int tree_pids(int *pids, int max)
{
	static struct proc procs[32768];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int changed = 1, self = (int)getpid(), count = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < sizeof(procs) / sizeof(procs[0])) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (read_stat((int)pid, &procs[n]) == 0)
			n++;
	}
	closedir(d);
	/* Mark the tree by repeated passes: ppid marks need no ordering. */
	for (size_t i = 0; i < n; i++)
		procs[i].in_tree = procs[i].pid == self;
	while (changed) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (procs[i].in_tree)
				continue;
			for (size_t j = 0; j < n; j++)
				if (procs[j].in_tree && procs[j].pid == procs[i].ppid) {
					procs[i].in_tree = 1;
					changed = 1;
					break;
				}
		}
	}
	for (size_t i = 0; i < n && count < max; i++)
		if (procs[i].in_tree)
			pids[count++] = procs[i].pid;
	return count;
}

/*
 * CPU seconds used so far by the processes @pids (every thread of each).
 * getrusage(RUSAGE_CHILDREN) counts only children that have been waited
 * for, so live workers need /proc. A process that exits between two
 * samples drops out of the later one; workers of an idle pool do not exit.
 */
static double tree_cpu(const int *pids, int n)
{
	double hz = (double)sysconf(_SC_CLK_TCK), total = 0, ns;
	struct proc p;

	for (int i = 0; i < n; i++) {
		ns = sched_ns(pids[i]);
		if (ns >= 0)
			total += ns * 1e-9;
		else if (read_stat(pids[i], &p) == 0)
			total += (double)p.ticks / hz;
	}
	return total;
}

/*
 * Runs a burst of round trips so the pool has just been busy (whatever
 * --only chose), then sleeps and counts the CPU the process tree used:
 * over the whole window, and over its second half, after any spin-then-
 * sleep policy should have put idle workers to sleep.
 */
static void bench_idle_cpu(void)
{
	double c0, c1, c2, w0, w1, w2, x;
	size_t from = nresults;
	struct result *r;
	int pids[1024], np, np_after, rc = 0;

	for (int i = 0; i < 1000 && !rc; i++)
		rc = roundtrip(&x);
	if (rc) {
		fail("idle-cpu", "warm-up round trips", rc);
		print_line("idle-cpu", from);
		return;
	}
	np = tree_pids(pids, 1024);
	if (np <= 0) {
		fail("idle-cpu", "reading /proc", TARN_EIO);
		print_line("idle-cpu", from);
		return;
	}
	w0 = now();
	c0 = tree_cpu(pids, np);
	sleep_secs(P.idle_secs / 2);
	w1 = now();
	c1 = tree_cpu(pids, np);
	sleep_secs(P.idle_secs / 2);
	w2 = now();
	c2 = tree_cpu(pids, np);
	np_after = tree_pids(pids, 1024);
	r = add("idle-cpu", "cpu", (c2 - c0) / (w2 - w0), "cpu-s/s", 0);
	note(r, "%d processes%s, %.1f s idle after 1000 round trips",
	     np, np_after != np ? " (the count changed meanwhile)" : "",
	     w2 - w0);
	add("idle-cpu", "cpu-2nd-half", (c2 - c1) / (w2 - w1), "cpu-s/s", 0);
	print_line("idle-cpu", from);
}

/* locality ------------------------------------------------------------------ */

/*
 * Where a task runs matters when its argument is large: K objects of
 * 16 MiB are made by tasks (spread over the workers), then each is read
 * by 4 tasks in a row, all submitted at once. A reader touches one byte per page,
 * so that it costs next to nothing where the object is and a whole
 * transfer elsewhere: a backend that places a reader on the worker
 * holding its object reads locally; one that deals tasks round-robin
 * moves about half the objects between workers, and the difference is
 * well above the scheduling noise of a loaded machine. The readers run
 * REPS rounds; reported: the median round's time, the fastest, and the
 * bytes read per second in the median round.
 */
static void bench_locality(void)
{
	enum { K = 8, READERS = 4, REPS = 5 };
	size_t size = opt_quick ? 4 * MIB : 16 * MIB, from = nresults;
	tarn_ref_t objs[K], reads[K * READERS];
	double secs[REPS], best;
	struct result *r;
	int rc = 0;

	for (int i = 0; i < K && !rc; i++) {
		tarn_arg_t a[2] = { tarn_arg_i64((int64_t)size), tarn_arg_i64(i + 1) };

		rc = tarn_remote("bench_fill", a, 2, NULL, &objs[i]);
	}
	if (!rc && tarn_wait(objs, K, K, GET_TIMEOUT, NULL) != K)
		rc = TARN_ETIMEDOUT;
	if (rc) {
		fail("locality", "making the objects", rc);
		print_line("locality", from);
		return;
	}
	for (int rep = 0; rep < REPS && !rc; rep++) {
		double t0 = now();
		int i;

		for (i = 0; i < K * READERS && !rc; i++) {
			/* Readers of one object in a row: dealt in turn, half go elsewhere. */
			tarn_arg_t a = tarn_arg_ref(objs[i / READERS]);

			rc = tarn_remote("bench_touch", &a, 1, NULL, &reads[i]);
		}
		for (int k = 0; k < i; k++) {
			int64_t sum;
			int e = tarn_get_i64(reads[k], GET_TIMEOUT, &sum);

			/* One byte per page, each filled with its object's number. */
			if (!e && sum != (int64_t)(size / 4096) * (k / READERS + 1))
				e = TARN_EPROTO;
			if (!rc)
				rc = e;
			tarn_ref_release(reads[k]);
		}
		secs[rep] = now() - t0;
	}
	for (int i = 0; i < K; i++)
		tarn_ref_release(objs[i]);
	if (rc) {
		fail("locality", "reading the objects", rc);
		print_line("locality", from);
		return;
	}
	best = secs[0];
	for (int i = 1; i < REPS; i++)
		best = secs[i] < best ? secs[i] : best;
	r = add("locality", "total", median(secs, REPS), "s", 0);
	note(r, "%d objects of %zu MiB made by tasks, each read by %d tasks touching every "
	     "page; median of %d rounds", K, size / MIB, READERS, REPS);
	add("locality", "fastest", best, "s", 0);
	add("locality", "read", (double)size * K * READERS / median(secs, REPS) / 1e9, "GB/s", 1);
	print_line("locality", from);
}

/*
 * An object made by one task, read by the next: 64 MiB from task to task.
 * With two workers dealt tasks in turn (UNIDIST_MPI_SCHEDULING=round-robin
 * on mpi) the reader runs on the other worker, so the figure is a transfer
 * between workers: 64 MiB over the reader's whole round trip (submit, fetch
 * from the owner, touch one byte per page, result back), median of 5.
 */
static void bench_xfer(void)
{
	size_t size = 64 * MIB, from = nresults;
	double secs[5];
	int rc = 0, n = 0;

	for (int i = 0; i < 5 && !rc; i++) {
		tarn_ref_t obj, rd;
		tarn_arg_t a;
		int64_t sum;
		double t0;

		rc = produce(size, 1, &obj);
		if (rc)
			break;
		a = tarn_arg_ref(obj);
		t0 = now();
		rc = tarn_remote("bench_touch", &a, 1, NULL, &rd);
		if (!rc)
			rc = tarn_get_i64(rd, GET_TIMEOUT, &sum);
		secs[n++] = now() - t0;
		if (!rc && sum != (int64_t)(size / 4096))
			rc = TARN_EPROTO;
		tarn_ref_release(rd);
		tarn_ref_release(obj);
	}
	if (rc) {
		fail("xfer-64MiB", "making or reading the object", rc);
		print_line("xfer-64MiB", from);
		return;
	}
	note(add("xfer-64MiB", "rate", (double)size / median(secs, (size_t)n) / 1e9, "GB/s", 1),
	     "made by a task, read by the next (one byte per page); median of %d", n);
	print_line("xfer-64MiB", from);
}

/* noop-actors --------------------------------------------------------------- */

/*
 * The noop workload again with NACTORS idle actors alive (each created
 * and called once, then left alone): what a task costs a backend that
 * keeps many actors. Reported: the rate, and its ratio to the noop rate
 * measured right before with no actors (same N, median of the runs).
 */
#define NACTORS 10000

/* @n actors in @a (zeroed: those not made stay 0), each called once. */
static int make_actors(tarn_actor_t *a, size_t n)
{
	tarn_ref_t *r = malloc(n * sizeof(*r));
	size_t made = 0, called = 0, got = 0;
	int64_t v;
	int rc = 0;

	if (!r)
		return TARN_ENOMEM;
	for (; made < n && !rc; made++)
		rc = tarn_actor_create("bench_idle_actor", NULL, 0, NULL, &a[made]);
	if (rc)
		made--;
	for (; called < made && !rc; called++)
		rc = tarn_actor_call(a[called], "ping", NULL, 0, NULL, &r[called]);
	if (rc)
		called--;
	for (; got < called; got++) {
		if (!rc)
			rc = tarn_get_i64(r[got], GET_TIMEOUT, &v);
		tarn_ref_release(r[got]);
	}
	free(r);
	return rc;
}

static void bench_noop_actors(void)
{
	size_t n = P.noop_n, from = nresults;
	tarn_actor_t *a = calloc(NACTORS, sizeof(*a));
	double with[100], without[100], sub;
	int runs = 0, rc = a ? 0 : TARN_ENOMEM;
	struct result *r;

	for (int i = 0; i < P.runs && !rc; i++, runs++) {
		rc = noop_once(n, &sub, &without[i]);
		without[i] = (double)n / without[i];
	}
	if (!rc)
		rc = make_actors(a, NACTORS);
	for (int i = 0; i < runs && !rc; i++) {
		rc = noop_once(n, &sub, &with[i]);
		with[i] = (double)n / with[i];
	}
	for (size_t i = 0; a && i < NACTORS; i++)
		if (a[i].seq) /* 0: not made */
			tarn_actor_kill(a[i]);
	free(a);
	if (rc) {
		fail("noop-actors", "actors or no-op tasks", rc);
		print_line("noop-actors", from);
		return;
	}
	r = add("noop-actors", "rate", median(with, (size_t)runs), "tasks/s", 1);
	note(r, "N=%zu with %d idle actors alive, median of %d; without them %.3g tasks/s: %.3gx",
	     n, NACTORS, runs, median(without, (size_t)runs),
	     median(with, (size_t)runs) / median(without, (size_t)runs));
	print_line("noop-actors", from);
}

/* main --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	tarn_init_opts_t init = { .argc = &argc, .argv = &argv };
	char name[32];
	int rc;

	if (tarn_is_worker())
		return tarn_init(&init) ? 2 : 0;
	rc = parse_args(argc, argv);
	if (rc >= 0)
		return rc;
	if ((opt_backend && tarn_config_set("UNIDIST_BACKEND", opt_backend)) ||
	    tarn_config_set("UNIDIST_CPUS", opt_workers)) {
		fprintf(stderr, "tarn-bench: %s\n", tarn_last_error());
		return 2;
	}
	rc = tarn_init(&init);
	if (rc) {
		fprintf(stderr, "tarn-bench: tarn_init: %s\n", tarn_last_error());
		return 2;
	}
	backend = opt_label ? opt_label : tarn_backend_name();

	if (selected("noop"))
		bench_noop();
	if (selected("noop-batch"))
		bench_noop_batch();
	if (selected("roundtrip-hot"))
		bench_roundtrip("roundtrip-hot", P.hot_samples, 0,
				P.hot_samples / 10 < 1000 ? P.hot_samples / 10 : 1000);
	if (selected("roundtrip-idle"))
		bench_roundtrip("roundtrip-idle", P.idle_samples, 0.1, 0);
	size_name(name, sizeof(name), "put", MIB);
	if (selected(name))
		bench_put(MIB, 100);
	size_name(name, sizeof(name), "get", MIB);
	if (selected(name))
		bench_get(MIB, 50, 1);
	size_name(name, sizeof(name), "put", P.large);
	if (selected(name))
		bench_put(P.large, 3);
	size_name(name, sizeof(name), "get", P.large);
	if (selected(name))
		bench_get(P.large, 3, 0);
	if (selected("dag"))
		bench_dag();
	if (selected("idle-cpu"))
		bench_idle_cpu();
	if (opt_only && selected("locality"))
		bench_locality();
	if (opt_only && selected("xfer-64MiB"))
		bench_xfer();
	if (opt_only && selected("noop-actors"))
		bench_noop_actors();

	if (opt_json && write_json(opt_json))
		failures++;
	rc = tarn_shutdown();
	if (rc)
		fprintf(stderr, "tarn-bench: tarn_shutdown: %s\n",
			tarn_last_error());
	return failures || rc ? 1 : 0;
}
