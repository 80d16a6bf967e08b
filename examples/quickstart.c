/* SPDX-License-Identifier: MIT */
/*
 * unidist's getting-started program, in C.
 *
 *     @unidist.remote
 *     def square(x): return x * x
 *     refs = [square.remote(i) for i in range(4)]
 *     print(unidist.get(refs))            # [0, 1, 4, 9]
 *
 * then one Cube actor per square, fed the square's ref (no copy through
 * this program), turns each area back into a side and returns its cube:
 * [0.0, 1.0, 8.0, 27.0].
 *
 * Run it on any backend: UNIDIST_BACKEND=seq ./quickstart
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tarn/tarn.h>

TARN_TASK(square)
{
	int64_t x;

	if (tarn_task_arg_i64(ctx, 0, &x))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	return tarn_task_return_i64(ctx, 0, x * x);
}

struct cube {
	int64_t calls;
};

static int cube_new(tarn_task_ctx_t *ctx)
{
	struct cube *c = calloc(1, sizeof(*c));

	if (!c)
		return tarn_task_fail(ctx, "out of memory");
	tarn_actor_set_self(ctx, c);
	return 0;
}

TARN_ACTOR(Cube, cube_new, free)

/* Volume of the cube whose face has area argument 0. */
TARN_METHOD(Cube, volume)
{
	struct cube *c = tarn_actor_self(ctx);
	int64_t area;
	double side;

	if (tarn_task_arg_i64(ctx, 0, &area))
		return tarn_task_fail(ctx, "%s", tarn_last_error());
	c->calls++;
	side = sqrt((double)area);
	return tarn_task_return_f64(ctx, 0, side * side * side);
}

static int fail(const char *what)
{
	fprintf(stderr, "quickstart: %s: %s\n", what, tarn_last_error());
	tarn_shutdown();
	return 1;
}

int main(int argc, char **argv)
{
	tarn_init_opts_t init = {.argc = &argc, .argv = &argv};
	tarn_ref_t squares[4], volumes[4];
	tarn_actor_t cubes[4];

	if (tarn_init(&init) != 0) {
		fprintf(stderr, "quickstart: tarn_init: %s\n", tarn_last_error());
		return 1;
	}

	for (int i = 0; i < 4; i++) {
		tarn_arg_t arg = tarn_arg_i64(i);

		if (tarn_remote("square", &arg, 1, NULL, &squares[i]))
			return fail("square.remote");
	}
	printf("[");
	for (int i = 0; i < 4; i++) {
		int64_t v;

		if (tarn_get_i64(squares[i], TARN_FOREVER, &v))
			return fail("get");
		printf("%s%lld", i ? ", " : "", (long long)v);
	}
	printf("]\n");

	for (int i = 0; i < 4; i++) {
		tarn_arg_t area = tarn_arg_ref(squares[i]);

		if (tarn_actor_create("Cube", NULL, 0, NULL, &cubes[i]))
			return fail("Cube.remote");
		if (tarn_actor_call(cubes[i], "volume", &area, 1, NULL, &volumes[i]))
			return fail("Cube.volume.remote");
	}
	printf("[");
	for (int i = 0; i < 4; i++) {
		double v;

		if (tarn_get_f64(volumes[i], TARN_FOREVER, &v))
			return fail("get");
		printf("%s%.1f", i ? ", " : "", v);
	}
	printf("]\n");

	for (int i = 0; i < 4; i++) {
		tarn_ref_release(squares[i]);
		tarn_ref_release(volumes[i]);
		tarn_actor_kill(cubes[i]);
	}
	return tarn_shutdown() == 0 ? 0 : 1;
}
