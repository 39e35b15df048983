/* SPDX-License-Identifier: MIT */
/*
 * adopt.h - the ids a previous lbd gave out, read back from the maps it left pinned (the
 * name tables, and the listener and route entries that name groups), so the first change
 * of an adopted datapath rewrites every entry in place instead of renumbering it.
 */
#ifndef LBD_ADOPT_H
#define LBD_ADOPT_H

#include "dataplane.h"
#include "ids.h"

/* Fill @ids (initialised, empty) from the pins of @dp. Returns 0 or -errno. */
int lb_ids_adopt(struct lb_ids *ids, struct lb_dataplane *dp);

/*
 * The targets the previous lbd left with no weight in any group that lists them (found
 * unhealthy, or drained): @weightless[id] set for those, of LB_MAX_TARGETS ids. A new lbd
 * starts their health there, so that a restart does not hand a dead backend its full share
 * until its checks fail again. Returns 0 or -errno.
 */
int lb_adopt_weightless(struct lb_dataplane *dp, uint8_t *weightless);

#endif /* LBD_ADOPT_H */
