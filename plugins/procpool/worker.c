/* SPDX-License-Identifier: MIT */
/*
 * procpool's worker half: a process that runs tasks the driver sends, and
 * asks the driver, by message, for whatever else it needs (store blocks,
 * objects, submissions of nested tasks).
 *
 * A task blocked inside tarn_get() or tarn_wait() keeps its worker useful:
 * while it waits, the worker runs other tasks already queued for it (never
 * calls of an actor, whose order must hold), so tasks that wait on tasks
 * cannot deadlock the pool even when every worker is blocked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pp.h"

/* A message taken off the ring while waiting for a reply. */
struct wmsg {
	uint32_t type;
	size_t len;
	unsigned char data[];
};

/* A created, unsealed object of this process. */
struct wobj {
	tarn_ref_t ref;
	unsigned char *buf; /* inline: private bytes; store: NULL */
	uint64_t off;       /* PP_INLINE or the store block */
	uint64_t len;
	uint32_t flags;
	/* Most results are a few bytes: no allocation for those. */
	_Alignas(8) unsigned char small[16];
};

static void wobj_free(struct wobj *o)
{
	if (o->buf != o->small)
		g_free(o->buf);
	g_free(o);
}

/* The dependencies of a running task (innermost first on the stack). */
struct wtask {
	struct wmsg *msg;
	uint32_t ndeps;
	struct m_obj *deps;         /* copies */
	const unsigned char **data; /* each dep's bytes */
	struct wtask *outer;
	/* Its result group (pp.h), when @group_n: slots, and which are made. */
	uint32_t group_n;
	tarn_ref_t group_first;
	uint64_t group_epoch;
	struct pp_gslot *group;
	uint64_t created[PP_GROUP_MAX / 64]; /* slot written, not sealed */
	uint64_t sealed[PP_GROUP_MAX / 64];  /* sealed by this attempt */
	/*
	 * The fast slot of its one result, sealed and held back to ride in
	 * the task's done message (see held_seal()), or -1; @holds: allowed.
	 */
	int held;
	bool holds;
};

/* A view handed out by a fetch that went to the driver. */
struct wpin {
	tarn_ref_t ref;
	unsigned char *copy; /* inline bytes, or NULL */
};

struct pp_worker {
	const tarn_host_services_t *host;
	struct pp_control *ctl;
	size_t ctl_size;
	struct pp_slot *sh;
	struct pp_ring *in, *out;
	unsigned char *store;
	uint64_t store_size;
	int slot;
	uint32_t nworkers;
	uint64_t inline_max;
	uint64_t spin_ns;
	uint64_t origin; /* of the refs this worker mints (puts, submits) */
	pid_t driver;
	GMutex lock;        /* both rings and the tables below */
	GQueue queue;       /* struct wmsg not yet handled */
	GHashTable *replies; /* req -> struct wmsg */
	GHashTable *created; /* ref -> struct wobj */
	/*
	 * Small results being written, outside @created: a task creates and
	 * seals them one after another, and a hash insert, a lookup, a steal
	 * and a malloc per result were a fifth of a worker's time per batched
	 * no-op call. @fast_used has a bit per slot in use.
	 */
	struct wobj fast[8];
	uint32_t fast_used;
	uint64_t next_req;
	struct wtask *cur;
	GThread *loop_thread;
	int depth;
	bool exit;
};

static struct pp_worker *W(struct tarn_backend *be)
{
	return be->w;
}

/*
 * After a message to the driver (lock held): wake a driver thread asleep
 * in a get and, with @progress, the progress thread when no caller is
 * inside (see pp_control.progress_bell).
 */
