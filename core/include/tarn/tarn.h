/* SPDX-License-Identifier: MIT */
/**
 * DOC: tarn, the user API
 *
 * tarn runs C functions as remote tasks on a pool of workers: in the calling
 * process (``seq``), in local worker processes (``procpool``), on MPI ranks
 * (``mpi``) or on TCP worker daemons (``tcp``). The program is the same on
 * every backend; ``UNIDIST_BACKEND`` picks one at run time.
 *
 * The model is unidist's (and Ray's): a task call returns object refs at
 * once; the results are fetched with tarn_get() or waited for with
 * tarn_wait(). Refs can be passed as arguments to other tasks, which then
 * run once their inputs exist. Actors are stateful objects living on one
 * worker whose methods run in call order.
 *
 * Errors: every function that can fail returns 0 or a negative TARN_E* code
 * and sets a detail message for tarn_last_error() (see <tarn/errors.h>).
 * A task that fails is not an error when it is submitted; it surfaces at
 * tarn_get()/tarn_wait() time as TARN_ETASK.
 *
 * Ownership: arguments are borrowed for the duration of the call. What tarn
 * allocates for you (objects, lists) you give back with the matching
 * release/free function, and every such function accepts NULL.
 *
 * Thread safety: after tarn_init() has returned, every function here may be
 * called from any thread, including from inside running tasks. tarn_init()
 * and tarn_shutdown() must not race with other tarn calls.
 */
#ifndef TARN_TARN_H
#define TARN_TARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tarn/errors.h>
#include <tarn/export.h>
#include <tarn/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * struct tarn_ref - reference to an immutable object, maybe not yet computed
 * @origin: the process that made the id (0 is the driver); ids are unique
 *          across the whole cluster
 * @seq: sequence number within @origin, starting at 1; 0 means "no ref"
 *
 * A ref is a plain value: copy it, store it, pass it to tasks. Each ref that
 * tarn hands you (from tarn_put(), tarn_remote(), tarn_actor_call()) carries
 * one hold on its object, given back with tarn_ref_release(); the object is
 * freed cluster-wide once nobody holds it and no pending task needs it.
 * Copies of a ref share that one hold.
 */
typedef struct tarn_ref {
	uint64_t origin;
	uint64_t seq;
} tarn_ref_t;

/**
 * struct tarn_actor - handle of an actor; a plain value like &struct tarn_ref
 * @origin: the process that created the actor
 * @seq: sequence number within @origin; 0 means "no actor"
 */
typedef struct tarn_actor {
	uint64_t origin;
	uint64_t seq;
} tarn_actor_t;

/** TARN_FOREVER - timeout value meaning "wait as long as it takes" */
#define TARN_FOREVER (-1.0)

/** TARN_MAX_RETURNS - the most results one task may have */
#define TARN_MAX_RETURNS 4096

/** TARN_MAX_NAME - the longest task, class or method name, in bytes */
#define TARN_MAX_NAME 128

/**
 * enum tarn_arg_kind - what a &struct tarn_arg carries
 * @TARN_ARG_BYTES: bytes at @u.data, borrowed until the submitting call
 *                  returns (tarn copies them)
 * @TARN_ARG_SMALL: up to 16 bytes stored in the argument itself
 * @TARN_ARG_REF: an object ref; the task runs once the object exists and
 *                sees its bytes (a dependency)
 */
enum tarn_arg_kind {
	TARN_ARG_BYTES = 1,
	TARN_ARG_SMALL = 2,
	TARN_ARG_REF = 3,
};

/**
 * struct tarn_arg - one argument of a task, actor constructor or method
 * @kind: an &enum tarn_arg_kind
 * @len: number of bytes (BYTES and SMALL)
 * @u: the payload
 *
 * Build arguments with tarn_arg_bytes(), tarn_arg_str(), tarn_arg_i64(),
 * tarn_arg_f64() and tarn_arg_ref(). Every argument reaches the task as
 * bytes; the typed helpers only fix the encoding (host byte order).
 */
typedef struct tarn_arg {
	int kind;
	size_t len;
	union {
		const void *data;
		unsigned char small[16];
		tarn_ref_t ref;
	} u;
} tarn_arg_t;

/** tarn_arg_bytes() - argument from @len bytes at @data (copied at submit) */
static inline tarn_arg_t tarn_arg_bytes(const void *data, size_t len)
{
	tarn_arg_t a;
	memset(&a, 0, sizeof(a));
	a.kind = TARN_ARG_BYTES;
	a.len = len;
	a.u.data = data;
	return a;
}

/** tarn_arg_str() - argument from a C string, terminating NUL included */
static inline tarn_arg_t tarn_arg_str(const char *s)
{
	return tarn_arg_bytes(s, strlen(s) + 1);
}

