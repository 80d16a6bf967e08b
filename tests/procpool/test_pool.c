/* SPDX-License-Identifier: MIT */
/*
 * procpool's record pool (plugins/procpool/pool.c), white box: records are
 * zeroed, distinct and writable, freed ones are reused, and slabs whose
 * records are all free go back (the pool's memory follows what is alive).
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <string.h>

#include "pool.h"

struct rec {
	uint64_t words[12]; /* 96 bytes, like the driver's object record */
};

Test(pool, records_are_zeroed_distinct_and_reused)
{
	struct pp_pool p;
	GHashTable *seen = g_hash_table_new(NULL, NULL);
	struct rec *r[3000];

	pp_pool_init(&p, sizeof(struct rec));
	for (int i = 0; i < 3000; i++) {
		r[i] = pp_pool_alloc(&p);
		cr_assert_not_null(r[i]);
		for (int w = 0; w < 12; w++)
			cr_assert_eq(r[i]->words[w], 0, "record %d word %d not zeroed", i, w);
		cr_assert(g_hash_table_add(seen, r[i]), "record %d handed out twice", i);
		memset(r[i], 0xab, sizeof(*r[i]));
	}
	/* Free every other one: the next allocations reuse them, zeroed. */
	for (int i = 0; i < 3000; i += 2)
		pp_pool_free(&p, r[i]);
	for (int i = 0; i < 3000; i += 2) {
		struct rec *x = pp_pool_alloc(&p);

		cr_assert(g_hash_table_contains(seen, x), "a fresh record while freed ones wait");
		for (int w = 0; w < 12; w++)
			cr_assert_eq(x->words[w], 0);
		r[i] = x;
	}
	for (int i = 0; i < 3000; i++)
		cr_assert_eq(r[i]->words[0], i % 2 ? 0xababababababababull : 0);
	pp_pool_fini(&p);
	g_hash_table_destroy(seen);
}

Test(pool, free_slabs_go_back)
{
	struct pp_pool p;
	size_t n = 200000, kept;
	void **r = g_new(void *, n);

	pp_pool_init(&p, sizeof(struct rec));
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < n; i++)
			r[i] = pp_pool_alloc(&p);
		cr_assert_geq(pp_pool_slabs(&p, &kept), n / p.per_slab);
		for (size_t i = 0; i < n; i++)
			pp_pool_free(&p, r[(i * 7919) % n]); /* out of order */
		cr_assert_eq(pp_pool_slabs(&p, &kept), 0, "round %d: slabs still in use", round);
		cr_assert_eq(p.room, NULL);
		/* Kept for the next burst until two trims pass without it. */
		cr_assert_geq(kept, n / p.per_slab, "round %d: only %zu free slabs kept", round,
			      kept);
		pp_pool_trim(&p);
		pp_pool_slabs(&p, &kept);
		cr_assert_geq(kept, n / p.per_slab, "round %d: a trim freed slabs just freed",
			      round);
		pp_pool_trim(&p);
		pp_pool_slabs(&p, &kept);
		cr_assert_leq(kept, 4, "round %d: %zu free slabs kept", round, kept);
	}
	pp_pool_fini(&p);
	g_free(r);
}

Test(pool, slabs_reused_between_trims_stay)
{
	struct pp_pool p;
	size_t n = 50000, kept, before = 0;
	void **r = g_new(void *, n);

	pp_pool_init(&p, sizeof(struct rec));
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < n; i++)
			r[i] = pp_pool_alloc(&p);
		for (size_t i = 0; i < n; i++)
			pp_pool_free(&p, r[i]);
		pp_pool_slabs(&p, &kept);
		if (round)
			cr_assert_eq(kept, before, "round %d: the burst did not reuse the kept slabs",
				     round);
		before = kept;
		pp_pool_trim(&p); /* one trim a burst: every slab is in use again before the next */
	}
	pp_pool_trim(&p);
	pp_pool_slabs(&p, &kept);
	cr_assert_leq(kept, 4);
	pp_pool_fini(&p);
	g_free(r);
}