static void notify_driver(struct pp_worker *w, bool progress)
{
	/*
	 * Orders the message before the looks at the driver's sleepers (the
	 * lazy ring: see fetch_locked()) and at callers (caller_leave()).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	pp_doorbell_ring_lazy(&w->ctl->driver_bell);
	if (progress && !atomic_load_explicit(&w->ctl->callers, memory_order_relaxed))
		pp_doorbell_ring(&w->ctl->progress_bell);
}

/* One message to the driver (lock held), announced at once. */
static void send_driver_locked(struct pp_worker *w, uint32_t type, const void *a, size_t alen,
			       const void *b, size_t blen)
{
	pp_send(w->out, NULL, type, a, alen, b, blen);
	notify_driver(w, true);
}

/*
 * A sealed object's record to the driver (lock held). It goes into the
 * ring at once, so that a worker dying at the next call loses nothing (a
 * group's finished calls keep their results), and wakes a driver thread
 * asleep in a get. Inside a task on the loop thread it does not wake the
 * progress thread, though: the task's done message always follows and
 * does. While a batch is submitted, the driver's submitter is outside the
 * plugin between two groups, and every seal in those gaps woke the
 * progress thread to drain one message and fight the submitter for the
 * lock: 9.37 against 10.2 M no-op calls/s (medians of 10 pairs). What the
 * progress thread does for a seal (dispatch the tasks that wait for it)
 * waits for the end of the task, as on mpi, or its 5 ms timeout.
 */
static void send_seal_locked(struct pp_worker *w, const struct m_obj *m, const void *bytes,
			     size_t blen)
{
	pp_send(w->out, NULL, M_SEAL, m, sizeof(*m), bytes, blen);
	notify_driver(w, !(w->depth > 0 && g_thread_self() == w->loop_thread));
}

static void send_driver(struct pp_worker *w, uint32_t type, const void *a, size_t alen,
			const void *b, size_t blen)
{
	g_mutex_lock(&w->lock);
	send_driver_locked(w, type, a, alen, b, blen);
	g_mutex_unlock(&w->lock);
}

/* Take every message off the ring: replies to their table, the rest queued. */
static void pull_locked(struct pp_worker *w)
{
	const unsigned char *p;
	uint32_t type;
	size_t len;

	while ((p = pp_ring_peek(w->in, &type, &len))) {
		struct wmsg *m = g_malloc(sizeof(*m) + len);

		m->type = type;
		m->len = len;
		memcpy(m->data, p, len);
		pp_ring_consume(w->in);
		if (type == M_FETCH_REPLY || type == M_ALLOC_REPLY || type == M_WAIT_REPLY) {
			uint64_t req;

			memcpy(&req, m->data, sizeof(req));
			g_hash_table_replace(w->replies, g_memdup2(&req, sizeof(req)), m);
		} else {
			g_queue_push_tail(&w->queue, m);
		}
	}
}

static void driver_gone_check(struct pp_worker *w)
{
	if (getppid() != w->driver)
		_exit(1); /* the driver died: nothing to work for */
}

static void handle(struct pp_worker *w, struct wmsg *m);

/*
 * Wait for the reply to @req, running queued plain tasks meanwhile when this
 * is the worker's own thread. NULL on timeout (@deadline_ns < 0: none).
 */
static struct wmsg *await_reply(struct pp_worker *w, uint64_t req, int64_t deadline_ns)
{
	uint64_t idle_since = pp_now_ns(), spun;
	bool armed = false; /* counted as a sleeper: see pp_doorbell_prepare() */
	uint32_t seq = 0;

	for (;;) {
		struct wmsg *run = NULL;
		bool expired;

		g_mutex_lock(&w->lock);
		pull_locked(w);
		{
			gpointer key = NULL, val = NULL;

			if (g_hash_table_steal_extended(w->replies, &req, &key, &val)) {
				g_mutex_unlock(&w->lock);
				if (armed)
					pp_doorbell_cancel(&w->sh->bell);
				g_free(key);
				return val;
			}
		}
		/*
		 * Frames that wait only on their descendants (fork-join) cannot
		 * deadlock when run nested in any order; the bound only keeps
		 * the C stack (a few KiB a frame) well inside its 8 MiB.
		 */
		if (g_thread_self() == w->loop_thread && w->depth < PP_MAX_NESTING) {
			for (GList *l = w->queue.head; l; l = l->next) {
				struct wmsg *q = l->data;
				struct m_task t;

				if (q->type != M_TASK)
					continue;
				memcpy(&t, q->data, sizeof(t));
				if (t.kind != TARN_TASK_PLAIN)
					continue;
				run = q;
				g_queue_delete_link(&w->queue, l);
				break;
			}
		}
		g_mutex_unlock(&w->lock);
		expired = !run && deadline_ns >= 0 && (int64_t)pp_now_ns() >= deadline_ns;
		if (armed && (run || expired)) {
			pp_doorbell_cancel(&w->sh->bell);
			armed = false;
		}
		if (run) {
			handle(w, run);
			idle_since = pp_now_ns();
			continue;
		}
		if (expired)
			return NULL;
		spun = pp_now_ns() - idle_since;
		if (spun < w->spin_ns) {
			pp_spin_step(spun);
			continue;
		}
		/* The driver rings lazily: count in, look once more, then sleep. */
		if (!armed) {
			seq = pp_doorbell_prepare(&w->sh->bell);
			armed = true;
			continue;
		}
		driver_gone_check(w);
		pp_doorbell_sleep(&w->sh->bell, seq, 1000000);
		armed = false;
	}
}

/* The seal record of @o (an inline one's bytes follow it in the message). */
static void seal_record(const struct wobj *o, struct m_obj *m)
{
	memset(m, 0, sizeof(*m));
	m->ref = o->ref;
	m->flags = o->flags;
	m->len = o->len;
	m->off = o->off;
}

/* A task's done message, with its held-back seal when it has one. */
static void send_done(struct pp_worker *w, struct wtask *c, struct m_done *done)
{
	struct wobj *o;
	struct {
		struct m_obj m;
		_Alignas(8) unsigned char bytes[sizeof(o->small)];
	} seal;

	g_mutex_lock(&w->lock);
	if (c->held < 0) {
		send_driver_locked(w, M_DONE, done, sizeof(*done), NULL, 0);
		g_mutex_unlock(&w->lock);
		return;
	}
	o = &w->fast[c->held];
	seal_record(o, &seal.m);
	memcpy(seal.bytes, o->buf, pp_pad8(o->len));
	done->held = 1;
	send_driver_locked(w, M_DONE, done, sizeof(*done), &seal,
			   sizeof(seal.m) + pp_pad8(o->len));
	w->fast_used &= ~(1u << c->held);
	c->held = -1;
	g_mutex_unlock(&w->lock);
}

/* Running tasks -------------------------------------------------------------- */

static void run_task(struct pp_worker *w, struct wmsg *msg)
{
	const unsigned char *p = msg->data;
	struct wtask wt = {.msg = msg, .outer = w->cur, .held = -1};
	tarn_ref_t saved_origin_seq[1];
	uint64_t saved_since;
	struct m_task t;
	struct m_done done;
	const void *payload;
	/* Room for the usual few dependencies without an allocation. */
	struct m_obj deps_small[8];
	const unsigned char *data_small[8];

	memcpy(&t, p, sizeof(t));
	p += sizeof(t);
	wt.ndeps = t.ndeps;
	wt.holds = t.nreturns == 1;
	wt.deps = t.ndeps <= 8 ? deps_small : g_new(struct m_obj, t.ndeps);
	wt.data = t.ndeps <= 8 ? data_small : g_new(const unsigned char *, t.ndeps);
	for (uint32_t i = 0; i < t.ndeps; i++) {
		memcpy(&wt.deps[i], p, sizeof(struct m_obj));
		p += sizeof(struct m_obj);
		if (wt.deps[i].status == 0 && wt.deps[i].off == PP_INLINE) {
			wt.data[i] = p;
			p += pp_pad8(wt.deps[i].len);
		} else {
			wt.data[i] = wt.deps[i].status == 0 ? w->store + wt.deps[i].off : NULL;
		}
	}
	payload = t.payload_off == PP_INLINE ? (const void *)p : (const void *)(w->store + t.payload_off);
	if (t.group_n && t.group_n <= PP_GROUP_MAX && t.group_off < w->store_size &&
	    t.group_n * sizeof(struct pp_gslot) <= w->store_size - t.group_off) {
		wt.group_n = t.group_n;
		wt.group_first = t.group_first;
		wt.group_epoch = t.group_epoch;
		wt.group = (struct pp_gslot *)(w->store + t.group_off);
	}

	/* What runs now, for the driver's crash and timeout handling. */
	saved_origin_seq[0].origin = atomic_load(&w->sh->run_origin);
	saved_origin_seq[0].seq = atomic_load(&w->sh->run_seq);
	saved_since = atomic_load(&w->sh->run_since_ns);
	atomic_store(&w->sh->run_since_ns, pp_now_ns());
	atomic_store(&w->sh->run_origin, t.id.origin);
	atomic_store(&w->sh->run_seq, t.id.seq);

	w->cur = &wt;
	w->depth++;
	memset(&done, 0, sizeof(done));
	done.id = t.id;
	done.report.size = sizeof(done.report);
	w->host->run_task(w->host->host, payload, t.payload_len, t.attempt, &done.report);
	w->depth--;
	w->cur = wt.outer;
	for (size_t i = 0; i < G_N_ELEMENTS(wt.sealed); i++)
		done.group_sealed += (uint32_t)__builtin_popcountll(wt.sealed[i]);

	atomic_store(&w->sh->run_seq, saved_origin_seq[0].seq);
	atomic_store(&w->sh->run_origin, saved_origin_seq[0].origin);
	atomic_store(&w->sh->run_since_ns, saved_since);
	send_done(w, &wt, &done);
	if (wt.deps != deps_small) {
		g_free(wt.deps);
		g_free(wt.data);
	}
}

static void handle(struct pp_worker *w, struct wmsg *m)
{
	switch (m->type) {
	case M_TASK:
		run_task(w, m);
		break;
	case M_KILL_ACTOR: {
		tarn_actor_t a;

		memcpy(&a, m->data, sizeof(a));
		w->host->actor_destroy(w->host->host, a);
		break;
	}
	case M_LOAD: {
		const char *path = (const char *)m->data;

		/* Its constructors register its tasks in this process. */
		if (!dlopen(path, RTLD_NOW | RTLD_LOCAL))
			pp_log(w->host, TARN_LOG_ERROR, "worker %d cannot load %s: %s", w->slot, path,
			       dlerror());
		break;
	}
	case M_EXIT:
		w->exit = true;
		break;
	default:
		pp_log(w->host, TARN_LOG_ERROR, "worker %d got unknown message %u", w->slot, m->type);
		break;
	}
	g_free(m);
}

int pp_worker_loop(struct tarn_backend *be)
{
	struct pp_worker *w = W(be);
	uint64_t idle_since = pp_now_ns(), spun;
	bool armed = false; /* counted as a sleeper: see pp_doorbell_prepare() */
	uint32_t seq = 0;

	w->loop_thread = g_thread_self();
	atomic_store(&w->sh->ready, 1);
	while (!w->exit) {
		struct wmsg *m;

		g_mutex_lock(&w->lock);
		pull_locked(w);
		m = g_queue_pop_head(&w->queue);
		/* A late reply nobody waits for any more: give back its pin. */
		if (!m && g_hash_table_size(w->replies)) {
			GHashTableIter it;
			gpointer k, v;

			g_hash_table_iter_init(&it, w->replies);
			while (g_hash_table_iter_next(&it, &k, &v)) {
				struct wmsg *r = v;

				if (r->type == M_FETCH_REPLY) {
					struct m_fetch_reply fr;

					memcpy(&fr, r->data, sizeof(fr));
					if (fr.obj.status == 0)
						send_driver_locked(w, M_UNPIN, &fr.obj.ref,
							sizeof(fr.obj.ref), NULL, 0);
				}
				g_free(r);
				g_hash_table_iter_remove(&it);
			}
		}
		g_mutex_unlock(&w->lock);
		if (m) {
			if (armed)
				pp_doorbell_cancel(&w->sh->bell);
			armed = false;
			handle(w, m);
			idle_since = pp_now_ns();
			continue;
		}
		spun = pp_now_ns() - idle_since;
		if (spun < w->spin_ns) {
			int cpu = sched_getcpu();

			/*
			 * Written only when it changes: the driver reads it for
			 * every task it places, and a store on every turn of
			 * this loop made each of those reads a cache miss.
			 */
			if (atomic_load_explicit(&w->sh->cpu, memory_order_relaxed) != cpu)
				atomic_store_explicit(&w->sh->cpu, cpu, memory_order_relaxed);
			pp_spin_step(spun);
			continue;
		}
		/* The driver rings lazily: count in, look once more, then sleep. */
		if (!armed) {
			seq = pp_doorbell_prepare(&w->sh->bell);
			armed = true;
			continue;
		}
		driver_gone_check(w);
		pp_doorbell_sleep(&w->sh->bell, seq, 100000000);
		armed = false;
	}
	if (armed)
		pp_doorbell_cancel(&w->sh->bell);
	return 0;
}

/* Open and close -------------------------------------------------------------- */

static void bind_numa(struct pp_worker *w)
{
	char path[96], *text = NULL;
	int nodes = 0;
	cpu_set_t set;

	while (nodes < 1024) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", nodes);
		if (!g_file_test(path, G_FILE_TEST_IS_DIR))
			break;
		nodes++;
	}
	if (!nodes)
		return;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", w->slot % nodes);
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	CPU_ZERO(&set);
	{
		char **ranges = g_strsplit(g_strstrip(text), ",", -1);

		for (char **it = ranges; *it; it++) {
			int lo, hi;

			if (sscanf(*it, "%d-%d", &lo, &hi) != 2) {
				if (sscanf(*it, "%d", &lo) != 1)
					continue;
				hi = lo;
			}
			for (int c = lo; c <= hi && c < CPU_SETSIZE; c++)
				CPU_SET(c, &set);
		}
		g_strfreev(ranges);
	}
	g_free(text);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		pp_log(w->host, TARN_LOG_WARNING, "worker %d: cannot bind to NUMA node %d: %s", w->slot,
		       w->slot % nodes, g_strerror(errno));
	{
		/* MPOL_PREFERRED to the node: its memory first, others when full. */
		unsigned long mask = 1ul << (w->slot % nodes);

		if (w->slot % nodes < (int)(8 * sizeof(mask)))
			syscall(SYS_set_mempolicy, 1 /* MPOL_PREFERRED */, &mask, 8 * sizeof(mask));
	}
}

