/* SPDX-License-Identifier: MIT */
/*
 * The conformance suite: the semantics every backend must have. It runs
 * once per backend, the backend being chosen by UNIDIST_BACKEND in the
 * test's environment (see meson.build); nothing here names a backend.
 * Criterion runs each test in its own process, so every test starts with
 * a fresh tarn_init() and ends with tarn_shutdown().
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"

static void start(void)
{
	int rc = tarn_init(NULL);

	cr_assert_eq(rc, 0, "tarn_init: %s: %s", tarn_err_name(rc), tarn_last_error());
}

static void stop(void)
{
	cr_assert_eq(tarn_shutdown(), 0, "tarn_shutdown: %s", tarn_last_error());
}

TestSuite(conformance, .init = start, .fini = stop, .timeout = 60);

static int64_t get_i64(tarn_ref_t r)
{
	int64_t v = -1;
	int rc = tarn_get_i64(r, 30.0, &v);

	cr_assert_eq(rc, 0, "tarn_get_i64: %s: %s", tarn_err_name(rc), tarn_last_error());
	return v;
}

static tarn_ref_t call1(const char *name, tarn_arg_t *args, size_t n)
{
	tarn_ref_t r;
	int rc = tarn_remote(name, args, n, NULL, &r);

	cr_assert_eq(rc, 0, "tarn_remote(%s): %s", name, tarn_last_error());
	cr_assert(tarn_ref_is_valid(r));
	return r;
}

/* Asserts that @r holds a task error and returns its message. */
static const char *task_error(tarn_ref_t r)
{
	tarn_object_t *obj = NULL;
	int rc = tarn_get(r, 30.0, &obj);

	cr_assert_eq(rc, TARN_ETASK, "expected TARN_ETASK, got %s (%s)", tarn_err_name(rc),
		     tarn_last_error());
	cr_assert_null(obj);
	return tarn_last_error();
}

/* Remote tasks, put and get ------------------------------------------------ */

Test(conformance, remote_returns_value)
{
	tarn_arg_t a = tarn_arg_i64(7);

	cr_assert_eq(get_i64(call1("square", &a, 1)), 49);
}

Test(conformance, many_independent_tasks)
{
	tarn_ref_t r[100];

	for (int i = 0; i < 100; i++) {
		tarn_arg_t a = tarn_arg_i64(i);

		r[i] = call1("square", &a, 1);
	}
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(get_i64(r[i]), (int64_t)i * i, "task %d", i);
		cr_assert_eq(tarn_ref_release(r[i]), 0);
	}
}

