/* SPDX-License-Identifier: MIT */
/*
 * The mpi backend's driver half (rank 0): the object directory, the
 * scheduler, the actors, and the watch over the other ranks.
 *
 * The directory is the one place that decides when an object is freed: it
 * counts holds (refs held by programs and tasks) and pins (pending tasks,
 * views, transfers in progress), and when both reach zero it tells the
 * owner rank to drop the bytes (T_FREE).
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pool.h"
#include "reftab.h"
#include "tm.h"

static const unsigned char empty_bytes[8];

struct dobj {
	tarn_ref_t ref;
	bool sealed;
	bool result;          /* a task's result, not sealed yet: kept for its producer */
	int owner;            /* rank holding the bytes; TM_DRIVER when @bytes has them */
	bool shm;             /* the owner keeps them in its host's shared store */
	uint32_t flags;
	uint64_t len;
	unsigned char *bytes; /* the driver's copy (driver-owned or inline), or @small */
	unsigned char small[16]; /* a result this small needs no allocation of its own */
	uint32_t holds;
	uint32_t pins;
	GPtrArray *waiters;   /* struct dtask waiting for this object */
	struct dtask *producer; /* the dispatched task that will seal it */
	GArray *locators;     /* struct locator: ranks waiting in T_LOCATE */
};

struct locator {
	int rank;
	uint64_t req;
};

struct dactor;

struct dtask {
	tarn_task_desc_t d; /* deps, returns, payload, name: owned copies */
	uint32_t missing;   /* deps not sealed yet */
	int rank;           /* dispatched to; -1 when not */
	struct dactor *actor;
	bool kill;          /* an actor's kill marker, not a task */
	bool finishing;     /* dispatched, and its results are all sealed */
	uint32_t unsealed;  /* dispatched, and results not sealed yet */
	uint32_t pad_;
};

struct dactor {
	tarn_actor_t id;
	int rank;
	bool killed;
	bool due;       /* in the driver's actors_due */
	GQueue pending; /* calls not dispatched yet, in call order */
};

/* A view that is not of a directory entry (those need no record: dir_token()). */
struct dview {
	unsigned char *own; /* a fetched copy */
	void *map;          /* a mapping of the owner's shared segment */
	size_t map_len;
};

struct lost {
	struct dtask *t;
	char worker[256];
};

struct tm_driver {
	struct tm_rank *ranks;
	GHashTable **inflight; /* per rank: task id -> dtask */
	/*
	 * The directory: ref -> dobj. procpool's ref table (refs the driver
	 * mints, every result and put of its own, in directly indexed pages;
	 * the workers' puts probed) and record pool. An open-addressing table
	 * of refs, records malloc()ed one by one, was a fifth of the driver's
	 * time in a batch of a million no-op calls, in cache misses.
	 */
	struct reftab objs;
	struct pp_pool obj_pool;
	GHashTable *actors;    /* actor -> dactor */
	/*
	 * Actors whose first pending call may be dispatchable now (a call
	 * came, or its head's dependencies sealed): dispatch() pumps these
	 * only, not every actor, so that a task's cost does not grow with
	 * the number of actors.
	 */
	GQueue actors_due;
	uint32_t *rank_actors; /* per rank: live actors placed there */
	GQueue ready;
	GPtrArray *lost;
	GPtrArray *libs;
	uint32_t rr;
	bool closing;
	uint64_t last_ping_ns;
};

static struct tm_driver *D(struct tarn_backend *be)
{
	return be->d;
}

/* Objects ------------------------------------------------------------------------- */

static struct dobj *obj_find(struct tm_driver *d, tarn_ref_t ref)
{
	return reftab_find(&d->objs, ref);
}

/* @ref's entry, made (zeroed, no holds) when it has none, with *@fresh telling which. */
static struct dobj *obj_get(struct tm_driver *d, tarn_ref_t ref, bool *fresh)
{
	struct dobj *o = reftab_find(&d->objs, ref);

	*fresh = !o;
	if (o)
		return o;
	o = pp_pool_alloc(&d->obj_pool);
	if (!o)
		g_error("mpi: out of memory for a directory entry");
	o->ref = ref;
	o->owner = -1;
	reftab_put(&d->objs, ref, o);
	return o;
}

/* Give back the driver's copy of @o's bytes. */
static void obj_drop_bytes(struct dobj *o)
{
	if (o->bytes != o->small)
		g_free(o->bytes);
	o->bytes = NULL;
}

static void obj_free(struct tm_driver *d, struct dobj *o)
{
	if (o->waiters)
		g_ptr_array_free(o->waiters, TRUE);
	if (o->locators)
		g_array_free(o->locators, TRUE);
	obj_drop_bytes(o);
	pp_pool_free(&d->obj_pool, o);
}

/* Take @o out of the table and free it. */
static void obj_delete(struct tm_driver *d, struct dobj *o)
{
	reftab_remove(&d->objs, o->ref);
	obj_free(d, o);
}

/* Free @o when nobody needs it any more, on its owner too (lock held). */
static void obj_maybe_free(struct tarn_backend *be, struct dobj *o)
{
	if (o->holds || o->pins || (o->result && !o->sealed) ||
	    (o->waiters && o->waiters->len) || (o->locators && o->locators->len))
		return;
	if (o->sealed && o->owner > TM_DRIVER && !o->bytes)
		tm_send(be, o->owner, T_FREE, &o->ref, sizeof(o->ref), NULL, 0);
	obj_delete(D(be), o);
}

static bool obj_has_bytes(const struct dobj *o)
{
	return o->bytes || (o->owner == TM_DRIVER && o->len == 0);
}

static const void *obj_data(const struct dobj *o)
{
	return o->bytes ? (const void *)o->bytes : (const void *)empty_bytes;
}

/* The answer to a T_LOCATE: where the bytes are, and the bytes when we have them. */
static void send_located(struct tarn_backend *be, int rank, uint64_t req, struct dobj *o,
			 tarn_ref_t ref, int status)
{
	struct tm_data m = {.req = req, .ref = ref, .status = status, .owner = -1};
	bool inl = false;

	if (o && status == 0) {
		m.owner = o->owner;
		m.flags = o->flags;
		m.len = o->len;
		m.shm = o->shm;
		inl = obj_has_bytes(o) && o->len <= TM_INLINE_MAX;
		m.inline_len = inl ? o->len : 0;
	}
	tm_send(be, rank, T_LOCATED, &m, sizeof(m), inl ? obj_data(o) : NULL,
		inl ? o->len : 0);
}

/* Tasks ------------------------------------------------------------------------------ */

_Static_assert(sizeof(struct dtask) % 8 == 0, "refs after struct dtask must stay aligned");

