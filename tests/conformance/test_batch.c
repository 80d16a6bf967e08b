/* SPDX-License-Identifier: MIT */
/*
 * tarn_remote_batch(): the same calls as a loop of tarn_remote(), on every
 * backend, whether or not the backend has submit_batch() (ABI 1.1).
 */
#include <criterion/criterion.h>
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
