/* SPDX-License-Identifier: MIT */
/*
 * The planner's job report: what the user sees of a job while it runs
 * (a live progress line, log lines) and what stays in the job folder after
 * it (.STATUS, task_metrics.csv, a Chrome/Perfetto trace, an HTML timeline).
 * Internal to the planner; not installed.
 */
#ifndef TARN_PLANNER_REPORT_H
#define TARN_PLANNER_REPORT_H

#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/**
 * DOC: job report
 *
 * One &struct tarn_report per job run. The scheduler tells it when each
 * attempt starts and ends and, as often as it likes, how far the job is;
 * the report draws the progress on the console (rate-limited), streams one
 * row per ended attempt into ``task_metrics.csv``, and at
 * tarn_report_close() writes the final ``.STATUS``, ``trace.json`` and
 * ``timeline.html`` and prints a summary.
 *
 * Files in @job_dir (see docs/planner-outputs.md):
 *
 * - ``.STATUS``: one line, ``running <time>``, ``success <time>`` or
 *   ``failure <time>: <error>`` (time in ISO 8601 UTC); always replaced
 *   atomically (temporary file and rename).
 * - ``task_metrics.csv``: RFC 4180 CSV with a header row; appended to when
 *   it exists already (a resumed job keeps the rows of earlier runs).
 * - ``trace.json``: Chrome trace event format, opens in Perfetto
 *   (ui.perfetto.dev) and chrome://tracing.
 * - ``timeline.html``: a self-contained page (no network) with one bar per
 *   attempt on one row per worker, coloured by node.
 * - ``job.log``: the log lines at or above the file log level.
 *
 * Cost: each ended attempt keeps an 88-byte record plus its strings, which
 * are interned (a node name, a worker name is stored once): about 150 bytes
 * an attempt in all with short task names. Recording an attempt (start,
 * end, progress) takes a few microseconds (bench/report-bench).
 *
 * Thread safety: every function may be called from any thread; calls on
 * one report are serialised by a lock in it. tarn_report_close() must not
 * race with the others on the same report.
 */

/**
 * enum tarn_report_outcome - how an attempt ended
 * @TARN_REPORT_OK: it ran and its output was committed
 * @TARN_REPORT_FAILED: the task failed (error, crash, timeout)
 * @TARN_REPORT_INJECTED: it failed because of fault injection
 * @TARN_REPORT_DISCARDED: it finished, but another attempt of the same task
 *                         committed first; its output was thrown away
 * @TARN_REPORT_CANCELLED: it was cancelled (job stopping, speculative loser)
 *                         or never ended before tarn_report_close()
 * @TARN_REPORT_SKIPPED: not run: already committed by an earlier run of the
 *                       job (resume from the journal)
 */
enum tarn_report_outcome {
	TARN_REPORT_OK = 0,
	TARN_REPORT_FAILED,
	TARN_REPORT_INJECTED,
	TARN_REPORT_DISCARDED,
	TARN_REPORT_CANCELLED,
	TARN_REPORT_SKIPPED,
};

/**
 * enum tarn_report_level - log levels, the same numbers as UNIDIST_LOG_LEVEL
 * @TARN_REPORT_ERROR: the job cannot go on, or a task failed for good
 * @TARN_REPORT_WARNING: something went wrong and was handled (a retry)
 * @TARN_REPORT_INFO: milestones (job started, a node finished)
 * @TARN_REPORT_DEBUG: every attempt
 */
enum tarn_report_level {
	TARN_REPORT_ERROR = 0,
	TARN_REPORT_WARNING = 1,
	TARN_REPORT_INFO = 2,
	TARN_REPORT_DEBUG = 3,
};

