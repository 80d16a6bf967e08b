/* SPDX-License-Identifier: MIT */
/*
 * Task execution: the one place that knows what running a task means.
 *
 * Every backend's worker loop ends up in tarn_exec_run() through
 * host->run_task(): decode the payload, find the function, fetch the
 * arguments through the backend, call, check the results and the time
 * limit, retry application errors in place when asked, and leave every
 * result either sealed or an error object. Backends only move bytes.
 */
#include <glib.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

struct result {
	bool set;
	size_t len;
};

struct tarn_task_ctx {
	const struct payload *pl;
	const char *name; /* "square", "Cube", "Cube.volume" */
	uint32_t attempt;
	const void **arg_data;
	size_t *arg_len;
	struct result *results;
	char fail[1024];
	bool fail_set;
	void *self;      /* actor state (method) or the one being built (ctor) */
	bool is_ctor;
	uint64_t bytes_out;
};

/* Actors living in this process --------------------------------------- */

struct actor_inst {
	tarn_actor_t id;
	const struct reg_entry *cls;
	void *self;
	char *failed; /* the constructor's error, or NULL */
};

static GMutex actors_lock;
static GHashTable *actors; /* tarn_actor_t* -> struct actor_inst */

guint tarn_id_hash(gconstpointer p)
{
	const tarn_ref_t *r = p;

	return (guint)((r->seq * 0x9e3779b97f4a7c15ull) ^ (r->origin * 0xc2b2ae3d27d4eb4full));
}

gboolean tarn_id_equal(gconstpointer a, gconstpointer b)
{
	const tarn_ref_t *x = a, *y = b;

	return x->origin == y->origin && x->seq == y->seq;
}

static void actor_inst_free(struct actor_inst *inst)
{
	if (!inst)
		return;
	if (inst->self && inst->cls->dtor)
		inst->cls->dtor(inst->self);
	g_free(inst->failed);
	g_free(inst);
}

static void actor_put(struct actor_inst *inst)
{
	struct actor_inst *old;

	g_mutex_lock(&actors_lock);
	if (!actors)
		actors = g_hash_table_new(tarn_id_hash, tarn_id_equal);
	old = g_hash_table_lookup(actors, &inst->id);
	g_hash_table_replace(actors, &inst->id, inst);
	g_mutex_unlock(&actors_lock);
	actor_inst_free(old);
}

static struct actor_inst *actor_find(tarn_actor_t id)
{
	struct actor_inst *inst = NULL;

	/*
	 * The backend runs one call of an actor at a time and destroys it only
	 * after the calls submitted before the kill, so an instance found here
	 * stays valid for the duration of the call.
	 */
	g_mutex_lock(&actors_lock);
	if (actors)
		inst = g_hash_table_lookup(actors, &id);
	g_mutex_unlock(&actors_lock);
	return inst;
}

void tarn_exec_actor_destroy(tarn_host_t *host, tarn_actor_t actor)
{
	struct actor_inst *inst = NULL;

	(void)host;
	g_mutex_lock(&actors_lock);
	if (actors) {
		inst = g_hash_table_lookup(actors, &actor);
		if (inst)
			g_hash_table_remove(actors, &actor);
	}
	g_mutex_unlock(&actors_lock);
	actor_inst_free(inst);
}

void tarn_exec_destroy_all_actors(void)
{
	GHashTable *all;
	GHashTableIter it;
	gpointer k, v;

	g_mutex_lock(&actors_lock);
	all = actors;
	actors = NULL;
	g_mutex_unlock(&actors_lock);
	if (!all)
		return;
	g_hash_table_iter_init(&it, all);
	while (g_hash_table_iter_next(&it, &k, &v))
		actor_inst_free(v);
	g_hash_table_destroy(all);
}

/* Results --------------------------------------------------------------- */

