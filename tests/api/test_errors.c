/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include <tarn/tarn.h>

Test(errors, every_code_has_a_name_and_message)
{
#define X(name, num, msg)                                                   \
	cr_assert_str_eq(tarn_err_name(TARN_##name), "TARN_" #name);        \
	cr_assert_str_eq(tarn_strerror(TARN_##name), msg);                  \
	cr_assert_lt(TARN_##name, 0, #name " must be negative");
	TARN_ERRNO_MAP(X)
#undef X
	cr_assert_str_eq(tarn_err_name(0), "TARN_OK");
	cr_assert_str_eq(tarn_strerror(0), "success");
}

Test(errors, codes_are_distinct)
{
	int codes[] = {
#define X(name, num, msg) num,
		TARN_ERRNO_MAP(X)
#undef X
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			cr_assert_neq(codes[i], codes[j], "codes %zu and %zu collide", i, j);
}

Test(errors, unknown_numbers)
{
	cr_assert_str_eq(tarn_strerror(-9999), "unknown error");
	cr_assert_str_eq(tarn_err_name(12345), "TARN_EUNKNOWN");
}

Test(errors, last_error_is_set_and_thread_local)
{
	tarn_ref_t r;

	cr_assert_str_eq(tarn_last_error(), "", "empty before any error");
	cr_assert_eq(tarn_remote("x", NULL, 0, NULL, &r), TARN_ENOTINIT);
	cr_assert(strstr(tarn_last_error(), "not initialized"), "%s", tarn_last_error());
}

Test(errors, version)
{
	cr_assert_str_eq(tarn_version_string(), TARN_VERSION_STRING);
}

Test(registration, bad_names_are_refused)
{
	cr_assert_eq(tarn_task_register("", NULL), TARN_EINVAL);
	cr_assert_eq(tarn_task_register("9lives", (tarn_task_fn)1), TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "9lives"), "%s", tarn_last_error());
	cr_assert_eq(tarn_task_register("has space", (tarn_task_fn)1), TARN_EINVAL);
	cr_assert_eq(tarn_actor_register("A.B", (tarn_task_fn)1, NULL), TARN_EINVAL);
	cr_assert_eq(tarn_method_register("A", "b.c", (tarn_task_fn)1), TARN_EINVAL);
}

static int f1(tarn_task_ctx_t *ctx)
{
	(void)ctx;
	return 0;
}

static int f2(tarn_task_ctx_t *ctx)
{
	(void)ctx;
	return 1;
}

Test(registration, conflict_is_reported_by_init)
{
	cr_assert_eq(tarn_task_register("dup", f1), 0);
	cr_assert_eq(tarn_task_register("dup", f1), 0, "same function again is fine");
	cr_assert_eq(tarn_task_register("dup", f2), TARN_EEXIST);
	cr_assert(strstr(tarn_last_error(), "'dup'"), "%s", tarn_last_error());
	/* A conflict from a constructor has nobody to return to: init reports it. */
	cr_assert_eq(tarn_init(NULL), TARN_EEXIST);
	cr_assert(strstr(tarn_last_error(), "registered twice"), "%s", tarn_last_error());
	cr_assert_not(tarn_is_initialized());
}
