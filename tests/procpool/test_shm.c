/* SPDX-License-Identifier: MIT */
/*
 * procpool's shared-memory primitives (plugins/procpool/shm.c), white box:
 * the doorbell and the ring across real processes (fork, MAP_SHARED), the
 * arena against a model. Forked children report through their exit status
 * only (they _exit(), never run Criterion's hooks), die with their parent
 * (PR_SET_PDEATHSIG) when a test times out, and are always reaped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tarn/errors.h>

#include "shm.h"

/* Helpers ------------------------------------------------------------------ */

/*
 * Every test has the same Criterion timeout, a hang detector set well above
 * the slowest test under valgrind. The same for all on purpose: Criterion
 * 2.4.1 (BoxFort) keeps pending timeouts in a list sorted by deadline, and
 * inserting one before a later deadline drops the rest of the list, so that
 * with mixed values running in parallel some tests silently lose theirs.
 */
#define TEST_TIMEOUT 120

/* Generous: only a lost wakeup or a deadlock gets near it. */
#define HANG_NS (20 * (int64_t)1000000000)

static void *shared_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/*
 * fork() whose child dies with the test process: if Criterion kills a test
 * that timed out, no grandchild is left spinning.
 */
static pid_t fork_child(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
		    getppid() != parent)
			_exit(120);
	}
	return pid;
}

/* The child's exit status, or 128 + signal. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void spin_until_sleepers(struct pp_doorbell *d, uint32_t n)
{
	while (atomic_load(&d->sleepers) < n)
		usleep(100);
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return splitmix(r->s);
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* Message @i's bytes: a function of @i alone, so both ends can compute it. */
static void fill(void *p, size_t len, uint64_t i)
{
	unsigned char *b = p;
	size_t k = 0;
	uint64_t w;

	for (; k + 8 <= len; k += 8) {
		w = splitmix(i * 1000003 + k);
		memcpy(b + k, &w, 8);
	}
	if (k < len) {
		w = splitmix(i * 1000003 + k);
		memcpy(b + k, &w, len - k);
	}
}

static bool check(const void *p, size_t len, uint64_t i)
{
	const unsigned char *b = p;
	size_t k = 0;
	uint64_t w;

	for (; k + 8 <= len; k += 8) {
		w = splitmix(i * 1000003 + k);
		if (memcmp(b + k, &w, 8))
			return false;
	}
	if (k < len) {
		w = splitmix(i * 1000003 + k);
		if (memcmp(b + k, &w, len - k))
			return false;
	}
	return true;
}

static uint64_t mix(uint64_t sum, const void *p, size_t len, uint32_t type)
{
	const unsigned char *b = p;

	sum = (sum ^ len ^ ((uint64_t)type << 32)) * 0x100000001b3ull;
	for (size_t k = 0; k < len; k++)
		sum = (sum ^ b[k]) * 0x100000001b3ull;
	return sum;
}

static struct pp_ring *ring_new(size_t capacity)
{
	struct pp_ring *r = shared_map(pp_ring_size(capacity));

	pp_ring_init(r, capacity);
	return r;
}

static void ring_free(struct pp_ring *r)
{
	munmap(r, pp_ring_size(r->capacity));
}

static void send_msg(struct pp_ring *r, uint32_t type, const void *p,
		     size_t len)
{
	void *dst = pp_ring_reserve(r, type, len);

	cr_assert_not_null(dst, "reserve %zu: %s", len, strerror(errno));
	memcpy(dst, p, len);
	pp_ring_commit(r);
}

/* Doorbell ----------------------------------------------------------------- */

Test(doorbell, ring_advances_seq, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	uint32_t s;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	pp_doorbell_ring(d);
	cr_assert_eq(pp_doorbell_seq(d), s + 1);
	pp_doorbell_ring(d);
	cr_assert_eq(pp_doorbell_seq(d), s + 2);
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

Test(doorbell, seq_wraps, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));

	pp_doorbell_init(d);
	atomic_store(&d->seq, UINT32_MAX);
	pp_doorbell_ring(d);
	cr_assert_eq(pp_doorbell_seq(d), 0);
	cr_assert(pp_doorbell_wait(d, UINT32_MAX, -1));
	munmap(d, sizeof(*d));
}

Test(doorbell, wait_returns_at_once_when_rung, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	uint32_t s;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	pp_doorbell_ring(d);
	/* No limit: only the sequence check can end these. */
	cr_assert(pp_doorbell_wait(d, s, -1));
	cr_assert(pp_doorbell_wait(d, s, 0));
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

Test(doorbell, zero_timeout_polls, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));

	pp_doorbell_init(d);
	cr_assert_not(pp_doorbell_wait(d, pp_doorbell_seq(d), 0));
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