Test(conformance, put_get_roundtrip)
{
	const char msg[] = "a tarn is a small mountain pond";
	tarn_object_t *obj;
	tarn_ref_t r;

	cr_assert_eq(tarn_put(msg, sizeof(msg), &r), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_get(r, 5.0, &obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_object_size(obj), sizeof(msg));
	cr_assert_str_eq(tarn_object_data(obj), msg);
	tarn_object_release(obj);
	cr_assert_eq(tarn_ref_release(r), 0);
}

/* Above the size where tarn_put() copies with several threads, and odd-sized. */
Test(conformance, put_large_object_every_byte)
{
	size_t len = ((size_t)65 << 20) + 4097, same = 0;
	unsigned char *data = malloc(len);
	const unsigned char *got;
	tarn_object_t *obj;
	tarn_ref_t r;

	cr_assert_not_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	cr_assert_eq(tarn_put(data, len, &r), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_get(r, 30.0, &obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_object_size(obj), len);
	got = tarn_object_data(obj);
	while (same < len && got[same] == data[same])
		same++;
	cr_assert_eq(same, len, "the object differs from what was put at byte %zu", same);
	tarn_object_release(obj);
	cr_assert_eq(tarn_ref_release(r), 0);
	free(data);
}

Test(conformance, put_empty_object)
{
	tarn_object_t *obj;
	tarn_ref_t r;

	cr_assert_eq(tarn_put(NULL, 0, &r), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_get(r, 5.0, &obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_object_size(obj), 0);
	tarn_object_release(obj);
}

Test(conformance, bytes_and_string_arguments)
{
	tarn_arg_t a = tarn_arg_str("hello, tarn");
	tarn_object_t *obj;
	tarn_ref_t r = call1("echo", &a, 1);

	cr_assert_eq(tarn_get(r, 10.0, &obj), 0, "%s", tarn_last_error());
	cr_assert_str_eq(tarn_object_data(obj), "hello, tarn");
	tarn_object_release(obj);
}

Test(conformance, many_arguments)
{
	tarn_arg_t args[20];

	for (int i = 0; i < 20; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(get_i64(call1("count_args", args, 20)), 20);
	cr_assert_eq(get_i64(call1("count_args", NULL, 0)), 0);
}

Test(conformance, large_object_as_argument)
{
	size_t n = 64u << 20;
	unsigned char *buf = malloc(n);
	int64_t expect = 0;
	tarn_ref_t obj;
	tarn_arg_t a;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < n; i++) {
		buf[i] = (unsigned char)(i % 251);
		expect += buf[i];
	}
	cr_assert_eq(tarn_put(buf, n, &obj), 0, "%s", tarn_last_error());
	free(buf);
	a = tarn_arg_ref(obj);
	cr_assert_eq(get_i64(call1("sum_bytes", &a, 1)), expect);
}

Test(conformance, task_writes_result_in_place)
{
	tarn_arg_t a = tarn_arg_i64(1 << 20);
	tarn_object_t *obj;
	const unsigned char *p;
	tarn_ref_t r = call1("pattern", &a, 1);

	cr_assert_eq(tarn_get(r, 30.0, &obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_object_size(obj), 1u << 20);
	p = tarn_object_data(obj);
	for (size_t i = 0; i < (1u << 20); i += 4099)
		cr_assert_eq(p[i], (unsigned char)(i * 7 + 3), "byte %zu", i);
	tarn_object_release(obj);
}

/* num_returns ------------------------------------------------------------- */

Test(conformance, num_returns_zero)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t a = tarn_arg_i64(5);

	o.num_returns = 0;
	cr_assert_eq(tarn_remote("square", &a, 1, &o, NULL), 0, "%s", tarn_last_error());
}

Test(conformance, num_returns_zero_still_runs)
{
	tarn_task_opts_t none = TARN_TASK_OPTS_INIT;
	tarn_arg_t a = tarn_arg_i64(0);
	tarn_actor_t c;
	tarn_ref_t r;

	none.num_returns = 0;
	cr_assert_eq(tarn_actor_create("Counter", &a, 1, NULL, &c), 0, "%s", tarn_last_error());
	for (int i = 1; i <= 4; i++) {
		a = tarn_arg_i64(i);
		cr_assert_eq(tarn_actor_call(c, "add", &a, 1, &none, NULL), 0, "%s",
			     tarn_last_error());
	}
	cr_assert_eq(tarn_actor_call(c, "get", NULL, 0, NULL, &r), 0, "%s", tarn_last_error());
	cr_assert_eq(get_i64(r), 10, "calls without results ran, in order");
}

Test(conformance, num_returns_two)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t a[2] = {tarn_arg_i64(17), tarn_arg_i64(5)};
	tarn_ref_t r[2];

	o.num_returns = 2;
	cr_assert_eq(tarn_remote("divmod", a, 2, &o, r), 0, "%s", tarn_last_error());
	cr_assert_eq(get_i64(r[0]), 3);
	cr_assert_eq(get_i64(r[1]), 2);
}

Test(conformance, num_returns_many)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_ref_t r[50];

	o.num_returns = 50;
	cr_assert_eq(tarn_remote("squares", NULL, 0, &o, r), 0, "%s", tarn_last_error());
	for (int i = 0; i < 50; i++)
		cr_assert_eq(get_i64(r[i]), (int64_t)i * i);
}

Test(conformance, result_not_set_is_an_error)
{
	const char *msg = task_error(call1("no_result", NULL, 0));

	cr_assert(strstr(msg, "no_result"), "%s", msg);
	cr_assert(strstr(msg, "without setting result 0"), "%s", msg);
}

/* Dependencies and nesting -------------------------------------------------- */

Test(conformance, dependency_chain)
{
	tarn_arg_t a = tarn_arg_i64(3);
	tarn_ref_t r1 = call1("square", &a, 1);
	tarn_arg_t b[2] = {tarn_arg_ref(r1), tarn_arg_ref(r1)};
	tarn_ref_t r2 = call1("add", b, 2);
	tarn_arg_t c = tarn_arg_ref(r2);
	tarn_ref_t r3 = call1("square", &c, 1);

	cr_assert_eq(get_i64(r3), 324);
	cr_assert_eq(get_i64(r2), 18);
}

Test(conformance, dependency_on_put_object_and_release_before_run)
{
	int64_t v = 12;
	tarn_ref_t obj, r;
	tarn_arg_t a;

	cr_assert_eq(tarn_put(&v, sizeof(v), &obj), 0);
	a = tarn_arg_ref(obj);
	r = call1("square", &a, 1);
	/* The pending task keeps its input alive. */
	cr_assert_eq(tarn_ref_release(obj), 0);
	cr_assert_eq(get_i64(r), 144);
}

Test(conformance, diamond)
{
	tarn_arg_t a = tarn_arg_i64(2);
	tarn_ref_t top = call1("square", &a, 1);
	tarn_arg_t l = tarn_arg_ref(top);
	tarn_ref_t left = call1("square", &l, 1);
	tarn_arg_t rr[2] = {tarn_arg_ref(top), tarn_arg_i64(1)};
	tarn_ref_t right = call1("add", rr, 2);
	tarn_arg_t j[2] = {tarn_arg_ref(left), tarn_arg_ref(right)};

	cr_assert_eq(get_i64(call1("add", j, 2)), 16 + 5);
}

Test(conformance, nested_tasks)
{
	tarn_arg_t a = tarn_arg_i64(12);

	cr_assert_eq(get_i64(call1("fib", &a, 1)), 144);
}

Test(conformance, get_inside_a_task)
{
	int64_t v = 41;
	tarn_ref_t obj;
	tarn_arg_t a;

	cr_assert_eq(tarn_put(&v, sizeof(v), &obj), 0);
	a = tarn_arg_bytes(&obj, sizeof(obj));
	cr_assert_eq(get_i64(call1("get_inside", &a, 1)), 42);
}

/* Errors ------------------------------------------------------------------------ */

Test(conformance, task_error_names_task_worker_attempt_cause)
{
	const char *msg = task_error(call1("fail_always", NULL, 0));

	cr_assert(strstr(msg, "task 'fail_always'"), "names the task: %s", msg);
	cr_assert(strstr(msg, "pid "), "names the worker: %s", msg);
	cr_assert(strstr(msg, " on "), "names the host: %s", msg);
	cr_assert(strstr(msg, "attempt 1"), "names the attempt: %s", msg);
	cr_assert(strstr(msg, "boom on attempt 1"), "names the cause: %s", msg);
}

Test(conformance, error_propagates_to_consumers)
{
	tarn_ref_t bad = call1("fail_always", NULL, 0);
	tarn_arg_t a = tarn_arg_ref(bad);
	tarn_ref_t mid = call1("square", &a, 1);
	tarn_arg_t b = tarn_arg_ref(mid);
	const char *msg = task_error(call1("square", &b, 1));

	cr_assert(strstr(msg, "boom on attempt 1"), "same cause: %s", msg);
	cr_assert(strstr(msg, "fail_always"), "names the failed producer: %s", msg);
}

Test(conformance, bad_argument_size_fails_task)
{
	tarn_arg_t a = tarn_arg_bytes("abc", 3);
	const char *msg = task_error(call1("square", &a, 1));

	cr_assert(strstr(msg, "3 bytes, expected 8"), "%s", msg);
}

Test(conformance, application_errors_not_retried_by_default)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_ref_t r;
	const char *msg;

	o.max_retries = 5;
	cr_assert_eq(tarn_remote("flaky", NULL, 0, &o, &r), 0);
	msg = task_error(r);
	cr_assert(strstr(msg, "attempt 1"), "%s", msg);
	cr_assert(strstr(msg, "retry_on_error"), "says how to get retries: %s", msg);
}

