// SPDX-License-Identifier: MIT
#include "idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int lb_idmap_assign(struct lb_idmap *m, const void *keys, size_t n, uint32_t *ids, uint8_t *fresh)
{
	struct sort_ctx ctx = {keys, m->key_size};
	uint8_t *taken = NULL, *new_keys = NULL;
	uint32_t *new_ids = NULL, next = 0;
	size_t *order = NULL, i;
	int ret = -ENOMEM;

	if (n > m->max_ids)
		return -ENOSPC;
	taken = calloc(m->max_ids ? m->max_ids : 1, 1);
	order = malloc((n ? n : 1) * sizeof(*order));
	new_keys = malloc((n ? n : 1) * m->key_size);
	new_ids = malloc((n ? n : 1) * sizeof(*new_ids));
	if (!taken || !order || !new_keys || !new_ids)
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
	/* Every id held before stays reserved for this round, kept or not. */
	for (i = 0; i < m->n; i++)
		taken[m->ids[i]] = 1;
	for (i = 0; i < n; i++) {
		const uint8_t *k = (const uint8_t *)keys + order[i] * m->key_size;
		int64_t old = lb_idmap_find(m, k);

		if (fresh)
			fresh[order[i]] = old < 0;
		if (old >= 0) {
			ids[order[i]] = (uint32_t)old;
			continue;
		}
		while (next < m->max_ids && taken[next])
			next++;
		if (next == m->max_ids) {
			ret = -ENOSPC;
			goto out;
		}
		taken[next] = 1;
		ids[order[i]] = next;
	}
	for (i = 0; i < n; i++) {
		memcpy(new_keys + i * m->key_size, (const uint8_t *)keys + order[i] * m->key_size,
		       m->key_size);
		new_ids[i] = ids[order[i]];
	}
	free(m->keys);
	free(m->ids);
	m->keys = new_keys;
	m->ids = new_ids;
	m->n = n;
	new_keys = NULL;
	new_ids = NULL;
	ret = 0;
out:
	free(taken);
	free(order);
	free(new_keys);
	free(new_ids);
	return ret;
}

int lb_idmap_clone(struct lb_idmap *dst, const struct lb_idmap *src)
{
	lb_idmap_init(dst, src->key_size, src->max_ids);
	if (!src->n)
		return 0;
	dst->keys = malloc(src->n * src->key_size);
	dst->ids = malloc(src->n * sizeof(*dst->ids));
	if (!dst->keys || !dst->ids) {
		lb_idmap_release(dst);
		return -ENOMEM;
	}
	memcpy(dst->keys, src->keys, src->n * src->key_size);
	memcpy(dst->ids, src->ids, src->n * sizeof(*dst->ids));
	dst->n = src->n;
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
