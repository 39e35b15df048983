/* SPDX-License-Identifier: MIT */
/*
 * lb_fault.h - failure injection for tests of all-or-nothing changes.
 *
 * With LBD_FAULT=POINT in lbd's environment, the first time the code passes the named
 * point after lb_fault_arm() (lbd arms it once it is ready: the configuration it starts
 * with is never failed) that step fails with -EIO, once. The points are the side effects
 * of a change, in the order lbd_apply() prepares them: access-log, metrics, attach,
 * ingress, sni, model, maps (half-way through the map writes). Without LBD_FAULT nothing
 * is ever injected; the cost is one pointer test.
 */
#ifndef LB_FAULT_H
#define LB_FAULT_H

#include <stddef.h>

/* Start honouring LBD_FAULT (read once, here). */
void lb_fault_arm(void);

/*
 * 0, or -EIO (once) when LBD_FAULT names @point and is armed; the injection is logged
 * and its sentence goes to @err.
 */
int lb_fault(const char *point, char *err, size_t errlen);

#endif /* LB_FAULT_H */
