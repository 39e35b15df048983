// SPDX-License-Identifier: MIT
/*
 * IPv6 through the datapath (BPF_PROG_TEST_RUN), byte for byte: a new flow DNATed at XDP
 * and at TC ingress, the replies SNATed at TC egress, UDP, every extension header kind,
 * source routes over IPv6 prefixes, ICMPv6 errors translated both ways, and what must
 * pass untouched (neighbour discovery, echo, fragments, routing headers not done, no
 * listener, the other family's listener). Expected frames are built from scratch by
 * pktbuild, every checksum computed whole. Needs root.
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/libbpf.h>

#include "dpfix.h"
#include "lb_select.h"
#include "pktbuild.h"

#define VPORT	80
#define BPORT	8080
#define CPORT	40000
#define PROXY	1
#define GROUP	1
#define GROUP_B 2

/* NET:0:0:SUBNET::HOST, as ip6_of() makes it at run time (a constant here). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BE32(x) __builtin_bswap32(x)
#else
#define BE32(x) (x)
#endif
#define IP6(net, subnet, host)                                                \
	{                                                                     \
		{                                                             \
			BE32((__u32)(net) << 16), BE32(subnet), 0, BE32(host) \
		}                                                             \
	}

static const struct lb_ip vip = IP6(0xfd01, 0, 1), client = IP6(0xfd03, 7, 0x100),
			  router = IP6(0xfd09, 0, 1);
static struct lb_group group;

static void setup(void)
{
	reset_maps();
	three_backends6(&group, BPORT);
	put_listener6(&vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	put_listener6(&vip, VPORT, LB_PROTO_UDP, PROXY, GROUP, 0);
	put_group_def(GROUP, &group);
}

static struct pkt_spec spec6(__u8 proto, const struct lb_ip *s, const struct lb_ip *d, __u16 sport,
			     __u16 dport, __u8 flags)
{
	struct pkt_spec p = {.ethertype = ETH_P_IPV6,
			     .proto = proto,
			     .sport = sport,
			     .dport = dport,
			     .tcp_flags = flags,
			     .payload_len = 24};

	memcpy(p.saddr6, s, 16);
	memcpy(p.daddr6, d, 16);
	return p;
}

/* The backend lb_select_backend() gives @s (a client -> VIP packet). */
static const struct lb_backend *backend_for(const struct pkt_spec *s, const struct lb_group *g)
{
	struct lb_ip a, b;
	int i;

	memcpy(&a, s->saddr6, 16);
	memcpy(&b, s->daddr6, 16);
	i = lb_select_backend(g, lb_flow_hash(&a, &b, htons(s->sport), htons(s->dport), s->proto),
			      false);
	ck_assert_int_ge(i, 0);
	return &g->backends[i];
}

static __u64 gstat(int which)
{
	__u64 g[LB_G_MAX];

	gstats_get(g);
	return g[which];
}

/* Run @in through @hook; the frame must leave as @want (exact bytes) with @verdict. */
static void expect(enum hook hook, const struct pkt_spec *in, const struct pkt_spec *want,
		   int verdict)
{
	__u8 ib[PKT_MAX], ob[PKT_MAX], wb[PKT_MAX];
	char h1[PKT_HEX_MAX], h2[PKT_HEX_MAX];
	size_t il = pkt_build(in, ib), wl = pkt_build(want, wb), ol;
	int v;

	ck_assert_int_eq(run_prog(hook, ib, il, ob, &ol, &v), 0);
	ck_assert_int_eq(v, verdict);
	ck_assert_msg(ol == wl && !memcmp(ob, wb, wl), "got\n%s\nwant\n%s", pkt_hex(ob, ol, h1),
		      pkt_hex(wb, wl, h2));
}

static int pass_verdict(enum hook hook)
{
	return hook == XDP ? XDP_PASS : TC_ACT_OK;
}

/* @in through @hook untouched, counted as @counter. */
static void expect_pass(enum hook hook, const struct pkt_spec *in, int counter)
{
	__u64 before = gstat(counter);

	expect(hook, in, in, pass_verdict(hook));
	ck_assert_uint_eq(gstat(counter), before + 1);
	ck_assert_uint_eq(ct_count(), 0);
}

/* @in from the client, to the VIP: DNATed to its backend through @hook; returns it. */
static const struct lb_backend *dnat(enum hook hook, const struct pkt_spec *in)
{
	const struct lb_backend *b = backend_for(in, &group);
	struct pkt_spec want = *in;

	memcpy(want.daddr6, &b->addr, 16);
	want.dport = ntohs(b->port);
	expect(hook, in, &want, pass_verdict(hook));
	return b;
}

