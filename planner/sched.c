/* SPDX-License-Identifier: MIT */
/*
 * The scheduler: dispatches ready tasks through tarn_remote() within the
 * cluster's CPUs (and memory), collects results with tarn_wait(), retries
 * failures up to max_fail_count, launches speculative copies of
 * stragglers, and records every commit in the job's journal so that a
 * rerun with the same job id skips it.
 *
 * The journal is a text file, one line per committed task ("commit KEY"),
 * after a header naming the plan's fingerprint; appends are flushed at
 * once. The committed folder (with its .tarn-commit mark) is the ground
 * truth: a task whose folder exists counts as committed even when the
 * driver died between the worker's rename and the journal line.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "planner.h"
#include "report.h"

enum { T_WAITING = 0, T_READY, T_RUNNING, T_DONE };

struct tstate {
	int state;
	uint32_t missing;  /* dependencies not yet done */
	uint32_t attempts; /* started so far */
	uint32_t fails;
	uint32_t running;  /* attempts in flight */
	bool speculated;
	int64_t first_start;
};

struct flight {
	tarn_ref_t ref;
	int task;
	uint32_t attempt;
	bool spec;
	int64_t start;
	char *staging;
};

struct job {
	const struct pplan *pp;
	const struct run_opts *o;
	struct tstate *st;
	int *rdep_off, *rdep; /* reverse dependencies, CSR */
	GQueue ready;
	GArray *fl; /* struct flight */
	FILE *journal;
	struct tarn_report *rep;
	char *tasks_dir, *staging_dir, *output_root;
	double cpus_total, cpus_used;
	uint64_t mem_total, mem_used;
	size_t total, done, skipped, retried, failed;
	size_t spec_running;
	GArray **durations; /* per node: double seconds of committed attempts */
	double *median;     /* per node, of durations[] when it had median_n */
	char **pname;       /* per task: partition name while it is running */
	guint *median_n;
	char *error;
	GHashTable *journaled;
	bool resumed; /* the journal existed: look for committed tasks */
	int64_t journal_flushed;
};

/* CPU time of the calling thread: the scheduler's own cost, without the
 * time the OS gave the workers on a busy machine. */
static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const struct pnode *node_of(const struct job *j, int t)
{
	const struct ptask *pt = j->pp->tasks->pdata[t];

	return j->pp->plan->nodes->pdata[pt->node];
}

static const struct ptask *task(const struct job *j, int t)
{
	return j->pp->tasks->pdata[t];
}

static char *final_dir(const struct job *j, int t)
{
	const struct ptask *pt = task(j, t);
	const struct pnode *n = node_of(j, t);

	if (pt->role == ROLE_SINK)
		return g_canonicalize_filename(n->path, j->output_root);
	return g_build_filename(j->tasks_dir, pt->key, NULL);
}

static bool committed_on_disk(const struct job *j, int t)
{
	char *d = final_dir(j, t);
	char *m = g_build_filename(d, COMMIT_MARK, NULL);
	char *text = NULL;
	bool ok = false;

	/* A sink's folder may exist from another job: check the mark's job. */
	if (g_file_get_contents(m, &text, NULL, NULL)) {
		size_t n = strlen(j->o->job_id);

		ok = !strncmp(text, j->o->job_id, n) && text[n] == ' ';
	}
	g_free(text);
	g_free(m);
	g_free(d);
	return ok;
}

static void report_attempt(struct job *j, int t, uint32_t attempt, bool spec,
			   const char *worker, int64_t start, int64_t end,
			   uint64_t in, uint64_t out, int outcome,
			   const char *error, bool is_start)
{
	const struct ptask *pt = task(j, t);
	const char *part;
	struct tarn_report_attempt a;

	if (!j->pname[t])
		j->pname[t] = pplan_partition_name(pt);
	part = j->pname[t];
	a = (struct tarn_report_attempt){
		.task = pt->key,
		.node = node_of(j, t)->name,
		.node_id = pt->node,
		.partition = part,
		.attempt = (int)attempt,
		.speculative = spec,
		.worker = worker,
		.start_ns = start,
		.end_ns = end,
		.bytes_in = in,
		.bytes_out = out,
		.outcome = outcome,
		.error = error,
	};

	if (is_start)
		tarn_report_attempt_start(j->rep, &a);
	else
		tarn_report_attempt_end(j->rep, &a);
	/* a task ends once: its name is not needed again (kept for retries
	 * only while the task is not done) */
	if (!is_start && j->st[t].state == T_DONE) {
		g_free(j->pname[t]);
		j->pname[t] = NULL;
	}
}