static struct dtask *task_copy(const tarn_task_desc_t *t)
{
	size_t deps = t->num_deps * sizeof(tarn_ref_t), rets = t->num_returns * sizeof(tarn_ref_t);
	size_t name = strlen(t->name) + 1;
	struct dtask *p = g_malloc0(sizeof(*p) + deps + rets + t->payload_len + name);
	unsigned char *q = (unsigned char *)(p + 1);

	p->d = *t;
	p->d.size = sizeof(p->d);
	memcpy(q, t->deps, deps);
	p->d.deps = (const tarn_ref_t *)q;
	q += deps;
	memcpy(q, t->returns, rets);
	p->d.returns = (const tarn_ref_t *)q;
	q += rets;
	if (t->payload_len)
		memcpy(q, t->payload, t->payload_len);
	p->d.payload = q;
	q += t->payload_len;
	memcpy(q, t->name, name);
	p->d.name = (const char *)q;
	p->d.resources = NULL; /* custom resources are not scheduled */
	p->d.num_resources = 0;
	p->rank = -1;
	return p;
}

static void task_unpin_deps(struct tarn_backend *be, struct dtask *t)
{
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct dobj *o = obj_find(D(be), t->d.deps[i]);

		if (o && o->pins) {
			o->pins--;
			obj_maybe_free(be, o);
		}
	}
}

/*
 * The least loaded worker (of equals, the one picked last); the owner of the task's largest argument when it is nearly as
 * little loaded (moving the argument costs more than waiting
 * behind a task or two).
 */
/*
 * Tasks ahead of a new one on @k: a task whose results are all sealed is
 * as good as done (its done message may come a little later).
 */
static uint32_t load_of(const struct tm_rank *k)
{
	return k->queued - MIN(k->finishing, k->queued);
}

static int pick_worker(struct tarn_backend *be, const struct dtask *t)
{
	struct tm_driver *d = D(be);
	int nw = be->size - TM_FIRST_WORKER, best = -1, owner = -1;
	uint32_t best_n = UINT32_MAX;
	uint64_t biggest = TM_INLINE_MAX;

	if (be->round_robin) {
		/* unidist's policy: each live worker in turn, whatever it holds. */
		for (int i = 0; i < nw; i++) {
			int r = TM_FIRST_WORKER + (int)(d->rr++ % (uint32_t)nw);

			if (d->ranks[r].alive)
				return r;
		}
		return -1;
	}
	for (int i = 0; i < nw; i++) {
		int r = TM_FIRST_WORKER + (int)((d->rr + (uint32_t)i) % (uint32_t)nw);

		if (d->ranks[r].alive && load_of(&d->ranks[r]) < best_n) {
			best = r;
			best_n = load_of(&d->ranks[r]);
		}
	}
	/*
	 * Of equals, the worker picked last: one task at a time then stays on
	 * one worker, awake and polling, while the others sleep (rotating
	 * kept every worker spinning, more threads than this machine's 2
	 * cores).
	 */
	if (best >= 0) {
		int last = TM_FIRST_WORKER + (int)(d->rr % (uint32_t)nw);

		if (d->ranks[last].alive && load_of(&d->ranks[last]) == best_n)
			best = last;
	}
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct dobj *o = obj_find(d, t->d.deps[i]);

		if (o && o->sealed && o->owner >= TM_FIRST_WORKER && !o->bytes && o->len > biggest) {
			biggest = o->len;
			owner = o->owner;
		}
	}
	if (owner >= 0 && d->ranks[owner].alive &&
	    load_of(&d->ranks[owner]) <= best_n + TM_LOCALITY_SLACK)
		best = owner;
	if (best >= 0)
		d->rr = (uint32_t)(best - TM_FIRST_WORKER);
	return best;
}

/* An argument's bytes travel inside the task message (lock held). */
static bool dep_inline(const struct dobj *o)
{
	return o && o->sealed && obj_has_bytes(o) && o->len <= TM_INLINE_MAX;
}

static void send_task(struct tarn_backend *be, struct dtask *t, int rank)
{
	struct tm_driver *d = D(be);
	size_t len = sizeof(struct tm_task) + t->d.num_deps * sizeof(struct tm_dep) +
		     t->d.payload_len;
	struct tm_task m = {
		.id = t->d.id,
		.actor = t->d.actor,
		.kind = t->d.kind,
		.attempt = t->d.attempt,
		.ndeps = (uint32_t)t->d.num_deps,
		.payload_len = t->d.payload_len,
	};
	unsigned char *buf, *q;

	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct dobj *o = obj_find(d, t->d.deps[i]);

		if (dep_inline(o))
			len += tm_pad8(o->len);
	}
	/* Built in place: no staging buffer to grow and copy per task. */
	buf = tm_send_alloc(be, rank, T_TASK, len);
	memcpy(buf, &m, sizeof(m));
	q = buf + sizeof(m);
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct dobj *o = obj_find(d, t->d.deps[i]);
		struct tm_dep dep = {.ref = t->d.deps[i], .owner = -1};
		bool inl = dep_inline(o);

		if (o && o->sealed) {
			dep.owner = o->owner;
			dep.flags = o->flags;
			dep.len = o->len;
			dep.shm = o->shm;
			dep.inline_len = inl ? o->len : 0;
		}
		memcpy(q, &dep, sizeof(dep));
		q += sizeof(dep);
		if (inl) {
			memcpy(q, obj_data(o), o->len);
			memset(q + o->len, 0, tm_pad8(o->len) - o->len);
			q += tm_pad8(o->len);
		}
	}
	if (t->d.payload_len)
		memcpy(q, t->d.payload, t->d.payload_len);
	tm_send_commit(be, buf);
	t->unsealed = 0;
	t->finishing = false;
	for (size_t i = 0; i < t->d.num_returns; i++) {
		struct dobj *o = obj_find(d, t->d.returns[i]);

		if (o && !o->sealed) {
			o->producer = t;
			t->unsealed++;
		}
	}
	t->rank = rank;
	d->ranks[rank].queued++;
	g_hash_table_replace(d->inflight[rank], &t->d.id, t);
	tm_trace(be, "task %s %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT " -> rank %d", t->d.name,
		 t->d.id.origin, t->d.id.seq, rank);
}

static void actor_pump(struct tarn_backend *be, struct dactor *a)
{
	struct dtask *t;

	while ((t = g_queue_peek_head(&a->pending))) {
		if (t->kill) {
			tm_send(be, a->rank, T_KILL_ACTOR, &a->id, sizeof(a->id), NULL, 0);
			g_queue_pop_head(&a->pending);
			g_free(t);
			continue;
		}
		if (t->missing)
			return;
		g_queue_pop_head(&a->pending);
		send_task(be, t, a->rank);
	}
}

static void actor_due(struct tm_driver *d, struct dactor *a)
{
	if (!a->due) {
		a->due = true;
		g_queue_push_tail(&d->actors_due, a);
	}
}

