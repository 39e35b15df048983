// SPDX-License-Identifier: MIT
/*
 * dsr in the datapath (BPF_PROG_TEST_RUN): a dsr flow's frame leaves with the Ethernet
 * addresses the FIB and neighbour table give for its target and every IP and L4 byte as
 * it came; XDP_TX when the target is behind the interface the frame came in on, a
 * redirect otherwise; only the ORIG conntrack entry. No neighbour entry, or a router in
 * between: dropped and counted.
 *
 * The FIB is this process's own: it runs in a network namespace of its own holding a
 * veth pair, dsr0 (02:00:00:00:09:01, 10.9.0.1/24, fd09::1/64) with permanent neighbours
 * 10.9.0.2 and fd09::2 at 02:00:00:00:09:02 and a route to 10.8.0.0/24 via 10.9.0.2, and
 * its peer dsr1 (scripts/test-kernels.sh loads the veth module in its VM).
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

#include "dpfix.h"
#include "pktbuild.h"

#define VIP   IP(10, 9, 0, 100)
#define GROUP 1

static const __u8 dev_mac[ETH_ALEN] = {2, 0, 0, 0, 9, 1};
static const __u8 nb_mac[ETH_ALEN] = {2, 0, 0, 0, 9, 2};
static unsigned int dsr_ifindex;

/* ---- the namespace's network, over rtnetlink ---- */

struct nlreq {
	struct nlmsghdr n;
	char buf[512];
};

static void addattr(struct nlmsghdr *n, unsigned short type, const void *data, size_t len)
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
	addattr(&r.n, IFLA_ADDRESS, dev_mac, ETH_ALEN);
	info = nest_start(&r.n, IFLA_LINKINFO);
	addattr(&r.n, IFLA_INFO_KIND, "veth", 5);
	data = nest_start(&r.n, IFLA_INFO_DATA);
	pa = nest_start(&r.n, 1 /* VETH_INFO_PEER */);
	memcpy((char *)pa + RTA_LENGTH(0), &peer, sizeof(peer));
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
	ifa->ifa_index = dsr_ifindex;
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
	nd->ndm_ifindex = (int)dsr_ifindex;
	nd->ndm_state = NUD_PERMANENT;
	addattr(&r.n, NDA_DST, addr, family == AF_INET ? 4 : 16);
	addattr(&r.n, NDA_LLADDR, nb_mac, ETH_ALEN);
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

static void write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v)) {
		fprintf(stderr, "test_dsr: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

/* Fails the whole suite (exit 1, not a skip): without its network nothing here means a thing. */
static void net_up(void)
{
	struct lb_ip a6 = ip6_of(0xfd09, 0, 1), n6 = ip6_of(0xfd09, 0, 2);
	__be32 a4 = IP(10, 9, 0, 1), n4 = IP(10, 9, 0, 2);
	int ret;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_dsr: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		exit(1);
	}
	/* bpf_fib_lookup answers only where the ingress interface forwards. */
	write_file("/proc/sys/net/ipv4/ip_forward", "1");
	write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	ret = add_veth();
	dsr_ifindex = if_nametoindex("dsr0");
	if (ret || !dsr_ifindex) {
		fprintf(stderr, "test_dsr: cannot create the veth pair dsr0/dsr1: %s\n",
			strerror(-ret));
		exit(1);
	}
	if ((ret = link_up("dsr1")) || (ret = link_up("dsr0")) ||
	    (ret = add_addr(AF_INET, &a4, 24)) || (ret = add_addr(AF_INET6, &a6, 64)) ||
	    (ret = add_neigh(AF_INET, &n4)) || (ret = add_neigh(AF_INET6, &n6)) ||
	    (ret = add_route_via())) {
		fprintf(stderr, "test_dsr: cannot set up dsr0: %s\n", strerror(-ret));
		exit(1);
	}
}

/* ---- the tests ---- */

static struct lb_group group;

static void put_dsr_listener(const struct lb_ip *vip, __u32 ifindex, __u8 proto)
{
	struct lb_listen_key k = {
		.ifindex = ifindex, .addr = *vip, .port = htons(80), .proto = proto};
	struct lb_listen_val v = {
		.proxy_id = 1, .default_group = GROUP, .flags = LB_FWD_DSR << LB_LISTEN_FWD_SHIFT};

	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_listen), &k, &v, BPF_ANY), 0);
}

/* One target at @addr:80. */
static void one_target(const struct lb_ip *addr)
{
	memset(&group, 0, sizeof(group));
	group.n_backends = 1;
	group.backends[0].addr = *addr;
	group.backends[0].port = htons(80);
	group.backends[0].weight = 1;
	group.backends[0].target_id = 1;
	put_group_def(GROUP, &group);
}

static void setup(void)
{
	reset_maps();
}

static __u64 gcount(enum lb_global_counter which)
{
	__u64 g[LB_G_MAX];

	gstats_get(g);
	return g[which];
}

/* Run @in at XDP as arriving on @ifindex: the verdict; the frame as it left into @out. */
static int run_xdp(__u32 ifindex, const __u8 *in, size_t len, __u8 *out, size_t *out_len)
{
	struct xdp_md ctx = {.data_end = (__u32)len, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = PKT_MAX, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));

	ck_assert_int_eq(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.lb_xdp_ingress), &o),
			 0);
	*out_len = o.data_size_out;
	return (int)o.retval;
}

