// SPDX-License-Identifier: MIT
#include "lconn.h"

#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

int lb_lconn_read(int fd, struct lb_lconn_val *out)
{
	__u32 key, out_batch = 0, count = LB_MAX_TARGETS;
	__u32 *keys = calloc(LB_MAX_TARGETS, sizeof(*keys));
	int ret;

	if (!keys)
		return -ENOMEM;
	/* One system call for the whole array; element by element where batches fail. */
	ret = bpf_map_lookup_batch(fd, NULL, &out_batch, keys, out, &count, NULL);
	if (ret && errno == ENOENT && count == LB_MAX_TARGETS)
		ret = 0;
	if (ret || count != LB_MAX_TARGETS) {
		ret = 0;
		for (key = 0; key < LB_MAX_TARGETS && !ret; key++)
			ret = bpf_map_lookup_elem(fd, &key, &out[key]) ? -errno : 0;
	}
	free(keys);
	return ret;
}

/* @now + @drift, never below 0. */
static int64_t corrected(int64_t now, int64_t drift)
{
	now += drift;
	return now < 0 ? 0 : now;
}

/* The drift both readings agree on: @a and @b of one sign, the one nearer 0; else 0. */
static int64_t agreed(int64_t a, int64_t b)
{
	if (a > 0 && b > 0)
		return a < b ? a : b;
	if (a < 0 && b < 0)
		return a > b ? a : b;
	return 0;
}

int lb_lconn_correct(int fd, const struct lb_lconn_val *before, const struct lb_lconn_val *after,
		     const struct lb_lconn_val *counted)
{
	int fixed = 0;
	__u32 t;

	for (t = 0; t < LB_MAX_TARGETS; t++) {
		int64_t dc = agreed(counted[t].confirmed - before[t].confirmed,
				    counted[t].confirmed - after[t].confirmed);
		int64_t du = agreed(counted[t].unconfirmed - before[t].unconfirmed,
				    counted[t].unconfirmed - after[t].unconfirmed);
		struct lb_lconn_val now;

		if (!dc && !du)
			continue;
		if (bpf_map_lookup_elem(fd, &t, &now))
			return -errno;
		now.confirmed = corrected(now.confirmed, dc);
		now.unconfirmed = corrected(now.unconfirmed, du);
		if (bpf_map_update_elem(fd, &t, &now, BPF_ANY))
			return -errno;
		fixed++;
	}
	return fixed;
}
