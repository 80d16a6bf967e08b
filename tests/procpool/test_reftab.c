/* SPDX-License-Identifier: MIT */
/*
 * procpool's ref -> pointer table, white box (reftab.c is compiled in):
 * checked against GHashTable as the model under random churn, so that
 * backward-shift deletion never loses or resurrects an entry and the dense
 * pages of the chosen origin agree with the probing part.
 */
#include <criterion/criterion.h>
#include <glib.h>

#include "reftab.h"

static guint model_hash(gconstpointer p)
{
	const tarn_ref_t *r = p;

	return (guint)(r->seq * 31 + r->origin);
}

static gboolean model_equal(gconstpointer a, gconstpointer b)
{
	const tarn_ref_t *x = a, *y = b;

	return x->origin == y->origin && x->seq == y->seq;
}

static void *val_of(tarn_ref_t r)
{
	return (void *)(uintptr_t)(r.seq * 4 + r.origin + 1);
}

Test(reftab, empty_table_finds_nothing)
{
	struct reftab t;

	reftab_init(&t, 0);
	cr_expect_null(reftab_find(&t, (tarn_ref_t){1, 1}));
	cr_expect_null(reftab_remove(&t, (tarn_ref_t){1, 1}));
	cr_expect_eq(reftab_size(&t), 0);
	reftab_fini(&t);
}

Test(reftab, put_replaces_and_remove_returns_the_value)
{
	struct reftab t;
	tarn_ref_t r = {7, 42};
	int a, b;

	reftab_init(&t, 0);
	reftab_put(&t, r, &a);
	reftab_put(&t, r, &b);
	cr_expect_eq(reftab_size(&t), 1);
	cr_expect_eq(reftab_find(&t, r), &b);
	cr_expect_eq(reftab_remove(&t, r), &b);
	cr_expect_null(reftab_find(&t, r));
	cr_expect_eq(reftab_size(&t), 0);
	reftab_fini(&t);
}

Test(reftab, agrees_with_a_model_under_churn)
{
	GHashTable *model = g_hash_table_new_full(model_hash, model_equal, g_free, NULL);
	GRand *rng = g_rand_new_with_seed(12345);
	struct reftab t;

	/* Origin 1 lives in dense pages, 0, 2 and 3 in the probing table. */
	reftab_init(&t, 1);
	for (int step = 0; step < 400000; step++) {
		/* Few origins, clustered seqs: the shapes procpool makes. */
		tarn_ref_t r = {(uint64_t)g_rand_int_range(rng, 0, 4),
				(uint64_t)g_rand_int_range(rng, 0, 20000)};
		int op = g_rand_int_range(rng, 0, 3);

		if (op == 0) {
			reftab_put(&t, r, val_of(r));
			g_hash_table_replace(model, g_memdup2(&r, sizeof(r)), val_of(r));
		} else if (op == 1) {
			void *want = g_hash_table_lookup(model, &r);

			cr_assert_eq(reftab_remove(&t, r), want, "step %d", step);
			g_hash_table_remove(model, &r);
		} else {
			cr_assert_eq(reftab_find(&t, r), g_hash_table_lookup(model, &r),
				     "step %d", step);
		}
		cr_assert_eq(reftab_size(&t), g_hash_table_size(model), "step %d", step);
	}
	{
		GHashTableIter it;
		gpointer k, v;
		GPtrArray *all = g_ptr_array_new();
		GHashTable *want = g_hash_table_new(NULL, NULL);

		g_hash_table_iter_init(&it, model);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			cr_assert_eq(reftab_find(&t, *(tarn_ref_t *)k), v);
			g_hash_table_add(want, v);
		}
		/* reftab_values() yields each value exactly once. */
		reftab_values(&t, all);
		cr_expect_eq(all->len, g_hash_table_size(model));
		for (guint i = 0; i < all->len; i++)
			cr_assert(g_hash_table_remove(want, all->pdata[i]), "value %u twice or unknown", i);
		g_ptr_array_free(all, TRUE);
		g_hash_table_destroy(want);
	}
	reftab_clear(&t);
	cr_expect_eq(reftab_size(&t), 0);
	cr_expect_null(reftab_find(&t, (tarn_ref_t){0, 1}));
	reftab_fini(&t);
	g_rand_free(rng);
	g_hash_table_destroy(model);
}