int pp_worker_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		   struct tarn_backend *be, const char *env)
{
	struct pp_worker *w = g_new0(struct pp_worker, 1);
	int ctl_fd, store_fd, pid;
	guint64 origin;
	const char *numa = host->config_get(host->host, "SP_BIND_NUMA_NODE");

	be->w = w;
	w->host = host;
	if (sscanf(env, "%d,%" G_GUINT64_FORMAT ",%d,%d,%d,%u,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
			",%" G_GUINT64_FORMAT,
		   &w->slot, &origin, &ctl_fd, &store_fd, &pid, &w->nworkers, &w->inline_max,
		   &w->spin_ns, &w->store_size) != 9) {
		host->set_error(host->host, "malformed " PP_ENV " in the environment");
		g_free(w);
		return TARN_EPROTO;
	}
	w->driver = pid;
	/* Die with the driver, even when it is SIGKILLed. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	driver_gone_check(w);
	{
		struct pp_control head;

		if (pread(ctl_fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) || head.magic != PP_MAGIC ||
		    head.version != PP_VERSION) {
			host->set_error(host->host, "procpool's shared memory is not what this worker expects");
			g_free(w);
			return TARN_EPROTO;
		}
		w->ctl_size = head.size;
	}
	w->ctl = pp_map(ctl_fd, w->ctl_size);
	w->store = pp_map(store_fd, w->store_size);
	close(ctl_fd);
	close(store_fd);
	if (!w->ctl || !w->store) {
		host->set_error(host->host, "a procpool worker cannot map the shared memory");
		g_free(w);
		return TARN_EIO;
	}
	w->sh = &w->ctl->slots[w->slot];
	w->in = pp_ring_at(w->ctl, w->sh->in_off);
	w->out = pp_ring_at(w->ctl, w->sh->out_off);
	g_mutex_init(&w->lock);
	g_queue_init(&w->queue);
	w->replies = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	w->created = g_hash_table_new_full(pp_ref_hash, pp_ref_equal, NULL, NULL);
	/* A program this worker starts is not a worker. */
	g_unsetenv(PP_ENV);
	g_unsetenv("TARN_WORKER");
	if (numa && !strcmp(numa, "true"))
		bind_numa(w);
	info->role = TARN_ROLE_WORKER;
	info->origin = origin;
	w->origin = origin;
	snprintf(info->worker, sizeof(info->worker), "worker %d", w->slot);
	return 0;
}

