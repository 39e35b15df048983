// SPDX-License-Identifier: MIT
/*
 * full-nat in the datapath (BPF_PROG_TEST_RUN): a client's request leaves with both ends
 * rewritten (snat address and a port of the range -> target), the target's reply, which
 * arrives at the ingress hook addressed to the snat address, leaves as listener -> client;
 * exact bytes both ways, both families, XDP and TC. Port allocation: flows that would
 * collide get distinct ports, and when every probed port is taken the flow is dropped and
 * counted. A flow keeps its mode when its listener changes mode (reload).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "pktbuild.h"

#define VIP    IP(10, 0, 0, 1)
#define SNAT   IP(10, 2, 0, 100)
#define CLIENT IP(192, 168, 1, 10)
#define GROUP  1
#define PORT0  61000
#define NPORTS 8 /* LB_SNAT_PROBES: a flow sees every port of the range */

static struct lb_group group;

static void put_fullnat_listener(const struct lb_ip *vip, const struct lb_ip *snat, __u32 fwd)
{
	struct lb_listen_key k = {
		.ifindex = lo_ifindex, .addr = *vip, .port = htons(80), .proto = IPPROTO_TCP};
	struct lb_listen_val v = {.proxy_id = 1,
				  .default_group = GROUP,
				  .flags = fwd << LB_LISTEN_FWD_SHIFT,
				  .snat_addr = *snat};

	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_listen), &k, &v, BPF_ANY), 0);
}

static void setup(void)
{
	struct lb_ip vip = lb_ip_from_v4(VIP), snat = lb_ip_from_v4(SNAT);

	reset_maps();
	three_backends(&group, 8080);
	group.n_backends = 1; /* 10.2.1.2:8080, target 1: every flow collides on it */
	put_group_def(GROUP, &group);
	put_fullnat_listener(&vip, &snat, LB_FWD_FULLNAT);
	skel->bss->lb_snat_port_min = PORT0;
	skel->bss->lb_snat_port_n = NPORTS;
	skel->bss->lb_fullnat_on = 1;
}

static int pass_verdict(enum hook hook)
{
	return hook == XDP ? XDP_PASS : TC_ACT_OK;
}

/* Run @in through @hook: the verdict, and the frame as it left into @ob (length returned). */
static size_t run(enum hook hook, const struct pkt_spec *in, __u8 *ob, int *v)
{
	__u8 ib[PKT_MAX];
	size_t il = pkt_build(in, ib), ol = 0;

	ck_assert_int_eq(run_prog(hook, ib, il, ob, &ol, v), 0);
	return ol;
}

static void expect_frame(const __u8 *ob, size_t ol, const struct pkt_spec *want)
{
	__u8 wb[PKT_MAX];
	char h1[PKT_HEX_MAX], h2[PKT_HEX_MAX];
	size_t wl = pkt_build(want, wb);

	ck_assert_msg(ol == wl && !memcmp(ob, wb, wl), "got\n%s\nwant\n%s", pkt_hex(ob, ol, h1),
		      pkt_hex(wb, wl, h2));
}

/* The source port the flow of @client:@sport got (its ORIG entry), host order. */
static __u16 snat_port_of(__be32 client, __u16 sport)
{
	struct lb_ct_val o;

	ck_assert(ct_get(LB_DIR_ORIG, client, VIP, sport, 80, IPPROTO_TCP, &o));
	ck_assert_uint_eq(o.fwd, LB_FWD_FULLNAT);
	ck_assert(lb_ip_eq(&o.snat_addr, &(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, SNAT}}));
	return ntohs(o.snat_port);
}