Test(doorbell, timeout_returns_false, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	int64_t t0, limit = 50 * 1000000;

	pp_doorbell_init(d);
	t0 = now_ns();
	cr_assert_not(pp_doorbell_wait(d, pp_doorbell_seq(d), limit));
	/* Not a speed check: a timeout must not end the wait early. */
	cr_assert_geq(now_ns() - t0, limit);
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

Test(doorbell, wakes_other_process, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	uint32_t s;
	pid_t pid;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	pid = fork_child();
	if (pid == 0)
		_exit(pp_doorbell_wait(d, s, -1) ? 0 : 1);
	/* Ring only once the child is asleep (or about to be). */
	spin_until_sleepers(d, 1);
	usleep(10000);
	pp_doorbell_ring(d);
	cr_assert_eq(reap(pid), 0);
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

Test(doorbell, times_out_in_other_process, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	uint32_t s;
	pid_t pid;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	pid = fork_child();
	if (pid == 0) {
		int64_t t0 = now_ns(), limit = 100 * 1000000;

		if (pp_doorbell_wait(d, s, limit))
			_exit(1);
		_exit(now_ns() - t0 >= limit ? 0 : 2);
	}
	cr_assert_eq(reap(pid), 0);
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	cr_assert_eq(pp_doorbell_seq(d), s);
	munmap(d, sizeof(*d));
}

Test(doorbell, wakes_every_sleeper, .timeout = TEST_TIMEOUT)
{
	enum { N = 4 };
	struct pp_doorbell *d = shared_map(sizeof(*d));
	pid_t pids[N];
	uint32_t s;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	/*
	 * No limit on the children's waits: a limited one would return true
	 * even without a wake (the sequence moved), hiding a missed wake.
	 */
	for (int i = 0; i < N; i++) {
		pids[i] = fork_child();
		if (pids[i] == 0)
			_exit(pp_doorbell_wait(d, s, -1) ? 0 : 1);
	}
	spin_until_sleepers(d, N);
	usleep(10000);
	pp_doorbell_ring(d);
	for (int i = 0; i < N; i++)
		cr_assert_eq(reap(pids[i]), 0, "sleeper %d", i);
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

static volatile sig_atomic_t signals_seen;

static void on_usr1(int sig)
{
	(void)sig; /* unused: one handler, one signal */
	signals_seen++;
}

Test(doorbell, signal_does_not_end_wait, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	int status;
	uint32_t s;
	pid_t pid;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	pid = fork_child();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_usr1 };
		int64_t t0, limit = 300 * 1000000;

		/* No SA_RESTART: the futex call sees EINTR. */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		t0 = now_ns();
		if (pp_doorbell_wait(d, s, limit))
			_exit(1);
		if (now_ns() - t0 < limit)
			_exit(2);
		_exit(signals_seen > 0 ? 0 : 3);
	}
	spin_until_sleepers(d, 1);
	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		cr_assert_geq(got, 0);
		if (got == pid)
			break;
		kill(pid, SIGUSR1);
		usleep(20000);
	}
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
	munmap(d, sizeof(*d));
}

/*
 * Two processes, two rings, each side sleeping on its doorbell whenever its
 * ring is empty: with a lost wakeup one side would sleep for HANG_NS while
 * the other waits for its reply, and the round trip would fail. Half the
 * time a side first polls for a random while, so that replies land at every
 * point of the other side's way into the futex, not only once it sleeps.
 */
struct pingpong {
	struct pp_doorbell bell[2]; /* [0]: the child sleeps; [1]: the parent */
	_Atomic uint64_t sleeps[2];
};

#define PINGPONG_ROUNDS 100000
#define PINGPONG_RING 4096

/*
 * Wait for one message on @r, sleeping on @bell; false on a hang. @lazy:
 * the other side rings lazily, so count in (prepare) before the last look.
 */
static bool recv_u64(struct pp_ring *r, struct pp_doorbell *bell, bool lazy,
		     _Atomic uint64_t *sleeps, struct rng *rg, uint64_t *v)
{
	uint64_t polls = rng_below(rg, 2) ? rng_below(rg, 2000) : 0;
	const void *p = NULL;
	uint32_t type;
	size_t len;

	for (uint64_t i = 0; i < polls && !p; i++)
		p = pp_ring_peek(r, &type, &len);
	while (!p && lazy) {
		/* Counted as a sleeper, then the check: a later ring sees us. */
		uint32_t s = pp_doorbell_prepare(bell);

		if ((p = pp_ring_peek(r, &type, &len))) {
			pp_doorbell_cancel(bell);
			break;
		}
		atomic_fetch_add(sleeps, 1);
		if (!pp_doorbell_sleep(bell, s, HANG_NS))
			return false;
		p = pp_ring_peek(r, &type, &len);
	}
	while (!p) {
		/* The sequence, then the check: a later ring wakes us. */
		uint32_t s = pp_doorbell_seq(bell);

		if ((p = pp_ring_peek(r, &type, &len)))
			break;
		atomic_fetch_add(sleeps, 1);
		if (!pp_doorbell_wait(bell, s, HANG_NS))
			return false;
	}
	if (type != 7 || len != sizeof(*v))
		return false;
	memcpy(v, p, sizeof(*v));
	pp_ring_consume(r);
	return true;
}

static bool send_u64(struct pp_ring *r, struct pp_doorbell *bell, bool lazy,
		     uint64_t v)
{
	void *p = pp_ring_reserve(r, 7, sizeof(v));

	/* One message in flight each way: the ring is never full. */
	if (!p)
		return false;
	memcpy(p, &v, sizeof(v));
	pp_ring_commit(r);
	if (lazy) {
		atomic_thread_fence(memory_order_seq_cst);
		pp_doorbell_ring_lazy(bell);
	} else {
		pp_doorbell_ring(bell);
	}
	return true;
}

static void ping_pong(bool lazy)
{
	size_t rs = pp_ring_size(PINGPONG_RING);
	size_t size = 4096 + 2 * rs;
	char *base = shared_map(size);
	struct pingpong *pg = (struct pingpong *)base;
	struct pp_ring *to_child, *to_parent;
	struct rng rg = { 6 };
	uint64_t v;
	pid_t pid;

	pp_doorbell_init(&pg->bell[0]);
	pp_doorbell_init(&pg->bell[1]);
	to_child = (struct pp_ring *)(base + 4096);
	to_parent = (struct pp_ring *)(base + 4096 + rs);
	pp_ring_init(to_child, PINGPONG_RING);
	pp_ring_init(to_parent, PINGPONG_RING);

	pid = fork_child();
	if (pid == 0) {
		rg.s = 5; /* not the parent's sequence */
		for (uint64_t i = 0; i < PINGPONG_ROUNDS; i++) {
			if (!recv_u64(to_child, &pg->bell[0], lazy,
				      &pg->sleeps[0], &rg, &v))
				_exit(1);
			if (v != i)
				_exit(2);
			if (!send_u64(to_parent, &pg->bell[1], lazy, v + 1))
				_exit(3);
		}
		_exit(0);
	}
	for (uint64_t i = 0; i < PINGPONG_ROUNDS; i++) {
		cr_assert(send_u64(to_child, &pg->bell[0], lazy, i), "round %lu", i);
		cr_assert(recv_u64(to_parent, &pg->bell[1], lazy,
				   &pg->sleeps[1], &rg, &v),
			  "round %lu: no reply (lost wakeup?)", i);
		cr_assert_eq(v, i + 1, "round %lu", i);
	}
	cr_assert_eq(reap(pid), 0);
	/* The sleeping path was exercised, not just spinning. */
	cr_assert_gt(atomic_load(&pg->sleeps[0]) +
		     atomic_load(&pg->sleeps[1]), 0);
	cr_assert_not(pp_ring_readable(to_child));
	cr_assert_not(pp_ring_readable(to_parent));
	/* Every prepare was matched by one sleep or one cancel. */
	cr_assert_eq(atomic_load(&pg->bell[0].sleepers), 0);
	cr_assert_eq(atomic_load(&pg->bell[1].sleepers), 0);
	munmap(base, size);
}

