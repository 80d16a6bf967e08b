/* SPDX-License-Identifier: MIT */
/*
 * A pool of fixed-size records, for procpool's driver: one per object, a
 * million alive at once in a batch. malloc() and free() per record, with
 * the consolidation and page faults they bring, were about a quarter of
 * the driver's time per batched no-op call; a pool hands out records from
 * 64 KiB slabs in a few instructions.
 *
 * Slabs are aligned on their size, so a record finds its slab by masking
 * its address. A slab whose records are all free is kept for reuse until
 * it has stayed unused through a whole period between two calls of
 * pp_pool_trim() (called a second apart: by pp_pool_trim_due(), which
 * freeing a slab and the driver's progress thread call), then goes back to
 * malloc() but for the first few: memory follows the records alive, not
 * the most there ever were, while a program that submits a big batch after
 * another reuses the touched memory of the last one. Handing it back at
 * once made every batch of a million calls page-fault in 96 MB of fresh
 * memory, about 40% of its submit time.
 *
 * Records come zeroed. Not thread-safe: the caller's lock covers it.
 */
#ifndef TARN_PROCPOOL_POOL_H
#define TARN_PROCPOOL_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pp_slab;

struct pp_pool {
	size_t size;           /* of a record, rounded up to 16 bytes */
	uint32_t per_slab;
	struct pp_slab *room;  /* slabs with a free record */
	struct pp_slab *all;   /* every slab, for pp_pool_fini() */
	struct pp_slab *empty; /* all-free slabs, freed since the last trim */
	struct pp_slab *aged;  /* all-free slabs, unused since the trim before */
	uint32_t nempty, naged;
	uint64_t trimmed_ns; /* when pp_pool_trim() last ran */
};

void pp_pool_init(struct pp_pool *p, size_t size);
/* A zeroed record, or NULL when out of memory. */
void *pp_pool_alloc(struct pp_pool *p);
void pp_pool_free(struct pp_pool *p, void *rec);
/*
 * Free the all-free slabs that stayed unused since the previous call, but
 * for a few; the slabs freed since then wait for the next call.
 */
void pp_pool_trim(struct pp_pool *p);
/* pp_pool_trim() if a second has passed since it last ran. */
void pp_pool_trim_due(struct pp_pool *p);
/* Slabs holding records now; *@kept gets the all-free ones kept. */
size_t pp_pool_slabs(const struct pp_pool *p, size_t *kept);
/* Free every slab, records still in use included. */
void pp_pool_fini(struct pp_pool *p);

#endif /* TARN_PROCPOOL_POOL_H */
