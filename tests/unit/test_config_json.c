// SPDX-License-Identifier: MIT
/*
 * Unit tests of the JSON pieces the daemon's RPC methods use: one proxy or one target group
 * parsed from JSON with a path prefix (lb_config_proxy_from_json, lb_config_group_from_json),
 * and the model serialised back (lb_config_*_to_json), which must parse to an equal model.
 *
 * JSON is written with single quotes (turned into double quotes before parsing) so the
 * tables stay readable.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* @sq with its single quotes turned into double quotes; free() it. */
static char *dq(const char *sq)
{
	char *text = strdup(sq), *p;

	ck_assert_ptr_nonnull(text);
	for (p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	return text;
}

static json_t *js(const char *sq)
{
	char *text = dq(sq);
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

	ck_assert_msg(j != NULL, "bad test JSON: %s\n%s", je.text, text);
	free(text);
	return j;
}

static struct lb_config *parse_ok(const char *text)
{
	struct lb_config *cfg = NULL;

	/* Check caps a message's size: show the start of the text only. */
	ck_assert_msg(lb_config_parse_string(text, &cfg, err, sizeof(err)) == 0,
		      "refused: %s\n%.1000s", err, text);
	return cfg;
}

/* ---- comparing models field by field, naming the first difference ---- */

static void hc_eq(const struct lb_hc_cfg *a, const struct lb_hc_cfg *b, const char *where)
{
	size_t i;

	ck_assert_msg(a->type == b->type, "%s.type: %d != %d", where, a->type, b->type);
	ck_assert_msg(!strcmp(a->path, b->path), "%s.path: %s != %s", where, a->path, b->path);
	ck_assert_msg(a->interval_ms == b->interval_ms, "%s.interval-ms", where);
	ck_assert_msg(a->timeout_ms == b->timeout_ms, "%s.timeout-ms", where);
	ck_assert_msg(a->healthy_threshold == b->healthy_threshold, "%s.healthy-threshold", where);
	ck_assert_msg(a->unhealthy_threshold == b->unhealthy_threshold, "%s.unhealthy-threshold",
		      where);
	ck_assert_msg(a->n_expected_codes == b->n_expected_codes, "%s.expected-codes: %zu != %zu",
		      where, a->n_expected_codes, b->n_expected_codes);
	for (i = 0; i < a->n_expected_codes; i++)
		ck_assert_msg(a->expected_codes[i] == b->expected_codes[i],
			      "%s.expected-codes[%zu]", where, i);
}

static void group_eq(const struct lb_group_cfg *a, const struct lb_group_cfg *b, const char *where)
{
	char w[128];
	size_t i;

	ck_assert_msg(a->n == b->n, "%s: %zu != %zu targets", where, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		const struct lb_target_cfg *x = &a->t[i], *y = &b->t[i];

		snprintf(w, sizeof(w), "%s[%zu]", where, i);
		ck_assert_msg(lb_ip_eq(&x->addr, &y->addr), "%s.ip", w);
		ck_assert_msg(x->port == y->port, "%s.port", w);
		ck_assert_msg(x->weight == y->weight, "%s.weight: %u != %u", w, x->weight,
			      y->weight);
		ck_assert_msg(x->has_hc == y->has_hc, "%s: has_hc %d != %d", w, x->has_hc,
			      y->has_hc);
		ck_assert_msg(x->proxy_protocol == y->proxy_protocol, "%s.proxy-protocol: %u != %u",
			      w, x->proxy_protocol, y->proxy_protocol);
		snprintf(w, sizeof(w), "%s[%zu].health-check", where, i);
		hc_eq(&x->hc, &y->hc, w);
	}
}

static void proxy_eq(const struct lb_proxy_cfg *a, const struct lb_proxy_cfg *b, const char *where)
{
	char w[128];
	size_t i;

	ck_assert_msg(!strcmp(a->name, b->name), "%s.name: %s != %s", where, a->name, b->name);
	ck_assert_msg(a->n_ifaces == b->n_ifaces, "%s.listen.interfaces", where);
	for (i = 0; i < a->n_ifaces; i++)
		ck_assert_msg(!strcmp(a->ifaces[i], b->ifaces[i]), "%s.listen.interfaces[%zu]",
			      where, i);
	ck_assert_msg(a->port == b->port, "%s.listen.port", where);
	ck_assert_msg(a->protocols == b->protocols, "%s.listen.protocol", where);
	ck_assert_msg(a->has_address == b->has_address, "%s.listen: has_address", where);
	ck_assert_msg(!a->has_address || lb_ip_eq(&a->address, &b->address), "%s.listen.address",
		      where);
	snprintf(w, sizeof(w), "%s.default-target", where);
	group_eq(&a->default_group, &b->default_group, w);
	ck_assert_msg(a->n_routes == b->n_routes, "%s.source-routes: %zu != %zu", where,
		      a->n_routes, b->n_routes);
	for (i = 0; i < a->n_routes; i++) {
		snprintf(w, sizeof(w), "%s.source-routes[%zu]", where, i);
		ck_assert_msg(lb_ip_eq(&a->routes[i].addr, &b->routes[i].addr), "%s.source", w);
		ck_assert_msg(a->routes[i].prefix_len == b->routes[i].prefix_len, "%s.source", w);
		group_eq(&a->routes[i].group, &b->routes[i].group, w);
	}
	ck_assert_msg(a->n_sni_routes == b->n_sni_routes, "%s.sni-routes: %zu != %zu", where,
		      a->n_sni_routes, b->n_sni_routes);
	for (i = 0; i < a->n_sni_routes; i++) {
		snprintf(w, sizeof(w), "%s.sni-routes[%zu]", where, i);
		ck_assert_msg(!strcmp(a->sni_routes[i].hostname, b->sni_routes[i].hostname),
			      "%s.sni-hostname: %s != %s", w, a->sni_routes[i].hostname,
			      b->sni_routes[i].hostname);
		ck_assert_msg(a->sni_routes[i].wildcard == b->sni_routes[i].wildcard,
			      "%s: wildcard", w);
		group_eq(&a->sni_routes[i].group, &b->sni_routes[i].group, w);
	}
}

static void config_eq(const struct lb_config *a, const struct lb_config *b)
{
	const struct lb_settings *x = &a->settings, *y = &b->settings;
	char w[64];
	size_t i;

	ck_assert_msg(x->stats_enabled == y->stats_enabled, "stats-enabled");
	ck_assert_msg(x->connection_timeout_sec == y->connection_timeout_sec,
		      "connection-timeout-sec");
	ck_assert_msg(x->udp_timeout_sec == y->udp_timeout_sec, "udp-timeout-sec");
	ck_assert_msg(x->max_connections == y->max_connections, "max-connections");
	ck_assert_msg(x->health_check_enabled == y->health_check_enabled, "health-check-enabled");
	ck_assert_msg(x->fast_path == y->fast_path, "fast-path");
	hc_eq(&x->health_check_defaults, &y->health_check_defaults, "health-check-defaults");
	ck_assert_msg(x->default_drain_timeout_ms == y->default_drain_timeout_ms,
		      "default-drain-timeout-ms");
	ck_assert_msg(x->drain_check_interval_ms == y->drain_check_interval_ms,
		      "drain-check-interval-ms");
	ck_assert_msg(x->xdp_mode == y->xdp_mode, "xdp-mode");
	ck_assert_msg(x->ingress == y->ingress, "ingress");
	ck_assert_msg(x->sni_hello_timeout_ms == y->sni_hello_timeout_ms, "sni-hello-timeout-ms");
	ck_assert_msg(x->sni_max_pending == y->sni_max_pending, "sni-max-pending");
	ck_assert_msg(x->sni_splice == y->sni_splice, "sni-splice");
	ck_assert_msg(x->metrics_listen == y->metrics_listen, "metrics-listen");
	ck_assert_msg(lb_ip_eq(&x->metrics_addr, &y->metrics_addr) &&
			      x->metrics_port == y->metrics_port,
		      "metrics-listen address");
	ck_assert_msg(!x->access_log == !y->access_log &&
			      (!x->access_log || !strcmp(x->access_log, y->access_log)),
		      "access-log: %s != %s", x->access_log ? x->access_log : "(none)",
		      y->access_log ? y->access_log : "(none)");
	ck_assert_msg(a->n_proxies == b->n_proxies, "proxies: %zu != %zu", a->n_proxies,
		      b->n_proxies);
	for (i = 0; i < a->n_proxies; i++) {
		snprintf(w, sizeof(w), "proxies[%zu]", i);
		proxy_eq(&a->proxies[i], &b->proxies[i], w);
	}
}

/* ---- lb_config_proxy_from_json ---- */

#define LISTEN "'listen':{'interfaces':['eth0'],'port':80}"
#define L63                                                            \
	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij" \
	"abc"
#define T1    "{'ip':'10.0.0.1','port':8080}"
#define DT    "'default-target':" T1
#define PX(b) "{'name':'web'," b "}"
/* IPv6: a listener on one IPv6 address, one on an IPv4 address, a target of each family. */
#define T6	 "{'ip':'2001:db8::1','port':8080}"
#define LISTEN6	 "'listen':{'interfaces':['eth0'],'port':80,'address':'2001:db8::10'}"
#define LISTEN4A "'listen':{'interfaces':['eth0'],'port':80,'address':'10.0.0.10'}"
#define FAMILY_TAIL                                                                         \
	": balancing in the kernel does not translate between families (SNI routes, which " \
	"connect from lbd, may mix them)"

START_TEST(test_proxy_ok)
{
	json_t *j = js("{'name':'web','listen':{'interfaces':['eth0','eth1'],'port':443,"
		       "'protocol':'both','address':'10.0.0.10'},"
		       "'default-target':[{'ip':'10.0.0.1','port':8443,'weight':60},"
		       "{'ip':'10.0.0.2','port':8443,'weight':40,'health-check':{'path':'/ok'}}],"
		       "'source-routes':[{'source':'192.168.0.0/16','target':" T1 "},"
		       "{'source':'10.9.0.1','targets':[" T1 "]}],'sni-routes':[{'sni-hostname':"
		       "'*.Example.com','target':{'ip':'10.0.0.3','port':8443,"
		       "'proxy-protocol':'v2'}}]}");
	struct lb_settings s;
	struct lb_proxy_cfg p;

	lb_settings_default(&s);
	s.health_check_defaults.type = LB_HC_HTTP;
	ck_assert_msg(lb_config_proxy_from_json(j, &s, "proxy", &p, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_str_eq(p.name, "web");
	ck_assert_uint_eq(p.n_ifaces, 2);
	ck_assert_str_eq(p.ifaces[1], "eth1");
	ck_assert_uint_eq(p.port, 443);
	ck_assert_uint_eq(p.protocols, LB_L4_TCP | LB_L4_UDP);
	ck_assert(p.has_address);
	assert_ip(p.address, "10.0.0.10");
	ck_assert_uint_eq(p.default_group.n, 2);
	ck_assert_uint_eq(p.default_group.t[1].weight, 40);
	/* Health checks resolve against the settings given. */
	ck_assert(!p.default_group.t[0].has_hc);
	ck_assert(!memcmp(&p.default_group.t[0].hc, &s.health_check_defaults,
			  sizeof(s.health_check_defaults)));
	ck_assert(p.default_group.t[1].has_hc);
	ck_assert_int_eq(p.default_group.t[1].hc.type, LB_HC_HTTP);
	ck_assert_str_eq(p.default_group.t[1].hc.path, "/ok");
	ck_assert_uint_eq(p.n_routes, 2);
	assert_ip(p.routes[0].addr, "192.168.0.0");
	ck_assert_uint_eq(p.routes[0].prefix_len, 16);
	ck_assert_uint_eq(p.routes[1].prefix_len, 32);
	ck_assert_uint_eq(p.routes[1].group.t[0].weight, 100);
	ck_assert_uint_eq(p.n_sni_routes, 1);
	ck_assert_str_eq(p.sni_routes[0].hostname, "*.example.com");
	ck_assert(p.sni_routes[0].wildcard);
	ck_assert_uint_eq(p.sni_routes[0].group.t[0].proxy_protocol, 2);
	ck_assert_int_eq(p.sni_routes[0].group.t[0].hc.type, LB_HC_HTTP);
	lb_proxy_cfg_release(&p);
	ck_assert_ptr_null(p.sni_routes);
	ck_assert_uint_eq(p.n_sni_routes, 0);
	ck_assert_ptr_null(p.routes);
	ck_assert_uint_eq(p.n_routes, 0);
	lb_proxy_cfg_release(&p); /* twice is harmless */
	lb_proxy_cfg_release(NULL);
	json_decref(j);

	/* No settings: the built-in health-check defaults; no path: messages start at the key. */
	j = js(PX(LISTEN "," DT));
	ck_assert_int_eq(lb_config_proxy_from_json(j, NULL, NULL, &p, err, sizeof(err)), 0);
	lb_settings_default(&s);
	ck_assert(!memcmp(&p.default_group.t[0].hc, &s.health_check_defaults,
			  sizeof(s.health_check_defaults)));
	lb_proxy_cfg_release(&p);
	json_decref(j);
}
END_TEST

START_TEST(test_proxy_ipv6)
{
	json_t *j = js("{'name':'web6','listen':{'interfaces':['eth0'],'port':443,"
		       "'address':'2001:DB8::10'},"
		       "'default-target':[{'ip':'2001:db8::1','port':8443,'weight':60},"
		       "{'ip':'10.0.0.2','port':8443,'weight':40}],"
		       "'source-routes':[{'source':'2001:db8:1::/48','target':" T6 "}],"
		       "'sni-routes':[{'sni-hostname':'a.example.com','targets':["
		       "{'ip':'10.0.0.3','port':8443,'weight':50},"
		       "{'ip':'2001:db8::3','port':8443,'weight':50,'proxy-protocol':'v2'}]}]}");
	struct lb_proxy_cfg p;
	char label[LB_SNI_NAME_MAX + 5];

	ck_assert_msg(lb_config_proxy_from_json(j, NULL, "proxy", &p, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert(p.has_address);
	assert_ip(p.address, "2001:db8::10");
	/* An SNI proxy connects to its targets itself: they may be of either family. */
	assert_ip(p.default_group.t[0].addr, "2001:db8::1");
	assert_ip(p.default_group.t[1].addr, "10.0.0.2");
	ck_assert_uint_eq(p.n_routes, 1);
	assert_ip(p.routes[0].addr, "2001:db8:1::");
	ck_assert_uint_eq(p.routes[0].prefix_len, 48);
	assert_ip(p.routes[0].group.t[0].addr, "2001:db8::1");
	ck_assert_uint_eq(p.routes[0].group.t[0].port, 8080);
	assert_ip(p.sni_routes[0].group.t[1].addr, "2001:db8::3");
	ck_assert_uint_eq(p.sni_routes[0].group.t[1].proxy_protocol, 2);
	/* Replies and events name an IPv6 route by its prefix, RFC 5952 style. */
	ck_assert_str_eq(lb_proxy_group_label(&p, 1, label, sizeof(label)), "2001:db8:1::/48");
	ck_assert_str_eq(lb_proxy_group_label(&p, 2, label, sizeof(label)), "sni:a.example.com");
	lb_proxy_cfg_release(&p);
	json_decref(j);
}
END_TEST

static const struct {
	const char *json, *path, *msg;
} proxy_refused[] = {
	{PX("'listen':{'interfaces':['eth0'],'port':'80'}," DT), "proxy",
	 "proxy.listen.port: must be an integer, not a string"},
	{PX("'listen':{'interfaces':['eth0'],'port':0}," DT), "params.proxy",
	 "params.proxy.listen.port: must be between 1 and 65535 (got 0)"},
	{"['web']", "proxy", "proxy: must be an object, not an array"},
	{"['web']", "", "top level: must be an object, not an array"},
	{PX(LISTEN), "proxy", "proxy: missing required key \"default-target\""},
	{"{" LISTEN "," DT "}", "proxy", "proxy: missing required key \"name\""},
	{PX(LISTEN "," DT ",'default-targets':[]"), "proxy",
	 "proxy: unknown key \"default-targets\" (expected one of: name, listen, default-target, "
	 "source-routes, sni-routes, hash, hash-prefix, forwarding, snat-address, selection)"},
	{"{'name':'we b'," LISTEN "," DT "}", "proxy",
	 "proxy.name: \"we b\" contains a space; use only letters, digits, '_', '.' and '-'"},
	{PX("'listen':{'interfaces':['eth0','eth0'],'port':80}," DT), "proxy",
	 "proxy.listen.interfaces[1]: \"eth0\" is already listed as proxy.listen.interfaces[0]"},
	{PX(LISTEN ",'default-target':[{'ip':'10.0.0.1','port':80,'weight':50},"
		   "{'ip':'10.0.0.2','port':80,'weight':40}]"),
	 "proxy", "proxy.default-target: weights sum to 90, must be 100"},
	{PX(LISTEN ",'default-target':{'ip':'10.0.0.1','port':80,'weight':50}"), "proxy",
	 "proxy.default-target.weight: a lone target's weight must be 100 (got 50); leave it out, "
	 "or add targets so that the weights sum to 100"},
	{PX(LISTEN ",'default-target':['10.0.0.1:80']"), "proxy",
	 "proxy.default-target[0]: must be a target object like {\"ip\": \"10.0.0.1\", \"port\": "
	 "8080}, not a string"},
	{PX(LISTEN "," DT ",'source-routes':[{'source':'192.168.1.5/24','target':" T1 "}]"),
	 "proxy",
	 "proxy.source-routes[0].source: \"192.168.1.5/24\" has host bits set; did you mean "
	 "192.168.1.0/24?"},
	{PX(LISTEN "," DT ",'source-routes':[{'source':'10.0.0.0/8','target':" T1 "},"
		   "{'source':'10.0.0.0/8','target':" T1 "}]"),
	 "proxy",
	 "proxy.source-routes[1].source: 10.0.0.0/8 is already routed by "
	 "proxy.source-routes[0]"},
	{PX(LISTEN "," DT ",'sni-routes':[{}]"), "proxy",
	 "proxy.sni-routes[0]: missing required key \"sni-hostname\""},
	{PX(LISTEN "," DT ",'sni-routes':[{'sni-hostname':'A.example.com','target':" T1 "},"
		   "{'sni-hostname':'a.EXAMPLE.com','target':" T1 "}]"),
	 "proxy",
	 "proxy.sni-routes[1].sni-hostname: \"a.EXAMPLE.com\" is already routed by "
	 "proxy.sni-routes[0]"},
	{PX(LISTEN ",'default-target':{'ip':'10.0.0.1','port':80,'proxy-protocol':'v2'}"), "proxy",
	 "proxy.default-target.proxy-protocol: only targets reached through SNI routing (a proxy "
	 "with sni-routes) can send a PROXY protocol header; this proxy balances in the kernel"},
	/* An override clashing with what the given settings supply. */
	{PX(LISTEN ",'default-target':{'ip':'10.0.0.1','port':80,'health-check':{'timeout-ms':"
		   "2500}}"),
	 "proxy",
	 "proxy.default-target.health-check: timeout-ms (2500) must be less than interval-ms "
	 "(2000); interval-ms is inherited from settings.health-check-defaults"},
	/* IPv6: the family rules apply to a proxy on its own. */
	{PX(LISTEN4A ",'default-target':" T6), "proxy",
	 "proxy.default-target: [2001:db8::1]:8080 is an IPv6 target, but the clients of this "
	 "listener's address are IPv4" FAMILY_TAIL},
	{PX(LISTEN6 ",'default-target':[{'ip':'2001:db8::1','port':80,'weight':50},"
		    "{'ip':'10.0.0.2','port':80,'weight':50}]"),
	 "params.proxy",
	 "params.proxy.default-target[1]: 10.0.0.2:80 is an IPv4 target, but the clients of this "
	 "listener's address are IPv6" FAMILY_TAIL},
	{PX(LISTEN6 ",'default-target':" T6 ",'source-routes':[{'source':'2001:db8:1::/48',"
		    "'target':" T1 "}]"),
	 "proxy",
	 "proxy.source-routes[0].target: 10.0.0.1:8080 is an IPv4 target, but this route's "
	 "clients are IPv6" FAMILY_TAIL},
	{PX(LISTEN4A "," DT ",'source-routes':[{'source':'2001:db8:1::/48','target':" T6 "}]"),
	 "proxy",
	 "proxy.source-routes[0].source: 2001:db8:1::/48 can never match: this listener's address "
	 "10.0.0.10 only receives IPv4 clients"},
	{PX(LISTEN6 ",'default-target':" T6 ",'source-routes':[{'source':'2001:db8:1::1/48',"
		    "'target':" T6 "}]"),
	 "proxy",
	 "proxy.source-routes[0].source: \"2001:db8:1::1/48\" has host bits set; did you mean "
	 "2001:db8:1::/48?"},
	{PX("'listen':{'interfaces':['eth0'],'port':80,'address':'::ffff:10.0.0.10'}," DT), "proxy",
	 "proxy.listen.address: \"::ffff:10.0.0.10\" is not an IP address (an IPv4-mapped "
	 "address: write the IPv4 address a.b.c.d itself)"},
	{PX(LISTEN ",'default-target':{'ip':'fe80::1','port':80}"), "proxy",
	 "proxy.default-target.ip: fe80::1 is a link-local address (fe80::/10), which names no "
	 "interface: use a global or unique local address"},
};

START_TEST(test_proxy_refused)
{
	json_t *j = js(proxy_refused[_i].json);
	struct lb_proxy_cfg p;
	struct lb_settings s;
	int ret;

	lb_settings_default(&s);
	s.health_check_defaults.interval_ms = 2000;
	s.health_check_defaults.timeout_ms = 1000;
	memset(&p, 0xa5, sizeof(p));
	err[0] = '\0';
	ret = lb_config_proxy_from_json(j, &s, proxy_refused[_i].path, &p, err, sizeof(err));
	json_decref(j);
	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_msg(!strcmp(err, proxy_refused[_i].msg), "\ngot:      %s\nexpected: %s", err,
		      proxy_refused[_i].msg);
	/* Nothing to release after a failure, and nothing half-built left behind. */
	ck_assert_ptr_null(p.routes);
	ck_assert_uint_eq(p.n_routes, 0);
	ck_assert_ptr_null(p.sni_routes);
	ck_assert_uint_eq(p.n_sni_routes, 0);
	ck_assert_uint_eq(p.default_group.n, 0);
}
END_TEST

START_TEST(test_proxy_null)
{
	struct lb_proxy_cfg p;

	ck_assert_int_eq(lb_config_proxy_from_json(NULL, NULL, "proxy", &p, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "proxy: no proxy was given");
	/* No room for a message is fine too. */
	ck_assert_int_eq(lb_config_proxy_from_json(NULL, NULL, "proxy", &p, NULL, 0), -EINVAL);
}
END_TEST

/* A NUL inside a name built in code does not cut it short into another, valid name. */
START_TEST(test_proxy_sni_nul)
{
	json_t *j = js(PX(LISTEN "," DT ",'sni-routes':[{'sni-hostname':'x','target':" T1 "}]"));
	json_t *route = json_array_get(json_object_get(j, "sni-routes"), 0);
	struct lb_proxy_cfg p;

	json_object_set_new(route, "sni-hostname", json_stringn("api\0.evil.com", 13));
	ck_assert_int_eq(lb_config_proxy_from_json(j, NULL, "proxy", &p, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "proxy.sni-routes[0].sni-hostname: \"api\" contains \\x00; a server "
			      "name has only letters, digits, '-' and '_' between its dots");
	json_decref(j);
}
END_TEST

/* A proxy accepted alone can still clash with others: lb_config_validate() decides. */
START_TEST(test_proxy_cross_rules_left_to_validate)
{
	struct lb_config *cfg =
		parse_ok("{\"proxies\": [{\"name\": \"web\", \"listen\": "
			 "{\"interfaces\": [\"eth0\"], \"port\": 80}, "
			 "\"default-target\": {\"ip\": \"10.0.0.1\", \"port\": 80}}]}");
	json_t *j = js(PX(LISTEN "," DT));
	struct lb_proxy_cfg *grown;

	grown = realloc(cfg->proxies, 2 * sizeof(*cfg->proxies));
	ck_assert_ptr_nonnull(grown);
	cfg->proxies = grown;
	ck_assert_int_eq(lb_config_proxy_from_json(j, &cfg->settings, "proxy", &cfg->proxies[1],
						   err, sizeof(err)),
			 0);
	cfg->n_proxies = 2;
	ck_assert_int_eq(lb_config_validate(cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "proxies[1].name: \"web\" is already used by proxies[0]");
	json_decref(j);
	lb_config_free(cfg);
}
END_TEST

/* ---- lb_config_group_from_json ---- */

/* The targets of the group group() parsed last: freed by the next call. */
static struct lb_target_cfg *last_targets;

static int group(const char *sq, struct lb_group_cfg *g)
{
	json_t *j = js(sq);
	int ret;

	free(last_targets);
	last_targets = NULL;
	err[0] = '\0';
	memset(g, 0xa5, sizeof(*g));
	ret = lb_config_group_from_json(j, NULL, "targets", g, err, sizeof(err));
	json_decref(j);
	if (!ret)
		last_targets = g->t;
	return ret;
}

static void group_ok(const char *sq, struct lb_group_cfg *g)
{
	ck_assert_msg(group(sq, g) == 0, "refused: %s\n%s", err, sq);
}

START_TEST(test_group_strings)
{
	struct lb_settings s;
	struct lb_group_cfg g;

	lb_settings_default(&s);
	group_ok("['10.0.0.1:80@70', '10.0.0.2:8080@30']", &g);
	ck_assert_uint_eq(g.n, 2);
	assert_ip(g.t[0].addr, "10.0.0.1");
	ck_assert_uint_eq(g.t[0].port, 80);
	ck_assert_uint_eq(g.t[0].weight, 70);
	assert_ip(g.t[1].addr, "10.0.0.2");
	ck_assert_uint_eq(g.t[1].port, 8080);
	ck_assert_uint_eq(g.t[1].weight, 30);
	ck_assert(!g.t[0].has_hc);
	ck_assert(!memcmp(&g.t[1].hc, &s.health_check_defaults, sizeof(g.t[1].hc)));

	/* A lone target: weight optional, and 100 when given. */
	group_ok("['10.0.0.1:80']", &g);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_uint_eq(g.t[0].weight, 100);
	group_ok("['10.0.0.1:80@100']", &g);
	ck_assert_uint_eq(g.t[0].weight, 100);

	/* Weight 0 is a standby in a group of several. */
	group_ok("['10.0.0.1:80@100', '10.0.0.2:80@0']", &g);
	ck_assert_uint_eq(g.t[1].weight, 0);

	group_ok("['127.0.0.1:1@10', '10.0.0.1:2@10', '10.0.0.1:3@10', '10.0.0.1:4@10',"
		 " '10.0.0.1:5@10', '10.0.0.1:6@10', '10.0.0.1:7@20', '10.0.0.1:65535@20']",
		 &g);
	ck_assert_uint_eq(g.n, 8);
	ck_assert_uint_eq(g.t[7].port, 65535);
}
END_TEST

/* "[ipv6]:port[@weight]" strings, next to objects and IPv4 ones: a group alone has no family. */
START_TEST(test_group_ipv6)
{
	struct lb_group_cfg g;

	group_ok("['[2001:db8::1]:8080@70', '10.0.0.2:8080@20',"
		 " {'ip':'2001:DB8::3','port':443,'weight':10}]",
		 &g);
	ck_assert_uint_eq(g.n, 3);
	assert_ip(g.t[0].addr, "2001:db8::1");
	ck_assert_uint_eq(g.t[0].port, 8080);
	ck_assert_uint_eq(g.t[0].weight, 70);
	assert_ip(g.t[1].addr, "10.0.0.2");
	assert_ip(g.t[2].addr, "2001:db8::3");
	ck_assert_uint_eq(g.t[2].port, 443);
	ck_assert_uint_eq(g.t[2].weight, 10);

	group_ok("['[::1]:65535']", &g);
	ck_assert_uint_eq(g.n, 1);
	assert_ip(g.t[0].addr, "::1");
	ck_assert_uint_eq(g.t[0].port, 65535);
	ck_assert_uint_eq(g.t[0].weight, 100);
}
END_TEST

START_TEST(test_group_objects_and_mixed)
{
	struct lb_settings s;
	struct lb_group_cfg g;
	json_t *j;

	group_ok("[{'ip':'10.0.0.1','port':80}]", &g);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_uint_eq(g.t[0].weight, 100);
	ck_assert(!g.t[0].has_hc);

	group_ok("[{'ip':'10.0.0.1','port':80,'weight':25},"
		 " '10.0.0.2:80@75']",
		 &g);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_uint_eq(g.t[0].weight, 25);
	assert_ip(g.t[1].addr, "10.0.0.2");
	ck_assert_uint_eq(g.t[1].weight, 75);

	/* Health checks resolve against the settings given, strings get them unchanged. */
	lb_settings_default(&s);
	s.health_check_defaults.type = LB_HC_HTTPS;
	s.health_check_defaults.healthy_threshold = 7;
	j = js("['10.0.0.1:80@50', {'ip':'10.0.0.2','port':80,'weight':50,"
	       "'health-check':{'type':'http','expected-codes':[301]}}]");
	ck_assert_msg(lb_config_group_from_json(j, &s, "targets", &g, err, sizeof(err)) == 0, "%s",
		      err);
	json_decref(j);
	ck_assert(!g.t[0].has_hc);
	ck_assert(!memcmp(&g.t[0].hc, &s.health_check_defaults, sizeof(g.t[0].hc)));
	ck_assert(g.t[1].has_hc);
	ck_assert_int_eq(g.t[1].hc.type, LB_HC_HTTP);
	ck_assert_uint_eq(g.t[1].hc.healthy_threshold, 7);
	ck_assert_uint_eq(g.t[1].hc.n_expected_codes, 1);
	ck_assert_uint_eq(g.t[1].hc.expected_codes[0], 301);
	lb_group_cfg_release(&g);

	/*
	 * Where the group goes decides whether its targets may send a PROXY protocol header,
	 * so the group alone takes it; lb_config_validate() on its configuration decides.
	 */
	group_ok("[{'ip':'10.0.0.1','port':80,'weight':50,'proxy-protocol':'v2'},"
		 " {'ip':'10.0.0.2','port':80,'weight':50,'proxy-protocol':'none'}]",
		 &g);
	ck_assert_uint_eq(g.t[0].proxy_protocol, 2);
	ck_assert_uint_eq(g.t[1].proxy_protocol, 0);
	group_ok("['10.0.0.1:80']", &g);
	ck_assert_uint_eq(g.t[0].proxy_protocol, 0);
}
END_TEST

#define LONE_TAIL                                                                                \
	"a lone target's weight must be 100 (got 50); leave it out, or add targets so that the " \
	"weights sum to 100"
#define SEVERAL_TAIL "(every target of a group of several needs one, and the weights sum to 100)"

static const struct {
	const char *json, *msg;
} group_refused[] = {
	/* The shape of the group. */
	{"{'ip':'10.0.0.1','port':80}",
	 "targets: must be an array of target objects or \"ip:port[@weight]\" strings, not an "
	 "object"},
	{"'10.0.0.1:80'",
	 "targets: must be an array of target objects or \"ip:port[@weight]\" strings, not a "
	 "string"},
	{"null",
	 "targets: must be an array of target objects or \"ip:port[@weight]\" strings, not null"},
	{"[]", "targets: must list at least one target"},
	{"['10.0.0.1:1@10', '10.0.0.1:2@10', '10.0.0.1:3@10', '10.0.0.1:4@10', '10.0.0.1:5@10',"
	 " '10.0.0.1:6@10', '10.0.0.1:7@20', '10.0.0.1:8@10', '10.0.0.1:9']",
	 "targets[8]: \"10.0.0.1:9\" has no \"@weight\", but targets[0] has one: in a group of "
	 "more than 8 targets (this one has 9) weights are relative shares; give every target a "
	 "weight, or none for equal shares"},
	/* Elements. */
	{"[80]", "targets[0]: must be a target object like {\"ip\": \"10.0.0.1\", \"port\": 8080} "
		 "or a string like \"10.0.0.1:8080@50\", not an integer"},
	{"['10.0.0.1:80@50', ['10.0.0.2:80@50']]",
	 "targets[1]: must be a target object like {\"ip\": \"10.0.0.1\", \"port\": 8080} or a "
	 "string like \"10.0.0.1:8080@50\", not an array"},
	{"['10.0.0.1:80@50', '10.0.0.1:99999@50']",
	 "targets[1]: \"10.0.0.1:99999@50\" is not a valid target: \"99999\" is not a valid port "
	 "(expected a number from 1 to 65535)"},
	{"['10.0.0.1']", "targets[0]: \"10.0.0.1\" is not a target (no ':' before a port; expected "
			 "ip:port, ip:port@weight or [ipv6]:port@weight)"},
	{"['224.0.0.1:80']",
	 "targets[0]: \"224.0.0.1:80\" is not a valid target: 224.0.0.1 is a multicast address "
	 "(224.0.0.0/4), not a usable unicast address"},
	{"['10.0.0.1:80@101']", "targets[0]: \"10.0.0.1:80@101\" is not a valid target: weight "
				"\"101\" is not a number from 0 to 100"},
	{"['10.0.0.1:80@50', {'ip':'10.0.0.2','port':0,'weight':50}]",
	 "targets[1].port: must be between 1 and 65535 (got 0)"},
	{"['10.0.0.1:80@50', {'ip':'10.0.0.2','port':80,'weight':101}]",
	 "targets[1].weight: must be between 0 and 100 (got 101)"},
	{"[{'ip':'10.0.0.1','port':80,'wieght':100}]",
	 "targets[0]: unknown key \"wieght\" (expected one of: ip, port, weight, health-check, "
	 "proxy-protocol)"},
	{"[{'ip':'10.0.0.1','port':80,'proxy-protocol':'v1'}]",
	 "targets[0].proxy-protocol: \"v1\" is not a PROXY protocol version lbd sends (expected "
	 "\"none\" or \"v2\")"},
	{"[{'port':80}]", "targets[0]: missing required key \"ip\""},
	{"[{'ip':'10.0.0.1','port':80,'health-check':{'type':'icmp'}}]",
	 "targets[0].health-check.type: \"icmp\" is not a health-check type (expected \"tcp\", "
	 "\"http\", \"https\" or \"none\")"},
	/* The weight rules, for strings and objects. */
	{"['10.0.0.1:80@50']", "targets[0]: " LONE_TAIL},
	{"[{'ip':'10.0.0.1','port':80,'weight':50}]", "targets[0].weight: " LONE_TAIL},
	{"['10.0.0.1:80@50', '10.0.0.2:80']",
	 "targets[1]: \"10.0.0.2:80\" has no \"@weight\" " SEVERAL_TAIL},
	{"['10.0.0.1:80', '10.0.0.2:80@50']",
	 "targets[0]: \"10.0.0.1:80\" has no \"@weight\" " SEVERAL_TAIL},
	{"['10.0.0.1:80@50', {'ip':'10.0.0.2','port':80}]",
	 "targets[1]: missing required key \"weight\" " SEVERAL_TAIL},
	{"['10.0.0.1:80@50', '10.0.0.2:80@40']", "targets: weights sum to 90, must be 100"},
	{"['10.0.0.1:80@60', {'ip':'10.0.0.2','port':80,'weight':60}]",
	 "targets: weights sum to 120, must be 100"},
	{"['10.0.0.1:80@50', {'ip':'10.0.0.1','port':80,'weight':50}]",
	 "targets[1]: 10.0.0.1:80 is already listed as targets[0]"},
	/* IPv6 targets. */
	{"['2001:db8::1:8080']",
	 "targets[0]: \"2001:db8::1:8080\" is not a target (an IPv6 address is written in brackets "
	 "before its port, as in [2001:db8::1]:8080; expected ip:port, ip:port@weight or "
	 "[ipv6]:port@weight)"},
	{"['[2001:db8::1]8080']",
	 "targets[0]: \"[2001:db8::1]8080\" is not a target (expected ':' and a port after ']'; "
	 "expected ip:port, ip:port@weight or [ipv6]:port@weight)"},
	{"['[2001:db8::1:8080']",
	 "targets[0]: \"[2001:db8::1:8080\" is not a target (an IPv6 address in brackets lacks its "
	 "']'; expected ip:port, ip:port@weight or [ipv6]:port@weight)"},
	{"['[fe80::1]:80']",
	 "targets[0]: \"[fe80::1]:80\" is not a valid target: fe80::1 is a link-local address "
	 "(fe80::/10), which names no interface: use a global or unique local address"},
	{"['[ff02::1]:80']",
	 "targets[0]: \"[ff02::1]:80\" is not a valid target: ff02::1 is a multicast address "
	 "(ff00::/8), not a usable unicast address"},
	{"['[::ffff:10.0.0.1]:80']",
	 "targets[0]: \"[::ffff:10.0.0.1]:80\" is not a valid target: \"::ffff:10.0.0.1\" is not an "
	 "IP address (an IPv4-mapped address: write the IPv4 address a.b.c.d itself)"},
	{"['[2001:db8::1]:80@50', {'ip':'2001:DB8:0::1','port':80,'weight':50}]",
	 "targets[1]: [2001:db8::1]:80 is already listed as targets[0]"},
};

START_TEST(test_group_refused)
{
	struct lb_group_cfg g;

	ck_assert_msg(group(group_refused[_i].json, &g) == -EINVAL, "accepted: %s",
		      group_refused[_i].json);
	ck_assert_msg(!strcmp(err, group_refused[_i].msg), "\ngot:      %s\nexpected: %s", err,
		      group_refused[_i].msg);
	ck_assert_uint_eq(g.n, 0);
}
END_TEST

START_TEST(test_group_null_and_path)
{
	struct lb_group_cfg g;
	json_t *j = js("['10.0.0.1:80@50']");

	ck_assert_int_eq(lb_config_group_from_json(NULL, NULL, "targets", &g, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "targets: no targets were given");
	ck_assert_int_eq(lb_config_group_from_json(j, NULL, "params.targets", &g, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "params.targets[0]: " LONE_TAIL);
	ck_assert_int_eq(lb_config_group_from_json(j, NULL, NULL, &g, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[0]: " LONE_TAIL);
	json_decref(j);
}
END_TEST

/* ---- serialisation ---- */

/* Every feature of the format, nothing left at its default. */
static const char rich_config[] =
	"{'settings': {'stats-enabled': true, 'connection-timeout-sec': 600,"
	"  'udp-timeout-sec': 45, 'max-connections': 200000, 'health-check-enabled': true,"
	"  'health-check-defaults': {'type': 'http', 'interval-ms': 5000, 'timeout-ms': 1000,"
	"    'healthy-threshold': 3, 'unhealthy-threshold': 4, 'path': '/ready',"
	"    'expected-codes': [200, 204]},"
	"  'default-drain-timeout-ms': 60000, 'drain-check-interval-ms': 500,"
	"  'xdp-mode': 'generic', 'ingress': 'xdp', 'sni-hello-timeout-ms': 1500, 'sni-max-pending': 100,"
	"  'sni-splice': 'sockmap', 'metrics-listen': '127.0.0.1:9100',"
	"  'access-log': '/var/log/lbd/access.log'},"
	" 'proxies': [{'name': 'web',"
	"   'listen': {'interfaces': ['eth0', 'eth1'], 'port': 80, 'protocol': 'both',"
	"              'address': '10.0.0.10'},"
	"   'default-target': [{'ip': '10.0.0.1', 'port': 8080, 'weight': 70},"
	"                      {'ip': '10.0.0.2', 'port': 8080, 'weight': 30,"
	"                       'health-check': {'type': 'tcp', 'interval-ms': 2000}}],"
	"   'source-routes': [{'source': '192.168.1.0/24',"
	"                      'target': {'ip': '10.0.0.3', 'port': 8080,"
	"                                 'health-check': {'path': '/a%20b', 'expected-codes': [302]}}},"
	"                     {'source': '10.10.0.0/16',"
	"                      'targets': [{'ip': '10.0.0.4', 'port': 8080, 'weight': 100},"
	"                                  {'ip': '10.0.0.5', 'port': 8080, 'weight': 0}]},"
	"                     {'source': '0.0.0.0/0', 'targets': [{'ip': '127.0.0.1', 'port': 9}]},"
	"                     {'source': '172.16.0.7', 'target': {'ip': '127.0.0.1', 'port': 9000,"
	"                      'weight': 100, 'health-check': {'type': 'none'}}}]},"
	"  {'name': 'dns.udp-1', 'listen': {'interfaces': ['eth0'], 'port': 53, 'protocol': 'udp'},"
	"   'default-target': {'ip': '10.0.1.1', 'port': 53}},"
	"  {'name': 'tls', 'listen': {'interfaces': ['eth2'], 'port': 443, 'protocol': 'tcp'},"
	"   'default-target': [{'ip': '10.0.2.1', 'port': 8443, 'weight': 100,"
	"     'proxy-protocol': 'v2',"
	"     'health-check': {'type': 'https', 'path': '/', 'interval-ms': 300000,"
	"       'timeout-ms': 60000, 'healthy-threshold': 10, 'unhealthy-threshold': 1,"
	"       'expected-codes': [100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301,"
	"                          302, 303, 599]}}],"
	"   'sni-routes': [{'sni-hostname': 'API.example.com.', 'target': {'ip': '10.0.3.1',"
	"                   'port': 8443, 'proxy-protocol': 'none'}},"
	"                  {'sni-hostname': '*.example.com', 'targets': ["
	"                    {'ip': '10.0.3.2', 'port': 8443, 'weight': 60, 'proxy-protocol': 'v2',"
	"                     'health-check': {'type': 'tcp', 'interval-ms': 1000,"
	"                                      'timeout-ms': 500}},"
	"                    {'ip': '10.0.3.3', 'port': 8443, 'weight': 40}]}]},"
	"  {'name': 'both', 'listen': {'interfaces': ['eth3'], 'port': 443, 'protocol': 'both'},"
	"   'default-target': {'ip': '10.0.4.1', 'port': 443},"
	"   'source-routes': [{'source': '10.0.0.0/8', 'target': {'ip': '10.0.4.2', 'port': 443}}],"
	"   'sni-routes': [{'sni-hostname': 'x." L63 "', 'target': {'ip': '10.0.4.3',"
	"                   'port': 443, 'proxy-protocol': 'v2'}}]}]}";

/* IPv6 everywhere an address goes, written in every way RFC 4291 allows. */
static const char ipv6_config[] =
	"{'settings': {'metrics-listen': '[0:0:0:0:0:0:0:1]:9100'},"
	" 'proxies': [{'name': 'web6',"
	"   'listen': {'interfaces': ['eth0'], 'port': 80, 'address': '2001:DB8:0:0::10'},"
	"   'default-target': [{'ip': '2001:0db8:0000:0000:0000:0000:0000:0001', 'port': 8080,"
	"                       'weight': 40},"
	"                      {'ip': '2001:db8:0:1:1:1:1:1', 'port': 8080, 'weight': 30},"
	"                      {'ip': '2001:db8:0:0:1:0:0:1', 'port': 8080, 'weight': 20},"
	"                      {'ip': '2001:0:0:1:0:0:0:1', 'port': 8080, 'weight': 10}],"
	"   'source-routes': [{'source': '2001:db8:1:0::/48',"
	"                      'target': {'ip': '2001:db8::2', 'port': 8080}},"
	"                     {'source': '::/0', 'target': {'ip': '::1', 'port': 9}},"
	"                     {'source': '2001:db8:2::7', 'target': {'ip': 'fd00::2', 'port': 9}}]},"
	"  {'name': 'dual', 'listen': {'interfaces': ['eth1'], 'port': 443},"
	"   'default-target': [{'ip': '10.0.0.1', 'port': 8443, 'weight': 50},"
	"                      {'ip': '2001:db8::1', 'port': 8443, 'weight': 50}],"
	"   'source-routes': [{'source': '10.0.0.0/8', 'target': {'ip': '10.0.0.2', 'port': 8443}},"
	"                     {'source': '2001:db8::/32', 'target': {'ip': '2001:db8::2',"
	"                      'port': 8443}}],"
	"   'sni-routes': [{'sni-hostname': 'api.example.com', 'targets': ["
	"     {'ip': '2001:db8::5', 'port': 8443, 'weight': 50, 'proxy-protocol': 'v2'},"
	"     {'ip': '10.0.0.5', 'port': 8443, 'weight': 50}]}]},"
	"  {'name': 'sni4', 'listen': {'interfaces': ['eth0'], 'port': 443,"
	"   'address': '10.0.0.10'},"
	"   'default-target': {'ip': '2001:db8::9', 'port': 8443},"
	"   'sni-routes': [{'sni-hostname': '*.example.com',"
	"                   'target': {'ip': '2001:db8::a', 'port': 8443}}]}]}";

static size_t first_diff(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

/* parse(@text) -> to_json -> dump -> parse: the same model, and the same text again. */
static void round_trip(const char *text)
{
	struct lb_config *a = parse_ok(text), *b;
	char *dump1, *dump2;
	size_t n;
	json_t *j;

	j = lb_config_to_json(a);
	ck_assert_ptr_nonnull(j);
	dump1 = json_dumps(j, JSON_INDENT(2));
	ck_assert_ptr_nonnull(dump1);
	json_decref(j);
	b = parse_ok(dump1);
	config_eq(a, b);
	ck_assert_int_eq(lb_config_validate(b, err, sizeof(err)), 0);

	j = lb_config_to_json(b);
	ck_assert_ptr_nonnull(j);
	dump2 = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	n = first_diff(dump1, dump2);
	ck_assert_msg(!strcmp(dump1, dump2),
		      "not a fixed point, from byte %zu:\n%.300s\n---\n%.300s", n, dump1 + n,
		      dump2 + n);
	free(dump1);
	free(dump2);
	lb_config_free(a);
	lb_config_free(b);
}

START_TEST(test_round_trip_rich)
{
	char *text = dq(rich_config);

	round_trip(text);
	free(text);
}
END_TEST

START_TEST(test_round_trip_minimal)
{
	char *text = dq("{'proxies':[" PX(LISTEN "," DT) "]}");

	round_trip(text);
	free(text);
}
END_TEST

START_TEST(test_round_trip_ipv6)
{
	char *text = dq(ipv6_config);

	round_trip(text);
	free(text);
}
END_TEST

/* The string at @key of @o. */
static const char *str_at(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	ck_assert_msg(v != NULL, "no string at \"%s\"", key);
	return v;
}

/* IPv6 comes back in the one form of RFC 5952: lowercase, zeros compressed once, longest. */
START_TEST(test_to_json_ipv6_text)
{
	char *text = dq(ipv6_config);
	struct lb_config *cfg = parse_ok(text);
	json_t *j = lb_config_to_json(cfg), *p, *t, *r;

	ck_assert_str_eq(str_at(json_object_get(j, "settings"), "metrics-listen"), "[::1]:9100");
	p = json_array_get(json_object_get(j, "proxies"), 0);
	ck_assert_str_eq(str_at(json_object_get(p, "listen"), "address"), "2001:db8::10");
	t = json_object_get(p, "default-target");
	ck_assert_str_eq(str_at(json_array_get(t, 0), "ip"), "2001:db8::1");
	/* A lone zero field stays; of two equal runs, the first is compressed. */
	ck_assert_str_eq(str_at(json_array_get(t, 1), "ip"), "2001:db8:0:1:1:1:1:1");
	ck_assert_str_eq(str_at(json_array_get(t, 2), "ip"), "2001:db8::1:0:0:1");
	ck_assert_str_eq(str_at(json_array_get(t, 3), "ip"), "2001:0:0:1::1");
	r = json_object_get(p, "source-routes");
	ck_assert_str_eq(str_at(json_array_get(r, 0), "source"), "2001:db8:1::/48");
	ck_assert_str_eq(str_at(json_array_get(r, 1), "source"), "::/0");
	ck_assert_str_eq(str_at(json_array_get(r, 2), "source"), "2001:db8:2::7/128");
	ck_assert_str_eq(
		str_at(json_array_get(json_object_get(json_array_get(r, 1), "targets"), 0), "ip"),
		"::1");

	/* Both families side by side where they may mix. */
	p = json_array_get(json_object_get(j, "proxies"), 1);
	t = json_object_get(p, "default-target");
	ck_assert_str_eq(str_at(json_array_get(t, 0), "ip"), "10.0.0.1");
	ck_assert_str_eq(str_at(json_array_get(t, 1), "ip"), "2001:db8::1");
	r = json_object_get(p, "sni-routes");
	t = json_object_get(json_array_get(r, 0), "targets");
	ck_assert_str_eq(str_at(json_array_get(t, 0), "ip"), "2001:db8::5");
	ck_assert_str_eq(str_at(json_array_get(t, 0), "proxy-protocol"), "v2");
	ck_assert_str_eq(str_at(json_array_get(t, 1), "ip"), "10.0.0.5");
	p = json_array_get(json_object_get(j, "proxies"), 2);
	ck_assert_str_eq(str_at(json_object_get(p, "listen"), "address"), "10.0.0.10");

	json_decref(j);
	lb_config_free(cfg);
	free(text);
}
END_TEST

/* Optional settings come back only when set: absent and null both mean "none". */
START_TEST(test_round_trip_optional_absent)
{
	static const char *const texts[] = {
		"{'proxies':[" PX(LISTEN "," DT) "]}",
		"{'proxies':[" PX(LISTEN "," DT) "],'settings':{'access-log':null}}",
	};
	struct lb_config *cfg;
	json_t *j, *s;
	char *text;
	int i;

	for (i = 0; i < N(texts); i++) {
		text = dq(texts[i]);
		round_trip(text);
		cfg = parse_ok(text);
		ck_assert_ptr_null(cfg->settings.access_log);
		j = lb_config_to_json(cfg);
		ck_assert_ptr_nonnull(j);
		s = json_object_get(j, "settings");
		ck_assert_ptr_null(json_object_get(s, "access-log"));
		ck_assert_ptr_null(json_object_get(s, "metrics-listen"));
		json_decref(j);
		lb_config_free(cfg);
		free(text);
	}
}
END_TEST

/* The shipped examples, when the build tells us where they are. */
START_TEST(test_round_trip_examples)
{
	static const char *const names[] = {"lb.json", "weighted.json"};
	const char *dir = getenv("LBD_EXAMPLES");
	struct lb_config *a, *b;
	char path[512];
	char *dump;
	json_t *j;
	int i;

	if (!dir)
		return;
	for (i = 0; i < N(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ck_assert_msg(lb_config_parse_file(path, &a, err, sizeof(err)) == 0, "%s", err);
		j = lb_config_to_json(a);
		dump = json_dumps(j, 0);
		b = parse_ok(dump);
		config_eq(a, b);
		free(dump);
		json_decref(j);
		lb_config_free(a);
		lb_config_free(b);
	}
}
END_TEST

/*
 * The RPC pieces round-trip too: proxy and group JSON back through their parsers, for the rich
 * configuration (0) and the IPv6 one (1).
 */
START_TEST(test_round_trip_rpc)
{
	char *text = dq(_i ? ipv6_config : rich_config);
	struct lb_config *cfg = parse_ok(text);
	struct lb_group_cfg g;
	struct lb_proxy_cfg p;
	size_t i;
	json_t *j;

	for (i = 0; i < cfg->n_proxies; i++) {
		j = lb_config_proxy_to_json(&cfg->proxies[i]);
		ck_assert_ptr_nonnull(j);
		ck_assert_msg(lb_config_proxy_from_json(j, &cfg->settings, "proxy", &p, err,
							sizeof(err)) == 0,
			      "%s", err);
		proxy_eq(&cfg->proxies[i], &p, "proxy");
		lb_proxy_cfg_release(&p);
		json_decref(j);

		j = lb_config_group_to_json(&cfg->proxies[i].default_group);
		ck_assert_ptr_nonnull(j);
		ck_assert_msg(lb_config_group_from_json(j, &cfg->settings, "targets", &g, err,
							sizeof(err)) == 0,
			      "%s", err);
		group_eq(&cfg->proxies[i].default_group, &g, "targets");
		lb_group_cfg_release(&g);
		json_decref(j);
	}
	lb_config_free(cfg);
	free(text);
}
END_TEST

/* The keys of @o, in order, joined with commas. */
static const char *keys(const json_t *o)
{
	static char buf[512];
	const char *k;
	size_t off = 0;
	json_t *v;

	ck_assert_msg(json_is_object(o), "not an object");
	buf[0] = '\0';
	json_object_foreach ((json_t *)o, k, v)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "", k);
	return buf;
}

#define HC_KEYS \
	"type,path,interval-ms,timeout-ms,healthy-threshold,unhealthy-threshold,expected-codes"

START_TEST(test_to_json_keys)
{
	char *text = dq(rich_config);
	struct lb_config *cfg = parse_ok(text);
	json_t *j = lb_config_to_json(cfg), *s, *p, *l, *t, *r, *hc;

	ck_assert_str_eq(keys(j), "proxies,settings");

	s = json_object_get(j, "settings");
	ck_assert_str_eq(keys(s),
			 "stats-enabled,connection-timeout-sec,udp-timeout-sec,"
			 "max-connections,default-drain-timeout-ms,drain-check-interval-ms,"
			 "sni-hello-timeout-ms,sni-max-pending,hash-seed,maglev-table-size,"
			 "announce-table,announce-protocol,"
			 "snat-port-min,snat-port-max,"
			 "health-check-enabled,fast-path,health-check-defaults,xdp-mode,ingress,"
			 "sni-splice,"
			 "metrics-listen,access-log");
	ck_assert_str_eq(json_string_value(json_object_get(s, "metrics-listen")), "127.0.0.1:9100");
	ck_assert_str_eq(json_string_value(json_object_get(s, "access-log")),
			 "/var/log/lbd/access.log");
	ck_assert(json_is_true(json_object_get(s, "stats-enabled")));
	ck_assert_int_eq(json_integer_value(json_object_get(s, "udp-timeout-sec")), 45);
	ck_assert_str_eq(json_string_value(json_object_get(s, "xdp-mode")), "generic");
	ck_assert_str_eq(json_string_value(json_object_get(s, "ingress")), "xdp");
	ck_assert_int_eq(json_integer_value(json_object_get(s, "sni-hello-timeout-ms")), 1500);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "sni-max-pending")), 100);
	ck_assert_str_eq(json_string_value(json_object_get(s, "sni-splice")), "sockmap");
	hc = json_object_get(s, "health-check-defaults");
	ck_assert_str_eq(keys(hc), HC_KEYS ",tls-verify"); /* the defaults of https targets */
	ck_assert_str_eq(json_string_value(json_object_get(hc, "type")), "http");
	ck_assert_str_eq(json_string_value(json_object_get(hc, "path")), "/ready");
	ck_assert_int_eq(json_array_size(json_object_get(hc, "expected-codes")), 2);

	ck_assert_int_eq(json_array_size(json_object_get(j, "proxies")), 4);
	p = json_array_get(json_object_get(j, "proxies"), 0);
	/* "sni-routes" only when there are some. */
	ck_assert_str_eq(keys(p), "name,listen,default-target,source-routes");
	ck_assert_str_eq(json_string_value(json_object_get(p, "name")), "web");
	l = json_object_get(p, "listen");
	ck_assert_str_eq(keys(l), "interfaces,port,protocol,address");
	ck_assert_int_eq(json_array_size(json_object_get(l, "interfaces")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(l, "interfaces"), 1)),
			 "eth1");
	ck_assert_int_eq(json_integer_value(json_object_get(l, "port")), 80);
	ck_assert_str_eq(json_string_value(json_object_get(l, "protocol")), "both");
	ck_assert_str_eq(json_string_value(json_object_get(l, "address")), "10.0.0.10");

	t = json_object_get(p, "default-target");
	ck_assert(json_is_array(t));
	ck_assert_str_eq(keys(json_array_get(t, 0)), "ip,port,weight");
	ck_assert_str_eq(keys(json_array_get(t, 1)), "ip,port,weight,health-check");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t, 0), "ip")),
			 "10.0.0.1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 0), "weight")), 70);
	/* The resolved check: the override plus everything inherited. */
	hc = json_object_get(json_array_get(t, 1), "health-check");
	ck_assert_str_eq(keys(hc), HC_KEYS);
	ck_assert_str_eq(json_string_value(json_object_get(hc, "type")), "tcp");
	ck_assert_int_eq(json_integer_value(json_object_get(hc, "interval-ms")), 2000);
	ck_assert_str_eq(json_string_value(json_object_get(hc, "path")), "/ready");

	r = json_object_get(p, "source-routes");
	ck_assert_int_eq(json_array_size(r), 4);
	ck_assert_str_eq(keys(json_array_get(r, 0)), "source,targets");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "source")),
			 "192.168.1.0/24");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 2), "source")),
			 "0.0.0.0/0");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 3), "source")),
			 "172.16.0.7/32");
	/* A lone target is an array of one, with its weight. */
	t = json_object_get(json_array_get(r, 0), "targets");
	ck_assert_int_eq(json_array_size(t), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 0), "weight")), 100);

	/* Without an address and routes, those keys are left out. */
	p = json_array_get(json_object_get(j, "proxies"), 1);
	ck_assert_str_eq(keys(p), "name,listen,default-target");
	ck_assert_str_eq(keys(json_object_get(p, "listen")), "interfaces,port,protocol");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(p, "listen"), "protocol")),
		"udp");
	t = json_object_get(p, "default-target");
	ck_assert_int_eq(json_array_size(t), 1);
	ck_assert_str_eq(keys(json_array_get(t, 0)), "ip,port,weight");

	/* SNI routes: names as stored (lowercase, no trailing dot), groups as "targets". */
	p = json_array_get(json_object_get(j, "proxies"), 2);
	ck_assert_str_eq(keys(p), "name,listen,default-target,sni-routes");
	t = json_object_get(p, "default-target");
	ck_assert_str_eq(keys(json_array_get(t, 0)), "ip,port,weight,proxy-protocol,health-check");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t, 0), "proxy-protocol")),
			 "v2");
	r = json_object_get(p, "sni-routes");
	ck_assert_int_eq(json_array_size(r), 2);
	ck_assert_str_eq(keys(json_array_get(r, 0)), "sni-hostname,targets");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "sni-hostname")),
			 "api.example.com");
	t = json_object_get(json_array_get(r, 0), "targets");
	ck_assert_str_eq(keys(json_array_get(t, 0)), "ip,port,weight");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 1), "sni-hostname")),
			 "*.example.com");
	t = json_object_get(json_array_get(r, 1), "targets");
	ck_assert_int_eq(json_array_size(t), 2);
	ck_assert_str_eq(keys(json_array_get(t, 0)), "ip,port,weight,proxy-protocol,health-check");
	ck_assert_str_eq(keys(json_array_get(t, 1)), "ip,port,weight");
	p = json_array_get(json_object_get(j, "proxies"), 3);
	ck_assert_str_eq(keys(p), "name,listen,default-target,source-routes,sni-routes");

	json_decref(j);
	lb_config_free(cfg);
	free(text);
}
END_TEST

