// SPDX-License-Identifier: MIT
/*
 * lb_config_json.c - the model back to the configuration file format, for the daemon's
 * JSON-RPC answers and lbctl.
 *
 * What comes out parses back to an equal model: keys and words come from the parser's own
 * tables, every resolved value is written (settings, health checks) and every target carries
 * its weight, which the parser accepts for a lone target too as long as it is 100.
 *
 * Each builder either returns a complete value or NULL with nothing leaked:
 * json_object_set_new() and json_array_append_new() take their value even when they fail,
 * and a value is only built once everything before it has succeeded.
 */
#include <errno.h>
#include <string.h>

#include "lb_addr.h"
#include "lb_config_priv.h"

/* @j, or NULL (and @j freed) when building it failed. */
static json_t *finish(json_t *j, int failed)
{
	if (!failed)
		return j;
	json_decref(j);
	return NULL;
}

/* A fixed-size char array of the model, which need not be NUL-terminated at its end. */
static json_t *str_field(const char *s, size_t size)
{
	return json_stringn(s, strnlen(s, size));
}

/* The word for enum value @i; NULL with EINVAL for a value the format has no word for. */
static json_t *word(const char *const *names, size_t n, unsigned int i)
{
	if (i >= n || !names[i]) {
		errno = EINVAL;
		return NULL;
	}
	return json_string(names[i]);
}

static int put_u32_fields(json_t *o, const void *base, const struct u32_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (json_object_set_new(o, f[i].key, json_integer(field_get(base, &f[i]))))
			return -1;
	return 0;
}

static json_t *codes_to_json(const struct lb_hc_cfg *hc)
{
	json_t *a = json_array();
	size_t i;
	int ret = !a || hc->n_expected_codes > LB_HC_CODES_MAX;

	for (i = 0; !ret && i < hc->n_expected_codes; i++)
		ret = json_array_append_new(a, json_integer(hc->expected_codes[i]));
	return finish(a, ret);
}

/* @defaults: settings.health-check-defaults, whose TLS keys serve https targets. */
static json_t *hc_to_json(const struct lb_hc_cfg *hc, bool defaults)
{
	bool tls = defaults || hc->type == LB_HC_HTTPS;
	json_t *o = json_object();
	int ret;

	ret = json_object_set_new(
		      o, "type",
		      word(lb_cfg_hc_type_names, ARRAY_SIZE(lb_cfg_hc_type_names), hc->type)) ||
	      json_object_set_new(o, "path", str_field(hc->path, sizeof(hc->path))) ||
	      put_u32_fields(o, hc, lb_cfg_hc_fields, ARRAY_SIZE(lb_cfg_hc_fields)) ||
	      json_object_set_new(o, "expected-codes", codes_to_json(hc)) ||
	      (hc->host && json_object_set_new(o, "host", json_string(hc->host))) ||
	      (tls && json_object_set_new(o, "tls-verify", json_boolean(hc->tls_verify))) ||
	      (tls && hc->ca_file && hc->tls_verify &&
	       json_object_set_new(o, "ca-file", json_string(hc->ca_file)));
	return finish(o, ret);
}

static json_t *target_to_json(const struct lb_target_cfg *t)
{
	char a[LB_ADDR_STR_MAX];
	json_t *o = json_object();
	int ret;

	ret = json_object_set_new(o, "ip", json_string(lb_format_ip(&t->addr, a))) ||
	      json_object_set_new(o, "port", json_integer(t->port)) ||
	      json_object_set_new(o, "weight", json_integer(t->weight)) ||
	      (t->proxy_protocol &&
	       json_object_set_new(
		       o, "proxy-protocol",
		       word(lb_cfg_pp_names, ARRAY_SIZE(lb_cfg_pp_names), t->proxy_protocol))) ||
	      (t->has_hc && json_object_set_new(o, "health-check", hc_to_json(&t->hc, false)));
	return finish(o, ret);
}

json_t *lb_config_group_to_json(const struct lb_group_cfg *g)
{
	json_t *a;
	size_t i;
	int ret;

	if (!g || g->n > LB_MAX_TARGETS_PER_GROUP || (g->n && !g->t)) {
		errno = EINVAL;
		return NULL;
	}
	a = json_array();
	ret = !a;
	for (i = 0; !ret && i < g->n; i++)
		ret = json_array_append_new(a, target_to_json(&g->t[i]));
	return finish(a, ret);
}