void tarn_exec_store_error(const tarn_ref_t *returns, size_t n,
			   const char *msg)
{
	size_t len = strlen(msg) + 1;

	for (size_t i = 0; i < n; i++) {
		void *p;
		int rc = tarn_rt.ops->create(tarn_rt.be, returns[i], len,
					     TARN_OBJ_ERROR, &p);

		if (rc == 0) {
			memcpy(p, msg, len);
			rc = tarn_rt.ops->seal(tarn_rt.be, returns[i]);
		}
		if (rc && rc != TARN_EEXIST)
			tarn_log(TARN_LOG_ERROR,
				 "cannot store the error of a task as result %zu (%s): %s",
				 i, tarn_err_name(rc), msg);
	}
}

static int result_slot(tarn_task_ctx_t *ctx, size_t i)
{
	if (i >= ctx->pl->num_returns)
		return tarn_error(TARN_EINVAL,
				  "task '%s' set result %zu but has %u (num_returns)",
				  ctx->name, i, ctx->pl->num_returns);
	if (ctx->results[i].set)
		return tarn_error(TARN_EINVAL, "task '%s' set result %zu twice",
				  ctx->name, i);
	return 0;
}

TARN_API int tarn_task_return_alloc(tarn_task_ctx_t *ctx, size_t i,
				    size_t len, void **data)
{
	int rc;

	if (!ctx || !data)
		return tarn_error(TARN_EINVAL, "tarn_task_return_alloc: NULL %s",
				  ctx ? "data" : "ctx");
	rc = result_slot(ctx, i);
	if (rc)
		return rc;
	rc = tarn_rt.ops->create(tarn_rt.be, ctx->pl->returns[i], len, 0,
				 data);
	if (rc)
		return tarn_error(rc, "task '%s': cannot store result %zu (%zu bytes): %s",
				  ctx->name, i, len, tarn_strerror(rc));
	ctx->results[i].set = true;
	ctx->results[i].len = len;
	ctx->bytes_out += len;
	return 0;
}

TARN_API int tarn_task_return(tarn_task_ctx_t *ctx, size_t i,
			      const void *data, size_t len)
{
	void *p;
	int rc;

	if (len && !data)
		return tarn_error(TARN_EINVAL, "tarn_task_return: %zu bytes at NULL", len);
	rc = tarn_task_return_alloc(ctx, i, len, &p);
	if (rc == 0 && len)
		memcpy(p, data, len);
	return rc;
}

TARN_API int tarn_task_return_i64(tarn_task_ctx_t *ctx, size_t i, int64_t v)
{
	return tarn_task_return(ctx, i, &v, sizeof(v));
}

TARN_API int tarn_task_return_f64(tarn_task_ctx_t *ctx, size_t i, double v)
{
	return tarn_task_return(ctx, i, &v, sizeof(v));
}

/* Arguments and context -------------------------------------------------- */

TARN_API const char *tarn_task_name(const tarn_task_ctx_t *ctx)
{
	return ctx ? ctx->name : NULL;
}

TARN_API uint32_t tarn_task_attempt(const tarn_task_ctx_t *ctx)
{
	return ctx ? ctx->attempt : 0;
}

TARN_API size_t tarn_task_num_args(const tarn_task_ctx_t *ctx)
{
	return ctx ? ctx->pl->nargs : 0;
}

TARN_API size_t tarn_task_num_returns(const tarn_task_ctx_t *ctx)
{
	return ctx ? ctx->pl->num_returns : 0;
}

TARN_API int tarn_task_arg(const tarn_task_ctx_t *ctx, size_t i,
			   const void **data, size_t *len)
{
	if (!ctx || !data || !len)
		return tarn_error(TARN_EINVAL, "tarn_task_arg: NULL argument");
	if (i >= ctx->pl->nargs)
		return tarn_error(TARN_EINVAL,
				  "task '%s' asked for argument %zu but was given %u",
				  ctx->name, i, ctx->pl->nargs);
	*data = ctx->arg_data[i];
	*len = ctx->arg_len[i];
	return 0;
}

