// SPDX-License-Identifier: MIT
/*
 * fibnet.c - a FIB of the test process's own for the datapath tests that look next hops up
 * (bpf_fib_lookup: dsr, the fast path): fibnet.h says what it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include <string.h>

#include "dpfix.h"
#include "fibnet.h"

const __u8 fibnet_dev_mac[ETH_ALEN] = {2, 0, 0, 0, 9, 1};
const __u8 fibnet_nb_mac[ETH_ALEN] = {2, 0, 0, 0, 9, 2};
unsigned int fibnet_ifindex;

struct nlreq {
	struct nlmsghdr n;
	char buf[512];
};

/* Not inlined: gcc 12 then takes @n for a bare nlmsghdr and warns of an overflow. */
static __attribute__((noinline)) void addattr(struct nlmsghdr *n, unsigned short type,
					      const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send @n, wait for its ack: 0 or -errno. */
static int nl_talk(struct nlmsghdr *n)
{
	struct sockaddr_nl k = {.nl_family = AF_NETLINK};
	char buf[1024];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), ret = -EIO;
	ssize_t got;

	if (fd < 0)
		return -errno;
	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&k, sizeof(k)) < 0) {
		ret = -errno;
	} else if ((got = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *r = (struct nlmsghdr *)buf;

		if (r->nlmsg_type == NLMSG_ERROR)
			ret = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
	close(fd);
	return ret;
}

/* Close the nested attribute that starts at @a at the message's current end. */
static void nest_end(struct nlmsghdr *n, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)n + n->nlmsg_len - (char *)a);
}

static struct rtattr *nest_start(struct nlmsghdr *n, unsigned short type)
{
	struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	addattr(n, type, NULL, 0);
	return a;
}

/* The veth pair dsr0 (our MAC) / dsr1, down (link_up() brings them up). */
static int add_veth(void)
{
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
				.nlmsg_type = RTM_NEWLINK,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	struct ifinfomsg *ifi = NLMSG_DATA(&r.n), peer = {.ifi_family = AF_UNSPEC};
	struct rtattr *info, *data, *pa;

	ifi->ifi_family = AF_UNSPEC;
	addattr(&r.n, IFLA_IFNAME, "dsr0", 5);
	addattr(&r.n, IFLA_ADDRESS, fibnet_dev_mac, ETH_ALEN);
	info = nest_start(&r.n, IFLA_LINKINFO);
	addattr(&r.n, IFLA_INFO_KIND, "veth", 5);
	data = nest_start(&r.n, IFLA_INFO_DATA);
	pa = nest_start(&r.n, 1 /* VETH_INFO_PEER */);
	/* gcc 12 takes the attribute for one past r.n, not the start of r.buf. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
	memcpy((char *)pa + RTA_LENGTH(0), &peer, sizeof(peer));
#pragma GCC diagnostic pop
	r.n.nlmsg_len += NLMSG_ALIGN(sizeof(peer));
	addattr(&r.n, IFLA_IFNAME, "dsr1", 5);
	nest_end(&r.n, pa);
	nest_end(&r.n, data);
	nest_end(&r.n, info);
	return nl_talk(&r.n);
}

/* @name up: 0 or -errno. */
static int link_up(const char *name)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int add_addr(int family, const void *addr, int prefix)
{
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
				.nlmsg_type = RTM_NEWADDR,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	struct ifaddrmsg *ifa = NLMSG_DATA(&r.n);
	size_t len = family == AF_INET ? 4 : 16;

	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = fibnet_ifindex;
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	addattr(&r.n, IFA_LOCAL, addr, len);
	addattr(&r.n, IFA_ADDRESS, addr, len);
	return nl_talk(&r.n);
}

static int add_neigh(int family, const void *addr)
{
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
				.nlmsg_type = RTM_NEWNEIGH,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE}};
	struct ndmsg *nd = NLMSG_DATA(&r.n);

	nd->ndm_family = (unsigned char)family;
	nd->ndm_ifindex = (int)fibnet_ifindex;
	nd->ndm_state = NUD_PERMANENT;
	addattr(&r.n, NDA_DST, addr, family == AF_INET ? 4 : 16);
	addattr(&r.n, NDA_LLADDR, fibnet_nb_mac, ETH_ALEN);
	return nl_talk(&r.n);
}

/* 10.8.0.0/24 via 10.9.0.2: not directly connected. */
static int add_route_via(void)
{
	struct nlreq r = {.n = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
				.nlmsg_type = RTM_NEWROUTE,
				.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	struct rtmsg *rt = NLMSG_DATA(&r.n);
	__be32 dst = IP(10, 8, 0, 0), gw = IP(10, 9, 0, 2);

	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = 24;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	addattr(&r.n, RTA_DST, &dst, 4);
	addattr(&r.n, RTA_GATEWAY, &gw, 4);
	return nl_talk(&r.n);
}

static void write_file(const char *who, const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", who, path, strerror(errno));
		exit(1);
	}
	close(fd);
}

void fibnet_up(const char *who)
{
	struct lb_ip a6 = ip6_of(0xfd09, 0, 1), n6 = ip6_of(0xfd09, 0, 2);
	__be32 a4 = IP(10, 9, 0, 1), n4 = IP(10, 9, 0, 2);
	int ret;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "%s: unshare(CLONE_NEWNET): %s\n", who, strerror(errno));
		exit(1);
	}
	/* bpf_fib_lookup answers only where the ingress interface forwards. */
	write_file(who, "/proc/sys/net/ipv4/ip_forward", "1");
	write_file(who, "/proc/sys/net/ipv6/conf/all/forwarding", "1");
	ret = add_veth();
	fibnet_ifindex = if_nametoindex("dsr0");
	if (ret || !fibnet_ifindex) {
		fprintf(stderr, "%s: cannot create the veth pair dsr0/dsr1: %s\n", who,
			strerror(-ret));
		exit(1);
	}
	if ((ret = link_up("dsr1")) || (ret = link_up("dsr0")) ||
	    (ret = add_addr(AF_INET, &a4, 24)) || (ret = add_addr(AF_INET6, &a6, 64)) ||
	    (ret = add_neigh(AF_INET, &n4)) || (ret = add_neigh(AF_INET6, &n6)) ||
	    (ret = add_route_via())) {
		fprintf(stderr, "%s: cannot set up dsr0: %s\n", who, strerror(-ret));
		exit(1);
	}
}
