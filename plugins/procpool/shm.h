/* SPDX-License-Identifier: MIT */
/*
 * procpool's shared-memory primitives: a single-producer single-consumer
 * byte ring, an eventcount ("doorbell") to sleep on and wake through, and the
 * object store's allocator. All of it is private to the procpool plugin.
 *
 * Rings and doorbells live in memory shared by the driver and the workers
 * (a memfd every process maps); they use only C11 atomics and the futex
 * system call, so they work across processes. The arena's bookkeeping, on
 * the other hand, lives in the driver's private memory: only the driver
 * allocates and frees store blocks, so a worker killed at any instant cannot
 * leave the allocator inconsistent.
 */
#ifndef TARN_PROCPOOL_SHM_H
#define TARN_PROCPOOL_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_CACHELINE 64

/* Doorbell ------------------------------------------------------------------ */

/*
 * An eventcount. A waiter reads the sequence, checks for work, and sleeps
 * only if the sequence has not moved since; a producer publishes its work
 * and then rings. Ringing costs one atomic add and one load when nobody
 * sleeps, and a futex wake only when someone does.
 */
struct pp_doorbell {
	_Alignas(PP_CACHELINE) _Atomic uint32_t seq;
	_Atomic uint32_t sleepers;
};

void pp_doorbell_init(struct pp_doorbell *d);
/* The current sequence; read it before checking for work. */
uint32_t pp_doorbell_seq(struct pp_doorbell *d);
/* Wake every sleeper. */
void pp_doorbell_ring(struct pp_doorbell *d);
/*
 * Sleep until the sequence differs from @seen or @timeout_ns passes
 * (negative: no limit). Returns true when rung (or already changed), false
 * on timeout. Spurious wakeups return true; callers re-check for work.
 */
bool pp_doorbell_wait(struct pp_doorbell *d, uint32_t seen, int64_t timeout_ns);

/*
 * The lazy protocol, for a bell rung on every message: the producer skips
 * the ring, and its locked add on a line the consumer reads, whenever
 * nobody sleeps. It needs the waiter's help: pp_doorbell_prepare() counts
 * the caller as a sleeper *before* its last look for work, and that look
 * must cover everything a lazy ring would have announced. Then either the
 * ringer sees the sleeper (and rings) or the look sees the work (and the
 * waiter cancels). Waiters of a bell rung lazily must all use prepare.
 *
 * pp_doorbell_prepare() returns the sequence to pass to
 * pp_doorbell_sleep(); each prepare is followed by exactly one sleep or
 * one cancel. pp_doorbell_ring_lazy() is called after the work is
 * published and after a seq_cst fence (atomic_thread_fence), which one
 * producer may share between several bells.
 */
uint32_t pp_doorbell_prepare(struct pp_doorbell *d);
bool pp_doorbell_sleep(struct pp_doorbell *d, uint32_t seen, int64_t timeout_ns);
void pp_doorbell_cancel(struct pp_doorbell *d);
static inline void pp_doorbell_ring_lazy(struct pp_doorbell *d)
{
	if (atomic_load_explicit(&d->sleepers, memory_order_relaxed) > 0)
		pp_doorbell_ring(d);
}

/* Ring ----------------------------------------------------------------------- */

/*
 * A byte ring carrying variable-length messages, each 8-byte aligned with an
 * 8-byte header, never split across the end (the producer pads instead).
 * One producer and one consumer, in any two processes. The ring does not
 * sleep or wake: pair it with a doorbell.
 */
struct pp_ring {
	_Alignas(PP_CACHELINE) _Atomic uint64_t head; /* consumer's position, bytes */
	/*
	 * The fields ending in _ are one side's private state, kept in the
	 * shared memory so that a replacement process can take a ring over
	 * where the last one left it (see shm.c for the layout's reasons).
	 */
	uint64_t tail_seen_; /* consumer: the tail it last loaded */
	_Alignas(PP_CACHELINE) _Atomic uint64_t tail; /* producer's position, bytes */
	uint64_t head_seen_; /* producer: the head it last loaded */
	_Alignas(PP_CACHELINE) uint64_t capacity;     /* data bytes, a power of two */
	uint64_t reserved_;
	_Alignas(PP_CACHELINE) uint64_t next_head_; /* consumer: after the peeked message */
	_Alignas(PP_CACHELINE) uint64_t next_tail_; /* producer: after the reserved message */
	_Alignas(PP_CACHELINE) unsigned char data[];
};

