// SPDX-License-Identifier: MIT
/*
 * Least connections through BPF_PROG_TEST_RUN: the live flow counts the datapath keeps per
 * target in lb_lconn, unconfirmed and confirmed (a flow created: +1 unconfirmed; confirmed:
 * moved to confirmed; closed by a RST or by the second FIN: -1 from its part, once; never
 * below zero), the sweeper's correction of what the datapath cannot see (a flow evicted, a
 * flow expired, a count gone wrong; lb_ct's flows confirmed, lb_syn's unconfirmed), and the
 * choice a listener with LB_LISTEN_F_LEASTCONN makes from them (the smallest load,
 * confirmed * LB_LC_CONFIRMED + unconfirmed, per unit of weight, ties by the flow hash; a
 * mid-stream pickup takes the hash's choice).
 * Needs root (exits 77, "skipped", without it).
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "lb_select.h"
#include "lconn.h"
#include "pktbuild.h"
#include "sweep.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

#define PROXY 1
#define GROUP 10
#define VPORT 80
#define BPORT 8080

static __be32 vip;
static struct lb_group group;

static struct lb_lconn_val counts(__u32 target_id)
{
	struct lb_lconn_val v = {-999, -999};

	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(skel->maps.lb_lconn), &target_id, &v), 0);
	return v;
}

/* A target's confirmed flows (lb_ct), and its unconfirmed ones (lb_syn). */
static __s64 live(__u32 target_id)
{
	return counts(target_id).confirmed;
}

static __s64 unconf(__u32 target_id)
{
	return counts(target_id).unconfirmed;
}

static void set_counts(__u32 target_id, __s64 confirmed, __s64 unconfirmed)
{
	struct lb_lconn_val v = {confirmed, unconfirmed};

	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_lconn), &target_id, &v, BPF_ANY),
			 0);
}

static void set_live(__u32 target_id, __s64 v)
{
	set_counts(target_id, v, 0);
}

/* Both parts of every target, summed. */
static __s64 all_live(void)
{
	return live(1) + live(2) + live(3);
}

static __s64 all_unconf(void)
{
	return unconf(1) + unconf(2) + unconf(3);
}

static void setup_with(__u32 listen_flags)
{
	__u32 t;

	vip = IP(10, 1, 0, 1);
	reset_maps();
	for (t = 0; t < STATS_IDS; t++)
		set_live(t, 0);
	three_backends(&group, BPORT);
	put_listener(vip, VPORT, LB_PROTO_TCP, PROXY, GROUP, listen_flags);
	put_group_def(GROUP, &group);
}

static void setup(void)
{
	setup_with(LB_LISTEN_F_LEASTCONN);
}

/* One client segment to the VIP through XDP; returns the target id it was sent to. */
static __u32 client_seg(__be32 client, __u16 sport, __u8 flags)
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
	int verdict, i;

	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_int_eq(verdict, XDP_PASS);
	memcpy(&daddr, out + pkt_l3_off(&s) + 16, sizeof(daddr)); /* IPv4 destination */
	for (i = 0; i < 3; i++)
		if (lb_ip_v4(&group.backends[i].addr) == daddr)
			return group.backends[i].target_id;
	ck_abort_msg("client segment left for %08x, no backend", ntohl(daddr));
	return 0;
}

/* The reply segment of the flow (client, sport) from target @tid, through TC egress. */
static void backend_seg(__be32 client, __u16 sport, __u32 tid, __u8 flags)
{
	struct pkt_spec s = {.proto = IPPROTO_TCP,
			     .tcp_flags = flags,
			     .saddr = lb_ip_v4(&group.backends[tid - 1].addr),
			     .daddr = client,
			     .sport = BPORT,
			     .dport = sport};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len;
	__be32 saddr;
	int verdict;

	ck_assert_int_eq(run_prog(TC, in, len, out, &out_len, &verdict), 0);
	memcpy(&saddr, out + pkt_l3_off(&s) + 12, sizeof(saddr)); /* IPv4 source */
	ck_assert_uint_eq(saddr, vip);
}

