/* SPDX-License-Identifier: MIT */
/*
 * procpool's driver half: the object table, the scheduler, the workers'
 * lives, and the progress thread that drains what workers send.
 *
 * One mutex guards everything here. It is never held while calling a host
 * service that can call back into the backend (task_lost writes error
 * objects through create/seal): those calls are queued as "lost" work and
 * made by the progress thread with the lock released.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "pp.h"
#include "pool.h"
#include "reftab.h"

extern char **environ;

/*
 * One cache line: a batch touches each of a million records three times
 * (seal, get, release), each time a miss, so a record that spans two
 * lines costs two. What is rarely there (tasks and workers waiting for
 * an unsealed object) lives in d->waits instead.
 */
struct pobj {
	tarn_ref_t ref;
	uint64_t len;
	uint64_t off;          /* store offset, or PP_INLINE */
	union {
		/* Most results are a few bytes: keep them without an allocation. */
		unsigned char small[16];
		unsigned char *heap; /* the inline copy, when @on_heap */
	} u;
	uint32_t holds;
	uint32_t pins;         /* driver views, worker fetches, pending tasks */
	uint32_t flags;
	int16_t alloc_slot;    /* worker writing an unsealed store block, or -1 */
	bool made : 1;         /* bytes exist (maybe unsealed) */
	bool sealed : 1;
	bool on_heap : 1;      /* u.heap is an allocation of ours */
	bool waited : 1;       /* d->waits has an entry for it */
};

_Static_assert(sizeof(struct pobj) == 64, "struct pobj: one cache line");
_Static_assert(PP_MAX_WORKERS <= INT16_MAX, "pobj.alloc_slot holds a slot");

/* Who waits for an unsealed object: d->waits, by record. */
struct pobj_wait {
	GPtrArray *waiters;    /* struct ptask waiting for this object */
	GArray *fetchers;      /* struct fetcher: workers waiting in a fetch */
};

struct fetcher {
	int slot;
	uint64_t req;
};

/*
 * A task's result group (pp.h): its results live in slots of one store
 * block, and d->objs maps each of their refs to the group (a tagged
 * pointer) instead of to a record of its own. A result the driver must
 * track like any object (a task depends on it, a worker fetches it, it is
 * too large for a slot) gets a record, and d->objs then maps its ref to
 * that: it is promoted, and the group forgets it. The block goes back
 * when the task has ended and every result is released or promoted.
 */
enum {
	G_LIVE = 0,     /* held by the submitter, in its slot */
	G_RELEASED,     /* released: the slot's bytes are nobody's */
	G_PROMOTED,     /* d->objs has a record for it */
	G_PROMOTED_PIN, /* ditto, and the record carries the producer's pin */
};

struct pgroup {
	tarn_ref_t first; /* result i is {first.origin, first.seq + i} */
	uint32_t n;
	uint32_t live;    /* results G_LIVE */
	uint32_t pins;    /* driver views into the block */
	uint32_t npinned; /* results G_PROMOTED_PIN */
	uint64_t epoch;
	uint64_t off;     /* the block of n struct pp_gslot */
	bool producing;   /* its task has not ended: slots may still change */
	struct pgroup *prev, *next; /* d->groups */
	uint8_t st[];     /* G_* per result */
};

struct pactor;

struct ptask {
	tarn_task_desc_t d; /* name, deps, returns, payload: owned copies */
	/*
	 * The record of each return, filled at registration and valid until
	 * the task's end unpins them: a group's end needs no lookups.
	 */
	struct pobj **rets;
	uint32_t missing;   /* deps not sealed yet */
	int slot;           /* dispatched to; -1 when not */
	uint64_t payload_off; /* store block holding the payload, or PP_INLINE */
	struct pactor *actor;
	bool kill;          /* the actor's kill marker, not a task */
	struct ptask *next; /* in the ready queue, or the spare list */
	bool block;         /* allocated as a TASK_BLOCK, reusable */
	struct pgroup *group; /* its results' group, or NULL (rets then) */
};

/* Tasks whose inputs exist, in order: a list through the tasks themselves. */
struct ready_queue {
	struct ptask *head, *tail;
};

