/* SPDX-License-Identifier: MIT */
/*
 * The mpi backend's worker half (ranks 2..N-1, and the monitor, rank 1,
 * which runs no tasks): the task thread, the objects this rank owns, and
 * fetching from their owners.
 *
 * The task thread is the thread in worker_loop(). A task that waits (a
 * tarn_get of a result not ready yet) runs other queued plain tasks in the
 * meantime, so that a worker never waits for work queued behind itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tm.h"

struct wobj {
	tarn_ref_t ref;
	unsigned char *bytes;
	uint64_t len;
	uint32_t flags;
	bool sealed;
	bool dropped; /* freed by the directory while pinned here */
	bool shm;     /* @bytes map a segment of the host's shared store */
	uint32_t pins;
};

/*
 * A small result the task thread made and has not sealed yet: a few of
 * them live here, in place, rather than in a buffer, a record and an
 * entry of @objs each (they are forgotten at seal anyway: the directory
 * keeps small objects).
 */
#define TM_FRESH 8
#define TM_FRESH_MAX 64

struct wfresh {
	_Alignas(16) unsigned char bytes[TM_FRESH_MAX];
	tarn_ref_t ref;
	uint32_t len;
	uint32_t flags;
	bool used;
};

struct wdep {
	struct tm_dep d;
	const unsigned char *bytes; /* inline, inside the task's message */
};

struct wtask {
	struct tm_task h;
	bool kill; /* an actor's kill marker */
	struct wdep *deps; /* inside this allocation, after @msg; NULL: none */
	const void *payload;
	struct wtask *outer; /* the task this one runs on top of */
	_Alignas(8) unsigned char msg[];
};

enum { V_LOCAL = 1, V_DEP, V_COPY, V_SHM };

struct wview {
	int kind;
	struct wobj *o;
	unsigned char *copy;
	void *map; /* V_SHM: a read-only mapping of the owner's segment */
	size_t map_len;
};

struct tm_worker {
	bool monitor;
	GQueue tasks;
	GHashTable *objs; /* ref -> wobj, the objects this rank owns */
	bool exit;
	int nesting;
	int driver_pid;
	bool driver_local;
	bool driver_known;
	uint64_t last_heard_ns;
	/*
	 * T_SEALED records the task thread made and has not sent yet: a task's
	 * seals go with its done message, one message for a group of calls
	 * (be->lock; see hold_seal()).
	 */
	unsigned char *seals;
	size_t seals_len, seals_cap;
	struct wfresh fresh[TM_FRESH]; /* be->lock */
	uint32_t nfresh;
};

static __thread struct wtask *cur_task;
static __thread bool on_task_thread;

static struct tm_worker *W(struct tarn_backend *be)
{
	return be->w;
}

/* Give back @o's bytes: its segment and the store budget, or its heap memory. */
static void drop_bytes(struct tarn_backend *be, struct wobj *o)
{
	if (o->shm) {
		char name[128];
		struct tm_shm m = {.len = o->len};

		munmap(o->bytes, o->len);
		tm_shm_name(be, o->ref, name, sizeof(name));
		shm_unlink(name);
		tm_send(be, TM_MONITOR, T_SHM_FREE, &m, sizeof(m), NULL, 0);
	} else {
		g_free(o->bytes);
	}
	o->bytes = NULL;
	o->shm = false;
}

static void obj_remove(struct tarn_backend *be, struct wobj *o)
{
	drop_bytes(be, o);
	g_hash_table_remove(W(be)->objs, &o->ref);
	g_free(o);
}

static void obj_unpin(struct tarn_backend *be, struct wobj *o)
{
	if (o->pins)
		o->pins--;
	if (!o->pins && o->dropped)
		obj_remove(be, o);
}

/* Seals held back ------------------------------------------------------------------------ */

/* Flush the seals held back before this message: @be->lock held. */
static void flush_seals(struct tarn_backend *be)
{
	struct tm_worker *w = W(be);

	if (!w->seals_len)
		return;
	tm_send(be, TM_DRIVER, T_SEALED, w->seals, w->seals_len, NULL, 0);
	w->seals_len = 0;
}

/*
 * Everything this rank tells the driver goes after the seals held back:
 * the driver must know an object before it is released, waited for, read
 * or an argument (be->lock not held).
 */
static void send_driver(struct tarn_backend *be, uint32_t type, const void *a, size_t alen,
			const void *b, size_t blen)
{
	g_mutex_lock(&be->lock);
	flush_seals(be);
	g_mutex_unlock(&be->lock);
	tm_send(be, TM_DRIVER, type, a, alen, b, blen);
}

