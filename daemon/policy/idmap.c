// SPDX-License-Identifier: MIT
#include "idmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void lb_idmap_init(struct lb_idmap *m, size_t key_size, uint32_t max_ids)
{
	memset(m, 0, sizeof(*m));
	m->key_size = key_size;
	m->max_ids = max_ids;
}

void lb_idmap_release(struct lb_idmap *m)
{
	free(m->keys);
	free(m->ids);
	free(m->retired_keys);
	free(m->retired_ids);
	free(m->retired_at);
	lb_idmap_init(m, m->key_size, m->max_ids);
}

int64_t lb_idmap_find(const struct lb_idmap *m, const void *key)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->keys + mid * m->key_size, key, m->key_size);

		if (c == 0)
			return m->ids[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* A retired id whose key is unknown (adopted from a datapath that did not say). */
static bool no_key(const struct lb_idmap *m, const uint8_t *key)
{
	size_t i;

	for (i = 0; i < m->key_size; i++)
		if (key[i] != 0xff)
			return false;
	return true;
}

const void *lb_idmap_key_of(const struct lb_idmap *m, uint32_t id)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->ids[i] == id)
			return m->keys + i * m->key_size;
	for (i = 0; i < m->n_retired; i++)
		if (m->retired_ids[i] == id) {
			const uint8_t *k = m->retired_keys + i * m->key_size;

			return no_key(m, k) ? NULL : k;
		}
	return NULL;
}

struct sort_ctx {
	const uint8_t *keys;
	size_t key_size;
};

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;

	return memcmp(c->keys + ia * c->key_size, c->keys + ib * c->key_size, c->key_size);
}

/*
 * May retired entry @r go (its id free for any key)? With scans: one made after it
 * retired found no conntrack entry carrying its id. Without: it waited one assignment.
 */
static bool retired_done(const struct lb_idmap *m, size_t r, const struct lb_id_quarantine *q)
{
	if (!q)
		return true;
	return q->present && q->scanned_ns > m->retired_at[r] && !q->present[m->retired_ids[r]];
}

/* The retired entry holding @key, or -1. */
static ssize_t retired_find(const struct lb_idmap *m, const void *key)
{
	size_t i;

	for (i = 0; i < m->n_retired; i++)
		if (!memcmp(m->retired_keys + i * m->key_size, key, m->key_size))
			return (ssize_t)i;
	return -1;
}

