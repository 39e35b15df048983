/* SPDX-License-Identifier: MIT */
/*
 * sweep.h - conntrack garbage collection on the libuv loop.
 *
 * The datapath only refreshes timestamps and flags; lbd decides when a flow is over:
 *   - idle for longer than connection-timeout-sec (TCP) or udp-timeout-sec (UDP);
 *   - closed: RST seen, or FIN seen in both directions, and quiet for LB_CT_CLOSED_SEC;
 *   - never answered by its backend for LB_CT_UNANSWERED_SEC (TCP only).
 * Both entries of an expired flow are removed together.
 *
 * The sweeper is also the one place that counts live flows (not closed, not expired) per
 * proxy and per target: every sweep leaves a snapshot, and a reader that needs one
 * younger than the last sweep's gets a count-only scan that every later reader within
 * the bound shares (lb_sweeper_live()).
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

/*
 * A dsr or full-nat flow that sent nothing through this node for this long no longer
 * needs it: behind ECMP, once the node's routes are withdrawn, a dsr flow continues on
 * another node and a full-nat flow is lost (its source port lived here).
 */
#define LB_LIVE_GONE_SEC 5

/* Live flows as one scan counted them. */
struct lb_live {
	uint64_t at_ns;	  /* CLOCK_MONOTONIC when the scan ended; 0: none yet */
	uint64_t cost_ns; /* how long it took */
	uint64_t total;
	/*
	 * Open flows that still need this node (lbctl node drain --wait): all but the dsr
	 * and full-nat flows idle longer than LB_LIVE_GONE_SEC (docs/scale-out.md, "Node
	 * maintenance"): the router sends their packets elsewhere now, where a dsr flow
	 * goes on and a full-nat one is reset; waiting for either on this node is waiting
	 * for nothing.
	 */
	uint64_t bound;
	/* lb_ct's entries (a confirmed flow has two) and its size, for "nearly full". */
	uint64_t ct_entries;
	uint64_t ct_capacity;
	uint32_t per_proxy[LB_MAX_PROXIES];
	uint32_t per_target[LB_MAX_TARGETS];
	/* Every tracked flow, closed and expired ones too: which ids conntrack still carries. */
	uint32_t present_proxy[LB_MAX_PROXIES];
	uint32_t present_target[LB_MAX_TARGETS];
};

struct lb_sweep_result {
	uint64_t flows;	      /* ORIG entries seen */
	uint64_t expired;     /* flows removed */
	uint64_t spared;      /* expired when read, active again before their removal */
	uint64_t lconn_fixed; /* targets whose live count (lb_lconn) the sweep corrected */
	struct lb_live live;
};

/*
 * A snapshot is reused while it is younger than LB_LIVE_MIN_AGE_MS, or LB_LIVE_REUSE
 * times what its scan cost, whichever is longer: a monitor calling status in a loop gets
 * figures a fraction of a second old on small tables, and lbd spends at most about
 * 1/LB_LIVE_REUSE of its time counting however large the tables are.
 */
#define LB_LIVE_MIN_AGE_MS 250
#define LB_LIVE_REUSE	   10

struct lb_sweeper;

/* Flow timeouts in seconds, and the clock's gap (filled from the datapath by the scans). */
struct lb_sweep_timeouts {
	uint32_t tcp_idle;
	uint32_t udp_idle;
	/*
	 * A flow last stamped in [gap_from, gap_to) sent its packet while no lbd advanced the
	 * datapath's clock (a restart): it counts as seen at gap_to, or a stop longer than an
	 * idle timeout would expire flows that never stopped.
	 */
	uint64_t gap_from, gap_to;
};

/* When the flow (@orig, @reply: may be NULL) was last seen, the clock's gap forgiven. */
uint64_t lb_sweep_last_seen(const struct lb_ct_val *orig, const struct lb_ct_val *reply,
			    const struct lb_sweep_timeouts *t);

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
	bool confirmed;		       /* in lb_ct (else in lb_syn: not confirmed yet) */
	uint64_t last_ns;	       /* last seen (lb_sweep_last_seen()) */
	uint64_t now_ns;
};

/* Called once per flow; return non-zero to stop the scan. */
typedef int (*lb_flow_fn)(const struct lb_flow_view *f, void *arg);

/* The two conntrack tables: confirmed flows (lb_ct) and flows not confirmed yet (lb_syn). */
struct lb_ct_fds {
	int ct, syn;
	int lconn; /* lb_lconn, corrected by each sweep (lconn.h); <= 0: none */
};

struct lb_ct_fds lb_ct_fds_of(const struct lb_dataplane *dp);

/*
 * Read both conntrack tables of @dp (in batches) and call @fn for every flow, classified
 * with @t. Nothing is deleted. Returns 0, or -errno when a table cannot be read.
 */
int lb_ct_scan(const struct lb_dataplane *dp, const struct lb_sweep_timeouts *t, lb_flow_fn fn,
	       void *arg);

/* Called for every removed flow whose "closed" event the datapath did not emit. */
typedef void (*lb_sweep_close_fn)(void *arg, const struct lb_event *ev);

/*
 * One pass over both tables; fills @res (may be NULL), calls @on_close (may be NULL) as
 * the sweeper does. Returns 0 or -errno.
 */
int lb_sweep_once(const struct lb_ct_fds *fds, const struct lb_sweep_timeouts *t,
		  struct lb_sweep_result *res, lb_sweep_close_fn on_close, void *close_arg);

/* Sweep periodically; NULL and errno on failure. */
struct lb_sweeper *lb_sweeper_start(uv_loop_t *loop, struct lb_dataplane *dp,
				    const struct lb_sweep_timeouts *t);

/* Have @fn called for every flow the sweeper removes (lb_sweep_close_fn). */
void lb_sweeper_on_close(struct lb_sweeper *s, lb_sweep_close_fn fn, void *arg);

/*
 * Have @fn called after every sweep that read the tables (lbd checks then whether a
 * lingering interface still carries flows, daemon/attach.c).
 */
void lb_sweeper_on_sweep(struct lb_sweeper *s, void (*fn)(void *arg), void *arg);

/* The "closed" event (struct lb_event) of the flow @f that the sweeper removes. */
void lb_sweep_close_event(const struct lb_flow_view *f, struct lb_event *ev);

/* Change the timeouts (after a reload). */
void lb_sweeper_set_timeouts(struct lb_sweeper *s, const struct lb_sweep_timeouts *t);

/* The result of the last sweep (all zero before the first). */
const struct lb_sweep_result *lb_sweeper_last(const struct lb_sweeper *s);

/*
 * The live-flow counts: the last snapshot (a sweep's, or a count's) when it is younger
 * than @max_age_ms, else a fresh count. @max_age_ms 0 means the bound above (for RPC
 * replies); the sweep interval (lb_sweeper_interval_ms) means "the last sweep's" for
 * readers happy with figures a few seconds old (/metrics, the stats log line). NULL with
 * errno when conntrack cannot be read and no snapshot exists.
 */
const struct lb_live *lb_sweeper_live(struct lb_sweeper *s, uint64_t max_age_ms);

/* How often the sweeper runs now, in milliseconds. */
uint64_t lb_sweeper_interval_ms(const struct lb_sweeper *s);

/* Stop; NULL is a no-op. */
void lb_sweeper_stop(struct lb_sweeper *s);

#endif /* LBD_SWEEP_H */