/* A whole handshake; the target the flow went to. */
static __u32 handshake(__be32 client, __u16 sport)
{
	__u32 tid = client_seg(client, sport, F_SYN);

	backend_seg(client, sport, tid, F_SYN | F_ACK);
	ck_assert_uint_eq(client_seg(client, sport, F_ACK), tid);
	return tid;
}

/* The flow hash lb_flow_ingress() places this client's flow by. */
static __u32 hash_of(__be32 client, __u16 sport)
{
	struct lb_ip c = lb_ip_from_v4(client), v = lb_ip_from_v4(vip);

	return lb_flow_hash(&c, &v, htons(sport), htons(VPORT), LB_PROTO_TCP);
}

/* The target lb_lc_select() picks for a new flow of (client, sport) from the map's loads. */
static __u32 model_choice(__be32 client, __u16 sport)
{
	__u64 load[LB_GROUP_INLINE] = {0};
	int i, idx;

	for (i = 0; i < 3; i++) {
		struct lb_lconn_val v = counts(group.backends[i].target_id);

		load[i] = lb_lc_load(v.confirmed, v.unconfirmed);
	}
	idx = lb_lc_select(&group, load, hash_of(client, sport), true);
	ck_assert_int_ge(idx, 0);
	return group.backends[idx].target_id;
}

/* A conntrack key of the flow (client, sport) to target @tid, in direction @dir. */
static struct lb_ct_key flow_key(__be32 client, __u16 sport, __u32 tid, __u8 dir)
{
	struct lb_ct_key k = {.proto = LB_PROTO_TCP, .dir = dir};

	if (dir == LB_DIR_ORIG) {
		k.saddr = lb_ip_from_v4(client);
		k.daddr = lb_ip_from_v4(vip);
		k.sport = htons(sport);
		k.dport = htons(VPORT);
	} else {
		k.saddr = group.backends[tid - 1].addr;
		k.daddr = lb_ip_from_v4(client);
		k.sport = htons(BPORT);
		k.dport = htons(sport);
	}
	return k;
}

START_TEST(test_count_up_at_creation_down_at_the_second_fin)
{
	__be32 c = IP(198, 51, 100, 1);
	__u32 tid = handshake(c, 40000);

	ck_assert_int_eq(live(tid), 1);
	ck_assert_int_eq(unconf(tid), 0);
	/* The client's FIN half-closes: still live. */
	ck_assert_uint_eq(client_seg(c, 40000, F_FIN | F_ACK), tid);
	ck_assert_int_eq(live(tid), 1);
	/* The backend's FIN closes it; retransmissions do not count it twice. */
	backend_seg(c, 40000, tid, F_FIN | F_ACK);
	ck_assert_int_eq(live(tid), 0);
	backend_seg(c, 40000, tid, F_FIN | F_ACK);
	ck_assert_uint_eq(client_seg(c, 40000, F_ACK), tid);
	ck_assert_int_eq(live(tid), 0);
	/* The backend closes first this time. */
	tid = handshake(c, 40001);
	backend_seg(c, 40001, tid, F_FIN | F_ACK);
	ck_assert_int_eq(live(tid), 1);
	client_seg(c, 40001, F_FIN | F_ACK);
	ck_assert_int_eq(live(tid), 0);
	ck_assert_int_eq(all_unconf(), 0);
}
END_TEST

/* One datagram from (client, sport) to the VIP's UDP listener through XDP. */
static void client_dgram(__be32 client, __u16 sport)
{
	struct pkt_spec s = {.proto = IPPROTO_UDP,
			     .saddr = client,
			     .daddr = vip,
			     .sport = sport,
			     .dport = VPORT,
			     .payload_len = 32};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len;
	int verdict;

	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_int_eq(verdict, XDP_PASS);
}

/*
 * UDP: a first datagram (or a spoofed one-datagram flood) counts unconfirmed, the second
 * datagram of the flow confirms it.
 */