/** tarn_arg_i64() - argument holding one int64_t */
static inline tarn_arg_t tarn_arg_i64(int64_t v)
{
	tarn_arg_t a;
	memset(&a, 0, sizeof(a));
	a.kind = TARN_ARG_SMALL;
	a.len = sizeof(v);
	memcpy(a.u.small, &v, sizeof(v));
	return a;
}

/** tarn_arg_f64() - argument holding one double */
static inline tarn_arg_t tarn_arg_f64(double v)
{
	tarn_arg_t a;
	memset(&a, 0, sizeof(a));
	a.kind = TARN_ARG_SMALL;
	a.len = sizeof(v);
	memcpy(a.u.small, &v, sizeof(v));
	return a;
}

/** tarn_arg_ref() - argument that is the object behind @ref (a dependency) */
static inline tarn_arg_t tarn_arg_ref(tarn_ref_t ref)
{
	tarn_arg_t a;
	memset(&a, 0, sizeof(a));
	a.kind = TARN_ARG_REF;
	a.u.ref = ref;
	return a;
}

/**
 * struct tarn_resource - a named custom resource a task needs
 * @name: resource name, such as "disk" or "license"
 * @amount: how much of it; must be > 0
 */
typedef struct tarn_resource {
	const char *name;
	double amount;
} tarn_resource_t;

/**
 * struct tarn_task_opts - options of one task call (unidist's .options())
 * @num_returns: number of results, 0..TARN_MAX_RETURNS (default 1)
 * @num_cpus: CPUs the task needs (default 1)
 * @num_gpus: GPUs the task needs (default 0)
 * @memory: bytes of memory the task needs (default 0: not stated)
 * @resources: custom resources, or NULL
 * @num_resources: entries in @resources
 * @max_retries: retries after a worker crash, and after an error when
 *               @retry_on_error is set; negative means the default
 *               (setting UNIDIST_TASK_MAX_RETRIES, 3 unless changed)
 * @retry_on_error: also retry when the task itself reports an error or
 *                  times out (default false: only crashes are retried)
 * @timeout: wall-clock limit of one attempt in seconds; 0 or less means
 *           none. A backend that can stop a running task stops it; one that
 *           cannot (seq) reports the attempt as timed out when it returns.
 *
 * Start from TARN_TASK_OPTS_INIT or tarn_task_opts_init(): a zeroed struct
 * asks for zero results. Passing NULL instead of options means the defaults.
 */
typedef struct tarn_task_opts {
	uint32_t num_returns;
	double num_cpus;
	double num_gpus;
	uint64_t memory;
	const tarn_resource_t *resources;
	size_t num_resources;
	int32_t max_retries;
	bool retry_on_error;
	double timeout;
} tarn_task_opts_t;

/** TARN_TASK_OPTS_INIT - initializer holding the default task options */
#define TARN_TASK_OPTS_INIT                                                 \
	{                                                                   \
		.num_returns = 1, .num_cpus = 1.0, .num_gpus = 0.0,         \
		.memory = 0, .resources = NULL, .num_resources = 0,         \
		.max_retries = -1, .retry_on_error = false, .timeout = 0.0, \
	}

/**
 * tarn_task_opts_init() - fill @opts with the default task options
 * @opts: caller storage
 */
TARN_API void tarn_task_opts_init(tarn_task_opts_t *opts);

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */
/* ------------------------------------------------------------------------ */

/**
 * struct tarn_init_opts - optional arguments of tarn_init()
 * @argc: pointer to main()'s argc, or NULL (the mpi backend passes it to
 *        MPI_Init)
 * @argv: pointer to main()'s argv, or NULL
 */
typedef struct tarn_init_opts {
	int *argc;
	char ***argv;
} tarn_init_opts_t;

/**
 * tarn_init() - read the configuration, load the backend, start the workers
 * @opts: optional arguments, or NULL
 *
 * Resolves every setting (tarn_config_set(), environment, YAML file,
 * default), validates all of them, loads the backend named by
 * UNIDIST_BACKEND / SP_PLATFORM (or the default: ``mpi`` under
 * mpiexec/mpirun, else ``procpool``, else ``seq`` when no procpool plugin
 * is installed) and opens it. Nothing starts when any
 * setting is invalid or the backend refuses.
 *
 * On the worker processes of multi-process backends (procpool workers, MPI
 * ranks other than 0, tcp worker daemons) tarn_init() runs the worker loop
 * and does not return: the process exits when the cluster shuts down. Call
 * it early in main(), after registering tasks and before doing work that
 * only the driver should do.
 *
 * Thread safety: call once, from one thread; tarn_shutdown() makes a new
 * tarn_init() possible on backends that allow it (seq, procpool).
 *
 * Return: 0; TARN_EBUSY if already initialized; TARN_ECONFIG for a bad
 * setting; TARN_ENOENT for an unknown backend name (the message lists the
 * backends found); TARN_EPLUGIN, TARN_EABI or TARN_EUNAVAIL when the backend
 * cannot be loaded or is not available here; TARN_EEXIST when two task
 * libraries registered the same name with different functions.
 */