static void ready_push_tail(struct ready_queue *q, struct ptask *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static void ready_push_head(struct ready_queue *q, struct ptask *t)
{
	t->next = q->head;
	q->head = t;
	if (!q->tail)
		q->tail = t;
}

static struct ptask *ready_pop_head(struct ready_queue *q)
{
	struct ptask *t = q->head;

	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

struct pactor {
	tarn_actor_t id;
	int slot;
	bool killed; /* no new calls */
	bool dead;   /* lost with its worker */
	bool due;    /* in actors_due */
	GQueue pending; /* calls not yet dispatched, in call order */
};

struct pworker {
	int slot;
	pid_t pid;
	uint64_t origin;
	bool alive;
	struct pp_ring *in, *out;
	struct pp_slot *sh;
	struct reftab inflight; /* task id -> ptask */
	GHashTable *pins;     /* ref -> count of fetch pins it holds */
	/*
	 * ref -> count of holds its task code was handed (puts, nested
	 * results): dropped when it dies, or they would last until shutdown.
	 */
	GHashTable *holds;
	tarn_ref_t timed_out; /* the task it was killed for */
	/*
	 * Dead and reaped, its ring being read one last time: only what
	 * needs no answer counts, and its pid may belong to someone else.
	 */
	bool reaped;
};

struct lost {
	struct ptask *t;
	int kind;
	int signal;
	int exit_status;
	char worker[256];
};

struct pp_driver {
	const tarn_host_services_t *host;
	GMutex lock;
	GCond changed; /* an object was sealed or a worker died */
	/*
	 * Threads in g_cond_wait_until(&changed): glib's broadcast is a
	 * futex syscall even with nobody waiting, once per sealed object.
	 */
	uint32_t cond_waiters;
	int ctl_fd, store_fd;
	struct pp_control *ctl;
	size_t ctl_size;
	unsigned char *store;
	uint64_t store_size;
	struct pp_arena *arena;
	uint64_t inline_max;
	uint64_t spin_ns;
	uint32_t nworkers;
	struct pworker workers[PP_MAX_WORKERS];
	uint64_t next_origin;
	struct reftab objs; /* ref -> pobj, or a tagged struct pgroup * */
	struct pgroup *groups; /* all of them, for close */
	uint64_t group_epoch;
	struct pp_pool obj_pool; /* struct pobj records */
	GHashTable *waits;  /* struct pobj * -> struct pobj_wait */
	struct ptask *spare_tasks; /* freed TASK_BLOCKs */
	uint32_t nspare_tasks;
	GHashTable *actors; /* actor -> pactor */
	/*
	 * Actors whose first pending call may go out now (a call came, its
	 * head's dependencies exist, or its worker's ring was full):
	 * dispatch() pumps these only, so that a task's cost does not grow
	 * with the number of actors. slot_actors: live actors per worker.
	 */
	GQueue actors_due;
	uint32_t slot_actors[PP_MAX_WORKERS];
	struct ready_queue ready; /* tasks whose deps exist, not dispatched yet */
	GPtrArray *lost;    /* struct lost, for the progress thread */
	GPtrArray *libs;
	GThread *progress;
	atomic_bool stop;
	char *plugin_path;
	char *preload;
	char **argv;
	char hostname[128];
	/*
	 * What workers run: /proc/self/exe, which stays this program even if
	 * its file is replaced meanwhile. Under valgrind that link names
	 * valgrind's tool, which cannot run alone; valgrind's readlink() of
	 * it gives the program's path, and the workers run under valgrind too.
	 */
	char *exe;
	uint64_t last_reap_ns;
	uint32_t start_failures; /* workers in a row that died before serving */
	char *broken;           /* why the pool stopped starting workers */
};

static struct pp_driver *D(struct tarn_backend *be)
{
	return be->d;
}

static void seal_locked(struct pp_driver *d, struct pobj *o);

static void changed_locked(struct pp_driver *d)
{
	if (d->cond_waiters)
		g_cond_broadcast(&d->changed);
}

/* Objects ----------------------------------------------------------------------- */

/* Result groups -------------------------------------------------------------------- */

static bool is_group(const void *v)
{
	return ((uintptr_t)v & 1) != 0;
}

static struct pgroup *as_group(void *v)
{
	return (struct pgroup *)((uintptr_t)v & ~(uintptr_t)1);
}

static void *group_tag(struct pgroup *g)
{
	return (void *)((uintptr_t)g | 1);
}

static struct pp_gslot *group_slot(struct pp_driver *d, struct pgroup *g, uint32_t i)
{
	return (struct pp_gslot *)(d->store + g->off) + i;
}

static bool slot_sealed(struct pp_driver *d, struct pgroup *g, uint32_t i)
{
	return atomic_load_explicit(&group_slot(d, g, i)->state, memory_order_acquire) ==
	       (g->epoch << 2 | PP_GS_SEALED);
}

/* The slot of @ref, a result of @g (d->objs maps it to @g). */
static uint32_t group_index(const struct pgroup *g, tarn_ref_t ref)
{
	return (uint32_t)(ref.seq - g->first.seq);
}

static tarn_ref_t group_ref(const struct pgroup *g, uint32_t i)
{
	tarn_ref_t r = {g->first.origin, g->first.seq + i};

	return r;
}

static void group_free(struct pp_driver *d, struct pgroup *g)
{
	for (uint32_t i = 0; i < g->n; i++) {
		tarn_ref_t r = group_ref(g, i);

		if (g->st[i] < G_PROMOTED && reftab_find(&d->objs, r) == group_tag(g))
			reftab_remove(&d->objs, r);
	}
	pp_arena_free(d->arena, g->off);
	if (g->prev)
		g->prev->next = g->next;
	else
		d->groups = g->next;
	if (g->next)
		g->next->prev = g->prev;
	g_free(g);
}

static struct pobj *group_promote(struct pp_driver *d, struct pgroup *g, uint32_t i);

/*
 * Free @g when nothing can read or write its block any more. A few
 * results held long after their task would keep the whole block: those
 * are promoted (a record each) and the block goes.
 */
static void group_maybe_free(struct pp_driver *d, struct pgroup *g)
{
	if (g->producing || g->pins || g->live > g->n / 16)
		return;
	for (uint32_t i = 0; g->live && i < g->n; i++)
		if (g->st[i] == G_LIVE)
			group_promote(d, g, i);
	group_free(d, g);
}

/*
 * Give result @i of @g a record of its own, sealed when its slot is, and
 * otherwise marked PP_GS_WANTED so that the worker seals it by message
 * (lock held). NULL when it was released and its task has ended. The
 * caller then calls group_maybe_free().
 */
static struct pobj *group_promote(struct pp_driver *d, struct pgroup *g, uint32_t i)
{
	struct pp_gslot *s = group_slot(d, g, i);
	uint64_t sealed = g->epoch << 2 | PP_GS_SEALED, st;
	uint8_t was = g->st[i];
	struct pobj *o;

	if (was != G_LIVE && (was != G_RELEASED || !g->producing))
		return NULL;
	o = pp_pool_alloc(&d->obj_pool);
	if (!o)
		g_error("procpool: out of memory for an object record");
	o->ref = group_ref(g, i);
	o->off = PP_INLINE;
	o->alloc_slot = -1;
	o->holds = was == G_LIVE;
	if (g->producing) {
		o->pins = 1; /* the producer's, until the task ends */
		g->st[i] = G_PROMOTED_PIN;
		g->npinned++;
	} else {
		g->st[i] = G_PROMOTED;
	}
	st = atomic_load_explicit(&s->state, memory_order_acquire);
	while (st != sealed &&
	       !atomic_compare_exchange_weak(&s->state, &st, g->epoch << 2 | PP_GS_WANTED))
		;
	if (st == sealed && s->len <= sizeof(o->u.small)) {
		o->len = s->len;
		o->flags = s->flags;
		memcpy(o->u.small, s->data, s->len);
		o->made = true;
		o->sealed = true;
	}
	reftab_put(&d->objs, o->ref, o);
	if (was == G_LIVE)
		g->live--;
	return o;
}

/*
 * Results [first, first + n) of @t get a group when they are many, small
 * enough to be worth it, and numbered in one run (lock held). NULL: the
 * task's results get records as usual.
 */
static struct pgroup *group_make(struct pp_driver *d, struct ptask *t)
{
	size_t n = t->d.num_returns;
	const tarn_ref_t *r = t->d.returns;
	struct pgroup *g;
	uint64_t off;

	if (n < PP_GROUP_MIN || n > PP_GROUP_MAX || t->d.kind != TARN_TASK_PLAIN || t->actor ||
	    d->inline_max == 0)
		return NULL;
	for (size_t i = 1; i < n; i++)
		if (r[i].origin != r[0].origin || r[i].seq != r[0].seq + i)
			return NULL;
	if (pp_arena_alloc(d->arena, n * sizeof(struct pp_gslot), &off))
		return NULL; /* a full store: records, which use none */
	g = g_malloc(sizeof(*g) + n);
	memset(g, 0, sizeof(*g) + n);
	g->first = r[0];
	g->n = (uint32_t)n;
	g->live = (uint32_t)n;
	g->epoch = ++d->group_epoch;
	g->off = off;
	g->producing = true;
	for (size_t i = 0; i < n; i++) {
		if (reftab_put_if_absent(&d->objs, r[i], group_tag(g))) {
			/* A ref used before (a resubmitted result): records. */
			while (i--)
				reftab_remove(&d->objs, r[i]);
			pp_arena_free(d->arena, off);
			g_free(g);
			return NULL;
		}
	}
	g->next = d->groups;
	if (d->groups)
		d->groups->prev = g;
	d->groups = g;
	return g;
}

/* @g's task has ended for good: the producer's pins go (lock held). */
static void obj_maybe_free(struct pp_driver *d, struct pobj *o);

static void group_done(struct pp_driver *d, struct pgroup *g)
{
	g->producing = false;
	for (uint32_t i = 0; g->npinned && i < g->n; i++) {
		struct pobj *o;

		if (g->st[i] != G_PROMOTED_PIN)
			continue;
		g->st[i] = G_PROMOTED;
		g->npinned--;
		o = reftab_find(&d->objs, group_ref(g, i));
		if (o && !is_group(o) && o->pins) {
			o->pins--;
			obj_maybe_free(d, o);
		}
	}
	group_maybe_free(d, g);
}

/* Whether any result of @g is not sealed yet (lock held). */
static bool group_unsealed(struct pp_driver *d, struct pgroup *g)
{
	for (uint32_t i = 0; i < g->n; i++) {
		struct pobj *o;

		if (g->st[i] < G_PROMOTED) {
			if (!slot_sealed(d, g, i))
				return true;
			continue;
		}
		o = reftab_find(&d->objs, group_ref(g, i));
		if (o && !is_group(o) && !o->sealed)
			return true;
	}
	return false;
}

/* Objects ----------------------------------------------------------------------- */

/*
 * @ref's record, or NULL. A result in a group slot is promoted: every
 * caller of this may keep the record, wait for it or change it. The hot
 * paths (the driver's get, unpin, release) read slots in place instead.
 */
static struct pobj *obj_find(struct pp_driver *d, tarn_ref_t ref)
{
	void *v = reftab_find(&d->objs, ref);
	struct pgroup *g;
	struct pobj *o;

	if (!is_group(v))
		return v;
	g = as_group(v);
	o = group_promote(d, g, group_index(g, ref));
	group_maybe_free(d, g);
	return o;
}

/*
 * Whether @ref exists (1 sealed, 0 not yet; -1: unknown or freed), as
 * obj_find() would say, but leaving a group slot a slot; *@slot says it
 * is one (lock held).
 */
static int obj_state(struct pp_driver *d, tarn_ref_t ref, bool *slot)
{
	void *v = reftab_find(&d->objs, ref);
	struct pgroup *g;
	uint32_t i;

	*slot = false;
	if (!is_group(v))
		return v ? ((struct pobj *)v)->sealed : -1;
	g = as_group(v);
	i = group_index(g, ref);
	if (g->st[i] != G_LIVE && (g->st[i] != G_RELEASED || !g->producing))
		return -1;
	*slot = true;
	return slot_sealed(d, g, i);
}

static struct pobj *obj_new(struct pp_driver *d, tarn_ref_t ref)
{
	struct pobj *o = pp_pool_alloc(&d->obj_pool);

	if (!o)
		g_error("procpool: out of memory for an object record");
	o->ref = ref;
	o->off = PP_INLINE;
	o->alloc_slot = -1;
	reftab_put(&d->objs, ref, o);
	return o;
}

/* @ref's record, made when it has none: one table lookup (results are new). */
static struct pobj *obj_find_or_new(struct pp_driver *d, tarn_ref_t ref)
{
	struct pobj *o = pp_pool_alloc(&d->obj_pool), *old;

	if (!o)
		g_error("procpool: out of memory for an object record");
	old = reftab_put_if_absent(&d->objs, ref, o);
	if (old) {
		pp_pool_free(&d->obj_pool, o);
		return is_group(old) ? obj_find(d, ref) : old;
	}
	o->ref = ref;
	o->off = PP_INLINE;
	o->alloc_slot = -1;
	return o;
}

static void obj_free_bytes(struct pobj *o)
{
	if (o->on_heap)
		g_free(o->u.heap);
	o->on_heap = false;
}

/* The inline copy of @o's bytes. */
static unsigned char *obj_bytes(struct pobj *o)
{
	return o->on_heap ? o->u.heap : o->u.small;
}

/* Room for @len inline bytes in @o (which has none); NULL when out of memory. */
static unsigned char *obj_alloc_bytes(struct pobj *o, size_t len)
{
	if (len <= sizeof(o->u.small))
		return o->u.small;
	o->u.heap = g_try_malloc(len);
	o->on_heap = o->u.heap != NULL;
	return o->u.heap;
}

static void obj_drop_bytes(struct pp_driver *d, struct pobj *o)
{
	if (o->off != PP_INLINE)
		pp_arena_free(d->arena, o->off);
	obj_free_bytes(o);
	o->off = PP_INLINE;
	o->made = false;
	o->alloc_slot = -1;
}

/* Who waits for @o, or NULL. */
static struct pobj_wait *obj_wait(struct pp_driver *d, struct pobj *o)
{
	return o->waited ? g_hash_table_lookup(d->waits, o) : NULL;
}

static struct pobj_wait *obj_wait_make(struct pp_driver *d, struct pobj *o)
{
	struct pobj_wait *w = obj_wait(d, o);

	if (!w) {
		w = g_new0(struct pobj_wait, 1);
		g_hash_table_insert(d->waits, o, w);
		o->waited = true;
	}
	return w;
}

static void wait_free(gpointer p)
{
	struct pobj_wait *w = p;

	if (w->waiters)
		g_ptr_array_free(w->waiters, TRUE);
	if (w->fetchers)
		g_array_free(w->fetchers, TRUE);
	g_free(w);
}

/* Take @o's entry out of d->waits: the caller frees it (wait_free). */
static struct pobj_wait *obj_wait_steal(struct pp_driver *d, struct pobj *o)
{
	struct pobj_wait *w = obj_wait(d, o);

	if (w)
		g_hash_table_steal(d->waits, o);
	o->waited = false;
	return w;
}

/* What @o owns besides its record. */
static void obj_free_parts(struct pp_driver *d, struct pobj *o)
{
	struct pobj_wait *w = obj_wait_steal(d, o);

	if (w)
		wait_free(w);
	obj_free_bytes(o);
}

static void obj_free(struct pp_driver *d, struct pobj *o)
{
	obj_free_parts(d, o);
	pp_pool_free(&d->obj_pool, o);
}

/* Free @o when nobody needs it. An unsealed result stays for its producer. */
static void obj_maybe_free(struct pp_driver *d, struct pobj *o)
{
	struct pobj_wait *w;

	if (o->holds || o->pins || (o->made && !o->sealed))
		return;
	if ((w = obj_wait(d, o))) {
		if (w->waiters && w->waiters->len)
			return;
		if (!o->sealed && !o->made && w->fetchers && w->fetchers->len)
			return;
	}
	if (o->off != PP_INLINE)
		pp_arena_free(d->arena, o->off);
	o->off = PP_INLINE;
	reftab_remove(&d->objs, o->ref);
	obj_free(d, o);
}

static const void *obj_data(struct pp_driver *d, struct pobj *o)
{
	return o->off == PP_INLINE ? (const void *)obj_bytes(o) : d->store + o->off;
}

/* Holds handed to a worker's task code, counted per worker (lock held). */
static void worker_hold(struct pworker *w, tarn_ref_t ref)
{
	guint c = GPOINTER_TO_UINT(g_hash_table_lookup(w->holds, &ref));

	g_hash_table_replace(w->holds, g_memdup2(&ref, sizeof(ref)),
			     GUINT_TO_POINTER(c + 1));
}

static void worker_unhold(struct pworker *w, tarn_ref_t ref)
{
	guint c = GPOINTER_TO_UINT(g_hash_table_lookup(w->holds, &ref));

	if (c > 1)
		g_hash_table_replace(w->holds, g_memdup2(&ref, sizeof(ref)),
				     GUINT_TO_POINTER(c - 1));
	else if (c)
		g_hash_table_remove(w->holds, &ref);
}

/* Workers: sending -------------------------------------------------------------- */

/*
 * After a message to @w: a worker polling its ring needs no ring, so only
 * a sleeping one is woken (the lazy ring: the worker's loop counts itself
 * a sleeper before its last look at the ring).
 */
static void ring_worker(struct pworker *w)
{
	atomic_thread_fence(memory_order_seq_cst);
	pp_doorbell_ring_lazy(&w->sh->bell);
}

static bool send_to(struct pp_driver *d, struct pworker *w, uint32_t type,
		    const void *a, size_t alen, const void *b, size_t blen, bool wait)
{
	char *p;

	if (!w->alive)
		return false;
	if (wait) {
		pp_send(w->in, NULL, type, a, alen, b, blen);
		ring_worker(w);
		return true;
	}
	p = pp_ring_reserve(w->in, type, alen + blen);
	if (!p)
		return false;
	memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	pp_ring_commit(w->in);
	ring_worker(w);
	(void)d;
	return true;
}

/* The object's description and bytes as a fetch reply or task dependency. */
static size_t obj_record(struct pobj *o, tarn_ref_t ref, int status, unsigned char *out)
{
	struct m_obj m;
	size_t n = sizeof(m);

	memset(&m, 0, sizeof(m));
	m.ref = ref;
	m.status = status;
	if (o && status == 0) {
		m.flags = o->flags;
		m.len = o->len;
		m.off = o->off;
	} else {
		m.off = PP_INLINE;
	}
	if (out)
		memcpy(out, &m, sizeof(m));
	if (o && status == 0 && o->off == PP_INLINE) {
		if (out && o->len)
			memcpy(out + sizeof(m), obj_bytes(o), o->len);
		n += pp_pad8(o->len);
	}
	return n;
}

static void reply_fetch(struct pp_driver *d, int slot, uint64_t req, struct pobj *o,
			tarn_ref_t ref, int status)
{
	struct pworker *w = &d->workers[slot];
	size_t n = sizeof(uint64_t) + obj_record(o, ref, status, NULL);
	unsigned char *buf = g_malloc(n);

	memcpy(buf, &req, sizeof(req));
	obj_record(o, ref, status, buf + sizeof(req));
	if (status == 0 && w->alive) {
		/* The worker holds a pin until it sends M_UNPIN. */
		gpointer k = &o->ref;
		guint c = GPOINTER_TO_UINT(g_hash_table_lookup(w->pins, k));

		o->pins++;
		g_hash_table_replace(w->pins, g_memdup2(&o->ref, sizeof(o->ref)), GUINT_TO_POINTER(c + 1));
	}
	send_to(d, w, M_FETCH_REPLY, buf, n, NULL, 0, true);
	g_free(buf);
}

/* Tasks --------------------------------------------------------------------------- */

_Static_assert(sizeof(struct ptask) % 8 == 0, "refs after struct ptask must stay aligned");

/* One allocation per task: the struct, then deps, returns, payload, name. */
/*
 * Task copies of up to TASK_BLOCK bytes (most tasks) come from blocks kept
 * for reuse, up to SPARE_TASKS_MAX of them: malloc and free were a sixth of
 * the driver's time per no-op task.
 */
#define TASK_BLOCK 512
#define SPARE_TASKS_MAX 4096

static struct ptask *task_copy(struct pp_driver *d, const tarn_task_desc_t *t)
{
	size_t deps = t->num_deps * sizeof(tarn_ref_t), rets = t->num_returns * sizeof(tarn_ref_t);
	size_t name = strlen(t->name) + 1;
	size_t objs = t->num_returns * sizeof(struct pobj *);
	size_t total = sizeof(struct ptask) + deps + rets + objs + t->payload_len + name;
	struct ptask *p;
	unsigned char *q;

	if (total <= TASK_BLOCK && d->spare_tasks) {
		p = d->spare_tasks;
		d->spare_tasks = p->next;
		d->nspare_tasks--;
	} else {
		p = g_malloc(total <= TASK_BLOCK ? TASK_BLOCK : total);
	}
	memset(p, 0, sizeof(*p));
	p->block = total <= TASK_BLOCK;
	q = (unsigned char *)(p + 1);
	p->d = *t;
	p->d.size = sizeof(p->d);
	/* ptask ends 8-aligned and refs are 16 bytes: deps and returns stay aligned. */
	memcpy(q, t->deps, deps);
	p->d.deps = (const tarn_ref_t *)q;
	q += deps;
	memcpy(q, t->returns, rets);
	p->d.returns = (const tarn_ref_t *)q;
	q += rets;
	p->rets = (struct pobj **)q;
	memset(q, 0, objs);
	q += objs;
	if (t->payload_len)
		memcpy(q, t->payload, t->payload_len);
	p->d.payload = q;
	q += t->payload_len;
	memcpy(q, t->name, name);
	p->d.name = (const char *)q;
	/* Custom resources are not scheduled by procpool (one node). */
	p->d.resources = NULL;
	p->d.num_resources = 0;
	p->slot = -1;
	p->payload_off = PP_INLINE;
	return p;
}

static void task_free(struct pp_driver *d, struct ptask *t)
{
	if (t->payload_off != PP_INLINE)
		pp_arena_free(d->arena, t->payload_off);
	if (t->block && d->nspare_tasks < SPARE_TASKS_MAX) {
		t->next = d->spare_tasks;
		d->spare_tasks = t;
		d->nspare_tasks++;
		return;
	}
	g_free(t);
}

static void unpin_all(struct pp_driver *d, const tarn_ref_t *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pobj *o = obj_find(d, refs[i]);

		if (o && o->pins) {
			o->pins--;
			obj_maybe_free(d, o);
		}
	}
}

/*
 * Dependencies and results stay pinned from submission to the end of the
 * task: a result released early must keep its record while its task can
 * still write it, or the write would make a new record that nobody holds
 * and whose store block never comes back.
 */
static void task_unpin_deps(struct pp_driver *d, struct ptask *t)
{
	unpin_all(d, t->d.deps, t->d.num_deps);
	if (t->group) {
		group_done(d, t->group);
		t->group = NULL;
		return;
	}
	for (size_t i = 0; i < t->d.num_returns; i++) {
		struct pobj *o = t->rets[i];

		if (!o) {
			unpin_all(d, &t->d.returns[i], 1);
			continue;
		}
		t->rets[i] = NULL;
		if (o->pins) {
			o->pins--;
			obj_maybe_free(d, o);
		}
	}
}

/* Write @msg as an error object for each return of @t (lock held). */
static void store_error_locked(struct pp_driver *d, struct ptask *t, const char *msg)
{
	size_t len = strlen(msg) + 1;

	for (size_t i = 0; i < t->d.num_returns; i++) {
		struct pobj *o = obj_find(d, t->d.returns[i]);

		if (!o)
			continue; /* released and freed: nobody will read it */
		if (o->sealed)
			continue;
		obj_drop_bytes(d, o);
		if (!obj_alloc_bytes(o, len))
			continue; /* no memory for the message: it stays unmade */
		memcpy(obj_bytes(o), msg, len);
		o->len = len;
		o->flags = TARN_OBJ_ERROR;
		o->made = true;
	}
	for (size_t i = 0; i < t->d.num_returns; i++) {
		struct pobj *o = obj_find(d, t->d.returns[i]);

		if (o && !o->sealed)
			seal_locked(d, o);
	}
}

static int pick_worker(struct pp_driver *d)
{
	int best = -1, here = sched_getcpu();
	guint best_n = G_MAXUINT;
	bool best_apart = false;

	for (uint32_t i = 0; i < d->nworkers; i++) {
		struct pworker *w = &d->workers[i];
		bool apart;
		guint n;

		if (!w->alive)
			continue;
		/*
		 * No cap on a worker's share: tasks blocked in a get count as in
		 * flight, and a cap would starve the very tasks they wait for.
		 * A full ring pushes back instead.
		 */
		n = (guint)reftab_size(&w->inflight);
		/* Among the least busy, one polling on another CPU than ours. */
		apart = atomic_load_explicit(&w->sh->cpu, memory_order_relaxed) != here;
		if (n < best_n || (n == best_n && apart && !best_apart)) {
			best = (int)i;
			best_n = n;
			best_apart = apart;
		}
	}
	return best;
}

/* Put @t in @slot's ring; false when the ring has no room now. */
static bool send_task(struct pp_driver *d, struct ptask *t, int slot)
{
	struct pworker *w = &d->workers[slot];
	size_t deps_len = 0, len, max = pp_ring_max_message(w->in);
	struct m_task m;
	unsigned char *p;
	bool inline_payload;

	if (!w->alive)
		return false;
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct pobj *o = obj_find(d, t->d.deps[i]);

		deps_len += obj_record(o && o->sealed ? o : NULL, t->d.deps[i],
				       o && o->sealed ? 0 : TARN_ENOENT, NULL);
	}
	len = sizeof(m) + deps_len + pp_pad8(t->d.payload_len);
	inline_payload = len <= max;
	if (!inline_payload) {
		len = sizeof(m) + deps_len;
		if (len > max) {
			pp_log(d->host, TARN_LOG_ERROR, "task '%s' has too many dependencies to send (%zu bytes)",
			       t->d.name, len);
			return false;
		}
		if (t->payload_off == PP_INLINE) {
			if (pp_arena_alloc(d->arena, t->d.payload_len, &t->payload_off))
				return false;
			memcpy(d->store + t->payload_off, t->d.payload, t->d.payload_len);
		}
	}
	p = pp_ring_reserve(w->in, M_TASK, len);
	if (!p)
		return false;
	memset(&m, 0, sizeof(m));
	m.id = t->d.id;
	m.actor = t->d.actor;
	m.kind = t->d.kind;
	m.attempt = t->d.attempt;
	m.ndeps = (uint32_t)t->d.num_deps;
	m.nreturns = (uint32_t)t->d.num_returns;
	m.payload_len = t->d.payload_len;
	m.payload_off = inline_payload ? PP_INLINE : t->payload_off;
	if (t->group) {
		m.group_n = t->group->n;
		m.group_first = t->group->first;
		m.group_off = t->group->off;
		m.group_epoch = t->group->epoch;
	}
	memcpy(p, &m, sizeof(m));
	p += sizeof(m);
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct pobj *o = obj_find(d, t->d.deps[i]);

		p += obj_record(o && o->sealed ? o : NULL, t->d.deps[i],
				o && o->sealed ? 0 : TARN_ENOENT, p);
	}
	if (inline_payload && t->d.payload_len)
		memcpy(p, t->d.payload, t->d.payload_len);
	pp_ring_commit(w->in);
	ring_worker(w);
	t->slot = slot;
	reftab_put(&w->inflight, t->d.id, t);
	return true;
}

