// SPDX-License-Identifier: MIT
/*
 * Malformed and hostile packets through the request programs (lb_xdp_ingress and
 * lb_tc_ingress) with BPF_PROG_TEST_RUN, a listener on VIP:80 TCP and UDP. For every case:
 * the verdict is one the hook defines (XDP_PASS/XDP_DROP, TC_ACT_OK/TC_ACT_SHOT); a packet
 * the datapath must not touch leaves byte for byte as it came; a rewritten one is exactly
 * the frame pktbuild builds towards the backend (checksums recomputed from scratch there);
 * and the global counters say why (exactly one reason counted per packet).
 *
 * The verifier: the suite loads lb.bpf.o before any case runs (dpfix_main); a program the
 * verifier rejected would fail that load, so every case passing also proves the programs
 * with all their bounds checks are accepted as built.
 *
 * Expectations follow docs/datapath.md ("A packet's way in", "Which packets create a
 * flow"); docs/hardening.md lists the cases. Needs root (exits 77, "skipped", without it).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "lb_counter_names.h"
#include "lb_select.h"
#include "pktbuild.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

#define PROXY 1
#define GROUP 10
#define VPORT 80
#define BPORT 8080

#define G_NONE LB_G_MAX /* no global counter at all */

static __be32 vip, client;
static struct lb_group group;

/* The request hooks; the loop tests run once per hook. */
static const enum hook hooks[] = {XDP, TC_IN};
static const char *const hook_name[] = {"end", "xdp", "tc", "tc ingress"};

static void setup(void)
{
	vip = IP(10, 1, 0, 1);
	client = IP(198, 51, 100, 7);
	reset_maps();
	three_backends(&group, BPORT);
	put_group_def(GROUP, &group);
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	put_listener(vip, VPORT, LB_PROTO_UDP, PROXY, GROUP, 0);
}

/* A packet from the client to the listener. */
static struct pkt_spec to_vip(__u8 proto, __u16 sport, __u8 flags)
{
	struct pkt_spec s = {.proto = proto,
			     .tcp_flags = proto == IPPROTO_TCP ? flags : 0,
			     .saddr = client,
			     .daddr = vip,
			     .sport = sport,
			     .dport = VPORT};

	return s;
}

/* @s as the datapath must rewrite it: towards the backend lb_select_backend() picks. */
static struct pkt_spec rewritten(const struct pkt_spec *s)
{
	struct pkt_spec w = *s;
	struct lb_ip fs = lb_ip_from_v4(s->saddr), fd = lb_ip_from_v4(s->daddr);
	int i = lb_select_backend(
		&group, lb_flow_hash(&fs, &fd, htons(s->sport), htons(s->dport), s->proto), true);

	ck_assert_int_ge(i, 0);
	w.daddr = lb_ip_v4(&group.backends[i].addr);
	w.dport = ntohs(group.backends[i].port);
	return w;
}

/* Set the IPv4 header's field at @off (16 bits) and recompute its checksum over @hlen bytes. */
static void ip_set16(__u8 *frame, size_t l3, size_t off, __u16 v, size_t hlen)
{
	__u8 *ip = frame + l3;

	ip[off] = v >> 8;
	ip[off + 1] = v & 0xff;
	ip[10] = ip[11] = 0;
	v = ~pkt_csum_fold(pkt_csum_add(ip, hlen, 0));
	ip[10] = v >> 8;
	ip[11] = v & 0xff;
}

/*
 * Run @in through @hook and check the verdict (defined, and a pass: no case here may be
 * dropped), the frame that left (@want, or @in itself when @want is NULL: untouched) and
 * the global counters (@gstat grew by one, every other one stayed). Returns false, having
 * checked nothing, only when @may_refuse and BPF_PROG_TEST_RUN refused the frame (EINVAL).
 */
