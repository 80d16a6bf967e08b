/* SPDX-License-Identifier: MIT */
/*
 * A map from object refs to pointers, for procpool's hot tables (objects,
 * tasks in flight). Two parts:
 *
 * - Refs of one chosen origin (the driver's own, which it mints in one
 *   dense sequence) live in pages of 4096 consecutive seqs, indexed
 *   directly: no hashing, no probing, and a program using its refs in the
 *   order it made them walks memory in order.
 * - Any other ref goes to an open-addressing table with linear probing and
 *   keys in the slots (one cache line per lookup, where GHashTable, with
 *   hashes, keys and values in three arrays and keys compared through a
 *   pointer, touches four).
 *
 * With a million live objects, GHashTable's misses were the driver's
 * largest cost per no-op task.
 *
 * Not thread-safe: the driver holds its lock around every call.
 */
#ifndef TARN_PROCPOOL_REFTAB_H
#define TARN_PROCPOOL_REFTAB_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include <tarn/tarn.h>

struct reftab_slot {
	tarn_ref_t key;
	void *val; /* NULL: the slot is empty */
};

struct reftab_page;

struct reftab {
	/* Open addressing, for origins other than @dense_origin. */
	struct reftab_slot *slots;
	size_t mask;    /* capacity - 1; capacity is a power of two */
	size_t used;    /* entries in @slots */
	unsigned shift; /* 64 - log2(capacity), for Fibonacci hashing */
	/* Direct pages, for @dense_origin. */
	uint64_t dense_origin;
	GHashTable *pages; /* page number -> struct reftab_page */
	struct reftab_page *last; /* the page found last, or NULL */
	uint64_t last_no;
	uint64_t max_no; /* the newest page made */
	/*
	 * Emptied pages, kept for reuse: freed since the last reftab_trim(),
	 * and unused since the one before (the next trim frees those).
	 */
	struct reftab_page *spare, *aged;
	gint64 trimmed_us; /* when reftab_trim() last ran */
	size_t len; /* all entries */
};

/* @dense_origin: the origin whose refs come in one dense sequence. */
void reftab_init(struct reftab *t, uint64_t dense_origin);
void reftab_fini(struct reftab *t);

/* The value stored under @key, or NULL. */
void *reftab_find(struct reftab *t, tarn_ref_t key);

/* Store @val (not NULL) under @key, replacing any value there. */
void reftab_put(struct reftab *t, tarn_ref_t key, void *val);

/*
 * Store @val under @key unless the table holds it already: returns the
 * value there, or NULL when @val went in. One lookup for find-or-add.
 */
void *reftab_put_if_absent(struct reftab *t, tarn_ref_t key, void *val);

/* Remove @key; returns its value, or NULL when it was not there. */
void *reftab_remove(struct reftab *t, tarn_ref_t key);

/*
 * Free the emptied pages that stayed unused since the previous call.
 * Emptying a page calls it when a second has passed since the last; the
 * driver calls it every second too. A batch after another reuses the last
 * one's pages instead of faulting in fresh memory.
 */
void reftab_trim(struct reftab *t);
/* reftab_trim() if a second has passed since it last ran. */
void reftab_trim_due(struct reftab *t);

/* Emptied pages kept for reuse (for tests). */
size_t reftab_spare_pages(const struct reftab *t);

/* Remove every entry. */
void reftab_clear(struct reftab *t);

static inline size_t reftab_size(const struct reftab *t)
{
	return t->len;
}

/*
 * Every value, in no particular order, into @out (a GPtrArray of void *).
 * Collect, then act: changing the table while walking it is not allowed.
 */
void reftab_values(const struct reftab *t, GPtrArray *out);

#endif /* TARN_PROCPOOL_REFTAB_H */
