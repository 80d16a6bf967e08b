/* SPDX-License-Identifier: MIT */
/*
 * SP_MEMORY_ALLOCATOR: jemalloc or mimalloc is loaded into procpool's
 * workers (LD_PRELOAD) and not into the driver. Not run in sanitizer
 * builds: a preloaded malloc cannot coexist with AddressSanitizer's.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <string.h>

#include <tarn/tarn.h>

/* Whether this process has mapped a library whose name contains argument 0. */
TARN_TASK(has_mapped)
{
	const void *p;
	size_t n;
	gchar *maps = NULL;
	int64_t found;

	if (tarn_task_arg(ctx, 0, &p, &n))
		return -1;
	if (!g_file_get_contents("/proc/self/maps", &maps, NULL, NULL))
		return tarn_task_fail(ctx, "cannot read /proc/self/maps");
	found = strstr(maps, (const char *)p) != NULL;
	g_free(maps);
	return tarn_task_return_i64(ctx, 0, found);
}

static int64_t worker_has(const char *allocator, const char *lib)
{
	tarn_arg_t a = tarn_arg_str(lib);
	tarn_ref_t r;
	int64_t v = -1;

	cr_assert_eq(tarn_config_set("UNIDIST_BACKEND", "procpool"), 0);
	cr_assert_eq(tarn_config_set("UNIDIST_CPUS", "1"), 0);
	if (allocator)
		cr_assert_eq(tarn_config_set("SP_MEMORY_ALLOCATOR", allocator), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_init(NULL), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_remote("has_mapped", &a, 1, NULL, &r), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_get_i64(r, 60, &v), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_shutdown(), 0);
	return v;
}

static void driver_lacks(const char *lib)
{
	gchar *maps = NULL;

	cr_assert(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
	cr_assert_null(strstr(maps, lib), "the driver has %s mapped too", lib);
	g_free(maps);
}

Test(allocator, jemalloc_in_workers_only, .timeout = 300)
{
	cr_assert_eq(worker_has("jemalloc", "libjemalloc"), 1);
	driver_lacks("libjemalloc");
}

Test(allocator, mimalloc_in_workers_only, .timeout = 300)
{
	cr_assert_eq(worker_has("mimalloc", "libmimalloc"), 1);
	driver_lacks("libmimalloc");
}

Test(allocator, system_by_default, .timeout = 300)
{
	cr_assert_eq(worker_has(NULL, "libjemalloc"), 0);
	cr_assert_eq(worker_has(NULL, "libmimalloc"), 0);
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests;
	int result = 0;

	if (tarn_is_worker())
		return tarn_init(NULL) == 0 ? 0 : 1;
	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
