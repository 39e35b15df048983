/* SPDX-License-Identifier: MIT */
/*
 * if_sysctl.h - the per-interface sysctls lbd raises (net.ipv4.conf.<if>.route_localnet for
 * 127.0.0.0/8 backends, accept_local for full-nat), and what they were before.
 *
 * The value lbd found is kept as a mark in the instance's pin folder, an extra pin of a
 * small map named "was_<sysctl>_<value>_<ifname>" (pins are the only files a bpffs
 * holds; tc_<ifname> marks the tc hooks the same way). The mark outlives lbd with the
 * datapath: a restarted lbd, which finds the sysctl at 1, still knows what to put back
 * when it lets the interface go, and so does `lbd --teardown`.
 */
#ifndef LBD_IF_SYSCTL_H
#define LBD_IF_SYSCTL_H

#include <stdbool.h>

enum lb_if_sysctl {
	LB_SYSCTL_ROUTE_LOCALNET,
	LB_SYSCTL_ACCEPT_LOCAL,
};

/* "route_localnet" or "accept_local". */
const char *lb_if_sysctl_name(enum lb_if_sysctl s);

/*
 * Set @s on @ifname to 1. What it was stays in a mark (pinned from @mark_fd) unless one
 * is there already (an earlier lbd raised it). The value lbd found first (>= 0, also
 * when it finds the sysctl at 1 already under a mark), -1 when it was 1 with no mark
 * (someone else's: nothing to put back), or -errno when it cannot be read or written.
 */
int lb_if_sysctl_raise(const char *pin_dir, int mark_fd, const char *ifname, enum lb_if_sysctl s);

/* Put back what the mark of (@ifname, @s) keeps, if any, and remove the mark. */
void lb_if_sysctl_restore(const char *pin_dir, const char *ifname, enum lb_if_sysctl s);

/* Remove the mark without writing: @ifname is gone (a namesake starts afresh). */
void lb_if_sysctl_forget(const char *pin_dir, const char *ifname, enum lb_if_sysctl s);

/* `lbd --teardown`: put back every marked value of an interface that exists. How many. */
int lb_if_sysctl_restore_all(const char *pin_dir);

#endif /* LBD_IF_SYSCTL_H */