/*
 * A seal on the task thread waits for the task's done message (or the
 * next message to the driver, or the next wait): a group of calls then
 * costs one message and one turn of the driver's lock, not one per
 * result. Records are padded to 8 bytes (be->lock held).
 */
static void hold_seal(struct tarn_backend *be, const struct tm_sealed *m, const void *bytes)
{
	struct tm_worker *w = W(be);
	size_t need = sizeof(*m) + tm_pad8(m->inline_len);

	if (w->seals_len + need > TM_PACK_MAX / 2)
		flush_seals(be);
	if (w->seals_len + need > w->seals_cap) {
		w->seals_cap = MAX(MAX(w->seals_cap * 2, (size_t)4096), w->seals_len + need);
		w->seals = g_realloc(w->seals, w->seals_cap);
	}
	memcpy(w->seals + w->seals_len, m, sizeof(*m));
	if (m->inline_len)
		memcpy(w->seals + w->seals_len + sizeof(*m), bytes, m->inline_len);
	memset(w->seals + w->seals_len + sizeof(*m) + m->inline_len, 0,
	       tm_pad8(m->inline_len) - m->inline_len);
	w->seals_len += need;
}

/* Messages ---------------------------------------------------------------------------- */

static void on_task(struct tarn_backend *be, const unsigned char *p, size_t len)
{
	struct tm_task h;
	struct wtask *t;
	size_t off = sizeof(struct tm_task);

	if (len < sizeof(struct tm_task))
		return;
	memcpy(&h, p, sizeof(h));
	if (h.ndeps > (len - sizeof(h)) / sizeof(struct tm_dep))
		goto bad_header;
	/* One allocation: the task, its message, its dependencies. */
	t = g_malloc(sizeof(*t) + tm_pad8(len) + h.ndeps * sizeof(struct wdep));
	memset(t, 0, sizeof(*t));
	memcpy(t->msg, p, len);
	t->h = h;
	if (h.ndeps) {
		t->deps = (struct wdep *)(void *)(t->msg + tm_pad8(len));
		memset(t->deps, 0, h.ndeps * sizeof(struct wdep));
	}
	for (uint32_t i = 0; i < t->h.ndeps; i++) {
		if (off + sizeof(struct tm_dep) > len)
			goto bad;
		memcpy(&t->deps[i].d, t->msg + off, sizeof(struct tm_dep));
		off += sizeof(struct tm_dep);
		if (t->deps[i].d.inline_len) {
			if (t->deps[i].d.inline_len != t->deps[i].d.len ||
			    off + t->deps[i].d.len > len)
				goto bad;
			t->deps[i].bytes = t->msg + off;
			off += tm_pad8(t->deps[i].d.len);
		}
	}
	if (off + t->h.payload_len > len)
		goto bad;
	t->payload = t->msg + off;
	g_queue_push_tail(&W(be)->tasks, t);
	tm_wake(be);
	return;
bad:
	g_free(t);
bad_header:
	tm_log(be, TARN_LOG_ERROR, "rank %d got a malformed task message", be->rank);
}

static void send_done_cb(void *arg)
{
	struct tarn_backend *be = ((void **)arg)[0];
	struct wobj *o = ((void **)arg)[1];

	g_mutex_lock(&be->lock);
	obj_unpin(be, o);
	g_mutex_unlock(&be->lock);
	g_free(arg);
}

/* Someone fetches an object this rank owns: send it straight to them. */
static void on_fetch(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_req m;
	struct tm_data r = {0};
	struct wobj *o;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	r.req = m.req;
	r.ref = m.ref;
	r.owner = be->rank;
	o = g_hash_table_lookup(W(be)->objs, &m.ref);
	if (!o || !o->sealed || o->dropped) {
		r.status = TARN_ENOENT;
		tm_send(be, src, T_DATA, &r, sizeof(r), NULL, 0);
		return;
	}
	r.flags = o->flags;
	r.len = o->len;
	if (o->len <= TM_INLINE_MAX) {
		r.inline_len = o->len;
		tm_send(be, src, T_DATA, &r, sizeof(r), o->bytes, o->len);
	} else {
		void **arg = g_new(void *, 2);

		arg[0] = be;
		arg[1] = o;
		o->pins++;
		r.bulk = 1;
		tm_send(be, src, T_DATA, &r, sizeof(r), NULL, 0);
		tm_send_bulk(be, src, o->bytes, o->len, send_done_cb, arg);
	}
}

