/* SPDX-License-Identifier: MIT */
/*
 * The job report, fed synthetic attempts: .STATUS through a job's life,
 * task_metrics.csv parsed back (quoting of odd names included) and appended
 * to on resume, trace.json checked by a Python JSON reader, the HTML
 * timeline (one bar per attempt, escaped, nothing fetched from a network),
 * plain progress lines, and the live line never mixed with log lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include <tarn/errors.h>

#include "report.h"
#include "tmpdir.h"

static char *dir;
static char *console_buf;
static size_t console_len;
static FILE *console;
static int csv_flush_ms; /* for open_report(); 0 unless a test sets it */

static void setup(void)
{
	dir = g_dir_make_tmp("tarn-report-XXXXXX", NULL);
	cr_assert_not_null(dir);
	csv_flush_ms = 0;
	console_buf = NULL;
	console = open_memstream(&console_buf, &console_len);
	cr_assert_not_null(console);
}

static void teardown(void)
{
	if (console)
		fclose(console);
	free(console_buf);
	tmpdir_remove(dir);
	g_free(dir);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 120);

static char *job_file(const char *name)
{
	char *p = g_build_filename(dir, name, NULL);
	char *text = NULL;

	cr_assert(g_file_get_contents(p, &text, NULL, NULL), "no %s", p);
	g_free(p);
	return text;
}

static struct tarn_report *open_report(int tty, int interval_ms)
{
	struct tarn_report_options o = TARN_REPORT_OPTIONS_INIT;
	struct tarn_report *r = NULL;
	GError *e = NULL;

	o.job_dir = dir;
	o.job_id = "job-1";
	o.job_name = "unit";
	o.console = console;
	o.tty = tty;
	o.plain_interval_ms = interval_ms;
	o.csv_flush_ms = csv_flush_ms;
	cr_assert_eq(tarn_report_open(&o, &r, &e), 0, "%s",
		     e ? e->message : "");
	cr_assert_not_null(r);
	return r;
}

/* RFC 4180 reader: rows of fields, quotes and embedded newlines handled. */
static GPtrArray *csv_parse(const char *text)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_ptr_array_unref);
	GPtrArray *row = g_ptr_array_new_with_free_func(g_free);
	GString *f = g_string_new(NULL);
	const char *p = text;
	bool quoted = false;

	while (*p) {
		if (quoted) {
			if (*p == '"' && p[1] == '"') {
				g_string_append_c(f, '"');
				p += 2;
				continue;
			}
			if (*p == '"')
				quoted = false;
			else
				g_string_append_c(f, *p);
			p++;
			continue;
		}
		if (*p == '"' && f->len == 0) {
			quoted = true;
		} else if (*p == ',') {
			g_ptr_array_add(row, g_strdup(f->str));
			g_string_truncate(f, 0);
		} else if (*p == '\n') {
			g_ptr_array_add(row, g_strdup(f->str));
			g_string_truncate(f, 0);
			g_ptr_array_add(rows, row);
			row = g_ptr_array_new_with_free_func(g_free);
		} else {
			g_string_append_c(f, *p);
		}
		p++;
	}
	cr_assert(!quoted, "unterminated quoted field in the CSV");
	cr_assert_eq(row->len, 0, "the CSV does not end with a newline");
	cr_assert_eq(f->len, 0);
	g_ptr_array_unref(row);
	g_string_free(f, TRUE);
	return rows;
}

static const char *cell(GPtrArray *rows, guint r, guint c)
{
	GPtrArray *row = g_ptr_array_index(rows, r);

	cr_assert_lt(c, row->len, "row %u has %u fields", r, row->len);
	return g_ptr_array_index(row, c);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Occurrences of @needle, by hand: ASan's strstr() measures the whole
 * haystack on every call, which makes a loop over a 6 MB page quadratic.
 */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	for (const char *p = hay; *p; p++) {
		size_t i = 0;

		while (i < len && p[i] == needle[i])
			i++;
		if (i == len) {
			n++;
			p += len - 1;
		}
	}
	return n;
}

#define ODD_TASK "sort \"a\",b<i>&amp;\nnext'line"
#define ODD_PART "0:1/2,1:0/3"

