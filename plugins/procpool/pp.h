/* SPDX-License-Identifier: MIT */
/*
 * procpool's private structures: the shared control region, the messages
 * that cross the rings, and the two halves of the backend (driver, worker).
 *
 * Processes: one driver (the program that called tarn_init) and N workers,
 * each a fresh execution of the same program with TARN_WORKER set in its
 * environment, so that they start with no inherited threads or locks and can
 * get another malloc through LD_PRELOAD.
 *
 * Memory: two memfds, inherited by the workers. The control region holds,
 * per worker slot, a doorbell, the id of the running task and two rings
 * (driver -> worker, worker -> driver). The store region holds objects
 * larger than UNIDIST_PROCPOOL_INLINE_MAX, written once and mapped by every
 * process (zero-copy); smaller objects travel inside messages. A memfd has
 * no name: when the last process holding it dies, even by SIGKILL, the
 * memory is gone, and nothing is ever left in /dev/shm.
 *
 * Ownership: the driver is the only one that allocates store blocks, keeps
 * the object table (holds, pins, waiting tasks) and schedules. A worker asks
 * for what it needs by message, so a worker killed at any instant cannot
 * corrupt shared bookkeeping.
 */
#ifndef TARN_PROCPOOL_PP_H
#define TARN_PROCPOOL_PP_H

#include <glib.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <tarn/backend.h>

#include "shm.h"

#define PP_MAGIC 0x7470706cu /* "lppt" */
#define PP_VERSION 3
#define PP_MAX_WORKERS 256
#define PP_RING_BYTES (1u << 20)
#define PP_STORE_ALIGN 64
/* Workers dying before they serve, in a row, before the pool gives up. */
#define PP_MAX_START_FAILURES 3
/* Tasks a blocked worker may run on top of each other. */
#define PP_MAX_NESTING 1024
/* No store block: the bytes are inline in the message. */
#define PP_INLINE UINT64_MAX
/* Environment of a worker: "slot,origin,ctlfd,storefd,driver_pid,nworkers,inline_max". */
#define PP_ENV "TARN_PROCPOOL_WORKER"

/* Shared control region --------------------------------------------------- */

struct pp_slot {
	struct pp_doorbell bell; /* the worker sleeps on it */
	/* The task the worker runs now (seq 0: none), and since when. */
	_Alignas(PP_CACHELINE) _Atomic uint64_t run_origin;
	_Atomic uint64_t run_seq;
	_Atomic uint64_t run_since_ns;
	_Atomic uint32_t ready; /* set by the worker once it serves */
	/*
	 * The CPU the worker last polled on (-1: unknown): the driver prefers
	 * an idle worker on another CPU than its own, since two processes
	 * sharing a CPU must take turns for every message.
	 */
	_Atomic int32_t cpu;
	uint64_t in_off;  /* driver -> worker ring, offset in the region */
	uint64_t out_off; /* worker -> driver ring */
};

struct pp_control {
	uint32_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t pad_;
	uint64_t size;
	/* Threads of the driver inside submit, fetch or wait sleep on it. */
	struct pp_doorbell driver_bell;
	/*
	 * The driver's progress thread sleeps on this one, which a worker
	 * rings only when no driver thread is inside tarn (@callers is 0):
	 * a thread inside drains the rings itself, and waking the progress
	 * thread too cost the worker a futex call (~15 us here) on every
	 * round trip after an idle spell. The last caller to leave rings it
	 * when it leaves messages behind (see caller_leave() in driver.c).
	 */
	struct pp_doorbell progress_bell;
	_Alignas(PP_CACHELINE) _Atomic uint32_t callers;
	struct pp_slot slots[];
};

/* Messages ------------------------------------------------------------------ */

