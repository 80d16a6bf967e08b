/* SPDX-License-Identifier: MIT */
/*
 * A map from object refs to pointers, for procpool's hot tables (objects,
 * tasks in flight). Open addressing with linear probing, keys stored in the
 * slots: a lookup touches one cache line where GHashTable, which keeps
 * hashes, keys and values in three arrays and compares through a pointer
 * to the key, touches four. With a million live objects those misses were
 * the largest cost of a no-op task on the driver.
 *
 * Not thread-safe: the driver holds its lock around every call.
 */
#ifndef TARN_PROCPOOL_REFTAB_H
#define TARN_PROCPOOL_REFTAB_H

#include <stdbool.h>
#include <stddef.h>

#include <tarn/tarn.h>

struct reftab_slot {
	tarn_ref_t key;
	void *val; /* NULL: the slot is empty */
};

struct reftab {
	struct reftab_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t len;
	unsigned shift; /* 64 - log2(capacity), for Fibonacci hashing */
};

void reftab_init(struct reftab *t);
void reftab_fini(struct reftab *t);

/* The value stored under @key, or NULL. */
void *reftab_find(const struct reftab *t, tarn_ref_t key);

/* Store @val (not NULL) under @key, replacing any value there. */
void reftab_put(struct reftab *t, tarn_ref_t key, void *val);

/* Remove @key; returns its value, or NULL when it was not there. */
void *reftab_remove(struct reftab *t, tarn_ref_t key);

/* Remove every entry; the memory stays for reuse. */
void reftab_clear(struct reftab *t);

static inline size_t reftab_size(const struct reftab *t)
{
	return t->len;
}

/*
 * Iteration: for (size_t i = 0; i <= t->mask; i++) if (t->slots[i].val).
 * Removing during such a loop may move a later entry into a visited slot:
 * collect first, remove after.
 */

#endif /* TARN_PROCPOOL_REFTAB_H */
