// SPDX-License-Identifier: MIT
/*
 * Unit tests of lb_config: defaults, a full configuration, every rule with its exact message,
 * health-check resolution, listener conflicts, lb_config_validate() on models built in code,
 * and reading files.
 *
 * JSON is written with single quotes (turned into double quotes before parsing) so the
 * tables stay readable.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_addr.h"
#include "lb_config.h"

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static char err[LB_ERR_MAX];

static struct lb_ip ip(const char *s)
{
	char msg[LB_ERR_MAX];
	struct lb_ip a;

	ck_assert_msg(lb_parse_ip(s, &a, msg, sizeof(msg)) == 0, "%s", msg);
	return a;
}

/* The address @a is the one written @s; a failure shows both. */
#define assert_ip(a, s)                                                            \
	do {                                                                       \
		struct lb_ip want_ = ip(s);                                        \
		char got_[LB_ADDR_STR_MAX];                                        \
                                                                                   \
		ck_assert_msg(lb_ip_eq(&(a), &want_), "%s is %s, expected %s", #a, \
			      lb_format_ip(&(a), got_), s);                        \
	} while (0)

/* Parse @sq after turning its single quotes into double quotes. */
static int parse(const char *sq, struct lb_config **cfg)
{
	char *text = strdup(sq), *p;
	int ret;

	ck_assert_ptr_nonnull(text);
	for (p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	err[0] = '\0';
	ret = lb_config_parse_string(text, cfg, err, sizeof(err));
	free(text);
	return ret;
}

static struct lb_config *parse_ok(const char *sq)
{
	struct lb_config *cfg = NULL;
	int ret = parse(sq, &cfg);

	ck_assert_msg(ret == 0, "refused (%d): %s\nconfig: %s", ret, err, sq);
	ck_assert_ptr_nonnull(cfg);
	/* What the parser builds, the validator accepts. */
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "validate: %s", err);
	return cfg;
}

static void parse_fails(const char *sq, const char *msg, bool exact)
{
	struct lb_config *cfg = (struct lb_config *)0x1;
	int ret = parse(sq, &cfg);

	ck_assert_msg(ret == -EINVAL, "accepted (%d), expected \"%s\"\nconfig: %s", ret, msg, sq);
	ck_assert_msg(cfg == NULL, "*out not cleared on failure");
	if (exact)
		ck_assert_msg(!strcmp(err, msg), "\nconfig:   %s\ngot:      %s\nexpected: %s", sq,
			      err, msg);
	else
		ck_assert_msg(strstr(err, msg), "\nconfig: %s\ngot:    %s\nwanted: ...%s...", sq,
			      err, msg);
}

/* Building blocks of the test configurations. */
#define LISTEN		 "'listen':{'interfaces':['eth0'],'port':80}"
#define T1		 "{'ip':'10.0.0.1','port':8080}"
#define DT		 "'default-target':" T1
#define PROXY(body)	 "{'proxies':[{'name':'web'," body "}]}"
#define WEB		 PROXY(LISTEN "," DT)
#define WITH_LISTEN(l)	 PROXY("'listen':" l "," DT)
#define WITH_DT(t)	 PROXY(LISTEN ",'default-target':" t)
#define WITH_ROUTES(r)	 PROXY(LISTEN "," DT ",'source-routes':" r)
#define WITH_HC(hc)	 WITH_DT("{'ip':'10.0.0.1','port':8080,'health-check':" hc "}")
#define WITH_SETTINGS(s) "{'proxies':[{'name':'web'," LISTEN "," DT "}],'settings':" s "}"
#define TWO(l0, l1) \
	"{'proxies':[{'name':'web','listen':" l0 "," DT "},{'name':'api','listen':" l1 "," DT "}]}"
#define HCP "proxies[0].default-target.health-check"

/* SNI routes: a proxy on 443 with routes @r; one route for the name @h (quoted). */
#define SNI(r)	PROXY("'listen':{'interfaces':['eth0'],'port':443}," DT ",'sni-routes':" r)
#define SNIR(h) SNI("[{'sni-hostname':" h ",'target':" T1 "}]")
#define SNP	"proxies[0].sni-routes[0].sni-hostname"
/* Server names at the limits: a 63-byte label, a 255-byte name of four such labels. */
#define L10  "abcdefghij"
#define L63  L10 L10 L10 L10 L10 L10 "abc"
#define N255 L63 "." L63 "." L63 "." L63
#define PP_ONLY                                                                                \
	"only targets reached through SNI routing (a proxy with sni-routes) can send a PROXY " \
	"protocol header; "

/*
 * IPv6: a listener on one address of each family, and targets of either. A listener on one
 * address serves that family's clients only, so kernel-balanced groups must match it.
 */
#define T6	    "{'ip':'2001:db8::1','port':8080}"
#define DT6	    "'default-target':" T6
#define LISTEN6	    "'listen':{'interfaces':['eth0'],'port':80,'address':'2001:db8::10'}"
#define LISTEN4A    "'listen':{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}"
#define WEB6	    PROXY(LISTEN6 "," DT6)
#define ROUTES6(r)  PROXY(LISTEN6 "," DT6 ",'source-routes':" r)
#define ROUTES4A(r) PROXY(LISTEN4A "," DT ",'source-routes':" r)
#define SNI4A(r)                                                                       \
	PROXY("'listen':{'interfaces':['eth0'],'port':443,'address':'10.0.0.10'}," DT6 \
	      ",'sni-routes':" r)
#define FAMILY_TAIL                                                                         \
	": balancing in the kernel does not translate between families (SNI routes, which " \
	"connect from lbd, may mix them)"
#define MAPPED \
	"is not an IP address (an IPv4-mapped address: write the IPv4 address a.b.c.d itself)"
#define LINK_LOCAL                                                                               \
	"is a link-local address (fe80::/10), which names no interface: use a global or unique " \
	"local address"

/* ---- accepted configurations ---- */

/* The words lbd --xdp-mode / --ingress and set-ingress accept are the configuration's. */
START_TEST(test_mode_names)
{
	enum lb_xdp_mode m;
	enum lb_ingress in;

	ck_assert_int_eq(lb_xdp_mode_from_name("generic", &m), 0);
	ck_assert_int_eq(m, LB_XDP_GENERIC);
	ck_assert_int_eq(lb_xdp_mode_from_name("offload", &m), -EINVAL);
	ck_assert_int_eq(lb_ingress_from_name("tc", &in), 0);
	ck_assert_int_eq(in, LB_INGRESS_TC);
	ck_assert_int_eq(lb_ingress_from_name("auto", &in), 0);
	ck_assert_int_eq(in, LB_INGRESS_AUTO);
	ck_assert_int_eq(lb_ingress_from_name("XDP", &in), -EINVAL);
	ck_assert_int_eq(lb_ingress_from_name(NULL, &in), -EINVAL);
	ck_assert_str_eq(lb_ingress_name(LB_INGRESS_XDP), "xdp");
}
END_TEST

START_TEST(test_defaults)
{
	struct lb_config *cfg = parse_ok(WEB);
	const struct lb_settings *s = &cfg->settings;
	const struct lb_proxy_cfg *p = &cfg->proxies[0];
	const struct lb_target_cfg *t = &p->default_group.t[0];
	struct lb_settings def;

	ck_assert_uint_eq(cfg->n_proxies, 1);
	ck_assert_str_eq(p->name, "web");
	ck_assert_uint_eq(p->n_ifaces, 1);
	ck_assert_str_eq(p->ifaces[0], "eth0");
	ck_assert_uint_eq(p->port, 80);
	ck_assert_uint_eq(p->protocols, LB_L4_TCP);
	ck_assert(!p->has_address);
	ck_assert_uint_eq(p->n_routes, 0);
	ck_assert_ptr_null(p->routes);
	ck_assert_uint_eq(p->n_sni_routes, 0);
	ck_assert_ptr_null(p->sni_routes);
	ck_assert_uint_eq(p->default_group.n, 1);
	assert_ip(t->addr, "10.0.0.1");
	ck_assert_uint_eq(t->port, 8080);
	ck_assert_uint_eq(t->weight, 100);
	ck_assert(!t->has_hc);
	ck_assert_uint_eq(t->proxy_protocol, 0);

	ck_assert(!s->stats_enabled);
	ck_assert_uint_eq(s->connection_timeout_sec, 300);
	ck_assert_uint_eq(s->udp_timeout_sec, 60);
	ck_assert_uint_eq(s->max_connections, 100000);
	ck_assert(!s->health_check_enabled);
	ck_assert(!s->fast_path);
	ck_assert_uint_eq(s->default_drain_timeout_ms, 30000);
	ck_assert_uint_eq(s->drain_check_interval_ms, 1000);
	ck_assert_int_eq(s->xdp_mode, LB_XDP_AUTO);
	ck_assert_int_eq(s->ingress, LB_INGRESS_AUTO);
	ck_assert_uint_eq(s->sni_hello_timeout_ms, 5000);
	ck_assert_uint_eq(s->sni_max_pending, 1024);
	ck_assert_int_eq(s->sni_splice, LB_SPLICE_AUTO);
	ck_assert_int_eq(s->health_check_defaults.type, LB_HC_TCP);
	ck_assert_str_eq(s->health_check_defaults.path, "/health");
	ck_assert_uint_eq(s->health_check_defaults.interval_ms, 10000);
	ck_assert_uint_eq(s->health_check_defaults.timeout_ms, 3000);
	ck_assert_uint_eq(s->health_check_defaults.healthy_threshold, 2);
	ck_assert_uint_eq(s->health_check_defaults.unhealthy_threshold, 3);
	ck_assert_uint_eq(s->health_check_defaults.n_expected_codes, 4);
	ck_assert_uint_eq(s->health_check_defaults.expected_codes[0], 200);
	ck_assert_uint_eq(s->health_check_defaults.expected_codes[1], 201);
	ck_assert_uint_eq(s->health_check_defaults.expected_codes[2], 202);
	ck_assert_uint_eq(s->health_check_defaults.expected_codes[3], 204);
	/* A target without its own object gets exactly the defaults. */
	ck_assert(!memcmp(&t->hc, &s->health_check_defaults, sizeof(t->hc)));

	lb_settings_default(&def);
	ck_assert(!memcmp(&def, s, sizeof(def)));
	lb_config_free(cfg);
}
END_TEST

/* The example of SPEC section 2, with settings before proxies and every settings key. */
static const char full_config[] =
	"{'settings': {'stats-enabled': true, 'connection-timeout-sec': 600,"
	"  'udp-timeout-sec': 30, 'max-connections': 200000, 'health-check-enabled': true,"
	"  'health-check-defaults': {'type': 'http', 'interval-ms': 5000, 'timeout-ms': 1000,"
	"    'healthy-threshold': 3, 'unhealthy-threshold': 4, 'path': '/ready',"
	"    'expected-codes': [200, 204]},"
	"  'default-drain-timeout-ms': 60000, 'drain-check-interval-ms': 500, 'xdp-mode': 'native',"
	"  'ingress': 'tc', 'fast-path': true},"
	" 'proxies': [{'name': 'web',"
	"   'listen': {'interfaces': ['eth0', 'eth1'], 'port': 80, 'protocol': 'both',"
	"              'address': '10.0.0.10'},"
	"   'default-target': [{'ip': '10.0.0.1', 'port': 8080, 'weight': 70},"
	"                      {'ip': '10.0.0.2', 'port': 8080, 'weight': 30,"
	"                       'health-check': {'type': 'tcp', 'interval-ms': 2000}}],"
	"   'source-routes': [{'source': '192.168.1.0/24',"
	"                      'target': {'ip': '10.0.0.3', 'port': 8080}},"
	"                     {'source': '10.10.0.0/16',"
	"                      'targets': [{'ip': '10.0.0.4', 'port': 8080, 'weight': 50},"
	"                                  {'ip': '10.0.0.5', 'port': 8080, 'weight': 50}]},"
	"                     {'source': '172.16.0.7', 'target': {'ip': '127.0.0.1', 'port': 9000}}],"
	"   'sni-routes': []},"
	"  {'name': 'dns.udp-1', 'listen': {'interfaces': ['eth0'], 'port': 53, 'protocol': 'udp'},"
	"   'default-target': {'ip': '10.0.1.1', 'port': 53, 'weight': 100}}]}";

START_TEST(test_full_config)
{
	struct lb_config *cfg = parse_ok(full_config);
	const struct lb_settings *s = &cfg->settings;
	const struct lb_proxy_cfg *p = &cfg->proxies[0], *d = &cfg->proxies[1];
	const struct lb_route_cfg *r;

	ck_assert(s->stats_enabled);
	ck_assert_uint_eq(s->connection_timeout_sec, 600);
	ck_assert_uint_eq(s->udp_timeout_sec, 30);
	ck_assert_uint_eq(s->max_connections, 200000);
	ck_assert(s->health_check_enabled);
	ck_assert_uint_eq(s->default_drain_timeout_ms, 60000);
	ck_assert_uint_eq(s->drain_check_interval_ms, 500);
	ck_assert_int_eq(s->xdp_mode, LB_XDP_NATIVE);
	ck_assert_int_eq(s->ingress, LB_INGRESS_TC);
	ck_assert(s->fast_path);
	ck_assert_int_eq(s->health_check_defaults.type, LB_HC_HTTP);
	ck_assert_str_eq(s->health_check_defaults.path, "/ready");
	ck_assert_uint_eq(s->health_check_defaults.healthy_threshold, 3);
	ck_assert_uint_eq(s->health_check_defaults.unhealthy_threshold, 4);
	ck_assert_uint_eq(s->health_check_defaults.n_expected_codes, 2);
	ck_assert_uint_eq(s->health_check_defaults.expected_codes[1], 204);

	ck_assert_uint_eq(cfg->n_proxies, 2);
	ck_assert_str_eq(p->name, "web");
	ck_assert_uint_eq(p->n_ifaces, 2);
	ck_assert_str_eq(p->ifaces[1], "eth1");
	ck_assert_uint_eq(p->protocols, LB_L4_TCP | LB_L4_UDP);
	ck_assert(p->has_address);
	assert_ip(p->address, "10.0.0.10");
	ck_assert_uint_eq(p->default_group.n, 2);
	ck_assert_uint_eq(p->default_group.t[0].weight, 70);
	ck_assert_uint_eq(p->default_group.t[1].weight, 30);
	assert_ip(p->default_group.t[1].addr, "10.0.0.2");

	ck_assert_uint_eq(p->n_routes, 3);
	r = &p->routes[0];
	assert_ip(r->addr, "192.168.1.0");
	ck_assert_uint_eq(r->prefix_len, 24);
	ck_assert_uint_eq(r->group.n, 1);
	ck_assert_uint_eq(r->group.t[0].weight, 100);
	r = &p->routes[1];
	assert_ip(r->addr, "10.10.0.0");
	ck_assert_uint_eq(r->prefix_len, 16);
	ck_assert_uint_eq(r->group.n, 2);
	assert_ip(r->group.t[1].addr, "10.0.0.5");
	ck_assert_uint_eq(r->group.t[1].weight, 50);
	r = &p->routes[2];
	ck_assert_uint_eq(r->prefix_len, 32);
	assert_ip(r->group.t[0].addr, "127.0.0.1");
	ck_assert_uint_eq(r->group.t[0].port, 9000);

	ck_assert_str_eq(d->name, "dns.udp-1");
	ck_assert_uint_eq(d->protocols, LB_L4_UDP);
	ck_assert_uint_eq(d->default_group.t[0].weight, 100);
	lb_config_free(cfg);
}
END_TEST

/* Per-target health checks: the defaults, with the target's own fields on top. */
/* "{... 'settings':{'access-log':'/' + @n - 1 times 'a'}}", a path of @n bytes; free() it. */
static char *with_log_path(size_t n)
{
	static const char head[] = "{'proxies':[{'name':'web'," LISTEN "," DT "}],"
				   "'settings':{'access-log':'/",
			  tail[] = "'}}";
	char *s = malloc(sizeof(head) + n + sizeof(tail));

	ck_assert_ptr_nonnull(s);
	strcpy(s, head);
	memset(s + strlen(s), 'a', n - 1);
	strcpy(s + sizeof(head) - 1 + n - 1, tail);
	return s;
}

START_TEST(test_access_log)
{
	struct lb_config *cfg = parse_ok(WEB);
	char *text;

	/* Absent and null both mean no access log. */
	ck_assert_ptr_null(cfg->settings.access_log);
	lb_config_free(cfg);
	cfg = parse_ok(WITH_SETTINGS("{'access-log':null}"));
	ck_assert_ptr_null(cfg->settings.access_log);
	lb_config_free(cfg);
	cfg = parse_ok(WITH_SETTINGS("{'access-log':'/var/log/lbd/access.log'}"));
	ck_assert_str_eq(cfg->settings.access_log, "/var/log/lbd/access.log");
	lb_config_free(cfg);

	/* PATH_MAX counts the NUL: 4095 bytes of path at most. */
	text = with_log_path(4095);
	cfg = parse_ok(text);
	ck_assert_uint_eq(strlen(cfg->settings.access_log), 4095);
	lb_config_free(cfg);
	free(text);
	text = with_log_path(4096);
	parse_fails(text, "settings.access-log: is longer than 4095 bytes", true);
	free(text);
}
END_TEST

START_TEST(test_hc_resolution)
{
	struct lb_config *cfg = parse_ok(full_config);
	const struct lb_group_cfg *g = &cfg->proxies[0].default_group;
	const struct lb_hc_cfg *def = &cfg->settings.health_check_defaults;
	const struct lb_hc_cfg *own = &g->t[1].hc;

	/* Target 0 has no object: the defaults as set in "settings", which came first. */
	ck_assert(!g->t[0].has_hc);
	ck_assert(!memcmp(&g->t[0].hc, def, sizeof(*def)));
	ck_assert(!cfg->proxies[0].routes[1].group.t[0].has_hc);
	ck_assert_int_eq(cfg->proxies[0].routes[1].group.t[0].hc.type, LB_HC_HTTP);

	/* Target 1 overrides type and interval; the rest is inherited. */
	ck_assert(g->t[1].has_hc);
	ck_assert_int_eq(own->type, LB_HC_TCP);
	ck_assert_uint_eq(own->interval_ms, 2000);
	ck_assert_uint_eq(own->timeout_ms, 1000);
	ck_assert_str_eq(own->path, "/ready");
	ck_assert_uint_eq(own->healthy_threshold, 3);
	ck_assert_uint_eq(own->unhealthy_threshold, 4);
	ck_assert_uint_eq(own->n_expected_codes, 2);
	lb_config_free(cfg);
}
END_TEST

