/* SPDX-License-Identifier: MIT */
/*
 * tarn_remote_batch(): the same calls as a loop of tarn_remote(), on every
 * backend, whether or not the backend has submit_batch() (ABI 1.1).
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "tasks.h"

/*
 * Part of the "conformance" suite, whose init and fini (one tarn_init() and
 * tarn_shutdown() per test) test_conformance.c declares: so the runners
 * that take that suite by name, Criterion's and plain_main.c's, run these.
 */

static int64_t get_i64(tarn_ref_t r)
{
	int64_t v = -1;
	int rc = tarn_get_i64(r, 30.0, &v);

	cr_assert_eq(rc, 0, "tarn_get_i64: %s: %s", tarn_err_name(rc), tarn_last_error());
	return v;
}

static bool all_null(const tarn_ref_t *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tarn_ref_is_valid(refs[i]))
			return false;
	return true;
}

/* More calls than one chunk of the core's batching, and not a multiple of it. */
#define N 1000

Test(conformance, batch_every_call_gets_its_own_arguments_and_result)
{
	tarn_arg_t *args = calloc(N, sizeof(*args));
	tarn_ref_t *refs = calloc(N, sizeof(*refs));

	cr_assert(args && refs);
	for (int i = 0; i < N; i++)
		args[i] = tarn_arg_i64(i - 500);
	cr_assert_eq(tarn_remote_batch("square", args, 1, N, NULL, refs), 0, "%s",
		     tarn_last_error());
	for (int i = 0; i < N; i++) {
		cr_assert_eq(get_i64(refs[i]), (int64_t)(i - 500) * (i - 500), "call %d", i);
		cr_assert_eq(tarn_ref_release(refs[i]), 0);
	}
	free(args);
	free(refs);
}

Test(conformance, batch_two_arguments_and_two_results_per_call)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t args[2 * 50];
	tarn_ref_t refs[2 * 50];

	for (int i = 0; i < 50; i++) {
		args[2 * i] = tarn_arg_i64(1000 + i);
		args[2 * i + 1] = tarn_arg_i64(i + 1);
	}
	o.num_returns = 2;
	cr_assert_eq(tarn_remote_batch("divmod", args, 2, 50, &o, refs), 0, "%s",
		     tarn_last_error());
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(get_i64(refs[2 * i]), (1000 + i) / (i + 1));
		cr_assert_eq(get_i64(refs[2 * i + 1]), (1000 + i) % (i + 1));
		tarn_ref_release(refs[2 * i]);
		tarn_ref_release(refs[2 * i + 1]);
	}
}

Test(conformance, batch_refs_as_arguments_are_dependencies)
{
	tarn_arg_t args[300];
	tarn_ref_t src[300], refs[300];

	for (int i = 0; i < 300; i++) {
		tarn_arg_t a = tarn_arg_i64(i);

		cr_assert_eq(tarn_remote("square", &a, 1, NULL, &src[i]), 0);
		args[i] = tarn_arg_ref(src[i]);
	}
	cr_assert_eq(tarn_remote_batch("square", args, 1, 300, NULL, refs), 0, "%s",
		     tarn_last_error());
	/* The batch holds what it needs: the sources can go now. */
	for (int i = 0; i < 300; i++)
		tarn_ref_release(src[i]);
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(get_i64(refs[i]), (int64_t)i * i * i * i);
		tarn_ref_release(refs[i]);
	}
}

Test(conformance, batch_no_calls_and_no_arguments)
{
	tarn_ref_t refs[3] = {{0, 0}};

	cr_assert_eq(tarn_remote_batch("square", NULL, 1, 0, NULL, refs), 0);
	cr_assert(all_null(refs, 3));
	cr_assert_eq(tarn_remote_batch("count_args", NULL, 0, 3, NULL, refs), 0, "%s",
		     tarn_last_error());
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(get_i64(refs[i]), 0);
		tarn_ref_release(refs[i]);
	}
}

Test(conformance, batch_a_bad_argument_is_named_and_nothing_is_returned)
{
	tarn_arg_t args[600];
	tarn_ref_t refs[600];

	for (int i = 0; i < 600; i++)
		args[i] = tarn_arg_i64(i);
	/* In the third chunk: the first two were already submitted. */
	args[555].kind = 99;
	memset(refs, 0xff, sizeof(refs));
	cr_assert_eq(tarn_remote_batch("square", args, 1, 600, NULL, refs), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "call 555"), "%s", tarn_last_error());
	cr_assert(all_null(refs, 600));
	/* The runtime is still fine. */
	args[555] = tarn_arg_i64(3);
	cr_assert_eq(tarn_remote_batch("square", args + 555, 1, 1, NULL, refs), 0);
	cr_assert_eq(get_i64(refs[0]), 9);
	tarn_ref_release(refs[0]);
}