Test(doorbell, ping_pong_no_lost_wakeup, .timeout = TEST_TIMEOUT)
{
	ping_pong(false);
}

/* The same with lazy rings: a ring skipped while nobody sleeps. */
Test(doorbell, lazy_ping_pong_no_lost_wakeup, .timeout = TEST_TIMEOUT)
{
	ping_pong(true);
}

Test(doorbell, lazy_ring_skips_when_nobody_sleeps, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d));
	uint32_t s;

	pp_doorbell_init(d);
	s = pp_doorbell_seq(d);
	pp_doorbell_ring_lazy(d);
	cr_assert_eq(pp_doorbell_seq(d), s, "a lazy ring with no sleeper moved the sequence");
	/* A prepared waiter counts: the next lazy ring is a real one. */
	cr_assert_eq(pp_doorbell_prepare(d), s);
	cr_assert_eq(atomic_load(&d->sleepers), 1);
	pp_doorbell_ring_lazy(d);
	cr_assert_eq(pp_doorbell_seq(d), s + 1);
	/* Rung since the prepare: the sleep returns at once, rung. */
	cr_assert(pp_doorbell_sleep(d, s, HANG_NS));
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	/* Cancel and a zero-timeout sleep both uncount the caller. */
	s = pp_doorbell_prepare(d);
	pp_doorbell_cancel(d);
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	s = pp_doorbell_prepare(d);
	cr_assert_not(pp_doorbell_sleep(d, s, 0));
	cr_assert_eq(atomic_load(&d->sleepers), 0);
	munmap(d, sizeof(*d));
}

/* A sleeper in another process, prepared, is woken by a lazy ring. */
Test(doorbell, lazy_ring_wakes_prepared_sleeper, .timeout = TEST_TIMEOUT)
{
	struct pp_doorbell *d = shared_map(sizeof(*d) + sizeof(_Atomic int));
	_Atomic int *work = (_Atomic int *)(d + 1);
	pid_t pid;

	pp_doorbell_init(d);
	atomic_init(work, 0);
	pid = fork_child();
	if (pid == 0) {
		uint32_t s = pp_doorbell_prepare(d);

		if (atomic_load(work))
			_exit(3); /* the parent publishes only after we sleep */
		if (!pp_doorbell_sleep(d, s, HANG_NS))
			_exit(1);
		_exit(atomic_load(work) == 1 ? 0 : 2);
	}
	spin_until_sleepers(d, 1);
	usleep(10000); /* most likely inside the futex by now */
	atomic_store(work, 1);
	atomic_thread_fence(memory_order_seq_cst);
	pp_doorbell_ring_lazy(d);
	cr_assert_eq(reap(pid), 0);
	munmap(d, sizeof(*d) + sizeof(_Atomic int));
}

/* Ring, one process -------------------------------------------------------- */

Test(ring, init_empty, .timeout = TEST_TIMEOUT)
{
	struct pp_ring *r = ring_new(4096);
	uint32_t type = 0;
	size_t len = 0;

	cr_assert_geq(pp_ring_size(4096), 4096 + sizeof(*r));
	cr_assert_eq((uintptr_t)r->data % PP_CACHELINE, 0);
	cr_assert_not(pp_ring_readable(r));
	cr_assert_null(pp_ring_peek(r, &type, &len));
	ring_free(r);
}

Test(ring, max_message_is_half_minus_header, .timeout = TEST_TIMEOUT)
{
	for (size_t cap = 4096; cap <= (1u << 24); cap <<= 1) {
		struct pp_ring *r = ring_new(cap);

		cr_assert_eq(pp_ring_max_message(r), cap / 2 - 8);
		ring_free(r);
	}
}

/*
 * The worst case for a large message is an empty ring whose position is
 * half-way: it fits neither before the end nor, after padding, at 0 with
 * more than half the ring. Try every 8-aligned position.
 */
Test(ring, max_message_fits_at_every_position, .timeout = TEST_TIMEOUT)
{
	const size_t cap = 4096;
	struct pp_ring *r = ring_new(cap);
	size_t max = pp_ring_max_message(r);
	unsigned char *buf = malloc(max);
	const void *p;
	uint32_t type;
	size_t len;

	cr_assert_not_null(buf);
	for (size_t pos = 0; pos < cap; pos += 8) {
		pp_ring_init(r, cap);
		for (size_t k = 0; k < pos / 8; k++) {
			cr_assert_not_null(pp_ring_reserve(r, 1, 0));
			pp_ring_commit(r);
			cr_assert_not_null(pp_ring_peek(r, &type, &len));
			pp_ring_consume(r);
		}
		cr_assert_eq(atomic_load(&r->head), pos);
		fill(buf, max, pos);
		send_msg(r, 2, buf, max);
		p = pp_ring_peek(r, &type, &len);
		cr_assert_not_null(p, "position %zu", pos);
		cr_assert_eq(type, 2);
		cr_assert_eq(len, max);
		cr_assert(check(p, len, pos), "position %zu", pos);
		pp_ring_consume(r);
		cr_assert_not(pp_ring_readable(r));
	}
	free(buf);
	ring_free(r);
}

