/* SPDX-License-Identifier: MIT */
/*
 * syscheck.h - what `lbd --check` checks against the running system (the network namespace
 * it runs in), beyond the configuration's own rules. An error is what would make lbd refuse
 * this configuration (an interface that does not exist, a CA file that cannot be read); a
 * warning is what lbd accepts but what probably does not work as meant (a listener address
 * that is not on its interfaces, an interface without an IPv4 address, a target without a
 * route, IP forwarding off). Nothing here takes the instance's lock or reads a pin.
 */
#ifndef LBD_SYSCHECK_H
#define LBD_SYSCHECK_H

#include <stdio.h>

#include "lb_config.h"

struct lb_syscheck_counts {
	size_t errors;
	size_t warnings;
};

/*
 * Check @cfg against this host; each finding is one line on @out, "error: ..." or
 * "warning: ...", naming the place in the file ("proxies[0].listen.address: ...").
 */
struct lb_syscheck_counts lb_syscheck(const struct lb_config *cfg, FILE *out);

/*
 * The warning to give when @cfg has targets of a family whose forwarding is off in this
 * network namespace (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding), else NULL.
 * @v6: which family to ask about.
 */
const char *lb_syscheck_forwarding_off(const struct lb_config *cfg, bool v6);

#endif /* LBD_SYSCHECK_H */
