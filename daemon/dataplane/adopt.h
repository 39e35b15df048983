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

#endif /* LBD_ADOPT_H */