static int arg_fixed(const tarn_task_ctx_t *ctx, size_t i, void *out,
		     size_t size, const char *type)
{
	const void *p;
	size_t n;
	int rc = tarn_task_arg(ctx, i, &p, &n);

	if (rc)
		return rc;
	if (!out)
		return tarn_error(TARN_EINVAL, "tarn_task_arg_%s: NULL out", type);
	if (n != size)
		return tarn_error(TARN_EINVAL,
				  "argument %zu of task '%s' is %zu bytes, expected %zu for %s",
				  i, ctx->name, n, size,
				  strcmp(type, "i64") ? "a double" : "an int64");
	memcpy(out, p, size);
	return 0;
}

TARN_API int tarn_task_arg_i64(const tarn_task_ctx_t *ctx, size_t i,
			       int64_t *out)
{
	return arg_fixed(ctx, i, out, sizeof(*out), "i64");
}

TARN_API int tarn_task_arg_f64(const tarn_task_ctx_t *ctx, size_t i,
			       double *out)
{
	return arg_fixed(ctx, i, out, sizeof(*out), "f64");
}

TARN_API int tarn_task_fail(tarn_task_ctx_t *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx || !fmt)
		return TARN_ETASK;
	va_start(ap, fmt);
	vsnprintf(ctx->fail, sizeof(ctx->fail), fmt, ap);
	va_end(ap);
	ctx->fail_set = true;
	return TARN_ETASK;
}

TARN_API void *tarn_actor_self(const tarn_task_ctx_t *ctx)
{
	return ctx ? ctx->self : NULL;
}

TARN_API void tarn_actor_set_self(tarn_task_ctx_t *ctx, void *self)
{
	if (ctx && ctx->is_ctor)
		ctx->self = self;
}

/* Running --------------------------------------------------------------- */

static uint32_t max_attempts(const struct payload *pl)
{
	return (uint32_t)(pl->max_retries < 0 ? 0 : pl->max_retries) + 1;
}

/* "task 'f' failed on W (attempt 2 of 4): cause" */
static char *failure_message(const char *name, const char *worker,
			     uint32_t attempt, uint32_t of, bool retried,
			     const char *cause)
{
	if (retried)
		return g_strdup_printf("task '%s' failed on %s (attempt %u of %u): %s",
				       name, worker, attempt, of, cause);
	return g_strdup_printf("task '%s' failed on %s (attempt %u; errors are retried only with retry_on_error): %s",
			       name, worker, attempt, cause);
}

/* Why one call of the function did not succeed, or NULL when it did. */
static char *attempt_cause(tarn_task_ctx_t *ctx, int rc, double elapsed)
{
	const struct payload *pl = ctx->pl;

	if (pl->timeout > 0 && elapsed > pl->timeout)
		return g_strdup_printf("timed out: ran %.3f s, limit %.3f s",
				       elapsed, pl->timeout);
	if (rc != 0) {
		if (ctx->fail_set)
			return g_strdup(ctx->fail);
		if (rc < 0 && rc >= -20)
			return g_strdup_printf("returned %d (%s: %s)", rc,
					       tarn_err_name(rc), tarn_strerror(rc));
		return g_strdup_printf("returned %d", rc);
	}
	for (uint32_t i = 0; i < pl->num_returns; i++)
		if (!ctx->results[i].set)
			return g_strdup_printf("returned 0 without setting result %u of %u",
					       i, pl->num_returns);
	return NULL;
}

static int run(const void *payload, size_t len, uint32_t attempt,
	       tarn_task_report_t *report);

