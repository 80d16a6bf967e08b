/* SPDX-License-Identifier: MIT */
/**
 * DOC: tarn backend plugin ABI (the plugin SDK)
 *
 * A backend is a shared object that exports one symbol,
 * ``tarn_backend_entry``, a function taking no arguments and returning a
 * pointer to a ``static const`` &struct tarn_backend_desc. This header (and
 * the public headers it includes) is all a plugin may see: nothing from
 * core/src, planner/ or config/, and no glib, MPI or libyaml type crosses
 * it.
 *
 * Division of labour. The host (libtarn) owns task semantics: it encodes a
 * task call into an opaque payload, and on whatever process the backend
 * chooses, host->run_task() decodes it, looks the function up, fetches the
 * arguments through the backend, calls the function, catches its error,
 * enforces the soft time limit, retries application errors when asked, and
 * stores the results through the backend. The backend owns placement and
 * bytes: where a task runs, when its dependencies are ready, how payloads
 * and objects move, where objects live, when they are freed, and what
 * happens when a worker dies (it asks host->task_lost() what to do).
 *
 * Versioning. &struct tarn_backend_desc and &struct tarn_host_services are
 * append-only tables with a version and a size. A new minor version only
 * appends fields; a plugin built for 1.0 runs on a 1.3 host (the host sees
 * its smaller @size and treats the later functions as absent), and a plugin
 * built for 1.3 runs on a 1.0 host (the host reads only the prefix it
 * knows). A different major is refused. docs/plugin-abi.md keeps the
 * history.
 *
 * Loading. The loader dlopen()s the file with RTLD_NOW | RTLD_LOCAL and
 * checks, in this order, refusing with one line that names the file, what
 * it expected and what it found: the entry symbol exists and returns a
 * descriptor; @abi_major equals TARN_BACKEND_ABI_MAJOR; @size covers the
 * 1.0 prefix; @name equals the file stem; every mandatory function is
 * non-NULL (including those a capability bit makes mandatory). Then query()
 * may decline with a reason the user sees.
 *
 * Threads. Except for open(), close() and worker_loop(), every function may
 * be called from several threads at once, and re-entrantly from inside a
 * host->run_task() the backend itself started (a task that submits tasks
 * or fetches objects). Every host service may be called from any thread.
 *
 * Errors. Functions return 0 or a negative TARN_E* code from
 * <tarn/errors.h> and describe the failure with host->log() at
 * TARN_LOG_ERROR or with the @reason buffers they are given.
 */
#ifndef TARN_BACKEND_H
#define TARN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tarn/errors.h>
#include <tarn/tarn.h>

