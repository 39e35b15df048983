// SPDX-License-Identifier: MIT
/* Unit tests of lb_addr: what the address, CIDR, port and target parsers accept and refuse. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"

/* a.b.c.d in network byte order, as a constant expression for the tables. */
#define H(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define A(a, b, c, d) __builtin_bswap32(H(a, b, c, d))
#else
#define A(a, b, c, d) H(a, b, c, d)
#endif

static char err[LB_ERR_MAX];

/* ---- lb_parse_ipv4 ---- */

static const struct {
	const char *s;
	uint32_t addr;
} ipv4_ok[] = {
	{"0.0.0.0", A(0, 0, 0, 0)},
	{"10.0.0.1", A(10, 0, 0, 1)},
	{"127.0.0.1", A(127, 0, 0, 1)},
	{"192.168.100.200", A(192, 168, 100, 200)},
	{"255.255.255.255", A(255, 255, 255, 255)},
	{"1.2.3.4", A(1, 2, 3, 4)},
};

START_TEST(test_ipv4_accepts)
{
	uint32_t addr = 0xdeadbeef;

	ck_assert_msg(lb_parse_ipv4(ipv4_ok[_i].s, &addr, err, sizeof(err)) == 0,
		      "\"%s\" refused: %s", ipv4_ok[_i].s, err);
	ck_assert_msg(addr == ipv4_ok[_i].addr, "\"%s\" parsed as 0x%08x", ipv4_ok[_i].s,
		      ntohl(addr));
}
END_TEST

static const char *const ipv4_bad[] = {
	"",
	"10",
	"10.1",
	"10.0.0",
	"10.0.0.0.1",
	"10.0.0.256",
	"256.0.0.1",
	"10..0.1",
	".10.0.0",
	"10.0.0.1.",
	"+10.0.0.1",
	"10.0.0.+1",
	"10.0.0.-1",
	" 10.0.0.1",
	"10.0.0.1 ",
	"10.0.0.1x",
	"0x0a.0.0.1",
	"010.0.0.1",
	"10.0.0.01",
	"1000.0.0.1",
	"a.b.c.d",
	"4294967295",
	"10.0.0.1/32",
	"10.0.0.1:80",
	"\xef\xbc\x91.2.3.4",
	"10.0.0.1\n",
	"10.0.0.1\t",
	"10.0.0.99999999999999999999",
};

START_TEST(test_ipv4_refuses)
{
	uint32_t addr = 0x12345678;

	ck_assert_msg(lb_parse_ipv4(ipv4_bad[_i], &addr, err, sizeof(err)) == -EINVAL,
		      "\"%s\" was accepted", ipv4_bad[_i]);
	ck_assert_msg(addr == 0x12345678, "\"%s\" wrote the output on failure", ipv4_bad[_i]);
	ck_assert_msg(strstr(err, "is not an IPv4 address (expected a.b.c.d"),
		      "\"%s\": unexpected message: %s", ipv4_bad[_i], err);
}
END_TEST