enum pp_msg {
	/* driver -> worker */
	M_TASK = 1,
	M_FETCH_REPLY,
	M_ALLOC_REPLY,
	M_WAIT_REPLY,
	M_KILL_ACTOR,
	M_LOAD,
	M_EXIT,
	/* worker -> driver */
	M_SEAL = 32,
	M_DONE,
	M_ALLOC,
	M_FETCH,
	M_UNPIN,
	M_SUBMIT,
	M_RELEASE,
	M_WAIT,
	M_ACTOR_KILL_REQ,
	M_LOAD_REQ,
};

/* Where an object's bytes are: in the store at @off, or inline after the record. */
struct m_obj {
	tarn_ref_t ref;
	int32_t status; /* 0, or TARN_ENOENT / TARN_ETIMEDOUT for fetch replies */
	uint32_t flags;
	uint64_t len;
	uint64_t off; /* PP_INLINE: @len bytes follow, padded to 8 */
};

/*
 * Result groups. A task with many results (a group of batched calls) gets
 * one store block of these slots, one per result, instead of a driver
 * record and a seal message per result: its worker writes a small result
 * (up to 16 bytes) into its slot and publishes it with one store of
 * @state, and the driver's get reads it there. A result that needs more
 * than a slot (larger bytes, an object the driver must track) takes the
 * usual path, and the driver then keeps a record of its own for it
 * ("promotes" it; see driver.c).
 *
 * @state is @epoch << 2 | PP_GS_*: a block is not cleared when it is
 * reused, so a state from an earlier group never matches, since each
 * group has an epoch of its own (64 bits: it does not wrap).
 */
#define PP_GS_WANTED 1u /* the driver keeps a record: seal by message */
#define PP_GS_SEALED 2u /* the bytes are final */
#define PP_GROUP_MIN 16  /* results in a task before it gets a group */
#define PP_GROUP_MAX 256 /* and at most */

struct pp_gslot {
	_Atomic uint64_t state;
	uint32_t len;
	uint32_t flags;
	_Alignas(8) unsigned char data[16];
};

_Static_assert(sizeof(struct pp_gslot) == 32, "struct pp_gslot: two to a cache line");

struct m_task {
	tarn_ref_t id;
	tarn_actor_t actor;
	uint32_t kind;
	uint32_t attempt;
	uint32_t ndeps;
	uint32_t group_n; /* results with a slot in the group block; 0: none */
	uint64_t payload_len;
	uint64_t payload_off; /* PP_INLINE: the payload follows the deps */
	/* The group: refs {group_first.origin, group_first.seq + i} for i < group_n. */
	tarn_ref_t group_first;
	uint64_t group_off;
	uint64_t group_epoch;
	/*
	 * Results: with one, its seal is the task's last act (a batch of
	 * calls has one per call, each sealed as its call ends).
	 */
	uint32_t nreturns;
	uint32_t pad_;
	/* then ndeps x (struct m_obj [+ inline bytes]) then the payload */
};

struct m_done {
	tarn_ref_t id;
	tarn_task_report_t report;
	uint32_t group_sealed; /* results of the group this attempt sealed */
	/*
	 * 1: the seal of the task's last small result follows, a struct
	 * m_obj and its padded inline bytes (the worker held it back).
	 */
	uint32_t held;
};

struct m_req {
	uint64_t req;
	tarn_ref_t ref;
	uint64_t len;   /* M_ALLOC: bytes wanted */
	uint32_t flags; /* M_ALLOC: object flags */
	uint32_t pad_;
	double timeout; /* M_FETCH */
};

struct m_alloc_reply {
	uint64_t req;
	int32_t status;
	uint32_t pad_;
	uint64_t off;
};

struct m_fetch_reply {
	uint64_t req;
	struct m_obj obj; /* inline bytes follow */
};

struct m_wait {
	uint64_t req;
	uint64_t n;
	/* then n refs */
};

struct m_wait_reply {
	uint64_t req;
	int32_t status;
	uint32_t count;
	/* then n bytes of ready flags */
};

