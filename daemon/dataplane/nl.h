/* SPDX-License-Identifier: MIT */
/*
 * nl.h - the few pieces of raw rtnetlink (NETLINK_ROUTE, no libnl) that the routes lbd
 * announces (announce.c) and the neighbour entries it keeps (neigh.c) share: a socket,
 * a request, its acknowledgement, a dump.
 */
#ifndef LBD_NL_H
#define LBD_NL_H

#include <stddef.h>
#include <linux/netlink.h>

/* A NETLINK_ROUTE socket with strict checking of dump requests. The fd or -errno. */
int lb_nl_open(void);

/*
 * Append attribute @type with @len bytes of @data to the message @n (the caller's buffer
 * has room for it: RTA_SPACE(len) past NLMSG_ALIGN(n->nlmsg_len)).
 */
void lb_nl_put_attr(struct nlmsghdr *n, unsigned short type, const void *data, size_t len);

/*
 * Send dump request @n and call @each (if any) for every message of type @type it
 * answers, until NLMSG_DONE or NLMSG_ERROR; a non-zero return of @each stops the dump (the rest is
 * read and dropped with the socket: close it). 0, the kernel's -errno, or what @each returned.
 */
int lb_nl_dump(int fd, const struct nlmsghdr *n, unsigned short type,
	       int (*each)(const struct nlmsghdr *, void *), void *arg);

/* Send request @n (NLM_F_ACK set) and read its acknowledgement: 0 or the kernel's -errno. */
int lb_nl_request(int fd, const struct nlmsghdr *n);

#endif /* LBD_NL_H */
