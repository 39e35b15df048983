// SPDX-License-Identifier: MIT
/*
 * The weighted Maglev table builder (maglev.h).
 *
 * Each target has a permutation of the slots, (offset + j * skip) mod M for j = 0, 1, ...,
 * from two hashes of its identity and the seed. Targets take turns; on its turn a target
 * claims the first slot of its permutation that nobody owns yet (the paper's population
 * loop). Weights change two things only:
 *   - how many slots a target ends with: its quota, M * w / W apportioned by largest
 *     remainder so the quotas sum to M and none is a whole slot off its exact share;
 *   - how often it gets a turn: turns are handed out in the order of the virtual times
 *     (k + 1/2) / w of each target's k-th turn (Sainte-Lague's sequence), so every target
 *     fills its quota at the same pace and reaches it at about the same time.
 * Removing a target removes its turns and nothing else from the sequence: the others claim
 * the same slots as before until one of them reaches a slot the removed target held,
 * which is why few of their slots move.
 */
#include "maglev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static const uint32_t sizes[] = {LB_MAGLEV_SIZE_SMALL, LB_MAGLEV_SIZE_MEDIUM,
				 LB_MAGLEV_SIZE_DEFAULT, LB_MAGLEV_SIZE_LARGE};

/* What the population loop keeps per target of non-zero weight. */
struct racer {
	uint32_t next;	/* its next candidate slot */
	uint32_t skip;	/* 1..M-1: M prime, so the walk visits every slot once */
	uint32_t quota; /* slots it ends with */
	uint32_t owned; /* slots it holds so far = turns taken */
	uint32_t weight;
	uint16_t index; /* in the caller's array */
};

int lb_maglev_size_ok(uint32_t m)
{
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i] == m)
			return 1;
	return 0;
}

/* murmur3's 64-bit finaliser: a bijection with full avalanche. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

/* Bytes read little-endian whatever the host, so every machine hashes the same words. */
static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The identity (address, port) hashed under @seed and a @salt telling the two hashes apart. */
static uint64_t identity_hash(const struct lb_maglev_target *t, uint32_t seed, uint32_t salt)
{
	uint64_t h = fmix64((uint64_t)seed << 32 | salt);

	h = fmix64(h ^ load_le64(t->addr));
	h = fmix64(h ^ load_le64(t->addr + 8));
	return fmix64(h ^ t->port);
}

static int identity_cmp(const struct lb_maglev_target *a, const struct lb_maglev_target *b)
{
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));

	if (c)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

/* qsort over indices into one array: qsort_r keeps the builder free of globals. */
static int by_identity(const void *a, const void *b, void *arg)
{
	const struct lb_maglev_target *t = arg;

	return identity_cmp(&t[*(const uint32_t *)a], &t[*(const uint32_t *)b]);
}

/* Larger remainder first, then lower index (identity order): who gets what rounding left. */
static int by_remainder(const void *a, const void *b, void *arg)
{
	const uint64_t *rem = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (rem[x] != rem[y])
		return rem[x] < rem[y] ? 1 : -1;
	return (x > y) - (x < y);
}

/*
 * A racer's place in the queue of turns: the virtual time (2 owned + 1) / (2 weight) of its
 * next turn, kept as numerator and weight beside its index so that comparing two touches
 * no other memory.
 */
struct turn {
	uint64_t twice_owned_plus_1;
	uint32_t weight;
	uint32_t racer; /* racers are in identity order: the lower index wins a tie */
};

/* Does @a come before @b? Cross-multiplied: at most 2^18 * 2^32, exact in 64 bits. */
static bool turn_before(const struct turn *a, const struct turn *b)
{
	uint64_t ta = a->twice_owned_plus_1 * b->weight;
	uint64_t tb = b->twice_owned_plus_1 * a->weight;

	if (ta != tb)
		return ta < tb;
	return a->racer < b->racer;
}

