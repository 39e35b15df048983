// SPDX-License-Identifier: MIT
/*
 * dsr in the datapath (BPF_PROG_TEST_RUN): a dsr flow's frame leaves with the Ethernet
 * addresses the FIB and neighbour table give for its target and every IP and L4 byte as
 * it came; XDP_TX when the target is behind the interface the frame came in on, a
 * redirect otherwise; only the ORIG conntrack entry. No neighbour entry, or a router in
 * between: dropped and counted.
 *
 * The FIB is this process's own (fibnet.h).
 */
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "fibnet.h"
#include "pktbuild.h"

#define VIP   IP(10, 9, 0, 100)
#define GROUP 1

#define dev_mac	    fibnet_dev_mac
#define nb_mac	    fibnet_nb_mac
#define dsr_ifindex fibnet_ifindex

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
		fibnet_up("test_dsr");
	return dpfix_main(dsr_suite);
}