struct spec {
	const char *task;
	const char *node;
	int node_id;
	const char *part;
	int attempt;
	bool spec;
	const char *worker;
	int start_ms, end_ms;
	enum tarn_report_outcome outcome;
	const char *error;
};

static const struct spec attempts[] = {
	{"gen.0", "gen", 0, "0:0/2", 1, false, "pid 10@h", 0, 40,
	 TARN_REPORT_OK, NULL},
	{"gen.1", "gen", 0, "0:1/2", 1, false, "pid 11@h", 0, 50,
	 TARN_REPORT_INJECTED, "injected fault at start"},
	{"gen.1", "gen", 0, "0:1/2", 2, false, "pid 10@h", 50, 90,
	 TARN_REPORT_OK, NULL},
	{ODD_TASK, "sort, \"fast\" <b>", 1, ODD_PART, 1, false, "pid 11@h", 60,
	 200, TARN_REPORT_FAILED, "exit status 3, \"oops\"\nsecond line"},
	{ODD_TASK, "sort, \"fast\" <b>", 1, ODD_PART, 2, false, "pid 10@h", 200,
	 260, TARN_REPORT_OK, NULL},
	{ODD_TASK, "sort, \"fast\" <b>", 1, ODD_PART, 3, true, "pid 11@h", 210,
	 270, TARN_REPORT_DISCARDED, NULL},
	/* Overlaps the previous attempt on pid 11: a second lane. */
	{"merge", "merge", 2, "", 1, false, "pid 11@h", 220, 300,
	 TARN_REPORT_OK, NULL},
	{"old", "gen", 0, "0:0/1", 1, false, "", 0, 0, TARN_REPORT_SKIPPED,
	 NULL},
};

#define NATTEMPTS G_N_ELEMENTS(attempts)
#define NDRAWN (NATTEMPTS - 1) /* the skipped one has no bar */

static void feed(struct tarn_report *r, int64_t t0)
{
	struct tarn_report_progress p = {.total = 5};

	for (size_t i = 0; i < NATTEMPTS; i++) {
		const struct spec *s = &attempts[i];
		struct tarn_report_attempt a = {
			.task = s->task,
			.node = s->node,
			.node_id = s->node_id,
			.partition = s->part,
			.attempt = s->attempt,
			.speculative = s->spec,
			.worker = *s->worker ? s->worker : NULL,
			.start_ns = t0 + s->start_ms * 1000000LL,
			.end_ns = t0 + s->end_ms * 1000000LL,
			.bytes_in = 1000 * (i + 1),
			.bytes_out = 2000 * (i + 1),
			.outcome = s->outcome,
			.error = s->error,
		};

		if (s->outcome != TARN_REPORT_SKIPPED)
			tarn_report_attempt_start(r, &a);
		tarn_report_attempt_end(r, &a);
		if (s->outcome == TARN_REPORT_OK ||
		    s->outcome == TARN_REPORT_SKIPPED)
			p.done++;
		tarn_report_progress(r, &p);
	}
}

