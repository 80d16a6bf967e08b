/* SPDX-License-Identifier: MIT */
/*
 * procpool-specific behaviour: workers that die, time limits, the shared
 * store's limits and zero-copy, the workers' environment, and cleanup when
 * the driver is killed. The semantics every backend shares are in the
 * conformance suite, which runs on procpool too.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <glib.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tarn/tarn.h>

/* Tasks -------------------------------------------------------------------- */

/* Killed by SIGKILL on its first attempt, then returns 42. */
TARN_TASK(die_once)
{
	if (tarn_task_attempt(ctx) == 1)
		raise(SIGKILL);
	return tarn_task_return_i64(ctx, 0, 42);
}

/* Returns its attempt; call number 50 kills its worker on attempt 1. */
TARN_TASK(attempt_or_die_at_50)
{
	int64_t i;

	if (tarn_task_arg_i64(ctx, 0, &i))
		return -1;
	if (i == 50 && tarn_task_attempt(ctx) == 1)
		raise(SIGKILL);
	return tarn_task_return_i64(ctx, 0, tarn_task_attempt(ctx));
}

/* Call number 7 segfaults every time; the others return their number. */
TARN_TASK(segfault_at_7)
{
	int64_t i;

	if (tarn_task_arg_i64(ctx, 0, &i))
		return -1;
	if (i == 7)
		raise(SIGSEGV);
	return tarn_task_return_i64(ctx, 0, i);
}

TARN_TASK(segfault_always)
{
	raise(SIGSEGV);
	return 0;
}

TARN_TASK(nap_ms)
{
	int64_t ms;

	if (tarn_task_arg_i64(ctx, 0, &ms))
		return -1;
	g_usleep((gulong)ms * 1000);
	return tarn_task_return_i64(ctx, 0, ms);
}

/* Naps 100 ms, then says which process it ran in. */
TARN_TASK(nap_pid)
{
	g_usleep(100000);
	return tarn_task_return_i64(ctx, 0, getpid());
}

TARN_TASK(my_pid)
{
	return tarn_task_return_i64(ctx, 0, getpid());
}

/* The calling process's memory policy mode (get_mempolicy). */
TARN_TASK(mempolicy)
{
	int mode = -1;
	unsigned long mask = 0;

	if (syscall(SYS_get_mempolicy, &mode, &mask, 8 * sizeof(mask), NULL, 0) != 0)
		return tarn_task_fail(ctx, "get_mempolicy failed");
	return tarn_task_return_i64(ctx, 0, mode);
}

/* Whether @addr lies in a mapping of this process whose name contains @what. */
static bool address_in(const void *addr, const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool in = false;

	if (!f)
		return false;
	while (!in && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (unsigned long)addr >= lo &&
		    (unsigned long)addr < hi && strstr(line, what))
			in = true;
	}
	fclose(f);
	return in;
}

/* 1 when argument 0 is read in place from the shared store. */
TARN_TASK(arg_in_store)
{
	const void *p;
	size_t n;

	if (tarn_task_arg(ctx, 0, &p, &n))
		return -1;
	return tarn_task_return_i64(ctx, 0, address_in(p, "tarn-procpool-store"));
}

/* A result written straight into the store. */
/*
 * make_block after 100 ms, so that its caller can release the block's ref
 * first; then a second result, 1, that says it is done.
 */
TARN_TASK(late_block)
{
	int64_t n;
	void *p;

	g_usleep(100000);
	if (tarn_task_arg_i64(ctx, 0, &n) || tarn_task_return_alloc(ctx, 0, (size_t)n, &p))
		return -1;
	memset(p, 0x5a, (size_t)n);
	return tarn_task_return_i64(ctx, 1, 1);
}

TARN_TASK(make_block)
{
	int64_t n;
	void *p;

	if (tarn_task_arg_i64(ctx, 0, &n) || tarn_task_return_alloc(ctx, 0, (size_t)n, &p))
		return -1;
	memset(p, 0x5a, (size_t)n);
	return 0;
}

/* 2 * argument 0, plus 1 when the result's bytes are in the shared store. */
TARN_TASK(double_in_store)
{
	int64_t i, v;
	void *p;

	if (tarn_task_arg_i64(ctx, 0, &i) || tarn_task_return_alloc(ctx, 0, sizeof(v), &p))
		return -1;
	v = 2 * i + address_in(p, "tarn-procpool-store");
	memcpy(p, &v, sizeof(v));
	return 0;
}

/* Argument 0 bytes, each of that value. */
TARN_TASK(bytes_of_len)
{
	unsigned char buf[256];
	int64_t n;

	if (tarn_task_arg_i64(ctx, 0, &n) || n < 0 || n > (int64_t)sizeof(buf))
		return -1;
	memset(buf, (int)n, (size_t)n);
	return tarn_task_return(ctx, 0, buf, (size_t)n);
}