Test(conformance, retry_on_error_until_success)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_ref_t r;

	o.retry_on_error = true;
	o.max_retries = 3;
	cr_assert_eq(tarn_remote("flaky", NULL, 0, &o, &r), 0);
	cr_assert_eq(get_i64(r), 3, "succeeded on the third attempt");
}

Test(conformance, retries_exhausted)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_ref_t r;
	const char *msg;

	o.retry_on_error = true;
	o.max_retries = 2;
	cr_assert_eq(tarn_remote("fail_always", NULL, 0, &o, &r), 0);
	msg = task_error(r);
	cr_assert(strstr(msg, "attempt 3 of 3"), "%s", msg);
	cr_assert(strstr(msg, "boom on attempt 3"), "%s", msg);
}

Test(conformance, task_timeout)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t a = tarn_arg_i64(400);
	tarn_ref_t r;
	const char *msg;

	o.timeout = 0.1;
	cr_assert_eq(tarn_remote("sleep_ms", &a, 1, &o, &r), 0);
	msg = task_error(r);
	cr_assert(strstr(msg, "timed out"), "%s", msg);
	cr_assert(strstr(msg, "sleep_ms"), "%s", msg);
}

Test(conformance, within_timeout_succeeds)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t a = tarn_arg_i64(10);
	tarn_ref_t r;

	o.timeout = 20.0;
	cr_assert_eq(tarn_remote("sleep_ms", &a, 1, &o, &r), 0);
	cr_assert_eq(get_i64(r), 10);
}

