/* SPDX-License-Identifier: MIT */
#ifndef TARN_TESTS_CONFORMANCE_TASKS_H
#define TARN_TESTS_CONFORMANCE_TASKS_H

#include <tarn/tarn.h>

/*
 * tasks.c registers: square, add, divmod, squares, count_args, echo,
 * fail_always, flaky, sleep_ms, no_result, sum_bytes, pattern, fib,
 * get_inside, batch_inside, batch_get_inside; actor classes Counter (add, get) and Broken (ping).
 */

#endif
