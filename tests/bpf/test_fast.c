// SPDX-License-Identifier: MIT
/*
 * The fast path in the datapath (BPF_PROG_TEST_RUN, bpf/lb_fast.h): with lb_fast_on, a
 * rewritten frame leaves from the hook with the Ethernet addresses the FIB gives for its
 * new destination and its TTL (hop limit) one less, every other byte what the rewrite
 * makes of it (compared with frames built from scratch); a nat reply gets its SNAT at
 * ingress only when it can leave from there. What the FIB cannot resolve (no neighbour at
 * XDP, no route, a TTL of 1) goes the normal way: the request rewritten as without the
 * fast path, the reply untouched (TC egress translates it).
 *
 * At XDP a frame is redirected only to an interface in lb_fast_tx (those lbd knows to take
 * XDP frames); towards any other it falls back too.
 *
 * The FIB is this process's own (fibnet.h): dsr0 10.9.0.1/24 and fd09::1/64 with the
 * neighbours 10.9.0.2 and fd09::2, 10.8.0.0/24 via 10.9.0.2.
 */
#include <unistd.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "fibnet.h"
#include "pktbuild.h"

#define VIP    IP(10, 9, 0, 100)
#define TARGET IP(10, 9, 0, 2)
#define CLIENT IP(10, 8, 0, 7) /* routed via the target's address: a neighbour */
#define GROUP  1

static struct lb_group group;

static void one_target(const struct lb_ip *addr)
{
	memset(&group, 0, sizeof(group));
	group.n_backends = 1;
	group.backends[0].addr = *addr;
	group.backends[0].port = htons(8080);
	group.backends[0].weight = 1;
	group.backends[0].target_id = 1;
	put_group_def(GROUP, &group);
}

static void put_nat_listener(const struct lb_ip *vip, __u32 ifindex, __u8 proto, __u32 flags)
{
	struct lb_listen_key k = {
		.ifindex = ifindex, .addr = *vip, .port = htons(80), .proto = proto};
	struct lb_listen_val v = {.proxy_id = 1, .default_group = GROUP, .flags = flags};

	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_listen), &k, &v, BPF_ANY), 0);
}

/* dsr0 may (or may no longer) take XDP_REDIRECTed frames, as lbd writes lb_fast_tx. */
static void fast_tx(bool on)
{
	__u32 k = fibnet_ifindex;
	int fd = map_fd(skel->maps.lb_fast_tx);

	if (on)
		ck_assert_int_eq(bpf_map_update_elem(fd, &k, &k, BPF_ANY), 0);
	else
		bpf_map_delete_elem(fd, &k);
}

static void setup(void)
{
	reset_maps();
	map_clear(skel->maps.lb_fast_tx);
	skel->bss->lb_fast_on = 1;
}

static void teardown(void)
{
	skel->bss->lb_fast_on = 0;
	skel->bss->lb_fullnat_on = 0;
}

/* @out must equal the frame built from @want, with the FIB's MACs when @hop. */
static void expect_frame(const struct pkt_spec *want, bool hop, const __u8 *out, size_t ol)
{
	char h1[PKT_HEX_MAX], h2[PKT_HEX_MAX];
	__u8 w[PKT_MAX];
	size_t wl = pkt_build(want, w);

	if (hop) {
		memcpy(w, fibnet_nb_mac, ETH_ALEN);
		memcpy(w + ETH_ALEN, fibnet_dev_mac, ETH_ALEN);
	}
	ck_assert_msg(ol == wl && !memcmp(out, w, wl), "got\n%s\nwant\n%s", pkt_hex(out, ol, h1),
		      pkt_hex(w, wl, h2));
}

/*
 * A request, then the target's reply, both out of dsr0 again (XDP_TX), TCP and UDP; only
 * once dsr0 is in lb_fast_tx: a hairpin out of an interface not known to take XDP frames
 * (a veth whose peer has no NAPI drops them) falls back.
 */