int tarn_exec_run(tarn_host_t *host, const void *payload, size_t len,
		  uint32_t attempt, tarn_task_report_t *report)
{
	tarn_task_report_t full;
	int rc;

	(void)host;
	memset(&full, 0, sizeof(full));
	rc = run(payload, len, attempt, &full);
	/* The backend owns the storage: write no more than it was built with. */
	if (report && report->size >= sizeof(report->size)) {
		size_t n = report->size < sizeof(full) ? report->size : sizeof(full);

		full.size = report->size;
		memcpy(report, &full, n);
	}
	return rc;
}

/* A call's arguments and results need no allocation up to this many. */
enum { SMALL = 8 };

/*
 * Room for one call's arguments, views and results: on the stack for the
 * common few, allocated once per task for more (a multi-call task reuses it
 * for every call).
 */
struct call_space {
	const void *arg_data_small[SMALL];
	size_t arg_len_small[SMALL];
	tarn_obj_view_t views_small[SMALL];
	struct result results_small[SMALL];
	const void **arg_data;
	size_t *arg_len;
	tarn_obj_view_t *views;
	struct result *results;
};

static void space_init(struct call_space *sp, uint32_t nargs, uint32_t num_returns)
{
	if (nargs <= SMALL) {
		sp->arg_data = sp->arg_data_small;
		sp->arg_len = sp->arg_len_small;
		sp->views = sp->views_small;
	} else {
		sp->arg_data = g_new0(const void *, nargs);
		sp->arg_len = g_new0(size_t, nargs);
		sp->views = g_new0(tarn_obj_view_t, nargs);
	}
	sp->results = num_returns <= SMALL ? sp->results_small
					   : g_new0(struct result, num_returns);
}

static void space_free(struct call_space *sp)
{
	if (sp->views != sp->views_small) {
		g_free(sp->views);
		g_free((void *)sp->arg_data);
		g_free(sp->arg_len);
	}
	if (sp->results != sp->results_small)
		g_free(sp->results);
}

/* A constructor that failed leaves a failed actor, so that calls say why. */
static void ctor_failed(const struct payload *pl, const struct reg_entry *e, const char *msg)
{
	struct actor_inst *made = g_new0(struct actor_inst, 1);

	made->id = pl->actor;
	made->cls = e;
	made->failed = g_strdup(msg);
	actor_put(made);
}

/*
 * One call of @e with the arguments of @ctx->pl: fetch them (a failed input
 * fails the call), call (retrying in place when asked), then seal the
 * results or store the failure as every result. Returns 0 or TARN_ETASK.
 */