/* wait ----------------------------------------------------------------------------- */

Test(conformance, wait_all)
{
	tarn_ref_t r[4];
	bool ready[4];

	for (int i = 0; i < 4; i++) {
		tarn_arg_t a = tarn_arg_i64(i);

		r[i] = call1("square", &a, 1);
	}
	cr_assert_eq(tarn_wait(r, 4, 4, 30.0, ready), 4, "%s", tarn_last_error());
	for (int i = 0; i < 4; i++)
		cr_assert(ready[i]);
}

Test(conformance, wait_counts_failed_results_as_ready)
{
	tarn_ref_t r[2] = {call1("fail_always", NULL, 0), call1("no_result", NULL, 0)};
	bool ready[2] = {false, false};

	cr_assert_eq(tarn_wait(r, 2, 2, 30.0, ready), 2, "%s", tarn_last_error());
	cr_assert(ready[0] && ready[1]);
}

Test(conformance, wait_some_then_poll)
{
	tarn_arg_t fast = tarn_arg_i64(1), slow = tarn_arg_i64(300);
	tarn_ref_t r[2] = {call1("sleep_ms", &fast, 1), call1("sleep_ms", &slow, 1)};
	bool ready[2];
	int n = tarn_wait(r, 2, 1, 30.0, ready);

	cr_assert(n >= 1 && n <= 2, "wait(num_returns=1) gave %d: %s", n, tarn_last_error());
	cr_assert(ready[0] || ready[1]);
	/* Whatever wait calls ready, get must deliver without waiting. */
	for (int i = 0; i < 2; i++)
		if (ready[i]) {
			int64_t v;

			cr_assert_eq(tarn_get_i64(r[i], 0.0, &v), 0, "%s", tarn_last_error());
		}
	cr_assert_eq(tarn_wait(r, 2, 2, 30.0, ready), 2);
}

Test(conformance, wait_timeout_reports_what_is_ready)
{
	tarn_arg_t slow = tarn_arg_i64(500);
	tarn_ref_t r = call1("sleep_ms", &slow, 1);
	gint64 t0 = g_get_monotonic_time();
	bool ready = true;
	int n = tarn_wait(&r, 1, 1, 0.05, &ready);
	double took = (double)(g_get_monotonic_time() - t0) / 1e6;
	int64_t v;

	cr_assert(n == 0 || n == 1, "%d: %s", n, tarn_last_error());
	cr_assert_eq(ready, n == 1);
	if (n == 0) {
		/* Not ready: wait gave up at its timeout, and get polls the same. */
		cr_assert(took < 5.0, "wait returned after %.3f s", took);
		cr_assert_eq(tarn_get_i64(r, 0.0, &v), TARN_ETIMEDOUT);
	} else {
		/* Ready (synchronous backends run the task inside submit). */
		cr_assert_eq(tarn_get_i64(r, 0.0, &v), 0);
	}
	cr_assert_eq(get_i64(r), 500);
}