/**
 * struct tarn_report_attempt - one attempt of one task
 * @task: the task's name, unique in the job (e.g. "sort.3"); required
 * @node: the name of the logical plan node the task belongs to; NULL: ""
 * @node_id: the node's id; picks the colour in the timeline
 * @partition: the task's partition infos as "dim:index/npartitions" joined by
 *             ",", e.g. "0:3/8,1:0/2"; NULL: ""
 * @attempt: the attempt number, 1 for the first
 * @speculative: this attempt is a speculative copy of a running one
 * @worker: where it ran, e.g. "pid 1234@host"; NULL: "?"
 * @start_ns: when it started, CLOCK_REALTIME in ns (tarn_report_now_ns())
 * @end_ns: when it ended (only read by tarn_report_attempt_end())
 * @bytes_in: bytes of input it read
 * @bytes_out: bytes of output it wrote
 * @outcome: how it ended (only read by tarn_report_attempt_end())
 * @error: why it failed, one line; NULL when it did not
 *
 * All strings are borrowed for the call; the report copies (interns) them.
 * An attempt is identified by (@task, @attempt).
 */
struct tarn_report_attempt {
	const char *task;
	const char *node;
	int node_id;
	const char *partition;
	int attempt;
	bool speculative;
	const char *worker;
	int64_t start_ns;
	int64_t end_ns;
	uint64_t bytes_in;
	uint64_t bytes_out;
	enum tarn_report_outcome outcome;
	const char *error;
};

/**
 * struct tarn_report_progress - how far the job is, in tasks
 * @total: tasks in the job (skipped ones included)
 * @done: tasks committed (skipped ones included)
 * @running: attempts running now
 * @retried: attempts that were retries, so far
 * @failed: attempts that failed, so far (injected faults included)
 * @skipped: tasks skipped because an earlier run committed them
 */
struct tarn_report_progress {
	size_t total;
	size_t done;
	size_t running;
	size_t retried;
	size_t failed;
	size_t skipped;
};

/**
 * struct tarn_report_options - how to open a report
 * @job_dir: the job folder; created (with parents) when missing; required
 * @job_id: the job's id, shown in the summary and the timeline; NULL: ""
 * @job_name: the job's name; NULL: ""
 * @console: where progress, log lines and the summary go; NULL: stderr
 * @tty: -1: decide with isatty() on @console; 0: plain lines (one progress
 *       line every @plain_interval_ms); 1: one live line redrawn in place
 * @console_log_level: the most verbose &enum tarn_report_level printed on
 *                     the console (smallpond's console_log_level)
 * @file_log_level: the most verbose level written to job.log
 *                  (smallpond's file_log_level); below 0: no job.log
 * @plain_interval_ms: in plain mode, the least time between two progress
 *                     lines; 0: 10000 (a line every 10 s)
 * @csv_flush_ms: how stale ``task_metrics.csv`` may get: a row is written
 *                out when it is this old, at the latest at the next
 *                tarn_report_attempt_end() or tarn_report_progress() call;
 *                0: 50 ms; -1: every row at once (a write(2) per attempt,
 *                about 1.3 us on the machine of docs/performance.md)
 *
 * Start from TARN_REPORT_OPTIONS_INIT: its zeroes are not all defaults.
 */
struct tarn_report_options {
	const char *job_dir;
	const char *job_id;
	const char *job_name;
	FILE *console;
	int tty;
	int console_log_level;
	int file_log_level;
	int plain_interval_ms;
	int csv_flush_ms;
};

#define TARN_REPORT_OPTIONS_INIT                                            \
	{                                                                   \
		.tty = -1, .console_log_level = TARN_REPORT_INFO,           \
		.file_log_level = TARN_REPORT_DEBUG,                        \
	}

struct tarn_report;

/**
 * tarn_report_error_quark() - the GError domain of this module's errors
 *
 * The GError's code is the TARN_E* code the function returned.
 */
GQuark tarn_report_error_quark(void);

/**
 * tarn_report_open() - start reporting a job run
 * @o: options; borrowed for the call
 * @out: receives the report, to be ended with tarn_report_close()
 * @error: receives a message saying what was wrong; may be NULL
 *
 * Creates @o->job_dir when needed, writes ``.STATUS`` as ``running``, opens
 * ``task_metrics.csv`` for appending (writing the header row only when the
 * file is new or empty) and ``job.log``.
 *
 * Return: 0; TARN_EINVAL when @o or its job_dir is missing, or a level is
 * out of range; TARN_EIO when a file or the folder cannot be created (the
 * message names the path and the system's reason).
 */