START_TEST(test_request_and_reply_tx)
{
	static const __u8 protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(TARGET);
	struct pkt_spec hp = {.saddr = CLIENT,
			      .daddr = VIP,
			      .sport = 39999,
			      .dport = 80,
			      .proto = IPPROTO_UDP,
			      .payload_len = 5};
	__u8 hin[PKT_MAX], hout[PKT_MAX];
	size_t hl = pkt_build(&hp, hin), hol;
	size_t i;

	one_target(&t);
	put_nat_listener(&vip, fibnet_ifindex, IPPROTO_UDP, 0);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, hin, hl, hout, &hol), XDP_PASS);
	hp.daddr = TARGET;
	hp.dport = 8080;
	expect_frame(&hp, false, hout, hol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 1);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 0);
	fast_tx(true);
	for (i = 0; i < 2; i++) {
		__u16 sport = (__u16)(40000 + i);
		__u8 tcp = protos[i] == IPPROTO_TCP;
		struct pkt_spec rq = {.saddr = CLIENT,
				      .daddr = VIP,
				      .sport = sport,
				      .dport = 80,
				      .proto = protos[i],
				      .tcp_flags = tcp ? 0x02 : 0,
				      .payload_len = 21};
		struct pkt_spec rq_out = rq, rp = {.saddr = TARGET,
						   .daddr = CLIENT,
						   .sport = 8080,
						   .dport = sport,
						   .proto = protos[i],
						   .tcp_flags = tcp ? 0x12 : 0,
						   .payload_len = 9};
		struct pkt_spec rp_out = rp;
		__u8 in[PKT_MAX], out[PKT_MAX];
		size_t il, ol;

		put_nat_listener(&vip, fibnet_ifindex, protos[i], 0);
		il = pkt_build(&rq, in);
		ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_TX);
		rq_out.daddr = TARGET;
		rq_out.dport = 8080;
		rq_out.ttl = 63;
		expect_frame(&rq_out, true, out, ol);

		il = pkt_build(&rp, in);
		ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_TX);
		rp_out.saddr = VIP;
		rp_out.sport = 80;
		rp_out.ttl = 63;
		expect_frame(&rp_out, true, out, ol);
	}
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 4);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 1); /* the hairpin before dsr0 was in */
	ck_assert_uint_eq(gcount(LB_G_SNAT), 2);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_in, 3);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_out, 2);
}
END_TEST

/* IPv6, in on lo and out of dsr0: XDP_REDIRECT, hop limit one less. */
START_TEST(test_redirect_ipv6)
{
	struct lb_ip vip = ip6_of(0xfd09, 0, 100), t = ip6_of(0xfd09, 0, 2),
		     c = ip6_of(0xfd07, 0, 7);
	struct pkt_spec s = {.ethertype = ETH_P_IPV6,
			     .sport = 40100,
			     .dport = 80,
			     .proto = IPPROTO_UDP,
			     .payload_len = 5};
	struct pkt_spec w;
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il, ol;

	memcpy(s.saddr6, &c, 16);
	memcpy(s.daddr6, &vip, 16);
	il = pkt_build(&s, in);
	one_target(&t);
	put_nat_listener(&vip, lo_ifindex, IPPROTO_UDP, 0);
	fast_tx(true);
	ck_assert_int_eq(run_xdp(lo_ifindex, in, il, out, &ol), XDP_REDIRECT);
	w = s;
	memcpy(w.daddr6, &t, 16);
	w.dport = 8080;
	w.ttl = 63;
	expect_frame(&w, true, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 1);
}
END_TEST

/*
 * What the FIB cannot resolve goes the normal way: a TTL of 1 (the kernel sends the
 * time-exceeded) and a target without a neighbour entry are rewritten but passed with
 * their TTL and MACs as they came; a reply towards a client without a route passes
 * untouched and unaccounted (TC egress translates and counts it).
 */
START_TEST(test_fallbacks)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(TARGET),
		     lone = lb_ip_from_v4(IP(10, 9, 0, 3));
	struct pkt_spec s = {.saddr = CLIENT,
			     .daddr = VIP,
			     .sport = 40200,
			     .dport = 80,
			     .proto = IPPROTO_UDP,
			     .ttl = 1,
			     .payload_len = 3};
	struct pkt_spec w = s;
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;

	one_target(&t);
	put_nat_listener(&vip, fibnet_ifindex, IPPROTO_UDP, 0);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_PASS);
	w.daddr = TARGET;
	w.dport = 8080;
	expect_frame(&w, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 1);

	/* No neighbour entry for 10.9.0.3. */
	one_target(&lone);
	s.sport = 40201;
	s.ttl = 0;
	il = pkt_build(&s, in);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_PASS);
	w = s;
	w.daddr = IP(10, 9, 0, 3);
	w.dport = 8080;
	expect_frame(&w, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 2);

	/* A flow from a client the FIB has no route to: its reply passes as it came. */
	fast_tx(true);
	one_target(&t);
	s.saddr = IP(192, 168, 7, 7);
	s.sport = 40202;
	il = pkt_build(&s, in);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_TX); /* to the target */
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 1);
	w = (struct pkt_spec){.saddr = TARGET,
			      .daddr = IP(192, 168, 7, 7),
			      .sport = 8080,
			      .dport = 40202,
			      .proto = IPPROTO_UDP,
			      .payload_len = 4};
	il = pkt_build(&w, in);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_PASS);
	expect_frame(&w, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 3);
	ck_assert_uint_eq(gcount(LB_G_SNAT), 0);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_out, 0);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 1);
}
END_TEST

/*
 * At XDP, an egress interface that is not in lb_fast_tx (not known to take XDP frames):
 * the request is rewritten and passed with its TTL and MACs as they came, the nat reply
 * passes untouched (TC egress translates it); both counted as fallbacks. Once lbd puts
 * the interface in, the same reply is translated and redirected.
 */