/* Both directions of one flow, exact bytes, on @hook. */
static void both_ways(enum hook hook)
{
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = 40000,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02,
			       .payload_len = 12};
	struct pkt_spec want = syn, reply, back;
	struct lb_ct_val r;
	__u8 ob[PKT_MAX];
	size_t ol;
	__u16 port;
	int v;

	ol = run(hook, &syn, ob, &v);
	ck_assert_int_eq(v, pass_verdict(hook));
	port = snat_port_of(CLIENT, 40000);
	ck_assert(port >= PORT0 && port < PORT0 + NPORTS);
	want.saddr = SNAT;
	want.sport = port;
	want.daddr = IP(10, 2, 1, 2);
	want.dport = 8080;
	expect_frame(ob, ol, &want);
	/* The REPLY entry: addressed to the snat address and port, naming client and listener. */
	ck_assert(ct_get(LB_DIR_REPLY, IP(10, 2, 1, 2), SNAT, 8080, port, IPPROTO_TCP, &r));
	ck_assert_uint_eq(r.fwd, LB_FWD_FULLNAT);
	ck_assert(lb_ip_eq(&r.nat_addr, &(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, VIP}}));
	ck_assert_uint_eq(ntohs(r.nat_port), 80);
	ck_assert(lb_ip_eq(&r.snat_addr, &(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, CLIENT}}));
	ck_assert_uint_eq(ntohs(r.snat_port), 40000);
	/* No nat-style entry for the client's own 4-tuple. */
	ck_assert(!ct_get(LB_DIR_REPLY, IP(10, 2, 1, 2), CLIENT, 8080, 40000, IPPROTO_TCP, &r));

	/* The target's SYN-ACK arrives at ingress (XDP or TC) and goes back to the client. */
	reply = (struct pkt_spec){.saddr = IP(10, 2, 1, 2),
				  .daddr = SNAT,
				  .sport = 8080,
				  .dport = port,
				  .proto = IPPROTO_TCP,
				  .tcp_flags = 0x12,
				  .payload_len = 30};
	back = reply;
	back.saddr = VIP;
	back.sport = 80;
	back.daddr = CLIENT;
	back.dport = 40000;
	ol = run(hook, &reply, ob, &v);
	ck_assert_int_eq(v, pass_verdict(hook));
	expect_frame(ob, ol, &back);
	ck_assert_uint_eq(gcount(LB_G_FULLNAT_REPLY), 1);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_out, 1);
	ck_assert_uint_eq(stats_get(skel->maps.lb_tstats, 1).pkts_in, 1);

	/* UDP, checksum and all, takes the same path. */
	syn.proto = IPPROTO_UDP;
	syn.tcp_flags = 0;
	syn.sport = 40001;
	want = syn;
	put_fullnat_listener(&(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, VIP}},
			     &(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, SNAT}}, LB_FWD_FULLNAT);
	{
		struct lb_listen_key k = {
			.ifindex = lo_ifindex, .port = htons(80), .proto = IPPROTO_UDP};
		struct lb_listen_val lv = {.proxy_id = 1,
					   .default_group = GROUP,
					   .flags = LB_FWD_FULLNAT << LB_LISTEN_FWD_SHIFT};

		k.addr = lb_ip_from_v4(VIP);
		lv.snat_addr = lb_ip_from_v4(SNAT);
		ck_assert_int_eq(
			bpf_map_update_elem(map_fd(skel->maps.lb_listen), &k, &lv, BPF_ANY), 0);
	}
	ol = run(hook, &syn, ob, &v);
	ck_assert_int_eq(v, pass_verdict(hook));
	ck_assert(ct_get(LB_DIR_ORIG, CLIENT, VIP, 40001, 80, IPPROTO_UDP, &r));
	want.saddr = SNAT;
	want.sport = ntohs(r.snat_port);
	want.daddr = IP(10, 2, 1, 2);
	want.dport = 8080;
	expect_frame(ob, ol, &want);
	reply.proto = IPPROTO_UDP;
	reply.tcp_flags = 0;
	reply.dport = ntohs(r.snat_port);
	back = reply;
	back.saddr = VIP;
	back.sport = 80;
	back.daddr = CLIENT;
	back.dport = 40001;
	ol = run(hook, &reply, ob, &v);
	ck_assert_int_eq(v, pass_verdict(hook));
	expect_frame(ob, ol, &back);
}