/* Is @k among the @n @keys (sorted through @order)? */
static bool in_sorted(const struct lb_idmap *m, const void *keys, const size_t *order, size_t n,
		      const uint8_t *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp((const uint8_t *)keys + order[mid] * m->key_size, k, m->key_size);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int lb_idmap_assign(struct lb_idmap *m, const void *keys, size_t n, uint32_t *ids, uint8_t *fresh,
		    const struct lb_id_quarantine *q)
{
	struct sort_ctx ctx = {keys, m->key_size};
	size_t cap_r = m->n_retired + m->n + 1, n_r = 0, *order = NULL, i;
	uint8_t *taken = NULL, *new_keys = NULL, *kept = NULL, *used = NULL, *rkeys = NULL;
	uint8_t *going = NULL; /* per id: held by a key that goes, no flow seen (free_going) */
	uint32_t *new_ids = NULL, *rids = NULL, next = 0, going_next = 0;
	uint64_t *rat = NULL;
	int ret = -ENOMEM;

	if (n > m->max_ids)
		return -ENOSPC;
	taken = calloc(m->max_ids ? m->max_ids : 1, 1);
	going = calloc(m->max_ids ? m->max_ids : 1, 1);
	order = malloc((n ? n : 1) * sizeof(*order));
	new_keys = malloc((n ? n : 1) * m->key_size);
	new_ids = malloc((n ? n : 1) * sizeof(*new_ids));
	kept = calloc(m->n_retired + 1, 1);
	used = calloc(m->n_retired + 1, 1);
	rkeys = malloc(cap_r * m->key_size);
	rids = malloc(cap_r * sizeof(*rids));
	rat = malloc(cap_r * sizeof(*rat));
	if (!taken || !going || !order || !new_keys || !new_ids || !kept || !used || !rkeys ||
	    !rids || !rat)
		goto out;

	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_index, &ctx);
	for (i = 1; i < n; i++) {
		if (cmp_index(&order[i - 1], &order[i], &ctx) == 0) {
			ret = -EINVAL;
			goto out;
		}
	}
	/*
	 * Ids held now stay reserved for this round, kept or not (flows may be created with
	 * them until the change), unless a scan of just now says otherwise (free_going);
	 * retired ones in use too.
	 */
	for (i = 0; i < m->n; i++) {
		uint32_t id = m->ids[i];

		taken[id] = 1;
		if (q && q->free_going && q->present && !q->present[id] &&
		    !in_sorted(m, keys, order, n, m->keys + i * m->key_size))
			going[id] = 1;
	}
	for (i = 0; i < m->n_retired; i++) {
		kept[i] = !retired_done(m, i, q);
		if (kept[i])
			taken[m->retired_ids[i]] = 1;
	}
	/* First the keys that have an id, live or retired: theirs are taken before any other. */
	for (i = 0; i < n; i++) {
		const uint8_t *k = (const uint8_t *)keys + order[i] * m->key_size;
		int64_t old = lb_idmap_find(m, k);
		ssize_t r = old < 0 ? retired_find(m, k) : -1;

		/* A key that was gone starts its counters again, even with its old id. */
		if (fresh)
			fresh[order[i]] = old < 0;
		ids[order[i]] = UINT32_MAX;
		if (old >= 0) {
			ids[order[i]] = (uint32_t)old;
		} else if (r >= 0) {
			/* A key that comes back gets its id back: its old flows are its own
			 * (charged to it from now on, and named after it). */
			ids[order[i]] = m->retired_ids[r];
			taken[m->retired_ids[r]] = 1;
			used[r] = 1;
		}
	}
	/*
	 * Then the new keys: the lowest id nobody holds or may still be charged for; once those
	 * run out, the ids of keys that go and that no flow carries (free_going).
	 */
	for (i = 0; i < n; i++) {
		if (ids[order[i]] != UINT32_MAX)
			continue;
		while (next < m->max_ids && taken[next])
			next++;
		if (next == m->max_ids) {
			while (going_next < m->max_ids && going[going_next] != 1)
				going_next++;
			if (going_next == m->max_ids) {
				ret = -ENOSPC;
				goto out;
			}
			going[going_next] = 2; /* handed on: not retired */
			ids[order[i]] = going_next;
			continue;
		}
		taken[next] = 1;
		ids[order[i]] = next;
	}
	/* Retired from now on: the keys that went, and the retired that stay so. */
	for (i = 0; i < m->n_retired; i++) {
		if (!kept[i] || used[i])
			continue;
		memcpy(rkeys + n_r * m->key_size, m->retired_keys + i * m->key_size, m->key_size);
		rids[n_r] = m->retired_ids[i];
		rat[n_r++] = m->retired_at[i];
	}
	for (i = 0; i < m->n; i++) {
		const uint8_t *k = m->keys + i * m->key_size;

		if (going[m->ids[i]] == 2 || in_sorted(m, keys, order, n, k))
			continue;
		memcpy(rkeys + n_r * m->key_size, k, m->key_size);
		rids[n_r] = m->ids[i];
		rat[n_r++] = q ? q->now_ns : 0;
	}
	for (i = 0; i < n; i++) {
		memcpy(new_keys + i * m->key_size, (const uint8_t *)keys + order[i] * m->key_size,
		       m->key_size);
		new_ids[i] = ids[order[i]];
	}
	free(m->keys);
	free(m->ids);
	free(m->retired_keys);
	free(m->retired_ids);
	free(m->retired_at);
	m->keys = new_keys;
	m->ids = new_ids;
	m->n = n;
	m->retired_keys = rkeys;
	m->retired_ids = rids;
	m->retired_at = rat;
	m->n_retired = n_r;
	new_keys = NULL;
	new_ids = NULL;
	rkeys = NULL;
	rids = NULL;
	rat = NULL;
	ret = 0;
out:
	free(taken);
	free(going);
	free(order);
	free(new_keys);
	free(new_ids);
	free(kept);
	free(used);
	free(rkeys);
	free(rids);
	free(rat);
	return ret;
}