/* A T_DATA or T_LOCATED answer to one of our requests (lock held). */
static void on_reply(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_data m;
	struct tm_pending *pd;
	unsigned char *buf = NULL;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	if (m.status == 0 && (m.bulk || m.inline_len)) {
		buf = g_try_malloc(m.len ? m.len : 1);
		if (m.bulk) {
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
	pd->owner = m.owner;
	pd->flags = m.flags;
	pd->len = m.len;
	/* Located without bytes: the caller fetches from the owner. */
	pd->count = (m.bulk || m.inline_len || m.len == 0) ? 1 : 0;
	pd->flags_shm = m.shm;
	pd->buf = buf;
	tm_wake(be);
}

static void on_waited(struct tarn_backend *be, const unsigned char *p, size_t len)
{
	struct tm_status m;
	struct tm_pending *pd;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	pd = g_hash_table_lookup(be->pending, &m.req);
	if (!pd)
		return;
	pd->done = true;
	pd->status = m.status;
	pd->count = m.count;
	pd->len = len - sizeof(m);
	pd->buf = g_memdup2(p + sizeof(m), pd->len ? pd->len : 1);
	tm_wake(be);
}

/* The monitor keeps the host's store budget. */
static void on_shm(struct tarn_backend *be, int src, uint32_t type, const unsigned char *p,
		   size_t len)
{
	struct tm_shm m;
	struct tm_pending *pd;

	if (len < sizeof(m))
		return;
	memcpy(&m, p, sizeof(m));
	switch (type) {
	case T_SHM_ALLOC:
		m.status = be->store_used + m.len <= be->store_limit ? 0 : TARN_ENOSPC;
		if (!m.status)
			be->store_used += m.len;
		tm_send(be, src, T_SHM_GRANT, &m, sizeof(m), NULL, 0);
		break;
	case T_SHM_FREE:
		be->store_used -= MIN(be->store_used, m.len);
		break;
	case T_SHM_GRANT:
		pd = g_hash_table_lookup(be->pending, &m.req);
		if (pd) {
			pd->done = true;
			pd->status = m.status;
			tm_wake(be);
		}
		break;
	}
}

void tm_worker_handle(struct tarn_backend *be, int src, uint32_t type, const unsigned char *p,
		      size_t len)
{
	struct tm_worker *w = W(be);

	g_mutex_lock(&be->lock);
	if (src == TM_DRIVER)
		w->last_heard_ns = tm_now_ns();
	switch (type) {
	case T_HELLO:
		if (len >= sizeof(struct tm_hello)) {
			struct tm_hello m;

			memcpy(&m, p, sizeof(m));
			m.host[sizeof(m.host) - 1] = '\0';
			m.job[sizeof(m.job) - 1] = '\0';
			m.monitor_host[sizeof(m.monitor_host) - 1] = '\0';
			snprintf(be->job, sizeof(be->job), "%s", m.job);
			be->store = be->store && strcmp(m.monitor_host, be->hostname) == 0;
			w->driver_pid = m.pid;
			w->driver_local = strcmp(m.host, be->hostname) == 0;
			w->driver_known = true;
			m.link[sizeof(m.link) - 1] = '\0';
			if (m.link[0]) {
				int lrc = tm_link_attach(be, m.link, m.link_nonce);
				uint32_t ok = lrc == 0;

				tm_send(be, TM_DRIVER, T_LINK_UP, &ok, sizeof(ok), NULL, 0);
				if (lrc)
					tm_log(be, TARN_LOG_DEBUG, "rank %d cannot map the driver's link "
						   "%s (%s): its messages go by MPI", be->rank,
						   m.link, g_strerror(-lrc));
			}
		}
		break;
	case T_PING:
		tm_send(be, src, T_PONG, NULL, 0, NULL, 0);
		break;
	case T_TASK:
		on_task(be, p, len);
		break;
	case T_KILL_ACTOR:
		if (len >= sizeof(tarn_actor_t)) {
			struct wtask *t = g_malloc0(sizeof(*t));

			t->kill = true;
			memcpy(&t->h.actor, p, sizeof(t->h.actor));
			g_queue_push_tail(&w->tasks, t);
			tm_wake(be);
		}
		break;
	case T_FETCH:
		on_fetch(be, src, p, len);
		break;
	case T_DATA:
	case T_LOCATED:
		on_reply(be, src, p, len);
		break;
	case T_WAITED:
		on_waited(be, p, len);
		break;
	case T_SHM_ALLOC:
	case T_SHM_FREE:
	case T_SHM_GRANT:
		on_shm(be, src, type, p, len);
		break;
	case T_FREE:
		if (len >= sizeof(tarn_ref_t)) {
			tarn_ref_t ref;
			struct wobj *o;

			memcpy(&ref, p, sizeof(ref));
			o = g_hash_table_lookup(w->objs, &ref);
			if (o && o->pins)
				o->dropped = true;
			else if (o)
				obj_remove(be, o);
		}
		break;
	case T_LOAD: {
		char *path = g_strndup((const char *)p, len);

		if (!w->monitor && !dlopen(path, RTLD_NOW | RTLD_GLOBAL))
			tm_log(be, TARN_LOG_ERROR, "rank %d cannot load %s: %s", be->rank, path,
			       dlerror());
		g_free(path);
		break;
	}
	case T_EXIT:
		w->exit = true;
		tm_wake(be);
		break;
	default:
		tm_log(be, TARN_LOG_WARNING, "rank %d got an unknown message %u from rank %d",
		       be->rank, type, src);
	}
	g_mutex_unlock(&be->lock);
}

void tm_worker_tick(struct tarn_backend *be)
{
	struct tm_worker *w = W(be);
	bool gone = false;
	char msg[256];

	g_mutex_lock(&be->lock);
	/*
	 * Seals held back go out within a tick even while the task runs on:
	 * a group's first result is not kept until its last call ends.
	 */
	flush_seals(be);
	if (w->driver_known && !w->exit) {
		if (w->driver_local)
			gone = kill(w->driver_pid, 0) != 0 && errno == ESRCH;
		else
			gone = tm_now_ns() - w->last_heard_ns > (uint64_t)(3 * TM_SILENCE_LIMIT * 1e9);
	}
	g_mutex_unlock(&be->lock);
	if (gone) {
		snprintf(msg, sizeof(msg), "rank %d: the driver (rank 0, pid %d) is gone; "
					   "ending the job", be->rank, w->driver_pid);
		tm_abort_job(be, msg);
	}
}

/* Running tasks ----------------------------------------------------------------------------- */

static void run(struct tarn_backend *be, struct wtask *t)
{
	const tarn_host_services_t *h = be->host;

	if (t->kill) {
		h->actor_destroy(h->host, t->h.actor);
	} else {
		struct tm_done done = {.id = t->h.id};

		done.report.size = sizeof(done.report);
		t->outer = cur_task;
		cur_task = t;
		/*
		 * This thread sends what the task queues when it next waits:
		 * the comm thread keeps away meanwhile, and does not send the
		 * result without the done message (the driver would see this
		 * worker busy still, and send it the next task elsewhere).
		 */
		atomic_store(&be->driven_ns, tm_now_ns());
		h->run_task(h->host, t->payload, t->h.payload_len, t->h.attempt, &done.report);
		cur_task = t->outer;
		/* The task's seals, then its end, in one message. */
		g_mutex_lock(&be->lock);
		tm_send(be, TM_DRIVER, T_DONE, &done, sizeof(done), W(be)->seals,
			W(be)->seals_len);
		W(be)->seals_len = 0;
		g_mutex_unlock(&be->lock);
		tm_trace(be, "task %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT " attempt %u: status %d",
			 t->h.id.origin, t->h.id.seq, t->h.attempt, done.report.status);
	}
	g_free(t);
}

/* A plain task to run while the task thread waits (lock held), or NULL. */
static struct wtask *take_nested(struct tm_worker *w)
{
	for (GList *l = w->tasks.head; l; l = l->next) {
		struct wtask *t = l->data;

		if (!t->kill && t->h.kind == TARN_TASK_PLAIN) {
			g_queue_delete_link(&w->tasks, l);
			return t;
		}
	}
	return NULL;
}

/* Wait for @p (lock held), running queued tasks meanwhile on the task thread. */
static bool wait_reply(struct tarn_backend *be, struct tm_pending *p, uint64_t deadline)
{
	struct tm_worker *w = W(be);

	/* Whom we wait for may need what this task sealed. */
	flush_seals(be);
	while (!p->done) {
		struct wtask *t;

		if (on_task_thread && w->nesting < TM_MAX_NESTING && (t = take_nested(w))) {
			w->nesting++;
			g_mutex_unlock(&be->lock);
			run(be, t);
			g_mutex_lock(&be->lock);
			w->nesting--;
			continue;
		}
		if (!tm_cond_wait(be, deadline))
			return p->done;
	}
	return true;
}

int tm_worker_loop(struct tarn_backend *be)
{
	struct tm_worker *w = W(be);

	on_task_thread = true;
	g_mutex_lock(&be->lock);
	for (;;) {
		struct wtask *t;

		while (!w->exit && !w->tasks.length)
			tm_cond_wait(be, 0);
		if (w->exit)
			break;
		t = g_queue_pop_head(&w->tasks);
		g_mutex_unlock(&be->lock);
		run(be, t);
		g_mutex_lock(&be->lock);
	}
	g_mutex_unlock(&be->lock);
	return 0;
}

/* ABI ------------------------------------------------------------------------------------------- */

int tm_worker_open(struct tarn_backend *be, tarn_open_info_t *info)
{
	struct tm_worker *w = g_new0(struct tm_worker, 1);
	struct tm_hello me = {.pid = getpid()};

	be->w = w;
	w->monitor = be->rank == TM_MONITOR;
	w->objs = g_hash_table_new(tm_ref_hash, tm_ref_equal);
	w->last_heard_ns = tm_now_ns();
	g_queue_init(&w->tasks);
	info->role = TARN_ROLE_WORKER;
	snprintf(info->worker, sizeof(info->worker), "%s rank %d", w->monitor ? "monitor" : "worker",
		 be->rank);
	snprintf(me.host, sizeof(me.host), "%s", be->hostname);
	tm_start_comm(be);
	tm_send(be, TM_DRIVER, T_HELLO, &me, sizeof(me), NULL, 0);
	tm_log(be, TARN_LOG_DEBUG, "%s rank %d (pid %d on %s) of %d, %s mode",
	       w->monitor ? "monitor" : "worker", be->rank, (int)getpid(), be->hostname, be->size,
	       be->spawn ? "spawn" : "SPMD");
	return 0;
}

int tm_worker_close(struct tarn_backend *be)
{
	struct tm_worker *w = W(be);
	struct wtask *t;

	tm_send(be, TM_DRIVER, T_BYE, NULL, 0, NULL, 0);
	tm_trace(be, "rank %d: shutting down", be->rank);
	/* Bulk sends in flight still point into objects: let them finish first. */
	tm_stop_comm(be);
	while ((t = g_queue_pop_head(&w->tasks)))
		g_free(t);
	{
		GHashTableIter it;
		gpointer v;

		g_hash_table_iter_init(&it, w->objs);
		while (g_hash_table_iter_next(&it, NULL, &v)) {
			struct wobj *o = v;

			if (o->shm)
				munmap(o->bytes, o->len);
			else
				g_free(o->bytes);
			g_free(o);
		}
	}
	/* Segments of ranks that ended without freeing them. */
	if (w->monitor)
		tm_shm_sweep(be);
	g_hash_table_destroy(w->objs);
	g_free(w->seals);
	g_free(w);
	be->w = NULL;
	return 0;
}

/* Bytes of @t's T_SUBMIT record, padded to 8. */
static size_t submit_len(const tarn_task_desc_t *t)
{
	return tm_pad8(sizeof(struct tm_submit) +
		       (t->num_deps + t->num_returns) * sizeof(tarn_ref_t) +
		       tm_pad8(strlen(t->name) + 1) + t->payload_len);
}

/* Write @t's T_SUBMIT record at @buf (zeroed, submit_len() bytes). */
static void submit_write(unsigned char *buf, const tarn_task_desc_t *t)
{
	size_t name_len = strlen(t->name);
	unsigned char *q = buf + sizeof(struct tm_submit);
	struct tm_submit m = {
		.id = t->id,
		.actor = t->actor,
		.kind = t->kind,
		.max_retries = t->max_retries,
		.retry_on_error = t->retry_on_error,
		.ndeps = (uint32_t)t->num_deps,
		.nreturns = (uint32_t)t->num_returns,
		.name_len = (uint32_t)name_len,
		.timeout = t->timeout,
		.num_cpus = t->num_cpus,
		.num_gpus = t->num_gpus,
		.memory = t->memory,
		.payload_len = t->payload_len,
	};

	memcpy(buf, &m, sizeof(m));
	memcpy(q, t->deps, t->num_deps * sizeof(tarn_ref_t));
	q += t->num_deps * sizeof(tarn_ref_t);
	memcpy(q, t->returns, t->num_returns * sizeof(tarn_ref_t));
	q += t->num_returns * sizeof(tarn_ref_t);
	memcpy(q, t->name, name_len);
	q += tm_pad8(name_len + 1);
	if (t->payload_len)
		memcpy(q, t->payload, t->payload_len);
}

int tm_worker_submit(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	return tm_worker_submit_batch(be, t, 1);
}

/*
 * One T_SUBMIT message for the lot, records back to back: the driver
 * registers them under one turn of its lock. Packs of up to TM_PACK_MAX
 * (a larger payload goes alone).
 */
int tm_worker_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = submit_len(&tasks[i]), k = i + 1, off = 0;
		unsigned char *buf;

		while (k < n && len + submit_len(&tasks[k]) <= TM_PACK_MAX)
			len += submit_len(&tasks[k++]);
		buf = g_malloc0(len);
		for (size_t j = i; j < k; j++) {
			submit_write(buf + off, &tasks[j]);
			off += submit_len(&tasks[j]);
		}
		send_driver(be, T_SUBMIT, buf, len, NULL, 0);
		g_free(buf);
		i = k;
	}
	return 0;
}

