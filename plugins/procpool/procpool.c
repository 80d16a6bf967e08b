/* SPDX-License-Identifier: MIT */
/*
 * procpool: tarn on one machine with N local worker processes and a
 * shared-memory object store. This file is the plugin's face: the
 * descriptor, and the dispatch of each ABI call to the driver half
 * (driver.c) or the worker half (worker.c) depending on what open() found
 * this process to be.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pp.h"

void pp_log(const tarn_host_services_t *host, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	host->log(host->host, level, msg);
}

uint64_t pp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool pp_send(struct pp_ring *r, struct pp_doorbell *bell, uint32_t type,
	     const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned spins = 0;
	char *p;

	/* Waiting for room that can never come would hang forever. */
	if (alen + blen > pp_ring_max_message(r))
		return false;
	while (!(p = pp_ring_reserve(r, type, alen + blen))) {
		/* The consumer drains; give it the CPU when it is slow. */
		if (++spins > 64)
			sched_yield();
	}
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	pp_ring_commit(r);
	if (bell)
		pp_doorbell_ring(bell);
	return true;
}

void *pp_map(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

size_t pp_control_size(uint32_t nslots)
{
	size_t head = sizeof(struct pp_control) + nslots * sizeof(struct pp_slot);

	head = (head + 4095) & ~(size_t)4095;
	return head + 2 * (size_t)nslots * pp_ring_size(PP_RING_BYTES);
}

guint pp_ref_hash(gconstpointer p)
{
	const tarn_ref_t *r = p;

	return (guint)((r->seq * 0x9e3779b97f4a7c15ull) ^ (r->origin * 0xc2b2ae3d27d4eb4full));
}

gboolean pp_ref_equal(gconstpointer a, gconstpointer b)
{
	const tarn_ref_t *x = a, *y = b;

	return x->origin == y->origin && x->seq == y->seq;
}

/* ABI entry points ------------------------------------------------------------ */

static int pp_query(const tarn_host_services_t *host, char *reason, size_t len)
{
	(void)host;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 1) {
		snprintf(reason, len, "cannot count the CPUs of this machine");
		return TARN_EUNAVAIL;
	}
	return 0;
}

static int pp_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		   tarn_backend_t **out)
{
	struct tarn_backend *be = g_new0(struct tarn_backend, 1);
	const char *env = getenv(PP_ENV);
	int rc;

	be->host = host;
	be->is_driver = !(env && env[0]);
	rc = be->is_driver ? pp_driver_open(host, info, be)
			   : pp_worker_open(host, info, be, env);
	if (rc) {
		g_free(be);
		return rc;
	}
	*out = be;
	return 0;
}

static int pp_close(tarn_backend_t *be)
{
	int rc = be->is_driver ? pp_driver_close(be) : pp_worker_close(be);

	g_free(be);
	return rc;
}