Test(report, status_csv_trace_and_html)
{
	struct tarn_report *r;
	char *status, *csv, *html;
	GPtrArray *rows;

	csv_flush_ms = -1;
	r = open_report(0, 0);

	status = job_file(".STATUS");
	cr_assert(g_str_has_prefix(status, "running 20"), "%s", status);
	g_free(status);

	feed(r, tarn_report_now_ns());
	/* The CSV is streamed: every row is there before close. */
	csv = job_file("task_metrics.csv");
	rows = csv_parse(csv);
	cr_assert_eq(rows->len, 1 + NATTEMPTS, "%s", csv);
	g_ptr_array_unref(rows);
	g_free(csv);

	cr_assert_eq(tarn_report_close(r, true, NULL), 0);

	status = job_file(".STATUS");
	cr_assert(g_str_has_prefix(status, "success 20"), "%s", status);
	cr_assert_eq(count(status, "\n"), 1);
	g_free(status);

	csv = job_file("task_metrics.csv");
	rows = csv_parse(csv);
	cr_assert_eq(rows->len, 1 + NATTEMPTS);
	cr_assert_str_eq(cell(rows, 0, 0), "task");
	cr_assert_str_eq(cell(rows, 0, 11), "outcome");
	for (guint i = 0; i < NATTEMPTS; i++) {
		const struct spec *s = &attempts[i];
		GPtrArray *row = g_ptr_array_index(rows, i + 1);
		char *num;

		cr_assert_eq(row->len, 13, "row %u has %u fields", i + 1,
			     row->len);
		cr_assert_str_eq(cell(rows, i + 1, 0), s->task);
		cr_assert_str_eq(cell(rows, i + 1, 1), s->node);
		cr_assert_str_eq(cell(rows, i + 1, 2), s->part);
		num = g_strdup_printf("%d", s->attempt);
		cr_assert_str_eq(cell(rows, i + 1, 3), num);
		g_free(num);
		cr_assert_str_eq(cell(rows, i + 1, 4), s->spec ? "1" : "0");
		cr_assert_str_eq(cell(rows, i + 1, 5),
				 *s->worker ? s->worker : "?");
		cr_assert(g_str_has_suffix(cell(rows, i + 1, 6), "Z"));
		cr_assert_float_eq(g_ascii_strtod(cell(rows, i + 1, 8), NULL),
				   (s->end_ms - s->start_ms) / 1000.0, 1e-6);
		num = g_strdup_printf("%u", 2000 * (i + 1));
		cr_assert_str_eq(cell(rows, i + 1, 10), num);
		g_free(num);
		cr_assert_str_eq(cell(rows, i + 1, 11),
				 tarn_report_outcome_name(s->outcome));
		cr_assert_str_eq(cell(rows, i + 1, 12),
				 s->error ? s->error : "");
	}
	g_ptr_array_unref(rows);
	g_free(csv);

	html = job_file("timeline.html");
	cr_assert_null(strstr(html, "http://"), "the timeline must not fetch anything");
	cr_assert_null(strstr(html, "https://"));
	cr_assert_null(strstr(html, "src="), "no external script or image");
	cr_assert_eq(count(html, "<rect class=\"bar"), NDRAWN);
	/* Each bar carries what the hover shows. */
	cr_assert_eq(count(html, " data-outcome=\""), NDRAWN);
	cr_assert_eq(count(html, " data-part=\""), NDRAWN);
	cr_assert_eq(count(html, "data-outcome=\"discarded\""), 1);
	cr_assert_eq(count(html, "<rect class=\"bar bad\""), 3,
		     "failed, injected and discarded attempts are outlined");
	cr_assert_eq(count(html, "<rect "), count(html, "</rect>") +
		     count(html, "fill=\"#f4f4f4\"/>"));
	/* Odd names are escaped, in text and in attributes. */
	cr_assert_null(strstr(html, "<i>"), "a task name was not escaped");
	cr_assert_null(strstr(html, "<b>"), "a node name was not escaped");
	cr_assert_not_null(strstr(html, "sort &quot;a&quot;,b&lt;i&gt;&amp;amp;"));
	cr_assert_not_null(strstr(html, "<!DOCTYPE html>"));
	cr_assert_not_null(strstr(html, "</html>"));
	/* The legend has the three nodes. */
	cr_assert_not_null(strstr(html, "</i>gen</span>"));
	cr_assert_not_null(strstr(html, "</i>merge</span>"));
	/* Two lanes for pid 11. */
	cr_assert_not_null(strstr(html, "pid 11@h #2"));
	g_free(html);
}

