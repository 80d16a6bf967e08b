/* SPDX-License-Identifier: MIT */
#include <glib.h>
#include <string.h>

#include "reftab.h"

#define MIN_CAPACITY 64
#define PAGE_BITS 12
#define PAGE_SLOTS ((size_t)1 << PAGE_BITS)

struct reftab_page {
	size_t count;
	struct reftab_page *next; /* in a spare list */
	void *val[PAGE_SLOTS];
};

static void free_pages(struct reftab_page *p)
{
	for (struct reftab_page *next; p; p = next) {
		next = p->next;
		g_free(p);
	}
}

/*
 * Refs are minted in sequence, and a program tends to use them in the order
 * it made them. Runs of 8 consecutive seqs stay in adjacent slots (three
 * cache lines) and the runs are scattered by a Fibonacci hash of the rest
 * of the key: sequential use costs one miss per run, not per ref, while
 * no two origins' runs pile up in one region of the table.
 */
static size_t slot_of(const struct reftab *t, tarn_ref_t key)
{
	uint64_t h = ((key.seq >> 3) ^ (key.origin * 0xc2b2ae3d27d4eb4full)) *
		     0x9e3779b97f4a7c15ull;

	return (size_t)((((h >> t->shift) & ~(uint64_t)7) | (key.seq & 7)) & t->mask);
}

static bool same(tarn_ref_t a, tarn_ref_t b)
{
	return a.seq == b.seq && a.origin == b.origin;
}

static void alloc_slots(struct reftab *t, size_t capacity)
{
	unsigned log2 = 0;

	while (((size_t)1 << log2) < capacity)
		log2++;
	t->slots = g_new0(struct reftab_slot, (size_t)1 << log2);
	t->mask = ((size_t)1 << log2) - 1;
	t->shift = 64 - log2;
	t->used = 0;
}

void reftab_init(struct reftab *t, uint64_t dense_origin)
{
	memset(t, 0, sizeof(*t));
	alloc_slots(t, MIN_CAPACITY);
	t->dense_origin = dense_origin;
	t->trimmed_us = g_get_monotonic_time();
	t->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
}

void reftab_fini(struct reftab *t)
{
	g_free(t->slots);
	if (t->pages)
		g_hash_table_destroy(t->pages);
	free_pages(t->spare);
	free_pages(t->aged);
	memset(t, 0, sizeof(*t));
}

/* The page holding @seq; created when @make, else NULL when absent. */
static struct reftab_page *page_of(struct reftab *t, uint64_t seq, bool make)
{
	uint64_t no = seq >> PAGE_BITS;
	struct reftab_page *p;

	if (t->last && t->last_no == no)
		return t->last;
	p = g_hash_table_lookup(t->pages, &no);
	if (!p && make) {
		/* An emptied page has every slot NULL already. */
		if ((p = t->spare ? t->spare : t->aged)) {
			if (p == t->spare)
				t->spare = p->next;
			else
				t->aged = p->next;
			p->next = NULL;
		} else {
			p = g_new0(struct reftab_page, 1);
		}
		g_hash_table_insert(t->pages, g_memdup2(&no, sizeof(no)), p);
		if (no > t->max_no)
			t->max_no = no;
	}
	if (p) {
		t->last = p;
		t->last_no = no;
	}
	return p;
}

static void *oa_find(const struct reftab *t, tarn_ref_t key)
{
	for (size_t i = slot_of(t, key);; i = (i + 1) & t->mask) {
		const struct reftab_slot *s = &t->slots[i];

		if (!s->val)
			return NULL;
		if (same(s->key, key))
			return s->val;
	}
}

/* Put into a table known not to hold @key and to have room. */
static void insert_new(struct reftab *t, tarn_ref_t key, void *val)
{
	size_t i = slot_of(t, key);

	while (t->slots[i].val)
		i = (i + 1) & t->mask;
	t->slots[i].key = key;
	t->slots[i].val = val;
	t->used++;
}

static void grow(struct reftab *t)
{
	struct reftab_slot *old = t->slots;
	size_t n = t->mask + 1;

	alloc_slots(t, n * 2);
	for (size_t i = 0; i < n; i++)
		if (old[i].val)
			insert_new(t, old[i].key, old[i].val);
	g_free(old);
}

static void oa_put(struct reftab *t, tarn_ref_t key, void *val)
{
	for (size_t i = slot_of(t, key);; i = (i + 1) & t->mask) {
		struct reftab_slot *s = &t->slots[i];

		if (!s->val)
			break;
		if (same(s->key, key)) {
			s->val = val;
			return;
		}
	}
	/* At most 3/4 full, so probe runs stay short. */
	if ((t->used + 1) * 4 > (t->mask + 1) * 3)
		grow(t);
	insert_new(t, key, val);
	t->len++;
}