/* Appends a byte to the file named by argument 0; returns its pid. */
TARN_TASK(count_run)
{
	const void *path;
	size_t n;
	char name[256];
	int fd;

	if (tarn_task_arg(ctx, 0, &path, &n) || n >= sizeof(name))
		return -1;
	memcpy(name, path, n);
	name[n] = 0;
	g_usleep(2000); /* the caller sleeps in its get meanwhile */
	fd = open(name, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return tarn_task_fail(ctx, "cannot append to %s", name);
	close(fd);
	return tarn_task_return_i64(ctx, 0, getpid());
}

/* What put_and_keep returns: the ref it keeps, and the worker's pid. */
struct kept {
	tarn_ref_t ref;
	int64_t pid;
};

/* Puts argument 0 bytes and never releases the ref, like a leaky task. */
TARN_TASK(put_and_keep)
{
	struct kept k = {.pid = getpid()};
	int64_t n;
	void *p;
	int rc;

	if (tarn_task_arg_i64(ctx, 0, &n))
		return -1;
	p = g_malloc((size_t)n);
	memset(p, 0x3c, (size_t)n);
	rc = tarn_put(p, (size_t)n, &k.ref);
	g_free(p);
	if (rc)
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	return tarn_task_return(ctx, 0, &k, sizeof(k));
}

/* Submits a child and waits for it inside the task. */
TARN_TASK(wait_child)
{
	tarn_arg_t a = tarn_arg_i64(20);
	tarn_ref_t r;
	int64_t v;

	if (tarn_remote("nap_ms", &a, 1, NULL, &r) || tarn_get_i64(r, TARN_FOREVER, &v))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	tarn_ref_release(r);
	return tarn_task_return_i64(ctx, 0, v + 1);
}

/* Helpers ---------------------------------------------------------------------- */

static void start(const char *workers)
{
	cr_assert_eq(tarn_config_set("UNIDIST_BACKEND", "procpool"), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_config_set("UNIDIST_CPUS", workers), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_init(NULL), 0, "tarn_init: %s", tarn_last_error());
	cr_assert_str_eq(tarn_backend_name(), "procpool");
}

static tarn_ref_t call(const char *name, tarn_arg_t *args, size_t n, const tarn_task_opts_t *o)
{
	tarn_ref_t r;

	cr_assert_eq(tarn_remote(name, args, n, o, &r), 0, "%s: %s", name, tarn_last_error());
	return r;
}

/* Processes whose parent is @ppid. */
static GArray *children_of(pid_t ppid)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(pid_t));
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[64], *text = NULL, *close_paren;
		int pid = atoi(e->d_name), pp = 0;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (!g_file_get_contents(path, &text, NULL, NULL))
			continue;
		close_paren = strrchr(text, ')');
		if (close_paren && sscanf(close_paren + 2, "%*c %d", &pp) == 1 && pp == ppid) {
			pid_t p = pid;

			g_array_append_val(out, p);
		}
		g_free(text);
	}
	if (d)
		closedir(d);
	return out;
}

/*
 * tarn's entries in /dev/shm, newline-separated and sorted. procpool keeps
 * its store in memfds, which never appear there; any segment a backend
 * makes with shm_open() is named "tarn..." (docs/style.md), so entries of
 * other programs running on the machine meanwhile do not count.
 */