static char *hex(const char *s)
{
	GString *g = g_string_new(NULL);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		g_string_append_printf(g, "%02x", *p);
	return g_string_free(g, FALSE);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(report, trace_is_valid_json_with_one_event_per_attempt)
{
	struct tarn_report *r = open_report(0, 0);
	const char *py = getenv("TARN_PYTHON");
	char *trace = g_build_filename(dir, "trace.json", NULL);
	char *argv[] = {(char *)(py ? py : "python3"), NULL, trace, NULL};
	char *out = NULL, *err = NULL;
	char **lines, **want;
	int status = -1;
	guint n, k = 0;

	argv[1] = g_build_filename(getenv("TARN_SOURCE_ROOT"), "tests",
				   "planner-report", "check_trace.py", NULL);
	feed(r, tarn_report_now_ns());
	cr_assert_eq(tarn_report_close(r, true, NULL), 0);

	cr_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
			       NULL, &out, &err, &status, NULL),
		  "cannot run %s", argv[0]);
	cr_assert(g_spawn_check_wait_status(status, NULL), "%s", err);

	lines = g_strsplit(g_strstrip(out), "\n", -1);
	n = g_strv_length(lines);
	cr_assert_eq(n, NDRAWN, "%s", out);
	for (guint i = 0; i < n; i++) {
		/* Drop the track number: compare name, partition, outcome. */
		char *sp = strrchr(lines[i], ' ');

		cr_assert_not_null(sp);
		*sp = 0;
	}
	want = g_new0(char *, NDRAWN + 1);
	for (guint i = 0; i < NATTEMPTS; i++) {
		char *a, *b;

		if (attempts[i].outcome == TARN_REPORT_SKIPPED)
			continue;
		a = hex(attempts[i].task);
		b = hex(attempts[i].part);
		want[k++] = g_strdup_printf(
			"%s %s %s", a, b,
			tarn_report_outcome_name(attempts[i].outcome));
		g_free(a);
		g_free(b);
	}
	qsort(lines, n, sizeof(char *), cmp_str);
	qsort(want, k, sizeof(char *), cmp_str);
	for (guint i = 0; i < n; i++)
		cr_assert_str_eq(lines[i], want[i]);
	g_strfreev(want);
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	g_free(argv[1]);
	g_free(trace);
}

Test(report, failure_status_and_cancelled_attempts)
{
	struct tarn_report *r = open_report(0, 0);
	struct tarn_report_attempt a = {
		.task = "hang.0", .node = "hang", .partition = "0:0/1",
		.attempt = 1, .worker = "pid 5@h",
		.start_ns = tarn_report_now_ns(),
	};
	char *status, *csv;
	GPtrArray *rows;

	tarn_report_attempt_start(r, &a);
	cr_assert_eq(tarn_report_close(r, false,
				       "task crash.3 [0:3/8]: killed by\nSIGSEGV"),
		     0);
	status = job_file(".STATUS");
	cr_assert(g_str_has_prefix(status, "failure 20"), "%s", status);
	cr_assert(g_str_has_suffix(status,
				   ": task crash.3 [0:3/8]: killed by SIGSEGV\n"),
		  "%s", status);
	g_free(status);

	csv = job_file("task_metrics.csv");
	rows = csv_parse(csv);
	cr_assert_eq(rows->len, 2, "%s", csv);
	cr_assert_str_eq(cell(rows, 1, 0), "hang.0");
	cr_assert_str_eq(cell(rows, 1, 11), "cancelled");
	g_ptr_array_unref(rows);
	g_free(csv);

	fflush(console);
	cr_assert_not_null(strstr(console_buf, "[error] job job-1: failure: task crash.3"),
			   "%s", console_buf);
}

Test(report, rows_are_written_out_within_the_flush_interval)
{
	struct tarn_report *r;
	struct tarn_report_attempt a = {
		.task = "t.0", .attempt = 1, .worker = "w",
		.outcome = TARN_REPORT_OK,
	};
	struct tarn_report_progress p = {.total = 1, .done = 1};
	char *csv;

	csv_flush_ms = 20;
	r = open_report(0, 0);
	tarn_report_attempt_end(r, &a);
	sleep_ms(30);
	/* Older than the interval: the next call writes it out. */
	tarn_report_progress(r, &p);
	csv = job_file("task_metrics.csv");
	cr_assert_eq(count(csv, "\n"), 2, "%s", csv);
	cr_assert_not_null(strstr(csv, "\nt.0,"), "%s", csv);
	g_free(csv);
	cr_assert_eq(tarn_report_close(r, true, NULL), 0);
}