static void actor_due(struct pp_driver *d, struct pactor *a)
{
	if (!a->due) {
		a->due = true;
		g_queue_push_tail(&d->actors_due, a);
	}
}

/* Free @a, gone from the table (and from actors_due). */
static void actor_free(struct pp_driver *d, struct pactor *a)
{
	if (a->due)
		g_queue_remove(&d->actors_due, a);
	if (!a->dead)
		d->slot_actors[a->slot]--;
	g_hash_table_remove(d->actors, &a->id);
	g_free(a);
}

/* Send @a's calls in order: true when its worker's ring is full (try again). */
static bool actor_pump(struct pp_driver *d, struct pactor *a)
{
	struct ptask *t;

	while ((t = g_queue_peek_head(&a->pending))) {
		if (t->kill) {
			struct pworker *w = &d->workers[a->slot];

			if (!send_to(d, w, M_KILL_ACTOR, &a->id, sizeof(a->id), NULL, 0, false))
				return true;
			g_queue_pop_head(&a->pending);
			task_free(d, t);
			actor_free(d, a);
			return false;
		}
		if (t->missing)
			return false;
		if (!send_task(d, t, a->slot))
			return true;
		g_queue_pop_head(&a->pending);
	}
	return false;
}

static void dispatch(struct pp_driver *d)
{
	GQueue full = G_QUEUE_INIT;
	struct pactor *a;
	struct ptask *t;

	while ((t = d->ready.head)) {
		int slot = pick_worker(d);

		if (slot < 0 || !send_task(d, t, slot))
			break;
		ready_pop_head(&d->ready);
	}
	while ((a = g_queue_pop_head(&d->actors_due))) {
		a->due = false;
		if (!a->dead && actor_pump(d, a))
			g_queue_push_tail(&full, a); /* the next dispatch tries again */
	}
	while ((a = g_queue_pop_head(&full)))
		actor_due(d, a);
}

/* A dependency of @t exists now. */
static void task_dep_ready(struct pp_driver *d, struct ptask *t)
{
	if (--t->missing)
		return;
	if (!t->actor)
		ready_push_tail(&d->ready, t);
	else /* actor calls wait in their actor's queue; dispatch() pumps it */
		actor_due(d, t->actor);
}

static void seal_locked(struct pp_driver *d, struct pobj *o)
{
	struct pobj_wait *w;

	o->sealed = true;
	o->alloc_slot = -1;
	/* Nobody waits for a sealed object: the entry goes. */
	if ((w = obj_wait_steal(d, o))) {
		for (guint i = 0; w->waiters && i < w->waiters->len; i++)
			task_dep_ready(d, w->waiters->pdata[i]);
		for (guint i = 0; w->fetchers && i < w->fetchers->len; i++) {
			struct fetcher *x = &g_array_index(w->fetchers, struct fetcher, i);

			reply_fetch(d, x->slot, x->req, o, o->ref, 0);
		}
		wait_free(w);
	}
	changed_locked(d);
	obj_maybe_free(d, o);
}

/* Register @t (copied) to run once its deps exist (lock held). */
static void register_locked(struct pp_driver *d, struct ptask *t)
{
	/* The submitter's hold on each result exists from now on. */
	t->group = group_make(d, t);
	for (size_t i = 0; !t->group && i < t->d.num_returns; i++) {
		struct pobj *o = obj_find_or_new(d, t->d.returns[i]);

		o->holds++;
		o->pins++; /* its producer's, until the task ends */
		t->rets[i] = o;
	}
	for (size_t i = 0; i < t->d.num_deps; i++) {
		struct pobj *o = obj_find(d, t->d.deps[i]);

		if (!o)
			continue; /* unknown: the task will see TARN_ENOENT */
		o->pins++;
		if (!o->sealed) {
			struct pobj_wait *w = obj_wait_make(d, o);

			if (!w->waiters)
				w->waiters = g_ptr_array_new();
			g_ptr_array_add(w->waiters, t);
			t->missing++;
		}
	}
	if (t->actor) {
		g_queue_push_tail(&t->actor->pending, t);
		actor_due(d, t->actor);
	} else if (!t->missing)
		ready_push_tail(&d->ready, t);
}

