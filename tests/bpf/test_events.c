// SPDX-License-Identifier: MIT
/*
 * Connection events through BPF_PROG_TEST_RUN: the exact struct lb_event records the
 * programs put in the lb_events ring over a flow's life (opened at the SYN, closed at the
 * packet that ends it, with every packet of the flow counted), the per-flow counters in
 * conntrack, the switch that turns events off, and a full ring that drops events (counted)
 * while packets keep being forwarded.
 *
 * Needs root (exits 77, "skipped", without it).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/libbpf.h>

#include "dpfix.h"
#include "pktbuild.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define PROXY  1
#define GROUP  10
#define TARGET 5
#define CPORT  40000
#define VPORT  80
#define BPORT  8080

static __be32 vip, client, backend;
static struct ring_buffer *rb;
static struct lb_event got[64];
static size_t n_got;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	ck_assert_uint_eq(size, sizeof(struct lb_event));
	if (n_got < N(got))
		memcpy(&got[n_got], data, sizeof(got[0]));
	n_got++;
	return 0;
}

/* Read the ring: got[] holds what the packets since the last drain emitted. */
static void drain(void)
{
	n_got = 0;
	ck_assert_int_ge(ring_buffer__consume(rb), 0);
}

static void put_one_backend(__be32 addr, __u16 port)
{
	struct lb_group g = {.n_backends = 1};

	/* 0: no address (the acceptor's backend); else IPv4-mapped. */
	g.backends[0].addr = addr ? lb_ip_from_v4(addr) : (struct lb_ip){{0}};
	g.backends[0].port = htons(port);
	g.backends[0].weight = 100;
	g.backends[0].target_id = TARGET;
	put_group_def(GROUP, &g);
}

static void setup(void)
{
	vip = IP(10, 1, 0, 1);
	client = IP(198, 51, 100, 10);
	backend = IP(10, 2, 1, 2);
	reset_maps();
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	put_one_backend(backend, BPORT);
	skel->bss->lb_events_on = 1;
	drain();
}

/* Flow byte and packet totals per direction, as the test sent them. */
struct sent {
	__u64 pkts[2], bytes[2];
};

/*
 * One TCP segment of the flow: client -> VIP through XDP (@reply false), or backend ->
 * client through TC egress. Returns the events it emitted (read into got[]).
 */
static size_t seg(struct sent *t, bool reply, __u8 flags, __u16 payload, __u16 sport)
{
	struct pkt_spec s = {.proto = IPPROTO_TCP, .tcp_flags = flags, .payload_len = payload};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len, out_len;
	int verdict, err;

	if (reply) {
		s.saddr = backend;
		s.sport = BPORT;
		s.daddr = client;
		s.dport = sport;
	} else {
		s.saddr = client;
		s.sport = sport;
		s.daddr = vip;
		s.dport = VPORT;
	}
	len = pkt_build(&s, in);
	err = run_prog(reply ? TC : XDP, in, len, out, &out_len, &verdict);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(verdict, reply ? TC_ACT_OK : XDP_PASS);
	if (t) {
		t->pkts[reply]++;
		t->bytes[reply] += len - pkt_l3_off(&s);
	}
	drain();
	return n_got;
}

/* The fields every event of the test flow carries. */
static void expect_flow(const struct lb_event *e, __u16 sport)
{
	ck_assert_uint_eq(e->proto, LB_PROTO_TCP);
	ck_assert_uint_eq(e->proxy_id, PROXY);
	ck_assert_uint_eq(e->target_id, TARGET);
	ck_assert_uint_eq(lb_ip_v4(&e->client_addr), client);
	ck_assert(lb_ip_is_v4(&e->client_addr));
	ck_assert_uint_eq(e->client_port, htons(sport));
	ck_assert_uint_eq(lb_ip_v4(&e->listen_addr), vip);
	ck_assert_uint_eq(e->listen_port, htons(VPORT));
	ck_assert_uint_eq(lb_ip_v4(&e->backend_addr), backend);
	ck_assert_uint_eq(e->backend_port, htons(BPORT));
	ck_assert_uint_ne(e->created_ns, 0);
	ck_assert_uint_ge(e->ts_ns, e->created_ns);
}