Test(report, resume_appends_to_the_metrics)
{
	struct tarn_report *r = open_report(0, 0);
	struct tarn_report_attempt a = {
		.task = "t.0", .attempt = 1, .worker = "w",
		.outcome = TARN_REPORT_OK,
	};
	char *csv;
	GPtrArray *rows;

	tarn_report_attempt_end(r, &a);
	a.task = "t.1";
	tarn_report_attempt_end(r, &a);
	cr_assert_eq(tarn_report_close(r, false, "killed"), 0);

	r = open_report(0, 0);
	a.task = "t.0";
	a.outcome = TARN_REPORT_SKIPPED;
	tarn_report_attempt_end(r, &a);
	cr_assert_eq(tarn_report_close(r, true, NULL), 0);

	csv = job_file("task_metrics.csv");
	rows = csv_parse(csv);
	cr_assert_eq(rows->len, 4, "one header and 3 rows: %s", csv);
	cr_assert_eq(count(csv, "task,node,"), 1, "one header only");
	cr_assert_str_eq(cell(rows, 3, 11), "skipped");
	g_ptr_array_unref(rows);
	g_free(csv);

	/* The second run ran nothing: no bar, and still a whole page. */
	csv = job_file("timeline.html");
	cr_assert_eq(count(csv, "<rect class=\"bar"), 0);
	cr_assert_not_null(strstr(csv, "</html>"));
	g_free(csv);
	csv = job_file("trace.json");
	cr_assert_eq(count(csv, "\"ph\":\"X\""), 0);
	cr_assert_not_null(strstr(csv, "\n]}\n"));
	g_free(csv);
}


Test(report, plain_progress_lines)
{
	struct tarn_report *r = open_report(0, 1);
	struct tarn_report_progress p = {.total = 10, .done = 3, .running = 2,
					 .retried = 1, .failed = 1};

	tarn_report_progress(r, &p);
	sleep_ms(5);
	p.done = 7;
	tarn_report_progress(r, &p);
	tarn_report_log(r, TARN_REPORT_WARNING, "a warning %d", 42);
	tarn_report_log(r, TARN_REPORT_DEBUG, "not shown at info");
	cr_assert_eq(tarn_report_close(r, true, NULL), 0);
	fflush(console);
	cr_assert_not_null(strstr(console_buf,
				  "3/10 tasks done (30%), 2 running, 1 retried, 1 failed"),
			   "%s", console_buf);
	cr_assert_not_null(strstr(console_buf, "7/10 tasks done (70%)"),
			   "%s", console_buf);
	cr_assert(g_str_has_prefix(console_buf, "progress: 0:0"), "%s",
		  console_buf);
	cr_assert_not_null(strstr(console_buf, " elapsed, ETA "), "%s",
			   console_buf);
	cr_assert_not_null(strstr(console_buf, "\n[warning] a warning 42\n"),
			   "%s", console_buf);
	cr_assert_null(strstr(console_buf, "not shown"));
	cr_assert_null(strchr(console_buf, '\r'), "no terminal control in plain mode");
	cr_assert_null(strchr(console_buf, '\033'));
	cr_assert_not_null(strstr(console_buf, "[info] job job-1: success: 7/10 tasks done"),
			   "%s", console_buf);

	/* job.log has the debug line the console did not. */
	{
		char *log = job_file("job.log");

		cr_assert_not_null(strstr(log, "[debug] not shown at info"),
				   "%s", log);
		g_free(log);
	}
}

Test(report, live_line_is_cleared_before_log_lines)
{
	struct tarn_report *r = open_report(1, 0);
	struct tarn_report_progress p = {.total = 4, .done = 1, .running = 1};
	const char *q;

	tarn_report_progress(r, &p);
	tarn_report_log(r, TARN_REPORT_WARNING, "retrying t.1");
	cr_assert_eq(tarn_report_close(r, true, NULL), 0);
	fflush(console);
	/* The live line, then cleared, the log line, the line redrawn. */
	cr_assert(g_str_has_prefix(console_buf, "\r\033[K0:0"), "%s",
		  console_buf);
	q = strstr(console_buf, "\r\033[K[warning] retrying t.1\n\r\033[K0:0");
	cr_assert_not_null(q, "%s", console_buf);
	cr_assert_eq(count(console_buf, "1/4 tasks done (25%), 1 running"), 2,
		     "%s", console_buf);
	/* Every line the report printed starts on a cleared line. */
	for (const char *l = strchr(console_buf, '\n'); l && l[1];
	     l = strchr(l + 1, '\n'))
		cr_assert(l[1] == '[' || g_str_has_prefix(l + 1, "\r\033[K"),
			  "a line starts with garbage: %s", l + 1);
	/* The summary comes after the line was cleared, and ends the output. */
	q = strstr(console_buf, "\r\033[K[info] job job-1: success");
	cr_assert_not_null(q, "%s", console_buf);
	cr_assert_null(strchr(q + 4, '\r'), "nothing redrawn after the summary");
	cr_assert_eq(console_buf[console_len - 1], '\n');
}

