/* SPDX-License-Identifier: MIT */
/*
 * The job report: console progress and log lines, and the job folder's
 * .STATUS, task_metrics.csv, job.log, trace.json and timeline.html.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <tarn/errors.h>

#include "report.h"

#define CSV_HEADER                                                          \
	"task,node,partition,attempt,speculative,worker,start,end,"       \
	"duration_s,bytes_in,bytes_out,outcome,error\n"

/* The live line is redrawn at most this often. */
#define TTY_INTERVAL_NS (100 * 1000 * 1000LL)
#define PLAIN_INTERVAL_MS_DEFAULT 10000
#define CSV_FLUSH_MS_DEFAULT 50

G_DEFINE_QUARK(tarn-report-error-quark, tarn_report_error)

/*
 * One ended attempt, kept until close for the trace and the timeline.
 * Strings point into the report's string chunk, so a node or worker name
 * shared by thousands of attempts is stored once. About 90 bytes.
 */
struct rec {
	const char *task;
	const char *node;
	const char *partition;
	const char *worker;
	const char *error;
	int64_t start_ns;
	int64_t end_ns;
	uint64_t bytes_in;
	uint64_t bytes_out;
	int32_t node_id;
	int32_t attempt;
	uint8_t outcome;
	bool speculative;
};

/* The key of a running attempt: the interned task name and the attempt. */
struct run_key {
	const char *task;
	int attempt;
};

struct tarn_report {
	GMutex lock;
	char *dir;
	char *job_id;
	char *job_name;
	FILE *console;
	bool tty;
	int console_level;
	int file_level;
	int64_t plain_interval_ns;
	FILE *csv;
	int64_t csv_flush_ns; /* < 0: every row */
	int64_t csv_flushed_ns; /* mono time of the last flush */
	bool csv_pending; /* rows written to the FILE, not yet flushed */
	GString *row; /* reused for every CSV row */
	time_t iso_sec; /* the second iso_prefix formats */
	char iso_prefix[24];
	FILE *log;
	GStringChunk *strings;
	GArray *recs; /* struct rec */
	GHashTable *running; /* struct run_key * -> struct rec * */
	int64_t open_ns;
	/* Progress as last told, and what has ended in this run. */
	struct tarn_report_progress prog;
	bool have_prog;
	uint64_t bytes_in;
	uint64_t bytes_out;
	int64_t last_draw_ns;
	bool line_shown; /* the live line is on the console now */
	bool io_failed; /* a csv/log write failed; logged once */
};

int64_t tarn_report_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *tarn_report_outcome_name(enum tarn_report_outcome outcome)
{
	static const char *const names[] = {
		[TARN_REPORT_OK] = "ok",
		[TARN_REPORT_FAILED] = "failed",
		[TARN_REPORT_INJECTED] = "injected",
		[TARN_REPORT_DISCARDED] = "discarded",
		[TARN_REPORT_CANCELLED] = "cancelled",
		[TARN_REPORT_SKIPPED] = "skipped",
	};

	if ((unsigned)outcome >= G_N_ELEMENTS(names))
		return "?";
	return names[outcome];
}

static const char *const level_names[] = {"error", "warning", "info",
					  "debug"};