/* Whether @r holds a message; from any thread, not only the consumer. */
bool pp_ring_nonempty(struct pp_ring *r);

/* The CPU's spin-wait hint: lets a sibling hyperthread run meanwhile. */
static inline void pp_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * One step of a polling loop that has spun for @spun_ns. Past the first two
 * microseconds (a reply from a peer on another CPU comes sooner) each step
 * also yields the CPU: the kernel tends to put a process this one just woke
 * on this very CPU (wake-affine), where it waits for the spin to end.
 * Measured here after an idle pause: ~200 us per wakeup with a plain spin,
 * against ~20 us for a wakeup onto a free CPU. Two peers that share a CPU
 * then take turns every couple of microseconds instead of every time slice.
 */
void pp_spin_step(uint64_t spun_ns);

/*
 * True when the ring holds a message nobody consumed yet. Only reads shared
 * positions, so any thread may ask without the consumer's lock; the answer
 * may be stale by the time it returns.
 */
static inline bool pp_ring_has_data(struct pp_ring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_acquire) !=
	       atomic_load_explicit(&r->head, memory_order_acquire);
}

/* Bytes to reserve in shared memory for a ring of @capacity data bytes. */
size_t pp_ring_size(size_t capacity);
/* @capacity: a power of two >= 4096. */
void pp_ring_init(struct pp_ring *r, size_t capacity);
/*
 * The largest message a ring of that capacity can carry (payload bytes):
 * one that size always fits in an empty ring, wherever its position is.
 */
size_t pp_ring_max_message(const struct pp_ring *r);

/* Reserved for the padding the producer writes; never a message's type. */
#define PP_RING_PAD UINT32_MAX

/*
 * Producer: room for a message of @len payload bytes with type @type.
 * Returns where to write the payload (8-byte aligned), or NULL when the ring
 * is too full now (errno EAGAIN: retry after the consumer has made progress).
 * NULL with errno EMSGSIZE when @len > pp_ring_max_message() or EINVAL when
 * @type is PP_RING_PAD (those never fit), EPROTO when the consumer's
 * position is corrupt. Nothing is visible to the consumer until
 * pp_ring_commit(). At most one reservation at a time; reserving again
 * before committing abandons the previous reservation.
 */
void *pp_ring_reserve(struct pp_ring *r, uint32_t type, size_t len);
/* Producer: publish the reserved message. */
void pp_ring_commit(struct pp_ring *r);

/*
 * Consumer: the oldest message, or NULL when the ring is empty. Sets *@type
 * and *@len. The bytes stay valid until pp_ring_consume(). NULL with errno
 * EPROTO (while pp_ring_readable() says true) when the ring's shared state
 * is corrupt: the consumer never reads outside the ring.
 */
const void *pp_ring_peek(struct pp_ring *r, uint32_t *type, size_t *len);
/* Consumer: drop the message pp_ring_peek() returned. */
void pp_ring_consume(struct pp_ring *r);
/* Whether a message is waiting (consumer side). */
bool pp_ring_readable(struct pp_ring *r);

/* Arena ----------------------------------------------------------------------- */

/*
 * Allocator of blocks of the object store: offsets into one region of
 * @capacity bytes that the caller maps. Bookkeeping is private to the
 * caller's process; not thread-safe (the caller locks).
 *
 * Freed blocks are reused, neighbours coalesce, and a free block is reused
 * in preference to untouched space (its pages are already resident, so
 * writing them again runs at memory speed rather than first-touch speed).
 */
struct pp_arena;

/* @capacity and @align (a power of two, >= 64) in bytes; NULL on ENOMEM. */
struct pp_arena *pp_arena_create(uint64_t capacity, uint64_t align);
void pp_arena_destroy(struct pp_arena *a);
/*
 * A block of at least @len bytes (0 is allowed and gives a valid block),
 * aligned to @align. Returns 0 and sets *@offset, or TARN_ENOSPC when no
 * free run is large enough.
 */
int pp_arena_alloc(struct pp_arena *a, uint64_t len, uint64_t *offset);
/* Give back a block from pp_arena_alloc(). */
void pp_arena_free(struct pp_arena *a, uint64_t offset);
/* Bytes in allocated blocks (after rounding), and the highest end offset ever used. */
uint64_t pp_arena_used(const struct pp_arena *a);
uint64_t pp_arena_high_water(const struct pp_arena *a);

#endif /* TARN_PROCPOOL_SHM_H */