Test(reftab, a_million_sequential_refs_then_released_in_order)
{
	struct reftab t;

	/* Origin 0 dense, origin 5 probed: both shapes, interleaved. */
	reftab_init(&t, 0);
	for (uint64_t s = 1; s <= 1000000; s++) {
		reftab_put(&t, (tarn_ref_t){0, s}, val_of((tarn_ref_t){0, s}));
		if (s % 10 == 0)
			reftab_put(&t, (tarn_ref_t){5, s}, val_of((tarn_ref_t){5, s}));
	}
	cr_expect_eq(reftab_size(&t), 1100000);
	for (uint64_t s = 1; s <= 1000000; s++) {
		cr_assert_eq(reftab_remove(&t, (tarn_ref_t){0, s}), val_of((tarn_ref_t){0, s}));
		if (s % 10 == 0)
			cr_assert_eq(reftab_remove(&t, (tarn_ref_t){5, s}),
				     val_of((tarn_ref_t){5, s}));
	}
	cr_expect_eq(reftab_size(&t), 0);
	/* Emptied pages are given back, all but the newest. */
	cr_expect_eq(g_hash_table_size(t.pages), 1);
	reftab_fini(&t);
}

Test(reftab, emptied_pages_are_reused_then_trimmed)
{
	struct reftab t;
	uint64_t s = 1;
	size_t spare;

	reftab_init(&t, 0);
	for (int round = 0; round < 3; round++) {
		uint64_t from = s;

		for (int i = 0; i < 40000; i++, s++)
			reftab_put(&t, (tarn_ref_t){0, s}, val_of((tarn_ref_t){0, s}));
		for (uint64_t k = from; k < s; k++)
			cr_assert_eq(reftab_remove(&t, (tarn_ref_t){0, k}),
				     val_of((tarn_ref_t){0, k}));
		spare = reftab_spare_pages(&t);
		/* 40000 refs span 10 or 11 pages; all but the newest emptied. */
		cr_assert_geq(spare, 9, "round %d: %zu pages kept", round, spare);
		cr_assert_leq(spare, 11, "round %d: %zu pages kept: not reused", round, spare);
		/* Reused pages must come back empty. */
		for (uint64_t k = s; k < s + 3 * 4096; k++)
			cr_assert_null(reftab_find(&t, (tarn_ref_t){0, k}));
	}
	reftab_trim(&t);
	cr_assert_geq(reftab_spare_pages(&t), 9, "a trim freed pages just emptied");
	reftab_trim(&t);
	cr_assert_eq(reftab_spare_pages(&t), 0);
	cr_assert_eq(reftab_size(&t), 0);
	reftab_fini(&t);
}

Test(reftab, put_if_absent_adds_once)
{
	struct reftab t;

	reftab_init(&t, 0);
	for (uint64_t origin = 0; origin < 2; origin++) {
		for (uint64_t s = 1; s <= 10000; s++) {
			tarn_ref_t r = {origin, s};

			cr_assert_null(reftab_put_if_absent(&t, r, val_of(r)), "%lu:%lu", origin, s);
			cr_assert_eq(reftab_put_if_absent(&t, r, (void *)1), val_of(r),
				     "%lu:%lu: a second add replaced the first", origin, s);
			cr_assert_eq(reftab_find(&t, r), val_of(r));
		}
	}
	cr_assert_eq(reftab_size(&t), 20000);
	for (uint64_t origin = 0; origin < 2; origin++)
		for (uint64_t s = 1; s <= 10000; s++)
			cr_assert_eq(reftab_remove(&t, (tarn_ref_t){origin, s}),
				     val_of((tarn_ref_t){origin, s}));
	cr_assert_eq(reftab_size(&t), 0);
	reftab_fini(&t);
}