START_TEST(test_egress_not_xdp_capable)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(TARGET);
	struct pkt_spec s = {.saddr = CLIENT,
			     .daddr = VIP,
			     .sport = 40250,
			     .dport = 80,
			     .proto = IPPROTO_UDP,
			     .payload_len = 6};
	struct pkt_spec w = s, r = {.saddr = TARGET,
				    .daddr = CLIENT,
				    .sport = 8080,
				    .dport = 40250,
				    .proto = IPPROTO_UDP,
				    .payload_len = 8};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;

	one_target(&t);
	put_nat_listener(&vip, lo_ifindex, IPPROTO_UDP, 0); /* in on lo, out of dsr0 */
	ck_assert_int_eq(run_xdp(lo_ifindex, in, il, out, &ol), XDP_PASS);
	w.daddr = TARGET;
	w.dport = 8080;
	expect_frame(&w, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 1);

	il = pkt_build(&r, in);
	ck_assert_int_eq(run_xdp(lo_ifindex, in, il, out, &ol), XDP_PASS);
	expect_frame(&r, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 2);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 0);
	ck_assert_uint_eq(gcount(LB_G_SNAT), 0);

	fast_tx(true);
	ck_assert_int_eq(run_xdp(lo_ifindex, in, il, out, &ol), XDP_REDIRECT);
	w = r;
	w.saddr = VIP;
	w.sport = 80;
	w.ttl = 63;
	expect_frame(&w, true, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 1);
	ck_assert_uint_eq(gcount(LB_G_SNAT), 1);

	/* Taken out again (the link changed): the next request falls back. */
	fast_tx(false);
	s.sport = 40251;
	il = pkt_build(&s, in);
	ck_assert_int_eq(run_xdp(lo_ifindex, in, il, out, &ol), XDP_PASS);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 3);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 1);
}
END_TEST

/*
 * A VLAN-tagged frame: balanced, then left to the kernel (which knows the VLAN device the
 * FIB's answer for the physical interface would miss, and strips the tag), counted.
 */
START_TEST(test_vlan_falls_back)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(TARGET);
	struct pkt_spec s = {.vlan_tpid = {ETH_P_8021Q},
			     .saddr = CLIENT,
			     .daddr = VIP,
			     .sport = 40300,
			     .dport = 80,
			     .proto = IPPROTO_UDP,
			     .payload_len = 5};
	struct pkt_spec w = s;
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;

	one_target(&t);
	put_nat_listener(&vip, fibnet_ifindex, IPPROTO_UDP, 0);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_PASS);
	w.daddr = TARGET;
	w.dport = 8080;
	expect_frame(&w, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_FALLBACK), 1);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 0);
}
END_TEST

/* Off (the default): the request is rewritten and passed, the reply left to TC egress. */
START_TEST(test_off)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(TARGET);
	struct pkt_spec s = {.saddr = CLIENT,
			     .daddr = VIP,
			     .sport = 40300,
			     .dport = 80,
			     .proto = IPPROTO_UDP,
			     .payload_len = 3};
	struct pkt_spec w = s, r = {.saddr = TARGET,
				    .daddr = CLIENT,
				    .sport = 8080,
				    .dport = 40300,
				    .proto = IPPROTO_UDP,
				    .payload_len = 3};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;

	skel->bss->lb_fast_on = 0;
	one_target(&t);
	put_nat_listener(&vip, fibnet_ifindex, IPPROTO_UDP, 0);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_PASS);
	w.daddr = TARGET;
	w.dport = 8080;
	expect_frame(&w, false, out, ol);
	il = pkt_build(&r, in);
	ck_assert_int_eq(run_xdp(fibnet_ifindex, in, il, out, &ol), XDP_PASS);
	expect_frame(&r, false, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT) + gcount(LB_G_FAST_FALLBACK), 0);
}
END_TEST

/* TC ingress: bpf_redirect out of dsr0 with the FIB's MACs, the TTL one less. */
START_TEST(test_tc_redirect)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), t = lb_ip_from_v4(TARGET);
	struct pkt_spec s = {.saddr = CLIENT,
			     .daddr = VIP,
			     .sport = 40400,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = 0x02,
			     .payload_len = 7};
	struct pkt_spec w = s;
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t il = pkt_build(&s, in), ol;
	int verdict;

	one_target(&t);
	put_nat_listener(&vip, lo_ifindex, IPPROTO_TCP, 0);
	ck_assert_int_eq(run_prog(TC_IN, in, il, out, &ol, &verdict), 0);
	ck_assert_int_eq(verdict, TC_ACT_REDIRECT);
	w.daddr = TARGET;
	w.dport = 8080;
	w.ttl = 63;
	expect_frame(&w, true, out, ol);
	ck_assert_uint_eq(gcount(LB_G_FAST_REDIRECT), 1);
}
END_TEST

static Suite *fast_suite(void)
{
	Suite *s = suite_create("bpf-fast");
	TCase *tc = tcase_create("fast");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_and_reply_tx);
	tcase_add_test(tc, test_redirect_ipv6);
	tcase_add_test(tc, test_fallbacks);
	tcase_add_test(tc, test_egress_not_xdp_capable);
	tcase_add_test(tc, test_vlan_falls_back);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_tc_redirect);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (geteuid() == 0)
		fibnet_up("test_fast");
	return dpfix_main(fast_suite);
}