static void test_new_flow_on(enum hook hook)
{
	struct pkt_spec syn = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x02), back, want,
			ack;
	const struct lb_backend *b;
	struct lb_ct_val o, r;

	setup();
	b = dnat(hook, &syn);
	ck_assert(ct_get6(LB_DIR_ORIG, &client, &vip, CPORT, VPORT, LB_PROTO_TCP, &o));
	ck_assert(ct_get6(LB_DIR_REPLY, &b->addr, &client, BPORT, CPORT, LB_PROTO_TCP, &r));
	ck_assert(lb_ip_eq(&o.nat_addr, &b->addr) && lb_ip_eq(&r.nat_addr, &vip));
	/* The SYN-ACK leaves from the VIP. */
	back = spec6(IPPROTO_TCP, &b->addr, &client, BPORT, CPORT, 0x12);
	want = spec6(IPPROTO_TCP, &vip, &client, VPORT, CPORT, 0x12);
	expect(TC, &back, &want, TC_ACT_OK);
	/* The handshake's ACK goes to the same backend and confirms the flow. */
	ack = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x10);
	ck_assert_ptr_eq(dnat(hook, &ack), b);
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 2);
	ck_assert_uint_eq(stats_get(skel->maps.lb_pstats, PROXY).new_flows, 1);
	/* Bytes count the IPv6 header and its payload: 40 + 20 + 24, twice in, once out. */
	ck_assert_uint_eq(stats_get(skel->maps.lb_pstats, PROXY).bytes_in, 2 * 84);
	ck_assert_uint_eq(stats_get(skel->maps.lb_pstats, PROXY).bytes_out, 84);
}

START_TEST(test_new_flow_xdp)
{
	test_new_flow_on(XDP);
}
END_TEST

START_TEST(test_new_flow_tc)
{
	test_new_flow_on(TC_IN);
}
END_TEST

START_TEST(test_udp)
{
	struct pkt_spec d = spec6(IPPROTO_UDP, &client, &vip, CPORT, VPORT, 0), back, want;
	const struct lb_backend *b;

	setup();
	b = dnat(XDP, &d);
	back = spec6(IPPROTO_UDP, &b->addr, &client, BPORT, CPORT, 0);
	want = spec6(IPPROTO_UDP, &vip, &client, VPORT, CPORT, 0);
	expect(TC, &back, &want, TC_ACT_OK);
	/* Without a checksum (invalid over IPv6): untouched, the kernel drops it. */
	ct_flush();
	d.udp_no_csum = true;
	d.sport++;
	expect_pass(XDP, &d, LB_G_PASS_MALFORMED);
}
END_TEST

/* Hop-by-hop, destination options and a routing header that is done: skipped. */
START_TEST(test_extension_headers_skipped)
{
	static const __u8 kinds[][4] = {{0}, {60}, {43}, {0, 60, 43, 60}};
	static const __u8 counts[] = {1, 1, 1, 4};
	unsigned int i;

	for (i = 0; i < sizeof(counts); i++) {
		struct pkt_spec syn = spec6(IPPROTO_TCP, &client, &vip, CPORT + i, VPORT, 0x02);

		setup();
		syn.n_ext = counts[i];
		memcpy(syn.ext, kinds[i], sizeof(syn.ext));
		syn.ext_len[0] = 1; /* 16 bytes: lengths other than 8 move the cursor right */
		dnat(i % 2 ? TC_IN : XDP, &syn);
	}
}
END_TEST

