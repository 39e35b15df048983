/* SPDX-License-Identifier: MIT */
/*
 * idmap.h - stable small-integer ids for keys (proxy names, targets, groups).
 *
 * Map slots and counters are indexed by these ids, so an id must survive every
 * re-configuration that keeps its key, and a freed id is not handed out again in the same
 * assignment (conntrack entries may still name it).
 */
#ifndef LBD_IDMAP_H
#define LBD_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct lb_idmap {
	size_t key_size;
	uint32_t max_ids;
	size_t n;      /* live keys, sorted by memcmp order */
	uint8_t *keys; /* n * key_size */
	uint32_t *ids; /* n */
};

/* An empty map for keys of @key_size bytes and ids 0..@max_ids-1. */
void lb_idmap_init(struct lb_idmap *m, size_t key_size, uint32_t max_ids);

/* Free storage; the map may be re-initialised. */
void lb_idmap_release(struct lb_idmap *m);

/*
 * Make the map hold exactly the @n distinct @keys: keys already present keep their id, new
 * ones get the lowest id used neither before nor now. On return @ids[i] is the id of
 * keys[i] and @fresh (may be NULL) is set for the ids that were newly given out.
 * Returns 0, -ENOSPC when the ids run out, -EINVAL on a duplicate key, -ENOMEM.
 * On error the map is unchanged.
 */
int lb_idmap_assign(struct lb_idmap *m, const void *keys, size_t n, uint32_t *ids, uint8_t *fresh);

/* Make @dst an independent copy of @src (dst must be released or fresh). 0 or -ENOMEM. */
int lb_idmap_clone(struct lb_idmap *dst, const struct lb_idmap *src);

/*
 * Load @m with exactly these @n (key, id) pairs, as read back from somewhere that held
 * them (the pinned maps of a previous lbd): ids beyond max_ids are skipped and of
 * repeated keys the first pair wins. 0 or -ENOMEM (the map is then empty).
 */
int lb_idmap_load(struct lb_idmap *m, const void *keys, const uint32_t *ids, size_t n);

/* The id of @key, or -1 when the map does not hold it. */
int64_t lb_idmap_find(const struct lb_idmap *m, const void *key);

#endif /* LBD_IDMAP_H */