Test(ring, refuses_what_never_fits, .timeout = TEST_TIMEOUT)
{
	struct pp_ring *r = ring_new(4096);

	errno = 0;
	cr_assert_null(pp_ring_reserve(r, 1, pp_ring_max_message(r) + 1));
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_null(pp_ring_reserve(r, 1, SIZE_MAX));
	cr_assert_eq(errno, EMSGSIZE);
	errno = 0;
	cr_assert_null(pp_ring_reserve(r, PP_RING_PAD, 8));
	cr_assert_eq(errno, EINVAL);
	/* Nothing leaked into the ring, and it still works. */
	cr_assert_not(pp_ring_readable(r));
	cr_assert_not_null(pp_ring_reserve(r, 1, 8));
	ring_free(r);
}

Test(ring, zero_length_and_types, .timeout = TEST_TIMEOUT)
{
	struct pp_ring *r = ring_new(4096);
	const uint32_t types[] = { 0, 1, 0x7fffffff, PP_RING_PAD - 1 };
	const void *p;
	uint32_t type;
	size_t len;

	for (size_t i = 0; i < 4; i++) {
		cr_assert_not_null(pp_ring_reserve(r, types[i], i));
		pp_ring_commit(r);
	}
	for (size_t i = 0; i < 4; i++) {
		p = pp_ring_peek(r, &type, &len);
		cr_assert_not_null(p);
		cr_assert_eq(type, types[i]);
		cr_assert_eq(len, i);
		pp_ring_consume(r);
	}
	cr_assert_null(pp_ring_peek(r, &type, &len));
	ring_free(r);
}

Test(ring, invisible_until_commit, .timeout = TEST_TIMEOUT)
{
	struct pp_ring *r = ring_new(4096);
	const void *p;
	uint32_t type;
	size_t len;
	char *w;

	w = pp_ring_reserve(r, 3, 5);
	cr_assert_not_null(w);
	memcpy(w, "hello", 5);
	cr_assert_not(pp_ring_readable(r));
	cr_assert_null(pp_ring_peek(r, &type, &len));
	pp_ring_commit(r);
	cr_assert(pp_ring_readable(r));
	p = pp_ring_peek(r, &type, &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(p, "hello", 5), 0);
	ring_free(r);
}

Test(ring, second_reserve_abandons_first, .timeout = TEST_TIMEOUT)
{
	struct pp_ring *r = ring_new(4096);
	const void *p;
	uint32_t type;
	size_t len;

	cr_assert_not_null(pp_ring_reserve(r, 1, 100));
	send_msg(r, 2, "ab", 2);
	p = pp_ring_peek(r, &type, &len);
	cr_assert_not_null(p);
	cr_assert_eq(type, 2);
	cr_assert_eq(len, 2);
	pp_ring_consume(r);
	cr_assert_not(pp_ring_readable(r));
	ring_free(r);
}

Test(ring, repeated_peek_commit_consume_are_harmless, .timeout = TEST_TIMEOUT)
{
	struct pp_ring *r = ring_new(4096);
	const void *p, *q;
	uint32_t type;
	size_t len;

	/* A commit without a reservation, a consume without a peek. */
	pp_ring_commit(r);
	pp_ring_consume(r);
	cr_assert_not(pp_ring_readable(r));
	send_msg(r, 1, "x", 1);
	pp_ring_commit(r);
	send_msg(r, 2, "yy", 2);
	p = pp_ring_peek(r, &type, &len);
	q = pp_ring_peek(r, &type, &len);
	cr_assert_eq(p, q);
	cr_assert_eq(type, 1);
	pp_ring_consume(r);
	pp_ring_consume(r);
	p = pp_ring_peek(r, &type, &len);
	cr_assert_not_null(p);
	cr_assert_eq(type, 2, "a second consume dropped a message");
	pp_ring_consume(r);
	cr_assert_null(pp_ring_peek(r, &type, &len));
	ring_free(r);
}

Test(ring, full_returns_null_and_recovers, .timeout = TEST_TIMEOUT)
{
	const size_t cap = 4096, plen = 64, total = 8 + 64;
	struct pp_ring *r = ring_new(cap);
	size_t n = 0, k;
	unsigned char buf[64];
	const void *p;
	uint32_t type;
	size_t len;
	void *w;

	while ((w = pp_ring_reserve(r, 1, plen))) {
		fill(w, plen, n++);
		pp_ring_commit(r);
	}
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(n, cap / total);
	/* Still full: not a transient answer. */
	cr_assert_null(pp_ring_reserve(r, 1, plen));
	/*
	 * One byte more than is left before the end: it needs padding, and
	 * then there is no room at the front.
	 */
	cr_assert_null(pp_ring_reserve(r, 1, cap - n * total - 8 + 1));

	/* One consumed frees one slot at the front: the next one wraps. */
	p = pp_ring_peek(r, &type, &len);
	cr_assert(check(p, len, 0));
	pp_ring_consume(r);
	w = pp_ring_reserve(r, 1, plen);
	cr_assert_eq(w, (void *)(r->data + 8), "not padded to index 0");
	fill(w, plen, n++);
	pp_ring_commit(r);
	cr_assert_null(pp_ring_reserve(r, 1, plen));

	for (k = 1; k < n; k++) {
		p = pp_ring_peek(r, &type, &len);
		cr_assert_not_null(p, "message %zu", k);
		cr_assert_eq(len, plen);
		cr_assert(check(p, len, k), "message %zu", k);
		pp_ring_consume(r);
	}
	cr_assert_not(pp_ring_readable(r));
	/* Empty again: a full ring's worth fits again. */
	for (k = 0; k < cap / total; k++) {
		fill(buf, plen, k);
		send_msg(r, 1, buf, plen);
	}
	ring_free(r);
}

/*
 * Random sizes and random batching, so that the ring is seen empty, full
 * and everything between, and wraps (with padding) thousands of times.
 * White box: each reservation's index is predicted from the positions.
 */