/* Register @t and send what can run now (lock held). */
static int submit_locked(struct pp_driver *d, struct ptask *t)
{
	register_locked(d, t);
	dispatch(d);
	return 0;
}

/* The end of a task's attempt on @w (lock held). */
static void task_finished(struct pp_driver *d, struct pworker *w, const struct m_done *m)
{
	struct ptask *t = reftab_remove(&w->inflight, m->id);
	bool unsealed = false;

	if (!t)
		return;
	if (d->host->task_done)
		d->host->task_done(d->host->host, &t->d, &m->report);
	if (t->group)
		unsealed = m->group_sealed != t->group->n && group_unsealed(d, t->group);
	for (size_t i = 0; !t->group && i < t->d.num_returns; i++) {
		struct pobj *o = t->rets[i] ? t->rets[i] : obj_find(d, t->d.returns[i]);

		unsealed |= o && !o->sealed;
	}
	if (unsealed) {
		/* Only an undecodable payload gets here; the host decides. */
		struct lost *l = g_new0(struct lost, 1);

		l->t = t;
		l->kind = TARN_FAIL_LOST;
		l->exit_status = -1;
		snprintf(l->worker, sizeof(l->worker), "worker %d (pid %d on %s)", w->slot,
			 (int)w->pid, d->hostname);
		g_ptr_array_add(d->lost, l);
		return;
	}
	task_unpin_deps(d, t);
	task_free(d, t);
}

/* Messages from workers ------------------------------------------------------------ */

static void on_seal(struct pp_driver *d, struct pworker *w, const struct m_obj *m,
		    const unsigned char *bytes)
{
	struct pobj *o = obj_find(d, m->ref);

	if (!o) {
		/* A put made by the worker: the worker holds it. */
		o = obj_new(d, m->ref);
		o->holds = 1;
		worker_hold(w, m->ref);
	}
	if (o->sealed)
		return;
	if (m->off == PP_INLINE) {
		if (o->off != PP_INLINE)
			pp_arena_free(d->arena, o->off);
		obj_free_bytes(o);
		o->off = PP_INLINE;
		if (!obj_alloc_bytes(o, m->len)) {
			pp_log(d->host, TARN_LOG_ERROR, "no memory for a %" G_GUINT64_FORMAT
			       "-byte result from worker %d", m->len, w->slot);
			return;
		}
		memcpy(obj_bytes(o), bytes, m->len);
	} else if (o->off != m->off) {
		pp_log(d->host, TARN_LOG_ERROR, "worker %d sealed %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT
		       " at an offset it was not given", w->slot, m->ref.origin, m->ref.seq);
		return;
	}
	o->len = m->len;
	o->flags = m->flags;
	o->made = true;
	seal_locked(d, o);
}

static void on_alloc(struct pp_driver *d, struct pworker *w, const struct m_req *m)
{
	struct m_alloc_reply r = {.req = m->req, .status = 0};
	struct pobj *o = obj_find(d, m->ref);
	uint64_t off;

	if (o && o->sealed) {
		r.status = TARN_EEXIST;
	} else if (pp_arena_alloc(d->arena, m->len, &off) != 0) {
		r.status = TARN_ENOSPC;
	} else {
		if (!o) {
			o = obj_new(d, m->ref);
			o->holds = 1; /* a put made by the worker */
			worker_hold(w, m->ref);
		}
		obj_drop_bytes(d, o); /* a failed attempt's block */
		o->off = off;
		o->len = m->len;
		o->flags = m->flags;
		o->made = true;
		o->alloc_slot = w->slot;
		r.off = off;
	}
	send_to(d, w, M_ALLOC_REPLY, &r, sizeof(r), NULL, 0, true);
}

static void on_fetch(struct pp_driver *d, struct pworker *w, const struct m_req *m)
{
	struct pobj *o = obj_find(d, m->ref);
	struct fetcher f = {.slot = w->slot, .req = m->req};
	struct pobj_wait *wt;

	if (!o || !o->holds) {
		reply_fetch(d, w->slot, m->req, NULL, m->ref, TARN_ENOENT);
		return;
	}
	if (o->sealed) {
		reply_fetch(d, w->slot, m->req, o, o->ref, 0);
		return;
	}
	wt = obj_wait_make(d, o);
	if (!wt->fetchers)
		wt->fetchers = g_array_new(FALSE, FALSE, sizeof(struct fetcher));
	g_array_append_val(wt->fetchers, f);
}

static void on_unpin(struct pp_driver *d, struct pworker *w, const tarn_ref_t *ref)
{
	struct pobj *o = obj_find(d, *ref);
	guint c = GPOINTER_TO_UINT(g_hash_table_lookup(w->pins, ref));

	if (c > 1)
		g_hash_table_replace(w->pins, g_memdup2(ref, sizeof(*ref)), GUINT_TO_POINTER(c - 1));
	else
		g_hash_table_remove(w->pins, ref);
	if (o && o->pins) {
		o->pins--;
		obj_maybe_free(d, o);
	}
}

static int release_locked(struct pp_driver *d, tarn_ref_t ref);

static void on_release(struct pp_driver *d, struct pworker *w,
		       const tarn_ref_t *ref)
{
	worker_unhold(w, *ref);
	release_locked(d, *ref);
}

static void on_wait(struct pp_driver *d, struct pworker *w, const unsigned char *p)
{
	struct m_wait m;
	struct m_wait_reply r;
	unsigned char *flags;

	memcpy(&m, p, sizeof(m));
	flags = g_malloc0(m.n ? m.n : 1);
	memset(&r, 0, sizeof(r));
	r.req = m.req;
	for (uint64_t i = 0; i < m.n; i++) {
		tarn_ref_t ref;
		bool slot;
		int st;

		memcpy(&ref, p + sizeof(m) + i * sizeof(ref), sizeof(ref));
		/* A retried group asks for all its results: no promotions. */
		st = obj_state(d, ref, &slot);
		if (st < 0) {
			r.status = TARN_ENOENT;
			break;
		}
		flags[i] = (unsigned char)st;
		r.count += (uint32_t)st;
	}
	send_to(d, w, M_WAIT_REPLY, &r, sizeof(r), flags, m.n, true);
	g_free(flags);
}

static int actor_create_locked(struct pp_driver *d, struct ptask *t);
static int actor_kill_locked(struct pp_driver *d, tarn_actor_t id);

static void on_submit(struct pp_driver *d, struct pworker *w, const unsigned char *p)
{
	struct m_submit m;
	tarn_task_desc_t t;
	struct ptask *pt;
	const unsigned char *q;
	char *name;

	memcpy(&m, p, sizeof(m));
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
	t.num_deps = m.ndeps;
	t.deps = (const tarn_ref_t *)q; /* copied by task_copy (unaligned-safe memdup) */
	q += m.ndeps * sizeof(tarn_ref_t);
	t.num_returns = m.nreturns;
	t.returns = (const tarn_ref_t *)q;
	q += m.nreturns * sizeof(tarn_ref_t);
	name = g_strndup((const char *)q, m.name_len);
	t.name = name;
	q += pp_pad8(m.name_len);
	t.payload = q;
	t.payload_len = m.payload_len;
	pt = task_copy(d, &t);
	g_free(name);
	/* Every path below gives each result one hold: the worker's. */
	for (size_t i = 0; i < pt->d.num_returns; i++)
		worker_hold(w, pt->d.returns[i]);
	if (t.kind == TARN_TASK_ACTOR_CREATE) {
		actor_create_locked(d, pt);
		return;
	}
	if (t.kind == TARN_TASK_ACTOR_CALL) {
		pt->actor = g_hash_table_lookup(d->actors, &t.actor);
		if (!pt->actor || pt->actor->killed || pt->actor->dead) {
			/* A worker's submit cannot fail later: its results say why. */
			for (size_t i = 0; i < pt->d.num_returns; i++)
				obj_new(d, pt->d.returns[i])->holds = 1;
			store_error_locked(d, pt, "actor call failed: the actor was killed or lost with its worker");
			task_free(d, pt);
			return;
		}
	}
	submit_locked(d, pt);
}

static void load_everywhere(struct pp_driver *d, const char *path, int except)
{
	for (uint32_t i = 0; i < d->nworkers; i++)
		if ((int)i != except)
			send_to(d, &d->workers[i], M_LOAD, path, strlen(path) + 1, NULL, 0, true);
}

/* The least a well-formed message of @type holds; 0 for an unknown type. */
static size_t message_min_len(uint32_t type, const unsigned char *p, size_t len)
{
	switch (type) {
	case M_SEAL: {
		struct m_obj m;

		if (len < sizeof(m))
			return sizeof(m);
		memcpy(&m, p, sizeof(m));
		return sizeof(m) + (m.off == PP_INLINE ? (size_t)m.len : 0);
	}
	case M_DONE: {
		struct m_done m;
		struct m_obj o;

		if (len < sizeof(m))
			return sizeof(m);
		memcpy(&m, p, sizeof(m));
		if (!m.held)
			return sizeof(m);
		if (len < sizeof(m) + sizeof(o))
			return sizeof(m) + sizeof(o);
		memcpy(&o, p + sizeof(m), sizeof(o));
		/* Only a small inline result is held back (worker.c). */
		if (o.off != PP_INLINE || o.len > len)
			return SIZE_MAX;
		return sizeof(m) + sizeof(o) + (size_t)o.len;
	}
	case M_ALLOC:
	case M_FETCH:
		return sizeof(struct m_req);
	case M_UNPIN:
	case M_RELEASE:
		return sizeof(tarn_ref_t);
	case M_ACTOR_KILL_REQ:
		return sizeof(tarn_actor_t);
	case M_WAIT: {
		struct m_wait m;

		if (len < sizeof(m))
			return sizeof(m);
		memcpy(&m, p, sizeof(m));
		return m.n > len ? SIZE_MAX : sizeof(m) + m.n * sizeof(tarn_ref_t);
	}
	case M_SUBMIT: {
		struct m_submit m;

		if (len < sizeof(m))
			return sizeof(m);
		memcpy(&m, p, sizeof(m));
		if (m.ndeps > len || m.nreturns > len || m.name_len > len || m.payload_len > len)
			return SIZE_MAX;
		return sizeof(m) + ((size_t)m.ndeps + m.nreturns) * sizeof(tarn_ref_t) +
		       pp_pad8(m.name_len) + m.payload_len;
	}
	case M_LOAD_REQ:
		/* A NUL-terminated path. */
		return memchr(p, '\0', len) ? 1 : SIZE_MAX;
	default:
		return 0;
	}
}

