/* SPDX-License-Identifier: MIT */
/*
 * procpool's shared-memory primitives: doorbell (an eventcount over a
 * futex), SPSC byte ring, and the object store's allocator. shm.h states
 * the contract; this file says why it is built the way it is.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include <tarn/errors.h>

#include "shm.h"

/* Doorbell ----------------------------------------------------------------- */

/*
 * No FUTEX_PRIVATE_FLAG: the word lives in a MAP_SHARED mapping that other
 * processes wait on, and a private futex is keyed by (mm, address), which
 * would never match a waker in another process.
 */
static long futex(_Atomic uint32_t *word, int op, uint32_t val,
		  const struct timespec *timeout)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, timeout, NULL, 0);
}

void pp_spin_step(uint64_t spun_ns)
{
	/*
	 * A pause is ~65 cycles on recent x86 cores: 8 of them re-check the
	 * ring about every 0.2 us, where 32 (0.7 us) added ~0.35 us on average
	 * to each hop of a round trip. Once yielding, fewer checks suffice.
	 */
	int pauses = spun_ns > 2000 ? 32 : 8;

	for (int i = 0; i < pauses; i++)
		pp_cpu_relax();
	if (spun_ns > 2000)
		sched_yield();
}

void pp_doorbell_init(struct pp_doorbell *d)
{
	atomic_init(&d->seq, 0);
	atomic_init(&d->sleepers, 0);
}

/*
 * Acquire pairs with the release half of the ringer's fetch_add: a waiter
 * that reads the new sequence also sees the work published before the ring.
 */
uint32_t pp_doorbell_seq(struct pp_doorbell *d)
{
	return atomic_load_explicit(&d->seq, memory_order_acquire);
}

/*
 * The lost-wakeup argument: the ringer does seq++ then loads sleepers; the
 * waiter does sleepers++ then loads seq. All four are seq_cst, so they sit
 * in one total order, and at least one side sees the other's write (the
 * store-buffering litmus test): either the ringer sees a sleeper and wakes
 * it, or the waiter sees the new sequence and does not sleep. Between the
 * waiter's check and its sleep, FUTEX_WAIT re-checks the word under the
 * kernel's bucket lock, so a ring in that window makes it return EAGAIN.
 * When nobody sleeps a ring is one locked add and one plain load.
 */
void pp_doorbell_ring(struct pp_doorbell *d)
{
	atomic_fetch_add_explicit(&d->seq, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&d->sleepers, memory_order_seq_cst) > 0)
		futex(&d->seq, FUTEX_WAKE, INT_MAX, NULL);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool pp_doorbell_wait(struct pp_doorbell *d, uint32_t seen, int64_t timeout_ns)
{
	/* Fast path: no locked instruction when the bell has already rung. */
	if (atomic_load_explicit(&d->seq, memory_order_acquire) != seen)
		return true;
	if (timeout_ns == 0)
		return false;
	atomic_fetch_add_explicit(&d->sleepers, 1, memory_order_seq_cst);
	return pp_doorbell_sleep(d, seen, timeout_ns);
}

/*
 * The lazy ringer publishes, fences, then loads sleepers; the waiter adds
 * itself to sleepers, fences, then looks for the work: the same
 * store-buffering pair as above, with the work itself in place of the
 * sequence on the waiter's side.
 */
uint32_t pp_doorbell_prepare(struct pp_doorbell *d)
{
	atomic_fetch_add_explicit(&d->sleepers, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&d->seq, memory_order_acquire);
}

void pp_doorbell_cancel(struct pp_doorbell *d)
{
	atomic_fetch_sub_explicit(&d->sleepers, 1, memory_order_release);
}

/* Called counted as a sleeper; uncounts the caller before it returns. */
bool pp_doorbell_sleep(struct pp_doorbell *d, uint32_t seen, int64_t timeout_ns)
{
	struct timespec rel, *relp = NULL;
	int64_t deadline = 0, left;
	bool rung = true;

	if (timeout_ns == 0) {
		pp_doorbell_cancel(d);
		return atomic_load_explicit(&d->seq, memory_order_acquire) != seen;
	}
	if (timeout_ns > 0) {
		/* Saturate instead of overflowing for absurd timeouts. */
		left = mono_ns();
		deadline = timeout_ns > INT64_MAX - left ? INT64_MAX
							 : left + timeout_ns;
	}
	for (;;) {
		if (atomic_load_explicit(&d->seq, memory_order_seq_cst) != seen)
			break;
		if (timeout_ns > 0) {
			left = deadline - mono_ns();
			if (left <= 0) {
				rung = false;
				break;
			}
			rel.tv_sec = left / 1000000000;
			rel.tv_nsec = left % 1000000000;
			relp = &rel;
		}
		if (futex(&d->seq, FUTEX_WAIT, seen, relp) == 0)
			break; /* a ring, or spurious: callers re-check */
		if (errno == ETIMEDOUT) {
			rung = pp_doorbell_seq(d) != seen;
			break;
		}
		/*
		 * EINTR: a signal is not a ring. Sleep again for what is left,
		 * so that a process receiving signals still honours its
		 * timeout instead of returning early or never. EAGAIN: the
		 * sequence moved before we slept. Anything else cannot happen
		 * with a valid doorbell; call it spurious rather than spin.
		 */
		if (errno != EINTR)
			break;
	}
	atomic_fetch_sub_explicit(&d->sleepers, 1, memory_order_release);
	return rung;
}