START_TEST(test_udp_confirms_with_its_second_datagram)
{
	__be32 c = IP(198, 51, 100, 16);

	put_listener(vip, VPORT, LB_PROTO_UDP, PROXY, GROUP, LB_LISTEN_F_LEASTCONN);
	client_dgram(c, 5000);
	ck_assert_int_eq(all_unconf(), 1);
	ck_assert_int_eq(all_live(), 0);
	client_dgram(c, 5000);
	ck_assert_int_eq(all_unconf(), 0);
	ck_assert_int_eq(all_live(), 1);
	client_dgram(c, 5000);
	ck_assert_int_eq(all_live(), 1);
}
END_TEST

/*
 * A flow counts as unconfirmed from its SYN and moves to confirmed with the handshake's
 * third packet, once; also when its REPLY entry was evicted alone before that.
 */
START_TEST(test_confirm_moves_the_unit)
{
	__be32 c = IP(198, 51, 100, 12);
	__u32 tid = client_seg(c, 40000, F_SYN);
	struct lb_ct_key rk;

	ck_assert_int_eq(unconf(tid), 1);
	ck_assert_int_eq(live(tid), 0);
	/* The SYN-ACK and a retransmitted SYN confirm nothing. */
	backend_seg(c, 40000, tid, F_SYN | F_ACK);
	ck_assert_uint_eq(client_seg(c, 40000, F_SYN), tid);
	ck_assert_int_eq(unconf(tid), 1);
	ck_assert_int_eq(live(tid), 0);
	ck_assert_uint_eq(client_seg(c, 40000, F_ACK), tid);
	ck_assert_int_eq(unconf(tid), 0);
	ck_assert_int_eq(live(tid), 1);
	/* Later segments find it confirmed already. */
	ck_assert_uint_eq(client_seg(c, 40000, F_ACK), tid);
	ck_assert_int_eq(live(tid), 1);
	/* Its REPLY entry evicted alone: confirming brings it back, and moves the unit. */
	tid = client_seg(c, 40001, F_SYN);
	rk = flow_key(c, 40001, tid, LB_DIR_REPLY);
	ck_assert_int_eq(bpf_map_delete_elem(map_fd(skel->maps.lb_syn), &rk), 0);
	ck_assert_uint_eq(client_seg(c, 40001, F_ACK), tid);
	ck_assert_int_eq(all_unconf(), 0);
	ck_assert_int_eq(all_live(), 2);
}
END_TEST

START_TEST(test_count_down_at_a_rst_from_either_side)
{
	__be32 c = IP(198, 51, 100, 2);
	__u32 a = handshake(c, 40000), b = handshake(c, 40001), u;
	__s64 before;

	ck_assert_int_eq(live(a) + (a == b ? 0 : live(b)), 2);
	before = live(a);
	client_seg(c, 40000, F_RST);
	ck_assert_int_eq(live(a), before - 1);
	before = live(b);
	backend_seg(c, 40001, b, F_RST);
	ck_assert_int_eq(live(b), before - 1);
	/* A flow its client never confirmed (in lb_syn), refused by its backend: 1 unconfirmed. */
	u = client_seg(c, 40002, F_SYN);
	ck_assert_int_eq(all_unconf(), 1);
	before = live(u);
	backend_seg(c, 40002, u, F_RST | F_ACK);
	ck_assert_int_eq(unconf(u), 0);
	ck_assert_int_eq(live(u), before);
	/* One its client gives up on before confirming it. */
	u = client_seg(c, 40003, F_SYN);
	ck_assert_int_eq(unconf(u), 1);
	client_seg(c, 40003, F_RST);
	ck_assert_int_eq(unconf(u), 0);
	/* A second RST finds the flow uncounted already. */
	client_seg(c, 40000, F_RST);
	ck_assert_int_eq(all_live(), 0);
	ck_assert_int_eq(all_unconf(), 0);
}
END_TEST

/* A client segment whatever its verdict (dsr: no neighbour here, the packet is dropped). */
static void client_any(__be32 client, __u16 sport, __u8 flags)
{
	struct pkt_spec s = {.proto = IPPROTO_TCP,
			     .tcp_flags = flags,
			     .saddr = client,
			     .daddr = vip,
			     .sport = sport,
			     .dport = VPORT};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len;
	int verdict;

	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
}

