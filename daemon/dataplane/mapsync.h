/* SPDX-License-Identifier: MIT */
/*
 * mapsync.h - turn a configuration into the datapath's map contents and apply it as a diff.
 *
 * The desired listeners, routes and groups are computed whole and checked against the map
 * capacities before anything is written. Then new and changed entries are written in the
 * order a packet follows them backwards (groups, routes, listeners), and stale ones are
 * removed in the order a packet follows them (listeners, routes, groups): at no moment does
 * a listener point to a missing route or group. Conntrack is never touched, so established
 * flows keep their backends.
 */
#ifndef LBD_MAPSYNC_H
#define LBD_MAPSYNC_H

#include <stddef.h>

#include "dataplane.h"
#include "idmap.h"
#include "ifaddr.h"
#include "lb_config.h"

/* The ids behind proxies, targets and groups; they outlive each sync. */
struct lb_ids {
	struct lb_idmap proxies; /* key: name, zero padded */
	struct lb_idmap targets; /* key: struct lb_target_key */
	struct lb_idmap groups;	 /* key: struct lb_group_key */
};

void lb_ids_init(struct lb_ids *ids);
void lb_ids_release(struct lb_ids *ids);

/*
 * Rebuild the ids a previous lbd gave out from the maps it left pinned (names tables,
 * listener and route entries), so the first sync of an adopted datapath rewrites every
 * entry in place instead of renumbering it. Returns 0 or -errno.
 */
int lb_ids_adopt(struct lb_ids *ids, struct lb_dataplane *dp);

/*
 * What the daemon adds to the configuration when it writes the maps (NULL hooks: the
 * configuration as it is):
 *  - weights fills @out (g->n entries) with the effective weights of group @g of proxy @p;
 *  - acceptor_port says on which local port lbd's SNI acceptor for @p listens (0: none):
 *    new TCP connections of a proxy with SNI routes that no source route claims go there
 *    (a backend of address 0: the destination address stays, the port changes).
 */
struct lb_weight_src {
	void (*fn)(void *ctx, const struct lb_proxy_cfg *p, const struct lb_group_cfg *g,
		   uint16_t *out);
	uint16_t (*acceptor_port)(void *ctx, const struct lb_proxy_cfg *p);
	void *ctx;
};

/*
 * Make the maps of @dp say what @cfg says, with listeners without an address expanded to
 * the addresses in @addrs and weights from @ws (may be NULL). Returns 0 or -errno with a
 * sentence in @err.
 */
int lb_mapsync_apply(struct lb_dataplane *dp, struct lb_ids *ids, const struct lb_config *cfg,
		     const struct lb_ifaddr_table *addrs, const struct lb_weight_src *ws, char *err,
		     size_t errlen);

/* The proxy id of @name, or -1. */
int64_t lb_ids_proxy(const struct lb_ids *ids, const char *name);

/* The target id of (@proxy_id, @addr, @port), or -1. */
int64_t lb_ids_target(const struct lb_ids *ids, uint32_t proxy_id, uint32_t addr, uint16_t port);

#endif /* LBD_MAPSYNC_H */
