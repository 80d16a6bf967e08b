/* SPDX-License-Identifier: MIT */
/*
 * A pool of fixed-size records, for procpool's driver: one per object, a
 * million alive at once in a batch. malloc() and free() per record, with
 * the consolidation and page faults they bring, were about a quarter of
 * the driver's time per batched no-op call; a pool hands out records from
 * 64 KiB slabs in a few instructions.
 *
 * Slabs are aligned on their size, so a record finds its slab by masking
 * its address. A slab whose records are all free goes back to malloc()
 * (after the first few, kept for the next burst), so memory follows the
 * records alive, not the most there ever were.
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
	struct pp_slab *empty; /* all-free slabs kept for reuse */
	uint32_t nempty;
};

void pp_pool_init(struct pp_pool *p, size_t size);
/* A zeroed record, or NULL when out of memory. */
void *pp_pool_alloc(struct pp_pool *p);
void pp_pool_free(struct pp_pool *p, void *rec);
/* Slabs holding records now; *@kept gets the all-free ones kept. */
size_t pp_pool_slabs(const struct pp_pool *p, size_t *kept);
/* Free every slab, records still in use included. */
void pp_pool_fini(struct pp_pool *p);

#endif /* TARN_PROCPOOL_POOL_H */