START_TEST(test_ipv4_messages)
{
	uint32_t addr;

	lb_parse_ipv4("10.0.0.256", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"10.0.0.256\" is not an IPv4 address (expected a.b.c.d)");
	lb_parse_ipv4("010.0.0.1", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"010.0.0.1\" is not an IPv4 address (expected a.b.c.d without "
			      "leading zeros)");
	lb_parse_ipv4("", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"\" is not an IPv4 address (expected a.b.c.d)");
	/* Control characters are shown escaped, not printed raw into a log line. */
	lb_parse_ipv4("10.0.0.1\n", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"10.0.0.1\\x0a\" is not an IPv4 address (expected a.b.c.d)");
	/* No error buffer, or a tiny one, is fine. */
	ck_assert_int_eq(lb_parse_ipv4("x", &addr, NULL, 0), -EINVAL);
	ck_assert_int_eq(lb_parse_ipv4("x", &addr, err, 4), -EINVAL);
	ck_assert_str_eq(err, "\"x\"");
	ck_assert_int_eq(lb_parse_ipv4(NULL, &addr, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- lb_parse_cidr ---- */

static const struct {
	const char *s;
	uint32_t addr;
	uint8_t len;
} cidr_ok[] = {
	{"192.168.1.0/24", A(192, 168, 1, 0), 24},
	{"10.0.0.0/8", A(10, 0, 0, 0), 8},
	{"10.0.0.1", A(10, 0, 0, 1), 32},
	{"10.0.0.1/32", A(10, 0, 0, 1), 32},
	{"0.0.0.0/0", A(0, 0, 0, 0), 0},
	{"128.0.0.0/1", A(128, 0, 0, 0), 1},
	{"10.10.0.0/16", A(10, 10, 0, 0), 16},
	{"255.255.255.254/31", A(255, 255, 255, 254), 31},
	{"0.0.0.0", A(0, 0, 0, 0), 32},
};

START_TEST(test_cidr_accepts)
{
	uint32_t addr = 1;
	uint8_t len = 99;

	ck_assert_msg(lb_parse_cidr(cidr_ok[_i].s, &addr, &len, err, sizeof(err)) == 0,
		      "\"%s\" refused: %s", cidr_ok[_i].s, err);
	ck_assert_msg(addr == cidr_ok[_i].addr && len == cidr_ok[_i].len,
		      "\"%s\" parsed as 0x%08x/%u", cidr_ok[_i].s, ntohl(addr), len);
}
END_TEST

static const struct {
	const char *s;
	const char *msg;
} cidr_bad[] = {
	{"10.0.0.0/33",
	 "\"10.0.0.0/33\" has an invalid prefix length (expected a number from 0 to 32 after the "
	 "'/')"},
	{"10.0.0.0/", "has an invalid prefix length"},
	{"10.0.0.0/-1", "has an invalid prefix length"},
	{"10.0.0.0/+8", "has an invalid prefix length"},
	{"10.0.0.0/08", "has an invalid prefix length"},
	{"10.0.0.0/ 8", "has an invalid prefix length"},
	{"10.0.0.0/8/8", "has an invalid prefix length"},
	{"10.0.0.0/999999999999", "has an invalid prefix length"},
	{"10.0.0/8",
	 "\"10.0.0/8\" is not an IPv4 address or CIDR (expected a.b.c.d/len or a.b.c.d)"},
	{"/8", "is not an IPv4 address or CIDR"},
	{"", "is not an IPv4 address or CIDR"},
	{"any", "is not an IPv4 address or CIDR"},
	{"010.0.0.0/8", "(expected a.b.c.d/len or a.b.c.d without leading zeros)"},
	{"192.168.1.5/24", "\"192.168.1.5/24\" has host bits set; did you mean 192.168.1.0/24?"},
	{"10.0.0.1/0", "\"10.0.0.1/0\" has host bits set; did you mean 0.0.0.0/0?"},
	{"10.1.2.3/31", "did you mean 10.1.2.2/31?"},
};

START_TEST(test_cidr_refuses)
{
	uint32_t addr = 7;
	uint8_t len = 7;

	ck_assert_msg(lb_parse_cidr(cidr_bad[_i].s, &addr, &len, err, sizeof(err)) == -EINVAL,
		      "\"%s\" was accepted", cidr_bad[_i].s);
	ck_assert_msg(addr == 7 && len == 7, "\"%s\" wrote the output on failure", cidr_bad[_i].s);
	ck_assert_msg(strstr(err, cidr_bad[_i].msg), "\"%s\": got \"%s\", expected \"%s\"",
		      cidr_bad[_i].s, err, cidr_bad[_i].msg);
}
END_TEST

/* ---- lb_parse_port ---- */

START_TEST(test_port)
{
	static const char *const bad[] = {"",	"0",	"65536", "99999999999999999999",
					  "-1", "+80",	" 80",	 "80 ",
					  "8o", "0x50", "80.0",	 "http"};
	uint16_t port = 0;
	size_t i;

	ck_assert_int_eq(lb_parse_port("1", &port, err, sizeof(err)), 0);
	ck_assert_uint_eq(port, 1);
	ck_assert_int_eq(lb_parse_port("80", &port, err, sizeof(err)), 0);
	ck_assert_uint_eq(port, 80);
	ck_assert_int_eq(lb_parse_port("65535", &port, err, sizeof(err)), 0);
	ck_assert_uint_eq(port, 65535);
	/* Decimal, so a leading zero is harmless: it is never octal. */
	ck_assert_int_eq(lb_parse_port("0080", &port, err, sizeof(err)), 0);
	ck_assert_uint_eq(port, 80);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 4242;
		ck_assert_msg(lb_parse_port(bad[i], &port, err, sizeof(err)) == -EINVAL,
			      "port \"%s\" was accepted", bad[i]);
		ck_assert_msg(port == 4242, "port \"%s\" wrote the output on failure", bad[i]);
	}
	lb_parse_port("65536", &port, err, sizeof(err));
	ck_assert_str_eq(err, "\"65536\" is not a valid port (expected a number from 1 to 65535)");
}
END_TEST

/* ---- lb_parse_target ---- */

static const struct {
	const char *s;
	uint32_t addr;
	uint16_t port;
	uint8_t weight;
	int has_weight;
} target_ok[] = {
	{"10.0.0.1:8080", A(10, 0, 0, 1), 8080, 100, 0},
	{"10.0.0.1:8080@70", A(10, 0, 0, 1), 8080, 70, 1},
	{"10.0.0.2:1@0", A(10, 0, 0, 2), 1, 0, 1},
	{"10.0.0.3:65535@100", A(10, 0, 0, 3), 65535, 100, 1},
	{"127.0.0.1:80", A(127, 0, 0, 1), 80, 100, 0},
	{"192.168.1.1:443@5", A(192, 168, 1, 1), 443, 5, 1},
};

START_TEST(test_target_accepts)
{
	struct lb_target_cfg t;
	int has_weight = -1;

	memset(&t, 0, sizeof(t));
	t.hc.interval_ms = 1234;
	t.has_hc = true;
	ck_assert_msg(lb_parse_target(target_ok[_i].s, &t, &has_weight, err, sizeof(err)) == 0,
		      "\"%s\" refused: %s", target_ok[_i].s, err);
	ck_assert_msg(t.addr == target_ok[_i].addr, "\"%s\": address 0x%08x", target_ok[_i].s,
		      ntohl(t.addr));
	ck_assert_uint_eq(t.port, target_ok[_i].port);
	ck_assert_uint_eq(t.weight, target_ok[_i].weight);
	ck_assert_int_eq(has_weight, target_ok[_i].has_weight);
	ck_assert_msg(t.hc.interval_ms == 1234 && t.has_hc, "the health check was touched");
	/* has_weight is optional. */
	ck_assert_int_eq(lb_parse_target(target_ok[_i].s, &t, NULL, err, sizeof(err)), 0);
}
END_TEST

static const struct {
	const char *s;
	const char *msg;
} target_bad[] = {
	{"10.0.0.1", "\"10.0.0.1\" is not a target (expected ip:port or ip:port@weight)"},
	{"", "\"\" is not a target (expected ip:port or ip:port@weight)"},
	{"10.0.0.1@50", "\"10.0.0.1@50\" is not a target (expected ip:port or ip:port@weight)"},
	{"10.0.0.256:80",
	 "\"10.0.0.256:80\" is not a valid target: \"10.0.0.256\" is not an IPv4 address "
	 "(expected a.b.c.d)"},
	{":80", "\":80\" is not a valid target: \"\" is not an IPv4 address (expected a.b.c.d)"},
	{"host:80", "is not an IPv4 address"},
	{"10.0.0.1 :80", "is not an IPv4 address"},
	{"10.0.0.1:",
	 "\"10.0.0.1:\" is not a valid target: \"\" is not a valid port (expected a number from 1 "
	 "to 65535)"},
	{"10.0.0.1:0",
	 "\"10.0.0.1:0\" is not a valid target: \"0\" is not a valid port (expected a number from "
	 "1 to 65535)"},
	{"10.0.0.1:65536", "\"65536\" is not a valid port"},
	{"10.0.0.1:80:90", "\"80:90\" is not a valid port"},
	{"10.0.0.1:http", "\"http\" is not a valid port"},
	{"10.0.0.1:80@",
	 "\"10.0.0.1:80@\" is not a valid target: weight \"\" is not a number from 0 to 100"},
	{"10.0.0.1:80@101",
	 "\"10.0.0.1:80@101\" is not a valid target: weight \"101\" is not a number from 0 to "
	 "100"},
	{"10.0.0.1:80@-1", "weight \"-1\" is not a number from 0 to 100"},
	{"10.0.0.1:80@50x", "weight \"50x\" is not a number from 0 to 100"},
	{"10.0.0.1:80@5@5", "weight \"5@5\" is not a number from 0 to 100"},
	{"0.0.0.0:80", "\"0.0.0.0:80\" is not a valid target: 0.0.0.0 is not a usable address"},
	{"224.0.0.1:80", "\"224.0.0.1:80\" is not a valid target: 224.0.0.1 is a multicast address "
			 "(224.0.0.0/4), not a usable unicast address"},
	{"255.255.255.255:80",
	 "\"255.255.255.255:80\" is not a valid target: 255.255.255.255 is the broadcast address, "
	 "not a usable address"},
	{"240.0.0.1:80",
	 "\"240.0.0.1:80\" is not a valid target: 240.0.0.1 is a reserved address (240.0.0.0/4), "
	 "not a usable address"},
};

START_TEST(test_target_refuses)
{
	struct lb_target_cfg t;
	int has_weight = -1;

	memset(&t, 0xab, sizeof(t));
	ck_assert_msg(lb_parse_target(target_bad[_i].s, &t, &has_weight, err, sizeof(err)) ==
			      -EINVAL,
		      "\"%s\" was accepted", target_bad[_i].s);
	ck_assert_msg(t.port == 0xabab && has_weight == -1, "\"%s\" wrote the output on failure",
		      target_bad[_i].s);
	ck_assert_msg(strstr(err, target_bad[_i].msg), "\"%s\": got \"%s\", expected \"%s\"",
		      target_bad[_i].s, err, target_bad[_i].msg);
}
END_TEST

/* ---- lb_addr_unusable / lb_check_usable ---- */

static const struct {
	uint32_t addr;
	const char *reason; /* NULL: usable */
} usable[] = {
	{A(0, 0, 0, 0), "0.0.0.0 is not a usable address"},
	{A(255, 255, 255, 255), "255.255.255.255 is the broadcast address, not a usable address"},
	{A(224, 0, 0, 1), "multicast addresses (224.0.0.0/4) are not usable"},
	{A(239, 255, 255, 255), "multicast addresses (224.0.0.0/4) are not usable"},
	{A(240, 0, 0, 1), "reserved addresses (240.0.0.0/4) are not usable"},
	{A(255, 255, 255, 254), "reserved addresses (240.0.0.0/4) are not usable"},
	{A(127, 0, 0, 1), NULL},
	{A(127, 255, 255, 254), NULL},
	{A(10, 0, 0, 1), NULL},
	{A(0, 0, 0, 1), NULL},
	{A(223, 255, 255, 255), NULL},
	{A(169, 254, 1, 1), NULL},
};

START_TEST(test_unusable)
{
	const char *why = lb_addr_unusable(usable[_i].addr);
	char a[LB_ADDR_STR_MAX];

	lb_format_ipv4(usable[_i].addr, a);
	if (!usable[_i].reason) {
		ck_assert_msg(why == NULL, "%s refused: %s", a, why);
		ck_assert_int_eq(lb_check_usable(usable[_i].addr, err, sizeof(err)), 0);
	} else {
		ck_assert_msg(why && !strcmp(why, usable[_i].reason), "%s: got \"%s\"", a,
			      why ? why : "(usable)");
		ck_assert_int_eq(lb_check_usable(usable[_i].addr, err, sizeof(err)), -EINVAL);
	}
}
END_TEST

START_TEST(test_check_usable_messages)
{
	lb_check_usable(A(0, 0, 0, 0), err, sizeof(err));
	ck_assert_str_eq(err, "0.0.0.0 is not a usable address");
	lb_check_usable(A(239, 1, 2, 3), err, sizeof(err));
	ck_assert_str_eq(
		err,
		"239.1.2.3 is a multicast address (224.0.0.0/4), not a usable unicast address");
	lb_check_usable(A(250, 0, 0, 1), err, sizeof(err));
	ck_assert_str_eq(err,
			 "250.0.0.1 is a reserved address (240.0.0.0/4), not a usable address");
}
END_TEST

/* ---- formatting and quoting ---- */

START_TEST(test_format)
{
	char a[LB_ADDR_STR_MAX], t[LB_TARGET_STR_MAX], n[LB_TARGET_STR_MAX];

	ck_assert_str_eq(lb_format_ipv4(A(10, 0, 0, 1), a), "10.0.0.1");
	ck_assert_str_eq(lb_format_ipv4(A(255, 255, 255, 255), a), "255.255.255.255");
	ck_assert_str_eq(lb_format_target(A(255, 255, 255, 255), 65535, t),
			 "255.255.255.255:65535");
	ck_assert_str_eq(lb_format_target(A(10, 0, 0, 1), 8080, t), "10.0.0.1:8080");
	ck_assert_str_eq(lb_format_cidr(A(192, 168, 0, 0), 16, n), "192.168.0.0/16");
	ck_assert_str_eq(lb_format_cidr(0, 0, n), "0.0.0.0/0");
}
END_TEST

START_TEST(test_round_trip)
{
	struct lb_target_cfg tg = {0};
	char a[LB_ADDR_STR_MAX], t[LB_TARGET_STR_MAX];
	uint32_t addr;
	size_t i;

	for (i = 0; i < sizeof(ipv4_ok) / sizeof(ipv4_ok[0]); i++) {
		ck_assert_int_eq(lb_parse_ipv4(ipv4_ok[i].s, &addr, err, sizeof(err)), 0);
		ck_assert_str_eq(lb_format_ipv4(addr, a), ipv4_ok[i].s);
	}
	ck_assert_int_eq(lb_parse_target("10.1.2.3:4567", &tg, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(lb_format_target(tg.addr, tg.port, t), "10.1.2.3:4567");
}
END_TEST

START_TEST(test_quote)
{
	char q[LB_QUOTE_MAX], long_text[200];

	ck_assert_str_eq(lb_quote("web", q), "\"web\"");
	ck_assert_str_eq(lb_quote("", q), "\"\"");
	ck_assert_str_eq(lb_quote(NULL, q), "\"\"");
	ck_assert_str_eq(lb_quote("a\"b\\c", q), "\"a\\\"b\\\\c\"");
	ck_assert_str_eq(lb_quote("tab\there", q), "\"tab\\x09here\"");
	ck_assert_str_eq(lb_quote("\xc3\xa9", q), "\"\\xc3\\xa9\"");

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	lb_quote(long_text, q);
	ck_assert_uint_lt(strlen(q), LB_QUOTE_MAX);
	ck_assert_msg(strlen(q) > 60, "cut too short: %s", q);
	ck_assert_str_eq(q + strlen(q) - 4, "...\"");

	/* Exactly as long as fits: shown whole, no "...". */
	long_text[LB_QUOTE_MAX - 3] = '\0';
	lb_quote(long_text, q);
	ck_assert_uint_eq(strlen(q), LB_QUOTE_MAX - 1);
	ck_assert_ptr_null(strstr(q, "..."));
	/* One byte more: cut. */
	long_text[LB_QUOTE_MAX - 3] = 'x';
	long_text[LB_QUOTE_MAX - 2] = '\0';
	lb_quote(long_text, q);
	ck_assert_ptr_nonnull(strstr(q, "...\""));
	ck_assert_uint_lt(strlen(q), LB_QUOTE_MAX);
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("ipv4");
	tcase_add_loop_test(tc, test_ipv4_accepts, 0, N(ipv4_ok));
	tcase_add_loop_test(tc, test_ipv4_refuses, 0, N(ipv4_bad));
	tcase_add_test(tc, test_ipv4_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_loop_test(tc, test_cidr_accepts, 0, N(cidr_ok));
	tcase_add_loop_test(tc, test_cidr_refuses, 0, N(cidr_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("port");
	tcase_add_test(tc, test_port);
	suite_add_tcase(s, tc);

	tc = tcase_create("target");
	tcase_add_loop_test(tc, test_target_accepts, 0, N(target_ok));
	tcase_add_loop_test(tc, test_target_refuses, 0, N(target_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("usable");
	tcase_add_loop_test(tc, test_unusable, 0, N(usable));
	tcase_add_test(tc, test_check_usable_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_quote);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