int pp_worker_close(struct tarn_backend *be)
{
	struct pp_worker *w = W(be);
	struct wmsg *m;
	GHashTableIter it;
	gpointer k, v;

	while ((m = g_queue_pop_head(&w->queue)))
		g_free(m);
	g_hash_table_iter_init(&it, w->replies);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_free(v);
	g_hash_table_destroy(w->replies);
	g_hash_table_iter_init(&it, w->created);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		wobj_free(v);
	}
	g_hash_table_destroy(w->created);
	munmap(w->ctl, w->ctl_size);
	munmap(w->store, w->store_size);
	g_mutex_clear(&w->lock);
	g_free(w);
	be->w = NULL;
	return 0;
}

uint32_t pp_worker_nworkers(struct tarn_backend *be)
{
	return W(be)->nworkers;
}

/* ABI calls inside a worker ---------------------------------------------------------- */

static int fast_find(struct pp_worker *w, tarn_ref_t ref);

/*
 * The running task whose result group holds @ref, with the slot's index
 * in *@i, or NULL. Only the loop thread runs tasks: a thread a task
 * started takes the usual paths.
 */
static struct wtask *group_of(struct pp_worker *w, tarn_ref_t ref, uint32_t *i)
{
	struct wtask *c;

	if (g_thread_self() != w->loop_thread)
		return NULL;
	c = w->cur;
	if (!c || !c->group_n || ref.origin != c->group_first.origin ||
	    ref.seq - c->group_first.seq >= c->group_n)
		return NULL;
	*i = (uint32_t)(ref.seq - c->group_first.seq);
	return c;
}