static int call(const struct reg_entry *e, tarn_task_ctx_t *ctx, struct call_space *sp,
		uint64_t *bytes_in)
{
	const tarn_backend_desc_t *ops = tarn_rt.ops;
	const struct payload *pl = ctx->pl;
	uint64_t t0 = pl->timeout > 0 ? g_get_monotonic_time() : 0;
	char *msg = NULL;
	int status = 0, rc;

	ctx->arg_data = sp->arg_data;
	ctx->arg_len = sp->arg_len;
	ctx->results = sp->results;
	memset(sp->views, 0, sizeof(*sp->views) * pl->nargs);
	for (uint32_t i = 0; i < pl->nargs; i++) {
		const struct payload_arg *a = &pl->args[i];
		tarn_obj_view_t *v = &sp->views[i];

		if (a->kind != TARN_ARG_REF) {
			ctx->arg_data[i] = a->data;
			ctx->arg_len[i] = a->len;
			*bytes_in += a->len;
			continue;
		}
		rc = ops->fetch(tarn_rt.be, a->ref, TARN_FOREVER, v);
		if (rc) {
			memset(v, 0, sizeof(*v));
			msg = g_strdup_printf("task '%s' did not run on %s: argument %u (ref %" PRIu64 ":%" PRIu64
					      ") cannot be fetched: %s (%s)",
					      pl->name, tarn_rt.worker, i, a->ref.origin, a->ref.seq,
					      tarn_strerror(rc), tarn_last_error());
			goto fail_early;
		}
		if (v->flags & TARN_OBJ_ERROR) {
			/* Same cause as the producer's failure, as the contract says. */
			msg = g_strdup_printf("task '%s' did not run: argument %u comes from a failed task: %.*s",
					      pl->name, i, (int)v->len, (const char *)v->data);
			goto fail_early;
		}
		ctx->arg_data[i] = v->data;
		ctx->arg_len[i] = v->len;
		*bytes_in += v->len;
	}

	memset(ctx->results, 0, sizeof(struct result) * pl->num_returns);
	for (;;) {
		char *cause;

		rc = e->fn(ctx);
		/* Elapsed time matters only against a limit. */
		cause = attempt_cause(ctx, rc, pl->timeout > 0
					? (double)(g_get_monotonic_time() - t0) / 1e6 : 0);
		if (!cause)
			break;
		if (pl->timeout > 0)
			t0 = g_get_monotonic_time();
		if (pl->retry_on_error && ctx->attempt < max_attempts(pl)) {
			tarn_log(TARN_LOG_INFO, "task '%s' attempt %u failed, retrying: %s",
				 ctx->name, ctx->attempt, cause);
			g_free(cause);
			if (ctx->is_ctor && ctx->self && e->dtor)
				e->dtor(ctx->self);
			ctx->self = ctx->is_ctor ? NULL : ctx->self;
			ctx->attempt++;
			ctx->fail_set = false;
			ctx->bytes_out = 0;
			memset(ctx->results, 0, sizeof(struct result) * pl->num_returns);
			continue;
		}
		msg = failure_message(ctx->name, tarn_rt.worker, ctx->attempt,
				      max_attempts(pl), pl->retry_on_error, cause);
		g_free(cause);
		break;
	}

	if (ctx->is_ctor) {
		if (msg) {
			if (ctx->self && e->dtor)
				e->dtor(ctx->self);
			ctor_failed(pl, e, msg);
		} else {
			struct actor_inst *made = g_new0(struct actor_inst, 1);

			made->id = pl->actor;
			made->cls = e;
			made->self = ctx->self;
			actor_put(made);
		}
	}
	if (msg) {
		tarn_exec_store_error(pl->returns, pl->num_returns, msg);
		status = TARN_ETASK;
	} else {
		for (uint32_t i = 0; i < pl->num_returns; i++) {
			rc = ops->seal(tarn_rt.be, pl->returns[i]);
			if (rc)
				tarn_log(TARN_LOG_ERROR, "task '%s': cannot seal result %u: %s",
					 ctx->name, i, tarn_strerror(rc));
		}
	}
	goto done;

fail_early:
	if (ctx->is_ctor)
		ctor_failed(pl, e, msg);
	tarn_exec_store_error(pl->returns, pl->num_returns, msg);
	status = TARN_ETASK;
done:
	for (uint32_t i = 0; i < pl->nargs; i++)
		if (sp->views[i].data || sp->views[i].token)
			ops->unpin(tarn_rt.be, &sp->views[i]);
	g_free(msg);
	return status;
}

/*
 * Which results of a multi-call task exist already: on a retry after its
 * worker died, the calls that finished keep their results and do not run
 * again. NULL when none can be known (the caller runs every call).
 */
static bool *finished_calls(const struct payload_multi *m)
{
	size_t n = (size_t)m->ncalls * m->num_returns;
	tarn_ref_t *refs;
	bool *ready;

	if (n == 0)
		return NULL;
	refs = g_new(tarn_ref_t, n);
	ready = g_new0(bool, n);
	memcpy(refs, m->returns, n * sizeof(tarn_ref_t));
	if (tarn_rt.ops->wait(tarn_rt.be, refs, n, n, 0, ready) < 0) {
		g_free(ready);
		ready = NULL;
	}
	g_free(refs);
	return ready;
}

