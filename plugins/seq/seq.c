/* SPDX-License-Identifier: MIT */
/*
 * seq: the reference backend. Every task runs in the calling thread, inside
 * submit(), in submission order; objects live in this process's memory and
 * fetch() hands out pointers to them (zero-copy). Being synchronous, it
 * needs no scheduler and no dependency tracking: a task's inputs exist
 * before it is submitted. It is what the conformance suite checks the other
 * backends against, and the backend to debug tasks in (a breakpoint in a
 * task is hit inside the tarn_remote() call that submitted it).
 *
 * Limits: a crashing task takes the process with it (nothing to retry), and
 * a task past its timeout cannot be stopped, only reported as timed out when
 * it returns (the host does that check).
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <tarn/backend.h>

/* procpool's ref table, compiled in here too (see meson.build). */
#include "reftab.h"

struct obj {
	tarn_ref_t ref;
	unsigned char *data; /* @small, or on the heap */
	/* Most results are a few bytes: no allocation for those. */
	_Alignas(8) unsigned char small[16];
	size_t len;
	uint32_t flags;
	bool made;   /* create() was called */
	bool sealed; /* immutable and visible */
	uint32_t holds;
	uint32_t pins;
};

struct tarn_backend {
	const tarn_host_services_t *host;
	GMutex lock;
	GCond sealed; /* broadcast on a seal while someone waits */
	/*
	 * Threads waiting on @sealed: glib's broadcast is a futex call even
	 * with nobody waiting, and seq seals one object per result.
	 */
	uint32_t waiters;
	/*
	 * Refs of this process's one dense sequence, indexed directly: with a
	 * million live results a GHashTable lookup was a third of seq's time
	 * per batched call.
	 */
	struct reftab objs; /* ref -> struct obj */
	GHashTable *actors; /* live actors: tarn_actor_t* -> itself */
	uint32_t cpus;
};

static guint ref_hash(gconstpointer p)
{
	const tarn_ref_t *r = p;

	return (guint)((r->seq * 0x9e3779b97f4a7c15ull) ^ (r->origin * 0xc2b2ae3d27d4eb4full));
}

static gboolean ref_equal(gconstpointer a, gconstpointer b)
{
	const tarn_ref_t *x = a, *y = b;

	return x->origin == y->origin && x->seq == y->seq;
}

static void obj_free_data(struct obj *o)
{
	if (o->data != o->small)
		g_free(o->data);
	o->data = NULL;
}

static void obj_free(struct obj *o)
{
	obj_free_data(o);
	g_free(o);
}

static struct obj *obj_find(struct tarn_backend *be, tarn_ref_t ref)
{
	return reftab_find(&be->objs, ref);
}

/* A new record for @ref with one hold (lock held). */
static struct obj *obj_new(struct tarn_backend *be, tarn_ref_t ref)
{
	struct obj *o = g_new0(struct obj, 1), *old;

	o->ref = ref;
	o->holds = 1;
	old = reftab_remove(&be->objs, ref);
	if (old)
		obj_free(old);
	reftab_put(&be->objs, ref, o);
	return o;
}

/* Called with the lock held. An unsealed object stays for its producer. */
static void maybe_free(struct tarn_backend *be, struct obj *o)
{
	if (o->holds == 0 && o->pins == 0 && (o->sealed || !o->made)) {
		reftab_remove(&be->objs, o->ref);
		obj_free(o);
	}
}

static int seq_query(const tarn_host_services_t *host, char *reason,
		     size_t reason_len)
{
	(void)host;
	(void)reason;
	(void)reason_len;
	return 0; /* seq runs anywhere */
}

static int seq_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		    tarn_backend_t **out)
{
	struct tarn_backend *be = g_new0(struct tarn_backend, 1);
	const char *cpus = host->config_get(host->host, "UNIDIST_CPUS");

	be->host = host;
	g_mutex_init(&be->lock);
	g_cond_init(&be->sealed);
	reftab_init(&be->objs, 0); /* seq mints every ref with origin 0 */
	be->actors = g_hash_table_new_full(ref_hash, ref_equal, g_free, NULL);
	/*
	 * seq runs one task at a time, but it reports UNIDIST_CPUS as its
	 * logical CPUs so that resource requests mean the same on every
	 * backend and a program debugged here runs unchanged elsewhere.
	 */
	be->cpus = cpus && cpus[0] ? (uint32_t)g_ascii_strtoull(cpus, NULL, 10) : 1;
	if (be->cpus == 0)
		be->cpus = 1;
	info->role = TARN_ROLE_DRIVER;
	info->origin = 0;
	snprintf(info->worker, sizeof(info->worker), "seq");
	*out = be;
	return 0;
}

