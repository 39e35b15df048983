// SPDX-License-Identifier: MIT
/*
 * Datapath tests through BPF_PROG_TEST_RUN, table-driven like Katran's fixtures: each case
 * is {description, map setup, packets in, expected verdicts, expected packets out}, run
 * against the real lb.bpf.o (lb_xdp_ingress for client packets, lb_tc_egress for replies).
 *
 * Expected packets come from pktbuild.c, which computes every checksum from scratch, so a
 * byte-for-byte match proves the datapath's incremental checksum updates equal a full
 * recomputation. The backend a new flow must reach is computed here with the same
 * lb_select_backend()/lb_flow_hash() the datapath compiles in (common/lb_select.h; its own
 * math is tested by test_select.c).
 *
 * Needs root (exits 77, "skipped", without it). Maps are not pinned: every run starts from
 * empty maps of its own and leaves nothing behind in /sys/fs/bpf.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dpfix.h"
#include "lb_abi.h"
#include "lb_select.h"
#include "pktbuild.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* a.b.c.d and ports in network byte order, as constant expressions for the tables. */
#define H(a, b, c, d) ((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (__u32)(d))
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define A(a, b, c, d) __builtin_bswap32(H(a, b, c, d))
#define P(port)	      __builtin_bswap16(port)
#else
#define A(a, b, c, d) H(a, b, c, d)
#define P(port)	      (port)
#endif

#define VIP    A(10, 1, 0, 1)
#define VPORT  80
#define CLIENT A(198, 51, 100, 10)
#define CPORT  40000

#define PROXY_TCP   1
#define PROXY_UDP   2
#define PROXY_OTHER 3 /* owns a catch-all route that proxy 1 must never see */

/* lb_groups keys. */
#define GK_TCP 10
#define GK_UDP 20
#define GK_A   30
#define GK_B   31
#define GK_C   32
#define GK_D   33

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* Group contents, by name; setups and map changes store them under the GK_* keys. */
enum group_def {
	G_WEB3,	   /* 50/30/20 over three backends: the usual default group */
	G_OTHER,   /* shares no backend with G_WEB3: a flow that lands here was re-balanced */
	G_UDP2,	   /* two UDP backends */
	G_ROUTE_A, /* one backend each, targets of source routes */
	G_ROUTE_B,
	G_ROUTE_C,
	G_W010,	 /* weights {0, 100, 0} */
	G_ZERO,	 /* every weight 0 */
	G_CARRY, /* one backend: searches for checksum edge cases need not track the choice */
	G_ACCEPT /* address 0: port-only rewrite, as lbd's SNI acceptor uses */
};

/* One lb_backend: a.b.c.d:port (IPv4-mapped), weight, target id; BE0: no address. */
#define BE(a, b, c, d, port, w, tid)                                        \
	{                                                                   \
		{{0, 0, LB_IP_V4MAPPED_W2, A(a, b, c, d)}}, P(port), w, tid \
	}
#define BE0(port, w, tid)              \
	{                              \
		{{0}}, P(port), w, tid \
	}

static const struct lb_group group_defs[] = {
	[G_WEB3] = {.n_backends = 3,
		    .backends = {BE(10, 2, 1, 2, 8080, 50, 1), BE(10, 2, 2, 2, 8080, 30, 2),
				 BE(10, 2, 3, 2, 8080, 20, 3)}},
	[G_OTHER] = {.n_backends = 1, .backends = {BE(10, 2, 9, 2, 9090, 100, 9)}},
	[G_UDP2] = {.n_backends = 2,
		    .backends = {BE(10, 2, 4, 2, 5353, 1, 4), BE(10, 2, 5, 2, 5353, 1, 5)}},
	[G_ROUTE_A] = {.n_backends = 1, .backends = {BE(10, 3, 1, 2, 8080, 1, 11)}},
	[G_ROUTE_B] = {.n_backends = 1, .backends = {BE(10, 3, 2, 2, 8080, 1, 12)}},
	[G_ROUTE_C] = {.n_backends = 1, .backends = {BE(10, 3, 3, 2, 8080, 1, 13)}},
	[G_W010] = {.n_backends = 3,
		    .backends = {BE(10, 2, 1, 2, 8080, 0, 1), BE(10, 2, 2, 2, 8080, 100, 2),
				 BE(10, 2, 3, 2, 8080, 0, 3)}},
	[G_ZERO] = {.n_backends = 3,
		    .backends = {BE(10, 2, 1, 2, 8080, 0, 1), BE(10, 2, 2, 2, 8080, 0, 2),
				 BE(10, 2, 3, 2, 8080, 0, 3)}},
	[G_CARRY] = {.n_backends = 1, .backends = {BE(10, 2, 255, 254, 65000, 1, 6)}},
	[G_ACCEPT] = {.n_backends = 1, .backends = {BE0(40001, 100, 7)}},
};

static void put_group(__u32 key, enum group_def def)
{
	put_group_def(key, &group_defs[def]);
}

/* ---- running one packet ---- */

static const char *const hook_name[] = {"end", "xdp", "tc", "tc ingress"};

/* Where the cases' request-direction steps run: XDP, or TC ingress (the same decisions). */
static enum hook ingress_hook = XDP;

static void use_tc_ingress(void)
{
	reset_maps();
	ingress_hook = TC_IN;
}

static const char *const gstat_name[LB_G_MAX] = {
	[LB_G_PASS_NOT_IP] = "PASS_NOT_IP",
	[LB_G_PASS_MALFORMED] = "PASS_MALFORMED",
	[LB_G_PASS_FRAGMENT] = "PASS_FRAGMENT",
	[LB_G_PASS_OTHER_L4] = "PASS_OTHER_L4",
	[LB_G_PASS_NO_LISTENER] = "PASS_NO_LISTENER",
	[LB_G_PASS_STRAY_RST] = "PASS_STRAY_RST",
	[LB_G_DNAT] = "DNAT",
	[LB_G_SNAT] = "SNAT",
	[LB_G_DROP_NO_BACKEND] = "DROP_NO_BACKEND",
	[LB_G_ERR_CT_INSERT] = "ERR_CT_INSERT",
	[LB_G_CT_REUSED] = "CT_REUSED",
	[LB_G_EVENTS_LOST] = "EVENTS_LOST",
	[LB_G_CT_CONFIRMED] = "CT_CONFIRMED",
};