/* Restore the min-heap of turns below position @i. */
static void sift_down(struct turn *heap, size_t len, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, min = i;
		struct turn tmp;

		if (l < len && turn_before(&heap[l], &heap[min]))
			min = l;
		if (l + 1 < len && turn_before(&heap[l + 1], &heap[min]))
			min = l + 1;
		if (min == i)
			return;
		tmp = heap[i];
		heap[i] = heap[min];
		heap[min] = tmp;
		i = min;
	}
}

/* Quotas by largest remainder: sum to exactly @m, each within one slot of m * w / sum. */
static int apportion(struct racer *r, size_t n, uint32_t m, uint64_t sum)
{
	uint64_t *rem = calloc(n, sizeof(*rem));
	uint32_t *order = calloc(n, sizeof(*order));
	uint32_t given = 0;
	size_t i;

	if (!rem || !order) {
		free(rem);
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		uint64_t exact = (uint64_t)m * r[i].weight; /* at most 2^17 * 2^32 */

		r[i].quota = (uint32_t)(exact / sum);
		rem[i] = exact % sum;
		given += r[i].quota;
		order[i] = (uint32_t)i;
	}
	qsort_r(order, n, sizeof(*order), by_remainder, rem);
	for (i = 0; given < m; i++, given++)
		r[order[i]].quota++;
	free(rem);
	free(order);
	return 0;
}

/* The population loop: turns in virtual-time order until every quota is filled. */
static void populate(struct racer *r, size_t n, uint32_t m, uint16_t *table, struct turn *heap)
{
	size_t len = 0, i;

	for (i = 0; i < n; i++)
		if (r[i].quota)
			heap[len++] = (struct turn){1, r[i].weight, (uint32_t)i};
	for (i = len / 2; i-- > 0;)
		sift_down(heap, len, i);
	while (len) {
		struct racer *t = &r[heap[0].racer];

		/* Terminates: quotas sum to M, so a free slot exists while anyone is owed one. */
		while (table[t->next] != LB_MAGLEV_EMPTY) {
			t->next += t->skip;
			if (t->next >= m)
				t->next -= m;
		}
		table[t->next] = t->index;
		if (++t->owned == t->quota)
			heap[0] = heap[--len];
		else
			heap[0].twice_owned_plus_1 += 2;
		sift_down(heap, len, 0);
	}
}

int lb_maglev_build(const struct lb_maglev_target *targets, size_t n, uint32_t seed, uint32_t m,
		    uint16_t *table)
{
	uint32_t *order = NULL;
	struct racer *r = NULL;
	struct turn *heap = NULL;
	size_t i, live = 0;
	uint64_t sum = 0;
	int err, owners = 0;

	if (!lb_maglev_size_ok(m))
		return -EINVAL;
	if (n > LB_MAGLEV_MAX_TARGETS)
		return -E2BIG;
	for (i = 0; i < m; i++)
		table[i] = LB_MAGLEV_EMPTY;
	order = calloc(n ? n : 1, sizeof(*order));
	r = calloc(n ? n : 1, sizeof(*r));
	heap = calloc(n ? n : 1, sizeof(*heap));
	err = -ENOMEM;
	if (!order || !r || !heap)
		goto out;

	/* Rank by identity so the caller's order changes nothing but the indices written. */
	for (i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof(*order), by_identity, (void *)targets);
	err = -EINVAL;
	for (i = 1; i < n; i++)
		if (!identity_cmp(&targets[order[i - 1]], &targets[order[i]]))
			goto out;

	for (i = 0; i < n; i++) {
		const struct lb_maglev_target *t = &targets[order[i]];
		struct racer *x = &r[live];

		if (!t->weight)
			continue;
		x->next = (uint32_t)(identity_hash(t, seed, 0x6f666673u) % m);
		x->skip = (uint32_t)(identity_hash(t, seed, 0x736b6970u) % (m - 1)) + 1;
		x->weight = t->weight;
		x->index = (uint16_t)order[i];
		sum += t->weight;
		live++;
	}
	err = 0;
	if (!live)
		goto out;
	err = apportion(r, live, m, sum);
	if (err)
		goto out;
	populate(r, live, m, table, heap);
	for (i = 0; i < live; i++)
		owners += r[i].quota > 0;
	err = owners;
out:
	free(order);
	free(r);
	free(heap);
	return err;
}
