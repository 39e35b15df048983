// SPDX-License-Identifier: MIT
#include "map_image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_log.h"

#define BATCH_CHUNK 1024 /* entries per BPF_MAP_LOOKUP_BATCH call */
#define MAX_KEY	    32	 /* the largest key of a map read whole (lb_listen_key and co.) */

void lb_map_image_init(struct lb_map_image *m, size_t key_size, size_t val_size)
{
	memset(m, 0, sizeof(*m));
	m->key_size = key_size;
	m->ent_size = key_size + val_size;
}

void lb_map_image_release(struct lb_map_image *m)
{
	free(m->ents);
	m->ents = NULL;
	m->n = m->cap = 0;
}

int lb_map_image_push(struct lb_map_image *m, const void *key, const void *val)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		uint8_t *grown = realloc(m->ents, cap * m->ent_size);

		if (!grown)
			return -ENOMEM;
		m->ents = grown;
		m->cap = cap;
	}
	memcpy(m->ents + m->n * m->ent_size, key, m->key_size);
	memcpy(m->ents + m->n * m->ent_size + m->key_size, val, m->ent_size - m->key_size);
	m->n++;
	return 0;
}

static int cmp_ent(const void *a, const void *b, void *key_size)
{
	return memcmp(a, b, *(size_t *)key_size);
}

void lb_map_image_sort(struct lb_map_image *m)
{
	if (m->n > 1) /* an empty image leaves ents NULL: qsort_r() must not get it */
		qsort_r(m->ents, m->n, m->ent_size, cmp_ent, &m->key_size);
}

/*
 * Read @fd whole with BPF_MAP_LOOKUP_BATCH. Any failure (a kernel without batch
 * operations for this map type answers EINVAL or ENOTSUPP) makes the caller walk the keys
 * instead, which also reports a map that cannot be read at all.
 */
static int read_batch(int fd, struct lb_map_image *m)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t vs = m->ent_size - m->key_size;
	uint8_t *keys = malloc(BATCH_CHUNK * m->key_size), *vals = malloc(BATCH_CHUNK * vs);
	uint8_t in[MAX_KEY], out[MAX_KEY]; /* the position: a bucket index (hash) or a key */
	bool first = true, last = false;
	__u32 count, i;
	int ret = keys && vals ? 0 : -ENOMEM;

	while (!ret && !last) {
		count = BATCH_CHUNK;
		if (bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals, &count, &opts)) {
			if (errno != ENOENT) {
				ret = -errno;
				break;
			}
			last = true; /* ENOENT: these are the last @count entries */
		}
		for (i = 0; i < count && !ret; i++)
			ret = lb_map_image_push(m, keys + i * m->key_size, vals + i * vs);
		memcpy(in, out, sizeof(in));
		first = false;
	}
	free(keys);
	free(vals);
	return ret;
}

static int read_walk(int fd, struct lb_map_image *m)
{
	uint8_t key[MAX_KEY], next[MAX_KEY], val[sizeof(struct lb_group)];
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, m->key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		ret = lb_map_image_push(m, key, val);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

int lb_map_image_read(int fd, const char *name, struct lb_map_image *m, char *err, size_t errlen)
{
	int ret;

	m->n = 0;
	ret = read_batch(fd, m);
	if (ret && ret != -ENOMEM) {
		m->n = 0;
		ret = read_walk(fd, m);
	}
	if (ret)
		return lb_errf(err, errlen, ret, "cannot read %s: %s", name, strerror(-ret));
	lb_map_image_sort(m);
	return 0;
}

int lb_map_write_entries(int fd, const uint8_t *keys, const uint8_t *vals, size_t n, size_t ks,
			 size_t vs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count = n;
	size_t i;

	if (n > 1 && !bpf_map_update_batch(fd, keys, vals, &count, &opts))
		return 0;
	/* Rewriting what a failed batch did write is harmless: the values are the same. */
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, keys + i * ks, vals + i * vs, BPF_ANY))
			return -errno;
	return 0;
}

int lb_map_image_write_changed(int fd, const char *name, const struct lb_map_image *want,
			       const struct lb_map_image *cur, char *err, size_t errlen)
{
	size_t ks = cur->key_size, es = cur->ent_size, vs = es - ks, n = want->n, i, j = 0;
	size_t n_out = 0;
	uint8_t *keys = malloc((n ? n : 1) * ks), *vals = malloc((n ? n : 1) * vs);
	int ret = -ENOMEM;

	if (!keys || !vals)
		goto out;
	for (i = 0; i < n; i++) {
		const uint8_t *e = want->ents + i * es;

		while (j < cur->n && memcmp(cur->ents + j * es, e, ks) < 0)
			j++;
		if (j < cur->n && !memcmp(cur->ents + j * es, e, es))
			continue; /* same key, same value */
		memcpy(keys + n_out * ks, e, ks);
		memcpy(vals + n_out * vs, e + ks, vs);
		n_out++;
	}
	ret = lb_map_write_entries(fd, keys, vals, n_out, ks, vs);
out:
	free(keys);
	free(vals);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot update %s: %s", name, strerror(-ret));
	return 0;
}

int lb_map_image_delete_stale(int fd, const char *name, const struct lb_map_image *want,
			      const struct lb_map_image *cur, char *err, size_t errlen)
{
	size_t ks = cur->key_size, es = cur->ent_size, i, j = 0;

	for (i = 0; i < cur->n; i++) {
		const uint8_t *k = cur->ents + i * es;

		while (j < want->n && memcmp(want->ents + j * es, k, ks) < 0)
			j++;
		if (j < want->n && !memcmp(want->ents + j * es, k, ks))
			continue;
		if (bpf_map_delete_elem(fd, k) && errno != ENOENT)
			return lb_errf(err, errlen, -errno, "cannot delete from %s: %s", name,
				       strerror(errno));
	}
	return 0;
}