static void progress(struct job *j)
{
	struct tarn_report_progress p = {
		.total = j->total,
		.done = j->done,
		.running = j->fl->len,
		.retried = j->retried,
		.failed = j->failed,
		.skipped = j->skipped,
	};

	tarn_report_progress(j->rep, &p);
}

static void mark_done(struct job *j, int t, bool journal)
{
	const struct ptask *pt = task(j, t);

	j->st[t].state = T_DONE;
	g_free(j->pname[t]);
	j->pname[t] = NULL;
	if (pt->role != ROLE_VIRTUAL)
		j->done++;
	if (journal && j->journal) {
		int64_t now = now_ns();

		fprintf(j->journal, "commit %s\n", pt->key);
		/* A write per 20 ms, not per commit: a line lost with a killed
		 * driver is recovered from the task's commit mark on resume. */
		if (now - j->journal_flushed > 20000000) {
			fflush(j->journal);
			j->journal_flushed = now;
		}
	}
	for (int k = j->rdep_off[t]; k < j->rdep_off[t + 1]; k++) {
		int d = j->rdep[k];

		if (--j->st[d].missing == 0 && j->st[d].state == T_WAITING) {
			j->st[d].state = T_READY;
			g_queue_push_tail(&j->ready, GINT_TO_POINTER(d));
		}
	}
}

/* The files task @t reads, in a stable order. */
static void resolve_inputs(struct job *j, int t, GPtrArray *paths,
			   GArray *groups)
{
	const struct ptask *pt = task(j, t);

	for (uint32_t i = 0; i < pt->nin; i++) {
		const struct fref *r = &pt->in[i];
		guint before = paths->len;

		if (r->task < 0) {
			g_ptr_array_add(paths, g_strdup(r->path));
		} else {
			char *d = final_dir(j, r->task);

			if (r->bucket >= 0) {
				char b[16];
				char *sub;

				snprintf(b, sizeof(b), "%05d", r->bucket);
				sub = g_build_filename(d, b, NULL);
				list_files(sub, paths);
				g_free(sub);
			} else {
				list_files(d, paths);
			}
			g_free(d);
		}
		for (guint k = before; k < paths->len; k++)
			g_array_append_val(groups, r->group);
	}
}

static uint64_t total_size(GPtrArray *paths)
{
	uint64_t n = 0;

	for (guint i = 0; i < paths->len; i++) {
		struct stat st;

		if (stat(paths->pdata[i], &st) == 0)
			n += (uint64_t)st.st_size;
	}
	return n;
}

/* Empty input and skip_task_with_empty_input: commit an empty output. */
static int commit_empty(struct job *j, int t)
{
	char *d = final_dir(j, t);
	char *m = g_build_filename(d, COMMIT_MARK, NULL);
	char *text = g_strdup_printf("%s %s 0\n", j->o->job_id, task(j, t)->key);
	int rc = mkdir_p(d) == 0 && g_file_set_contents(m, text, -1, NULL) ? 0 : -1;

	g_free(text);
	g_free(m);
	g_free(d);
	return rc;
}