static size_t drain(struct pp_driver *d, struct pworker *w)
{
	size_t n = 0;
	const unsigned char *p;
	uint32_t type;
	size_t len;

	while (w->alive && n < 4096 && (p = pp_ring_peek(w->out, &type, &len))) {
		size_t need = message_min_len(type, p, len);

		if (need == 0 || len < need) {
			/* A worker that writes garbage is not trusted further. */
			pp_log(d->host, TARN_LOG_ERROR,
			       "worker %d sent a malformed message (type %u, %zu bytes); stopping it",
			       w->slot, type, len);
			if (!w->reaped)
				kill(w->pid, SIGKILL);
			break;
		}
		if (w->reaped && type != M_SEAL && type != M_DONE && type != M_UNPIN &&
		    type != M_RELEASE) {
			/* A request of the dead: its task's retry asks again. */
			pp_ring_consume(w->out);
			n++;
			continue;
		}
		switch (type) {
		case M_SEAL: {
			struct m_obj m;

			memcpy(&m, p, sizeof(m));
			on_seal(d, w, &m, p + sizeof(m));
			break;
		}
		case M_DONE: {
			struct m_done m;

			memcpy(&m, p, sizeof(m));
			if (m.held) {
				struct m_obj o;

				memcpy(&o, p + sizeof(m), sizeof(o));
				on_seal(d, w, &o, p + sizeof(m) + sizeof(o));
			}
			task_finished(d, w, &m);
			break;
		}
		case M_ALLOC:
		case M_FETCH: {
			struct m_req m;

			memcpy(&m, p, sizeof(m));
			if (type == M_ALLOC)
				on_alloc(d, w, &m);
			else
				on_fetch(d, w, &m);
			break;
		}
		case M_UNPIN:
		case M_RELEASE: {
			tarn_ref_t r;

			memcpy(&r, p, sizeof(r));
			if (type == M_UNPIN)
				on_unpin(d, w, &r);
			else
				on_release(d, w, &r);
			break;
		}
		case M_WAIT:
			on_wait(d, w, p);
			break;
		case M_SUBMIT:
			on_submit(d, w, p);
			break;
		case M_ACTOR_KILL_REQ: {
			tarn_actor_t a;

			memcpy(&a, p, sizeof(a));
			actor_kill_locked(d, a);
			break;
		}
		case M_LOAD_REQ:
			g_ptr_array_add(d->libs, g_strdup((const char *)p));
			load_everywhere(d, (const char *)p, w->slot);
			break;
		default:
			pp_log(d->host, TARN_LOG_ERROR, "worker %d sent unknown message %u", w->slot, type);
			break;
		}
		pp_ring_consume(w->out);
		n++;
	}
	return n;
}

static size_t progress_locked(struct pp_driver *d)
{
	size_t n = 0;

	for (uint32_t i = 0; i < d->nworkers; i++)
		n += drain(d, &d->workers[i]);
	if (n)
		dispatch(d);
	return n;
}

/* Workers: lives ---------------------------------------------------------------- */

static char *allocator_path(const char *name)
{
	static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
					   "/usr/lib64", "/usr/lib", "/usr/local/lib", NULL};
	const char *file = !strcmp(name, "jemalloc") ? "libjemalloc.so.2" : "libmimalloc.so.2";

	for (int i = 0; dirs[i]; i++) {
		char *p = g_build_filename(dirs[i], file, NULL);

		if (g_file_test(p, G_FILE_TEST_EXISTS))
			return p;
		g_free(p);
	}
	return NULL;
}

static char **worker_env(struct pp_driver *d, struct pworker *w)
{
	static const char *const passed[] = {"UNIDIST_LOG_LEVEL", "UNIDIST_TASK_MAX_RETRIES",
					     "UNIDIST_CPUS", "UNIDIST_PROCPOOL_SPIN_US",
					     "UNIDIST_PROCPOOL_INLINE_MAX", "SP_BIND_NUMA_NODE",
					     "SP_MEMORY_ALLOCATOR", NULL};
	GPtrArray *env = g_ptr_array_new();

	for (char **e = environ; *e; e++) {
		/*
		 * BXFI_MAP marks a Criterion (BoxFort) test sandbox: a worker
		 * that inherited it would take itself for one and abort before
		 * main(). Workers are never sandboxes, so test programs built
		 * with Criterion can use procpool.
		 */
		bool skip = g_str_has_prefix(*e, PP_ENV "=") || g_str_has_prefix(*e, "TARN_WORKER=") ||
			    g_str_has_prefix(*e, "BXFI_MAP=") ||
			    g_str_has_prefix(*e, "UNIDIST_BACKEND=") || g_str_has_prefix(*e, "SP_PLATFORM=") ||
			    (d->preload && g_str_has_prefix(*e, "LD_PRELOAD="));

		for (int i = 0; passed[i] && !skip; i++)
			skip = g_str_has_prefix(*e, passed[i]) && (*e)[strlen(passed[i])] == '=';
		if (!skip)
			g_ptr_array_add(env, g_strdup(*e));
	}
	/* The workers run this very plugin, whatever chose it in the driver. */
	g_ptr_array_add(env, g_strdup_printf("UNIDIST_BACKEND=%s", d->plugin_path));
	g_ptr_array_add(env, g_strdup_printf("SP_PLATFORM=%s", d->plugin_path));
	for (int i = 0; passed[i]; i++) {
		const char *v = d->host->config_get(d->host->host, passed[i]);

		if (v && v[0])
			g_ptr_array_add(env, g_strdup_printf("%s=%s", passed[i], v));
	}
	if (d->preload) {
		const char *old = g_getenv("LD_PRELOAD");

		g_ptr_array_add(env, old && old[0] ? g_strdup_printf("LD_PRELOAD=%s:%s", d->preload, old)
						   : g_strdup_printf("LD_PRELOAD=%s", d->preload));
	}
	g_ptr_array_add(env, g_strdup("TARN_WORKER=procpool"));
	g_ptr_array_add(env, g_strdup_printf(PP_ENV "=%d,%" G_GUINT64_FORMAT ",%d,%d,%d,%u,%" G_GUINT64_FORMAT
					     ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT,
					     w->slot, w->origin, d->ctl_fd, d->store_fd, (int)getpid(),
					     d->nworkers, d->inline_max, d->spin_ns, d->store_size));
	g_ptr_array_add(env, NULL);
	return (char **)g_ptr_array_free(env, FALSE);
}

static void ring_reset(struct pp_driver *d, struct pworker *w)
{
	struct pp_slot *sh = w->sh;

	pp_ring_init(w->in, PP_RING_BYTES);
	pp_ring_init(w->out, PP_RING_BYTES);
	pp_doorbell_init(&sh->bell);
	atomic_store(&sh->run_origin, 0);
	atomic_store(&sh->run_seq, 0);
	atomic_store(&sh->run_since_ns, 0);
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->cpu, -1);
	(void)d;
}

static int spawn_worker(struct pp_driver *d, int slot)
{
	struct pworker *w = &d->workers[slot];
	posix_spawn_file_actions_t fa;
	char **env;
	pid_t pid;
	int rc;

	w->slot = slot;
	w->sh = &d->ctl->slots[slot];
	w->in = pp_ring_at(d->ctl, w->sh->in_off);
	w->out = pp_ring_at(d->ctl, w->sh->out_off);
	ring_reset(d, w);
	w->origin = ++d->next_origin;
	memset(&w->timed_out, 0, sizeof(w->timed_out));
	w->reaped = false;
	env = worker_env(d, w);
	posix_spawn_file_actions_init(&fa);
	/* dup2 onto itself clears close-on-exec in the child only. */
	posix_spawn_file_actions_adddup2(&fa, d->ctl_fd, d->ctl_fd);
	posix_spawn_file_actions_adddup2(&fa, d->store_fd, d->store_fd);
	rc = posix_spawn(&pid, d->exe, &fa, NULL, d->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	g_strfreev(env);
	if (rc) {
		pp_log(d->host, TARN_LOG_ERROR, "cannot start worker %d: %s", slot, g_strerror(rc));
		return TARN_EIO;
	}
	w->pid = pid;
	w->alive = true;
	for (guint i = 0; i < d->libs->len; i++)
		send_to(d, w, M_LOAD, d->libs->pdata[i], strlen(d->libs->pdata[i]) + 1, NULL, 0, true);
	return 0;
}

/* No worker will ever run again: every task waiting to run fails (lock held). */
static void fail_everything(struct pp_driver *d)
{
	GHashTableIter it;
	gpointer k, v;
	struct ptask *t;
	bool alive = false;

	for (uint32_t i = 0; i < d->nworkers; i++)
		alive |= d->workers[i].alive;
	if (alive)
		return;
	while ((t = ready_pop_head(&d->ready))) {
		store_error_locked(d, t, d->broken);
		task_unpin_deps(d, t);
		task_free(d, t);
	}
	g_hash_table_iter_init(&it, d->actors);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct pactor *a = v;

		if (!a->dead)
			d->slot_actors[a->slot]--;
		a->dead = true;
		while ((t = g_queue_pop_head(&a->pending))) {
			if (!t->kill)
				store_error_locked(d, t, d->broken);
			task_unpin_deps(d, t);
			task_free(d, t);
		}
	}
}

/*
 * Whether every result of @t exists: then it has run, whatever became of
 * the message that would have said so (lock held).
 */
static bool task_results_exist(struct pp_driver *d, struct ptask *t)
{
	if (!t->d.num_returns)
		return false;
	if (t->group)
		return !group_unsealed(d, t->group);
	for (size_t i = 0; i < t->d.num_returns; i++) {
		struct pobj *o = t->rets[i];

		if (!o || !o->sealed)
			return false;
	}
	return true;
}

/* @w died (lock held): hand its work back and start a replacement. */
static void worker_died(struct pp_driver *d, struct pworker *w, int status)
{
	tarn_ref_t running = {atomic_load(&w->sh->run_origin), atomic_load(&w->sh->run_seq)};
	GHashTableIter it;
	gpointer k, v;
	GPtrArray *again = g_ptr_array_new();
	GPtrArray *orphans = g_ptr_array_new();

	bool started = atomic_load(&w->sh->ready) != 0;

	w->alive = false;
	d->start_failures = started ? 0 : d->start_failures + 1;
	if (d->start_failures >= PP_MAX_START_FAILURES && !d->broken) {
		/* Respawning would loop forever: fail the work instead of hanging. */
		d->broken = g_strdup_printf(
			"procpool's workers die before they start (%u in a row; the last %s %d): "
			"check that the program calls tarn_init() first in main() and that "
			"SP_MEMORY_ALLOCATOR's library loads",
			d->start_failures, WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		pp_log(d->host, TARN_LOG_ERROR, "%s", d->broken);
	}
	pp_log(d->host, TARN_LOG_WARNING, "worker %d (pid %d) %s %d%s", w->slot,
	       (int)w->pid, WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	       d->broken ? "" : "; starting a replacement");
	/* Emptied first: what follows may dispatch, and must not see these. */
	reftab_values(&w->inflight, orphans);
	reftab_clear(&w->inflight);
	for (guint i = 0; i < orphans->len; i++) {
		struct ptask *t = orphans->pdata[i];
		bool ran = pp_ref_equal(&t->d.id, &running);

		t->slot = -1;
		if (!t->actor && t->d.kind == TARN_TASK_PLAIN && task_results_exist(d, t)) {
			/*
			 * Killed between its results and its done message: it
			 * ran, and running it again would repeat what it did.
			 */
			task_unpin_deps(d, t);
			task_free(d, t);
		} else if (t->actor || t->d.kind == TARN_TASK_ACTOR_CREATE) {
			char msg[256];

			snprintf(msg, sizeof(msg),
				 "task '%s' failed: its actor was lost with worker %d (pid %d on %s), %s %d",
				 t->d.name, w->slot, (int)w->pid, d->hostname,
				 WIFSIGNALED(status) ? "killed by signal" : "exit status",
				 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			store_error_locked(d, t, msg);
			task_unpin_deps(d, t);
			task_free(d, t);
		} else if (ran) {
			struct lost *l = g_new0(struct lost, 1);

			l->t = t;
			l->kind = pp_ref_equal(&w->timed_out, &t->d.id) ? TARN_FAIL_TIMEOUT : TARN_FAIL_CRASHED;
			l->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
			l->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			snprintf(l->worker, sizeof(l->worker), "worker %d (pid %d on %s)", w->slot,
				 (int)w->pid, d->hostname);
			g_ptr_array_add(d->lost, l);
		} else {
			g_ptr_array_add(again, t); /* never started: just run it elsewhere */
		}
	}
	g_ptr_array_free(orphans, TRUE);
	for (guint i = 0; i < again->len; i++)
		ready_push_head(&d->ready, again->pdata[i]);
	g_ptr_array_free(again, TRUE);

	/* Its actors are gone: every call still queued fails. */
	g_hash_table_iter_init(&it, d->actors);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct pactor *a = v;
		struct ptask *t;

		if (a->slot != w->slot)
			continue;
		if (!a->dead)
			d->slot_actors[a->slot]--;
		a->dead = true;
		while ((t = g_queue_pop_head(&a->pending))) {
			if (!t->kill)
				store_error_locked(d, t, "actor call failed: the actor was lost with its worker");
			task_unpin_deps(d, t);
			task_free(d, t);
		}
	}
	/* Its fetch pins and half-written blocks. */
	g_hash_table_iter_init(&it, w->pins);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct pobj *o = obj_find(d, *(tarn_ref_t *)k);
		guint c = GPOINTER_TO_UINT(v);

		if (o) {
			o->pins = o->pins > c ? o->pins - c : 0;
			obj_maybe_free(d, o);
		}
	}
	g_hash_table_remove_all(w->pins);
	/*
	 * The holds its task code never gave back. Only the worker's own:
	 * the driver's holds on results the worker made stay.
	 */
	g_hash_table_iter_init(&it, w->holds);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct pobj *o = obj_find(d, *(tarn_ref_t *)k);
		guint c = GPOINTER_TO_UINT(v);

		if (o) {
			o->holds = o->holds > c ? o->holds - c : 0;
			obj_maybe_free(d, o);
		}
	}
	g_hash_table_remove_all(w->holds);
	{
		GPtrArray *all = g_ptr_array_new();

		reftab_values(&d->objs, all);
		for (guint i = 0; i < all->len; i++) {
			struct pobj *o = all->pdata[i];

			if (is_group(o))
				continue; /* slots have no blocks of their own */
			if (o->alloc_slot == w->slot && !o->sealed)
				obj_drop_bytes(d, o);
		}
		g_ptr_array_free(all, TRUE);
	}
	if (!atomic_load(&d->stop) && !d->broken)
		spawn_worker(d, w->slot);
	if (d->broken)
		fail_everything(d);
	changed_locked(d);
	dispatch(d);
}