/* Name of the field at byte @off of a frame built from @s, for failure messages. */
static const char *field_at(const struct pkt_spec *s, size_t off)
{
	static const char *const ip_fields[20] = {
		"IP version/IHL", "IP TOS",	 "IP total length", "IP total length",
		"IP id",	  "IP id",	 "IP frag_off",	    "IP frag_off",
		"IP TTL",	  "IP protocol", "IP checksum",	    "IP checksum",
		"IP saddr",	  "IP saddr",	 "IP saddr",	    "IP saddr",
		"IP daddr",	  "IP daddr",	 "IP daddr",	    "IP daddr",
	};
	size_t l3 = pkt_l3_off(s), l4 = pkt_l4_off(s);

	if (off < 12)
		return "MAC address";
	if (off < l3)
		return "VLAN tag or ethertype";
	if (off < l3 + 20)
		return ip_fields[off - l3];
	if (off < l4)
		return "IP options";
	off -= l4;
	if (off < 2)
		return "L4 source port";
	if (off < 4)
		return "L4 destination port";
	if (s->proto == IPPROTO_UDP)
		return off < 6 ? "UDP length" : off < 8 ? "UDP checksum" : "UDP payload";
	if (off == 16 || off == 17)
		return "TCP checksum";
	return off < 20 ? "TCP header" : "TCP options or payload";
}

/* Fail with both frames in hex and the fields whose bytes differ, named. */
static void expect_frame(const char *what, const struct pkt_spec *s, const __u8 *got,
			 size_t got_len, const __u8 *want, size_t want_len)
{
	static char hg[PKT_HEX_MAX], hw[PKT_HEX_MAX];
	size_t i, n = got_len < want_len ? got_len : want_len, used = 0;
	const char *last = NULL;
	char fields[256] = "";

	if (got_len == want_len && !memcmp(got, want, n))
		return;
	for (i = 0; i < n; i++) {
		const char *f = field_at(s, i);

		if (got[i] == want[i] || f == last || used >= sizeof(fields))
			continue;
		used += snprintf(fields + used, sizeof(fields) - used, "%s%s", last ? ", " : "", f);
		last = f;
	}
	ck_abort_msg("%s: output frame differs from the expected one (%zu bytes, want %zu) in: "
		     "%s\n got:\n%s\n want:\n%s",
		     what, got_len, want_len, last ? fields : "length only",
		     pkt_hex(got, got_len, hg), pkt_hex(want, want_len, hw));
}

/* ---- the case table ---- */

enum expect {
	OUT_SAME,   /* passed, not a byte changed */
	OUT_DROP,   /* XDP_DROP */
	OUT_DNAT,   /* destination = the backend lb_select_backend() picks from .group */
	OUT_PINNED, /* destination = the backend an earlier OUT_DNAT step of the case picked */
	OUT_SNAT,   /* source = VIP:VPORT */
};

/*
 * .gstat names the one global counter that must grow, by exactly one, while the others stay:
 * G(LB_G_x). Left 0 it follows from .out (DNAT, SNAT, DROP_NO_BACKEND; nothing for a TC
 * pass); an XDP pass must name its reason.
 */
#define G(x)   ((x) + 1)
#define G_NONE (-1)

struct step {
	enum hook hook;
	void (*before)(void); /* map changes made between two packets */
	struct pkt_spec in;
	bool from_pinned; /* a reply: its source is the backend picked earlier */
	bool to_pinned;	  /* a direct connection: its destination is that backend */
	enum expect out;
	enum group_def group; /* OUT_DNAT */
	int gstat;
};

#define MAX_STEPS 4

struct dp_case {
	const char *desc;
	void (*setup)(void);
	void (*prepare)(struct dp_case *c); /* fields found by search at run time */
	struct step steps[MAX_STEPS];
	void (*check)(const struct dp_case *c); /* post-conditions on maps and counters */
};

/* The backend the last OUT_DNAT step picked (and the one a reply comes from). */
static struct lb_backend pinned;

