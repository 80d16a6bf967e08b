/* SPDX-License-Identifier: MIT */
/*
 * The suite's own main(): backends that start workers by executing the
 * program again (procpool) run this main() in each worker, where it must
 * become a worker at once instead of running Criterion.
 */
#include <criterion/criterion.h>

#include <tarn/tarn.h>

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests;
	int result = 0;

	if (tarn_is_worker())
		return tarn_init(NULL) == 0 ? 0 : 1; /* returns only on failure */
	tests = criterion_initialize();
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