Test(conformance, wait_argument_errors)
{
	tarn_arg_t a = tarn_arg_i64(1);
	tarn_ref_t r = call1("square", &a, 1);

	cr_assert_eq(tarn_wait(&r, 1, 2, 1.0, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "num_returns=2"), "%s", tarn_last_error());
	cr_assert_eq(tarn_wait(&r, 1, 0, 0.0, NULL) >= 0, true);
}

/* Release ------------------------------------------------------------------------ */

Test(conformance, release_frees_and_double_release_is_reported)
{
	int64_t v = 5;
	tarn_object_t *obj;
	tarn_ref_t r;

	cr_assert_eq(tarn_put(&v, sizeof(v), &r), 0);
	cr_assert_eq(tarn_ref_release(r), 0);
	cr_assert_eq(tarn_get(r, 0.0, &obj), TARN_ENOENT, "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release(r), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "already released"), "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release((tarn_ref_t){0, 0}), 0, "releasing the null ref is a no-op");
}

/*
 * A result released while its task still runs is gone at once for a get
 * and a wait (docs/api.md 3.4), though the task runs on and keeps it.
 */
Test(conformance, a_result_released_before_it_exists_cannot_be_got)
{
	tarn_arg_t a = tarn_arg_i64(1500);
	tarn_object_t *obj;
	tarn_ref_t r;
	bool ready;

	cr_assert_eq(tarn_remote("sleep_ms", &a, 1, NULL, &r), 0);
	cr_assert_eq(tarn_ref_release(r), 0);
	cr_assert_eq(tarn_get(r, 0.01, &obj), TARN_ENOENT, "%s", tarn_last_error());
	cr_assert_eq(tarn_wait(&r, 1, 1, 0.01, &ready), TARN_ENOENT, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_ref_release(r), TARN_ENOENT);
}

/*
 * A sealed object the program released while a waiting task still needs
 * it: gone for the program's get and wait at once, kept for the task.
 */
Test(conformance, a_released_ref_is_gone_for_the_program_but_kept_for_its_task)
{
	int64_t v = 7;
	tarn_arg_t ms = tarn_arg_i64(300);
	tarn_ref_t obj, late = call1("sleep_ms", &ms, 1), sum;
	tarn_arg_t args[2];
	tarn_object_t *o;
	bool ready;

	cr_assert_eq(tarn_put(&v, sizeof(v), &obj), 0, "%s", tarn_last_error());
	args[0] = tarn_arg_ref(late);
	args[1] = tarn_arg_ref(obj);
	sum = call1("add", args, 2);
	cr_assert_eq(tarn_ref_release(obj), 0);
	cr_assert_eq(tarn_get(obj, 0.01, &o), TARN_ENOENT, "%s", tarn_last_error());
	cr_assert_eq(tarn_wait(&obj, 1, 1, 0.01, &ready), TARN_ENOENT, "%s",
		     tarn_last_error());
	cr_assert_eq(get_i64(sum), 307);
	cr_assert_eq(tarn_ref_release(sum), 0);
	cr_assert_eq(tarn_ref_release(late), 0);
}

Test(conformance, fetched_object_outlives_its_ref)
{
	char data[4096];
	tarn_object_t *obj;
	tarn_ref_t r;

	memset(data, 'x', sizeof(data));
	cr_assert_eq(tarn_put(data, sizeof(data), &r), 0);
	cr_assert_eq(tarn_get(r, 1.0, &obj), 0);
	cr_assert_eq(tarn_ref_release(r), 0);
	cr_assert_eq(memcmp(tarn_object_data(obj), data, sizeof(data)), 0);
	tarn_object_release(obj);
	tarn_object_release(NULL);
}

Test(conformance, release_task_results)
{
	for (int round = 0; round < 200; round++) {
		tarn_arg_t a = tarn_arg_i64(round);
		tarn_ref_t r = call1("square", &a, 1);

		cr_assert_eq(get_i64(r), (int64_t)round * round);
		cr_assert_eq(tarn_ref_release(r), 0);
		cr_assert_eq(tarn_ref_release(r), TARN_ENOENT);
	}
}

/* Actors ------------------------------------------------------------------------ */