/*
 * A segment of the host's shared store for @ref, if the monitor grants the
 * room (lock held); NULL to use private memory instead.
 */
static void *shm_create(struct tarn_backend *be, tarn_ref_t ref, size_t len)
{
	struct tm_pending *p = tm_pending_new(be);
	struct tm_shm m = {.req = p->req, .len = len};
	char name[128];
	void *map = NULL;
	int fd, rc;

	tm_send(be, TM_MONITOR, T_SHM_ALLOC, &m, sizeof(m), NULL, 0);
	rc = wait_reply(be, p, 0) ? p->status : TARN_ETIMEDOUT;
	tm_pending_free(be, p);
	if (rc)
		return NULL; /* the store is full: private memory will do */
	tm_shm_name(be, ref, name, sizeof(name));
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd >= 0 && ftruncate(fd, (off_t)len) == 0) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			map = NULL;
	}
	if (fd >= 0)
		close(fd);
	if (!map) {
		if (fd >= 0)
			shm_unlink(name);
		m.req = 0;
		tm_send(be, TM_MONITOR, T_SHM_FREE, &m, sizeof(m), NULL, 0);
	}
	return map;
}

/* @ref's small unsealed result of the task thread, or NULL (be->lock held). */
static struct wfresh *fresh_find(struct tm_worker *w, tarn_ref_t ref)
{
	for (uint32_t i = 0; w->nfresh && i < TM_FRESH; i++)
		if (w->fresh[i].used && tm_ref_equal(&w->fresh[i].ref, &ref))
			return &w->fresh[i];
	return NULL;
}

