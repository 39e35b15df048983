// SPDX-License-Identifier: MIT
/* Unit tests of lb_addr: what the address, CIDR, port and target parsers accept and refuse. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"

/* The address @text by the C library's parser (the reference these tests hold lb_addr to). */
static struct lb_ip ip(const char *text)
{
	struct lb_ip a;
	struct in_addr v4;

	if (inet_pton(AF_INET, text, &v4) == 1)
		return lb_ip_from_v4(v4.s_addr);
	ck_assert_msg(inet_pton(AF_INET6, text, &a) == 1, "test bug: %s", text);
	return a;
}

static const char *show(const struct lb_ip *a)
{
	static char buf[LB_ADDR_STR_MAX];

	return inet_ntop(lb_ip_is_v4(a) ? AF_INET : AF_INET6,
			 lb_ip_is_v4(a) ? (const void *)&a->w[3] : (const void *)a, buf,
			 sizeof(buf));
}

static char err[LB_ERR_MAX];

/* ---- lb_parse_ip ---- */

/* In their canonical forms (RFC 5952 for IPv6): formatting gives the same text back. */
static const char *const ip_ok[] = {
	"0.0.0.0",
	"10.0.0.1",
	"127.0.0.1",
	"192.168.100.200",
	"255.255.255.255",
	"1.2.3.4",
	"::",
	"::1",
	"2001:db8::1",
	"2001:db8:0:1:2:3:4:5",
	"fd00:1:2:3::10",
	"2001:db8::1:0:0:1",
	"ff02::1",
	"fe80::1",
	"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	"64:ff9b::a00:1",
};

START_TEST(test_ip_accepts)
{
	struct lb_ip addr, want = ip(ip_ok[_i]);
	char a[LB_ADDR_STR_MAX];

	memset(&addr, 0xee, sizeof(addr));
	ck_assert_msg(lb_parse_ip(ip_ok[_i], &addr, err, sizeof(err)) == 0, "\"%s\" refused: %s",
		      ip_ok[_i], err);
	ck_assert_msg(lb_ip_eq(&addr, &want), "\"%s\" parsed as %s", ip_ok[_i], show(&addr));
	ck_assert_int_eq(lb_ip_is_v4(&addr), strchr(ip_ok[_i], ':') == NULL);
	ck_assert_str_eq(lb_format_ip(&addr, a), ip_ok[_i]);
}
END_TEST