START_TEST(test_to_json_refuses)
{
	struct lb_config *cfg = lb_config_new();
	struct lb_proxy_cfg p;
	struct lb_group_cfg g;
	json_t *j;

	errno = 0;
	ck_assert_ptr_null(lb_config_to_json(NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(lb_config_proxy_to_json(NULL));
	ck_assert_ptr_null(lb_config_group_to_json(NULL));

	/* A model without proxies (all removed at run time) still serialises. */
	j = lb_config_to_json(cfg);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_array_size(json_object_get(j, "proxies")), 0);
	json_decref(j);

	/* Values the format has no word for. */
	cfg->settings.xdp_mode = (enum lb_xdp_mode)7;
	errno = 0;
	ck_assert_ptr_null(lb_config_to_json(cfg));
	ck_assert_int_eq(errno, EINVAL);
	cfg->settings.xdp_mode = LB_XDP_AUTO;
	cfg->settings.sni_splice = (enum lb_splice_mode)7;
	errno = 0;
	ck_assert_ptr_null(lb_config_to_json(cfg));
	ck_assert_int_eq(errno, EINVAL);
	lb_config_free(cfg);

	memset(&p, 0, sizeof(p));
	strcpy(p.name, "web");
	p.n_ifaces = 1;
	strcpy(p.ifaces[0], "eth0");
	p.port = 80;
	ck_assert_int_eq(lb_group_cfg_alloc(&p.default_group, 1), 0);
	p.default_group.t[0].addr = ip("10.0.0.1");
	p.default_group.t[0].port = 80;
	p.default_group.t[0].weight = 100;
	p.protocols = LB_L4_TCP;
	j = lb_config_proxy_to_json(&p);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
	p.protocols = 0;
	errno = 0;
	ck_assert_ptr_null(lb_config_proxy_to_json(&p));
	ck_assert_int_eq(errno, EINVAL);
	p.protocols = LB_L4_TCP;
	p.default_group.t[0].has_hc = true;
	p.default_group.t[0].hc.type = (enum lb_hc_type)9;
	ck_assert_ptr_null(lb_config_proxy_to_json(&p));
	p.default_group.t[0].has_hc = false;
	p.default_group.t[0].proxy_protocol = 1;
	errno = 0;
	ck_assert_ptr_null(lb_config_proxy_to_json(&p));
	ck_assert_int_eq(errno, EINVAL);
	p.default_group.t[0].proxy_protocol = 2;
	j = lb_config_proxy_to_json(&p);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
	p.n_sni_routes = 1; /* but no route array */
	errno = 0;
	ck_assert_ptr_null(lb_config_proxy_to_json(&p));
	ck_assert_int_eq(errno, EINVAL);
	p.n_sni_routes = 0;
	p.n_routes = 1; /* but no route array */
	ck_assert_ptr_null(lb_config_proxy_to_json(&p));
	p.n_routes = 0;
	lb_proxy_cfg_release(&p);

	memset(&g, 0, sizeof(g));
	g.n = LB_MAX_TARGETS_PER_GROUP + 1;
	errno = 0;
	ck_assert_ptr_null(lb_config_group_to_json(&g));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *config_json_suite(void)
{
	Suite *s = suite_create("config_json");
	TCase *tc;

	tc = tcase_create("proxy");
	tcase_add_test(tc, test_proxy_ok);
	tcase_add_test(tc, test_proxy_ipv6);
	tcase_add_loop_test(tc, test_proxy_refused, 0, N(proxy_refused));
	tcase_add_test(tc, test_proxy_null);
	tcase_add_test(tc, test_proxy_sni_nul);
	tcase_add_test(tc, test_proxy_cross_rules_left_to_validate);
	suite_add_tcase(s, tc);

	tc = tcase_create("group");
	tcase_add_test(tc, test_group_strings);
	tcase_add_test(tc, test_group_ipv6);
	tcase_add_test(tc, test_group_objects_and_mixed);
	tcase_add_loop_test(tc, test_group_refused, 0, N(group_refused));
	tcase_add_test(tc, test_group_null_and_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("to_json");
	tcase_add_test(tc, test_round_trip_rich);
	tcase_add_test(tc, test_round_trip_minimal);
	tcase_add_test(tc, test_round_trip_optional_absent);
	tcase_add_test(tc, test_round_trip_examples);
	tcase_add_loop_test(tc, test_round_trip_rpc, 0, 2);
	tcase_add_test(tc, test_round_trip_ipv6);
	tcase_add_test(tc, test_to_json_ipv6_text);
	tcase_add_test(tc, test_to_json_keys);
	tcase_add_test(tc, test_to_json_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
