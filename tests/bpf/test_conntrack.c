// SPDX-License-Identifier: MIT
/*
 * The two conntrack tables through BPF_PROG_TEST_RUN: a new flow lives in lb_syn until its
 * client confirms it (the handshake's ACK, a second datagram), then moves to lb_ct with
 * its counters; a flood of SYNs from spoofed sources fills only lb_syn, so every
 * established flow in lb_ct survives it; and a real client whose unconfirmed flow the
 * flood pushed out still reaches the same backend (picked up by its ACK).
 *
 * lb_syn is made small here (SYN_ENTRIES) so a flood fills it many times over.
 * Needs root (exits 77, "skipped", without it).
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "lb_select.h"
#include "pktbuild.h"

#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

#define PROXY	    1
#define GROUP	    10
#define VPORT	    80
#define BPORT	    8080
#define SYN_ENTRIES 512 /* 256 unconfirmed flows */
#define ESTABLISHED 200
#define FLOOD	    20000

static __be32 vip;
static struct lb_group group;

static void setup(void)
{
	vip = IP(10, 1, 0, 1);
	reset_maps();
	three_backends(&group, BPORT);
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	put_group_def(GROUP, &group);
}

/* The backend lb_select_backend() gives this client's flow. */
static const struct lb_backend *backend_of(__be32 client, __u16 sport)
{
	struct lb_ip c = lb_ip_from_v4(client), v = lb_ip_from_v4(vip);
	int i = lb_select_backend(
		&group, lb_flow_hash(&c, &v, htons(sport), htons(VPORT), LB_PROTO_TCP), true);

	ck_assert_int_ge(i, 0);
	return &group.backends[i];
}

/* One client segment to the VIP through XDP; returns the destination it left with. */
static __be32 client_seg(__be32 client, __u16 sport, __u8 flags)
{
	struct pkt_spec s = {.proto = IPPROTO_TCP,
			     .tcp_flags = flags,
			     .saddr = client,
			     .daddr = vip,
			     .sport = sport,
			     .dport = VPORT};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len;
	__be32 daddr;
	int verdict;

	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_int_eq(verdict, XDP_PASS);
	memcpy(&daddr, out + pkt_l3_off(&s) + 16, sizeof(daddr)); /* IPv4 destination */
	return daddr;
}

/* The backend's segment to the client through TC egress; returns the source it left with. */
static __be32 backend_seg(__be32 client, __u16 sport, __u8 flags)
{
	const struct lb_backend *b = backend_of(client, sport);
	struct pkt_spec s = {.proto = IPPROTO_TCP,
			     .tcp_flags = flags,
			     .saddr = lb_ip_v4(&b->addr),
			     .daddr = client,
			     .sport = BPORT,
			     .dport = sport};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len;
	__be32 saddr;
	int verdict;

	ck_assert_int_eq(run_prog(TC, in, len, out, &out_len, &verdict), 0);
	memcpy(&saddr, out + pkt_l3_off(&s) + 12, sizeof(saddr)); /* IPv4 source */
	return saddr;
}

static bool in_map(struct bpf_map *map, __be32 client, __u16 sport)
{
	struct lb_ct_key k = {.saddr = lb_ip_from_v4(client),
			      .daddr = lb_ip_from_v4(vip),
			      .sport = htons(sport),
			      .dport = htons(VPORT),
			      .proto = LB_PROTO_TCP,
			      .dir = LB_DIR_ORIG};
	struct lb_ct_val v;

	return bpf_map_lookup_elem(map_fd(map), &k, &v) == 0;
}

static __u64 confirmed(void)
{
	__u64 g[LB_G_MAX];

	gstats_get(g);
	return g[LB_G_CT_CONFIRMED];
}

/* A whole handshake: the flow is in lb_ct afterwards. */
static void handshake(__be32 client, __u16 sport)
{
	ck_assert_uint_eq(client_seg(client, sport, F_SYN),
			  lb_ip_v4(&backend_of(client, sport)->addr));
	ck_assert_uint_eq(backend_seg(client, sport, F_SYN | F_ACK), vip);
	ck_assert_uint_eq(client_seg(client, sport, F_ACK),
			  lb_ip_v4(&backend_of(client, sport)->addr));
}