/*
 * dsr: the LB never sees the replies, so the client's FIN (or RST) is the close. The flow
 * is tracked even where this test's lo has no neighbour for the target.
 */
START_TEST(test_dsr_closes_on_the_client_fin)
{
	__be32 c = IP(198, 51, 100, 10);
	struct lb_ct_val o;

	setup_with(LB_LISTEN_F_LEASTCONN | LB_FWD_DSR << LB_LISTEN_FWD_SHIFT);
	client_any(c, 40000, F_SYN);
	ck_assert(ct_get(LB_DIR_ORIG, c, vip, 40000, VPORT, LB_PROTO_TCP, &o));
	ck_assert_uint_eq(o.fwd, LB_FWD_DSR);
	ck_assert_int_eq(unconf(o.target_id), 1);
	ck_assert_int_eq(live(o.target_id), 0);
	client_any(c, 40000, F_ACK);
	ck_assert_int_eq(unconf(o.target_id), 0);
	ck_assert_int_eq(live(o.target_id), 1);
	client_any(c, 40000, F_FIN | F_ACK);
	ck_assert_int_eq(live(o.target_id), 0);
	client_any(c, 40001, F_SYN);
	ck_assert(ct_get(LB_DIR_ORIG, c, vip, 40001, VPORT, LB_PROTO_TCP, &o));
	ck_assert_int_eq(unconf(o.target_id), 1);
	client_any(c, 40001, F_RST);
	ck_assert_int_eq(unconf(o.target_id), 0);
	ck_assert_int_eq(all_live(), 0);
}
END_TEST

/* A half-closed flow whose client reuses the port: the old flow is off the count. */
START_TEST(test_reopen_after_half_close)
{
	__be32 c = IP(198, 51, 100, 9);

	handshake(c, 40000);
	client_seg(c, 40000, F_FIN | F_ACK);
	ck_assert_int_eq(all_live(), 1);
	/* The new flow on the port: the old one off the count, the new one unconfirmed. */
	client_seg(c, 40000, F_SYN);
	ck_assert_int_eq(all_live(), 0);
	ck_assert_int_eq(all_unconf(), 1);
}
END_TEST

/* The same before the flow was confirmed: a client's FIN without ACK, then a new SYN. */
START_TEST(test_reopen_before_confirmation)
{
	__be32 c = IP(198, 51, 100, 15);

	client_seg(c, 40000, F_SYN);
	client_seg(c, 40000, F_FIN);
	ck_assert_int_eq(all_unconf(), 1);
	client_seg(c, 40000, F_SYN);
	ck_assert_int_eq(all_unconf(), 1);
	ck_assert_int_eq(all_live(), 0);
}
END_TEST

/*
 * The backend closed a flow, then its client's port talks to the backend directly (no
 * listener): the old flow goes (lb_forget_closed) and, still counted, off the count.
 */
