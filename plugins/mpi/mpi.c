/* SPDX-License-Identifier: MIT */
/*
 * mpi: tarn on Open MPI. This file is the plugin's face (the descriptor,
 * and the dispatch of each ABI call to the driver half, driver.c, or the
 * worker half, worker.c), the choice of launch mode, MPI's start and end,
 * and the comm thread that makes every MPI call after MPI_Init.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "tm.h"

/* One queued outgoing message, or a bulk transfer (@ext set). */
struct tm_out {
	int dest;
	uint32_t type;
	size_t len;
	const void *ext; /* bulk: bytes owned by the caller until @done */
	void (*done)(void *);
	void *arg;
	unsigned char data[];
};

/* One MPI_Isend in flight and what to do when it completes. */
struct tm_send {
	MPI_Request req;
	void *buf; /* g_free when complete */
	void (*done)(void *);
	void *arg;
};

uint64_t tm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tm_log(struct tarn_backend *be, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	be->host->log(be->host->host, level, msg);
	if (be->log) {
		g_mutex_lock(&be->log_lock);
		fprintf(be->log, "%.6f %s\n", tm_now_ns() / 1e9, msg);
		fflush(be->log);
		g_mutex_unlock(&be->log_lock);
	}
}

void tm_trace(struct tarn_backend *be, const char *fmt, ...)
{
	va_list ap;

	if (!be->log)
		return;
	g_mutex_lock(&be->log_lock);
	fprintf(be->log, "%.6f ", tm_now_ns() / 1e9);
	va_start(ap, fmt);
	vfprintf(be->log, fmt, ap);
	va_end(ap);
	fputc('\n', be->log);
	g_mutex_unlock(&be->log_lock);
}

guint tm_ref_hash(gconstpointer p)
{
	const tarn_ref_t *r = p;

	return (guint)((r->seq * 0x9e3779b97f4a7c15ull) ^ (r->origin * 0xc2b2ae3d27d4eb4full));
}

gboolean tm_ref_equal(gconstpointer a, gconstpointer b)
{
	const tarn_ref_t *x = a, *y = b;

	return x->origin == y->origin && x->seq == y->seq;
}

/*
 * A waiting thread that drove progress this recently will send what is
 * queued, and the comm thread sleeps meanwhile. Each of its wake-ups takes
 * a core from a thread that spins for an answer when threads outnumber
 * cores: 0.2 ms gave round trips of 5.6-18 us here, 1 ms 6.8-7.6 us. A
 * waiter that stops driving wakes the comm thread at once.
 */
#define TM_DRIVE_GRACE_NS 1000000u

static bool drive(struct tarn_backend *be, uint64_t now, int max_in);
static void wake_comm_now(struct tarn_backend *be);

bool tm_cond_wait(struct tarn_backend *be, uint64_t deadline_ns)
{
	static __thread unsigned turns;
	static __thread uint64_t clock_ns;
	uint64_t now, busy;

	/*
	 * The clock every 8th turn: a read is 24 ns, and was the top symbol
	 * of both spinning threads in a hot round trip. A stale reading
	 * errs towards spinning (busy_ns may be later than it), and a
	 * deadline is missed by a few turns at most.
	 */
	if (turns % 8 == 0 || !clock_ns)
		clock_ns = tm_now_ns();
	now = clock_ns;
	if (deadline_ns && now >= deadline_ns)
		return false;
	/*
	 * Messages flowed lately: the answer is probably microseconds away.
	 * Fetch it ourselves rather than sleep until the comm thread wakes
	 * us: each hand-off between threads costs a wake-up, tens of
	 * microseconds on a machine with fewer cores than threads.
	 */
	busy = atomic_load(&be->busy_ns);
	if ((busy >= now || now - busy < be->spin_ns) && !atomic_load(&be->failed)) {
		atomic_store(&be->driven_ns, now);
		g_mutex_unlock(&be->lock);
		if (!drive(be, now, 1)) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			/* Whom we wait for may need this core (see comm_main). */
			if ((turns + 1) % 64 == 0)
				sched_yield();
		}
		turns++;
		g_mutex_lock(&be->lock);
		return true; /* the next call checks the deadline */
	}
	turns = 0; /* a fresh reading next time */
	now = tm_now_ns();
	if (deadline_ns && now >= deadline_ns)
		return false;
	if (now - atomic_load(&be->driven_ns) < TM_DRIVE_GRACE_NS)
		wake_comm_now(be); /* we stop driving: the comm thread takes over */
	be->sleepers++;
	if (!deadline_ns)
		g_cond_wait(&be->changed, &be->lock);
	else
		g_cond_wait_until(&be->changed, &be->lock,
				  g_get_monotonic_time() + (gint64)((deadline_ns - now) / 1000) + 1);
	be->sleepers--;
	return !deadline_ns || tm_now_ns() < deadline_ns;
}

struct tm_pending *tm_pending_new(struct tarn_backend *be)
{
	struct tm_pending *p = g_new0(struct tm_pending, 1);

	p->req = atomic_fetch_add(&be->next_req, 1) + 1;
	g_hash_table_insert(be->pending, &p->req, p);
	return p;
}

void tm_pending_free(struct tarn_backend *be, struct tm_pending *p)
{
	g_hash_table_remove(be->pending, &p->req);
	g_free(p->buf);
	g_free(p);
}

/* The shared store's segments ---------------------------------------------------- */

void tm_shm_name(struct tarn_backend *be, tarn_ref_t ref, char *buf, size_t len)
{
	snprintf(buf, len, "/tarn-mpi-%s-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, be->job,
		 ref.origin, ref.seq);
}