static int seq_close(tarn_backend_t *be)
{
	GPtrArray *all = g_ptr_array_new();

	reftab_values(&be->objs, all);
	for (guint i = 0; i < all->len; i++)
		obj_free(all->pdata[i]);
	g_ptr_array_free(all, TRUE);
	reftab_fini(&be->objs);
	g_hash_table_destroy(be->actors);
	g_cond_clear(&be->sealed);
	g_mutex_clear(&be->lock);
	g_free(be);
	return 0;
}

static bool all_sealed(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	bool ok = true;

	g_mutex_lock(&be->lock);
	for (size_t i = 0; i < t->num_returns && ok; i++) {
		struct obj *o = obj_find(be, t->returns[i]);

		ok = !o || o->sealed; /* released and freed counts as done */
	}
	g_mutex_unlock(&be->lock);
	return ok;
}

/* Run @t here and now, until its results are values or error objects. */
static void run(struct tarn_backend *be, const tarn_task_desc_t *t)
{
	const tarn_host_services_t *h = be->host;
	tarn_task_desc_t d = *t;
	tarn_task_report_t rep;

	for (;;) {
		memset(&rep, 0, sizeof(rep));
		rep.size = sizeof(rep);
		h->run_task(h->host, d.payload, d.payload_len, d.attempt, &rep);
		h->task_done(h->host, &d, &rep);
		if (all_sealed(be, &d))
			return;
		/*
		 * Only an undecodable payload leaves results unset; ask the host
		 * as for any lost attempt, so the policy stays in one place.
		 */
		{
			char detail[128];
			tarn_failure_t why = {
				.size = sizeof(why),
				.kind = TARN_FAIL_LOST,
				.exit_status = -1,
				.worker = "seq",
				.detail = detail,
			};

			/* Plugins call nothing in libtarn: the code number will do. */
			snprintf(detail, sizeof(detail), "the task could not be run (error %d)",
				 rep.status);
			if (h->task_lost(h->host, &d, &why) != TARN_RETRY)
				return;
			d.attempt++;
		}
	}
}

static int seq_submit(tarn_backend_t *be, const tarn_task_desc_t *t)
{
	g_mutex_lock(&be->lock);
	if (t->kind == TARN_TASK_ACTOR_CALL &&
	    !g_hash_table_contains(be->actors, &t->actor)) {
		g_mutex_unlock(&be->lock);
		return TARN_EACTOR;
	}
	/* The submitter's hold on each result exists from now on. */
	for (size_t i = 0; i < t->num_returns; i++)
		obj_new(be, t->returns[i]);
	g_mutex_unlock(&be->lock);
	run(be, t);
	return 0;
}

static int seq_create(tarn_backend_t *be, tarn_ref_t ref, size_t len,
		      uint32_t flags, void **data)
{
	unsigned char *buf = NULL;
	struct obj *o;

	if (len > sizeof(o->small) && !(buf = g_try_malloc(len)))
		return TARN_ENOMEM;
	g_mutex_lock(&be->lock);
	o = obj_find(be, ref);
	if (o && o->sealed) {
		g_mutex_unlock(&be->lock);
		g_free(buf);
		return TARN_EEXIST;
	}
	if (!o)
		o = obj_new(be, ref); /* not a task result: a put, held by its creator */
	obj_free_data(o); /* a failed attempt's partial result */
	o->data = buf ? buf : o->small;
	buf = o->data;
	o->len = len;
	o->flags = flags;
	o->made = true;
	g_mutex_unlock(&be->lock);
	*data = buf;
	return 0;
}