static void run_step(const struct dp_case *c, int idx, const struct step *st)
{
	struct pkt_spec in = st->in, want_spec;
	__u8 in_buf[PKT_MAX], out_buf[PKT_MAX], want_buf[PKT_MAX];
	__u64 g0[LB_G_MAX], g1[LB_G_MAX];
	size_t in_len, out_len = 0, want_len;
	int verdict = -1, want_verdict, gstat = st->gstat, k, err;
	enum hook hook = st->hook == XDP ? ingress_hook : st->hook;
	char what[160];

	snprintf(what, sizeof(what), "'%s' step %d (%s)", c->desc, idx + 1, hook_name[hook]);
	if (st->before)
		st->before();
	if (st->from_pinned) {
		in.saddr = lb_ip_v4(&pinned.addr);
		in.sport = ntohs(pinned.port);
	}
	if (st->to_pinned) {
		in.daddr = lb_ip_v4(&pinned.addr);
		in.dport = ntohs(pinned.port);
	}
	want_spec = in;
	switch (st->out) {
	case OUT_DNAT: {
		const struct lb_group *g = &group_defs[st->group];
		struct lb_ip fs = lb_ip_from_v4(in.saddr), fd = lb_ip_from_v4(in.daddr);
		int i = lb_select_backend(
			g, lb_flow_hash(&fs, &fd, htons(in.sport), htons(in.dport), in.proto),
			true);

		ck_assert_msg(i >= 0, "%s: test bug, group %d has no eligible backend", what,
			      st->group);
		pinned = g->backends[i];
		/* Address 0: the destination address stays, only the port changes. */
		if (lb_ip_is_zero(&pinned.addr))
			pinned.addr = lb_ip_from_v4(in.daddr);
	}
		/* fall through */
	case OUT_PINNED:
		want_spec.daddr = lb_ip_v4(&pinned.addr);
		want_spec.dport = ntohs(pinned.port);
		break;
	case OUT_SNAT:
		want_spec.saddr = VIP;
		want_spec.sport = VPORT;
		break;
	default:
		break;
	}
	if (!gstat) {
		ck_assert_msg(st->hook == TC || st->out != OUT_SAME,
			      "%s: test bug, an XDP pass must name its counter", what);
		gstat = st->out == OUT_SNAT   ? G(LB_G_SNAT)
			: st->out == OUT_DROP ? G(LB_G_DROP_NO_BACKEND)
			: st->out == OUT_SAME ? G_NONE
					      : G(LB_G_DNAT);
	}
	if (hook == XDP)
		want_verdict = st->out == OUT_DROP ? XDP_DROP : XDP_PASS;
	else
		want_verdict = st->out == OUT_DROP ? TC_ACT_SHOT : TC_ACT_OK;

	/*
	 * BPF_PROG_TEST_RUN refuses an skb whose IPv4 header is cut short (it pulls the header
	 * first), so those frames can only be sent to XDP; the parser they test is shared.
	 */
	if (hook == TC_IN && in.truncate && in.ethertype == 0 && in.truncate < pkt_l3_off(&in) + 20)
		return;
	in_len = pkt_build(&in, in_buf);
	want_len = pkt_build(&want_spec, want_buf);
	gstats_get(g0);
	err = run_prog(hook, in_buf, in_len, out_buf, &out_len, &verdict);
	ck_assert_msg(!err, "%s: BPF_PROG_TEST_RUN failed: %s", what, strerror(-err));
	gstats_get(g1);

	ck_assert_msg(verdict == want_verdict, "%s: verdict %d, want %d", what, verdict,
		      want_verdict);
	if (st->out != OUT_DROP)
		expect_frame(what, &want_spec, out_buf, out_len,
			     st->out == OUT_SAME ? in_buf : want_buf,
			     st->out == OUT_SAME ? in_len : want_len);
	for (k = 0; k < LB_G_MAX; k++) {
		__u64 want = gstat == G(k) ? 1 : 0;

		/* A second count of some DNATs, the client's confirmation: test_conntrack.c. */
		if (k == LB_G_CT_CONFIRMED)
			continue;
		ck_assert_msg(g1[k] - g0[k] == want,
			      "%s: global counter %s grew by %llu, want %llu", what, gstat_name[k],
			      (unsigned long long)(g1[k] - g0[k]), (unsigned long long)want);
	}
}

static void run_case(const struct dp_case *tmpl)
{
	struct dp_case c = *tmpl;
	int i;

	memset(&pinned, 0, sizeof(pinned));
	if (c.setup)
		c.setup();
	if (c.prepare)
		c.prepare(&c);
	for (i = 0; i < MAX_STEPS && c.steps[i].hook != HOOK_END; i++)
		run_step(&c, i, &c.steps[i]);
	if (c.check)
		c.check(&c);
}

/* ---- setups and map changes ---- */

/* A TCP listener on VIP:80 balancing over G_WEB3. */
static void setup_tcp(void)
{
	put_listener(VIP, VPORT, LB_PROTO_TCP, PROXY_TCP, GK_TCP, 0);
	put_group(GK_TCP, G_WEB3);
}

/* A listener whose group is lbd's SNI acceptor: backend address 0, port 40001. */
static void setup_acceptor(void)
{
	put_listener(VIP, VPORT, LB_PROTO_TCP, PROXY_TCP, GK_TCP, 0);
	put_group(GK_TCP, G_ACCEPT);
}

/* setup_tcp() and a UDP listener on the same VIP:80 (another proxy) over G_UDP2. */
static void setup_udp(void)
{
	setup_tcp();
	put_listener(VIP, VPORT, LB_PROTO_UDP, PROXY_UDP, GK_UDP, 0);
	put_group(GK_UDP, G_UDP2);
}

/*
 * Source routes of proxy 1: 10.1.0.0/16 -> A, 10.1.0.0/24 -> B, 10.1.0.8/32 -> D (G_OTHER),
 * default G_WEB3. Proxy 3 has 192.0.2.0/24 and 0.0.0.0/0 -> C: if one of those matched a
 * client of proxy 1, the proxy id would not be part of the match.
 */
static void setup_routes(void)
{
	put_listener(VIP, VPORT, LB_PROTO_TCP, PROXY_TCP, GK_TCP, LB_LISTEN_F_HAS_ROUTES);
	put_group(GK_TCP, G_WEB3);
	put_group(GK_A, G_ROUTE_A);
	put_group(GK_B, G_ROUTE_B);
	put_group(GK_C, G_ROUTE_C);
	put_group(GK_D, G_OTHER);
	put_route(PROXY_TCP, A(10, 1, 0, 0), 16, GK_A);
	put_route(PROXY_TCP, A(10, 1, 0, 0), 24, GK_B);
	put_route(PROXY_TCP, A(10, 1, 0, 8), 32, GK_D);
	put_route(PROXY_OTHER, A(192, 0, 2, 0), 24, GK_C);
	put_route(PROXY_OTHER, A(0, 0, 0, 0), 0, GK_C);
}

static void setup_zero(void)
{
	put_listener(VIP, VPORT, LB_PROTO_TCP, PROXY_TCP, GK_TCP, 0);
	put_group(GK_TCP, G_ZERO);
}

static void setup_carry(void)
{
	put_listener(VIP, VPORT, LB_PROTO_TCP, PROXY_TCP, GK_TCP, 0);
	put_listener(VIP, VPORT, LB_PROTO_UDP, PROXY_UDP, GK_UDP, 0);
	put_group(GK_TCP, G_CARRY);
	put_group(GK_UDP, G_CARRY);
}

static void change_group_to_other(void)
{
	put_group(GK_TCP, G_OTHER);
}

static void flush_ct(void)
{
	ct_flush();
}

/* ---- searches for checksum edge cases ---- */

/* The checksum field of the frame built from @s (TCP or UDP), in host order. */
static __u16 built_l4_check(const struct pkt_spec *s)
{
	__u8 buf[PKT_MAX];
	__u16 check;

	pkt_build(s, buf);
	memcpy(&check, buf + pkt_l4_off(s) + (s->proto == IPPROTO_TCP ? 16 : 6), sizeof(check));
	return ntohs(check);
}