Test(conformance, actor_keeps_state_and_order)
{
	tarn_arg_t a = tarn_arg_i64(10);
	tarn_actor_t c;
	tarn_ref_t r[5], total;

	cr_assert_eq(tarn_actor_create("Counter", &a, 1, NULL, &c), 0, "%s", tarn_last_error());
	for (int i = 0; i < 5; i++) {
		a = tarn_arg_i64(i + 1);
		cr_assert_eq(tarn_actor_call(c, "add", &a, 1, NULL, &r[i]), 0, "%s",
			     tarn_last_error());
	}
	cr_assert_eq(get_i64(r[0]), 11);
	cr_assert_eq(get_i64(r[1]), 13);
	cr_assert_eq(get_i64(r[2]), 16);
	cr_assert_eq(get_i64(r[3]), 20);
	cr_assert_eq(get_i64(r[4]), 25);
	cr_assert_eq(tarn_actor_call(c, "get", NULL, 0, NULL, &total), 0);
	cr_assert_eq(get_i64(total), 25);
	cr_assert_eq(tarn_actor_kill(c), 0, "%s", tarn_last_error());
}

Test(conformance, actors_are_independent)
{
	tarn_arg_t a0 = tarn_arg_i64(0), a100 = tarn_arg_i64(100), one = tarn_arg_i64(1);
	tarn_actor_t x, y;
	tarn_ref_t rx, ry;

	cr_assert_eq(tarn_actor_create("Counter", &a0, 1, NULL, &x), 0);
	cr_assert_eq(tarn_actor_create("Counter", &a100, 1, NULL, &y), 0);
	cr_assert_eq(tarn_actor_call(x, "add", &one, 1, NULL, &rx), 0);
	cr_assert_eq(tarn_actor_call(y, "add", &one, 1, NULL, &ry), 0);
	cr_assert_eq(get_i64(rx), 1);
	cr_assert_eq(get_i64(ry), 101);
}

Test(conformance, actor_argument_from_task)
{
	tarn_arg_t a = tarn_arg_i64(0), s = tarn_arg_i64(6);
	tarn_ref_t sq = call1("square", &s, 1), r;
	tarn_arg_t dep = tarn_arg_ref(sq);
	tarn_actor_t c;

	cr_assert_eq(tarn_actor_create("Counter", &a, 1, NULL, &c), 0);
	cr_assert_eq(tarn_actor_call(c, "add", &dep, 1, NULL, &r), 0);
	cr_assert_eq(get_i64(r), 36);
}

/*
 * A call whose argument is not made yet holds back the calls after it,
 * and goes out once the argument exists; a kill waits behind them both.
 */
Test(conformance, actor_call_waits_for_its_argument_in_order)
{
	tarn_arg_t zero = tarn_arg_i64(0), one = tarn_arg_i64(1), ms = tarn_arg_i64(300);
	tarn_ref_t late = call1("sleep_ms", &ms, 1), r[2];
	tarn_arg_t dep = tarn_arg_ref(late);
	tarn_actor_t c;

	cr_assert_eq(tarn_actor_create("Counter", &zero, 1, NULL, &c), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_actor_call(c, "add", &dep, 1, NULL, &r[0]), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_actor_call(c, "add", &one, 1, NULL, &r[1]), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_actor_kill(c), 0, "%s", tarn_last_error());
	cr_assert_eq(get_i64(r[0]), 300);
	cr_assert_eq(get_i64(r[1]), 301);
	cr_assert_eq(tarn_ref_release(late), 0);
	cr_assert_eq(tarn_ref_release(r[0]), 0);
	cr_assert_eq(tarn_ref_release(r[1]), 0);
}

/*
 * Many actors, many calls each, all submitted before any is read; each
 * call carries 16 KiB (ignored by add), so that calls outrun a backend's
 * queues to its workers (procpool's 1 MiB rings) and must wait their turn.
 */