static int launch(struct job *j, int t, bool spec)
{
	const struct ptask *pt = task(j, t);
	const struct pnode *n = node_of(j, t);
	struct tdesc d;
	GByteArray *buf = g_byte_array_sized_new(1024);
	tarn_task_opts_t opts = TARN_TASK_OPTS_INIT;
	tarn_arg_t arg;
	struct flight f = {.task = t, .spec = spec};
	const struct pnode *src = n;
	int rc;
	char *flat;

	memset(&d, 0, sizeof(d));
	d.inputs = g_ptr_array_new_with_free_func(g_free);
	d.groups = g_array_new(FALSE, FALSE, sizeof(int));
	d.infos = g_array_new(FALSE, FALSE, sizeof(struct pinfo));
	resolve_inputs(j, t, d.inputs, d.groups);
	if (!spec && j->o->skip_empty && pt->role != ROLE_SINK &&
	    pt->role != ROLE_BOUNDS && total_size(d.inputs) == 0 &&
	    commit_empty(j, t) == 0) {
		int64_t now = now_ns();

		report_attempt(j, t, 0, false, "driver (empty input, skipped)",
			       now, now, 0, 0, TARN_REPORT_OK, NULL, false);
		tdesc_clear(&d);
		g_byte_array_free(buf, TRUE);
		mark_done(j, t, true);
		return 0;
	}
	/* rows come from the source upstream: find the format */
	while (src->s.kind != TARN_NODE_SOURCE &&
	       src->s.kind != TARN_NODE_COMPUTE)
		src = j->pp->plan->nodes->pdata[src->inputs[0]];
	if (pt->role == ROLE_COMPUTE)
		src = n;
	d.role = pt->role;
	d.format = src->s.format;
	d.record_size = src->s.record_size;
	d.by = n->s.by;
	d.nbuckets = pt->nbuckets;
	d.key = n->s.key;
	d.rows = n->s.rows;
	d.mode = n->s.mode;
	d.function = g_strdup(n->function);
	d.args = g_strdup(n->args);
	d.task_key = g_strdup(pt->key);
	d.node = g_strdup(n->name);
	d.job_id = g_strdup(j->o->job_id);
	d.attempt = ++j->st[t].attempts;
	flat = g_strdup(pt->key);
	g_strdelimit(flat, "/", '.');
	d.staging = g_strdup_printf("%s/%s.a%u", j->staging_dir, flat, d.attempt);
	g_free(flat);
	d.final = final_dir(j, t);
	d.keep_bucket = pt->keep_bucket;
	if (pt->bounds_task >= 0) {
		char *bd = final_dir(j, pt->bounds_task);

		d.bounds = g_build_filename(bd, "bounds.keys", NULL);
		g_free(bd);
		/* a fused sort picks its range's rows by the range's key */
		d.range_key = node_of(j, pt->bounds_task)->s.key;
	}
	d.fault_prob = j->o->fault_prob;
	d.seed = j->o->random_seed;
	for (uint32_t i = 0; i < pt->ninfos; i++)
		g_array_append_val(d.infos, pt->infos[i]);
	tdesc_encode(&d, buf);
	g_array_set_size(d.infos, 0); /* its names are the plan's */
	arg = tarn_arg_bytes(buf->data, buf->len);
	opts.num_cpus = n->s.cpus;
	opts.num_gpus = n->s.gpus;
	if (j->o->enforce_memory_limit)
		opts.memory = n->s.memory;
	opts.max_retries = j->o->max_retry_count;
	rc = tarn_remote(PLANNER_TASK, &arg, 1, &opts, &f.ref);
	g_byte_array_free(buf, TRUE);
	if (rc) {
		j->error = g_strdup_printf("cannot submit task %s: %s",
					   pt->key, tarn_last_error());
		tdesc_clear(&d);
		return rc;
	}
	f.attempt = d.attempt;
	f.start = now_ns();
	f.staging = d.staging;
	d.staging = NULL;
	tdesc_clear(&d);
	if (!j->st[t].first_start)
		j->st[t].first_start = f.start;
	j->st[t].state = T_RUNNING;
	j->st[t].running++;
	j->cpus_used += n->s.cpus;
	j->mem_used += n->s.memory;
	if (f.attempt > 1 && !spec)
		j->retried++;
	j->spec_running += spec;
	g_array_append_val(j->fl, f);
	report_attempt(j, t, f.attempt, spec, NULL, f.start, 0, 0, 0, 0, NULL,
		       true);
	return 0;
}