START_TEST(test_hc_override_all)
{
	struct lb_config *cfg = parse_ok(
		"{'proxies':[{'name':'web'," LISTEN
		",'default-target':{'ip':'10.0.0.1','port':8080,"
		"'health-check':{'type':'https','path':'/z?a=1','interval-ms':300000,"
		"'timeout-ms':60000,'healthy-threshold':10,'unhealthy-threshold':1,"
		"'expected-codes':[100,599,301,302,303,304,305,306,307,308,309,310,311,312,313,314]}"
		"}}],'settings':{'health-check-defaults':{'type':'none'}}}");
	const struct lb_hc_cfg *hc = &cfg->proxies[0].default_group.t[0].hc;

	ck_assert_int_eq(cfg->settings.health_check_defaults.type, LB_HC_NONE);
	ck_assert_int_eq(hc->type, LB_HC_HTTPS);
	ck_assert_str_eq(hc->path, "/z?a=1");
	ck_assert_uint_eq(hc->interval_ms, 300000);
	ck_assert_uint_eq(hc->timeout_ms, 60000);
	ck_assert_uint_eq(hc->healthy_threshold, 10);
	ck_assert_uint_eq(hc->unhealthy_threshold, 1);
	ck_assert_uint_eq(hc->n_expected_codes, 16);
	ck_assert_uint_eq(hc->expected_codes[0], 100);
	ck_assert_uint_eq(hc->expected_codes[15], 314);
	lb_config_free(cfg);
}
END_TEST

/* A virtual host's check: its name as SNI and Host; verification inherited or overridden. */
START_TEST(test_hc_host_and_tls)
{
	struct lb_config *cfg = parse_ok(
		"{'proxies':[{'name':'web'," LISTEN ",'default-target':["
		"{'ip':'10.0.0.1','port':8443,'weight':34,'health-check':{'host':'API.example.com'}},"
		"{'ip':'10.0.0.2','port':8443,'weight':33,'health-check':{'tls-verify':false}},"
		"{'ip':'10.0.0.3','port':8080,'weight':33,"
		"'health-check':{'type':'http','host':'b.example'}}]}],"
		"'settings':{'health-check-defaults':{'type':'https','tls-verify':true,"
		"'ca-file':'/etc/lbd/ca.pem'}}}");
	const struct lb_group_cfg *g = &cfg->proxies[0].default_group;
	struct lb_config *again;
	json_t *j;
	char *text;

	ck_assert_str_eq(g->t[0].hc.host, "API.example.com");
	ck_assert(g->t[0].hc.tls_verify);
	ck_assert_str_eq(g->t[0].hc.ca_file, "/etc/lbd/ca.pem");
	/* Interned: one copy for every check naming the file. */
	ck_assert_ptr_eq(g->t[0].hc.ca_file, cfg->settings.health_check_defaults.ca_file);
	ck_assert(!g->t[1].hc.tls_verify);
	ck_assert_ptr_null(g->t[1].hc.host);
	ck_assert_str_eq(g->t[2].hc.host, "b.example");
	ck_assert_int_eq(g->t[2].hc.type, LB_HC_HTTP);

	/* What get-config shows parses back to the same checks. */
	j = lb_config_to_json(cfg);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ck_assert_int_eq(lb_config_parse_string(text, &again, err, sizeof(err)), 0);
	ck_assert_ptr_eq(again->proxies[0].default_group.t[0].hc.host, g->t[0].hc.host);
	ck_assert(again->proxies[0].default_group.t[0].hc.tls_verify);
	ck_assert(!again->proxies[0].default_group.t[1].hc.tls_verify);
	free(text);
	lb_config_free(again);
	lb_config_free(cfg);
}
END_TEST

/* The seed README's SNI example, with the extensions: wildcards, PROXY protocol, settings. */
static const char sni_config[] =
	"{'proxies': [{'name': 'https-gateway',"
	"   'listen': {'interfaces': ['eth0'], 'port': 443},"
	"   'default-target': [{'ip': '10.0.0.1', 'port': 8443, 'proxy-protocol': 'v2'}],"
	"   'source-routes': [{'source': '192.168.0.0/16',"
	"                      'target': {'ip': '10.0.0.9', 'port': 8443,"
	"                                 'proxy-protocol': 'none'}}],"
	"   'sni-routes': ["
	"     {'sni-hostname': 'api.example.com', 'target': {'ip': '10.0.1.1', 'port': 8443}},"
	"     {'sni-hostname': 'Web.Example.COM.', 'target': {'ip': '10.0.2.1', 'port': 8443,"
	"      'proxy-protocol': 'v2'}},"
	"     {'sni-hostname': 'app.example.com',"
	"      'targets': [{'ip': '10.0.3.1', 'port': 8443, 'weight': 70},"
	"                  {'ip': '10.0.3.2', 'port': 8443, 'weight': 30, 'proxy-protocol': 'v2',"
	"                   'health-check': {'type': 'https'}}]},"
	"     {'sni-hostname': '*.Tenants.example.com',"
	"      'target': {'ip': '10.0.4.1', 'port': 8443}}]}],"
	" 'settings': {'sni-hello-timeout-ms': 2500, 'sni-max-pending': 64, 'sni-splice': 'copy'}}";

START_TEST(test_sni_config)
{
	struct lb_config *cfg = parse_ok(sni_config);
	const struct lb_proxy_cfg *p = &cfg->proxies[0];
	const struct lb_sni_route_cfg *r = p->sni_routes;

	ck_assert_uint_eq(cfg->settings.sni_hello_timeout_ms, 2500);
	ck_assert_uint_eq(cfg->settings.sni_max_pending, 64);
	ck_assert_int_eq(cfg->settings.sni_splice, LB_SPLICE_COPY);
	ck_assert_uint_eq(p->protocols, LB_L4_TCP);
	ck_assert_uint_eq(p->default_group.t[0].proxy_protocol, 2);
	ck_assert_uint_eq(p->routes[0].group.t[0].proxy_protocol, 0);

	ck_assert_uint_eq(p->n_sni_routes, 4);
	ck_assert_str_eq(r[0].hostname, "api.example.com");
	ck_assert(!r[0].wildcard);
	ck_assert_uint_eq(r[0].group.n, 1);
	assert_ip(r[0].group.t[0].addr, "10.0.1.1");
	ck_assert_uint_eq(r[0].group.t[0].port, 8443);
	ck_assert_uint_eq(r[0].group.t[0].weight, 100);
	ck_assert_uint_eq(r[0].group.t[0].proxy_protocol, 0);
	/* Lowercased, and the trailing dot of a fully qualified name dropped. */
	ck_assert_str_eq(r[1].hostname, "web.example.com");
	ck_assert_uint_eq(r[1].group.t[0].proxy_protocol, 2);
	ck_assert_uint_eq(r[2].group.n, 2);
	ck_assert_uint_eq(r[2].group.t[0].weight, 70);
	ck_assert_uint_eq(r[2].group.t[0].proxy_protocol, 0);
	ck_assert_uint_eq(r[2].group.t[1].weight, 30);
	ck_assert_uint_eq(r[2].group.t[1].proxy_protocol, 2);
	ck_assert(r[2].group.t[1].has_hc);
	ck_assert_int_eq(r[2].group.t[1].hc.type, LB_HC_HTTPS);
	ck_assert_str_eq(r[3].hostname, "*.tenants.example.com");
	ck_assert(r[3].wildcard);
	lb_config_free(cfg);
}
END_TEST

static const char *const accepted[] = {
	/* a name of 63 characters, every allowed character */
	"{'proxies':[{'name':'a23456789012345678901234567890123456789012345678901234567890123'," LISTEN
	"," DT "}]}",
	"{'proxies':[{'name':'Web_1.2-x'," LISTEN "," DT "}]}",
	/* one-element arrays: weight optional, 100 if given */
	WITH_DT("[{'ip':'10.0.0.1','port':8080}]"),
	WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':100}]"),
	WITH_DT("{'ip':'10.0.0.1','port':8080,'weight':100}"),
	/* weight 0 is a standby that gets no new flows */
	WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':100},{'ip':'10.0.0.2','port':8080,"
		"'weight':0}]"),
	/* same address, different ports */
	WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':50},{'ip':'10.0.0.1','port':8081,"
		"'weight':50}]"),
	/* 8 targets */
	WITH_DT("[{'ip':'10.0.0.1','port':1,'weight':10},{'ip':'10.0.0.2','port':1,'weight':10},"
		"{'ip':'10.0.0.3','port':1,'weight':10},{'ip':'10.0.0.4','port':1,'weight':10},"
		"{'ip':'10.0.0.5','port':1,'weight':10},{'ip':'10.0.0.6','port':1,'weight':10},"
		"{'ip':'10.0.0.7','port':1,'weight':10},{'ip':'10.0.0.8','port':1,'weight':30}]"),
	/* local targets and listeners */
	WITH_DT("{'ip':'127.0.0.1','port':8080}"),
	WITH_LISTEN("{'interfaces':['lo'],'port':80,'address':'127.0.0.1'}"),
	/* 16 interfaces, 15-character names */
	WITH_LISTEN("{'interfaces':['a','b','c','d','e','f','g','h','i','j','k','l','m','n','o',"
		    "'abcdefghijklmno'],'port':65535}"),
	WITH_LISTEN("{'interfaces':['eth0.100','br-lan','veth_x@1'],'port':1,'protocol':'tcp'}"),
	/* routes: empty list, 0.0.0.0/0, one-element "targets" */
	WITH_ROUTES("[]"),
	WITH_ROUTES("[{'source':'0.0.0.0/0','target':" T1 "}]"),
	WITH_ROUTES("[{'source':'10.0.0.0/8','targets':[" T1 "]}]"),
	/* overlapping but different prefixes are fine: the longest wins */
	WITH_ROUTES("[{'source':'10.0.0.0/8','target':" T1 "},{'source':'10.0.0.0/16','target':" T1
		    "},{'source':'10.0.0.1','target':" T1 "}]"),
	PROXY(LISTEN "," DT ",'sni-routes':[]"),
	/* server names at the limits, and what a label may hold */
	SNIR("'" N255 "'"),
	SNIR("'" N255 ".'"),
	SNIR("'" L63 ".com'"),
	SNIR("'localhost'"),
	SNIR("'_acme-challenge.x_y.example.com'"),
	SNIR("'xn--caf-dma.example.com'"),
	SNIR("'10.0.0.1'"),
	SNIR("'*.a.b'"),
	SNIR("'*.EXAMPLE.com.'"),
	SNIR("'*." L63 "." L63 "." L63 "." L10 "abcdefghi'"),
	/* the same name once exact and once as a wildcard are two routes */
	SNI("[{'sni-hostname':'example.com','target':" T1 "},{'sni-hostname':'*.example.com',"
	    "'target':" T1 "}]"),
	SNI("[{'sni-hostname':'a.example.com','targets':[{'ip':'10.0.0.1','port':1,'weight':50},"
	    "{'ip':'10.0.0.2','port':1,'weight':50,'proxy-protocol':'v2'}]}]"),
	/* SNI on a proxy that balances UDP too */
	PROXY("'listen':{'interfaces':['eth0'],'port':443,'protocol':'both'}," DT
	      ",'sni-routes':[{'sni-hostname':'a.example.com','target':" T1 "}]"),
	/* "none" is fine anywhere */
	WITH_DT("{'ip':'10.0.0.1','port':8080,'proxy-protocol':'none'}"),
	WITH_ROUTES("[{'source':'10.0.0.0/8','target':{'ip':'10.0.0.1','port':1,"
		    "'proxy-protocol':'none'}}]"),
	WITH_SETTINGS("{}"),
	WITH_SETTINGS("{'metrics-listen':'127.0.0.1:9100'}"),
	WITH_SETTINGS("{'metrics-listen':'0.0.0.0:65535'}"),
	WITH_SETTINGS("{'access-log':'/var/log/lbd/access.log'}"),
	WITH_SETTINGS("{'access-log':'/access.log'}"),
	WITH_SETTINGS("{'access-log':'/var/log/lbd/.access log.json'}"),
	WITH_SETTINGS("{'access-log':null}"),
	WITH_SETTINGS("{'stats-enabled':false,'health-check-enabled':true,'xdp-mode':'generic'}"),
	WITH_SETTINGS("{'connection-timeout-sec':1,'udp-timeout-sec':604800,'max-connections':1024,"
		      "'default-drain-timeout-ms':1000,'drain-check-interval-ms':100,"
		      "'sni-hello-timeout-ms':100,'sni-max-pending':1,'sni-splice':'auto'}"),
	WITH_SETTINGS("{'connection-timeout-sec':604800,'udp-timeout-sec':1,"
		      "'max-connections':16777216,'default-drain-timeout-ms':3600000,"
		      "'drain-check-interval-ms':60000,'sni-hello-timeout-ms':60000,"
		      "'sni-max-pending':65536,'sni-splice':'sockmap'}"),
	WITH_HC("{}"),
	WITH_HC("{'interval-ms':1000,'timeout-ms':999}"),
	WITH_HC("{'timeout-ms':100}"),
	/* listeners that do not conflict */
	TWO("{'interfaces':['eth0'],'port':80}", "{'interfaces':['eth0'],'port':81}"),
	TWO("{'interfaces':['eth0'],'port':80}", "{'interfaces':['eth1'],'port':80}"),
	TWO("{'interfaces':['eth0'],'port':80,'protocol':'tcp'}",
	    "{'interfaces':['eth0'],'port':80,'protocol':'udp'}"),
	TWO("{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}",
	    "{'interfaces':['eth0'],'port':80,'address':'10.0.0.11'}"),
	TWO("{'interfaces':['eth0'],'port':53,'protocol':'udp','address':'10.0.0.10'}",
	    "{'interfaces':['eth0'],'port':53,'protocol':'both','address':'10.0.0.11'}"),

	/* IPv6: a listener address with targets and routes of its family, any spelling */
	WEB6,
	PROXY("'listen':{'interfaces':['eth0'],'port':80,'address':'2001:DB8:0:0::10'}," DT6),
	PROXY(LISTEN6
	      ",'default-target':[{'ip':'2001:db8::1','port':8080,'weight':50},"
	      "{'ip':'::1','port':8080,'weight':25},{'ip':'fd00::7','port':8080,'weight':25}]"),
	ROUTES6("[{'source':'2001:db8:1::/48','target':{'ip':'2001:db8::2','port':8080}},"
		"{'source':'::/0','target':" T6 "},{'source':'2001:db8:2::1','target':" T6 "},"
		"{'source':'2001:db8:2::/127','target':" T6 "}]"),
	/* an address-less listener serves both families, each over targets of its own */
	WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':50},{'ip':'2001:db8::1','port':8080,"
		"'weight':50}]"),
	WITH_ROUTES("[{'source':'10.1.0.0/16','target':" T1 "},{'source':'2001:db8:1::/48',"
		    "'target':" T6 "},{'source':'0.0.0.0/0','target':" T1 "},{'source':'::/0',"
		    "'target':" T6 "}]"),
	/* SNI: lbd connects to the targets itself, from either family */
	SNI4A("[{'sni-hostname':'a.example.com','target':" T6 "},{'sni-hostname':'b.example.com',"
	      "'targets':[{'ip':'10.0.0.2','port':8443,'weight':50},{'ip':'2001:db8::2',"
	      "'port':8443,'weight':50,'proxy-protocol':'v2'}]}]"),
	PROXY("'listen':{'interfaces':['eth0'],'port':443,'address':'2001:db8::10'}," DT
	      ",'sni-routes':[{'sni-hostname':'a.example.com','target':" T1 "}]"),
	WITH_SETTINGS("{'metrics-listen':'[::1]:9100'}"),
	WITH_SETTINGS("{'metrics-listen':'[::]:9100'}"),
	WITH_SETTINGS("{'metrics-listen':'[2001:db8::10]:65535'}"),
	/* one address of each family on the same interface and port */
	"{'proxies':[{'name':'web'," LISTEN4A "," DT "},{'name':'web6'," LISTEN6 "," DT6 "}]}",
};

START_TEST(test_accepts)
{
	lb_config_free(parse_ok(accepted[_i]));
}
END_TEST

START_TEST(test_sources)
{
	struct lb_config *cfg = parse_ok(WITH_ROUTES("[{'source':'10.0.0.1','target':" T1
						     "},{'source':'0.0.0.0/0','target':" T1 "}]"));

	assert_ip(cfg->proxies[0].routes[0].addr, "10.0.0.1");
	ck_assert_uint_eq(cfg->proxies[0].routes[0].prefix_len, 32);
	assert_ip(cfg->proxies[0].routes[1].addr, "0.0.0.0");
	ck_assert(lb_ip_is_v4(&cfg->proxies[0].routes[1].addr));
	ck_assert_uint_eq(cfg->proxies[0].routes[1].prefix_len, 0);
	lb_config_free(cfg);
}
END_TEST