static void *oa_remove(struct reftab *t, tarn_ref_t key)
{
	size_t i = slot_of(t, key), j;
	void *val;

	for (;; i = (i + 1) & t->mask) {
		if (!t->slots[i].val)
			return NULL;
		if (same(t->slots[i].key, key))
			break;
	}
	val = t->slots[i].val;
	/*
	 * Backward-shift deletion instead of tombstones: move up every later
	 * entry of the run whose home slot is not in (i, j], so that lookups
	 * never stop early at the hole and churn never fills the table.
	 */
	for (j = (i + 1) & t->mask; t->slots[j].val; j = (j + 1) & t->mask) {
		size_t home = slot_of(t, t->slots[j].key);

		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].val = NULL;
	t->used--;
	t->len--;
	return val;
}

void *reftab_find(struct reftab *t, tarn_ref_t key)
{
	struct reftab_page *p;

	if (key.origin != t->dense_origin)
		return oa_find(t, key);
	p = page_of(t, key.seq, false);
	return p ? p->val[key.seq & (PAGE_SLOTS - 1)] : NULL;
}

void reftab_put(struct reftab *t, tarn_ref_t key, void *val)
{
	struct reftab_page *p;
	void **slot;

	if (key.origin != t->dense_origin) {
		oa_put(t, key, val);
		return;
	}
	p = page_of(t, key.seq, true);
	slot = &p->val[key.seq & (PAGE_SLOTS - 1)];
	if (!*slot) {
		p->count++;
		t->len++;
	}
	*slot = val;
}

void *reftab_put_if_absent(struct reftab *t, tarn_ref_t key, void *val)
{
	struct reftab_page *p;
	void **slot;

	if (key.origin != t->dense_origin) {
		void *old = oa_find(t, key);

		if (old)
			return old;
		oa_put(t, key, val);
		return NULL;
	}
	p = page_of(t, key.seq, true);
	slot = &p->val[key.seq & (PAGE_SLOTS - 1)];
	if (*slot)
		return *slot;
	*slot = val;
	p->count++;
	t->len++;
	return NULL;
}

void *reftab_remove(struct reftab *t, tarn_ref_t key)
{
	struct reftab_page *p;
	void *val;
	uint64_t no;

	if (key.origin != t->dense_origin)
		return oa_remove(t, key);
	p = page_of(t, key.seq, false);
	if (!p || !(val = p->val[key.seq & (PAGE_SLOTS - 1)]))
		return NULL;
	p->val[key.seq & (PAGE_SLOTS - 1)] = NULL;
	t->len--;
	no = key.seq >> PAGE_BITS;
	/*
	 * Seqs only grow: an emptied page behind the newest one gets no more
	 * entries and goes. The newest stays, or a submit-get-release loop
	 * would make and free a page on every turn.
	 */
	if (--p->count == 0 && no < t->max_no) {
		gpointer k;

		if (t->last == p)
			t->last = NULL;
		g_hash_table_steal_extended(t->pages, &no, &k, NULL);
		g_free(k);
		p->next = t->spare;
		t->spare = p;
		reftab_trim_due(t);
	}
	return val;
}

void reftab_trim(struct reftab *t)
{
	free_pages(t->aged);
	t->aged = t->spare;
	t->spare = NULL;
	t->trimmed_us = g_get_monotonic_time();
}

void reftab_trim_due(struct reftab *t)
{
	if (g_get_monotonic_time() - t->trimmed_us >= G_USEC_PER_SEC)
		reftab_trim(t);
}

size_t reftab_spare_pages(const struct reftab *t)
{
	size_t n = 0;

	for (const struct reftab_page *p = t->spare; p; p = p->next)
		n++;
	for (const struct reftab_page *p = t->aged; p; p = p->next)
		n++;
	return n;
}

void reftab_clear(struct reftab *t)
{
	memset(t->slots, 0, (t->mask + 1) * sizeof(*t->slots));
	t->used = 0;
	g_hash_table_remove_all(t->pages);
	t->last = NULL;
	t->len = 0;
}

void reftab_values(const struct reftab *t, GPtrArray *out)
{
	GHashTableIter it;
	gpointer k, v;

	for (size_t i = 0; i <= t->mask; i++)
		if (t->slots[i].val)
			g_ptr_array_add(out, t->slots[i].val);
	g_hash_table_iter_init(&it, t->pages);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct reftab_page *p = v;

		for (size_t i = 0; i < PAGE_SLOTS; i++)
			if (p->val[i])
				g_ptr_array_add(out, p->val[i]);
	}
}