static void dispatch(struct tarn_backend *be)
{
	struct tm_driver *d = D(be);
	struct dactor *a;
	struct dtask *t;

	while ((t = g_queue_pop_head(&d->ready))) {
		int rank = pick_worker(be, t);

		if (rank < 0) {
			g_queue_push_head(&d->ready, t);
			break;
		}
		send_task(be, t, rank);
	}
	while ((a = g_queue_pop_head(&d->actors_due))) {
		a->due = false;
		actor_pump(be, a);
	}
}

static void task_dep_ready(struct tm_driver *d, struct dtask *t)
{
	if (--t->missing)
		return;
	if (t->actor)
		actor_due(d, t->actor);
	else
		g_queue_push_tail(&d->ready, t);
}

static void seal_locked(struct tarn_backend *be, struct dobj *o)
{
	struct tm_driver *d = D(be);
	bool ready = false;

	o->sealed = true;
	o->result = false;
	if (o->producer) {
		struct dtask *t = o->producer;

		o->producer = NULL;
		if (t->rank >= 0 && t->unsealed && --t->unsealed == 0) {
			t->finishing = true;
			d->ranks[t->rank].finishing++;
		}
	}
	if (o->waiters && o->waiters->len) {
		for (guint i = 0; i < o->waiters->len; i++)
			task_dep_ready(d, o->waiters->pdata[i]);
		g_ptr_array_set_size(o->waiters, 0);
		ready = true;
	}
	if (o->locators) {
		GArray *l = o->locators;

		o->locators = NULL;
		for (guint i = 0; i < l->len; i++) {
			struct locator *x = &g_array_index(l, struct locator, i);

			send_located(be, x->rank, x->req, o, o->ref, 0);
		}
		g_array_free(l, TRUE);
	}
	tm_wake(be);
	/*
	 * Only a task that waited for @o can have become ready: the ready
	 * queue is empty otherwise (it waits for a live worker only).
	 */
	if (ready)
		dispatch(be);
	obj_maybe_free(be, o);
}

/* Register @t and run it once its deps exist (lock held). */
static void submit_locked(struct tarn_backend *be, struct dtask *t)
{
	struct tm_driver *d = D(be);

	for (size_t i = 0; i < t->d.num_returns; i++) {
		bool fresh;
		struct dobj *o = obj_get(d, t->d.returns[i], &fresh);

		o->holds++;
		if (!o->sealed)
			o->result = true;
	}
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct dobj *o = obj_find(d, t->d.deps[i]);

		if (!o)
			continue; /* unknown: the task sees TARN_ENOENT */
		o->pins++;
		if (!o->sealed) {
			if (!o->waiters)
				o->waiters = g_ptr_array_new();
			g_ptr_array_add(o->waiters, t);
			t->missing++;
		}
	}
	if (t->actor) {
		g_queue_push_tail(&t->actor->pending, t);
		actor_due(d, t->actor);
	} else if (!t->missing)
		g_queue_push_tail(&d->ready, t);
	dispatch(be);
}

static int actor_submit_locked(struct tarn_backend *be, struct dtask *t)
{
	struct dactor *a = g_hash_table_lookup(D(be)->actors, &t->d.actor);

	if (!a || a->killed) {
		g_free(t);
		return TARN_EACTOR;
	}
	t->actor = a;
	submit_locked(be, t);
	return 0;
}

static int actor_create_locked(struct tarn_backend *be, struct dtask *t)
{
	struct tm_driver *d = D(be);
	struct dactor *a = g_new0(struct dactor, 1);
	uint32_t best_n = UINT32_MAX;

	a->id = t->d.actor;
	a->rank = -1;
	for (int r = TM_FIRST_WORKER; r < be->size; r++) {
		/* Spread actors: count each as a queued task of its worker. */
		uint32_t n = d->ranks[r].queued + d->rank_actors[r];

		if (!d->ranks[r].alive)
			continue;
		if (n < best_n) {
			best_n = n;
			a->rank = r;
		}
	}
	if (a->rank < 0) {
		g_free(a);
		g_free(t);
		return TARN_EWORKER;
	}
	g_queue_init(&a->pending);
	d->rank_actors[a->rank]++;
	g_hash_table_replace(d->actors, &a->id, a);
	t->actor = a;
	submit_locked(be, t);
	return 0;
}

static int actor_kill_locked(struct tarn_backend *be, tarn_actor_t id)
{
	struct dactor *a = g_hash_table_lookup(D(be)->actors, &id);
	struct dtask *k;

	if (!a || a->killed)
		return TARN_ENOENT;
	a->killed = true;
	D(be)->rank_actors[a->rank]--;
	k = g_new0(struct dtask, 1);
	k->kill = true;
	k->rank = -1;
	g_queue_push_tail(&a->pending, k);
	actor_pump(be, a);
	return 0;
}

/* An attempt ended on @rank (lock held). */
static void task_finished(struct tarn_backend *be, int rank, const struct tm_done *m)
{
	struct tm_driver *d = D(be);
	struct dtask *t = g_hash_table_lookup(d->inflight[rank], &m->id);
	bool unsealed = false;

	if (!t)
		return;
	g_hash_table_remove(d->inflight[rank], &m->id);
	if (d->ranks[rank].queued)
		d->ranks[rank].queued--;
	if (t->finishing && d->ranks[rank].finishing)
		d->ranks[rank].finishing--;
	t->finishing = false;
	/*
	 * t->unsealed counts the results still to be sealed since dispatch:
	 * at 0 (the rule: the seals came with the done message) none points
	 * back at t and none is unsealed, and the results need no lookup.
	 */
	for (size_t i = 0; t->unsealed && i < t->d.num_returns; i++) {
		struct dobj *o = obj_find(d, t->d.returns[i]);

		if (o && o->producer == t)
			o->producer = NULL; /* t is freed or sent again below */
	}
	if (be->host->task_done)
		be->host->task_done(be->host->host, &t->d, &m->report);
	for (size_t i = 0; t->unsealed && i < t->d.num_returns; i++) {
		struct dobj *o = obj_find(d, t->d.returns[i]);

		unsealed |= o && !o->sealed;
	}
	t->unsealed = 0;
	if (unsealed) {
		/* Only a payload that could not be run gets here; the host decides. */
		struct lost *l = g_new0(struct lost, 1);

		l->t = t;
		snprintf(l->worker, sizeof(l->worker), "rank %d (pid %d on %s)", rank,
			 d->ranks[rank].pid, d->ranks[rank].host);
		g_ptr_array_add(d->lost, l);
		return;
	}
	task_unpin_deps(be, t);
	g_free(t);
}