Test(conformance, batch_argument_errors)
{
	tarn_ref_t r;
	tarn_arg_t a = tarn_arg_i64(1);
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;

	cr_assert_eq(tarn_remote_batch("no_such_task", &a, 1, 1, NULL, &r), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "no_such_task"));
	cr_assert_eq(tarn_remote_batch(NULL, &a, 1, 1, NULL, &r), TARN_EINVAL);
	cr_assert_eq(tarn_remote_batch("square", NULL, 1, 1, NULL, &r), TARN_EINVAL);
	cr_assert_eq(tarn_remote_batch("square", &a, 1, 1, NULL, NULL), TARN_EINVAL);
	cr_assert_eq(tarn_remote_batch("square", &a, 1, SIZE_MAX / 2, NULL, &r), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "overflow"), "%s", tarn_last_error());
	o.num_returns = TARN_MAX_RETURNS + 1;
	cr_assert_eq(tarn_remote_batch("square", &a, 1, 1, &o, &r), TARN_EINVAL);
}

Test(conformance, batch_failures_are_per_call)
{
	tarn_arg_t args[4];
	tarn_ref_t refs[4];
	tarn_object_t *obj = NULL;

	for (int i = 0; i < 4; i++)
		args[i] = tarn_arg_i64(i);
	/* divmod by zero fails only the call that divides by zero. */
	{
		tarn_arg_t dm[8];
		tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
		tarn_ref_t out[8];

		for (int i = 0; i < 4; i++) {
			dm[2 * i] = tarn_arg_i64(10);
			dm[2 * i + 1] = tarn_arg_i64(i);
		}
		o.num_returns = 2;
		cr_assert_eq(tarn_remote_batch("divmod", dm, 2, 4, &o, out), 0);
		cr_assert_eq(tarn_get(out[0], 30.0, &obj), TARN_ETASK);
		cr_assert(strstr(tarn_last_error(), "division by zero"), "%s", tarn_last_error());
		for (int i = 1; i < 4; i++)
			cr_assert_eq(get_i64(out[2 * i]), 10 / i);
		for (int i = 0; i < 8; i++)
			tarn_ref_release(out[i]);
	}
	cr_assert_eq(tarn_remote_batch("square", args, 1, 4, NULL, refs), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(get_i64(refs[i]), i * i);
		tarn_ref_release(refs[i]);
	}
}

/*
 * 1,000 calls run grouped many to a task on backends with workers: the
 * calls that divide by zero fail alone, each with its own error, and every
 * other call of their group has its result.
 */
Test(conformance, batch_failures_inside_a_group_are_per_call)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t *dm = calloc(2 * N, sizeof(*dm));
	tarn_ref_t *out = calloc(2 * N, sizeof(*out));
	tarn_object_t *obj = NULL;

	cr_assert(dm && out);
	for (int i = 0; i < N; i++) {
		dm[2 * i] = tarn_arg_i64(1000000 + i);
		dm[2 * i + 1] = tarn_arg_i64(i % 97 == 3 ? 0 : i + 1);
	}
	o.num_returns = 2;
	cr_assert_eq(tarn_remote_batch("divmod", dm, 2, N, &o, out), 0, "%s", tarn_last_error());
	for (int i = 0; i < N; i++) {
		if (i % 97 == 3) {
			cr_assert_eq(tarn_get(out[2 * i], 30.0, &obj), TARN_ETASK, "call %d", i);
			cr_assert(strstr(tarn_last_error(), "division by zero"), "%s",
				  tarn_last_error());
			cr_assert_eq(tarn_get(out[2 * i + 1], 30.0, &obj), TARN_ETASK, "call %d", i);
			continue;
		}
		cr_assert_eq(get_i64(out[2 * i]), (1000000 + i) / (i + 1), "call %d", i);
		cr_assert_eq(get_i64(out[2 * i + 1]), (1000000 + i) % (i + 1), "call %d", i);
	}
	cr_assert_eq(tarn_ref_release_batch(out, 2 * N), 0);
	free(dm);
	free(out);
}

Test(conformance, batch_inside_a_task)
{
	tarn_arg_t a = tarn_arg_i64(300);
	tarn_ref_t r;
	int64_t want = 0;

	for (int64_t i = 0; i < 300; i++)
		want += i * i;
	cr_assert_eq(tarn_remote("batch_inside", &a, 1, NULL, &r), 0);
	cr_assert_eq(get_i64(r), want);
	tarn_ref_release(r);
}

/* tarn_get_batch(), tarn_get_i64_batch(), tarn_ref_release_batch() ------- */

