/* SPDX-License-Identifier: MIT */
/*
 * map_image.h - a BPF hash or LPM map's contents in user space, as one array of entries
 * (key immediately followed by value) sorted by key, and the diff between two such
 * arrays written to the kernel. Diffing sorted arrays costs no system call per entry:
 * with 10,000 source routes, reading entry by entry took 40,000 calls per change.
 *
 * Entries are compared with memcmp(), key and value alike: they must be structs without
 * implicit padding (common/lb_abi.h asserts each layout's size) built from zeroed memory.
 */
#ifndef LBD_MAP_IMAGE_H
#define LBD_MAP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct lb_map_image {
	size_t key_size, ent_size; /* ent_size = key_size + value size */
	size_t n, cap;
	uint8_t *ents;
};

/* An empty image of entries of @key_size + @val_size bytes. */
void lb_map_image_init(struct lb_map_image *m, size_t key_size, size_t val_size);

/* Free the entries; the image is empty (sizes kept). */
void lb_map_image_release(struct lb_map_image *m);

/* Append one entry (the image is unsorted until lb_map_image_sort()). 0 or -ENOMEM. */
int lb_map_image_push(struct lb_map_image *m, const void *key, const void *val);

/* Sort by key. */
void lb_map_image_sort(struct lb_map_image *m);

/* Replace @m's entries by what map @fd holds, sorted. 0 or -errno with a sentence. */
int lb_map_image_read(int fd, const char *name, struct lb_map_image *m, char *err, size_t errlen);

/*
 * Write to map @fd the entries of @want that @cur (what the map holds) lacks or holds with
 * another value, in one batch. Both sorted. 0 or -errno with a sentence in @err.
 */
int lb_map_image_write_changed(int fd, const char *name, const struct lb_map_image *want,
			       const struct lb_map_image *cur, char *err, size_t errlen);

/* Delete from map @fd every key of @cur that @want lacks. 0 or -errno with a sentence. */
int lb_map_image_delete_stale(int fd, const char *name, const struct lb_map_image *want,
			      const struct lb_map_image *cur, char *err, size_t errlen);

/* Write @n (key, value) pairs to @fd in one BPF_MAP_UPDATE_BATCH, else one by one. */
int lb_map_write_entries(int fd, const uint8_t *keys, const uint8_t *vals, size_t n, size_t ks,
			 size_t vs);

#endif /* LBD_MAP_IMAGE_H */