/* Ask the host about lost attempts, with the lock released. */
static void handle_lost(struct tarn_backend *be)
{
	struct tm_driver *d = D(be);

	for (;;) {
		struct lost *l = NULL;
		tarn_failure_t why = {.size = sizeof(why), .kind = TARN_FAIL_LOST, .exit_status = -1};
		int rc;

		g_mutex_lock(&be->lock);
		if (d->lost->len)
			l = g_ptr_array_steal_index(d->lost, 0);
		g_mutex_unlock(&be->lock);
		if (!l)
			return;
		why.worker = l->worker;
		why.detail = "the task could not be run there";
		rc = be->host->task_lost(be->host->host, &l->t->d, &why);
		g_mutex_lock(&be->lock);
		if (rc == TARN_RETRY) {
			l->t->d.attempt++;
			l->t->rank = -1;
			if (l->t->actor) {
				g_queue_push_head(&l->t->actor->pending, l->t);
				actor_due(d, l->t->actor);
			} else
				g_queue_push_tail(&d->ready, l->t);
			dispatch(be);
		} else {
			task_unpin_deps(be, l->t);
			g_free(l->t);
		}
		g_mutex_unlock(&be->lock);
		g_free(l);
	}
}

/* Messages ------------------------------------------------------------------------------ */

/* One seal record; its length with padding, or 0 when malformed. */
static size_t on_sealed_one(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_driver *d = D(be);
	struct tm_sealed m;
	struct dobj *o;
	bool fresh;

	if (len < sizeof(m))
		return 0;
	memcpy(&m, p, sizeof(m));
	if (m.inline_len && (m.inline_len != m.len || len - sizeof(m) < m.inline_len))
		return 0;
	o = obj_get(d, m.ref, &fresh);
	if (fresh)
		o->holds = 1; /* a put made there: its maker holds it */
	if (!o->sealed) {
		obj_drop_bytes(o);
		o->len = m.len;
		o->flags = m.flags;
		o->shm = false;
		if (m.inline_len || m.len == 0) {
			if (m.len > sizeof(o->small))
				o->bytes = g_memdup2(p + sizeof(m), m.len);
			else if (m.len)
				o->bytes = memcpy(o->small, p + sizeof(m), m.len);
			o->owner = TM_DRIVER;
		} else {
			o->owner = src;
			o->shm = m.shm;
		}
		seal_locked(be, o);
	}
	return sizeof(m) + tm_pad8(m.inline_len);
}

/* T_SEALED, or what follows a T_DONE: records back to back, each padded to 8. */
static void on_sealed(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t n = on_sealed_one(be, src, p + off, len - off);

		if (!n) {
			tm_log(be, TARN_LOG_ERROR, "rank %d sent a malformed seal", src);
			return;
		}
		off += n;
	}
}

/* One T_SUBMIT record; its length with padding, or 0 when malformed. */
static size_t on_submit_one(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_submit m;
	tarn_task_desc_t t;
	const unsigned char *q;
	size_t need;
	struct dtask *dt;
	int rc = 0;

	if (len < sizeof(m))
		return 0;
	memcpy(&m, p, sizeof(m));
	need = sizeof(m) + ((size_t)m.ndeps + m.nreturns) * sizeof(tarn_ref_t) +
	       tm_pad8(m.name_len + 1) + m.payload_len;
	if (need > len || m.ndeps > len || m.nreturns > TARN_MAX_RETURNS)
		return 0;
	q = p + sizeof(m);
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.id = m.id;
	t.kind = m.kind;
	t.actor = m.actor;
	t.attempt = 1;
	t.max_retries = m.max_retries;
	t.retry_on_error = m.retry_on_error;
	t.timeout = m.timeout;
	t.num_cpus = m.num_cpus;
	t.num_gpus = m.num_gpus;
	t.memory = m.memory;
	t.deps = (const tarn_ref_t *)q;
	t.num_deps = m.ndeps;
	q += m.ndeps * sizeof(tarn_ref_t);
	t.returns = (const tarn_ref_t *)q;
	t.num_returns = m.nreturns;
	q += m.nreturns * sizeof(tarn_ref_t);
	t.name = (const char *)q;
	q += tm_pad8(m.name_len + 1);
	t.payload = q;
	t.payload_len = m.payload_len;
	dt = task_copy(&t);
	if (m.kind == TARN_TASK_ACTOR_CREATE)
		rc = actor_create_locked(be, dt);
	else if (m.kind == TARN_TASK_ACTOR_CALL)
		rc = actor_submit_locked(be, dt);
	else
		submit_locked(be, dt);
	if (rc)
		tm_log(be, TARN_LOG_WARNING, "a task submitted on rank %d was refused: error %d",
		       src, rc);
	return tm_pad8(need);
}

/* A submission from a task, or a nested batch: records back to back. */
static void on_submit(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		size_t n = on_submit_one(be, src, p + off, len - off);

		if (!n) {
			tm_log(be, TARN_LOG_ERROR, "rank %d sent a malformed submission", src);
			return;
		}
		off += n;
	}
}

static void on_locate(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_req m;
	struct dobj *o;
	struct locator l;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	o = obj_find(D(be), m.ref);
	if (!o || (o->sealed && !o->holds && !o->pins)) {
		send_located(be, src, m.req, NULL, m.ref, TARN_ENOENT);
		return;
	}
	if (o->sealed) {
		send_located(be, src, m.req, o, o->ref, 0);
		return;
	}
	l.rank = src;
	l.req = m.req;
	if (!o->locators)
		o->locators = g_array_new(FALSE, FALSE, sizeof(struct locator));
	g_array_append_val(o->locators, l);
}

static void on_wait(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_wait m;
	struct tm_status r = {0};
	unsigned char *flags;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	if (m.n > (len - sizeof(m)) / sizeof(tarn_ref_t))
		return;
	flags = g_malloc0(m.n ? m.n : 1);
	r.req = m.req;
	for (uint64_t i = 0; i < m.n; i++) {
		tarn_ref_t ref;
		struct dobj *o;

		memcpy(&ref, p + sizeof(m) + i * sizeof(ref), sizeof(ref));
		o = obj_find(D(be), ref);
		if (!o) {
			r.status = TARN_ENOENT;
			break;
		}
		flags[i] = o->sealed;
		r.count += o->sealed;
	}
	tm_send(be, src, T_WAITED, &r, sizeof(r), flags, m.n);
	g_free(flags);
}

static void unpin_cb(void *arg)
{
	struct tarn_backend *be = ((void **)arg)[0];
	struct dobj *o = ((void **)arg)[1];

	g_mutex_lock(&be->lock);
	if (o->pins)
		o->pins--;
	obj_maybe_free(be, o);
	g_mutex_unlock(&be->lock);
	g_free(arg);
}