START_TEST(test_what_passes_untouched)
{
	struct pkt_spec p = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x02);
	struct lb_ip other = ip6_of(0xfd01, 0, 99);
	enum hook hooks[] = {XDP, TC_IN};
	unsigned int h;

	for (h = 0; h < 2; h++) {
		setup();
		/* A routing header with segments left: not at its final destination yet. */
		p = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x02);
		p.n_ext = 1;
		p.ext[0] = 43;
		p.segments_left = 1;
		expect_pass(hooks[h], &p, LB_G_PASS_OTHER_L4);
		/* A fragment header, first fragment or not. */
		p.ext[0] = 44;
		p.frag6_off = 1; /* M: more follow */
		expect_pass(hooks[h], &p, LB_G_PASS_FRAGMENT);
		/* More extension headers than lbd skips: four, and a fifth behind them. */
		p.n_ext = 4;
		memset(p.ext, 60, 4);
		p.proto = 60;
		expect_pass(hooks[h], &p, LB_G_PASS_MALFORMED);
		/* Neighbour discovery and echo to the VIP. */
		p = spec6(IPPROTO_ICMPV6, &client, &vip, 0, 0, 0);
		p.icmp6_type = 135;
		expect_pass(hooks[h], &p, LB_G_PASS_OTHER_L4);
		p.icmp6_type = 128;
		expect_pass(hooks[h], &p, LB_G_PASS_OTHER_L4);
		/* No listener on that address; none on that port. */
		p = spec6(IPPROTO_TCP, &client, &other, CPORT, VPORT, 0x02);
		expect_pass(hooks[h], &p, LB_G_PASS_NO_LISTENER);
		p = spec6(IPPROTO_TCP, &client, &vip, CPORT, 443, 0x02);
		expect_pass(hooks[h], &p, LB_G_PASS_NO_LISTENER);
	}
}
END_TEST

/* A listener of one family never takes the other's packets, whatever their bytes. */
START_TEST(test_families_never_mix)
{
	struct pkt_spec v6 = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x02);
	struct pkt_spec v4 = {.proto = IPPROTO_TCP,
			      .saddr = IP(198, 51, 100, 7),
			      .daddr = IP(10, 1, 0, 1),
			      .sport = CPORT,
			      .dport = VPORT,
			      .tcp_flags = 0x02};
	struct lb_ip mapped_client = lb_ip_from_v4(v4.daddr);

	reset_maps();
	three_backends6(&group, BPORT);
	put_group_def(GROUP, &group);
	put_listener(IP(10, 1, 0, 1), VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	expect_pass(XDP, &v6, LB_G_PASS_NO_LISTENER);
	/*
	 * An IPv6 packet to ::ffff:10.1.0.1 is not an IPv4 packet to 10.1.0.1, though the
	 * datapath spells both alike: IPv4-mapped addresses never belong on the wire (RFC
	 * 4291 2.5.5.2), and such a packet passes untouched as malformed, by either address.
	 */
	memcpy(v6.daddr6, &mapped_client, 16);
	expect_pass(XDP, &v6, LB_G_PASS_MALFORMED);
	v6 = spec6(IPPROTO_TCP, &mapped_client, &vip, CPORT, VPORT, 0x02);
	expect_pass(XDP, &v6, LB_G_PASS_MALFORMED);
	reset_maps();
	put_group_def(GROUP, &group);
	put_listener6(&vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	expect_pass(XDP, &v4, LB_G_PASS_NO_LISTENER);
}
END_TEST

START_TEST(test_source_route_over_an_ipv6_prefix)
{
	struct lb_group b = {.n_backends = 1};
	struct lb_ip net = ip6_of(0xfd03, 7, 0), near = ip6_of(0xfd03, 8, 1);
	struct pkt_spec in = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x02), want;

	setup();
	b.backends[0].addr = ip6_of(0xfd02, 9, 2);
	b.backends[0].port = htons(9090);
	b.backends[0].weight = 1;
	b.backends[0].target_id = 9;
	put_group_def(GROUP_B, &b);
	put_listener6(&vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, LB_LISTEN_F_HAS_ROUTES);
	put_route6(PROXY, &net, 64, GROUP_B); /* fd03:0:0:7::/64 */
	want = in;
	memcpy(want.daddr6, &b.backends[0].addr, 16);
	want.dport = 9090;
	expect(XDP, &in, &want, XDP_PASS);
	/* fd03:0:0:8::1 is outside it: the default group. */
	in = spec6(IPPROTO_TCP, &near, &vip, CPORT, VPORT, 0x02);
	dnat(XDP, &in);
	/* An IPv4 /0 route never covers an IPv6 client: it lives under ::ffff:0:0/96. */
	{
		struct lb_ip any4 = lb_ip_from_v4(0);
		struct pkt_spec far = spec6(IPPROTO_TCP, &router, &vip, CPORT, VPORT, 0x02);

		put_route6(PROXY, &any4, LB_IP_V4_PREFIX_BASE, GROUP_B);
		dnat(XDP, &far);
	}
}
END_TEST