TARN_API int tarn_init(const tarn_init_opts_t *opts);

/**
 * tarn_is_worker() - whether this process was started by a backend as one
 * of its workers (the environment variable TARN_WORKER is set)
 *
 * Backends that start workers by executing the program again (procpool,
 * mpi in spawn mode) run main() in each worker. A program that must do
 * something before tarn_init() that workers must not (parse a test
 * runner's options, print a banner) checks this first and calls
 * tarn_init() at once in a worker, which then never returns.
 */
TARN_API bool tarn_is_worker(void);

/**
 * tarn_is_initialized() - whether tarn_init() has succeeded and
 * tarn_shutdown() has not been called since
 */
TARN_API bool tarn_is_initialized(void);

/**
 * tarn_shutdown() - stop the workers, free every object, unload the backend
 *
 * Refs and actor handles from before are invalid afterwards. Calling it
 * when not initialized does nothing.
 *
 * Return: 0, or the backend's error when a clean stop was not possible (the
 * runtime is torn down all the same).
 */
TARN_API int tarn_shutdown(void);

/* ------------------------------------------------------------------------ */
/* Tasks                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * typedef tarn_task_ctx_t - what a running task sees: its arguments, its
 * results, its attempt number, its actor. Valid only during the call.
 */
typedef struct tarn_task_ctx tarn_task_ctx_t;

/**
 * typedef tarn_task_fn - a task function, constructor or method
 * @ctx: the running task
 *
 * Return: 0 on success, after setting every result with tarn_task_return()
 * or tarn_task_return_alloc(); anything else is a failure, described by
 * tarn_task_fail() if the task called it.
 */
typedef int (*tarn_task_fn)(tarn_task_ctx_t *ctx);

/**
 * tarn_task_register() - make @fn callable as task @name in this process
 * @name: 1..TARN_MAX_NAME bytes of [A-Za-z0-9_.:-], starting with a letter
 *        or '_'
 * @fn: the function
 *
 * Usually called by TARN_TASK() at load time, before main(). Registering
 * the same name with the same function again is harmless; with another
 * function it is an error that tarn_init() (or tarn_load_library()) then
 * reports.
 *
 * Thread safety: safe from any thread, and before tarn_init().
 *
 * Return: 0, TARN_EINVAL for a bad name, TARN_EEXIST for a conflict.
 */
TARN_API int tarn_task_register(const char *name, tarn_task_fn fn);

/**
 * TARN_TASK() - define and register a task function
 * @name: the task's name, a C identifier
 *
 * The body sees its context as ``ctx``::
 *
 *     TARN_TASK(square) {
 *             int64_t x;
 *             int rc = tarn_task_arg_i64(ctx, 0, &x);
 *             if (rc)
 *                     return rc;
 *             return tarn_task_return_i64(ctx, 0, x * x);
 *     }
 */
#define TARN_TASK(name)                                                      \
	static int tarn_task_fn_##name(tarn_task_ctx_t *ctx);                \
	__attribute__((constructor)) static void tarn_task_reg_##name(void)  \
	{                                                                    \
		tarn_task_register(#name, tarn_task_fn_##name);              \
	}                                                                    \
	static int tarn_task_fn_##name(                                      \
		tarn_task_ctx_t *ctx __attribute__((unused)))

/**
 * tarn_load_library() - load a shared library of tasks in every process
 * @path: path of the .so, as dlopen() takes it
 *
 * The library's TARN_TASK()/TARN_ACTOR() definitions register themselves.
 * The library is loaded here, in every worker that exists, and in every
 * worker started later.
 *
 * Thread safety: safe from any thread; may be called before tarn_init().
 *
 * Return: 0; TARN_EINVAL for an empty path; TARN_EPLUGIN when dlopen()
 * fails (the message has dlerror()); TARN_EEXIST when the library registers
 * a name that another function already has; the backend's error when it
 * cannot load the library in its workers.
 */
TARN_API int tarn_load_library(const char *path);

/**
 * tarn_remote() - run task @name on the cluster
 * @name: a registered task name
 * @args: the arguments (copied or referenced; borrowed for the call)
 * @nargs: number of arguments
 * @opts: options, or NULL for the defaults
 * @out_refs: caller storage for opts->num_returns refs (1 with NULL opts);
 *            may be NULL when there are no results
 *
 * Returns at once, before the task has run. Each ref written to @out_refs
 * carries one hold for the caller.
 *
 * Return: 0; TARN_ENOTINIT; TARN_ENOENT for an unknown task name (the
 * message names it); TARN_EINVAL for bad options or arguments (which one and
 * why), including a null ref argument and resources no node has (a task
 * asking for more CPUs, GPUs or memory than the largest node is refused
 * here rather than left waiting forever). A task that fails later is reported by tarn_get() as TARN_ETASK.
 */
