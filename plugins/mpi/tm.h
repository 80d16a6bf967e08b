/* SPDX-License-Identifier: MIT */
/*
 * The mpi backend's private structures and its wire protocol.
 *
 * Ranks (unidist's layout): rank 0 is the driver (tarn_init returns there),
 * rank 1 the monitor, ranks 2..N-1 workers. In SPMD mode they are
 * MPI_COMM_WORLD as mpiexec started it; in spawn mode the driver is alone
 * in its world and spawns the others with MPI_Comm_spawn, and both sides
 * merge the intercommunicator so that the numbering is the same.
 *
 * Threads: after MPI_Init, MPI calls are made by whichever thread holds
 * the progress token (be->progressing), one at a time, so
 * MPI_THREAD_SERIALIZED is enough: it sends what threads queued, receives,
 * and runs the message handlers. A thread that waits for an answer (an API
 * call on the driver, the task thread on a worker) takes the token and
 * drives progress itself while messages flow; once things are quiet it
 * sleeps on a condition and each rank's comm thread polls and wakes it.
 * One mutex (be->lock) guards the tables; it is never held while calling
 * a host service that can call back into the backend, nor while driving.
 *
 * Objects: the driver keeps a directory of every live object (owner rank,
 * size, holds, pins) and is the only one to decide that an object is
 * freed; the owner keeps the bytes. Objects up to TM_INLINE_MAX bytes
 * travel with the message that seals them and are served from the
 * directory (as a task's payload is); larger ones stay on the rank that
 * made them and are fetched from it directly, peer to peer.
 */
#ifndef TARN_MPI_TM_H
#define TARN_MPI_TM_H

#include <glib.h>
#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>

#include <tarn/backend.h>

#define TM_DRIVER 0
#define TM_MONITOR 1
#define TM_FIRST_WORKER 2
/* Objects up to this size travel inline, with the message that seals them. */
#define TM_INLINE_MAX (64u * 1024u)
/* Messages to one rank are packed into buffers of up to this size. */
#define TM_PACK_MAX (256u * 1024u)
/* Bulk transfers go in chunks MPI's int count can carry. */
#define TM_CHUNK (1u << 30)
#define TM_TAG_MSG 1
#define TM_TAG_BULK 2
/* Tasks a blocked task thread may run on top of each other. */
#define TM_MAX_NESTING 256
/* Seconds without a word from a rank on another host before it counts as lost. */
#define TM_SILENCE_LIMIT 10.0
/* A task goes to the owner of its largest argument if it is this close to the least loaded. */
#define TM_LOCALITY_SLACK 2

enum tm_msg {
	/* every rank */
	T_HELLO = 1, /* rank -> driver: struct tm_hello */
	T_PING,      /* driver -> rank */
	T_PONG,
	T_FETCH,     /* anyone -> owner: struct tm_req */
	T_DATA,      /* owner -> fetcher: struct tm_data [+ bytes or a bulk message] */
	T_EXIT,      /* driver -> rank */
	T_BYE,       /* rank -> driver, its last message */
	T_BIG,       /* struct tm_big: one message too big for a pack follows as bulk */
	T_LINK_UP,   /* driver <-> rank, over MPI: what follows goes on the link (link.c);
		      * uint32 0 from a rank that could not map it */
	/* driver -> worker */
	T_TASK = 16, /* struct tm_task ... */
	T_LOCATED,   /* struct tm_data [+ bytes] */
	T_WAITED,    /* struct tm_waited + flags */
	T_FREE,      /* tarn_ref_t */
	T_KILL_ACTOR, /* tarn_actor_t */
	T_LOAD,      /* path */
	T_SUBMITTED, /* struct tm_status: answer to T_SUBMIT */
	/* worker -> driver */
	T_SEALED = 32, /* struct tm_sealed [+ bytes, padded to 8], one or more */
	T_DONE,        /* struct tm_done, then the task's T_SEALED records */
	T_SUBMIT,      /* struct tm_submit ..., padded to 8; one or more */
	T_RELEASE,     /* tarn_ref_t, or several back to back */
	T_LOCATE,      /* struct tm_req */
	T_WAIT,        /* struct tm_wait + refs */
	T_ACTOR_KILL,  /* struct tm_req (ref = actor) */
	T_LOAD_REQ,    /* path */
	/* rank -> monitor, and back: the host's shared store budget */
	T_SHM_ALLOC = 48, /* struct tm_shm */
	T_SHM_GRANT,      /* struct tm_shm: status 0 or TARN_ENOSPC */
	T_SHM_FREE,       /* struct tm_shm */
};