static int run_multi(const void *payload, size_t len, uint32_t attempt,
		     tarn_task_report_t *report, uint64_t *bytes_in)
{
	const struct reg_entry *e;
	struct payload_multi m;
	struct call_space sp;
	struct payload *pl;
	bool *finished = NULL;
	uint32_t last_attempt = attempt;
	int status = 0, rc;

	rc = tarn_payload_multi_open(payload, len, &m);
	if (rc) {
		tarn_log(TARN_LOG_ERROR, "%s", tarn_last_error());
		report->attempt = attempt;
		return rc;
	}
	pl = g_malloc0(sizeof(*pl) + m.num_returns * sizeof(tarn_ref_t) +
		       m.nargs * sizeof(struct payload_arg));
	pl->returns = (tarn_ref_t *)(pl + 1);
	pl->args = (struct payload_arg *)(pl->returns + m.num_returns);
	tarn_payload_multi_fill(&m, pl);
	space_init(&sp, m.nargs, m.num_returns);
	e = tarn_registry_find(m.name, REG_TASK);
	if (attempt > 1)
		finished = finished_calls(&m);
	while (tarn_payload_multi_next(&m, pl)) {
		size_t first = (size_t)(m.done - 1) * m.num_returns;
		tarn_task_ctx_t ctx;
		bool all = m.num_returns > 0;

		for (uint32_t r = 0; finished && r < m.num_returns; r++)
			all &= finished[first + r];
		if (finished && all)
			continue;
		if (!e) {
			char *names = tarn_registry_names(REG_TASK, 20);
			char *msg = g_strdup_printf("task '%s' is not registered on %s (registered: %s)",
						    pl->name, tarn_rt.worker, names);

			tarn_exec_store_error(pl->returns, pl->num_returns, msg);
			g_free(names);
			g_free(msg);
			status = TARN_ETASK;
			continue;
		}
		memset(&ctx, 0, offsetof(tarn_task_ctx_t, fail));
		ctx.fail_set = false;
		ctx.self = NULL;
		ctx.is_ctor = false;
		ctx.bytes_out = 0;
		ctx.pl = pl;
		ctx.name = pl->name;
		ctx.attempt = attempt ? attempt : 1;
		if (call(e, &ctx, &sp, bytes_in))
			status = TARN_ETASK;
		report->bytes_out += ctx.bytes_out;
		last_attempt = MAX(last_attempt, ctx.attempt);
	}
	report->attempt = last_attempt ? last_attempt : 1;
	g_free(finished);
	space_free(&sp);
	g_free(pl);
	return status;
}