START_TEST(test_confirmed_by_the_handshake_ack)
{
	__be32 c = IP(198, 51, 100, 7);
	struct lb_ct_val o, r;

	skel->bss->lb_events_on = 1; /* stats on: the entries count their packets */
	client_seg(c, 40000, F_SYN);
	ck_assert(in_map(skel->maps.lb_syn, c, 40000) && !in_map(skel->maps.lb_ct, c, 40000));
	/* A retransmitted SYN and the SYN-ACK do not confirm it. */
	client_seg(c, 40000, F_SYN);
	ck_assert_uint_eq(backend_seg(c, 40000, F_SYN | F_ACK), vip);
	ck_assert(in_map(skel->maps.lb_syn, c, 40000));
	ck_assert_uint_eq(confirmed(), 0);
	/* The client's ACK does: both entries move, with what they counted. */
	ck_assert_uint_eq(client_seg(c, 40000, F_ACK), lb_ip_v4(&backend_of(c, 40000)->addr));
	ck_assert(!in_map(skel->maps.lb_syn, c, 40000) && in_map(skel->maps.lb_ct, c, 40000));
	ck_assert_uint_eq(map_count(skel->maps.lb_syn), 0);
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 2);
	ck_assert_uint_eq(confirmed(), 1);
	ck_assert(ct_get(LB_DIR_ORIG, c, vip, 40000, VPORT, LB_PROTO_TCP, &o));
	ck_assert(ct_get(LB_DIR_REPLY, lb_ip_v4(&backend_of(c, 40000)->addr), c, BPORT, 40000,
			 LB_PROTO_TCP, &r));
	ck_assert_uint_eq(o.pkts, 3);
	ck_assert_uint_eq(r.pkts, 1);
	ck_assert(r.flags & LB_CT_F_REPLIED);
}
END_TEST

START_TEST(test_udp_confirmed_by_a_second_datagram)
{
	__be32 c = IP(198, 51, 100, 8);
	struct pkt_spec s = {.proto = IPPROTO_UDP,
			     .saddr = c,
			     .daddr = vip,
			     .sport = 5000,
			     .dport = VPORT,
			     .payload_len = 20};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len, out_len;
	int verdict;

	put_listener(vip, VPORT, LB_PROTO_UDP, PROXY, GROUP, 0);
	len = pkt_build(&s, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_uint_eq(map_count(skel->maps.lb_syn), 2);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_uint_eq(map_count(skel->maps.lb_syn), 0);
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 2);
}
END_TEST

/*
 * ESTABLISHED flows complete their handshakes, then FLOOD SYNs from as many spoofed
 * sources arrive: lb_syn (SYN_ENTRIES) overflows many times, lb_ct is not touched, and
 * every established flow still goes to its backend, both ways.
 */
START_TEST(test_syn_flood_spares_established_flows)
{
	__u32 i;

	for (i = 0; i < ESTABLISHED; i++)
		handshake(IP(198, 51, 100, 1), (__u16)(10000 + i));
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 2 * ESTABLISHED);
	for (i = 0; i < FLOOD; i++) {
		__be32 spoofed = IP(100, 64 + (i >> 16), (i >> 8) & 0xff, i & 0xff);

		client_seg(spoofed, (__u16)(1024 + i % 60000), F_SYN);
	}
	ck_assert_uint_le(map_count(skel->maps.lb_syn), SYN_ENTRIES);
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 2 * ESTABLISHED);
	for (i = 0; i < ESTABLISHED; i++) {
		__u16 sport = (__u16)(10000 + i);

		ck_assert_msg(client_seg(IP(198, 51, 100, 1), sport, F_ACK) ==
				      lb_ip_v4(&backend_of(IP(198, 51, 100, 1), sport)->addr),
			      "established flow %u lost its backend", i);
		ck_assert_msg(backend_seg(IP(198, 51, 100, 1), sport, F_ACK) == vip,
			      "established flow %u lost its reply translation", i);
	}
	ck_assert_uint_eq(map_count(skel->maps.lb_ct), 2 * ESTABLISHED);
}
END_TEST

/* A real client's SYN pushed out of lb_syn by a flood still connects: its ACK picks it up. */
START_TEST(test_real_client_survives_the_flood)
{
	__be32 c = IP(198, 51, 100, 9);
	struct lb_ct_val o;
	__u32 i;

	client_seg(c, 40000, F_SYN);
	ck_assert_uint_eq(backend_seg(c, 40000, F_SYN | F_ACK), vip);
	for (i = 0; i < 4 * SYN_ENTRIES; i++)
		client_seg(IP(100, 64, i >> 8, i & 0xff), (__u16)(1024 + i), F_SYN);
	ck_assert(!in_map(skel->maps.lb_syn, c, 40000));
	/* The ACK: no entry any more, the flow hash gives the same backend. */
	ck_assert_uint_eq(client_seg(c, 40000, F_ACK), lb_ip_v4(&backend_of(c, 40000)->addr));
	ck_assert(ct_get(LB_DIR_ORIG, c, vip, 40000, VPORT, LB_PROTO_TCP, &o));
	ck_assert(o.flags & LB_CT_F_PICKUP);
	/* Its first data segment confirms it. */
	ck_assert_uint_eq(client_seg(c, 40000, F_ACK), lb_ip_v4(&backend_of(c, 40000)->addr));
	ck_assert(in_map(skel->maps.lb_ct, c, 40000));
	ck_assert_uint_eq(backend_seg(c, 40000, F_ACK), vip);
}
END_TEST

