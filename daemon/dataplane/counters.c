// SPDX-License-Identifier: MIT
#include "counters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

static int sum_stats(int fd, int ncpus, uint32_t id, struct lb_stats *sum)
{
	struct lb_stats *per_cpu = calloc(ncpus, sizeof(*per_cpu));
	int cpu, ret = 0;

	if (!per_cpu)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(fd, &id, per_cpu)) {
		ret = -errno;
		goto out;
	}
	for (cpu = 0; cpu < ncpus; cpu++) {
		sum->pkts_in += per_cpu[cpu].pkts_in;
		sum->bytes_in += per_cpu[cpu].bytes_in;
		sum->pkts_out += per_cpu[cpu].pkts_out;
		sum->bytes_out += per_cpu[cpu].bytes_out;
		sum->new_flows += per_cpu[cpu].new_flows;
		sum->drop_no_backend += per_cpu[cpu].drop_no_backend;
		sum->err_ct_insert += per_cpu[cpu].err_ct_insert;
	}
out:
	free(per_cpu);
	return ret;
}

int lb_counters_proxy(const struct lb_dataplane *dp, uint32_t proxy_id, struct lb_stats *sum)
{
	return sum_stats(lb_dataplane_fd_pstats(dp), dp->ncpus, proxy_id, sum);
}

int lb_counters_target(const struct lb_dataplane *dp, uint32_t target_id, struct lb_stats *sum)
{
	return sum_stats(lb_dataplane_fd_tstats(dp), dp->ncpus, target_id, sum);
}

struct lb_lconn_val lb_counters_live(const struct lb_dataplane *dp, uint32_t target_id)
{
	struct lb_lconn_val v = {0};

	if (bpf_map_lookup_elem(lb_dataplane_fd_lconn(dp), &target_id, &v))
		memset(&v, 0, sizeof(v));
	/* A negative part is a lost race between CPUs: readers take it as 0 (lb_abi.h). */
	if (v.confirmed < 0)
		v.confirmed = 0;
	if (v.unconfirmed < 0)
		v.unconfirmed = 0;
	return v;
}

int lb_counters_global(const struct lb_dataplane *dp, uint64_t out[LB_G_MAX])
{
	uint64_t *per_cpu = calloc(dp->ncpus, sizeof(*per_cpu));
	uint32_t i;
	int cpu;

	if (!per_cpu)
		return -ENOMEM;
	for (i = 0; i < LB_G_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(lb_dataplane_fd_gstats(dp), &i, per_cpu))
			continue;
		for (cpu = 0; cpu < dp->ncpus; cpu++)
			out[i] += per_cpu[cpu];
	}
	free(per_cpu);
	return 0;
}