Test(conformance, get_i64_batch_reads_every_result_in_order)
{
	tarn_arg_t *args = calloc(N, sizeof(*args));
	tarn_ref_t *refs = calloc(N, sizeof(*refs));
	int64_t *v = calloc(N, sizeof(*v));

	cr_assert(args && refs && v);
	for (int i = 0; i < N; i++)
		args[i] = tarn_arg_i64(i + 1);
	cr_assert_eq(tarn_remote_batch("square", args, 1, N, NULL, refs), 0, "%s",
		     tarn_last_error());
	cr_assert_eq(tarn_get_i64_batch(refs, N, 30.0, v), 0, "%s", tarn_last_error());
	for (int i = 0; i < N; i++)
		cr_assert_eq(v[i], (int64_t)(i + 1) * (i + 1), "ref %d", i);
	cr_assert_eq(tarn_ref_release_batch(refs, N), 0, "%s", tarn_last_error());
	/* Released for good: a second release of any of them is reported. */
	cr_assert_eq(tarn_ref_release(refs[N / 2]), TARN_ENOENT);
	free(args);
	free(refs);
	free(v);
}

Test(conformance, get_batch_gives_objects_that_outlive_the_refs)
{
	tarn_arg_t args[20];
	tarn_ref_t refs[20];
	tarn_object_t *obj[20];

	for (int i = 0; i < 20; i++)
		args[i] = tarn_arg_i64(i);
	cr_assert_eq(tarn_remote_batch("square", args, 1, 20, NULL, refs), 0);
	cr_assert_eq(tarn_get_batch(refs, 20, 30.0, obj), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release_batch(refs, 20), 0);
	for (int i = 0; i < 20; i++) {
		int64_t x;

		cr_assert_eq(tarn_object_size(obj[i]), sizeof(x));
		memcpy(&x, tarn_object_data(obj[i]), sizeof(x));
		cr_assert_eq(x, (int64_t)i * i);
		tarn_object_release(obj[i]);
	}
}

Test(conformance, get_batch_a_failed_call_fails_the_lot_and_names_it)
{
	tarn_task_opts_t o = TARN_TASK_OPTS_INIT;
	tarn_arg_t dm[2 * 300];
	tarn_ref_t out[2 * 300], quo[300];
	tarn_object_t *obj[300];
	int64_t v[300];

	/* Call 270 divides by zero: in the second step of the i64 batch. */
	for (int i = 0; i < 300; i++) {
		dm[2 * i] = tarn_arg_i64(1000);
		dm[2 * i + 1] = tarn_arg_i64(i == 270 ? 0 : i + 1);
	}
	o.num_returns = 2;
	cr_assert_eq(tarn_remote_batch("divmod", dm, 2, 300, &o, out), 0);
	for (int i = 0; i < 300; i++)
		quo[i] = out[2 * i];
	cr_assert_eq(tarn_get_i64_batch(quo, 300, 30.0, v), TARN_ETASK);
	cr_assert(strstr(tarn_last_error(), "ref 270"), "%s", tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "division by zero"), "%s", tarn_last_error());
	memset(obj, 0xff, sizeof(obj));
	cr_assert_eq(tarn_get_batch(quo, 300, 30.0, obj), TARN_ETASK);
	cr_assert(strstr(tarn_last_error(), "ref 270"), "%s", tarn_last_error());
	for (int i = 0; i < 300; i++)
		cr_assert_null(obj[i], "object %d returned by a failed tarn_get_batch", i);
	/* The others are intact, and nothing stayed pinned. */
	cr_assert_eq(tarn_get_i64_batch(quo, 270, 30.0, v), 0, "%s", tarn_last_error());
	for (int i = 0; i < 270; i++)
		cr_assert_eq(v[i], 1000 / (i + 1));
	cr_assert_eq(tarn_ref_release_batch(out, 600), 0, "%s", tarn_last_error());
}

Test(conformance, get_batch_times_out_once_for_the_lot)
{
	tarn_arg_t a[2] = {tarn_arg_i64(0), tarn_arg_i64(2000)};
	tarn_ref_t refs[2];
	bool ready = false;
	int64_t v[2];
	gint64 t0;
	int rc;

	cr_assert_eq(tarn_remote("square", &a[0], 1, NULL, &refs[0]), 0);
	/* Ref 0 ready first, however slow the backend (valgrind): only ref 1 is late. */
	cr_assert_eq(tarn_wait(&refs[0], 1, 1, 30.0, &ready), 1, "%s", tarn_last_error());
	cr_assert_eq(tarn_remote("sleep_ms", &a[1], 1, NULL, &refs[1]), 0);
	/* seq runs the sleep inside tarn_remote(): then the lot is ready. */
	cr_assert_geq(tarn_wait(&refs[1], 1, 0, 0.0, &ready), 0);
	t0 = g_get_monotonic_time();
	rc = tarn_get_i64_batch(refs, 2, 0.2, v);
	if (ready) {
		cr_assert_eq(rc, 0, "%s", tarn_last_error());
		cr_assert_eq(v[1], 2000);
	} else {
		cr_assert_eq(rc, TARN_ETIMEDOUT, "%s: %s", tarn_err_name(rc), tarn_last_error());
		cr_assert(strstr(tarn_last_error(), "ref 1"), "%s", tarn_last_error());
		cr_assert(g_get_monotonic_time() - t0 < 1500000, "the timeout is for the lot");
	}
	cr_assert_eq(tarn_ref_release_batch(refs, 2), 0);
}