static void fresh_drop(struct tm_worker *w, struct wfresh *f)
{
	f->used = false;
	w->nfresh--;
}

/* A slot for a small result of the task thread, or NULL (be->lock held). */
static struct wfresh *fresh_take(struct tarn_backend *be, tarn_ref_t ref, size_t len)
{
	struct tm_worker *w = W(be);
	struct wfresh *f;

	if (!on_task_thread || len > TM_FRESH_MAX)
		return NULL;
	f = fresh_find(w, ref); /* a failed attempt's partial result */
	for (uint32_t i = 0; !f && w->nfresh < TM_FRESH && i < TM_FRESH; i++) {
		if (!w->fresh[i].used) {
			f = &w->fresh[i];
			f->used = true;
			f->ref = ref;
			w->nfresh++;
		}
	}
	return f;
}

int tm_worker_create(struct tarn_backend *be, tarn_ref_t ref, size_t len, uint32_t flags,
		     void **data)
{
	unsigned char *buf = NULL;
	struct wfresh *f;
	struct wobj *o;
	bool shm = false;

	g_mutex_lock(&be->lock);
	o = g_hash_table_lookup(W(be)->objs, &ref);
	if (o && o->sealed) {
		g_mutex_unlock(&be->lock);
		return TARN_EEXIST;
	}
	if (o)
		drop_bytes(be, o); /* a failed attempt's partial result */
	if ((f = fresh_take(be, ref, len))) {
		if (o)
			obj_remove(be, o);
		f->len = (uint32_t)len;
		f->flags = flags;
		g_mutex_unlock(&be->lock);
		*data = f->bytes;
		return 0;
	}
	if ((f = fresh_find(W(be), ref)))
		fresh_drop(W(be), f); /* made small before: this one replaces it */
	if (be->store && len && len >= be->store_threshold && len > TM_INLINE_MAX) {
		buf = shm_create(be, ref, len);
		shm = buf != NULL;
	}
	if (!buf)
		buf = g_try_malloc(len ? len : 1);
	if (!buf) {
		g_mutex_unlock(&be->lock);
		return TARN_ENOMEM;
	}
	o = g_hash_table_lookup(W(be)->objs, &ref); /* a nested task may have made it */
	if (!o) {
		o = g_new0(struct wobj, 1);
		o->ref = ref;
		g_hash_table_replace(W(be)->objs, &o->ref, o);
	} else {
		drop_bytes(be, o);
	}
	o->shm = shm;
	o->bytes = buf;
	o->len = len;
	o->flags = flags;
	g_mutex_unlock(&be->lock);
	*data = buf;
	return 0;
}

