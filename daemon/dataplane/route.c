// SPDX-License-Identifier: MIT
#include "route.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

struct route_req {
	struct nlmsghdr n;
	struct rtmsg r;
	char attrs[RTA_SPACE(sizeof(struct lb_ip))];
};

/* The attributes of one RTM_NEWROUTE answer into @out. */
static void read_route(const struct nlmsghdr *n, struct lb_route *out)
{
	const struct rtmsg *r = NLMSG_DATA(n);
	const struct rtattr *a = RTM_RTA(r);
	int len = (int)RTM_PAYLOAD(n);

	memset(out, 0, sizeof(*out));
	out->type = r->rtm_type;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			memcpy(&out->oif, RTA_DATA(a), sizeof(uint32_t));
		} else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4) {
			__be32 v4;

			memcpy(&v4, RTA_DATA(a), sizeof(v4));
			out->gateway = lb_ip_from_v4(v4);
			out->has_gateway = true;
		} else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 16) {
			memcpy(&out->gateway, RTA_DATA(a), sizeof(out->gateway));
			out->has_gateway = true;
		}
	}
}

int lb_route_get(const struct lb_ip *dst, struct lb_route *out)
{
	bool v4 = lb_ip_is_v4(dst);
	struct route_req req = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.n.nlmsg_type = RTM_GETROUTE,
		.n.nlmsg_flags = NLM_F_REQUEST,
		.n.nlmsg_seq = 1,
		.r.rtm_family = v4 ? AF_INET : AF_INET6,
		.r.rtm_dst_len = v4 ? 32 : 128,
	};
	struct rtattr *a = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.n.nlmsg_len));
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *n;
	ssize_t got;
	int fd, len, ret = -EBADMSG;

	a->rta_type = RTA_DST;
	a->rta_len = RTA_LENGTH(v4 ? 4 : 16);
	memcpy(RTA_DATA(a), v4 ? (const void *)&dst->w[3] : (const void *)dst, v4 ? 4 : 16);
	req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(a->rta_len);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.n.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
		goto out;
	}
	do
		got = recv(fd, buf, sizeof(buf), 0);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		ret = -errno;
		goto out;
	}
	len = (int)got;
	for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
		if (n->nlmsg_type == NLMSG_ERROR &&
		    n->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			const struct nlmsgerr *e = NLMSG_DATA(n);

			ret = e->error ? e->error : -EBADMSG;
			break;
		}
		if (n->nlmsg_type == RTM_NEWROUTE &&
		    n->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
			read_route(n, out);
			ret = 0;
			break;
		}
	}
out:
	close(fd);
	return ret;
}