START_TEST(test_reused_tuple_uncounts)
{
	__be32 c = IP(198, 51, 100, 11);
	__u32 tid = handshake(c, 40000);
	struct pkt_spec s = {.proto = IPPROTO_TCP,
			     .tcp_flags = F_SYN,
			     .saddr = c,
			     .sport = 40000,
			     .dport = BPORT};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len, out_len;
	int verdict;

	backend_seg(c, 40000, tid, F_FIN | F_ACK);
	ck_assert_int_eq(live(tid), 1);
	s.daddr = lb_ip_v4(&group.backends[tid - 1].addr);
	len = pkt_build(&s, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_int_eq(verdict, XDP_PASS);
	ck_assert_int_eq(live(tid), 0);
}
END_TEST

START_TEST(test_never_below_zero)
{
	__be32 c = IP(198, 51, 100, 3);
	__u32 tid = handshake(c, 40000);

	/* The sweeper took the count down first (say it saw the flow gone). */
	set_live(tid, 0);
	client_seg(c, 40000, F_RST);
	ck_assert_int_eq(live(tid), 0);
	/* An unconfirmed flow's RST takes nothing off the confirmed part, nor below 0. */
	tid = client_seg(c, 40001, F_SYN);
	set_counts(tid, 5, 0);
	client_seg(c, 40001, F_RST);
	ck_assert_int_eq(unconf(tid), 0);
	ck_assert_int_eq(live(tid), 5);
}
END_TEST

/* With counts preset, every new flow goes to the smallest load per unit of weight. */
START_TEST(test_least_loaded_per_weight)
{
	__be32 c = IP(198, 51, 100, 4);
	__u16 p;

	/* Confirmed 5, 3, 4: loads 80, 48, 64. */
	set_live(1, 5);
	set_live(2, 3);
	set_live(3, 4);
	ck_assert_uint_eq(client_seg(c, 40000, F_SYN), 2);
	ck_assert_int_eq(unconf(2), 1);
	ck_assert_int_eq(live(2), 3);
	/*
	 * Weights 1, 1, 3: 80, 49 and 64 / 3 per unit: the third, until its load reaches 147
	 * (49 per unit): 83 new flows.
	 */
	group.backends[2].weight = 3;
	put_group_def(GROUP, &group);
	for (p = 40001; p < 40084; p++)
		ck_assert_uint_eq(client_seg(c, p, F_SYN), 3);
	ck_assert_int_eq(unconf(3), 83);
	/* 80, 49, 147 (= 49 per unit): a tie of the 2nd and 3rd, which the hash breaks. */
	for (p = 41000; p < 41040; p++) {
		__u32 want = model_choice(c, p);

		ck_assert_uint_eq(client_seg(c, p, F_SYN), want);
	}
	/* A target without weight (drained, unhealthy) gets nothing, however idle. */
	group.backends[0].weight = 0;
	put_group_def(GROUP, &group);
	set_live(1, 0);
	for (p = 42000; p < 42020; p++)
		ck_assert_uint_ne(client_seg(c, p, F_SYN), 1);
}
END_TEST

/* Equal targets: ties by the hash spread the flows, and the counts keep them even. */
START_TEST(test_equal_targets_share_evenly)
{
	__be32 c = IP(198, 51, 100, 5);
	unsigned int n[4] = {0};
	__u16 p;

	/* All at zero: the first flow of each client goes where its hash says. */
	for (p = 0; p < 300; p++) {
		__u32 tid = client_seg(IP(198, 51, 101, p & 0xff), (__u16)(30000 + p), F_SYN);

		n[tid]++;
		/* Close it at once: every flow sees three idle targets. */
		client_seg(IP(198, 51, 101, p & 0xff), (__u16)(30000 + p), F_RST);
	}
	ck_assert_msg(n[1] > 50 && n[2] > 50 && n[3] > 50,
		      "idle equal targets got %u %u %u of 300 new flows: ties not spread", n[1],
		      n[2], n[3]);
	/* Flows that stay open: 30 go 10, 10, 10. */
	memset(n, 0, sizeof(n));
	for (p = 0; p < 30; p++)
		n[client_seg(c, (__u16)(50000 + p), F_SYN)]++;
	ck_assert_msg(n[1] == 10 && n[2] == 10 && n[3] == 10, "30 open flows went %u %u %u", n[1],
		      n[2], n[3]);
}
END_TEST

/* Maglev (the default) counts the flows too, but places them by the hash alone. */
START_TEST(test_maglev_ignores_counts)
{
	__be32 c = IP(198, 51, 100, 6);
	__u16 p;

	setup_with(0);
	set_live(1, 1000);
	for (p = 40000; p < 40030; p++) {
		int idx = lb_select_backend(&group, hash_of(c, p), true);

		ck_assert_uint_eq(client_seg(c, p, F_SYN), group.backends[idx].target_id);
	}
	ck_assert_int_eq(all_live(), 1000);
	ck_assert_int_eq(all_unconf(), 30);
}
END_TEST

/*
 * A SYN flood's entries (unconfirmed) on one target no longer hide that the others carry
 * real (confirmed) flows: each weighs 1/LB_LC_CONFIRMED of one. Counting them alike, the
 * target with 10 real flows would look the least loaded and take the new ones.
 */
START_TEST(test_flood_does_not_hide_confirmed)
{
	__be32 c = IP(198, 51, 100, 13);
	__u16 p;

	/* Target 1: 50 flood entries and no real flow; 2: 10 real flows; 3: 20. */
	set_counts(1, 0, 50);
	set_counts(2, 10, 0);
	set_counts(3, 20, 0);
	/* Loads 50, 160, 320: the flooded target takes the next 110 new flows. */
	for (p = 40000; p < 40110; p++)
		ck_assert_uint_eq(client_seg(c, p, F_SYN), 1);
	ck_assert_int_eq(unconf(1), 160);
	/* 160 and 160: the first two share the next ones evenly, by the model. */
	for (p = 41000; p < 41040; p++) {
		__u32 want = model_choice(c, p);

		ck_assert_uint_eq(client_seg(c, p, F_SYN), want);
	}
	ck_assert_int_eq(unconf(1), 180);
	ck_assert_int_eq(unconf(2), 20);
	ck_assert_int_eq(unconf(3), 0);
}
END_TEST

/* A mid-stream packet without conntrack cannot know the load it was placed by: the hash. */
START_TEST(test_pickup_takes_the_hash)
{
	__be32 c = IP(198, 51, 100, 7);
	__u16 p;

	set_live(1, 100);
	set_live(2, 100);
	set_live(3, 0);
	for (p = 40000; p < 40030; p++) {
		int idx = lb_select_backend(&group, hash_of(c, p), true);

		ck_assert_uint_eq(client_seg(c, p, F_ACK), group.backends[idx].target_id);
	}
}
END_TEST

static void delete_flow(__be32 client, __u16 sport, __u32 tid)
{
	struct lb_ct_key o = flow_key(client, sport, tid, LB_DIR_ORIG);
	struct lb_ct_key r = flow_key(client, sport, tid, LB_DIR_REPLY);

	ck_assert_int_eq(bpf_map_delete_elem(map_fd(skel->maps.lb_ct), &o), 0);
	ck_assert_int_eq(bpf_map_delete_elem(map_fd(skel->maps.lb_ct), &r), 0);
}

static struct lb_sweep_result sweep_calling(uint32_t tcp_idle, lb_sweep_close_fn fn, void *arg)
{
	struct lb_ct_fds fds = {map_fd(skel->maps.lb_ct), map_fd(skel->maps.lb_syn),
				map_fd(skel->maps.lb_lconn)};
	struct lb_sweep_timeouts t = {.tcp_idle = tcp_idle, .udp_idle = 60};
	struct lb_sweep_result res;

	ck_assert_int_eq(lb_sweep_once(&fds, &t, &res, fn, arg), 0);
	return res;
}

static struct lb_sweep_result sweep_with(uint32_t tcp_idle)
{
	return sweep_calling(tcp_idle, NULL, NULL);
}

/*
 * What the datapath cannot see, the sweep corrects: a flow evicted (its entries gone
 * without a close), a count that drifted either way, flows that expired.
 */
START_TEST(test_sweeper_corrects)
{
	__be32 c = IP(198, 51, 100, 8);
	struct timespec ms20 = {0, 20000000};
	__u32 tid[6];
	int i, same = 0;

	for (i = 0; i < 6; i++)
		tid[i] = handshake(c, (__u16)(40000 + i));
	ck_assert_int_eq(all_live(), 6);
	ck_assert_int_eq(all_unconf(), 0);
	ck_assert_int_eq(live(1), 2);
	/* Evicted: the count still says 2 until the sweep. */
	delete_flow(c, 40000, tid[0]);
	ck_assert_int_eq(live(tid[0]), 2);
	/* A count gone wrong both ways (a lost race, flows lost while no lbd ran). */
	set_live(tid[1] == tid[0] ? tid[2] : tid[1], 50);
	set_counts(6, -3, -3);
	/* A closed flow is not live: it stays off the count (and in conntrack a while). */
	client_seg(c, 40005, F_RST);
	for (i = 1; i < 5; i++)
		same += tid[i] == tid[0];
	ck_assert_uint_ge(sweep_with(300).lconn_fixed, 2);
	ck_assert_int_eq(live(tid[0]), same);
	ck_assert_int_eq(all_live(), 4);
	ck_assert_int_eq(live(6), 0);
	ck_assert_int_eq(unconf(6), 0);
	/* Nothing drifted: nothing to correct. */
	ck_assert_uint_eq(sweep_with(300).lconn_fixed, 0);
	/* Idle past the timeout: expired, and off the count. */
	nanosleep(&ms20, NULL);
	ck_assert_uint_ge(sweep_with(0).expired, 4);
	ck_assert_int_eq(all_live(), 0);
}
END_TEST

/* The flow the sweep removes first makes the other one send again (test below). */
struct wake_other {
	__be32 client;
	__u16 ports[2];
	int closed;
	__u16 woken;
};

static void wake_the_other(void *arg, const struct lb_event *ev)
{
	struct wake_other *w = arg;
	struct lb_ct_val o;
	struct lb_ct_key k;

	if (w->closed++)
		return;
	w->woken = ntohs(ev->client_port) == w->ports[0] ? w->ports[1] : w->ports[0];
	k = flow_key(w->client, w->woken, 0, LB_DIR_ORIG);
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(skel->maps.lb_ct), &k, &o), 0);
	skel->bss->lb_now_ns = o.last_seen_ns + 1000000000ull; /* lbd's next tick */
	client_seg(w->client, w->woken, F_ACK);
	skel->bss->lb_now_ns = 0;
}

