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
	 "\"ifindex\":2,\"ingress\":\"xdp\",\"xdp-mode\":\"native\"}],\"proxies\":[\"web\",\"api\"],"
	 "\"connections\":7}",
	 "lbd 0.1.0 (BPF ABI 1), pid 42, up 1h02m\n"
	 "config-file:   -\n"
	 "instance:      default\n"
	 "stats-enabled: no\n"
	 "proxies:       web, api\n"
	 "connections:   7\n"
	 "\n"
	 "NAME  IFINDEX  INGRESS  XDP-MODE\n"
	 "eth0  2        xdp      native\n"},
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
	/* The forwarding mode (lbd always sends it), with full-nat's source addresses. */
	{"list-proxies",
	 "{\"proxies\":[{\"name\":\"web\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":80,"
	 "\"protocol\":\"tcp\"},\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":8080}],"
	 "\"forwarding\":\"full-nat\",\"snat-address\":[\"10.0.0.9\",\"fd00::9\"]},"
	 "{\"name\":\"dns\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":53,"
	 "\"protocol\":\"udp\"},\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":53}],"
	 "\"forwarding\":\"dsr\"}]}",
	 "proxy web\n"
	 "  listen       tcp port 80 on eth0\n"
	 "  forwarding   full-nat, snat-address 10.0.0.9, fd00::9\n"
	 "  default      10.0.0.1:8080\n"
	 "\n"
	 "proxy dns\n"
	 "  listen       udp port 53 on eth0\n"
	 "  forwarding   dsr\n"
	 "  default      10.0.0.1:53\n"},
	/* A hash other than the 5-tuple, with its prefix when there is one. */
	{"list-proxies",
	 "{\"proxies\":[{\"name\":\"web\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":80,"
	 "\"protocol\":\"tcp\",\"address\":\"10.0.0.10\"},\"default-target\":[{\"ip\":"
	 "\"10.0.0.1\",\"port\":8080,\"weight\":50},{\"ip\":\"10.0.0.2\",\"port\":8080,"
	 "\"weight\":50}],\"hash\":\"source-address\",\"hash-prefix\":24,\"connections\":2},"
	 "{\"name\":\"sticky\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":81,"
	 "\"protocol\":\"tcp\"},\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":8080}],"
	 "\"hash\":\"source-address\"}]}",
	 "proxy web\n"
	 "  listen       tcp port 80 on eth0, address 10.0.0.10\n"
	 "  hash         source-address, prefix /24\n"
	 "  connections  2\n"
	 "  default      10.0.0.1:8080@50 10.0.0.2:8080@50\n"
	 "\n"
	 "proxy sticky\n"
	 "  listen       tcp port 81 on eth0\n"
	 "  hash         source-address\n"
	 "  default      10.0.0.1:8080\n"},
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
	/* SNI routes: the same table; targets that get a PROXY protocol header say so. */
	{"list-sni-routes",
	 "{\"routes\":[{\"proxy\":\"https\",\"hostname\":\"api.example.com\",\"targets\":[{\"ip\":"
	 "\"10.0.1.1\",\"port\":8443,\"weight\":100}]},{\"proxy\":\"https\",\"hostname\":"
	 "\"*.app.example.com\",\"targets\":[{\"ip\":\"10.0.3.1\",\"port\":8443,\"weight\":70,"
	 "\"proxy-protocol\":\"v2\"},{\"ip\":\"10.0.3.2\",\"port\":8443,\"weight\":30}]}]}",
	 "PROXY  HOSTNAME           TARGETS\n"
	 "https  api.example.com    10.0.1.1:8443@100\n"
	 "https  *.app.example.com  10.0.3.1:8443@70 (proxy-protocol v2) 10.0.3.2:8443@30\n"},
	{"list-sni-routes", "{\"routes\":[]}", "no SNI routes\n"},
	{"list-sni-routes", "{\"unexpected\":1}", "unexpected: 1\n"},
	{"add-sni-route",
	 "{\"proxy\":\"https\",\"hostname\":\"api.example.com\",\"targets\":[{\"ip\":\"10.0.1.1\","
	 "\"port\":8443,\"weight\":100}]}",
	 "proxy:    https\nhostname: api.example.com\ntargets:  10.0.1.1:8443@100\n"},
	{"remove-sni-route",
	 "{\"proxy\":\"https\",\"hostname\":\"api.example.com\",\"removed\":true}",
	 "proxy:    https\nhostname: api.example.com\nremoved:  yes\n"},
	{"list-proxies",
	 "{\"proxies\":[{\"name\":\"https\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":443,"
	 "\"protocol\":\"tcp\"},\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":8443,"
	 "\"weight\":100,\"proxy-protocol\":\"v2\"}],\"source-routes\":[{\"source\":"
	 "\"192.168.0.0/16\",\"targets\":[{\"ip\":\"10.0.0.3\",\"port\":8443,\"weight\":100}]}],"
	 "\"sni-routes\":[{\"sni-hostname\":\"api.example.com\",\"targets\":[{\"ip\":\"10.0.1.1\","
	 "\"port\":8443,\"weight\":100}]},{\"sni-hostname\":\"*.example.com\",\"targets\":["
	 "{\"ip\":\"10.0.2.1\",\"port\":8443,\"weight\":50},{\"ip\":\"10.0.2.2\",\"port\":8443,"
	 "\"weight\":50}]}]}]}",
	 "proxy https\n"
	 "  listen       tcp port 443 on eth0\n"
	 "  default      10.0.0.1:8443@100 (proxy-protocol v2)\n"
	 "  route        192.168.0.0/16  10.0.0.3:8443@100\n"
	 "  sni          api.example.com  10.0.1.1:8443@100\n"
	 "  sni          *.example.com    10.0.2.1:8443@50 10.0.2.2:8443@50\n"},
	/* connections */
	{"connections",
	 "{\"connections\":[{\"proxy\":\"web\",\"protocol\":\"tcp\","
	 "\"client\":\"192.168.1.5:51234\",\"listener\":\"10.0.0.10:80\","
	 "\"backend\":\"10.0.0.1:8080\",\"state\":\"established\",\"age-sec\":125,"
	 "\"idle-sec\":3,\"pickup\":false,\"route\":\"default\",\"forwarding\":\"nat\","
	 "\"packets-in\":12,\"bytes-in\":1480,\"packets-out\":9,\"bytes-out\":20114},"
	 "{\"proxy\":\"dns\",\"protocol\":\"udp\",\"client\":\"192.168.1.77:40000\","
	 "\"listener\":\"10.0.0.10:53\",\"backend\":\"10.0.0.53:53\",\"state\":\"unanswered\","
	 "\"age-sec\":4000,\"idle-sec\":61,\"pickup\":true,\"route\":\"source-route\","
	 "\"forwarding\":\"full-nat\",\"lb-source\":\"10.0.0.254:61007\",\"packets-in\":1,"
	 "\"bytes-in\":60,\"packets-out\":0,\"bytes-out\":0}],\"total\":57,\"truncated\":true}",
	 "PROXY  PROTO  CLIENT              LISTENER      BACKEND        "
	 "FORWARDING                      STATE        AGE    IDLE   PICKUP  PKTS IN/OUT  BYTES IN/OUT\n"
	 "web    tcp    192.168.1.5:51234   10.0.0.10:80  10.0.0.1:8080  "
	 "nat                             established  2m05s  3s     no      12/9         1480/20114\n"
	 "dns    udp    192.168.1.77:40000  10.0.0.10:53  10.0.0.53:53   "
	 "full-nat from 10.0.0.254:61007  unanswered   1h06m  1m01s  yes     1/0          60/0\n"
	 "(2 of 57 connections shown: use --limit for more)\n"},
	/* stats disabled: no per-flow counters in the reply */
	{"connections",
	 "{\"connections\":[{\"proxy\":\"web\",\"protocol\":\"tcp\","
	 "\"client\":\"192.168.1.5:51234\",\"listener\":\"10.0.0.10:80\","
	 "\"backend\":\"10.0.0.1:8080\",\"state\":\"established\",\"age-sec\":5,"
	 "\"idle-sec\":0,\"pickup\":false,\"route\":\"default\"}],\"total\":1,"
	 "\"truncated\":false}",
	 "PROXY  PROTO  CLIENT             LISTENER      BACKEND        FORWARDING  STATE        "
	 "AGE  IDLE  PICKUP  PKTS IN/OUT  BYTES IN/OUT\n"
	 "web    tcp    192.168.1.5:51234  10.0.0.10:80  10.0.0.1:8080  -           established  "
	 "5s   0s    no      -            -\n"},
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
	/*
	 * stats: SNI-spliced payload in columns of its own, never in BYTES; the datapath's
	 * live counts (confirmed, unconfirmed) in theirs
	 */
	{"stats",
	 "{\"proxies\":[{\"proxy\":\"tls\",\"counters\":{\"packets-in\":20,\"bytes-in\":2000,"
	 "\"packets-out\":18,\"bytes-out\":9000,\"new-connections\":2,\"active-connections\":0,"
	 "\"drops\":{\"no-backend\":0,\"conntrack-insert\":0}},\"targets\":[{\"target\":"
	 "\"10.0.0.1:8443\",\"status\":\"healthy\",\"draining\":false,\"counters\":{"
	 "\"packets-in\":0,\"bytes-in\":0,\"packets-out\":0,\"bytes-out\":0,"
	 "\"new-connections\":2,\"active-connections\":0,\"drops\":{\"no-backend\":0,"
	 "\"conntrack-insert\":0},\"live-flows\":3,\"unconfirmed-flows\":1,"
	 "\"payload-bytes-in\":517,\"payload-bytes-out\":4100},"
	 "\"weights\":[{\"group\":\"default\",\"configured\":100,\"effective\":100}]}]}],"
	 "\"global\":{}}",
	 "PROXY  PKTS-IN  BYTES-IN  PKTS-OUT  BYTES-OUT  NEW  ACTIVE  DROP-NO-BACKEND  "
	 "DROP-CT-INSERT\n"
	 "tls    20       2000      18        9000       2    0       0                0\n"
	 "\n"
	 "targets of tls:\n"
	 "  TARGET         STATUS   WEIGHTS      PKTS-IN  BYTES-IN  PKTS-OUT  BYTES-OUT  NEW  "
	 "ACTIVE  DROP-NO-BACKEND  DROP-CT-INSERT  LIVE  UNCONFIRMED  PAYLOAD-IN  PAYLOAD-OUT\n"
	 "  10.0.0.1:8443  healthy  default:100  0        0         0         0          2    "
	 "0       0                0               3     1            517         4100\n"
	 "  (BYTES: IP lengths of flows balanced in the kernel; PAYLOAD: TCP payload of "
	 "SNI connections lbd spliced, counted when each ends)\n"},
	/* get-config: pretty JSON */
	{"get-config", "{\"proxies\":[],\"settings\":{\"stats-enabled\":true}}",
	 "{\n  \"proxies\": [],\n  \"settings\": {\n    \"stats-enabled\": true\n  }\n}\n"},
	/* reload */
	{"reload", "{\"reloaded\":true,\"config-file\":\"/etc/lbd/lb.json\",\"proxies\":2}",
	 "reloaded:    yes\nconfig-file: /etc/lbd/lb.json\nproxies:     2\n"},
	/* health: per proxy its check, a table of targets, a line per group; OVERRIDE only
	 * where some target has one. */
	{"health",
	 "{\"enabled\":true,\"proxies\":[{\"proxy\":\"web\",\"targets\":[{\"target\":"
	 "\"10.0.0.1:8080\",\"status\":\"healthy\",\"override\":\"none\",\"recovery-step\":0,"
	 "\"consecutive-successes\":12,\"consecutive-failures\":0,\"checks\":40,\"check\":{"
	 "\"type\":\"http\",\"interval-ms\":10000,\"timeout-ms\":3000},\"last-latency-ms\":0.83,"
	 "\"last-error\":\"ok\",\"last-http-status\":200},{\"target\":\"10.0.0.2:8080\","
	 "\"status\":\"unhealthy\",\"override\":\"none\",\"recovery-step\":0,"
	 "\"consecutive-successes\":0,\"consecutive-failures\":4,\"checks\":40,\"check\":{"
	 "\"type\":\"http\",\"interval-ms\":10000,\"timeout-ms\":3000},\"last-latency-ms\":0.21,"
	 "\"last-error\":\"connection-refused\"},{\"target\":\"10.0.0.3:8080\",\"status\":"
	 "\"recovering\",\"override\":\"none\",\"recovery-step\":2,\"consecutive-successes\":3,"
	 "\"consecutive-failures\":0,\"checks\":40,\"check\":{\"type\":\"http\",\"interval-ms\":"
	 "10000,\"timeout-ms\":3000},\"last-latency-ms\":12.5,\"last-error\":\"ok\","
	 "\"last-http-status\":200}],\"groups\":[{\"source\":\"default\",\"targets\":["
	 "{\"target\":\"10.0.0.1:8080\",\"configured-weight\":50,\"effective-weight\":71},"
	 "{\"target\":\"10.0.0.2:8080\",\"configured-weight\":30,\"effective-weight\":0},"
	 "{\"target\":\"10.0.0.3:8080\",\"configured-weight\":20,\"effective-weight\":29}]},"
	 "{\"source\":\"10.10.0.0/16\",\"targets\":[{\"target\":\"10.0.0.4:8080\","
	 "\"configured-weight\":100,\"effective-weight\":100}]}]},{\"proxy\":\"dns\",\"targets\":"
	 "[{\"target\":\"10.0.0.53:53\",\"status\":\"unhealthy\",\"override\":\"unhealthy\","
	 "\"recovery-step\":0,\"consecutive-successes\":0,\"consecutive-failures\":0,\"checks\":0,"
	 "\"check\":{\"type\":\"tcp\",\"interval-ms\":5000,\"timeout-ms\":1000}},{\"target\":"
	 "\"10.0.0.54:53\",\"status\":\"healthy\",\"override\":\"none\",\"recovery-step\":0,"
	 "\"consecutive-successes\":0,\"consecutive-failures\":0,\"checks\":0,\"check\":{\"type\":"
	 "\"tcp\",\"interval-ms\":5000,\"timeout-ms\":1000}}],\"groups\":[{\"source\":"
	 "\"default\",\"targets\":[{\"target\":\"10.0.0.53:53\",\"configured-weight\":50,"
	 "\"effective-weight\":0},{\"target\":\"10.0.0.54:53\",\"configured-weight\":50,"
	 "\"effective-weight\":100}]}]}]}",
	 "health checks enabled\n"
	 "\n"
	 "proxy web: http checks every 10.0s, timeout 3.0s\n"
	 "  TARGET         STATUS               LATENCY  LAST-ERROR          OK/FAIL  CHECKS\n"
	 "  10.0.0.1:8080  healthy              0.8ms    ok, HTTP 200        12/0     40\n"
	 "  10.0.0.2:8080  unhealthy            0.2ms    connection-refused  0/4      40\n"
	 "  10.0.0.3:8080  recovering (step 2)  12.5ms   ok, HTTP 200        3/0      40\n"
	 "  group default       configured 50/30/20 -> effective 71/0/29\n"
	 "  group 10.10.0.0/16  configured 100 -> effective 100\n"
	 "\n"
	 "proxy dns: tcp checks every 5.0s, timeout 1.0s\n"
	 "  TARGET        STATUS     OVERRIDE   LATENCY  LAST-ERROR  OK/FAIL  CHECKS\n"
	 "  10.0.0.53:53  unhealthy  unhealthy  -        -           0/0      0\n"
	 "  10.0.0.54:53  healthy    -          -        -           0/0      0\n"
	 "  group default  configured 50/50 -> effective 0/100\n"},
	/* Checks of different kinds: no summary; type none; members lbctl does not know. */
	{"health",
	 "{\"enabled\":false,\"proxies\":[{\"proxy\":\"a\",\"targets\":[{\"target\":"
	 "\"10.0.0.1:80\",\"status\":\"healthy\",\"check\":{\"type\":\"tcp\"}},{\"target\":"
	 "\"10.0.0.2:80\",\"status\":\"healthy\",\"check\":{\"type\":\"http\"}}],\"groups\":[],"
	 "\"extra\":1},{\"proxy\":\"b\",\"targets\":[],\"groups\":[]},{\"proxy\":\"c\","
	 "\"targets\":[{\"target\":\"10.0.0.3:80\",\"status\":\"healthy\",\"check\":{\"type\":"
	 "\"none\"}}]}],\"note\":\"x\"}",
	 "health checks disabled: every target counts as healthy "
	 "(lbctl enable-health-checks starts them)\n"
	 "note: x\n"
	 "\n"
	 "proxy a\n"
	 "  TARGET       STATUS   LATENCY  LAST-ERROR  OK/FAIL  CHECKS\n"
	 "  10.0.0.1:80  healthy  -        -           0/0      0\n"
	 "  10.0.0.2:80  healthy  -        -           0/0      0\n"
	 "  extra: 1\n"
	 "\n"
	 "proxy b\n"
	 "  no targets\n"
	 "\n"
	 "proxy c: no health checks (its targets count as healthy)\n"
	 "  TARGET       STATUS   LATENCY  LAST-ERROR  OK/FAIL  CHECKS\n"
	 "  10.0.0.3:80  healthy  -        -           0/0      0\n"},
	{"health", "{\"enabled\":true,\"proxies\":[]}", "health checks enabled\nno proxies\n"},
	{"health", "{\"unexpected\":1}", "unexpected: 1\n"},
	{"set-target-status",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":"
	 "\"unhealthy\"}",
	 "web 10.0.0.1:8080 is unhealthy by hand until \"lbctl set-target-status web "
	 "10.0.0.1:8080 auto\"\n"},
	{"set-target-status",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":"
	 "\"auto\"}",
	 "web 10.0.0.1:8080 follows its health checks again\n"},
	{"force-check", "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"scheduled\":true}",
	 "health check of web 10.0.0.1:8080 scheduled (lbctl health web shows its result)\n"},
	{"enable-health-checks", "{\"enabled\":true}", "health checks enabled\n"},
	{"disable-health-checks", "{\"enabled\":false}",
	 "health checks disabled: every target counts as healthy\n"},
	/* drain, undrain, drain-status */
	{"drain",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"draining\","
	 "\"elapsed-ms\":0,\"timeout-ms\":30000,\"current-connections\":10,"
	 "\"initial-connections\":10}",
	 "draining web 10.0.0.1:8080: 10 of 10 connections left, 0.0s of 30.0s\n"},
	{"drain",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"completed\","
	 "\"elapsed-ms\":12345,\"timeout-ms\":30000,\"current-connections\":0,"
	 "\"initial-connections\":10}",
	 "drained web 10.0.0.1:8080: no connections left after 12.3s (10 at the start)\n"},
	{"undrain",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"undrained\":true,"
	 "\"previous-status\":\"draining\"}",
	 "undrained web 10.0.0.1:8080, which was draining: it takes new connections again\n"},
	{"undrain",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"undrained\":true,"
	 "\"previous-status\":\"timeout\"}",
	 "undrained web 10.0.0.1:8080, whose drain had timed out: it takes new connections "
	 "again\n"},
	{"drain-status",
	 "{\"drains\":[{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":"
	 "\"draining\",\"elapsed-ms\":5040,\"timeout-ms\":60000,\"current-connections\":3,"
	 "\"initial-connections\":10},{\"proxy\":\"api\",\"target\":\"10.0.1.1:3000\","
	 "\"status\":\"timeout\",\"elapsed-ms\":300000,\"timeout-ms\":300000,"
	 "\"current-connections\":1,\"initial-connections\":250}]}",
	 "PROXY  TARGET         STATUS    ELAPSED  TIMEOUT  CONNECTIONS\n"
	 "web    10.0.0.1:8080  draining  5.0s     60.0s    3/10\n"
	 "api    10.0.1.1:3000  timeout   5m00s    5m00s    1/250\n"},
	{"drain-status", "{\"drains\":[]}", "no drains\n"},
};