Test(report, bad_options_are_named)
{
	struct tarn_report_options o = TARN_REPORT_OPTIONS_INIT;
	struct tarn_report *r = (struct tarn_report *)&o;
	GError *e = NULL;
	char *file = g_build_filename(dir, "afile", NULL);
	int level = -1;

	cr_assert_eq(tarn_report_open(&o, &r, &e), TARN_EINVAL);
	cr_assert_null(r);
	cr_assert_not_null(strstr(e->message, "job folder"), "%s", e->message);
	g_clear_error(&e);

	o.job_dir = dir;
	o.console_log_level = 9;
	cr_assert_eq(tarn_report_open(&o, &r, &e), TARN_EINVAL);
	cr_assert_not_null(strstr(e->message, "console_log_level=9"), "%s",
			   e->message);
	g_clear_error(&e);

	cr_assert(g_file_set_contents(file, "x", 1, NULL));
	o.console_log_level = TARN_REPORT_INFO;
	o.job_dir = g_build_filename(file, "job", NULL);
	cr_assert_eq(tarn_report_open(&o, &r, &e), TARN_EIO);
	cr_assert_not_null(strstr(e->message, o.job_dir), "%s", e->message);
	g_clear_error(&e);
	g_free((char *)o.job_dir);
	g_free(file);

	cr_assert_eq(tarn_report_level_parse("WARNING", &level), 0);
	cr_assert_eq(level, TARN_REPORT_WARNING);
	cr_assert_eq(tarn_report_level_parse("trace", &level), 0);
	cr_assert_eq(level, TARN_REPORT_DEBUG);
	cr_assert_eq(tarn_report_level_parse("loud", &level), TARN_EINVAL);
	cr_assert_str_eq(tarn_report_outcome_name(TARN_REPORT_DISCARDED),
			 "discarded");
	cr_assert_str_eq(tarn_report_outcome_name(99), "?");
	cr_assert_eq(tarn_report_close(NULL, true, NULL), 0);
}

/* The scale the planner benchmark runs at, in rows and bars. */
Test(report, twenty_thousand_attempts, .timeout = 300)
{
	struct tarn_report *r = open_report(0, 0);
	int64_t t0 = tarn_report_now_ns();
	char *csv, *html;
	char task[32], worker[32], part[32];

	for (int i = 0; i < 20000; i++) {
		struct tarn_report_attempt a = {
			.task = task, .node = i % 2 ? "map" : "reduce",
			.node_id = i % 2, .partition = part, .attempt = 1,
			.worker = worker,
			.start_ns = t0 + (int64_t)(i / 4) * 1000000,
			.end_ns = t0 + (int64_t)(i / 4 + 1) * 1000000,
			.outcome = TARN_REPORT_OK,
		};

		snprintf(task, sizeof(task), "t.%d", i);
		snprintf(worker, sizeof(worker), "pid %d@h", 100 + i % 4);
		snprintf(part, sizeof(part), "0:%d/20000", i);
		tarn_report_attempt_start(r, &a);
		tarn_report_attempt_end(r, &a);
	}
	cr_assert_eq(tarn_report_close(r, true, NULL), 0);
	csv = job_file("task_metrics.csv");
	cr_assert_eq(count(csv, "\n"), 20001);
	g_free(csv);
	html = job_file("timeline.html");
	cr_assert_eq(count(html, "<rect class=\"bar\""), 20000);
	/* 4 workers, never overlapping themselves: 4 rows, no extra lanes. */
	cr_assert_null(strstr(html, " #2<"), "a worker got a second lane");
	g_free(html);
}
