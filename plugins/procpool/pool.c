/* SPDX-License-Identifier: MIT */
/* procpool's record pool: see pool.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"

#define SLAB_BYTES ((size_t)64 << 10)
/* All-free slabs kept however long they stay unused: 256 KiB. */
#define KEEP_EMPTY 4
#define TRIM_PERIOD_NS 1000000000ull

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct pp_slab {
	struct pp_slab *room_prev, *room_next; /* in p->room while it has room */
	struct pp_slab *all_prev, *all_next;
	void *free;      /* freed records, linked through their first word */
	uint32_t live;   /* records handed out */
	uint32_t fresh;  /* records never handed out, from this index on */
	bool in_room;
	/* Line-aligned: a 64-byte record is one cache line. */
	_Alignas(64) unsigned char recs[];
};

static struct pp_slab *slab_of(void *rec)
{
	return (struct pp_slab *)((uintptr_t)rec & ~(uintptr_t)(SLAB_BYTES - 1));
}

void pp_pool_init(struct pp_pool *p, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->size = (size + 15) & ~(size_t)15;
	p->per_slab = (uint32_t)((SLAB_BYTES - sizeof(struct pp_slab)) / p->size);
	p->trimmed_ns = coarse_now_ns();
}

static void room_add(struct pp_pool *p, struct pp_slab *s)
{
	s->room_prev = NULL;
	s->room_next = p->room;
	if (p->room)
		p->room->room_prev = s;
	p->room = s;
	s->in_room = true;
}

static void room_del(struct pp_pool *p, struct pp_slab *s)
{
	if (s->room_prev)
		s->room_prev->room_next = s->room_next;
	else
		p->room = s->room_next;
	if (s->room_next)
		s->room_next->room_prev = s->room_prev;
	s->in_room = false;
}

static void all_del(struct pp_pool *p, struct pp_slab *s)
{
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		p->all = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
}

static struct pp_slab *slab_new(struct pp_pool *p)
{
	struct pp_slab *s = p->empty ? p->empty : p->aged;

	if (s == p->empty && s) {
		p->empty = s->all_next;
		p->nempty--;
	} else if (s) {
		p->aged = s->all_next;
		p->naged--;
	} else {
		s = aligned_alloc(SLAB_BYTES, SLAB_BYTES);
		if (!s)
			return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->all_next = p->all;
	if (p->all)
		p->all->all_prev = s;
	p->all = s;
	room_add(p, s);
	return s;
}

void *pp_pool_alloc(struct pp_pool *p)
{
	struct pp_slab *s = p->room;
	void *rec;

	if (!s && !(s = slab_new(p)))
		return NULL;
	if (s->free) {
		rec = s->free;
		s->free = *(void **)rec;
	} else {
		rec = s->recs + (size_t)s->fresh++ * p->size;
	}
	if (++s->live == p->per_slab)
		room_del(p, s);
	memset(rec, 0, p->size);
	return rec;
}

void pp_pool_free(struct pp_pool *p, void *rec)
{
	struct pp_slab *s = slab_of(rec);

	*(void **)rec = s->free;
	s->free = rec;
	if (!s->in_room)
		room_add(p, s);
	if (--s->live)
		return;
	room_del(p, s);
	all_del(p, s);
	s->all_next = p->empty;
	p->empty = s;
	p->nempty++;
	pp_pool_trim_due(p);
}

static void free_list(struct pp_slab *s)
{
	for (struct pp_slab *next; s; s = next) {
		next = s->all_next;
		free(s);
	}
}

void pp_pool_trim(struct pp_pool *p)
{
	struct pp_slab *old = p->aged, *s;

	/* Freed since the last trim: they go at the next, if still unused. */
	p->aged = p->empty;
	p->naged = p->nempty;
	p->empty = NULL;
	p->nempty = 0;
	/* Unused for a whole period: they go now, but for the first few. */
	while (old && p->naged < KEEP_EMPTY) {
		s = old;
		old = s->all_next;
		s->all_next = p->aged;
		p->aged = s;
		p->naged++;
	}
	free_list(old);
	p->trimmed_ns = coarse_now_ns();
}

void pp_pool_trim_due(struct pp_pool *p)
{
	if (coarse_now_ns() - p->trimmed_ns >= TRIM_PERIOD_NS)
		pp_pool_trim(p);
}

size_t pp_pool_slabs(const struct pp_pool *p, size_t *kept)
{
	size_t n = 0;

	for (const struct pp_slab *s = p->all; s; s = s->all_next)
		n++;
	*kept = p->nempty + p->naged;
	return n;
}

void pp_pool_fini(struct pp_pool *p)
{
	free_list(p->all);
	free_list(p->empty);
	free_list(p->aged);
	memset(p, 0, sizeof(*p));
}
