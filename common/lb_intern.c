// SPDX-License-Identifier: MIT
#include "lb_intern.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing, linear probing, at most half full: a handful of strings, few lookups. */
static struct {
	pthread_mutex_t lock;
	char **slots;
	size_t cap, n;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static char **slot_of(char **slots, size_t cap, const char *s)
{
	size_t i = (size_t)hash(s) & (cap - 1);

	while (slots[i] && strcmp(slots[i], s))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(void)
{
	size_t cap = pool.cap ? 2 * pool.cap : 64, i;
	char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (i = 0; i < pool.cap; i++)
		if (pool.slots[i])
			*slot_of(slots, cap, pool.slots[i]) = pool.slots[i];
	free(pool.slots);
	pool.slots = slots;
	pool.cap = cap;
	return 0;
}

const char *lb_intern(const char *s)
{
	const char *ret = NULL;
	char **slot;

	if (!s)
		return NULL;
	pthread_mutex_lock(&pool.lock);
	if (2 * (pool.n + 1) > pool.cap && grow()) {
		errno = ENOMEM;
		goto out;
	}
	slot = slot_of(pool.slots, pool.cap, s);
	if (!*slot) {
		*slot = strdup(s);
		if (!*slot) {
			errno = ENOMEM;
			goto out;
		}
		pool.n++;
	}
	ret = *slot;
out:
	pthread_mutex_unlock(&pool.lock);
	return ret;
}
