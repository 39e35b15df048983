/* SPDX-License-Identifier: MIT */
/*
 * ifaddr.h - the addresses of the host's interfaces (IPv4, and IPv6 but link-local ones),
 * and a watcher that says when they change (rtnetlink on the libuv loop), so listeners
 * without an explicit address follow their interfaces' addresses.
 */
#ifndef LBD_IFADDR_H
#define LBD_IFADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <linux/netlink.h>

#include "lb_ip.h"

struct lb_ifaddr {
	uint32_t ifindex;
	struct lb_ip addr;
};

struct lb_ifaddr_table {
	size_t n;
	struct lb_ifaddr *e;
};

/* Read every interface's addresses. Returns 0 or -errno. */
int lb_ifaddr_table_read(struct lb_ifaddr_table *t);

/* Release the table's storage; the table itself may be reused. */
void lb_ifaddr_table_clear(struct lb_ifaddr_table *t);

struct lb_ifwatch;
typedef void (*lb_ifwatch_cb)(void *arg);
/* Whether a message counts as a change (a watch with none: every message does). */
typedef bool (*lb_ifwatch_keep)(const struct nlmsghdr *n, void *arg);

/*
 * Watch address (IPv4, IPv6) and link changes; @cb runs on the loop, debounced (a burst of
 * changes gives one call). Returns NULL and sets errno on failure.
 */
struct lb_ifwatch *lb_ifwatch_start(uv_loop_t *loop, lb_ifwatch_cb cb, void *arg);

/*
 * The same for any netlink socket @fd already subscribed to what it should watch (taken
 * over: closed on failure and when the watch stops); only the messages @keep says count
 * call @cb (@keep NULL: all); both get @arg. Returns NULL and sets errno.
 */
struct lb_ifwatch *lb_ifwatch_start_fd(uv_loop_t *loop, int fd, lb_ifwatch_keep keep,
				       lb_ifwatch_cb cb, void *arg);

/* The same for the rtnetlink multicast groups @groups (RTMGRP_*) and @keep. */
struct lb_ifwatch *lb_ifwatch_start_groups(uv_loop_t *loop, uint32_t groups, lb_ifwatch_keep keep,
					   lb_ifwatch_cb cb, void *arg);

/* Stop watching; NULL is a no-op. Handles are freed in their close callbacks. */
void lb_ifwatch_stop(struct lb_ifwatch *w);

#endif /* LBD_IFADDR_H */