#define DISPATCH(be, fn, ...) \
	((be)->is_driver ? pp_driver_##fn(be, __VA_ARGS__) : pp_worker_##fn(be, __VA_ARGS__))

static int pp_submit(tarn_backend_t *be, const tarn_task_desc_t *t)
{
	return DISPATCH(be, submit, t);
}

static int pp_submit_batch(tarn_backend_t *be, const tarn_task_desc_t *t, size_t n)
{
	return DISPATCH(be, submit_batch, t, n);
}

static int pp_create(tarn_backend_t *be, tarn_ref_t ref, size_t len,
		     uint32_t flags, void **data)
{
	return DISPATCH(be, create, ref, len, flags, data);
}

static int pp_seal(tarn_backend_t *be, tarn_ref_t ref)
{
	return DISPATCH(be, seal, ref);
}

static int pp_fetch(tarn_backend_t *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view)
{
	return DISPATCH(be, fetch, ref, timeout, view);
}

static void pp_unpin(tarn_backend_t *be, tarn_obj_view_t *view)
{
	if (be->is_driver)
		pp_driver_unpin(be, view);
	else
		pp_worker_unpin(be, view);
}

static int pp_wait(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready)
{
	return DISPATCH(be, wait, refs, n, num_returns, timeout, ready);
}

static int pp_release(tarn_backend_t *be, tarn_ref_t ref)
{
	return DISPATCH(be, release, ref);
}

/*
 * A worker's fetches and releases are messages to the driver one by one, as
 * the host's fallback would make them; the driver's take one lock for all.
 */
static int pp_fetch_batch(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			  double timeout, tarn_obj_view_t *views, size_t *failed)
{
	uint64_t start;

	if (be->is_driver)
		return pp_driver_fetch_batch(be, refs, n, timeout, views, failed);
	start = pp_now_ns();
	for (size_t i = 0; i < n; i++) {
		double left = timeout;
		int rc;

		if (timeout > 0) {
			left = timeout - (double)(pp_now_ns() - start) / 1e9;
			if (left < 0)
				left = 0;
		}
		rc = pp_worker_fetch(be, refs[i], left, &views[i]);
		if (rc) {
			for (size_t j = 0; j < i; j++)
				pp_worker_unpin(be, &views[j]);
			*failed = i;
			return rc;
		}
	}
	return 0;
}

static void pp_unpin_batch(tarn_backend_t *be, tarn_obj_view_t *views, size_t n)
{
	if (be->is_driver) {
		pp_driver_unpin_batch(be, views, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		pp_worker_unpin(be, &views[i]);
}

static int pp_release_batch(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			    size_t *failed)
{
	if (be->is_driver)
		return pp_driver_release_batch(be, refs, n, failed);
	for (size_t i = 0; i < n; i++)
		if (refs[i].seq) /* the null ref: skipped, as the ABI says */
			pp_worker_release(be, refs[i]);
	return 0;
}

static int pp_load_library(tarn_backend_t *be, const char *path)
{
	return DISPATCH(be, load_library, path);
}

static int pp_actor_create(tarn_backend_t *be, const tarn_task_desc_t *ctor)
{
	/* From a worker, creating an actor is a submission like any other. */
	return be->is_driver ? pp_driver_actor_create(be, ctor) : pp_worker_submit(be, ctor);
}

static int pp_actor_kill(tarn_backend_t *be, tarn_actor_t actor)
{
	return DISPATCH(be, actor_kill, actor);
}

static int pp_worker_loop_entry(tarn_backend_t *be)
{
	return be->is_driver ? TARN_EINVAL : pp_worker_loop(be);
}

static int pp_cluster_info(tarn_backend_t *be, tarn_node_t *nodes, size_t cap,
			   size_t *n)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint32_t workers = be->is_driver ? pp_driver_nworkers(be) : pp_worker_nworkers(be);

	*n = 1;
	if (cap < 1)
		return 0;
	memset(&nodes[0], 0, sizeof(nodes[0]));
	if (gethostname(nodes[0].host, sizeof(nodes[0].host) - 1) != 0)
		snprintf(nodes[0].host, sizeof(nodes[0].host), "localhost");
	snprintf(nodes[0].ip, sizeof(nodes[0].ip), "127.0.0.1");
	nodes[0].num_cpus = workers;
	nodes[0].memory = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	nodes[0].num_workers = workers;
	return 0;
}

static const tarn_backend_desc_t procpool_desc = {
	.abi_major = TARN_BACKEND_ABI_MAJOR,
	.abi_minor = TARN_BACKEND_ABI_MINOR,
	.size = sizeof(tarn_backend_desc_t),
	.name = "procpool",
	.version = TARN_VERSION_STRING,
	.description = "local worker processes with a shared-memory object store",
	.caps = TARN_CAP_MULTI_PROCESS | TARN_CAP_ACTORS | TARN_CAP_ZERO_COPY |
		TARN_CAP_SPAWN | TARN_CAP_PREEMPT | TARN_CAP_FAULT_TOLERANT,
	.query = pp_query,
	.open = pp_open,
	.close = pp_close,
	.submit = pp_submit,
	.create = pp_create,
	.seal = pp_seal,
	.fetch = pp_fetch,
	.unpin = pp_unpin,
	.wait = pp_wait,
	.release = pp_release,
	.cluster_info = pp_cluster_info,
	.worker_loop = pp_worker_loop_entry,
	.load_library = pp_load_library,
	.actor_create = pp_actor_create,
	.actor_kill = pp_actor_kill,
	.submit_batch = pp_submit_batch,
	.fetch_batch = pp_fetch_batch,
	.unpin_batch = pp_unpin_batch,
	.release_batch = pp_release_batch,
};

TARN_BACKEND_EXPORT const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &procpool_desc;
}