/* A reset before confirmation ends the flow where it is; the same port can start again. */
START_TEST(test_reset_before_confirmation_then_reuse)
{
	__be32 c = IP(198, 51, 100, 10);

	client_seg(c, 40000, F_SYN);
	backend_seg(c, 40000, F_RST | F_ACK);
	ck_assert(in_map(skel->maps.lb_syn, c, 40000));
	/* The port comes back with a new SYN: a new flow, not the reset one. */
	handshake(c, 40000);
	ck_assert(in_map(skel->maps.lb_ct, c, 40000));
}
END_TEST

/* One TCP segment through @hook; returns the frame's (daddr, dport) or (saddr, sport). */
static void seg_at(enum hook hook, __be32 saddr, __u16 sport, __be32 daddr, __u16 dport, __u8 flags,
		   __be32 *addr, __u16 *port)
{
	struct pkt_spec s = {.proto = IPPROTO_TCP,
			     .tcp_flags = flags,
			     .saddr = saddr,
			     .daddr = daddr,
			     .sport = sport,
			     .dport = dport};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len, l3 = pkt_l3_off(&s);
	int verdict;

	ck_assert_int_eq(run_prog(hook, in, len, out, &out_len, &verdict), 0);
	/* Requests: where they went (destination); replies: where they claim to be from. */
	memcpy(addr, out + l3 + (hook == TC ? 12 : 16), sizeof(*addr));
	memcpy(port, out + l3 + 20 + (hook == TC ? 0 : 2), sizeof(*port));
	*port = ntohs(*port);
}

/*
 * Two listeners share a backend. A closed flow of port 81 stays in lb_ct for a while; the
 * same client port then opens a flow on port 80 to the same backend: the backend-side
 * 4-tuple is the same, and the new flow's replies must come from port 80, not from the
 * old flow's port 81 (replies look in lb_ct before lb_syn).
 */
START_TEST(test_new_flow_owns_a_reused_backend_tuple)
{
	__be32 c = IP(198, 51, 100, 11), b = IP(10, 2, 9, 2), addr;
	struct lb_group one = {.n_backends = 1};
	__u16 port;

	one.backends[0].addr = lb_ip_from_v4(b);
	one.backends[0].port = htons(BPORT);
	one.backends[0].weight = 1;
	one.backends[0].target_id = 9;
	put_group_def(GROUP + 1, &one);
	put_listener(vip, 81, LB_PROTO_TCP, PROXY + 1, GROUP + 1, 0);
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP + 1, 0);
	/* Port 81: handshake, both FINs, last ACK: closed, in lb_ct. */
	seg_at(XDP, c, 40000, vip, 81, F_SYN, &addr, &port);
	seg_at(TC, b, BPORT, c, 40000, F_SYN | F_ACK, &addr, &port);
	seg_at(XDP, c, 40000, vip, 81, F_ACK, &addr, &port);
	seg_at(XDP, c, 40000, vip, 81, F_ACK | 0x01, &addr, &port);
	seg_at(TC, b, BPORT, c, 40000, F_ACK | 0x01, &addr, &port);
	seg_at(XDP, c, 40000, vip, 81, F_ACK, &addr, &port);
	/* Port 80, same client port, same backend. */
	seg_at(XDP, c, 40000, vip, VPORT, F_SYN, &addr, &port);
	ck_assert_uint_eq(addr, b);
	seg_at(TC, b, BPORT, c, 40000, F_SYN | F_ACK, &addr, &port);
	ck_assert_uint_eq(addr, vip);
	ck_assert_uint_eq(port, VPORT);
}
END_TEST

/* Delete the REPLY entry of the client's flow from @map, as an LRU eviction would. */
static void evict_reply(struct bpf_map *map, __be32 client, __u16 sport)
{
	const struct lb_backend *b = backend_of(client, sport);
	struct lb_ct_key rk = {.saddr = b->addr,
			       .daddr = lb_ip_from_v4(client),
			       .sport = htons(BPORT),
			       .dport = htons(sport),
			       .proto = LB_PROTO_TCP,
			       .dir = LB_DIR_REPLY};

	ck_assert_int_eq(bpf_map_delete_elem(map_fd(map), &rk), 0);
}

static __u64 restored(void)
{
	__u64 g[LB_G_MAX];

	gstats_get(g);
	return g[LB_G_CT_REPLY_RESTORED];
}