/* Non-canonical IPv6 text is accepted (RFC 4291) and formatted the RFC 5952 way. */
static const struct {
	const char *s, *canonical;
} ip6_forms[] = {
	{"2001:DB8::1", "2001:db8::1"},
	{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
	{"2001:db8::0:1", "2001:db8::1"},
	{"0:0:0:0:0:0:0:1", "::1"},
	{"2001:db8:0:0:0:0:2:1", "2001:db8::2:1"},
	{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
};

START_TEST(test_ip6_canonical)
{
	struct lb_ip addr, want = ip(ip6_forms[_i].canonical);
	char a[LB_ADDR_STR_MAX];

	ck_assert_msg(lb_parse_ip(ip6_forms[_i].s, &addr, err, sizeof(err)) == 0,
		      "\"%s\" refused: %s", ip6_forms[_i].s, err);
	ck_assert(lb_ip_eq(&addr, &want));
	ck_assert_str_eq(lb_format_ip(&addr, a), ip6_forms[_i].canonical);
}
END_TEST

static const char *const ip_bad[] = {
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
	/* IPv6 */
	":",
	":::",
	"1::2::3",
	"2001:db8:::1",
	"2001:db8::1::",
	"1:2:3:4:5:6:7:8:9",
	"1:2:3:4:5:6:7",
	"12345::1",
	"2001:db8::g",
	"2001:db8::1%eth0",
	"[2001:db8::1]",
	"2001:db8::1/64",
	" ::1",
	"::1 ",
	"::ffff:10.0.0.1",
	"::10.0.0.1",
	"::a00:1",
	"::2",
	"2001:db8::1.2.3",
	"2001:db8:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:1",
};

START_TEST(test_ip_refuses)
{
	struct lb_ip addr, orig;

	memset(&addr, 0x5a, sizeof(addr));
	orig = addr;
	ck_assert_msg(lb_parse_ip(ip_bad[_i], &addr, err, sizeof(err)) == -EINVAL,
		      "\"%s\" was accepted", ip_bad[_i]);
	ck_assert_msg(lb_ip_eq(&addr, &orig), "\"%s\" wrote the output on failure", ip_bad[_i]);
	ck_assert_msg(strstr(err, "is not an IP address ("), "\"%s\": unexpected message: %s",
		      ip_bad[_i], err);
}
END_TEST

#define EXPECT_V4 "expected an IPv4 address a.b.c.d or an IPv6 address"

START_TEST(test_ip_messages)
{
	struct lb_ip addr;

	lb_parse_ip("10.0.0.256", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"10.0.0.256\" is not an IP address (" EXPECT_V4 ")");
	lb_parse_ip("010.0.0.1", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"010.0.0.1\" is not an IP address (an IPv4 address is written "
			      "a.b.c.d without leading zeros)");
	lb_parse_ip("", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"\" is not an IP address (" EXPECT_V4 ")");
	/* Control characters are shown escaped, not printed raw into a log line. */
	lb_parse_ip("10.0.0.1\n", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"10.0.0.1\\x0a\" is not an IP address (" EXPECT_V4 ")");
	/* IPv6: what is wrong, in the user's words. */
	lb_parse_ip("1::2::3", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"1::2::3\" is not an IP address (expected an IPv6 address "
			      "(RFC 4291 text form))");
	lb_parse_ip("2001:db8::1%eth0", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"2001:db8::1%eth0\" is not an IP address (zones (%) are not "
			      "supported)");
	lb_parse_ip("::ffff:10.0.0.1", &addr, err, sizeof(err));
	ck_assert_str_eq(err, "\"::ffff:10.0.0.1\" is not an IP address (an IPv4-mapped address: "
			      "write the IPv4 address a.b.c.d itself)");
	lb_parse_ip("::10.0.0.1", &addr, err, sizeof(err));
	ck_assert_msg(strstr(err, "an IPv4-compatible address (deprecated)"), "%s", err);
	lb_parse_ip("[::1]", &addr, err, sizeof(err));
	ck_assert_msg(strstr(err, "hex digits and colons"), "%s", err);
	/* No error buffer, or a tiny one, is fine. */
	ck_assert_int_eq(lb_parse_ip("x", &addr, NULL, 0), -EINVAL);
	ck_assert_int_eq(lb_parse_ip("x", &addr, err, 4), -EINVAL);
	ck_assert_str_eq(err, "\"x\"");
	ck_assert_int_eq(lb_parse_ip(NULL, &addr, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- lb_parse_cidr ---- */

static const struct {
	const char *s, *addr;
	uint8_t len;
} cidr_ok[] = {
	{"192.168.1.0/24", "192.168.1.0", 24},
	{"10.0.0.0/8", "10.0.0.0", 8},
	{"10.0.0.1", "10.0.0.1", 32},
	{"10.0.0.1/32", "10.0.0.1", 32},
	{"0.0.0.0/0", "0.0.0.0", 0},
	{"128.0.0.0/1", "128.0.0.0", 1},
	{"10.10.0.0/16", "10.10.0.0", 16},
	{"255.255.255.254/31", "255.255.255.254", 31},
	{"0.0.0.0", "0.0.0.0", 32},
	{"2001:db8::/32", "2001:db8::", 32},
	{"2001:db8:1::/48", "2001:db8:1::", 48},
	{"::/0", "::", 0},
	{"2001:db8::1", "2001:db8::1", 128},
	{"2001:db8::1/128", "2001:db8::1", 128},
	{"fd00::/8", "fd00::", 8},
	{"2001:db8:0:1::/64", "2001:db8:0:1::", 64},
	{"2001:db8::8000:0/97", "2001:db8::8000:0", 97},
};

START_TEST(test_cidr_accepts)
{
	struct lb_ip addr = ip("1.1.1.1"), want = ip(cidr_ok[_i].addr);
	uint8_t len = 99;

	ck_assert_msg(lb_parse_cidr(cidr_ok[_i].s, &addr, &len, err, sizeof(err)) == 0,
		      "\"%s\" refused: %s", cidr_ok[_i].s, err);
	ck_assert_msg(lb_ip_eq(&addr, &want) && len == cidr_ok[_i].len, "\"%s\" parsed as %s/%u",
		      cidr_ok[_i].s, show(&addr), len);
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
	 "\"10.0.0/8\" is not an address or prefix (expected an IPv4 address a.b.c.d or an IPv6 "
	 "address; a prefix is written addr/len)"},
	{"/8", "is not an address or prefix"},
	{"", "is not an address or prefix"},
	{"any", "is not an address or prefix"},
	{"010.0.0.0/8", "(an IPv4 address is written a.b.c.d without leading zeros; a prefix"},
	{"192.168.1.5/24", "\"192.168.1.5/24\" has host bits set; did you mean 192.168.1.0/24?"},
	{"10.0.0.1/0", "\"10.0.0.1/0\" has host bits set; did you mean 0.0.0.0/0?"},
	{"10.1.2.3/31", "did you mean 10.1.2.2/31?"},
	{"2001:db8::/129",
	 "\"2001:db8::/129\" has an invalid prefix length (expected a number from 0 to 128 after "
	 "the '/')"},
	{"2001:db8::/064", "has an invalid prefix length"},
	{"2001:db8:1::1/48",
	 "\"2001:db8:1::1/48\" has host bits set; did you mean 2001:db8:1::/48?"},
	{"2001:db8::/16", "did you mean 2001::/16?"},
	{"::1/0", "did you mean ::/0?"},
	{"::ffff:10.0.0.0/104", "an IPv4-mapped address: write the IPv4 address a.b.c.d itself"},
	{"2001:db8::/", "has an invalid prefix length"},
	{"[2001:db8::]/32", "is not an address or prefix"},
};

START_TEST(test_cidr_refuses)
{
	struct lb_ip addr = ip("0.0.0.7"), orig = addr;
	uint8_t len = 7;

	ck_assert_msg(lb_parse_cidr(cidr_bad[_i].s, &addr, &len, err, sizeof(err)) == -EINVAL,
		      "\"%s\" was accepted", cidr_bad[_i].s);
	ck_assert_msg(lb_ip_eq(&addr, &orig) && len == 7, "\"%s\" wrote the output on failure",
		      cidr_bad[_i].s);
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
	const char *s, *addr;
	uint16_t port;
	uint8_t weight;
	int has_weight;
} target_ok[] = {
	{"10.0.0.1:8080", "10.0.0.1", 8080, 100, 0},
	{"10.0.0.1:8080@70", "10.0.0.1", 8080, 70, 1},
	{"10.0.0.2:1@0", "10.0.0.2", 1, 0, 1},
	{"10.0.0.3:65535@100", "10.0.0.3", 65535, 100, 1},
	{"127.0.0.1:80", "127.0.0.1", 80, 100, 0},
	{"192.168.1.1:443@5", "192.168.1.1", 443, 5, 1},
	{"[2001:db8::1]:8080", "2001:db8::1", 8080, 100, 0},
	{"[2001:db8::1]:8080@30", "2001:db8::1", 8080, 30, 1},
	{"[::1]:80", "::1", 80, 100, 0},
	{"[fd00::a:b]:65535@0", "fd00::a:b", 65535, 0, 1},
	{"[2001:DB8:0:0::2]:443", "2001:db8::2", 443, 100, 0},
};

START_TEST(test_target_accepts)
{
	struct lb_target_cfg t;
	struct lb_ip want;
	int has_weight = -1;

	memset(&t, 0, sizeof(t));
	t.hc.interval_ms = 1234;
	t.has_hc = true;
	ck_assert_msg(lb_parse_target(target_ok[_i].s, &t, &has_weight, err, sizeof(err)) == 0,
		      "\"%s\" refused: %s", target_ok[_i].s, err);
	want = ip(target_ok[_i].addr);
	ck_assert_msg(lb_ip_eq(&t.addr, &want), "\"%s\": address %s", target_ok[_i].s,
		      show(&t.addr));
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
	{"10.0.0.1",
	 "\"10.0.0.1\" is not a target (no ':' before a port; expected ip:port, ip:port@weight or "
	 "[ipv6]:port@weight)"},
	{"", "\"\" is not a target (no ':' before a port;"},
	{"10.0.0.1@50", "\"10.0.0.1@50\" is not a target (no ':' before a port;"},
	{"10.0.0.256:80",
	 "\"10.0.0.256:80\" is not a valid target: \"10.0.0.256\" is not an IP address "
	 "(expected an IPv4 address a.b.c.d or an IPv6 address)"},
	{":80", "\":80\" is not a valid target: \"\" is not an IP address (expected an IPv4"},
	{"host:80", "is not an IP address"},
	{"10.0.0.1 :80", "is not an IP address"},
	{"2001:db8::1:80",
	 "\"2001:db8::1:80\" is not a target (an IPv6 address is written in brackets before its "
	 "port, as in [2001:db8::1]:8080;"},
	{"[2001:db8::1:80", "an IPv6 address in brackets lacks its ']'"},
	{"[2001:db8::1]80", "expected ':' and a port after ']'"},
	{"[2001:db8::1]", "expected ':' and a port after ']'"},
	{"[10.0.0.1]:80", "(brackets are for IPv6 addresses; an IPv4 address is written "
			  "a.b.c.d:port; expected"},
	{"[]:80", "\"[]:80\" is not a valid target: \"\" is not an IP address"},
	{"[2001:db8::1]:0", "\"0\" is not a valid port"},
	{"[2001:db8::1]:80@101", "weight \"101\" is not a number from 0 to 100"},
	{"[::]:80", "\"[::]:80\" is not a valid target: :: (the unspecified address) is not a "
		    "usable address"},
	{"[ff02::1]:80", "\"[ff02::1]:80\" is not a valid target: ff02::1 is a multicast address "
			 "(ff00::/8), not a usable unicast address"},
	{"[fe80::1]:80", "\"[fe80::1]:80\" is not a valid target: fe80::1 is a link-local address "
			 "(fe80::/10), which names no interface"},
	{"[::ffff:10.0.0.1]:80", "an IPv4-mapped address: write the IPv4 address a.b.c.d itself"},
	{"[2001:db8::1%eth0]:80", "zones (%) are not supported"},
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
	const char *addr;
	const char *reason; /* NULL: usable */
} usable[] = {
	{"0.0.0.0", "0.0.0.0 is not a usable address"},
	{"255.255.255.255", "255.255.255.255 is the broadcast address, not a usable address"},
	{"224.0.0.1", "multicast addresses (224.0.0.0/4) are not usable"},
	{"239.255.255.255", "multicast addresses (224.0.0.0/4) are not usable"},
	{"240.0.0.1", "reserved addresses (240.0.0.0/4) are not usable"},
	{"255.255.255.254", "reserved addresses (240.0.0.0/4) are not usable"},
	{"127.0.0.1", NULL},
	{"127.255.255.254", NULL},
	{"10.0.0.1", NULL},
	{"0.0.0.1", NULL},
	{"223.255.255.255", NULL},
	{"169.254.1.1", NULL},
	{"::", ":: (the unspecified address) is not a usable address"},
	{"ff02::1", "multicast addresses (ff00::/8) are not usable"},
	{"ff0e::101", "multicast addresses (ff00::/8) are not usable"},
	{"fe80::1", "link-local addresses (fe80::/10) are not supported: they name no interface; "
		    "use a global or unique local address"},
	{"febf::1", "link-local addresses (fe80::/10) are not supported: they name no interface; "
		    "use a global or unique local address"},
	{"::1", NULL},
	{"2001:db8::1", NULL},
	{"fd00::1", NULL},
	{"fec0::1", NULL},
	{"fe00::1", NULL},
};

START_TEST(test_unusable)
{
	struct lb_ip addr = ip(usable[_i].addr);
	const char *why = lb_addr_unusable(&addr);

	if (!usable[_i].reason) {
		ck_assert_msg(why == NULL, "%s refused: %s", usable[_i].addr, why);
		ck_assert_int_eq(lb_check_usable(&addr, err, sizeof(err)), 0);
	} else {
		ck_assert_msg(why && !strcmp(why, usable[_i].reason), "%s: got \"%s\"",
			      usable[_i].addr, why ? why : "(usable)");
		ck_assert_int_eq(lb_check_usable(&addr, err, sizeof(err)), -EINVAL);
	}
	ck_assert_int_eq(lb_ip_is_any(&addr),
			 !strcmp(usable[_i].addr, "0.0.0.0") || !strcmp(usable[_i].addr, "::"));
}
END_TEST

static void check_usable_msg(const char *addr, const char *msg)
{
	struct lb_ip a = ip(addr);

	ck_assert_int_eq(lb_check_usable(&a, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, msg);
}

START_TEST(test_check_usable_messages)
{
	check_usable_msg("0.0.0.0", "0.0.0.0 is not a usable address");
	check_usable_msg("239.1.2.3",
			 "239.1.2.3 is a multicast address (224.0.0.0/4), not a usable unicast "
			 "address");
	check_usable_msg("250.0.0.1",
			 "250.0.0.1 is a reserved address (240.0.0.0/4), not a usable address");
	check_usable_msg("ff05::2",
			 "ff05::2 is a multicast address (ff00::/8), not a usable unicast address");
	check_usable_msg("fe80::1:2",
			 "fe80::1:2 is a link-local address (fe80::/10), which names no interface: "
			 "use a global or unique local address");
}
END_TEST

/* ---- lb_parse_listen ---- */

START_TEST(test_listen)
{
	static const struct {
		const char *s, *addr;
		uint16_t port;
	} ok[] = {
		{"127.0.0.1:9100", "127.0.0.1", 9100}, {"0.0.0.0:9100", "0.0.0.0", 9100},
		{"[::1]:9100", "::1", 9100},	       {"[::]:9100", "::", 9100},
		{"[2001:db8::5]:1", "2001:db8::5", 1},
	};
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{"::1:9100", "an IPv6 address is written in brackets before its port"},
		{"9100", "no ':' before a port; expected ip:port or [ipv6]:port, e.g. "
			 "127.0.0.1:9100 or [::1]:9100"},
		{"[::1]:0", "\"0\" is not a valid port"},
		{"[ff02::1]:9100", "ff02::1 is a multicast address"},
		{"localhost:9100", "\"localhost\" is not an IP address (expected an IPv4 address "
				   "a.b.c.d or an IPv6 address; 0.0.0.0 or [::] listens on every "
				   "address)"},
	};
	struct lb_ip addr, want;
	uint16_t port;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(lb_parse_listen(ok[i].s, &addr, &port, err, sizeof(err)) == 0,
			      "\"%s\" refused: %s", ok[i].s, err);
		want = ip(ok[i].addr);
		ck_assert_msg(lb_ip_eq(&addr, &want) && port == ok[i].port, "%s: %s %u", ok[i].s,
			      show(&addr), port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(lb_parse_listen(bad[i].s, &addr, &port, err, sizeof(err)) == -EINVAL,
			      "\"%s\" accepted", bad[i].s);
		ck_assert_msg(strstr(err, bad[i].msg), "\"%s\": got \"%s\"", bad[i].s, err);
	}
}
END_TEST

/* ---- lb_parse_client (lbctl trace) ---- */

START_TEST(test_client)
{
	static const struct {
		const char *s, *addr;
		uint16_t port;
	} ok[] = {
		{"10.1.0.2", "10.1.0.2", 0},
		{"10.1.0.2:5555", "10.1.0.2", 5555},
		{"2001:db8::1", "2001:db8::1", 0},
		{"[2001:db8::1]", "2001:db8::1", 0},
		{"[2001:db8::1]:5555", "2001:db8::1", 5555},
		{"fd00:1::2", "fd00:1::2", 0},
	};
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{"10.1.0", "\"10.1.0\" is not an IP address"},
		{"10.1.0.2:0", "\"0\" is not a valid port"},
		{"10.1.0.2:70000", "\"70000\" is not a valid port"},
		{"[10.1.0.2]:80", "brackets are for IPv6 addresses"},
		{"[2001:db8::1]5555", "expected ':' and a port after ']'"},
		{"0.0.0.0", "0.0.0.0 is not a usable address"},
		{"224.0.0.1:80", "224.0.0.1 is a multicast address"},
		{"", "is not an IP address"},
		{"web.example", "\"web.example\" is not an IP address"},
	};
	struct lb_ip addr, want;
	uint16_t port;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(lb_parse_client(ok[i].s, &addr, &port, err, sizeof(err)) == 0,
			      "\"%s\" refused: %s", ok[i].s, err);
		want = ip(ok[i].addr);
		ck_assert_msg(lb_ip_eq(&addr, &want) && port == ok[i].port, "%s: %s %u", ok[i].s,
			      show(&addr), port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(lb_parse_client(bad[i].s, &addr, &port, err, sizeof(err)) == -EINVAL,
			      "\"%s\" accepted", bad[i].s);
		ck_assert_msg(strstr(err, bad[i].msg), "\"%s\": got \"%s\"", bad[i].s, err);
	}
}
END_TEST

/* ---- formatting and quoting ---- */

START_TEST(test_format)
{
	char a[LB_ADDR_STR_MAX], t[LB_TARGET_STR_MAX], n[LB_TARGET_STR_MAX];
	struct lb_ip x;

	x = ip("10.0.0.1");
	ck_assert_str_eq(lb_format_ip(&x, a), "10.0.0.1");
	ck_assert_str_eq(lb_format_target(&x, 8080, t), "10.0.0.1:8080");
	x = ip("255.255.255.255");
	ck_assert_str_eq(lb_format_ip(&x, a), "255.255.255.255");
	ck_assert_str_eq(lb_format_target(&x, 65535, t), "255.255.255.255:65535");
	x = ip("192.168.0.0");
	ck_assert_str_eq(lb_format_cidr(&x, 16, n), "192.168.0.0/16");
	x = ip("0.0.0.0");
	ck_assert_str_eq(lb_format_cidr(&x, 0, n), "0.0.0.0/0");
	/* IPv6: RFC 5952 (lower case, longest zero run shortened), brackets before a port. */
	x = ip("2001:0DB8:0:0:0:0:0:1");
	ck_assert_str_eq(lb_format_ip(&x, a), "2001:db8::1");
	ck_assert_str_eq(lb_format_target(&x, 8080, t), "[2001:db8::1]:8080");
	x = ip("2001:db8::");
	ck_assert_str_eq(lb_format_cidr(&x, 32, n), "2001:db8::/32");
	x = ip("::");
	ck_assert_str_eq(lb_format_cidr(&x, 0, n), "::/0");
	x = ip("2001:db8:1234:5678:9abc:def0:1234:5678");
	ck_assert_str_eq(lb_format_target(&x, 65535, t),
			 "[2001:db8:1234:5678:9abc:def0:1234:5678]:65535");
	ck_assert_uint_lt(strlen(t), LB_TARGET_STR_MAX);
}
END_TEST

START_TEST(test_round_trip)
{
	static const char *const targets[] = {"10.1.2.3:4567", "[2001:db8::1]:443",
					      "[fd00:1::ab]:80"};
	struct lb_target_cfg tg = {0};
	char a[LB_ADDR_STR_MAX], t[LB_TARGET_STR_MAX];
	struct lb_ip addr;
	size_t i;

	for (i = 0; i < sizeof(ip_ok) / sizeof(ip_ok[0]); i++) {
		ck_assert_int_eq(lb_parse_ip(ip_ok[i], &addr, err, sizeof(err)), 0);
		ck_assert_str_eq(lb_format_ip(&addr, a), ip_ok[i]);
	}
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		ck_assert_int_eq(lb_parse_target(targets[i], &tg, NULL, err, sizeof(err)), 0);
		ck_assert_str_eq(lb_format_target(&tg.addr, tg.port, t), targets[i]);
	}
}
END_TEST

/* ---- sockaddr conversions ---- */

START_TEST(test_sockaddr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 v6;
	struct lb_ip x = ip("2001:db8::7"), back;
	uint16_t port;

	ck_assert_uint_eq(lb_sockaddr_of(&x, 443, &ss), sizeof(struct sockaddr_in6));
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(lb_ip_of_sockaddr((struct sockaddr *)&ss, &back, &port), 0);
	ck_assert(lb_ip_eq(&back, &x) && port == 443);
	x = ip("10.0.0.9");
	ck_assert_uint_eq(lb_sockaddr_of(&x, 80, &ss), sizeof(struct sockaddr_in));
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(lb_ip_of_sockaddr((struct sockaddr *)&ss, &back, &port), 0);
	ck_assert(lb_ip_eq(&back, &x) && port == 80);
	/* A dual-stack socket reports an IPv4 peer IPv4-mapped: the same address. */
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	v6.sin6_port = htons(8080);
	inet_pton(AF_INET6, "::ffff:10.0.0.9", &v6.sin6_addr);
	ck_assert_int_eq(lb_ip_of_sockaddr((struct sockaddr *)&v6, &back, &port), 0);
	ck_assert(lb_ip_eq(&back, &x) && port == 8080);
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(lb_ip_of_sockaddr((struct sockaddr *)&ss, &back, &port), -EAFNOSUPPORT);
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

	tc = tcase_create("ip");
	tcase_add_loop_test(tc, test_ip_accepts, 0, N(ip_ok));
	tcase_add_loop_test(tc, test_ip6_canonical, 0, N(ip6_forms));
	tcase_add_loop_test(tc, test_ip_refuses, 0, N(ip_bad));
	tcase_add_test(tc, test_ip_messages);
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

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen);
	tcase_add_test(tc, test_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_sockaddr);
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
