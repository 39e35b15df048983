// SPDX-License-Identifier: MIT
/*
 * inner_maps.c - tables and sets shared by groups with the same targets, and the outer
 * maps changed in batches (inner_maps.h).
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

struct lb_inner_cache_ent {
	uint64_t digest; /* 0: a free slot */
	size_t len;
	void *key; /* the inputs, compared whole: a digest may collide */
	int fd;
};

/* FNV-1a over the inputs' bytes (their padding zeroed by the caller). */
static uint64_t digest_of(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull ^ len;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/* The slot of @key, or the free slot where it goes. Needs cap > 0 and a free slot. */
static struct lb_inner_cache_ent *slot(const struct lb_inner_cache *c, uint64_t d, const void *key,
				       size_t len)
{
	size_t i = (size_t)d & (c->cap - 1);

	while (c->ents[i].digest && (c->ents[i].digest != d || c->ents[i].len != len ||
				     memcmp(c->ents[i].key, key, len)))
		i = (i + 1) & (c->cap - 1);
	return &c->ents[i];
}

int lb_inner_cache_get(const struct lb_inner_cache *c, const void *key, size_t len)
{
	const struct lb_inner_cache_ent *e;

	if (!c->n)
		return -1;
	e = slot(c, digest_of(key, len), key, len);
	return e->digest ? e->fd : -1;
}

static int grow(struct lb_inner_cache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 64, i;
	struct lb_inner_cache old = *c;

	c->ents = calloc(cap, sizeof(*c->ents));
	if (!c->ents) {
		*c = old;
		return -ENOMEM;
	}
	c->cap = cap;
	for (i = 0; i < old.cap; i++)
		if (old.ents[i].digest)
			*slot(c, old.ents[i].digest, old.ents[i].key, old.ents[i].len) =
				old.ents[i];
	free(old.ents);
	return 0;
}

int lb_inner_cache_put(struct lb_inner_cache *c, const void *key, size_t len, int fd)
{
	uint64_t d = digest_of(key, len);
	struct lb_inner_cache_ent *e;
	int ret;

	if ((c->n + 1) * 2 > c->cap && (ret = grow(c)))
		return ret;
	e = slot(c, d, key, len);
	if (e->digest)
		return 0; /* already there: the first one stays */
	e->key = malloc(len + 1);
	if (!e->key)
		return -ENOMEM;
	e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (e->fd < 0) {
		ret = -errno;
		free(e->key);
		e->key = NULL;
		return ret;
	}
	memcpy(e->key, key, len);
	e->len = len;
	e->digest = d;
	c->n++;
	return 0;
}

void lb_inner_cache_clear(struct lb_inner_cache *c)
{
	size_t i;

	for (i = 0; i < c->cap; i++)
		if (c->ents[i].digest) {
			close(c->ents[i].fd);
			free(c->ents[i].key);
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
