/* SPDX-License-Identifier: MIT */
/*
 * The conformance suite without Criterion, for backends whose processes
 * cannot fork a child per test (mpi: MPI starts once per process and never
 * in a forked child). Built from the same test_conformance.c with the
 * stand-in header in plain/. One process, one tarn_init(): every test of
 * the "conformance" suite runs in file order, each under an alarm, and a
 * failed assertion ends only its test. The "lifecycle" tests that
 * initialise several times are replaced by what holds on such a backend:
 * tarn_init while initialised is TARN_EBUSY, and after tarn_shutdown a new
 * tarn_init is refused with a reason.
 *
 * On mpi every rank runs this main(): tarn_init() returns only on the
 * driver, and spawned ranks run it again from the top.
 *
 * Usage: test-conformance-plain [SUBSTRING...]  (run the tests whose name
 * contains one of them; all when none)
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define MAX_TESTS 256
#define TEST_TIMEOUT_S 60

static const struct plain_test *tests[MAX_TESTS];
static size_t ntests;
static jmp_buf escape;
static const char *running;

void plain_register(const struct plain_test *t)
{
	if (ntests < MAX_TESTS)
		tests[ntests++] = t;
}

void plain_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[FAIL] %s: %s:%d: assertion failed: %s", running, file, line, expr);
	if (fmt[1]) {
		fputs(":", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	longjmp(escape, 1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "[FAIL] a test ran past its limit of 60 s\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(2);
}

static int by_line(const void *a, const void *b)
{
	const struct plain_test *x = *(const struct plain_test *const *)a;
	const struct plain_test *y = *(const struct plain_test *const *)b;

	return x->line - y->line;
}

static bool selected(const struct plain_test *t, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]))
			return true;
	return false;
}

/* Run one test; true when it passed. */
static bool run_one(const struct plain_test *t)
{
	struct timespec a, b;
	char name[256];

	snprintf(name, sizeof(name), "%s::%s", t->suite, t->name);
	running = name;
	clock_gettime(CLOCK_MONOTONIC, &a);
	alarm(TEST_TIMEOUT_S);
	if (setjmp(escape)) {
		alarm(0);
		return false;
	}
	t->fn();
	alarm(0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "[PASS] %s (%.2f s)\n", name,
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return true;
}

static void check_init_rules(tarn_init_opts_t *opts, unsigned *passed, unsigned *failed)
{
	int rc = tarn_init(opts);

	if (rc == TARN_EBUSY) {
		++*passed;
		fprintf(stderr, "[PASS] lifecycle::init_while_initialized_is_busy\n");
	} else {
		++*failed;
		fprintf(stderr, "[FAIL] lifecycle::init_while_initialized_is_busy: got %s\n",
			tarn_err_name(rc));
	}
}

int main(int argc, char **argv)
{
	tarn_init_opts_t opts = {&argc, &argv};
	unsigned passed = 0, failed = 0;
	int rc;

	signal(SIGALRM, on_alarm);
	qsort(tests, ntests, sizeof(tests[0]), by_line);
	/* Before tarn_init: what an uninitialised process answers. */
	for (size_t i = 0; i < ntests; i++)
		if (strcmp(tests[i]->name, "not_initialized") == 0 && selected(tests[i], argc, argv))
			run_one(tests[i]) ? passed++ : failed++;
	rc = tarn_init(&opts); /* returns on the driver only */
	if (rc) {
		fprintf(stderr, "[FAIL] tarn_init: %s: %s\n", tarn_err_name(rc), tarn_last_error());
		return 1;
	}
	fprintf(stderr, "conformance on backend '%s', one process, one tarn_init\n",
		tarn_backend_name());
	check_init_rules(&opts, &passed, &failed);
	for (size_t i = 0; i < ntests; i++)
		if (strcmp(tests[i]->suite, "conformance") == 0 && selected(tests[i], argc, argv))
			run_one(tests[i]) ? passed++ : failed++;
	rc = tarn_shutdown();
	if (rc) {
		failed++;
		fprintf(stderr, "[FAIL] tarn_shutdown: %s\n", tarn_last_error());
	}
	/* A backend that cannot start twice in a process must say so, not crash. */
	rc = tarn_init(&opts);
	if (rc == 0) {
		passed++;
		fprintf(stderr, "[PASS] lifecycle::reinit (the backend started again)\n");
		tarn_shutdown();
	} else if (tarn_last_error()[0]) {
		passed++;
		fprintf(stderr, "[PASS] lifecycle::reinit refused with a reason: %s\n",
			tarn_last_error());
	} else {
		failed++;
		fprintf(stderr, "[FAIL] lifecycle::reinit refused without a reason\n");
	}
	fprintf(stderr, "plain conformance: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