START_TEST(test_layout)
{
	char *s = result_text(layouts[_i].method, layouts[_i].result);

	ck_assert_msg(!strcmp(s, layouts[_i].text), "%s printed:\n%s\nexpected:\n%s",
		      layouts[_i].method, s, layouts[_i].text);
	free(s);
}
END_TEST

/*
 * stats of several proxies whose targets have live counts: every proxy's targets, once
 * each (the column loop once reused the proxies' index: 2 or 3 proxies lost their target
 * tables, 4 printed one forever).
 */
START_TEST(test_stats_every_proxy_once)
{
	json_t *r = json_pack("{s:[], s:{}}", "proxies", "global");
	char name[8], *text, *s, *at;
	int i, n;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		json_array_append_new(json_object_get(r, "proxies"),
				      json_pack("{s:s, s:{}, s:[{s:s, s:s, s:{s:i, s:i}, s:[]}]}",
						"proxy", name, "counters", "targets", "target",
						"10.0.0.1:80", "status", "healthy", "counters",
						"live-flows", i, "unconfirmed-flows", 0,
						"weights"));
	}
	text = json_dumps(r, 0);
	s = result_text("stats", text);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "p%d:", i);
		for (n = 0, at = s; (at = strstr(at, name)); at++)
			n++;
		ck_assert_msg(n == 1, "\"targets of %s\" printed %d times:\n%s", name, n, s);
	}
	free(s);
	free(text);
	json_decref(r);
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