static bool bit_test(const uint64_t *bits, uint32_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *bits, uint32_t i, bool on)
{
	if (on)
		bits[i / 64] |= UINT64_C(1) << (i % 64);
	else
		bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* An earlier buffer for @ref, from the usual path, is discarded (lock held). */
static struct wobj *forget_locked(struct pp_worker *w, tarn_ref_t ref)
{
	struct wobj *old = NULL;
	int i = fast_find(w, ref);

	if (i >= 0)
		w->fast_used &= ~(1u << i);
	if (g_hash_table_size(w->created)) {
		old = g_hash_table_lookup(w->created, &ref);
		if (old)
			g_hash_table_steal(w->created, &ref);
	}
	return old;
}

/* create() of a small result into its group slot: no lock, no message. */
static int group_create(struct pp_worker *w, struct wtask *c, uint32_t i, tarn_ref_t ref,
			size_t len, uint32_t flags, void **data)
{
	struct pp_gslot *s = &c->group[i];

	if (atomic_load_explicit(&s->state, memory_order_relaxed) ==
	    (c->group_epoch << 2 | PP_GS_SEALED))
		return TARN_EEXIST;
	if (w->fast_used || g_hash_table_size(w->created)) {
		struct wobj *old;

		g_mutex_lock(&w->lock);
		old = forget_locked(w, ref);
		g_mutex_unlock(&w->lock);
		if (old)
			wobj_free(old);
	}
	s->len = (uint32_t)len;
	s->flags = flags;
	*data = s->data;
	bit_set(c->created, i, true);
	return 0;
}

/*
 * seal() of a result in its group slot: one exchange publishes it. A
 * driver thread asleep in a get is woken; when the driver has made a
 * record of its own for the result meanwhile (PP_GS_WANTED: a task
 * depends on it, a tarn_wait() asks for it), the seal goes by message.
 */
static void group_seal(struct pp_worker *w, struct wtask *c, uint32_t i, tarn_ref_t ref)
{
	struct pp_gslot *s = &c->group[i];
	uint64_t old;

	bit_set(c->created, i, false);
	bit_set(c->sealed, i, true);
	old = atomic_exchange(&s->state, c->group_epoch << 2 | PP_GS_SEALED);
	if (old == (c->group_epoch << 2 | PP_GS_WANTED)) {
		struct m_obj m;

		memset(&m, 0, sizeof(m));
		m.ref = ref;
		m.flags = s->flags;
		m.len = s->len;
		m.off = PP_INLINE;
		g_mutex_lock(&w->lock);
		send_seal_locked(w, &m, s->data, pp_pad8(s->len));
		g_mutex_unlock(&w->lock);
		return;
	}
	/* Orders the exchange before the look at the driver's sleepers. */
	atomic_thread_fence(memory_order_seq_cst);
	pp_doorbell_ring_lazy(&w->ctl->driver_bell);
}

/* The fast slot holding @ref, or -1 (lock held). */
static int fast_find(struct pp_worker *w, tarn_ref_t ref)
{
	for (uint32_t used = w->fast_used; used; used &= used - 1) {
		int i = __builtin_ctz(used);

		if (pp_ref_equal(&w->fast[i].ref, &ref))
			return i;
	}
	return -1;
}

/* create() of a small inline object in a fast slot; false when none is free. */
static bool fast_create(struct pp_worker *w, tarn_ref_t ref, size_t len, uint32_t flags,
			void **data)
{
	struct wobj *o, *old = NULL;
	int i;

	g_mutex_lock(&w->lock);
	i = fast_find(w, ref);
	if (i < 0) {
		if (w->fast_used == (1u << G_N_ELEMENTS(w->fast)) - 1) {
			g_mutex_unlock(&w->lock);
			return false;
		}
		i = __builtin_ctz(~w->fast_used);
		/* An earlier attempt's buffer for this ref is discarded. */
		if (g_hash_table_size(w->created)) {
			old = g_hash_table_lookup(w->created, &ref);
			if (old)
				g_hash_table_steal(w->created, &ref);
		}
	}
	w->fast_used |= 1u << i;
	o = &w->fast[i];
	memset(o, 0, sizeof(*o));
	o->ref = ref;
	o->len = len;
	o->flags = flags;
	o->off = PP_INLINE;
	o->buf = o->small;
	*data = o->buf;
	g_mutex_unlock(&w->lock);
	if (old)
		wobj_free(old);
	return true;
}

int pp_worker_create(struct tarn_backend *be, tarn_ref_t ref, size_t len,
		     uint32_t flags, void **data)
{
	struct pp_worker *w = W(be);
	struct wobj *o, *old;
	struct wtask *c;
	uint32_t gi;
	int i;

	if (len <= w->inline_max && len <= sizeof(c->group->data) &&
	    (c = group_of(w, ref, &gi)))
		return group_create(w, c, gi, ref, len, flags, data);
	if (len <= w->inline_max && pp_pad8(len) <= sizeof(o->small) &&
	    fast_create(w, ref, len, flags, data))
		return 0;
	if ((c = group_of(w, ref, &gi)))
		bit_set(c->created, gi, false); /* a slot's earlier bytes are dropped */
	o = g_new0(struct wobj, 1);

	o->ref = ref;
	o->len = len;
	o->flags = flags;
	o->off = PP_INLINE;
	if (len <= w->inline_max) {
		/* Padded: the message carries whole 8-byte words. */
		o->buf = pp_pad8(len) <= sizeof(o->small) ? o->small
							  : g_try_malloc0(pp_pad8(len));
		if (!o->buf) {
			g_free(o);
			return TARN_ENOMEM;
		}
		*data = o->buf;
	} else {
		struct m_req r = {.req = 0, .ref = ref, .len = len, .flags = flags};
		struct m_alloc_reply rep;
		struct wmsg *m;

		g_mutex_lock(&w->lock);
		r.req = ++w->next_req;
		g_mutex_unlock(&w->lock);
		send_driver(w, M_ALLOC, &r, sizeof(r), NULL, 0);
		m = await_reply(w, r.req, -1);
		memcpy(&rep, m->data, sizeof(rep));
		g_free(m);
		if (rep.status) {
			g_free(o);
			return rep.status;
		}
		o->off = rep.off;
		*data = w->store + rep.off;
	}
	g_mutex_lock(&w->lock);
	old = g_hash_table_lookup(w->created, &ref);
	g_hash_table_replace(w->created, &o->ref, o);
	i = fast_find(w, ref);
	if (i >= 0)
		w->fast_used &= ~(1u << i); /* an earlier attempt's, discarded */
	g_mutex_unlock(&w->lock);
	if (old)
		wobj_free(old);
	return 0;
}

/* The seal of fast slot @i to the driver, which frees the slot (lock held). */
static void send_fast_seal_locked(struct pp_worker *w, int i)
{
	struct wobj *o = &w->fast[i];
	struct m_obj m;

	seal_record(o, &m);
	send_seal_locked(w, &m, o->buf, pp_pad8(o->len));
	w->fast_used &= ~(1u << i);
}

/*
 * Whether the seal of @ref, a small result in fast slot @i, is held back
 * to go with its task's done message (lock held). The core seals a
 * task's results as its very last step, so the result reaches the
 * driver with the news that the task has ended: one message where there
 * were two, and a driver that sees the result also sees its worker free
 * (it placed the next task of a lone caller on the other worker, keeping
 * both awake: three pollers on two CPUs). Only a task's own results, on
 * the loop thread: a put (a ref of this worker's) may be waited on by
 * the task itself; and only for a task with one result, since a batch
 * of calls seals one per call as each ends. A worker dying before the
 * done message loses it with the task, which is then run again, as if
 * the worker had died a moment sooner.
 */
static bool held_seal(struct pp_worker *w, tarn_ref_t ref, int i)
{
	struct wtask *c = w->cur;

	if (!c || !c->holds || c->held >= 0 || ref.origin == w->origin ||
	    g_thread_self() != w->loop_thread)
		return false;
	c->held = i;
	return true;
}

/* seal() of an object made by the usual path: a message with its record. */
static int seal_usual(struct pp_worker *w, tarn_ref_t ref)
{
	struct wobj *o;
	struct m_obj m;
	int i;

	g_mutex_lock(&w->lock);
	i = fast_find(w, ref);
	if (i >= 0) {
		if (!held_seal(w, ref, i))
			send_fast_seal_locked(w, i);
		g_mutex_unlock(&w->lock);
		return 0;
	}
	o = g_hash_table_lookup(w->created, &ref);
	if (!o) {
		g_mutex_unlock(&w->lock);
		return TARN_ENOENT;
	}
	g_hash_table_steal(w->created, &ref);
	seal_record(o, &m);
	send_seal_locked(w, &m, o->buf, o->off == PP_INLINE ? pp_pad8(o->len) : 0);
	g_mutex_unlock(&w->lock);
	wobj_free(o);
	return 0;
}

int pp_worker_seal(struct tarn_backend *be, tarn_ref_t ref)
{
	struct pp_worker *w = W(be);
	struct wtask *c;
	uint32_t gi = 0;
	int rc;

	c = group_of(w, ref, &gi);
	if (c && bit_test(c->created, gi)) {
		group_seal(w, c, gi, ref);
		return 0;
	}
	rc = seal_usual(w, ref);
	if (c && rc == 0)
		bit_set(c->sealed, gi, true);
	return rc;
}

int pp_worker_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view)
{
	struct pp_worker *w = W(be);
	struct m_req r;
	struct m_fetch_reply rep;
	struct wpin *pin;
	struct wmsg *m;

	/* The running tasks' dependencies came with them: no round trip. */
	for (struct wtask *t = w->cur; t; t = t->outer)
		for (uint32_t i = 0; i < t->ndeps; i++)
			if (pp_ref_equal(&t->deps[i].ref, &ref)) {
				if (t->deps[i].status)
					return t->deps[i].status;
				view->data = t->data[i];
				view->len = t->deps[i].len;
				view->flags = t->deps[i].flags;
				view->token = NULL;
				return 0;
			}
	memset(&r, 0, sizeof(r));
	r.ref = ref;
	r.timeout = timeout;
	g_mutex_lock(&w->lock);
	r.req = ++w->next_req;
	g_mutex_unlock(&w->lock);
	send_driver(w, M_FETCH, &r, sizeof(r), NULL, 0);
	m = await_reply(w, r.req, timeout < 0 ? -1 : (int64_t)(pp_now_ns() + timeout * 1e9));
	if (!m)
		return TARN_ETIMEDOUT; /* a late reply is unpinned by the loop */
	memcpy(&rep, m->data, sizeof(rep));
	if (rep.obj.status) {
		g_free(m);
		return rep.obj.status;
	}
	pin = g_new0(struct wpin, 1);
	pin->ref = ref;
	if (rep.obj.off == PP_INLINE) {
		pin->copy = g_memdup2(m->data + sizeof(rep), rep.obj.len ? rep.obj.len : 1);
		view->data = pin->copy;
	} else {
		view->data = w->store + rep.obj.off;
	}
	view->len = rep.obj.len;
	view->flags = rep.obj.flags;
	view->token = pin;
	g_free(m);
	return 0;
}