static bool run_case(const char *what, enum hook hook, const __u8 *in, size_t in_len,
		     const __u8 *want, size_t want_len, __u32 gstat, bool may_refuse)
{
	static char hg[PKT_HEX_MAX], hw[PKT_HEX_MAX], hi[PKT_HEX_MAX];
	__u64 g0[LB_G_MAX], g1[LB_G_MAX];
	__u8 out[PKT_MAX];
	size_t out_len = 0;
	int verdict = -1, err;
	__u32 k;

	if (!want) {
		want = in;
		want_len = in_len;
	}
	gstats_get(g0);
	err = run_prog(hook, in, in_len, out, &out_len, &verdict);
	if (err == -EINVAL && may_refuse)
		return false;
	ck_assert_msg(!err, "%s (%s): BPF_PROG_TEST_RUN failed: %s", what, hook_name[hook],
		      strerror(-err));
	gstats_get(g1);

	if (hook == XDP)
		ck_assert_msg(verdict == XDP_PASS || verdict == XDP_DROP,
			      "%s (%s): undefined verdict %d", what, hook_name[hook], verdict);
	else
		ck_assert_msg(verdict == TC_ACT_OK || verdict == TC_ACT_SHOT,
			      "%s (%s): undefined verdict %d", what, hook_name[hook], verdict);
	ck_assert_msg(verdict == (hook == XDP ? XDP_PASS : TC_ACT_OK), "%s (%s): verdict %d", what,
		      hook_name[hook], verdict);
	ck_assert_msg(out_len == want_len && !memcmp(out, want, want_len),
		      "%s (%s): %s frame differs (%zu bytes, want %zu)\n in:\n%s\n got:\n%s\n "
		      "want:\n%s",
		      what, hook_name[hook], want == in ? "untouched" : "rewritten", out_len,
		      want_len, pkt_hex(in, in_len, hi), pkt_hex(out, out_len, hg),
		      pkt_hex(want, want_len, hw));
	for (k = 0; k < LB_G_MAX; k++) {
		__u64 w = k == gstat ? 1 : 0;

		ck_assert_msg(g1[k] - g0[k] == w, "%s (%s): counter %s grew by %llu, want %llu",
			      what, hook_name[hook], lb_counters_global_name(k),
			      (unsigned long long)(g1[k] - g0[k]), (unsigned long long)w);
	}
	return true;
}

/* @s through @hook: untouched (@rewrite false) or rewritten to its backend. */
static void run_spec(const char *what, enum hook hook, const struct pkt_spec *s, bool rewrite,
		     __u32 gstat)
{
	__u8 in[PKT_MAX], want[PKT_MAX];
	struct pkt_spec w = rewritten(s);
	size_t in_len = pkt_build(s, in), want_len = pkt_build(&w, want);

	run_case(what, hook, in, in_len, rewrite ? want : NULL, want_len, gstat, false);
}

/* ---- truncation ---- */

/*
 * A TCP SYN and a UDP datagram (no payload: the L4 header ends the frame) cut at every
 * length from the Ethernet header to the whole frame, behind 0, 1 and 2 VLAN tags: only
 * the whole frame is balanced; every shorter one passes untouched as pass-malformed.
 * TC ingress: the kernel refuses an untagged skb cut inside its IPv4 header (it reads
 * that header before the program runs; behind a VLAN tag it does not look), those lengths
 * only reach XDP; the parser is the same.
 */
