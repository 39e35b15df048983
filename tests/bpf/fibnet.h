/* SPDX-License-Identifier: MIT */
/*
 * fibnet.h - the network namespace of a datapath test that asks the FIB (bpf_fib_lookup):
 * a veth pair, dsr0 (fibnet_dev_mac, 10.9.0.1/24, fd09::1/64, fibnet_ifindex) with
 * permanent neighbours 10.9.0.2 and fd09::2 at fibnet_nb_mac and a route to 10.8.0.0/24
 * via 10.9.0.2, and its peer dsr1; forwarding on (scripts/test-kernels.sh loads the veth
 * module in its VM).
 */
#ifndef FIBNET_H
#define FIBNET_H

#include <linux/if_ether.h>
#include <linux/types.h>

extern const __u8 fibnet_dev_mac[ETH_ALEN];
extern const __u8 fibnet_nb_mac[ETH_ALEN];
extern unsigned int fibnet_ifindex;

/*
 * Move the process into a new network namespace holding the network above. Exits (1, not
 * a skip) when it cannot: without it nothing a test then says means a thing. @who names
 * the test in the messages.
 */
void fibnet_up(const char *who);

#endif /* FIBNET_H */