/* A rank fetches an object the driver owns. */
static void on_fetch(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_req m;
	struct tm_data r = {0};
	struct dobj *o;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	r.req = m.req;
	r.ref = m.ref;
	r.owner = TM_DRIVER;
	o = obj_find(D(be), m.ref);
	if (!o || !o->sealed || !obj_has_bytes(o)) {
		r.status = TARN_ENOENT;
		tm_send(be, src, T_DATA, &r, sizeof(r), NULL, 0);
		return;
	}
	r.flags = o->flags;
	r.len = o->len;
	if (o->len <= TM_INLINE_MAX) {
		r.inline_len = o->len;
		tm_send(be, src, T_DATA, &r, sizeof(r), obj_data(o), o->len);
	} else {
		void **arg = g_new(void *, 2);

		arg[0] = be;
		arg[1] = o;
		o->pins++;
		r.bulk = 1;
		tm_send(be, src, T_DATA, &r, sizeof(r), NULL, 0);
		tm_send_bulk(be, src, o->bytes, o->len, unpin_cb, arg);
	}
}

/* A reply to the driver's own fetch from an owner. */
static void on_data(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_data m;
	struct tm_pending *pd;
	unsigned char *buf = NULL;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	if (m.status == 0) {
		buf = g_try_malloc(m.len ? m.len : 1);
		if (m.bulk) {
			/* Receive it even when nobody waits any more: it is on the wire. */
			unsigned char *sink = buf ? buf : g_malloc(m.len);

			g_mutex_unlock(&be->lock);
			if (tm_recv_bulk(be, src, sink, m.len))
				m.status = TARN_EIO;
			g_mutex_lock(&be->lock);
			buf = sink;
		} else if (buf && m.inline_len == m.len && len >= sizeof(m) + m.len) {
			memcpy(buf, p + sizeof(m), m.len);
		} else {
			m.status = buf ? TARN_EPROTO : TARN_ENOMEM;
		}
	}
	pd = g_hash_table_lookup(be->pending, &m.req);
	if (!pd) {
		g_free(buf);
		return;
	}
	pd->done = true;
	pd->status = m.status;
	pd->flags = m.flags;
	pd->len = m.len;
	pd->buf = buf;
	tm_wake(be);
}

static void on_hello(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_rank *r = &D(be)->ranks[src];
	struct tm_hello m;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	m.host[sizeof(m.host) - 1] = '\0';
	r->pid = m.pid;
	snprintf(r->host, sizeof(r->host), "%s", m.host);
	r->known = true;
	r->alive = true;
	r->local = strcmp(r->host, be->hostname) == 0;
	tm_wake(be);
}

void tm_driver_handle(struct tarn_backend *be, int src, uint32_t type, const unsigned char *p,
		      size_t len)
{
	struct tm_driver *d = D(be);
	bool lost;

	if (src <= TM_DRIVER || src >= be->size)
		return;
	g_mutex_lock(&be->lock);
	d->ranks[src].last_heard_ns = tm_now_ns();
	switch (type) {
	case T_HELLO:
		on_hello(be, src, p, len);
		break;
	case T_PONG:
		break;
	case T_BYE:
		d->ranks[src].bye = true;
		tm_wake(be);
		break;
	case T_SEALED:
		on_sealed(be, src, p, len);
		break;
	case T_DONE:
		if (len >= sizeof(struct tm_done)) {
			struct tm_done m;

			memcpy(&m, p, sizeof(m));
			/* The task's seals come first, in the same message. */
			on_sealed(be, src, p + sizeof(m), len - sizeof(m));
			task_finished(be, src, &m);
			dispatch(be);
		}
		break;
	case T_SUBMIT:
		on_submit(be, src, p, len);
		break;
	case T_RELEASE:
		/* One ref, or a worker's release_batch: many back to back. */
		for (size_t off = 0; off + sizeof(tarn_ref_t) <= len; off += sizeof(tarn_ref_t)) {
			tarn_ref_t ref;
			struct dobj *o;

			memcpy(&ref, p + off, sizeof(ref));
			o = obj_find(d, ref);
			if (o && o->holds) {
				o->holds--;
				obj_maybe_free(be, o);
			}
		}
		break;
	case T_LOCATE:
		on_locate(be, src, p, len);
		break;
	case T_WAIT:
		on_wait(be, src, p, len);
		break;
	case T_FETCH:
		on_fetch(be, src, p, len);
		break;
	case T_DATA:
		on_data(be, src, p, len);
		break;
	case T_ACTOR_KILL:
		if (len >= sizeof(struct tm_req)) {
			struct tm_req m;

			memcpy(&m, p, sizeof(m));
			actor_kill_locked(be, (tarn_actor_t){m.ref.origin, m.ref.seq});
		}
		break;
	case T_LOAD_REQ: {
		char *path = g_strndup((const char *)p, len);

		g_ptr_array_add(d->libs, g_strdup(path));
		for (int r = TM_FIRST_WORKER; r < be->size; r++)
			if (r != src)
				tm_send(be, r, T_LOAD, path, strlen(path) + 1, NULL, 0);
		g_free(path);
		break;
	}
	default:
		tm_log(be, TARN_LOG_WARNING, "rank %d sent an unknown message %u", src, type);
	}
	lost = d->lost->len > 0;
	g_mutex_unlock(&be->lock);
	if (lost)
		handle_lost(be);
}

/* Liveness --------------------------------------------------------------------------------- */

static void describe_tasks(struct tm_driver *d, int rank, GString *s)
{
	GHashTableIter it;
	gpointer v;
	guint n = 0;

	g_hash_table_iter_init(&it, d->inflight[rank]);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct dtask *t = v;

		if (n++ >= 16) {
			g_string_append_printf(s, ", and %u more",
					       g_hash_table_size(d->inflight[rank]) - 16);
			break;
		}
		g_string_append_printf(s, "%s'%s' (task %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT
				       ", attempt %u)", n > 1 ? ", " : "", t->d.name, t->d.id.origin,
				       t->d.id.seq, t->d.attempt);
	}
	if (!n)
		g_string_append(s, "none");
}