/*
 * Two flows idle past the timeout when the sweep reads them; one of them sends a segment
 * before the sweep gets to it (here: from the first removal's callback). It keeps its
 * entries and its count; the other goes.
 */
START_TEST(test_sweep_spares_a_flow_active_again)
{
	struct wake_other w = {.client = IP(198, 51, 100, 15), .ports = {40000, 40001}};
	struct timespec ms20 = {0, 20000000};
	struct lb_sweep_result res;
	struct lb_ct_val v;
	struct lb_ct_key k;
	int i;

	for (i = 0; i < 2; i++)
		handshake(w.client, w.ports[i]);
	ck_assert_int_eq(all_live(), 2);
	nanosleep(&ms20, NULL);
	res = sweep_calling(0, wake_the_other, &w);
	ck_assert_int_eq(w.closed, 1);
	ck_assert_uint_eq(res.expired, 1);
	ck_assert_uint_eq(res.spared, 1);
	ck_assert_int_eq(res.live.total, 1);
	ck_assert_int_eq(all_live(), 1);
	k = flow_key(w.client, w.woken, 0, LB_DIR_ORIG);
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(skel->maps.lb_ct), &k, &v), 0);
	k = flow_key(w.client, w.ports[0] + w.ports[1] - w.woken, 0, LB_DIR_ORIG);
	ck_assert_int_ne(bpf_map_lookup_elem(map_fd(skel->maps.lb_ct), &k, &v), 0);
}
END_TEST