static json_t *route_to_json(const void *item)
{
	const struct lb_route_cfg *r = item;
	char net[LB_TARGET_STR_MAX];
	json_t *o = json_object();
	int ret;

	ret = json_object_set_new(o, "source",
				  json_string(lb_format_cidr(&r->addr, r->prefix_len, net))) ||
	      json_object_set_new(o, "targets", lb_config_group_to_json(&r->group));
	return finish(o, ret);
}

static json_t *sni_route_to_json(const void *item)
{
	const struct lb_sni_route_cfg *r = item;
	json_t *o = json_object();
	int ret;

	ret = json_object_set_new(o, "sni-hostname", str_field(r->hostname, sizeof(r->hostname))) ||
	      json_object_set_new(o, "targets", lb_config_group_to_json(&r->group));
	return finish(o, ret);
}

/* The @n routes of @size at @items, each written by @one. */
static json_t *routes_to_json(const void *items, size_t n, size_t size,
			      json_t *(*one)(const void *item))
{
	json_t *a;
	size_t i;
	int ret;

	if (!items) {
		errno = EINVAL;
		return NULL;
	}
	a = json_array();
	ret = !a;
	for (i = 0; !ret && i < n; i++)
		ret = json_array_append_new(a, one((const char *)items + i * size));
	return finish(a, ret);
}

static json_t *ifaces_to_json(const struct lb_proxy_cfg *p)
{
	json_t *a = json_array();
	size_t i;
	int ret = !a || p->n_ifaces > LB_MAX_IFACES_PER_PROXY;

	for (i = 0; !ret && i < p->n_ifaces; i++)
		ret = json_array_append_new(a, str_field(p->ifaces[i], sizeof(p->ifaces[i])));
	return finish(a, ret);
}

static json_t *listen_to_json(const struct lb_proxy_cfg *p)
{
	char a[LB_ADDR_STR_MAX];
	json_t *o = json_object();
	int ret;

	ret = json_object_set_new(o, "interfaces", ifaces_to_json(p)) ||
	      json_object_set_new(o, "port", json_integer(p->port)) ||
	      json_object_set_new(o, "protocol",
				  word(lb_cfg_protocol_names, ARRAY_SIZE(lb_cfg_protocol_names),
				       p->protocols)) ||
	      (p->has_address &&
	       json_object_set_new(o, "address", json_string(lb_format_ip(&p->address, a))));
	return finish(o, ret);
}

/* "snat-address" as an array: IPv4 first. */
static json_t *snat_to_json(const struct lb_snat_cfg *s)
{
	char a[LB_ADDR_STR_MAX];
	json_t *arr = json_array();
	int ret = 0;

	if (s->has_v4)
		ret = json_array_append_new(arr, json_string(lb_format_ip(&s->v4, a)));
	if (!ret && s->has_v6)
		ret = json_array_append_new(arr, json_string(lb_format_ip(&s->v6, a)));
	return finish(arr, ret);
}

json_t *lb_config_proxy_to_json(const struct lb_proxy_cfg *p)
{
	json_t *o;
	int ret;

	if (!p) {
		errno = EINVAL;
		return NULL;
	}
	o = json_object();
	ret = json_object_set_new(o, "name", str_field(p->name, sizeof(p->name))) ||
	      json_object_set_new(o, "listen", listen_to_json(p)) ||
	      json_object_set_new(o, "default-target",
				  lb_config_group_to_json(&p->default_group)) ||
	      (p->n_routes &&
	       json_object_set_new(o, "source-routes",
				   routes_to_json(p->routes, p->n_routes, sizeof(*p->routes),
						  route_to_json))) ||
	      (p->n_sni_routes &&
	       json_object_set_new(o, "sni-routes",
				   routes_to_json(p->sni_routes, p->n_sni_routes,
						  sizeof(*p->sni_routes), sni_route_to_json))) ||
	      /* The default (5-tuple) is left out, as a file that never heard of it says. */
	      (p->hash != LB_HASH_5TUPLE &&
	       json_object_set_new(
		       o, "hash",
		       word(lb_cfg_hash_names, ARRAY_SIZE(lb_cfg_hash_names), p->hash))) ||
	      (p->has_hash_prefix &&
	       json_object_set_new(o, "hash-prefix", json_integer(p->hash_prefix))) ||
	      (p->forwarding != LB_FWD_NAT &&
	       json_object_set_new(o, "forwarding",
				   word(lb_cfg_forwarding_names,
					ARRAY_SIZE(lb_cfg_forwarding_names), p->forwarding))) ||
	      (p->selection != LB_SEL_MAGLEV &&
	       json_object_set_new(o, "selection",
				   word(lb_cfg_selection_names, ARRAY_SIZE(lb_cfg_selection_names),
					p->selection))) ||
	      ((p->snat.has_v4 || p->snat.has_v6) &&
	       json_object_set_new(o, "snat-address", snat_to_json(&p->snat)));
	return finish(o, ret);
}

