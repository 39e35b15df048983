// SPDX-License-Identifier: MIT
/*
 * ICMP errors about balanced flows (bpf/lb_icmp.h), through BPF_PROG_TEST_RUN: each error
 * goes in as built, and what comes out must equal, byte for byte, the translated error
 * built from scratch (every checksum computed whole by pktbuild, never incrementally), or
 * the input itself when it is not ours.
 *
 * The flows: client 10.1.0.2:40000 to the listener 10.1.0.1:80 (TCP) and :53 (UDP), both
 * balanced to the backend 10.2.1.2:8080.
 */
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "dpfix.h"
#include "pktbuild.h"

#define VIP	IP(10, 1, 0, 1)
#define CLIENT	IP(10, 1, 0, 2)
#define BACKEND IP(10, 2, 1, 2)
#define ROUTER	IP(10, 9, 9, 9) /* a router towards the client */
#define BROUTER IP(10, 2, 1, 1) /* a router on the backend's side */
#define CPORT	40000
#define BPORT	8080

static void setup(void)
{
	struct lb_group g = {.n_backends = 1};
	__u8 in[PKT_MAX], out[PKT_MAX];
	struct pkt_spec syn = {.saddr = CLIENT,
			       .daddr = VIP,
			       .sport = CPORT,
			       .dport = 80,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = 0x02};
	struct pkt_spec dgram = {.saddr = CLIENT,
				 .daddr = VIP,
				 .sport = CPORT,
				 .dport = 53,
				 .proto = IPPROTO_UDP,
				 .payload_len = 12};
	size_t len, out_len;
	int verdict;

	reset_maps();
	g.backends[0].addr = lb_ip_from_v4(BACKEND);
	g.backends[0].port = htons(BPORT);
	g.backends[0].weight = 1;
	g.backends[0].target_id = 1;
	put_group_def(1, &g);
	put_listener(VIP, 80, IPPROTO_TCP, 1, 1, 0);
	put_listener(VIP, 53, IPPROTO_UDP, 1, 1, 0);
	len = pkt_build(&syn, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	len = pkt_build(&dgram, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_uint_eq(ct_count(), 4);
}

/* The packets the errors are about, as they travelled where the error was raised. */
static struct pkt_spec reply_tcp(void) /* backend -> client, after SNAT */
{
	return (struct pkt_spec){.saddr = VIP,
				 .daddr = CLIENT,
				 .sport = 80,
				 .dport = CPORT,
				 .proto = IPPROTO_TCP,
				 .tcp_flags = 0x10,
				 .payload_len = 40};
}

static struct pkt_spec request_tcp(void) /* client -> backend, after DNAT */
{
	return (struct pkt_spec){.saddr = CLIENT,
				 .daddr = BACKEND,
				 .sport = CPORT,
				 .dport = BPORT,
				 .proto = IPPROTO_TCP,
				 .tcp_flags = 0x10,
				 .payload_len = 40};
}

static struct pkt_spec request_udp(void)
{
	return (struct pkt_spec){.saddr = CLIENT,
				 .daddr = BACKEND,
				 .sport = CPORT,
				 .dport = BPORT,
				 .proto = IPPROTO_UDP,
				 .payload_len = 12};
}

static struct pkt_spec reply_udp(void)
{
	return (struct pkt_spec){.saddr = VIP,
				 .daddr = CLIENT,
				 .sport = 53,
				 .dport = CPORT,
				 .proto = IPPROTO_UDP,
				 .payload_len = 12};
}

/* Run @in through @hook and compare with @want (its length @want_len), exactly. */
static void expect(const char *what, enum hook hook, const __u8 *in, size_t len, const __u8 *want,
		   size_t want_len, int want_verdict)
{
	char a[PKT_HEX_MAX], b[PKT_HEX_MAX];
	__u8 out[PKT_MAX];
	size_t out_len;
	int verdict;

	ck_assert_int_eq(run_prog(hook, in, len, out, &out_len, &verdict), 0);
	ck_assert_msg(verdict == want_verdict, "%s: verdict %d, expected %d", what, verdict,
		      want_verdict);
	ck_assert_msg(out_len == want_len && !memcmp(out, want, want_len),
		      "%s: frame differs\n got:\n%s\n want:\n%s", what, pkt_hex(out, out_len, a),
		      pkt_hex(want, want_len, b));
}

/*
 * Fragmentation needed, about a reply, from a router towards the client: to the backend,
 * at XDP and at TC ingress, with the inner TCP header cut after 8 bytes (the minimum an
 * error carries: ports, no checksum), after 18 (the checksum came back) and whole.
 */
START_TEST(test_frag_needed_about_a_reply)
{
	static const size_t cuts[] = {28, 38, 80};
	static const enum hook hooks[] = {XDP, TC_IN};
	__u8 in[PKT_MAX], want[PKT_MAX];
	size_t c, h, len, want_len;

	for (h = 0; h < 2; h++) {
		for (c = 0; c < 3; c++) {
			struct pkt_spec r = reply_tcp(), t = reply_tcp();
			char what[64];
			__u64 before;

			setup();
			before = gcount(LB_G_ICMP_TO_BACKEND);
			t.saddr = BACKEND; /* as the backend sent it */
			t.sport = BPORT;
			len = pkt_build_icmp_error(ROUTER, VIP, 3, 4, 1280, &r, cuts[c], in);
			want_len = pkt_build_icmp_error(ROUTER, BACKEND, 3, 4, 1280, &t, cuts[c],
							want);
			snprintf(what, sizeof(what), "%s, inner cut at %zu bytes",
				 hooks[h] == XDP ? "xdp" : "tc ingress", cuts[c]);
			expect(what, hooks[h], in, len, want, want_len, hooks[h] == XDP ? 2 : 0);
			ck_assert_uint_eq(gcount(LB_G_ICMP_TO_BACKEND), before + 1);
		}
	}
}
END_TEST

/* Time exceeded and port unreachable about UDP replies: the inner UDP checksum follows. */
START_TEST(test_other_errors_about_a_reply)
{
	static const __u8 types[][2] = {{11, 0}, {3, 3}, {3, 1}};
	__u8 in[PKT_MAX], want[PKT_MAX];
	size_t i, len, want_len;

	for (i = 0; i < 3; i++) {
		struct pkt_spec r = reply_udp(), t = reply_udp();

		setup();
		t.saddr = BACKEND;
		t.sport = BPORT;
		len = pkt_build_icmp_error(ROUTER, VIP, types[i][0], types[i][1], 0, &r, 40, in);
		want_len = pkt_build_icmp_error(ROUTER, BACKEND, types[i][0], types[i][1], 0, &t,
						40, want);
		expect("udp reply error", XDP, in, len, want, want_len, 2);
	}
}
END_TEST

/* Port unreachable from the backend itself about a UDP request: to the client, from the VIP. */
START_TEST(test_error_from_the_backend)
{
	struct pkt_spec q = request_udp(), t = request_udp();
	__u8 in[PKT_MAX], want[PKT_MAX];
	size_t len, want_len;
	__u64 before;

	setup();
	before = gcount(LB_G_ICMP_TO_CLIENT);
	t.daddr = VIP; /* as the client sent it */
	t.dport = 53;
	len = pkt_build_icmp_error(BACKEND, CLIENT, 3, 3, 0, &q, 40, in);
	want_len = pkt_build_icmp_error(VIP, CLIENT, 3, 3, 0, &t, 40, want);
	expect("port unreachable from the backend", TC, in, len, want, want_len, 0);
	ck_assert_uint_eq(gcount(LB_G_ICMP_TO_CLIENT), before + 1);
	/* A UDP request sent without a checksum: 0 stays 0. */
	q.udp_no_csum = t.udp_no_csum = true;
	len = pkt_build_icmp_error(BACKEND, CLIENT, 3, 3, 0, &q, 40, in);
	want_len = pkt_build_icmp_error(VIP, CLIENT, 3, 3, 0, &t, 40, want);
	expect("port unreachable, no UDP checksum", TC, in, len, want, want_len, 0);
}
END_TEST

/* Fragmentation needed from a router on the backend's side about an upload: its own source. */
START_TEST(test_frag_needed_about_a_request)
{
	static const size_t cuts[] = {28, 80};
	__u8 in[PKT_MAX], want[PKT_MAX];
	size_t c, len, want_len;

	for (c = 0; c < 2; c++) {
		struct pkt_spec q = request_tcp(), t = request_tcp();

		setup();
		t.daddr = VIP;
		t.dport = 80;
		len = pkt_build_icmp_error(BROUTER, CLIENT, 3, 4, 1280, &q, cuts[c], in);
		want_len = pkt_build_icmp_error(BROUTER, CLIENT, 3, 4, 1280, &t, cuts[c], want);
		expect("frag needed from a backend-side router", TC, in, len, want, want_len, 0);
	}
}
END_TEST

/* What is not ours passes untouched, counted where the ingress counts such things. */
START_TEST(test_untouched)
{
	__u8 in[PKT_MAX];
	struct pkt_spec r, echo = {.saddr = ROUTER, .daddr = VIP, .proto = IPPROTO_ICMP};
	size_t len;
	__u64 before;

	setup();
	before = gcount(LB_G_PASS_OTHER_L4);
	/* About a flow lbd does not track (another client port). */
	r = reply_tcp();
	r.dport = CPORT + 1;
	len = pkt_build_icmp_error(ROUTER, VIP, 3, 4, 1280, &r, 28, in);
	expect("no such flow", XDP, in, len, in, len, 2);
	/* Sent to another address than the one the reply came from. */
	r = reply_tcp();
	len = pkt_build_icmp_error(ROUTER, IP(10, 1, 0, 99), 3, 4, 1280, &r, 28, in);
	expect("to another address", XDP, in, len, in, len, 2);
	/* About a fragment after the first: no ports in it. */
	r = reply_tcp();
	r.frag_off = 100;
	len = pkt_build_icmp_error(ROUTER, VIP, 3, 4, 1280, &r, 28, in);
	expect("about a later fragment", XDP, in, len, in, len, 2);
	/* Not an error at all. */
	len = pkt_build(&echo, in);
	expect("echo request", XDP, in, len, in, len, 2);
	ck_assert_uint_eq(gcount(LB_G_PASS_OTHER_L4), before + 4);
	/* At egress: an error about a request lbd did not rewrite. */
	r = request_tcp();
	r.sport = CPORT + 1;
	len = pkt_build_icmp_error(BACKEND, CLIENT, 3, 3, 0, &r, 28, in);
	expect("egress, no such flow", TC, in, len, in, len, 0);
	ck_assert_uint_eq(gcount(LB_G_ICMP_TO_CLIENT), 0);
	ck_assert_uint_eq(gcount(LB_G_ICMP_TO_BACKEND), 0);
}
END_TEST

/* An error leaves the flow's entries alone: no flag, no clock, no counter moves. */
START_TEST(test_conntrack_untouched)
{
	struct lb_ct_val o1, r1, o2, r2;
	struct pkt_spec r = reply_tcp();
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len, out_len;
	int verdict;

	setup();
	ck_assert(ct_get(LB_DIR_ORIG, CLIENT, VIP, CPORT, 80, IPPROTO_TCP, &o1));
	ck_assert(ct_get(LB_DIR_REPLY, BACKEND, CLIENT, BPORT, CPORT, IPPROTO_TCP, &r1));
	len = pkt_build_icmp_error(ROUTER, VIP, 3, 4, 1280, &r, 28, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert(ct_get(LB_DIR_ORIG, CLIENT, VIP, CPORT, 80, IPPROTO_TCP, &o2));
	ck_assert(ct_get(LB_DIR_REPLY, BACKEND, CLIENT, BPORT, CPORT, IPPROTO_TCP, &r2));
	ck_assert(!memcmp(&o1, &o2, sizeof(o1)) && !memcmp(&r1, &r2, sizeof(r1)));
}
END_TEST

static Suite *icmp_suite(void)
{
	Suite *s = suite_create("icmp");
	TCase *tc = tcase_create("icmp");

	tcase_add_test(tc, test_frag_needed_about_a_reply);
	tcase_add_test(tc, test_other_errors_about_a_reply);
	tcase_add_test(tc, test_error_from_the_backend);
	tcase_add_test(tc, test_frag_needed_about_a_request);
	tcase_add_test(tc, test_untouched);
	tcase_add_test(tc, test_conntrack_untouched);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(icmp_suite);
}
