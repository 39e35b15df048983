/* SPDX-License-Identifier: MIT */
/*
 * idmap.h - stable small-integer ids for keys (proxy names, targets, groups).
 *
 * Map slots and counters are indexed by these ids, so an id must survive every
 * re-configuration that keeps its key. A key that goes retires its id: conntrack entries
 * of its flows may still carry it, and a new key given that id would be charged with them
 * (counters, drains) and named in their events. A retired id keeps its key (for naming
 * those flows) and comes back to that key if it returns; it is handed to another key only
 * once a conntrack scan made after the retirement found no entry carrying it
 * (struct lb_id_quarantine), or, without such scans, after one more assignment.
 */
#ifndef LBD_IDMAP_H
#define LBD_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lb_idmap {
	size_t key_size;
	uint32_t max_ids;
	size_t n;      /* live keys, sorted by memcmp order */
	uint8_t *keys; /* n * key_size */
	uint32_t *ids; /* n */
	size_t n_retired;
	uint8_t *retired_keys; /* n_retired * key_size, in no order */
	uint32_t *retired_ids; /* n_retired */
	uint64_t *retired_at;  /* n_retired: when (CLOCK_MONOTONIC ns), 0 when unknown */
};

/*
 * What conntrack holds, for deciding whether a retired id is free: @present[id] counts the
 * entries carrying id in a scan that ended at @scanned_ns. @now_ns stamps new retirements.
 */
struct lb_id_quarantine {
	uint64_t now_ns;
	uint64_t scanned_ns;
	const uint32_t *present; /* max_ids counts; NULL: no scan yet */
	/*
	 * The scan was made just now: the ids of keys that go are free at once where it
	 * found no entry carrying them, for when old and new keys together would not fit. A
	 * flow created between that scan and the change is then charged to the new key.
	 */
	bool free_going;
};

/* An empty map for keys of @key_size bytes and ids 0..@max_ids-1. */
void lb_idmap_init(struct lb_idmap *m, size_t key_size, uint32_t max_ids);

/* Free storage; the map may be re-initialised. */
void lb_idmap_release(struct lb_idmap *m);

/*
 * Make the map hold exactly the @n distinct @keys: keys already present keep their id,
 * returning ones their retired id, new ones the lowest id neither held before, nor
 * retired and possibly still in conntrack (@q; NULL: retired ids wait one assignment).
 * Keys that go retire. On return @ids[i] is the id of keys[i] and @fresh (may be NULL) is
 * set for the keys the map did not hold (new or returning: their counters start again). With
 * @q->free_going, the ids of keys that go and that @q shows no flow carrying are handed out
 * too, after every other free one (and such a key retires only if its id was not). Returns 0,
 * -ENOSPC when the ids run out, -EINVAL on a duplicate key, -ENOMEM. On error the map is unchanged.
 */
int lb_idmap_assign(struct lb_idmap *m, const void *keys, size_t n, uint32_t *ids, uint8_t *fresh,
		    const struct lb_id_quarantine *q);

/* Make @dst an independent copy of @src (dst must be released or fresh). 0 or -ENOMEM. */
int lb_idmap_clone(struct lb_idmap *dst, const struct lb_idmap *src);

/*
 * Load @m with exactly these @n (key, id) pairs, as read back from somewhere that held
 * them (the pinned maps of a previous lbd): ids beyond max_ids are skipped and of
 * repeated keys the first pair wins. 0 or -ENOMEM (the map is then empty).
 */
int lb_idmap_load(struct lb_idmap *m, const void *keys, const uint32_t *ids, size_t n);

/*
 * Retire, as of @now_ns and with no key, every id the map neither holds nor has retired:
 * for a datapath adopted from a previous lbd, whose conntrack may carry ids it did not
 * name. 0 or -ENOMEM.
 */
int lb_idmap_retire_rest(struct lb_idmap *m, uint64_t now_ns);

/* The id of @key, or -1 when the map does not hold it (retired ones neither). */
int64_t lb_idmap_find(const struct lb_idmap *m, const void *key);

/* The key id @id stands for, live or retired; NULL when none. */
const void *lb_idmap_key_of(const struct lb_idmap *m, uint32_t id);

#endif /* LBD_IDMAP_H */