/* Ring --------------------------------------------------------------------- */

/*
 * Layout: each message is an 8-byte header {len, type} and its payload
 * rounded up to 8, starting at an 8-aligned index. head and tail are byte
 * counts that only grow (2^64 bytes never wrap in practice), so full and
 * empty are told apart without a spare slot: used = tail - head.
 *
 * A message never straddles the end: when it would, the producer writes a
 * PP_RING_PAD header over what is left of the buffer and starts again at
 * index 0, and publishes both with one tail store. A padding record is
 * therefore always followed by a message, and the consumer skips it inside
 * pp_ring_peek() without ever publishing a head that points at padding.
 * Since indices are 8-aligned and the capacity is a multiple of 8, at least
 * 8 bytes always remain before the end: a padding header always fits.
 *
 * Cache lines: each side keeps the last value it loaded of the other
 * side's position (head_seen_, tail_seen_) next to its own position and
 * reloads it only when the cached value says "full" or "empty"; a side
 * writes that cache only in the regime where the other side does not read
 * the line (the consumer polls tail when the ring is empty, the producer
 * polls head when it is full), so the caches cost no transfers of their
 * own, and save the other side's line most of the time. The pending
 * positions (next_tail_, next_head_) are written on every message, because
 * the API passes nothing but the ring between reserve and commit, or peek
 * and consume: each has a line of its own that the other side never reads.
 * Next to tail, next_tail_ cost a second ownership transfer per message
 * whenever a spinning consumer was polling tail (up to three times fewer
 * messages per second in a hand-run benchmark). The read-only capacity has
 * a line that both sides keep shared.
 *
 * Orders: the producer's payload writes happen before its release store of
 * tail, which the consumer loads with acquire before reading the payload;
 * the consumer's payload reads happen before its release store of head,
 * which the producer loads with acquire before overwriting those bytes.
 * Each side's own position is read relaxed: only it writes it.
 *
 * Trust: the consumer validates what it reads from shared memory (tail,
 * header lengths) so that a scribbling producer can make it stop, never
 * read outside the ring.
 */
#define RING_HDR 8u
#define RING_MIN_CAPACITY 4096u

struct ring_hdr {
	uint32_t len;
	uint32_t type;
};

static inline uint64_t round8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

size_t pp_ring_size(size_t capacity)
{
	return sizeof(struct pp_ring) + capacity;
}

void pp_ring_init(struct pp_ring *r, size_t capacity)
{
	assert(capacity >= RING_MIN_CAPACITY &&
	       (capacity & (capacity - 1)) == 0);
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->tail_seen_ = 0;
	r->next_head_ = 0;
	r->head_seen_ = 0;
	r->next_tail_ = 0;
	r->capacity = capacity;
	r->reserved_ = 0;
}

/*
 * An empty ring sits at some 8-aligned index i. A message of total size T
 * fits there without padding if T <= C - i, and at index 0 after padding if
 * (C - i) + T <= C, that is T <= i. max(C - i, i) >= C/2 for every i, and
 * for i = C/2 neither holds for T > C/2: C/2 total bytes is exactly the
 * largest message that fits in every empty ring. The payload is also capped
 * so that its length fits the header's 32 bits with room to round up.
 */
static inline uint64_t ring_max(uint64_t cap)
{
	uint64_t max = cap / 2 - RING_HDR;

	return max < UINT32_MAX - 7 ? max : UINT32_MAX - 7;
}

size_t pp_ring_max_message(const struct pp_ring *r)
{
	return ring_max(r->capacity);
}