/* A packet too big about a reply (VIP -> client), sent to the VIP: on to the backend. */
START_TEST(test_packet_too_big_to_backend)
{
	struct pkt_spec syn = spec6(IPPROTO_TCP, &client, &vip, CPORT, VPORT, 0x02);
	struct pkt_spec reply = spec6(IPPROTO_TCP, &vip, &client, VPORT, CPORT, 0x10), want_inner;
	const struct lb_backend *b;
	__u8 in[PKT_MAX], out[PKT_MAX], want[PKT_MAX];
	char h1[PKT_HEX_MAX], h2[PKT_HEX_MAX];
	size_t il, ol, wl;
	__u64 before;
	int v;

	setup();
	reply.payload_len = 400; /* (pkt_build() frames are at most PKT_MAX bytes) */
	b = dnat(XDP, &syn);
	il = pkt_build_icmp6_error((__u8 *)&router, (__u8 *)&vip, 2, 0, 1280, &reply, 200, in);
	want_inner = reply;
	memcpy(want_inner.saddr6, &b->addr, 16);
	want_inner.sport = BPORT;
	wl = pkt_build_icmp6_error((__u8 *)&router, (__u8 *)&b->addr, 2, 0, 1280, &want_inner, 200,
				   want);
	before = gstat(LB_G_ICMP_TO_BACKEND);
	ck_assert_int_eq(run_prog(XDP, in, il, out, &ol, &v), 0);
	ck_assert_int_eq(v, XDP_PASS);
	ck_assert_msg(ol == wl && !memcmp(out, want, wl), "got\n%s\nwant\n%s", pkt_hex(out, ol, h1),
		      pkt_hex(want, wl, h2));
	ck_assert_uint_eq(gstat(LB_G_ICMP_TO_BACKEND), before + 1);
	/* The same through TC ingress. */
	ck_assert_int_eq(run_prog(TC_IN, in, il, out, &ol, &v), 0);
	ck_assert_msg(ol == wl && !memcmp(out, want, wl), "tc: got\n%s\nwant\n%s",
		      pkt_hex(out, ol, h1), pkt_hex(want, wl, h2));
}
END_TEST

/* An error about a request (client -> backend), from the backend: to the client, from the VIP. */
START_TEST(test_unreachable_to_client)
{
	struct pkt_spec syn = spec6(IPPROTO_UDP, &client, &vip, CPORT, VPORT, 0), request,
			want_inner;
	const struct lb_backend *b;
	__u8 in[PKT_MAX], out[PKT_MAX], want[PKT_MAX];
	char h1[PKT_HEX_MAX], h2[PKT_HEX_MAX];
	size_t il, ol, wl;
	int v;

	setup();
	b = dnat(XDP, &syn);
	request = syn;
	memcpy(request.daddr6, &b->addr, 16);
	request.dport = BPORT;
	/* Port unreachable (type 1, code 4) from the backend itself. */
	il = pkt_build_icmp6_error((__u8 *)&b->addr, (__u8 *)&client, 1, 4, 0, &request, 512, in);
	want_inner = syn;
	wl = pkt_build_icmp6_error((__u8 *)&vip, (__u8 *)&client, 1, 4, 0, &want_inner, 512, want);
	ck_assert_int_eq(run_prog(TC, in, il, out, &ol, &v), 0);
	ck_assert_msg(ol == wl && !memcmp(out, want, wl), "got\n%s\nwant\n%s", pkt_hex(out, ol, h1),
		      pkt_hex(want, wl, h2));
	/* From a router on the backend's side: only the inner destination changes. */
	il = pkt_build_icmp6_error((__u8 *)&router, (__u8 *)&client, 3, 0, 0, &request, 512, in);
	wl = pkt_build_icmp6_error((__u8 *)&router, (__u8 *)&client, 3, 0, 0, &want_inner, 512,
				   want);
	ck_assert_int_eq(run_prog(TC, in, il, out, &ol, &v), 0);
	ck_assert_msg(ol == wl && !memcmp(out, want, wl), "router: got\n%s\nwant\n%s",
		      pkt_hex(out, ol, h1), pkt_hex(want, wl, h2));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ipv6");
	TCase *tc = tcase_create("datapath");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_flow_xdp);
	tcase_add_test(tc, test_new_flow_tc);
	tcase_add_test(tc, test_udp);
	tcase_add_test(tc, test_extension_headers_skipped);
	tcase_add_test(tc, test_what_passes_untouched);
	tcase_add_test(tc, test_families_never_mix);
	tcase_add_test(tc, test_source_route_over_an_ipv6_prefix);
	tcase_add_test(tc, test_packet_too_big_to_backend);
	tcase_add_test(tc, test_unreachable_to_client);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(suite);
}
