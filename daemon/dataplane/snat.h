/* SPDX-License-Identifier: MIT */
/*
 * snat.h - the source address a full-nat proxy's flows get towards a target: the proxy's
 * snat-address of the target's family, else settings.snat-address, else the LB's own
 * address on the interface the route towards that target leaves through. The first two
 * go into the listener entries (lb_listen_val.snat_addr); the last, per target, into
 * lb_snat (by target id).
 */
#ifndef LBD_SNAT_H
#define LBD_SNAT_H

#include <stdbool.h>
#include <stddef.h>

#include "ifaddr.h"
#include "lb_config.h"
#include "model.h"

/* The configured address of the family (@v4) into @out; false when none is configured. */
bool lb_snat_configured(const struct lb_proxy_cfg *pc, const struct lb_settings *s, bool v4,
			struct lb_ip *out);

/*
 * Write lb_snat (@fd): for every target of a full-nat proxy without a configured address
 * of its family, the LB's address towards it; zero for every other target. A target lbd
 * finds no address for is logged (its new flows are dropped and counted). 0 or -errno.
 */
int lb_snat_sync(int fd, const struct lb_model *m, const struct lb_ifaddr_table *addrs);

#endif /* LBD_SNAT_H */