/* Reap dead workers and stop tasks past their time limit (lock held). */
static void watch_workers(struct pp_driver *d)
{
	uint64_t now = pp_now_ns();

	for (uint32_t i = 0; i < d->nworkers; i++) {
		struct pworker *w = &d->workers[i];
		tarn_ref_t running;
		struct ptask *t;
		uint64_t since;
		int status = 0;
		pid_t r;

		if (!w->alive)
			continue;
		r = waitpid(w->pid, &status, WNOHANG);
		if (r == w->pid || (r < 0 && errno == ECHILD && kill(w->pid, 0) != 0)) {
			/*
			 * What it sent before it died still counts: a result it
			 * sealed stays sealed, and a task of a group that saw
			 * its first calls finish does not run them again.
			 */
			w->reaped = true;
			while (drain(d, w))
				;
			worker_died(d, w, r == w->pid ? status : 0);
			continue;
		}
		/*
		 * The worker writes since, origin, seq when a task starts and
		 * seq, origin, since when it ends: a task seen the same before
		 * and after reading since was running with that start time. A
		 * since read as the task ended is its outer task's, or 0, and
		 * killed a task that had not run past its limit.
		 */
		running.seq = atomic_load(&w->sh->run_seq);
		running.origin = atomic_load(&w->sh->run_origin);
		since = atomic_load(&w->sh->run_since_ns);
		if (!running.seq || atomic_load(&w->sh->run_seq) != running.seq ||
		    atomic_load(&w->sh->run_origin) != running.origin)
			continue;
		t = reftab_find(&w->inflight, running);
		if (t && t->d.timeout > 0 && now > since &&
		    now - since > (uint64_t)(t->d.timeout * 1e9)) {
			w->timed_out = running;
			kill(w->pid, SIGKILL);
		}
	}
}

/* Lost attempts: ask the host, without the lock (it may call create/seal). */
static void handle_lost(struct pp_driver *d)
{
	GPtrArray *lost;

	g_mutex_lock(&d->lock);
	lost = d->lost;
	d->lost = g_ptr_array_new();
	g_mutex_unlock(&d->lock);
	for (guint i = 0; i < lost->len; i++) {
		struct lost *l = lost->pdata[i];
		tarn_failure_t why = {
			.size = sizeof(why),
			.kind = l->kind,
			.signal = l->signal,
			.exit_status = l->exit_status,
			.worker = l->worker,
			.detail = l->kind == TARN_FAIL_LOST ? "its results were never stored" : NULL,
		};
		int verdict = d->host->task_lost(d->host->host, &l->t->d, &why);

		g_mutex_lock(&d->lock);
		if (verdict == TARN_RETRY) {
			l->t->d.attempt++;
			ready_push_head(&d->ready, l->t);
			dispatch(d);
		} else {
			task_unpin_deps(d, l->t);
			task_free(d, l->t);
		}
		changed_locked(d);
		g_mutex_unlock(&d->lock);
		g_free(l);
	}
	g_ptr_array_free(lost, TRUE);
}

/* How long the progress thread may sleep: short while tasks run. */
static int64_t idle_wait_ns(struct pp_driver *d)
{
	bool busy = false;

	g_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < d->nworkers && !busy; i++)
		busy = reftab_size(&d->workers[i].inflight) > 0;
	g_mutex_unlock(&d->lock);
	return busy ? 5000000 : 50000000;
}

static bool any_output(struct pp_driver *d)
{
	for (uint32_t i = 0; i < d->nworkers; i++)
		if (d->workers[i].alive && pp_ring_has_data(d->workers[i].out))
			return true;
	return false;
}

/*
 * The progress thread serves the workers while no application thread is
 * inside tarn: it drains their rings, answers their requests, reaps dead
 * workers and enforces time limits. It never spins. A thread inside submit,
 * fetch or wait drains the rings itself, so while one is (ctl->callers > 0)
 * this thread only reaps, every millisecond, and workers do not ring its
 * doorbell (pp_control.progress_bell). Were it woken too, it would take the lock
 * first, and on a machine with fewer cores than runnable threads be
 * preempted holding it while the caller waits.
 */
static gpointer progress_main(gpointer data)
{
	struct pp_driver *d = data;

	while (!atomic_load(&d->stop)) {
		uint32_t seq = pp_doorbell_seq(&d->ctl->progress_bell);
		uint64_t now = pp_now_ns();
		size_t n = 0;
		bool lost, callers = atomic_load(&d->ctl->callers) > 0;

		if (callers && now - d->last_reap_ns <= 2000000) {
			g_usleep(1000);
			continue;
		}
		g_mutex_lock(&d->lock);
		if (!callers)
			n = progress_locked(d);
		if (now - d->last_reap_ns > 2000000) {
			watch_workers(d);
			d->last_reap_ns = now;
			/* Memory a batch left unused for a second goes back. */
			pp_pool_trim_due(&d->obj_pool);
			reftab_trim_due(&d->objs);
		}
		lost = d->lost->len > 0;
		g_mutex_unlock(&d->lock);
		if (lost)
			handle_lost(d);
		if (n || lost || callers)
			continue;
		/*
		 * Deaths and time limits are checked on every wakeup; when nothing
		 * runs, a check every 50 ms keeps an idle pool near 0 CPU.
		 */
		pp_doorbell_wait(&d->ctl->progress_bell, seq, idle_wait_ns(d));
	}
	return NULL;
}

/* Open and close ---------------------------------------------------------------------- */

static char **read_cmdline(void)
{
	gchar *text = NULL;
	gsize len = 0;
	GPtrArray *argv = g_ptr_array_new();

	if (g_file_get_contents("/proc/self/cmdline", &text, &len, NULL)) {
		for (gsize i = 0; i < len;) {
			g_ptr_array_add(argv, g_strdup(text + i));
			i += strlen(text + i) + 1;
		}
	}
	if (!argv->len)
		g_ptr_array_add(argv, g_strdup("tarn-worker"));
	g_ptr_array_add(argv, NULL);
	g_free(text);
	return (char **)g_ptr_array_free(argv, FALSE);
}

static uint64_t config_u64(const tarn_host_services_t *host, const char *name, uint64_t def)
{
	const char *v = host->config_get(host->host, name);

	return v && v[0] ? g_ascii_strtoull(v, NULL, 10) : def;
}

int pp_driver_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		   struct tarn_backend *be)
{
	struct pp_driver *d = g_new0(struct pp_driver, 1);
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	const char *alloc = host->config_get(host->host, "SP_MEMORY_ALLOCATOR");
	Dl_info self;
	size_t head;
	int rc = TARN_EIO;

	be->d = d;
	d->host = host;
	g_mutex_init(&d->lock);
	g_cond_init(&d->changed);
	d->ctl_fd = d->store_fd = -1;
	d->nworkers = (uint32_t)config_u64(host, "UNIDIST_CPUS", 1);
	if (d->nworkers < 1 || d->nworkers > PP_MAX_WORKERS) {
		char msg[160];

		snprintf(msg, sizeof(msg), "procpool runs 1..%d workers; UNIDIST_CPUS is %u",
			 PP_MAX_WORKERS, d->nworkers);
		host->set_error(host->host, msg);
		rc = TARN_ECONFIG;
		goto fail;
	}
	d->inline_max = config_u64(host, "UNIDIST_PROCPOOL_INLINE_MAX", 65536);
	d->spin_ns = config_u64(host, "UNIDIST_PROCPOOL_SPIN_US", 100) * 1000;
	d->store_size = config_u64(host, "UNIDIST_PROCPOOL_STORE_SIZE",
				   pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 2 : 1ull << 30);
	d->store_size = (d->store_size + 4095) & ~(uint64_t)4095;
	if (alloc && strcmp(alloc, "system") != 0) {
		d->preload = allocator_path(alloc);
		if (!d->preload) {
			char msg[256];

			snprintf(msg, sizeof(msg),
				 "SP_MEMORY_ALLOCATOR=%s, but lib%s.so.2 is not installed (Debian: apt-get install lib%s%s)",
				 alloc, alloc, alloc, !strcmp(alloc, "jemalloc") ? "2" : "2.0");
			host->set_error(host->host, msg);
			rc = TARN_ECONFIG;
			goto fail;
		}
	}
	if (!dladdr((const void *)pp_driver_open, &self) || !self.dli_fname) {
		host->set_error(host->host, "procpool cannot find its own file to give to its workers");
		goto fail;
	}
	d->plugin_path = realpath(self.dli_fname, NULL);
	if (!d->plugin_path)
		d->plugin_path = g_strdup(self.dli_fname);

	d->ctl_size = pp_control_size(d->nworkers);
	d->ctl_fd = memfd_create("tarn-procpool-control", MFD_CLOEXEC);
	d->store_fd = memfd_create("tarn-procpool-store", MFD_CLOEXEC);
	if (d->ctl_fd < 0 || d->store_fd < 0 || ftruncate(d->ctl_fd, (off_t)d->ctl_size) != 0 ||
	    ftruncate(d->store_fd, (off_t)d->store_size) != 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "cannot create procpool's shared memory (%s)", g_strerror(errno));
		host->set_error(host->host, msg);
		goto fail;
	}
	d->ctl = pp_map(d->ctl_fd, d->ctl_size);
	d->store = pp_map(d->store_fd, d->store_size);
	d->arena = pp_arena_create(d->store_size, PP_STORE_ALIGN);
	if (!d->ctl || !d->store || !d->arena) {
		host->set_error(host->host, "cannot map procpool's shared memory");
		goto fail;
	}
	d->ctl->magic = PP_MAGIC;
	d->ctl->version = PP_VERSION;
	d->ctl->nslots = d->nworkers;
	d->ctl->size = d->ctl_size;
	pp_doorbell_init(&d->ctl->driver_bell);
	pp_doorbell_init(&d->ctl->progress_bell);
	head = (sizeof(struct pp_control) + d->nworkers * sizeof(struct pp_slot) + 4095) & ~(size_t)4095;
	for (uint32_t i = 0; i < d->nworkers; i++) {
		d->ctl->slots[i].in_off = head + 2 * i * pp_ring_size(PP_RING_BYTES);
		d->ctl->slots[i].out_off = d->ctl->slots[i].in_off + pp_ring_size(PP_RING_BYTES);
	}
	/* The driver's own refs (origin 0) are the dense sequence. */
	reftab_init(&d->objs, 0);
	pp_pool_init(&d->obj_pool, sizeof(struct pobj));
	d->waits = g_hash_table_new_full(NULL, NULL, NULL, wait_free);
	d->actors = g_hash_table_new_full(pp_ref_hash, pp_ref_equal, NULL, NULL);
	d->lost = g_ptr_array_new();
	d->libs = g_ptr_array_new_with_free_func(g_free);
	d->argv = read_cmdline();
	d->exe = RUNNING_ON_VALGRIND ? g_file_read_link("/proc/self/exe", NULL) : NULL;
	if (!d->exe)
		d->exe = g_strdup("/proc/self/exe");
	if (gethostname(d->hostname, sizeof(d->hostname) - 1) != 0)
		snprintf(d->hostname, sizeof(d->hostname), "localhost");
	for (uint32_t i = 0; i < d->nworkers; i++) {
		reftab_init(&d->workers[i].inflight, 0);
		d->workers[i].pins = g_hash_table_new_full(pp_ref_hash, pp_ref_equal, g_free, NULL);
		d->workers[i].holds = g_hash_table_new_full(pp_ref_hash, pp_ref_equal,
							    g_free, NULL);
		if (spawn_worker(d, (int)i) != 0) {
			host->set_error(host->host, "cannot start procpool's worker processes");
			goto fail;
		}
	}
	d->progress = g_thread_new("tarn-procpool", progress_main, d);
	info->role = TARN_ROLE_DRIVER;
	info->origin = 0;
	snprintf(info->worker, sizeof(info->worker), "procpool driver");
	return 0;