Test(ring, fifo_random_sizes_with_wraparound, .timeout = TEST_TIMEOUT)
{
	const size_t cap = 8192, n = 300000;
	struct pp_ring *r = ring_new(cap);
	size_t max = pp_ring_max_message(r);
	struct rng rg = { 1 }, sizes = { 2 }, check_sizes = { 2 };
	size_t sent = 0, recvd = 0, pads = 0, fulls = 0;
	uint64_t sum_in = 0, sum_out = 0;

	while (recvd < n) {
		size_t burst = rng_below(&rg, 40);

		for (size_t b = 0; b < burst && sent < n; b++) {
			struct rng save = sizes;
			size_t len = rng_below(&sizes, 8) == 0 ?
					     rng_below(&sizes, max + 1) :
					     rng_below(&sizes, 200);
			uint64_t tail = atomic_load(&r->tail);
			uint64_t idx = tail & (cap - 1);
			uint64_t total = 8 + ((len + 7) & ~(size_t)7);
			uint64_t pad = idx + total > cap ? cap - idx : 0;
			uint64_t room = cap - (tail - atomic_load(&r->head));
			unsigned char *w;

			w = pp_ring_reserve(r, (uint32_t)sent, len);
			if (!w) {
				cr_assert_eq(errno, EAGAIN);
				/* Full means full: not enough room for it. */
				cr_assert_gt(pad + total, room);
				sizes = save;
				fulls++;
				break;
			}
			cr_assert_eq((uintptr_t)w % 8, 0);
			if (idx + total > cap) {
				cr_assert_eq(w, r->data + 8, "no wrap at %lu",
					     tail);
				pads++;
			} else {
				cr_assert_eq(w, r->data + idx + 8);
			}
			cr_assert_leq(w - r->data + len, cap, "split");
			fill(w, len, sent);
			sum_in = mix(sum_in, w, len, (uint32_t)sent);
			pp_ring_commit(r);
			sent++;
		}
		burst = rng_below(&rg, 40);
		for (size_t b = 0; b < burst; b++) {
			const void *p;
			uint32_t type;
			size_t len, want;

			p = pp_ring_peek(r, &type, &len);
			if (!p) {
				cr_assert_eq(recvd, sent);
				cr_assert_not(pp_ring_readable(r));
				break;
			}
			want = rng_below(&check_sizes, 8) == 0 ?
				       rng_below(&check_sizes, max + 1) :
				       rng_below(&check_sizes, 200);
			cr_assert_eq(type, (uint32_t)recvd);
			cr_assert_eq(len, want, "message %zu", recvd);
			cr_assert(check(p, len, recvd), "message %zu", recvd);
			sum_out = mix(sum_out, p, len, type);
			pp_ring_consume(r);
			recvd++;
		}
	}
	cr_assert_eq(sum_in, sum_out);
	cr_assert_gt(pads, 1000, "only %zu wraps with padding", pads);
	cr_assert_gt(fulls, 100, "the ring was full only %zu times", fulls);
	ring_free(r);
}

/*
 * The consumer trusts nothing it reads from shared memory: a producer that
 * scribbles over the ring makes it stop (NULL, EPROTO), never read outside
 * the buffer.
 */
Test(ring, corrupt_state_detected, .timeout = TEST_TIMEOUT)
{
	const size_t cap = 4096;
	struct pp_ring *r = ring_new(cap);
	uint32_t type, bad[2];
	size_t len;

	/* A tail more than a ring ahead of the head. */
	atomic_store(&r->tail, cap + 8);
	errno = 0;
	cr_assert_null(pp_ring_peek(r, &type, &len));
	cr_assert_eq(errno, EPROTO);
	cr_assert(pp_ring_readable(r));

	/* A header whose length runs past the published bytes. */
	pp_ring_init(r, cap);
	send_msg(r, 1, "abcdefgh", 8);
	bad[0] = 4000;
	bad[1] = 1;
	memcpy(r->data, bad, 8);
	errno = 0;
	cr_assert_null(pp_ring_peek(r, &type, &len));
	cr_assert_eq(errno, EPROTO);

	/* Padding with nothing after it. */
	pp_ring_init(r, cap);
	bad[0] = cap - 8;
	bad[1] = PP_RING_PAD;
	memcpy(r->data, bad, 8);
	atomic_store(&r->tail, cap);
	errno = 0;
	cr_assert_null(pp_ring_peek(r, &type, &len));
	cr_assert_eq(errno, EPROTO);

	/* Producer side: a head beyond the tail, seen once the ring fills. */
	pp_ring_init(r, cap);
	while (pp_ring_reserve(r, 1, 100))
		pp_ring_commit(r);
	cr_assert_eq(errno, EAGAIN);
	atomic_store(&r->head, 1u << 20);
	errno = 0;
	cr_assert_null(pp_ring_reserve(r, 1, 100));
	cr_assert_eq(errno, EPROTO);
	ring_free(r);
}

/* Ring, two processes ------------------------------------------------------ */

struct stream {
	struct pp_doorbell data;  /* the consumer sleeps on it */
	struct pp_doorbell space; /* the producer sleeps on it */
	uint64_t producer_sum;
};

#define STREAM_MESSAGES 2000000
#define STREAM_RING (16 * 1024)

static size_t stream_len(struct rng *sizes, size_t max)
{
	return rng_below(sizes, 16) == 0 ? rng_below(sizes, max + 1)
					 : rng_below(sizes, 256);
}

static int stream_produce(struct stream *st, struct pp_ring *r)
{
	struct rng sizes = { 42 };
	size_t max = pp_ring_max_message(r);
	uint64_t sum = 0;

	for (uint64_t i = 0; i < STREAM_MESSAGES; i++) {
		size_t len = stream_len(&sizes, max);
		uint32_t type = (uint32_t)(i & 0x7fffffff);
		void *w;

		while (!(w = pp_ring_reserve(r, type, len))) {
			uint32_t s;

			if (errno != EAGAIN)
				return 1;
			s = pp_doorbell_seq(&st->space);
			if ((w = pp_ring_reserve(r, type, len)))
				break;
			if (!pp_doorbell_wait(&st->space, s, HANG_NS))
				return 2;
		}
		fill(w, len, i);
		sum = mix(sum, w, len, type);
		pp_ring_commit(r);
		pp_doorbell_ring(&st->data);
	}
	st->producer_sum = sum;
	return 0;
}

