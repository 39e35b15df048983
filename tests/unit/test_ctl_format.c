// SPDX-License-Identifier: MIT
/*
 * Unit tests of lbctl's human output (ctl/format.h): inline values, durations, the generic
 * key/value and table layouts, the per-method layouts and error messages, compared byte for
 * byte with what an operator should see.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	ck_assert_msg(v, "bad test JSON %s: %s", text, e.text);
	return v;
}

/* What lb_format_result(method, result) prints. Caller frees. */
static char *result_text(const char *method, const char *result)
{
	json_t *v = J(result);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	lb_format_result(f, method, v);
	fclose(f);
	json_decref(v);
	return buf;
}

static const struct {
	const char *json, *text;
} inline_cases[] = {
	{"\"web\"", "web"},
	{"42", "42"},
	{"true", "yes"},
	{"false", "no"},
	{"null", "-"},
	{"[]", "-"},
	{"{}", "-"},
	{"[\"eth0\", \"eth1\"]", "eth0, eth1"},
	{"{\"ip\":\"10.0.0.1\",\"port\":8080}", "10.0.0.1:8080"},
	{"[{\"ip\":\"10.0.0.1\",\"port\":8080,\"weight\":70},{\"ip\":\"10.0.0.2\",\"port\":80,"
	 "\"weight\":30}]",
	 "10.0.0.1:8080@70 10.0.0.2:80@30"},
	{"{\"type\":\"http\",\"path\":\"/\"}", "{\"type\":\"http\",\"path\":\"/\"}"},
	{"[{\"a\":1},2]", "[{\"a\":1},2]"},
};

START_TEST(test_inline)
{
	json_t *v = J(inline_cases[_i].json);
	char *s = lb_format_inline(v);

	ck_assert_str_eq(s, inline_cases[_i].text);
	free(s);
	json_decref(v);
}
END_TEST

