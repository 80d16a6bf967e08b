/* SPDX-License-Identifier: MIT */
/* Compute functions for the planner's job tests, loaded from the plans. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tarn/plan.h>

static int copy_inputs(tarn_compute_ctx_t *ctx)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/data.txt", tarn_compute_output_dir(ctx));
	out = fopen(path, "w");
	if (!out)
		return tarn_compute_fail(ctx, "cannot create %s", path);
	for (size_t i = 0; i < tarn_compute_num_inputs(ctx); i++) {
		FILE *in = fopen(tarn_compute_input(ctx, i), "r");
		char buf[65536];
		size_t n;

		if (!in) {
			fclose(out);
			return tarn_compute_fail(ctx, "cannot read %s",
						 tarn_compute_input(ctx, i));
		}
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(in);
	}
	return fclose(out) ? tarn_compute_fail(ctx, "write error") : 0;
}

/* Counts calls in the file named by args: one byte per call. */
static void count_call(tarn_compute_ctx_t *ctx)
{
	int fd = open(tarn_compute_args(ctx), O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd >= 0) {
		if (write(fd, "x", 1) != 1)
			abort();
		close(fd);
	}
}

TARN_COMPUTE(t_copy)
{
	return copy_inputs(ctx);
}

/* args: milliseconds to sleep first */
TARN_COMPUTE(t_slow_copy)
{
	usleep((useconds_t)atoi(tarn_compute_args(ctx)) * 1000);
	return copy_inputs(ctx);
}

TARN_COMPUTE(t_crash)
{
	count_call(ctx);
	abort();
}

TARN_COMPUTE(t_fail)
{
	count_call(ctx);
	return tarn_compute_fail(ctx, "deliberate failure for the test");
}

/* Partition 0's first attempt straggles (args: a marker file); every
 * other attempt is quick. */
TARN_COMPUTE(t_straggler)
{
	tarn_partition_info_t pi;

	if (tarn_compute_partition(ctx, 0, &pi) == 0 && pi.index == 0) {
		int fd = open(tarn_compute_args(ctx), O_WRONLY | O_CREAT | O_EXCL, 0644);

		if (fd >= 0) {
			close(fd);
			sleep(4);
		}
	} else {
		usleep(50000);
	}
	return copy_inputs(ctx);
}