/* Every message inside a packed buffer starts with this. */
struct tm_frame {
	uint32_t type;
	uint32_t pad_;
	uint64_t len; /* bytes after the frame, before padding to 8 */
};

/*
 * A message bigger than a receive buffer (TM_PACK_MAX): this frame takes
 * its place in the pack, and its bytes follow as TM_TAG_BULK messages,
 * like an object's.
 */
struct tm_big {
	uint32_t type;
	uint32_t pad_;
	uint64_t len;
};

struct tm_hello {
	int32_t pid;
	uint32_t pad_;
	char host[128];
	/* driver -> ranks only: the job's name for shared segments, the monitor's host */
	char job[32];
	char monitor_host[128];
	/* driver -> ranks on its host: the link's segment (link.c), or "" */
	char link[64];
	uint64_t link_nonce;
};

struct tm_shm {
	uint64_t req;
	uint64_t len;
	int32_t status;
	uint32_t pad_;
};

struct tm_req {
	uint64_t req;
	tarn_ref_t ref;
};

struct tm_data {
	uint64_t req;
	tarn_ref_t ref;
	int32_t status;
	int32_t owner; /* T_LOCATED: where the bytes are when not inline */
	uint32_t flags;
	uint32_t bulk; /* the bytes follow as TM_TAG_BULK messages */
	uint32_t shm;  /* the owner keeps them in the host's shared store */
	uint32_t pad_;
	uint64_t len;
	uint64_t inline_len; /* bytes after this record */
};

struct tm_dep {
	tarn_ref_t ref;
	int32_t owner; /* -1: unknown (released); the task sees TARN_ENOENT */
	uint32_t flags;
	uint64_t len;
	uint64_t inline_len; /* 0, or len: the bytes follow, padded to 8 */
	uint32_t shm;        /* in the owner's host's shared store */
	uint32_t pad_;
};

struct tm_task {
	tarn_ref_t id;
	tarn_actor_t actor;
	uint32_t kind;
	uint32_t attempt;
	uint32_t ndeps;
	uint32_t pad_;
	uint64_t payload_len;
	/* then ndeps x (tm_dep [+ bytes]), then the payload */
};

struct tm_sealed {
	tarn_ref_t ref;
	uint32_t flags;
	uint32_t shm; /* the bytes are in this host's shared store */
	uint64_t len;
	uint64_t inline_len;
};

struct tm_done {
	tarn_ref_t id;
	tarn_task_report_t report;
};

