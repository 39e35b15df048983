/* SPDX-License-Identifier: MIT */
/*
 * lb_nat.h - what the decisions (lb_flow.h) hand the rewrites (lb_rewrite.h): a verdict, and the
 * address and port one side of the packet gets.
 */
#ifndef LB_NAT_H
#define LB_NAT_H

#include <linux/types.h>

#include "lb_abi.h"

/*
 * The decisions (lb_flow.h, lb_icmp.h) are global functions: the verifier checks each
 * once, on its own, instead of once for every way the parser and the rewrites reach it
 * (both families, every header layout), which would multiply the states it explores.
 * They see the parsed packet as plain memory (its packet pointers are mere numbers there)
 * and must check their pointer arguments for NULL: the verifier assumes they may be.
 */
#define LB_DECISION __attribute__((noinline))

enum lb_verdict {
	LB_V_PASS = 0, /* not ours: leave the packet exactly as it is */
	LB_V_REWRITE,  /* rewrite to nat_addr:nat_port, then let the kernel forward it */
	LB_V_DROP,
	/* fast path (lb_fast.h): a nat flow's reply at ingress; nat->addr is its new source */
	LB_V_FAST_REPLY,
};

/*
 * The destination the packet gets; with full-nat (fwd LB_FWD_FULLNAT) also its new source
 * (saddr, sport); with dsr, addr is the target whose MAC address the packet is sent to.
 */
struct lb_nat {
	struct lb_ip addr;
	__be16 port;
	__u8 fwd; /* LB_FWD_* (lb_abi.h) */
	__u8 pad;
	struct lb_ip saddr;
	__be16 sport;
};

#endif /* LB_NAT_H */