void pp_worker_unpin(struct tarn_backend *be, tarn_obj_view_t *view)
{
	struct pp_worker *w = W(be);
	struct wpin *pin = view->token;

	if (!pin)
		return; /* a dependency: the driver pins those for the task */
	send_driver(w, M_UNPIN, &pin->ref, sizeof(pin->ref), NULL, 0);
	g_free(pin->copy);
	g_free(pin);
	view->token = NULL;
}

int pp_worker_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready)
{
	struct pp_worker *w = W(be);
	int64_t deadline = timeout < 0 ? -1 : (int64_t)(pp_now_ns() + timeout * 1e9);
	uint64_t pause_ns = 50000;

	for (;;) {
		struct m_wait q = {.n = n};
		struct m_wait_reply rep;
		struct wmsg *m;

		g_mutex_lock(&w->lock);
		q.req = ++w->next_req;
		g_mutex_unlock(&w->lock);
		send_driver(w, M_WAIT, &q, sizeof(q), refs, n * sizeof(tarn_ref_t));
		m = await_reply(w, q.req, -1);
		memcpy(&rep, m->data, sizeof(rep));
		for (size_t i = 0; i < n; i++)
			ready[i] = m->data[sizeof(rep) + i] != 0;
		g_free(m);
		if (rep.status)
			return rep.status;
		if (rep.count >= num_returns || timeout == 0 ||
		    (deadline >= 0 && (int64_t)pp_now_ns() >= deadline))
			return (int)rep.count;
		/* Poll again soon; meanwhile await_reply ran queued tasks. */
		g_usleep(pause_ns / 1000);
		if (pause_ns < 2000000)
			pause_ns *= 2;
	}
}