Test(conformance, get_and_release_batch_inside_a_task)
{
	tarn_arg_t a = tarn_arg_i64(300);
	tarn_ref_t r;
	int64_t want = 0;

	for (int64_t i = 0; i < 300; i++)
		want += i * i;
	cr_assert_eq(tarn_remote("batch_get_inside", &a, 1, NULL, &r), 0);
	cr_assert_eq(get_i64(r), want);
	tarn_ref_release(r);
}

Test(conformance, batch_get_and_release_argument_errors)
{
	tarn_arg_t a = tarn_arg_i64(4);
	tarn_ref_t refs[3] = {{0, 0}}, gone;
	tarn_object_t *obj[3];
	int64_t v[3];

	cr_assert_eq(tarn_get_i64_batch(NULL, 0, 1.0, NULL), 0);
	cr_assert_eq(tarn_get_batch(NULL, 0, 1.0, NULL), 0);
	cr_assert_eq(tarn_ref_release_batch(NULL, 0), 0);
	cr_assert_eq(tarn_get_i64_batch(NULL, 1, 1.0, v), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "refs"), "%s", tarn_last_error());
	cr_assert_eq(tarn_get_batch(refs, 1, 1.0, NULL), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "out"), "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release_batch(NULL, 2), TARN_EINVAL);

	cr_assert_eq(tarn_remote("square", &a, 1, NULL, &refs[0]), 0);
	cr_assert_eq(tarn_get_i64_batch(refs, 2, 1.0, v), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "ref 1 is the null ref"), "%s", tarn_last_error());
	cr_assert_eq(tarn_get_batch(refs, 2, 1.0, obj), TARN_EINVAL);

	/* A released ref is named; the others in the array are released all the same. */
	cr_assert_eq(tarn_put("12345678", 8, &gone), 0);
	cr_assert_eq(tarn_ref_release(gone), 0);
	refs[1] = gone;
	cr_assert_eq(tarn_remote("square", &a, 1, NULL, &refs[2]), 0);
	cr_assert_eq(tarn_get_i64_batch(refs, 3, 1.0, v), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "ref 1"), "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release_batch(refs, 3), TARN_ENOENT);
	cr_assert(strstr(tarn_last_error(), "ref 1"), "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release(refs[0]), TARN_ENOENT);
	cr_assert_eq(tarn_ref_release(refs[2]), TARN_ENOENT);
}

/*
 * A released ref can never be got: a batch naming one fails at once with
 * TARN_ENOENT, not after waiting on the refs before it (which, with a
 * short timeout, told of a timeout instead; a slow worker under valgrind
 * made the test above flaky).
 */
Test(conformance, batch_get_fails_at_once_on_a_released_ref)
{
	tarn_arg_t a = tarn_arg_i64(2000);
	tarn_ref_t refs[2], gone;
	tarn_object_t *obj[2];
	int64_t v[2];

	cr_assert_eq(tarn_remote("sleep_ms", &a, 1, NULL, &refs[0]), 0);
	cr_assert_eq(tarn_put("12345678", 8, &gone), 0);
	cr_assert_eq(tarn_ref_release(gone), 0);
	refs[1] = gone;
	cr_assert_eq(tarn_get_i64_batch(refs, 2, 0.01, v), TARN_ENOENT, "%s",
		     tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "ref 1"), "%s", tarn_last_error());
	cr_assert_eq(tarn_get_batch(refs, 2, 0.01, obj), TARN_ENOENT, "%s",
		     tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "ref 1"), "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release(refs[0]), 0);
}

Test(conformance, get_i64_batch_refuses_an_object_of_another_size)
{
	tarn_ref_t refs[2];
	int64_t v[2];

	cr_assert_eq(tarn_put("abc", 3, &refs[0]), 0);
	cr_assert_eq(tarn_put("abcdefgh", 8, &refs[1]), 0);
	cr_assert_eq(tarn_get_i64_batch(refs, 2, 1.0, v), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "ref 0"), "%s", tarn_last_error());
	cr_assert(strstr(tarn_last_error(), "3 bytes"), "%s", tarn_last_error());
	cr_assert_eq(tarn_ref_release_batch(refs, 2), 0);
}