TARN_API int tarn_remote(const char *name, const tarn_arg_t *args,
			 size_t nargs, const tarn_task_opts_t *opts,
			 tarn_ref_t *out_refs);

/** TARN_HAVE_REMOTE_BATCH - defined when tarn_remote_batch() exists (0.1.0) */
#define TARN_HAVE_REMOTE_BATCH 1

/**
 * tarn_remote_batch() - run task @name once for each of @ncalls argument sets
 * @name: a registered task name
 * @args: @ncalls groups of @nargs arguments, back to back: call i takes
 *        args[i * @nargs] to args[i * @nargs + @nargs - 1] (borrowed)
 * @nargs: arguments per call, the same for every call (may be 0)
 * @ncalls: number of calls (0 does nothing)
 * @opts: options for every call, or NULL for the defaults
 * @out_refs: caller storage for @ncalls * opts->num_returns refs: call i's
 *            results at out_refs[i * num_returns]; may be NULL when there
 *            are no results
 *
 * The same calls as @ncalls tarn_remote() calls in order, grouped up to 256
 * to a task that runs them in a loop on one worker (UNIDIST_BATCH_CHUNK;
 * never for calls with a timeout), so a map over an array costs far less
 * per call. Each call still has its own results, errors and in-place
 * retries; within a group, calls start once every dependency of the group
 * exists and run in order, and after a worker crash the calls that had
 * finished keep their results. Tasks with no dependency between them may
 * run in any order, as with tarn_remote().
 *
 * All or nothing for the caller: on failure no ref is returned (calls that
 * were already handed to the backend still run, but their results are
 * released at once) and @out_refs holds null refs.
 *
 * Thread safety: safe from any thread, like tarn_remote().
 *
 * Return: 0; the errors of tarn_remote(), with the message naming the
 * failing call's index for a bad argument; TARN_EINVAL when @nargs *
 * @ncalls overflows.
 */
TARN_API int tarn_remote_batch(const char *name, const tarn_arg_t *args,
			       size_t nargs, size_t ncalls,
			       const tarn_task_opts_t *opts,
			       tarn_ref_t *out_refs);

/* Inside a running task ------------------------------------------------- */

/** tarn_task_name() - name of the running task, method or constructor */
TARN_API const char *tarn_task_name(const tarn_task_ctx_t *ctx);

/** tarn_task_attempt() - 1 for the first attempt, 2 for the first retry... */
TARN_API uint32_t tarn_task_attempt(const tarn_task_ctx_t *ctx);

/** tarn_task_num_args() - number of arguments the task was given */
TARN_API size_t tarn_task_num_args(const tarn_task_ctx_t *ctx);

/** tarn_task_num_returns() - number of results the task must set */
TARN_API size_t tarn_task_num_returns(const tarn_task_ctx_t *ctx);

/**
 * tarn_task_arg() - bytes of argument @i
 * @ctx: the running task
 * @i: argument index
 * @data: receives a pointer valid until the task returns (read only; for a
 *        ref argument it points into the object store where the backend
 *        allows: no copy)
 * @len: receives the size in bytes
 *
 * Return: 0, or TARN_EINVAL when @i is out of range.
 */
TARN_API int tarn_task_arg(const tarn_task_ctx_t *ctx, size_t i,
			   const void **data, size_t *len);

/**
 * tarn_task_arg_i64() - argument @i as an int64_t
 *
 * Return: 0, or TARN_EINVAL when @i is out of range or the argument is not
 * 8 bytes long (the message says which task, which argument, what size).
 */
TARN_API int tarn_task_arg_i64(const tarn_task_ctx_t *ctx, size_t i,
			       int64_t *out);

/** tarn_task_arg_f64() - argument @i as a double; errors as for i64 */
TARN_API int tarn_task_arg_f64(const tarn_task_ctx_t *ctx, size_t i,
			       double *out);

/**
 * tarn_task_return() - set result @i to a copy of @len bytes at @data
 *
 * Return: 0; TARN_EINVAL when @i is out of range or already set;
 * TARN_ENOSPC or TARN_ENOMEM when the object store cannot hold it.
 */
TARN_API int tarn_task_return(tarn_task_ctx_t *ctx, size_t i,
			      const void *data, size_t len);

/**
 * tarn_task_return_alloc() - get @len writable bytes that become result @i
 * @ctx: the running task
 * @i: result index
 * @len: size of the result
 * @data: receives memory in the object store itself, where the backend has
 *        one (no copy later); valid until the task returns
 *
 * Errors as for tarn_task_return().
 */
TARN_API int tarn_task_return_alloc(tarn_task_ctx_t *ctx, size_t i,
				    size_t len, void **data);

