/* SPDX-License-Identifier: MIT */
/*
 * The runtime: tarn_init()/tarn_shutdown(), the calls a program makes
 * (remote, put, get, wait, actors, cluster info) and the services table the
 * backend calls back into.
 *
 * Core keeps almost no state per object: the backend owns objects, holds
 * and placement. Core mints ids, encodes calls, validates what users pass,
 * and turns error objects back into TARN_ETASK with the producer's message.
 * It holds no lock while calling the backend, because the backend may run
 * a task on this very thread and that task may call back into tarn.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <glib.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

struct runtime tarn_rt;

/* Libraries loaded with tarn_load_library(), for workers started later. */
static GMutex libs_lock;
static GPtrArray *libs;

/* Local map actor -> class for actors created here: early method checks. */
static GMutex local_actors_lock;
static GHashTable *local_actors;

struct tarn_object {
	tarn_obj_view_t view;
	unsigned generation;
};

TARN_API const char *tarn_version_string(void)
{
	return TARN_VERSION_STRING;
}

TARN_API void tarn_task_opts_init(tarn_task_opts_t *opts)
{
	static const tarn_task_opts_t defaults = TARN_TASK_OPTS_INIT;

	if (opts)
		*opts = defaults;
}

tarn_ref_t tarn_rt_mint(void)
{
	tarn_ref_t r;

	r.origin = tarn_rt.info.origin;
	r.seq = atomic_fetch_add(&tarn_rt.next_seq, 1) + 1;
	return r;
}

static int check_init(const char *what)
{
	if (!atomic_load(&tarn_rt.initialized))
		return tarn_error(TARN_ENOTINIT, "%s: tarn is not initialized (call tarn_init first)",
				  what);
	return 0;
}

/* Host services ------------------------------------------------------------ */

static const char *host_config_get(tarn_host_t *host, const char *name)
{
	(void)host;
	return tarn_config_value(name);
}

static void host_log(tarn_host_t *host, int level, const char *msg)
{
	(void)host;
	tarn_log(level, "%s: %s", tarn_rt.plugin ? tarn_rt.plugin->name : "backend",
		 msg);
}

static void host_task_done(tarn_host_t *host, const tarn_task_desc_t *task,
			   const tarn_task_report_t *report)
{
	(void)host;
	if (tarn_log_get_level() >= TARN_LOG_DEBUG)
		tarn_log(TARN_LOG_DEBUG, "task '%s' attempt %u: %s in %.3f ms",
			 task->name, report->attempt,
			 report->status ? tarn_err_name(report->status) : "ok",
			 (double)(report->end_ns - report->start_ns) / 1e6);
}

static uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *host_self_exe(tarn_host_t *host)
{
	static char path[4096];
	ssize_t n;

	(void)host;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	return path;
}

static void host_set_error(tarn_host_t *host, const char *msg)
{
	(void)host;
	tarn_error(0, "%s", msg ? msg : "");
}

static const tarn_host_services_t services = {
	.abi_major = TARN_BACKEND_ABI_MAJOR,
	.abi_minor = TARN_BACKEND_ABI_MINOR,
	.size = sizeof(tarn_host_services_t),
	.host = NULL,
	.config_get = host_config_get,
	.log = host_log,
	.run_task = tarn_exec_run,
	.task_lost = tarn_exec_task_lost,
	.task_done = host_task_done,
	.actor_destroy = tarn_exec_actor_destroy,
	.now_ns = host_now_ns,
	.self_exe = host_self_exe,
	.set_error = host_set_error,
};

const tarn_host_services_t *tarn_host_services_get(void)
{
	return &services;
}

/* Life cycle --------------------------------------------------------------- */