Test(ring, two_processes_millions_of_messages, .timeout = TEST_TIMEOUT)
{
	size_t size = 4096 + pp_ring_size(STREAM_RING);
	char *base = shared_map(size);
	struct stream *st = (struct stream *)base;
	struct pp_ring *r = (struct pp_ring *)(base + 4096);
	struct rng sizes = { 42 };
	uint64_t sum = 0;
	size_t max;
	pid_t pid;

	pp_doorbell_init(&st->data);
	pp_doorbell_init(&st->space);
	pp_ring_init(r, STREAM_RING);
	max = pp_ring_max_message(r);

	pid = fork_child();
	if (pid == 0)
		_exit(stream_produce(st, r));

	for (uint64_t i = 0; i < STREAM_MESSAGES; i++) {
		size_t want = stream_len(&sizes, max), len;
		const void *p;
		uint32_t type;

		while (!(p = pp_ring_peek(r, &type, &len))) {
			uint32_t s = pp_doorbell_seq(&st->data);

			if ((p = pp_ring_peek(r, &type, &len)))
				break;
			cr_assert(pp_doorbell_wait(&st->data, s, HANG_NS),
				  "message %lu never came", i);
		}
		/* Checked without Criterion's per-call cost on the hot path. */
		if (type != (uint32_t)(i & 0x7fffffff) || len != want ||
		    !check(p, len, i))
			cr_assert_fail("message %lu: type %u len %zu/%zu",
				       i, type, len, want);
		sum = mix(sum, p, len, type);
		pp_ring_consume(r);
		pp_doorbell_ring(&st->space);
	}
	cr_assert_eq(reap(pid), 0);
	cr_assert_not(pp_ring_readable(r));
	cr_assert_eq(sum, st->producer_sum);
	/* Millions of messages through 16 KiB: it wrapped many times. */
	cr_assert_gt(atomic_load(&r->tail), 1000 * (uint64_t)STREAM_RING);
	munmap(base, size);
}

/* Arena -------------------------------------------------------------------- */

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

static uint64_t must_alloc(struct pp_arena *a, uint64_t len)
{
	uint64_t off = UINT64_MAX;
	int rc = pp_arena_alloc(a, len, &off);

	cr_assert_eq(rc, 0, "alloc %lu: error %d", len, rc);
	return off;
}

Test(arena, create_rejects_bad_alignment, .timeout = TEST_TIMEOUT)
{
	cr_assert_null(pp_arena_create(MiB, 32));
	cr_assert_null(pp_arena_create(MiB, 96));
	cr_assert_null(pp_arena_create(MiB, 0));
	pp_arena_destroy(NULL);
}

Test(arena, fresh_arena, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(MiB, 64);

	cr_assert_not_null(a);
	cr_assert_eq(pp_arena_used(a), 0);
	cr_assert_eq(pp_arena_high_water(a), 0);
	cr_assert_eq(must_alloc(a, MiB), 0, "the whole region, from 0");
	cr_assert_eq(pp_arena_used(a), MiB);
	cr_assert_eq(pp_arena_high_water(a), MiB);
	pp_arena_destroy(a);
}

Test(arena, alignment_and_rounding, .timeout = TEST_TIMEOUT)
{
	const uint64_t aligns[] = { 64, 128, 4096, 64 * KiB, 2 * MiB };
	struct rng rg = { 3 };

	for (size_t i = 0; i < 5; i++) {
		uint64_t al = aligns[i], used = 0, prev_end = 0;
		struct pp_arena *a = pp_arena_create(256 * al, al);

		for (int k = 0; k < 64; k++) {
			uint64_t len = rng_below(&rg, 3 * al) + 1;
			uint64_t n = (len + al - 1) / al * al;
			uint64_t off = must_alloc(a, len);

			cr_assert_eq(off % al, 0, "align %lu: %lu", al, off);
			/* A fresh arena fills from the bottom, in order. */
			cr_assert_eq(off, prev_end);
			prev_end = off + n;
			used += n;
			cr_assert_eq(pp_arena_used(a), used);
		}
		cr_assert_eq(pp_arena_high_water(a), prev_end);
		pp_arena_destroy(a);
	}
}

Test(arena, zero_length_blocks_are_distinct, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(MiB, 64);
	uint64_t x = must_alloc(a, 0), y = must_alloc(a, 0);

	cr_assert_neq(x, y);
	cr_assert_eq(pp_arena_used(a), 128);
	pp_arena_free(a, x);
	cr_assert_eq(pp_arena_used(a), 64);
	pp_arena_free(a, y);
	cr_assert_eq(pp_arena_used(a), 0);
	pp_arena_destroy(a);
}

/* Every order of freeing four adjacent blocks ends in one free block. */
Test(arena, coalesces_in_every_order, .timeout = TEST_TIMEOUT)
{
	const int perms = 24;

	for (int p = 0; p < perms; p++) {
		struct pp_arena *a = pp_arena_create(4 * 64, 64);
		int order[4] = { 0, 1, 2, 3 }, rest = p;
		uint64_t off[4];

		for (int i = 0; i < 4; i++)
			off[i] = must_alloc(a, 64);
		/* The p-th permutation (factorial number system). */
		for (int i = 0; i < 4; i++) {
			int j = i + rest % (4 - i), t = order[i];

			rest /= 4 - i;
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < 4; i++)
			pp_arena_free(a, off[order[i]]);
		cr_assert_eq(pp_arena_used(a), 0);
		/* No fresh space left: only a fully merged block fits. */
		cr_assert_eq(must_alloc(a, 4 * 64), 0, "permutation %d", p);
		pp_arena_destroy(a);
	}
}