/*
 * The sweep counts flows in lb_ct as confirmed and flows in lb_syn as unconfirmed: counts
 * gone wrong (here each target's two parts swapped, and 7 more) come back split right.
 */
START_TEST(test_sweeper_recount_splits)
{
	__be32 c = IP(198, 51, 100, 14);
	struct lb_lconn_val want[4] = {0};
	__u32 t;
	int i;

	for (i = 0; i < 4; i++)
		want[handshake(c, (__u16)(40000 + i))].confirmed++;
	for (i = 0; i < 5; i++)
		want[client_seg(c, (__u16)(41000 + i), F_SYN)].unconfirmed++;
	for (t = 1; t <= 3; t++)
		set_counts(t, want[t].unconfirmed + 7, want[t].confirmed);
	ck_assert_uint_eq(sweep_with(300).lconn_fixed, 3);
	for (t = 1; t <= 3; t++) {
		ck_assert_int_eq(live(t), want[t].confirmed);
		ck_assert_int_eq(unconf(t), want[t].unconfirmed);
	}
	/* One of them confirmed since: the datapath moved its unit, nothing left to correct. */
	t = client_seg(c, 41000, F_ACK);
	ck_assert_int_eq(live(t), want[t].confirmed + 1);
	ck_assert_int_eq(unconf(t), want[t].unconfirmed - 1);
	ck_assert_uint_eq(sweep_with(300).lconn_fixed, 0);
}
END_TEST