START_TEST(test_duration)
{
	static const struct {
		json_int_t sec;
		const char *text;
	} d[] = {
		{0, "0s"},	  {59, "59s"},	     {60, "1m00s"},   {125, "2m05s"},
		{3599, "59m59s"}, {3600, "1h00m"},   {3725, "1h02m"}, {86399, "23h59m"},
		{86400, "1d00h"}, {200000, "2d07h"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < N(d); i++)
		ck_assert_str_eq(lb_format_duration(d[i].sec, buf, sizeof(buf)), d[i].text);
}
END_TEST

static const struct {
	const char *method, *result, *text;
} layouts[] = {
	/* Generic: aligned key/value lines. */
	{"version", "{\"version\":\"0.1.0\",\"abi\":1}", "version: 0.1.0\nabi:     1\n"},
	/* Generic: nested object below its key. */
	{"connection-count", "{\"total\":3,\"proxies\":{\"web\":2,\"api\":1}}",
	 "total:   3\nproxies:\n  web: 2\n  api: 1\n"},
	/* Generic: one member that is a list of records: a table. */
	{"attach-interfaces",
	 "{\"proxies\":[{\"name\":\"web\",\"interfaces\":[\"eth0\",\"eth1\"]},"
	 "{\"name\":\"dns\",\"interfaces\":[\"eth0\"]}]}",
	 "NAME  INTERFACES\nweb   eth0, eth1\ndns   eth0\n"},
	{"detach-interfaces", "{\"proxies\":[]}", "no proxies\n"},
	/* Generic: targets as ip:port@weight. */
	{"set-weights",
	 "{\"proxy\":\"web\",\"source\":\"default\",\"targets\":[{\"ip\":\"10.0.0.1\",\"port\":80,"
	 "\"weight\":90},{\"ip\":\"10.0.0.2\",\"port\":80,\"weight\":10}]}",
	 "proxy:   web\nsource:  default\ntargets: 10.0.0.1:80@90 10.0.0.2:80@10\n"},
	/* Generic: a map of records: a table with a NAME column; records with missing keys. */
	{"some-future-method", "{\"drains\":{\"a\":{\"x\":1,\"y\":2},\"bb\":{\"y\":3,\"z\":true}}}",
	 "drains:\n  NAME  X  Y  Z\n  a     1  2  -\n  bb    -  3  yes\n"},
	{"unknown", "[1,2]", "1, 2\n"},
	{"unknown", "null", ""},
	{"remove-proxy", "{\"removed\":\"web\"}", "removed: web\n"},
	/* status */
	{"status",
	 "{\"version\":\"0.1.0\",\"abi\":1,\"pid\":42,\"uptime-sec\":3725,\"config-file\":null,"
	 "\"instance\":\"default\",\"stats-enabled\":false,\"interfaces\":[{\"name\":\"eth0\","
	 "\"ifindex\":2,\"xdp-mode\":\"native\"}],\"proxies\":[\"web\",\"api\"],\"connections\":7}",
	 "lbd 0.1.0 (BPF ABI 1), pid 42, up 1h02m\n"
	 "config-file:   -\n"
	 "instance:      default\n"
	 "stats-enabled: no\n"
	 "proxies:       web, api\n"
	 "connections:   7\n"
	 "\n"
	 "NAME  IFINDEX  XDP-MODE\n"
	 "eth0  2        native\n"},
	{"status", "{\"version\":\"0.1.0\",\"interfaces\":[],\"proxies\":[]}",
	 "lbd 0.1.0\nproxies: -\n\nno interfaces attached\n"},
	/* list-proxies, add-proxy */
	{"list-proxies",
	 "{\"proxies\":[{\"name\":\"web\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":80,"
	 "\"protocol\":\"tcp\"},\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":8080,"
	 "\"weight\":70},{\"ip\":\"10.0.0.2\",\"port\":8080,\"weight\":30}],\"source-routes\":["
	 "{\"source\":\"192.168.1.0/24\",\"targets\":[{\"ip\":\"10.0.0.3\",\"port\":8080}]},"
	 "{\"source\":\"10.0.0.0/8\",\"targets\":[{\"ip\":\"10.0.0.4\",\"port\":8080}]}],"
	 "\"connections\":5},{\"name\":\"dns\",\"listen\":{\"interfaces\":[\"eth0\",\"eth1\"],"
	 "\"port\":53,\"protocol\":\"udp\",\"address\":\"10.0.0.10\"},\"default-target\":[{\"ip\":"
	 "\"10.0.0.53\",\"port\":53}],\"source-routes\":[],\"connections\":0,\"extra\":1}]}",
	 "proxy web\n"
	 "  listen       tcp port 80 on eth0\n"
	 "  connections  5\n"
	 "  default      10.0.0.1:8080@70 10.0.0.2:8080@30\n"
	 "  route        192.168.1.0/24  10.0.0.3:8080\n"
	 "  route        10.0.0.0/8      10.0.0.4:8080\n"
	 "\n"
	 "proxy dns\n"
	 "  listen       udp port 53 on eth0, eth1, address 10.0.0.10\n"
	 "  connections  0\n"
	 "  default      10.0.0.53:53\n"
	 "  extra: 1\n"},
	{"list-proxies", "{\"proxies\":[]}", "no proxies\n"},
	{"add-proxy",
	 "{\"proxy\":{\"name\":\"api\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":8080},"
	 "\"default-target\":{\"ip\":\"10.0.1.1\",\"port\":3000}}}",
	 "proxy api\n"
	 "  listen       tcp port 8080 on eth0\n"
	 "  default      10.0.1.1:3000\n"},
	/* list-source-routes */
	{"list-source-routes",
	 "{\"routes\":[{\"proxy\":\"web\",\"source\":\"10.10.0.0/16\",\"targets\":[{\"ip\":"
	 "\"10.0.0.4\",\"port\":8080,\"weight\":50},{\"ip\":\"10.0.0.5\",\"port\":8080,\"weight\":"
	 "50}]},{\"proxy\":\"api\",\"source\":\"192.168.1.7/32\",\"target\":{\"ip\":\"10.0.0.9\","
	 "\"port\":80}}]}",
	 "PROXY  SOURCE          TARGETS\n"
	 "web    10.10.0.0/16    10.0.0.4:8080@50 10.0.0.5:8080@50\n"
	 "api    192.168.1.7/32  10.0.0.9:80\n"},
	{"list-source-routes", "{\"routes\":[]}", "no source routes\n"},
	/* connections */
	{"connections",
	 "{\"connections\":[{\"proxy\":\"web\",\"protocol\":\"tcp\","
	 "\"client\":\"192.168.1.5:51234\",\"listener\":\"10.0.0.10:80\","
	 "\"backend\":\"10.0.0.1:8080\",\"state\":\"established\",\"age-sec\":125,"
	 "\"idle-sec\":3,\"pickup\":false},{\"proxy\":\"dns\",\"protocol\":\"udp\","
	 "\"client\":\"192.168.1.77:40000\",\"listener\":\"10.0.0.10:53\","
	 "\"backend\":\"10.0.0.53:53\",\"state\":\"unanswered\",\"age-sec\":4000,"
	 "\"idle-sec\":61,\"pickup\":true}],\"total\":57,\"truncated\":true}",
	 "PROXY  PROTO  CLIENT              LISTENER      BACKEND        STATE        "
	 "AGE    IDLE   PICKUP\n"
	 "web    tcp    192.168.1.5:51234   10.0.0.10:80  10.0.0.1:8080  established  "
	 "2m05s  3s     no\n"
	 "dns    udp    192.168.1.77:40000  10.0.0.10:53  10.0.0.53:53   unanswered   "
	 "1h06m  1m01s  yes\n"
	 "(2 of 57 connections shown: use --limit for more)\n"},
	{"connections", "{\"connections\":[],\"total\":0,\"truncated\":false}", "no connections\n"},
	/* connection-stats */
	{"connection-stats",
	 "{\"total-connections\":2,\"total-packets-forward\":10,\"proxies\":{\"web\":{"
	 "\"connections\":2,\"new-connections\":5,\"packets-forward\":10,\"bytes-forward\":1000,"
	 "\"packets-reverse\":9,\"bytes-reverse\":900,\"drops-no-backend\":1}}}",
	 "total-connections:     2\n"
	 "total-packets-forward: 10\n"
	 "\n"
	 "PROXY  CONNS  NEW  PKTS-FWD  BYTES-FWD  PKTS-REV  BYTES-REV  NO-BACKEND\n"
	 "web    2      5    10        1000       9         900        1\n"},
	/* get-config: pretty JSON */
	{"get-config", "{\"proxies\":[],\"settings\":{\"stats-enabled\":true}}",
	 "{\n  \"proxies\": [],\n  \"settings\": {\n    \"stats-enabled\": true\n  }\n}\n"},
	/* reload */
	{"reload", "{\"reloaded\":true,\"config-file\":\"/etc/lbd/lb.json\",\"proxies\":2}",
	 "reloaded:    yes\nconfig-file: /etc/lbd/lb.json\nproxies:     2\n"},
};