void *pp_ring_reserve(struct pp_ring *r, uint32_t type, size_t len)
{
	uint64_t cap = r->capacity;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t idx = tail & (cap - 1);
	uint64_t to_end = cap - idx;
	uint64_t total, need, pad = 0;
	struct ring_hdr h;

	if (len > ring_max(cap)) {
		errno = EMSGSIZE;
		return NULL;
	}
	if (type == PP_RING_PAD) {
		errno = EINVAL;
		return NULL;
	}
	total = RING_HDR + round8(len);
	if (total > to_end)
		pad = to_end;
	/* < cap: pad < total <= cap / 2. */
	need = pad + total;
	/* Written so that a stale or corrupt head_seen_ reloads, not wraps. */
	if (tail - r->head_seen_ > cap - need) {
		uint64_t head = atomic_load_explicit(&r->head,
						     memory_order_acquire);

		if (tail - head > cap) {
			errno = EPROTO;
			return NULL;
		}
		r->head_seen_ = head;
		if (tail - head > cap - need) {
			errno = EAGAIN;
			return NULL;
		}
	}
	if (pad) {
		h.len = (uint32_t)(pad - RING_HDR);
		h.type = PP_RING_PAD;
		memcpy(r->data + idx, &h, sizeof(h));
		idx = 0;
	}
	h.len = (uint32_t)len;
	h.type = type;
	memcpy(r->data + idx, &h, sizeof(h));
	r->next_tail_ = tail + need;
	return r->data + idx + RING_HDR;
}

void pp_ring_commit(struct pp_ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	/* A commit without a reservation (or a second one) changes nothing. */
	if (r->next_tail_ > tail)
		atomic_store_explicit(&r->tail, r->next_tail_,
				      memory_order_release);
}

/* Reload the producer's position when the cached one says "empty". */
static inline bool ring_refresh_tail(struct pp_ring *r, uint64_t head)
{
	if (head != r->tail_seen_)
		return true;
	r->tail_seen_ = atomic_load_explicit(&r->tail, memory_order_acquire);
	return head != r->tail_seen_;
}

const void *pp_ring_peek(struct pp_ring *r, uint32_t *type, size_t *len)
{
	uint64_t cap = r->capacity;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t idx, avail, total;
	struct ring_hdr h;

	if (!ring_refresh_tail(r, head))
		return NULL;
	avail = r->tail_seen_ - head;
	if (avail > cap)
		goto corrupt;
	idx = head & (cap - 1);
	memcpy(&h, r->data + idx, sizeof(h));
	if (h.type == PP_RING_PAD) {
		/* Padding runs to the end; a message always follows it. */
		if (cap - idx >= avail)
			goto corrupt;
		avail -= cap - idx;
		head += cap - idx;
		idx = 0;
		memcpy(&h, r->data, sizeof(h));
		if (h.type == PP_RING_PAD)
			goto corrupt;
	}
	total = RING_HDR + round8(h.len);
	if (total > avail || total > cap - idx)
		goto corrupt;
	r->next_head_ = head + total;
	*type = h.type;
	*len = h.len;
	return r->data + idx + RING_HDR;

corrupt:
	errno = EPROTO;
	return NULL;
}

bool pp_ring_nonempty(struct pp_ring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_acquire) !=
	       atomic_load_explicit(&r->head, memory_order_acquire);
}

void pp_ring_consume(struct pp_ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	/* A consume without a peek (or a second one) changes nothing. */
	if (r->next_head_ > head)
		atomic_store_explicit(&r->head, r->next_head_,
				      memory_order_release);
}

bool pp_ring_readable(struct pp_ring *r)
{
	return ring_refresh_tail(r, atomic_load_explicit(&r->head,
							 memory_order_relaxed));
}

/* Arena -------------------------------------------------------------------- */

/*
 * The region below the high-water mark is partitioned into blocks, free or
 * allocated, chained in address order; the untouched space above it is not
 * a block at all. That split is what makes "reuse before fresh" hold by
 * construction: a request is first served, best fit, from the free blocks
 * (a GTree ordered by (size, offset), so the smallest block that fits, and
 * the lowest of equal ones, which keeps the high-water mark down); only when
 * none fits does it touch fresh space, and then it starts inside the free
 * block that ends at the high-water mark, if there is one, so that only the
 * missing part is fresh.
 *
 * Freeing finds the block by offset in a hash table of allocated blocks
 * (an unknown offset is simply not there: no-op), and coalesces it with its
 * address-order neighbours through the list, so free blocks are always
 * maximal: a request fails with ENOSPC exactly when no run of free space,
 * fresh space included, is large enough.
 *
 * Block records are recycled through a free list: a steady state of
 * allocations and frees then calls malloc only inside the GTree. Like the
 * GTree, they come from glib, which aborts when memory runs out: the arena
 * never fails for want of bookkeeping.
 */
struct block {
	uint64_t offset; /* the hash table's key points here */
	uint64_t size;
	struct block *prev, *next; /* address order */
	bool free;
};

