/* SPDX-License-Identifier: MIT */
/*
 * Task functions and actor classes of the conformance suite. They are
 * registered in every process that loads the test program, so multi-process
 * backends find them on their workers too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks.h"

TARN_TASK(square)
{
	int64_t x;
	int rc = tarn_task_arg_i64(ctx, 0, &x);

	if (rc)
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, x * x);
}

TARN_TASK(add)
{
	int64_t a, b;

	if (tarn_task_arg_i64(ctx, 0, &a) || tarn_task_arg_i64(ctx, 1, &b))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, a + b);
}

/* Two results: quotient and remainder. */
TARN_TASK(divmod)
{
	int64_t a, b;

	if (tarn_task_arg_i64(ctx, 0, &a) || tarn_task_arg_i64(ctx, 1, &b))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	if (b == 0)
		return tarn_task_fail(ctx, "division by zero");
	if (tarn_task_return_i64(ctx, 0, a / b))
		return -1;
	return tarn_task_return_i64(ctx, 1, a % b);
}

/* num_returns results; result i is i * i. */
TARN_TASK(squares)
{
	for (size_t i = 0; i < tarn_task_num_returns(ctx); i++)
		if (tarn_task_return_i64(ctx, i, (int64_t)(i * i)))
			return -1;
	return 0;
}

TARN_TASK(count_args)
{
	return tarn_task_return_i64(ctx, 0, (int64_t)tarn_task_num_args(ctx));
}

TARN_TASK(echo)
{
	const void *p;
	size_t n;

	if (tarn_task_arg(ctx, 0, &p, &n))
		return -1;
	return tarn_task_return(ctx, 0, p, n);
}

TARN_TASK(fail_always)
{
	return tarn_task_fail(ctx, "boom on attempt %u", tarn_task_attempt(ctx));
}

/* Fails until its third attempt, then returns the attempt number. */
TARN_TASK(flaky)
{
	if (tarn_task_attempt(ctx) < 3)
		return tarn_task_fail(ctx, "flaky failure on attempt %u",
				      tarn_task_attempt(ctx));
	return tarn_task_return_i64(ctx, 0, tarn_task_attempt(ctx));
}

TARN_TASK(sleep_ms)
{
	int64_t ms;
	struct timespec ts;

	if (tarn_task_arg_i64(ctx, 0, &ms))
		return -1;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0)
		;
	return tarn_task_return_i64(ctx, 0, ms);
}

TARN_TASK(no_result)
{
	return 0;
}

/* Sum of every byte of argument 0. */
TARN_TASK(sum_bytes)
{
	const unsigned char *p;
	const void *v;
	size_t n;
	int64_t sum = 0;

	if (tarn_task_arg(ctx, 0, &v, &n))
		return -1;
	p = v;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return tarn_task_return_i64(ctx, 0, sum);
}

