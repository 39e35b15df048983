/* SPDX-License-Identifier: MIT */
/*
 * mapsync.h - make the datapath's maps say what a model says (policy/model.h), writing
 * only what differs from what they held.
 *
 * A full sync computes every listener, route and group entry of the model (listeners
 * without an address expanded to the interface addresses), checks them against the map
 * capacities, then writes new and changed entries in the order a packet follows them
 * backwards (groups, routes, listeners) and removes stale ones in the order a packet
 * follows them (listeners, routes, groups): at no moment does a listener point to a
 * missing route or group. Conntrack is never touched, so established flows keep their
 * backends.
 *
 * What the maps hold is kept in memory as of the last write (read from the kernel only
 * when that is unknown: the first sync of an adopted datapath, or after a failed write),
 * so a change costs system calls only for the entries it changes, and a verdict change
 * (lb_mapsync_groups) rewrites one proxy's groups without looking at anything else.
 */
#ifndef LBD_MAPSYNC_H
#define LBD_MAPSYNC_H

#include <stddef.h>

#include "dataplane.h"
#include "ids.h"
#include "ifaddr.h"
#include "model.h"

struct lb_mapsync;

/*
 * A map writer for @dp whose name tables (lb_pnames, lb_tnames) hold @names now (the
 * adopted ids, or empty ones). NULL without memory.
 */
struct lb_mapsync *lb_mapsync_new(struct lb_dataplane *dp, const struct lb_ids *names);

/* Free; NULL is a no-op. The maps keep what they hold. */
void lb_mapsync_free(struct lb_mapsync *ms);

/*
 * Make the maps say what @m says, listeners expanded with @addrs. Returns 0 or -errno
 * with a sentence in @err (-ENOSPC: a capacity; -EEXIST: two listeners collide).
 */
int lb_mapsync_apply(struct lb_mapsync *ms, const struct lb_model *m,
		     const struct lb_ifaddr_table *addrs, char *err, size_t errlen);

/* Rewrite the lb_groups entries of @p whose effective weights changed (after a recompose). */
int lb_mapsync_groups(struct lb_mapsync *ms, const struct lb_model_proxy *p, char *err,
		      size_t errlen);

#endif /* LBD_MAPSYNC_H */