struct tm_submit {
	tarn_ref_t id;
	tarn_actor_t actor;
	uint64_t req;
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

struct tm_status {
	uint64_t req;
	int32_t status;
	uint32_t count;
};

struct tm_wait {
	uint64_t req;
	uint64_t n;
	/* then n refs */
};

static inline size_t tm_pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* A reply a blocked caller waits for. */
struct tm_pending {
	uint64_t req;
	bool done;
	int status;
	int owner;
	uint32_t flags;
	uint32_t count;
	bool flags_shm;     /* located: in the owner's shared segment */
	unsigned char *buf; /* malloc'd bytes (fetch) or flags (wait) */
	size_t len;
};

/* The rank table, kept by the driver. */
struct tm_rank {
	int pid;
	char host[128];
	bool known; /* said hello */
	bool local; /* same host as this process */
	bool alive;
	bool bye;
	uint64_t last_heard_ns;
	uint32_t queued; /* tasks sent and not done */
	uint32_t finishing; /* of those, tasks whose results are all sealed */
};

struct tm_driver;
struct tm_worker;

struct tm_pack;
struct tm_rx;

/*
 * A link between the driver and one rank on its host (link.c): a ring
 * each way in shared memory. Every field is the token holder's, but for
 * setting up (before the T_HELLO that names it is queued).
 */
struct tm_link {
	void *base; /* the mapped segment */
	struct ring_ctl *tx, *rx;
	unsigned char *tx_data, *rx_data;
	uint64_t tx_head, tx_tail; /* ours, and the last tail we read */
	uint64_t rx_tail, rx_head; /* ours, and the last head we read */
	uint64_t rx_next;          /* the tail after the record peeked */
	bool tx_on;                /* we sent T_LINK_UP: packs go here */
	bool rx_on;                /* the peer's T_LINK_UP came: read here */
	GQueue overflow;           /* packs for a full ring, in order */
	char name[64];             /* driver: until the rank has mapped it */
};

struct tarn_backend {
	const tarn_host_services_t *host;
	int rank, size;
	bool spawn;       /* spawn mode */
	bool owns_mpi;    /* we called MPI_Init, so we finalize */
	MPI_Comm comm;    /* everyone, rank 0 the driver */
	MPI_Comm inter;   /* spawn mode: the intercommunicator */
	char hostname[128];

	GMutex lock;      /* the tables of driver.c / worker.c */
	GCond changed;    /* an object sealed, a reply arrived, a task queued */
	uint32_t sleepers; /* threads asleep on @changed (be->lock) */
	GHashTable *pending; /* req -> struct tm_pending */
	_Atomic uint64_t next_req;

	/*
	 * The progress token: whoever holds it makes the MPI calls (sends what
	 * is queued, receives, runs the handlers). A thread that waits for an
	 * answer takes it and drives progress itself while messages flow, so
	 * that the answer needs no hand-off between threads; the comm thread
	 * does it when nobody waits.
	 */
	atomic_bool progressing;
	_Atomic uint64_t busy_ns;   /* a message was queued, sent or received */
	_Atomic uint64_t driven_ns; /* a waiting thread drove progress */
	uint64_t last_tick_ns;      /* the token's holder only */

	/* Outgoing messages, drained by whoever holds the token. */
	GMutex out_lock;
	GCond out_cond;
	GQueue out;
	atomic_bool out_any; /* @out may be non-empty (set under out_lock) */
	bool comm_sleeping;
	GThread *comm_thread;
	atomic_bool stop;
	atomic_bool failed; /* the comm thread gave up: the job is ending */
	GPtrArray *sends;   /* struct tm_send in flight */
	struct tm_pack *packs; /* per destination, the token's holder only */
	struct tm_rx *rx;      /* preposted receives, the token's holder only */
	struct tm_link *links; /* per rank (link.c); the driver's at TM_DRIVER on ranks */
	int *rx_links;         /* ranks whose link we read, the token's holder only */
	int nrx_links;
	unsigned nlinks_held;  /* links with packs in overflow, the token's holder only */
	unsigned link_turns;
	int links_pending;     /* driver: links made and not answered (be->lock) */
	uint64_t mpi_polled_ns, mpi_heard_ns; /* see poll_in() */
	bool local_links;      /* UNIDIST_MPI_LOCAL_LINKS */
	unsigned rx_next;      /* the one that completes first */
	double backoff;     /* seconds */
	bool round_robin;   /* UNIDIST_MPI_SCHEDULING=round-robin */
	uint64_t spin_ns;

	/* The per-host shared object store (UNIDIST_MPI_SHARED_OBJECT_STORE). */
	bool store;          /* enabled and this rank is on the monitor's host */
	uint64_t store_threshold;
	uint64_t store_limit; /* monitor: bytes the store may hold */
	uint64_t store_used;  /* monitor: bytes granted */
	char job[32];         /* names this job's segments */

	FILE *log;          /* UNIDIST_MPI_LOG */
	GMutex log_lock;

