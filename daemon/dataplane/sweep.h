/* SPDX-License-Identifier: MIT */
/*
 * sweep.h - conntrack garbage collection on the libuv loop.
 *
 * The datapath only refreshes timestamps and flags; lbd decides when a flow is over:
 *   - idle for longer than connection-timeout-sec (TCP) or udp-timeout-sec (UDP);
 *   - closed: RST seen, or FIN seen in both directions, and quiet for LB_CT_CLOSED_SEC;
 *   - never answered by its backend for LB_CT_UNANSWERED_SEC (TCP only).
 * Both entries of an expired flow are removed together. Each sweep also counts the live
 * flows (not closed) per proxy and per target.
 */
#ifndef LBD_SWEEP_H
#define LBD_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lb_abi.h"

#define LB_CT_CLOSED_SEC     10
#define LB_CT_UNANSWERED_SEC 30

struct lb_dataplane;

struct lb_sweep_result {
	uint64_t flows;	  /* ORIG entries seen */
	uint64_t expired; /* flows removed */
	uint32_t live_per_proxy[LB_MAX_PROXIES];
	uint32_t live_per_target[LB_MAX_TARGETS];
};

struct lb_sweeper;

/* Flow timeouts in seconds. */
struct lb_sweep_timeouts {
	uint32_t tcp_idle;
	uint32_t udp_idle;
};

/*
 * Classify one flow from its two entries (@reply may be NULL when evicted) at @now_ns:
 * true when it should be removed; *@live tells whether it still counts as open.
 */
bool lb_sweep_expired(const struct lb_ct_key *key, const struct lb_ct_val *orig,
		      const struct lb_ct_val *reply, uint64_t now_ns,
		      const struct lb_sweep_timeouts *t, bool *live);

/* One flow as a scan sees it. */
struct lb_flow_view {
	const struct lb_ct_key *key; /* the ORIG key: client -> listener */
	const struct lb_ct_val *orig;
	const struct lb_ct_val *reply; /* NULL when the REPLY entry was evicted */
	bool live;		       /* not closed (counts as an open connection) */
	bool expired;		       /* due for removal */
	uint64_t now_ns;
};

/* Called once per flow; return non-zero to stop the scan. */
typedef int (*lb_flow_fn)(const struct lb_flow_view *f, void *arg);

/* The two conntrack tables: confirmed flows (lb_ct) and flows not confirmed yet (lb_syn). */
struct lb_ct_fds {
	int ct, syn;
};

struct lb_ct_fds lb_ct_fds_of(const struct lb_dataplane *dp);

/*
 * Read both conntrack tables of @dp (in batches) and call @fn for every flow, classified
 * with @t. Nothing is deleted. Returns 0, or -errno when a table cannot be read.
 */
int lb_ct_scan(const struct lb_dataplane *dp, const struct lb_sweep_timeouts *t, lb_flow_fn fn,
	       void *arg);

/* One pass over both tables; fills @res (may be NULL). Returns 0 or -errno. */
int lb_sweep_once(const struct lb_ct_fds *fds, const struct lb_sweep_timeouts *t,
		  struct lb_sweep_result *res);

/* Sweep periodically; NULL and errno on failure. */
struct lb_sweeper *lb_sweeper_start(uv_loop_t *loop, struct lb_dataplane *dp,
				    const struct lb_sweep_timeouts *t);

/* Called for every removed flow whose "closed" event the datapath did not emit. */
typedef void (*lb_sweep_close_fn)(void *arg, const struct lb_event *ev);
void lb_sweeper_on_close(struct lb_sweeper *s, lb_sweep_close_fn fn, void *arg);

/* The "closed" event (struct lb_event) of the flow @f that the sweeper removes. */
void lb_sweep_close_event(const struct lb_flow_view *f, struct lb_event *ev);

/* Change the timeouts (after a reload). */
void lb_sweeper_set_timeouts(struct lb_sweeper *s, const struct lb_sweep_timeouts *t);

/* The result of the last sweep (all zero before the first). */
const struct lb_sweep_result *lb_sweeper_last(const struct lb_sweeper *s);

/* Stop; NULL is a no-op. */
void lb_sweeper_stop(struct lb_sweeper *s);

#endif /* LBD_SWEEP_H */