START_TEST(test_both_ways_xdp)
{
	both_ways(XDP);
}
END_TEST

START_TEST(test_both_ways_tc)
{
	both_ways(TC_IN);
}
END_TEST

/* IPv6: the same, with 16-byte addresses in the pseudo-header. */
START_TEST(test_both_ways_ipv6)
{
	static const enum hook hooks[] = {XDP, TC_IN};
	struct lb_ip vip = ip6_of(0xfd00, 0, 1), snat = ip6_of(0xfd02, 0, 100),
		     client = ip6_of(0xfd01, 0, 10), b = ip6_of(0xfd02, 1, 2);
	size_t h;

	three_backends6(&group, 8080);
	group.n_backends = 1;
	put_group_def(GROUP, &group);
	put_fullnat_listener(&vip, &snat, LB_FWD_FULLNAT);
	for (h = 0; h < 2; h++) {
		struct pkt_spec syn = {.ethertype = ETH_P_IPV6,
				       .sport = (__u16)(41000 + h),
				       .dport = 80,
				       .proto = IPPROTO_TCP,
				       .tcp_flags = 0x02,
				       .payload_len = 7};
		struct pkt_spec want, reply, back;
		struct lb_ct_val o;
		__u8 ob[PKT_MAX];
		size_t ol;
		int v;

		memcpy(syn.saddr6, &client, 16);
		memcpy(syn.daddr6, &vip, 16);
		want = syn;
		ol = run(hooks[h], &syn, ob, &v);
		ck_assert_int_eq(v, pass_verdict(hooks[h]));
		ck_assert(ct_get6(LB_DIR_ORIG, &client, &vip, syn.sport, 80, IPPROTO_TCP, &o));
		ck_assert(lb_ip_eq(&o.snat_addr, &snat));
		memcpy(want.saddr6, &snat, 16);
		memcpy(want.daddr6, &b, 16);
		want.sport = ntohs(o.snat_port);
		want.dport = 8080;
		expect_frame(ob, ol, &want);
		reply = (struct pkt_spec){.ethertype = ETH_P_IPV6,
					  .sport = 8080,
					  .dport = ntohs(o.snat_port),
					  .proto = IPPROTO_TCP,
					  .tcp_flags = 0x12,
					  .payload_len = 3};
		memcpy(reply.saddr6, &b, 16);
		memcpy(reply.daddr6, &snat, 16);
		back = reply;
		memcpy(back.saddr6, &vip, 16);
		memcpy(back.daddr6, &client, 16);
		back.sport = 80;
		back.dport = syn.sport;
		ol = run(hooks[h], &reply, ob, &v);
		ck_assert_int_eq(v, pass_verdict(hooks[h]));
		expect_frame(ob, ol, &back);
	}
}
END_TEST

/*
 * Port allocation: NPORTS clients that share a source port (a NAT in front of them would
 * do that) all reach the one target: each gets its own port, the ports fill the range;
 * the next flow finds every probed port taken and is dropped and counted. A flow that
 * ends frees nothing at once (its entries stay until the sweeper), so this is exhaustion,
 * not a transient.
 */