int pp_worker_release(struct tarn_backend *be, tarn_ref_t ref)
{
	send_driver(W(be), M_RELEASE, &ref, sizeof(ref), NULL, 0);
	return 0;
}

/* Bytes of @t's M_SUBMIT message. */
static size_t submit_len(const tarn_task_desc_t *t)
{
	return sizeof(struct m_submit) + (t->num_deps + t->num_returns) * sizeof(tarn_ref_t) +
	       pp_pad8(strlen(t->name)) + t->payload_len;
}

int pp_worker_submit(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	struct pp_worker *w = W(be);
	size_t name_len = strlen(t->name), len = submit_len(t);
	struct m_submit m;
	unsigned char *buf, *p;

	memset(&m, 0, sizeof(m));
	m.id = t->id;
	m.actor = t->actor;
	m.kind = t->kind;
	m.max_retries = t->max_retries;
	m.retry_on_error = t->retry_on_error;
	m.ndeps = (uint32_t)t->num_deps;
	m.nreturns = (uint32_t)t->num_returns;
	m.name_len = (uint32_t)name_len;
	m.timeout = t->timeout;
	m.num_cpus = t->num_cpus;
	m.num_gpus = t->num_gpus;
	m.memory = t->memory;
	m.payload_len = t->payload_len;
	if (len > pp_ring_max_message(w->out))
		return TARN_ENOTSUP; /* arguments this large: pass them as refs */
	buf = g_malloc0(len);
	p = buf;
	memcpy(p, &m, sizeof(m));
	p += sizeof(m);
	memcpy(p, t->deps, t->num_deps * sizeof(tarn_ref_t));
	p += t->num_deps * sizeof(tarn_ref_t);
	memcpy(p, t->returns, t->num_returns * sizeof(tarn_ref_t));
	p += t->num_returns * sizeof(tarn_ref_t);
	memcpy(p, t->name, name_len);
	p += pp_pad8(name_len);
	memcpy(p, t->payload, t->payload_len);
	send_driver(w, M_SUBMIT, buf, len, NULL, 0);
	g_free(buf);
	return 0;
}

/*
 * Inside a task a submission is a message to the driver, refused only when
 * it cannot fit in one: check them all first, and the loop is all or none.
 */
int pp_worker_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n)
{
	struct pp_worker *w = W(be);

	for (size_t i = 0; i < n; i++)
		if (submit_len(&tasks[i]) > pp_ring_max_message(w->out))
			return TARN_ENOTSUP;
	for (size_t i = 0; i < n; i++) {
		int rc = pp_worker_submit(be, &tasks[i]);

		if (rc)
			return rc;
	}
	return 0;
}

int pp_worker_actor_kill(struct tarn_backend *be, tarn_actor_t actor)
{
	send_driver(W(be), M_ACTOR_KILL_REQ, &actor, sizeof(actor), NULL, 0);
	return 0;
}

int pp_worker_load_library(struct tarn_backend *be, const char *path)
{
	send_driver(W(be), M_LOAD_REQ, path, strlen(path) + 1, NULL, 0);
	return 0;
}