/* The frame must leave as it came but for its Ethernet addresses. */
static void expect_macs_only(const __u8 *in, size_t il, const __u8 *out, size_t ol)
{
	char h1[PKT_HEX_MAX], h2[PKT_HEX_MAX];
	__u8 want[PKT_MAX];

	memcpy(want, in, il);
	memcpy(want, nb_mac, ETH_ALEN);
	memcpy(want + ETH_ALEN, dev_mac, ETH_ALEN);
	ck_assert_msg(ol == il && !memcmp(out, want, il), "got\n%s\nwant\n%s", pkt_hex(out, ol, h1),
		      pkt_hex(want, il, h2));
}

/* Target behind the interface the frame came in on: XDP_TX, MACs only, ORIG entry only. */
START_TEST(test_tx_macs_only)
{
	static const __u8 protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(IP(10, 9, 0, 2));
	size_t i;

	one_target(&t);
	for (i = 0; i < 2; i++) {
		struct pkt_spec s = {.saddr = IP(192, 168, 7, 7),
				     .daddr = VIP,
				     .sport = (__u16)(50000 + i),
				     .dport = 80,
				     .proto = protos[i],
				     .tcp_flags = protos[i] == IPPROTO_TCP ? 0x02 : 0,
				     .payload_len = 33};
		__u8 in[PKT_MAX], out[PKT_MAX];
		size_t il = pkt_build(&s, in), ol;
		struct lb_ct_val v;

		put_dsr_listener(&vip, dsr_ifindex, protos[i]);
		ck_assert_int_eq(run_xdp(dsr_ifindex, in, il, out, &ol), XDP_TX);
		expect_macs_only(in, il, out, ol);
		ck_assert(ct_get(LB_DIR_ORIG, s.saddr, VIP, s.sport, 80, protos[i], &v));
		ck_assert_uint_eq(v.fwd, LB_FWD_DSR);
		ck_assert(!ct_get(LB_DIR_REPLY, IP(10, 9, 0, 2), s.saddr, 80, s.sport, protos[i],
				  &v));
		/* A tracked packet of the flow: the same. */
		ck_assert_int_eq(run_xdp(dsr_ifindex, in, il, out, &ol), XDP_TX);
		expect_macs_only(in, il, out, ol);
	}
	ck_assert_uint_eq(ct_count(), 2);
	ck_assert_uint_eq(gcount(LB_G_DSR_TX), 4);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_in, 4);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_out, 0);
}
END_TEST

/* Target behind another interface (here: the frame came in on lo): a redirect, MACs only. */
START_TEST(test_redirect_ipv6)
{
	struct lb_ip vip = ip6_of(0xfd09, 0, 100), t = ip6_of(0xfd09, 0, 2),
		     c = ip6_of(0xfd07, 0, 7);
	struct pkt_spec s = {.ethertype = ETH_P_IPV6,
			     .sport = 50100,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = 0x02,
			     .payload_len = 5};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il, ol;

	memcpy(s.saddr6, &c, 16);
	memcpy(s.daddr6, &vip, 16);
	il = pkt_build(&s, in);
	one_target(&t);
	put_dsr_listener(&vip, lo_ifindex, IPPROTO_TCP);
	ck_assert_int_eq(run_xdp(lo_ifindex, in, il, out, &ol), XDP_REDIRECT);
	expect_macs_only(in, il, out, ol);
}
END_TEST

/* No neighbour entry for the target: dropped and counted, no MAC guessed. */
START_TEST(test_no_neighbour)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(IP(10, 9, 0, 3));
	struct pkt_spec s = {.saddr = IP(192, 168, 7, 8),
			     .daddr = VIP,
			     .sport = 50200,
			     .dport = 80,
			     .proto = IPPROTO_UDP};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;

	one_target(&t);
	put_dsr_listener(&vip, dsr_ifindex, IPPROTO_UDP);
	ck_assert_int_eq(run_xdp(dsr_ifindex, in, il, out, &ol), XDP_DROP);
	ck_assert_uint_eq(gcount(LB_G_DSR_NO_NEIGH), 1);
	ck_assert_uint_eq(gcount(LB_G_DSR_TX), 0);
}
END_TEST

/* A router between the LB and the target: dsr cannot reach it, dropped and counted. */
START_TEST(test_not_connected)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(IP(10, 8, 0, 5));
	struct pkt_spec s = {.saddr = IP(192, 168, 7, 9),
			     .daddr = VIP,
			     .sport = 50300,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = 0x02};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;

	one_target(&t);
	put_dsr_listener(&vip, dsr_ifindex, IPPROTO_TCP);
	ck_assert_int_eq(run_xdp(dsr_ifindex, in, il, out, &ol), XDP_DROP);
	ck_assert_uint_eq(gcount(LB_G_DSR_NO_ROUTE), 1);
	ck_assert_uint_eq(gcount(LB_G_DSR_NO_NEIGH), 0);
}
END_TEST

static Suite *dsr_suite(void)
{
	Suite *s = suite_create("bpf-dsr");
	TCase *tc = tcase_create("dsr");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tx_macs_only);
	tcase_add_test(tc, test_redirect_ipv6);
	tcase_add_test(tc, test_no_neighbour);
	tcase_add_test(tc, test_not_connected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (geteuid() == 0)
		net_up();
	return dpfix_main(dsr_suite);
}