static void expect_closed(const struct lb_event *e, __u16 sport, __u8 reason, const struct sent *t)
{
	expect_flow(e, sport);
	ck_assert_uint_eq(e->type, LB_EV_CLOSED);
	ck_assert_uint_eq(e->reason, reason);
	ck_assert_uint_eq(e->route, LB_ROUTE_DEFAULT);
	ck_assert_uint_eq(e->pkts_in, t->pkts[0]);
	ck_assert_uint_eq(e->bytes_in, t->bytes[0]);
	ck_assert_uint_eq(e->pkts_out, t->pkts[1]);
	ck_assert_uint_eq(e->bytes_out, t->bytes[1]);
}

/* Both conntrack entries of the flow count what was sent, and are marked closed. */
static void expect_ct(__u16 sport, const struct sent *t, bool closed)
{
	struct lb_ct_val o, r;

	ck_assert(ct_get(LB_DIR_ORIG, client, vip, sport, VPORT, IPPROTO_TCP, &o));
	ck_assert(ct_get(LB_DIR_REPLY, backend, client, BPORT, sport, IPPROTO_TCP, &r));
	ck_assert_uint_eq(o.pkts, t->pkts[0]);
	ck_assert_uint_eq(o.bytes, t->bytes[0]);
	ck_assert_uint_eq(r.pkts, t->pkts[1]);
	ck_assert_uint_eq(r.bytes, t->bytes[1]);
	ck_assert_uint_eq(!!(o.flags & LB_CT_F_CLOSED), closed);
	ck_assert_uint_eq(!!(r.flags & LB_CT_F_CLOSED), closed);
}

START_TEST(test_client_closes_first)
{
	struct sent t = {};

	ck_assert_uint_eq(seg(&t, false, F_SYN, 0, CPORT), 1);
	expect_flow(&got[0], CPORT);
	ck_assert_uint_eq(got[0].type, LB_EV_OPENED);
	ck_assert_uint_eq(got[0].route, LB_ROUTE_DEFAULT);
	ck_assert_uint_eq(got[0].flags, 0);
	ck_assert_uint_eq(got[0].ts_ns, got[0].created_ns);
	ck_assert_uint_eq(got[0].pkts_in, 1);
	ck_assert_uint_eq(got[0].bytes_in, t.bytes[0]);
	ck_assert_uint_eq(got[0].pkts_out + got[0].bytes_out, 0);

	ck_assert_uint_eq(seg(&t, true, F_SYN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_PSH | F_ACK, 100, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_PSH | F_ACK, 300, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_FIN | F_ACK, 0, CPORT), 0);
	/* The backend's FIN: both sides closed, but the client still owes its last ACK. */
	ck_assert_uint_eq(seg(&t, true, F_FIN | F_ACK, 0, CPORT), 0);
	expect_ct(CPORT, &t, false);
	ck_assert_uint_eq(seg(&t, false, F_ACK, 0, CPORT), 1);
	expect_closed(&got[0], CPORT, LB_CLOSE_FIN, &t);
	ck_assert_uint_eq(got[0].flags,
			  LB_CT_F_FIN | LB_CT_F_REPLIED | LB_CT_F_LASTACK | LB_CT_F_CLOSED);
	expect_ct(CPORT, &t, true);
	/* A retransmitted last ACK is counted by the flow, but the flow was reported once. */
	ck_assert_uint_eq(seg(NULL, false, F_ACK, 0, CPORT), 0);
}
END_TEST

START_TEST(test_backend_closes_first)
{
	struct sent t = {};

	ck_assert_uint_eq(seg(&t, false, F_SYN, 0, CPORT), 1);
	ck_assert_uint_eq(seg(&t, true, F_SYN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_PSH | F_ACK, 40, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_PSH | F_ACK | F_FIN, 400, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_FIN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_ACK, 0, CPORT), 1);
	expect_closed(&got[0], CPORT, LB_CLOSE_FIN, &t);
	expect_ct(CPORT, &t, true);
}
END_TEST

START_TEST(test_reset_closes_at_once)
{
	struct sent t = {};

	ck_assert_uint_eq(seg(&t, false, F_SYN, 0, CPORT), 1);
	ck_assert_uint_eq(seg(&t, true, F_SYN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_RST, 0, CPORT), 1);
	expect_closed(&got[0], CPORT, LB_CLOSE_RST, &t);
	/* The client's answering RST (or a retransmission) does not report it again. */
	ck_assert_uint_eq(seg(NULL, false, F_RST, 0, CPORT), 0);
	ck_assert_uint_eq(seg(NULL, true, F_RST, 0, CPORT), 0);
}
END_TEST

