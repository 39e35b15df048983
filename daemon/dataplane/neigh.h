/* SPDX-License-Identifier: MIT */
/*
 * neigh.h - the neighbour entries dsr needs: the datapath's bpf_fib_lookup() finds the
 * target's MAC address only in the kernel's neighbour table, and drops a packet when
 * there is none (bpf/lb_dsr.h, drop-dsr-no-neighbour). For every dsr target lbd makes a
 * *managed* entry (NTF_EXT_MANAGED, Linux 5.16+) on the interface its route leaves
 * through: the kernel resolves it at once and keeps it resolved (probing again while it
 * is in use or not), with no traffic and no health check.
 *
 * Ownership: lbd adds an entry only where the kernel has none for that address on that
 * interface (NLM_F_EXCL), so a permanent entry of the operator's, or one another tool
 * keeps (a protocol, externally learned, managed), is never replaced. A plain dynamic
 * entry the kernel learned from traffic is made managed and lbd's in place, its address
 * and state kept: left alone, it could stay STALE or FAILED with nothing probing it, and
 * when one goes (RTM_DELNEIGH) lbd's watch adds its managed one. What lbd adds
 * carries LB_NEIGH_PROTOCOL (NDA_PROTOCOL), and only entries with it are ever deleted:
 * when no dsr target needs them any more (reload, remove-proxy) and at `lbd --teardown`
 * (or --teardown-on-exit). Like the announcements they outlive a restart or take-over.
 * lbd instances in one network namespace share the mark: one's reload deletes another's
 * entries, which that one's watch then adds again.
 */
#ifndef LBD_NEIGH_H
#define LBD_NEIGH_H

#include <stdbool.h>
#include <uv.h>

#include "ifaddr.h"
#include "lb_config.h"

/*
 * NDA_PROTOCOL of the entries lbd makes: fixed (not settings.announce-protocol), so that
 * `lbd --teardown` finds them without a configuration. 250, as the announcements'
 * default: no iproute2 rt_protos name and no routing daemon Debian ships use it.
 */
#define LB_NEIGH_PROTOCOL 250

struct lb_neigh;

/* The keeper, with no target yet. NULL and errno on failure. */
struct lb_neigh *lb_neigh_new(void);

/* Free it (the entries stay); NULL is a no-op. */
void lb_neigh_free(struct lb_neigh *nb);

/*
 * Keep entries for the targets of @cfg's dsr proxies (and delete lbd's other ones). A
 * failure for one target is logged, once until it succeeds, and never stops the others.
 * Returns 0 or -ENOMEM (the previous targets stay kept).
 */
int lb_neigh_set(struct lb_neigh *nb, const struct lb_config *cfg);

/* The same for the targets last set: after an entry went away, or links or routes changed. */
void lb_neigh_repair(struct lb_neigh *nb);

/*
 * Would the datapath find target @a's MAC address now: 1 when the interface its route
 * leaves through has a usable entry for it (any, lbd's or not), 0 when not (none, still
 * resolving, failed), -ENETUNREACH when no route reaches it on a connected interface,
 * another -errno when netlink failed.
 */
int lb_neigh_resolved(const struct lb_ip *a);

/* Delete every entry lbd made (LB_NEIGH_PROTOCOL), as `lbd --teardown` does. 0 or -errno. */
int lb_neigh_remove_all(void);

/*
 * Repair @nb (debounced) whenever the entry of one of its targets leaves the neighbour
 * table (deleted, flushed, aged out, its link gone). NULL and errno on failure.
 */
struct lb_ifwatch *lb_neigh_watch_start(uv_loop_t *loop, struct lb_neigh *nb);

#endif /* LBD_NEIGH_H */