void *tm_shm_map(struct tarn_backend *be, tarn_ref_t ref, size_t len)
{
	char name[128];
	void *p;
	int fd;

	if (!be->job[0] || !len)
		return NULL;
	tm_shm_name(be, ref, name, sizeof(name));
	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

void tm_shm_sweep(struct tarn_backend *be)
{
	char prefix[64];
	struct dirent *e;
	DIR *d;

	if (!be->job[0])
		return;
	snprintf(prefix, sizeof(prefix), "tarn-mpi-%s-", be->job);
	d = opendir("/dev/shm");
	if (!d)
		return;
	while ((e = readdir(d))) {
		char name[300];

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(name, sizeof(name), "/%s", e->d_name);
		shm_unlink(name);
	}
	closedir(d);
}

/* Sending ---------------------------------------------------------------------- */


static void wake_comm_now(struct tarn_backend *be)
{
	atomic_store(&be->driven_ns, 0);
	g_mutex_lock(&be->out_lock);
	if (be->comm_sleeping)
		g_cond_signal(&be->out_cond);
	g_mutex_unlock(&be->out_lock);
}

/* out_lock held. */
static void wake_comm(struct tarn_backend *be)
{
	uint64_t now = tm_now_ns();

	atomic_store(&be->busy_ns, now);
	if (be->comm_sleeping && now - atomic_load(&be->driven_ns) >= TM_DRIVE_GRACE_NS)
		g_cond_signal(&be->out_cond);
}

void tm_send(struct tarn_backend *be, int dest, uint32_t type, const void *a, size_t alen,
	     const void *b, size_t blen)
{
	struct tm_out *m = g_malloc(sizeof(*m) + alen + blen);

	m->dest = dest;
	m->type = type;
	m->len = alen + blen;
	m->ext = NULL;
	m->done = NULL;
	if (alen)
		memcpy(m->data, a, alen);
	if (blen)
		memcpy(m->data + alen, b, blen);
	g_mutex_lock(&be->out_lock);
	g_queue_push_tail(&be->out, m);
	atomic_store_explicit(&be->out_any, true, memory_order_release);
	wake_comm(be);
	g_mutex_unlock(&be->out_lock);
}

void *tm_send_alloc(struct tarn_backend *be, int dest, uint32_t type, size_t len)
{
	struct tm_out *m = g_malloc(sizeof(*m) + len);

	(void)be;
	m->dest = dest;
	m->type = type;
	m->len = len;
	m->ext = NULL;
	m->done = NULL;
	return m->data;
}

void tm_send_commit(struct tarn_backend *be, void *data)
{
	struct tm_out *m = (struct tm_out *)((unsigned char *)data - offsetof(struct tm_out, data));

	g_mutex_lock(&be->out_lock);
	g_queue_push_tail(&be->out, m);
	atomic_store_explicit(&be->out_any, true, memory_order_release);
	wake_comm(be);
	g_mutex_unlock(&be->out_lock);
}

void tm_send_bulk(struct tarn_backend *be, int dest, const void *data, size_t len,
		  void (*done)(void *), void *arg)
{
	struct tm_out *m = g_malloc(sizeof(*m));

	m->dest = dest;
	m->type = 0;
	m->len = len;
	m->ext = data;
	m->done = done;
	m->arg = arg;
	g_mutex_lock(&be->out_lock);
	g_queue_push_tail(&be->out, m);
	atomic_store_explicit(&be->out_any, true, memory_order_release);
	wake_comm(be);
	g_mutex_unlock(&be->out_lock);
}

/*
 * Comm thread only (the token's holder). With @test_now, a send complete
 * on its first test is not tracked and true returned: @owned stays the
 * caller's and @done is not called. Otherwise the send keeps @owned (freed
 * on completion, then @done(@arg)).
 */
static bool isend(struct tarn_backend *be, int dest, int tag, const void *buf, size_t len,
		  void *owned, void (*done)(void *), void *arg, bool test_now)
{
	struct tm_send *s;
	MPI_Request req;
	int rc, flag = 0;

	rc = MPI_Isend(buf, (int)len, MPI_BYTE, dest, tag, be->comm, &req);
	if (rc != MPI_SUCCESS) {
		char msg[256];

		snprintf(msg, sizeof(msg), "rank %d cannot send to rank %d (MPI error %d)",
			 be->rank, dest, rc);
		tm_abort_job(be, msg);
	}
	if (test_now && MPI_Test(&req, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && flag)
		return true;
	s = g_new0(struct tm_send, 1);
	s->req = req;
	s->buf = owned;
	s->done = done;
	s->arg = arg;
	g_ptr_array_add(be->sends, s);
	return false;
}

static void complete_sends(struct tarn_backend *be)
{
	for (guint i = 0; i < be->sends->len;) {
		struct tm_send *s = be->sends->pdata[i];
		int flag = 0;

		MPI_Test(&s->req, &flag, MPI_STATUS_IGNORE);
		if (!flag) {
			i++;
			continue;
		}
		g_free(s->buf);
		if (s->done)
			s->done(s->arg);
		g_free(s);
		g_ptr_array_remove_index_fast(be->sends, i);
	}
}

/*
 * Per-destination packing buffer, kept from one drain to the next: a
 * fresh 4 KiB buffer per message cost a malloc that consolidates the
 * heap, and its free when the send completed.
 */
struct tm_pack {
	unsigned char *buf;
	size_t len;
	size_t cap;
};

/*
 * A pack this small goes out eagerly on every transport (Open MPI's
 * shared-memory eager limit is 4 KiB), so its send is usually complete
 * at once and the buffer stays ours; a bigger one is handed to its send.
 */
#define TM_PACK_EAGER 4096u

/*
 * A big message's bytes, in flight as bulk chunks: the queued message is
 * freed when the last chunk completes, whichever order they complete in.
 */
struct tm_big_send {
	struct tm_out *m;
	unsigned left;
};

static void big_sent(void *arg)
{
	struct tm_big_send *b = arg;

	if (--b->left == 0) {
		g_free(b->m);
		g_free(b);
	}
}

/* Hand @n bytes at @data to bulk sends to @dest in TM_CHUNK pieces. */
static void send_chunks(struct tarn_backend *be, int dest, const void *data, size_t n,
			void (*done)(void *), void *arg, bool done_each)
{
	size_t off = 0;

	do {
		size_t k = MIN(n - off, (size_t)TM_CHUNK);
		bool last = off + k >= n;

		isend(be, dest, TM_TAG_BULK, (const char *)data + off, k, NULL,
		      last || done_each ? done : NULL, arg, false);
		off += k;
	} while (off < n);
}

static void flush_pack(struct tarn_backend *be, int dest, struct tm_pack *p)
{
	struct tm_link *l = &be->links[dest];

	if (!p->len)
		return;
	if (l->tx_on) {
		if (!tm_link_send(l, p->buf, p->len) && l->overflow.length == 1)
			be->nlinks_held++;
		p->len = 0;
		return;
	}
	/*
	 * A small pack whose send is not complete on the first test (the
	 * receiver's queue is full, or it is gone) is handed to the send like
	 * a big one, and this pack starts a new buffer: never wait here, or a
	 * dead peer would hang the thread that notices it is dead.
	 */
	if (!isend(be, dest, TM_TAG_MSG, p->buf, p->len, p->buf, NULL, NULL,
		   p->len <= TM_PACK_EAGER)) {
		p->buf = NULL;
		p->cap = 0;
	}
	p->len = 0;
}

/* Add one framed message to @p (its caller keeps it within TM_PACK_MAX). */
static void pack_append(struct tm_pack *p, uint32_t type, const void *data, size_t len)
{
	size_t need = sizeof(struct tm_frame) + tm_pad8(len);
	struct tm_frame f = {.type = type, .len = len};

	if (p->len + need > p->cap) {
		/*
		 * Grow as needed: a whole TM_PACK_MAX for one small message is
		 * above malloc's mmap threshold, a system call or two per
		 * message.
		 */
		p->cap = MAX(MAX(p->cap * 2, (size_t)4096), p->len + need);
		p->buf = g_realloc(p->buf, p->cap);
	}
	memcpy(p->buf + p->len, &f, sizeof(f));
	memcpy(p->buf + p->len + sizeof(f), data, len);
	memset(p->buf + p->len + sizeof(f) + len, 0, tm_pad8(len) - len);
	p->len += need;
}

/* Send everything queued, packing small messages to the same rank together. */
static bool drain_out(struct tarn_backend *be)
{
	GQueue q = G_QUEUE_INIT;
	struct tm_pack *packs = be->packs;
	struct tm_out *m;

	/* Every spin turn comes here: an empty queue costs no lock. */
	if (!atomic_load_explicit(&be->out_any, memory_order_acquire))
		return false;
	g_mutex_lock(&be->out_lock);
	q = be->out;
	g_queue_init(&be->out);
	atomic_store_explicit(&be->out_any, false, memory_order_relaxed);
	g_mutex_unlock(&be->out_lock);
	if (!q.length)
		return false;
	while ((m = g_queue_pop_head(&q))) {
		struct tm_pack *p = &packs[m->dest];

		if (m->ext) {
			/* The header went before: keep the order on the wire. */
			flush_pack(be, m->dest, p);
			send_chunks(be, m->dest, m->ext, m->len, m->done, m->arg, false);
		} else if (sizeof(struct tm_frame) + tm_pad8(m->len) > TM_PACK_MAX) {
			/*
			 * Too big for the receiver's buffers: announce it in
			 * the pack, send the pack, then the bytes as bulk (the
			 * receiver takes them when it reads the announcement,
			 * as for an object's bytes after its header).
			 */
			struct tm_big big = {.type = m->type, .len = m->len};
			struct tm_big_send *b = g_new0(struct tm_big_send, 1);

			if (p->len + sizeof(struct tm_frame) + sizeof(big) > TM_PACK_MAX)
				flush_pack(be, m->dest, p);
			pack_append(p, T_BIG, &big, sizeof(big));
			flush_pack(be, m->dest, p);
			b->m = m;
			b->left = (unsigned)((m->len + TM_CHUNK - 1) / TM_CHUNK);
			send_chunks(be, m->dest, m->data, m->len, big_sent, b, true);
			continue; /* big_sent() frees it */
		} else {
			if (p->len + sizeof(struct tm_frame) + tm_pad8(m->len) > TM_PACK_MAX)
				flush_pack(be, m->dest, p);
			pack_append(p, m->type, m->data, m->len);
			if (m->type == T_EXIT || m->type == T_BYE)
				flush_pack(be, m->dest, p);
			if (m->type == T_LINK_UP && be->links[m->dest].base) {
				/* The last pack by MPI: the next ones go on the link. */
				flush_pack(be, m->dest, p);
				be->links[m->dest].tx_on = true;
			}
		}
		g_free(m);
	}
	for (int i = 0; i < be->size; i++)
		flush_pack(be, i, &packs[i]);
	return true;
}

/* Receiving --------------------------------------------------------------------- */

int tm_recv_bulk(struct tarn_backend *be, int src, void *buf, size_t len)
{
	size_t off = 0;

	do {
		size_t n = MIN(len - off, (size_t)TM_CHUNK);
		MPI_Request req;
		unsigned turns = 0;
		int done = 0;

		/*
		 * Not MPI_Recv: with mpi_yield_when_idle off (see mpib_open) it
		 * would spin without ever giving the core to the sender.
		 */
		if (MPI_Irecv((char *)buf + off, (int)n, MPI_BYTE, src, TM_TAG_BULK, be->comm,
			      &req) != MPI_SUCCESS)
			return TARN_EIO;
		while (!done) {
			if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
				return TARN_EIO;
			if (!done && ++turns % 64 == 0)
				sched_yield();
		}
		off += n;
	} while (off < len);
	return 0;
}

/*
 * Receives stay posted, two of them, each into a buffer as big as a pack:
 * a message lands straight in one (no MPI_Iprobe, no unexpected-message
 * queue and its copy, no MPI_Get_count and buffer check per message). Over
 * TCP (spawn mode) a bare ping-pong takes 14-17 us this way against 18-20
 * us probing first. Two, so that the next message has somewhere to land
 * while the handlers run; they complete in the order they were posted,
 * which keeps each sender's order.
 */
#define TM_NRX 2

struct tm_rx {
	MPI_Request req;
	unsigned char *buf; /* TM_PACK_MAX bytes */
};

static void post_receive(struct tarn_backend *be, struct tm_rx *rx)
{
	if (MPI_Irecv(rx->buf, (int)TM_PACK_MAX, MPI_BYTE, MPI_ANY_SOURCE, TM_TAG_MSG, be->comm,
		      &rx->req) != MPI_SUCCESS) {
		char msg[160];

		snprintf(msg, sizeof(msg), "rank %d cannot post a receive; ending the job",
			 be->rank);
		tm_abort_job(be, msg);
	}
}

static void start_receives(struct tarn_backend *be)
{
	be->rx = g_new0(struct tm_rx, TM_NRX);
	for (int i = 0; i < TM_NRX; i++) {
		be->rx[i].buf = g_malloc(TM_PACK_MAX);
		post_receive(be, &be->rx[i]);
	}
	be->rx_next = 0;
}

/* Before the communicator goes: nothing may land in the buffers after. */
static void cancel_receives(struct tarn_backend *be)
{
	if (!be->rx)
		return;
	for (int i = 0; i < TM_NRX; i++) {
		if (be->rx[i].req != MPI_REQUEST_NULL) {
			MPI_Cancel(&be->rx[i].req);
			MPI_Wait(&be->rx[i].req, MPI_STATUS_IGNORE);
		}
		g_free(be->rx[i].buf);
	}
	g_free(be->rx);
	be->rx = NULL;
}

static void link_up(struct tarn_backend *be, int src, const unsigned char *p, size_t len);

static void dispatch_one(struct tarn_backend *be, int src, uint32_t type, const unsigned char *p,
			 size_t len)
{
	if (type == T_LINK_UP)
		link_up(be, src, p, len);
	else if (be->rank == TM_DRIVER)
		tm_driver_handle(be, src, type, p, len);
	else
		tm_worker_handle(be, src, type, p, len);
}

/* A T_BIG announcement: its message follows as bulk from @src. */
static void receive_big(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_big big;
	unsigned char *buf;
	char msg[200];

	if (len < sizeof(big)) {
		tm_log(be, TARN_LOG_ERROR, "rank %d sent a malformed message (type %u)", src,
		       T_BIG);
		return;
	}
	memcpy(&big, p, sizeof(big));
	buf = g_try_malloc(big.len ? big.len : 1);
	if (!buf) {
		snprintf(msg, sizeof(msg), "rank %d cannot allocate %llu bytes for a message from "
					   "rank %d; ending the job", be->rank,
			 (unsigned long long)big.len, src);
		tm_abort_job(be, msg);
	}
	if (tm_recv_bulk(be, src, buf, big.len) != 0) {
		snprintf(msg, sizeof(msg), "rank %d cannot receive from rank %d; ending the job",
			 be->rank, src);
		tm_abort_job(be, msg);
	}
	dispatch_one(be, src, big.type, buf, big.len);
	g_free(buf);
}

static void dispatch_buffer(struct tarn_backend *be, int src, const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off + sizeof(struct tm_frame) <= len) {
		struct tm_frame f;

		memcpy(&f, buf + off, sizeof(f));
		off += sizeof(f);
		if (f.len > len - off) {
			tm_log(be, TARN_LOG_ERROR, "rank %d sent a malformed message (type %u)", src,
			       f.type);
			return;
		}
		if (f.type == T_BIG)
			receive_big(be, src, buf + off, f.len);
		else
			dispatch_one(be, src, f.type, buf + off, f.len);
		off += tm_pad8(f.len);
	}
}

/*
 * Up to @max messages. A waiter asks for one: testing for the next one
 * right after costs a progress call that usually finds nothing, and over
 * TCP (spawn mode) every progress call is a poll() system call, about a
 * microsecond here, on both ends of every hop (35.5 -> 33.6 poll() calls
 * per spawn round trip). The comm thread and a submitter taking its turn drain
 * a burst (one message each would starve a submitter that turns every 32
 * tasks: no-op tasks/s fell by half).
 */
static int poll_links(struct tarn_backend *be, int max)
{
	int got = 0, n = be->nrx_links;
	unsigned first = be->link_turns++;

	for (int i = 0; i < n && got < max; i++) {
		int src = be->rx_links[(first + (unsigned)i) % (unsigned)n];
		struct tm_link *l = &be->links[src];
		const unsigned char *buf;
		size_t len;

		while (got < max && (buf = tm_link_peek(be, l, src, &len))) {
			dispatch_buffer(be, src, buf, len);
			tm_link_consume(l);
			got++;
		}
	}
	return got;
}

/*
 * Packs that found a ring full, in order (true when one moved): before
 * anything newly queued, which flush_pack() puts behind them.
 */
static bool retry_links(struct tarn_backend *be)
{
	bool moved = false;

	for (int r = 0; r < be->size; r++) {
		struct tm_link *l = &be->links[r];

		if (!l->overflow.length)
			continue;
		moved |= tm_link_retry(l);
		if (!l->overflow.length)
			be->nlinks_held--;
	}
	return moved;
}

/*
 * The peer's T_LINK_UP came by MPI: read its link from now on. A rank
 * that could not map its link says so (@len 4, 0) and the driver drops it.
 */
static void link_up(struct tarn_backend *be, int src, const unsigned char *p, size_t len)
{
	struct tm_link *l = &be->links[src];
	uint32_t ok = 1;

	if (len >= sizeof(ok))
		memcpy(&ok, p, sizeof(ok));
	if (be->rank == TM_DRIVER && l->base && !l->rx_on) {
		g_mutex_lock(&be->lock);
		be->links_pending--;
		tm_wake(be);
		g_mutex_unlock(&be->lock);
	}
	if (!ok) {
		tm_link_close(l);
		return;
	}
	if (!l->base || l->rx_on)
		return;
	l->rx_on = true;
	be->rx_links[be->nrx_links++] = src;
	if (be->rank == TM_DRIVER) {
		/* Both ends have it mapped: nothing of it stays in /dev/shm. */
		tm_link_unlink(l);
		tm_send(be, src, T_LINK_UP, NULL, 0, NULL, 0);
	}
	tm_log(be, TARN_LOG_DEBUG, "rank %d: messages with rank %d go over shared memory",
	       be->rank, src);
}

/*
 * With links up, MPI carries what other ranks send and little else: a
 * turn tests it only every TM_MPI_QUIET_POLL_NS, unless an MPI message
 * came in the last TM_MPI_HOT_NS. Over TCP (spawn mode) each test is a
 * poll() system call, a microsecond here, on the path of every hop.
 */
#define TM_MPI_QUIET_POLL_NS 20000u
#define TM_MPI_HOT_NS 1000000u

static bool poll_in(struct tarn_backend *be, int max, uint64_t now)
{
	int got = be->nrx_links ? poll_links(be, max) : 0;
	bool any = got > 0;

	if (be->nrx_links && now - be->mpi_heard_ns >= TM_MPI_HOT_NS &&
	    now - be->mpi_polled_ns < TM_MPI_QUIET_POLL_NS && now >= be->mpi_polled_ns)
		return any;
	be->mpi_polled_ns = now;
	for (int i = 0; i < MAX(max - got, 1); i++) {
		struct tm_rx *rx = &be->rx[be->rx_next];
		MPI_Status st;
		int flag = 0, count = 0, rc;

		rc = MPI_Test(&rx->req, &flag, &st);
		if (rc != MPI_SUCCESS) {
			char msg[160];

			snprintf(msg, sizeof(msg), "rank %d cannot receive (MPI error %d); "
						   "ending the job", be->rank, rc);
			tm_abort_job(be, msg);
		}
		if (!flag)
			break;
		MPI_Get_count(&st, MPI_BYTE, &count);
		be->mpi_heard_ns = now;
		dispatch_buffer(be, st.MPI_SOURCE, rx->buf, (size_t)count);
		post_receive(be, rx);
		be->rx_next = (be->rx_next + 1) % TM_NRX;
		any = true;
	}
	return any;
}

_Noreturn void tm_abort_job(struct tarn_backend *be, const char *msg)
{
	tm_log(be, TARN_LOG_ERROR, "%s", msg);
	fflush(stderr);
	tm_shm_sweep(be); /* the ranks that own them may be gone */
	atomic_store(&be->failed, true);
	MPI_Abort(be->comm != MPI_COMM_NULL ? be->comm : MPI_COMM_WORLD, 1);
	_exit(1);
}

static bool out_pending(struct tarn_backend *be)
{
	bool any;

	g_mutex_lock(&be->out_lock);
	any = be->out.length > 0;
	g_mutex_unlock(&be->out_lock);
	return any;
}

static bool take_token(struct tarn_backend *be)
{
	return !atomic_exchange_explicit(&be->progressing, true, memory_order_acquire);
}

static void give_token(struct tarn_backend *be)
{
	atomic_store_explicit(&be->progressing, false, memory_order_release);
}

/* One turn of progress (token held, be->lock not): true when a message moved. */
static bool progress_turn(struct tarn_backend *be, uint64_t now, int max_in)
{
	bool busy = be->nlinks_held && retry_links(be);

	busy |= drain_out(be);
	busy |= poll_in(be, max_in, now);
	if (be->sends->len)
		complete_sends(be);
	/*
	 * Liveness: every 20 ms, to name a dead rank before mpiexec ends the
	 * job. @now may be older than the last tick (a waiter reads the clock
	 * every few turns, another thread ticked since).
	 */
	if (now > be->last_tick_ns && now - be->last_tick_ns > 20000000u) {
		be->last_tick_ns = now;
		if (be->rank == TM_DRIVER)
			tm_driver_tick(be);
		else
			tm_worker_tick(be);
	}
	if (busy)
		atomic_store(&be->busy_ns, tm_now_ns());
	return busy;
}

/*
 * A waiting thread's turn (be->lock not held), taking in up to @max_in
 * messages: false when nothing moved or another thread holds the token. A
 * handler never waits, so a thread that holds the token never gets here
 * again.
 */
static bool drive(struct tarn_backend *be, uint64_t now, int max_in)
{
	bool busy;

	if (!take_token(be))
		return false;
	busy = progress_turn(be, now, max_in);
	give_token(be);
	return busy;
}

void tm_drive_now(struct tarn_backend *be)
{
	uint64_t now = tm_now_ns();

	atomic_store(&be->driven_ns, now);
	drive(be, now, 64);
}

/*
 * Sleep on out_cond up to @us microseconds, unless something is queued
 * (or even then, with @queued_too: another thread will send it).
 */
static void comm_sleep(struct tarn_backend *be, double us, bool queued_too)
{
	g_mutex_lock(&be->out_lock);
	if ((queued_too || !be->out.length) && !atomic_load(&be->stop)) {
		be->comm_sleeping = true;
		g_cond_wait_until(&be->out_cond, &be->out_lock,
				  g_get_monotonic_time() + (gint64)us + 1);
		be->comm_sleeping = false;
	}
	g_mutex_unlock(&be->out_lock);
}

static gpointer comm_main(gpointer arg)
{
	struct tarn_backend *be = arg;
	uint64_t idle_since = 0;
	double sleep_s = be->backoff;
	double max_sleep = MAX(be->backoff, 0.01);
	unsigned spins = 0;

	for (;;) {
		uint64_t now = tm_now_ns();
		bool busy, stop = atomic_load(&be->stop), sending;

		if (!stop && now - atomic_load(&be->driven_ns) < TM_DRIVE_GRACE_NS) {
			/*
			 * A waiting thread drives progress: keep off its core.
			 * It sends what is queued too: returning at once while a
			 * message waited for it made this loop spin, a fifth of
			 * the samples of a hot round trip spent on reading the
			 * clock and out_lock (a waiter that stops driving wakes
			 * us).
			 */
			comm_sleep(be, TM_DRIVE_GRACE_NS / 1000.0, true);
			idle_since = 0;
			continue;
		}
		if (!take_token(be)) {
			sched_yield();
			continue;
		}
		if (stop && !out_pending(be) && !be->sends->len && !be->nlinks_held) {
			give_token(be);
			break;
		}
		busy = progress_turn(be, now, 64);
		sending = be->sends->len > 0 || be->nlinks_held;
		give_token(be);
		if (busy) {
			idle_since = 0;
			sleep_s = be->backoff;
			continue;
		}
		if (!idle_since)
			idle_since = now;
		if (now - idle_since < be->spin_ns || sending) {
			/*
			 * Spin briefly: an answer usually comes within microseconds.
			 * Yield every other turn: on a machine with fewer cores than
			 * threads, the one we wait for may need this core (yielding
			 * every 32 turns gave 124-209k no-op tasks/s here, every
			 * other turn 256-294k, with round trips no slower).
			 */
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			if (++spins % 2 == 0)
				sched_yield();
			continue;
		}
		/*
		 * Idle: sleep UNIDIST_MPI_BACKOFF at a time; after a second of
		 * nothing, longer and longer (up to 10 ms), so that idle ranks
		 * cost nothing.
		 */
		comm_sleep(be, sleep_s * 1e6, false);
		if (now - idle_since > 1000000000u)
			sleep_s = MIN(sleep_s * 2, max_sleep);
	}
	return NULL;
}

/* Start and end ------------------------------------------------------------------- */

static const char *cfg(const tarn_host_services_t *host, const char *name)
{
	const char *v = host->config_get(host->host, name);

	return v ? v : "";
}

static int fail(struct tarn_backend *be, int rc, const char *fmt, ...) TARN_PRINTF(3, 4);
static int fail(struct tarn_backend *be, int rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	be->host->set_error(be->host->host, msg);
	return rc;
}

static void mpib_error_text(int code, char *buf, size_t len)
{
	char s[MPI_MAX_ERROR_STRING];
	int n = 0;

	if (MPI_Error_string(code, s, &n) != MPI_SUCCESS)
		snprintf(s, sizeof(s), "MPI error %d", code);
	snprintf(buf, len, "%s", s);
}

/* Spawn the monitor and the workers (driver in spawn mode). */
static int spawn_ranks(struct tarn_backend *be, tarn_open_info_t *info)
{
	const tarn_host_services_t *h = be->host;
	const char *exe = h->self_exe(h->host);
	long cpus = strtol(cfg(h, "UNIDIST_CPUS"), NULL, 10);
	const char *hosts = cfg(h, "UNIDIST_MPI_HOSTS");
	char **argv = NULL;
	int *errs, rc, nprocs;
	MPI_Info mi;

	if (cpus < 1)
		cpus = 1;
	nprocs = (int)cpus + 1;
	if (!exe || !exe[0])
		return fail(be, TARN_EUNAVAIL, "spawn mode needs the path of this program, "
						 "and the host does not know it");
	if (info->argv && *info->argv && info->argc && *info->argc > 1)
		argv = *info->argv + 1; /* MPI_Comm_spawn wants them without argv[0] */
	MPI_Info_create(&mi);
	if (hosts[0])
		MPI_Info_set(mi, "host", hosts);
	errs = g_new0(int, nprocs);
	MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
	rc = MPI_Comm_spawn(exe, argv ? argv : MPI_ARGV_NULL, nprocs, mi, 0, MPI_COMM_SELF,
			    &be->inter, errs);
	MPI_Info_free(&mi);
	if (rc == MPI_SUCCESS) {
		for (int i = 0; i < nprocs; i++)
			if (errs[i] != MPI_SUCCESS)
				rc = errs[i];
	}
	g_free(errs);
	if (rc != MPI_SUCCESS) {
		char why[MPI_MAX_ERROR_STRING + 1];

		mpib_error_text(rc, why, sizeof(why));
		return fail(be, TARN_EUNAVAIL,
			    "spawn mode could not start %d ranks (monitor and UNIDIST_CPUS=%ld "
			    "workers) of %s%s%s: %s; with more ranks than cores Open MPI needs "
			    "oversubscription (mpiexec --oversubscribe or "
			    "OMPI_MCA_rmaps_base_oversubscribe=1), or use SPMD mode (mpiexec -n N)",
			    nprocs, cpus, exe, hosts[0] ? " on UNIDIST_MPI_HOSTS=" : "", hosts, why);
	}
	MPI_Intercomm_merge(be->inter, 0, &be->comm);
	return 0;
}

static int mpib_open_common(struct tarn_backend *be, tarn_open_info_t *info)
{
	const tarn_host_services_t *h = be->host;
	const char *mode = cfg(h, "UNIDIST_MPI_SPAWN");
	int inited = 0, finalized = 0, provided = 0, world = 0;
	MPI_Comm parent = MPI_COMM_NULL;

	MPI_Finalized(&finalized);
	if (finalized)
		return fail(be, TARN_EUNAVAIL,
			    "MPI was finalized in this process already and cannot start "
			    "again: the mpi backend allows one tarn_init per process");
	MPI_Initialized(&inited);
	if (!inited) {
		if (MPI_Init_thread(info->argc, info->argv, MPI_THREAD_SERIALIZED, &provided) !=
		    MPI_SUCCESS)
			return fail(be, TARN_EUNAVAIL, "MPI_Init_thread failed");
		be->owns_mpi = true;
	} else {
		MPI_Query_thread(&provided);
	}
	if (provided < MPI_THREAD_SERIALIZED)
		return fail(be, TARN_EUNAVAIL,
			    "this MPI library gives thread level %d, and the backend needs at "
			    "least MPI_THREAD_SERIALIZED (%d)", provided, MPI_THREAD_SERIALIZED);
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_size(MPI_COMM_WORLD, &world);
	MPI_Comm_get_parent(&parent);
	if (parent != MPI_COMM_NULL) {
		/* A spawned rank: the driver is on the other side. */
		be->spawn = true;
		be->inter = parent;
		MPI_Intercomm_merge(parent, 1, &be->comm);
	} else if (strcmp(mode, "true") == 0 || (strcmp(mode, "auto") == 0 && world == 1)) {
		if (world != 1)
			return fail(be, TARN_ECONFIG,
				    "UNIDIST_MPI_SPAWN=true (spawn mode) needs the program to "
				    "start as one rank, but mpiexec started %d; run it alone or with "
				    "mpiexec -n 1, or set UNIDIST_MPI_SPAWN=false (SPMD) or auto",
				    world);
		be->spawn = true;
		int rc = spawn_ranks(be, info);

		if (rc)
			return rc;
	} else {
		if (world < 3)
			return fail(be, TARN_ECONFIG,
				    "SPMD mode (UNIDIST_MPI_SPAWN=%s) needs at least 3 ranks "
				    "(driver, monitor, one worker), but mpiexec started %d; run "
				    "mpiexec -n 3 or more, or start one rank and let it spawn "
				    "(UNIDIST_MPI_SPAWN=true or auto)", mode, world);
		MPI_Comm_dup(MPI_COMM_WORLD, &be->comm);
	}
	MPI_Comm_set_errhandler(be->comm, MPI_ERRORS_RETURN);
	MPI_Comm_rank(be->comm, &be->rank);
	MPI_Comm_size(be->comm, &be->size);
	if (be->size < 3)
		return fail(be, TARN_ECONFIG, "%d ranks in all; the backend needs a driver, "
					      "a monitor and at least one worker", be->size);
	return 0;
}

static void end_mpi(struct tarn_backend *be)
{
	cancel_receives(be);
	if (be->comm != MPI_COMM_NULL)
		MPI_Comm_free(&be->comm);
	if (be->inter != MPI_COMM_NULL)
		MPI_Comm_disconnect(&be->inter);
	if (be->owns_mpi)
		MPI_Finalize();
}

static int mpib_query(const tarn_host_services_t *host, char *reason, size_t len)
{
	int finalized = 0;

	(void)host;
	MPI_Finalized(&finalized);
	if (finalized) {
		snprintf(reason, len, "MPI was finalized in this process already (one tarn_init "
				      "per process on mpi)");
		return TARN_EUNAVAIL;
	}
	return 0;
}

static void free_buffers(struct tarn_backend *be)
{
	if (be->packs)
		for (int i = 0; i < be->size; i++)
			g_free(be->packs[i].buf);
	g_free(be->packs);
	if (be->links)
		for (int i = 0; i < be->size; i++)
			tm_link_close(&be->links[i]);
	g_free(be->links);
	g_free(be->rx_links);
}

void tm_start_comm(struct tarn_backend *be)
{
	be->packs = g_new0(struct tm_pack, be->size);
	be->links = g_new0(struct tm_link, be->size);
	be->rx_links = g_new0(int, be->size);
	start_receives(be);
	be->comm_thread = g_thread_new("tarn-mpi-comm", comm_main, be);
}

static int mpib_open(const tarn_host_services_t *host, tarn_open_info_t *info,
		     tarn_backend_t **out)
{
	struct tarn_backend *be = g_new0(struct tarn_backend, 1);
	int rc;

	be->host = host;
	be->comm = MPI_COMM_NULL;
	be->inter = MPI_COMM_NULL;
	/*
	 * Open MPI yields the core on every poll that finds nothing when it
	 * runs oversubscribed (more ranks than cores, as on any small
	 * machine): a system call per poll, half of a hot round trip here
	 * (6 us, against 3 us without). The comm loop and the waiters yield
	 * on their own schedule instead. The user's setting wins.
	 */
	setenv("OMPI_MCA_mpi_yield_when_idle", "0", 0);
	g_mutex_init(&be->lock);
	g_cond_init(&be->changed);
	g_mutex_init(&be->out_lock);
	g_cond_init(&be->out_cond);
	g_mutex_init(&be->log_lock);
	g_queue_init(&be->out);
	be->pending = g_hash_table_new(g_int64_hash, g_int64_equal);
	be->sends = g_ptr_array_new();
	be->backoff = g_ascii_strtod(cfg(host, "UNIDIST_MPI_BACKOFF"), NULL);
	/*
	 * Poll for 1 ms after the last message before sleeping: a round trip
	 * through a worker takes tens of microseconds of other threads' work
	 * on a busy machine, and a comm thread asleep when the answer comes
	 * adds its whole backoff (measured: 50 µs of polling gave 550 µs
	 * round trips, 1 ms gave 42 µs).
	 */
	be->spin_ns = 1000000;
	be->store = strcmp(cfg(host, "UNIDIST_MPI_SHARED_OBJECT_STORE"), "true") == 0;
	be->round_robin = strcmp(cfg(host, "UNIDIST_MPI_SCHEDULING"), "round-robin") == 0;
	be->local_links = strcmp(cfg(host, "UNIDIST_MPI_LOCAL_LINKS"), "true") == 0;
	be->store_threshold = g_ascii_strtoull(cfg(host, "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD"),
					       NULL, 10);
	be->store_limit = g_ascii_strtoull(cfg(host, "UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY"), NULL,
					   10);
	if (!be->store_limit) {
		/* Automatic: half of what /dev/shm can take now. */
		struct statvfs sv;

		if (statvfs("/dev/shm", &sv) == 0)
			be->store_limit = (uint64_t)sv.f_bavail * sv.f_frsize / 2;
	}
	if (gethostname(be->hostname, sizeof(be->hostname) - 1) != 0)
		snprintf(be->hostname, sizeof(be->hostname), "localhost");

	rc = mpib_open_common(be, info);
	if (rc)
		goto fail;
	if (strcmp(cfg(host, "UNIDIST_MPI_LOG"), "true") == 0) {
		char name[64];

		snprintf(name, sizeof(name), "tarn-mpi-rank%d.log", be->rank);
		be->log = fopen(name, "w");
	}
	info->origin = (uint64_t)be->rank;
	rc = be->rank == TM_DRIVER ? tm_driver_open(be, info) : tm_worker_open(be, info);
	if (rc)
		goto fail;
	*out = be;
	return 0;
fail:
	if (be->comm_thread) {
		atomic_store(&be->stop, true);
		g_thread_join(be->comm_thread);
	}
	end_mpi(be);
	if (be->log)
		fclose(be->log);
	g_hash_table_destroy(be->pending);
	g_ptr_array_free(be->sends, TRUE);
	free_buffers(be);
	g_free(be);
	return rc;
}

void tm_stop_comm(struct tarn_backend *be)
{
	if (!be->comm_thread)
		return;
	atomic_store(&be->stop, true);
	g_mutex_lock(&be->out_lock);
	g_cond_signal(&be->out_cond);
	g_mutex_unlock(&be->out_lock);
	g_thread_join(be->comm_thread);
	be->comm_thread = NULL;
}

static int mpib_close(tarn_backend_t *be)
{
	int rc = be->rank == TM_DRIVER ? tm_driver_close(be) : tm_worker_close(be);

	tm_stop_comm(be);
	end_mpi(be);
	if (be->log)
		fclose(be->log);
	g_hash_table_destroy(be->pending);
	g_ptr_array_free(be->sends, TRUE);
	free_buffers(be);
	g_mutex_clear(&be->lock);
	g_cond_clear(&be->changed);
	g_mutex_clear(&be->out_lock);
	g_cond_clear(&be->out_cond);
	g_mutex_clear(&be->log_lock);
	g_free(be);
	return rc;
}

#define DISPATCH(be, fn, ...)                                                                  \
	((be)->rank == TM_DRIVER ? tm_driver_##fn(be, __VA_ARGS__) : tm_worker_##fn(be, __VA_ARGS__))

static int mpib_submit(tarn_backend_t *be, const tarn_task_desc_t *t)
{
	return DISPATCH(be, submit, t);
}

/* ABI 1.1: many plain tasks in one call; on a worker, one message to the driver. */
static int mpib_submit_batch(tarn_backend_t *be, const tarn_task_desc_t *tasks, size_t n)
{
	return DISPATCH(be, submit_batch, tasks, n);
}

static int mpib_create(tarn_backend_t *be, tarn_ref_t ref, size_t len, uint32_t flags,
		       void **data)
{
	return DISPATCH(be, create, ref, len, flags, data);
}

static int mpib_seal(tarn_backend_t *be, tarn_ref_t ref)
{
	return DISPATCH(be, seal, ref);
}

static int mpib_fetch(tarn_backend_t *be, tarn_ref_t ref, double timeout, tarn_obj_view_t *view)
{
	return DISPATCH(be, fetch, ref, timeout, view);
}

static void mpib_unpin(tarn_backend_t *be, tarn_obj_view_t *view)
{
	if (be->rank == TM_DRIVER)
		tm_driver_unpin(be, view);
	else
		tm_worker_unpin(be, view);
}

static int mpib_wait(tarn_backend_t *be, const tarn_ref_t *refs, size_t n, size_t num_returns,
		     double timeout, bool *ready)
{
	return DISPATCH(be, wait, refs, n, num_returns, timeout, ready);
}

static int mpib_release(tarn_backend_t *be, tarn_ref_t ref)
{
	return DISPATCH(be, release, ref);
}

/*
 * ABI 1.2. On the driver, one lock for the lot. On a worker, fetches go
 * one by one (each is a message to the directory or an owner anyway)
 * under one deadline; releases go as one message.
 */
static int mpib_fetch_batch(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			    double timeout, tarn_obj_view_t *views, size_t *failed)
{
	uint64_t deadline = tm_deadline(timeout);

	if (be->rank == TM_DRIVER)
		return tm_driver_fetch_batch(be, refs, n, timeout, views, failed);
	for (size_t i = 0; i < n; i++) {
		double left = timeout;
		int rc;

		if (timeout > 0) {
			uint64_t now = tm_now_ns();

			left = now >= deadline ? 0 : (double)(deadline - now) / 1e9;
		}
		rc = tm_worker_fetch(be, refs[i], left, &views[i]);
		if (rc) {
			for (size_t j = 0; j < i; j++)
				tm_worker_unpin(be, &views[j]);
			*failed = i;
			return rc;
		}
	}
	return 0;
}

static void mpib_unpin_batch(tarn_backend_t *be, tarn_obj_view_t *views, size_t n)
{
	if (be->rank == TM_DRIVER) {
		tm_driver_unpin_batch(be, views, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		tm_worker_unpin(be, &views[i]);
}

static int mpib_release_batch(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
			      size_t *failed)
{
	if (be->rank == TM_DRIVER)
		return tm_driver_release_batch(be, refs, n, failed);
	return tm_worker_release_batch(be, refs, n);
}

static int mpib_load_library(tarn_backend_t *be, const char *path)
{
	return DISPATCH(be, load_library, path);
}

static int mpib_actor_create(tarn_backend_t *be, const tarn_task_desc_t *ctor)
{
	/* From a worker, creating an actor is a submission like any other. */
	return be->rank == TM_DRIVER ? tm_driver_actor_create(be, ctor) : tm_worker_submit(be, ctor);
}

static int mpib_actor_kill(tarn_backend_t *be, tarn_actor_t actor)
{
	return DISPATCH(be, actor_kill, actor);
}

static int mpib_worker_loop(tarn_backend_t *be)
{
	return be->rank == TM_DRIVER ? TARN_EINVAL : tm_worker_loop(be);
}

static int mpib_cluster_info(tarn_backend_t *be, tarn_node_t *nodes, size_t cap, size_t *n)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	if (be->rank == TM_DRIVER)
		return tm_driver_cluster_info(be, nodes, cap, n);
	/* A worker knows the shape, not the hosts: one node per the driver's view. */
	*n = 1;
	if (cap < 1)
		return 0;
	memset(&nodes[0], 0, sizeof(nodes[0]));
	snprintf(nodes[0].host, sizeof(nodes[0].host), "%s", be->hostname);
	snprintf(nodes[0].ip, sizeof(nodes[0].ip), "127.0.0.1");
	nodes[0].num_cpus = (uint32_t)(be->size - TM_FIRST_WORKER);
	nodes[0].num_workers = nodes[0].num_cpus;
	nodes[0].memory = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	return 0;
}

static const tarn_backend_desc_t mpib_desc = {
	.abi_major = TARN_BACKEND_ABI_MAJOR,
	.abi_minor = TARN_BACKEND_ABI_MINOR,
	.size = sizeof(tarn_backend_desc_t),
	.name = "mpi",
	.version = TARN_VERSION_STRING,
	.description = "Open MPI ranks: driver, monitor and workers (spawn or SPMD), objects "
		       "fetched peer to peer",
	.caps = TARN_CAP_MULTI_PROCESS | TARN_CAP_MULTI_NODE | TARN_CAP_ACTORS | TARN_CAP_SPAWN,
	.query = mpib_query,
	.open = mpib_open,
	.close = mpib_close,
	.submit = mpib_submit,
	.create = mpib_create,
	.seal = mpib_seal,
	.fetch = mpib_fetch,
	.unpin = mpib_unpin,
	.wait = mpib_wait,
	.release = mpib_release,
	.cluster_info = mpib_cluster_info,
	.worker_loop = mpib_worker_loop,
	.load_library = mpib_load_library,
	.actor_create = mpib_actor_create,
	.actor_kill = mpib_actor_kill,
	.submit_batch = mpib_submit_batch,
	.fetch_batch = mpib_fetch_batch,
	.unpin_batch = mpib_unpin_batch,
	.release_batch = mpib_release_batch,
};

TARN_BACKEND_EXPORT const tarn_backend_desc_t *tarn_backend_entry(void)
{
	return &mpib_desc;
}