Test(conformance, actor_many_calls_on_many_actors)
{
	enum { ACTORS = 16, CALLS = 100 };
	static char pad[16384];
	tarn_actor_t c[ACTORS];
	tarn_ref_t last[ACTORS];
	tarn_arg_t one[2] = {tarn_arg_i64(1), tarn_arg_bytes(pad, sizeof(pad))};

	for (int i = 0; i < ACTORS; i++) {
		tarn_arg_t start = tarn_arg_i64(i * 1000);

		cr_assert_eq(tarn_actor_create("Counter", &start, 1, NULL, &c[i]), 0, "%s",
			     tarn_last_error());
	}
	for (int k = 0; k < CALLS; k++)
		for (int i = 0; i < ACTORS; i++) {
			tarn_ref_t r;

			cr_assert_eq(tarn_actor_call(c[i], "add", one, 2, NULL, &r), 0, "%s",
				     tarn_last_error());
			if (k < CALLS - 1)
				cr_assert_eq(tarn_ref_release(r), 0);
			else
				last[i] = r;
		}
	for (int i = 0; i < ACTORS; i++) {
		cr_assert_eq(get_i64(last[i]), i * 1000 + CALLS, "actor %d", i);
		cr_assert_eq(tarn_ref_release(last[i]), 0);
		cr_assert_eq(tarn_actor_kill(c[i]), 0, "%s", tarn_last_error());
	}
}

Test(conformance, actor_kill_runs_destructor_and_stops_calls)
{
	char *dir = g_dir_make_tmp("tarn-actor-XXXXXX", NULL);
	char *marker = g_build_filename(dir, "destroyed", NULL);
	tarn_arg_t args[2] = {tarn_arg_i64(7), tarn_arg_str(marker)};
	tarn_arg_t one = tarn_arg_i64(1);
	tarn_actor_t c;
	tarn_ref_t r;
	char *text = NULL;

	cr_assert_not_null(dir);
	cr_assert_eq(tarn_actor_create("Counter", args, 2, NULL, &c), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_actor_call(c, "add", &one, 1, NULL, &r), 0);
	cr_assert_eq(get_i64(r), 8);
	cr_assert_eq(tarn_actor_kill(c), 0, "%s", tarn_last_error());
	/* The destructor runs on the actor's worker, maybe after kill returns. */
	for (int i = 0; i < 500 && !g_file_test(marker, G_FILE_TEST_EXISTS); i++)
		g_usleep(10000);
	cr_assert(g_file_get_contents(marker, &text, NULL, NULL), "destructor left no marker");
	cr_assert_str_eq(text, "8\n");
	cr_assert_eq(tarn_actor_call(c, "add", &one, 1, NULL, &r), TARN_EACTOR);
	cr_assert_eq(tarn_actor_kill(c), TARN_ENOENT);
	g_free(text);
	g_unlink(marker);
	g_rmdir(dir);
	g_free(marker);
	g_free(dir);
}

Test(conformance, actor_constructor_failure_fails_calls)
{
	tarn_actor_t b;
	tarn_ref_t r;
	const char *msg;

	cr_assert_eq(tarn_actor_create("Broken", NULL, 0, NULL, &b), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_actor_call(b, "ping", NULL, 0, NULL, &r), 0, "%s", tarn_last_error());
	msg = task_error(r);
	cr_assert(strstr(msg, "constructor"), "%s", msg);
	cr_assert(strstr(msg, "no such device"), "%s", msg);
}

Test(conformance, actor_unknown_names)
{
	tarn_arg_t a = tarn_arg_i64(0);
	tarn_actor_t c;
	tarn_ref_t r;

	cr_assert_eq(tarn_actor_create("NoSuchClass", NULL, 0, NULL, &c), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "NoSuchClass"), "%s", tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "Counter"), "lists what exists: %s", tarn_last_error());
	cr_assert_eq(tarn_actor_create("Counter", &a, 1, NULL, &c), 0);
	cr_assert_eq(tarn_actor_call(c, "nope", NULL, 0, NULL, &r), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "no method 'nope'"), "%s", tarn_last_error());
}

/* Bad calls ------------------------------------------------------------------------ */

Test(conformance, unknown_task_is_named)
{
	tarn_ref_t r;

	cr_assert_eq(tarn_remote("no_such_task", NULL, 0, NULL, &r), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "no_such_task"), "%s", tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "square"), "lists registered tasks: %s", tarn_last_error());
}

