// SPDX-License-Identifier: MIT
#include "nl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

int lb_nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), one = 1;

	if (fd < 0)
		return -errno;
	/* Filtered dumps (Linux 4.20+); without it a dump is whole, and filtered here. */
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	return fd;
}

void lb_nl_put_attr(struct nlmsghdr *n, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int nl_send(int fd, const struct nlmsghdr *n)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	return sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0
		       ? -errno
		       : 0;
}

static ssize_t nl_recv(int fd, char *buf, size_t len)
{
	ssize_t got;

	do
		got = recv(fd, buf, len, 0);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

static int nl_error(const struct nlmsghdr *n)
{
	return n->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))
		       ? ((const struct nlmsgerr *)NLMSG_DATA(n))->error
		       : -EBADMSG;
}

int lb_nl_dump(int fd, const struct nlmsghdr *n, unsigned short type,
	       int (*each)(const struct nlmsghdr *, void *), void *arg)
{
	/* Large enough for any one datagram of a dump (the kernel fills up to 32 KiB). */
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h;
	ssize_t got;
	int ret, len;

	ret = nl_send(fd, n);
	if (ret)
		return ret;
	for (;;) {
		got = nl_recv(fd, buf, sizeof(buf));
		if (got < 0)
			return (int)got;
		len = (int)got;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return nl_error(h);
			if (each && h->nlmsg_type == type && (ret = each(h, arg)))
				return ret;
		}
	}
}

int lb_nl_request(int fd, const struct nlmsghdr *n)
{
	/* The acknowledgement is an NLMSG_ERROR (error 0: done), as a failed dump's is. */
	return lb_nl_dump(fd, n, 0, NULL, NULL);
}