START_TEST(test_truncated_at_every_length)
{
	static const __u16 tpids[3][2] = {{0, 0}, {ETH_P_8021Q, 0}, {ETH_P_8021AD, ETH_P_8021Q}};
	static const __u8 protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	enum hook hook = hooks[_i];
	unsigned int tags, pi, refused = 0, sent = 0;
	char what[128];

	for (pi = 0; pi < 2; pi++) {
		for (tags = 0; tags < 3; tags++) {
			struct pkt_spec s =
				to_vip(protos[pi], (__u16)(30000 + pi * 10 + tags), F_SYN);
			__u8 full[PKT_MAX], want[PKT_MAX];
			struct pkt_spec w;
			size_t len, l3, want_len;

			memcpy(s.vlan_tpid, tpids[tags], sizeof(s.vlan_tpid));
			w = rewritten(&s);
			len = pkt_build(&s, full);
			want_len = pkt_build(&w, want);
			l3 = pkt_l3_off(&s);
			for (size_t cut = ETH_HLEN; cut <= len; cut++) {
				bool whole = cut == len;
				bool in_ip = cut >= l3 && cut < l3 + 20;

				snprintf(what, sizeof(what), "%s with %u tags cut at %zu of %zu",
					 pi ? "UDP" : "TCP SYN", tags, cut, len);
				if (run_case(what, hook, full, cut, whole ? want : NULL, want_len,
					     whole ? LB_G_DNAT : LB_G_PASS_MALFORMED,
					     hook == TC_IN && in_ip && !tags))
					sent++;
				else
					refused++;
				ck_assert_msg(ct_count() == (whole ? 2u : 0u), "%s: %zu ct entries",
					      what, ct_count());
			}
			ct_flush();
		}
	}
	/* Only TC ingress may refuse: untagged frames cut inside the IPv4 header. */
	ck_assert_uint_le(refused, hook == TC_IN ? 2 * 20 : 0);
	ck_assert_uint_ge(sent, hook == TC_IN ? 234 - 2 * 20 : 234);
}
END_TEST

/*
 * Cut after the 20-byte TCP header, inside its options or its payload: the IP total length
 * then claims more than the frame holds, which the parser refuses (pass-malformed): no
 * flow, no bytes counted for data that is not there.
 */