static int run(const void *payload, size_t len, uint32_t attempt,
	       tarn_task_report_t *report)
{
	const struct reg_entry *e = NULL;
	struct actor_inst *inst = NULL;
	struct call_space sp;
	tarn_task_ctx_t ctx;
	struct payload *pl = NULL;
	char key[2 * sizeof(pl->name) + 2];
	char *msg = NULL;
	uint64_t start = g_get_monotonic_time(), bytes_in = 0;
	int status = 0, rc;
	/* A decoded payload with a few arguments and results fits here. */
	union {
		struct payload pl;
		unsigned char bytes[sizeof(struct payload) + SMALL * sizeof(tarn_ref_t) +
				    SMALL * sizeof(struct payload_arg)];
	} pl_space;

	if (tarn_payload_is_multi(payload, len)) {
		status = run_multi(payload, len, attempt, report, &bytes_in);
		goto report;
	}
	rc = tarn_payload_decode_into(payload, len, &pl_space, sizeof(pl_space), &pl);
	if (rc) {
		tarn_log(TARN_LOG_ERROR, "%s", tarn_last_error());
		status = rc;
		report->attempt = attempt;
		goto report;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.pl = pl;
	ctx.name = pl->name;
	ctx.attempt = attempt ? attempt : 1;

	switch (pl->kind) {
	case TARN_TASK_PLAIN:
		e = tarn_registry_find(pl->name, REG_TASK);
		break;
	case TARN_TASK_ACTOR_CREATE:
		e = tarn_registry_find(pl->name, REG_CLASS);
		ctx.is_ctor = true;
		break;
	case TARN_TASK_ACTOR_CALL:
		inst = actor_find(pl->actor);
		if (!inst) {
			msg = g_strdup_printf("actor call '%s' failed on %s: actor %" PRIu64 ":%" PRIu64
					      " does not live in this process (killed, or lost with its worker)",
					      pl->name, tarn_rt.worker, pl->actor.origin, pl->actor.seq);
			goto fail_early;
		}
		snprintf(key, sizeof(key), "%s.%s", inst->cls->name, pl->name);
		g_strlcpy(pl->name, key, sizeof(pl->name));
		if (inst->failed) {
			msg = g_strdup_printf("actor call '%s' failed: the actor's constructor failed: %s",
					      key, inst->failed);
			goto fail_early;
		}
		e = tarn_registry_find(key, REG_METHOD);
		ctx.self = inst->self;
		break;
	default:
		msg = g_strdup_printf("task '%s' has unknown kind %u", pl->name, pl->kind);
		goto fail_early;
	}
	if (!e) {
		int kind = pl->kind == TARN_TASK_PLAIN ? REG_TASK
			   : pl->kind == TARN_TASK_ACTOR_CREATE ? REG_CLASS
								 : REG_METHOD;
		char *names = tarn_registry_names(kind, 20);

		msg = g_strdup_printf("%s '%s' is not registered on %s (registered: %s)",
				      kind == REG_TASK ? "task" : kind == REG_CLASS ? "actor class" : "method",
				      pl->name, tarn_rt.worker, names);
		g_free(names);
		goto fail_early;
	}

	space_init(&sp, pl->nargs, pl->num_returns);
	status = call(e, &ctx, &sp, &bytes_in);
	space_free(&sp);
	report->attempt = ctx.attempt;
	report->bytes_out = ctx.bytes_out;
	goto done;

fail_early:
	tarn_exec_store_error(pl->returns, pl->num_returns, msg);
	status = TARN_ETASK;
	report->attempt = ctx.attempt;
done:
	g_free(msg);
	if (pl != &pl_space.pl)
		g_free(pl);
report:
	report->status = status;
	report->start_ns = start * 1000;
	report->end_ns = (uint64_t)g_get_monotonic_time() * 1000;
	report->bytes_in = bytes_in;
	return status;
}

int tarn_exec_task_lost(tarn_host_t *host, const tarn_task_desc_t *task,
			const tarn_failure_t *why)
{
	bool may_retry = why->kind != TARN_FAIL_TIMEOUT || task->retry_on_error;
	char cause[512];
	char *msg;

	(void)host;
	if (may_retry && task->attempt <= task->max_retries)
		return TARN_RETRY;
	switch (why->kind) {
	case TARN_FAIL_CRASHED:
		if (why->signal > 0)
			snprintf(cause, sizeof(cause), "the worker was killed by signal %d (%s)%s%s",
				 why->signal, strsignal(why->signal),
				 why->detail ? ": " : "", why->detail ? why->detail : "");
		else
			snprintf(cause, sizeof(cause), "the worker exited with status %d%s%s",
				 why->exit_status, why->detail ? ": " : "",
				 why->detail ? why->detail : "");
		break;
	case TARN_FAIL_TIMEOUT:
		snprintf(cause, sizeof(cause), "timed out: stopped at its limit of %.3f s",
			 task->timeout);
		break;
	default:
		snprintf(cause, sizeof(cause), "the worker was lost%s%s",
			 why->detail ? ": " : "", why->detail ? why->detail : "");
		break;
	}
	msg = failure_message(task->name, why->worker ? why->worker : "an unknown worker",
			      task->attempt, task->max_retries + 1, may_retry, cause);
	tarn_exec_store_error(task->returns, task->num_returns, msg);
	g_free(msg);
	return 0;
}
