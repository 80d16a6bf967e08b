/* SPDX-License-Identifier: MIT */
/*
 * Checks of the mpi backend that the conformance suite cannot make: memory
 * over many put/release cycles, idle ranks, a dying worker, a clean end.
 * Run under mpiexec (SPMD) or alone (spawn) by the scripts next to it; every
 * rank runs main(), and tarn_init() returns on the driver only.
 *
 * Usage: test-mpi-check life|gc|idle|die|place|big|store on|off|batch on|off|
 *        links on|off
 */
#include <dirent.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

#define FAIL(...)                                                                              \
	do {                                                                                   \
		fprintf(stderr, "FAIL: " __VA_ARGS__);                                         \
		fputc('\n', stderr);                                                           \
		exit(1);                                                                       \
	} while (0)

/* byte i = (i * 7 + seed) & 0xff */
static void pattern(unsigned char *p, size_t n, int64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 7 + (size_t)seed) & 0xff);
}

/* n bytes of pattern() */
TARN_TASK(make)
{
	int64_t n, seed;
	unsigned char *p;

	if (tarn_task_arg_i64(ctx, 0, &n) || tarn_task_arg_i64(ctx, 1, &seed))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	if (tarn_task_return_alloc(ctx, 0, (size_t)n, (void **)&p))
		return -1;
	pattern(p, (size_t)n, seed);
	return 0;
}

/* Checks the pattern of make() and returns the size. */
TARN_TASK(check)
{
	const unsigned char *p;
	size_t n;
	int64_t seed;

	if (tarn_task_arg(ctx, 0, (const void **)&p, &n) || tarn_task_arg_i64(ctx, 1, &seed))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)((i * 7 + (size_t)seed) & 0xff))
			return tarn_task_fail(ctx, "byte %zu is wrong", i);
	return tarn_task_return_i64(ctx, 0, (int64_t)n);
}

/* The total size of all arguments (bytes or objects, inline or not). */
TARN_TASK(sizes)
{
	int64_t total = 0;

	for (size_t i = 0; i < tarn_task_num_args(ctx); i++) {
		const void *p;
		size_t n;

		if (tarn_task_arg(ctx, i, &p, &n))
			return tarn_task_fail(ctx, "%s", tarn_last_error());
		total += (int64_t)n;
	}
	return tarn_task_return_i64(ctx, 0, total);
}

