/* SPDX-License-Identifier: MIT */
/*
 * inner_maps.h - what one map sync does with the inner maps of lb_maglev and lb_gsets
 * (hashes of maps, lb_abi.h): share the tables it built, and change the outer maps in
 * batches.
 *
 * Sharing. A Maglev table depends on its targets' addresses, ports and weights (and the
 * sync's seed and size) only, a large group's set on its backends, and an inner map is
 * never written again once a group points at it, so groups with the same targets can share
 * one: an outer map may hold one inner map under many keys. 1,000 source routes to the
 * same pair of targets cost one build and one write of 128 KiB (65,537 slots), not 1,000
 * of each. The cache holds a descriptor of every inner map it names;
 * lb_inner_cache_clear() at the end of a sync lets them go: the outer map keeps what
 * groups still use.
 *
 * Batches. Every system call that changes a hash of maps waits for an RCU grace period
 * before it returns (the kernel's maybe_wait_bpf_programs(): about 4 ms on this project's
 * 2-CPU test machine), even a delete of a key that is not there. One insert and one such
 * delete per group made 1,000 source routes take 8-12 s. A batch waits once; a delete
 * looks the keys up first (a lookup does not wait).
 */
#ifndef LBD_INNER_MAPS_H
#define LBD_INNER_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct lb_inner_cache_ent;

struct lb_inner_cache {
	struct lb_inner_cache_ent *ents; /* open addressing on the inputs' digest */
	size_t n, cap;			 /* cap: 0 or a power of two, n < cap / 2 */
};

/*
 * The inner map built from the @len bytes @key (what it was built from, padding zeroed: a
 * table's struct lb_maglev_target array, a set's struct lb_backend array): a descriptor the
 * cache keeps, or -1.
 */
int lb_inner_cache_get(const struct lb_inner_cache *c, const void *key, size_t len);

/*
 * Remember @fd (a dup of it; the caller keeps its own) as the inner map built from @key.
 * 0 or -errno: a failure costs only the sharing, never the map.
 */
int lb_inner_cache_put(struct lb_inner_cache *c, const void *key, size_t len, int fd);

/* Forget everything (closing the cache's descriptors); the cache can be used again. */
void lb_inner_cache_clear(struct lb_inner_cache *c);

/* Inserts into one outer map, queued: at most LB_OUTER_BATCH inner maps held open at once. */
#define LB_OUTER_BATCH 256

struct lb_outer_puts {
	int map_fd;
	size_t n;
	uint32_t keys[LB_OUTER_BATCH];
	uint32_t fds[LB_OUTER_BATCH]; /* the queue's own descriptors */
};

static inline void lb_outer_puts_init(struct lb_outer_puts *q, int map_fd)
{
	q->map_fd = map_fd;
	q->n = 0;
}

/* Queue @fd (a dup of it) under @key; a full queue is written first. 0 or -errno. */
int lb_outer_put(struct lb_outer_puts *q, uint32_t key, int fd);

/* Write what is queued (one batch, or key by key where the kernel has no batch). 0 or -errno;
 * the queue is empty afterwards either way. */
int lb_outer_flush(struct lb_outer_puts *q);

/* Forget what is queued, writing nothing (a sync that failed). */
void lb_outer_drop(struct lb_outer_puts *q);

/* Delete those of the @n @keys that @map_fd holds. 0 or the first -errno. */
int lb_outer_delete(int map_fd, const uint32_t *keys, size_t n);

#endif /* LBD_INNER_MAPS_H */