Test(conformance, bad_options_are_rejected)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_resource_t res = {"disk", -1};
	tarn_ref_t r;

	o.num_returns = TARN_MAX_RETURNS + 1;
	cr_assert_eq(tarn_remote("squares", NULL, 0, &o, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "num_returns"), "%s", tarn_last_error());
	o.num_returns = 1;
	cr_assert_eq(tarn_remote("squares", NULL, 0, &o, NULL), TARN_EINVAL, "out_refs NULL");
	o.num_cpus = 1e6;
	cr_assert_eq(tarn_remote("squares", NULL, 0, &o, &r), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "CPUs"), "%s", tarn_last_error());
	o.num_cpus = 1;
	o.resources = &res;
	o.num_resources = 1;
	cr_assert_eq(tarn_remote("squares", NULL, 0, &o, &r), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "disk"), "%s", tarn_last_error());
}

Test(conformance, resources_within_limits_are_accepted)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_resource_t res = {"disk", 2};
	tarn_arg_t a = tarn_arg_i64(9);
	tarn_ref_t r;

	o.num_cpus = 1;
	o.memory = 1 << 20;
	o.resources = &res;
	o.num_resources = 1;
	cr_assert_eq(tarn_remote("square", &a, 1, &o, &r), 0, "%s", tarn_last_error());
	cr_assert_eq(get_i64(r), 81);
}

/* Cluster ---------------------------------------------------------------------------- */

Test(conformance, cluster_information)
{
	tarn_node_t *nodes;
	size_t n;
	char ip[64];
	const char *want = getenv("UNIDIST_BACKEND");

	cr_assert_geq(tarn_num_cpus(), 1);
	cr_assert_eq(tarn_cluster_resources(&nodes, &n), 0, "%s", tarn_last_error());
	cr_assert_geq(n, 1);
	cr_assert_neq(nodes[0].host[0], '\0');
	cr_assert_geq(nodes[0].num_cpus, 1);
	tarn_cluster_resources_free(nodes);
	cr_assert_eq(tarn_get_ip(ip, sizeof(ip)), 0);
	cr_assert_neq(ip[0], '\0');
	cr_assert_not_null(tarn_backend_name());
	/* A backend chosen by path is named by its file stem instead. */
	if (want && want[0] && !strchr(want, '/'))
		cr_assert_str_eq(tarn_backend_name(), want);
}

/* Life cycle (no automatic init) ------------------------------------------------------- */

Test(lifecycle, not_initialized)
{
	tarn_ref_t r;
	int64_t v = 1;

	cr_assert_not(tarn_is_initialized());
	cr_assert_eq(tarn_remote("square", NULL, 0, NULL, &r), TARN_ENOTINIT);
	cr_assert(strstr(tarn_last_error(), "tarn_init"), "%s", tarn_last_error());
	cr_assert_eq(tarn_put(&v, sizeof(v), &r), TARN_ENOTINIT);
	cr_assert_eq(tarn_num_cpus(), TARN_ENOTINIT);
	cr_assert_null(tarn_backend_name());
	cr_assert_eq(tarn_shutdown(), 0, "shutdown without init is harmless");
}

Test(lifecycle, init_twice_and_reinit)
{
	tarn_arg_t a = tarn_arg_i64(4);
	tarn_ref_t r;

	cr_assert_eq(tarn_init(NULL), 0, "%s", tarn_last_error());
	cr_assert(tarn_is_initialized());
	cr_assert_eq(tarn_init(NULL), TARN_EBUSY);
	cr_assert_eq(tarn_shutdown(), 0);
	cr_assert_not(tarn_is_initialized());
	cr_assert_eq(tarn_init(NULL), 0, "second init: %s", tarn_last_error());
	cr_assert_eq(tarn_remote("square", &a, 1, NULL, &r), 0);
	cr_assert_eq(get_i64(r), 16);
	cr_assert_eq(tarn_shutdown(), 0);
}

Test(lifecycle, object_released_after_shutdown)
{
	int64_t v = 3;
	tarn_object_t *obj;
	tarn_ref_t r;

	cr_assert_eq(tarn_init(NULL), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_put(&v, sizeof(v), &r), 0);
	cr_assert_eq(tarn_get(r, 1.0, &obj), 0);
	cr_assert_eq(tarn_shutdown(), 0);
	tarn_object_release(obj); /* must not touch the closed backend */
}
