// SPDX-License-Identifier: MIT
/*
 * Connection events in user space: the JSON lbd sends and logs for an lb_event (exact
 * text, wall-clock time from the datapath's monotonic stamp), and the "closed" event the
 * sweeper makes for flows that end without a closing packet (reason by how they ended).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conn_json.h"
#include "lb_ip.h"
#include "sweep.h"

#define NSEC 1000000000ull

/* The IPv6 address @s (test input: must parse). */
static struct lb_ip ip6(const char *s)
{
	struct lb_ip a;

	ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct lb_event sample(void)
{
	struct lb_event e = {
		.type = LB_EV_CLOSED,
		.proto = LB_PROTO_TCP,
		.route = LB_ROUTE_SOURCE,
		.reason = LB_CLOSE_FIN,
		.proxy_id = 3,
		.target_id = 7,
		.ts_ns = 500 * NSEC + 250000000ull,
		.created_ns = 500 * NSEC + 234000000ull,
		.pkts_in = 6,
		.bytes_in = 412,
		.pkts_out = 4,
		.bytes_out = 1520,
	};

	e.client_addr = lb_ip_from_v4(inet_addr("10.1.0.2"));
	e.client_port = htons(40112);
	e.listen_addr = lb_ip_from_v4(inet_addr("10.1.0.1"));
	e.listen_port = htons(80);
	e.backend_addr = lb_ip_from_v4(inet_addr("10.2.1.2"));
	e.backend_port = htons(8080);
	return e;
}

static void expect_json(const struct lb_event *e, const char *proxy, const char *want)
{
	/* Read 1.5 s after the event, at 2026-11-26T20:31:03.750Z wall-clock time. */
	json_t *j = lb_event_json(e, proxy, e->ts_ns + 1500000000ull,
				  1795725063ull * NSEC + 750000000ull);
	char *got = json_dumps(j, JSON_COMPACT);

	ck_assert_str_eq(got, want);
	free(got);
	json_decref(j);
}

START_TEST(test_closed_json)
{
	struct lb_event e = sample();

	expect_json(
		&e, "web",
		"{\"event\":\"closed\",\"time\":\"2026-11-26T20:31:02.250Z\",\"proxy\":\"web\","
		"\"protocol\":\"tcp\",\"client\":\"10.1.0.2:40112\",\"listener\":\"10.1.0.1:80\","
		"\"target\":\"10.2.1.2:8080\",\"route\":\"source-route\",\"reason\":\"fin\","
		"\"duration-ms\":16,\"packets-in\":6,\"bytes-in\":412,\"packets-out\":4,"
		"\"bytes-out\":1520}");
}
END_TEST

START_TEST(test_opened_json)
{
	struct lb_event e = sample();

	e.type = LB_EV_OPENED;
	e.route = LB_ROUTE_ACCEPTOR;
	e.proto = LB_PROTO_UDP;
	e.flags = LB_CT_F_PICKUP;
	expect_json(
		&e, NULL,
		"{\"event\":\"opened\",\"time\":\"2026-11-26T20:31:02.250Z\",\"proxy\":\"unknown\","
		"\"protocol\":\"udp\",\"client\":\"10.1.0.2:40112\",\"listener\":\"10.1.0.1:80\","
		"\"target\":\"10.2.1.2:8080\",\"route\":\"sni-acceptor\",\"pickup\":true}");
}
END_TEST

/* IPv6 endpoints: RFC 5952 text in brackets before the port. */
START_TEST(test_ipv6_json)
{
	struct lb_event e = sample();

	e.client_addr = ip6("2001:db8::1");
	e.listen_addr = ip6("2001:db8:0:0:1:0:0:80");
	e.backend_addr = ip6("fd00:2::2");
	expect_json(
		&e, "web",
		"{\"event\":\"closed\",\"time\":\"2026-11-26T20:31:02.250Z\",\"proxy\":\"web\","
		"\"protocol\":\"tcp\",\"client\":\"[2001:db8::1]:40112\","
		"\"listener\":\"[2001:db8::1:0:0:80]:80\",\"target\":\"[fd00:2::2]:8080\","
		"\"route\":\"source-route\",\"reason\":\"fin\",\"duration-ms\":16,\"packets-in\":6,"
		"\"bytes-in\":412,\"packets-out\":4,\"bytes-out\":1520}");
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(lb_event_reason_name(LB_CLOSE_RST), "rst");
	ck_assert_str_eq(lb_event_reason_name(LB_CLOSE_TIMEOUT), "timeout");
	ck_assert_str_eq(lb_event_reason_name(LB_CLOSE_UNANSWERED), "unanswered");
	ck_assert_str_eq(lb_event_reason_name(99), "unknown");
	ck_assert_str_eq(lb_event_route_name(LB_ROUTE_DEFAULT), "default");
	ck_assert_str_eq(lb_event_route_name(99), "unknown");
	ck_assert_str_eq(lb_event_type_name(0), "unknown");
}
END_TEST

/* The sweeper's event for a flow of @proto with entries @o / @r, live or not. */
static struct lb_event swept(__u8 proto, const struct lb_ct_val *o, const struct lb_ct_val *r,
			     bool live)
{
	struct lb_ct_key k = {.proto = proto, .dir = LB_DIR_ORIG};
	struct lb_flow_view f = {.key = &k,
				 .orig = o,
				 .reply = r,
				 .live = live,
				 .expired = true,
				 .now_ns = 900 * NSEC};
	struct lb_event e;

	k.saddr = lb_ip_from_v4(inet_addr("10.1.0.2"));
	k.sport = htons(40112);
	k.daddr = lb_ip_from_v4(inet_addr("10.1.0.1"));
	k.dport = htons(80);
	lb_sweep_close_event(&f, &e);
	return e;
}

START_TEST(test_sweeper_reasons)
{
	struct lb_ct_val o = {.proxy_id = 3,
			      .target_id = 7,
			      .created_ns = 100 * NSEC,
			      .pkts = 3,
			      .bytes = 180,
			      .route = LB_ROUTE_DEFAULT};
	struct lb_ct_val r = o;
	struct lb_event e;

	o.nat_addr = lb_ip_from_v4(inet_addr("10.2.1.2"));
	o.nat_port = htons(8080);
	r.pkts = 2;
	r.bytes = 120;
	r.flags = LB_CT_F_REPLIED;
	e = swept(LB_PROTO_TCP, &o, &r, true);
	ck_assert_uint_eq(e.type, LB_EV_CLOSED);
	ck_assert_uint_eq(e.reason, LB_CLOSE_TIMEOUT);
	ck_assert(lb_ip_eq(&e.backend_addr, &o.nat_addr));
	ck_assert_uint_eq(e.backend_port, o.nat_port);
	ck_assert_uint_eq(e.client_port, htons(40112));
	ck_assert_uint_eq(e.ts_ns, 900 * NSEC);
	ck_assert_uint_eq(e.created_ns, 100 * NSEC);
	ck_assert(e.pkts_in == 3 && e.bytes_in == 180 && e.pkts_out == 2 && e.bytes_out == 120);
	/* Never answered: the REPLY entry has no REPLIED flag, or is gone. */
	r.flags = 0;
	ck_assert_uint_eq(swept(LB_PROTO_TCP, &o, &r, true).reason, LB_CLOSE_UNANSWERED);
	e = swept(LB_PROTO_TCP, &o, NULL, true);
	ck_assert_uint_eq(e.reason, LB_CLOSE_UNANSWERED);
	ck_assert(e.pkts_out == 0 && e.bytes_out == 0);
	/* UDP has no answer to wait for: idle is a timeout. */
	ck_assert_uint_eq(swept(LB_PROTO_UDP, &o, NULL, true).reason, LB_CLOSE_TIMEOUT);
	/* Closed flows whose closing packet was not seen to the end. */
	o.flags = LB_CT_F_FIN;
	r.flags = LB_CT_F_FIN | LB_CT_F_REPLIED;
	ck_assert_uint_eq(swept(LB_PROTO_TCP, &o, &r, false).reason, LB_CLOSE_FIN);
	r.flags = LB_CT_F_RST;
	ck_assert_uint_eq(swept(LB_PROTO_TCP, &o, &r, false).reason, LB_CLOSE_RST);
}
END_TEST

/* An IPv6 flow's event carries its whole addresses, not only their last 32 bits. */
START_TEST(test_sweeper_ipv6)
{
	struct lb_ct_val o = {.proxy_id = 3, .target_id = 7, .created_ns = 100 * NSEC};
	struct lb_ct_key k = {.proto = LB_PROTO_TCP, .dir = LB_DIR_ORIG};
	struct lb_flow_view f = {
		.key = &k, .orig = &o, .live = true, .expired = true, .now_ns = 900 * NSEC};
	struct lb_ip client = ip6("2001:db8::1"), listener = ip6("2001:db8:1::80");
	struct lb_ip backend = ip6("2001:db8:2::1");
	struct lb_event e;

	k.saddr = client;
	k.sport = htons(40112);
	k.daddr = listener;
	k.dport = htons(80);
	o.nat_addr = backend;
	o.nat_port = htons(8080);
	lb_sweep_close_event(&f, &e);
	ck_assert(lb_ip_eq(&e.client_addr, &client));
	ck_assert(lb_ip_eq(&e.listen_addr, &listener));
	ck_assert(lb_ip_eq(&e.backend_addr, &backend));
	ck_assert_uint_eq(e.client_port, htons(40112));
	ck_assert_uint_eq(e.listen_port, htons(80));
	ck_assert_uint_eq(e.backend_port, htons(8080));
	ck_assert_uint_eq(e.reason, LB_CLOSE_UNANSWERED);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_closed_json);
	tcase_add_test(tc, test_opened_json);
	tcase_add_test(tc, test_ipv6_json);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_sweeper_reasons);
	tcase_add_test(tc, test_sweeper_ipv6);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(events_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