struct pp_arena {
	uint64_t capacity;
	uint64_t align;
	uint64_t used;
	uint64_t high_water;
	struct block *first, *last; /* address order; last ends at high_water */
	GTree *free_by_size;        /* free blocks (key and value) */
	GHashTable *live;           /* &offset -> allocated block */
	struct block *spare;        /* recycled records, chained by next */
};

static gint block_cmp(gconstpointer pa, gconstpointer pb)
{
	const struct block *a = pa, *b = pb;

	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

struct pp_arena *pp_arena_create(uint64_t capacity, uint64_t align)
{
	struct pp_arena *a;

	if (align < 64 || (align & (align - 1)) != 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->capacity = capacity;
	a->align = align;
	a->free_by_size = g_tree_new(block_cmp);
	a->live = g_hash_table_new(g_int64_hash, g_int64_equal);
	return a;
}

void pp_arena_destroy(struct pp_arena *a)
{
	struct block *b, *next;

	if (!a)
		return;
	g_tree_destroy(a->free_by_size);
	g_hash_table_destroy(a->live);
	for (b = a->first; b; b = next) {
		next = b->next;
		g_free(b);
	}
	for (b = a->spare; b; b = next) {
		next = b->next;
		g_free(b);
	}
	free(a);
}

static struct block *block_new(struct pp_arena *a)
{
	struct block *b = a->spare;

	if (b) {
		a->spare = b->next;
		return b;
	}
	return g_new(struct block, 1);
}

static void block_unlink(struct pp_arena *a, struct block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		a->first = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		a->last = b->prev;
	b->next = a->spare;
	a->spare = b;
}

/* Insert @b after @pos (NULL: at the front). */
static void block_link_after(struct pp_arena *a, struct block *pos,
			     struct block *b)
{
	b->prev = pos;
	b->next = pos ? pos->next : a->first;
	if (b->next)
		b->next->prev = b;
	else
		a->last = b;
	if (pos)
		pos->next = b;
	else
		a->first = b;
}

static int take(struct pp_arena *a, struct block *b, uint64_t *offset)
{
	b->free = false;
	g_hash_table_insert(a->live, &b->offset, b);
	a->used += b->size;
	*offset = b->offset;
	return 0;
}

int pp_arena_alloc(struct pp_arena *a, uint64_t len, uint64_t *offset)
{
	struct block key, *b, *rest;
	GTreeNode *node;
	uint64_t n;

	/* Checked before rounding, which could overflow. */
	if (len > a->capacity)
		return TARN_ENOSPC;
	/* A zero-length block still needs an offset of its own. */
	n = len ? (len + a->align - 1) & ~(a->align - 1) : a->align;
	if (n > a->capacity)
		return TARN_ENOSPC;

	key.size = n;
	key.offset = 0;
	node = g_tree_lower_bound(a->free_by_size, &key);
	if (node) {
		b = g_tree_node_key(node);
		g_tree_remove(a->free_by_size, b);
		if (b->size > n) {
			rest = block_new(a);
			rest->offset = b->offset + n;
			rest->size = b->size - n;
			rest->free = true;
			block_link_after(a, b, rest);
			g_tree_insert(a->free_by_size, rest, rest);
			b->size = n;
		}
		return take(a, b, offset);
	}

	/* Fresh space: grow the top free block, or append a new one. */
	b = a->last;
	if (b && b->free) {
		if (n - b->size > a->capacity - a->high_water)
			return TARN_ENOSPC;
		g_tree_remove(a->free_by_size, b);
		a->high_water += n - b->size;
		b->size = n;
		return take(a, b, offset);
	}
	if (n > a->capacity - a->high_water)
		return TARN_ENOSPC;
	b = block_new(a);
	b->offset = a->high_water;
	b->size = n;
	block_link_after(a, a->last, b);
	a->high_water += n;
	return take(a, b, offset);
}

void pp_arena_free(struct pp_arena *a, uint64_t offset)
{
	struct block *b, *n;

	b = g_hash_table_lookup(a->live, &offset);
	if (!b)
		return; /* not a live block: nothing to do, nothing to break */
	g_hash_table_remove(a->live, &offset);
	a->used -= b->size;
	b->free = true;

	n = b->prev;
	if (n && n->free) {
		g_tree_remove(a->free_by_size, n);
		n->size += b->size;
		block_unlink(a, b);
		b = n;
	}
	n = b->next;
	if (n && n->free) {
		g_tree_remove(a->free_by_size, n);
		b->size += n->size;
		block_unlink(a, n);
	}
	g_tree_insert(a->free_by_size, b, b);
}

uint64_t pp_arena_used(const struct pp_arena *a)
{
	return a->used;
}

uint64_t pp_arena_high_water(const struct pp_arena *a)
{
	return a->high_water;
}
