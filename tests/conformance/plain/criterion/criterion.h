/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for <criterion/criterion.h> with the few macros the
 * conformance suite uses, for backends that cannot run under Criterion:
 * MPI can be initialised once per process and never in a forked child, so
 * on mpi the suite's bodies run one after another in a single process,
 * after one tarn_init(), from plain_main.c. Only this folder's programs see
 * this header (it is first on their include path); everything else uses
 * the real Criterion.
 */
#ifndef TARN_TESTS_PLAIN_CRITERION_H
#define TARN_TESTS_PLAIN_CRITERION_H

#include <stdbool.h>
#include <string.h>

#include <tarn/tarn.h>

/**
 * struct plain_test - one registered test body
 * @suite: the Criterion suite name
 * @name: the test name
 * @line: where it is defined, to run tests in file order
 * @fn: its body
 */
struct plain_test {
	const char *suite;
	const char *name;
	int line;
	void (*fn)(void);
};

/**
 * plain_register() - add a test to the list plain_main.c runs
 * @t: the test, static storage
 */
void plain_register(const struct plain_test *t);

/**
 * plain_fail() - report a failed assertion and leave the running test
 * @file: source file
 * @line: source line
 * @expr: the assertion as written
 * @fmt: printf format of the message after one space (" " alone: none)
 */
_Noreturn void plain_fail(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define Test(suite, name, ...)                                                                 \
	static void suite##_##name##_body(void);                                               \
	__attribute__((constructor)) static void suite##_##name##_reg(void)                  \
	{                                                                                      \
		static const struct plain_test t = {#suite, #name, __LINE__,                   \
						    suite##_##name##_body};                    \
		plain_register(&t);                                                            \
	}                                                                                      \
	static void suite##_##name##_body(void)

/*
 * Suite options (init, fini, timeout) are the runner's business here; the
 * options are still evaluated so that the functions they name count as used.
 */
struct plain_suite_opts {
	void (*init)(void);
	void (*fini)(void);
	int timeout;
};
#define TestSuite(suite, ...)                                                                  \
	__attribute__((unused)) static const struct plain_suite_opts suite##_opts = {__VA_ARGS__}

#define PLAIN_CHECK(cond, text, ...)                                                           \
	do {                                                                                   \
		if (!(cond))                                                                   \
			plain_fail(__FILE__, __LINE__, text, " " __VA_ARGS__);                  \
	} while (0)

#define cr_assert(cond, ...) PLAIN_CHECK(cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) PLAIN_CHECK(!(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) PLAIN_CHECK((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) PLAIN_CHECK((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) PLAIN_CHECK((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) PLAIN_CHECK((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) PLAIN_CHECK((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                            \
	PLAIN_CHECK(strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)

#endif