/* IPv6 throughout, and a listener without an address that serves both families. */
static const char ipv6_config[] =
	"{'settings': {'metrics-listen': '[::1]:9100'},"
	" 'proxies': [{'name': 'web6',"
	"   'listen': {'interfaces': ['eth0'], 'port': 80, 'address': '2001:db8::10'},"
	"   'default-target': [{'ip': '2001:db8::1', 'port': 8080, 'weight': 60},"
	"                      {'ip': '2001:DB8:0:0:0:0:0:2', 'port': 8080, 'weight': 40}],"
	"   'source-routes': [{'source': '2001:db8:1::/48',"
	"                      'target': {'ip': '2001:db8::3', 'port': 8080}},"
	"                     {'source': '2001:db8:2::7', 'target': {'ip': '::1', 'port': 9000}}]},"
	"  {'name': 'dual', 'listen': {'interfaces': ['eth0'], 'port': 443},"
	"   'default-target': [{'ip': '10.0.0.1', 'port': 8443, 'weight': 50},"
	"                      {'ip': '2001:db8::1', 'port': 8443, 'weight': 50}],"
	"   'sni-routes': [{'sni-hostname': 'api.example.com',"
	"                   'target': {'ip': '2001:db8::5', 'port': 8443}}]}]}";

START_TEST(test_ipv6_config)
{
	struct lb_config *cfg = parse_ok(ipv6_config);
	const struct lb_proxy_cfg *p = &cfg->proxies[0], *d = &cfg->proxies[1];
	const struct lb_route_cfg *r = p->routes;

	ck_assert(cfg->settings.metrics_listen);
	assert_ip(cfg->settings.metrics_addr, "::1");
	ck_assert_uint_eq(cfg->settings.metrics_port, 9100);

	ck_assert(p->has_address);
	assert_ip(p->address, "2001:db8::10");
	ck_assert(!lb_ip_is_v4(&p->address));
	ck_assert_uint_eq(p->default_group.n, 2);
	assert_ip(p->default_group.t[0].addr, "2001:db8::1");
	ck_assert_uint_eq(p->default_group.t[0].port, 8080);
	ck_assert_uint_eq(p->default_group.t[0].weight, 60);
	/* One address, whatever its spelling. */
	assert_ip(p->default_group.t[1].addr, "2001:db8::2");
	ck_assert_uint_eq(p->n_routes, 2);
	assert_ip(r[0].addr, "2001:db8:1::");
	/* The family's own prefix length, not the 128-bit form's. */
	ck_assert_uint_eq(r[0].prefix_len, 48);
	assert_ip(r[0].group.t[0].addr, "2001:db8::3");
	/* A bare address is one host: /128. */
	assert_ip(r[1].addr, "2001:db8:2::7");
	ck_assert_uint_eq(r[1].prefix_len, 128);
	assert_ip(r[1].group.t[0].addr, "::1");
	ck_assert_uint_eq(r[1].group.t[0].port, 9000);

	ck_assert(!d->has_address);
	ck_assert(lb_ip_is_v4(&d->default_group.t[0].addr));
	ck_assert_uint_eq(lb_ip_v4(&d->default_group.t[0].addr), htonl(0x0a000001));
	ck_assert(!lb_ip_is_v4(&d->default_group.t[1].addr));
	assert_ip(d->sni_routes[0].group.t[0].addr, "2001:db8::5");
	lb_config_free(cfg);
}
END_TEST

/*
 * hash-prefix within the family of the proxy's clients: an IPv6 proxy takes 64 (with an
 * address, or without one and IPv6 targets only), an IPv4 one 24.
 */
START_TEST(test_hash_prefix_families)
{
	static const char *const ok[] = {
		"{'proxies':[{'name':'v6','listen':{'interfaces':['eth0'],'address':'fd00::10',"
		"'port':80},'default-target':[{'ip':'fd00::1','port':80,'weight':50},"
		"{'ip':'fd00::2','port':80,'weight':50}],'hash':'source-address','hash-prefix':64}]}",
		"{'proxies':[{'name':'v6','listen':{'interfaces':['eth0'],'port':80},"
		"'default-target':[{'ip':'fd00::1','port':80,'weight':50},"
		"{'ip':'fd00::2','port':80,'weight':50}],'hash':'source-address','hash-prefix':"
		"128}]}",
		PROXY(LISTEN "," DT ",'hash':'source-address','hash-prefix':24"),
	};
	static const uint8_t prefix[] = {64, 128, 24};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct lb_config *cfg = parse_ok(ok[i]);

		ck_assert_uint_eq(cfg->proxies[0].hash, LB_HASH_SOURCE);
		ck_assert(cfg->proxies[0].has_hash_prefix);
		ck_assert_uint_eq(cfg->proxies[0].hash_prefix, prefix[i]);
		lb_config_free(cfg);
	}
}
END_TEST

/* Forwarding modes: parsed, defaulted, and written back the same. */
START_TEST(test_forwarding)
{
	struct lb_config *cfg =
		parse_ok("{'proxies':[{'name':'a','listen':{'interfaces':['eth0'],'port':80},"
			 "'default-target':{'ip':'10.0.0.1','port':80},'forwarding':'dsr'},"
			 "{'name':'b','listen':{'interfaces':['eth0'],'port':81},"
			 "'default-target':{'ip':'10.0.0.1','port':8080},'forwarding':'full-nat',"
			 "'snat-address':['10.0.0.9','fd00::9']},"
			 "{'name':'c','listen':{'interfaces':['eth0'],'port':82}," DT "}],"
			 "'settings':{'snat-address':'10.0.0.7','snat-port-min':40000,"
			 "'snat-port-max':40999}}");
	char *text;
	json_t *j;

	ck_assert_uint_eq(cfg->proxies[0].forwarding, LB_FWD_DSR);
	ck_assert_uint_eq(cfg->proxies[1].forwarding, LB_FWD_FULLNAT);
	ck_assert_uint_eq(cfg->proxies[2].forwarding, LB_FWD_NAT);
	ck_assert(cfg->proxies[1].snat.has_v4 && cfg->proxies[1].snat.has_v6);
	ck_assert(!cfg->proxies[0].snat.has_v4 && !cfg->proxies[0].snat.has_v6);
	ck_assert(cfg->settings.snat.has_v4 && !cfg->settings.snat.has_v6);
	ck_assert_uint_eq(cfg->settings.snat_port_min, 40000);
	ck_assert_uint_eq(cfg->settings.snat_port_max, 40999);
	j = lb_config_to_json(cfg);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(strstr(text, "\"forwarding\":\"dsr\""));
	ck_assert_ptr_nonnull(strstr(text, "\"snat-address\":[\"10.0.0.9\",\"fd00::9\"]"));
	ck_assert_ptr_nonnull(strstr(text, "\"snat-address\":[\"10.0.0.7\"]"));
	/* nat is the default: left out, as a file that never heard of it says. */
	ck_assert_ptr_null(strstr(text, "\"nat\""));
	free(text);
	json_decref(j);
	lb_config_free(cfg);
	cfg = parse_ok(WEB);
	ck_assert_uint_eq(cfg->proxies[0].forwarding, LB_FWD_NAT);
	ck_assert_uint_eq(cfg->settings.snat_port_min, LB_SNAT_PORT_MIN_DEFAULT);
	ck_assert_uint_eq(cfg->settings.snat_port_max, LB_SNAT_PORT_MAX_DEFAULT);
	lb_config_free(cfg);
}
END_TEST

/* ---- which SNI route a server name takes ---- */

/* Wildcards first, so that an exact match cannot win by coming first. */
static const char match_config[] =
	SNI("[{'sni-hostname':'*.example.com','target':{'ip':'10.0.0.1','port':1}},"
	    " {'sni-hostname':'*.eu.example.com','target':{'ip':'10.0.0.2','port':1}},"
	    " {'sni-hostname':'api.example.com','target':{'ip':'10.0.0.3','port':1}},"
	    " {'sni-hostname':'example.com','target':{'ip':'10.0.0.4','port':1}},"
	    " {'sni-hostname':'API.eu.example.com','target':{'ip':'10.0.0.5','port':1}},"
	    " {'sni-hostname':'*.b.eu.example.com','target':{'ip':'10.0.0.6','port':1}}]");

static const struct {
	const char *name, *route; /* route: the hostname of the route taken, NULL for none */
} matches[] = {
	/* exact beats any wildcard, wherever it is in the list */
	{"api.example.com", "api.example.com"},
	{"example.com", "example.com"},
	{"api.eu.example.com", "api.eu.example.com"},
	/* a wildcard matches one label or more, never the name it is made of */
	{"web.example.com", "*.example.com"},
	{"a.b.c.example.com", "*.example.com"},
	{"eu.example.com", "*.example.com"},
	/* the longest suffix wins */
	{"x.eu.example.com", "*.eu.example.com"},
	{"x.y.eu.example.com", "*.eu.example.com"},
	{"b.eu.example.com", "*.eu.example.com"},
	{"x.b.eu.example.com", "*.b.eu.example.com"},
	{"v1.api.example.com", "*.example.com"},
	/* a suffix only counts at a dot */
	{"xexample.com", NULL},
	{"example.org", NULL},
	{"com", NULL},
	{".example.com", NULL},
	{"", NULL},
	/* case and a fully qualified name's dot do not matter */
	{"API.Example.COM", "api.example.com"},
	{"api.example.com.", "api.example.com"},
	{"Web.EXAMPLE.com.", "*.example.com"},
};

START_TEST(test_sni_match)
{
	struct lb_config *cfg = parse_ok(match_config);
	const struct lb_sni_route_cfg *r = lb_sni_route_match(&cfg->proxies[0], matches[_i].name);

	if (!matches[_i].route)
		ck_assert_msg(!r, "\"%s\" took route %s, expected none", matches[_i].name,
			      r->hostname);
	else
		ck_assert_msg(r && !strcmp(r->hostname, matches[_i].route),
			      "\"%s\" took route %s, expected %s", matches[_i].name,
			      r ? r->hostname : "(none)", matches[_i].route);
	lb_config_free(cfg);
}
END_TEST

START_TEST(test_sni_match_edges)
{
	struct lb_config *cfg = parse_ok(SNIR("'*.example.com'")), *plain = parse_ok(WEB);

	ck_assert_ptr_null(lb_sni_route_match(&cfg->proxies[0], "example.com"));
	ck_assert_ptr_nonnull(lb_sni_route_match(&cfg->proxies[0], "a.example.com"));
	ck_assert_ptr_null(lb_sni_route_match(&cfg->proxies[0], NULL));
	ck_assert_ptr_null(lb_sni_route_match(NULL, "a.example.com"));
	/* A proxy without SNI routes matches nothing. */
	ck_assert_ptr_null(lb_sni_route_match(&plain->proxies[0], "a.example.com"));
	lb_config_free(cfg);
	lb_config_free(plain);
}
END_TEST