/*
 * A port for @s at @port (sport or dport of @s) that makes its UDP checksum compute to 0,
 * sent as 0xffff: the builder never writes 0xffff otherwise (a full sum over non-zero data
 * folds to 1..0xffff). The checksum is linear in the port, so such a port always exists.
 */
static __u16 port_for_udp_ffff(struct pkt_spec *s, __u16 *port)
{
	__u32 p;

	for (p = 1024; p <= 0xffff; p++) {
		*port = p;
		if (built_l4_check(s) == 0xffff)
			return p;
	}
	ck_abort_msg("no port makes the UDP checksum compute to 0");
	return 0;
}

/* DNAT to a UDP checksum that must become 0xffff: search the client port. */
static void prepare_udp_ffff_dnat(struct dp_case *c)
{
	const struct lb_backend *b = &group_defs[G_CARRY].backends[0];
	struct pkt_spec out = c->steps[0].in;

	out.daddr = lb_ip_v4(&b->addr);
	out.dport = ntohs(b->port);
	c->steps[0].in.sport = port_for_udp_ffff(&out, &out.sport);
}

/* A UDP datagram whose own checksum computed to 0 (sent as 0xffff): search the client port. */
static void prepare_udp_ffff_input(struct dp_case *c)
{
	struct pkt_spec *in = &c->steps[0].in;

	in->sport = port_for_udp_ffff(in, &in->sport);
}

/* SNAT of a reply to a UDP checksum that must become 0xffff: search the client port. */
static void prepare_udp_ffff_snat(struct dp_case *c)
{
	struct pkt_spec out = c->steps[1].in;
	__u16 port;

	out.saddr = VIP;
	out.sport = VPORT;
	port = port_for_udp_ffff(&out, &out.dport);
	c->steps[0].in.sport = port;
	c->steps[1].in.dport = port;
}

/*
 * Whether the datapath's RFC 1624 update ~(~HC + ~m + m') of the checksum at @check_at for a
 * 32-bit field going from @from to @to needs its second fold: the first fold of the 32-bit
 * sum itself carries out of bit 15, and an implementation folding once would lose that
 * carry and be off by one. The operands are taken as the datapath loads them (raw packet
 * bytes in host order): where carries happen depends on that byte order.
 */
static bool needs_second_fold(const __u8 *check_at, __be32 from, __be32 to)
{
	__u16 check;
	__u32 s;

	memcpy(&check, check_at, sizeof(check));
	s = (__u16)~check;
	s += (~from & 0xffff) + (~from >> 16);
	s += (to & 0xffff) + (to >> 16);
	return (s & 0xffff) + (s >> 16) > 0xffff;
}

/* A SYN whose IP and TCP checksum updates both need the end-around carry twice. */
static void prepare_carry_dnat(struct dp_case *c)
{
	struct pkt_spec *in = &c->steps[0].in;
	__be32 to = lb_ip_v4(&group_defs[G_CARRY].backends[0].addr);
	__u8 buf[PKT_MAX];
	bool ip_ok = false, tcp_ok = false;
	__u32 v;

	/* The IP checksum depends on the id but not the ports, the TCP one the other way. */
	for (v = 1; v <= 0xffff && !ip_ok; v++) {
		in->ip_id = v;
		pkt_build(in, buf);
		ip_ok = needs_second_fold(buf + pkt_l3_off(in) + 10, in->daddr, to);
	}
	for (v = 1024; v <= 0xffff && !tcp_ok; v++) {
		in->sport = v;
		pkt_build(in, buf);
		tcp_ok = needs_second_fold(buf + pkt_l4_off(in) + 16, in->daddr, to);
	}
	ck_assert_msg(ip_ok && tcp_ok, "no SYN found whose checksum updates need a second fold");
}

/* ---- post-conditions ---- */

/*
 * Both conntrack entries of the flow @in (client -> VIP) to the pinned backend, as lb_abi.h
 * defines them, with the given flags.
 */
static void expect_ct(const char *desc, const struct pkt_spec *in, __u8 orig_flags,
		      __u8 reply_flags)
{
	__u32 proxy_id = in->proto == IPPROTO_UDP ? PROXY_UDP : PROXY_TCP;
	struct lb_ct_val o, r;

	ck_assert_msg(
		ct_get(LB_DIR_ORIG, in->saddr, in->daddr, in->sport, in->dport, in->proto, &o),
		"'%s': no ORIG conntrack entry (client, client port, VIP, 80)", desc);
	ck_assert_msg(ct_get(LB_DIR_REPLY, lb_ip_v4(&pinned.addr), in->saddr, ntohs(pinned.port),
			     in->sport, in->proto, &r),
		      "'%s': no REPLY conntrack entry (backend, backend port, client, client port)",
		      desc);
	ck_assert_msg(lb_ip_eq(&o.nat_addr, &pinned.addr) && o.nat_port == pinned.port,
		      "'%s': ORIG entry NATs to %08x:%u, want the backend %08x:%u", desc,
		      ntohl(lb_ip_v4(&o.nat_addr)), ntohs(o.nat_port),
		      ntohl(lb_ip_v4(&pinned.addr)), ntohs(pinned.port));
	ck_assert_msg(lb_ip_v4(&r.nat_addr) == in->daddr && lb_ip_is_v4(&r.nat_addr) &&
			      r.nat_port == htons(in->dport),
		      "'%s': REPLY entry NATs to %08x:%u, want the listener %08x:%u", desc,
		      ntohl(lb_ip_v4(&r.nat_addr)), ntohs(r.nat_port), ntohl(in->daddr), in->dport);
	/* Every flow these cases create is open, so counted in lb_lconn (lb_abi.h). */
	ck_assert_msg(o.flags & LB_CT_F_COUNTED, "'%s': ORIG flags %#x: not counted", desc,
		      o.flags);
	o.flags &= (__u8)~LB_CT_F_COUNTED;
	ck_assert_msg(o.flags == orig_flags && r.flags == reply_flags,
		      "'%s': flags ORIG %#x REPLY %#x, want %#x and %#x", desc, o.flags, r.flags,
		      orig_flags, reply_flags);
	ck_assert_msg(o.proxy_id == proxy_id && r.proxy_id == proxy_id,
		      "'%s': proxy ids ORIG %u REPLY %u, want %u", desc, o.proxy_id, r.proxy_id,
		      proxy_id);
	ck_assert_msg(o.target_id == pinned.target_id && r.target_id == pinned.target_id,
		      "'%s': target ids ORIG %u REPLY %u, want %u", desc, o.target_id, r.target_id,
		      pinned.target_id);
	ck_assert_msg(o.created_ns && o.created_ns == r.created_ns,
		      "'%s': created_ns ORIG %llu REPLY %llu, want one non-zero time", desc,
		      (unsigned long long)o.created_ns, (unsigned long long)r.created_ns);
}