Test(arena, enospc, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(MiB, 64);
	uint64_t off = 12345, x;

	cr_assert_eq(pp_arena_alloc(a, MiB + 1, &off), TARN_ENOSPC);
	cr_assert_eq(pp_arena_alloc(a, UINT64_MAX, &off), TARN_ENOSPC);
	cr_assert_eq(pp_arena_alloc(a, UINT64_MAX - 62, &off), TARN_ENOSPC);
	cr_assert_eq(off, 12345, "offset written on failure");
	cr_assert_eq(pp_arena_used(a), 0);
	cr_assert_eq(pp_arena_high_water(a), 0);

	x = must_alloc(a, MiB - 63); /* rounds up to the whole region */
	cr_assert_eq(pp_arena_used(a), MiB);
	cr_assert_eq(pp_arena_alloc(a, 0, &off), TARN_ENOSPC);
	cr_assert_eq(pp_arena_alloc(a, 1, &off), TARN_ENOSPC);
	pp_arena_free(a, x);
	cr_assert_eq(must_alloc(a, 1), 0);
	pp_arena_destroy(a);
}

/* Enough free bytes in total is not enough: they must be contiguous. */
Test(arena, enospc_when_fragmented, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(8 * 64, 64);
	uint64_t off[8], o;

	for (int i = 0; i < 8; i++)
		off[i] = must_alloc(a, 64);
	for (int i = 0; i < 8; i += 2)
		pp_arena_free(a, off[i]);
	cr_assert_eq(pp_arena_used(a), 4 * 64);
	cr_assert_eq(pp_arena_alloc(a, 128, &o), TARN_ENOSPC);
	pp_arena_free(a, off[1]);
	/* Blocks 0, 1, 2 merged. */
	cr_assert_eq(must_alloc(a, 3 * 64), off[0]);
	pp_arena_destroy(a);
}

Test(arena, reuses_freed_space_before_fresh, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(GiB, 64);
	uint64_t x, y, hw;

	x = must_alloc(a, 1000);
	y = must_alloc(a, 1000);
	cr_assert_eq(x, 0);
	cr_assert_eq(y, 1024);
	hw = pp_arena_high_water(a);
	pp_arena_free(a, x);
	cr_assert_eq(must_alloc(a, 500), x);
	cr_assert_eq(pp_arena_high_water(a), hw);

	pp_arena_destroy(a);

	/* A large freed block is split rather than fresh space used. */
	a = pp_arena_create(GiB, 64);
	x = must_alloc(a, 64 * KiB);
	must_alloc(a, 64); /* keeps it from being the top block */
	hw = pp_arena_high_water(a);
	pp_arena_free(a, x);
	cr_assert_eq(must_alloc(a, 100), x);
	cr_assert_eq(must_alloc(a, 4 * KiB), x + 128);
	cr_assert_eq(pp_arena_high_water(a), hw);
	pp_arena_destroy(a);
}

Test(arena, best_fit, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(MiB, 64);
	uint64_t h3, h1, h2, h1b, hw;

	h3 = must_alloc(a, 3 * 64);
	must_alloc(a, 64);
	h1 = must_alloc(a, 64);
	must_alloc(a, 64);
	h2 = must_alloc(a, 2 * 64);
	must_alloc(a, 64);
	h1b = must_alloc(a, 64);
	must_alloc(a, 64);
	hw = pp_arena_high_water(a);
	pp_arena_free(a, h1b);
	pp_arena_free(a, h3);
	pp_arena_free(a, h2);
	pp_arena_free(a, h1);

	/* Smallest that fits; of equal ones, the lowest. */
	cr_assert_eq(must_alloc(a, 64), h1);
	cr_assert_eq(must_alloc(a, 64), h1b);
	cr_assert_eq(must_alloc(a, 2 * 64), h2);
	cr_assert_eq(must_alloc(a, 3 * 64), h3);
	cr_assert_eq(pp_arena_high_water(a), hw);
	pp_arena_destroy(a);
}

/*
 * When nothing free fits but the top block is free, the request starts in
 * it: only the missing part is fresh space, and no hole is left behind.
 */
Test(arena, grows_the_top_free_block, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(MiB, 64);
	uint64_t x, y;

	x = must_alloc(a, 64);
	y = must_alloc(a, 2 * 64);
	pp_arena_free(a, y);
	cr_assert_eq(must_alloc(a, 5 * 64), y);
	cr_assert_eq(pp_arena_high_water(a), 6 * 64);
	cr_assert_eq(x, 0);
	pp_arena_destroy(a);

	/* Also when the top free block plus fresh space is exactly all. */
	a = pp_arena_create(4 * 64, 64);
	x = must_alloc(a, 64);
	y = must_alloc(a, 64);
	pp_arena_free(a, y);
	cr_assert_eq(must_alloc(a, 3 * 64), y);
	cr_assert_eq(pp_arena_used(a), 4 * 64);
	pp_arena_destroy(a);
}

Test(arena, free_of_unknown_offset_is_ignored, .timeout = TEST_TIMEOUT)
{
	struct pp_arena *a = pp_arena_create(MiB, 64);
	uint64_t x, y, z, o;

	x = must_alloc(a, 256);
	y = must_alloc(a, 256);
	z = must_alloc(a, 256);
	pp_arena_free(a, y + 64);     /* inside a block */
	pp_arena_free(a, 3 * MiB);    /* outside the region */
	pp_arena_free(a, z + 256);    /* fresh space */
	pp_arena_free(a, UINT64_MAX);
	cr_assert_eq(pp_arena_used(a), 768);

	pp_arena_free(a, y);
	pp_arena_free(a, y); /* double free */
	cr_assert_eq(pp_arena_used(a), 512);
	/* y's space is handed out once, not twice. */
	cr_assert_eq(must_alloc(a, 256), y);
	o = must_alloc(a, 256);
	cr_assert_neq(o, y);
	cr_assert_eq(o, z + 256);

	/* The remainder of a split block is not a block either. */
	pp_arena_free(a, o);
	pp_arena_free(a, x);
	cr_assert_eq(must_alloc(a, 64), x);
	pp_arena_free(a, x + 64);
	cr_assert_eq(pp_arena_used(a), 64 + 256 + 256);
	pp_arena_destroy(a);
}

/*
 * A million alloc/free cycles over a bounded live set, sizes from 64 bytes
 * to a megabyte: with reuse and coalescing the high-water mark settles near
 * the peak of live bytes instead of creeping up.
 */