/* The progress and outcome sentences of a drain status (drain --wait). */
static const struct {
	const char *status, *text;
} drain_lines[] = {
	{"{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"draining\","
	 "\"elapsed-ms\":5000,\"timeout-ms\":60000,\"current-connections\":3,"
	 "\"initial-connections\":10}",
	 "draining web 10.0.0.1:8080: 3 of 10 connections left, 5.0s of 60.0s\n"},
	{"{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"timeout\","
	 "\"elapsed-ms\":60000,\"timeout-ms\":60000,\"current-connections\":3,"
	 "\"initial-connections\":10}",
	 "drain of web 10.0.0.1:8080 timed out after 60.0s with 3 connections left; they were not "
	 "cut\n"},
	{"{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"timeout\","
	 "\"elapsed-ms\":7200000,\"timeout-ms\":7200000,\"current-connections\":1,"
	 "\"initial-connections\":10}",
	 "drain of web 10.0.0.1:8080 timed out after 2h00m with 1 connection left; it was not "
	 "cut\n"},
	{"{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"cancelled\","
	 "\"elapsed-ms\":2500,\"timeout-ms\":60000,\"current-connections\":3,"
	 "\"initial-connections\":10}",
	 "drain of web 10.0.0.1:8080 was cancelled (undrain)\n"},
	{"{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"paused\"}",
	 "drain of web 10.0.0.1:8080: paused\n"},
};