#ifdef __cplusplus
extern "C" {
#endif

/** TARN_BACKEND_ABI_MAJOR - plugins must be built for this major */
#define TARN_BACKEND_ABI_MAJOR 1
/** TARN_BACKEND_ABI_MINOR - the newest minor this header describes */
#define TARN_BACKEND_ABI_MINOR 2

/** TARN_BACKEND_ENTRY - name of the one symbol a plugin exports */
#define TARN_BACKEND_ENTRY "tarn_backend_entry"

/* Opaque handles: a plugin's instance, and the host's context. */
typedef struct tarn_backend tarn_backend_t;
typedef struct tarn_host tarn_host_t;

/**
 * DOC: capability bits (&struct tarn_backend_desc.caps)
 *
 * TARN_CAP_MULTI_PROCESS - tasks run in other processes; worker_loop() and
 *                          load_library() become mandatory
 * TARN_CAP_MULTI_NODE    - workers may be on other hosts
 * TARN_CAP_ACTORS        - actors are supported; actor_create() and
 *                          actor_kill() become mandatory
 * TARN_CAP_ZERO_COPY     - fetch() maps objects in place, no copy
 * TARN_CAP_SPAWN         - the backend starts its own workers
 * TARN_CAP_PREEMPT       - a task past its timeout is stopped, not just
 *                          reported when it returns
 * TARN_CAP_FAULT_TOLERANT - dead workers are detected and their tasks
 *                          handed to host->task_lost()
 * TARN_CAP_DETERMINISTIC - each thread's tasks run inside the call that
 *                          submitted them, in submission order
 */
#define TARN_CAP_MULTI_PROCESS (UINT64_C(1) << 0)
#define TARN_CAP_MULTI_NODE (UINT64_C(1) << 1)
#define TARN_CAP_ACTORS (UINT64_C(1) << 2)
#define TARN_CAP_ZERO_COPY (UINT64_C(1) << 3)
#define TARN_CAP_SPAWN (UINT64_C(1) << 4)
#define TARN_CAP_PREEMPT (UINT64_C(1) << 5)
#define TARN_CAP_FAULT_TOLERANT (UINT64_C(1) << 6)
#define TARN_CAP_DETERMINISTIC (UINT64_C(1) << 7)

/** TARN_OBJ_ERROR - object flag: the bytes are a task error message */
#define TARN_OBJ_ERROR (UINT32_C(1) << 0)

/** enum tarn_log_level - levels of host->log() */
enum tarn_log_level {
	TARN_LOG_ERROR = 0,
	TARN_LOG_WARNING = 1,
	TARN_LOG_INFO = 2,
	TARN_LOG_DEBUG = 3,
};

/** enum tarn_role - what this process is, as open() decides */
enum tarn_role {
	TARN_ROLE_DRIVER = 1, /* tarn_init() returns to the program */
	TARN_ROLE_WORKER = 2, /* tarn_init() runs worker_loop() and exits */
};

/** enum tarn_task_kind - what a &struct tarn_task_desc asks for */
enum tarn_task_kind {
	TARN_TASK_PLAIN = 1,        /* a task function */
	TARN_TASK_ACTOR_CREATE = 2, /* an actor's constructor (actor_create) */
	TARN_TASK_ACTOR_CALL = 3,   /* a method; must run on the actor's worker, in order */
};

/**
 * struct tarn_task_desc - one attempt of a task, as the backend sees it
 * @size: sizeof this struct as the host compiled it (fields get appended)
 * @id: the task's unique id (minted like a ref)
 * @kind: an &enum tarn_task_kind
 * @name: task, "Class" or "Class.method" name, for logs and messages
 * @actor: the actor, for ACTOR_CREATE and ACTOR_CALL
 * @attempt: 1 for the first attempt
 * @max_retries: retries allowed after a crash (resolved, never negative)
 * @retry_on_error: whether a timeout (and an application error) may be
 *                  retried too
 * @timeout: wall-clock limit in seconds, 0 for none
 * @num_cpus: CPUs needed
 * @num_gpus: GPUs needed
 * @memory: bytes needed, 0 when not stated
 * @resources: custom resources
 * @num_resources: entries in @resources
 * @deps: objects the task reads; do not start it before they all exist
 * @num_deps: entries in @deps
 * @returns: the refs the task's results will have; they exist (as values
 *           or as error objects) once the task has run or been given up
 * @num_returns: entries in @returns
 * @payload: opaque bytes for host->run_task() on the chosen process
 * @payload_len: their size
 *
 * Everything is borrowed for the duration of the call that passes it: copy
 * what you keep.
 */
typedef struct tarn_task_desc {
	size_t size;
	tarn_ref_t id;
	uint32_t kind;
	const char *name;
	tarn_actor_t actor;
	uint32_t attempt;
	uint32_t max_retries;
	bool retry_on_error;
	double timeout;
	double num_cpus;
	double num_gpus;
	uint64_t memory;
	const tarn_resource_t *resources;
	size_t num_resources;
	const tarn_ref_t *deps;
	size_t num_deps;
	const tarn_ref_t *returns;
	size_t num_returns;
	const void *payload;
	size_t payload_len;
} tarn_task_desc_t;

/**
 * struct tarn_obj_view - an object as fetch() hands it out
 * @data: the bytes, read only, valid until unpin()
 * @len: their number
 * @flags: TARN_OBJ_* flags given to create()
 * @token: the backend's, for unpin()
 */
typedef struct tarn_obj_view {
	const void *data;
	size_t len;
	uint32_t flags;
	void *token;
} tarn_obj_view_t;

/**
 * struct tarn_task_report - how one attempt went, from host->run_task()
 * @size: set by the backend that owns the storage to the sizeof it was
 *        compiled with; the host writes only the fields @size covers
 * @status: 0 when the task succeeded; TARN_ETASK when it failed (its
 *          results are error objects already); another TARN_E* when the
 *          payload could not even be run (results are error objects too)
 * @attempt: the attempt that produced the results (application errors may
 *           have been retried in place)
 * @start_ns: CLOCK_MONOTONIC start, in nanoseconds
 * @end_ns: CLOCK_MONOTONIC end
 * @bytes_in: bytes of arguments read
 * @bytes_out: bytes of results written
 */
typedef struct tarn_task_report {
	size_t size;
	int status;
	uint32_t attempt;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t bytes_in;
	uint64_t bytes_out;
} tarn_task_report_t;

/**
 * enum tarn_failure_kind - why an attempt did not finish
 * @TARN_FAIL_CRASHED: the worker died (signal or exit) while running it
 * @TARN_FAIL_TIMEOUT: the backend stopped it at its time limit
 * @TARN_FAIL_LOST: the worker became unreachable (heartbeat, network)
 */
enum tarn_failure_kind {
	TARN_FAIL_CRASHED = 1,
	TARN_FAIL_TIMEOUT = 2,
	TARN_FAIL_LOST = 3,
};

/**
 * struct tarn_failure - what the backend knows about a lost attempt
 * @size: sizeof as compiled by the backend
 * @kind: an &enum tarn_failure_kind
 * @signal: the signal that killed the worker, or 0
 * @exit_status: its exit status when it exited, or -1
 * @worker: the lost worker as people say it, with its pid and host (the
 *          host cannot add them for another process):
 *          "worker 3 (pid 4242 on host1)"
 * @detail: anything else worth saying, or NULL
 */
typedef struct tarn_failure {
	size_t size;
	int kind;
	int signal;
	int exit_status;
	const char *worker;
	const char *detail;
} tarn_failure_t;

/** TARN_RETRY - host->task_lost() answer: submit the task again */
#define TARN_RETRY 1

/**
 * struct tarn_open_info - what the host and open() tell each other
 * @size: sizeof as compiled by the host; the plugin reads and fills only
 *        fields that @size covers
 * @argc: in: main()'s argc as given to tarn_init(), or NULL (for MPI_Init)
 * @argv: in: main()'s argv as given to tarn_init(), or NULL
 * @role: out: an &enum tarn_role
 * @origin: out: unique number of this process in the cluster, used in every
 *          ref and actor id it mints; the driver is 0
 * @worker: out: this process as people say it, without pid or host (the
 *          host adds them): "worker 2", "rank 3", "seq"
 */
typedef struct tarn_open_info {
	size_t size;
	int *argc;
	char ***argv;
	int role;
	uint64_t origin;
	char worker[96];
} tarn_open_info_t;

/**
 * struct tarn_host_services - what the host offers a plugin
 * @abi_major: TARN_BACKEND_ABI_MAJOR of the host
 * @abi_minor: TARN_BACKEND_ABI_MINOR of the host
 * @size: sizeof this struct in the host; check it covers a service before
 *        calling one added after 1.0
 * @host: pass it back to every service
 * @config_get: effective value of a setting as canonical text ("" when
 *              unset), or NULL for an unknown name; valid while the host
 *              lives. Settings are validated before the plugin is opened.
 * @log: one message (no newline) at an &enum tarn_log_level
 * @run_task: run one task payload here: decode, fetch the arguments through
 *            this backend, call, store results (values or error objects)
 *            through this backend's create()/seal(); fills @report. Returns
 *            @report->status. Blocks for as long as the task runs.
 * @task_lost: an attempt of @task died with its worker or was stopped.
 *             Returns TARN_RETRY when the backend must submit it again
 *             (with attempt + 1), or 0 when the host has given up and
 *             stored error objects for every return through this backend.
 * @task_done: tell the submitting process's host that an attempt finished
 *             (metrics, trace); optional for the backend to call
 * @actor_destroy: run the destructor of @actor's state in this process
 * @now_ns: CLOCK_MONOTONIC in nanoseconds
 * @self_exe: path of the running program, for backends that start workers
 *            by executing it again
 * @set_error: set the calling thread's tarn_last_error() detail, for the
 *             error code the plugin is about to return ("UNIDIST_MPI_HOSTS
 *             names host 'x', which does not resolve"); one line
 */
typedef struct tarn_host_services {
	uint32_t abi_major;
	uint32_t abi_minor;
	size_t size;
	tarn_host_t *host;

	const char *(*config_get)(tarn_host_t *host, const char *name);
	void (*log)(tarn_host_t *host, int level, const char *msg);
	int (*run_task)(tarn_host_t *host, const void *payload, size_t len,
			uint32_t attempt, tarn_task_report_t *report);
	int (*task_lost)(tarn_host_t *host, const tarn_task_desc_t *task,
			 const tarn_failure_t *why);
	void (*task_done)(tarn_host_t *host, const tarn_task_desc_t *task,
			  const tarn_task_report_t *report);
	void (*actor_destroy)(tarn_host_t *host, tarn_actor_t actor);
	uint64_t (*now_ns)(void);
	const char *(*self_exe)(tarn_host_t *host);
	void (*set_error)(tarn_host_t *host, const char *msg);
} tarn_host_services_t;

/**
 * struct tarn_backend_desc - a plugin's descriptor (ABI 1.0 to 1.2)
 * @abi_major: TARN_BACKEND_ABI_MAJOR the plugin was built with
 * @abi_minor: TARN_BACKEND_ABI_MINOR the plugin was built with
 * @size: sizeof(struct tarn_backend_desc) as the plugin was built
 * @name: must equal the file stem ("seq" for seq.so)
 * @version: the plugin's own version
 * @description: one line for ``tarn plugins``
 * @caps: TARN_CAP_* bits
 *
 * @query: can this backend run here? 0 yes; TARN_EUNAVAIL with a one-line
 *         @reason ("not started by mpiexec and spawn is off") when not.
 *         Must not start anything. Mandatory.
 * @open: start (driver) or join (worker) the cluster; fill @info; return
 *        the instance in @out. On failure nothing may be left running and
 *        the reason goes to host->log(). Mandatory.
 * @close: stop workers (driver) and free everything; the instance is gone
 *         afterwards even when it returns an error. Mandatory.
 * @submit: run @task once its deps exist, on a process of the backend's
 *          choosing, by calling host->run_task() there with its payload.
 *          For ACTOR_CALL, on the actor's process after earlier calls.
 *          Keep the deps fetchable until the task has run, even when their
 *          holders release them meanwhile. Return TARN_EACTOR for a killed
 *          or lost actor. Mandatory.
 * @create: make a writable object @ref of @len bytes; *@data receives its
 *          memory (in the store itself for zero-copy backends). Calling it
 *          again for a ref that is created but not sealed discards the
 *          earlier buffer (a failed attempt's partial results are replaced
 *          by the retry's, or by error objects). TARN_EEXIST for a sealed
 *          ref. Mandatory.
 * @seal: make @ref immutable and visible to fetch()/wait() everywhere.
 *        Holds: a ref listed in a submitted task's @returns got its one
 *        hold (the submitter's) at submit(); any other ref (tarn_put) gets
 *        one hold for the process that created it. Mandatory.
 * @fetch: wait up to @timeout seconds (TARN_FOREVER: no limit) for @ref
 *         and pin a view of it. TARN_ETIMEDOUT, TARN_ENOENT. Mandatory.
 * @unpin: give back a view from fetch(). Mandatory.
 * @wait: wait until @num_returns of @refs exist (or @timeout); set
 *        @ready[i] (never NULL); return how many are ready. An error object
 *        is ready. Mandatory.
 * @release: this process drops the hold @ref carried; free the object
 *           cluster-wide when no holder, pending task or view remains.
 *           TARN_ENOENT for an unknown or already released ref. Mandatory.
 * @cluster_info: fill up to @cap entries of @nodes and set *@n to the
 *                number of nodes (which may exceed @cap: the host calls
 *                again with more room). Mandatory.
 *
 * @worker_loop: on a TARN_ROLE_WORKER process, run tasks until the
 *               cluster shuts down; then return 0 (the host calls close()
 *               and exits). Mandatory with TARN_CAP_MULTI_PROCESS.
 * @load_library: dlopen @path in every worker process, now and in workers
 *                started later (the host has loaded it here already).
 *                Mandatory with TARN_CAP_MULTI_PROCESS.
 * @actor_create: place a new actor (@ctor->actor) on a worker and run its
 *                constructor there through host->run_task(). When that
 *                worker dies, the actor is lost: its pending calls go to
 *                host->task_lost() and later calls get TARN_EACTOR.
 *                Mandatory with TARN_CAP_ACTORS.
 * @actor_kill: after the calls already submitted, call
 *              host->actor_destroy() on the actor's process and forget
 *              the actor. Mandatory with TARN_CAP_ACTORS.
 * @put: optional fast path for create + copy + seal.
 * @submit_batch: (ABI 1.1) optional: submit() for each of @tasks[0..@n),
 *                in order, as one operation: all are accepted (0) or none
 *                is (an error, as submit() would return). Plain tasks
 *                only. Without it the host calls submit() @n times.
 * @fetch_batch: (ABI 1.2) optional: fetch() of @refs[0..@n) into
 *               @views[0..@n), with one @timeout for them all (from the
 *               call, not per ref). All or nothing: on failure no view
 *               stays pinned, *@failed is the index of the ref that failed
 *               and the return is fetch()'s error for it. A ref that is
 *               unknown or released should fail the batch at once
 *               (TARN_ENOENT), before any wait for the others. Error
 *               objects are views like any other. Without it the host
 *               calls fetch() @n times.
 * @unpin_batch: (ABI 1.2) optional: unpin() of @views[0..@n). Without it
 *               the host calls unpin() @n times.
 * @release_batch: (ABI 1.2) optional: release() of each valid ref of
 *                 @refs[0..@n) (null refs are skipped). Every ref is
 *                 handled even after a failure; the return is the first
 *                 failure's error, with *@failed its index. Without it the
 *                 host calls release() @n times.
 */
typedef struct tarn_backend_desc {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t size;
	uint32_t reserved;
	const char *name;
	const char *version;
	const char *description;
	uint64_t caps;

	/* ABI 1.0: always mandatory */
	int (*query)(const tarn_host_services_t *host, char *reason,
		     size_t reason_len);
	int (*open)(const tarn_host_services_t *host, tarn_open_info_t *info,
		    tarn_backend_t **out);
	int (*close)(tarn_backend_t *be);
	int (*submit)(tarn_backend_t *be, const tarn_task_desc_t *task);
	int (*create)(tarn_backend_t *be, tarn_ref_t ref, size_t len,
		      uint32_t flags, void **data);
	int (*seal)(tarn_backend_t *be, tarn_ref_t ref);
	int (*fetch)(tarn_backend_t *be, tarn_ref_t ref, double timeout,
		     tarn_obj_view_t *view);
	void (*unpin)(tarn_backend_t *be, tarn_obj_view_t *view);
	int (*wait)(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
		    size_t num_returns, double timeout, bool *ready);
	int (*release)(tarn_backend_t *be, tarn_ref_t ref);
	int (*cluster_info)(tarn_backend_t *be, tarn_node_t *nodes, size_t cap,
			    size_t *n);

	/* ABI 1.0: mandatory with a capability */
	int (*worker_loop)(tarn_backend_t *be);
	int (*load_library)(tarn_backend_t *be, const char *path);
	int (*actor_create)(tarn_backend_t *be, const tarn_task_desc_t *ctor);
	int (*actor_kill)(tarn_backend_t *be, tarn_actor_t actor);

	/* ABI 1.0: optional */
	int (*put)(tarn_backend_t *be, tarn_ref_t ref, const void *data,
		   size_t len, uint32_t flags);

	/* ABI 1.1: optional */
	int (*submit_batch)(tarn_backend_t *be, const tarn_task_desc_t *tasks,
			    size_t n);

	/* ABI 1.2: optional */
	int (*fetch_batch)(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			   double timeout, tarn_obj_view_t *views,
			   size_t *failed);
	void (*unpin_batch)(tarn_backend_t *be, tarn_obj_view_t *views,
			    size_t n);
	int (*release_batch)(tarn_backend_t *be, const tarn_ref_t *refs,
			     size_t n, size_t *failed);

	/* Later minors append here. */
} tarn_backend_desc_t;

/**
 * TARN_BACKEND_DESC_V1_0_SIZE - bytes of the 1.0 descriptor; a plugin's
 * @size must be at least this
 */
#define TARN_BACKEND_DESC_V1_0_SIZE                                          \
	(offsetof(tarn_backend_desc_t, put) + sizeof(void (*)(void)))

/** TARN_BACKEND_DESC_V1_1_SIZE - bytes of the 1.1 descriptor */
#define TARN_BACKEND_DESC_V1_1_SIZE                                          \
	(offsetof(tarn_backend_desc_t, submit_batch) + sizeof(void (*)(void)))

/** TARN_BACKEND_DESC_V1_2_SIZE - bytes of the 1.2 descriptor */
#define TARN_BACKEND_DESC_V1_2_SIZE                                          \
	(offsetof(tarn_backend_desc_t, release_batch) + sizeof(void (*)(void)))

/** typedef tarn_backend_entry_fn - type of the ``tarn_backend_entry`` symbol */
typedef const tarn_backend_desc_t *(*tarn_backend_entry_fn)(void);

/**
 * TARN_BACKEND_EXPORT - mark the entry function exported even when the
 * plugin is built with -fvisibility=hidden
 */
#define TARN_BACKEND_EXPORT __attribute__((visibility("default")))

/**
 * tarn_backend_entry() - the one symbol a plugin defines and exports
 *
 * Return: the plugin's static descriptor; never NULL. Called once per load,
 * before anything else, from any thread.
 */
TARN_BACKEND_EXPORT const tarn_backend_desc_t *tarn_backend_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* TARN_BACKEND_H */