/** tarn_task_return_i64() - set result @i to one int64_t */
TARN_API int tarn_task_return_i64(tarn_task_ctx_t *ctx, size_t i, int64_t v);

/** tarn_task_return_f64() - set result @i to one double */
TARN_API int tarn_task_return_f64(tarn_task_ctx_t *ctx, size_t i, double v);

/**
 * tarn_task_fail() - describe why the running task fails
 * @ctx: the running task
 * @fmt: printf format of the cause
 *
 * The cause becomes part of the error tarn_get() reports for every result
 * of the task (and of tasks consuming them).
 *
 * Return: TARN_ETASK, so that a task can ``return tarn_task_fail(...)``.
 */
TARN_API int tarn_task_fail(tarn_task_ctx_t *ctx, const char *fmt, ...)
	TARN_PRINTF(2, 3);

/* ------------------------------------------------------------------------ */
/* Objects                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * typedef tarn_object_t - a fetched object: read-only bytes that stay valid
 * until tarn_object_release(), even if the ref is released first, or until
 * tarn_shutdown(), which frees every object (the handle must still be
 * released afterwards; that is safe)
 */
typedef struct tarn_object tarn_object_t;

/**
 * tarn_put() - store a copy of @len bytes at @data as an immutable object
 * @data: the bytes (may be NULL when @len is 0)
 * @len: their number
 * @out: receives a ref holding the object
 *
 * Return: 0, TARN_ENOTINIT, TARN_EINVAL, TARN_ENOSPC when the object store
 * is full, TARN_ENOMEM.
 */
TARN_API int tarn_put(const void *data, size_t len, tarn_ref_t *out);

/**
 * tarn_get() - wait for an object and map or fetch it
 * @ref: the object
 * @timeout: seconds to wait; 0 polls; TARN_FOREVER waits without limit
 * @out: receives the object, to release with tarn_object_release()
 *
 * Zero-copy where the backend allows (seq, procpool's shared store).
 *
 * Return: 0; TARN_ETIMEDOUT; TARN_ETASK when the task producing @ref failed:
 * tarn_last_error() then names the task, the worker (pid or rank and host),
 * the attempt and the cause; TARN_ENOENT for a released or unknown ref;
 * TARN_EINVAL for the null ref or a NULL @out.
 */
TARN_API int tarn_get(tarn_ref_t ref, double timeout, tarn_object_t **out);

/**
 * tarn_get_i64() - tarn_get() of an 8-byte object read as int64_t; errors
 * as tarn_get(), and TARN_EINVAL when the object is not 8 bytes
 */
TARN_API int tarn_get_i64(tarn_ref_t ref, double timeout, int64_t *out);

/** tarn_get_f64() - tarn_get() of an 8-byte object read as double */
TARN_API int tarn_get_f64(tarn_ref_t ref, double timeout, double *out);

/** TARN_HAVE_GET_BATCH - defined when tarn_get_batch(), tarn_get_i64_batch()
 * and tarn_ref_release_batch() exist (0.1.0) */
#define TARN_HAVE_GET_BATCH 1

/**
 * tarn_get_batch() - tarn_get() of @n refs at once
 * @refs: the refs (borrowed)
 * @n: their number (0 does nothing)
 * @timeout: seconds for the whole call, not per ref; 0 polls; TARN_FOREVER
 *           waits without limit
 * @out: caller storage for @n objects; out[i] receives refs[i]'s, to release
 *       with tarn_object_release()
 *
 * The same as @n tarn_get() calls, with the backend's lock and bookkeeping
 * paid once per many refs (backends with ABI 1.2 fetch_batch()).
 *
 * All or nothing: on failure no object is returned and @out holds NULLs.
 *
 * Thread safety: safe from any thread, like tarn_get().
 *
 * Return: 0; the errors of tarn_get() for the first ref that fails (the
 * message names its index), TARN_ETIMEDOUT when some ref is not ready in
 * time; TARN_EINVAL for NULL @refs or @out with @n > 0. On procpool and
 * mpi a released ref fails the call at once with TARN_ENOENT, without
 * waiting for the refs before it.
 */
TARN_API int tarn_get_batch(const tarn_ref_t *refs, size_t n, double timeout,
			    tarn_object_t **out);

/**
 * tarn_get_i64_batch() - tarn_get_i64() of @n refs at once
 * @refs: the refs (borrowed)
 * @n: their number (0 does nothing)
 * @timeout: seconds for the whole call, as tarn_get_batch()
 * @out: caller storage for @n values; out[i] receives refs[i]'s
 *
 * No object handle is made: each value is copied out and its pin given
 * back at once, a few refs at a time. The refs keep their holds (release
 * them with tarn_ref_release_batch()).
 *
 * Thread safety: safe from any thread.
 *
 * Return: 0; the errors of tarn_get_batch(), and TARN_EINVAL (naming the
 * index) when an object is not 8 bytes. On failure the contents of @out are
 * unspecified.
 */