int tm_worker_seal(struct tarn_backend *be, tarn_ref_t ref)
{
	struct wfresh *f;
	struct wobj *o;
	struct tm_sealed m = {.ref = ref};

	g_mutex_lock(&be->lock);
	if ((f = fresh_find(W(be), ref))) {
		m.flags = f->flags;
		m.len = f->len;
		m.inline_len = f->len;
		if (on_task_thread && cur_task) {
			hold_seal(be, &m, f->bytes);
		} else {
			flush_seals(be);
			tm_send(be, TM_DRIVER, T_SEALED, &m, sizeof(m), f->bytes, f->len);
		}
		fresh_drop(W(be), f);
		g_mutex_unlock(&be->lock);
		return 0;
	}
	o = g_hash_table_lookup(W(be)->objs, &ref);
	if (!o || o->sealed) {
		g_mutex_unlock(&be->lock);
		return o ? TARN_EEXIST : TARN_ENOENT;
	}
	m.flags = o->flags;
	m.len = o->len;
	m.shm = o->shm;
	if (o->len <= TM_INLINE_MAX && !o->shm)
		m.inline_len = o->len; /* small: the directory keeps it */
	if (on_task_thread && cur_task) {
		hold_seal(be, &m, o->bytes);
	} else {
		flush_seals(be);
		tm_send(be, TM_DRIVER, T_SEALED, &m, sizeof(m), o->bytes, m.inline_len);
	}
	if (m.inline_len)
		obj_remove(be, o); /* the directory has the bytes: this rank forgets them */
	else
		o->sealed = true;
	g_mutex_unlock(&be->lock);
	return 0;
}