/* Writes @n bytes of pattern straight into the store. */
TARN_TASK(pattern)
{
	int64_t n;
	unsigned char *p;
	void *v;

	if (tarn_task_arg_i64(ctx, 0, &n) || tarn_task_return_alloc(ctx, 0, (size_t)n, &v))
		return -1;
	p = v;
	for (int64_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	return 0;
}

/* Tasks submitting tasks and waiting for them inside a task. */
TARN_TASK(fib)
{
	int64_t n, a, b;
	tarn_ref_t r[2];
	tarn_arg_t arg;

	if (tarn_task_arg_i64(ctx, 0, &n))
		return -1;
	if (n < 2)
		return tarn_task_return_i64(ctx, 0, n);
	arg = tarn_arg_i64(n - 1);
	if (tarn_remote("fib", &arg, 1, NULL, &r[0]))
		return tarn_task_fail(ctx, "submit: %s", tarn_last_error());
	arg = tarn_arg_i64(n - 2);
	if (tarn_remote("fib", &arg, 1, NULL, &r[1]))
		return tarn_task_fail(ctx, "submit: %s", tarn_last_error());
	if (tarn_get_i64(r[0], TARN_FOREVER, &a) || tarn_get_i64(r[1], TARN_FOREVER, &b))
		return tarn_task_fail(ctx, "get: %s", tarn_last_error());
	tarn_ref_release(r[0]);
	tarn_ref_release(r[1]);
	return tarn_task_return_i64(ctx, 0, a + b);
}

/* Argument 0 is a tarn_ref_t as bytes: get it inside the task, add one. */
TARN_TASK(get_inside)
{
	const void *p;
	size_t n;
	tarn_ref_t ref;
	int64_t v;

	if (tarn_task_arg(ctx, 0, &p, &n) || n != sizeof(ref))
		return tarn_task_fail(ctx, "expected a ref as argument 0");
	memcpy(&ref, p, sizeof(ref));
	if (tarn_get_i64(ref, 10.0, &v))
		return tarn_task_fail(ctx, "get inside task: %s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, v + 1);
}

/* Sum of i * i for i < n, computed by a batch of "square" tasks submitted inside a task. */
TARN_TASK(batch_inside)
{
	int64_t n, v, sum = 0;
	tarn_arg_t *args;
	tarn_ref_t *refs;
	int rc = 0;

	if (tarn_task_arg_i64(ctx, 0, &n) || n < 0 || n > 100000)
		return tarn_task_fail(ctx, "expected 0 <= n <= 100000 as argument 0");
	args = calloc((size_t)n + 1, sizeof(*args));
	refs = calloc((size_t)n + 1, sizeof(*refs));
	if (!args || !refs) {
		free(args);
		free(refs);
		return tarn_task_fail(ctx, "out of memory");
	}
	for (int64_t i = 0; i < n; i++)
		args[i] = tarn_arg_i64(i);
	if (tarn_remote_batch("square", args, 1, (size_t)n, NULL, refs)) {
		rc = tarn_task_fail(ctx, "batch: %s", tarn_last_error());
		goto out;
	}
	for (int64_t i = 0; i < n; i++) {
		/* A failed get leaves @v unset: nothing of it may reach @sum. */
		if (!rc && tarn_get_i64(refs[i], TARN_FOREVER, &v))
			rc = tarn_task_fail(ctx, "get: %s", tarn_last_error());
		else if (!rc)
			sum += v;
		tarn_ref_release(refs[i]);
	}
	if (!rc)
		rc = tarn_task_return_i64(ctx, 0, sum);
out:
	free(args);
	free(refs);
	return rc;
}

/* batch_inside, with the results read and released by the batch calls. */
TARN_TASK(batch_get_inside)
{
	int64_t n, sum = 0, *v;
	tarn_arg_t *args;
	tarn_ref_t *refs;
	int rc = 0;

	if (tarn_task_arg_i64(ctx, 0, &n) || n < 0 || n > 100000)
		return tarn_task_fail(ctx, "expected 0 <= n <= 100000 as argument 0");
	args = calloc((size_t)n + 1, sizeof(*args));
	refs = calloc((size_t)n + 1, sizeof(*refs));
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!args || !refs || !v) {
		rc = tarn_task_fail(ctx, "out of memory");
		goto out;
	}
	for (int64_t i = 0; i < n; i++)
		args[i] = tarn_arg_i64(i);
	if (tarn_remote_batch("square", args, 1, (size_t)n, NULL, refs)) {
		rc = tarn_task_fail(ctx, "batch: %s", tarn_last_error());
		goto out;
	}
	if (tarn_get_i64_batch(refs, (size_t)n, TARN_FOREVER, v))
		rc = tarn_task_fail(ctx, "get batch: %s", tarn_last_error());
	for (int64_t i = 0; i < n && !rc; i++)
		sum += v[i];
	if (tarn_ref_release_batch(refs, (size_t)n) && !rc)
		rc = tarn_task_fail(ctx, "release batch: %s", tarn_last_error());
	if (!rc)
		rc = tarn_task_return_i64(ctx, 0, sum);
out:
	free(args);
	free(refs);
	free(v);
	return rc;
}

/* Counter actor: state is an int64 and an optional marker file. -------- */

struct counter {
	int64_t value;
	char marker[512];
};

static int counter_new(tarn_task_ctx_t *ctx)
{
	struct counter *c = calloc(1, sizeof(*c));
	const void *p;
	size_t n;

	if (!c)
		return tarn_task_fail(ctx, "out of memory");
	if (tarn_task_arg_i64(ctx, 0, &c->value)) {
		free(c);
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	}
	if (tarn_task_num_args(ctx) > 1 && tarn_task_arg(ctx, 1, &p, &n) == 0 &&
	    n < sizeof(c->marker))
		memcpy(c->marker, p, n);
	tarn_actor_set_self(ctx, c);
	return 0;
}

/* The destructor leaves a trace a test can see from any process. */
static void counter_free(void *self)
{
	struct counter *c = self;

	if (c->marker[0]) {
		/*
		 * Written aside and renamed: a test polls for the marker from
		 * another process and must never see it created but empty.
		 */
		char part[sizeof(c->marker) + 8];
		FILE *f;

		snprintf(part, sizeof(part), "%s.part", c->marker);
		f = fopen(part, "w");
		if (f) {
			fprintf(f, "%lld\n", (long long)c->value);
			if (fclose(f) == 0)
				rename(part, c->marker);
		}
	}
	free(c);
}

TARN_ACTOR(Counter, counter_new, counter_free)

TARN_METHOD(Counter, add)
{
	struct counter *c = tarn_actor_self(ctx);
	int64_t x;

	if (tarn_task_arg_i64(ctx, 0, &x))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	c->value += x;
	if (tarn_task_num_returns(ctx) == 0)
		return 0;
	return tarn_task_return_i64(ctx, 0, c->value);
}

TARN_METHOD(Counter, get)
{
	struct counter *c = tarn_actor_self(ctx);

	return tarn_task_return_i64(ctx, 0, c->value);
}

static int broken_new(tarn_task_ctx_t *ctx)
{
	return tarn_task_fail(ctx, "constructor refuses: no such device");
}

TARN_ACTOR(Broken, broken_new, NULL)

TARN_METHOD(Broken, ping)
{
	return tarn_task_return_i64(ctx, 0, 1);
}