static int seq_seal(tarn_backend_t *be, tarn_ref_t ref)
{
	struct obj *o;
	int rc = 0;

	g_mutex_lock(&be->lock);
	o = obj_find(be, ref);
	if (!o)
		rc = TARN_ENOENT;
	else if (o->sealed)
		rc = TARN_EEXIST;
	else if (!o->made)
		rc = TARN_EINVAL;
	if (rc == 0) {
		o->sealed = true;
		if (be->waiters)
			g_cond_broadcast(&be->sealed);
		maybe_free(be, o); /* released while its task ran */
	}
	g_mutex_unlock(&be->lock);
	return rc;
}

/* Wait on the seal condition until @deadline (monotonic µs; -1: forever). */
static bool wait_until(struct tarn_backend *be, gint64 deadline)
{
	bool more = true;

	be->waiters++;
	if (deadline < 0)
		g_cond_wait(&be->sealed, &be->lock);
	else
		more = g_cond_wait_until(&be->sealed, &be->lock, deadline) ||
		       g_get_monotonic_time() < deadline;
	be->waiters--;
	return more;
}

static gint64 deadline_of(double timeout)
{
	if (timeout < 0)
		return -1;
	return g_get_monotonic_time() + (gint64)(timeout * 1e6);
}

/*
 * A deadline read from the clock only when a fetch must wait: a clock
 * read costs 25 ns on this machine's VM, a tenth of a no-op task's
 * submit, get and release on seq.
 */
#define DEADLINE_UNSET G_MININT64

/* fetch() of one ref until *@deadline (lock held); see seq_fetch(). */
static int fetch_locked(tarn_backend_t *be, tarn_ref_t ref, double timeout, gint64 *deadline,
			tarn_obj_view_t *view)
{
	struct obj *o;

	for (;;) {
		o = obj_find(be, ref);
		if (!o || (o->holds == 0 && o->sealed))
			return TARN_ENOENT;
		if (o->sealed)
			break;
		/*
		 * Only another thread's running task can still produce it (seq
		 * runs tasks inside submit), so waiting is meaningful.
		 */
		if (timeout == 0)
			return TARN_ETIMEDOUT;
		if (*deadline == DEADLINE_UNSET)
			*deadline = deadline_of(timeout);
		if (!wait_until(be, *deadline))
			return TARN_ETIMEDOUT;
	}
	o->pins++;
	view->data = o->data;
	view->len = o->len;
	view->flags = o->flags;
	view->token = o;
	return 0;
}

static void unpin_locked(tarn_backend_t *be, tarn_obj_view_t *view)
{
	struct obj *o = view->token;

	if (!o)
		return;
	o->pins--;
	maybe_free(be, o);
	view->token = NULL;
}

static int release_locked(tarn_backend_t *be, tarn_ref_t ref)
{
	struct obj *o = obj_find(be, ref);

	if (!o || o->holds == 0)
		return TARN_ENOENT;
	o->holds--;
	maybe_free(be, o);
	return 0;
}

static int seq_fetch(tarn_backend_t *be, tarn_ref_t ref, double timeout,
		     tarn_obj_view_t *view)
{
	gint64 deadline = DEADLINE_UNSET;
	int rc;

	g_mutex_lock(&be->lock);
	rc = fetch_locked(be, ref, timeout, &deadline, view);
	g_mutex_unlock(&be->lock);
	return rc;
}

static void seq_unpin(tarn_backend_t *be, tarn_obj_view_t *view)
{
	if (!view->token)
		return;
	g_mutex_lock(&be->lock);
	unpin_locked(be, view);
	g_mutex_unlock(&be->lock);
}

/*
 * The batch calls take the lock once for the lot: with the host's
 * fallback (a fetch, an unpin and a release per ref, each with its lock
 * turn), the get and release of a million batched results took 0.10 s,
 * against 0.034-0.048 s this way.
 */
static int seq_fetch_batch(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			   double timeout, tarn_obj_view_t *views, size_t *failed)
{
	gint64 deadline = deadline_of(timeout);
	int rc = 0;

	g_mutex_lock(&be->lock);
	for (size_t i = 0; i < n; i++) {
		rc = fetch_locked(be, refs[i], timeout, &deadline, &views[i]);
		if (rc) {
			/* All or nothing: what was pinned goes back. */
			for (size_t k = 0; k < i; k++)
				unpin_locked(be, &views[k]);
			*failed = i;
			break;
		}
	}
	g_mutex_unlock(&be->lock);
	return rc;
}

