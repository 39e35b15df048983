/* SPDX-License-Identifier: MIT */
/* counters.h - read the datapath's per-CPU counters, summed over CPUs. */
#ifndef LBD_COUNTERS_H
#define LBD_COUNTERS_H

#include <stdint.h>

#include "dataplane.h"
#include "lb_abi.h"
#include "lb_counter_names.h"

/* Sum of lb_pstats[@proxy_id] over all CPUs. Returns 0 or -errno. */
int lb_counters_proxy(const struct lb_dataplane *dp, uint32_t proxy_id, struct lb_stats *sum);

/* Sum of lb_tstats[@target_id] over all CPUs. Returns 0 or -errno. */
int lb_counters_target(const struct lb_dataplane *dp, uint32_t target_id, struct lb_stats *sum);
/*
 * The live flows of @target_id as the datapath counts them for least-connections (lb_lconn:
 * exact at this instant, corrected by each sweep), confirmed and not yet confirmed, each at
 * least 0; zeros when unknown.
 */
struct lb_lconn_val lb_counters_live(const struct lb_dataplane *dp, uint32_t target_id);

/* Sum of every global counter (enum lb_global_counter) over all CPUs. */
int lb_counters_global(const struct lb_dataplane *dp, uint64_t out[LB_G_MAX]);

#endif /* LBD_COUNTERS_H */