	struct tm_driver *d;
	struct tm_worker *w;
};

/* mpi.c */
void tm_log(struct tarn_backend *be, int level, const char *fmt, ...) TARN_PRINTF(3, 4);
void tm_trace(struct tarn_backend *be, const char *fmt, ...) TARN_PRINTF(2, 3);
uint64_t tm_now_ns(void);
/* Queue one message (header @a, then @b) for @dest; never blocks. */
void tm_send(struct tarn_backend *be, int dest, uint32_t type, const void *a, size_t alen,
	     const void *b, size_t blen);
/*
 * tm_send() without the copy: tm_send_alloc() gives @len bytes to fill,
 * tm_send_commit() queues them (and frees them once sent).
 */
void *tm_send_alloc(struct tarn_backend *be, int dest, uint32_t type, size_t len);
void tm_send_commit(struct tarn_backend *be, void *data);
/* Queue the bytes of a large object as bulk messages after a T_DATA header. */
void tm_send_bulk(struct tarn_backend *be, int dest, const void *data, size_t len,
		  void (*done)(void *), void *arg);
struct tm_pending *tm_pending_new(struct tarn_backend *be);
void tm_pending_free(struct tarn_backend *be, struct tm_pending *p);
/* Start the comm thread, once the driver or worker half is set up. */
void tm_start_comm(struct tarn_backend *be);
/*
 * One turn of progress on this thread, if no other thread has the token
 * (be->lock not held): a thread that queues many messages sends them and
 * takes in the answers itself, and the comm thread keeps away meanwhile.
 */
void tm_drive_now(struct tarn_backend *be);
/* Stop the comm thread once it has sent everything queued. */
void tm_stop_comm(struct tarn_backend *be);
guint tm_ref_hash(gconstpointer p);
gboolean tm_ref_equal(gconstpointer a, gconstpointer b);
/* The comm thread's handler for one message (driver.c or worker.c). */
void tm_driver_handle(struct tarn_backend *be, int src, uint32_t type, const unsigned char *p,
		      size_t len);
void tm_worker_handle(struct tarn_backend *be, int src, uint32_t type, const unsigned char *p,
		      size_t len);
/* Receive @len bytes of bulk from @src into @buf (comm thread only). */
int tm_recv_bulk(struct tarn_backend *be, int src, void *buf, size_t len);
/* Periodic work on the comm thread: liveness. */
void tm_driver_tick(struct tarn_backend *be);
void tm_worker_tick(struct tarn_backend *be);
/* Abort the whole job after printing @msg (comm thread). */
_Noreturn void tm_abort_job(struct tarn_backend *be, const char *msg);

/* driver.c */
int tm_driver_open(struct tarn_backend *be, tarn_open_info_t *info);
int tm_driver_close(struct tarn_backend *be);
int tm_driver_submit(struct tarn_backend *be, const tarn_task_desc_t *t);
int tm_driver_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n);
int tm_driver_create(struct tarn_backend *be, tarn_ref_t ref, size_t len, uint32_t flags,
		     void **data);
int tm_driver_seal(struct tarn_backend *be, tarn_ref_t ref);
int tm_driver_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view);
void tm_driver_unpin(struct tarn_backend *be, tarn_obj_view_t *view);
int tm_driver_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready);
int tm_driver_release(struct tarn_backend *be, tarn_ref_t ref);
/* ABI 1.2: one lock for a whole batch. */
int tm_driver_fetch_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			  double timeout, tarn_obj_view_t *views, size_t *failed);
void tm_driver_unpin_batch(struct tarn_backend *be, tarn_obj_view_t *views, size_t n);
int tm_driver_release_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
			    size_t *failed);
int tm_driver_load_library(struct tarn_backend *be, const char *path);
int tm_driver_actor_create(struct tarn_backend *be, const tarn_task_desc_t *ctor);
int tm_driver_actor_kill(struct tarn_backend *be, tarn_actor_t actor);
int tm_driver_cluster_info(struct tarn_backend *be, tarn_node_t *nodes, size_t cap, size_t *n);

