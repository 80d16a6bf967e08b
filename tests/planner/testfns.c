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

/* A partition function: row r of the task's input goes to bucket r % n. */
TARN_COMPUTE(t_split_mod)
{
	uint32_t n = tarn_compute_npartitions(ctx);
	FILE **out = calloc(n, sizeof(*out));
	char line[4096];
	size_t r = 0;
	int rc = 0;

	if (!n || !out)
		return tarn_compute_fail(ctx, "no buckets");
	for (uint32_t j = 0; j < n && !rc; j++) {
		char path[4096];
		const char *dir = tarn_compute_bucket_dir(ctx, j);

		snprintf(path, sizeof(path), "%s/rows.txt", dir ? dir : "/nonexistent");
		out[j] = fopen(path, "w");
		if (!out[j])
			rc = tarn_compute_fail(ctx, "cannot create %s", path);
	}
	for (size_t i = 0; !rc && i < tarn_compute_num_inputs(ctx); i++) {
		FILE *in = fopen(tarn_compute_input(ctx, i), "r");

		while (in && fgets(line, sizeof(line), in))
			fputs(line, out[r++ % n]);
		if (in)
			fclose(in);
	}
	for (uint32_t j = 0; j < n; j++)
		if (out[j])
			fclose(out[j]);
	free(out);
	return rc;
}

/* Writes "INPUT_GROUP PARTITION_INFOS" lines: what the context says. */
TARN_COMPUTE(t_describe)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/ctx.txt", tarn_compute_output_dir(ctx));
	out = fopen(path, "w");
	if (!out)
		return tarn_compute_fail(ctx, "cannot create %s", path);
	for (size_t i = 0; i < tarn_compute_num_dims(ctx); i++) {
		tarn_partition_info_t pi;

		tarn_compute_partition(ctx, i, &pi);
		fprintf(out, "dim %s %u %u\n", pi.dimension, pi.index, pi.npartitions);
	}
	for (size_t i = 0; i < tarn_compute_num_inputs(ctx); i++)
		fprintf(out, "input %d %s\n", tarn_compute_input_group(ctx, i),
			strrchr(tarn_compute_input(ctx, i), '/') + 1);
	fprintf(out, "args %s\n", tarn_compute_args(ctx));
	return fclose(out) ? tarn_compute_fail(ctx, "write error") : 0;
}