/*
 * What the datapath changed while the walk ran is no drift: a flow that confirmed during
 * it (unconfirmed in the reading before, in lb_ct when the walk read its bucket, moved by
 * the datapath already) must not move a second time; an eviction that both readings show
 * is corrected. Calls the correction the sweep ends with (lconn.h) on readings set up as
 * a sweep would see them.
 */
START_TEST(test_sweeper_ignores_moves_during_the_walk)
{
	struct lb_lconn_val before[LB_MAX_TARGETS] = {0}, after[LB_MAX_TARGETS] = {0};
	struct lb_lconn_val counted[LB_MAX_TARGETS] = {0};
	int fd = map_fd(skel->maps.lb_lconn);

	/* Target 1: 3 confirmed, 2 unconfirmed before; one of those confirmed mid-walk. */
	before[1] = (struct lb_lconn_val){3, 2};
	after[1] = counted[1] = (struct lb_lconn_val){4, 1};
	set_counts(1, 4, 1);
	/* Target 2: a flow created mid-walk (seen by the walk), one closed (not seen). */
	before[2] = (struct lb_lconn_val){5, 0};
	after[2] = (struct lb_lconn_val){4, 1};
	counted[2] = (struct lb_lconn_val){4, 1};
	set_counts(2, 4, 1);
	/* Target 3: two confirmed flows evicted: both readings say 6, the walk found 4. */
	before[3] = after[3] = (struct lb_lconn_val){6, 0};
	counted[3] = (struct lb_lconn_val){4, 0};
	set_counts(3, 6, 0);
	ck_assert_int_eq(lb_lconn_correct(fd, before, after, counted), 1);
	ck_assert_int_eq(live(1), 4);
	ck_assert_int_eq(unconf(1), 1);
	ck_assert_int_eq(live(2), 4);
	ck_assert_int_eq(unconf(2), 1);
	ck_assert_int_eq(live(3), 4);
	ck_assert_int_eq(unconf(3), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("bpf-lc");
	TCase *tc = tcase_create("lc");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_count_up_at_creation_down_at_the_second_fin);
	tcase_add_test(tc, test_confirm_moves_the_unit);
	tcase_add_test(tc, test_udp_confirms_with_its_second_datagram);
	tcase_add_test(tc, test_count_down_at_a_rst_from_either_side);
	tcase_add_test(tc, test_reopen_after_half_close);
	tcase_add_test(tc, test_reopen_before_confirmation);
	tcase_add_test(tc, test_reused_tuple_uncounts);
	tcase_add_test(tc, test_dsr_closes_on_the_client_fin);
	tcase_add_test(tc, test_never_below_zero);
	tcase_add_test(tc, test_least_loaded_per_weight);
	tcase_add_test(tc, test_equal_targets_share_evenly);
	tcase_add_test(tc, test_maglev_ignores_counts);
	tcase_add_test(tc, test_flood_does_not_hide_confirmed);
	tcase_add_test(tc, test_pickup_takes_the_hash);
	tcase_add_test(tc, test_sweeper_corrects);
	tcase_add_test(tc, test_sweep_spares_a_flow_active_again);
	tcase_add_test(tc, test_sweeper_recount_splits);
	tcase_add_test(tc, test_sweeper_ignores_moves_during_the_walk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(suite);
}