START_TEST(test_off_emits_nothing)
{
	struct sent t = {}, first = {};

	skel->bss->lb_events_on = 0;
	ck_assert_uint_eq(seg(&first, false, F_SYN, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_SYN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_FIN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_FIN | F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, false, F_ACK, 0, CPORT), 0);
	ck_assert_uint_eq(seg(&t, true, F_RST, 0, CPORT), 0);
	/*
	 * Nor do the flow's own counters run (they cost two atomic adds per packet): they
	 * hold what the flow was created with, its first packet. Not marked reported.
	 */
	expect_ct(CPORT, &first, false);
}
END_TEST

START_TEST(test_route_kinds)
{
	/* A source route: the listener says it has routes, the client's /24 has one. */
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, LB_LISTEN_F_HAS_ROUTES);
	put_route(PROXY, IP(198, 51, 100, 0), 24, GROUP);
	ck_assert_uint_eq(seg(NULL, false, F_SYN, 0, CPORT), 1);
	ck_assert_uint_eq(got[0].route, LB_ROUTE_SOURCE);
	/* lbd's SNI acceptor: backend address 0, the destination address stays. */
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, 0);
	put_one_backend(0, 40001);
	ck_assert_uint_eq(seg(NULL, false, F_SYN, 0, CPORT + 1), 1);
	ck_assert_uint_eq(got[0].route, LB_ROUTE_ACCEPTOR);
	ck_assert_uint_eq(lb_ip_v4(&got[0].backend_addr), vip);
	ck_assert_uint_eq(got[0].backend_port, htons(40001));
	/* A flow picked up mid-stream says so. */
	ck_assert_uint_eq(seg(NULL, false, F_ACK, 10, CPORT + 2), 1);
	ck_assert_uint_eq(got[0].flags, LB_CT_F_PICKUP);
}
END_TEST

/* More new flows than the ring holds, never read: every packet is still forwarded. */
START_TEST(test_full_ring_drops_events_not_packets)
{
	const unsigned int flows = LB_EVENTS_RING_BYTES / sizeof(struct lb_event) + 1000;
	__u64 g[LB_G_MAX], lost;
	unsigned int i, read = 0;

	for (i = 0; i < flows; i++) {
		struct pkt_spec s = {.proto = IPPROTO_TCP,
				     .tcp_flags = F_SYN,
				     .saddr = client,
				     .daddr = vip,
				     .sport = (__u16)(1024 + i),
				     .dport = VPORT};
		__u8 in[PKT_MAX], out[PKT_MAX];
		size_t len = pkt_build(&s, in), out_len;
		__be32 daddr;
		int verdict;

		ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
		ck_assert_int_eq(verdict, XDP_PASS);
		/* The IPv4 destination address is at byte 16 of the header. */
		memcpy(&daddr, out + pkt_l3_off(&s) + 16, sizeof(daddr));
		ck_assert_msg(daddr == backend, "flow %u was not rewritten to its backend", i);
	}
	gstats_get(g);
	lost = g[LB_G_EVENTS_LOST];
	ck_assert_uint_gt(lost, 0);
	for (;;) {
		drain();
		if (!n_got)
			break;
		read += n_got;
	}
	ck_assert_uint_eq(read + lost, flows);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("bpf-events");
	TCase *tc = tcase_create("events");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_client_closes_first);
	tcase_add_test(tc, test_backend_closes_first);
	tcase_add_test(tc, test_reset_closes_at_once);
	tcase_add_test(tc, test_off_emits_nothing);
	tcase_add_test(tc, test_route_kinds);
	tcase_add_test(tc, test_full_ring_drops_events_not_packets);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *events_suite_with_ring(void)
{
	rb = ring_buffer__new(bpf_map__fd(skel->maps.lb_events), on_event, NULL, NULL);
	if (!rb) {
		perror("ring_buffer__new");
		exit(EXIT_FAILURE);
	}
	return events_suite();
}

int main(void)
{
	return dpfix_main(events_suite_with_ring);
}
