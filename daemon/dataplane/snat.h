/* SPDX-License-Identifier: MIT */
/*
 * snat.h - the source address a full-nat proxy's flows get towards its targets, per family:
 * the proxy's snat-address, else settings.snat-address, else the LB's own address on the
 * interface the route towards the proxy's first target of that family leaves through.
 */
#ifndef LBD_SNAT_H
#define LBD_SNAT_H

#include <stdbool.h>
#include <stddef.h>

#include "ifaddr.h"
#include "lb_config.h"

/* Resolve it into @out: 0, or -errno with a sentence in @err saying what to set. */
int lb_snat_source(const struct lb_proxy_cfg *pc, const struct lb_settings *s, bool v4,
		   const struct lb_ifaddr_table *addrs, struct lb_ip *out, char *err,
		   size_t errlen);

#endif /* LBD_SNAT_H */