START_TEST(test_port_collisions)
{
	bool seen[NPORTS] = {false};
	struct pkt_spec syn = {
		.daddr = VIP, .sport = 5555, .dport = 80, .proto = IPPROTO_TCP, .tcp_flags = 0x02};
	__u8 ob[PKT_MAX];
	int i, v;

	for (i = 0; i < NPORTS; i++) {
		__u16 port;

		syn.saddr = IP(192, 168, 2, i + 1);
		run(XDP, &syn, ob, &v);
		ck_assert_int_eq(v, XDP_PASS);
		port = snat_port_of(syn.saddr, 5555);
		ck_assert_msg(port >= PORT0 && port < PORT0 + NPORTS, "port %u", port);
		ck_assert_msg(!seen[port - PORT0], "port %u given twice", port);
		seen[port - PORT0] = true;
	}
	ck_assert_uint_eq(gcount(LB_G_FULLNAT_NO_PORT), 0);
	syn.saddr = IP(192, 168, 2, 200);
	run(XDP, &syn, ob, &v);
	ck_assert_int_eq(v, XDP_DROP);
	ck_assert_uint_eq(gcount(LB_G_FULLNAT_NO_PORT), 1);
	ck_assert(
		!ct_get(LB_DIR_ORIG, syn.saddr, VIP, 5555, 80, IPPROTO_TCP, &(struct lb_ct_val){}));
	/* A retransmitted SYN of a flow that has its port keeps it: no new allocation. */
	syn.saddr = IP(192, 168, 2, 1);
	{
		__u16 before = snat_port_of(syn.saddr, 5555);

		run(XDP, &syn, ob, &v);
		ck_assert_int_eq(v, XDP_PASS);
		ck_assert_uint_eq(snat_port_of(syn.saddr, 5555), before);
	}
}
END_TEST

/*
 * A port owned by a confirmed flow (lb_ct) is never handed out again, even though the
 * insert into lb_syn would succeed: the lookup in lb_ct comes first.
 */
START_TEST(test_port_taken_in_ct)
{
	struct lb_ct_key k = {.saddr = lb_ip_from_v4(IP(10, 2, 1, 2)),
			      .daddr = lb_ip_from_v4(SNAT),
			      .sport = htons(8080),
			      .proto = IPPROTO_TCP,
			      .dir = LB_DIR_REPLY};
	struct lb_ct_val cv = {.fwd = LB_FWD_FULLNAT};
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = 6000,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02};
	__u8 ob[PKT_MAX];
	int i, v;

	for (i = 0; i < NPORTS - 1; i++) {
		k.dport = htons(PORT0 + i);
		ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_ct), &k, &cv, BPF_ANY),
				 0);
	}
	run(TC_IN, &syn, ob, &v);
	ck_assert_int_eq(v, TC_ACT_OK);
	ck_assert_uint_eq(snat_port_of(CLIENT, 6000), PORT0 + NPORTS - 1);
}
END_TEST

/*
 * reload: the listener moves to nat; the established full-nat flow keeps both rewrites,
 * a new flow gets nat (its source stays the client's).
 */
START_TEST(test_flow_keeps_its_mode)
{
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = 42000,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02};
	struct pkt_spec ack = syn, want;
	__u8 ob[PKT_MAX];
	size_t ol;
	__u16 port;
	int v;

	run(XDP, &syn, ob, &v);
	port = snat_port_of(CLIENT, 42000);
	put_fullnat_listener(&(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, VIP}},
			     &(struct lb_ip){0}, LB_FWD_NAT);
	ack.tcp_flags = 0x10;
	want = ack;
	want.saddr = SNAT;
	want.sport = port;
	want.daddr = IP(10, 2, 1, 2);
	want.dport = 8080;
	ol = run(XDP, &ack, ob, &v);
	ck_assert_int_eq(v, XDP_PASS);
	expect_frame(ob, ol, &want);
	/* A new flow: nat only. */
	syn.sport = 42001;
	want = syn;
	want.daddr = IP(10, 2, 1, 2);
	want.dport = 8080;
	ol = run(XDP, &syn, ob, &v);
	expect_frame(ob, ol, &want);
}
END_TEST

/* Without lb_fullnat_on a packet to the snat address is not looked at (ordinary traffic). */
START_TEST(test_off_passes)
{
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = 43000,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02};
	struct pkt_spec reply = {.saddr = IP(10, 2, 1, 2),
				 .daddr = SNAT,
				 .sport = 8080,
				 .proto = IPPROTO_TCP,
				 .tcp_flags = 0x12};
	__u8 ob[PKT_MAX];
	size_t ol;
	int v;

	run(XDP, &syn, ob, &v);
	reply.dport = snat_port_of(CLIENT, 43000);
	skel->bss->lb_fullnat_on = 0;
	ol = run(XDP, &reply, ob, &v);
	ck_assert_int_eq(v, XDP_PASS);
	expect_frame(ob, ol, &reply);
	ck_assert_uint_eq(gcount(LB_G_FULLNAT_REPLY), 0);
}
END_TEST