static void check_ct_new(const struct dp_case *c)
{
	expect_ct(c->desc, &c->steps[0].in, 0, 0);
	ck_assert_msg(ct_count() == 2, "'%s': %zu conntrack entries, want 2", c->desc, ct_count());
}

static void check_ct_replied(const struct dp_case *c)
{
	expect_ct(c->desc, &c->steps[0].in, 0, LB_CT_F_REPLIED);
}

static void check_ct_pickup(const struct dp_case *c)
{
	expect_ct(c->desc, &c->steps[0].in, LB_CT_F_PICKUP, LB_CT_F_PICKUP);
}

/* After a reopen the ORIG entry is the new flow's, not the closed one's. */
static void check_ct_reopened(const struct dp_case *c)
{
	expect_ct(c->desc, &c->steps[0].in, 0, 0);
}

static void check_no_ct(const struct dp_case *c)
{
	ck_assert_msg(ct_count() == 0, "'%s': %zu conntrack entries, want none", c->desc,
		      ct_count());
}

static void check_drop_counted(const struct dp_case *c)
{
	struct lb_stats ps = stats_get(skel->maps.lb_pstats, PROXY_TCP);

	check_no_ct(c);
	ck_assert_msg(ps.drop_no_backend == 1 && ps.new_flows == 0 && ps.pkts_in == 0,
		      "'%s': proxy drop_no_backend %llu new_flows %llu pkts_in %llu, want 1 0 0",
		      c->desc, (unsigned long long)ps.drop_no_backend,
		      (unsigned long long)ps.new_flows, (unsigned long long)ps.pkts_in);
}

/* Packets and IPv4 total-length bytes per direction, per proxy and per target. */
static void check_counters(const struct dp_case *c)
{
	__u64 pkts[2] = {}, bytes[2] = {};
	struct lb_stats got[2];
	__u8 buf[PKT_MAX];
	int i, j;

	for (i = 0; i < MAX_STEPS && c->steps[i].hook != HOOK_END; i++) {
		const struct pkt_spec *s = &c->steps[i].in;
		int dir = c->steps[i].hook == TC;

		pkts[dir]++;
		bytes[dir] += pkt_build(s, buf) - pkt_l3_off(s);
	}
	got[0] = stats_get(skel->maps.lb_pstats, PROXY_TCP);
	got[1] = stats_get(skel->maps.lb_tstats, pinned.target_id);
	for (j = 0; j < 2; j++) {
		const struct lb_stats *g = &got[j];

		ck_assert_msg(g->pkts_in == pkts[0] && g->bytes_in == bytes[0] &&
				      g->pkts_out == pkts[1] && g->bytes_out == bytes[1] &&
				      g->new_flows == 1,
			      "'%s': %s counters in %llu/%llu out %llu/%llu new %llu, want in "
			      "%llu/%llu out %llu/%llu new 1",
			      c->desc, j ? "target" : "proxy", (unsigned long long)g->pkts_in,
			      (unsigned long long)g->bytes_in, (unsigned long long)g->pkts_out,
			      (unsigned long long)g->bytes_out, (unsigned long long)g->new_flows,
			      (unsigned long long)pkts[0], (unsigned long long)bytes[0],
			      (unsigned long long)pkts[1], (unsigned long long)bytes[1]);
	}
}

/* ---- the cases ---- */

#define PKT(proto_, saddr_, daddr_, sport_, dport_, flags_, ...)                            \
	{                                                                                   \
		.proto = (proto_), .saddr = (saddr_), .daddr = (daddr_), .sport = (sport_), \
		.dport = (dport_), .tcp_flags = (flags_), __VA_ARGS__                       \
	}
/* Client -> VIP:80, a SYN or any other TCP segment. */
#define TCP_IN(flags, ...) PKT(IPPROTO_TCP, CLIENT, VIP, CPORT, VPORT, flags, __VA_ARGS__)
/* Client -> VIP:80, a datagram. */
#define UDP_IN(...) PKT(IPPROTO_UDP, CLIENT, VIP, CPORT, VPORT, 0, .payload_len = 24, __VA_ARGS__)
/* Backend -> client: .from_pinned fills in the source, the backend picked earlier. */
#define TCP_REPLY(flags, ...) PKT(IPPROTO_TCP, 0, CLIENT, 0, CPORT, flags, __VA_ARGS__)
/* The same for a datagram. */
#define UDP_REPLY(...) PKT(IPPROTO_UDP, 0, CLIENT, 0, CPORT, 0, .payload_len = 40, __VA_ARGS__)

/* Steps used over and over. */
#define SYN_DNAT(g)                                                             \
	{                                                                       \
		.hook = XDP, .in = TCP_IN(F_SYN), .out = OUT_DNAT, .group = (g) \
	}
#define XDP_PASS_AS(pkt, counter)                                            \
	{                                                                    \
		.hook = XDP, .in = pkt, .out = OUT_SAME, .gstat = G(counter) \
	}

