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

/* Enter (@on) or leave maintenance; announces or withdraws at once. 0 or -errno + @err. */
int lbd_node_set_maintenance(struct lbd *l, bool on, char *err, size_t errlen);

/*
 * {"state": "active"|"maintenance", "announce-table": N|null, "announced": [addr...] (as
 * the kernel's table holds them), "withheld": [{"address", "reason"}...], "flows": N}: the
 * open flows that still need this node (lb_live.bound).
 */
json_t *lbd_node_json(struct lbd *l);

#endif /* LBD_NODE_H */