START_TEST(test_truncated_after_the_fixed_tcp_header)
{
	enum hook hook = hooks[_i];
	struct pkt_spec s = to_vip(IPPROTO_TCP, 31000, F_SYN);
	__u8 in[PKT_MAX];
	size_t len, l4, cut;
	char what[128];

	s.doff = 8;
	s.payload_len = 16;
	len = pkt_build(&s, in);
	l4 = pkt_l4_off(&s);
	/*
	 * The IPv4 total length still claims the whole segment: a frame shorter than that is
	 * cut, and passes untouched (the kernel drops it as truncated).
	 */
	for (cut = l4 + 20; cut < len; cut++) {
		s.sport++;
		len = pkt_build(&s, in);
		snprintf(what, sizeof(what), "SYN doff 8 payload 16 cut at %zu of %zu", cut, len);
		run_case(what, hook, in, cut, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	ck_assert_uint_eq(ct_count(), 0);
}
END_TEST

/* ---- bogus IPv4 and TCP headers ---- */

/* IHL 0..4 (below the minimum header), or not IPv4 at all: pass-malformed, untouched. */
START_TEST(test_bogus_ihl)
{
	enum hook hook = hooks[_i];
	char what[64];
	__u8 ihl;

	for (ihl = 0; ihl <= 4; ihl++) {
		struct pkt_spec s = to_vip(IPPROTO_TCP, 32000, F_SYN);
		__u8 in[PKT_MAX];
		size_t len = pkt_build(&s, in), l3 = pkt_l3_off(&s);

		/* pktbuild writes ihl 0 as 5: set the nibble by hand, checksum recomputed. */
		in[l3] = 0x40 | ihl;
		ip_set16(in, l3, 2, 40, 20);
		snprintf(what, sizeof(what), "IHL %u", ihl);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	/* Not version 4 behind the IPv4 ethertype (6, 0, 15): pass-malformed too. */
	for (ihl = 0; ihl < 3; ihl++) {
		static const __u8 version[] = {6, 0, 15};
		struct pkt_spec s = to_vip(IPPROTO_TCP, 32050, F_SYN);
		__u8 in[PKT_MAX];
		size_t len = pkt_build(&s, in), l3 = pkt_l3_off(&s);

		in[l3] = version[ihl] << 4 | 5;
		ip_set16(in, l3, 2, 40, 20);
		snprintf(what, sizeof(what), "IP version %u", version[ihl]);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	ck_assert_uint_eq(ct_count(), 0);
}
END_TEST

/* IHL 15 on a frame that holds less: header claimed beyond the IP length or the frame. */
START_TEST(test_ihl15_short_packet)
{
	enum hook hook = hooks[_i];
	struct pkt_spec s = to_vip(IPPROTO_TCP, 32100, F_SYN);
	__u8 in[PKT_MAX];
	size_t len, l3;

	/* A plain 20-byte header marked IHL 15: total length 40 < 60. */
	len = pkt_build(&s, in);
	l3 = pkt_l3_off(&s);
	in[l3] = 0x4f;
	ip_set16(in, l3, 2, 40, 20);
	run_case("IHL 15, total length 40", hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);

	/* The same, total length 80 (as if options and TCP were there), frame of 54 bytes. */
	ip_set16(in, l3, 2, 80, 20);
	run_case("IHL 15, total length 80, 40 IP bytes", hook, in, len, NULL, 0,
		 LB_G_PASS_MALFORMED, false);

	/* 60 bytes of real options, cut before the TCP header is complete. */
	s.ihl = 15;
	s.truncate = (__u16)(pkt_l4_off(&s) + 10);
	len = pkt_build(&s, in);
	run_case("IHL 15, TCP header cut at 10", hook, in, len, NULL, 0, LB_G_PASS_MALFORMED,
		 false);
	ck_assert_uint_eq(ct_count(), 0);
}
END_TEST

/*
 * IP total length against the frame. Shorter than the frame is Ethernet padding (a SYN is
 * padded to 60 bytes on the wire): balanced, padding untouched. Shorter than the headers it
 * must hold: pass-malformed. Longer than the frame: not checked by the parser (the kernel's
 * ip_rcv drops such a packet); the L4 header is all there, so it is balanced.
 */
START_TEST(test_ip_total_length)
{
	static const __u16 too_short[] = {0, 19, 20, 21, 39};
	enum hook hook = hooks[_i];
	struct pkt_spec s = to_vip(IPPROTO_TCP, 32200, F_SYN), w;
	__u8 in[PKT_MAX], want[PKT_MAX];
	size_t len, l3, i;
	__u64 bytes0;
	char what[64];

	/* Ethernet padding: 6 zero bytes after a 54-byte SYN (the buffers are zeroed). */
	w = rewritten(&s);
	len = pkt_build(&s, in);
	pkt_build(&w, want);
	run_case("SYN padded to 60 bytes", hook, in, len + 6, want, len + 6, LB_G_DNAT, false);
	ct_flush();

	/* 10 payload bytes beyond a total length that ends with the TCP header. */
	s.sport++;
	s.payload_len = 10;
	w = rewritten(&s);
	len = pkt_build(&s, in);
	pkt_build(&w, want);
	l3 = pkt_l3_off(&s);
	ip_set16(in, l3, 2, 40, 20);
	ip_set16(want, l3, 2, 40, 20);
	run_case("total length 40, frame holds 50 IP bytes", hook, in, len, want, len, LB_G_DNAT,
		 false);
	ct_flush();

	for (i = 0; i < sizeof(too_short) / sizeof(too_short[0]); i++) {
		s.sport++;
		len = pkt_build(&s, in);
		ip_set16(in, l3, 2, too_short[i], 20);
		snprintf(what, sizeof(what), "total length %u < IP + TCP headers", too_short[i]);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	ck_assert_uint_eq(ct_count(), 0);

	/*
	 * Longer than the frame: 40 bytes there, 1500 and 65535 claimed. A lie the counters
	 * must not believe (bytes count the IPv4 total length): pass-malformed, no flow.
	 */
	bytes0 = stats_get(skel->maps.lb_pstats, PROXY).bytes_in;
	s.payload_len = 0;
	for (i = 0; i < 2; i++) {
		__u16 tot = i ? 65535 : 1500;

		s.sport++;
		len = pkt_build(&s, in);
		ip_set16(in, l3, 2, tot, 20);
		snprintf(what, sizeof(what), "total length %u, frame holds 40 IP bytes", tot);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	ck_assert_uint_eq(ct_count(), 0);
	ck_assert_uint_eq(stats_get(skel->maps.lb_pstats, PROXY).bytes_in - bytes0, 0);
}
END_TEST

/* TCP data offset 0..4 (below the header) and 15 beyond the packet: pass-malformed. */
START_TEST(test_bogus_tcp_doff)
{
	enum hook hook = hooks[_i];
	struct pkt_spec s = to_vip(IPPROTO_TCP, 32300, F_SYN);
	__u8 in[PKT_MAX];
	size_t len, l4;
	char what[64];
	__u8 doff;

	for (doff = 0; doff <= 4; doff++) {
		len = pkt_build(&s, in);
		l4 = pkt_l4_off(&s);
		in[l4 + 12] = doff << 4; /* pktbuild writes 0 as 5 */
		snprintf(what, sizeof(what), "TCP data offset %u", doff);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	/* 15 on a 20-byte header with 10 payload bytes: 60 > the 30 L4 bytes there are. */
	s.payload_len = 10;
	len = pkt_build(&s, in);
	in[l4 + 12] = 15 << 4;
	run_case("TCP data offset 15, 30 L4 bytes", hook, in, len, NULL, 0, LB_G_PASS_MALFORMED,
		 false);
	/* 15 with the whole 60-byte header there but cut from the IP total length. */
	s.payload_len = 0;
	s.doff = 15;
	len = pkt_build(&s, in);
	ip_set16(in, pkt_l3_off(&s), 2, 20 + 40, 20);
	run_case("TCP data offset 15, IP total length 60", hook, in, len, NULL, 0,
		 LB_G_PASS_MALFORMED, false);
	ck_assert_uint_eq(ct_count(), 0);

	/* Control: the same header, honest, is balanced. */
	run_spec("TCP data offset 15", hook, &s, true, LB_G_DNAT);
}
END_TEST

/*
 * A UDP length field below its own header or beyond the IP payload: pass-malformed (the
 * kernel's UDP receive drops both). One shorter than the payload (trailing bytes, which
 * the kernel trims) is balanced like any other datagram.
 */
START_TEST(test_bogus_udp_len)
{
	enum hook hook = hooks[_i];
	struct pkt_spec s = to_vip(IPPROTO_UDP, 32400, 0);
	static const __u16 beyond[] = {17, 18, 1000, 65535};
	__u8 in[PKT_MAX];
	size_t len, l4, i;
	__u16 ulen;
	char what[64];

	s.payload_len = 8; /* UDP length 16 */
	len = pkt_build(&s, in);
	l4 = pkt_l4_off(&s);
	for (ulen = 0; ulen < 8; ulen++) {
		in[l4 + 4] = 0;
		in[l4 + 5] = ulen;
		snprintf(what, sizeof(what), "UDP length %u", ulen);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	for (i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
		in[l4 + 4] = beyond[i] >> 8;
		in[l4 + 5] = beyond[i] & 0xff;
		snprintf(what, sizeof(what), "UDP length %u, 16 L4 bytes", beyond[i]);
		run_case(what, hook, in, len, NULL, 0, LB_G_PASS_MALFORMED, false);
	}
	ck_assert_uint_eq(ct_count(), 0);

	/* Length 8 and 9 with 16 L4 bytes: trailing bytes, balanced, rewritten exactly. */
	for (ulen = 8; ulen <= 9; ulen++) {
		struct pkt_spec w = rewritten(&s);
		__u8 want[PKT_MAX];

		len = pkt_build(&s, in);
		pkt_build(&w, want);
		in[l4 + 4] = want[l4 + 4] = ulen >> 8;
		in[l4 + 5] = want[l4 + 5] = ulen & 0xff;
		snprintf(what, sizeof(what), "UDP length %u, 16 L4 bytes", ulen);
		run_case(what, hook, in, len, want, len, LB_G_DNAT, false);
		ct_flush();
		s.sport++;
	}
	/* Control: the honest length. */
	run_spec("UDP length 16, 16 L4 bytes", hook, &s, true, LB_G_DNAT);
}
END_TEST

/* ---- fragments ---- */

/*
 * Every fragment, the first one included, passes untouched as pass-fragment and creates no
 * flow: MF set, a non-zero offset, both, a zero-length fragment (IP header alone), and a
 * pair whose offsets overlap. DF alone is no fragment (control: balanced).
 */
START_TEST(test_fragments)
{
	static const struct {
		__u8 proto;
		__u16 frag_off;
		const char *what;
	} frags[] = {
		{IPPROTO_TCP, 0x2000, "TCP SYN, MF, offset 0"},
		{IPPROTO_TCP, 0x0003, "TCP, offset 24"},
		{IPPROTO_TCP, 0x2003, "TCP, MF, offset 24"},
		{IPPROTO_TCP, 0x1fff, "TCP, offset 65528"},
		{IPPROTO_TCP, 0x6000, "TCP, DF and MF"},
		{IPPROTO_UDP, 0x2000, "UDP, MF, offset 0"},
		{IPPROTO_UDP, 0x0001, "UDP, offset 8"},
	};
	enum hook hook = hooks[_i];
	struct pkt_spec s;
	__u8 in[PKT_MAX];
	size_t i, l3;

	for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		s = to_vip(frags[i].proto, (__u16)(33000 + i), F_SYN);
		s.frag_off = frags[i].frag_off;
		s.payload_len = 16;
		run_spec(frags[i].what, hook, &s, false, LB_G_PASS_FRAGMENT);
	}

	/* Zero-length fragment: offset 64, MF, nothing after the IP header. */
	s = to_vip(IPPROTO_TCP, 33100, F_SYN);
	s.frag_off = 0x2008;
	pkt_build(&s, in);
	l3 = pkt_l3_off(&s);
	ip_set16(in, l3, 2, 20, 20);
	run_case("zero-length fragment", hook, in, l3 + 20, NULL, 0, LB_G_PASS_FRAGMENT, false);

	/* Overlapping pair: [0, 24) with MF, then [8, 32): both untouched. */
	s = to_vip(IPPROTO_TCP, 33200, F_SYN);
	s.ip_id = 0x4242;
	s.payload_len = 4;
	s.frag_off = 0x2000;
	run_spec("overlapping pair, first", hook, &s, false, LB_G_PASS_FRAGMENT);
	s.frag_off = 0x0001;
	s.payload_len = 4;
	run_spec("overlapping pair, second", hook, &s, false, LB_G_PASS_FRAGMENT);
	ck_assert_uint_eq(ct_count(), 0);

	/* Control: DF is not a fragment. */
	s = to_vip(IPPROTO_TCP, 33300, F_SYN);
	s.frag_off = 0x4000;
	run_spec("TCP SYN, DF", hook, &s, true, LB_G_DNAT);
}
END_TEST

/* ---- VLAN stacks and IP options ---- */

/*
 * Three VLAN tags: lb_parse follows two, finds a third TPID where IPv4 should be and
 * passes the frame untouched as pass-not-ip.
 */
START_TEST(test_three_vlan_tags)
{
	static const __u16 tpids[][3] = {{ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q},
					 {ETH_P_8021Q, ETH_P_8021Q, ETH_P_8021Q},
					 {ETH_P_8021AD, ETH_P_8021AD, ETH_P_8021AD}};
	enum hook hook = hooks[_i];
	char what[64];
	size_t t;

	for (t = 0; t < sizeof(tpids) / sizeof(tpids[0]); t++) {
		struct pkt_spec s = to_vip(IPPROTO_TCP, (__u16)(34000 + t), F_SYN);
		__u8 two[PKT_MAX], in[PKT_MAX] = {};
		size_t len;

		s.vlan_tpid[0] = tpids[t][0];
		s.vlan_tpid[1] = tpids[t][1];
		len = pkt_build(&s, two);
		/* Insert the third tag (TPID, VID 300) after the second. */
		memcpy(in, two, 20);
		in[20] = tpids[t][2] >> 8;
		in[21] = tpids[t][2] & 0xff;
		in[22] = 0x01;
		in[23] = 0x2c;
		memcpy(in + 24, two + 20, len - 20);
		snprintf(what, sizeof(what), "three tags %04x/%04x/%04x", tpids[t][0], tpids[t][1],
			 tpids[t][2]);
		run_case(what, hook, in, len + 4, NULL, 0, LB_G_PASS_NOT_IP, false);
	}
	ck_assert_uint_eq(ct_count(), 0);
}
END_TEST

/*
 * The largest headers: IHL 15 (40 bytes of options), TCP data offset 15, two VLAN tags:
 * balanced, the rewrite exact (checksums over options included).
 */
START_TEST(test_max_ip_options)
{
	enum hook hook = hooks[_i];
	struct pkt_spec s = to_vip(IPPROTO_TCP, 35000, F_SYN);

	s.ihl = 15;
	run_spec("SYN with IHL 15", hook, &s, true, LB_G_DNAT);
	s.sport++;
	s.doff = 15;
	s.payload_len = 32;
	run_spec("SYN with IHL 15, doff 15, payload 32", hook, &s, true, LB_G_DNAT);
	s.sport++;
	s.vlan_tpid[0] = ETH_P_8021AD;
	s.vlan_tpid[1] = ETH_P_8021Q;
	run_spec("SYN with IHL 15, doff 15, two tags", hook, &s, true, LB_G_DNAT);
	s = to_vip(IPPROTO_UDP, 35100, 0);
	s.ihl = 15;
	s.payload_len = 20;
	run_spec("UDP with IHL 15", hook, &s, true, LB_G_DNAT);
	ck_assert_uint_eq(ct_count(), 8);
}
END_TEST

/* ---- TCP flags ---- */

/*
 * Every value of the flags byte on a fresh flow (its own client port): a SYN creates the
 * flow unless RST or FIN is set too (no stack accepts those: pass-malformed); without SYN,
 * a RST passes untouched (pass-stray-rst) and anything else is picked up. Each balanced
 * packet adds exactly its flow's two entries.
 */
START_TEST(test_every_tcp_flag_combination)
{
	enum hook hook = hooks[_i];
	size_t flows = 0;
	char what[64];
	unsigned int f;

	for (f = 0; f < 256; f++) {
		struct pkt_spec s = to_vip(IPPROTO_TCP, (__u16)(40000 + f), (__u8)f);
		bool bogus = (f & F_SYN) && (f & (F_RST | F_FIN));
		bool rewrite = !bogus && ((f & F_SYN) || !(f & F_RST));

		snprintf(what, sizeof(what), "TCP flags 0x%02x", f);
		run_spec(what, hook, &s, rewrite,
			 rewrite ? LB_G_DNAT
			 : bogus ? LB_G_PASS_MALFORMED
				 : LB_G_PASS_STRAY_RST);
		if (rewrite)
			flows++;
		ck_assert_msg(ct_count() == 2 * flows, "%s: %zu ct entries, want %zu", what,
			      ct_count(), 2 * flows);
	}
	/* 32 with SYN but neither RST nor FIN, 64 without SYN or RST. */
	ck_assert_uint_eq(flows, 96);
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 0);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("bpf-hostile");
	TCase *tc = tcase_create("hostile");
	int n = sizeof(hooks) / sizeof(hooks[0]);

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_truncated_at_every_length, 0, n);
	tcase_add_loop_test(tc, test_truncated_after_the_fixed_tcp_header, 0, n);
	tcase_add_loop_test(tc, test_bogus_ihl, 0, n);
	tcase_add_loop_test(tc, test_ihl15_short_packet, 0, n);
	tcase_add_loop_test(tc, test_ip_total_length, 0, n);
	tcase_add_loop_test(tc, test_bogus_tcp_doff, 0, n);
	tcase_add_loop_test(tc, test_bogus_udp_len, 0, n);
	tcase_add_loop_test(tc, test_fragments, 0, n);
	tcase_add_loop_test(tc, test_three_vlan_tags, 0, n);
	tcase_add_loop_test(tc, test_max_ip_options, 0, n);
	tcase_add_loop_test(tc, test_every_tcp_flag_combination, 0, n);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(hostile_suite);
}