static bool fits(const struct job *j, int t)
{
	const struct pnode *n = node_of(j, t);

	if (!j->fl->len)
		return true; /* never starve: one task always runs */
	if (j->cpus_used + n->s.cpus > j->cpus_total + 1e-9)
		return false;
	return !j->mem_total || !n->s.memory ||
	       j->mem_used + n->s.memory <= j->mem_total;
}

static int dispatch(struct job *j)
{
	while (!g_queue_is_empty(&j->ready) && !j->error) {
		int t = GPOINTER_TO_INT(g_queue_peek_head(&j->ready));
		int rc;

		if (j->st[t].state == T_DONE) {
			g_queue_pop_head(&j->ready);
			continue;
		}
		if (task(j, t)->role == ROLE_VIRTUAL) {
			g_queue_pop_head(&j->ready);
			mark_done(j, t, false);
			continue;
		}
		if (!fits(j, t))
			break;
		g_queue_pop_head(&j->ready);
		rc = launch(j, t, false);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Speculative execution, after smallpond: once enough attempts of a node
 * have committed, a task running far longer than their median gets a
 * second attempt on another worker; the first to commit wins.
 * enable: >= max(3, 25% of the node's tasks) samples, 3x the median and
 * at least 2 s; aggressive: >= 1 sample, 1.5x the median and 0.2 s.
 */
static int speculate(struct job *j)
{
	int64_t now = now_ns();

	for (guint i = 0; i < j->fl->len; i++) {
		struct flight *f = &g_array_index(j->fl, struct flight, i);
		const struct ptask *pt = task(j, f->task);
		GArray *dur = j->durations[pt->node];
		double med, el, factor, floor_s;
		size_t need;

		if (f->spec || j->st[f->task].speculated ||
		    j->st[f->task].running > 1)
			continue;
		if (j->o->speculative == SPEC_AGGRESSIVE) {
			need = 1;
			factor = 1.5;
			floor_s = 0.2;
		} else {
			need = MAX(3, (size_t)j->pp->node_count[pt->node] / 4);
			factor = 3;
			floor_s = 2;
		}
		el = (double)(now - f->start) / 1e9;
		if (dur->len < need || el < floor_s)
			continue;
		/* the median is sorted again only when the samples grew by a
		 * tenth: a plan of many short tasks must not sort per check */
		if (dur->len > j->median_n[pt->node] * 11 / 10 ||
		    dur->len < 64) {
			qsort(dur->data, dur->len, sizeof(double), cmp_double);
			j->median[pt->node] = g_array_index(dur, double, dur->len / 2);
			j->median_n[pt->node] = dur->len;
		}
		med = j->median[pt->node];
		if (el < factor * med)
			continue;
		/* Speculative copies may go beyond the CPU count: the backend
		 * may have queued tasks behind the straggler, so its slots are
		 * not a reliable sign of free workers. A few at a time. */
		if (j->spec_running >= MAX(1, (size_t)j->cpus_total / 2))
			return 0;
		j->st[f->task].speculated = true;
		tarn_report_log(j->rep, TARN_REPORT_INFO,
				"task %s: running %.1f s, median of its node %.2f s: speculative attempt",
				pt->key, el, med);
		return launch(j, f->task, true);
	}
	return 0;
}

static void end_flight(struct job *j, guint i)
{
	struct flight *f = &g_array_index(j->fl, struct flight, i);
	const struct pnode *n = node_of(j, f->task);

	j->st[f->task].running--;
	j->spec_running -= f->spec;
	j->cpus_used -= n->s.cpus;
	j->mem_used -= n->s.memory;
	tarn_ref_release(f->ref);
	g_free(f->staging);
	g_array_remove_index_fast(j->fl, i);
}

static void handle(struct job *j, guint i)
{
	struct flight *f = &g_array_index(j->fl, struct flight, i);
	int t = f->task;
	const struct ptask *pt = task(j, t);
	tarn_object_t *obj = NULL;
	int rc = tarn_get(f->ref, 0, &obj);
	int64_t end = now_ns();

	if (rc == 0 && tarn_object_size(obj) == sizeof(struct tresult)) {
		struct tresult r;
		char worker[96];
		bool first = j->st[t].state != T_DONE;
		int outcome;

		memcpy(&r, tarn_object_data(obj), sizeof(r));
		r.host[sizeof(r.host) - 1] = 0;
		snprintf(worker, sizeof(worker), "pid %d@%s", r.pid, r.host);
		outcome = first && r.outcome == RESULT_COMMITTED ?
				  TARN_REPORT_OK : TARN_REPORT_DISCARDED;
		report_attempt(j, t, f->attempt, f->spec, worker, r.start_ns,
			       r.end_ns, r.bytes_in, r.bytes_out, outcome,
			       NULL, false);
		if (first) {
			double secs = (double)(r.end_ns - r.start_ns) / 1e9;

			g_array_append_val(j->durations[pt->node], secs);
			mark_done(j, t, true);
		}
		tarn_object_release(obj);
		end_flight(j, i);
		return;
	}
	{
		char *why = g_strdup(rc == 0 ? "malformed result" : tarn_last_error());
		bool injected = strstr(why, INJECTED_PREFIX) != NULL;
		char *part = pplan_partition_name(pt);
		const char *pid = strstr(why, "(pid ");
		char worker[96] = "?", host[64];
		int wpid;

		/* libtarn's message names the worker: "(pid N on HOST)" */
		if (pid && sscanf(pid, "(pid %d on %63[^)])", &wpid, host) == 2)
			snprintf(worker, sizeof(worker), "pid %d@%s", wpid, host);
		tarn_object_release(obj);
		rm_rf(f->staging);
		report_attempt(j, t, f->attempt, f->spec, worker, f->start, end,
			       0, 0,
			       j->st[t].state == T_DONE ? TARN_REPORT_DISCARDED :
			       injected ? TARN_REPORT_INJECTED : TARN_REPORT_FAILED,
			       why, false);
		end_flight(j, i);
		if (j->st[t].state != T_DONE) {
			j->failed++;
			j->st[t].fails++;
			if (j->o->fail_fast ||
			    j->st[t].fails >= (uint32_t)j->o->max_fail_count) {
				if (!j->error)
					j->error = g_strdup_printf(
						"task %s (node %s, partition %s) failed %u time%s (max_fail_count=%d%s); last cause: %s",
						pt->key, node_of(j, t)->name,
						part, j->st[t].fails,
						j->st[t].fails == 1 ? "" : "s",
						j->o->max_fail_count,
						j->o->fail_fast ? ", fail_fast" : "",
						why);
			} else if (!j->st[t].running) {
				j->st[t].state = T_READY;
				if (j->o->prioritize_retry)
					g_queue_push_head(&j->ready, GINT_TO_POINTER(t));
				else
					g_queue_push_tail(&j->ready, GINT_TO_POINTER(t));
			}
		}
		g_free(part);
		g_free(why);
	}
}

static uint64_t fingerprint(const struct pplan *pp)
{
	uint64_t h = 0;

	for (guint i = 0; i < pp->tasks->len; i++) {
		const struct ptask *t = pp->tasks->pdata[i];
		uint64_t x[4] = {h, (uint64_t)t->role, t->nin, t->nbuckets};

		h = hash_bytes(x, sizeof(x)) ^ hash_bytes(t->key, strlen(t->key));
	}
	return h;
}

static int open_journal(struct job *j)
{
	char *path = g_build_filename(j->o->job_dir, "journal", NULL);
	char *text = NULL;
	char head[64];
	int rc = 0;

	snprintf(head, sizeof(head), "tarn-journal 1 plan=%016llx",
		 (unsigned long long)fingerprint(j->pp));
	j->journaled = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     NULL);
	if (g_file_get_contents(path, &text, NULL, NULL)) {
		char **lines = g_strsplit(text, "\n", -1);

		if (!lines[0] || strcmp(lines[0], head) != 0) {
			j->error = g_strdup_printf("job %s: its journal %s was written for another plan ('%s', this plan is '%s'); rerun with the plan it started with, or use a new job id",
						   j->o->job_id, path,
						   lines[0] ? lines[0] : "",
						   head);
			rc = TARN_EINVAL;
		}
		j->resumed = true;
		for (char **l = lines + 1; !rc && *l; l++)
			if (g_str_has_prefix(*l, "commit "))
				g_hash_table_add(j->journaled,
						 g_strdup(*l + 7));
		g_strfreev(lines);
		g_free(text);
		if (!rc)
			j->journal = fopen(path, "a");
	} else {
		j->journal = fopen(path, "w");
		if (j->journal) {
			fprintf(j->journal, "%s\n", head);
			fflush(j->journal);
		}
	}
	if (!rc && !j->journal) {
		j->error = g_strdup_printf("cannot write the journal %s: %s",
					   path, strerror(errno));
		rc = TARN_EIO;
	}
	g_free(path);
	return rc;
}

static void build_rdeps(struct job *j)
{
	guint n = j->pp->tasks->len;
	int *fill;

	j->rdep_off = g_new0(int, n + 1);
	for (guint t = 0; t < n; t++) {
		const struct ptask *pt = task(j, (int)t);

		for (uint32_t k = 0; k < pt->ndeps; k++)
			j->rdep_off[pt->deps[k] + 1]++;
	}
	for (guint t = 0; t < n; t++)
		j->rdep_off[t + 1] += j->rdep_off[t];
	j->rdep = g_new0(int, j->rdep_off[n] + 1);
	fill = g_memdup2(j->rdep_off, (n + 1) * sizeof(int));
	for (guint t = 0; t < n; t++) {
		const struct ptask *pt = task(j, (int)t);

		for (uint32_t k = 0; k < pt->ndeps; k++)
			j->rdep[fill[pt->deps[k]]++] = (int)t;
	}
	g_free(fill);
}

static void cluster_limits(struct job *j)
{
	tarn_node_t *nodes = NULL;
	size_t nn = 0;
	double cpus = 0;

	if (tarn_cluster_resources(&nodes, &nn) == 0) {
		for (size_t i = 0; i < nn; i++) {
			cpus += nodes[i].num_workers ? nodes[i].num_workers
						     : nodes[i].num_cpus;
			j->mem_total += nodes[i].memory;
		}
	}
	tarn_cluster_resources_free(nodes);
	if (cpus < 1)
		cpus = tarn_num_cpus() > 0 ? tarn_num_cpus() : 1;
	if (j->o->num_executors > 0)
		cpus = j->o->num_executors;
	j->cpus_total = cpus;
}

/* Waits a while for attempts still running (speculative losers, siblings
 * of a failure), so that none writes into staging after the job ends. */
static void drain(struct job *j, double secs)
{
	int64_t until = now_ns() + (int64_t)(secs * 1e9);

	while (j->fl->len && now_ns() < until) {
		GArray *refs = g_array_new(FALSE, FALSE, sizeof(tarn_ref_t));
		bool *ready = g_new0(bool, j->fl->len);
		int n;

		for (guint i = 0; i < j->fl->len; i++)
			g_array_append_val(refs, g_array_index(j->fl, struct flight, i).ref);
		n = tarn_wait((tarn_ref_t *)(void *)refs->data, refs->len, 1,
			      0.1, ready);
		for (guint i = j->fl->len; n > 0 && i-- > 0;)
			if (ready[i])
				handle(j, i);
		g_free(ready);
		g_array_free(refs, TRUE);
	}
}

static void clean_dir_entries(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *e;

	while (d && (e = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, e, NULL);

		rm_rf(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
}

int sched_run(const struct pplan *pp, const struct run_opts *o)
{
	struct job j;
	struct tarn_report_options ro = TARN_REPORT_OPTIONS_INIT;
	GError *gerr = NULL;
	guint n = pp->tasks->len;
	int rc = 0;
	bool *ready = NULL;
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(tarn_ref_t));
	int64_t last_spec = 0, loop_start, waited = 0;
	int64_t cpu_start, cpu_waited = 0;

	memset(&j, 0, sizeof(j));
	j.pp = pp;
	j.o = o;
	j.st = g_new0(struct tstate, n);
	j.pname = g_new0(char *, n);
	j.fl = g_array_new(FALSE, FALSE, sizeof(struct flight));
	j.tasks_dir = g_build_filename(o->job_dir, "tasks", NULL);
	j.staging_dir = g_build_filename(o->job_dir, "staging", NULL);
	j.output_root = g_strdup(o->output_path);
	j.durations = g_new0(GArray *, pp->plan->nodes->len);
	j.median = g_new0(double, pp->plan->nodes->len);
	j.median_n = g_new0(guint, pp->plan->nodes->len);
	for (guint i = 0; i < pp->plan->nodes->len; i++)
		j.durations[i] = g_array_new(FALSE, FALSE, sizeof(double));
	g_queue_init(&j.ready);

	ro.job_dir = o->job_dir;
	ro.job_id = o->job_id;
	ro.job_name = o->job_name;
	ro.console = o->console;
	ro.tty = o->tty;
	ro.console_log_level = o->console_level;
	ro.file_log_level = o->file_level;
	if (mkdir_p(o->job_dir) != 0 || mkdir_p(j.tasks_dir) != 0 ||
	    mkdir_p(j.staging_dir) != 0) {
		rc = planner_set_error(TARN_EIO, "cannot create the job folder %s: %s",
				       o->job_dir, strerror(errno));
		goto out_free;
	}
	rc = tarn_report_open(&ro, &j.rep, &gerr);
	if (rc) {
		rc = planner_set_error(rc, "cannot start the job report: %s",
				       gerr ? gerr->message : "?");
		g_clear_error(&gerr);
		goto out_free;
	}
	/* Attempts of an earlier run of this job died with it. */
	clean_dir_entries(j.staging_dir);
	build_rdeps(&j);
	cluster_limits(&j);
	if (open_journal(&j))
		goto finish;
	for (guint t = 0; t < n; t++) {
		const struct ptask *pt = task(&j, (int)t);

		j.st[t].missing = pt->ndeps;
		if (pt->role != ROLE_VIRTUAL)
			j.total++;
	}
	tarn_report_log(j.rep, TARN_REPORT_INFO,
			"job %s (%s%s%s): %zu tasks on %s, %g CPUs, job folder %s",
			o->job_id, o->job_name, *o->job_time ? ", created " : "",
			o->job_time, j.total, tarn_backend_name(), j.cpus_total,
			o->job_dir);
	/* Resume: committed tasks are done before anything runs. Tasks are in
	 * dependency order, so one pass settles everything. */
	for (guint t = 0; t < n; t++) {
		const struct ptask *pt = task(&j, (int)t);

		if (pt->role == ROLE_VIRTUAL) {
			if (!j.st[t].missing)
				mark_done(&j, (int)t, false);
			else
				j.st[t].state = T_WAITING;
			continue;
		}
		if ((j.resumed || pt->role == ROLE_SINK) &&
		    committed_on_disk(&j, (int)t)) {
			bool journaled = g_hash_table_contains(j.journaled, pt->key);
			int64_t now = now_ns();

			j.skipped++;
			report_attempt(&j, (int)t, 0, false, "journal", now, now,
				       0, 0, TARN_REPORT_SKIPPED, NULL, false);
			j.st[t].state = T_WAITING;
			mark_done(&j, (int)t, !journaled);
		}
	}
	for (guint t = 0; t < n; t++)
		if (j.st[t].state == T_WAITING && !j.st[t].missing &&
		    task(&j, (int)t)->role != ROLE_VIRTUAL) {
			j.st[t].state = T_READY;
			g_queue_push_tail(&j.ready, GINT_TO_POINTER((int)t));
		}
	/* virtual tasks waiting on others: done as soon as those are */
	if (j.skipped)
		tarn_report_log(j.rep, TARN_REPORT_INFO,
				"resuming job %s: %zu of %zu tasks already committed",
				o->job_id, j.skipped, j.total);
	loop_start = now_ns();
	cpu_start = thread_cpu_ns();
	while (j.done < j.total && !j.error) {
		int got;
		int64_t w0, c0;

		rc = dispatch(&j);
		if (rc || j.error)
			break;
		if (!j.fl->len) {
			j.error = g_strdup_printf("no task can run, %zu of %zu done (a dependency cycle?)",
						  j.done, j.total);
			break;
		}
		g_array_set_size(refs, 0);
		for (guint i = 0; i < j.fl->len; i++)
			g_array_append_val(refs, g_array_index(j.fl, struct flight, i).ref);
		ready = g_renew(bool, ready, j.fl->len);
		memset(ready, 0, j.fl->len * sizeof(bool));
		w0 = now_ns();
		c0 = thread_cpu_ns();
		got = tarn_wait((tarn_ref_t *)(void *)refs->data, refs->len, 1,
				0.05, ready);
		waited += now_ns() - w0;
		cpu_waited += thread_cpu_ns() - c0;
		if (got < 0) {
			j.error = g_strdup_printf("waiting for tasks: %s",
						  tarn_last_error());
			break;
		}
		for (guint i = j.fl->len; got > 0 && i-- > 0;)
			if (ready[i])
				handle(&j, i);
		if (o->speculative != SPEC_DISABLE &&
		    now_ns() - last_spec > 100000000) {
			last_spec = now_ns();
			rc = speculate(&j);
			if (rc)
				break;
		}
		progress(&j);
	}
	if (j.total > j.skipped) {
		size_t ran = j.total - j.skipped;
		size_t mem = 0;

		for (guint t = 0; t < n; t++) {
			const struct ptask *pt = task(&j, (int)t);

			mem += sizeof(*pt) + sizeof(void *) + strlen(pt->key) + 1 +
			       pt->ninfos * sizeof(struct pinfo) +
			       pt->nin * sizeof(struct fref) +
			       pt->ndeps * sizeof(int) * 2 + sizeof(struct tstate);
		}
		tarn_report_log(j.rep, TARN_REPORT_INFO,
				"scheduler: %.1f us CPU per task outside waits for results (%.1f us wall), %zu tasks run; planner memory %zu bytes per task",
				(double)(thread_cpu_ns() - cpu_start - cpu_waited) / 1e3 / (double)ran,
				(double)(now_ns() - loop_start - waited) / 1e3 / (double)ran,
				ran, mem / MAX(n, 1));
	}
finish:
	/* A few seconds for attempts still running (speculative losers);
	 * a hung one must not hold the job. The driver cleans staging again
	 * after tarn_shutdown(), which stops the workers. */
	drain(&j, 5);
	progress(&j);
	if (!j.error && !rc && o->remove_output_root)
		rm_rf(j.tasks_dir);
	clean_dir_entries(j.staging_dir);
	if (j.journal)
		fclose(j.journal);
	if (j.error || rc) {
		if (!j.error)
			j.error = g_strdup(tarn_planner_last_error());
		tarn_report_log(j.rep, TARN_REPORT_ERROR, "job %s failed: %s",
				o->job_id, j.error);
	}
	tarn_report_close(j.rep, !j.error && !rc, j.error);
	if (j.error)
		rc = planner_set_error(TARN_ETASK, "%s", j.error);
out_free:
	for (guint i = 0; i < j.fl->len; i++) {
		tarn_ref_release(g_array_index(j.fl, struct flight, i).ref);
		g_free(g_array_index(j.fl, struct flight, i).staging);
	}
	g_array_free(j.fl, TRUE);
	g_array_free(refs, TRUE);
	g_free(ready);
	for (guint i = 0; i < pp->plan->nodes->len; i++)
		g_array_free(j.durations[i], TRUE);
	g_free(j.durations);
	g_free(j.median);
	g_free(j.median_n);
	g_queue_clear(&j.ready);
	if (j.journaled)
		g_hash_table_destroy(j.journaled);
	for (guint t = 0; t < n; t++)
		g_free(j.pname[t]);
	g_free(j.pname);
	g_free(j.st);
	g_free(j.rdep_off);
	g_free(j.rdep);
	g_free(j.tasks_dir);
	g_free(j.staging_dir);
	g_free(j.output_root);
	g_free(j.error);
	return rc;
}