/* The same rules for a name on its own (an RPC's "hostname"); the caller names the place. */
START_TEST(test_sni_hostname_parse)
{
	struct lb_sni_route_cfg r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(lb_sni_hostname_parse("API.Example.com.", &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.hostname, "api.example.com");
	ck_assert(!r.wildcard);
	ck_assert_int_eq(lb_sni_hostname_parse("*.Example.COM", &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.hostname, "*.example.com");
	ck_assert(r.wildcard);
	ck_assert_int_eq(lb_sni_hostname_parse(N255, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(r.hostname), 255);

	/* Refused: the message alone, and the route as it was. */
	ck_assert_int_eq(lb_sni_hostname_parse("api.example.com", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(lb_sni_hostname_parse("*.com", &r, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"*.com\" would match names under a whole top-level domain; a "
			      "wildcard needs at least two labels after \"*.\", as in "
			      "\"*.example.com\"");
	ck_assert_str_eq(r.hostname, "api.example.com");
	ck_assert(!r.wildcard);
	ck_assert_int_eq(lb_sni_hostname_parse("", &r, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "must not be empty");
	ck_assert_int_eq(lb_sni_hostname_parse(N255 "x", &r, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "\" is 256 bytes long; a server name has at most 255"), "%s",
		      err);
	ck_assert_int_eq(lb_sni_hostname_parse(NULL, &r, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no host name was given");
	ck_assert_int_eq(lb_sni_hostname_parse("a b", &r, NULL, 0), -EINVAL);
}
END_TEST

/* ---- refused configurations, each with its message ---- */

/* A part of the message, when the rest does not matter to the case. */
#define SUB(msg) "~" msg

static const struct {
	const char *json;
	const char *msg;
} refused[] = {
	/* top level */
	{"[]", "top level: the configuration must be a JSON object, not an array"},
	{"{}", "top level: missing required key \"proxies\""},
	{"{'proxies':[],'proxy':1}",
	 "top level: unknown key \"proxy\" (expected one of: proxies, settings)"},
	{"{'proxies':[]}", "proxies: must list 1 to 256 proxies (got 0)"},
	{"{'proxies':{}}", "proxies: must be an array, not an object"},
	{"{'proxies':[1]}", "proxies[0]: must be an object, not an integer"},
	{"{'proxies':[null]}", "proxies[0]: must be an object, not null"},

	/* proxy */
	{PROXY(LISTEN "," DT ",'bogus':1"),
	 "proxies[0]: unknown key \"bogus\" (expected one of: name, listen, default-target, "
	 "source-routes, sni-routes, hash, hash-prefix, forwarding, snat-address, selection)"},
	{PROXY(LISTEN ",'default-targets':" T1),
	 "proxies[0]: unknown key \"default-targets\" (expected one of: name, listen, "
	 "default-target, source-routes, sni-routes, hash, hash-prefix, forwarding, snat-address, selection)"},
	{"{'proxies':[{" LISTEN "," DT "}]}", "proxies[0]: missing required key \"name\""},
	{"{'proxies':[{'name':''," LISTEN "," DT "}]}", "proxies[0].name: must not be empty"},
	{"{'proxies':[{'name':'we b'," LISTEN "," DT "}]}",
	 "proxies[0].name: \"we b\" contains a space; use only letters, digits, '_', '.' and '-'"},
	{"{'proxies':[{'name':'web/1'," LISTEN "," DT "}]}",
	 "proxies[0].name: \"web/1\" contains '/'; use only letters, digits, '_', '.' and '-'"},
	{"{'proxies':[{'name':'w\\u00e9b'," LISTEN "," DT "}]}",
	 "proxies[0].name: \"w\\xc3\\xa9b\" contains \\xc3; use only letters, digits, '_', '.' and "
	 "'-'"},
	{"{'proxies':[{'name':'a234567890123456789012345678901234567890123456789012345678901234'," LISTEN
	 "," DT "}]}",
	 "proxies[0].name: \"a234567890123456789012345678901234567890123456789012345678901234\" is "
	 "longer than 63 characters"},
	{"{'proxies':[{'name':5," LISTEN "," DT "}]}",
	 "proxies[0].name: must be a string, not an integer"},
	{PROXY(DT), "proxies[0]: missing required key \"listen\""},
	{PROXY(LISTEN), "proxies[0]: missing required key \"default-target\""},

	/* listen */
	{WITH_LISTEN("[]"), "proxies[0].listen: must be an object, not an array"},
	{WITH_LISTEN("{'interfaces':['eth0'],'ports':80}"),
	 "proxies[0].listen: unknown key \"ports\" (expected one of: interfaces, port, protocol, "
	 "address)"},
	{WITH_LISTEN("{'port':80}"), "proxies[0].listen: missing required key \"interfaces\""},
	{WITH_LISTEN("{'interfaces':[],'port':80}"),
	 "proxies[0].listen.interfaces: must list at least one interface"},
	{WITH_LISTEN("{'interfaces':'eth0','port':80}"),
	 "proxies[0].listen.interfaces: must be an array, not a string"},
	{WITH_LISTEN("{'interfaces':['eth0','eth1','eth0'],'port':80}"),
	 "proxies[0].listen.interfaces[2]: \"eth0\" is already listed as "
	 "proxies[0].listen.interfaces[0]"},
	{WITH_LISTEN("{'interfaces':['abcdefghijklmnop'],'port':80}"),
	 "proxies[0].listen.interfaces[0]: \"abcdefghijklmnop\" is longer than 15 characters, the "
	 "longest interface name Linux allows"},
	{WITH_LISTEN("{'interfaces':['eth 0'],'port':80}"),
	 "proxies[0].listen.interfaces[0]: \"eth 0\" contains a space, which Linux does not allow "
	 "in an interface name"},
	{WITH_LISTEN("{'interfaces':['a/b'],'port':80}"),
	 "proxies[0].listen.interfaces[0]: \"a/b\" contains '/', which Linux does not allow in an "
	 "interface name"},
	{WITH_LISTEN("{'interfaces':['eth0:1'],'port':80}"),
	 "proxies[0].listen.interfaces[0]: \"eth0:1\" contains ':', which Linux does not allow in "
	 "an interface name"},
	{WITH_LISTEN("{'interfaces':['eth0\\t'],'port':80}"),
	 "proxies[0].listen.interfaces[0]: \"eth0\\x09\" contains \\x09, which Linux does not "
	 "allow in an interface name"},
	{WITH_LISTEN("{'interfaces':[''],'port':80}"),
	 "proxies[0].listen.interfaces[0]: must not be empty"},
	{WITH_LISTEN("{'interfaces':['..'],'port':80}"),
	 "proxies[0].listen.interfaces[0]: \"..\" is not a valid interface name"},
	{WITH_LISTEN("{'interfaces':[1],'port':80}"),
	 "proxies[0].listen.interfaces[0]: must be a string, not an integer"},
	{WITH_LISTEN("{'interfaces':['a','b','c','d','e','f','g','h','i','j','k','l','m','n','o',"
		     "'p','q'],'port':80}"),
	 "proxies[0].listen.interfaces: has 17 interfaces, at most 16 are allowed"},
	{WITH_LISTEN("{'interfaces':['eth0']}"),
	 "proxies[0].listen: missing required key \"port\""},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':'80'}"),
	 "proxies[0].listen.port: must be an integer, not a string"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80.0}"),
	 "proxies[0].listen.port: must be an integer, not a fractional number"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':0}"),
	 "proxies[0].listen.port: must be between 1 and 65535 (got 0)"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':65536}"),
	 "proxies[0].listen.port: must be between 1 and 65535 (got 65536)"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':-80}"),
	 "proxies[0].listen.port: must be between 1 and 65535 (got -80)"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'protocol':'sctp'}"),
	 "proxies[0].listen.protocol: \"sctp\" is not a protocol (expected \"tcp\", \"udp\" or "
	 "\"both\")"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'protocol':'TCP'}"),
	 SUB("proxies[0].listen.protocol: \"TCP\" is not a protocol")},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'protocol':6}"),
	 "proxies[0].listen.protocol: must be a string, not an integer"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'0.0.0.0'}"),
	 "proxies[0].listen.address: 0.0.0.0 is not a usable address"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'224.0.0.5'}"),
	 "proxies[0].listen.address: 224.0.0.5 is a multicast address (224.0.0.0/4), not a usable "
	 "unicast address"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'10.0.0'}"),
	 "proxies[0].listen.address: \"10.0.0\" is not an IP address (expected an IPv4 address "
	 "a.b.c.d or an IPv6 address)"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':null}"),
	 "proxies[0].listen.address: must be a string, not null"},

	/* targets and groups */
	{WITH_DT("'10.0.0.1:8080'"),
	 "proxies[0].default-target: must be a target object or an array of target objects, not a "
	 "string"},
	{WITH_DT("[]"), "proxies[0].default-target: must list at least one target"},
	{WITH_DT("[1]"),
	 "proxies[0].default-target[0]: must be a target object like {\"ip\": \"10.0.0.1\", "
	 "\"port\": 8080}, not an integer"},
	{WITH_DT("{'port':8080}"), "proxies[0].default-target: missing required key \"ip\""},
	{WITH_DT("{'ip':'10.0.0.1'}"), "proxies[0].default-target: missing required key \"port\""},
	{WITH_DT("{'ip':'10.0.0.1','port':8080,'wieght':100}"),
	 "proxies[0].default-target: unknown key \"wieght\" (expected one of: ip, port, weight, "
	 "health-check, proxy-protocol)"},
	{WITH_DT("{'ip':'x','port':8080}"),
	 "proxies[0].default-target.ip: \"x\" is not an IP address (expected an IPv4 address "
	 "a.b.c.d or an IPv6 address)"},
	{WITH_DT("{'ip':'10.0.0.1:8080','port':8080}"),
	 "proxies[0].default-target.ip: \"10.0.0.1:8080\" is not an IP address (an address alone "
	 "is expected here, without ':' and a port)"},
	{WITH_DT("{'ip':'::a00:1','port':8080}"),
	 "proxies[0].default-target.ip: \"::a00:1\" is not an IP address (an IPv4-compatible "
	 "address (deprecated): write the IPv4 address a.b.c.d itself)"},
	{WITH_DT("{'ip':167772161,'port':8080}"),
	 "proxies[0].default-target.ip: must be a string, not an integer"},
	{WITH_DT("{'ip':'0.0.0.0','port':8080}"),
	 "proxies[0].default-target.ip: 0.0.0.0 is not a usable address"},
	{WITH_DT("{'ip':'255.255.255.255','port':8080}"),
	 "proxies[0].default-target.ip: 255.255.255.255 is the broadcast address, not a usable "
	 "address"},
	{WITH_DT("{'ip':'240.1.2.3','port':8080}"),
	 "proxies[0].default-target.ip: 240.1.2.3 is a reserved address (240.0.0.0/4), not a usable "
	 "address"},
	{WITH_DT("{'ip':'10.0.0.1','port':'8080'}"),
	 "proxies[0].default-target.port: must be an integer, not a string"},
	{WITH_DT("{'ip':'10.0.0.1','port':70000}"),
	 "proxies[0].default-target.port: must be between 1 and 65535 (got 70000)"},
	{WITH_DT("{'ip':'10.0.0.1','port':8080,'weight':50}"),
	 "proxies[0].default-target.weight: a lone target's weight must be 100 (got 50); leave it "
	 "out, or add targets so that the weights sum to 100"},
	{WITH_DT("{'ip':'10.0.0.1','port':8080,'weight':0}"),
	 SUB("proxies[0].default-target.weight: a lone target's weight must be 100 (got 0)")},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':50}]"),
	 "proxies[0].default-target[0].weight: a lone target's weight must be 100 (got 50); leave "
	 "it out, or add targets so that the weights sum to 100"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':101},{'ip':'10.0.0.2','port':8080,"
		 "'weight':0}]"),
	 "proxies[0].default-target[0].weight: must be between 0 and 100 (got 101)"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':-1},{'ip':'10.0.0.2','port':8080,"
		 "'weight':0}]"),
	 "proxies[0].default-target[0].weight: must be between 0 and 100 (got -1)"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':'50'},{'ip':'10.0.0.2','port':8080,"
		 "'weight':50}]"),
	 "proxies[0].default-target[0].weight: must be an integer, not a string"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':50.5},{'ip':'10.0.0.2','port':8080,"
		 "'weight':49.5}]"),
	 "proxies[0].default-target[0].weight: must be an integer, not a fractional number"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':70},{'ip':'10.0.0.2','port':8080}]"),
	 "proxies[0].default-target[1]: missing required key \"weight\" (every target of a group "
	 "of several needs one, and the weights sum to 100)"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080},{'ip':'10.0.0.2','port':8080}]"),
	 SUB("proxies[0].default-target[0]: missing required key \"weight\"")},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':70},{'ip':'10.0.0.2','port':8080,"
		 "'weight':20}]"),
	 "proxies[0].default-target: weights sum to 90, must be 100"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':70},{'ip':'10.0.0.2','port':8080,"
		 "'weight':40}]"),
	 "proxies[0].default-target: weights sum to 110, must be 100"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':0},{'ip':'10.0.0.2','port':8080,"
		 "'weight':0}]"),
	 "proxies[0].default-target: weights sum to 0, must be 100"},
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'weight':50},{'ip':'10.0.0.1','port':8080,"
		 "'weight':50}]"),
	 "proxies[0].default-target[1]: 10.0.0.1:8080 is already listed as "
	 "proxies[0].default-target[0]"},
	/* More than 8 targets: relative shares, every target weighted or none. */
	{WITH_DT("[{'ip':'10.0.0.1','port':1,'weight':10},{'ip':'10.0.0.2','port':1,'weight':10},"
		 "{'ip':'10.0.0.3','port':1,'weight':10},{'ip':'10.0.0.4','port':1,'weight':10},"
		 "{'ip':'10.0.0.5','port':1,'weight':10},{'ip':'10.0.0.6','port':1,'weight':10},"
		 "{'ip':'10.0.0.7','port':1,'weight':10},{'ip':'10.0.0.8','port':1,'weight':30},"
		 "{'ip':'10.0.0.9','port':1}]"),
	 "proxies[0].default-target[8]: missing required key \"weight\", but "
	 "proxies[0].default-target[0] has one: in a group of more than 8 targets (this one has "
	 "9) weights are relative shares; give every target a weight, or none for equal shares"},
	{WITH_DT("[{'ip':'10.0.0.1','port':1},{'ip':'10.0.0.2','port':1,'weight':10},"
		 "{'ip':'10.0.0.3','port':1},{'ip':'10.0.0.4','port':1},"
		 "{'ip':'10.0.0.5','port':1},{'ip':'10.0.0.6','port':1},"
		 "{'ip':'10.0.0.7','port':1},{'ip':'10.0.0.8','port':1},"
		 "{'ip':'10.0.0.9','port':1}]"),
	 "proxies[0].default-target[0]: missing required key \"weight\", but "
	 "proxies[0].default-target[1] has one: in a group of more than 8 targets (this one has "
	 "9) weights are relative shares; give every target a weight, or none for equal shares"},
	{WITH_DT("[{'ip':'10.0.0.1','port':1,'weight':0},{'ip':'10.0.0.2','port':1,'weight':0},"
		 "{'ip':'10.0.0.3','port':1,'weight':0},{'ip':'10.0.0.4','port':1,'weight':0},"
		 "{'ip':'10.0.0.5','port':1,'weight':0},{'ip':'10.0.0.6','port':1,'weight':0},"
		 "{'ip':'10.0.0.7','port':1,'weight':0},{'ip':'10.0.0.8','port':1,'weight':0},"
		 "{'ip':'10.0.0.9','port':1,'weight':0}]"),
	 "proxies[0].default-target: every weight is 0; at least one of the 9 targets needs a "
	 "weight above 0 (weights of a group of more than 8 targets are relative shares)"},
	{WITH_DT("[{'ip':'10.0.0.1','port':1},{'ip':'10.0.0.2','port':1},"
		 "{'ip':'10.0.0.3','port':1},{'ip':'10.0.0.4','port':1},"
		 "{'ip':'10.0.0.5','port':1},{'ip':'10.0.0.6','port':1},"
		 "{'ip':'10.0.0.7','port':1},{'ip':'10.0.0.8','port':1},"
		 "{'ip':'10.0.0.9','port':1,'weight':101}]"),
	 "proxies[0].default-target[8].weight: must be between 0 and 100 (got 101)"},

	/* source routes */
	{WITH_ROUTES("{}"), "proxies[0].source-routes: must be an array, not an object"},
	{WITH_ROUTES("[5]"), "proxies[0].source-routes[0]: must be an object, not an integer"},
	{WITH_ROUTES("[{'target':" T1 "}]"),
	 "proxies[0].source-routes[0]: missing required key \"source\""},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':" T1 ",'dest':1}]"),
	 "proxies[0].source-routes[0]: unknown key \"dest\" (expected one of: source, target, "
	 "targets)"},
	{WITH_ROUTES("[{'source':'192.168.1.5/24','target':" T1 "}]"),
	 "proxies[0].source-routes[0].source: \"192.168.1.5/24\" has host bits set; did you mean "
	 "192.168.1.0/24?"},
	{WITH_ROUTES("[{'source':'10.0.0.0/40','target':" T1 "}]"),
	 "proxies[0].source-routes[0].source: \"10.0.0.0/40\" has an invalid prefix length "
	 "(expected a number from 0 to 32 after the '/')"},
	{WITH_ROUTES("[{'source':'10.0.0/8','target':" T1 "}]"),
	 "proxies[0].source-routes[0].source: \"10.0.0/8\" is not an address or prefix (expected "
	 "an IPv4 address a.b.c.d or an IPv6 address; a prefix is written addr/len)"},
	{WITH_ROUTES("[{'source':['10.0.0.0/8'],'target':" T1 "}]"),
	 "proxies[0].source-routes[0].source: must be a string, not an array"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':" T1 ",'targets':[" T1 "]}]"),
	 "proxies[0].source-routes[0]: has both \"target\" and \"targets\"; use \"target\" for one "
	 "target or \"targets\" for a weighted list"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8'}]"),
	 "proxies[0].source-routes[0]: missing required key \"target\" (one target) or "
	 "\"targets\" (a weighted list)"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':[" T1 "]}]"),
	 "proxies[0].source-routes[0].target: must be one target object, not an array (use "
	 "\"targets\" for a list of targets)"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','targets':" T1 "}]"),
	 "proxies[0].source-routes[0].targets: must be an array of target objects, not an object "
	 "(use \"target\" for a single target)"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','targets':[]}]"),
	 "proxies[0].source-routes[0].targets: must list at least one target"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','targets':[{'ip':'10.0.0.4','port':80,'weight':50},"
		     "{'ip':'10.0.0.5','port':80,'weight':40}]}]"),
	 "proxies[0].source-routes[0].targets: weights sum to 90, must be 100"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':{'ip':'10.0.0.4','port':80,'weight':50}}]"),
	 SUB("proxies[0].source-routes[0].target.weight: a lone target's weight must be 100 (got 50)")},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':{'ip':'239.0.0.1','port':80}}]"),
	 "proxies[0].source-routes[0].target.ip: 239.0.0.1 is a multicast address (224.0.0.0/4), "
	 "not a usable unicast address"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':" T1 "},{'source':'192.168.0.0/16',"
		     "'target':" T1 "},{'source':'10.0.0.0/8','target':" T1 "}]"),
	 "proxies[0].source-routes[2].source: 10.0.0.0/8 is already routed by "
	 "proxies[0].source-routes[0]"},
	{WITH_ROUTES("[{'source':'10.0.0.1','target':" T1 "},{'source':'10.0.0.1/32','target':" T1
		     "}]"),
	 "proxies[0].source-routes[1].source: 10.0.0.1/32 is already routed by "
	 "proxies[0].source-routes[0]"},
	/* the first repetition in file order is named, not the first in sort order */
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':" T1 "},{'source':'9.0.0.0/8','target':" T1
		     "},{'source':'9.0.0.0/8','target':" T1 "},{'source':'10.0.0.0/8','target':" T1
		     "}]"),
	 "proxies[0].source-routes[2].source: 9.0.0.0/8 is already routed by "
	 "proxies[0].source-routes[1]"},

	/* SNI routes */
	{SNI("{}"), "proxies[0].sni-routes: must be an array, not an object"},
	{SNI("[5]"), "proxies[0].sni-routes[0]: must be an object, not an integer"},
	{SNI("[{'target':" T1 "}]"),
	 "proxies[0].sni-routes[0]: missing required key \"sni-hostname\""},
	{SNI("[{'sni-hostname':'a.example.com','target':" T1 ",'source':'10.0.0.0/8'}]"),
	 "proxies[0].sni-routes[0]: unknown key \"source\" (expected one of: sni-hostname, target, "
	 "targets)"},
	{SNI("[{'sni-hostname':'a.example.com','target':" T1 ",'targets':[" T1 "]}]"),
	 "proxies[0].sni-routes[0]: has both \"target\" and \"targets\"; use \"target\" for one "
	 "target or \"targets\" for a weighted list"},
	{SNI("[{'sni-hostname':'a.example.com'}]"),
	 "proxies[0].sni-routes[0]: missing required key \"target\" (one target) or \"targets\" (a "
	 "weighted list)"},
	{SNI("[{'sni-hostname':'a.example.com','target':[" T1 "]}]"),
	 "proxies[0].sni-routes[0].target: must be one target object, not an array (use "
	 "\"targets\" for a list of targets)"},
	{SNI("[{'sni-hostname':'a.example.com','targets':[{'ip':'10.0.0.4','port':80,'weight':50},"
	     "{'ip':'10.0.0.5','port':80,'weight':40}]}]"),
	 "proxies[0].sni-routes[0].targets: weights sum to 90, must be 100"},
	{SNI("[{'sni-hostname':'a.example.com','target':{'ip':'10.0.0.4','port':0}}]"),
	 "proxies[0].sni-routes[0].target.port: must be between 1 and 65535 (got 0)"},
	{SNIR("5"), SNP ": must be a string, not an integer"},
	{SNIR("''"), SNP ": must not be empty"},
	{SNIR("'.'"), SNP ": \".\" has an empty label (labels are separated by single dots)"},
	{SNIR("'a..example.com'"),
	 SNP ": \"a..example.com\" has an empty label (labels are separated by single dots)"},
	{SNIR("'.example.com'"),
	 SNP ": \".example.com\" has an empty label (labels are separated by single dots)"},
	{SNIR("'example.com..'"),
	 SNP ": \"example.com..\" has an empty label (labels are separated by single dots)"},
	{SNIR("'ap i.example.com'"),
	 SNP ": \"ap i.example.com\" contains a space; a server name has only letters, digits, '-' "
	     "and '_' between its dots"},
	{SNIR("'example.com/x'"), SNP
	 ": \"example.com/x\" contains '/'; a server name has only letters, digits, '-' and '_' "
	 "between its dots"},
	{SNIR("'api.example.com:443'"),
	 SNP ": \"api.example.com:443\" contains ':'; a server name has only letters, digits, '-' "
	     "and '_' between its dots"},
	{SNIR("'caf\u00e9.example.com'"),
	 SNP ": \"caf\\xc3\\xa9.example.com\" contains \\xc3; a server name has only letters, "
	     "digits, '-' and '_' between its dots (write an internationalised name in its ASCII "
	     "form, \"xn--...\")"},
	{SNIR("'" L63 "x.example.com'"),
	 SUB("...\" has a label of 64 bytes; a label has at most 63")},
	{SNIR("'" N255 "x'"), SUB("...\" is 256 bytes long; a server name has at most 255")},
	{SNIR("'" N255 "x.'"), SUB("...\" is 256 bytes long; a server name has at most 255")},
	{SNIR("'*'"),
	 SNP ": \"*\" alone would match every name; the default target already takes the names no "
	     "route matches"},
	{SNIR("'*.'"), SUB(SNP ": \"*\" alone would match every name")},
	{SNIR("'*.com'"),
	 SNP ": \"*.com\" would match names under a whole top-level domain; a wildcard needs at "
	     "least two labels after \"*.\", as in \"*.example.com\""},
	{SNIR("'*.com.'"),
	 SUB(SNP ": \"*.com.\" would match names under a whole top-level domain")},
	{SNIR("'a.*.com'"),
	 SNP ": \"a.*.com\" has '*' after the first label; a wildcard is written \"*.example.com\" "
	     "and matches names ending in \".example.com\""},
	{SNIR("'*.*.example.com'"), SUB(SNP ": \"*.*.example.com\" has '*' after the first label")},
	{SNIR("'*foo.com'"),
	 SNP ": \"*foo.com\" has '*' inside a label; a wildcard is a whole first label, as in "
	     "\"*.example.com\""},
	{SNIR("'**.example.com'"), SUB(SNP ": \"**.example.com\" has '*' inside a label")},
	{SNIR("'foo*.example.com'"), SUB(SNP ": \"foo*.example.com\" has '*' inside a label")},
	/* duplicates, case and the trailing dot aside; the first repetition in file order */
	{SNI("[{'sni-hostname':'api.example.com','target':" T1
	     "},{'sni-hostname':'web.example.com',"
	     "'target':" T1 "},{'sni-hostname':'API.example.com','target':" T1 "}]"),
	 "proxies[0].sni-routes[2].sni-hostname: \"API.example.com\" is already routed by "
	 "proxies[0].sni-routes[0]"},
	{SNI("[{'sni-hostname':'api.example.com','target':" T1 "},{'sni-hostname':"
	     "'api.example.com.','target':" T1 "}]"),
	 "proxies[0].sni-routes[1].sni-hostname: \"api.example.com.\" is already routed by "
	 "proxies[0].sni-routes[0]"},
	{SNI("[{'sni-hostname':'*.Example.com','target':" T1 "},{'sni-hostname':'*.example.COM',"
	     "'target':" T1 "}]"),
	 "proxies[0].sni-routes[1].sni-hostname: \"*.example.COM\" is already routed by "
	 "proxies[0].sni-routes[0]"},
	{SNI("[{'sni-hostname':'b.com','target':" T1 "},{'sni-hostname':'a.com','target':" T1
	     "},{'sni-hostname':'a.com','target':" T1 "},{'sni-hostname':'b.com','target':" T1
	     "}]"),
	 "proxies[0].sni-routes[2].sni-hostname: \"a.com\" is already routed by "
	 "proxies[0].sni-routes[1]"},
	/* TLS needs TCP */
	{PROXY("'listen':{'interfaces':['eth0'],'port':443,'protocol':'udp'}," DT
	       ",'sni-routes':[{'sni-hostname':'a.example.com','target':" T1 "}]"),
	 "proxies[0].listen.protocol: a proxy with sni-routes reads the TLS ClientHello of TCP "
	 "connections, so it must listen on \"tcp\" or \"both\", not \"udp\""},

	/* PROXY protocol: only where lbd opens the connection to the target itself */
	{WITH_DT("[{'ip':'10.0.0.1','port':8080,'proxy-protocol':'v2'}]"),
	 "proxies[0].default-target[0].proxy-protocol: " PP_ONLY
	 "this proxy balances in the kernel"},
	{WITH_DT("{'ip':'10.0.0.1','port':8080,'proxy-protocol':'v2'}"),
	 "proxies[0].default-target.proxy-protocol: " PP_ONLY "this proxy balances in the kernel"},
	{PROXY(LISTEN ",'default-target':{'ip':'10.0.0.1','port':8080,'proxy-protocol':'v2'},"
		      "'sni-routes':[]"),
	 "proxies[0].default-target.proxy-protocol: " PP_ONLY "this proxy balances in the kernel"},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','target':{'ip':'10.0.0.1','port':1,"
		     "'proxy-protocol':'v2'}}]"),
	 "proxies[0].source-routes[0].target.proxy-protocol: " PP_ONLY
	 "source routes are balanced in the kernel, even in a proxy with sni-routes"},
	{SNI("[{'sni-hostname':'a.example.com','target':" T1 "}],'source-routes':[{'source':"
	     "'10.0.0.0/8','targets':[{'ip':'10.0.0.1','port':1,'weight':50},{'ip':'10.0.0.2',"
	     "'port':1,'weight':50,'proxy-protocol':'v2'}]}]"),
	 "proxies[0].source-routes[0].targets[1].proxy-protocol: " PP_ONLY
	 "source routes are balanced in the kernel, even in a proxy with sni-routes"},
	{SNI("[{'sni-hostname':'a.example.com','target':{'ip':'10.0.0.1','port':1,"
	     "'proxy-protocol':'v1'}}]"),
	 "proxies[0].sni-routes[0].target.proxy-protocol: \"v1\" is not a PROXY protocol version "
	 "lbd sends (expected \"none\" or \"v2\")"},
	{SNI("[{'sni-hostname':'a.example.com','target':{'ip':'10.0.0.1','port':1,"
	     "'proxy-protocol':2}}]"),
	 "proxies[0].sni-routes[0].target.proxy-protocol: must be a string, not an integer"},
	{WITH_DT("{'ip':'10.0.0.1','port':8080,'proxy-protocol':'V2'}"),
	 SUB("proxies[0].default-target.proxy-protocol: \"V2\" is not a PROXY protocol version")},

	/* IPv6: balancing in the kernel keeps the client's family */
	{PROXY(LISTEN4A "," DT6),
	 "proxies[0].default-target: [2001:db8::1]:8080 is an IPv6 target, but the clients of this "
	 "listener's address are IPv4" FAMILY_TAIL},
	{PROXY(LISTEN4A ",'default-target':[{'ip':'10.0.0.1','port':8080,'weight':50},"
			"{'ip':'2001:db8::1','port':8080,'weight':50}]"),
	 "proxies[0].default-target[1]: [2001:db8::1]:8080 is an IPv6 target, but the clients of "
	 "this listener's address are IPv4" FAMILY_TAIL},
	{PROXY(LISTEN6 "," DT),
	 "proxies[0].default-target: 10.0.0.1:8080 is an IPv4 target, but the clients of this "
	 "listener's address are IPv6" FAMILY_TAIL},
	{ROUTES6("[{'source':'2001:db8:1::/48','target':" T1 "}]"),
	 "proxies[0].source-routes[0].target: 10.0.0.1:8080 is an IPv4 target, but this route's "
	 "clients are IPv6" FAMILY_TAIL},
	{WITH_ROUTES("[{'source':'10.0.0.0/8','targets':[{'ip':'10.0.0.2','port':8080,'weight':50},"
		     "{'ip':'2001:db8::2','port':8080,'weight':50}]}]"),
	 "proxies[0].source-routes[0].targets[1]: [2001:db8::2]:8080 is an IPv6 target, but this "
	 "route's clients are IPv4" FAMILY_TAIL},
	/* IPv6 source routes */
	{ROUTES6("[{'source':'2001:db8:1::1/48','target':" T6 "}]"),
	 "proxies[0].source-routes[0].source: \"2001:db8:1::1/48\" has host bits set; did you mean "
	 "2001:db8:1::/48?"},
	{ROUTES4A("[{'source':'2001:db8:1::/48','target':" T6 "}]"),
	 "proxies[0].source-routes[0].source: 2001:db8:1::/48 can never match: this listener's "
	 "address 10.0.0.10 only receives IPv4 clients"},
	{ROUTES6("[{'source':'10.0.0.0/8','target':" T1 "}]"),
	 "proxies[0].source-routes[0].source: 10.0.0.0/8 can never match: this listener's address "
	 "2001:db8::10 only receives IPv6 clients"},
	/* SNI routes may mix families; source routes, balanced in the kernel, may not */
	{SNI4A("[{'sni-hostname':'a.example.com','target':" T6 "}],'source-routes':[{'source':"
	       "'2001:db8:1::/48','target':" T6 "}]"),
	 "proxies[0].source-routes[0].source: 2001:db8:1::/48 can never match: this listener's "
	 "address 10.0.0.10 only receives IPv4 clients"},
	{ROUTES6("[{'source':'2001:db8::/129','target':" T6 "}]"),
	 "proxies[0].source-routes[0].source: \"2001:db8::/129\" has an invalid prefix length "
	 "(expected a number from 0 to 128 after the '/')"},
	{ROUTES6("[{'source':'2001:db8::/32','target':" T6 "},{'source':'2001:DB8:0::/32',"
		 "'target':" T6 "}]"),
	 "proxies[0].source-routes[1].source: 2001:db8::/32 is already routed by "
	 "proxies[0].source-routes[0]"},
	{PROXY(LISTEN6 ",'default-target':[{'ip':'2001:db8::1','port':8080,'weight':50},"
		       "{'ip':'2001:0db8:0:0::1','port':8080,'weight':50}]"),
	 "proxies[0].default-target[1]: [2001:db8::1]:8080 is already listed as "
	 "proxies[0].default-target[0]"},
	/* an IPv4 address has one spelling, not also its IPv4-mapped IPv6 form */
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'::ffff:10.0.0.10'}"),
	 "proxies[0].listen.address: \"::ffff:10.0.0.10\" " MAPPED},
	{WITH_DT("{'ip':'::ffff:10.0.0.1','port':8080}"),
	 "proxies[0].default-target.ip: \"::ffff:10.0.0.1\" " MAPPED},
	{WITH_DT("{'ip':'::FFFF:a00:1','port':8080}"),
	 "proxies[0].default-target.ip: \"::FFFF:a00:1\" " MAPPED},
	{WITH_ROUTES("[{'source':'::ffff:10.0.0.0/104','target':" T1 "}]"),
	 "proxies[0].source-routes[0].source: \"::ffff:10.0.0.0/104\" is not an address or prefix "
	 "(an IPv4-mapped address: write the IPv4 address a.b.c.d itself; a prefix is written "
	 "addr/len)"},
	/* addresses no backend or listener can have */
	{WITH_DT("{'ip':'fe80::1','port':8080}"),
	 "proxies[0].default-target.ip: fe80::1 " LINK_LOCAL},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'FE80::10'}"),
	 "proxies[0].listen.address: fe80::10 " LINK_LOCAL},
	{WITH_DT("{'ip':'fe80::1%eth0','port':8080}"),
	 "proxies[0].default-target.ip: \"fe80::1%eth0\" is not an IP address (zones (%) are not "
	 "supported)"},
	{WITH_DT("{'ip':'ff02::1','port':8080}"),
	 "proxies[0].default-target.ip: ff02::1 is a multicast address (ff00::/8), not a usable "
	 "unicast address"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'ff02::1'}"),
	 "proxies[0].listen.address: ff02::1 is a multicast address (ff00::/8), not a usable "
	 "unicast address"},
	{WITH_DT("{'ip':'::','port':8080}"),
	 "proxies[0].default-target.ip: :: (the unspecified address) is not a usable address"},
	{WITH_LISTEN("{'interfaces':['eth0'],'port':80,'address':'::'}"),
	 "proxies[0].listen.address: :: (the unspecified address) is not a usable address"},
	/* "ip" holds the address alone: no brackets, no port */
	{WITH_DT("{'ip':'[2001:db8::1]','port':8080}"),
	 "proxies[0].default-target.ip: \"[2001:db8::1]\" is not an IP address (expected an IPv6 "
	 "address (hex digits and colons))"},
	{WITH_DT("{'ip':'2001:db8:::1','port':8080}"),
	 "proxies[0].default-target.ip: \"2001:db8:::1\" is not an IP address (expected an IPv6 "
	 "address (RFC 4291 text form))"},
	/* one IPv6 listener address, however it is written */
	{"{'proxies':[{'name':'web'," LISTEN6 "," DT6 "},{'name':'api','listen':{'interfaces':"
	 "['eth0'],'port':80,'address':'2001:db8:0::10'}," DT6 "}]}",
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},
	{"{'proxies':[{'name':'web'," LISTEN6 "," DT6 "},{'name':'api'," LISTEN "," DT "}]}",
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},

	/* names and listeners across proxies */
	{"{'proxies':[{'name':'web'," LISTEN "," DT "},{'name':'web','listen':{'interfaces':"
	 "['eth0'],'port':81}," DT "}]}",
	 "proxies[1].name: \"web\" is already used by proxies[0]"},
	{TWO("{'interfaces':['eth0'],'port':80}", "{'interfaces':['eth0'],'port':80}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},
	{TWO("{'interfaces':['eth0'],'port':80,'protocol':'both'}",
	     "{'interfaces':['eth0'],'port':80,'protocol':'tcp'}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},
	{TWO("{'interfaces':['eth0'],'port':53,'protocol':'udp'}",
	     "{'interfaces':['eth0'],'port':53,'protocol':'both'}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 53/udp"},
	{TWO("{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}",
	     "{'interfaces':['eth0'],'port':80}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},
	{TWO("{'interfaces':['eth0'],'port':80}",
	     "{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},
	{TWO("{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}",
	     "{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth0 port 80/tcp"},
	{TWO("{'interfaces':['eth0','eth1'],'port':80}",
	     "{'interfaces':['eth2','eth1'],'port':80}"),
	 "proxies[1].listen: conflicts with proxies[0] (\"web\") on eth1 port 80/tcp"},

	/* health checks */
	{WITH_HC("'tcp'"), HCP ": must be an object, not a string"},
	{WITH_HC("{'intervall-ms':1000}"),
	 HCP ": unknown key \"intervall-ms\" (expected one of: type, path, interval-ms, "
	     "timeout-ms, healthy-threshold, unhealthy-threshold, expected-codes, host, "
	     "tls-verify, ca-file)"},
	{WITH_HC("{'type':'icmp'}"),
	 HCP ".type: \"icmp\" is not a health-check type (expected \"tcp\", \"http\", \"https\" or "
	     "\"none\")"},
	{WITH_HC("{'type':'HTTP'}"), SUB(HCP ".type: \"HTTP\" is not a health-check type")},
	{WITH_HC("{'type':'https','host':'10.0.0.1'}"),
	 HCP ".host: \"10.0.0.1\" is an address, not a server name; leave \"host\" out to send "
	     "no server name and \"Host: IP:PORT\""},
	{WITH_HC("{'type':'https','host':'*.example.com'}"),
	 HCP ".host: \"*.example.com\" is a wildcard; a check names one server"},
	{WITH_HC("{'type':'https','host':'a b'}"), SUB(HCP ".host: \"a b\" contains")},
	{WITH_HC("{'type':'https','host':''}"), HCP ".host: must not be empty"},
	{WITH_HC("{'type':'http','tls-verify':true}"),
	 HCP ": tls-verify and ca-file apply to https checks only (type is \"http\")"},
	{WITH_HC("{'type':'https','ca-file':'/etc/ca.pem'}"),
	 HCP ".ca-file: is read only to verify certificates: add \"tls-verify\": true"},
	{WITH_HC("{'type':'https','tls-verify':true,'ca-file':'ca.pem'}"),
	 HCP ".ca-file: must be an absolute path, not \"ca.pem\""},
	{WITH_HC("{'type':'https','tls-verify':'yes'}"),
	 HCP ".tls-verify: must be a boolean (true or false), not a string"},
	{WITH_HC("{'type':1}"), HCP ".type: must be a string, not an integer"},
	{WITH_HC("{'interval-ms':999}"),
	 HCP ".interval-ms: must be between 1000 and 300000 (got 999)"},
	{WITH_HC("{'interval-ms':300001}"),
	 HCP ".interval-ms: must be between 1000 and 300000 (got 300001)"},
	{WITH_HC("{'interval-ms':'5000'}"), HCP ".interval-ms: must be an integer, not a string"},
	{WITH_HC("{'timeout-ms':99}"), HCP ".timeout-ms: must be between 100 and 60000 (got 99)"},
	{WITH_HC("{'timeout-ms':60001,'interval-ms':100000}"),
	 HCP ".timeout-ms: must be between 100 and 60000 (got 60001)"},
	{WITH_HC("{'healthy-threshold':0}"),
	 HCP ".healthy-threshold: must be between 1 and 10 (got 0)"},
	{WITH_HC("{'healthy-threshold':11}"),
	 HCP ".healthy-threshold: must be between 1 and 10 (got 11)"},
	{WITH_HC("{'unhealthy-threshold':0}"),
	 HCP ".unhealthy-threshold: must be between 1 and 10 (got 0)"},
	{WITH_HC("{'unhealthy-threshold':11}"),
	 HCP ".unhealthy-threshold: must be between 1 and 10 (got 11)"},
	{WITH_HC("{'path':'health'}"), HCP ".path: \"health\" must start with '/'"},
	{WITH_HC("{'path':''}"), HCP ".path: \"\" must start with '/'"},
	{WITH_HC("{'path':'/a b'}"),
	 HCP ".path: \"/a b\" contains a space; percent-encode it (e.g. %20)"},
	{WITH_HC("{'path':'/a\\r\\nHost: x'}"),
	 HCP ".path: \"/a\\x0d\\x0aHost: x\" contains \\x0d; percent-encode it (e.g. %20)"},
	{WITH_HC("{'path':'/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxx'}"),
	 HCP ".path: is longer than 255 characters"},
	{WITH_HC("{'path':5}"), HCP ".path: must be a string, not an integer"},
	{WITH_HC("{'expected-codes':[]}"),
	 HCP ".expected-codes: must list 1 to 16 status codes (got 0)"},
	{WITH_HC("{'expected-codes':[200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,"
		 "215,216]}"),
	 HCP ".expected-codes: must list 1 to 16 status codes (got 17)"},
	{WITH_HC("{'expected-codes':[200,99]}"),
	 HCP ".expected-codes[1]: must be between 100 and 599 (got 99)"},
	{WITH_HC("{'expected-codes':[600]}"),
	 HCP ".expected-codes[0]: must be between 100 and 599 (got 600)"},
	{WITH_HC("{'expected-codes':['200']}"),
	 HCP ".expected-codes[0]: must be an integer, not a string"},
	{WITH_HC("{'expected-codes':200}"),
	 HCP ".expected-codes: must be an array, not an integer"},
	{WITH_HC("{'interval-ms':2000,'timeout-ms':2000}"),
	 HCP ": timeout-ms (2000) must be less than interval-ms (2000)"},
	{WITH_HC("{'interval-ms':2000}"),
	 HCP ": timeout-ms (3000) must be less than interval-ms (2000); timeout-ms is inherited "
	     "from settings.health-check-defaults"},
	{WITH_HC("{'timeout-ms':20000}"),
	 HCP ": timeout-ms (20000) must be less than interval-ms (10000); interval-ms is inherited "
	     "from settings.health-check-defaults"},
	/* the defaults changed in settings apply to the overrides' checks too */
	{"{'proxies':[{'name':'web'," LISTEN ",'default-target':{'ip':'10.0.0.1','port':8080,"
	 "'health-check':{'timeout-ms':5000}}}],'settings':{'health-check-defaults':"
	 "{'interval-ms':4000,'timeout-ms':1000}}}",
	 HCP ": timeout-ms (5000) must be less than interval-ms (4000); interval-ms is inherited "
	     "from settings.health-check-defaults"},

	/* settings */
	{WITH_SETTINGS("[]"), "settings: must be an object, not an array"},
	{WITH_SETTINGS("{'stats':true}"),
	 "settings: unknown key \"stats\" (expected one of: stats-enabled, connection-timeout-sec, "
	 "udp-timeout-sec, max-connections, health-check-enabled, health-check-defaults, "
	 "default-drain-timeout-ms, drain-check-interval-ms, xdp-mode, ingress, "
	 "sni-hello-timeout-ms, "
	 "sni-max-pending, sni-splice, metrics-listen, access-log, hash-seed, maglev-table-size, "
	 "announce-table, announce-protocol, snat-address, snat-port-min, snat-port-max, fast-path)"},
	/* Announcements (docs/scale-out.md) */
	{WITH_SETTINGS("{'announce-table':254}"),
	 "settings.announce-table: table 254 is one the kernel routes with (253 default, 254 "
	 "main, 255 local): lbd's blackhole routes there would swallow the listener addresses; "
	 "pick a table of its own, e.g. 200"},
	{WITH_SETTINGS("{'announce-protocol':2}"),
	 "settings.announce-protocol: must be between 5 and 255 (got 2)"},
	/* Maglev and session affinity */
	{WITH_SETTINGS("{'maglev-table-size':65536}"),
	 "settings.maglev-table-size: 65536 is not a table size lbd offers: use 4093, 16381, 65537 "
	 "(the default) or 131071 (primes)"},
	{WITH_SETTINGS("{'maglev-table-size':100}"),
	 "settings.maglev-table-size: must be between 4093 and 131071 (got 100)"},
	{WITH_SETTINGS("{'hash-seed':-1}"),
	 "settings.hash-seed: must be between 0 and 4294967295 (got -1)"},
	{SNI("[{'sni-hostname':'a.example','target':" T1 "}],'selection':'least-connections'"),
	 "proxies[0].selection: least-connections does not apply to a proxy with sni-routes: "
	 "every connection goes to lbd's SNI acceptor, which chooses among a route's targets by "
	 "weight; drop \"selection\" (or balance these targets with a proxy of their own)"},
	{PROXY(LISTEN "," DT ",'hash':'source'"),
	 "proxies[0].hash: \"source\" is not a hash (expected \"5-tuple\" or \"source-address\")"},
	{PROXY(LISTEN "," DT ",'hash-prefix':24"),
	 "proxies[0].hash-prefix: only applies with \"hash\": \"source-address\" (this proxy "
	 "hashes the 5-tuple)"},
	{PROXY(LISTEN "," DT ",'hash':'source-address','hash-prefix':33"),
	 "proxies[0].hash-prefix: 33 is longer than an IPv4 address: this proxy's clients are "
	 "IPv4, use 0 to 32"},
	{PROXY(LISTEN "," DT ",'hash':'source-address','hash-prefix':129"),
	 "proxies[0].hash-prefix: must be between 0 and 128 (got 129)"},
	{PROXY(LISTEN
	       ",'default-target':[{'ip':'10.0.0.1','port':80,'weight':50},"
	       "{'ip':'fd00::1','port':80,'weight':50}],'hash':'source-address','hash-prefix':24"),
	 "proxies[0].hash-prefix: this proxy serves IPv4 and IPv6 clients (no listen.address and "
	 "targets of both families, or SNI routes): a prefix length needs one family, so give "
	 "listen.address"},
	/* Forwarding modes */
	{PROXY(LISTEN "," DT ",'forwarding':'tunnel'"),
	 "proxies[0].forwarding: \"tunnel\" is not a forwarding mode (expected \"nat\", "
	 "\"full-nat\" or \"dsr\")"},
	{PROXY(LISTEN "," DT ",'forwarding':'dsr'"),
	 "proxies[0].forwarding: dsr forwards only the MAC: target 10.0.0.1:8080 has port 8080, "
	 "which must equal the listener port 80"},
	{PROXY(LISTEN "," DT ",'snat-address':'10.0.0.9'"),
	 "proxies[0].snat-address: only applies with \"forwarding\": \"full-nat\" (this proxy "
	 "forwards with nat)"},
	{PROXY(LISTEN "," DT ",'forwarding':'full-nat','snat-address':['10.0.0.9','10.0.0.8']"),
	 "proxies[0].snat-address[1]: 10.0.0.8 is a second IPv4 address: give at most one per "
	 "family"},
	{PROXY(LISTEN "," DT ",'forwarding':'full-nat','snat-address':[]"),
	 "proxies[0].snat-address: has 0 addresses: give one, or one IPv4 and one IPv6 address"},
	{PROXY(LISTEN "," DT ",'forwarding':'full-nat','snat-address':5"),
	 "proxies[0].snat-address: must be an address or an array of at most one IPv4 and one "
	 "IPv6 address"},
	{SNI("[{'sni-hostname':'a.example','target':" T1 "}],'forwarding':'full-nat'"),
	 "proxies[0].forwarding: full-nat is not possible with sni-routes: lbd's SNI acceptor "
	 "terminates TCP in user space, which only nat supports"},
	{"{'proxies':[{'name':'web','listen':{'interfaces':['eth0'],'port':61000}," DT
	 ",'forwarding':'full-nat'}]}",
	 "proxies[0].listen.port: 61000 lies in the full-nat source port range 61000-65535 "
	 "(settings.snat-port-min/max), where replies of full-nat flows arrive: move the "
	 "listener or the range"},
	{WITH_SETTINGS("{'snat-port-min':62000,'snat-port-max':61000}"),
	 "settings.snat-port-max: 61000 is below settings.snat-port-min (62000): the range is "
	 "empty"},
	{WITH_SETTINGS("{'snat-port-min':80}"),
	 "settings.snat-port-min: must be between 1024 and 65535 (got 80)"},
	{WITH_SETTINGS("{'snat-address':'fd00::1:2:3:4:5:6:7'}"),
	 "settings.snat-address: \"fd00::1:2:3:4:5:6:7\" is not an IP address (expected an IPv6 "
	 "address (RFC 4291 text form))"},
	{WITH_SETTINGS("{'access-log':'x.log'}"),
	 "settings.access-log: must be an absolute path, not \"x.log\""},
	{WITH_SETTINGS("{'access-log':'./x.log'}"),
	 "settings.access-log: must be an absolute path, not \"./x.log\""},
	{WITH_SETTINGS("{'access-log':''}"),
	 "settings.access-log: must be an absolute path, not \"\""},
	{WITH_SETTINGS("{'access-log':'/var/log/lbd/'}"),
	 "settings.access-log: \"/var/log/lbd/\" names a directory; give the path of a file (e.g. "
	 "\"/var/log/lbd/access.log\")"},
	{WITH_SETTINGS("{'access-log':'/'}"),
	 "settings.access-log: \"/\" names a directory; give the path of a file (e.g. "
	 "\"/var/log/lbd/access.log\")"},
	{WITH_SETTINGS("{'access-log':'/var/log/..'}"),
	 "settings.access-log: \"/var/log/..\" names a directory; give the path of a file (e.g. "
	 "\"/var/log/lbd/access.log\")"},
	{WITH_SETTINGS("{'access-log':'/var/log/.'}"),
	 "settings.access-log: \"/var/log/.\" names a directory; give the path of a file (e.g. "
	 "\"/var/log/lbd/access.log\")"},
	{WITH_SETTINGS("{'access-log':true}"),
	 "settings.access-log: must be a string, not a boolean"},
	{WITH_SETTINGS("{'access-log':['/var/log/a.log']}"),
	 "settings.access-log: must be a string, not an array"},
	/* jansson refuses "\u0000" before the parser sees it; the parser would refuse it too */
	{WITH_SETTINGS("{'access-log':'/var/log/a\\u0000b'}"), SUB("JSON syntax error")},
	{WITH_SETTINGS("{'metrics-listen':9100}"),
	 "settings.metrics-listen: must be a string, not an integer"},
	{WITH_SETTINGS("{'metrics-listen':'9100'}"),
	 "settings.metrics-listen: \"9100\" is not a listen address (no ':' before a port; "
	 "expected ip:port or [ipv6]:port, e.g. 127.0.0.1:9100 or [::1]:9100)"},
	{WITH_SETTINGS("{'metrics-listen':'localhost:9100'}"),
	 "settings.metrics-listen: \"localhost:9100\" is not a valid listen address: "
	 "\"localhost\" is not an IP address (expected an IPv4 address a.b.c.d or an IPv6 address; "
	 "0.0.0.0 or [::] listens on every address)"},
	{WITH_SETTINGS("{'metrics-listen':'127.0.0.1:0'}"),
	 "settings.metrics-listen: \"127.0.0.1:0\" is not a valid listen address: \"0\" is not a "
	 "valid port (expected a number from 1 to 65535)"},
	{WITH_SETTINGS("{'metrics-listen':'224.0.0.1:9100'}"),
	 "settings.metrics-listen: \"224.0.0.1:9100\" is not a valid listen address: 224.0.0.1 is "
	 "a multicast address (224.0.0.0/4), not a usable unicast address"},
	{WITH_SETTINGS("{'metrics-listen':'::1:9100'}"),
	 "settings.metrics-listen: \"::1:9100\" is not a listen address (an IPv6 address is "
	 "written in brackets before its port, as in [2001:db8::1]:8080; expected ip:port or "
	 "[ipv6]:port, e.g. 127.0.0.1:9100 or [::1]:9100)"},
	{WITH_SETTINGS("{'metrics-listen':'[::1]'}"),
	 SUB("settings.metrics-listen: \"[::1]\" is not a listen address (expected ':' and a port "
	     "after ']'; ")},
	{WITH_SETTINGS("{'metrics-listen':'[::1:9100'}"),
	 SUB("settings.metrics-listen: \"[::1:9100\" is not a listen address (an IPv6 address in "
	     "brackets lacks its ']'; ")},
	{WITH_SETTINGS("{'metrics-listen':'[fe80::1]:9100'}"),
	 "settings.metrics-listen: \"[fe80::1]:9100\" is not a valid listen address: "
	 "fe80::1 " LINK_LOCAL},
	{WITH_SETTINGS("{'metrics-listen':'[::ffff:127.0.0.1]:9100'}"),
	 "settings.metrics-listen: \"[::ffff:127.0.0.1]:9100\" is not a valid listen address: "
	 "\"::ffff:127.0.0.1\" is not an IP address (an IPv4-mapped address: write the IPv4 "
	 "address a.b.c.d itself; 0.0.0.0 or [::] listens on every address)"},
	{WITH_SETTINGS("{'stats-enabled':'yes'}"),
	 "settings.stats-enabled: must be a boolean (true or false), not a string"},
	{WITH_SETTINGS("{'stats-enabled':1}"),
	 "settings.stats-enabled: must be a boolean (true or false), not an integer"},
	{WITH_SETTINGS("{'fast-path':'on'}"),
	 "settings.fast-path: must be a boolean (true or false), not a string"},
	{WITH_SETTINGS("{'health-check-enabled':'true'}"),
	 "settings.health-check-enabled: must be a boolean (true or false), not a string"},
	{WITH_SETTINGS("{'connection-timeout-sec':0}"),
	 "settings.connection-timeout-sec: must be between 1 and 604800 (got 0)"},
	{WITH_SETTINGS("{'connection-timeout-sec':604801}"),
	 "settings.connection-timeout-sec: must be between 1 and 604800 (got 604801)"},
	{WITH_SETTINGS("{'connection-timeout-sec':'300'}"),
	 "settings.connection-timeout-sec: must be an integer, not a string"},
	{WITH_SETTINGS("{'udp-timeout-sec':0}"),
	 "settings.udp-timeout-sec: must be between 1 and 604800 (got 0)"},
	{WITH_SETTINGS("{'udp-timeout-sec':604801}"),
	 "settings.udp-timeout-sec: must be between 1 and 604800 (got 604801)"},
	{WITH_SETTINGS("{'max-connections':1023}"),
	 "settings.max-connections: must be between 1024 and 16777216 (got 1023)"},
	{WITH_SETTINGS("{'max-connections':16777217}"),
	 "settings.max-connections: must be between 1024 and 16777216 (got 16777217)"},
	{WITH_SETTINGS("{'max-connections':1e5}"),
	 "settings.max-connections: must be an integer, not a fractional number"},
	{WITH_SETTINGS("{'default-drain-timeout-ms':999}"),
	 "settings.default-drain-timeout-ms: must be between 1000 and 3600000 (got 999)"},
	{WITH_SETTINGS("{'default-drain-timeout-ms':3600001}"),
	 "settings.default-drain-timeout-ms: must be between 1000 and 3600000 (got 3600001)"},
	{WITH_SETTINGS("{'drain-check-interval-ms':99}"),
	 "settings.drain-check-interval-ms: must be between 100 and 60000 (got 99)"},
	{WITH_SETTINGS("{'drain-check-interval-ms':60001}"),
	 "settings.drain-check-interval-ms: must be between 100 and 60000 (got 60001)"},
	{WITH_SETTINGS("{'xdp-mode':'offload'}"),
	 "settings.xdp-mode: \"offload\" is not an XDP mode (expected \"auto\", \"native\" or "
	 "\"generic\")"},
	{WITH_SETTINGS("{'xdp-mode':true}"), "settings.xdp-mode: must be a string, not a boolean"},
	{WITH_SETTINGS("{'ingress':'skb'}"),
	 "settings.ingress: \"skb\" is not an ingress hook (expected \"auto\", \"xdp\" or "
	 "\"tc\")"},
	{WITH_SETTINGS("{'ingress':1}"), "settings.ingress: must be a string, not an integer"},
	{WITH_SETTINGS("{'sni-hello-timeout-ms':99}"),
	 "settings.sni-hello-timeout-ms: must be between 100 and 60000 (got 99)"},
	{WITH_SETTINGS("{'sni-hello-timeout-ms':60001}"),
	 "settings.sni-hello-timeout-ms: must be between 100 and 60000 (got 60001)"},
	{WITH_SETTINGS("{'sni-max-pending':0}"),
	 "settings.sni-max-pending: must be between 1 and 65536 (got 0)"},
	{WITH_SETTINGS("{'sni-max-pending':65537}"),
	 "settings.sni-max-pending: must be between 1 and 65536 (got 65537)"},
	{WITH_SETTINGS("{'sni-splice':'splice'}"),
	 "settings.sni-splice: \"splice\" is not a splice mode (expected \"auto\", \"sockmap\" or "
	 "\"copy\")"},
	{WITH_SETTINGS("{'sni-splice':false}"),
	 "settings.sni-splice: must be a string, not a boolean"},
	{WITH_SETTINGS("{'health-check-defaults':{'type':'udp'}}"),
	 "settings.health-check-defaults.type: \"udp\" is not a health-check type (expected "
	 "\"tcp\", \"http\", \"https\" or \"none\")"},
	{WITH_SETTINGS("{'health-check-defaults':{'interval-ms':2000}}"),
	 "settings.health-check-defaults: timeout-ms (3000) must be less than interval-ms (2000); "
	 "timeout-ms is inherited from the built-in defaults"},
	{WITH_SETTINGS("{'health-check-defaults':{'timeout':1000}}"),
	 SUB("settings.health-check-defaults: unknown key \"timeout\"")},
	/* settings are read first wherever they are, so their error wins */
	{"{'proxies':[1],'settings':{'xdp-mode':'x'}}",
	 SUB("settings.xdp-mode: \"x\" is not an XDP mode")},

	/* JSON itself */
	{"{'proxies': [}", SUB("JSON syntax error at line 1, column ")},
	{"", SUB("JSON syntax error at line 1, column 0: ")},
	{"{'proxies':[],'proxies':[]}", SUB("duplicate object key")},
	{PROXY(LISTEN "," DT ",'name':'x'"), SUB("duplicate object key")},
	{"{'proxies':[{'name':'web','listen':{'interfaces':['eth0'],'port':80,'port':81}," DT "}]}",
	 SUB("duplicate object key")},
	{"{'proxies':[{'name':'a\\u0000b'," LISTEN "," DT "}]}", SUB("JSON syntax error")},
};

START_TEST(test_refuses)
{
	const char *msg = refused[_i].msg;

	parse_fails(refused[_i].json, msg[0] == '~' ? msg + 1 : msg, msg[0] != '~');
}
END_TEST

START_TEST(test_null_arguments)
{
	struct lb_config *cfg = NULL;

	ck_assert_int_eq(lb_config_parse_string(NULL, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "top level: no configuration text was given");
	/* No error buffer at all is fine. */
	ck_assert_int_eq(lb_config_parse_string("{}", &cfg, NULL, 0), -EINVAL);
	ck_assert_int_eq(lb_config_parse_string("{", &cfg, NULL, 0), -EINVAL);
	ck_assert_ptr_null(cfg);
}
END_TEST

/* ---- limits that need big inputs ---- */

/* A configuration with proxies of @routes source routes each. */
static char *many_routes(size_t proxies, size_t routes)
{
	size_t cap = 256 + proxies * (256 + routes * 96), off = 0, i, r;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	off += (size_t)snprintf(s + off, cap - off, "{\"proxies\":[");
	for (i = 0; i < proxies; i++) {
		off += (size_t)snprintf(
			s + off, cap - off,
			"%s{\"name\":\"p%zu\",\"listen\":{\"interfaces\":[\"eth0\"],"
			"\"port\":%zu},\"default-target\":{\"ip\":\"10.0.0.1\","
			"\"port\":80},\"source-routes\":[",
			i ? "," : "", i, i + 1);
		for (r = 0; r < routes; r++)
			off += (size_t)snprintf(
				s + off, cap - off,
				"%s{\"source\":\"10.%zu.%zu.0/24\",\"target\":{\"ip\":"
				"\"10.0.0.2\",\"port\":80}}",
				r ? "," : "", r >> 8, r & 0xff);
		off += (size_t)snprintf(s + off, cap - off, "]}");
	}
	snprintf(s + off, cap - off, "]}");
	return s;
}

START_TEST(test_many_routes)
{
	struct lb_config *cfg = NULL;
	char *text = many_routes(1, 20000);

	ck_assert_msg(lb_config_parse_string(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cfg->proxies[0].n_routes, 20000);
	lb_config_free(cfg);
	free(text);
}
END_TEST

START_TEST(test_route_total)
{
	struct lb_config *cfg = NULL;
	char *text = many_routes(2, LB_MAX_ROUTES / 2 + 1);

	ck_assert_int_eq(lb_config_parse_string(text, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "proxies[1].source-routes: brings the number of source routes to "
			      "65538, at most 65536 are allowed in total");
	free(text);
}
END_TEST

START_TEST(test_too_many_proxies)
{
	struct lb_config *cfg = NULL;
	char *text = many_routes(LB_MAX_PROXIES + 1, 0);

	ck_assert_int_eq(lb_config_parse_string(text, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "proxies: must list 1 to 256 proxies (got 257)");
	free(text);

	text = many_routes(LB_MAX_PROXIES, 0);
	ck_assert_msg(lb_config_parse_string(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cfg->n_proxies, LB_MAX_PROXIES);
	lb_config_free(cfg);
	free(text);
}
END_TEST

/* ---- lb_config_validate() on models built in code ---- */

static void set_target(struct lb_target_cfg *t, const char *addr, uint16_t port, uint8_t weight,
		       const struct lb_settings *s)
{
	memset(t, 0, sizeof(*t));
	t->addr = ip(addr);
	t->port = port;
	t->weight = weight;
	t->hc = s->health_check_defaults;
}

/* Drop the SNI routes of @p (and their groups), keeping the rest. */
static void drop_sni_routes(struct lb_proxy_cfg *p)
{
	size_t i;

	for (i = 0; i < p->n_sni_routes; i++)
		lb_group_cfg_release(&p->sni_routes[i].group);
	free(p->sni_routes);
	p->sni_routes = NULL;
	p->n_sni_routes = 0;
}

/* Drop the source routes of @p (and their groups), keeping the rest. */
static void drop_routes(struct lb_proxy_cfg *p)
{
	size_t i;

	for (i = 0; i < p->n_routes; i++)
		lb_group_cfg_release(&p->routes[i].group);
	free(p->routes);
	p->routes = NULL;
	p->n_routes = 0;
}

/* Give @g @n targets, with room for up to one more than a group may have. */
static void group_room(struct lb_group_cfg *g, size_t n)
{
	ck_assert_int_eq(lb_group_cfg_alloc(g, LB_MAX_TARGETS_PER_GROUP + 1), 0);
	g->n = n;
}

/* What lbd -i eth0 -p 80 -t 10.0.0.1:8080 builds, plus a second proxy and a route. */
static struct lb_config *model(void)
{
	struct lb_config *cfg = lb_config_new();
	struct lb_proxy_cfg *p;
	size_t i;

	ck_assert_ptr_nonnull(cfg);
	cfg->proxies = calloc(2, sizeof(*cfg->proxies));
	ck_assert_ptr_nonnull(cfg->proxies);
	cfg->n_proxies = 2;
	for (i = 0; i < 2; i++) {
		p = &cfg->proxies[i];
		snprintf(p->name, sizeof(p->name), "p%zu", i);
		p->n_ifaces = 1;
		strcpy(p->ifaces[0], "eth0");
		p->port = (uint16_t)(80 + i);
		p->protocols = LB_L4_TCP;
		group_room(&p->default_group, 1);
		set_target(&p->default_group.t[0], "10.0.0.1", 8080, 100, &cfg->settings);
	}
	p = &cfg->proxies[0];
	p->routes = calloc(2, sizeof(*p->routes));
	ck_assert_ptr_nonnull(p->routes);
	p->n_routes = 2;
	p->routes[0].addr = ip("192.168.0.0");
	p->routes[0].prefix_len = 16;
	group_room(&p->routes[0].group, 2);
	set_target(&p->routes[0].group.t[0], "10.0.0.2", 80, 60, &cfg->settings);
	set_target(&p->routes[0].group.t[1], "10.0.0.3", 80, 40, &cfg->settings);
	p->routes[1].addr = ip("10.0.0.0");
	p->routes[1].prefix_len = 8;
	group_room(&p->routes[1].group, 1);
	set_target(&p->routes[1].group.t[0], "10.0.0.4", 80, 100, &cfg->settings);

	/* p1 routes by server name: its default and SNI targets may send a PROXY header. */
	p = &cfg->proxies[1];
	p->sni_routes = calloc(2, sizeof(*p->sni_routes));
	ck_assert_ptr_nonnull(p->sni_routes);
	p->n_sni_routes = 2;
	strcpy(p->sni_routes[0].hostname, "api.example.com");
	group_room(&p->sni_routes[0].group, 1);
	set_target(&p->sni_routes[0].group.t[0], "10.0.0.5", 443, 100, &cfg->settings);
	strcpy(p->sni_routes[1].hostname, "*.example.com");
	p->sni_routes[1].wildcard = true;
	group_room(&p->sni_routes[1].group, 2);
	set_target(&p->sni_routes[1].group.t[0], "10.0.0.6", 443, 50, &cfg->settings);
	set_target(&p->sni_routes[1].group.t[1], "10.0.0.7", 443, 50, &cfg->settings);
	p->sni_routes[1].group.t[1].proxy_protocol = 2;
	p->default_group.t[0].proxy_protocol = 2;
	return cfg;
}

static void validate_fails(struct lb_config *cfg, const char *msg)
{
	ck_assert_int_eq(lb_config_validate(cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, msg);
	lb_config_free(cfg);
}

START_TEST(test_validate_ok)
{
	struct lb_config *cfg = model();

	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_eq(lb_sni_route_match(&cfg->proxies[1], "www.example.com"),
			 &cfg->proxies[1].sni_routes[1]);
	/* Names built in code need not be lowercase: they match and clash case-insensitively. */
	strcpy(cfg->proxies[1].sni_routes[0].hostname, "API.Example.com");
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_eq(lb_sni_route_match(&cfg->proxies[1], "api.example.com"),
			 &cfg->proxies[1].sni_routes[0]);
	/* A daemon may end up with no proxy at all after runtime removals. */
	cfg->n_proxies = 0;
	ck_assert_int_eq(lb_config_validate(cfg, err, sizeof(err)), 0);
	cfg->n_proxies = 2;
	lb_config_free(cfg);
	ck_assert_int_eq(lb_config_validate(NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "top level: no configuration was given");
}
END_TEST

/* Each case breaks one rule of the model; the message must name the same place as parsing. */
static void break_model(int which, struct lb_config *cfg)
{
	struct lb_proxy_cfg *p = &cfg->proxies[0], *q = &cfg->proxies[1];
	struct lb_group_cfg *g = &p->default_group;

	switch (which) {
	case 0:
		strcpy(cfg->proxies[1].name, "p0");
		break;
	case 1:
		cfg->proxies[1].port = 80;
		break;
	case 2:
		p->name[0] = '\0';
		break;
	case 3:
		strcpy(p->name, "a b");
		break;
	case 4:
		p->n_ifaces = 0;
		break;
	case 5:
		p->n_ifaces = 2;
		strcpy(p->ifaces[1], "eth0");
		break;
	case 6:
		strcpy(p->ifaces[0], "a/b");
		break;
	case 7:
		p->port = 0;
		break;
	case 8:
		p->protocols = 0;
		break;
	case 9:
		p->has_address = true;
		p->address = lb_ip_from_v4(0);
		break;
	case 10:
		g->n = 0;
		break;
	case 11:
		g->n = LB_MAX_TARGETS_PER_GROUP + 1;
		break;
	case 12:
		g->t[0].weight = 50;
		break;
	case 13:
		g->n = 2;
		g->t[0].weight = 60;
		set_target(&g->t[1], "10.0.0.2", 8080, 30, &cfg->settings);
		break;
	case 14:
		g->n = 2;
		g->t[0].weight = 0;
		set_target(&g->t[1], "10.0.0.2", 8080, 101, &cfg->settings);
		break;
	case 15:
		g->n = 2;
		g->t[0].weight = 50;
		set_target(&g->t[1], "10.0.0.1", 8080, 50, &cfg->settings);
		break;
	case 16:
		g->t[0].addr = ip("224.0.0.1");
		break;
	case 17:
		g->t[0].port = 0;
		break;
	case 18:
		g->t[0].hc.timeout_ms = g->t[0].hc.interval_ms;
		break;
	case 19:
		g->t[0].hc.n_expected_codes = 0;
		break;
	case 20:
		g->t[0].hc.type = (enum lb_hc_type)9;
		break;
	case 21:
		p->routes[1].addr = ip("10.0.0.1");
		break;
	case 22:
		p->routes[1].prefix_len = 33;
		break;
	case 23:
		p->routes[1].addr = p->routes[0].addr;
		p->routes[1].prefix_len = p->routes[0].prefix_len;
		break;
	case 24:
		p->routes[0].group.t[1].weight = 30;
		break;
	case 25:
		cfg->settings.max_connections = 5;
		break;
	case 26:
		cfg->settings.xdp_mode = (enum lb_xdp_mode)7;
		break;
	case 27:
		cfg->settings.health_check_defaults.interval_ms = 500;
		break;
	case 28:
		cfg->n_proxies = LB_MAX_PROXIES + 1;
		break;
	case 29: /* n_routes says 2, but no array */
		for (size_t r = 0; r < p->n_routes; r++)
			lb_group_cfg_release(&p->routes[r].group);
		free(p->routes);
		p->routes = NULL;
		break;
	case 30:
		strcpy(g->t[0].hc.path, "health");
		break;
	case 31:
		strcpy(q->sni_routes[0].hostname, "api..example.com");
		break;
	case 32:
		q->sni_routes[1].wildcard = false;
		break;
	case 33:
		q->sni_routes[0].wildcard = true;
		break;
	case 34:
		strcpy(q->sni_routes[0].hostname, "*.EXAMPLE.com");
		q->sni_routes[0].wildcard = true;
		break;
	case 35:
		q->protocols = LB_L4_UDP;
		break;
	case 36:
		g->t[0].proxy_protocol = 2;
		break;
	case 37:
		p->routes[0].group.t[1].proxy_protocol = 2;
		break;
	case 38:
		q->sni_routes[0].group.t[0].proxy_protocol = 1;
		break;
	case 39:
		cfg->settings.sni_splice = (enum lb_splice_mode)7;
		break;
	case 40:
		cfg->settings.sni_max_pending = 0;
		break;
	case 41: /* n_sni_routes says 2, but no array */
		for (size_t r = 0; r < q->n_sni_routes; r++)
			lb_group_cfg_release(&q->sni_routes[r].group);
		free(q->sni_routes);
		q->sni_routes = NULL;
		break;
	case 42:
		q->sni_routes[1].group.t[0].weight = 60;
		break;
	case 43:
		memset(q->sni_routes[0].hostname, 'a', sizeof(q->sni_routes[0].hostname));
		break;
	case 44:
		strcpy(q->sni_routes[0].hostname, "*");
		break;
	case 45:
		q->sni_routes[0].hostname[0] = '\0';
		break;
	case 46:
		cfg->settings.access_log = strdup("access.log");
		break;
	case 47:
		cfg->settings.access_log = strdup("/var/log/");
		break;
	/* IPv6 */
	case 48:
		p->has_address = true;
		p->address = ip("2001:db8::10");
		break;
	case 49:
		p->routes[1].addr = ip("2001:db8::");
		break;
	case 50:
		p->routes[1].addr = ip("2001:db8::");
		p->routes[1].prefix_len = 129;
		break;
	case 51:
		p->routes[1].addr = ip("2001:db8::");
		p->routes[1].prefix_len = 32;
		break;
	case 52:
		p->has_address = true;
		p->address = ip("10.0.0.10");
		p->routes[1].addr = ip("2001:db8::");
		p->routes[1].prefix_len = 32;
		set_target(&p->routes[1].group.t[0], "2001:db8::4", 80, 100, &cfg->settings);
		break;
	case 53:
		g->t[0].addr = ip("fe80::1");
		break;
	case 54:
		cfg->settings.metrics_listen = true;
		cfg->settings.metrics_addr = ip("ff02::1");
		cfg->settings.metrics_port = 9100;
		break;
	case 55:
		p->has_address = true;
		memset(&p->address, 0, sizeof(p->address));
		break;
	case 56:
		p->routes[0].addr = ip("2001:db8::");
		p->routes[0].prefix_len = 32;
		lb_group_cfg_release(&p->routes[1].group);
		p->routes[1] = p->routes[0];
		set_target(&p->routes[0].group.t[0], "2001:db8::2", 80, 60, &cfg->settings);
		set_target(&p->routes[0].group.t[1], "2001:db8::3", 80, 40, &cfg->settings);
		ck_assert_int_eq(lb_group_cfg_copy(&p->routes[1].group, &p->routes[0].group), 0);
		break;
	case 57:
		q->has_address = true;
		q->address = ip("2001:db8::10");
		q->sni_routes[1].group.t[1].addr = ip("ff02::1");
		break;
	}
}

static const char *const broken_msgs[] = {
	"proxies[1].name: \"p0\" is already used by proxies[0]",
	"proxies[1].listen: conflicts with proxies[0] (\"p0\") on eth0 port 80/tcp",
	"proxies[0].name: must not be empty",
	"proxies[0].name: \"a b\" contains a space; use only letters, digits, '_', '.' and '-'",
	"proxies[0].listen.interfaces: must list at least one interface",
	"proxies[0].listen.interfaces[1]: \"eth0\" is already listed as "
	"proxies[0].listen.interfaces[0]",
	"proxies[0].listen.interfaces[0]: \"a/b\" contains '/', which Linux does not allow in an "
	"interface name",
	"proxies[0].listen.port: must be between 1 and 65535 (got 0)",
	"proxies[0].listen.protocol: protocol bits 0x0 are not tcp, udp or both",
	"proxies[0].listen.address: 0.0.0.0 is not a usable address",
	"proxies[0].default-target: must list at least one target",
	"proxies[0].default-target: has 257 targets, at most 256 are allowed in one group",
	"proxies[0].default-target: weights sum to 50, must be 100",
	"proxies[0].default-target: weights sum to 90, must be 100",
	"proxies[0].default-target[1].weight: must be between 0 and 100 (got 101)",
	"proxies[0].default-target[1]: 10.0.0.1:8080 is already listed as "
	"proxies[0].default-target[0]",
	"proxies[0].default-target.ip: 224.0.0.1 is a multicast address (224.0.0.0/4), not a usable "
	"unicast address",
	"proxies[0].default-target.port: must be between 1 and 65535 (got 0)",
	"proxies[0].default-target.health-check: timeout-ms (10000) must be less than interval-ms "
	"(10000)",
	"proxies[0].default-target.health-check.expected-codes: must list 1 to 16 status codes "
	"(got 0)",
	"proxies[0].default-target.health-check.type: unknown health-check type 9",
	"proxies[0].source-routes[1].source: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
	"proxies[0].source-routes[1].source: prefix length 33 is out of range (0 to 32)",
	"proxies[0].source-routes[1].source: 192.168.0.0/16 is already routed by "
	"proxies[0].source-routes[0]",
	"proxies[0].source-routes[0].targets: weights sum to 90, must be 100",
	"settings.max-connections: must be between 1024 and 16777216 (got 5)",
	"settings.xdp-mode: unknown XDP mode 7",
	"settings.health-check-defaults.interval-ms: must be between 1000 and 300000 (got 500)",
	"proxies: has 257 proxies, at most 256 are allowed",
	"proxies[0].source-routes: has 2 source routes but no route array",
	"proxies[0].default-target.health-check.path: \"health\" must start with '/'",
	"proxies[1].sni-routes[0].sni-hostname: \"api..example.com\" has an empty label (labels "
	"are separated by single dots)",
	"proxies[1].sni-routes[1].sni-hostname: \"*.example.com\" is a wildcard, but the route is "
	"not marked as one",
	"proxies[1].sni-routes[0].sni-hostname: \"api.example.com\" is marked as a wildcard but "
	"does not start with \"*.\"",
	"proxies[1].sni-routes[1].sni-hostname: \"*.example.com\" is already routed by "
	"proxies[1].sni-routes[0]",
	"proxies[1].listen.protocol: a proxy with sni-routes reads the TLS ClientHello of TCP "
	"connections, so it must listen on \"tcp\" or \"both\", not \"udp\"",
	"proxies[0].default-target.proxy-protocol: " PP_ONLY "this proxy balances in the kernel",
	"proxies[0].source-routes[0].targets[1].proxy-protocol: " PP_ONLY
	"source routes are balanced in the kernel, even in a proxy with sni-routes",
	"proxies[1].sni-routes[0].target.proxy-protocol: PROXY protocol version 1 is not one lbd "
	"sends (0: none, 2: v2)",
	"settings.sni-splice: unknown splice mode 7",
	"settings.sni-max-pending: must be between 1 and 65536 (got 0)",
	"proxies[1].sni-routes: has 2 SNI routes but no route array",
	"proxies[1].sni-routes[1].targets: weights sum to 110, must be 100",
	"proxies[1].sni-routes[0].sni-hostname: is longer than 255 bytes",
	"proxies[1].sni-routes[0].sni-hostname: \"*\" alone would match every name; the default "
	"target already takes the names no route matches",
	"proxies[1].sni-routes[0].sni-hostname: must not be empty",
	"settings.access-log: must be an absolute path, not \"access.log\"",
	"settings.access-log: \"/var/log/\" names a directory; give the path of a file (e.g. "
	"\"/var/log/lbd/access.log\")",
	"proxies[0].default-target: 10.0.0.1:8080 is an IPv4 target, but the clients of this "
	"listener's address are IPv6" FAMILY_TAIL,
	"proxies[0].source-routes[1].source: 2001:db8::/8 has host bits set; did you mean 2000::/8?",
	"proxies[0].source-routes[1].source: prefix length 129 is out of range (0 to 128)",
	"proxies[0].source-routes[1].target: 10.0.0.4:80 is an IPv4 target, but this route's "
	"clients are IPv6" FAMILY_TAIL,
	"proxies[0].source-routes[1].source: 2001:db8::/32 can never match: this listener's address "
	"10.0.0.10 only receives IPv4 clients",
	"proxies[0].default-target.ip: fe80::1 " LINK_LOCAL,
	"settings.metrics-listen: multicast addresses (ff00::/8) are not usable",
	"proxies[0].listen.address: :: (the unspecified address) is not a usable address",
	"proxies[0].source-routes[1].source: 2001:db8::/32 is already routed by "
	"proxies[0].source-routes[0]",
	"proxies[1].sni-routes[1].targets[1].ip: ff02::1 is a multicast address (ff00::/8), not a "
	"usable unicast address",
};

START_TEST(test_validate_refuses)
{
	struct lb_config *cfg = model();
	size_t n = cfg->n_proxies;

	break_model(_i, cfg);
	ck_assert_int_eq(lb_config_validate(cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(!strcmp(err, broken_msgs[_i]), "case %d:\ngot:      %s\nexpected: %s", _i,
		      err, broken_msgs[_i]);
	cfg->n_proxies = n; /* case 28 lies about the count */
	lb_config_free(cfg);
}
END_TEST

/*
 * A change made at run time names its proxy (LB_CFG_BY_NAME): no message of any broken case
 * points at an index the operator never wrote; places inside the proxy are relative to it.
 */
static const struct {
	int at;
	const char *msg;
} broken_by_name[] = {
	{0, "proxy \"p0\": name: \"p0\" is already used by another proxy"},
	{1, "proxy \"p1\": listen: conflicts with proxy \"p0\" on eth0 port 80/tcp"},
	{5, "proxy \"p0\": listen.interfaces[1]: \"eth0\" is already listed as "
	    "listen.interfaces[0]"},
	{14, "proxy \"p0\": default-target[1].weight: must be between 0 and 100 (got 101)"},
	{15, "proxy \"p0\": default-target[1]: 10.0.0.1:8080 is already listed as "
	     "default-target[0]"},
	{23, "proxy \"p0\": source-routes[1].source: 192.168.0.0/16 is already routed by "
	     "source-routes[0]"},
	{28, "proxies: has 257 proxies, at most 256 are allowed"},
	{34, "proxy \"p1\": sni-routes[1].sni-hostname: \"*.example.com\" is already routed by "
	     "sni-routes[0]"},
	{25, "settings.max-connections: must be between 1024 and 16777216 (got 5)"},
	{52, "proxy \"p0\": source-routes[1].source: 2001:db8::/32 can never match: this "
	     "listener's address 10.0.0.10 only receives IPv4 clients"},
	{56, "proxy \"p0\": source-routes[1].source: 2001:db8::/32 is already routed by "
	     "source-routes[0]"},
};

START_TEST(test_validate_by_name)
{
	struct lb_config *cfg = model();
	size_t n = cfg->n_proxies, k;

	break_model(_i, cfg);
	ck_assert_int_eq(lb_config_validate_as(cfg, LB_CFG_BY_NAME, err, sizeof(err)), -EINVAL);
	ck_assert_msg(!strstr(err, "proxies["), "case %d names an index: %s", _i, err);
	for (k = 0; k < N(broken_by_name); k++)
		if (broken_by_name[k].at == _i)
			ck_assert_msg(!strcmp(err, broken_by_name[k].msg),
				      "case %d:\ngot:      %s\nexpected: %s", _i, err,
				      broken_by_name[k].msg);
	cfg->n_proxies = n;
	lb_config_free(cfg);
}
END_TEST

/* The path helper both namings share. */
START_TEST(test_proxy_path)
{
	char buf[128];

	ck_assert_str_eq(lb_config_proxy_path("api", 3, LB_CFG_BY_INDEX, NULL, buf, sizeof(buf)),
			 "proxies[3]");
	ck_assert_str_eq(
		lb_config_proxy_path("api", 3, LB_CFG_BY_INDEX, "listen.port", buf, sizeof(buf)),
		"proxies[3].listen.port");
	ck_assert_str_eq(lb_config_proxy_path("api", 3, LB_CFG_BY_NAME, NULL, buf, sizeof(buf)),
			 "proxy \"api\":");
	ck_assert_str_eq(
		lb_config_proxy_path("api", 3, LB_CFG_BY_NAME, "listen.port", buf, sizeof(buf)),
		"proxy \"api\": listen.port");
}
END_TEST

START_TEST(test_validate_conflict_with_address)
{
	struct lb_config *cfg = model();

	/* p1 without its SNI routes, so that it may listen on UDP only. */
	drop_sni_routes(&cfg->proxies[1]);
	cfg->proxies[1].default_group.t[0].proxy_protocol = 0;
	cfg->proxies[1].port = 80;
	cfg->proxies[0].has_address = true;
	cfg->proxies[0].address = ip("10.0.0.10");
	cfg->proxies[1].has_address = true;
	cfg->proxies[1].address = ip("10.0.0.11");
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);
	cfg->proxies[1].protocols = LB_L4_UDP;
	cfg->proxies[1].address = cfg->proxies[0].address;
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);
	cfg->proxies[1].protocols = LB_L4_UDP | LB_L4_TCP;
	validate_fails(cfg, "proxies[1].listen: conflicts with proxies[0] (\"p0\") on eth0 port "
			    "80/tcp");
}
END_TEST

/* Models with IPv6 listeners, routes and targets, as add-proxy or lbd's flags build them. */
START_TEST(test_validate_ipv6_ok)
{
	struct lb_config *cfg = model();
	struct lb_proxy_cfg *p = &cfg->proxies[0], *q = &cfg->proxies[1];

	/* p0 on one IPv6 address: every kernel-balanced group IPv6 too. */
	p->has_address = true;
	p->address = ip("2001:db8::10");
	set_target(&p->default_group.t[0], "2001:db8::1", 8080, 100, &cfg->settings);
	p->routes[0].addr = ip("2001:db8:1::");
	p->routes[0].prefix_len = 48;
	set_target(&p->routes[0].group.t[0], "2001:db8::2", 80, 60, &cfg->settings);
	set_target(&p->routes[0].group.t[1], "::1", 80, 40, &cfg->settings);
	p->routes[1].addr = ip("::");
	p->routes[1].prefix_len = 0;
	set_target(&p->routes[1].group.t[0], "2001:db8::4", 80, 100, &cfg->settings);
	/* p1 on an IPv4 address routes by name to targets of both families. */
	q->has_address = true;
	q->address = ip("10.0.0.11");
	q->sni_routes[0].group.t[0].addr = ip("2001:db8::5");
	q->sni_routes[1].group.t[1].addr = ip("2001:db8::7");
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);

	/* Without an address, p0 serves both families: IPv4 routes and targets join in. */
	p->has_address = false;
	p->routes[1].addr = ip("10.0.0.0");
	p->routes[1].prefix_len = 8;
	set_target(&p->routes[1].group.t[0], "10.0.0.4", 80, 100, &cfg->settings);
	p->default_group.n = 2;
	p->default_group.t[0].weight = 50;
	set_target(&p->default_group.t[1], "10.0.0.1", 8080, 50, &cfg->settings);
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);
	lb_config_free(cfg);
}
END_TEST

START_TEST(test_validate_conflict_ipv6)
{
	struct lb_config *cfg = model();

	/* p1 listens on the same interface and port as p0, on an address of the other family. */
	cfg->proxies[1].port = 80;
	cfg->proxies[0].has_address = true;
	cfg->proxies[0].address = ip("10.0.0.10");
	cfg->proxies[1].has_address = true;
	cfg->proxies[1].address = ip("2001:db8::10");
	ck_assert_msg(lb_config_validate(cfg, err, sizeof(err)) == 0, "%s", err);
	/* p0 on every address of eth0 takes the IPv6 one too. */
	cfg->proxies[0].has_address = false;
	ck_assert_int_eq(lb_config_validate(cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "proxies[1].listen: conflicts with proxies[0] (\"p0\") on eth0 port "
			      "80/tcp");
	/* Two IPv6 listeners on one address. */
	drop_routes(&cfg->proxies[0]);
	cfg->proxies[0].has_address = true;
	cfg->proxies[0].address = ip("2001:db8:0::10");
	set_target(&cfg->proxies[0].default_group.t[0], "2001:db8::1", 8080, 100, &cfg->settings);
	validate_fails(cfg, "proxies[1].listen: conflicts with proxies[0] (\"p0\") on eth0 port "
			    "80/tcp");
}
END_TEST

/* ---- new, dup, free, names ---- */

START_TEST(test_new_dup_free)
{
	struct lb_config *cfg = model(), *d, *e;
	struct lb_settings def;

	cfg->settings.access_log = strdup("/var/log/lbd/access.log");
	ck_assert_ptr_nonnull(cfg->settings.access_log);
	d = lb_config_dup(cfg);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_ne(d->settings.access_log, cfg->settings.access_log);
	ck_assert_str_eq(d->settings.access_log, "/var/log/lbd/access.log");
	ck_assert_uint_eq(d->n_proxies, 2);
	ck_assert_ptr_ne(d->proxies, cfg->proxies);
	ck_assert_ptr_ne(d->proxies[0].routes, cfg->proxies[0].routes);
	for (size_t r = 0; r < 2; r++) {
		const struct lb_route_cfg *a = &d->proxies[0].routes[r],
					  *b = &cfg->proxies[0].routes[r];

		ck_assert(!memcmp(&a->addr, &b->addr, sizeof(a->addr)));
		ck_assert_uint_eq(a->prefix_len, b->prefix_len);
		ck_assert_uint_eq(a->group.n, b->group.n);
		/* Groups are copied, not shared. */
		ck_assert_ptr_ne(a->group.t, b->group.t);
		ck_assert(!memcmp(a->group.t, b->group.t, a->group.n * sizeof(*a->group.t)));
	}
	ck_assert_ptr_ne(d->proxies[0].default_group.t, cfg->proxies[0].default_group.t);
	ck_assert_ptr_null(d->proxies[1].routes);
	ck_assert_ptr_null(d->proxies[0].sni_routes);
	ck_assert_uint_eq(d->proxies[1].n_sni_routes, 2);
	ck_assert_ptr_ne(d->proxies[1].sni_routes, cfg->proxies[1].sni_routes);
	for (size_t r = 0; r < 2; r++) {
		const struct lb_sni_route_cfg *a = &d->proxies[1].sni_routes[r],
					      *b = &cfg->proxies[1].sni_routes[r];

		ck_assert_str_eq(a->hostname, b->hostname);
		ck_assert_uint_eq(a->group.n, b->group.n);
		ck_assert_ptr_ne(a->group.t, b->group.t);
		ck_assert(!memcmp(a->group.t, b->group.t, a->group.n * sizeof(*a->group.t)));
	}
	ck_assert_str_eq(d->proxies[1].name, "p1");
	ck_assert_int_eq(lb_config_validate(d, err, sizeof(err)), 0);
	/* The copy is independent. */
	d->proxies[0].routes[0].prefix_len = 8;
	ck_assert_uint_eq(cfg->proxies[0].routes[0].prefix_len, 16);
	strcpy(d->proxies[1].sni_routes[0].hostname, "www.example.com");
	ck_assert_str_eq(cfg->proxies[1].sni_routes[0].hostname, "api.example.com");
	lb_proxy_cfg_release(&d->proxies[1]);
	ck_assert_ptr_null(d->proxies[1].sni_routes);
	ck_assert_uint_eq(d->proxies[1].n_sni_routes, 0);
	lb_config_free(cfg);
	lb_config_free(d);

	e = lb_config_new();
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->n_proxies, 0);
	lb_settings_default(&def);
	ck_assert(!memcmp(&def, &e->settings, sizeof(def)));
	d = lb_config_dup(e);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(d->proxies);
	ck_assert_ptr_null(d->settings.access_log);
	lb_config_free(d);
	lb_config_free(e);
	lb_config_free(NULL);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(lb_hc_type_name(LB_HC_TCP), "tcp");
	ck_assert_str_eq(lb_hc_type_name(LB_HC_HTTP), "http");
	ck_assert_str_eq(lb_hc_type_name(LB_HC_HTTPS), "https");
	ck_assert_str_eq(lb_hc_type_name(LB_HC_NONE), "none");
	ck_assert_str_eq(lb_hc_type_name((enum lb_hc_type)42), "unknown");
	ck_assert_str_eq(lb_xdp_mode_name(LB_XDP_AUTO), "auto");
	ck_assert_str_eq(lb_xdp_mode_name(LB_XDP_NATIVE), "native");
	ck_assert_str_eq(lb_xdp_mode_name(LB_XDP_GENERIC), "generic");
	ck_assert_str_eq(lb_xdp_mode_name((enum lb_xdp_mode)42), "unknown");
	ck_assert_str_eq(lb_splice_mode_name(LB_SPLICE_AUTO), "auto");
	ck_assert_str_eq(lb_splice_mode_name(LB_SPLICE_SOCKMAP), "sockmap");
	ck_assert_str_eq(lb_splice_mode_name(LB_SPLICE_COPY), "copy");
	ck_assert_str_eq(lb_splice_mode_name((enum lb_splice_mode)42), "unknown");
}
END_TEST

/* ---- files ---- */

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/lbd-test-config-XXXXXX");
	FILE *f;
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

START_TEST(test_file_ok)
{
	char *path =
		write_temp("{\"proxies\": [{\"name\": \"web\",\n"
			   "  \"listen\": {\"interfaces\": [\"eth0\"], \"port\": 80},\n"
			   "  \"default-target\": {\"ip\": \"10.0.0.1\", \"port\": 8080}}]}\n");
	struct lb_config *cfg = NULL;

	ck_assert_msg(lb_config_parse_file(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg->proxies[0].name, "web");
	lb_config_free(cfg);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_file_errors)
{
	struct lb_config *cfg = (struct lb_config *)0x1;
	char dir[] = "/tmp/lbd-test-dir-XXXXXX", expect[LB_ERR_MAX];
	char *path;

	ck_assert_int_eq(lb_config_parse_file("/nonexistent/lbd.json", &cfg, err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "cannot read /nonexistent/lbd.json: No such file or directory");
	ck_assert_ptr_null(cfg);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(lb_config_parse_file(dir, &cfg, err, sizeof(err)), -EISDIR);
	snprintf(expect, sizeof(expect), "cannot read %s: Is a directory", dir);
	ck_assert_str_eq(err, expect);
	rmdir(dir);

	/* Syntax errors carry file:line:column. */
	path = write_temp("{\n  \"proxies\": [\n    }\n");
	ck_assert_int_eq(lb_config_parse_file(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:3:5: ", path);
	ck_assert_msg(!strncmp(err, expect, strlen(expect)), "got %s", err);
	unlink(path);
	free(path);

	path = write_temp("");
	ck_assert_int_eq(lb_config_parse_file(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:1:0: ", path);
	ck_assert_msg(!strncmp(err, expect, strlen(expect)), "got %s", err);
	unlink(path);
	free(path);

	path = write_temp("{\"proxies\": [], \"proxies\": []}");
	ck_assert_int_eq(lb_config_parse_file(path, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "duplicate object key"), "got %s", err);
	unlink(path);
	free(path);

	/* Rule violations read the same as from a string. */
	path = write_temp("{\"proxies\": []}");
	ck_assert_int_eq(lb_config_parse_file(path, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "proxies: must list 1 to 256 proxies (got 0)");
	unlink(path);
	free(path);
}
END_TEST

/*
 * A target listed in several groups of one proxy is checked once: two different
 * health-checks for it are refused, naming both places; one, or the same twice, is fine.
 */
START_TEST(test_one_health_check_per_target)
{
	struct lb_config *cfg;

	parse_fails(PROXY(LISTEN ",'default-target':{'ip':'10.0.0.1','port':8080,"
				 "'health-check':{'type':'tcp'}},"
				 "'source-routes':[{'source':'10.1.0.5','target':{'ip':'10.0.0.1',"
				 "'port':8080,'health-check':{'type':'http','path':'/z'}}}]"),
		    "proxies[0].source-routes[0].target.health-check: differs from the "
		    "health-check 10.0.0.1:8080 has at proxies[0].default-target: a target is "
		    "checked once per proxy",
		    false);
	cfg = parse_ok(PROXY(LISTEN ",'default-target':" T1 ",'source-routes':[{'source':"
				    "'10.1.0.5','target':{'ip':'10.0.0.1','port':8080,"
				    "'health-check':{'type':'http','path':'/z'}}}]"));
	lb_config_free(cfg);
	cfg = parse_ok(PROXY(LISTEN ",'default-target':{'ip':'10.0.0.1','port':8080,"
				    "'health-check':{'type':'http','path':'/z'}},'source-routes':"
				    "[{'source':'10.1.0.5','target':{'ip':'10.0.0.1','port':8080,"
				    "'health-check':{'type':'http','path':'/z'}}}]"));
	lb_config_free(cfg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("accept");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_mode_names);
	tcase_add_test(tc, test_full_config);
	tcase_add_test(tc, test_access_log);
	tcase_add_test(tc, test_hc_resolution);
	tcase_add_test(tc, test_hc_override_all);
	tcase_add_test(tc, test_hc_host_and_tls);
	tcase_add_loop_test(tc, test_accepts, 0, N(accepted));
	tcase_add_test(tc, test_sources);
	tcase_add_test(tc, test_ipv6_config);
	tcase_add_test(tc, test_hash_prefix_families);
	tcase_add_test(tc, test_forwarding);
	tcase_add_test(tc, test_sni_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("sni_match");
	tcase_add_loop_test(tc, test_sni_match, 0, N(matches));
	tcase_add_test(tc, test_sni_match_edges);
	tcase_add_test(tc, test_sni_hostname_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_loop_test(tc, test_refuses, 0, N(refused));
	tcase_add_test(tc, test_null_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_many_routes);
	tcase_add_test(tc, test_route_total);
	tcase_add_test(tc, test_too_many_proxies);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_add_test(tc, test_validate_ok);
	tcase_add_loop_test(tc, test_validate_refuses, 0, N(broken_msgs));
	tcase_add_loop_test(tc, test_validate_by_name, 0, N(broken_msgs));
	tcase_add_test(tc, test_proxy_path);
	tcase_add_test(tc, test_validate_conflict_with_address);
	tcase_add_test(tc, test_validate_ipv6_ok);
	tcase_add_test(tc, test_validate_conflict_ipv6);
	tcase_add_test(tc, test_new_dup_free);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_test(tc, test_one_health_check_per_target);
	tcase_add_test(tc, test_file_ok);
	tcase_add_test(tc, test_file_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