int tarn_report_level_parse(const char *name, int *level)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{"critical", TARN_REPORT_ERROR}, {"error", TARN_REPORT_ERROR},
		{"warning", TARN_REPORT_WARNING}, {"warn", TARN_REPORT_WARNING},
		{"info", TARN_REPORT_INFO}, {"debug", TARN_REPORT_DEBUG},
		{"trace", TARN_REPORT_DEBUG},
	};

	for (size_t i = 0; name && i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(name, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return TARN_EINVAL;
}

/* "2026-11-22T05:40:54.123456Z" into @buf (at least 32 bytes). */
static void iso_time(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000LL);
	long us = (long)(ns % 1000000000LL) / 1000;
	struct tm tm;
	size_t n;

	if (ns < 0) {
		s = 0;
		us = 0;
	}
	gmtime_r(&s, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", us);
}

/*
 * iso_time() for CSV rows: gmtime_r() and strftime() cost more than the
 * rest of a row, and consecutive rows almost always share the second.
 */
static void row_time(struct tarn_report *r, int64_t ns, GString *s)
{
	time_t sec = (time_t)(ns / 1000000000LL);
	struct tm tm;

	if (ns < 0) {
		g_string_append(s, "1970-01-01T00:00:00.000000Z");
		return;
	}
	if (sec != r->iso_sec || !r->iso_prefix[0]) {
		gmtime_r(&sec, &tm);
		strftime(r->iso_prefix, sizeof(r->iso_prefix),
			 "%Y-%m-%dT%H:%M:%S", &tm);
		r->iso_sec = sec;
	}
	g_string_append_printf(s, "%s.%06ldZ", r->iso_prefix,
			       (long)(ns % 1000000000LL) / 1000);
}

static guint run_key_hash(gconstpointer p)
{
	const struct run_key *k = p;

	return g_direct_hash(k->task) ^ ((guint)k->attempt * 2654435761u);
}

static gboolean run_key_equal(gconstpointer a, gconstpointer b)
{
	const struct run_key *x = a, *y = b;

	return x->task == y->task && x->attempt == y->attempt;
}

static const char *intern(struct tarn_report *r, const char *s,
			  const char *dflt)
{
	return g_string_chunk_insert_const(r->strings, s ? s : dflt);
}

static int write_status(const char *dir, const char *state,
			const char *error_msg, GError **error)
{
	char when[40];
	g_autofree char *path = g_build_filename(dir, ".STATUS", NULL);
	g_autofree char *text = NULL;
	g_autofree char *oneline = NULL;
	GError *e = NULL;

	iso_time(tarn_report_now_ns(), when, sizeof(when));
	if (error_msg) {
		oneline = g_strdup(error_msg);
		g_strdelimit(oneline, "\r\n", ' ');
		text = g_strdup_printf("%s %s: %s\n", state, when, oneline);
	} else {
		text = g_strdup_printf("%s %s\n", state, when);
	}
	/* g_file_set_contents() writes a temporary file and renames it. */
	if (!g_file_set_contents(path, text, -1, &e)) {
		g_set_error(error, tarn_report_error_quark(), TARN_EIO,
			    "job status %s: %s", path, e->message);
		g_error_free(e);
		return TARN_EIO;
	}
	return 0;
}

/* Terminal width for the live line, so that it never wraps. */
static int console_width(FILE *f)
{
	struct winsize ws;
	int fd = fileno(f);

	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

static void format_duration(double s, char *buf, size_t len)
{
	long t = (long)(s + 0.5);

	if (!(s >= 0 && s < 1e12))
		snprintf(buf, len, "?");
	else if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
			 t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* The progress text, without any terminal control; caller frees. */
static char *progress_text(struct tarn_report *r, int64_t now)
{
	const struct tarn_report_progress *p = &r->prog;
	double elapsed = (double)(now - r->open_ns) / 1e9;
	size_t ran = p->done > p->skipped ? p->done - p->skipped : 0;
	double rate = elapsed > 0 ? ran / elapsed : 0;
	char el[32], eta[32];
	GString *s = g_string_new(NULL);

	format_duration(elapsed, el, sizeof(el));
	if (p->done >= p->total)
		snprintf(eta, sizeof(eta), "0:00");
	else if (rate > 0)
		format_duration((double)(p->total - p->done) / rate, eta,
				sizeof(eta));
	else
		snprintf(eta, sizeof(eta), "?");
	/*
	 * Most important first: a narrow terminal cuts the live line at its
	 * width, and throughput is what it can best do without.
	 */
	g_string_append_printf(s, "%s elapsed, ETA %s | %zu/%zu tasks done",
			       el, eta, p->done, p->total);
	if (p->total)
		g_string_append_printf(s, " (%.0f%%)",
				       100.0 * (double)p->done / p->total);
	g_string_append_printf(s, ", %zu running", p->running);
	if (p->retried || p->failed)
		g_string_append_printf(s, ", %zu retried, %zu failed",
				       p->retried, p->failed);
	if (p->skipped)
		g_string_append_printf(s, ", %zu skipped", p->skipped);
	g_string_append_printf(s, " | %.1f tasks/s", rate);
	if (r->bytes_out && elapsed > 0)
		g_string_append_printf(s, ", %.1f MB/s out",
				       r->bytes_out / elapsed / 1e6);
	return g_string_free(s, FALSE);
}

/* With the lock held. */
static void clear_line(struct tarn_report *r)
{
	if (r->line_shown) {
		fputs("\r\033[K", r->console);
		r->line_shown = false;
	}
}

/* With the lock held: draw the progress now, in place or as a line. */
static void draw(struct tarn_report *r, int64_t now_real)
{
	g_autofree char *text = NULL;
	int width;

	if (!r->have_prog)
		return;
	text = progress_text(r, now_real);
	if (r->tty) {
		/* One column short of the width: some terminals wrap at it. */
		width = console_width(r->console) - 1;
		if ((int)strlen(text) > width)
			text[width] = 0;
		fprintf(r->console, "\r\033[K%s", text);
		r->line_shown = true;
	} else {
		fprintf(r->console, "progress: %s\n", text);
	}
	fflush(r->console);
}

static void note_io_failure(struct tarn_report *r, const char *what)
{
	if (r->io_failed)
		return;
	r->io_failed = true;
	clear_line(r);
	fprintf(r->console, "[error] job report: cannot write %s in %s: %s\n",
		what, r->dir, g_strerror(errno));
}

/* With the lock held. */
static void log_locked(struct tarn_report *r, int level, const char *msg)
{
	char when[40];

	if (level < 0)
		level = 0;
	if (level > TARN_REPORT_DEBUG)
		level = TARN_REPORT_DEBUG;
	if (r->log && level <= r->file_level) {
		iso_time(tarn_report_now_ns(), when, sizeof(when));
		if (fprintf(r->log, "%s [%s] %s\n", when, level_names[level],
			    msg) < 0 || fflush(r->log) != 0)
			note_io_failure(r, "job.log");
	}
	if (level <= r->console_level) {
		bool redraw = r->line_shown;

		clear_line(r);
		fprintf(r->console, "[%s] %s\n", level_names[level], msg);
		if (redraw)
			draw(r, tarn_report_now_ns());
		fflush(r->console);
	}
}

void tarn_report_vlog(struct tarn_report *r, int level, const char *fmt,
		      va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);

	if (!r) {
		if (level <= TARN_REPORT_INFO)
			fprintf(stderr, "[%s] %s\n",
				level_names[CLAMP(level, 0, 3)], msg);
		return;
	}
	g_mutex_lock(&r->lock);
	log_locked(r, level, msg);
	g_mutex_unlock(&r->lock);
}

void tarn_report_log(struct tarn_report *r, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tarn_report_vlog(r, level, fmt, ap);
	va_end(ap);
}

int tarn_report_open(const struct tarn_report_options *o,
		     struct tarn_report **out, GError **error)
{
	struct tarn_report *r;
	g_autofree char *csv_path = NULL;
	g_autofree char *log_path = NULL;
	GStatBuf st;
	int ret;

	*out = NULL;
	if (!o || !o->job_dir || !*o->job_dir) {
		g_set_error(error, tarn_report_error_quark(), TARN_EINVAL,
			    "job report: no job folder given (expected the path of the job's folder)");
		return TARN_EINVAL;
	}
	if (o->console_log_level < 0 ||
	    o->console_log_level > TARN_REPORT_DEBUG ||
	    o->file_log_level > TARN_REPORT_DEBUG || o->tty < -1 ||
	    o->tty > 1 || o->plain_interval_ms < 0 || o->csv_flush_ms < -1) {
		g_set_error(error, tarn_report_error_quark(), TARN_EINVAL,
			    "job report: console_log_level=%d file_log_level=%d tty=%d plain_interval_ms=%d csv_flush_ms=%d (allowed: levels 0..3, file level below 0 for no log, tty -1..1, interval >= 0, flush -1 or >= 0)",
			    o->console_log_level, o->file_log_level, o->tty,
			    o->plain_interval_ms, o->csv_flush_ms);
		return TARN_EINVAL;
	}
	if (g_mkdir_with_parents(o->job_dir, 0755) < 0) {
		g_set_error(error, tarn_report_error_quark(), TARN_EIO,
			    "job folder %s: cannot create it: %s", o->job_dir,
			    g_strerror(errno));
		return TARN_EIO;
	}

	r = g_new0(struct tarn_report, 1);
	g_mutex_init(&r->lock);
	r->dir = g_strdup(o->job_dir);
	r->job_id = g_strdup(o->job_id ? o->job_id : "");
	r->job_name = g_strdup(o->job_name ? o->job_name : "");
	r->console = o->console ? o->console : stderr;
	if (o->tty == -1)
		r->tty = fileno(r->console) >= 0 && isatty(fileno(r->console));
	else
		r->tty = o->tty == 1;
	r->console_level = o->console_log_level;
	r->file_level = o->file_log_level;
	r->plain_interval_ns = (int64_t)(o->plain_interval_ms ?
					 o->plain_interval_ms :
					 PLAIN_INTERVAL_MS_DEFAULT) * 1000000LL;
	if (o->csv_flush_ms < 0)
		r->csv_flush_ns = -1;
	else
		r->csv_flush_ns = (int64_t)(o->csv_flush_ms ?
					    o->csv_flush_ms :
					    CSV_FLUSH_MS_DEFAULT) * 1000000LL;
	r->csv_flushed_ns = mono_ns();
	r->row = g_string_sized_new(256);
	r->strings = g_string_chunk_new(64 * 1024);
	r->recs = g_array_new(FALSE, FALSE, sizeof(struct rec));
	r->running = g_hash_table_new_full(run_key_hash, run_key_equal, g_free,
					   g_free);
	r->open_ns = tarn_report_now_ns();

	ret = write_status(r->dir, "running", NULL, error);
	if (ret)
		goto fail;

	csv_path = g_build_filename(r->dir, "task_metrics.csv", NULL);
	r->csv = fopen(csv_path, "ae");
	if (!r->csv) {
		g_set_error(error, tarn_report_error_quark(), TARN_EIO,
			    "job metrics %s: cannot open it for appending: %s",
			    csv_path, g_strerror(errno));
		ret = TARN_EIO;
		goto fail;
	}
	/* A resumed job appends to the rows of its earlier runs. */
	if (g_stat(csv_path, &st) == 0 && st.st_size == 0) {
		fputs(CSV_HEADER, r->csv);
		fflush(r->csv);
	}

	if (r->file_level >= 0) {
		log_path = g_build_filename(r->dir, "job.log", NULL);
		r->log = fopen(log_path, "ae");
		if (!r->log) {
			g_set_error(error, tarn_report_error_quark(), TARN_EIO,
				    "job log %s: cannot open it for appending: %s",
				    log_path, g_strerror(errno));
			ret = TARN_EIO;
			goto fail;
		}
	}
	g_mutex_lock(&r->lock);
	log_locked(r, TARN_REPORT_DEBUG, "job report opened");
	g_mutex_unlock(&r->lock);
	*out = r;
	return 0;
fail:
	if (r->csv)
		fclose(r->csv);
	g_string_free(r->row, TRUE);
	g_hash_table_destroy(r->running);
	g_array_free(r->recs, TRUE);
	g_string_chunk_free(r->strings);
	g_free(r->job_name);
	g_free(r->job_id);
	g_free(r->dir);
	g_mutex_clear(&r->lock);
	g_free(r);
	return ret;
}

static void fill_rec(struct tarn_report *r, struct rec *x,
		     const struct tarn_report_attempt *a)
{
	x->task = intern(r, a->task, "?");
	x->node = intern(r, a->node, "");
	x->partition = intern(r, a->partition, "");
	x->worker = intern(r, a->worker, "?");
	x->error = NULL;
	x->start_ns = a->start_ns;
	x->end_ns = a->end_ns;
	x->bytes_in = a->bytes_in;
	x->bytes_out = a->bytes_out;
	x->node_id = a->node_id;
	x->attempt = a->attempt;
	x->outcome = TARN_REPORT_CANCELLED;
	x->speculative = a->speculative;
}

void tarn_report_attempt_start(struct tarn_report *r,
			       const struct tarn_report_attempt *a)
{
	struct run_key *k;
	struct rec *x;

	if (!r || !a)
		return;
	g_mutex_lock(&r->lock);
	x = g_new(struct rec, 1);
	fill_rec(r, x, a);
	k = g_new(struct run_key, 1);
	k->task = x->task;
	k->attempt = a->attempt;
	g_hash_table_replace(r->running, k, x);
	if (r->console_level >= TARN_REPORT_DEBUG ||
	    r->file_level >= TARN_REPORT_DEBUG) {
		g_autofree char *msg = g_strdup_printf(
			"start %s [%s] attempt %d%s on %s", x->task,
			x->partition, a->attempt,
			a->speculative ? " (speculative)" : "", x->worker);

		log_locked(r, TARN_REPORT_DEBUG, msg);
	}
	g_mutex_unlock(&r->lock);
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF. */
static void csv_field(GString *s, const char *v, bool last)
{
	if (v[strcspn(v, ",\"\r\n")] == 0 && v[0] != ' ' && *v != '\t') {
		g_string_append(s, v);
	} else {
		g_string_append_c(s, '"');
		for (const char *p = v; *p; p++) {
			if (*p == '"')
				g_string_append_c(s, '"');
			g_string_append_c(s, *p);
		}
		g_string_append_c(s, '"');
	}
	g_string_append_c(s, last ? '\n' : ',');
}

/* With the lock held: write buffered rows out when asked or when old. */
static void csv_flush(struct tarn_report *r, bool force)
{
	int64_t now;

	if (!r->csv_pending)
		return;
	now = mono_ns();
	if (!force && r->csv_flush_ns >= 0 &&
	    now - r->csv_flushed_ns < r->csv_flush_ns)
		return;
	if (fflush(r->csv))
		note_io_failure(r, "task_metrics.csv");
	r->csv_pending = false;
	r->csv_flushed_ns = now;
}

static void csv_row(struct tarn_report *r, const struct rec *x)
{
	GString *s = r->row;
	char num[64];

	g_string_truncate(s, 0);
	csv_field(s, x->task, false);
	csv_field(s, x->node, false);
	csv_field(s, x->partition, false);
	g_string_append_printf(s, "%d,%d,", x->attempt, x->speculative ? 1 : 0);
	csv_field(s, x->worker, false);
	row_time(r, x->start_ns, s);
	g_string_append_c(s, ',');
	row_time(r, x->end_ns, s);
	snprintf(num, sizeof(num), "%.6f",
		 (double)(x->end_ns - x->start_ns) / 1e9);
	g_string_append_printf(s, ",%s,%" PRIu64 ",%" PRIu64 ",%s,", num,
			       x->bytes_in, x->bytes_out,
			       tarn_report_outcome_name(x->outcome));
	csv_field(s, x->error ? x->error : "", true);
	if (fwrite(s->str, 1, s->len, r->csv) != s->len)
		note_io_failure(r, "task_metrics.csv");
	r->csv_pending = true;
	/*
	 * Not flushed per row by default: a write(2) per attempt is a fifth
	 * of the planner's per-task budget at 100,000 no-op tasks. Rows wait
	 * at most csv_flush_ns, checked here and in progress().
	 */
	csv_flush(r, false);
}

void tarn_report_attempt_end(struct tarn_report *r,
			     const struct tarn_report_attempt *a)
{
	struct run_key k;
	struct rec x;

	if (!r || !a)
		return;
	g_mutex_lock(&r->lock);
	fill_rec(r, &x, a);
	x.outcome = (uint8_t)a->outcome;
	if (a->error)
		x.error = g_string_chunk_insert(r->strings, a->error);
	k.task = x.task;
	k.attempt = a->attempt;
	g_hash_table_remove(r->running, &k);
	g_array_append_val(r->recs, x);
	if (a->outcome == TARN_REPORT_OK) {
		r->bytes_in += a->bytes_in;
		r->bytes_out += a->bytes_out;
	}
	csv_row(r, &x);
	if (a->outcome == TARN_REPORT_FAILED ||
	    a->outcome == TARN_REPORT_INJECTED) {
		g_autofree char *msg = g_strdup_printf(
			"task %s [%s] attempt %d on %s %s: %s", x.task,
			x.partition, x.attempt, x.worker,
			a->outcome == TARN_REPORT_INJECTED ?
				"failed (injected fault)" : "failed",
			x.error ? x.error : "no error message");

		log_locked(r, TARN_REPORT_WARNING, msg);
	} else if (r->console_level >= TARN_REPORT_DEBUG ||
		   r->file_level >= TARN_REPORT_DEBUG) {
		g_autofree char *msg = g_strdup_printf(
			"end %s [%s] attempt %d on %s: %s, %.3f s", x.task,
			x.partition, x.attempt, x.worker,
			tarn_report_outcome_name(x.outcome),
			(double)(x.end_ns - x.start_ns) / 1e9);

		log_locked(r, TARN_REPORT_DEBUG, msg);
	}
	g_mutex_unlock(&r->lock);
}

void tarn_report_progress(struct tarn_report *r,
			  const struct tarn_report_progress *p)
{
	int64_t now, interval;

	if (!r || !p)
		return;
	now = mono_ns();
	g_mutex_lock(&r->lock);
	r->prog = *p;
	r->have_prog = true;
	csv_flush(r, false);
	interval = r->tty ? TTY_INTERVAL_NS : r->plain_interval_ns;
	if (r->last_draw_ns == 0 || now - r->last_draw_ns >= interval) {
		r->last_draw_ns = now;
		draw(r, tarn_report_now_ns());
	}
	g_mutex_unlock(&r->lock);
}

/* ---- close: trace, timeline, summary ---- */

/* JSON string body (no quotes); invalid UTF-8 is repaired first. */
static void json_str(GString *s, const char *v)
{
	g_autofree char *valid = NULL;

	if (!g_utf8_validate(v, -1, NULL))
		v = valid = g_utf8_make_valid(v, -1);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"':
			g_string_append(s, "\\\"");
			break;
		case '\\':
			g_string_append(s, "\\\\");
			break;
		case '\n':
			g_string_append(s, "\\n");
			break;
		default:
			/* '<' too, so that no "</script>" can appear. */
			if (*p < 0x20 || *p == '<' || *p == 0x7f)
				g_string_append_printf(s, "\\u%04x", *p);
			else
				g_string_append_c(s, (char)*p);
		}
	}
}

static void html_str(GString *s, const char *v)
{
	for (const char *p = v; *p; p++) {
		switch (*p) {
		case '&':
			g_string_append(s, "&amp;");
			break;
		case '<':
			g_string_append(s, "&lt;");
			break;
		case '>':
			g_string_append(s, "&gt;");
			break;
		case '"':
			g_string_append(s, "&quot;");
			break;
		case '\'':
			g_string_append(s, "&#39;");
			break;
		default:
			g_string_append_c(s, *p);
		}
	}
}

/*
 * Rows of the timeline and tracks of the trace: one per worker, and more
 * when a worker's attempts overlap (a worker that runs several at once, or
 * clock skew), so that no two bars on a row overlap.
 */
struct layout {
	size_t *order; /* recs drawn, by start */
	size_t n;
	int *row; /* per rec index */
	GPtrArray *row_worker; /* row -> worker name (interned) */
	GArray *row_lane; /* row -> lane number within its worker */
	int64_t t0;
	int64_t t1;
};

/* qsort() has no user argument: sort (start, index) pairs instead. */
struct by_start_key {
	int64_t start;
	size_t i;
};

static int by_start(const void *a, const void *b)
{
	const struct by_start_key *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : (x->i > y->i);
}

static void layout_build(struct tarn_report *r, struct layout *l)
{
	const struct rec *recs = (const struct rec *)r->recs->data;
	GHashTable *first_row = g_hash_table_new(g_direct_hash,
						 g_direct_equal);
	GArray *row_end = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GArray *next_row = g_array_new(FALSE, FALSE, sizeof(int));
	struct by_start_key *keys;

	l->order = g_new(size_t, r->recs->len + 1);
	l->row = g_new0(int, r->recs->len + 1);
	l->row_worker = g_ptr_array_new();
	l->row_lane = g_array_new(FALSE, FALSE, sizeof(int));
	l->n = 0;
	l->t0 = r->open_ns;
	l->t1 = r->open_ns;
	keys = g_new(struct by_start_key, r->recs->len + 1);
	for (size_t i = 0; i < r->recs->len; i++) {
		if (recs[i].outcome == TARN_REPORT_SKIPPED)
			continue;
		keys[l->n].start = recs[i].start_ns;
		keys[l->n++].i = i;
		l->t0 = MIN(l->t0, recs[i].start_ns);
		l->t1 = MAX(l->t1, MAX(recs[i].end_ns, recs[i].start_ns));
	}
	qsort(keys, l->n, sizeof(*keys), by_start);
	for (size_t j = 0; j < l->n; j++)
		l->order[j] = keys[j].i;
	g_free(keys);

	/*
	 * Rows of one worker are chained through next_row (-1 ends), first
	 * row in first_row; an attempt goes on the first row of its worker
	 * that is free at its start, else on a new one.
	 */
	for (size_t j = 0; j < l->n; j++) {
		const struct rec *x = &recs[l->order[j]];
		gpointer v;
		int row = -1, prev = -1, lane = 0;

		if (g_hash_table_lookup_extended(first_row, x->worker, NULL,
						 &v))
			row = GPOINTER_TO_INT(v);
		while (row >= 0 && g_array_index(row_end, int64_t, row) >
				   x->start_ns) {
			prev = row;
			row = g_array_index(next_row, int, row);
			lane++;
		}
		if (row < 0) {
			int64_t zero = 0;
			int none = -1;

			row = (int)row_end->len;
			g_array_append_val(row_end, zero);
			g_array_append_val(next_row, none);
			g_ptr_array_add(l->row_worker, (gpointer)x->worker);
			g_array_append_val(l->row_lane, lane);
			if (prev >= 0)
				g_array_index(next_row, int, prev) = row;
			else
				g_hash_table_insert(first_row,
						    (gpointer)x->worker,
						    GINT_TO_POINTER(row));
		}
		g_array_index(row_end, int64_t, row) =
			MAX(x->end_ns, x->start_ns);
		l->row[l->order[j]] = row;
	}
	g_array_free(next_row, TRUE);
	g_array_free(row_end, TRUE);
	g_hash_table_destroy(first_row);
}

static void layout_free(struct layout *l)
{
	g_free(l->order);
	g_free(l->row);
	g_ptr_array_free(l->row_worker, TRUE);
	g_array_free(l->row_lane, TRUE);
}

/* Rows are grouped by worker in the display: sort rows by (worker, lane). */
static int *row_display_order(const struct layout *l)
{
	guint n = l->row_worker->len;
	int *pos = g_new(int, n + 1);
	guint *idx = g_new(guint, n + 1);
	GHashTable *first = g_hash_table_new(g_direct_hash, g_direct_equal);
	guint k = 0;

	/* Workers in order of their first row, their lanes under them. */
	for (guint i = 0; i < n; i++) {
		gpointer w = g_ptr_array_index(l->row_worker, i);

		if (g_hash_table_contains(first, w))
			continue;
		g_hash_table_add(first, w);
		for (guint j = i; j < n; j++)
			if (g_ptr_array_index(l->row_worker, j) == w)
				idx[k++] = j;
	}
	for (guint i = 0; i < n; i++)
		pos[idx[i]] = (int)i;
	g_free(idx);
	g_hash_table_destroy(first);
	return pos;
}

static char *row_label(const struct layout *l, guint row)
{
	int lane = g_array_index(l->row_lane, int, row);
	const char *w = g_ptr_array_index(l->row_worker, row);

	if (lane == 0)
		return g_strdup(w);
	return g_strdup_printf("%s #%d", w, lane + 1);
}

/* Write @len bytes to @name in the job folder via a temporary and rename. */
static int write_file(struct tarn_report *r, const char *name, GString *s)
{
	g_autofree char *path = g_build_filename(r->dir, name, NULL);
	GError *e = NULL;

	if (!g_file_set_contents(path, s->str, (gssize)s->len, &e)) {
		g_autofree char *msg = g_strdup_printf(
			"job report: cannot write %s: %s", path, e->message);

		log_locked(r, TARN_REPORT_ERROR, msg);
		g_error_free(e);
		return TARN_EIO;
	}
	return 0;
}

static int write_trace(struct tarn_report *r, const struct layout *l,
		       const int *pos, bool success)
{
	const struct rec *recs = (const struct rec *)r->recs->data;
	GString *s = g_string_sized_new(256 + l->n * 260);
	int ret;

	g_string_append(s, "{\"displayTimeUnit\":\"ms\",\"otherData\":{"
			   "\"job_id\":\"");
	json_str(s, r->job_id);
	g_string_append(s, "\",\"job_name\":\"");
	json_str(s, r->job_name);
	g_string_append_printf(s, "\",\"status\":\"%s\"},\"traceEvents\":[\n",
			       success ? "success" : "failure");
	g_string_append(s, "{\"ph\":\"M\",\"pid\":1,\"tid\":0,"
			   "\"name\":\"process_name\",\"args\":{\"name\":\"job ");
	json_str(s, *r->job_name ? r->job_name : r->job_id);
	g_string_append(s, "\"}}");
	for (guint i = 0; i < l->row_worker->len; i++) {
		g_autofree char *label = row_label(l, i);

		g_string_append_printf(s, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
					  "\"name\":\"thread_name\",\"args\":{\"name\":\"",
				       i + 1);
		json_str(s, label);
		g_string_append_printf(s, "\"}},\n{\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
					  "\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
				       i + 1, pos[i]);
	}
	for (size_t j = 0; j < l->n; j++) {
		const struct rec *x = &recs[l->order[j]];
		int64_t dur = MAX(x->end_ns - x->start_ns, 0);

		g_string_append(s, ",\n{\"ph\":\"X\",\"pid\":1,\"name\":\"");
		json_str(s, x->task);
		g_string_append(s, "\",\"cat\":\"");
		json_str(s, *x->node ? x->node : "task");
		g_string_append_printf(s, "\",\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,"
					  "\"args\":{\"partition\":\"",
				       l->row[l->order[j]] + 1,
				       (double)(x->start_ns - l->t0) / 1e3,
				       (double)dur / 1e3);
		json_str(s, x->partition);
		g_string_append_printf(s, "\",\"attempt\":%d,\"speculative\":%s,"
					  "\"outcome\":\"%s\",\"node_id\":%d,"
					  "\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64,
				       x->attempt,
				       x->speculative ? "true" : "false",
				       tarn_report_outcome_name(x->outcome),
				       x->node_id, x->bytes_in, x->bytes_out);
		g_string_append(s, ",\"worker\":\"");
		json_str(s, x->worker);
		g_string_append(s, "\"");
		if (x->error) {
			g_string_append(s, ",\"error\":\"");
			json_str(s, x->error);
			g_string_append(s, "\"");
		}
		g_string_append(s, "}}");
	}
	g_string_append(s, "\n]}\n");
	ret = write_file(r, "trace.json", s);
	g_string_free(s, TRUE);
	return ret;
}

static void node_colour(int node_id, char *buf, size_t len)
{
	/* Golden-angle hues: neighbouring node ids get distant colours. */
	unsigned hue = (unsigned)((uint64_t)(unsigned)node_id * 137508 /
				  1000 % 360);

	snprintf(buf, len, "hsl(%u,62%%,52%%)", hue);
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width\">\n"
	"<title>tarn job timeline</title>\n<style>\n"
	"body{font:13px system-ui,sans-serif;margin:16px;color:#222}\n"
	"h1{font-size:18px;margin:0 0 4px}\n.meta{color:#555;margin-bottom:8px}\n"
	"#legend span{display:inline-block;margin:0 12px 4px 0}\n"
	"#legend i{display:inline-block;width:12px;height:12px;margin-right:4px;"
	"vertical-align:-2px;border-radius:2px}\n"
	"#wrap{display:flex;border:1px solid #ccc}\n"
	"#labels{flex:none;font:11px monospace;border-right:1px solid #ccc;"
	"background:#fafafa}\n"
	"#labels div{white-space:nowrap;overflow:hidden;padding:0 6px;"
	"box-sizing:border-box}\n"
	"#plot{flex:1;position:relative;overflow:hidden;cursor:crosshair}\n"
	"#axis{height:18px;position:relative;font:10px monospace;color:#555;"
	"border-bottom:1px solid #ddd}\n"
	"#axis span{position:absolute;top:3px;white-space:nowrap}\n"
	"svg{display:block}\nrect.bar{stroke:none}\n"
	"rect.bad{stroke:#c00;stroke-width:1.5px;"
	"vector-effect:non-scaling-stroke;opacity:.55}\n"
	"rect.spec{opacity:.7}\n"
	"#tip{position:fixed;display:none;background:#222;color:#fff;"
	"padding:6px 8px;border-radius:4px;font:12px monospace;"
	"white-space:pre;pointer-events:none;z-index:2}\n"
	".help{color:#777;font-size:12px;margin-top:6px}\n"
	"</style></head><body>\n";

/*
 * The page's script: zoom with the wheel (around the cursor), pan by
 * dragging, reset with a double click, a tooltip from the bar's data, and
 * an axis redrawn for the visible range. It only changes the SVG's viewBox,
 * so the page without it is still a complete, static timeline.
 */
static const char html_script[] =
	"<script>\n(function(){\n"
	"var svg=document.getElementById('tl'),plot=document.getElementById('plot'),"
	"axis=document.getElementById('axis'),tip=document.getElementById('tip');\n"
	"var T=+svg.dataset.t,H=+svg.dataset.h,x0=0,w=T;\n"
	"function fmt(ms){return ms>=1000?(ms/1000).toFixed(ms>=1e4?1:2)+' s':"
	"ms.toFixed(ms>=10?0:2)+' ms';}\n"
	"function draw(){svg.setAttribute('viewBox',x0+' 0 '+w+' '+H);"
	"axis.textContent='';var px=plot.clientWidth||800,n=Math.max(2,"
	"Math.floor(px/90)),step=w/n,p=Math.pow(10,Math.floor(Math.log10(step)));"
	"step=[1,2,5,10].map(function(m){return m*p;}).filter(function(s){"
	"return s>=step;})[0];for(var t=Math.ceil(x0/step)*step;t<x0+w;t+=step){"
	"var s=document.createElement('span');s.style.left=((t-x0)/w*px)+'px';"
	"s.textContent=fmt(t);axis.appendChild(s);}}\n"
	"plot.addEventListener('wheel',function(e){e.preventDefault();"
	"var r=plot.getBoundingClientRect(),f=(e.clientX-r.left)/r.width,"
	"c=x0+f*w,k=e.deltaY<0?0.8:1.25;w=Math.min(T,Math.max(T/1e6,w*k));"
	"x0=Math.min(T-w,Math.max(0,c-f*w));draw();},{passive:false});\n"
	"var drag=null;plot.addEventListener('mousedown',function(e){"
	"drag={x:e.clientX,x0:x0};});\n"
	"window.addEventListener('mouseup',function(){drag=null;});\n"
	"window.addEventListener('mousemove',function(e){if(drag){"
	"var r=plot.getBoundingClientRect();x0=Math.min(T-w,Math.max(0,"
	"drag.x0-(e.clientX-drag.x)/r.width*w));draw();}});\n"
	"plot.addEventListener('dblclick',function(){x0=0;w=T;draw();});\n"
	"svg.addEventListener('mousemove',function(e){var b=e.target;"
	"if(!b.dataset||!b.dataset.task){tip.style.display='none';return;}"
	"tip.textContent='task      '+b.dataset.task+'\\nnode      '+b.dataset.node+"
	"'\\npartition '+b.dataset.part+'\\nattempt   '+b.dataset.attempt+"
	"'\\nworker    '+b.dataset.worker+'\\nduration  '+b.dataset.dur+"
	"'\\noutcome   '+b.dataset.outcome+(b.dataset.error?'\\nerror     '+"
	"b.dataset.error:'');tip.style.display='block';"
	"tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px';});\n"
	"svg.addEventListener('mouseleave',function(){tip.style.display='none';});\n"
	"window.addEventListener('resize',draw);draw();\n"
	"})();\n</script>\n";

#define ROW_H 18

static int write_html(struct tarn_report *r, const struct layout *l,
		      const int *pos, bool success, const char *summary)
{
	const struct rec *recs = (const struct rec *)r->recs->data;
	guint nrows = l->row_worker->len;
	/* Timeline units: ms from t0; at least 1 ms wide. */
	double span = MAX((double)(l->t1 - l->t0) / 1e6, 1.0);
	double min_w = span / 2000;
	GString *s = g_string_sized_new(8192 + l->n * 330);
	GHashTable *nodes = g_hash_table_new(g_direct_hash, g_direct_equal);
	GArray *node_order = g_array_new(FALSE, FALSE, sizeof(size_t));
	char colour[48], when[40];
	int ret;

	g_string_append(s, html_head);
	g_string_append(s, "<h1>tarn job ");
	html_str(s, r->job_id);
	if (*r->job_name) {
		g_string_append(s, " (");
		html_str(s, r->job_name);
		g_string_append(s, ")");
	}
	g_string_append_printf(s, ": %s</h1>\n<div class=\"meta\">",
			       success ? "success" : "failure");
	iso_time(l->t0, when, sizeof(when));
	g_string_append_printf(s, "started %s; ", when);
	html_str(s, summary);
	g_string_append(s, "</div>\n<div id=\"legend\">");

	/* Legend: one entry per node, in order of first appearance. */
	for (size_t j = 0; j < l->n; j++) {
		const struct rec *x = &recs[l->order[j]];

		if (g_hash_table_contains(nodes, x->node))
			continue;
		g_hash_table_add(nodes, (gpointer)x->node);
		g_array_append_val(node_order, l->order[j]);
	}
	for (guint i = 0; i < node_order->len; i++) {
		size_t k = g_array_index(node_order, size_t, i);
		const struct rec *x = &recs[k];

		node_colour(x->node_id, colour, sizeof(colour));
		g_string_append_printf(s, "<span><i style=\"background:%s\"></i>",
				       colour);
		html_str(s, *x->node ? x->node : "(no node)");
		g_string_append(s, "</span>");
	}
	g_string_append(s, "<span><i style=\"background:#fff;border:1.5px solid #c00;"
			   "box-sizing:border-box\"></i>failed, injected, "
			   "discarded or cancelled</span></div>\n");

	/* Worker labels, in display order. */
	g_string_append(s, "<div id=\"wrap\"><div id=\"labels\">"
			   "<div style=\"height:19px\"></div>");
	{
		guint *by_pos = g_new(guint, nrows + 1);

		for (guint i = 0; i < nrows; i++)
			by_pos[pos[i]] = i;
		for (guint i = 0; i < nrows; i++) {
			g_autofree char *label = row_label(l, by_pos[i]);

			g_string_append_printf(s, "<div style=\"height:%dpx;"
						  "line-height:%dpx\">",
					       ROW_H, ROW_H);
			html_str(s, label);
			g_string_append(s, "</div>");
		}
		g_free(by_pos);
	}
	g_string_append_printf(s, "</div>\n<div id=\"plot\"><div id=\"axis\"></div>\n"
				  "<svg id=\"tl\" data-t=\"%.6f\" data-h=\"%u\" "
				  "viewBox=\"0 0 %.6f %u\" preserveAspectRatio=\"none\" "
				  "width=\"100%%\" height=\"%u\">\n",
			       span, nrows * ROW_H, span, nrows * ROW_H,
			       nrows * ROW_H);
	/* Zebra stripes for the rows. */
	for (guint i = 1; i < nrows; i += 2)
		g_string_append_printf(s, "<rect x=\"0\" y=\"%u\" width=\"%.6f\" "
					  "height=\"%d\" fill=\"#f4f4f4\"/>\n",
				       i * ROW_H, span, ROW_H);
	for (size_t j = 0; j < l->n; j++) {
		const struct rec *x = &recs[l->order[j]];
		double start = (double)(x->start_ns - l->t0) / 1e6;
		double dur = (double)MAX(x->end_ns - x->start_ns, 0) / 1e6;
		const char *cls = x->outcome == TARN_REPORT_OK ?
					  (x->speculative ? "bar spec" : "bar") :
					  "bar bad";
		char d[32];

		node_colour(x->node_id, colour, sizeof(colour));
		if (dur >= 1000)
			snprintf(d, sizeof(d), "%.3f s", dur / 1000);
		else
			snprintf(d, sizeof(d), "%.3f ms", dur);
		g_string_append_printf(s, "<rect class=\"%s\" x=\"%.6f\" y=\"%d\" "
					  "width=\"%.6f\" height=\"%d\" fill=\"%s\" "
					  "data-task=\"",
				       cls, start,
				       pos[l->row[l->order[j]]] * ROW_H + 2,
				       MAX(dur, min_w), ROW_H - 4, colour);
		html_str(s, x->task);
		g_string_append(s, "\" data-node=\"");
		html_str(s, x->node);
		g_string_append(s, "\" data-part=\"");
		html_str(s, x->partition);
		g_string_append_printf(s, "\" data-attempt=\"%d%s\" data-worker=\"",
				       x->attempt,
				       x->speculative ? " (speculative)" : "");
		html_str(s, x->worker);
		g_string_append_printf(s, "\" data-dur=\"%s\" data-outcome=\"%s\"",
				       d, tarn_report_outcome_name(x->outcome));
		if (x->error) {
			g_string_append(s, " data-error=\"");
			html_str(s, x->error);
			g_string_append(s, "\"");
		}
		/* <title>: the hover text when scripts are off. */
		g_string_append(s, "><title>");
		html_str(s, x->task);
		g_string_append(s, " [");
		html_str(s, x->partition);
		g_string_append_printf(s, "] attempt %d, %s, %s</title></rect>\n",
				       x->attempt, d,
				       tarn_report_outcome_name(x->outcome));
	}
	g_string_append(s, "</svg></div></div>\n<div id=\"tip\"></div>\n"
			   "<div class=\"help\">Wheel: zoom around the pointer. "
			   "Drag: pan. Double click: show all. Hover a bar for "
			   "its task.</div>\n");
	g_string_append(s, html_script);
	g_string_append(s, "</body></html>\n");
	ret = write_file(r, "timeline.html", s);
	g_string_free(s, TRUE);
	g_array_free(node_order, TRUE);
	g_hash_table_destroy(nodes);
	return ret;
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	if (b >= 1000000000ULL)
		snprintf(buf, len, "%.2f GB", b / 1e9);
	else if (b >= 1000000ULL)
		snprintf(buf, len, "%.1f MB", b / 1e6);
	else if (b >= 1000ULL)
		snprintf(buf, len, "%.1f kB", b / 1e3);
	else
		snprintf(buf, len, "%" PRIu64 " B", b);
}

/* One line: counts of attempts by outcome and the data moved. */
static char *summary_line(struct tarn_report *r, double elapsed)
{
	const struct rec *recs = (const struct rec *)r->recs->data;
	size_t by[TARN_REPORT_SKIPPED + 1] = {0};
	char in[32], out[32], el[32];
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < r->recs->len; i++)
		if (recs[i].outcome <= TARN_REPORT_SKIPPED)
			by[recs[i].outcome]++;
	format_duration(elapsed, el, sizeof(el));
	human_bytes(r->bytes_in, in, sizeof(in));
	human_bytes(r->bytes_out, out, sizeof(out));
	g_string_append_printf(s, "%zu/%zu tasks done in %s (%.3f s); "
				  "attempts: %zu ok, %zu failed, %zu injected, "
				  "%zu discarded, %zu cancelled, %zu skipped; "
				  "%s in, %s out",
			       r->prog.done, r->prog.total, el, elapsed,
			       by[TARN_REPORT_OK], by[TARN_REPORT_FAILED],
			       by[TARN_REPORT_INJECTED],
			       by[TARN_REPORT_DISCARDED],
			       by[TARN_REPORT_CANCELLED],
			       by[TARN_REPORT_SKIPPED], in, out);
	if (elapsed > 0 && r->bytes_out)
		g_string_append_printf(s, " (%.1f MB/s)",
				       r->bytes_out / elapsed / 1e6);
	return g_string_free(s, FALSE);
}

int tarn_report_close(struct tarn_report *r, bool success,
		      const char *error_msg)
{
	int64_t now;
	GHashTableIter it;
	gpointer v;
	struct layout l;
	g_autofree char *summary = NULL;
	g_autofree char *msg = NULL;
	GError *e = NULL;
	int *pos;
	int ret = 0;

	if (!r)
		return 0;
	now = tarn_report_now_ns();
	g_mutex_lock(&r->lock);

	/* Attempts that never ended: cancelled, ending now. */
	g_hash_table_iter_init(&it, r->running);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct rec *x = v;

		x->end_ns = MAX(now, x->start_ns);
		x->outcome = TARN_REPORT_CANCELLED;
		x->error = g_string_chunk_insert_const(
			r->strings, "still running when the job ended");
		g_array_append_val(r->recs, *x);
		csv_row(r, x);
	}
	g_hash_table_remove_all(r->running);
	csv_flush(r, true);
	clear_line(r);

	summary = summary_line(r, (double)(now - r->open_ns) / 1e9);
	layout_build(r, &l);
	pos = row_display_order(&l);
	if (write_trace(r, &l, pos, success))
		ret = TARN_EIO;
	if (write_html(r, &l, pos, success, summary))
		ret = TARN_EIO;
	g_free(pos);
	layout_free(&l);

	if (write_status(r->dir, success ? "success" : "failure",
			 success ? NULL : (error_msg ? error_msg : "failed"),
			 &e)) {
		log_locked(r, TARN_REPORT_ERROR, e->message);
		g_error_free(e);
		ret = TARN_EIO;
	}

	if (success)
		msg = g_strdup_printf("job %s: success: %s", r->job_id,
				      summary);
	else
		msg = g_strdup_printf("job %s: failure: %s; %s", r->job_id,
				      error_msg ? error_msg : "failed",
				      summary);
	log_locked(r, success ? TARN_REPORT_INFO : TARN_REPORT_ERROR, msg);
	{
		g_autofree char *where = g_strdup_printf(
			"job folder %s: .STATUS, task_metrics.csv, trace.json, timeline.html%s",
			r->dir, r->log ? ", job.log" : "");

		log_locked(r, TARN_REPORT_INFO, where);
	}
	fflush(r->console);
	g_mutex_unlock(&r->lock);

	if (fclose(r->csv) != 0)
		ret = TARN_EIO;
	if (r->log && fclose(r->log) != 0)
		ret = TARN_EIO;
	g_string_free(r->row, TRUE);
	g_hash_table_destroy(r->running);
	g_array_free(r->recs, TRUE);
	g_string_chunk_free(r->strings);
	g_free(r->job_name);
	g_free(r->job_id);
	g_free(r->dir);
	g_mutex_clear(&r->lock);
	g_free(r);
	return ret;
}
