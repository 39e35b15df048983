// SPDX-License-Identifier: MIT
#include "lconn.h"

#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

int lb_lconn_read(int fd, int64_t *out)
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

int lb_lconn_correct(int fd, const int64_t *before, const uint32_t *counted)
{
	int fixed = 0;
	__u32 t;

	for (t = 0; t < LB_MAX_TARGETS; t++) {
		int64_t drift = (int64_t)counted[t] - before[t], now;

		if (!drift)
			continue;
		if (bpf_map_lookup_elem(fd, &t, &now))
			return -errno;
		now += drift;
		if (now < 0)
			now = 0;
		if (bpf_map_update_elem(fd, &t, &now, BPF_ANY))
			return -errno;
		fixed++;
	}
	return fixed;
}