static const struct dp_case cases[] = {
	/* New flows, conntrack, replies. */
	{.desc = "tcp syn to the vip: dnat to the selected backend, both conntrack entries",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3)},
	 .check = check_ct_new},
	{.desc = "established flow: the ack keeps its backend after the group changed",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP,
		    .before = change_group_to_other,
		    .in = TCP_IN(F_ACK, .payload_len = 64),
		    .out = OUT_PINNED}}},
	{.desc = "syn retransmission keeps its backend after the group changed",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP,
		    .before = change_group_to_other,
		    .in = TCP_IN(F_SYN),
		    .out = OUT_PINNED}}},
	{.desc = "reply snat by tc egress: the backend's source becomes vip:80",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = TC,
		    .in = TCP_REPLY(F_SYN | F_ACK),
		    .from_pinned = true,
		    .out = OUT_SNAT}},
	 .check = check_ct_replied},
	{.desc = "reply without conntrack passes tc egress untouched",
	 .setup = setup_tcp,
	 .steps = {{.hook = TC,
		    .in = PKT(IPPROTO_TCP, A(10, 2, 1, 2), CLIENT, 8080, CPORT, F_SYN | F_ACK),
		    .out = OUT_SAME}},
	 .check = check_no_ct},
	{.desc = "udp new flow and its reply",
	 .setup = setup_udp,
	 .steps = {{.hook = XDP, .in = UDP_IN(), .out = OUT_DNAT, .group = G_UDP2},
		   {.hook = TC, .in = UDP_REPLY(), .from_pinned = true, .out = OUT_SNAT}},
	 .check = check_ct_replied},
	{.desc = "udp checksum 0 (none) stays 0 in both directions",
	 .setup = setup_udp,
	 .steps = {{.hook = XDP,
		    .in = UDP_IN(.udp_no_csum = true),
		    .out = OUT_DNAT,
		    .group = G_UDP2},
		   {.hook = TC,
		    .in = UDP_REPLY(.udp_no_csum = true),
		    .from_pinned = true,
		    .out = OUT_SNAT}}},
	{.desc = "udp checksum updated to 0 is sent as 0xffff (xdp dnat)",
	 .setup = setup_carry,
	 .prepare = prepare_udp_ffff_dnat,
	 .steps = {{.hook = XDP, .in = UDP_IN(), .out = OUT_DNAT, .group = G_CARRY}}},
	{.desc = "udp checksum updated to 0 is sent as 0xffff (tc snat)",
	 .setup = setup_carry,
	 .prepare = prepare_udp_ffff_snat,
	 .steps = {{.hook = XDP, .in = UDP_IN(), .out = OUT_DNAT, .group = G_CARRY},
		   {.hook = TC, .in = UDP_REPLY(), .from_pinned = true, .out = OUT_SNAT}}},
	{.desc = "udp checksum 0xffff (a computed 0) in the input is updated like any other",
	 .setup = setup_carry,
	 .prepare = prepare_udp_ffff_input,
	 .steps = {{.hook = XDP, .in = UDP_IN(), .out = OUT_DNAT, .group = G_CARRY}}},
	{.desc = "ip and tcp checksum updates whose end-around carry needs a second fold",
	 .setup = setup_carry,
	 .prepare = prepare_carry_dnat,
	 .steps = {SYN_DNAT(G_CARRY)}},

	{.desc = "802.1q-tagged reply: snat, tag preserved",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = TC,
		    .in = TCP_REPLY(F_SYN | F_ACK, .vlan_tpid = {ETH_P_8021Q}),
		    .from_pinned = true,
		    .out = OUT_SNAT}}},
	{.desc = "reply with ip options (ihl 15): snat at the right offsets",
	 .setup = setup_udp,
	 .steps = {{.hook = XDP, .in = UDP_IN(), .out = OUT_DNAT, .group = G_UDP2},
		   {.hook = TC, .in = UDP_REPLY(.ihl = 15), .from_pinned = true, .out = OUT_SNAT}}},
	{.desc = "reply fragment passes tc egress untouched",
	 .setup = setup_udp,
	 .steps = {{.hook = XDP, .in = UDP_IN(), .out = OUT_DNAT, .group = G_UDP2},
		   {.hook = TC,
		    .in = UDP_REPLY(.frag_off = 0x2000),
		    .from_pinned = true,
		    .out = OUT_SAME}}},

	/* Not load-balanced: passed with not a byte changed. */
	{.desc = "other destination address passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(PKT(IPPROTO_TCP, CLIENT, A(10, 1, 0, 2), CPORT, VPORT, F_SYN),
			       LB_G_PASS_NO_LISTENER)},
	 .check = check_no_ct},
	{.desc = "other destination port passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(PKT(IPPROTO_TCP, CLIENT, VIP, CPORT, 443, F_SYN),
			       LB_G_PASS_NO_LISTENER)},
	 .check = check_no_ct},
	{.desc = "udp to a tcp-only listener passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(UDP_IN(), LB_G_PASS_NO_LISTENER)},
	 .check = check_no_ct},
	{.desc = "icmp to the vip passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(PKT(IPPROTO_ICMP, CLIENT, VIP, 0, 0, 0, .payload_len = 32),
			       LB_G_PASS_OTHER_L4)}},
	{.desc = "arp passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(PKT(0, CLIENT, VIP, 0, 0, 0, .ethertype = ETH_P_ARP),
			       LB_G_PASS_NOT_IP)}},
	{.desc = "ipv6 tcp syn to port 80 of an IPv4-only listener passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(PKT(IPPROTO_TCP, 0, 0, CPORT, VPORT, F_SYN, .ethertype = ETH_P_IPV6),
			       LB_G_PASS_NO_LISTENER)}},
	{.desc = "802.1q-tagged ipv6 to an IPv4-only listener passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(PKT(IPPROTO_TCP, 0, 0, CPORT, VPORT, F_SYN, .ethertype = ETH_P_IPV6,
				   .vlan_tpid = {ETH_P_8021Q}),
			       LB_G_PASS_NO_LISTENER)}},

	/* Parsing: tags, options, fragments, truncation, bogus lengths. */
	{.desc = "802.1q-tagged syn: dnat, tag preserved",
	 .setup = setup_tcp,
	 .steps = {{.hook = XDP,
		    .in = TCP_IN(F_SYN, .vlan_tpid = {ETH_P_8021Q}),
		    .out = OUT_DNAT,
		    .group = G_WEB3}}},
	{.desc = "802.1ad + 802.1q tagged syn: dnat, both tags preserved",
	 .setup = setup_tcp,
	 .steps = {{.hook = XDP,
		    .in = TCP_IN(F_SYN, .vlan_tpid = {ETH_P_8021AD, ETH_P_8021Q}),
		    .out = OUT_DNAT,
		    .group = G_WEB3}}},
	{.desc = "ipv4 options (ihl 8): ports found after them, options preserved",
	 .setup = setup_tcp,
	 .steps = {{.hook = XDP,
		    .in = TCP_IN(F_SYN, .ihl = 8, .payload_len = 16),
		    .out = OUT_DNAT,
		    .group = G_WEB3}}},
	{.desc = "ipv4 options (ihl 15): ports found after them, options preserved",
	 .setup = setup_udp,
	 .steps = {{.hook = XDP, .in = UDP_IN(.ihl = 15), .out = OUT_DNAT, .group = G_UDP2}}},
	{.desc = "tcp options (doff 15): dnat, options preserved",
	 .setup = setup_tcp,
	 .steps = {{.hook = XDP,
		    .in = TCP_IN(F_SYN, .doff = 15),
		    .out = OUT_DNAT,
		    .group = G_WEB3}}},
	{.desc = "don't-fragment syn is no fragment: dnat",
	 .setup = setup_tcp,
	 .steps = {{.hook = XDP,
		    .in = TCP_IN(F_SYN, .frag_off = 0x4000),
		    .out = OUT_DNAT,
		    .group = G_WEB3}}},
	{.desc = "first fragment (mf set) passes untouched",
	 .setup = setup_udp,
	 .steps = {XDP_PASS_AS(UDP_IN(.frag_off = 0x2000), LB_G_PASS_FRAGMENT)},
	 .check = check_no_ct},
	{.desc = "later fragment (offset 185) passes untouched",
	 .setup = setup_udp,
	 .steps = {XDP_PASS_AS(UDP_IN(.frag_off = 185), LB_G_PASS_FRAGMENT)},
	 .check = check_no_ct},
	{.desc = "frame cut right after the ethernet header passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .truncate = 14), LB_G_PASS_MALFORMED)}},
	{.desc = "frame cut inside the vlan tag passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .vlan_tpid = {ETH_P_8021Q}, .truncate = 16),
			       LB_G_PASS_MALFORMED)}},
	{.desc = "frame cut in the ip header passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .truncate = 14 + 10), LB_G_PASS_MALFORMED)}},
	{.desc = "frame cut in the ip options passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .ihl = 15, .truncate = 14 + 40),
			       LB_G_PASS_MALFORMED)}},
	{.desc = "frame cut in the tcp header passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .truncate = 14 + 20 + 10), LB_G_PASS_MALFORMED)},
	 .check = check_no_ct},
	{.desc = "frame cut in the udp header passes untouched",
	 .setup = setup_udp,
	 .steps = {XDP_PASS_AS(UDP_IN(.truncate = 14 + 20 + 4), LB_G_PASS_MALFORMED)},
	 .check = check_no_ct},
	{.desc = "bogus ihl 4 passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .ihl = 4), LB_G_PASS_MALFORMED)}},
	{.desc = "bogus tcp data offset 4 passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_SYN, .doff = 4), LB_G_PASS_MALFORMED)},
	 .check = check_no_ct},

	/* Selection: source routes, weights, determinism. */
	{.desc = "source route: 10.1.0.7 takes the /24 (group B) over the /16",
	 .setup = setup_routes,
	 .steps = {{.hook = XDP,
		    .in = PKT(IPPROTO_TCP, A(10, 1, 0, 7), VIP, CPORT, VPORT, F_SYN),
		    .out = OUT_DNAT,
		    .group = G_ROUTE_B}}},
	{.desc = "source route: 10.1.0.8 takes its /32 host route over the /24",
	 .setup = setup_routes,
	 .steps = {{.hook = XDP,
		    .in = PKT(IPPROTO_TCP, A(10, 1, 0, 8), VIP, CPORT, VPORT, F_SYN),
		    .out = OUT_DNAT,
		    .group = G_OTHER}}},
	{.desc = "source route: 10.1.5.7 takes the /16 (group A)",
	 .setup = setup_routes,
	 .steps = {{.hook = XDP,
		    .in = PKT(IPPROTO_TCP, A(10, 1, 5, 7), VIP, CPORT, VPORT, F_SYN),
		    .out = OUT_DNAT,
		    .group = G_ROUTE_A}}},
	{.desc = "source route: 192.0.2.1 takes the default group, another proxy's routes ignored",
	 .setup = setup_routes,
	 .steps = {{.hook = XDP,
		    .in = PKT(IPPROTO_TCP, A(192, 0, 2, 1), VIP, CPORT, VPORT, F_SYN),
		    .out = OUT_DNAT,
		    .group = G_WEB3}}},
	{.desc = "same flow, same backend after its conntrack entries were lost",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP, .before = flush_ct, .in = TCP_IN(F_SYN), .out = OUT_PINNED}},
	 .check = check_ct_new},
	{.desc = "every weight 0: the syn is dropped and counted",
	 .setup = setup_zero,
	 .steps = {{.hook = XDP, .in = TCP_IN(F_SYN), .out = OUT_DROP}},
	 .check = check_drop_counted},

	/* TCP life cycle without a SYN seen, and after a close. */
	{.desc = "client reopen after fin: the new syn is balanced afresh",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP, .in = TCP_IN(F_FIN | F_ACK), .out = OUT_PINNED},
		   {.hook = XDP,
		    .before = change_group_to_other,
		    .in = TCP_IN(F_SYN),
		    .out = OUT_DNAT,
		    .group = G_OTHER}},
	 .check = check_ct_reopened},
	{.desc = "client reopen after rst: the new syn is balanced afresh",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP, .in = TCP_IN(F_RST | F_ACK), .out = OUT_PINNED},
		   {.hook = XDP,
		    .before = change_group_to_other,
		    .in = TCP_IN(F_SYN),
		    .out = OUT_DNAT,
		    .group = G_OTHER}},
	 .check = check_ct_reopened},
	{.desc = "a direct syn reusing a closed flow's backend 4-tuple drops that flow's entries",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = TC,
		    .in = TCP_REPLY(F_FIN | F_ACK),
		    .from_pinned = true,
		    .out = OUT_SNAT},
		   {.hook = XDP,
		    .in =
			    TCP_IN(F_SYN),
		    .to_pinned = true,
		    .out = OUT_SAME,
		    .gstat = G(LB_G_CT_REUSED)}},
	 .check = check_no_ct},
	{.desc = "a direct syn to a backend of an open flow leaves that flow alone",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP,
		    .in = TCP_IN(F_SYN),
		    .to_pinned = true,
		    .out = OUT_SAME,
		    .gstat = G(LB_G_PASS_NO_LISTENER)}},
	 .check = check_ct_new},
	{.desc = "backend address 0 rewrites only the port (the sni acceptor), reply snat back",
	 .setup = setup_acceptor,
	 .steps = {SYN_DNAT(G_ACCEPT),
		   {.hook = TC,
		    .in = TCP_REPLY(F_SYN | F_ACK),
		    .from_pinned = true,
		    .out = OUT_SNAT},
		   {.hook = XDP, .in = TCP_IN(F_ACK), .out = OUT_PINNED}}},
	{.desc = "mid-stream ack without conntrack is picked up",
	 .setup = setup_tcp,
	 .steps = {{.hook = XDP,
		    .in = TCP_IN(F_ACK, .payload_len = 100),
		    .out = OUT_DNAT,
		    .group = G_WEB3}},
	 .check = check_ct_pickup},
	{.desc = "rst without conntrack passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_RST), LB_G_PASS_STRAY_RST)},
	 .check = check_no_ct},
	{.desc = "rst+ack without conntrack passes untouched",
	 .setup = setup_tcp,
	 .steps = {XDP_PASS_AS(TCP_IN(F_RST | F_ACK), LB_G_PASS_STRAY_RST)},
	 .check = check_no_ct},

	/* Counters. */
	{.desc = "proxy and target counters: packets and ip total length, both directions",
	 .setup = setup_tcp,
	 .steps = {SYN_DNAT(G_WEB3),
		   {.hook = XDP, .in = TCP_IN(F_ACK, .payload_len = 100), .out = OUT_PINNED},
		   {.hook = XDP,
		    .in = TCP_IN(F_PSH | F_ACK, .payload_len = 300),
		    .out = OUT_PINNED},
		   {.hook = TC,
		    .in = TCP_REPLY(F_ACK, .payload_len = 200),
		    .from_pinned = true,
		    .out = OUT_SNAT}},
	 .check = check_counters},
};