/*
 * No snat address in the listener (none configured): the per-target one lbd resolved
 * (lb_snat by target id). Without one the flow is dropped and counted, never sent with a
 * zero source.
 */
START_TEST(test_per_target_source)
{
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = 44000,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02};
	struct lb_ip zero = {0}, src = lb_ip_from_v4(IP(10, 2, 1, 1));
	__u32 id = 1;
	__u8 ob[PKT_MAX];
	struct lb_ct_val o;
	int v;

	put_fullnat_listener(&(struct lb_ip){.w = {0, 0, LB_IP_V4MAPPED_W2, VIP}}, &zero,
			     LB_FWD_FULLNAT);
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_snat), &id, &zero, BPF_ANY), 0);
	run(XDP, &syn, ob, &v);
	ck_assert_int_eq(v, XDP_DROP);
	ck_assert_uint_eq(gcount(LB_G_FULLNAT_NO_PORT), 1);
	ck_assert_uint_eq(ct_count(), 0);
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_snat), &id, &src, BPF_ANY), 0);
	run(XDP, &syn, ob, &v);
	ck_assert_int_eq(v, XDP_PASS);
	ck_assert(ct_get(LB_DIR_ORIG, CLIENT, VIP, 44000, 80, IPPROTO_TCP, &o));
	ck_assert(lb_ip_eq(&o.snat_addr, &src));
	ck_assert(ct_get(LB_DIR_REPLY, IP(10, 2, 1, 2), IP(10, 2, 1, 1), 8080, ntohs(o.snat_port),
			 IPPROTO_TCP, &o));
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_snat), &id, &zero, BPF_ANY), 0);
}
END_TEST

/*
 * ICMP errors about a full-nat flow are not translated (its target knows another
 * 4-tuple): a "fragmentation needed" about a reply (listener -> client), sent by a router
 * to the listener, passes untouched, at XDP and at TC ingress.
 */
START_TEST(test_icmp_not_mistranslated)
{
	static const enum hook hooks[] = {XDP, TC_IN};
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = 45000,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02};
	struct pkt_spec reply = {.saddr = VIP,
				 .daddr = CLIENT,
				 .sport = 80,
				 .dport = 45000,
				 .proto = IPPROTO_TCP,
				 .tcp_flags = 0x10,
				 .payload_len = 100};
	__u8 in[PKT_MAX], out[PKT_MAX], ob[PKT_MAX];
	size_t len, ol, h;
	int v;

	run(XDP, &syn, ob, &v);
	ck_assert_int_eq(v, XDP_PASS);
	len = pkt_build_icmp_error(IP(192, 168, 9, 1), VIP, 3, 4, 1280, &reply, 48, in);
	for (h = 0; h < 2; h++) {
		ck_assert_int_eq(run_prog(hooks[h], in, len, out, &ol, &v), 0);
		ck_assert_int_eq(v, pass_verdict(hooks[h]));
		ck_assert(ol == len && !memcmp(in, out, len));
	}
	ck_assert_uint_eq(gcount(LB_G_ICMP_TO_BACKEND), 0);
}
END_TEST

static Suite *fullnat_suite(void)
{
	Suite *s = suite_create("bpf-fullnat");
	TCase *tc = tcase_create("fullnat");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_both_ways_xdp);
	tcase_add_test(tc, test_both_ways_tc);
	tcase_add_test(tc, test_both_ways_ipv6);
	tcase_add_test(tc, test_port_collisions);
	tcase_add_test(tc, test_port_taken_in_ct);
	tcase_add_test(tc, test_flow_keeps_its_mode);
	tcase_add_test(tc, test_off_passes);
	tcase_add_test(tc, test_per_target_source);
	tcase_add_test(tc, test_icmp_not_mistranslated);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(fullnat_suite);
}