/* From a worker: submits check() of @n bytes passed by value, returns its answer. */
TARN_TASK(nest_big)
{
	int64_t n, v;
	unsigned char *buf;
	tarn_arg_t a[2];
	tarn_ref_t r;
	int rc;

	if (tarn_task_arg_i64(ctx, 0, &n))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	buf = malloc((size_t)n);
	if (!buf)
		return tarn_task_fail(ctx, "malloc");
	pattern(buf, (size_t)n, 5);
	a[0] = tarn_arg_bytes(buf, (size_t)n);
	a[1] = tarn_arg_i64(5);
	rc = tarn_remote("check", a, 2, NULL, &r);
	free(buf); /* copied at submit */
	if (rc)
		return tarn_task_fail(ctx, "nested submit: %s", tarn_last_error());
	rc = tarn_get_i64(r, 60, &v);
	tarn_ref_release(r);
	if (rc)
		return tarn_task_fail(ctx, "nested get: %s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, v);
}

/* Puts an object from inside a task, releases it, returns its size. */
TARN_TASK(put_inside)
{
	char buf[200000];
	tarn_ref_t r;
	tarn_object_t *o;
	int64_t n;

	memset(buf, 'x', sizeof(buf));
	if (tarn_put(buf, sizeof(buf), &r) || tarn_get(r, 30, &o))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	n = (int64_t)tarn_object_size(o);
	tarn_object_release(o);
	tarn_ref_release(r);
	return tarn_task_return_i64(ctx, 0, n);
}

/*
 * After @arg 2 ms asleep (so that tasks submitted together spread over
 * the workers), @arg 0 bytes: the worker's pid in the first 8, then
 * make()'s pattern for seed @arg 1.
 */
TARN_TASK(make_pid)
{
	int64_t n, seed, ms, pid = getpid();
	unsigned char *p;

	if (tarn_task_arg_i64(ctx, 0, &n) || tarn_task_arg_i64(ctx, 1, &seed) ||
	    tarn_task_arg_i64(ctx, 2, &ms) || n < 8)
		return tarn_task_fail(ctx, "bad arguments");
	usleep((useconds_t)ms * 1000);
	if (tarn_task_return_alloc(ctx, 0, (size_t)n, (void **)&p))
		return -1;
	memcpy(p, &pid, sizeof(pid));
	for (int64_t i = 8; i < n; i++)
		p[i] = (unsigned char)((i * 7 + seed) & 0xff);
	return 0;
}

/*
 * Puts @arg 0 objects of 200000 bytes (large: kept by this worker, in the
 * store when it is on) and gives them back with one tarn_ref_release_batch,
 * a null ref among them; returns how many it put.
 */
TARN_TASK(put_release_batch)
{
	static char buf[200000];
	tarn_ref_t r[17] = {{0}};
	int64_t n;

	if (tarn_task_arg_i64(ctx, 0, &n) || n < 1 || n > 16)
		return tarn_task_fail(ctx, "bad arguments");
	memset(buf, 'y', sizeof(buf));
	for (int64_t i = 0; i < n; i++)
		if (tarn_put(buf, sizeof(buf), &r[i + (i >= n / 2)]))
			return tarn_task_fail(ctx, "put: %s", tarn_last_error());
	if (tarn_ref_release_batch(r, (size_t)n + 1))
		return tarn_task_fail(ctx, "release_batch: %s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, n);
}

/* @arg 0 + 1 (an argument passed by ref). */
TARN_TASK(add1)
{
	int64_t v;

	if (tarn_task_arg_i64(ctx, 0, &v))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, v + 1);
}

/*
 * Puts a small object (its seal waits for the next message to the
 * driver), then at once waits for it, reads it, passes it to a nested
 * task and releases it: each must see it. Returns what the nested task
 * made of it.
 */
TARN_TASK(put_small_use)
{
	int64_t v, got = -1, out = -1;
	tarn_ref_t r, n;
	tarn_arg_t a;

	if (tarn_task_arg_i64(ctx, 0, &v) || tarn_put(&v, sizeof(v), &r))
		return tarn_task_fail(ctx, "put: %s", tarn_last_error());
	if (tarn_wait(&r, 1, 1, 10, NULL) != 1)
		return tarn_task_fail(ctx, "wait for its own put: %s", tarn_last_error());
	if (tarn_get_i64(r, 10, &got) || got != v)
		return tarn_task_fail(ctx, "get of its own put: %s", tarn_last_error());
	a = tarn_arg_ref(r);
	if (tarn_remote("add1", &a, 1, NULL, &n) || tarn_get_i64(n, 10, &out))
		return tarn_task_fail(ctx, "nested task on its put: %s", tarn_last_error());
	tarn_ref_release(n);
	if (tarn_ref_release(r))
		return tarn_task_fail(ctx, "release: %s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, out);
}

TARN_TASK(die)
{
	raise(SIGKILL);
	return 0;
}

/* The worker's pid, after @arg 0 milliseconds asleep. */
TARN_TASK(whoami)
{
	int64_t ms;

	if (tarn_task_arg_i64(ctx, 0, &ms))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	if (ms > 0)
		usleep((useconds_t)ms * 1000);
	return tarn_task_return_i64(ctx, 0, getpid());
}

TARN_TASK(nap)
{
	sleep(60);
	return tarn_task_return_i64(ctx, 0, 0);
}

/* The processes running this program: every rank of this job. */
static int ranks_pids(int *pids, int cap)
{
	char self[4096], path[320], exe[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct dirent *e;
	DIR *d = opendir("/proc");
	int count = 0;

	if (n <= 0 || !d)
		FAIL("cannot read /proc");
	self[n] = '\0';
	while ((e = readdir(d)) && count < cap) {
		ssize_t m;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
		m = readlink(path, exe, sizeof(exe) - 1);
		if (m <= 0)
			continue;
		exe[m] = '\0';
		if (strcmp(exe, self) == 0)
			pids[count++] = atoi(e->d_name);
	}
	closedir(d);
	return count;
}

/* Resident kB of @pid, or -1. */
static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* CPU seconds (user + system) used by @pid so far, or -1. */
static double cpu_s(int pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int64_t get_i64(tarn_ref_t r)
{
	int64_t v;
	int rc = tarn_get_i64(r, 60, &v);

	if (rc)
		FAIL("tarn_get: %s: %s", tarn_err_name(rc), tarn_last_error());
	tarn_ref_release(r);
	return v;
}

static tarn_ref_t call(const char *name, tarn_arg_t *a, size_t n)
{
	tarn_ref_t r;
	int rc = tarn_remote(name, a, n, NULL, &r);

	if (rc)
		FAIL("tarn_remote(%s): %s", name, tarn_last_error());
	return r;
}

/* A large object made on one worker and checked on another, peer to peer. */
static void life(void)
{
	for (int i = 0; i < 4; i++) {
		tarn_arg_t a[2] = {tarn_arg_i64(3 << 20), tarn_arg_i64(i)};
		tarn_ref_t big = call("make", a, 2);
		tarn_arg_t b[2] = {tarn_arg_ref(big), tarn_arg_i64(i)};

		if (get_i64(call("check", b, 2)) != 3 << 20)
			FAIL("wrong size");
		tarn_ref_release(big);
	}
	printf("life: ok\n");
}

/* Rounds of put/release on the driver, small and large task results, puts in tasks. */
static void cycles(int n)
{
	int64_t v = 42;
	tarn_ref_t w[64];

	for (int i = 0; i < n; i++) {
		tarn_ref_t r;

		if (tarn_put(&v, sizeof(v), &r) || tarn_ref_release(r))
			FAIL("put/release: %s", tarn_last_error());
	}
	for (int i = 0; i < n; i += 64) {
		for (int k = 0; k < 64; k++) {
			tarn_arg_t a[2] = {tarn_arg_i64(k % 2 ? 64 : 4096), tarn_arg_i64(k)};

			w[k] = call("make", a, 2);
		}
		if (tarn_wait(w, 64, 64, 60, NULL) != 64)
			FAIL("wait: %s", tarn_last_error());
		for (int k = 0; k < 64; k++)
			tarn_ref_release(w[k]);
	}
	for (int i = 0; i < n / 100; i++) {
		tarn_arg_t a[2] = {tarn_arg_i64(256 << 10), tarn_arg_i64(i)};
		tarn_ref_t big = call("make", a, 2);
		tarn_arg_t b[2] = {tarn_arg_ref(big), tarn_arg_i64(i)};

		get_i64(call("check", b, 2));
		tarn_ref_release(big);
		get_i64(call("put_inside", NULL, 0));
	}
}

static void gc(void)
{
	int pids[64], n;
	long before[64];

	cycles(10000); /* warm up: allocator pools, MPI buffers */
	n = ranks_pids(pids, 64);
	for (int i = 0; i < n; i++)
		before[i] = rss_kb(pids[i]);
	cycles(100000);
	for (int i = 0; i < n; i++) {
		long after = rss_kb(pids[i]);

		printf("gc: pid %d: %ld kB -> %ld kB after 100000 cycles\n", pids[i], before[i], after);
		if (after > before[i] + 16384)
			FAIL("pid %d grew from %ld kB to %ld kB over 100000 put/release cycles",
			     pids[i], before[i], after);
	}
	if (n < 3)
		FAIL("found %d ranks, expected at least 3", n);
	printf("gc: ok, %d ranks\n", n);
}

static void idle(void)
{
	int pids[64], n;
	double before[64];
	tarn_arg_t a[2] = {tarn_arg_i64(8), tarn_arg_i64(1)};

	get_i64(call("check", (tarn_arg_t[]){tarn_arg_ref(call("make", a, 2)), tarn_arg_i64(1)}, 2));
	sleep(1);
	n = ranks_pids(pids, 64);
	for (int i = 0; i < n; i++)
		before[i] = cpu_s(pids[i]);
	sleep(3);
	for (int i = 0; i < n; i++) {
		double used = cpu_s(pids[i]) - before[i];

		printf("idle: pid %d used %.3f s of CPU in 3 s idle\n", pids[i], used);
		if (used > 0.6)
			FAIL("pid %d used %.2f s of CPU in 3 s with nothing to do", pids[i], used);
	}
	printf("idle: ok, %d ranks\n", n);
}

/*
 * This job's names in /dev/shm now: its links' when @links, else its
 * shared store's segments. A job's names start with its driver's pid
 * ("tarn-mpi-PID-TIME-..."); other tests run their own jobs meanwhile.
 */
static int shm_names(bool links)
{
	char prefix[32];
	struct dirent *e;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	if (!d)
		FAIL("cannot read /dev/shm");
	snprintf(prefix, sizeof(prefix), "tarn-mpi-%x-", (unsigned)getpid());
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		     (strstr(e->d_name, "-link-") != NULL) == links;
	closedir(d);
	return n;
}

static int segments(void)
{
	return shm_names(false);
}

/*
 * A large task result lives in the host's shared store (a segment in
 * /dev/shm) when the store is on and has room, readers get it right, and
 * the segment goes with the last ref. argv: "on" or "off" (no segment
 * expected: store off, or too small for the object).
 */
static void store(const char *expect)
{
	bool on = strcmp(expect, "on") == 0;
	int before = segments(), during, after = -1;
	tarn_arg_t a[2] = {tarn_arg_i64(3 << 20), tarn_arg_i64(5)};
	tarn_ref_t big = call("make", a, 2);
	tarn_arg_t b[2] = {tarn_arg_ref(big), tarn_arg_i64(5)};
	const unsigned char *p;
	tarn_object_t *o;

	if (get_i64(call("check", b, 2)) != 3 << 20)
		FAIL("a worker read the wrong size");
	if (tarn_get(big, 30, &o))
		FAIL("get: %s", tarn_last_error());
	p = tarn_object_data(o);
	for (size_t i = 0; i < tarn_object_size(o); i += 4093)
		if (p[i] != (unsigned char)((i * 7 + 5) & 0xff))
			FAIL("the driver read byte %zu wrong", i);
	during = segments();
	tarn_object_release(o);
	tarn_ref_release(big);
	for (int i = 0; i < 200 && after != before; i++) {
		usleep(10000);
		after = segments();
	}
	printf("store: %d segments before, %d while held, %d after release\n", before, during,
	       after);
	if (on ? during != before + 1 : during != before)
		FAIL("expected %s segment while the object was held", on ? "one" : "no");
	if (after != before)
		FAIL("the segment outlived the object");
	printf("store: ok\n");
}

/* Wait up to 2 s for the store to hold @n segments again. */
static int segments_settle(int n)
{
	int now = segments();

	for (int i = 0; i < 200 && now != n; i++) {
		usleep(10000);
		now = segments();
	}
	return now;
}

/*
 * The batch calls (ABI 1.2) on objects of every kind at once: small
 * results (in the directory), large ones owned by both workers (fetched
 * peer to peer, or mapped from the store when it is on), a failed ref in
 * the middle (nothing stays pinned), a release batch with an unknown ref
 * (the others are still released), and a release batch inside a task. argv:
 * "on" when the store is on (each large result is then a segment, which
 * shows when the objects are freed).
 */
static void batch(const char *store_mode)
{
	enum { N = 12 };
	bool on = strcmp(store_mode, "on") == 0;
	int base = segments(), held, pids[N], npids = 0;
	tarn_ref_t r[N + 1];
	tarn_object_t *o[N + 1];
	int rc;

	for (int i = 0; i < N; i++) {
		/* Every third small, the others 1 MiB; 100 ms each, side by side. */
		tarn_arg_t a[3] = {tarn_arg_i64(i % 3 ? 1 << 20 : 64), tarn_arg_i64(i),
				   tarn_arg_i64(100)};

		r[i] = call("make_pid", a, 3);
	}
	if (tarn_get_batch(r, N, 60, o))
		FAIL("get_batch: %s", tarn_last_error());
	held = segments();
	for (int i = 0; i < N; i++) {
		const unsigned char *p = tarn_object_data(o[i]);
		size_t n = tarn_object_size(o[i]);
		int64_t pid;
		int k;

		if (n != (i % 3 ? 1u << 20 : 64u))
			FAIL("object %d: %zu bytes", i, n);
		for (size_t j = 8; j < n; j++)
			if (p[j] != (unsigned char)((j * 7 + (size_t)i) & 0xff))
				FAIL("object %d: byte %zu is wrong", i, j);
		memcpy(&pid, p, sizeof(pid));
		for (k = 0; k < npids && pids[k] != pid; k++)
			;
		if (k == npids)
			pids[npids++] = (int)pid;
		tarn_object_release(o[i]);
	}
	if (npids < 2)
		FAIL("the results of %d tasks submitted together came from %d worker", N, npids);
	if (on ? held != base + 8 : held != base)
		FAIL("%d segments while 8 large results were held (before: %d)", held, base);

	/* A released ref in the middle: the lot fails on it, nothing stays pinned. */
	r[N] = r[5];
	r[5] = call("make_pid", (tarn_arg_t[3]){tarn_arg_i64(1 << 20), tarn_arg_i64(5),
						tarn_arg_i64(0)}, 3);
	if (tarn_ref_release(r[5]))
		FAIL("release: %s", tarn_last_error());
	memset(o, 0xff, sizeof(o));
	rc = tarn_get_batch(r, N, 60, o);
	if (rc != TARN_ENOENT || !strstr(tarn_last_error(), "ref 5"))
		FAIL("get_batch with a released ref: %s: %s", tarn_err_name(rc),
		     tarn_last_error());
	for (int i = 0; i < N; i++)
		if (o[i])
			FAIL("object %d returned by a failed tarn_get_batch", i);
	/* Releases go on past the unknown ref; every object is then freed. */
	rc = tarn_ref_release_batch(r, N + 1);
	if (rc != TARN_ENOENT || !strstr(tarn_last_error(), "ref 5"))
		FAIL("release_batch with a released ref: %s: %s", tarn_err_name(rc),
		     tarn_last_error());
	if (segments_settle(base) != base)
		FAIL("%d segments after the batch release, %d before", segments(), base);

	/* From inside a task: one message for the lot, a null ref skipped. */
	if (get_i64(call("put_release_batch", (tarn_arg_t[1]){tarn_arg_i64(16)}, 1)) != 16)
		FAIL("put_release_batch");
	if (segments_settle(base) != base)
		FAIL("%d segments after a task's batch release, %d before", segments(), base);
	/*
	 * Calls of one group (UNIDIST_BATCH_CHUNK=256, set in main): the
	 * first's result is ready while the second still runs.
	 */
	{
		tarn_arg_t ms[2] = {tarn_arg_i64(0), tarn_arg_i64(1500)};
		tarn_ref_t g[2];
		int64_t p0, p1;

		if (tarn_remote_batch("whoami", ms, 1, 2, NULL, g))
			FAIL("batch: %s", tarn_last_error());
		if (tarn_wait(&g[0], 1, 1, 1.0, NULL) != 1)
			FAIL("the first call of a group was not ready within 1 s while the "
			     "second slept 1.5 s");
		p0 = get_i64(g[0]);
		p1 = get_i64(g[1]);
		if (p0 != p1)
			FAIL("two calls of one batch ran on pids %lld and %lld: not one group",
			     (long long)p0, (long long)p1);
	}

	/* A small put inside a task is known to the directory before its next word. */
	for (int i = 0; i < 20; i++)
		if (get_i64(call("put_small_use", (tarn_arg_t[1]){tarn_arg_i64(i * 10)}, 1)) !=
		    i * 10 + 1)
			FAIL("put_small_use(%d)", i * 10);
	printf("batch: ok, results from %d workers, %d segments while held\n", npids, held);
}

static void die(void)
{
	tarn_ref_t r[2];
	tarn_object_t *o;
	int rc;

	printf("die: started, killing a worker\n");
	/* One task per worker: die() runs at once, next to a sleeping task. */
	r[0] = call("die", NULL, 0);
	r[1] = call("nap", NULL, 0);
	rc = tarn_get(r[0], TARN_FOREVER, &o);
	FAIL("tarn_get returned %s after its worker died: the job should have ended",
	     tarn_err_name(rc));
}

/*
 * Placement: tasks submitted one at a time (each result got before the
 * next) stay on one worker, so that the others can sleep; tasks submitted
 * together spread over the workers, so that they run side by side.
 */
static void place(void)
{
	int64_t first = -1;
	tarn_ref_t r[2];

	for (int i = 0; i < 50; i++) {
		tarn_arg_t a = tarn_arg_i64(0);
		int64_t pid = get_i64(call("whoami", &a, 1));

		if (first < 0)
			first = pid;
		else if (pid != first)
			FAIL("one task at a time: task %d ran on pid %lld, the first on %lld", i,
			     (long long)pid, (long long)first);
	}
	for (int round = 0; round < 5; round++) {
		int64_t p0, p1;

		for (int i = 0; i < 2; i++) {
			tarn_arg_t a = tarn_arg_i64(200);

			r[i] = call("whoami", &a, 1);
		}
		p0 = get_i64(r[0]);
		p1 = get_i64(r[1]);
		if (p0 == p1)
			FAIL("two tasks submitted together both ran on pid %lld", (long long)p0);
	}
	printf("place: ok\n");
}

/*
 * Messages bigger than a receive buffer (256 KiB): a task with a 1 MiB
 * argument by value, a nested one from a worker, and a task whose many
 * small (inline) arguments add up to more than a buffer.
 */
static void big(void)
{
	size_t n = (1u << 20) + 13;
	unsigned char *buf = malloc(n);
	tarn_ref_t deps[12];
	tarn_arg_t d[12];

	if (!buf)
		FAIL("malloc");
	for (int round = 0; round < 3; round++) {
		tarn_arg_t a[2] = {tarn_arg_bytes(buf, n), tarn_arg_i64(round)};
		tarn_arg_t b[1] = {tarn_arg_i64((int64_t)n + round)};

		pattern(buf, n, round);
		if (get_i64(call("check", a, 2)) != (int64_t)n)
			FAIL("a task with a 1 MiB argument saw the wrong bytes");
		if (get_i64(call("nest_big", b, 1)) != (int64_t)n + round)
			FAIL("a nested task with a 1 MiB argument saw the wrong bytes");
	}
	free(buf);
	for (int i = 0; i < 12; i++) {
		tarn_arg_t a[2] = {tarn_arg_i64(60000 + i), tarn_arg_i64(i)};

		deps[i] = call("make", a, 2);
		d[i] = tarn_arg_ref(deps[i]);
	}
	if (get_i64(call("sizes", d, 12)) != 12 * 60000 + 66)
		FAIL("a task with 12 arguments of 60 KB saw the wrong sizes");
	for (int i = 0; i < 12; i++)
		tarn_ref_release(deps[i]);
	printf("big: ok\n");
}

/* Links this process maps (their names are gone from /dev/shm by now). */
static int links_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int n = 0;

	if (!f)
		FAIL("/proc/self/maps: cannot open");
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/dev/shm/tarn-mpi-") && strstr(line, "-link-"))
			n++;
	fclose(f);
	return n;
}


/*
 * The driver's links to the ranks on its host (UNIDIST_MPI_LOCAL_LINKS):
 * one per other rank when on, none when off, no name left behind either
 * way; and a burst far bigger than a ring (4 packs of 256 KiB) while both
 * workers sleep, so that packs wait in the overflow queue and the ring
 * wraps many times, each way, without losing or reordering a byte.
 */
static void links(const char *mode)
{
	bool on = strcmp(mode, "on") == 0;
	enum { BURST = 300, N = 60000 };
	unsigned char *buf = malloc(N);
	tarn_ref_t nap[2], *r = calloc(BURST, sizeof(*r));
	tarn_node_t *nodes;
	size_t nnodes;
	int want = 0, got;

	if (!buf || !r)
		FAIL("malloc");
	if (tarn_cluster_resources(&nodes, &nnodes))
		FAIL("tarn_cluster_resources: %s", tarn_last_error());
	if (nnodes != 1)
		FAIL("links: %zu hosts, this check wants one", nnodes);
	want = on ? (int)nodes[0].num_workers + 1 : 0; /* the workers and the monitor */
	tarn_cluster_resources_free(nodes);
	got = links_mapped();
	if (got != want)
		FAIL("links %s: the driver maps %d links, want %d", mode, got, want);
	if (shm_names(true))
		FAIL("links %s: %d link names left in /dev/shm after tarn_init", mode,
		     shm_names(true));

	/* Both workers busy for 300 ms: the burst piles up on the way to them. */
	for (int i = 0; i < 2; i++)
		nap[i] = call("whoami", (tarn_arg_t[1]){tarn_arg_i64(300)}, 1);
	for (int i = 0; i < BURST; i++) {
		tarn_arg_t a[2] = {tarn_arg_bytes(buf, N - (size_t)i), tarn_arg_i64(i)};

		pattern(buf, N - (size_t)i, i);
		r[i] = i % 2 ? call("check", a, 2)
			     : call("make", (tarn_arg_t[2]){tarn_arg_i64(N - i), tarn_arg_i64(i)}, 2);
	}
	for (int i = 0; i < 2; i++)
		get_i64(nap[i]);
	for (int i = 0; i < BURST; i++) {
		tarn_object_t *o;
		const unsigned char *p;
		size_t n;
		int rc;

		if (i % 2) {
			if (get_i64(r[i]) != N - i)
				FAIL("links %s: burst task %d saw the wrong bytes", mode, i);
			continue;
		}
		rc = tarn_get(r[i], 60, &o);
		if (rc)
			FAIL("tarn_get: %s: %s", tarn_err_name(rc), tarn_last_error());
		p = tarn_object_data(o);
		n = tarn_object_size(o);
		if (n != (size_t)(N - i))
			FAIL("links %s: burst result %d has %zu bytes, want %d", mode, i, n, N - i);
		for (size_t k = 0; k < n; k++)
			if (p[k] != (unsigned char)((k * 7 + (size_t)i) & 0xff))
				FAIL("links %s: burst result %d: byte %zu is wrong", mode, i, k);
		tarn_object_release(o);
		tarn_ref_release(r[i]);
	}
	free(r);
	free(buf);
	if (links_mapped() != want)
		FAIL("links %s: %d links mapped after the burst, want %d", mode, links_mapped(),
		     want);
	printf("links %s: ok, %d links, a burst of %d tasks of ~%d bytes each way\n", mode, want,
	       BURST, N);
}

int main(int argc, char **argv)
{
	tarn_init_opts_t opts = {&argc, &argv};
	const char *what = argc > 1 ? argv[1] : "";
	int rc;

	/* batch: calls of a batch go in groups of up to 256 (one task each). */
	if (strcmp(what, "batch") == 0)
		setenv("UNIDIST_BATCH_CHUNK", "256", 1);
	rc = tarn_init(&opts); /* returns on the driver only */

	setvbuf(stdout, NULL, _IONBF, 0);
	if (rc)
		FAIL("tarn_init: %s: %s", tarn_err_name(rc), tarn_last_error());
	if (strcmp(what, "life") == 0)
		life();
	else if (strcmp(what, "gc") == 0)
		gc();
	else if (strcmp(what, "idle") == 0)
		idle();
	else if (strcmp(what, "die") == 0)
		die();
	else if (strcmp(what, "place") == 0)
		place();
	else if (strcmp(what, "big") == 0)
		big();
	else if (strcmp(what, "store") == 0 && argc > 2)
		store(argv[2]);
	else if (strcmp(what, "batch") == 0 && argc > 2)
		batch(argv[2]);
	else if (strcmp(what, "links") == 0 && argc > 2)
		links(argv[2]);
	else
		FAIL("usage: %s life|gc|idle|die|place|big|store on|off|batch on|off|links on|off", argv[0]);
	rc = tarn_shutdown();
	if (rc)
		FAIL("tarn_shutdown: %s", tarn_last_error());
	return 0;
}
