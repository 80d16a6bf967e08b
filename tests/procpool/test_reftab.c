/* SPDX-License-Identifier: MIT */
/*
 * procpool's ref -> pointer table, white box (reftab.c is compiled in):
 * checked against GHashTable as the model under random churn, so that
 * backward-shift deletion never loses or resurrects an entry.
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

	reftab_init(&t);
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

	reftab_init(&t);
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

	reftab_init(&t);
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
		size_t seen = 0;

		g_hash_table_iter_init(&it, model);
		while (g_hash_table_iter_next(&it, &k, &v))
			cr_assert_eq(reftab_find(&t, *(tarn_ref_t *)k), v);
		for (size_t i = 0; i <= t.mask; i++)
			seen += t.slots[i].val != NULL;
		cr_expect_eq(seen, g_hash_table_size(model));
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

	reftab_init(&t);
	for (uint64_t s = 1; s <= 1000000; s++)
		reftab_put(&t, (tarn_ref_t){1, s}, val_of((tarn_ref_t){1, s}));
	cr_expect_eq(reftab_size(&t), 1000000);
	for (uint64_t s = 1; s <= 1000000; s++)
		cr_assert_eq(reftab_remove(&t, (tarn_ref_t){1, s}), val_of((tarn_ref_t){1, s}));
	cr_expect_eq(reftab_size(&t), 0);
	reftab_fini(&t);
}
