/* SPDX-License-Identifier: MIT */
/*
 * xdp_tx.h - the interfaces the fast path may XDP_REDIRECT a frame to (the devmap
 * lb_fast_tx, bpf/lb_fast.h): those known to take XDP frames. A frame redirected to any
 * other (a bond, a bridge, a VLAN device, wireguard, a driver without ndo_xdp_xmit, a veth
 * whose peer has neither an XDP program nor GRO) would be lost; the datapath hands those
 * to the kernel's forwarding instead.
 *
 * Known how: where the kernel reports xdp-features (generic netlink family "netdev",
 * Linux 6.3+), an interface that is up with a carrier and has NETDEV_XDP_ACT_NDO_XMIT, which the
 * kernel keeps current (a veth sets it only while its peer has XDP or GRO; drivers that need a
 * program loaded to transmit set it with the program). Without it (Linux 6.1), only the
 * interfaces where lbd's own XDP program runs in native mode, but veths: the driver then
 * has XDP and its transmit queues are set up, while a veth's transmit depends on its
 * peer, which this kernel does not report.
 */
#ifndef LBD_XDP_TX_H
#define LBD_XDP_TX_H

#include "ifaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* NETDEV_XDP_ACT_NDO_XMIT (linux/netdev.h, not in Linux 6.1's headers). */
#define LB_XDP_ACT_NDO_XMIT 4u

struct lb_xdp_feat {
	uint32_t ifindex;
	uint64_t flags; /* NETDEV_XDP_ACT_* */
};

/*
 * Every interface's xdp-features, from one dump: a malloc'ed array (*out, *n). 0, -ENOENT
 * when the kernel has no "netdev" generic netlink family (before 6.3), or -errno.
 */
int lb_xdp_feat_dump(struct lb_xdp_feat **out, size_t *n);

/*
 * Make the devmap @map_fd hold exactly the interfaces that take XDP frames (above);
 * @native (@n_native) are the interfaces lbd runs its XDP program on natively, not veths,
 * used when the kernel reports no features. *@known says which rule applied. Returns the
 * number of entries, or -errno.
 */
int lb_xdp_tx_sync(int map_fd, const uint32_t *native, size_t n_native, bool *known);

/* Empty the devmap @map_fd (the fast path is off). */
void lb_xdp_tx_clear(int map_fd);

/*
 * Watch the kernel's xdp-features notifications (the "netdev" family's "mgmt" group): @cb
 * runs on the loop, debounced. NULL (errno set; ENOENT before Linux 6.3) when it cannot.
 */
struct lb_ifwatch *lb_xdp_watch_start(uv_loop_t *loop, void (*cb)(void *), void *arg);

#endif /* LBD_XDP_TX_H */
