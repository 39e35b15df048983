/* SPDX-License-Identifier: MIT */
/*
 * node.h - this node's part among several lbd nodes behind ECMP (docs/scale-out.md): which
 * listener addresses it announces to the routing daemon (dataplane/announce.h), and
 * maintenance (`lbctl node drain`), which withdraws them all.
 *
 * A proxy's address is announced while settings.announce-table is set, the node is not in
 * maintenance and the proxy has at least one target with an effective weight (healthy,
 * not drained, not weighted 0); an address several proxies share, while one of them has.
 * The announcements and the maintenance flag outlive lbd (the kernel's table, the pinned
 * lb_owner): a restart changes nothing the routers see.
 */
#ifndef LBD_NODE_H
#define LBD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "lbd.h"

/*
 * Bring the announcements in line with the configuration, the model and maintenance.
 * @repair: also when nothing changed as far as lbd knows (re-add what someone deleted);
 * without it a call that changes nothing costs no system call. 0, or -errno with a
 * sentence in @err (out of memory: nothing is withdrawn for it).
 */
int lbd_node_sync(struct lbd *l, bool repair, char *err, size_t errlen);

/* lbd_node_sync() whose failure is logged: after a change that must not fail for it. */
void lbd_node_update(struct lbd *l, bool repair);

/*
 * The claim on the settings' (announce-table, announce-protocol) in this network
 * namespace (lb_announce_claim()): one lbd announces there, or each would take the
 * other's routes for its own. Prepare before a configuration is committed: *@fd is the
 * new claim (-1 when the one held stays or none is needed); -EADDRINUSE with a sentence
 * in @err when another lbd holds it. Commit once the configuration is l->cfg (the claim
 * held before is let go); abort when it is not.
 */
int lbd_node_claim_prepare(struct lbd *l, const struct lb_settings *next, int *fd, char *err,
			   size_t errlen);
void lbd_node_claim_commit(struct lbd *l, int fd);
void lbd_node_claim_abort(int fd);

/* Let the claim go (a hand-over: the next lbd claims; a stop). */
void lbd_node_unclaim(struct lbd *l);

/* The datapath was removed under lbd: withdraw what it announced, and let the claim go. */
void lbd_node_withdraw(struct lbd *l);

/*
 * Every second: are the routes lbd announced still in the table? Something else may
 * have removed them (`ip route flush table N`): put them back, and say so once.
 */
void lbd_node_check(struct lbd *l);

/*
 * Enter (@on) or leave maintenance; announces or withdraws at once. 0 or -errno + @err.
 * Entering it without settings.announce-table is refused (-ENOTCONN): nothing would be
 * withdrawn, and the router would keep sending the node its flows.
 */
int lbd_node_set_maintenance(struct lbd *l, bool on, char *err, size_t errlen);

/*
 * {"state": "active"|"maintenance", "announce-table": N|null, "announced": [addr...] (as
 * the kernel's table holds them), "withheld": [{"address", "reason"}...], "flows": N}: the
 * open flows that still need this node (lb_live.bound).
 */
json_t *lbd_node_json(struct lbd *l);

#endif /* LBD_NODE_H */