START_TEST(test_case)
{
	run_case(&cases[_i]);
}
END_TEST

/* ---- selection over many flows ---- */

/* xorshift32: deterministic and good enough to scatter ports. */
static __u32 rnd_state = 0x2545f491;

static __u32 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Weights {0, 100, 0}: 2000 SYNs of different flows all reach backend 1. */
START_TEST(test_weight0_never_chosen)
{
	const struct lb_backend *only = &group_defs[G_W010].backends[1];
	struct dp_case c = {.desc = "weights {0,100,0}"};
	struct step st = SYN_DNAT(G_W010);
	int i;

	put_listener(VIP, VPORT, LB_PROTO_TCP, PROXY_TCP, GK_TCP, 0);
	put_group(GK_TCP, G_W010);
	for (i = 0; i < 2000; i++) {
		/* 7919 is prime to 64512: 2000 distinct ports spread over the whole range. */
		st.in.sport = 1024 + (__u32)i * 7919 % 64512;
		/*
		 * run_step() proves the datapath chose what lb_select_backend() chooses; this
		 * proves that choice is the one backend of non-zero weight.
		 */
		run_step(&c, i, &st);
		ck_assert_msg(lb_ip_eq(&pinned.addr, &only->addr),
			      "client port %u went to %08x, a backend of weight 0", st.in.sport,
			      ntohl(lb_ip_v4(&pinned.addr)));
	}
}
END_TEST