int tarn_report_open(const struct tarn_report_options *o,
		     struct tarn_report **out, GError **error);

/**
 * tarn_report_attempt_start() - an attempt has started
 * @r: the report; NULL does nothing
 * @a: the attempt (@outcome, @end_ns and @error are not read); borrowed
 *
 * Logged at debug level. An attempt that starts and never ends is recorded
 * as %TARN_REPORT_CANCELLED, ending at tarn_report_close().
 */
void tarn_report_attempt_start(struct tarn_report *r,
			       const struct tarn_report_attempt *a);

/**
 * tarn_report_attempt_end() - an attempt has ended
 * @r: the report; NULL does nothing
 * @a: the attempt, with its @end_ns, @outcome and @error; borrowed
 *
 * Appends its row to ``task_metrics.csv`` (written out within
 * @csv_flush_ms, so that a driver killed mid-run leaves the rows of all
 * but its last few ms of attempts; the journal, not this file, is what a
 * resume trusts) and keeps a compact
 * record for the trace and the timeline. Failures are logged at warning
 * level, with the error. An attempt need not have been started with
 * tarn_report_attempt_start() (skipped tasks never are).
 */
void tarn_report_attempt_end(struct tarn_report *r,
			     const struct tarn_report_attempt *a);

/**
 * tarn_report_progress() - tell how far the job is
 * @r: the report; NULL does nothing
 * @p: the counts now; borrowed
 *
 * Cheap: call it as often as you like. The live line is redrawn at most
 * 10 times a second, the plain line every @plain_interval_ms. Also writes
 * out ``task_metrics.csv`` rows older than @csv_flush_ms.
 */
void tarn_report_progress(struct tarn_report *r,
			  const struct tarn_report_progress *p);

/**
 * tarn_report_log() - log one line to the console and to job.log
 * @r: the report; NULL: the line goes to stderr when @level is at most
 *     %TARN_REPORT_INFO
 * @level: an &enum tarn_report_level
 * @fmt: printf format of one line, no final newline
 *
 * On a terminal the live progress line is cleared first and redrawn after,
 * so that the two never mix.
 */
void tarn_report_log(struct tarn_report *r, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** tarn_report_vlog() - tarn_report_log() with a va_list */
void tarn_report_vlog(struct tarn_report *r, int level, const char *fmt,
		      va_list ap) __attribute__((format(printf, 3, 0)));

/**
 * tarn_report_close() - end the report: final files, summary, free it
 * @r: the report; NULL does nothing and returns 0
 * @success: whether the job succeeded
 * @error_msg: when it failed, why (one line); may be NULL
 *
 * Ends attempts still running as %TARN_REPORT_CANCELLED, writes
 * ``trace.json`` and ``timeline.html`` (each through a temporary file and
 * rename), replaces ``.STATUS`` with ``success``/``failure``, prints the
 * summary on the console, and frees @r whatever happens.
 *
 * Return: 0; TARN_EIO when a file could not be written (the report still
 * writes the others and is freed; the error was logged, naming the file).
 */
int tarn_report_close(struct tarn_report *r, bool success,
		      const char *error_msg);

/** tarn_report_now_ns() - CLOCK_REALTIME now, in ns, for @start_ns/@end_ns */
int64_t tarn_report_now_ns(void);

/** tarn_report_outcome_name() - "ok", "failed", ...; "?" when out of range */
const char *tarn_report_outcome_name(enum tarn_report_outcome outcome);

/**
 * tarn_report_level_parse() - parse a log level name
 * @name: "error", "warning", "info", "debug" or "trace" in any case (also
 *        smallpond's "critical", as error; "trace" is debug)
 * @level: receives the &enum tarn_report_level
 *
 * Return: 0; TARN_EINVAL when @name is none of those.
 */
int tarn_report_level_parse(const char *name, int *level);

#endif /* TARN_PLANNER_REPORT_H */