START_TEST(test_layout)
{
	char *s = result_text(layouts[_i].method, layouts[_i].result);

	ck_assert_msg(!strcmp(s, layouts[_i].text), "%s printed:\n%s\nexpected:\n%s",
		      layouts[_i].method, s, layouts[_i].text);
	free(s);
}
END_TEST

START_TEST(test_table_widths)
{
	static const char *const headers[] = {"A", "LONG-HEADER", "Z"};
	const char *row1[] = {"wide-cell", "x", "last"}, *row2[] = {"é", NULL, ""};
	struct lb_table *t = lb_table_new(headers, 3);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	ck_assert(t);
	ck_assert_int_eq(lb_table_add(t, row1), 0);
	ck_assert_int_eq(lb_table_add(t, row2), 0);
	ck_assert_uint_eq(lb_table_rows(t), 2);
	lb_table_print(f, t, 2);
	fclose(f);
	/* Multi-byte UTF-8 counts as one column; NULL cells print "-"; no trailing blanks. */
	ck_assert_str_eq(buf, "  A          LONG-HEADER  Z\n"
			      "  wide-cell  x            last\n"
			      "  é          -\n");
	free(buf);
	lb_table_free(t);
	lb_table_free(NULL);
}
END_TEST

static const struct {
	const char *error, *text;
} errors[] = {
	{"{\"code\":-32000,\"message\":\"proxies[0].default-target: weights sum to 90, must be "
	 "100\",\"data\":{\"path\":\"proxies[0].default-target\"}}",
	 "lbctl: proxies[0].default-target: weights sum to 90, must be 100\n"
	 "  path: proxies[0].default-target\n"},
	{"{\"code\":-32001,\"message\":\"no proxy \\\"api\\\"\",\"data\":{\"kind\":\"proxy\","
	 "\"name\":\"api\"}}",
	 "lbctl: no proxy \"api\"\n  kind: proxy\n  name: api\n"},
	/* A method lbctl knows and lbd does not: a hint; one neither knows: none. */
	{"{\"code\":-32601,\"message\":\"method not found\",\"data\":{\"method\":\"reload\"}}",
	 "lbctl: method not found\n  method: reload\n"
	 "  (this lbd does not know the method: is it older than lbctl?)\n"},
	{"{\"code\":-32601,\"message\":\"method not found\",\"data\":{\"method\":\"nope\"}}",
	 "lbctl: method not found\n  method: nope\n"},
	{"{\"code\":-32603,\"message\":\"internal error\"}", "lbctl: internal error\n"},
	{"{\"code\":-32603,\"message\":\"odd\",\"data\":\"text\"}", "lbctl: odd\n  data: text\n"},
	{"{\"code\":1}", "lbctl: lbd returned an error\n"},
};

START_TEST(test_error)
{
	json_t *e = J(errors[_i].error);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	lb_format_error(f, e);
	fclose(f);
	ck_assert_str_eq(buf, errors[_i].text);
	free(buf);
	json_decref(e);
}
END_TEST

static Suite *ctl_format_suite(void)
{
	Suite *s = suite_create("ctl_format");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_inline, 0, N(inline_cases));
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_table_widths);
	suite_add_tcase(s, tc);

	tc = tcase_create("layouts");
	tcase_add_loop_test(tc, test_layout, 0, N(layouts));
	tcase_add_loop_test(tc, test_error, 0, N(errors));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctl_format_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