static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *tarn_shm_entries(void)
{
	GDir *d = g_dir_open("/dev/shm", 0, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *e;
	char *out;

	while (d && (e = g_dir_read_name(d)))
		if (g_str_has_prefix(e, "tarn"))
			g_ptr_array_add(names, g_strdup(e));
	if (d)
		g_dir_close(d);
	g_ptr_array_sort(names, by_name);
	g_ptr_array_add(names, NULL);
	out = g_strjoinv("\n", (char **)names->pdata);
	g_ptr_array_free(names, TRUE);
	return out;
}

/* Faults ------------------------------------------------------------------------- */

Test(faults, killed_worker_is_replaced_and_task_retried, .timeout = 300)
{
	int64_t v = 0;

	start("2");
	cr_assert_eq(tarn_get_i64(call("die_once", NULL, 0, NULL), 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 42, "the retry's result");
	/* The pool is whole again: both workers answer. */
	for (int i = 0; i < 20; i++)
		cr_assert_eq(tarn_get_i64(call("my_pid", NULL, 0, NULL), 30, &v), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * The calls of a batch run 100 to a task (UNIDIST_BATCH_CHUNK): when the
 * worker dies at call 50, the 50 calls before it keep the results of their
 * first attempt and do not run again; call 50 and the rest run on the retry.
 */
Test(faults, a_worker_killed_inside_a_group_of_calls_keeps_what_finished, .timeout = 300)
{
	tarn_arg_t args[100];
	tarn_ref_t refs[100];
	int64_t got[100];

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "100"), 0, "%s", tarn_last_error());
	start("1");
	for (int i = 0; i < 100; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(tarn_remote_batch("attempt_or_die_at_50", args, 1, 100, NULL, refs), 0,
		     "%s", tarn_last_error());
	cr_assert_eq(tarn_get_i64_batch(refs, 100, 30, got), 0, "%s", tarn_last_error());
	for (int i = 0; i < 100; i++)
		cr_assert_eq(got[i], i < 50 ? 1 : 2, "call %d ran as attempt %" PRId64, i, got[i]);
	cr_assert_eq(tarn_ref_release_batch(refs, 100), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * A group's results reach the driver as each call finishes, not with the
 * group's end: a get of the first call's result, and a task that depends
 * on it, both finish while the second call of the same group still naps.
 */
Test(batch, a_result_is_ready_before_its_group_ends, .timeout = 300)
{
	tarn_arg_t args[2] = {tarn_arg_i64(0), tarn_arg_i64(3000)};
	tarn_arg_t dep;
	tarn_ref_t refs[2], child;
	int64_t v = -1;
	gint64 t0;

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "2"), 0, "%s", tarn_last_error());
	start("2");
	t0 = g_get_monotonic_time();
	cr_assert_eq(tarn_remote_batch("nap_ms", args, 1, 2, NULL, refs), 0, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_get_i64(refs[0], 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 0);
	dep = tarn_arg_ref(refs[0]);
	child = call("nap_ms", &dep, 1, NULL);
	cr_assert_eq(tarn_get_i64(child, 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 0);
	cr_assert_lt(g_get_monotonic_time() - t0, 2 * G_USEC_PER_SEC,
		     "the first result waited for the group's second call");
	cr_assert_eq(tarn_get_i64(refs[1], 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 3000);
	cr_assert_eq(tarn_ref_release(child), 0);
	cr_assert_eq(tarn_ref_release_batch(refs, 2), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * Result groups: a group of 16 or more calls writes its small results
 * into slots of one store block, and the driver reads them there, with no
 * record or message per result. Below 16 they are private copies.
 */
Test(groups, results_are_written_in_the_store_and_read_in_place, .timeout = 300)
{
	tarn_arg_t args[128];
	tarn_ref_t refs[128];
	tarn_object_t *obj[128];

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "64"), 0, "%s", tarn_last_error());
	start("2");
	for (int i = 0; i < 128; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(tarn_remote_batch("double_in_store", args, 1, 128, NULL, refs), 0, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_get_batch(refs, 128, 30, obj), 0, "%s", tarn_last_error());
	for (int i = 0; i < 128; i++) {
		int64_t v;

		cr_assert_eq(tarn_object_size(obj[i]), sizeof(v));
		memcpy(&v, tarn_object_data(obj[i]), sizeof(v));
		cr_assert_eq(v, 2 * i + 1, "call %d: %" PRId64 " (1: written in the store)", i, v);
		cr_assert(address_in(tarn_object_data(obj[i]), "tarn-procpool-store"),
			  "call %d: the driver reads a copy", i);
		tarn_object_release(obj[i]);
	}
	cr_assert_eq(tarn_ref_release_batch(refs, 128), 0);
	cr_assert_eq(tarn_ref_release(refs[3]), TARN_ENOENT, "released twice");
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(groups, small_groups_keep_private_copies, .timeout = 300)
{
	tarn_arg_t args[32];
	tarn_ref_t refs[32];
	int64_t got[32];

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "8"), 0, "%s", tarn_last_error());
	start("2");
	for (int i = 0; i < 32; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(tarn_remote_batch("double_in_store", args, 1, 32, NULL, refs), 0, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_get_i64_batch(refs, 32, 30, got), 0, "%s", tarn_last_error());
	for (int i = 0; i < 32; i++)
		cr_assert_eq(got[i], 2 * i, "call %d: %" PRId64, i, got[i]);
	cr_assert_eq(tarn_ref_release_batch(refs, 32), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * A task that depends on a result in a slot, submitted before the result
 * exists and after, and a tarn_wait() for one not made yet: each result
 * gets a record of its own (sealed by message when it is not made yet),
 * and nothing waits for the group's end or forever.
 */
Test(groups, a_slot_result_used_by_tasks_and_waits, .timeout = 300)
{
	tarn_arg_t args[32], dep;
	tarn_ref_t refs[32], early, late;
	bool ready;
	int64_t v;

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "32"), 0, "%s", tarn_last_error());
	start("2");
	for (int i = 0; i < 32; i++)
		args[i] = tarn_arg_i64(i == 1 ? 500 : 0);
	cr_assert_eq(tarn_remote_batch("nap_ms", args, 1, 32, NULL, refs), 0, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_get_i64(refs[0], 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 0);
	dep = tarn_arg_ref(refs[0]);
	early = call("nap_ms", &dep, 1, NULL);
	/* Call 1 naps 500 ms: call 5 is not made yet. */
	dep = tarn_arg_ref(refs[5]);
	late = call("nap_ms", &dep, 1, NULL);
	cr_assert_eq(tarn_wait(&refs[31], 1, 1, 30, &ready), 1, "%s", tarn_last_error());
	cr_assert(ready);
	cr_assert_eq(tarn_get_i64(late, 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 0);
	cr_assert_eq(tarn_get_i64(early, 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_get_i64(refs[1], 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 500);
	cr_assert_eq(tarn_get_i64(refs[5], 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_get_i64(refs[31], 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release(early), 0);
	cr_assert_eq(tarn_ref_release(late), 0);
	cr_assert_eq(tarn_ref_release_batch(refs, 32), 0);
	cr_assert_eq(tarn_ref_release_batch(refs, 32), TARN_ENOENT);
	cr_assert_eq(tarn_shutdown(), 0);
}

/* Results of 0 to 47 bytes in one group: up to 16 in slots, the rest not. */
Test(groups, small_and_larger_results_in_one_group, .timeout = 300)
{
	tarn_arg_t args[48];
	tarn_ref_t refs[48];
	tarn_object_t *obj[48];

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "48"), 0, "%s", tarn_last_error());
	start("1");
	for (int i = 0; i < 48; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(tarn_remote_batch("bytes_of_len", args, 1, 48, NULL, refs), 0, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_get_batch(refs, 48, 30, obj), 0, "%s", tarn_last_error());
	for (int i = 0; i < 48; i++) {
		const unsigned char *p = tarn_object_data(obj[i]);

		cr_assert_eq(tarn_object_size(obj[i]), (size_t)i, "call %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_eq(p[j], (unsigned char)i, "call %d byte %d", i, j);
		tarn_object_release(obj[i]);
	}
	cr_assert_eq(tarn_ref_release_batch(refs, 48), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * Group blocks come back: released before their calls ran, or all but
 * one result released (the one kept gets a record, and the block goes).
 * A 64 KiB store holds 8 blocks of 256 results: a block kept would end
 * the results in the store within a few rounds.
 */
Test(store, group_blocks_come_back, .timeout = 300)
{
	static tarn_arg_t args[256];
	static tarn_ref_t refs[256];
	tarn_ref_t kept[40];
	int64_t got[128];

	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_STORE_SIZE", "64K"), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "256"), 0, "%s", tarn_last_error());
	start("1");
	for (int i = 0; i < 256; i++)
		args[i] = tarn_arg_i64(i);
	for (int round = 0; round < 40; round++) {
		cr_assert_eq(tarn_remote_batch("double_in_store", args, 1, 256, NULL, refs), 0,
			     "round %d: %s", round, tarn_last_error());
		/* The second half goes before (most of) it runs. */
		cr_assert_eq(tarn_ref_release_batch(refs + 128, 128), 0);
		cr_assert_eq(tarn_get_i64_batch(refs, 128, 30, got), 0, "%s", tarn_last_error());
		for (int i = 0; i < 128; i++)
			cr_assert_eq(got[i], 2 * i + 1, "round %d call %d: %" PRId64
				     " (0 in the last place: no room for a group block)", round, i, got[i]);
		kept[round] = refs[round];
		for (int i = 0; i < 128; i++)
			if (i != round)
				cr_assert_eq(tarn_ref_release(refs[i]), 0);
	}
	for (int round = 0; round < 40; round++) {
		int64_t v;

		cr_assert_eq(tarn_get_i64(kept[round], 30, &v), 0, "%s", tarn_last_error());
		cr_assert_eq(v, 2 * round + 1);
		cr_assert_eq(tarn_ref_release(kept[round]), 0);
	}
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * A call that crashes its worker on every attempt fails, after max_retries
 * + 1 attempts, with the calls of its group that had not finished; those
 * that finished before it keep their results.
 */
static void crash_in_a_group(int n)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t args[64];
	tarn_ref_t refs[64];
	char chunk[16];
	int64_t v;

	cr_assert_leq(n, 64);
	snprintf(chunk, sizeof(chunk), "%d", n);
	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", chunk), 0, "%s", tarn_last_error());
	start("1");
	o.max_retries = 1;
	for (int i = 0; i < n; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(tarn_remote_batch("segfault_at_7", args, 1, (size_t)n, &o, refs), 0, "%s",
		     tarn_last_error());
	for (int i = 0; i < 7; i++) {
		cr_assert_eq(tarn_get_i64(refs[i], 30, &v), 0, "call %d: %s", i, tarn_last_error());
		cr_assert_eq(v, i);
	}
	for (int i = 7; i < n; i++) {
		cr_assert_eq(tarn_get_i64(refs[i], 30, &v), TARN_ETASK, "call %d", i);
		cr_assert(strstr(tarn_last_error(), "signal 11"), "%s", tarn_last_error());
		cr_assert(strstr(tarn_last_error(), "attempt 2 of 2"), "%s", tarn_last_error());
	}
	cr_assert_eq(tarn_ref_release_batch(refs, (size_t)n), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

/* Groups of fewer than 16 results have a record per result... */
Test(faults, a_call_crashing_every_attempt_fails_the_rest_of_its_group, .timeout = 300)
{
	crash_in_a_group(10);
}

/* ...and larger ones slots in a group block (see Test(groups, ...)). */
Test(faults, a_call_crashing_every_attempt_fails_the_rest_of_a_slotted_group, .timeout = 300)
{
	crash_in_a_group(40);
}

Test(faults, crash_on_every_attempt_names_signal_and_attempts, .timeout = 300)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	int64_t v;
	const char *msg;

	start("2");
	o.max_retries = 2;
	cr_assert_eq(tarn_get_i64(call("segfault_always", NULL, 0, &o), 30, &v), TARN_ETASK);
	msg = tarn_last_error();
	cr_assert(strstr(msg, "segfault_always"), "%s", msg);
	cr_assert(strstr(msg, "attempt 3 of 3"), "%s", msg);
	cr_assert(strstr(msg, "signal 11"), "%s", msg);
	cr_assert(strstr(msg, "worker "), "%s", msg);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * Batched calls with a time limit are not grouped, even when
 * UNIDIST_BATCH_CHUNK asks for groups: the one call past its limit is
 * stopped and fails alone, and the calls after it still run.
 */
Test(faults, batched_calls_with_a_limit_are_stopped_one_by_one, .timeout = 300)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t args[8];
	tarn_ref_t refs[8];
	int64_t v;

	cr_assert_eq(tarn_config_set("UNIDIST_BATCH_CHUNK", "8"), 0, "%s", tarn_last_error());
	start("1");
	o.timeout = 1.0;
	for (int i = 0; i < 8; i++)
		args[i] = tarn_arg_i64(i == 3 ? 20000 : 1);
	cr_assert_eq(tarn_remote_batch("nap_ms", args, 1, 8, &o, refs), 0, "%s",
		     tarn_last_error());
	for (int i = 0; i < 8; i++) {
		int rc = tarn_get_i64(refs[i], 30, &v);

		if (i == 3) {
			cr_assert_eq(rc, TARN_ETASK, "call 3 ran past its limit");
			cr_assert(strstr(tarn_last_error(), "timed out"), "%s", tarn_last_error());
		} else {
			cr_assert_eq(rc, 0, "call %d: %s", i, tarn_last_error());
			cr_assert_eq(v, 1);
		}
	}
	cr_assert_eq(tarn_ref_release_batch(refs, 8), 0);
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(faults, task_past_its_limit_is_stopped, .timeout = 300)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t a = tarn_arg_i64(20000);
	gint64 t0;
	int64_t v;
	const char *msg;

	start("2");
	o.timeout = 0.3;
	t0 = g_get_monotonic_time();
	cr_assert_eq(tarn_get_i64(call("nap_ms", &a, 1, &o), 30, &v), TARN_ETASK);
	msg = tarn_last_error();
	cr_assert(strstr(msg, "timed out"), "%s", msg);
	/* Stopped, not waited for: far less than the 20 s it would sleep. */
	cr_assert_lt(g_get_monotonic_time() - t0, 10 * G_USEC_PER_SEC);
	a = tarn_arg_i64(1);
	cr_assert_eq(tarn_get_i64(call("nap_ms", &a, 1, NULL), 30, &v), 0, "the pool still works");
	cr_assert_eq(tarn_shutdown(), 0);
}

/* The child: start procpool, report the driver pid, then wait to be killed. */
static void driver_child(int fd)
{
	int64_t v;
	pid_t me = getpid();

	if (tarn_config_set("UNIDIST_BACKEND", "procpool") || tarn_config_set("UNIDIST_CPUS", "2") ||
	    tarn_init(NULL))
		_exit(2);
	/* Make sure the workers are up and running before reporting. */
	for (int i = 0; i < 4; i++) {
		tarn_ref_t r;

		if (tarn_remote("my_pid", NULL, 0, NULL, &r) || tarn_get_i64(r, 30, &v))
			_exit(3);
	}
	if (write(fd, &me, sizeof(me)) != sizeof(me))
		_exit(4);
	for (;;)
		pause();
}

Test(faults, driver_sigkill_leaves_no_worker_and_no_shm, .timeout = 300)
{
	int fds[2];
	pid_t child, driver = 0;
	GArray *workers, *left;
	char *shm_before, *shm_after;

	shm_before = tarn_shm_entries();
	cr_assert_eq(pipe(fds), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		close(fds[0]);
		driver_child(fds[1]);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &driver, sizeof(driver)), (ssize_t)sizeof(driver), "driver did not start");
	close(fds[0]);
	workers = children_of(driver);
	cr_assert_geq(workers->len, 2, "expected the workers as the driver's children");
	kill(driver, SIGKILL);
	waitpid(driver, NULL, 0);
	/* Workers die with their driver (PR_SET_PDEATHSIG); give them a moment. */
	for (int i = 0; i < 200; i++) {
		bool any = false;

		for (guint j = 0; j < workers->len; j++)
			any |= kill(g_array_index(workers, pid_t, j), 0) == 0;
		if (!any)
			break;
		g_usleep(10000);
	}
	for (guint j = 0; j < workers->len; j++)
		cr_assert_neq(kill(g_array_index(workers, pid_t, j), 0), 0, "worker %d outlived its driver",
			      (int)g_array_index(workers, pid_t, j));
	left = children_of(driver);
	cr_assert_eq(left->len, 0);
	shm_after = tarn_shm_entries();
	cr_assert_str_eq(shm_after, shm_before, "tarn's /dev/shm entries changed: [%s], were [%s]",
			 shm_after, shm_before);
	g_free(shm_before);
	g_free(shm_after);
	g_array_free(workers, TRUE);
	g_array_free(left, TRUE);
}

Test(faults, shutdown_leaves_no_worker, .timeout = 300)
{
	GArray *workers, *left;

	start("3");
	for (int i = 0; i < 6; i++) {
		int64_t v;

		cr_assert_eq(tarn_get_i64(call("my_pid", NULL, 0, NULL), 30, &v), 0);
	}
	workers = children_of(getpid());
	cr_assert_geq(workers->len, 3);
	cr_assert_eq(tarn_shutdown(), 0);
	left = children_of(getpid());
	cr_assert_eq(left->len, 0, "%u workers left after shutdown", left->len);
	g_array_free(workers, TRUE);
	g_array_free(left, TRUE);
}

Test(faults, workers_dying_at_start_fail_tasks_instead_of_hanging, .timeout = 300)
{
	tarn_ref_t r;
	int64_t v;

	/* Inherited by the workers, which then exit before serving (see main). */
	setenv("TARN_TEST_WORKER_DIES", "1", 1);
	start("2");
	/*
	 * Tasks submitted before the pool gives up fail with the reason; after,
	 * submitting fails with it. Either way nothing hangs.
	 */
	for (int i = 0; i < 6000; i++) {
		int rc = tarn_remote("my_pid", NULL, 0, NULL, &r);

		if (rc == TARN_EWORKER)
			break;
		cr_assert_eq(rc, 0, "%s", tarn_last_error());
		cr_assert_eq(tarn_get_i64(r, 60, &v), TARN_ETASK, "%s", tarn_last_error());
		cr_assert(strstr(tarn_last_error(), "die before they start"), "%s", tarn_last_error());
		g_usleep(10000);
	}
	cr_assert_eq(tarn_remote("my_pid", NULL, 0, NULL, &r), TARN_EWORKER);
	cr_assert(strstr(tarn_last_error(), "die before they start"), "%s", tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "tarn_init() first"), "%s", tarn_last_error());
	cr_assert_eq(tarn_shutdown(), 0);
}

/* Nesting ------------------------------------------------------------------------- */

Test(nesting, every_worker_blocked_on_queued_work, .timeout = 300)
{
	tarn_ref_t r[16];

	start("2");
	/* 16 tasks on 2 workers, each blocked on a child queued behind them. */
	for (int i = 0; i < 16; i++)
		r[i] = call("wait_child", NULL, 0, NULL);
	for (int i = 0; i < 16; i++) {
		int64_t v;

		cr_assert_eq(tarn_get_i64(r[i], 30, &v), 0, "%s", tarn_last_error());
		cr_assert_eq(v, 21);
	}
	cr_assert_eq(tarn_shutdown(), 0);
}

/* Store ----------------------------------------------------------------------------- */

Test(store, put_release_a_million_times_in_a_small_store, .timeout = 300)
{
	static unsigned char block[1024];
	tarn_ref_t r;

	/* Every put goes to the store (inline limit 0), which holds 64 of them. */
	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_STORE_SIZE", "64K"), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_INLINE_MAX", "0"), 0, "%s", tarn_last_error());
	start("1");
	memset(block, 7, sizeof(block));
	for (int i = 0; i < 1000000; i++) {
		int rc = tarn_put(block, sizeof(block), &r);

		cr_assert_eq(rc, 0, "put %d: %s (the store leaked)", i, tarn_last_error());
		cr_assert_eq(tarn_ref_release(r), 0);
	}
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * A task whose results all exist has run, even when its worker dies
 * before the message saying it ended: it must not run again. On one CPU,
 * the worker's wakeup of the caller asleep in its get hands the CPU to
 * the caller at once, between the result's message and the task's end,
 * and the caller kills the worker there.
 */
Test(faults, a_task_whose_results_exist_is_not_run_again, .timeout = 300)
{
	char path[] = "/tmp/tarn-count-XXXXXX";
	int fd = mkstemp(path);
	tarn_arg_t a = tarn_arg_str(path);
	struct stat st;
	int64_t pid, other;

	cpu_set_t one;

	cr_assert_geq(fd, 0);
	close(fd);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0); /* workers inherit it */
	start("1");
	for (int round = 1; round <= 150; round++) {
		tarn_ref_t r = call("count_run", &a, 1, NULL);

		cr_assert_eq(tarn_get_i64(r, 30, &pid), 0, "%s", tarn_last_error());
		cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
		cr_assert_eq(tarn_ref_release(r), 0);
		/* The replacement serves once the dead one is reaped. */
		do {
			r = call("my_pid", NULL, 0, NULL);
			cr_assert_eq(tarn_get_i64(r, 30, &other), 0, "%s", tarn_last_error());
			cr_assert_eq(tarn_ref_release(r), 0);
		} while (other == pid);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_size, round, "round %d: the task ran %lld times", round,
			     (long long)st.st_size - round + 1);
	}
	unlink(path);
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(store, a_dead_workers_holds_are_dropped, .timeout = 300)
{
	size_t mine_len = 128 << 10, big_len = 640 << 10;
	tarn_arg_t a = tarn_arg_i64((int64_t)mine_len);
	unsigned char *big = g_malloc0(big_len);
	tarn_object_t *obj;
	tarn_ref_t mine, kept, r;
	struct kept k;
	int64_t pid = 0;
	int tries = 0;

	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_STORE_SIZE", "1M"), 0);
	start("1");
	/* The driver's: a result the worker made, in the store. */
	mine = call("make_block", &a, 1, NULL);
	cr_assert_eq(tarn_wait(&mine, 1, 1, 30, NULL), 1, "%s", tarn_last_error());
	/* The worker's: a put its task never releases. */
	a = tarn_arg_i64(512 << 10);
	kept = call("put_and_keep", &a, 1, NULL);
	cr_assert_eq(tarn_get(kept, 30, &obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_object_size(obj), sizeof(k));
	memcpy(&k, tarn_object_data(obj), sizeof(k));
	tarn_object_release(obj);
	cr_assert_eq(tarn_ref_release(kept), 0);
	cr_assert_eq(tarn_get(k.ref, 30, &obj), 0, "the worker's put is alive: %s",
		     tarn_last_error());
	tarn_object_release(obj);
	/* 128K + 512K held: 640K more does not fit in 1M. */
	cr_assert_eq(tarn_put(big, big_len, &r), TARN_ENOSPC, "the worker's put takes room");

	cr_assert_eq(kill((pid_t)k.pid, SIGKILL), 0);
	/* Until the replacement answers; the driver reaps the old one first. */
	do {
		cr_assert(tries++ < 3000, "no replacement worker");
		cr_assert_eq(tarn_get_i64(call("my_pid", NULL, 0, NULL), 30, &pid), 0, "%s",
			     tarn_last_error());
	} while (pid == k.pid);

	cr_assert_eq(tarn_get(k.ref, 0.1, &obj), TARN_ENOENT,
		     "the dead worker's hold is gone");
	cr_assert_eq(tarn_put(big, big_len, &r), 0, "its room came back: %s",
		     tarn_last_error());
	cr_assert_eq(tarn_ref_release(r), 0);
	/* The driver's hold on what the dead worker made stays. */
	cr_assert_eq(tarn_get(mine, 30, &obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_object_size(obj), mine_len);
	cr_assert_eq(((const unsigned char *)tarn_object_data(obj))[mine_len - 1], 0x5a);
	tarn_object_release(obj);
	cr_assert_eq(tarn_ref_release(mine), 0);
	g_free(big);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * fetch_batch and unpin_batch give back every pin: a view left pinned by a
 * batch get, failed or not, would keep its store block, and a store that
 * holds 64 blocks fills within a few hundred rounds.
 */
Test(store, batch_gets_leave_no_pin_in_a_small_store, .timeout = 300)
{
	static unsigned char block[1024];
	tarn_object_t *obj[3];
	tarn_ref_t refs[3], gone;

	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_STORE_SIZE", "64K"), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_INLINE_MAX", "0"), 0, "%s", tarn_last_error());
	start("1");
	for (int i = 0; i < 1000; i++) {
		block[0] = (unsigned char)i;
		cr_assert_eq(tarn_put(block, sizeof(block), &refs[0]), 0,
			     "put %d: %s (a batch get leaked a pin)", i, tarn_last_error());
		cr_assert_eq(tarn_put(block, sizeof(block), &refs[1]), 0,
			     "put %d: %s (a batch get leaked a pin)", i, tarn_last_error());
		cr_assert_eq(tarn_put(block, sizeof(block), &gone), 0, "%s", tarn_last_error());
		cr_assert_eq(tarn_ref_release(gone), 0);
		refs[2] = gone;
		/* The third is gone: the two views taken before it are unpinned. */
		cr_assert_eq(tarn_get_batch(refs, 3, 30.0, obj), TARN_ENOENT);
		cr_assert_eq(tarn_get_batch(refs, 2, 30.0, obj), 0, "%s", tarn_last_error());
		cr_assert_eq(((const unsigned char *)tarn_object_data(obj[1]))[0], (unsigned char)i);
		tarn_object_release(obj[0]);
		tarn_object_release(obj[1]);
		cr_assert_eq(tarn_ref_release_batch(refs, 3), TARN_ENOENT);
		/* Released once, and only once, by the batch above. */
		cr_assert_eq(tarn_ref_release(refs[0]), TARN_ENOENT);
		cr_assert_eq(tarn_ref_release(refs[1]), TARN_ENOENT);
	}
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * A result released before its task has made it: the task still writes
 * it, and its store block must come back once the task is done, not stay
 * held by a record nobody can release.
 */
Test(store, a_result_released_before_it_is_made_comes_back, .timeout = 300)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t a = tarn_arg_i64(512 << 10);
	size_t big_len = 768 << 10;
	unsigned char *big = g_malloc0(big_len);
	tarn_object_t *obj;
	tarn_ref_t r, two[2];
	int64_t v;

	o.num_returns = 2;
	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_STORE_SIZE", "1M"), 0);
	start("1");
	for (int i = 0; i < 5; i++) {
		int rc, tries = 0;

		cr_assert_eq(tarn_remote("late_block", &a, 1, &o, two), 0, "%s", tarn_last_error());
		cr_assert_eq(tarn_ref_release(two[0]), 0);
		cr_assert_eq(tarn_get(two[0], 0, &obj), TARN_ENOENT, "a released ref is gone");
		cr_assert_eq(tarn_get_i64(two[1], 30, &v), 0, "%s", tarn_last_error());
		cr_assert_eq(tarn_ref_release(two[1]), 0);
		/* 512K leaked would leave no room for 768K in 1M. */
		while ((rc = tarn_put(big, big_len, &r)) == TARN_ENOSPC && tries++ < 500)
			g_usleep(10000);
		cr_assert_eq(rc, 0, "round %d: %s", i, tarn_last_error());
		cr_assert_eq(tarn_ref_release(r), 0);
	}
	g_free(big);
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(store, full_store_is_a_clear_error, .timeout = 300)
{
	size_t n = 2u << 20;
	unsigned char *big = g_malloc0(n);
	tarn_arg_t a = tarn_arg_i64(4 << 20);
	tarn_ref_t r;
	int64_t v;

	cr_assert_eq(tarn_config_set("UNIDIST_PROCPOOL_STORE_SIZE", "1M"), 0);
	start("1");
	cr_assert_eq(tarn_put(big, n, &r), TARN_ENOSPC);
	cr_assert(strstr(tarn_last_error(), "object store full"), "%s", tarn_last_error());
	/* A task whose result does not fit fails; the pool goes on. */
	cr_assert_eq(tarn_get_i64(call("make_block", &a, 1, NULL), 30, &v), TARN_ETASK);
	cr_assert(strstr(tarn_last_error(), "make_block"), "%s", tarn_last_error());
	cr_assert_eq(tarn_get_i64(call("my_pid", NULL, 0, NULL), 30, &v), 0, "%s", tarn_last_error());
	g_free(big);
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(store, large_objects_are_shared_not_copied, .timeout = 300)
{
	size_t n = 16u << 20;
	unsigned char *buf = g_malloc(n);
	tarn_object_t *obj, *again;
	tarn_arg_t a;
	tarn_ref_t put, made;
	int64_t v;

	start("2");
	memset(buf, 1, n);
	cr_assert_eq(tarn_put(buf, n, &put), 0, "%s", tarn_last_error());
	g_free(buf);
	a = tarn_arg_ref(put);
	cr_assert_eq(tarn_get_i64(call("arg_in_store", &a, 1, NULL), 30, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(v, 1, "the task read its argument in the shared store");
	a = tarn_arg_i64((int64_t)n);
	made = call("make_block", &a, 1, NULL);
	cr_assert_eq(tarn_get(made, 30, &obj), 0, "%s", tarn_last_error());
	cr_assert(address_in(tarn_object_data(obj), "tarn-procpool-store"),
		  "the driver maps the task's result in place");
	cr_assert_eq(((const unsigned char *)tarn_object_data(obj))[n - 1], 0x5a);
	cr_assert_eq(tarn_get(made, 30, &again), 0);
	cr_assert_eq(tarn_object_data(again), tarn_object_data(obj), "no copy per get");
	tarn_object_release(again);
	tarn_object_release(obj);
	cr_assert_eq(tarn_shutdown(), 0);
}

/* Workers' environment ------------------------------------------------------------------ */

Test(environment, default_backend_is_procpool, .timeout = 300)
{
	cr_assert_eq(tarn_init(NULL), 0, "%s", tarn_last_error());
	cr_assert_str_eq(tarn_backend_name(), "procpool");
	cr_assert_eq(tarn_shutdown(), 0);
}

/* The program names the backend in code; its workers must agree with it. */
Test(environment, backend_named_in_code_reaches_workers, .timeout = 300)
{
	int64_t v;

	/* Workers then run main() as such a program does (see main). */
	setenv("TARN_TEST_SET_IN_CODE", "1", 1);
	start("2");
	for (int i = 0; i < 8; i++)
		cr_assert_eq(tarn_get_i64(call("my_pid", NULL, 0, NULL), 30, &v), 0, "%s",
			     tarn_last_error());
	cr_assert_neq(v, getpid(), "ran in a worker");
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(environment, worker_count_follows_unidist_cpus, .timeout = 300)
{
	GHashTable *pids = g_hash_table_new(NULL, NULL);
	tarn_node_t *nodes;
	size_t n;

	start("3");
	cr_assert_eq(tarn_num_cpus(), 3);
	cr_assert_eq(tarn_cluster_resources(&nodes, &n), 0);
	cr_assert_eq(nodes[0].num_workers, 3);
	tarn_cluster_resources_free(nodes);
	/* Slow tasks submitted together spread over every worker. */
	{
		tarn_ref_t r[6];

		for (int i = 0; i < 6; i++)
			r[i] = call("nap_pid", NULL, 0, NULL);
		for (int i = 0; i < 6; i++) {
			int64_t v;

			cr_assert_eq(tarn_get_i64(r[i], 30, &v), 0, "%s", tarn_last_error());
			g_hash_table_add(pids, GINT_TO_POINTER((int)v));
		}
	}
	cr_assert_eq(g_hash_table_size(pids), 3, "tasks ran in %u distinct workers", g_hash_table_size(pids));
	g_hash_table_destroy(pids);
	cr_assert_eq(tarn_shutdown(), 0);
}

/*
 * One caller waiting on each task before the next: its tasks stay on one
 * worker, so the others can fall asleep. The result used to reach the
 * driver before the news that its worker was free, and the next task went
 * to another worker, keeping every worker half awake
 * (docs/backends/procpool.md, "Rings and waking").
 */
Test(placement, a_lone_stream_of_tasks_stays_on_one_worker, .timeout = 300)
{
	GHashTable *count = g_hash_table_new(NULL, NULL);
	guint most = 0;
	GHashTableIter it;
	gpointer key, value;
	const int n = 2000;

	start("2");
	for (int i = 0; i < n; i++) {
		tarn_ref_t r = call("my_pid", NULL, 0, NULL);
		int64_t v;

		cr_assert_eq(tarn_get_i64(r, 30, &v), 0, "%s", tarn_last_error());
		tarn_ref_release(r);
		value = g_hash_table_lookup(count, GINT_TO_POINTER((int)v));
		g_hash_table_insert(count, GINT_TO_POINTER((int)v),
				    GUINT_TO_POINTER(GPOINTER_TO_UINT(value) + 1));
	}
	g_hash_table_iter_init(&it, count);
	while (g_hash_table_iter_next(&it, &key, &value))
		most = MAX(most, GPOINTER_TO_UINT(value));
	/* Room for a few moves when the scheduler moves a worker's CPU. */
	cr_assert_geq(most, n * 9 / 10, "the busiest worker ran %u of %d tasks", most, n);
	g_hash_table_destroy(count);
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(environment, numa_binding_sets_the_workers_memory_policy, .timeout = 300)
{
	int64_t unbound = -1, bound = -1;

	start("1");
	cr_assert_eq(tarn_get_i64(call("mempolicy", NULL, 0, NULL), 30, &unbound), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_shutdown(), 0);
	cr_assert_eq(tarn_config_set("SP_BIND_NUMA_NODE", "true"), 0);
	start("1");
	cr_assert_eq(tarn_get_i64(call("mempolicy", NULL, 0, NULL), 30, &bound), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_shutdown(), 0);
	cr_assert_eq(unbound, 0, "MPOL_DEFAULT without SP_BIND_NUMA_NODE");
	cr_assert_eq(bound, 1, "MPOL_PREFERRED with SP_BIND_NUMA_NODE");
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests;
	int result = 0;

	if (tarn_is_worker()) {
		if (getenv("TARN_TEST_WORKER_DIES"))
			return 3; /* a worker that fails before tarn_init() */
		if (getenv("TARN_TEST_SET_IN_CODE"))
			tarn_config_set("UNIDIST_BACKEND", "procpool");
		return tarn_init(NULL) == 0 ? 0 : 1;
	}
	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