TARN_API int tarn_get_i64_batch(const tarn_ref_t *refs, size_t n,
				double timeout, int64_t *out);

/** tarn_object_data() - the object's bytes (read only); NULL for NULL */
TARN_API const void *tarn_object_data(const tarn_object_t *obj);

/** tarn_object_size() - the object's size in bytes; 0 for NULL */
TARN_API size_t tarn_object_size(const tarn_object_t *obj);

/** tarn_object_release() - give back a fetched object; accepts NULL */
TARN_API void tarn_object_release(tarn_object_t *obj);

/**
 * tarn_wait() - wait until @num_returns of @refs are ready
 * @refs: the refs
 * @n: their number
 * @num_returns: how many must be ready, 0..@n (unidist's num_returns)
 * @timeout: seconds; 0 polls; TARN_FOREVER waits without limit
 * @ready: caller storage for @n flags, or NULL; ready[i] is set when refs[i]
 *         is ready. A failed task's results count as ready.
 *
 * Return: the number of ready refs (>= 0; it may be less than @num_returns
 * when the timeout expired first), TARN_ENOTINIT, TARN_ENOENT for a released
 * or unknown ref, TARN_EINVAL for a null ref or @num_returns > @n.
 */
TARN_API int tarn_wait(const tarn_ref_t *refs, size_t n, size_t num_returns,
		       double timeout, bool *ready);

/** tarn_ref_is_valid() - whether @ref is a ref at all (unidist's is_object_ref) */
TARN_API bool tarn_ref_is_valid(tarn_ref_t ref);

/**
 * tarn_ref_release() - give back the hold @ref carries
 *
 * The object is freed once no holder, pending task or fetched
 * &tarn_object_t needs it. Releasing the null ref does nothing.
 *
 * Return: 0, TARN_ENOTINIT, or TARN_ENOENT when the ref is unknown or was
 * already released (a double release is reported, never a crash).
 */
TARN_API int tarn_ref_release(tarn_ref_t ref);

/**
 * tarn_ref_release_batch() - tarn_ref_release() of @n refs at once
 * @refs: the refs (borrowed); null refs are skipped
 * @n: their number (0 does nothing)
 *
 * Every ref is released, even after one fails, so that a bad ref in an
 * array does not leak the others; backends with ABI 1.2 release_batch()
 * take the lot under one lock.
 *
 * Thread safety: safe from any thread.
 *
 * Return: 0, TARN_ENOTINIT, TARN_EINVAL for NULL @refs with @n > 0, or
 * TARN_ENOENT when a ref is unknown or was already released (the message
 * names the first such index).
 */
TARN_API int tarn_ref_release_batch(const tarn_ref_t *refs, size_t n);

/* ------------------------------------------------------------------------ */
/* Actors                                                                   */
/* ------------------------------------------------------------------------ */

/** typedef tarn_actor_dtor_fn - frees an actor's state when it is killed */
typedef void (*tarn_actor_dtor_fn)(void *self);

/**
 * tarn_actor_register() - register actor class @cls
 * @cls: class name, as task names but without '.' (it separates class and
 *       method in "Class.method")
 * @ctor: runs on the actor's worker with the constructor's arguments; sets
 *        the state with tarn_actor_set_self()
 * @dtor: frees the state on kill or shutdown, or NULL
 *
 * Return: 0, TARN_EINVAL, TARN_EEXIST.
 */
TARN_API int tarn_actor_register(const char *cls, tarn_task_fn ctor,
				 tarn_actor_dtor_fn dtor);

/**
 * tarn_method_register() - register method @method of class @cls
 *
 * Return: 0, TARN_EINVAL, TARN_EEXIST.
 */
TARN_API int tarn_method_register(const char *cls, const char *method,
				  tarn_task_fn fn);

/**
 * TARN_ACTOR() - register an actor class
 * @cls: class name, a C identifier
 * @ctor: a &tarn_task_fn constructor
 * @dtor: a &tarn_actor_dtor_fn, or NULL
 */
