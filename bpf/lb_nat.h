/* SPDX-License-Identifier: MIT */
/*
 * lb_nat.h - what the decisions (lb_flow.h) hand the rewrites (lb_rewrite.h): a verdict, and the
 * address and port one side of the packet gets.
 */
#ifndef LB_NAT_H
#define LB_NAT_H

#include <linux/types.h>

enum lb_verdict {
	LB_V_PASS = 0, /* not ours: leave the packet exactly as it is */
	LB_V_REWRITE,  /* rewrite to nat_addr:nat_port, then let the kernel forward it */
	LB_V_DROP,
};

struct lb_nat {
	__be32 addr;
	__be16 port;
};

#endif /* LB_NAT_H */