/* Ask @owner for @ref's bytes (lock held). */
static int fetch_from(struct tarn_backend *be, int owner, tarn_ref_t ref, uint64_t deadline,
		      tarn_obj_view_t *view)
{
	struct tm_pending *p;
	struct wview *v;
	int rc;

	if (owner == be->rank) {
		struct wobj *o = g_hash_table_lookup(W(be)->objs, &ref);

		if (!o || !o->sealed || o->dropped)
			return TARN_ENOENT;
		o->pins++;
		v = g_new0(struct wview, 1);
		v->kind = V_LOCAL;
		v->o = o;
		view->data = o->bytes;
		view->len = o->len;
		view->flags = o->flags;
		view->token = v;
		return 0;
	}
	if (owner < 0 || owner >= be->size)
		return TARN_ENOENT;
	p = tm_pending_new(be);
	{
		struct tm_req m = {.req = p->req, .ref = ref};

		tm_send(be, owner, T_FETCH, &m, sizeof(m), NULL, 0);
	}
	rc = wait_reply(be, p, deadline) ? p->status : TARN_ETIMEDOUT;
	if (rc == 0) {
		v = g_new0(struct wview, 1);
		v->kind = V_COPY;
		v->copy = p->buf;
		p->buf = NULL;
		view->data = v->copy;
		view->len = p->len;
		view->flags = p->flags;
		view->token = v;
	}
	tm_pending_free(be, p);
	return rc;
}

/* A view of @ref mapped from the owner's segment on this host; -1 when not here. */
static int map_view(tarn_ref_t ref, size_t len, uint32_t flags, tarn_obj_view_t *view,
		    struct tarn_backend *be)
{
	void *map = tm_shm_map(be, ref, len);
	struct wview *v;

	if (!map)
		return -1;
	v = g_new0(struct wview, 1);
	v->kind = V_SHM;
	v->map = map;
	v->map_len = len;
	view->data = map;
	view->len = len;
	view->flags = flags;
	view->token = v;
	return 0;
}