#define TARN_ACTOR(cls, ctor, dtor)                                         \
	__attribute__((constructor)) static void tarn_actor_reg_##cls(void) \
	{                                                                   \
		tarn_actor_register(#cls, (ctor), (dtor));                  \
	}

/**
 * TARN_METHOD() - define and register method @method of actor class @cls
 *
 * The body sees ``ctx``; tarn_actor_self(ctx) is the actor's state.
 */
#define TARN_METHOD(cls, method)                                             \
	static int tarn_method_fn_##cls##_##method(tarn_task_ctx_t *ctx);    \
	__attribute__((constructor)) static void                             \
		tarn_method_reg_##cls##_##method(void)                       \
	{                                                                    \
		tarn_method_register(#cls, #method,                          \
				     tarn_method_fn_##cls##_##method);       \
	}                                                                    \
	static int tarn_method_fn_##cls##_##method(                          \
		tarn_task_ctx_t *ctx __attribute__((unused)))

/** tarn_actor_self() - state of the actor running this method, or NULL */
TARN_API void *tarn_actor_self(const tarn_task_ctx_t *ctx);

/** tarn_actor_set_self() - in a constructor: set the actor's state */
TARN_API void tarn_actor_set_self(tarn_task_ctx_t *ctx, void *self);

/**
 * tarn_actor_create() - create an actor of class @cls on some worker
 * @cls: a registered class
 * @args: constructor arguments
 * @nargs: their number
 * @opts: resources for placement (num_cpus, ...), or NULL
 * @out: receives the handle
 *
 * Returns at once. A constructor that fails makes every later call on the
 * actor fail with TARN_ETASK naming the constructor's cause.
 *
 * Return: 0, TARN_ENOTINIT, TARN_ENOENT for an unknown class, TARN_EINVAL,
 * TARN_ENOTSUP when the backend has no actors.
 */
TARN_API int tarn_actor_create(const char *cls, const tarn_arg_t *args,
			       size_t nargs, const tarn_task_opts_t *opts,
			       tarn_actor_t *out);

/**
 * tarn_actor_call() - call @method on @actor; calls run in call order
 *
 * Arguments, options and results as for tarn_remote().
 *
 * Return: 0, TARN_ENOTINIT, TARN_ENOENT for a method the actor's class does
 * not have (checked here for actors created by this process), TARN_EACTOR
 * when the actor was killed, was lost with its worker or never existed,
 * TARN_EINVAL.
 */
TARN_API int tarn_actor_call(tarn_actor_t actor, const char *method,
			     const tarn_arg_t *args, size_t nargs,
			     const tarn_task_opts_t *opts, tarn_ref_t *out_refs);

/**
 * tarn_actor_kill() - destroy @actor after the calls already made
 *
 * Its state's destructor runs on its worker, which is then free for other
 * work. Later calls fail with TARN_EACTOR.
 *
 * Return: 0, TARN_ENOTINIT, TARN_ENOENT for an unknown or killed actor.
 */
TARN_API int tarn_actor_kill(tarn_actor_t actor);

/* ------------------------------------------------------------------------ */
/* Cluster                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * tarn_num_cpus() - CPUs available to tasks across the cluster
 *
 * Return: a count >= 1, or TARN_ENOTINIT.
 */
TARN_API int tarn_num_cpus(void);

/**
 * tarn_get_ip() - IP address of this process's host, as text
 * @buf: caller storage
 * @len: its size (64 bytes is enough)
 *
 * Return: 0, TARN_EINVAL when @buf is too small, TARN_EIO.
 */
TARN_API int tarn_get_ip(char *buf, size_t len);

/**
 * struct tarn_node - one host of the cluster
 * @host: host name
 * @ip: IP address as text
 * @num_cpus: CPUs for tasks on this host
 * @num_gpus: GPUs on this host
 * @memory: bytes of memory on this host
 * @num_workers: worker processes (or ranks) on this host
 */
typedef struct tarn_node {
	char host[256];
	char ip[64];
	uint32_t num_cpus;
	uint32_t num_gpus;
	uint64_t memory;
	uint32_t num_workers;
} tarn_node_t;

/**
 * tarn_cluster_resources() - the cluster's hosts and what they offer
 * @nodes: receives an array to free with tarn_cluster_resources_free()
 * @n: receives its length
 *
 * Return: 0, TARN_ENOTINIT, TARN_ENOMEM.
 */
TARN_API int tarn_cluster_resources(tarn_node_t **nodes, size_t *n);

/** tarn_cluster_resources_free() - free what tarn_cluster_resources() gave */
TARN_API void tarn_cluster_resources_free(tarn_node_t *nodes);

/** tarn_backend_name() - name of the running backend, or NULL when not initialized */
TARN_API const char *tarn_backend_name(void);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/**
 * enum tarn_config_source - where a setting's value came from
 * @TARN_CONFIG_DEFAULT: nobody set it
 * @TARN_CONFIG_FILE: the YAML file (UNIDIST_CONFIG_FILE, SP_CONFIG_FILE or
 *                    ./tarn.yaml)
 * @TARN_CONFIG_ENV: the environment variable
 * @TARN_CONFIG_API: tarn_config_set()
 */
typedef enum tarn_config_source {
	TARN_CONFIG_DEFAULT = 0,
	TARN_CONFIG_FILE = 1,
	TARN_CONFIG_ENV = 2,
	TARN_CONFIG_API = 3,
} tarn_config_source_t;

/**
 * tarn_config_set() - set a setting before tarn_init(), strongest source
 * @name: the setting's name, which is its environment variable
 *        ("UNIDIST_CPUS")
 * @value: the value as text, validated now; NULL removes an earlier
 *         tarn_config_set()
 *
 * Return: 0; TARN_ENOENT for an unknown name (the message suggests the
 * closest one); TARN_ECONFIG for a bad value (it names the value and what
 * is allowed); TARN_EBUSY after tarn_init().
 */
TARN_API int tarn_config_set(const char *name, const char *value);

/**
 * tarn_config_get() - effective value of a setting, as canonical text
 *
 * Before tarn_init() the sources are read at each call; after it the values
 * are those tarn_init() fixed.
 *
 * Return: the value, owned by tarn and valid until the next
 * tarn_config_set(), tarn_config_get() or tarn_init() on any thread; ""
 * for an unset optional setting; NULL for an unknown name or an invalid
 * value (tarn_last_error() says which).
 */
TARN_API const char *tarn_config_get(const char *name);

/**
 * tarn_config_source() - where the value of @name comes from
 *
 * Return: a &enum tarn_config_source, or TARN_ENOENT / TARN_ECONFIG.
 */
TARN_API int tarn_config_source(const char *name);

/**
 * struct tarn_config_info - everything about one setting
 * @name: its name (the environment variable)
 * @type: "string", "bool", "int", "size", "float", "enum", "path" or "list"
 * @default_value: the default, as text ("" when none)
 * @allowed: what is allowed, in words ("1..4096", "seq, procpool, ...")
 * @description: one sentence
 * @value: the effective value as text
 * @source: a &enum tarn_config_source
 * @origin: where exactly: "env", "api", "default" or "FILE:LINE:COLUMN"
 *
 * Strings are owned by tarn and valid until the next configuration call.
 */
typedef struct tarn_config_info {
	const char *name;
	const char *type;
	const char *default_value;
	const char *allowed;
	const char *description;
	const char *value;
	int source;
	const char *origin;
} tarn_config_info_t;

/** tarn_config_count() - number of settings tarn knows */
TARN_API size_t tarn_config_count(void);

/**
 * tarn_config_describe() - describe setting number @index
 * @index: 0..tarn_config_count()-1
 * @out: caller storage
 *
 * Return: 0; TARN_EINVAL for a bad index; TARN_ECONFIG when a source holds
 * an invalid value (@out is still filled, with the default as value).
 */
TARN_API int tarn_config_describe(size_t index, tarn_config_info_t *out);

/**
 * tarn_config_check() - read and validate every source now
 *
 * Return: 0, or TARN_ECONFIG with the first problem in tarn_last_error():
 * "UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)" or
 * "tarn.yaml:3:7: expected a scalar value for UNIDIST_MPI_HOSTS".
 */
TARN_API int tarn_config_check(void);

/* ------------------------------------------------------------------------ */
/* Backends                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * struct tarn_backend_info - one backend plugin as the loader sees it
 * @name: backend name (the file stem)
 * @path: the file
 * @version: the plugin's own version, or "" when it could not be loaded
 * @description: one line from the plugin, or ""
 * @abi_major: ABI major the plugin was built for (0 when unknown)
 * @abi_minor: ABI minor the plugin was built for
 * @caps: TARN_CAP_* bits (see <tarn/backend.h>)
 * @loadable: whether every loader check passed
 * @available: whether the plugin's query says it can run here
 * @reason: why not loadable or not available (one line), or ""
 *
 * Strings are owned by the list they came in.
 */
typedef struct tarn_backend_info {
	const char *name;
	const char *path;
	const char *version;
	const char *description;
	uint32_t abi_major;
	uint32_t abi_minor;
	uint64_t caps;
	bool loadable;
	bool available;
	const char *reason;
} tarn_backend_info_t;

/**
 * tarn_backend_list() - every backend plugin the loader can find
 * @out: receives an array to free with tarn_backend_list_free()
 * @n: receives its length
 *
 * Looks in UNIDIST_PLUGIN_PATH, then the build tree (when libtarn runs from
 * it), then the install directory. Each plugin is opened, checked and
 * queried, not started. One entry per name, sorted by name: the file that
 * name would load (a copy shadowed by an earlier folder cannot be selected
 * by name and is left out). A refused plugin is listed with loadable false
 * and the refusal as @reason. Works before tarn_init(), and leaves the
 * caller's tarn_last_error() alone.
 *
 * Return: 0, TARN_ENOMEM.
 */
TARN_API int tarn_backend_list(tarn_backend_info_t **out, size_t *n);

/** tarn_backend_list_free() - free a list from tarn_backend_list() */
TARN_API void tarn_backend_list_free(tarn_backend_info_t *list, size_t n);

/**
 * tarn_backend_cap_name() - name of one capability bit (TARN_CAP_* in
 * <tarn/backend.h>), such as "actors"; NULL for a bit with no name
 */
TARN_API const char *tarn_backend_cap_name(uint64_t bit);

#ifdef __cplusplus
}
#endif

#endif /* TARN_TARN_H */