/* worker.c (the monitor is a worker that runs no tasks) */
int tm_worker_open(struct tarn_backend *be, tarn_open_info_t *info);
int tm_worker_close(struct tarn_backend *be);
int tm_worker_loop(struct tarn_backend *be);
int tm_worker_submit(struct tarn_backend *be, const tarn_task_desc_t *t);
/* One message for a nested batch (plain tasks, as the ABI says). */
int tm_worker_submit_batch(struct tarn_backend *be, const tarn_task_desc_t *tasks, size_t n);
int tm_worker_create(struct tarn_backend *be, tarn_ref_t ref, size_t len, uint32_t flags,
		     void **data);
int tm_worker_seal(struct tarn_backend *be, tarn_ref_t ref);
int tm_worker_fetch(struct tarn_backend *be, tarn_ref_t ref, double timeout,
		    tarn_obj_view_t *view);
void tm_worker_unpin(struct tarn_backend *be, tarn_obj_view_t *view);
int tm_worker_wait(struct tarn_backend *be, const tarn_ref_t *refs, size_t n,
		   size_t num_returns, double timeout, bool *ready);
int tm_worker_release(struct tarn_backend *be, tarn_ref_t ref);
/* One T_RELEASE message for the lot. */
int tm_worker_release_batch(struct tarn_backend *be, const tarn_ref_t *refs, size_t n);
int tm_worker_load_library(struct tarn_backend *be, const char *path);
int tm_worker_actor_kill(struct tarn_backend *be, tarn_actor_t actor);

/* link.c */
/* Driver: make @rank's segment, named in @name, and its nonce; 0 or -errno. */
int tm_link_create(struct tarn_backend *be, int rank, char *name, size_t len, uint64_t *nonce);
/* Rank: map the driver's link named in its T_HELLO; 0 or -errno. */
int tm_link_attach(struct tarn_backend *be, const char *name, uint64_t nonce);
/* Remove the segment's name (the driver's, once both ends have it mapped). */
void tm_link_unlink(struct tm_link *l);
/* Send one pack; false when it waits in the overflow queue (a full ring). */
bool tm_link_send(struct tm_link *l, const void *buf, size_t len);
/* Move waiting packs into the ring: true when one moved. */
bool tm_link_retry(struct tm_link *l);
/* The next pack received, in place (NULL: none); tm_link_consume() frees it. */
const unsigned char *tm_link_peek(struct tarn_backend *be, struct tm_link *l, int src,
				  size_t *len);
void tm_link_consume(struct tm_link *l);
void tm_link_close(struct tm_link *l);

/* shared store (mpi.c): "/tarn-mpi-JOB-ORIGIN-SEQ" */
void tm_shm_name(struct tarn_backend *be, tarn_ref_t ref, char *buf, size_t len);
/* Map @ref's segment read-only; NULL when it is not on this host. */
void *tm_shm_map(struct tarn_backend *be, tarn_ref_t ref, size_t len);
/* Remove every segment of this job left on this host (end of job, abort). */
void tm_shm_sweep(struct tarn_backend *be);

/* Deadline in monotonic ns for @timeout seconds; 0 for TARN_FOREVER. */
static inline uint64_t tm_deadline(double timeout)
{
	if (timeout < 0)
		return 0;
	return tm_now_ns() + (uint64_t)(timeout * 1e9) + (timeout == 0 ? 0 : 1);
}

/*
 * Wait until woken or @deadline_ns (0: forever); false when it passed. With
 * be->lock held; it may drop it meanwhile to drive progress itself (one turn,
 * then it returns), so callers recheck their condition in a loop.
 */
bool tm_cond_wait(struct tarn_backend *be, uint64_t deadline_ns);

/*
 * Wake the threads asleep on be->changed (be->lock held). Skips the
 * futex call when none sleeps: a waiter that drives progress rechecks on
 * its own, and glib's broadcast always enters the kernel.
 */
static inline void tm_wake(struct tarn_backend *be)
{
	if (be->sleepers)
		g_cond_broadcast(&be->changed);
}

#endif /* TARN_MPI_TM_H */