START_TEST(test_drain_line)
{
	json_t *st = J(drain_lines[_i].status);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	lb_format_drain_line(f, st);
	fclose(f);
	ck_assert_str_eq(buf, drain_lines[_i].text);
	free(buf);
	json_decref(st);
}
END_TEST

/* One line per health event, stamped with the local time it arrived (TZ=UTC here). */
static const struct {
	const char *event, *text;
} events[] = {
	{"{\"type\":\"target-unhealthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\","
	 "\"last-error\":\"connection-refused\",\"last-latency-ms\":0.2,\"last-http-status\":0}",
	 "12:00:01 web 10.0.0.2:8080 target-unhealthy (connection-refused)\n"},
	{"{\"type\":\"target-unhealthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\","
	 "\"last-error\":\"bad-status\",\"last-latency-ms\":3.1,\"last-http-status\":503}",
	 "12:00:01 web 10.0.0.2:8080 target-unhealthy (bad-status, HTTP 503)\n"},
	{"{\"type\":\"target-healthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\","
	 "\"last-error\":\"ok\",\"last-latency-ms\":0.4,\"last-http-status\":0}",
	 "12:00:01 web 10.0.0.2:8080 target-healthy (ok)\n"},
	{"{\"type\":\"target-unhealthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\","
	 "\"cause\":\"override\",\"override\":\"unhealthy\",\"last-error\":\"ok\","
	 "\"last-latency-ms\":0.4,\"last-http-status\":0}",
	 "12:00:01 web 10.0.0.2:8080 target-unhealthy (set-target-status unhealthy)\n"},
	{"{\"type\":\"target-healthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\","
	 "\"cause\":\"override\",\"override\":\"none\",\"last-error\":\"ok\","
	 "\"last-latency-ms\":0.4,\"last-http-status\":0}",
	 "12:00:01 web 10.0.0.2:8080 target-healthy (set-target-status auto)\n"},
	{"{\"type\":\"target-unhealthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\","
	 "\"cause\":\"check\",\"override\":\"none\",\"last-error\":\"timeout\","
	 "\"last-latency-ms\":3000.0,\"last-http-status\":0}",
	 "12:00:01 web 10.0.0.2:8080 target-unhealthy (timeout)\n"},
	{"{\"type\":\"weights-updated\",\"proxy\":\"web\",\"groups\":[{\"source\":\"default\","
	 "\"targets\":[{\"target\":\"10.0.0.1:8080\",\"configured-weight\":50,"
	 "\"effective-weight\":71},{\"target\":\"10.0.0.2:8080\",\"configured-weight\":30,"
	 "\"effective-weight\":0},{\"target\":\"10.0.0.3:8080\",\"configured-weight\":20,"
	 "\"effective-weight\":29}]}]}",
	 "12:00:01 web weights-updated default: 71/0/29\n"},
	{"{\"type\":\"weights-updated\",\"proxy\":\"web\",\"groups\":[{\"source\":\"default\","
	 "\"targets\":[{\"target\":\"10.0.0.1:8080\",\"configured-weight\":100,"
	 "\"effective-weight\":100}]},{\"source\":\"10.10.0.0/16\",\"targets\":[{\"target\":"
	 "\"10.0.0.4:8080\",\"configured-weight\":50,\"effective-weight\":0},{\"target\":"
	 "\"10.0.0.5:8080\",\"configured-weight\":50,\"effective-weight\":100}]}]}",
	 "12:00:01 web weights-updated default: 100, 10.10.0.0/16: 0/100\n"},
	{"{\"type\":\"target-draining\",\"proxy\":\"web\",\"extra\":[1]}",
	 "12:00:01 web target-draining {\"extra\":[1]}\n"},
	{"{}", "12:00:01 - event\n"},
};