void tm_driver_tick(struct tarn_backend *be)
{
	struct tm_driver *d = D(be);
	uint64_t now = tm_now_ns();
	GString *msg = NULL;
	bool ping = now - d->last_ping_ns > 1000000000u;

	if (ping)
		d->last_ping_ns = now;
	g_mutex_lock(&be->lock);
	/* Memory a batch left unused for a second goes back. */
	pp_pool_trim_due(&d->obj_pool);
	reftab_trim_due(&d->objs);
	for (int r = TM_MONITOR; r < be->size; r++) {
		struct tm_rank *k = &d->ranks[r];
		bool gone;

		if (!k->known || !k->alive)
			continue;
		if (k->local)
			gone = kill(k->pid, 0) != 0 && errno == ESRCH;
		else
			gone = now - k->last_heard_ns > (uint64_t)(TM_SILENCE_LIMIT * 1e9);
		if (!gone) {
			if (ping && !k->local)
				tm_send(be, r, T_PING, NULL, 0, NULL, 0);
			continue;
		}
		k->alive = false;
		tm_wake(be);
		if (d->closing && k->bye)
			continue;
		if (!msg)
			msg = g_string_new("");
		else
			g_string_append(msg, "; ");
		g_string_append_printf(msg, "%s rank %d (pid %d on %s) %s; its tasks: ",
				       r == TM_MONITOR ? "monitor" : "worker", r, k->pid, k->host,
				       k->local ? "died (killed by a signal or exited)"
						: "stopped answering");
		describe_tasks(d, r, msg);
	}
	g_mutex_unlock(&be->lock);
	if (msg && !d->closing) {
		g_string_append(msg, ". Ending the job: an MPI job cannot replace a rank");
		tm_abort_job(be, msg->str);
	}
	if (msg)
		g_string_free(msg, TRUE);
}

/* ABI ----------------------------------------------------------------------------------------- */

int tm_driver_open(struct tarn_backend *be, tarn_open_info_t *info)
{
	struct tm_driver *d = g_new0(struct tm_driver, 1);
	uint64_t deadline = tm_deadline(60.0);
	struct tm_hello me = {.pid = getpid()};
	int missing = 0;

	/*
	 * Names this job's shared segments: unique on every host, and led by
	 * the driver's pid so that a driver (or a test) can tell its own.
	 */
	snprintf(be->job, sizeof(be->job), "%x-%" G_GINT64_MODIFIER "x", (unsigned)getpid(),
		 g_get_real_time());

	be->d = d;
	d->ranks = g_new0(struct tm_rank, be->size);
	d->inflight = g_new0(GHashTable *, be->size);
	for (int r = 0; r < be->size; r++)
		d->inflight[r] = g_hash_table_new(tm_ref_hash, tm_ref_equal);
	reftab_init(&d->objs, (uint64_t)TM_DRIVER); /* the driver's origin is its rank */
	pp_pool_init(&d->obj_pool, sizeof(struct dobj));
	d->actors = g_hash_table_new_full(tm_ref_hash, tm_ref_equal, NULL, g_free);
	d->rank_actors = g_new0(uint32_t, be->size);
	d->lost = g_ptr_array_new();
	d->libs = g_ptr_array_new_with_free_func(g_free);
	g_queue_init(&d->ready);
	info->role = TARN_ROLE_DRIVER;
	snprintf(info->worker, sizeof(info->worker), "driver rank 0");

	/* Every rank says who it is (pid, host) before anything else. */
	tm_start_comm(be);
	g_mutex_lock(&be->lock);
	for (;;) {
		missing = 0;
		for (int r = 1; r < be->size; r++)
			missing += !d->ranks[r].known;
		if (!missing || !tm_cond_wait(be, deadline))
			break;
	}
	g_mutex_unlock(&be->lock);
	if (missing) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%d of %d ranks did not report within 60 s", missing,
			 be->size - 1);
		tm_abort_job(be, msg);
	}
	snprintf(me.host, sizeof(me.host), "%s", be->hostname);
	snprintf(me.job, sizeof(me.job), "%s", be->job);
	snprintf(me.monitor_host, sizeof(me.monitor_host), "%s", d->ranks[TM_MONITOR].host);
	be->store = be->store && strcmp(d->ranks[TM_MONITOR].host, be->hostname) == 0;
	for (int r = 1; r < be->size; r++) {
		/* Ranks on this host get a link (link.c); the others, and a failure, stay on MPI. */
		me.link[0] = '\0';
		me.link_nonce = 0;
		if (be->local_links && d->ranks[r].local) {
			int lrc = tm_link_create(be, r, me.link, sizeof(me.link), &me.link_nonce);

			if (lrc) {
				tm_log(be, TARN_LOG_DEBUG, "no shared-memory link to rank %d (%s): "
					   "its messages go by MPI", r, g_strerror(-lrc));
				me.link[0] = '\0';
			} else {
				g_mutex_lock(&be->lock);
				be->links_pending++;
				g_mutex_unlock(&be->lock);
			}
		}
		tm_send(be, r, T_HELLO, &me, sizeof(me), NULL, 0);
	}
	/*
	 * Every rank answers its link before tarn_init() returns, so that its
	 * name is gone from /dev/shm by then (the rank maps it, then says so).
	 */
	g_mutex_lock(&be->lock);
	while (be->links_pending && tm_cond_wait(be, deadline))
		;
	missing = be->links_pending;
	g_mutex_unlock(&be->lock);
	if (missing) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%d ranks did not answer their link within 60 s",
			 missing);
		tm_abort_job(be, msg);
	}
	tm_log(be, TARN_LOG_INFO, "%s mode, %d ranks (driver, monitor, %d workers)",
	       be->spawn ? "spawn" : "SPMD", be->size, be->size - TM_FIRST_WORKER);
	return 0;
}

int tm_driver_close(struct tarn_backend *be)
{
	struct tm_driver *d = D(be);
	uint64_t deadline = tm_deadline(10.0);
	int waiting = 0;
	GHashTableIter it;
	GPtrArray *objs;
	gpointer v;

	g_mutex_lock(&be->lock);
	d->closing = true;
	for (int r = 1; r < be->size; r++)
		if (d->ranks[r].alive)
			tm_send(be, r, T_EXIT, NULL, 0, NULL, 0);
	for (;;) {
		waiting = 0;
		for (int r = 1; r < be->size; r++)
			waiting += d->ranks[r].alive && !d->ranks[r].bye;
		if (!waiting || !tm_cond_wait(be, deadline))
			break;
	}
	g_mutex_unlock(&be->lock);
	if (waiting)
		tm_log(be, TARN_LOG_WARNING, "%d ranks did not confirm the shutdown in 10 s",
		       waiting);
	/* Its handlers and ticks use the tables freed below. */
	tm_stop_comm(be);
	objs = g_ptr_array_new();
	reftab_values(&d->objs, objs);
	/* Tasks still queued or running are abandoned with their ranks. */
	for (int r = 0; r < be->size; r++) {
		g_hash_table_iter_init(&it, d->inflight[r]);
		while (g_hash_table_iter_next(&it, NULL, &v))
			g_free(v);
		g_hash_table_destroy(d->inflight[r]);
	}
	g_hash_table_iter_init(&it, d->actors);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct dactor *a = v;
		struct dtask *t;

		while ((t = g_queue_pop_head(&a->pending)))
			g_free(t);
	}
	{
		/* Tasks waiting for dependencies are reachable only through waiters. */
		GHashTable *seen = g_hash_table_new(NULL, NULL);
		struct dtask *t;

		while ((t = g_queue_pop_head(&d->ready)))
			g_hash_table_add(seen, t);
		for (guint k = 0; k < objs->len; k++) {
			struct dobj *o = objs->pdata[k];

			for (guint i = 0; o->waiters && i < o->waiters->len; i++)
				g_hash_table_add(seen, o->waiters->pdata[i]);
		}
		g_hash_table_iter_init(&it, seen);
		while (g_hash_table_iter_next(&it, &v, NULL))
			g_free(v);
		g_hash_table_destroy(seen);
	}
	g_free(d->inflight);
	for (guint k = 0; k < objs->len; k++)
		obj_free(d, objs->pdata[k]);
	g_ptr_array_free(objs, TRUE);
	reftab_fini(&d->objs);
	pp_pool_fini(&d->obj_pool);
	g_queue_clear(&d->actors_due);
	g_hash_table_destroy(d->actors);
	g_free(d->rank_actors);
	for (guint i = 0; i < d->lost->len; i++) {
		struct lost *l = d->lost->pdata[i];

		g_free(l->t);
		g_free(l);
	}
	g_ptr_array_free(d->lost, TRUE);
	g_ptr_array_free(d->libs, TRUE);
	g_free(d->ranks);
	g_free(d);
	be->d = NULL;
	tm_shm_sweep(be); /* the monitor did, unless it is gone */
	return 0;
}