Test(arena, million_cycles_bounded_high_water, .timeout = TEST_TIMEOUT)
{
	enum { SLOTS = 256 };
	const uint64_t cycles = 1000000;
	struct pp_arena *a = pp_arena_create(64 * GiB, 64);
	uint64_t off[SLOTS], len[SLOTS], used = 0, peak = 0, hw_half = 0;
	struct rng rg = { 7 };

	for (int i = 0; i < SLOTS; i++)
		len[i] = 0;
	for (uint64_t c = 0; c < cycles; c++) {
		int i = (int)rng_below(&rg, SLOTS);
		uint64_t r = rng_below(&rg, 100), n;

		if (len[i]) {
			pp_arena_free(a, off[i]);
			used -= len[i];
		}
		if (r < 70)
			n = 1 + rng_below(&rg, 4 * KiB);
		else if (r < 97)
			n = 4 * KiB + rng_below(&rg, 60 * KiB);
		else
			n = 64 * KiB + rng_below(&rg, 960 * KiB);
		off[i] = must_alloc(a, n);
		len[i] = (n + 63) & ~63ull;
		used += len[i];
		if (used > peak)
			peak = used;
		if (c == cycles / 2)
			hw_half = pp_arena_high_water(a);
	}
	cr_assert_eq(pp_arena_used(a), used);
	cr_log_info("peak live %lu, high water %lu (%.2fx), half-way %lu", peak,
		    pp_arena_high_water(a),
		    (double)pp_arena_high_water(a) / (double)peak, hw_half);
	cr_assert_leq(pp_arena_high_water(a), peak + peak / 2,
		      "high water %lu for a peak of %lu live bytes",
		      pp_arena_high_water(a), peak);
	/* Steady state: the second half of the run barely adds fresh space. */
	cr_assert_leq(pp_arena_high_water(a) - hw_half, peak / 8);

	for (int i = 0; i < SLOTS; i++)
		if (len[i])
			pp_arena_free(a, off[i]);
	cr_assert_eq(pp_arena_used(a), 0);
	/* Everything merged back: the whole region is one run again. */
	cr_assert_eq(must_alloc(a, 64 * GiB), 0);
	pp_arena_destroy(a);
}

/*
 * Random operations against a model: a map of the region in 64-byte units.
 * Every block lies inside the region, aligned, over units nobody else owns;
 * used() is the sum of live blocks; and ENOSPC comes exactly when no free
 * run of units is long enough (free space is always fully coalesced).
 */
struct model_block {
	uint64_t off, units;
};

static bool model_has_run(const unsigned char *map, uint64_t nunits,
			  uint64_t want)
{
	uint64_t run = 0;

	for (uint64_t u = 0; u < nunits; u++) {
		run = map[u] ? 0 : run + 1;
		if (run >= want)
			return true;
	}
	return false;
}

Test(arena, random_against_model, .timeout = TEST_TIMEOUT)
{
	enum { UNIT = 64, NUNITS = 4096, MAXLIVE = 512 };
	const uint64_t ops = 200000;
	struct pp_arena *a = pp_arena_create(NUNITS * UNIT, UNIT);
	unsigned char *map = calloc(NUNITS, 1);
	struct model_block *live = calloc(MAXLIVE, sizeof(*live));
	uint64_t nlive = 0, used = 0, enospc = 0, max_end = 0;
	struct rng rg = { 11 };

	cr_assert_not_null(map);
	cr_assert_not_null(live);
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t r = rng_below(&rg, 100);

		if (r < 55 && nlive < MAXLIVE) {
			uint64_t len = rng_below(&rg, 8) == 0 ?
					       rng_below(&rg, 256 * UNIT) :
					       rng_below(&rg, 8 * UNIT);
			uint64_t units = len ? (len + UNIT - 1) / UNIT : 1;
			uint64_t off = UINT64_MAX;
			int rc = pp_arena_alloc(a, len, &off);

			if (rc == TARN_ENOSPC) {
				cr_assert_not(model_has_run(map, NUNITS, units),
					      "op %lu: ENOSPC, %lu units free",
					      op, units);
				enospc++;
				continue;
			}
			cr_assert_eq(rc, 0);
			cr_assert_eq(off % UNIT, 0);
			cr_assert_leq(off + units * UNIT, NUNITS * UNIT);
			for (uint64_t u = 0; u < units; u++) {
				cr_assert_eq(map[off / UNIT + u], 0,
					     "op %lu: unit %lu given twice", op,
					     off / UNIT + u);
				map[off / UNIT + u] = 1;
			}
			live[nlive].off = off;
			live[nlive].units = units;
			nlive++;
			used += units * UNIT;
			if (off + units * UNIT > max_end)
				max_end = off + units * UNIT;
		} else if (r < 97 && nlive > 0) {
			uint64_t k = rng_below(&rg, nlive);
			struct model_block b = live[k];

			pp_arena_free(a, b.off);
			memset(map + b.off / UNIT, 0, b.units);
			live[k] = live[--nlive];
			used -= b.units * UNIT;
		} else {
			/* Free something that is not a live block's start. */
			uint64_t off = rng_below(&rg, NUNITS * UNIT + 4096);
			bool is_live = false;

			for (uint64_t k = 0; k < nlive; k++)
				is_live |= live[k].off == off;
			if (!is_live)
				pp_arena_free(a, off);
		}
		cr_assert_eq(pp_arena_used(a), used, "op %lu", op);
		cr_assert_geq(pp_arena_high_water(a), max_end);
		cr_assert_leq(pp_arena_high_water(a), NUNITS * UNIT);
	}
	/* The run went through both regimes. */
	cr_assert_gt(enospc, 100);
	for (uint64_t k = 0; k < nlive; k++)
		pp_arena_free(a, live[k].off);
	cr_assert_eq(pp_arena_used(a), 0);
	cr_assert_eq(must_alloc(a, NUNITS * UNIT), 0);
	free(map);
	free(live);
	pp_arena_destroy(a);
}