struct m_submit {
	tarn_ref_t id;
	tarn_actor_t actor;
	uint32_t kind;
	uint32_t max_retries;
	uint32_t retry_on_error;
	uint32_t ndeps;
	uint32_t nreturns;
	uint32_t name_len;
	double timeout;
	double num_cpus;
	double num_gpus;
	uint64_t memory;
	uint64_t payload_len;
	/* then ndeps refs, nreturns refs, name (padded to 8), payload */
};

static inline size_t pp_pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The plugin instance --------------------------------------------------------- */

struct pp_driver;
struct pp_worker;

struct tarn_backend {
	const tarn_host_services_t *host;
	bool is_driver;
	struct pp_driver *d;
	struct pp_worker *w;
};

/* driver.c */
int pp_driver_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		   struct tarn_backend *be);
int pp_driver_close(struct tarn_backend *be);
int pp_driver_submit(struct tarn_backend *be, const tarn_task_desc_t *t);
int pp_driver_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n);
int pp_driver_create(struct tarn_backend *be, tarn_ref_t ref, size_t len,
		     uint32_t flags, void **data);
int pp_driver_seal(struct tarn_backend *be, tarn_ref_t ref);
int pp_driver_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view);
void pp_driver_unpin(struct tarn_backend *be, tarn_obj_view_t *view);
int pp_driver_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready);
int pp_driver_release(struct tarn_backend *be, tarn_ref_t ref);
int pp_driver_fetch_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			  double timeout, tarn_obj_view_t *views, size_t *failed);
void pp_driver_unpin_batch(struct tarn_backend *be, tarn_obj_view_t *views, size_t n);
int pp_driver_release_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			    size_t *failed);
int pp_driver_load_library(struct tarn_backend *be, const char *path);
int pp_driver_actor_create(struct tarn_backend *be, const tarn_task_desc_t *ctor);
int pp_driver_actor_kill(struct tarn_backend *be, tarn_actor_t actor);
uint32_t pp_driver_nworkers(struct tarn_backend *be);

/* worker.c */
int pp_worker_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		   struct tarn_backend *be, const char *env);
int pp_worker_close(struct tarn_backend *be);
int pp_worker_loop(struct tarn_backend *be);
int pp_worker_submit(struct tarn_backend *be, const tarn_task_desc_t *t);
int pp_worker_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n);
int pp_worker_create(struct tarn_backend *be, tarn_ref_t ref, size_t len,
		     uint32_t flags, void **data);
int pp_worker_seal(struct tarn_backend *be, tarn_ref_t ref);
int pp_worker_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view);
void pp_worker_unpin(struct tarn_backend *be, tarn_obj_view_t *view);
int pp_worker_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready);
int pp_worker_release(struct tarn_backend *be, tarn_ref_t ref);
int pp_worker_load_library(struct tarn_backend *be, const char *path);
int pp_worker_actor_kill(struct tarn_backend *be, tarn_actor_t actor);
uint32_t pp_worker_nworkers(struct tarn_backend *be);

/* procpool.c: shared helpers */
void pp_log(const tarn_host_services_t *host, int level, const char *fmt, ...)
	TARN_PRINTF(3, 4);
uint64_t pp_now_ns(void);
/*
 * Wait for room in @r and write one message; spins, then yields. False only
 * for a message larger than the ring can ever carry.
 */
bool pp_send(struct pp_ring *r, struct pp_doorbell *bell, uint32_t type,
	     const void *a, size_t alen, const void *b, size_t blen);
/* Map @fd's @size bytes shared; NULL on failure. */
void *pp_map(int fd, size_t size);
static inline struct pp_ring *pp_ring_at(struct pp_control *c, uint64_t off)
{
	return (struct pp_ring *)((char *)c + off);
}
size_t pp_control_size(uint32_t nslots);
guint pp_ref_hash(gconstpointer p);
gboolean pp_ref_equal(gconstpointer a, gconstpointer b);

#endif /* TARN_PROCPOOL_PP_H */
