/* SPDX-License-Identifier: MIT */
/*
 * Links: the driver's messages to and from the ranks on its own host, over
 * a pair of rings in shared memory instead of MPI.
 *
 * Why: Open MPI 4.1 reaches ranks it spawned (spawn mode, unidist's
 * default) over TCP only, its shared-memory transport never connecting two
 * jobs: a bare ping-pong between a singleton and its spawned child takes
 * 9-25 us here, so a task's round trip could not go below that. Between
 * ranks of one job (SPMD) the rings also skip the matching and the
 * progress engine of each MPI message.
 *
 * What goes over a link: the packed message buffers (struct tm_frame
 * records) between the driver and one rank, each way, once both ends have
 * switched. Bulk transfers (objects' bytes, T_BIG messages) still go by
 * MPI, after their announcement on the link, and ranks other than the
 * driver talk to each other over MPI.
 *
 * Setting up, without reordering anything: the driver creates a segment
 * per rank on its host and names it in its T_HELLO (over MPI). A rank that
 * maps it sends T_LINK_UP over MPI and from then on sends on the link;
 * each side reads the other's ring only once it has received the other's
 * T_LINK_UP over MPI, so every message sent by MPI before the switch has
 * been taken in before the first one on the link. The driver answers a
 * rank's T_LINK_UP with its own and removes the segment's name (both ends
 * have it mapped; nothing is left in /dev/shm). A rank that cannot map it
 * stays on MPI, as do ranks on other hosts, and UNIDIST_MPI_LOCAL_LINKS=false
 * keeps everything on MPI.
 *
 * Each ring has one producer and one consumer, both the holder of their
 * rank's progress token: a record is a 64-bit length, the bytes, padding
 * to 8; a record that would not fit before the end is preceded by a wrap
 * mark. A full ring never blocks its sender (a dead peer would hang the
 * thread that finds out): the pack waits in the link's overflow queue,
 * in order, and goes on a later turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "tm.h"

#define LINK_MAGIC UINT64_C(0x7461726e6c696e6b) /* "tarnlink" */
/* Bytes of each direction's ring: four full packs. */
#define LINK_RING (4u * TM_PACK_MAX + 4096u)
#define LINK_WRAP UINT64_MAX

struct ring_ctl {
	_Alignas(64) _Atomic uint64_t head; /* the producer's */
	_Alignas(64) _Atomic uint64_t tail; /* the consumer's */
};

struct link_hdr {
	uint64_t magic;
	uint64_t nonce;
	uint64_t ring; /* bytes of each ring */
	struct ring_ctl to_rank, to_driver;
};

#define LINK_DATA_OFF ((sizeof(struct link_hdr) + 4095) & ~(size_t)4095)
#define LINK_BYTES (LINK_DATA_OFF + 2 * (size_t)LINK_RING)

struct held_pack {
	size_t len;
	unsigned char bytes[];
};

static void link_name(struct tarn_backend *be, int rank, char *buf, size_t len)
{
	snprintf(buf, len, "/tarn-mpi-%s-link-%d", be->job, rank);
}

static void link_map(struct tm_link *l, void *base, bool driver)
{
	struct link_hdr *h = base;
	unsigned char *data = (unsigned char *)base + LINK_DATA_OFF;

	l->base = base;
	l->tx = driver ? &h->to_rank : &h->to_driver;
	l->rx = driver ? &h->to_driver : &h->to_rank;
	l->tx_data = driver ? data : data + LINK_RING;
	l->rx_data = driver ? data + LINK_RING : data;
	l->tx_head = atomic_load(&l->tx->head);
	l->tx_tail = atomic_load(&l->tx->tail);
	l->rx_tail = atomic_load(&l->rx->tail);
	l->rx_head = l->rx_tail;
	g_queue_init(&l->overflow);
}