/* 10000 new flows over weights 50/30/20: each share within 3 percentage points. */
START_TEST(test_distribution)
{
	const struct lb_group *g = &group_defs[G_WEB3];
	struct dp_case c = {.desc = "distribution 50/30/20"};
	struct step st = SYN_DNAT(G_WEB3);
	unsigned int count[LB_MAX_TARGETS_PER_GROUP] = {}, total_w = 0;
	const int n = 10000;
	__u32 i, b;

	setup_tcp();
	for (b = 0; b < g->n_backends; b++)
		total_w += g->backends[b].weight;
	for (i = 0; i < (__u32)n; i++) {
		/* A client address per flow keeps the flows distinct whatever the ports. */
		st.in.saddr = A(198, 18, i >> 8, i & 0xff);
		st.in.sport = 1024 + rnd() % 64512;
		run_step(&c, i, &st);
		for (b = 0; b < g->n_backends; b++)
			if (lb_ip_eq(&pinned.addr, &g->backends[b].addr))
				count[b]++;
	}
	for (b = 0; b < g->n_backends; b++) {
		double got = 100.0 * count[b] / n, want = 100.0 * g->backends[b].weight / total_w;

		ck_assert_msg(got > want - 3 && got < want + 3,
			      "backend %u (weight %u) got %.1f%% of %d flows, want %.0f%% +- 3", b,
			      g->backends[b].weight, got, n, want);
	}
}
END_TEST

static Suite *datapath_suite(void)
{
	Suite *s = suite_create("bpf-datapath");
	TCase *tc;

	tc = tcase_create("fixtures");
	tcase_add_checked_fixture(tc, reset_maps, NULL);
	tcase_add_loop_test(tc, test_case, 0, N(cases));
	suite_add_tcase(s, tc);

	/* The same cases with the request direction at TC ingress. */
	tc = tcase_create("fixtures-tc-ingress");
	tcase_add_checked_fixture(tc, use_tc_ingress, NULL);
	tcase_add_loop_test(tc, test_case, 0, N(cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("selection");
	tcase_add_checked_fixture(tc, reset_maps, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_weight0_never_chosen);
	tcase_add_test(tc, test_distribution);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(datapath_suite);
}