/*
 * Submissions between turns of progress on the submitting thread: a burst
 * of them is sent in packs of this many, and their results taken in, by
 * the thread itself rather than by the comm thread contending for the
 * lock and the cores.
 */
#define TM_SUBMIT_TURN 32

int tm_driver_submit(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	static __thread unsigned submits;
	struct dtask *dt = task_copy(t);
	int rc = 0;

	g_mutex_lock(&be->lock);
	if (t->kind == TARN_TASK_ACTOR_CALL)
		rc = actor_submit_locked(be, dt);
	else
		submit_locked(be, dt);
	g_mutex_unlock(&be->lock);
	if (++submits % TM_SUBMIT_TURN == 0)
		tm_drive_now(be);
	return rc;
}

int tm_driver_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n)
{
	/* Plain tasks only (the ABI says so): nothing here can refuse one. */
	for (size_t i = 0; i < n; i += TM_SUBMIT_TURN) {
		g_mutex_lock(&be->lock);
		for (size_t k = i; k < n && k < i + TM_SUBMIT_TURN; k++)
			submit_locked(be, task_copy(&tasks[k]));
		g_mutex_unlock(&be->lock);
		tm_drive_now(be);
	}
	return 0;
}

int tm_driver_actor_create(struct tarn_backend *be, const tarn_task_desc_t *ctor)
{
	int rc;

	g_mutex_lock(&be->lock);
	rc = actor_create_locked(be, task_copy(ctor));
	g_mutex_unlock(&be->lock);
	return rc;
}

int tm_driver_actor_kill(struct tarn_backend *be, tarn_actor_t actor)
{
	int rc;

	g_mutex_lock(&be->lock);
	rc = actor_kill_locked(be, actor);
	g_mutex_unlock(&be->lock);
	return rc;
}

int tm_driver_create(struct tarn_backend *be, tarn_ref_t ref, size_t len, uint32_t flags,
		     void **data)
{
	unsigned char *buf = g_try_malloc(len ? len : 1);
	struct dobj *o;
	bool fresh;

	if (!buf)
		return TARN_ENOMEM;
	g_mutex_lock(&be->lock);
	o = obj_get(D(be), ref, &fresh);
	if (o->sealed) {
		g_mutex_unlock(&be->lock);
		g_free(buf);
		return TARN_EEXIST;
	}
	if (fresh)
		o->holds = 1; /* a put: its creator holds it */
	obj_drop_bytes(o);
	o->bytes = buf;
	o->len = len;
	o->flags = flags;
	o->owner = TM_DRIVER;
	g_mutex_unlock(&be->lock);
	*data = buf;
	return 0;
}

int tm_driver_seal(struct tarn_backend *be, tarn_ref_t ref)
{
	struct dobj *o;
	int rc = 0;

	g_mutex_lock(&be->lock);
	o = obj_find(D(be), ref);
	if (!o)
		rc = TARN_ENOENT;
	else if (o->sealed)
		rc = TARN_EEXIST;
	else if (!o->bytes)
		rc = TARN_EINVAL;
	else
		seal_locked(be, o);
	g_mutex_unlock(&be->lock);
	return rc;
}

/*
 * A view of a directory entry needs no record of its own: the token is
 * the entry with its low bit set (entries are 8-aligned), so a batch get
 * of small results costs no allocation per ref.
 */
#define DVIEW_DIR ((uintptr_t)1)

static void *dir_token(struct dobj *o)
{
	return (void *)((uintptr_t)o | DVIEW_DIR);
}

static struct dobj *token_dir(void *token)
{
	return (uintptr_t)token & DVIEW_DIR ? (struct dobj *)((uintptr_t)token & ~DVIEW_DIR)
					     : NULL;
}

/* fetch() with be->lock held, which it drops while it waits. */
/*
 * *@deadline is read from the clock only when the fetch must wait
 * (DEADLINE_UNSET until then): a clock read costs 25 ns on the 2-core VM
 * of docs/performance.md, and most gets find their result there.
 */
#define DEADLINE_UNSET UINT64_MAX

static uint64_t deadline_now(double timeout, uint64_t *deadline)
{
	if (*deadline == DEADLINE_UNSET)
		*deadline = tm_deadline(timeout);
	return *deadline;
}

static int fetch_locked(struct tarn_backend *be, tarn_ref_t ref, double timeout,
			uint64_t *deadline, tarn_obj_view_t *view)
{
	struct tm_pending *p;
	struct dview *v;
	struct dobj *o;
	int rc;

	for (;;) {
		o = obj_find(D(be), ref);
		/* Unheld: released, maybe before its task has even made it. */
		if (!o || !o->holds)
			return TARN_ENOENT;
		if (o->sealed)
			break;
		if (timeout == 0 || !tm_cond_wait(be, deadline_now(timeout, deadline)))
			return TARN_ETIMEDOUT;
	}
	if (obj_has_bytes(o)) {
		o->pins++;
		view->data = obj_data(o);
		view->len = o->len;
		view->flags = o->flags;
		view->token = dir_token(o);
		return 0;
	}
	v = g_new0(struct dview, 1);
	/* In the owner's shared segment, on this host: map it, no copy. */
	if (o->shm && (v->map = tm_shm_map(be, ref, o->len))) {
		/* The mapping outlives the segment's name: no pin. */
		v->map_len = o->len;
		view->data = v->map;
		view->len = o->len;
		view->flags = o->flags;
		view->token = v;
		return 0;
	}
	/* Peer to peer: the owner sends the bytes here. */
	o->pins++;
	p = tm_pending_new(be);
	{
		struct tm_req m = {.req = p->req, .ref = ref};

		tm_send(be, o->owner, T_FETCH, &m, sizeof(m), NULL, 0);
	}
	while (!p->done)
		if (!tm_cond_wait(be, deadline_now(timeout, deadline)) && !p->done)
			break;
	rc = p->done ? p->status : TARN_ETIMEDOUT;
	if (rc == 0) {
		v->own = p->buf;
		p->buf = NULL;
		view->data = v->own;
		view->len = p->len;
		view->flags = p->flags;
		view->token = v;
	} else {
		g_free(v);
	}
	tm_pending_free(be, p);
	o->pins--;
	obj_maybe_free(be, o);
	return rc;
}