START_TEST(test_health_event)
{
	json_t *ev = J(events[_i].event);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	lb_format_health_event(f, ev, 12 * 3600 + 1);
	fclose(f);
	ck_assert_str_eq(buf, events[_i].text);
	free(buf);
	json_decref(ev);
}
END_TEST

START_TEST(test_format_ms)
{
	static const struct {
		json_int_t ms;
		const char *text;
	} d[] = {
		{-5, "0.0s"},	   {0, "0.0s"},	       {99, "0.0s"},
		{5040, "5.0s"},	   {60000, "60.0s"},   {119999, "119.9s"},
		{120000, "2m00s"}, {3600000, "1h00m"}, {86400000, "1d00h"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < N(d); i++)
		ck_assert_str_eq(lb_format_ms(d[i].ms, buf, sizeof(buf)), d[i].text);
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
	tcase_add_test(tc, test_stats_every_proxy_once);
	tcase_add_test(tc, test_table_widths);
	tcase_add_test(tc, test_format_ms);
	suite_add_tcase(s, tc);

	tc = tcase_create("layouts");
	tcase_add_loop_test(tc, test_layout, 0, N(layouts));
	tcase_add_loop_test(tc, test_error, 0, N(errors));
	tcase_add_loop_test(tc, test_drain_line, 0, N(drain_lines));
	tcase_add_loop_test(tc, test_health_event, 0, N(events));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setenv("TZ", "UTC", 1); /* event time stamps are local time */
	tzset();
	sr = srunner_create(ctl_format_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