static void seq_unpin_batch(tarn_backend_t *be, tarn_obj_view_t *views, size_t n)
{
	g_mutex_lock(&be->lock);
	for (size_t i = 0; i < n; i++)
		unpin_locked(be, &views[i]);
	g_mutex_unlock(&be->lock);
}

static int seq_wait(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
		    size_t num_returns, double timeout, bool *ready)
{
	gint64 deadline = deadline_of(timeout);
	size_t count;

	g_mutex_lock(&be->lock);
	for (;;) {
		count = 0;
		for (size_t i = 0; i < n; i++) {
			struct obj *o = obj_find(be, refs[i]);

			if (!o) {
				g_mutex_unlock(&be->lock);
				return TARN_ENOENT;
			}
			ready[i] = o->sealed;
			count += o->sealed;
		}
		if (count >= num_returns || timeout == 0 || !wait_until(be, deadline))
			break;
	}
	g_mutex_unlock(&be->lock);
	return (int)count;
}

static int seq_release(tarn_backend_t *be, tarn_ref_t ref)
{
	int rc;

	g_mutex_lock(&be->lock);
	rc = release_locked(be, ref);
	g_mutex_unlock(&be->lock);
	return rc;
}

/* Every ref is handled, even after a failure (the ABI). */
static int seq_release_batch(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			     size_t *failed)
{
	int rc = 0;

	g_mutex_lock(&be->lock);
	for (size_t i = 0; i < n; i++) {
		int r;

		if (!refs[i].seq)
			continue; /* the null ref: skipped */
		r = release_locked(be, refs[i]);
		if (r && !rc) {
			rc = r;
			*failed = i;
		}
	}
	g_mutex_unlock(&be->lock);
	return rc;
}

static int seq_cluster_info(tarn_backend_t *be, tarn_node_t *nodes, size_t cap,
			    size_t *n)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	*n = 1;
	if (cap < 1)
		return 0;
	memset(&nodes[0], 0, sizeof(nodes[0]));
	if (gethostname(nodes[0].host, sizeof(nodes[0].host) - 1) != 0)
		snprintf(nodes[0].host, sizeof(nodes[0].host), "localhost");
	snprintf(nodes[0].ip, sizeof(nodes[0].ip), "127.0.0.1");
	nodes[0].num_cpus = be->cpus;
	nodes[0].num_gpus = 0;
	nodes[0].memory = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	nodes[0].num_workers = 1;
	return 0;
}

static int seq_actor_create(tarn_backend_t *be, const tarn_task_desc_t *ctor)
{
	g_mutex_lock(&be->lock);
	g_hash_table_add(be->actors, g_memdup2(&ctor->actor, sizeof(ctor->actor)));
	g_mutex_unlock(&be->lock);
	run(be, ctor);
	return 0;
}

static int seq_actor_kill(tarn_backend_t *be, tarn_actor_t actor)
{
	bool found;

	g_mutex_lock(&be->lock);
	found = g_hash_table_remove(be->actors, &actor);
	g_mutex_unlock(&be->lock);
	if (!found)
		return TARN_ENOENT;
	/* Calls made before the kill have all run: they ran inside submit. */
	be->host->actor_destroy(be->host->host, actor);
	return 0;
}

static const tarn_backend_desc_t seq_desc = {
	.abi_major = TARN_BACKEND_ABI_MAJOR,
	.abi_minor = TARN_BACKEND_ABI_MINOR,
	.size = sizeof(tarn_backend_desc_t),
	.name = "seq",
	.version = TARN_VERSION_STRING,
	.description = "runs every task in the calling process, in submission order (for debugging)",
	.caps = TARN_CAP_ACTORS | TARN_CAP_ZERO_COPY | TARN_CAP_DETERMINISTIC,
	.query = seq_query,
	.open = seq_open,
	.close = seq_close,
	.submit = seq_submit,
	.create = seq_create,
	.seal = seq_seal,
	.fetch = seq_fetch,
	.unpin = seq_unpin,
	.wait = seq_wait,
	.release = seq_release,
	.cluster_info = seq_cluster_info,
	.actor_create = seq_actor_create,
	.actor_kill = seq_actor_kill,
	.fetch_batch = seq_fetch_batch,
	.unpin_batch = seq_unpin_batch,
	.release_batch = seq_release_batch,
};

TARN_BACKEND_EXPORT const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &seq_desc;
}