int tm_worker_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view)
{
	uint64_t deadline = tm_deadline(timeout);
	struct tm_pending *p;
	struct wobj *o;
	int rc, owner;

	g_mutex_lock(&be->lock);
	o = g_hash_table_lookup(W(be)->objs, &ref);
	if (o && o->sealed && !o->dropped) {
		rc = fetch_from(be, be->rank, ref, deadline, view);
		g_mutex_unlock(&be->lock);
		return rc;
	}
	/* An argument of the running task: the driver said where it is. */
	for (uint32_t i = 0; cur_task && i < cur_task->h.ndeps; i++) {
		struct wdep *dep = &cur_task->deps[i];
		struct wview *v;

		if (!tm_ref_equal(&dep->d.ref, &ref))
			continue;
		if (dep->bytes || (dep->d.len == 0 && dep->d.owner >= 0)) {
			v = g_new0(struct wview, 1);
			v->kind = V_DEP;
			view->data = dep->bytes ? (const void *)dep->bytes : (const void *)"";
			view->len = dep->d.len;
			view->flags = dep->d.flags;
			view->token = v;
			g_mutex_unlock(&be->lock);
			return 0;
		}
		rc = dep->d.shm ? map_view(dep->d.ref, dep->d.len, dep->d.flags, view, be) : -1;
		if (rc)
			rc = fetch_from(be, dep->d.owner, ref, deadline, view);
		g_mutex_unlock(&be->lock);
		return rc;
	}
	/* Anything else: ask the directory where it is (it answers once sealed). */
	p = tm_pending_new(be);
	{
		struct tm_req m = {.req = p->req, .ref = ref};

		flush_seals(be); /* it may be one of ours */
		tm_send(be, TM_DRIVER, T_LOCATE, &m, sizeof(m), NULL, 0);
	}
	if (!wait_reply(be, p, deadline)) {
		tm_pending_free(be, p);
		g_mutex_unlock(&be->lock);
		return TARN_ETIMEDOUT;
	}
	rc = p->status;
	owner = p->owner;
	if (rc == 0 && p->flags_shm &&
	    map_view(ref, p->len, p->flags, view, be) == 0) {
		tm_pending_free(be, p);
		g_mutex_unlock(&be->lock);
		return 0;
	}
	if (rc == 0 && p->count) {
		struct wview *v = g_new0(struct wview, 1);

		v->kind = V_COPY;
		v->copy = p->buf ? p->buf : g_malloc(1);
		p->buf = NULL;
		view->data = v->copy;
		view->len = p->len;
		view->flags = p->flags;
		view->token = v;
		tm_pending_free(be, p);
		g_mutex_unlock(&be->lock);
		return 0;
	}
	tm_pending_free(be, p);
	if (rc == 0)
		rc = fetch_from(be, owner, ref, deadline, view);
	g_mutex_unlock(&be->lock);
	return rc;
}

void tm_worker_unpin(struct tarn_backend *be, tarn_obj_view_t *view)
{
	struct wview *v = view->token;

	if (!v)
		return;
	if (v->kind == V_LOCAL) {
		g_mutex_lock(&be->lock);
		obj_unpin(be, v->o);
		g_mutex_unlock(&be->lock);
	}
	if (v->kind == V_SHM)
		munmap(v->map, v->map_len);
	g_free(v->copy);
	g_free(v);
	view->token = NULL;
}

int tm_worker_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready)
{
	uint64_t deadline = tm_deadline(timeout);
	int rc;

	g_mutex_lock(&be->lock);
	for (;;) {
		struct tm_pending *p = tm_pending_new(be);
		struct tm_wait m = {.req = p->req, .n = n};
		unsigned char *buf = g_malloc(sizeof(m) + n * sizeof(tarn_ref_t));

		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), refs, n * sizeof(tarn_ref_t));
		flush_seals(be); /* they may be ours */
		tm_send(be, TM_DRIVER, T_WAIT, buf, sizeof(m) + n * sizeof(tarn_ref_t), NULL, 0);
		g_free(buf);
		wait_reply(be, p, 0);
		rc = p->status ? p->status : (int)p->count;
		for (size_t i = 0; i < n && p->status == 0; i++)
			ready[i] = i < p->len && p->buf[i];
		tm_pending_free(be, p);
		if (rc < 0 || (size_t)rc >= num_returns || timeout == 0)
			break;
		/* Not enough yet: ask again soon, running queued tasks meanwhile. */
		{
			uint64_t soon = tm_now_ns() + 1000000u;
			struct tm_pending never = {0};

			if (deadline && deadline < soon)
				soon = deadline;
			wait_reply(be, &never, soon);
		}
		if (deadline && tm_now_ns() >= deadline)
			break;
	}
	g_mutex_unlock(&be->lock);
	return rc;
}

int tm_worker_release(struct tarn_backend *be, tarn_ref_t ref)
{
	send_driver(be, T_RELEASE, &ref, sizeof(ref), NULL, 0);
	return 0;
}

int tm_worker_release_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n)
{
	tarn_ref_t *buf = g_new(tarn_ref_t, n ? n : 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (refs[i].seq) /* the null ref: the ABI skips it */
			buf[k++] = refs[i];
	/*
	 * The directory answers for every ref; a worker cannot tell an
	 * unknown one here, as release() cannot either.
	 */
	if (k)
		send_driver(be, T_RELEASE, buf, k * sizeof(*buf), NULL, 0);
	g_free(buf);
	return 0;
}

int tm_worker_load_library(struct tarn_backend *be, const char *path)
{
	send_driver(be, T_LOAD_REQ, path, strlen(path) + 1, NULL, 0);
	return 0;
}

int tm_worker_actor_kill(struct tarn_backend *be, tarn_actor_t actor)
{
	struct tm_req m = {.ref = {actor.origin, actor.seq}};

	send_driver(be, T_ACTOR_KILL, &m, sizeof(m), NULL, 0);
	return 0;
}