/*
 * A confirmed flow whose REPLY entry alone was evicted: its next client packet after a
 * clock tick writes the entry again, and the backend's segments are translated again, as
 * answered (the sweeper must not take it for never answered).
 */
START_TEST(test_reply_entry_restored_by_orig)
{
	__be32 c = IP(198, 51, 100, 8);
	struct lb_ct_val o, r;
	__u64 before;

	setup();
	handshake(c, 41000);
	evict_reply(skel->maps.lb_ct, c, 41000);
	ck_assert_uint_ne(backend_seg(c, 41000, F_ACK), vip); /* untranslated: the bug */
	before = restored();
	ck_assert(ct_get(LB_DIR_ORIG, c, vip, 41000, VPORT, IPPROTO_TCP, &o));
	skel->bss->lb_now_ns = o.last_seen_ns + 1000000000ull; /* lbd's next tick */
	ck_assert_uint_eq(client_seg(c, 41000, F_ACK), lb_ip_v4(&backend_of(c, 41000)->addr));
	ck_assert_uint_eq(restored(), before + 1);
	ck_assert(ct_get(LB_DIR_REPLY, lb_ip_v4(&backend_of(c, 41000)->addr), c, BPORT, 41000,
			 IPPROTO_TCP, &r));
	ck_assert_uint_eq(lb_ip_v4(&r.nat_addr), vip);
	ck_assert_uint_eq(r.nat_port, htons(VPORT));
	ck_assert(r.flags & LB_CT_F_REPLIED);
	ck_assert_uint_eq(backend_seg(c, 41000, F_ACK), vip);
	/* Within the same tick nothing is looked at again: one lookup per flow per tick. */
	evict_reply(skel->maps.lb_ct, c, 41000);
	client_seg(c, 41000, F_ACK);
	ck_assert_uint_eq(restored(), before + 1);
}
END_TEST

/* An unconfirmed flow (SYN retransmits refresh only ORIG) gets it back at once. */
START_TEST(test_reply_entry_restored_by_syn_retransmit)
{
	__be32 c = IP(198, 51, 100, 9);
	struct lb_ct_val r;

	setup();
	ck_assert_uint_eq(client_seg(c, 41001, F_SYN), lb_ip_v4(&backend_of(c, 41001)->addr));
	evict_reply(skel->maps.lb_syn, c, 41001);
	ck_assert_uint_eq(client_seg(c, 41001, F_SYN), lb_ip_v4(&backend_of(c, 41001)->addr));
	ck_assert(ct_get(LB_DIR_REPLY, lb_ip_v4(&backend_of(c, 41001)->addr), c, BPORT, 41001,
			 IPPROTO_TCP, &r));
	ck_assert(!(r.flags & LB_CT_F_REPLIED));
	ck_assert_uint_eq(backend_seg(c, 41001, F_SYN | F_ACK), vip);
}
END_TEST

/* Confirmed without its REPLY entry (evicted from lb_syn): lb_ct gets one all the same. */
START_TEST(test_reply_entry_restored_by_confirmation)
{
	__be32 c = IP(198, 51, 100, 10);
	__u64 before;

	setup();
	ck_assert_uint_eq(client_seg(c, 41002, F_SYN), lb_ip_v4(&backend_of(c, 41002)->addr));
	ck_assert_uint_eq(backend_seg(c, 41002, F_SYN | F_ACK), vip);
	evict_reply(skel->maps.lb_syn, c, 41002);
	before = restored();
	ck_assert_uint_eq(client_seg(c, 41002, F_ACK), lb_ip_v4(&backend_of(c, 41002)->addr));
	ck_assert(in_map(skel->maps.lb_ct, c, 41002));
	ck_assert_uint_eq(restored(), before + 1);
	ck_assert_uint_eq(backend_seg(c, 41002, F_ACK), vip);
}
END_TEST

static Suite *conntrack_suite(void)
{
	Suite *s = suite_create("bpf-conntrack");
	TCase *tc = tcase_create("two-tables");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_confirmed_by_the_handshake_ack);
	tcase_add_test(tc, test_udp_confirmed_by_a_second_datagram);
	tcase_add_test(tc, test_syn_flood_spares_established_flows);
	tcase_add_test(tc, test_real_client_survives_the_flood);
	tcase_add_test(tc, test_reset_before_confirmation_then_reuse);
	tcase_add_test(tc, test_new_flow_owns_a_reused_backend_tuple);
	tcase_add_test(tc, test_reply_entry_restored_by_orig);
	tcase_add_test(tc, test_reply_entry_restored_by_syn_retransmit);
	tcase_add_test(tc, test_reply_entry_restored_by_confirmation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	dpfix_syn_entries = SYN_ENTRIES;
	return dpfix_main(conntrack_suite);
}