static json_t *settings_to_json(const struct lb_settings *s)
{
	char ep[LB_TARGET_STR_MAX];
	json_t *o = json_object();
	int ret;

	ret = json_object_set_new(o, "stats-enabled", json_boolean(s->stats_enabled)) ||
	      put_u32_fields(o, s, lb_cfg_settings_fields, ARRAY_SIZE(lb_cfg_settings_fields)) ||
	      json_object_set_new(o, "health-check-enabled",
				  json_boolean(s->health_check_enabled)) ||
	      json_object_set_new(o, "fast-path", json_boolean(s->fast_path)) ||
	      json_object_set_new(o, "health-check-defaults",
				  hc_to_json(&s->health_check_defaults, true)) ||
	      json_object_set_new(o, "xdp-mode",
				  word(lb_cfg_xdp_mode_names, ARRAY_SIZE(lb_cfg_xdp_mode_names),
				       s->xdp_mode)) ||
	      json_object_set_new(
		      o, "ingress",
		      word(lb_cfg_ingress_names, ARRAY_SIZE(lb_cfg_ingress_names), s->ingress)) ||
	      json_object_set_new(o, "sni-splice",
				  word(lb_cfg_splice_mode_names,
				       ARRAY_SIZE(lb_cfg_splice_mode_names), s->sni_splice));
	/* Absent means off: there is no word for "no listener", nor for "no access log". */
	if (!ret && s->metrics_listen)
		ret = json_object_set_new(
			o, "metrics-listen",
			json_string(lb_format_target(&s->metrics_addr, s->metrics_port, ep)));
	if (!ret && s->access_log)
		ret = json_object_set_new(o, "access-log", json_string(s->access_log));
	if (!ret && (s->snat.has_v4 || s->snat.has_v6))
		ret = json_object_set_new(o, "snat-address", snat_to_json(&s->snat));
	return finish(o, ret);
}

json_t *lb_config_to_json(const struct lb_config *cfg)
{
	json_t *o, *proxies;
	size_t i;
	int ret;

	if (!cfg || (cfg->n_proxies && !cfg->proxies)) {
		errno = EINVAL;
		return NULL;
	}
	o = json_object();
	proxies = json_array();
	/* Attached first, so @o owns it from here on whatever fails next. */
	ret = json_object_set_new(o, "proxies", proxies) ||
	      json_object_set_new(o, "settings", settings_to_json(&cfg->settings));
	for (i = 0; !ret && i < cfg->n_proxies; i++)
		ret = json_array_append_new(proxies, lb_config_proxy_to_json(&cfg->proxies[i]));
	return finish(o, ret);
}

const char *lb_proxy_group_label(const struct lb_proxy_cfg *p, size_t i, char *buf, size_t len)
{
	char cidr[LB_TARGET_STR_MAX];

	if (i == 0)
		snprintf(buf, len, "default");
	else if (i <= p->n_routes)
		snprintf(buf, len, "%s",
			 lb_format_cidr(&p->routes[i - 1].addr, p->routes[i - 1].prefix_len, cidr));
	else
		snprintf(buf, len, "sni:%s", p->sni_routes[i - 1 - p->n_routes].hostname);
	return buf;
}