/* unpin() with be->lock held. */
static void unpin_locked(struct tarn_backend *be, tarn_obj_view_t *view)
{
	struct dobj *o = token_dir(view->token);
	struct dview *v = view->token;

	if (!view->token)
		return;
	view->token = NULL;
	if (o) {
		o->pins--;
		obj_maybe_free(be, o);
		return;
	}
	if (v->map)
		munmap(v->map, v->map_len);
	g_free(v->own);
	g_free(v);
}

int tm_driver_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view)
{
	uint64_t deadline = DEADLINE_UNSET;
	int rc;

	g_mutex_lock(&be->lock);
	rc = fetch_locked(be, ref, timeout, &deadline, view);
	g_mutex_unlock(&be->lock);
	return rc;
}

/*
 * One lock and one deadline for the lot: per ref, what is left is a
 * directory lookup and a pin (small results are in the directory).
 */
int tm_driver_fetch_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			  double timeout, tarn_obj_view_t *views, size_t *failed)
{
	uint64_t deadline = tm_deadline(timeout);
	int rc = 0;

	g_mutex_lock(&be->lock);
	/*
	 * One released ref fails the batch at once, not after the others
	 * (what fetch_locked() answers TARN_ENOENT for without waiting).
	 */
	for (size_t i = 0; i < n; i++) {
		struct dobj *o = obj_find(D(be), refs[i]);

		if (!o || !o->holds) {
			g_mutex_unlock(&be->lock);
			*failed = i;
			return TARN_ENOENT;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = fetch_locked(be, refs[i], timeout, &deadline, &views[i]);
		if (rc) {
			for (size_t j = 0; j < i; j++)
				unpin_locked(be, &views[j]);
			*failed = i;
			break;
		}
	}
	g_mutex_unlock(&be->lock);
	return rc;
}

void tm_driver_unpin(struct tarn_backend *be, tarn_obj_view_t *view)
{
	struct dview *v = view->token;

	if (!v)
		return;
	if (token_dir(v)) {
		g_mutex_lock(&be->lock);
		unpin_locked(be, view);
		g_mutex_unlock(&be->lock);
		return;
	}
	/* A copy or a mapping of its own: no lock. */
	unpin_locked(be, view);
}

void tm_driver_unpin_batch(struct tarn_backend *be, tarn_obj_view_t *views, size_t n)
{
	g_mutex_lock(&be->lock);
	for (size_t i = 0; i < n; i++)
		unpin_locked(be, &views[i]);
	g_mutex_unlock(&be->lock);
}

int tm_driver_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready)
{
	uint64_t deadline = tm_deadline(timeout);
	size_t count;

	g_mutex_lock(&be->lock);
	for (;;) {
		count = 0;
		for (size_t i = 0; i < n; i++) {
			struct dobj *o = obj_find(D(be), refs[i]);

			/* Unheld: released, maybe before its task has made it. */
			if (!o || !o->holds) {
				g_mutex_unlock(&be->lock);
				return TARN_ENOENT;
			}
			ready[i] = o->sealed;
			count += o->sealed;
		}
		if (count >= num_returns || timeout == 0 || !tm_cond_wait(be, deadline))
			break;
	}
	g_mutex_unlock(&be->lock);
	return (int)count;
}

int tm_driver_release(struct tarn_backend *be, tarn_ref_t ref)
{
	struct dobj *o;

	g_mutex_lock(&be->lock);
	o = obj_find(D(be), ref);
	if (!o || !o->holds) {
		g_mutex_unlock(&be->lock);
		return TARN_ENOENT;
	}
	o->holds--;
	obj_maybe_free(be, o);
	g_mutex_unlock(&be->lock);
	return 0;
}

/* Every ref is handled, even after a failure: one lock, not one per ref. */
int tm_driver_release_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			    size_t *failed)
{
	int rc = 0;

	g_mutex_lock(&be->lock);
	for (size_t i = 0; i < n; i++) {
		struct dobj *o;

		if (!refs[i].seq)
			continue; /* the null ref: the ABI skips it */
		o = obj_find(D(be), refs[i]);
		if (!o || !o->holds) {
			if (!rc) {
				rc = TARN_ENOENT;
				*failed = i;
			}
			continue;
		}
		o->holds--;
		obj_maybe_free(be, o);
	}
	g_mutex_unlock(&be->lock);
	return rc;
}

int tm_driver_load_library(struct tarn_backend *be, const char *path)
{
	g_mutex_lock(&be->lock);
	g_ptr_array_add(D(be)->libs, g_strdup(path));
	for (int r = TM_FIRST_WORKER; r < be->size; r++)
		tm_send(be, r, T_LOAD, path, strlen(path) + 1, NULL, 0);
	g_mutex_unlock(&be->lock);
	return 0;
}

int tm_driver_cluster_info(struct tarn_backend *be, tarn_node_t *nodes, size_t cap, size_t *n)
{
	struct tm_driver *d = D(be);
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	size_t count = 0;

	g_mutex_lock(&be->lock);
	for (int r = TM_FIRST_WORKER; r < be->size; r++) {
		size_t i;

		for (i = 0; i < count && i < cap; i++)
			if (strcmp(nodes[i].host, d->ranks[r].host) == 0)
				break;
		if (i < count && i < cap) {
			nodes[i].num_cpus++;
			nodes[i].num_workers++;
			continue;
		}
		if (i < count)
			continue; /* beyond @cap: counted once below */
		if (count < cap) {
			memset(&nodes[count], 0, sizeof(nodes[count]));
			snprintf(nodes[count].host, sizeof(nodes[count].host), "%s", d->ranks[r].host);
			g_strlcpy(nodes[count].ip, d->ranks[r].local ? "127.0.0.1" : d->ranks[r].host,
				  sizeof(nodes[count].ip));
			nodes[count].num_cpus = 1;
			nodes[count].num_workers = 1;
			nodes[count].memory =
				pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
		}
		count++;
	}
	g_mutex_unlock(&be->lock);
	*n = count;
	return 0;
}
