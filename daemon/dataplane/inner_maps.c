// SPDX-License-Identifier: MIT
/*
 * inner_maps.c - Maglev tables shared by groups with the same targets, and the outer maps
 * changed in batches (inner_maps.h).
 */
#include "inner_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "map_image.h"

struct lb_table_cache_ent {
	uint64_t digest; /* 0: a free slot */
	size_t n;
	struct lb_maglev_target *t; /* the inputs, compared whole: a digest may collide */
	int fd;
};

/* FNV-1a over the targets' identity and weight, field by field (no padding). */
static uint64_t digest_of(const struct lb_maglev_target *t, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i, j;

	for (i = 0; i < n; i++) {
		uint8_t b[sizeof(t->addr) + sizeof(t->port) + sizeof(t->weight)];

		memcpy(b, t[i].addr, sizeof(t->addr));
		memcpy(b + sizeof(t->addr), &t[i].port, sizeof(t->port));
		memcpy(b + sizeof(t->addr) + sizeof(t->port), &t[i].weight, sizeof(t->weight));
		for (j = 0; j < sizeof(b); j++)
			h = (h ^ b[j]) * 0x100000001b3ull;
	}
	return h ? h : 1;
}

static bool same(const struct lb_table_cache_ent *e, uint64_t d, const struct lb_maglev_target *t,
		 size_t n)
{
	size_t i;

	if (e->digest != d || e->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (memcmp(e->t[i].addr, t[i].addr, sizeof(t->addr)) || e->t[i].port != t[i].port ||
		    e->t[i].weight != t[i].weight)
			return false;
	return true;
}

/* The slot of @t, or the free slot where it goes. Needs cap > 0 and a free slot. */
static struct lb_table_cache_ent *slot(const struct lb_table_cache *c, uint64_t d,
				       const struct lb_maglev_target *t, size_t n)
{
	size_t i = (size_t)d & (c->cap - 1);

	while (c->ents[i].digest && !same(&c->ents[i], d, t, n))
		i = (i + 1) & (c->cap - 1);
	return &c->ents[i];
}

int lb_table_cache_get(const struct lb_table_cache *c, const struct lb_maglev_target *t, size_t n)
{
	const struct lb_table_cache_ent *e;

	if (!c->n)
		return -1;
	e = slot(c, digest_of(t, n), t, n);
	return e->digest ? e->fd : -1;
}

static int grow(struct lb_table_cache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 64, i;
	struct lb_table_cache old = *c;

	c->ents = calloc(cap, sizeof(*c->ents));
	if (!c->ents) {
		*c = old;
		return -ENOMEM;
	}
	c->cap = cap;
	for (i = 0; i < old.cap; i++)
		if (old.ents[i].digest)
			*slot(c, old.ents[i].digest, old.ents[i].t, old.ents[i].n) = old.ents[i];
	free(old.ents);
	return 0;
}

int lb_table_cache_put(struct lb_table_cache *c, const struct lb_maglev_target *t, size_t n, int fd)
{
	uint64_t d = digest_of(t, n);
	struct lb_table_cache_ent *e;
	int ret;

	if ((c->n + 1) * 2 > c->cap && (ret = grow(c)))
		return ret;
	e = slot(c, d, t, n);
	if (e->digest)
		return 0; /* already there: the first one stays */
	e->t = malloc(n * sizeof(*t) + 1);
	if (!e->t)
		return -ENOMEM;
	e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (e->fd < 0) {
		ret = -errno;
		free(e->t);
		e->t = NULL;
		return ret;
	}
	memcpy(e->t, t, n * sizeof(*t));
	e->n = n;
	e->digest = d;
	c->n++;
	return 0;
}

void lb_table_cache_clear(struct lb_table_cache *c)
{
	size_t i;

	for (i = 0; i < c->cap; i++)
		if (c->ents[i].digest) {
			close(c->ents[i].fd);
			free(c->ents[i].t);
		}
	free(c->ents);
	c->ents = NULL;
	c->n = c->cap = 0;
}

void lb_outer_drop(struct lb_outer_puts *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		close((int)q->fds[i]);
	q->n = 0;
}

int lb_outer_flush(struct lb_outer_puts *q)
{
	int ret = 0;

	if (q->n)
		ret = lb_map_write_entries(q->map_fd, (const uint8_t *)q->keys,
					   (const uint8_t *)q->fds, q->n, sizeof(q->keys[0]),
					   sizeof(q->fds[0]));
	lb_outer_drop(q);
	return ret;
}

int lb_outer_put(struct lb_outer_puts *q, uint32_t key, int fd)
{
	int ret, dup;

	if (q->n == LB_OUTER_BATCH && (ret = lb_outer_flush(q)))
		return ret;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	q->keys[q->n] = key;
	q->fds[q->n++] = (uint32_t)dup;
	return 0;
}

int lb_outer_delete(int map_fd, const uint32_t *keys, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *there = malloc((n ? n : 1) * sizeof(*there)), id, count;
	size_t i, m = 0;
	int ret = 0;

	if (!there)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(map_fd, &keys[i], &id))
			there[m++] = keys[i];
	count = (uint32_t)m;
	if (m > 1 && !bpf_map_delete_batch(map_fd, there, &count, &opts))
		m = 0;
	for (i = 0; i < m; i++)
		if (bpf_map_delete_elem(map_fd, &there[i]) && errno != ENOENT && !ret)
			ret = -errno;
	free(there);
	return ret;
}