static void *dup_mem(const void *p, size_t len)
{
	void *d = malloc(len ? len : 1);

	if (d && len)
		memcpy(d, p, len);
	return d;
}

int lb_idmap_clone(struct lb_idmap *dst, const struct lb_idmap *src)
{
	lb_idmap_init(dst, src->key_size, src->max_ids);
	dst->keys = dup_mem(src->keys, src->n * src->key_size);
	dst->ids = dup_mem(src->ids, src->n * sizeof(*src->ids));
	dst->retired_keys = dup_mem(src->retired_keys, src->n_retired * src->key_size);
	dst->retired_ids = dup_mem(src->retired_ids, src->n_retired * sizeof(*src->retired_ids));
	dst->retired_at = dup_mem(src->retired_at, src->n_retired * sizeof(*src->retired_at));
	if (!dst->keys || !dst->ids || !dst->retired_keys || !dst->retired_ids ||
	    !dst->retired_at) {
		lb_idmap_release(dst);
		return -ENOMEM;
	}
	dst->n = src->n;
	dst->n_retired = src->n_retired;
	return 0;
}

struct load_ctx {
	const uint8_t *keys;
	size_t key_size;
};

/* By key, then by position: the first of repeated keys sorts first. */
static int cmp_load(const void *a, const void *b, void *arg)
{
	const struct load_ctx *c = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int r = memcmp(c->keys + ia * c->key_size, c->keys + ib * c->key_size, c->key_size);

	return r ? r : (ia > ib) - (ia < ib);
}

/*
 * Sorted, not inserted one by one: a restart adopting 65,536 route groups would otherwise
 * move keys about 10^9 times.
 */
int lb_idmap_load(struct lb_idmap *m, const void *keys, const uint32_t *ids, size_t n)
{
	struct load_ctx c = {keys, m->key_size};
	size_t *order = malloc((n ? n : 1) * sizeof(*order)), i, k = 0;

	lb_idmap_release(m);
	m->keys = malloc((n ? n : 1) * m->key_size);
	m->ids = malloc((n ? n : 1) * sizeof(*m->ids));
	if (!order || !m->keys || !m->ids) {
		free(order);
		lb_idmap_release(m);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (ids[i] < m->max_ids)
			order[k++] = i;
	qsort_r(order, k, sizeof(*order), cmp_load, &c);
	for (i = 0; i < k; i++) {
		const uint8_t *key = (const uint8_t *)keys + order[i] * m->key_size;

		if (m->n && !memcmp(m->keys + (m->n - 1) * m->key_size, key, m->key_size))
			continue;
		memcpy(m->keys + m->n * m->key_size, key, m->key_size);
		m->ids[m->n++] = ids[order[i]];
	}
	free(order);
	return 0;
}

int lb_idmap_retire_rest(struct lb_idmap *m, uint64_t now_ns)
{
	uint8_t *held = calloc(m->max_ids ? m->max_ids : 1, 1);
	size_t i, n_r = m->n_retired, extra = 0;
	uint8_t *rkeys;
	uint32_t *rids;
	uint64_t *rat;

	if (!held)
		return -ENOMEM;
	for (i = 0; i < m->n; i++)
		held[m->ids[i]] = 1;
	for (i = 0; i < m->n_retired; i++)
		held[m->retired_ids[i]] = 1;
	for (i = 0; i < m->max_ids; i++)
		extra += !held[i];
	rkeys = realloc(m->retired_keys, (n_r + extra + 1) * m->key_size);
	if (rkeys)
		m->retired_keys = rkeys;
	rids = realloc(m->retired_ids, (n_r + extra + 1) * sizeof(*rids));
	if (rids)
		m->retired_ids = rids;
	rat = realloc(m->retired_at, (n_r + extra + 1) * sizeof(*rat));
	if (rat)
		m->retired_at = rat;
	if (!rkeys || !rids || !rat) {
		free(held);
		return -ENOMEM;
	}
	for (i = 0; i < m->max_ids; i++) {
		if (held[i])
			continue;
		memset(rkeys + n_r * m->key_size, 0xff, m->key_size);
		rids[n_r] = (uint32_t)i;
		rat[n_r++] = now_ns;
	}
	m->n_retired = n_r;
	free(held);
	return 0;
}