int tm_link_create(struct tarn_backend *be, int rank, char *name, size_t len, uint64_t *nonce)
{
	struct tm_link *l = &be->links[rank];
	struct link_hdr *h;
	void *base;
	int fd, rc;

	link_name(be, rank, name, len);
	if (getrandom(nonce, sizeof(*nonce), 0) != sizeof(*nonce))
		*nonce = tm_now_ns() ^ ((uint64_t)getpid() << 32);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	/*
	 * Reserve the pages now: a full /dev/shm would otherwise show as
	 * SIGBUS on the first write to a page of the ring, mid-job.
	 */
	rc = posix_fallocate(fd, 0, (off_t)LINK_BYTES);
	if (rc) {
		close(fd);
		shm_unlink(name);
		return -rc;
	}
	base = mmap(NULL, LINK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = errno;
	close(fd);
	if (base == MAP_FAILED) {
		shm_unlink(name);
		return -rc;
	}
	h = base;
	h->ring = LINK_RING;
	h->nonce = *nonce;
	atomic_store(&h->to_rank.head, 0);
	atomic_store(&h->to_rank.tail, 0);
	atomic_store(&h->to_driver.head, 0);
	atomic_store(&h->to_driver.tail, 0);
	atomic_thread_fence(memory_order_release);
	h->magic = LINK_MAGIC;
	link_map(l, base, true);
	snprintf(l->name, sizeof(l->name), "%s", name);
	return 0;
}

int tm_link_attach(struct tarn_backend *be, const char *name, uint64_t nonce)
{
	struct tm_link *l = &be->links[TM_DRIVER];
	struct link_hdr *h;
	void *base;
	int fd, rc;

	fd = shm_open(name, O_RDWR, 0);
	if (fd < 0)
		return -errno;
	base = mmap(NULL, LINK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = errno;
	close(fd);
	if (base == MAP_FAILED)
		return -rc;
	h = base;
	/* Another host's segment of the same name would not know the nonce. */
	if (h->magic != LINK_MAGIC || h->nonce != nonce || h->ring != LINK_RING) {
		munmap(base, LINK_BYTES);
		return -ENXIO;
	}
	link_map(l, base, false);
	return 0;
}

void tm_link_unlink(struct tm_link *l)
{
	if (l->name[0]) {
		shm_unlink(l->name);
		l->name[0] = '\0';
	}
}

/* Write one record; false when the ring has no room for it now. */
static bool ring_push(struct tm_link *l, const void *buf, size_t len)
{
	size_t need = sizeof(uint64_t) + tm_pad8(len);
	uint64_t head = l->tx_head, pos = head % LINK_RING;
	uint64_t skip = LINK_RING - pos < need ? LINK_RING - pos : 0;

	if (head + skip + need - l->tx_tail > LINK_RING) {
		l->tx_tail = atomic_load_explicit(&l->tx->tail, memory_order_acquire);
		if (head + skip + need - l->tx_tail > LINK_RING)
			return false;
	}
	if (skip) {
		uint64_t wrap = LINK_WRAP;

		memcpy(l->tx_data + pos, &wrap, sizeof(wrap));
		head += skip;
		pos = 0;
	}
	memcpy(l->tx_data + pos, &(uint64_t){len}, sizeof(uint64_t));
	memcpy(l->tx_data + pos + sizeof(uint64_t), buf, len);
	head += need;
	l->tx_head = head;
	atomic_store_explicit(&l->tx->head, head, memory_order_release);
	return true;
}

bool tm_link_send(struct tm_link *l, const void *buf, size_t len)
{
	struct held_pack *h;

	if (!l->overflow.length && ring_push(l, buf, len))
		return true;
	h = g_malloc(sizeof(*h) + len);
	h->len = len;
	memcpy(h->bytes, buf, len);
	g_queue_push_tail(&l->overflow, h);
	return false;
}

bool tm_link_retry(struct tm_link *l)
{
	struct held_pack *h;
	bool moved = false;

	while ((h = g_queue_peek_head(&l->overflow)) && ring_push(l, h->bytes, h->len)) {
		g_queue_pop_head(&l->overflow);
		g_free(h);
		moved = true;
	}
	return moved;
}

const unsigned char *tm_link_peek(struct tarn_backend *be, struct tm_link *l, int src,
				  size_t *len)
{
	uint64_t tail = l->rx_tail, pos, n;

	if (tail == l->rx_head) {
		l->rx_head = atomic_load_explicit(&l->rx->head, memory_order_acquire);
		if (tail == l->rx_head)
			return NULL;
	}
	pos = tail % LINK_RING;
	memcpy(&n, l->rx_data + pos, sizeof(n));
	if (n == LINK_WRAP) {
		tail += LINK_RING - pos;
		pos = 0;
		memcpy(&n, l->rx_data, sizeof(n));
	}
	if (n > TM_PACK_MAX || n > LINK_RING - pos - sizeof(uint64_t) ||
	    tail + sizeof(uint64_t) + tm_pad8(n) > l->rx_head) {
		char msg[160];

		snprintf(msg, sizeof(msg), "rank %d: the link from rank %d is corrupt (a record "
					   "of %llu bytes); ending the job", be->rank, src,
			 (unsigned long long)n);
		tm_abort_job(be, msg);
	}
	l->rx_next = tail + sizeof(uint64_t) + tm_pad8(n);
	*len = (size_t)n;
	return l->rx_data + pos + sizeof(uint64_t);
}

void tm_link_consume(struct tm_link *l)
{
	l->rx_tail = l->rx_next;
	atomic_store_explicit(&l->rx->tail, l->rx_tail, memory_order_release);
}

void tm_link_close(struct tm_link *l)
{
	struct held_pack *h;

	tm_link_unlink(l);
	while ((h = g_queue_pop_head(&l->overflow)))
		g_free(h);
	if (l->base)
		munmap(l->base, LINK_BYTES);
	memset(l, 0, sizeof(*l));
}