static void cache_cluster_shape(void)
{
	tarn_node_t *nodes = NULL;
	size_t n = 0;

	tarn_rt.num_cpus = 0;
	tarn_rt.max_node_cpus = tarn_rt.max_node_gpus = 0;
	tarn_rt.max_node_memory = 0;
	if (tarn_cluster_resources(&nodes, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		tarn_rt.num_cpus += (int)nodes[i].num_cpus;
		if (nodes[i].num_cpus > tarn_rt.max_node_cpus)
			tarn_rt.max_node_cpus = nodes[i].num_cpus;
		if (nodes[i].num_gpus > tarn_rt.max_node_gpus)
			tarn_rt.max_node_gpus = nodes[i].num_gpus;
		if (nodes[i].memory > tarn_rt.max_node_memory)
			tarn_rt.max_node_memory = nodes[i].memory;
	}
	tarn_cluster_resources_free(nodes);
}

static void forget_backend(void)
{
	tarn_plugin_unload(tarn_rt.plugin);
	tarn_rt.plugin = NULL;
	tarn_rt.ops = NULL;
	tarn_rt.be = NULL;
}

TARN_API int tarn_init(const tarn_init_opts_t *opts)
{
	const char *choice;
	char reason[512] = "";
	char host[256] = "localhost";
	int rc;

	if (atomic_load(&tarn_rt.initialized))
		return tarn_error(TARN_EBUSY, "tarn_init: already initialized (backend '%s'); call tarn_shutdown first",
				  tarn_rt.plugin->name);
	rc = tarn_registry_take_conflicts();
	if (rc)
		return rc;
	rc = tarn_config_freeze();
	if (rc)
		return rc;

	tarn_rt.default_max_retries = (int32_t)tarn_config_int("UNIDIST_TASK_MAX_RETRIES");
	tarn_rt.batch_chunk = (uint32_t)tarn_config_int("UNIDIST_BATCH_CHUNK");
	choice = tarn_config_backend();
	if (!choice || !choice[0])
		choice = tarn_plugin_default();
	rc = tarn_plugin_load(choice, &tarn_rt.plugin);
	if (rc)
		goto fail_config;
	tarn_rt.ops = &tarn_rt.plugin->desc;

	rc = tarn_rt.ops->query(&services, reason, sizeof(reason));
	if (rc) {
		reason[sizeof(reason) - 1] = '\0';
		rc = tarn_error(TARN_EUNAVAIL, "backend '%s' (%s) is not available here: %s",
				tarn_rt.plugin->name, tarn_rt.plugin->path,
				reason[0] ? reason : tarn_strerror(rc));
		goto fail_plugin;
	}

	memset(&tarn_rt.info, 0, sizeof(tarn_rt.info));
	tarn_rt.info.size = sizeof(tarn_rt.info);
	tarn_rt.info.role = TARN_ROLE_DRIVER;
	tarn_rt.info.argc = opts ? opts->argc : NULL;
	tarn_rt.info.argv = opts ? opts->argv : NULL;
	atomic_store(&tarn_rt.next_seq, 0);
	tarn_error(0, "%s", ""); /* so that a set_error() from open() shows */
	rc = tarn_rt.ops->open(&services, &tarn_rt.info, &tarn_rt.be);
	if (rc || !tarn_rt.be) {
		char detail[1024];

		g_strlcpy(detail, tarn_last_error(), sizeof(detail));
		rc = tarn_error(rc ? rc : TARN_EPLUGIN, "backend '%s' (%s) failed to start: %s",
				tarn_rt.plugin->name, tarn_rt.plugin->path,
				detail[0] ? detail : tarn_strerror(rc ? rc : TARN_EPLUGIN));
		goto fail_plugin;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(tarn_rt.worker, sizeof(tarn_rt.worker), "%s (pid %d on %s)",
		 tarn_rt.info.worker[0] ? tarn_rt.info.worker : tarn_rt.plugin->name,
		 (int)getpid(), host);
	atomic_store(&tarn_rt.initialized, true);

	if (tarn_rt.info.role == TARN_ROLE_WORKER) {
		/* A worker serves until the cluster shuts down, then exits. */
		rc = tarn_rt.ops->worker_loop ? tarn_rt.ops->worker_loop(tarn_rt.be)
					      : TARN_ENOTSUP;
		tarn_shutdown();
		exit(rc ? 1 : 0);
	}

	/* Workers must see the libraries loaded before tarn_init too. */
	if (tarn_rt.ops->load_library) {
		g_mutex_lock(&libs_lock);
		for (guint i = 0; libs && i < libs->len; i++) {
			rc = tarn_rt.ops->load_library(tarn_rt.be, libs->pdata[i]);
			if (rc) {
				g_mutex_unlock(&libs_lock);
				tarn_error(rc, "backend '%s' cannot load %s in its workers: %s",
					   tarn_rt.plugin->name, (char *)libs->pdata[i],
					   tarn_strerror(rc));
				goto fail_open;
			}
		}
		g_mutex_unlock(&libs_lock);
	}
	cache_cluster_shape();
	return 0;

fail_open: {
	char saved[1024];

	g_strlcpy(saved, tarn_last_error(), sizeof(saved));
	tarn_shutdown();
	return tarn_error(rc, "%s", saved);
}
fail_plugin:
	forget_backend();
fail_config:
	tarn_config_unfreeze();
	return rc;
}

TARN_API bool tarn_is_worker(void)
{
	const char *v = getenv("TARN_WORKER");

	return v && v[0];
}

TARN_API bool tarn_is_initialized(void)
{
	return atomic_load(&tarn_rt.initialized);
}

TARN_API int tarn_shutdown(void)
{
	int rc = 0;

	if (!atomic_load(&tarn_rt.initialized))
		return 0;
	atomic_store(&tarn_rt.initialized, false);
	atomic_fetch_add(&tarn_rt.generation, 1);
	rc = tarn_rt.ops->close(tarn_rt.be);
	if (rc)
		tarn_error(rc, "backend '%s' did not stop cleanly: %s",
			   tarn_rt.plugin->name, tarn_strerror(rc));
	/* Actor state of this process goes with the backend. */
	tarn_exec_destroy_all_actors();
	g_mutex_lock(&local_actors_lock);
	if (local_actors)
		g_hash_table_destroy(local_actors);
	local_actors = NULL;
	g_mutex_unlock(&local_actors_lock);
	forget_backend();
	tarn_config_unfreeze();
	return rc;
}

TARN_API int tarn_load_library(const char *path)
{
	void *dl;
	int rc;

	if (!path || !path[0])
		return tarn_error(TARN_EINVAL, "tarn_load_library: empty path");
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return tarn_error(TARN_EPLUGIN, "tarn_load_library: cannot load %s: %s",
				  path, dlerror());
	/* Its constructors have registered its tasks; report any conflict. */
	rc = tarn_registry_take_conflicts();
	if (rc)
		return rc;
	g_mutex_lock(&libs_lock);
	if (!libs)
		libs = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(libs, g_strdup(path));
	g_mutex_unlock(&libs_lock);
	if (atomic_load(&tarn_rt.initialized) && tarn_rt.ops->load_library) {
		rc = tarn_rt.ops->load_library(tarn_rt.be, path);
		if (rc)
			return tarn_error(rc, "backend '%s' cannot load %s in its workers: %s",
					  tarn_rt.plugin->name, path, tarn_strerror(rc));
	}
	return 0;
}

/* Submitting ----------------------------------------------------------------- */

static int check_opts(const char *name, const tarn_task_opts_t *o,
		      size_t nargs, const tarn_arg_t *args,
		      const tarn_ref_t *out_refs)
{
	if (nargs && !args)
		return tarn_error(TARN_EINVAL, "'%s': %zu arguments at NULL", name, nargs);
	if (o->num_returns > TARN_MAX_RETURNS)
		return tarn_error(TARN_EINVAL, "'%s': num_returns=%u (allowed: 0..%d)",
				  name, o->num_returns, TARN_MAX_RETURNS);
	if (o->num_returns && !out_refs)
		return tarn_error(TARN_EINVAL, "'%s': num_returns=%u but out_refs is NULL",
				  name, o->num_returns);
	if (!(o->num_cpus >= 0) || !isfinite(o->num_cpus))
		return tarn_error(TARN_EINVAL, "'%s': num_cpus=%g (allowed: a finite number >= 0)",
				  name, o->num_cpus);
	if (!(o->num_gpus >= 0) || !isfinite(o->num_gpus))
		return tarn_error(TARN_EINVAL, "'%s': num_gpus=%g (allowed: a finite number >= 0)",
				  name, o->num_gpus);
	if (!isfinite(o->timeout) && o->timeout > 0)
		return tarn_error(TARN_EINVAL, "'%s': timeout=%g (allowed: seconds, or <= 0 for none)",
				  name, o->timeout);
	if (o->num_resources && !o->resources)
		return tarn_error(TARN_EINVAL, "'%s': %zu resources at NULL", name,
				  o->num_resources);
	for (size_t i = 0; i < o->num_resources; i++)
		if (!o->resources[i].name || !o->resources[i].name[0] ||
		    !(o->resources[i].amount > 0))
			return tarn_error(TARN_EINVAL,
					  "'%s': resource %zu needs a name and an amount > 0 (got '%s', %g)",
					  name, i, o->resources[i].name ? o->resources[i].name : "(null)",
					  o->resources[i].amount);
	/* A task no node can ever hold would wait forever: say so now. */
	if (tarn_rt.max_node_cpus && o->num_cpus > tarn_rt.max_node_cpus)
		return tarn_error(TARN_EINVAL,
				  "'%s' asks for %g CPUs; the largest node has %u (UNIDIST_CPUS or the hosts' cores)",
				  name, o->num_cpus, tarn_rt.max_node_cpus);
	if (o->num_gpus > tarn_rt.max_node_gpus)
		return tarn_error(TARN_EINVAL, "'%s' asks for %g GPUs; the largest node has %u",
				  name, o->num_gpus, tarn_rt.max_node_gpus);
	if (tarn_rt.max_node_memory && o->memory > tarn_rt.max_node_memory)
		return tarn_error(TARN_EINVAL,
				  "'%s' asks for %" PRIu64 " bytes of memory; the largest node has %" PRIu64,
				  name, o->memory, tarn_rt.max_node_memory);
	for (size_t i = 0; i < nargs; i++)
		if (args[i].kind == TARN_ARG_REF && !tarn_ref_is_valid(args[i].u.ref))
			return tarn_error(TARN_EINVAL, "'%s': argument %zu is the null ref", name, i);
	return 0;
}

/* Encode and submit one call; @out_refs gets the returns on success. */
static int submit(uint32_t kind, const char *name, const char *display,
		  tarn_actor_t actor, const tarn_arg_t *args, size_t nargs,
		  const tarn_task_opts_t *opts, tarn_ref_t *out_refs)
{
	static const tarn_task_opts_t defaults = TARN_TASK_OPTS_INIT;
	const tarn_task_opts_t *o = opts ? opts : &defaults;
	tarn_ref_t returns_small[8], *returns = returns_small;
	tarn_ref_t deps_small[8], *deps = deps_small;
	struct payload_in in;
	tarn_task_desc_t d;
	size_t ndeps = 0, len = 0;
	void *buf = NULL;
	/* Backends copy the payload in submit(): a small one can live here. */
	_Alignas(8) unsigned char small[512];
	int rc;

	rc = check_opts(display, o, nargs, args, out_refs);
	if (rc)
		return rc;
	if (o->num_returns > 8)
		returns = g_new(tarn_ref_t, o->num_returns);
	if (nargs > 8)
		deps = g_new(tarn_ref_t, nargs);
	for (uint32_t i = 0; i < o->num_returns; i++)
		returns[i] = tarn_rt_mint();
	for (size_t i = 0; i < nargs; i++)
		if (args[i].kind == TARN_ARG_REF)
			deps[ndeps++] = args[i].u.ref;

	memset(&in, 0, sizeof(in));
	in.kind = kind;
	in.name = name;
	in.id = tarn_rt_mint();
	in.actor = actor;
	/* Read once at init: a table lookup per call cost a fifth of seq's time. */
	in.max_retries = o->max_retries >= 0 ? o->max_retries : tarn_rt.default_max_retries;
	in.retry_on_error = o->retry_on_error;
	in.timeout = o->timeout > 0 ? o->timeout : 0;
	in.returns = returns;
	in.num_returns = o->num_returns;
	in.args = args;
	in.nargs = nargs;
	rc = tarn_payload_size(&in, &len);
	if (rc)
		goto out;
	if (len <= sizeof(small)) {
		tarn_payload_write(&in, small);
		buf = small;
	} else {
		rc = tarn_payload_encode(&in, &buf, &len);
		if (rc)
			goto out;
	}

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.id = in.id;
	d.kind = kind;
	d.name = display;
	d.actor = actor;
	d.attempt = 1;
	d.max_retries = (uint32_t)in.max_retries;
	d.retry_on_error = in.retry_on_error;
	d.timeout = in.timeout;
	d.num_cpus = o->num_cpus;
	d.num_gpus = o->num_gpus;
	d.memory = o->memory;
	d.resources = o->resources;
	d.num_resources = o->num_resources;
	d.deps = deps;
	d.num_deps = ndeps;
	d.returns = returns;
	d.num_returns = o->num_returns;
	d.payload = buf;
	d.payload_len = len;
	tarn_error_clear(); /* so that a set_error() from the backend shows */
	if (kind == TARN_TASK_ACTOR_CREATE)
		rc = tarn_rt.ops->actor_create(tarn_rt.be, &d);
	else
		rc = tarn_rt.ops->submit(tarn_rt.be, &d);
	if (rc) {
		char detail[1024];

		g_strlcpy(detail, tarn_last_error(), sizeof(detail));
		if (rc == TARN_EACTOR)
			tarn_error(rc, "'%s': the actor was killed or died", display);
		else
			tarn_error(rc, "backend '%s' refused '%s': %s", tarn_rt.plugin->name,
				   display, detail[0] ? detail : tarn_strerror(rc));
		goto out;
	}
	if (o->num_returns)
		memcpy(out_refs, returns, o->num_returns * sizeof(tarn_ref_t));
out:
	if (buf != small)
		g_free(buf);
	if (returns != returns_small)
		g_free(returns);
	if (deps != deps_small)
		g_free(deps);
	return rc;
}

static int unknown_name(int kind, const char *what, const char *name)
{
	char *names = tarn_registry_names(kind, 20);
	int rc = tarn_error(TARN_ENOENT, "no %s named '%s' is registered (registered: %s)",
			    what, name, names);

	g_free(names);
	return rc;
}

TARN_API int tarn_remote(const char *name, const tarn_arg_t *args,
			 size_t nargs, const tarn_task_opts_t *opts,
			 tarn_ref_t *out_refs)
{
	int rc = check_init("tarn_remote");

	if (rc)
		return rc;
	if (!name)
		return tarn_error(TARN_EINVAL, "tarn_remote: task name is NULL");
	if (!tarn_registry_find(name, REG_TASK))
		return unknown_name(REG_TASK, "task", name);
	return submit(TARN_TASK_PLAIN, name, name, (tarn_actor_t){0, 0}, args,
		      nargs, opts, out_refs);
}

/*
 * Calls per chunk of a batch: big enough that the backend's lock and the
 * allocations are paid rarely, small enough that a chunk's descriptors and
 * payloads stay in cache.
 */
#define BATCH_CHUNK 256
/*
 * Arguments a task of grouped calls carries at most: beyond a few pages,
 * grouping saves nothing against the bytes themselves.
 */
#define GROUP_MAX_BYTES ((size_t)64 << 10)

struct batch {
	tarn_task_desc_t d[BATCH_CHUNK];
	size_t call_len[BATCH_CHUNK]; /* bytes of each call's arguments */
	size_t group_end[BATCH_CHUNK]; /* task t runs calls [end[t-1], end[t]) */
	size_t group_len[BATCH_CHUNK]; /* bytes of task t's payload */
	tarn_ref_t *deps;          /* BATCH_CHUNK * nargs */
	size_t payload_cap;
	unsigned char *payload;    /* the chunk's payloads, back to back */
};

/*
 * Calls of a batch that one task runs in a loop: one task record, one
 * message and one completion per group instead of per call. Calls with a
 * time limit are not grouped: a backend stops a task at its limit, and a
 * group's limit would be nobody's.
 */
static size_t calls_per_task(size_t ncalls, const tarn_task_opts_t *o)
{
	size_t per, cpus = tarn_rt.num_cpus > 0 ? (size_t)tarn_rt.num_cpus : 1;

	if (o->timeout > 0)
		return 1;
	if (tarn_rt.batch_chunk)
		return tarn_rt.batch_chunk;
	/* At least 4 tasks per CPU, so that uneven calls still balance. */
	per = ncalls / (4 * cpus);
	return per < 1 ? 1 : per > BATCH_CHUNK ? BATCH_CHUNK : per;
}

/* Hand calls [first, first + n) to the backend, @per to a task; all or none. */
static int batch_chunk(struct batch *b, const char *name, const tarn_arg_t *args,
		       size_t nargs, size_t first, size_t n, size_t per,
		       const tarn_task_opts_t *o, tarn_ref_t *out_refs)
{
	struct payload_in in;
	struct payload_multi_in mi;
	size_t total = 0, off = 0, ntasks = 0, grouped = 0, call = 0;
	int rc;

	memset(&in, 0, sizeof(in));
	in.kind = TARN_TASK_PLAIN;
	in.name = name;
	in.max_retries = o->max_retries >= 0 ? o->max_retries : tarn_rt.default_max_retries;
	in.retry_on_error = o->retry_on_error;
	in.timeout = o->timeout > 0 ? o->timeout : 0;
	in.num_returns = o->num_returns;
	in.nargs = nargs;
	memset(&mi, 0, sizeof(mi));
	mi.name = name;
	mi.max_retries = in.max_retries;
	mi.retry_on_error = in.retry_on_error;
	mi.num_returns = o->num_returns;
	mi.nargs = (uint32_t)nargs;
	if (strlen(name) > 2 * TARN_MAX_NAME + 1)
		return tarn_error(TARN_EINVAL, "name '%s' is too long", name);
	/* Sizes first: every argument is checked before anything is minted. */
	for (size_t i = 0; i < n; i++) {
		rc = tarn_payload_args_size(name, nargs ? args + (first + i) * nargs : NULL, nargs,
					    &b->call_len[i]);
		if (rc) {
			char detail[1024];

			g_strlcpy(detail, tarn_last_error(), sizeof(detail));
			return tarn_error(rc, "tarn_remote_batch: call %zu: %s", first + i, detail);
		}
		/* A group ends at @per calls or at its byte budget. */
		if (i > call && (i - call == per || grouped + b->call_len[i] > GROUP_MAX_BYTES)) {
			b->group_end[ntasks++] = i;
			call = i;
			grouped = 0;
		}
		grouped += b->call_len[i];
	}
	b->group_end[ntasks++] = n;
	for (size_t t = 0, from = 0; t < ntasks; from = b->group_end[t++]) {
		size_t k = b->group_end[t] - from, args_len = 0;

		for (size_t i = from; i < b->group_end[t]; i++)
			args_len += b->call_len[i];
		mi.ncalls = (uint32_t)k;
		b->group_len[t] = k == 1 ? tarn_payload_single_size(&in, args_len)
					 : tarn_payload_multi_size(&mi, args_len);
		total += b->group_len[t];
	}
	if (total > b->payload_cap) {
		unsigned char *p = g_try_realloc(b->payload, total);

		if (!p)
			return tarn_error(TARN_ENOMEM, "tarn_remote_batch: cannot allocate %zu bytes of arguments",
					  total);
		b->payload = p;
		b->payload_cap = total;
	}
	for (size_t t = 0, from = 0; t < ntasks; from = b->group_end[t++]) {
		tarn_task_desc_t *d = &b->d[t];
		size_t k = b->group_end[t] - from, len = b->group_len[t], ndeps = 0;
		size_t nret = k * o->num_returns;
		const tarn_arg_t *a = nargs ? args + (first + from) * nargs : NULL;
		tarn_ref_t *returns = out_refs ? out_refs + (first + from) * o->num_returns : NULL;
		tarn_ref_t *deps = b->deps + from * nargs;

		for (size_t i = 0; i < nret; i++)
			returns[i] = tarn_rt_mint();
		for (size_t i = 0; i < k * nargs; i++)
			if (a[i].kind == TARN_ARG_REF)
				deps[ndeps++] = a[i].u.ref;
		memset(d, 0, sizeof(*d));
		d->id = tarn_rt_mint();
		if (k == 1) {
			in.args = a;
			in.id = d->id;
			in.returns = returns;
			tarn_payload_write(&in, b->payload + off);
		} else {
			mi.ncalls = (uint32_t)k;
			mi.id = d->id;
			mi.returns = returns;
			mi.args = a;
			tarn_payload_multi_write(&mi, b->payload + off);
		}
		d->size = sizeof(*d);
		d->kind = TARN_TASK_PLAIN;
		d->name = name;
		d->attempt = 1;
		d->max_retries = (uint32_t)in.max_retries;
		d->retry_on_error = in.retry_on_error;
		d->timeout = in.timeout;
		d->num_cpus = o->num_cpus;
		d->num_gpus = o->num_gpus;
		d->memory = o->memory;
		d->resources = o->resources;
		d->num_resources = o->num_resources;
		d->deps = deps;
		d->num_deps = ndeps;
		d->returns = returns;
		d->num_returns = nret;
		d->payload = b->payload + off;
		d->payload_len = len;
		off += len;
	}
	tarn_error_clear();
	if (tarn_rt.ops->submit_batch) {
		rc = tarn_rt.ops->submit_batch(tarn_rt.be, b->d, ntasks);
		if (rc == 0)
			return 0;
		ntasks = 0;
	} else {
		rc = 0;
		for (size_t t = 0; t < ntasks && !rc; t++) {
			rc = tarn_rt.ops->submit(tarn_rt.be, &b->d[t]);
			if (rc)
				ntasks = t; /* tasks before it are the backend's now */
		}
		if (!rc)
			return 0;
	}
	{
		char detail[1024];
		size_t refused = ntasks ? b->group_end[ntasks - 1] : 0;

		g_strlcpy(detail, tarn_last_error(), sizeof(detail));
		/* What the backend took still runs; nobody will read its results. */
		for (size_t t = 0; t < ntasks; t++)
			for (size_t r = 0; r < b->d[t].num_returns; r++)
				tarn_rt.ops->release(tarn_rt.be, b->d[t].returns[r]);
		return tarn_error(rc, "backend '%s' refused call %zu of a batch of '%s': %s",
				  tarn_rt.plugin->name, first + refused, name,
				  detail[0] ? detail : tarn_strerror(rc));
	}
}

TARN_API int tarn_remote_batch(const char *name, const tarn_arg_t *args,
			       size_t nargs, size_t ncalls,
			       const tarn_task_opts_t *opts,
			       tarn_ref_t *out_refs)
{
	static const tarn_task_opts_t defaults = TARN_TASK_OPTS_INIT;
	const tarn_task_opts_t *o = opts ? opts : &defaults;
	struct batch *b;
	size_t done = 0, per;
	int rc = check_init("tarn_remote_batch");

	if (rc)
		return rc;
	if (!name)
		return tarn_error(TARN_EINVAL, "tarn_remote_batch: task name is NULL");
	if (!tarn_registry_find(name, REG_TASK))
		return unknown_name(REG_TASK, "task", name);
	if (ncalls == 0)
		return 0;
	if (nargs && ncalls > SIZE_MAX / nargs / sizeof(tarn_arg_t))
		return tarn_error(TARN_EINVAL, "tarn_remote_batch: %zu calls of %zu arguments overflow",
				  ncalls, nargs);
	if (o->num_returns && ncalls > SIZE_MAX / o->num_returns / sizeof(tarn_ref_t))
		return tarn_error(TARN_EINVAL, "tarn_remote_batch: %zu calls of %u results overflow",
				  ncalls, o->num_returns);
	rc = check_opts(name, o, nargs * ncalls, args, out_refs);
	if (rc)
		return rc;

	b = g_try_new0(struct batch, 1);
	if (b)
		b->deps = g_try_new(tarn_ref_t, BATCH_CHUNK * (nargs ? nargs : 1));
	if (!b || !b->deps) {
		if (b)
			g_free(b);
		return tarn_error(TARN_ENOMEM, "tarn_remote_batch: out of memory");
	}
	per = calls_per_task(ncalls, o);
	while (done < ncalls && rc == 0) {
		size_t n = MIN(ncalls - done, BATCH_CHUNK);

		rc = batch_chunk(b, name, args, nargs, done, n, per, o, out_refs);
		if (rc == 0)
			done += n;
	}
	if (rc && o->num_returns) {
		for (size_t i = 0; i < done * o->num_returns; i++)
			tarn_rt.ops->release(tarn_rt.be, out_refs[i]);
		memset(out_refs, 0, ncalls * o->num_returns * sizeof(tarn_ref_t));
	}
	g_free(b->payload);
	g_free(b->deps);
	g_free(b);
	return rc;
}

/* Objects ---------------------------------------------------------------- */

/*
 * Large puts copy with several threads: one core's copy is bounded by the
 * misses it can have in flight, well below the memory's bandwidth (Ray's
 * object store does the same). Threads are made per copy: at 64 MiB and
 * up their start costs well under 0.1% of the copy.
 */
#define PAR_COPY_MIN ((size_t)64 << 20)
#define PAR_COPY_THREADS 4

struct copy_part {
	unsigned char *dst;
	const unsigned char *src;
	size_t len;
};

static void *copy_part_main(void *arg)
{
	struct copy_part *c = arg;

	memcpy(c->dst, c->src, c->len);
	return NULL;
}

static void big_copy(void *dst, const void *src, size_t len)
{
	struct copy_part part[PAR_COPY_THREADS];
	pthread_t th[PAR_COPY_THREADS];
	bool started[PAR_COPY_THREADS] = {false};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus < 1 ? 1 : cpus > PAR_COPY_THREADS ? PAR_COPY_THREADS : (size_t)cpus;
	size_t chunk, off = 0;

	if (len < PAR_COPY_MIN || n < 2) {
		memcpy(dst, src, len);
		return;
	}
	/* Slices on 4 KiB boundaries, so that no two threads share a page. */
	chunk = (len / n + 4095) & ~(size_t)4095;
	for (size_t i = 0; i < n; i++) {
		part[i].dst = (unsigned char *)dst + off;
		part[i].src = (const unsigned char *)src + off;
		part[i].len = off >= len ? 0 : MIN(chunk, len - off);
		off += part[i].len;
	}
	for (size_t i = 1; i < n; i++)
		started[i] = part[i].len &&
			     pthread_create(&th[i], NULL, copy_part_main, &part[i]) == 0;
	copy_part_main(&part[0]);
	for (size_t i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else if (part[i].len)
			copy_part_main(&part[i]); /* no thread: copy it here */
	}
}

TARN_API int tarn_put(const void *data, size_t len, tarn_ref_t *out)
{
	tarn_ref_t ref;
	void *p;
	int rc = check_init("tarn_put");

	if (rc)
		return rc;
	if (!out || (len && !data))
		return tarn_error(TARN_EINVAL, "tarn_put: %s", !out ? "out is NULL"
								   : "data is NULL but len > 0");
	ref = tarn_rt_mint();
	if (tarn_rt.ops->put) {
		rc = tarn_rt.ops->put(tarn_rt.be, ref, data, len, 0);
	} else {
		rc = tarn_rt.ops->create(tarn_rt.be, ref, len, 0, &p);
		if (rc == 0) {
			if (len)
				big_copy(p, data, len);
			rc = tarn_rt.ops->seal(tarn_rt.be, ref);
		}
	}
	if (rc)
		return tarn_error(rc, "tarn_put of %zu bytes: %s", len, tarn_strerror(rc));
	*out = ref;
	return 0;
}

/*
 * Fetch @ref into caller storage: pinned on success, and a task error is
 * already turned into TARN_ETASK (and unpinned).
 */
static int fetch_view(tarn_ref_t ref, double timeout, tarn_obj_view_t *view)
{
	int rc;

	if (!tarn_ref_is_valid(ref))
		return tarn_error(TARN_EINVAL, "tarn_get: the null ref");
	memset(view, 0, sizeof(*view));
	rc = tarn_rt.ops->fetch(tarn_rt.be, ref, timeout, view);
	if (rc) {
		if (rc == TARN_ETIMEDOUT)
			return tarn_error(rc, "tarn_get: ref %" PRIu64 ":%" PRIu64 " not ready after %.3f s",
					  ref.origin, ref.seq, timeout);
		if (rc == TARN_ENOENT)
			return tarn_error(rc, "tarn_get: ref %" PRIu64 ":%" PRIu64
					  " is unknown or was released", ref.origin, ref.seq);
		return tarn_error(rc, "tarn_get: ref %" PRIu64 ":%" PRIu64 ": %s",
				  ref.origin, ref.seq, tarn_strerror(rc));
	}
	if (view->flags & TARN_OBJ_ERROR) {
		rc = tarn_error(TARN_ETASK, "%.*s", (int)view->len,
				(const char *)view->data);
		tarn_rt.ops->unpin(tarn_rt.be, view);
		return rc;
	}
	return 0;
}

TARN_API int tarn_get(tarn_ref_t ref, double timeout, tarn_object_t **out)
{
	struct tarn_object *obj;
	tarn_obj_view_t view;
	int rc = check_init("tarn_get");

	if (rc)
		return rc;
	if (!out)
		return tarn_error(TARN_EINVAL, "tarn_get: out is NULL");
	*out = NULL;
	rc = fetch_view(ref, timeout, &view);
	if (rc)
		return rc;
	obj = g_new(struct tarn_object, 1);
	obj->view = view;
	obj->generation = atomic_load(&tarn_rt.generation);
	*out = obj;
	return 0;
}

/* No object handle: a fixed-size value is copied out and unpinned at once. */
static int get_fixed(tarn_ref_t ref, double timeout, void *out, size_t size)
{
	tarn_obj_view_t view;
	int rc = check_init("tarn_get");

	if (rc)
		return rc;
	rc = fetch_view(ref, timeout, &view);
	if (rc)
		return rc;
	if (view.len != size) {
		rc = tarn_error(TARN_EINVAL, "object %" PRIu64 ":%" PRIu64 " is %zu bytes, expected %zu",
				ref.origin, ref.seq, view.len, size);
	} else {
		memcpy(out, view.data, size);
	}
	tarn_rt.ops->unpin(tarn_rt.be, &view);
	return rc;
}

TARN_API int tarn_get_i64(tarn_ref_t ref, double timeout, int64_t *out)
{
	if (!out)
		return tarn_error(TARN_EINVAL, "tarn_get_i64: out is NULL");
	return get_fixed(ref, timeout, out, sizeof(*out));
}

TARN_API int tarn_get_f64(tarn_ref_t ref, double timeout, double *out)
{
	if (!out)
		return tarn_error(TARN_EINVAL, "tarn_get_f64: out is NULL");
	return get_fixed(ref, timeout, out, sizeof(*out));
}

/* Many refs at once ------------------------------------------------------- */

/* Refs fetched per step of tarn_get_i64_batch(): their views stay on the stack. */
#define GET_BATCH_CHUNK 256

static double seconds_left(double timeout, uint64_t deadline_ns)
{
	uint64_t now;

	if (timeout < 0)
		return timeout;
	now = host_now_ns();
	return now >= deadline_ns ? 0 : (double)(deadline_ns - now) / 1e9;
}

/*
 * Pin views of @refs[0..@n), all or none; *@failed names the ref that
 * failed. Backends without fetch_batch() get one fetch() per ref, each with
 * what is left of the one deadline.
 */
static int fetch_views(const tarn_ref_t *refs, size_t n, double timeout,
		       uint64_t deadline_ns, tarn_obj_view_t *views, size_t *failed)
{
	memset(views, 0, n * sizeof(*views));
	if (tarn_rt.ops->fetch_batch)
		return tarn_rt.ops->fetch_batch(tarn_rt.be, refs, n,
						seconds_left(timeout, deadline_ns),
						views, failed);
	for (size_t i = 0; i < n; i++) {
		int rc = tarn_rt.ops->fetch(tarn_rt.be, refs[i],
					    seconds_left(timeout, deadline_ns), &views[i]);

		if (rc) {
			for (size_t j = 0; j < i; j++)
				tarn_rt.ops->unpin(tarn_rt.be, &views[j]);
			*failed = i;
			return rc;
		}
	}
	return 0;
}

static void unpin_views(tarn_obj_view_t *views, size_t n)
{
	if (tarn_rt.ops->unpin_batch) {
		tarn_rt.ops->unpin_batch(tarn_rt.be, views, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		tarn_rt.ops->unpin(tarn_rt.be, &views[i]);
}

/* The error of ref @i of a batch get, as fetch_view() words it for one. */
static int batch_fetch_error(const char *what, const tarn_ref_t *refs, size_t i,
			     int rc, double timeout)
{
	tarn_ref_t ref = refs[i];

	if (rc == TARN_ETIMEDOUT)
		return tarn_error(rc, "%s: ref %zu (%" PRIu64 ":%" PRIu64 ") not ready after %.3f s",
				  what, i, ref.origin, ref.seq, timeout);
	if (rc == TARN_ENOENT)
		return tarn_error(rc, "%s: ref %zu (%" PRIu64 ":%" PRIu64 ") is unknown or was released",
				  what, i, ref.origin, ref.seq);
	return tarn_error(rc, "%s: ref %zu (%" PRIu64 ":%" PRIu64 "): %s", what, i,
			  ref.origin, ref.seq, tarn_strerror(rc));
}

static int check_batch_refs(const char *what, const tarn_ref_t *refs, size_t n,
			    const void *out)
{
	int rc = check_init(what);

	if (rc)
		return rc;
	if (n && (!refs || !out))
		return tarn_error(TARN_EINVAL, "%s: %zu refs but %s is NULL", what, n,
				  !refs ? "refs" : "out");
	for (size_t i = 0; i < n; i++)
		if (!tarn_ref_is_valid(refs[i]))
			return tarn_error(TARN_EINVAL, "%s: ref %zu is the null ref", what, i);
	return 0;
}

/* TARN_ETASK for the first error object among @views, or 0. */
static int first_task_error(const char *what, const tarn_obj_view_t *views, size_t n,
			    size_t base)
{
	for (size_t i = 0; i < n; i++)
		if (views[i].flags & TARN_OBJ_ERROR)
			return tarn_error(TARN_ETASK, "%s: ref %zu: %.*s", what, base + i,
					  (int)views[i].len, (const char *)views[i].data);
	return 0;
}

TARN_API int tarn_get_batch(const tarn_ref_t *refs, size_t n, double timeout,
			    tarn_object_t **out)
{
	uint64_t deadline = timeout > 0 ? host_now_ns() + (uint64_t)(timeout * 1e9) : 0;
	unsigned generation = atomic_load(&tarn_rt.generation);
	tarn_obj_view_t *views;
	size_t failed = 0;
	int rc = check_batch_refs("tarn_get_batch", refs, n, out);

	if (rc)
		return rc;
	if (n == 0)
		return 0;
	memset(out, 0, n * sizeof(*out));
	views = g_try_new(tarn_obj_view_t, n);
	if (!views)
		return tarn_error(TARN_ENOMEM, "tarn_get_batch: cannot allocate %zu views", n);
	rc = fetch_views(refs, n, timeout, deadline, views, &failed);
	if (rc) {
		g_free(views);
		return batch_fetch_error("tarn_get_batch", refs, failed, rc, timeout);
	}
	rc = first_task_error("tarn_get_batch", views, n, 0);
	if (rc) {
		unpin_views(views, n);
		g_free(views);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct tarn_object *obj = g_new(struct tarn_object, 1);

		obj->view = views[i];
		obj->generation = generation;
		out[i] = obj;
	}
	g_free(views);
	return 0;
}

TARN_API int tarn_get_i64_batch(const tarn_ref_t *refs, size_t n,
				double timeout, int64_t *out)
{
	uint64_t deadline = timeout > 0 ? host_now_ns() + (uint64_t)(timeout * 1e9) : 0;
	tarn_obj_view_t views[GET_BATCH_CHUNK];
	int rc = check_batch_refs("tarn_get_i64_batch", refs, n, out);

	if (rc)
		return rc;
	for (size_t first = 0; first < n; first += GET_BATCH_CHUNK) {
		size_t k = MIN(n - first, GET_BATCH_CHUNK), failed = 0;

		rc = fetch_views(refs + first, k, timeout, deadline, views, &failed);
		if (rc)
			return batch_fetch_error("tarn_get_i64_batch", refs, first + failed, rc,
						 timeout);
		rc = first_task_error("tarn_get_i64_batch", views, k, first);
		for (size_t i = 0; i < k && !rc; i++) {
			if (views[i].len != sizeof(int64_t)) {
				rc = tarn_error(TARN_EINVAL,
						"tarn_get_i64_batch: ref %zu (%" PRIu64 ":%" PRIu64
						") is %zu bytes, expected 8", first + i,
						refs[first + i].origin, refs[first + i].seq,
						views[i].len);
				break;
			}
			memcpy(&out[first + i], views[i].data, sizeof(int64_t));
		}
		unpin_views(views, k);
		if (rc)
			return rc;
	}
	return 0;
}

TARN_API const void *tarn_object_data(const tarn_object_t *obj)
{
	return obj ? obj->view.data : NULL;
}

TARN_API size_t tarn_object_size(const tarn_object_t *obj)
{
	return obj ? obj->view.len : 0;
}

TARN_API void tarn_object_release(tarn_object_t *obj)
{
	if (!obj)
		return;
	/* After a shutdown the backend that pinned it is gone, and so is the pin. */
	if (atomic_load(&tarn_rt.initialized) &&
	    obj->generation == atomic_load(&tarn_rt.generation))
		tarn_rt.ops->unpin(tarn_rt.be, &obj->view);
	g_free(obj);
}

TARN_API int tarn_wait(const tarn_ref_t *refs, size_t n, size_t num_returns,
		       double timeout, bool *ready)
{
	bool small[64], *flags = ready;
	int rc = check_init("tarn_wait");

	if (rc)
		return rc;
	if (n && !refs)
		return tarn_error(TARN_EINVAL, "tarn_wait: %zu refs at NULL", n);
	if (num_returns > n)
		return tarn_error(TARN_EINVAL, "tarn_wait: num_returns=%zu (allowed: 0..%zu, the number of refs)",
				  num_returns, n);
	if (n > INT32_MAX)
		return tarn_error(TARN_EINVAL, "tarn_wait: %zu refs (allowed: up to %d)", n, INT32_MAX);
	for (size_t i = 0; i < n; i++)
		if (!tarn_ref_is_valid(refs[i]))
			return tarn_error(TARN_EINVAL, "tarn_wait: ref %zu is the null ref", i);
	if (!flags)
		flags = n <= 64 ? small : g_new(bool, n);
	memset(flags, 0, n * sizeof(bool));
	rc = tarn_rt.ops->wait(tarn_rt.be, refs, n, num_returns, timeout, flags);
	if (rc < 0)
		tarn_error(rc, "tarn_wait: %s", rc == TARN_ENOENT ? "a ref is unknown or was released"
								  : tarn_strerror(rc));
	if (flags != ready && flags != small)
		g_free(flags);
	return rc;
}

TARN_API bool tarn_ref_is_valid(tarn_ref_t ref)
{
	return ref.seq != 0;
}

TARN_API int tarn_ref_release(tarn_ref_t ref)
{
	int rc = check_init("tarn_ref_release");

	if (rc)
		return rc;
	if (!tarn_ref_is_valid(ref))
		return 0;
	rc = tarn_rt.ops->release(tarn_rt.be, ref);
	if (rc)
		return tarn_error(rc, "tarn_ref_release: ref %" PRIu64 ":%" PRIu64 " %s",
				  ref.origin, ref.seq,
				  rc == TARN_ENOENT ? "is unknown or was already released"
						    : tarn_strerror(rc));
	return 0;
}

TARN_API int tarn_ref_release_batch(const tarn_ref_t *refs, size_t n)
{
	size_t failed = 0;
	int rc = check_init("tarn_ref_release_batch");

	if (rc)
		return rc;
	if (n && !refs)
		return tarn_error(TARN_EINVAL, "tarn_ref_release_batch: %zu refs at NULL", n);
	if (tarn_rt.ops->release_batch) {
		rc = tarn_rt.ops->release_batch(tarn_rt.be, refs, n, &failed);
	} else {
		for (size_t i = 0; i < n; i++) {
			int r;

			if (!tarn_ref_is_valid(refs[i]))
				continue;
			r = tarn_rt.ops->release(tarn_rt.be, refs[i]);
			if (r && !rc) {
				rc = r;
				failed = i;
			}
		}
	}
	if (rc)
		return tarn_error(rc, "tarn_ref_release_batch: ref %zu (%" PRIu64 ":%" PRIu64 ") %s",
				  failed, refs[failed].origin, refs[failed].seq,
				  rc == TARN_ENOENT ? "is unknown or was already released"
						    : tarn_strerror(rc));
	return 0;
}

/* Actors ----------------------------------------------------------------- */

TARN_API int tarn_actor_create(const char *cls, const tarn_arg_t *args,
			       size_t nargs, const tarn_task_opts_t *opts,
			       tarn_actor_t *out)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_actor_t id;
	tarn_ref_t r;
	int rc = check_init("tarn_actor_create");

	if (rc)
		return rc;
	if (!cls || !out)
		return tarn_error(TARN_EINVAL, "tarn_actor_create: %s is NULL", !cls ? "cls" : "out");
	if (!(tarn_rt.plugin->desc.caps & TARN_CAP_ACTORS))
		return tarn_error(TARN_ENOTSUP, "backend '%s' has no actors", tarn_rt.plugin->name);
	if (!tarn_registry_find(cls, REG_CLASS))
		return unknown_name(REG_CLASS, "actor class", cls);
	if (opts)
		o = *opts;
	o.num_returns = 0; /* a constructor has no results; its failure sticks to the actor */
	r = tarn_rt_mint();
	id.origin = r.origin;
	id.seq = r.seq;
	rc = submit(TARN_TASK_ACTOR_CREATE, cls, cls, id, args, nargs, &o, NULL);
	if (rc)
		return rc;
	g_mutex_lock(&local_actors_lock);
	if (!local_actors)
		local_actors = g_hash_table_new_full(tarn_id_hash, tarn_id_equal, g_free, NULL);
	g_hash_table_insert(local_actors, g_memdup2(&id, sizeof(id)),
			    (gpointer)tarn_registry_find(cls, REG_CLASS));
	g_mutex_unlock(&local_actors_lock);
	*out = id;
	return 0;
}

TARN_API int tarn_actor_call(tarn_actor_t actor, const char *method,
			     const tarn_arg_t *args, size_t nargs,
			     const tarn_task_opts_t *opts, tarn_ref_t *out_refs)
{
	const struct reg_entry *cls = NULL;
	char display[sizeof(cls->name) + TARN_MAX_NAME + 2];
	int rc = check_init("tarn_actor_call");

	if (rc)
		return rc;
	if (!method || actor.seq == 0)
		return tarn_error(TARN_EINVAL, "tarn_actor_call: %s",
				  !method ? "method is NULL" : "the null actor");
	if (!(tarn_rt.plugin->desc.caps & TARN_CAP_ACTORS))
		return tarn_error(TARN_ENOTSUP, "backend '%s' has no actors", tarn_rt.plugin->name);
	g_mutex_lock(&local_actors_lock);
	if (local_actors)
		cls = g_hash_table_lookup(local_actors, &actor);
	g_mutex_unlock(&local_actors_lock);
	if (cls) {
		snprintf(display, sizeof(display), "%s.%s", cls->name, method);
		if (!tarn_registry_find(display, REG_METHOD))
			return tarn_error(TARN_ENOENT, "actor class '%s' has no method '%s'",
					  cls->name, method);
	} else {
		snprintf(display, sizeof(display), "%s", method);
	}
	return submit(TARN_TASK_ACTOR_CALL, method, display, actor, args, nargs,
		      opts, out_refs);
}

TARN_API int tarn_actor_kill(tarn_actor_t actor)
{
	int rc = check_init("tarn_actor_kill");

	if (rc)
		return rc;
	if (!(tarn_rt.plugin->desc.caps & TARN_CAP_ACTORS))
		return tarn_error(TARN_ENOTSUP, "backend '%s' has no actors", tarn_rt.plugin->name);
	rc = tarn_rt.ops->actor_kill(tarn_rt.be, actor);
	if (rc)
		return tarn_error(rc, "tarn_actor_kill: actor %" PRIu64 ":%" PRIu64 " %s",
				  actor.origin, actor.seq,
				  rc == TARN_ENOENT ? "is unknown or already killed" : tarn_strerror(rc));
	g_mutex_lock(&local_actors_lock);
	if (local_actors)
		g_hash_table_remove(local_actors, &actor);
	g_mutex_unlock(&local_actors_lock);
	return 0;
}

/* Cluster ------------------------------------------------------------------ */

TARN_API int tarn_cluster_resources(tarn_node_t **nodes, size_t *n)
{
	size_t cap = 4, got = 0;
	tarn_node_t *buf;
	int rc = check_init("tarn_cluster_resources");

	if (rc)
		return rc;
	if (!nodes || !n)
		return tarn_error(TARN_EINVAL, "tarn_cluster_resources: NULL output");
	for (;;) {
		buf = g_new0(tarn_node_t, cap);
		rc = tarn_rt.ops->cluster_info(tarn_rt.be, buf, cap, &got);
		if (rc) {
			g_free(buf);
			return tarn_error(rc, "backend '%s' cannot describe the cluster: %s",
					  tarn_rt.plugin->name, tarn_strerror(rc));
		}
		if (got <= cap)
			break;
		g_free(buf);
		cap = got;
	}
	*nodes = buf;
	*n = got;
	return 0;
}

TARN_API void tarn_cluster_resources_free(tarn_node_t *nodes)
{
	g_free(nodes);
}

TARN_API int tarn_num_cpus(void)
{
	int rc = check_init("tarn_num_cpus");

	if (rc)
		return rc;
	return tarn_rt.num_cpus > 0 ? tarn_rt.num_cpus : 1;
}

TARN_API const char *tarn_backend_name(void)
{
	return atomic_load(&tarn_rt.initialized) ? tarn_rt.plugin->name : NULL;
}

TARN_API int tarn_get_ip(char *buf, size_t len)
{
	struct ifaddrs *ifs, *it;
	const char *found = NULL;
	char tmp[INET6_ADDRSTRLEN] = "";

	if (!buf || len < 16)
		return tarn_error(TARN_EINVAL, "tarn_get_ip: buffer of %zu bytes (need at least 16)",
				  buf ? len : 0);
	if (getifaddrs(&ifs) != 0)
		return tarn_error(TARN_EIO, "tarn_get_ip: getifaddrs failed");
	/* Prefer the first non-loopback IPv4 address; loopback when alone. */
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (it = ifs; it; it = it->ifa_next) {
			struct sockaddr_in *sin = (struct sockaddr_in *)it->ifa_addr;

			if (!sin || sin->sin_family != AF_INET)
				continue;
			if (pass == 0 && (ntohl(sin->sin_addr.s_addr) >> 24) == 127)
				continue;
			if (inet_ntop(AF_INET, &sin->sin_addr, tmp, sizeof(tmp))) {
				found = tmp;
				break;
			}
		}
	}
	freeifaddrs(ifs);
	if (!found)
		found = "127.0.0.1";
	if (strlen(found) + 1 > len)
		return tarn_error(TARN_EINVAL, "tarn_get_ip: buffer of %zu bytes is too small for %s",
				  len, found);
	memcpy(buf, found, strlen(found) + 1);
	return 0;
}