fail:
	pp_driver_close(be);
	return rc;
}

int pp_driver_close(struct tarn_backend *be)
{
	struct pp_driver *d = D(be);
	GHashTableIter it;
	gpointer k, v;
	struct ptask *t;

	if (!d)
		return 0;
	atomic_store(&d->stop, true);
	if (d->progress) {
		pp_doorbell_ring(&d->ctl->progress_bell);
		g_thread_join(d->progress);
	}
	/* Ask every worker to finish, then make sure. */
	for (uint32_t i = 0; i < d->nworkers; i++)
		if (d->workers[i].alive)
			send_to(d, &d->workers[i], M_EXIT, "", 1, NULL, 0, false);
	for (uint32_t i = 0; i < d->nworkers; i++) {
		struct pworker *w = &d->workers[i];
		uint64_t deadline = pp_now_ns() + 2000000000ull;

		if (!w->alive)
			continue;
		while (waitpid(w->pid, NULL, WNOHANG) == 0) {
			if (pp_now_ns() > deadline) {
				kill(w->pid, SIGKILL);
				waitpid(w->pid, NULL, 0);
				break;
			}
			g_usleep(1000);
		}
		w->alive = false;
	}
	for (uint32_t i = 0; i < d->nworkers; i++) {
		struct pworker *w = &d->workers[i];

		if (w->inflight.slots) {
			GPtrArray *all = g_ptr_array_new();

			reftab_values(&w->inflight, all);
			for (guint j = 0; j < all->len; j++)
				task_free(d, all->pdata[j]);
			g_ptr_array_free(all, TRUE);
			reftab_fini(&w->inflight);
		}
		if (w->pins)
			g_hash_table_destroy(w->pins);
		if (w->holds)
			g_hash_table_destroy(w->holds);
	}
	while ((t = ready_pop_head(&d->ready)))
		task_free(d, t);
	g_queue_clear(&d->actors_due);
	if (d->actors) {
		g_hash_table_iter_init(&it, d->actors);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			struct pactor *a = v;

			while ((t = g_queue_pop_head(&a->pending)))
				if (t->missing == 0 || t->kill)
					task_free(d, t);
			g_free(a);
		}
		g_hash_table_destroy(d->actors);
	}
	if (d->objs.slots) {
		/* Tasks still waiting for deps hang off their objects: free them once. */
		GHashTable *seen = g_hash_table_new(NULL, NULL);
		GPtrArray *all = g_ptr_array_new();

		reftab_values(&d->objs, all);
		for (guint j = 0; j < all->len; j++) {
			if (is_group(all->pdata[j])) {
				g_ptr_array_remove_index_fast(all, j--);
				continue;
			}
		}
		for (guint j = 0; j < all->len; j++) {
			struct pobj_wait *w = obj_wait(d, all->pdata[j]);

			for (guint i = 0; w && w->waiters && i < w->waiters->len; i++)
				if (g_hash_table_add(seen, w->waiters->pdata[i]))
					task_free(d, w->waiters->pdata[i]);
		}
		g_hash_table_destroy(seen);
		/* Their slabs go all at once below. */
		for (guint j = 0; j < all->len; j++)
			obj_free_parts(d, all->pdata[j]);
		g_ptr_array_free(all, TRUE);
		reftab_fini(&d->objs);
	}
	while (d->groups) {
		struct pgroup *g = d->groups;

		d->groups = g->next;
		g_free(g); /* its block goes with the store */
	}
	pp_pool_fini(&d->obj_pool);
	if (d->waits)
		g_hash_table_destroy(d->waits);
	if (d->lost) {
		for (guint i = 0; i < d->lost->len; i++) {
			struct lost *l = d->lost->pdata[i];

			task_free(d, l->t);
			g_free(l);
		}
		g_ptr_array_free(d->lost, TRUE);
	}
	while ((t = d->spare_tasks)) {
		d->spare_tasks = t->next;
		g_free(t);
	}
	if (d->libs)
		g_ptr_array_free(d->libs, TRUE);
	g_free(d->broken);
	if (d->arena)
		pp_arena_destroy(d->arena);
	if (d->ctl)
		munmap(d->ctl, d->ctl_size);
	if (d->store)
		munmap(d->store, d->store_size);
	if (d->ctl_fd >= 0)
		close(d->ctl_fd);
	if (d->store_fd >= 0)
		close(d->store_fd);
	g_strfreev(d->argv);
	g_free(d->exe);
	g_free(d->preload);
	free(d->plugin_path);
	g_cond_clear(&d->changed);
	g_mutex_clear(&d->lock);
	g_free(d);
	be->d = NULL;
	return 0;
}

uint32_t pp_driver_nworkers(struct tarn_backend *be)
{
	return D(be)->nworkers;
}

/* ABI calls on the driver ---------------------------------------------------------- */

static int submit_inner(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	struct pp_driver *d = D(be);
	struct pactor *a = NULL;
	int rc;

	g_mutex_lock(&d->lock);
	if (d->broken) {
		d->host->set_error(d->host->host, d->broken);
		g_mutex_unlock(&d->lock);
		return TARN_EWORKER;
	}
	if (t->kind == TARN_TASK_ACTOR_CALL) {
		a = g_hash_table_lookup(d->actors, &t->actor);
		if (!a || a->killed || a->dead) {
			g_mutex_unlock(&d->lock);
			return TARN_EACTOR;
		}
	}
	{
		struct ptask *p = task_copy(d, t);

		p->actor = a;
		rc = submit_locked(d, p);
	}
	/* Completions free ring space and results: take them while here. */
	if (any_output(d))
		progress_locked(d);
	g_mutex_unlock(&d->lock);
	return rc;
}

static int submit_batch_inner(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n)
{
	struct pp_driver *d = D(be);

	g_mutex_lock(&d->lock);
	if (d->broken) {
		d->host->set_error(d->host->host, d->broken);
		g_mutex_unlock(&d->lock);
		return TARN_EWORKER;
	}
	/*
	 * One lock for the lot, and tasks go out as soon as they are
	 * registered, so workers start on the first while the rest are copied.
	 */
	for (size_t i = 0; i < n; i++) {
		register_locked(d, task_copy(d, &tasks[i]));
		if ((i & 31) == 31)
			dispatch(d);
	}
	dispatch(d);
	if (any_output(d))
		progress_locked(d);
	g_mutex_unlock(&d->lock);
	return 0;
}

static int actor_create_locked(struct pp_driver *d, struct ptask *t)
{
	struct pactor *a = g_new0(struct pactor, 1);
	const uint32_t *count = d->slot_actors;
	int best = 0;

	/* Spread actors: the worker with the fewest actors, then the least busy. */
	for (uint32_t i = 1; i < d->nworkers; i++)
		if (count[i] < count[best] ||
		    (count[i] == count[best] && reftab_size(&d->workers[i].inflight) <
						      reftab_size(&d->workers[best].inflight)))
			best = (int)i;
	a->id = t->d.actor;
	a->slot = best;
	g_queue_init(&a->pending);
	d->slot_actors[best]++;
	g_hash_table_replace(d->actors, &a->id, a);
	t->actor = a;
	return submit_locked(d, t);
}

int pp_driver_actor_create(struct tarn_backend *be, const tarn_task_desc_t *ctor)
{
	struct pp_driver *d = D(be);
	int rc;

	g_mutex_lock(&d->lock);
	rc = actor_create_locked(d, task_copy(d, ctor));
	g_mutex_unlock(&d->lock);
	return rc;
}

static int actor_kill_locked(struct pp_driver *d, tarn_actor_t id)
{
	struct pactor *a = g_hash_table_lookup(d->actors, &id);
	struct ptask *mark;

	if (!a || a->killed)
		return TARN_ENOENT;
	a->killed = true;
	if (a->dead) {
		actor_free(d, a);
		return 0;
	}
	mark = g_new0(struct ptask, 1);
	mark->kill = true;
	mark->slot = -1;
	mark->payload_off = PP_INLINE;
	g_queue_push_tail(&a->pending, mark);
	if (actor_pump(d, a)) /* its ring was full; a may be freed when not */
		actor_due(d, a);
	return 0;
}

int pp_driver_actor_kill(struct tarn_backend *be, tarn_actor_t actor)
{
	struct pp_driver *d = D(be);
	int rc;

	g_mutex_lock(&d->lock);
	rc = actor_kill_locked(d, actor);
	g_mutex_unlock(&d->lock);
	return rc;
}

int pp_driver_create(struct tarn_backend *be, tarn_ref_t ref, size_t len,
		     uint32_t flags, void **data)
{
	struct pp_driver *d = D(be);
	struct pobj *o;
	uint64_t off = PP_INLINE;
	int rc = 0;

	g_mutex_lock(&d->lock);
	o = obj_find(d, ref);
	if (o && o->sealed) {
		rc = TARN_EEXIST;
		goto out;
	}
	if (len > d->inline_max && pp_arena_alloc(d->arena, len, &off) != 0) {
		rc = TARN_ENOSPC;
		goto out;
	}
	if (!o) {
		o = obj_new(d, ref);
		o->holds = 1; /* a put: held by this process */
	}
	obj_drop_bytes(d, o);
	o->off = off;
	if (off == PP_INLINE && !obj_alloc_bytes(o, len)) {
		rc = TARN_ENOMEM;
		goto out;
	}
	o->len = len;
	o->flags = flags;
	o->made = true;
	*data = off == PP_INLINE ? (void *)obj_bytes(o) : d->store + off;
out:
	g_mutex_unlock(&d->lock);
	return rc;
}

int pp_driver_seal(struct tarn_backend *be, tarn_ref_t ref)
{
	struct pp_driver *d = D(be);
	struct pobj *o;
	int rc = 0;

	g_mutex_lock(&d->lock);
	o = obj_find(d, ref);
	if (!o)
		rc = TARN_ENOENT;
	else if (o->sealed)
		rc = TARN_EEXIST;
	else if (!o->made)
		rc = TARN_EINVAL;
	else
		seal_locked(d, o);
	if (rc == 0)
		dispatch(d);
	g_mutex_unlock(&d->lock);
	return rc;
}

/*
 * A fetch's deadline, read from the clock only when it must wait (a
 * clock read is 25 ns on this machine's VM).
 */
#define DEADLINE_UNSET G_MININT64

static gint64 deadline_of(double timeout)
{
	return timeout < 0 ? -1 : g_get_monotonic_time() + (gint64)(timeout * 1e6);
}

/*
 * Wait for @ref until @deadline and pin a view of it (lock held, and held
 * again on return). *@spin_until starts the polling window on first need
 * (0: not yet), so a batch of refs shares one window per ref that waits.
 */
/*
 * Whether what d->objs says of @ref is no longer @was, or is sealed now:
 * the fetch looks again (lock held).
 */
static bool fetch_settled(struct pp_driver *d, tarn_ref_t ref, void *was)
{
	void *v = reftab_find(&d->objs, ref);
	struct pgroup *g;
	uint32_t i;

	if (v != was)
		return true;
	if (!is_group(v))
		return ((struct pobj *)v)->sealed;
	g = as_group(v);
	i = group_index(g, ref);
	return g->st[i] != G_LIVE || slot_sealed(d, g, i);
}

static int fetch_locked(struct pp_driver *d, tarn_ref_t ref, double timeout,
			gint64 *deadline_p, tarn_obj_view_t *view)
{
	gint64 deadline;
	uint64_t spin_until = 0, now;
	struct pobj *o;
	void *v;

	for (;;) {
		v = reftab_find(&d->objs, ref);
		if (is_group(v)) {
			/* A result in its group slot, read in place. */
			struct pgroup *g = as_group(v);
			uint32_t i = group_index(g, ref);
			struct pp_gslot *s = group_slot(d, g, i);

			if (g->st[i] != G_LIVE)
				return TARN_ENOENT;
			if (slot_sealed(d, g, i)) {
				g->pins++;
				view->data = s->data;
				view->len = s->len;
				view->flags = s->flags;
				view->token = group_tag(g);
				return 0;
			}
		} else {
			o = v;
			/* Unheld: released, maybe before its task has even made it. */
			if (!o || !o->holds)
				return TARN_ENOENT;
			if (o->sealed)
				break;
		}
		/* Help: drain completions here rather than wait for the thread. */
		progress_locked(d);
		if (fetch_settled(d, ref, v))
			continue;
		if (*deadline_p == DEADLINE_UNSET)
			*deadline_p = deadline_of(timeout);
		deadline = *deadline_p;
		if (timeout == 0 || (deadline >= 0 && g_get_monotonic_time() >= deadline))
			return TARN_ETIMEDOUT;
		/*
		 * A hot worker answers in microseconds: poll the rings for a
		 * while (without the lock between polls) before sleeping, which
		 * would add a wakeup of tens of microseconds.
		 */
		now = pp_now_ns();
		if (!spin_until)
			spin_until = now + d->spin_ns;
		if (now < spin_until) {
			g_mutex_unlock(&d->lock);
			pp_spin_step(now + d->spin_ns - spin_until);
			g_mutex_lock(&d->lock);
			continue;
		}
		/*
		 * Sleep on the driver's doorbell, which the worker rings when it
		 * writes the result: one wakeup, instead of the worker waking the
		 * progress thread waking us.
		 */
		{
			/* Workers ring it lazily: count in before the last look. */
			uint32_t seq = pp_doorbell_prepare(&d->ctl->driver_bell);
			int64_t wait_ns = 1000000;

			if (deadline >= 0) {
				gint64 left = deadline - g_get_monotonic_time();

				if (left * 1000 < wait_ns)
					wait_ns = left > 0 ? left * 1000 : 0;
			}
			progress_locked(d);
			if (fetch_settled(d, ref, v)) {
				pp_doorbell_cancel(&d->ctl->driver_bell);
				continue;
			}
			g_mutex_unlock(&d->lock);
			pp_doorbell_sleep(&d->ctl->driver_bell, seq, wait_ns);
			g_mutex_lock(&d->lock);
		}
	}
	o->pins++;
	view->data = obj_data(d, o);
	view->len = o->len;
	view->flags = o->flags;
	/* The pin keeps @o alive until the view is unpinned. */
	view->token = o;
	return 0;
}

static int fetch_inner(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		       tarn_obj_view_t *view)
{
	struct pp_driver *d = D(be);
	gint64 deadline = DEADLINE_UNSET;
	int rc;

	g_mutex_lock(&d->lock);
	rc = fetch_locked(d, ref, timeout, &deadline, view);
	g_mutex_unlock(&d->lock);
	return rc;
}

/* Give back the pin of @view (lock held). */
static void unpin_locked(struct pp_driver *d, tarn_obj_view_t *view)
{
	struct pobj *o = view->token;

	if (!o)
		return;
	if (is_group(o)) {
		struct pgroup *g = as_group(o);

		g->pins--;
		group_maybe_free(d, g);
		view->token = NULL;
		return;
	}
	if (o->pins) {
		o->pins--;
		obj_maybe_free(d, o);
	}
	view->token = NULL;
}

/* Whether fetch_locked() would find @ref, now or once it is sealed. */
static bool gettable_locked(struct pp_driver *d, tarn_ref_t ref)
{
	void *v = reftab_find(&d->objs, ref);

	if (is_group(v))
		return as_group(v)->st[group_index(as_group(v), ref)] == G_LIVE;
	return v && ((struct pobj *)v)->holds;
}

/*
 * One lock for the lot: per ref, what is left is a table lookup and a pin,
 * where fetch() pays a lock, a clock read and a counter round trip each.
 */
static int fetch_batch_inner(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			     double timeout, tarn_obj_view_t *views, size_t *failed)
{
	struct pp_driver *d = D(be);
	gint64 deadline = deadline_of(timeout);
	int rc = 0;

	g_mutex_lock(&d->lock);
	/* One released ref fails the batch at once, not after the others. */
	for (size_t i = 0; i < n; i++) {
		if (!gettable_locked(d, refs[i])) {
			g_mutex_unlock(&d->lock);
			*failed = i;
			return TARN_ENOENT;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = fetch_locked(d, refs[i], timeout, &deadline, &views[i]);
		if (rc) {
			for (size_t j = 0; j < i; j++)
				unpin_locked(d, &views[j]);
			*failed = i;
			break;
		}
	}
	g_mutex_unlock(&d->lock);
	return rc;
}

void pp_driver_unpin_batch(struct tarn_backend *be, tarn_obj_view_t *views, size_t n)
{
	struct pp_driver *d = D(be);

	g_mutex_lock(&d->lock);
	for (size_t i = 0; i < n; i++)
		unpin_locked(d, &views[i]);
	g_mutex_unlock(&d->lock);
}

void pp_driver_unpin(struct tarn_backend *be, tarn_obj_view_t *view)
{
	struct pp_driver *d = D(be);

	if (!view->token)
		return;
	g_mutex_lock(&d->lock);
	unpin_locked(d, view);
	g_mutex_unlock(&d->lock);
}

static int wait_inner(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		      size_t num_returns, double timeout, bool *ready)
{
	struct pp_driver *d = D(be);
	gint64 deadline = deadline_of(timeout);
	size_t count;

	g_mutex_lock(&d->lock);
	for (;;) {
		count = 0;
		progress_locked(d);
		for (size_t i = 0; i < n; i++) {
			bool slot = false;
			int st = -1;

			/* Released, maybe before its task has made it: as for a get. */
			if (gettable_locked(d, refs[i]))
				st = obj_state(d, refs[i], &slot);
			/*
			 * A slot not sealed yet gets a record, sealed by message,
			 * which wakes this wait (slots wake only a get).
			 */
			if (st == 0 && slot)
				st = obj_find(d, refs[i]) ? obj_state(d, refs[i], &slot) : -1;
			if (st < 0) {
				g_mutex_unlock(&d->lock);
				return TARN_ENOENT;
			}
			ready[i] = st;
			count += (size_t)st;
		}
		if (count >= num_returns || timeout == 0 ||
		    (deadline >= 0 && g_get_monotonic_time() >= deadline))
			break;
		{
			gint64 until = g_get_monotonic_time() + 1000;

			if (deadline >= 0 && deadline < until)
				until = deadline;
			d->cond_waiters++;
			g_cond_wait_until(&d->changed, &d->lock, until);
			d->cond_waiters--;
		}
	}
	g_mutex_unlock(&d->lock);
	return (int)count;
}

/*
 * A thread inside submit, fetch or wait drains the rings itself; while one
 * is, the progress thread keeps out of the way (see progress_main()).
 */
static void caller_enter(struct pp_driver *d)
{
	atomic_fetch_add(&d->ctl->callers, 1);
}

/*
 * Workers do not wake the progress thread while a caller is inside, since
 * callers drain the rings: so the last one out wakes it for what it leaves
 * behind. The two sides order their store before their load (seq_cst), so
 * a message is seen either by the worker's look at callers or by this look
 * at the rings.
 */
static void caller_leave(struct pp_driver *d)
{
	if (atomic_fetch_sub(&d->ctl->callers, 1) != 1)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	/* From the control region: the worker table is the lock's. */
	for (uint32_t i = 0; i < d->nworkers; i++) {
		if (pp_ring_nonempty(pp_ring_at(d->ctl, d->ctl->slots[i].out_off))) {
			pp_doorbell_ring(&d->ctl->progress_bell);
			return;
		}
	}
}

int pp_driver_submit(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	struct pp_driver *d = D(be);
	int rc;

	caller_enter(d);
	rc = submit_inner(be, t);
	caller_leave(d);
	return rc;
}

int pp_driver_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n)
{
	struct pp_driver *d = D(be);
	int rc;

	caller_enter(d);
	rc = submit_batch_inner(be, tasks, n);
	caller_leave(d);
	return rc;
}

int pp_driver_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view)
{
	struct pp_driver *d = D(be);
	int rc;

	caller_enter(d);
	rc = fetch_inner(be, ref, timeout, view);
	caller_leave(d);
	return rc;
}

int pp_driver_fetch_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			  double timeout, tarn_obj_view_t *views, size_t *failed)
{
	struct pp_driver *d = D(be);
	int rc;

	caller_enter(d);
	rc = fetch_batch_inner(be, refs, n, timeout, views, failed);
	caller_leave(d);
	return rc;
}

int pp_driver_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready)
{
	struct pp_driver *d = D(be);
	int rc;

	caller_enter(d);
	rc = wait_inner(be, refs, n, num_returns, timeout, ready);
	caller_leave(d);
	return rc;
}

/* Drop the hold of @ref: TARN_ENOENT when it has none (lock held). */
static int release_locked(struct pp_driver *d, tarn_ref_t ref)
{
	void *v = reftab_find(&d->objs, ref);
	struct pobj *o = v;

	if (is_group(v)) {
		struct pgroup *g = as_group(v);
		uint32_t i = group_index(g, ref);

		if (g->st[i] != G_LIVE)
			return TARN_ENOENT;
		g->st[i] = G_RELEASED;
		g->live--;
		group_maybe_free(d, g);
		return 0;
	}
	if (!o || !o->holds)
		return TARN_ENOENT;
	o->holds--;
	obj_maybe_free(d, o);
	return 0;
}

int pp_driver_release(struct tarn_backend *be, tarn_ref_t ref)
{
	struct pp_driver *d = D(be);
	int rc;

	g_mutex_lock(&d->lock);
	rc = release_locked(d, ref);
	g_mutex_unlock(&d->lock);
	return rc;
}

/* Every ref is handled, even after a failure: one lock, not one per ref. */
int pp_driver_release_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			    size_t *failed)
{
	struct pp_driver *d = D(be);
	int rc = 0;

	g_mutex_lock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		if (!refs[i].seq)
			continue; /* the null ref (the ABI: skipped) */
		if (release_locked(d, refs[i]) && !rc) {
			rc = TARN_ENOENT;
			*failed = i;
		}
	}
	g_mutex_unlock(&d->lock);
	return rc;
}

int pp_driver_load_library(struct tarn_backend *be, const char *path)
{
	struct pp_driver *d = D(be);

	g_mutex_lock(&d->lock);
	g_ptr_array_add(d->libs, g_strdup(path));
	load_everywhere(d, path, -1);
	g_mutex_unlock(&d->lock);
	return 0;
}
