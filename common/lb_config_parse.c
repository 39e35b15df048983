// SPDX-License-Identifier: MIT
/*
 * lb_config_parse.c - JSON configuration text to the model.
 *
 * The parser walks the JSON once, refuses anything it does not know (a typo in a key must
 * not silently fall back to a default) and applies each element rule where the exact JSON
 * path is at hand. The rules themselves are the lb_cfg_check_* functions of
 * lb_config_validate.c, and the parser ends by running the whole validation too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"
#include "lb_config_priv.h"
#include "lb_intern.h"

#define CONFIG_FILE_MAX (64u << 20) /* far above any sane config, far below a DoS */

/* '"tcp", "udp" or "both"' for the message that lists the accepted words. */
static const char *choices(const char *const *names, size_t n, char *buf, size_t len)
{
	size_t off = 0, i, shown = 0, total = 0;

	for (i = 0; i < n; i++)
		total += names[i] != NULL;
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		if (!names[i])
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s\"%s\"",
					!shown		     ? ""
					: shown + 1 == total ? " or "
							     : ", ",
					names[i]);
		shown++;
	}
	return buf;
}

static int lookup(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return (int)i;
	return -1;
}

/* ---- JSON access with type checks ---- */

static const char *jtype(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int want_object(struct ctx *c, const json_t *j, const char *path)
{
	if (!json_is_object(j))
		return lb_cfg_fail(c, path, "must be an object, not %s", jtype(j));
	return 0;
}

static int want_array(struct ctx *c, const json_t *j, const char *path)
{
	if (!json_is_array(j))
		return lb_cfg_fail(c, path, "must be an array, not %s", jtype(j));
	return 0;
}

static int get_string(struct ctx *c, const json_t *j, const char *path, const char **out)
{
	if (!json_is_string(j))
		return lb_cfg_fail(c, path, "must be a string, not %s", jtype(j));
	*out = json_string_value(j);
	return 0;
}

static int get_bool(struct ctx *c, const json_t *j, const char *path, bool *out)
{
	if (!json_is_boolean(j))
		return lb_cfg_fail(c, path, "must be a boolean (true or false), not %s", jtype(j));
	*out = json_is_true(j);
	return 0;
}

static int get_int(struct ctx *c, const json_t *j, const char *path, long long min, long long max,
		   long long *out)
{
	long long v = 0;

	/* No coercion: "80" or 80.0 are refused rather than guessed at. */
	if (!json_is_integer(j))
		return lb_cfg_fail(c, path, "must be an integer, not %s", jtype(j));
	v = json_integer_value(j);
	if (out_of_range(v, min, max))
		return lb_cfg_fail_range(c, path, v, min, max);
	*out = v;
	return 0;
}

/* Refuse every key not in the NULL-terminated @keys, naming the accepted ones. */
static int check_keys(struct ctx *c, json_t *obj, const char *path, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		char list[LB_ERR_MAX], q[LB_QUOTE_MAX];
		size_t i, off = 0;

		for (i = 0; keys[i]; i++)
			if (!strcmp(key, keys[i]))
				break;
		if (keys[i])
			continue;
		list[0] = '\0';
		for (i = 0; keys[i] && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						i ? ", " : "", keys[i]);
		return lb_cfg_fail(c, path, "unknown key %s (expected one of: %s)",
				   lb_quote(key, q), list);
	}
	return 0;
}

static int require(struct ctx *c, json_t *obj, const char *path, const char *key, json_t **out)
{
	*out = json_object_get(obj, key);
	if (!*out)
		return lb_cfg_fail(c, path, "missing required key \"%s\"", key);
	return 0;
}

/* A string that must be one of the words of @names (a table of the model): its index. */
static int get_word(struct ctx *c, const json_t *j, const char *path, const char *const *names,
		    size_t n, const char *what, int *out)
{
	char q[LB_QUOTE_MAX], list[64];
	const char *s = NULL;
	int ret, i;

	ret = get_string(c, j, path, &s);
	if (ret)
		return ret;
	i = lookup(s, names, n);
	if (i < 0)
		return lb_cfg_fail(c, path, "%s is not %s (expected %s)", lb_quote(s, q), what,
				   choices(names, n, list, sizeof(list)));
	*out = i;
	return 0;
}

/* ---- the parser ---- */

static int parse_hc(struct ctx *c, json_t *j, const char *path, const char *base,
		    struct lb_hc_cfg *hc)
{
	static const char *const keys[] = {"type",
					   "path",
					   "interval-ms",
					   "timeout-ms",
					   "healthy-threshold",
					   "unhealthy-threshold",
					   "expected-codes",
					   "host",
					   "tls-verify",
					   "ca-file",
					   NULL};
	char p[JPATH_MAX], p2[JPATH_MAX];
	unsigned int set = 0;
	const char *s = NULL;
	long long v = 0;
	json_t *x;
	size_t i;
	int ret, t;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (ret)
		return ret;

	x = json_object_get(j, "type");
	if (x) {
		ret = get_word(c, x, lb_cfg_pkey(p, path, "type"), lb_cfg_hc_type_names,
			       ARRAY_SIZE(lb_cfg_hc_type_names), "a health-check type", &t);
		if (ret)
			return ret;
		hc->type = (enum lb_hc_type)t;
	}
	x = json_object_get(j, "path");
	if (x) {
		ret = get_string(c, x, lb_cfg_pkey(p, path, "path"), &s);
		if (!ret)
			ret = lb_cfg_check_hc_path(c, p, s);
		if (ret)
			return ret;
		strcpy(hc->path, s);
	}
	for (i = 0; i < ARRAY_SIZE(lb_cfg_hc_fields); i++) {
		const struct u32_field *f = &lb_cfg_hc_fields[i];

		x = json_object_get(j, f->key);
		if (!x)
			continue;
		ret = get_int(c, x, lb_cfg_pkey(p, path, f->key), f->min, f->max, &v);
		if (ret)
			return ret;
		*field_u32(hc, f) = (uint32_t)v;
		set |= f->set_bit;
	}
	x = json_object_get(j, "expected-codes");
	if (x) {
		size_t n;

		lb_cfg_pkey(p, path, "expected-codes");
		ret = want_array(c, x, p);
		if (ret)
			return ret;
		n = json_array_size(x);
		if (n < 1 || n > LB_HC_CODES_MAX)
			return lb_cfg_fail(c, p, "must list 1 to %d status codes (got %zu)",
					   LB_HC_CODES_MAX, n);
		for (i = 0; i < n; i++) {
			ret = get_int(c, json_array_get(x, i), lb_cfg_pidx(p2, p, i), HC_CODE_MIN,
				      HC_CODE_MAX, &v);
			if (ret)
				return ret;
			hc->expected_codes[i] = (uint16_t)v;
		}
		hc->n_expected_codes = n;
	}
	x = json_object_get(j, "host");
	if (x) {
		ret = get_string(c, x, lb_cfg_pkey(p, path, "host"), &s);
		if (!ret)
			ret = lb_cfg_check_hc_host(c, p, s);
		if (ret)
			return ret;
		hc->host = lb_intern(s);
		if (!hc->host)
			return lb_cfg_fail(c, p, "out of memory");
	}
	x = json_object_get(j, "tls-verify");
	if (x) {
		ret = get_bool(c, x, lb_cfg_pkey(p, path, "tls-verify"), &hc->tls_verify);
		if (ret)
			return ret;
		set |= HC_SET_TLS;
	}
	x = json_object_get(j, "ca-file");
	if (x) {
		ret = get_string(c, x, lb_cfg_pkey(p, path, "ca-file"), &s);
		if (!ret)
			ret = lb_cfg_check_ca_file(c, p, s);
		if (ret)
			return ret;
		hc->ca_file = lb_intern(s);
		if (!hc->ca_file)
			return lb_cfg_fail(c, p, "out of memory");
		set |= HC_SET_TLS | HC_SET_CA;
	}
	return lb_cfg_check_hc(c, hc, path, set, base);
}

static int parse_listen_at(struct ctx *c, json_t *x, const char *path, struct lb_ip *addr,
			   uint16_t *port)
{
	char msg[LB_ERR_MAX];
	const char *s = NULL;
	int ret;

	ret = get_string(c, x, path, &s);
	if (ret)
		return ret;
	if (lb_parse_listen(s, addr, port, msg, sizeof(msg)))
		return lb_cfg_fail(c, path, "%s", msg);
	return 0;
}

/*
 * A file path; null leaves *out NULL (no file). The length is the JSON string's, so a
 * "\u0000" inside cannot cut the path short into another one.
 */
static int parse_access_log(struct ctx *c, json_t *x, const char *path, char **out)
{
	const char *s = NULL;
	int ret;

	if (json_is_null(x))
		return 0;
	ret = get_string(c, x, path, &s);
	if (!ret && strlen(s) != json_string_length(x))
		ret = lb_cfg_fail(
			c, path,
			"must not contain a NUL byte (\\u0000): a file path cannot hold one");
	if (!ret)
		ret = lb_cfg_check_access_log(c, path, s);
	if (ret)
		return ret;
	*out = strdup(s);
	return *out ? 0 : lb_cfg_fail_nomem(c);
}

static int parse_ip_at(struct ctx *c, json_t *x, const char *path, struct lb_ip *addr);

/* "snat-address": one address, or an array of at most one per family. */
static int parse_snat(struct ctx *c, json_t *x, const char *path, struct lb_snat_cfg *out)
{
	char p[JPATH_MAX], a[LB_ADDR_STR_MAX];
	size_t i, n = json_is_array(x) ? json_array_size(x) : 1;
	int ret;

	if (!json_is_array(x) && !json_is_string(x))
		return lb_cfg_fail(c, path,
				   "must be an address or an array of at most one IPv4 and one "
				   "IPv6 address");
	if (json_is_array(x) && (n < 1 || n > 2))
		return lb_cfg_fail(c, path,
				   "has %zu addresses: give one, or one IPv4 and one IPv6 address",
				   n);
	for (i = 0; i < n; i++) {
		json_t *e = json_is_array(x) ? json_array_get(x, i) : x;
		const char *ep = json_is_array(x) ? lb_cfg_pidx(p, path, i) : path;
		struct lb_ip ip;

		ret = parse_ip_at(c, e, ep, &ip);
		if (ret)
			return ret;
		if (lb_ip_is_v4(&ip) ? out->has_v4 : out->has_v6)
			return lb_cfg_fail(c, ep,
					   "%s is a second IPv%d address: give at most one per "
					   "family",
					   lb_format_ip(&ip, a), lb_ip_is_v4(&ip) ? 4 : 6);
		if (lb_ip_is_v4(&ip)) {
			out->has_v4 = true;
			out->v4 = ip;
		} else {
			out->has_v6 = true;
			out->v6 = ip;
		}
	}
	return 0;
}

static int parse_settings(struct ctx *c, json_t *j, struct lb_settings *s)
{
	static const char *const keys[] = {"stats-enabled",
					   "connection-timeout-sec",
					   "udp-timeout-sec",
					   "max-connections",
					   "health-check-enabled",
					   "health-check-defaults",
					   "default-drain-timeout-ms",
					   "drain-check-interval-ms",
					   "xdp-mode",
					   "ingress",
					   "sni-hello-timeout-ms",
					   "sni-max-pending",
					   "sni-splice",
					   "metrics-listen",
					   "access-log",
					   "hash-seed",
					   "maglev-table-size",
					   "announce-table",
					   "announce-protocol",
					   "snat-address",
					   "snat-port-min",
					   "snat-port-max",
					   "fast-path",
					   NULL};
	char p[JPATH_MAX];
	long long v = 0;
	json_t *x;
	size_t i;
	int ret, m;

	lb_settings_default(s);
	if (!j)
		return 0;
	ret = want_object(c, j, "settings");
	if (!ret)
		ret = check_keys(c, j, "settings", keys);
	if (ret)
		return ret;

	x = json_object_get(j, "stats-enabled");
	if (x) {
		ret = get_bool(c, x, "settings.stats-enabled", &s->stats_enabled);
		if (ret)
			return ret;
	}
	x = json_object_get(j, "health-check-enabled");
	if (x) {
		ret = get_bool(c, x, "settings.health-check-enabled", &s->health_check_enabled);
		if (ret)
			return ret;
	}
	x = json_object_get(j, "fast-path");
	if (x) {
		ret = get_bool(c, x, "settings.fast-path", &s->fast_path);
		if (ret)
			return ret;
	}
	for (i = 0; i < ARRAY_SIZE(lb_cfg_settings_fields); i++) {
		const struct u32_field *f = &lb_cfg_settings_fields[i];

		x = json_object_get(j, f->key);
		if (!x)
			continue;
		ret = get_int(c, x, lb_cfg_pkey(p, "settings", f->key), f->min, f->max, &v);
		if (ret)
			return ret;
		*field_u32(s, f) = (uint32_t)v;
	}
	x = json_object_get(j, "health-check-defaults");
	if (x) {
		ret = parse_hc(c, x, "settings.health-check-defaults", HC_BASE_BUILTIN,
			       &s->health_check_defaults);
		if (ret)
			return ret;
	}
	x = json_object_get(j, "xdp-mode");
	if (x) {
		ret = get_word(c, x, "settings.xdp-mode", lb_cfg_xdp_mode_names,
			       ARRAY_SIZE(lb_cfg_xdp_mode_names), "an XDP mode", &m);
		if (ret)
			return ret;
		s->xdp_mode = (enum lb_xdp_mode)m;
	}
	x = json_object_get(j, "ingress");
	if (x) {
		ret = get_word(c, x, "settings.ingress", lb_cfg_ingress_names,
			       ARRAY_SIZE(lb_cfg_ingress_names), "an ingress hook", &m);
		if (ret)
			return ret;
		s->ingress = (enum lb_ingress)m;
	}
	x = json_object_get(j, "sni-splice");
	if (x) {
		ret = get_word(c, x, "settings.sni-splice", lb_cfg_splice_mode_names,
			       ARRAY_SIZE(lb_cfg_splice_mode_names), "a splice mode", &m);
		if (ret)
			return ret;
		s->sni_splice = (enum lb_splice_mode)m;
	}
	x = json_object_get(j, "metrics-listen");
	if (x) {
		ret = parse_listen_at(c, x, "settings.metrics-listen", &s->metrics_addr,
				      &s->metrics_port);
		if (ret)
			return ret;
		s->metrics_listen = true;
	}
	x = json_object_get(j, "access-log");
	if (x) {
		ret = parse_access_log(c, x, "settings.access-log", &s->access_log);
		if (ret)
			return ret;
	}
	x = json_object_get(j, "snat-address");
	if (x) {
		ret = parse_snat(c, x, "settings.snat-address", &s->snat);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_ip_at(struct ctx *c, json_t *x, const char *path, struct lb_ip *addr)
{
	char msg[LB_ERR_MAX];
	const char *s = NULL;
	int ret;

	ret = get_string(c, x, path, &s);
	if (ret)
		return ret;
	if (lb_parse_ip(s, addr, msg, sizeof(msg)))
		return lb_cfg_fail(c, path, "%s", msg);
	return lb_cfg_check_usable(c, path, addr);
}

/* What the targets of a group inherit, and what they may do, where the group is. */
struct target_rules {
	const struct lb_hc_cfg *defaults; /* health checks */
	const char *pp_refusal;		  /* why no PROXY protocol header: PP_*, NULL if allowed */
};

static int parse_target(struct ctx *c, json_t *j, const char *path, const struct target_rules *tr,
			struct lb_target_cfg *t, bool *has_weight)
{
	static const char *const keys[] = {"ip",	   "port",	     "weight",
					   "health-check", "proxy-protocol", NULL};
	char p[JPATH_MAX];
	long long v = 0;
	json_t *x;
	int ret, pp;

	if (!json_is_object(j))
		return lb_cfg_fail(
			c, path,
			"must be a target object like {\"ip\": \"10.0.0.1\", \"port\": 8080}, "
			"not %s",
			jtype(j));
	ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "ip", &x);
	if (!ret)
		ret = parse_ip_at(c, x, lb_cfg_pkey(p, path, "ip"), &t->addr);
	if (!ret)
		ret = require(c, j, path, "port", &x);
	if (!ret)
		ret = get_int(c, x, lb_cfg_pkey(p, path, "port"), 1, 65535, &v);
	if (ret)
		return ret;
	t->port = (uint16_t)v;

	t->weight = WEIGHT_SUM;
	x = json_object_get(j, "weight");
	*has_weight = x != NULL;
	if (x) {
		ret = get_int(c, x, lb_cfg_pkey(p, path, "weight"), 0, WEIGHT_MAX, &v);
		if (ret)
			return ret;
		t->weight = (uint8_t)v;
	}

	t->proxy_protocol = 0;
	x = json_object_get(j, "proxy-protocol");
	if (x) {
		lb_cfg_pkey(p, path, "proxy-protocol");
		ret = get_word(c, x, p, lb_cfg_pp_names, ARRAY_SIZE(lb_cfg_pp_names),
			       "a PROXY protocol version lbd sends", &pp);
		if (!ret)
			ret = lb_cfg_check_proxy_protocol(c, p, (unsigned int)pp, tr->pp_refusal);
		if (ret)
			return ret;
		t->proxy_protocol = (uint8_t)pp;
	}

	/* Resolution: the defaults, with whatever this target's own object overrides. */
	t->hc = *tr->defaults;
	x = json_object_get(j, "health-check");
	t->has_hc = x != NULL;
	if (x)
		return parse_hc(c, x, lb_cfg_pkey(p, path, "health-check"), HC_BASE_SETTINGS,
				&t->hc);
	return 0;
}

enum group_form {
	FORM_ANY,    /* default-target: one object or an array */
	FORM_OBJECT, /* a route's "target" */
	FORM_ARRAY,  /* a route's "targets" */
	FORM_LIST,   /* an RPC's "targets": an array of objects and "ip:port[@weight]" strings */
};

static int fail_group_type(struct ctx *c, const json_t *j, const char *path, enum group_form form)
{
	switch (form) {
	case FORM_OBJECT:
		return lb_cfg_fail(c, path, "must be one target object, not %s%s", jtype(j),
				   json_is_array(j) ? " (use \"targets\" for a list of targets)"
						    : "");
	case FORM_ARRAY:
		return lb_cfg_fail(
			c, path, "must be an array of target objects, not %s%s", jtype(j),
			json_is_object(j) ? " (use \"target\" for a single target)" : "");
	case FORM_LIST:
		return lb_cfg_fail(
			c, path,
			"must be an array of target objects or \"ip:port[@weight]\" strings, "
			"not %s",
			jtype(j));
	default:
		return lb_cfg_fail(c, path,
				   "must be a target object or an array of target objects, not %s",
				   jtype(j));
	}
}

/* One element of a group's array: a target object, or where @form allows, a string. */
static int parse_member(struct ctx *c, json_t *j, const char *path, enum group_form form,
			const struct target_rules *tr, struct lb_target_cfg *t, bool *has_weight)
{
	char msg[LB_ERR_MAX];
	int weighted = 0;

	if (form != FORM_LIST || json_is_object(j))
		return parse_target(c, j, path, tr, t, has_weight);
	if (!json_is_string(j))
		return lb_cfg_fail(
			c, path,
			"must be a target object like {\"ip\": \"10.0.0.1\", \"port\": 8080} "
			"or a string like \"10.0.0.1:8080@50\", not %s",
			jtype(j));
	if (lb_parse_target(json_string_value(j), t, &weighted, msg, sizeof(msg)))
		return lb_cfg_fail(c, path, "%s", msg);
	t->has_hc = false;
	t->hc = *tr->defaults;
	*has_weight = weighted;
	return 0;
}

/* A string target carries its weight after the '@', an object under "weight". */
static int fail_lone_weight(struct ctx *c, const char *path, const json_t *j, unsigned int weight)
{
	char p[JPATH_MAX];

	return lb_cfg_fail(
		c, json_is_string(j) ? path : lb_cfg_pkey(p, path, "weight"),
		"a lone target's weight must be %d (got %u); leave it out, or add targets "
		"so that the weights sum to %d",
		WEIGHT_SUM, weight, WEIGHT_SUM);
}

/* The "no weight" part of a message about target @j. */
static const char *no_weight(const json_t *j, char *what, size_t len)
{
	char q[LB_QUOTE_MAX];

	if (json_is_string(j))
		snprintf(what, len, "%s has no \"@weight\"", lb_quote(json_string_value(j), q));
	else
		snprintf(what, len, "missing required key \"weight\"");
	return what;
}

static int fail_no_weight(struct ctx *c, const char *path, const json_t *j)
{
	char what[LB_QUOTE_MAX + 32];

	return lb_cfg_fail(c, path,
			   "%s (every target of a group of several needs one, and the weights sum "
			   "to %d)",
			   no_weight(j, what, sizeof(what)), WEIGHT_SUM);
}

/* A relative group (more than LB_PCT_GROUP_MAX targets) where some weights are given. */
static int fail_some_weights(struct ctx *c, const char *path, const json_t *j, size_t n,
			     const char *group, size_t given_at)
{
	char what[LB_QUOTE_MAX + 32];

	return lb_cfg_fail(c, path,
			   "%s, but %s[%zu] has one: in a group of more than %d targets (this one "
			   "has %zu) weights are relative shares; give every target a weight, or "
			   "none for equal shares",
			   no_weight(j, what, sizeof(what)), lb_cfg_ref(group), given_at,
			   LB_PCT_GROUP_MAX, n);
}

static int parse_group(struct ctx *c, json_t *j, const char *path, enum group_form form,
		       const struct target_rules *tr, struct lb_group_cfg *g)
{
	char p[JPATH_MAX];
	bool has_weight, relative;
	size_t i, n, given = 0, first_given = 0;
	int ret;

	if (json_is_object(j) && (form == FORM_ANY || form == FORM_OBJECT)) {
		if (lb_group_cfg_alloc(g, 1))
			return lb_cfg_fail(c, path, "out of memory");
		ret = parse_target(c, j, path, tr, &g->t[0], &has_weight);
		if (ret)
			return ret;
		if (has_weight && g->t[0].weight != WEIGHT_SUM)
			return fail_lone_weight(c, path, j, g->t[0].weight);
		return 0;
	}
	if (!json_is_array(j) || form == FORM_OBJECT)
		return fail_group_type(c, j, path, form);
	n = json_array_size(j);
	ret = lb_cfg_check_group_size(c, path, n);
	if (ret)
		return ret;
	if (lb_group_cfg_alloc(g, n))
		return lb_cfg_fail(c, path, "out of memory");
	relative = lb_group_relative(n);
	for (i = 0; i < n; i++) {
		json_t *x = json_array_get(j, i);

		ret = parse_member(c, x, lb_cfg_pidx(p, path, i), form, tr, &g->t[i], &has_weight);
		if (ret)
			return ret;
		if (n > 1 && !has_weight && !relative)
			return fail_no_weight(c, p, x);
		if (n == 1 && has_weight && g->t[i].weight != WEIGHT_SUM)
			return fail_lone_weight(c, p, x, g->t[i].weight);
		if (has_weight && !given++)
			first_given = i;
	}
	if (relative && given && given < n) {
		for (i = 0; i < n; i++) {
			json_t *x = json_array_get(j, i);
			bool w = json_is_object(x) ? json_object_get(x, "weight") != NULL
						   : strchr(json_string_value(x), '@') != NULL;

			if (!w)
				return fail_some_weights(c, lb_cfg_pidx(p, path, i), x, n, path,
							 first_given);
		}
	}
	if (relative && !given)
		for (i = 0; i < n; i++)
			g->t[i].weight = 1; /* no weights at all: equal shares */
	return lb_cfg_check_group(c, g, path);
}

static int parse_listen(struct ctx *c, json_t *j, const char *path, struct lb_proxy_cfg *p)
{
	static const char *const keys[] = {"interfaces", "port", "protocol", "address", NULL};
	char sub[JPATH_MAX], ip[JPATH_MAX];
	const char *s = NULL;
	json_t *x;
	long long v = 0;
	size_t i, n;
	int ret, proto;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "interfaces", &x);
	if (!ret)
		ret = want_array(c, x, lb_cfg_pkey(sub, path, "interfaces"));
	if (ret)
		return ret;
	n = json_array_size(x);
	if (n == 0)
		return lb_cfg_fail(c, sub, "must list at least one interface");
	if (n > LB_MAX_IFACES_PER_PROXY)
		return lb_cfg_fail(c, sub, "has %zu interfaces, at most %d are allowed", n,
				   LB_MAX_IFACES_PER_PROXY);
	for (i = 0; i < n; i++) {
		ret = get_string(c, json_array_get(x, i), lb_cfg_pidx(ip, sub, i), &s);
		if (!ret)
			ret = lb_cfg_check_iface_name(c, ip, s);
		if (ret)
			return ret;
		strcpy(p->ifaces[i], s);
	}
	p->n_ifaces = n;
	ret = lb_cfg_check_ifaces(c, p, path);
	if (!ret)
		ret = require(c, j, path, "port", &x);
	if (!ret)
		ret = get_int(c, x, lb_cfg_pkey(sub, path, "port"), 1, 65535, &v);
	if (ret)
		return ret;
	p->port = (uint16_t)v;

	p->protocols = LB_L4_TCP;
	x = json_object_get(j, "protocol");
	if (x) {
		ret = get_word(c, x, lb_cfg_pkey(sub, path, "protocol"), lb_cfg_protocol_names,
			       ARRAY_SIZE(lb_cfg_protocol_names), "a protocol", &proto);
		if (ret)
			return ret;
		p->protocols = (uint8_t)proto;
	}

	x = json_object_get(j, "address");
	p->has_address = x != NULL;
	if (x)
		return parse_ip_at(c, x, lb_cfg_pkey(sub, path, "address"), &p->address);
	return 0;
}

/* A route's group: "target" (one) or "targets" (a weighted list), exactly one of them. */
static int parse_route_group(struct ctx *c, json_t *j, const char *path,
			     const struct target_rules *tr, struct lb_group_cfg *g)
{
	json_t *one = json_object_get(j, "target"), *many = json_object_get(j, "targets");
	char p[JPATH_MAX];

	if (one && many)
		return lb_cfg_fail(
			c, path,
			"has both \"target\" and \"targets\"; use \"target\" for one target or "
			"\"targets\" for a weighted list");
	if (!one && !many)
		return lb_cfg_fail(c, path,
				   "missing required key \"target\" (one target) or \"targets\" (a "
				   "weighted list)");
	return parse_group(c, one ? one : many, lb_cfg_pkey(p, path, one ? "target" : "targets"),
			   one ? FORM_OBJECT : FORM_ARRAY, tr, g);
}

static int parse_route(struct ctx *c, json_t *j, const char *path, const struct target_rules *tr,
		       struct lb_route_cfg *r)
{
	static const char *const keys[] = {"source", "target", "targets", NULL};
	char p[JPATH_MAX], msg[LB_ERR_MAX];
	const char *s = NULL;
	json_t *x;
	int ret;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "source", &x);
	if (!ret)
		ret = get_string(c, x, lb_cfg_pkey(p, path, "source"), &s);
	if (ret)
		return ret;
	if (lb_parse_cidr(s, &r->addr, &r->prefix_len, msg, sizeof(msg)))
		return lb_cfg_fail(c, p, "%s", msg);
	return parse_route_group(c, j, path, tr, &r->group);
}

/* A list of routes: an array of at most @max, *n of them; @what names them in messages. */
static int want_routes(struct ctx *c, json_t *x, const char *path, size_t max, const char *what,
		       size_t *n)
{
	int ret = want_array(c, x, path);

	if (ret)
		return ret;
	*n = json_array_size(x);
	if (*n > max)
		return lb_cfg_fail(c, path, "has %zu %s, at most %zu are allowed", *n, what, max);
	return 0;
}

static int parse_source_routes(struct ctx *c, json_t *x, const char *path,
			       const struct target_rules *tr, struct lb_proxy_cfg *p)
{
	char rp[JPATH_MAX];
	size_t i, n = 0;
	int ret;

	ret = want_routes(c, x, path, LB_MAX_ROUTES, "source routes", &n);
	if (ret)
		return ret;
	if (n) {
		p->routes = calloc(n, sizeof(*p->routes));
		if (!p->routes)
			return lb_cfg_fail_nomem(c);
		p->n_routes = n;
	}
	for (i = 0; i < n; i++) {
		ret = parse_route(c, json_array_get(x, i), lb_cfg_pidx(rp, path, i), tr,
				  &p->routes[i]);
		if (ret)
			return ret;
	}
	return lb_cfg_check_routes_unique(c, p, path);
}

/*
 * The @len bytes at @s as @r's hostname, stored as lb_sni_route_match() compares names:
 * lowercase, without the trailing dot of a fully qualified "example.com.". @r is left alone
 * when @s is refused.
 */
static int set_sni_hostname(struct ctx *c, const char *path, const char *s, size_t len,
			    struct lb_sni_route_cfg *r)
{
	bool wildcard = false;
	size_t i;
	int ret;

	if (len > 1 && s[len - 1] == '.')
		len--;
	ret = lb_cfg_check_sni_hostname(c, path, s, s, len, &wildcard);
	if (ret)
		return ret;
	for (i = 0; i < len; i++)
		r->hostname[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	r->hostname[len] = '\0';
	r->wildcard = wildcard;
	return 0;
}

/* The length is the JSON string's, so a "\u0000" inside cannot cut the name short. */
static int parse_sni_hostname(struct ctx *c, json_t *x, const char *path,
			      struct lb_sni_route_cfg *r)
{
	const char *s = NULL;
	int ret;

	ret = get_string(c, x, path, &s);
	if (ret)
		return ret;
	return set_sni_hostname(c, path, s, json_string_length(x), r);
}

static int parse_sni_route(struct ctx *c, json_t *j, const char *path,
			   const struct target_rules *tr, struct lb_sni_route_cfg *r)
{
	static const char *const keys[] = {"sni-hostname", "target", "targets", NULL};
	char p[JPATH_MAX];
	json_t *x;
	int ret;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "sni-hostname", &x);
	if (!ret)
		ret = parse_sni_hostname(c, x, lb_cfg_pkey(p, path, "sni-hostname"), r);
	if (!ret)
		ret = parse_route_group(c, j, path, tr, &r->group);
	return ret;
}

/* @x is the "sni-routes" array: a duplicate is named as it is written there. */
static int parse_sni_routes(struct ctx *c, json_t *x, const char *path, const char *listen_path,
			    const struct target_rules *tr, struct lb_proxy_cfg *p)
{
	char rp[JPATH_MAX], op[JPATH_MAX], hp[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t i, n = 0, dup = 0, orig = 0;
	int ret;

	ret = want_routes(c, x, path, SNI_ROUTES_MAX, "SNI routes", &n);
	if (ret || !n)
		return ret;
	p->sni_routes = calloc(n, sizeof(*p->sni_routes));
	if (!p->sni_routes)
		return lb_cfg_fail_nomem(c);
	p->n_sni_routes = n;
	ret = lb_cfg_check_sni_listen(c, p, listen_path);
	for (i = 0; !ret && i < n; i++)
		ret = parse_sni_route(c, json_array_get(x, i), lb_cfg_pidx(rp, path, i), tr,
				      &p->sni_routes[i]);
	if (!ret)
		ret = lb_cfg_find_sni_dup(c, p, &dup, &orig);
	if (ret <= 0)
		return ret;
	/* The name as the user wrote it: "API.example.com" is what they will look for. */
	return lb_cfg_fail(
		c, lb_cfg_pkey(hp, lb_cfg_pidx(rp, path, dup), "sni-hostname"),
		"%s is already routed by %s",
		lb_quote(json_string_value(json_object_get(json_array_get(x, dup), "sni-hostname")),
			 q),
		lb_cfg_ref(lb_cfg_pidx(op, path, orig)));
}

/* "hash" and "hash-prefix"; their rules are checked with the proxy (lb_cfg_check_proxy). */
static int parse_hash(struct ctx *c, json_t *j, const char *path, struct lb_proxy_cfg *p)
{
	char sub[JPATH_MAX];
	long long v = 0;
	json_t *x;
	int ret, h;

	x = json_object_get(j, "hash");
	if (x) {
		ret = get_word(c, x, lb_cfg_pkey(sub, path, "hash"), lb_cfg_hash_names,
			       ARRAY_SIZE(lb_cfg_hash_names), "a hash", &h);
		if (ret)
			return ret;
		p->hash = (uint8_t)h;
	}
	x = json_object_get(j, "hash-prefix");
	if (x) {
		ret = get_int(c, x, lb_cfg_pkey(sub, path, "hash-prefix"), 0, 128, &v);
		if (ret)
			return ret;
		p->has_hash_prefix = true;
		p->hash_prefix = (uint8_t)v;
	}
	x = json_object_get(j, "forwarding");
	if (x) {
		ret = get_word(c, x, lb_cfg_pkey(sub, path, "forwarding"), lb_cfg_forwarding_names,
			       ARRAY_SIZE(lb_cfg_forwarding_names), "a forwarding mode", &h);
		if (ret)
			return ret;
		p->forwarding = (uint8_t)h;
	}
	x = json_object_get(j, "selection");
	if (x) {
		ret = get_word(c, x, lb_cfg_pkey(sub, path, "selection"), lb_cfg_selection_names,
			       ARRAY_SIZE(lb_cfg_selection_names), "a selection", &h);
		if (ret)
			return ret;
		p->selection = (uint8_t)h;
	}
	x = json_object_get(j, "snat-address");
	if (x)
		return parse_snat(c, x, lb_cfg_pkey(sub, path, "snat-address"), &p->snat);
	return 0;
}

static int parse_proxy(struct ctx *c, json_t *j, const char *path, const struct lb_settings *s,
		       struct lb_proxy_cfg *p)
{
	static const char *const keys[] = {"name",	    "listen",	  "default-target",
					   "source-routes", "sni-routes", "hash",
					   "hash-prefix",   "forwarding", "snat-address",
					   "selection",	    NULL};
	const struct target_rules by_source = {&s->health_check_defaults, PP_SOURCE_ROUTE};
	const struct target_rules by_name = {&s->health_check_defaults, NULL};
	struct target_rules dflt = by_name;
	char sub[JPATH_MAX], lp[JPATH_MAX];
	const char *name = NULL;
	json_t *x, *sni;
	int ret;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "name", &x);
	if (!ret)
		ret = get_string(c, x, lb_cfg_pkey(sub, path, "name"), &name);
	if (!ret)
		ret = lb_cfg_check_name(c, sub, name);
	if (ret)
		return ret;
	strcpy(p->name, name);

	/*
	 * With SNI routes, lbd's acceptor completes each TCP connection and opens the one to
	 * the chosen target itself, so the targets it reaches may get a PROXY protocol header:
	 * the default ones and those of SNI routes. Source routes stay in the kernel.
	 */
	sni = json_object_get(j, "sni-routes");
	if (!json_is_array(sni) || !json_array_size(sni))
		dflt.pp_refusal = PP_KERNEL_PROXY;

	ret = require(c, j, path, "listen", &x);
	if (!ret)
		ret = parse_listen(c, x, lb_cfg_pkey(lp, path, "listen"), p);
	if (!ret)
		ret = require(c, j, path, "default-target", &x);
	if (!ret)
		ret = parse_group(c, x, lb_cfg_pkey(sub, path, "default-target"), FORM_ANY, &dflt,
				  &p->default_group);
	if (ret)
		return ret;
	x = json_object_get(j, "source-routes");
	if (x) {
		ret = parse_source_routes(c, x, lb_cfg_pkey(sub, path, "source-routes"), &by_source,
					  p);
		if (ret)
			return ret;
	}
	if (sni) {
		ret = parse_sni_routes(c, sni, lb_cfg_pkey(sub, path, "sni-routes"), lp, &by_name,
				       p);
		if (ret)
			return ret;
	}
	return parse_hash(c, j, path, p);
}

static int parse_root(struct ctx *c, json_t *root, struct lb_config **out)
{
	static const char *const keys[] = {"proxies", "settings", NULL};
	struct lb_config *cfg;
	char path[JPATH_MAX];
	json_t *proxies;
	size_t i, n;
	int ret;

	if (!json_is_object(root))
		return lb_cfg_fail(c, "", "the configuration must be a JSON object, not %s",
				   jtype(root));
	ret = check_keys(c, root, "", keys);
	if (ret)
		return ret;
	cfg = lb_config_new();
	if (!cfg)
		return lb_cfg_fail_nomem(c);

	/* Settings first, wherever they are in the file: targets inherit their defaults. */
	ret = parse_settings(c, json_object_get(root, "settings"), &cfg->settings);
	if (!ret)
		ret = require(c, root, "", "proxies", &proxies);
	if (!ret)
		ret = want_array(c, proxies, "proxies");
	if (ret)
		goto out;
	n = json_array_size(proxies);
	if (n == 0 || n > LB_MAX_PROXIES) {
		ret = lb_cfg_fail(c, "proxies", "must list 1 to %d proxies (got %zu)",
				  LB_MAX_PROXIES, n);
		goto out;
	}
	cfg->proxies = calloc(n, sizeof(*cfg->proxies));
	if (!cfg->proxies) {
		ret = lb_cfg_fail_nomem(c);
		goto out;
	}
	cfg->n_proxies = n;
	for (i = 0; i < n; i++) {
		ret = parse_proxy(c, json_array_get(proxies, i), lb_cfg_pidx(path, "proxies", i),
				  &cfg->settings, &cfg->proxies[i]);
		if (!ret)
			ret = lb_cfg_check_cross(c, cfg, i);
		if (ret)
			goto out;
	}
	/* Cheap, and proves that what the parser built is what the validator accepts. */
	ret = lb_cfg_validate(c, cfg);
out:
	if (ret) {
		lb_config_free(cfg);
		return ret;
	}
	*out = cfg;
	return 0;
}

static int parse_buffer(const char *text, size_t len, const char *source, struct lb_config **out,
			char *err, size_t errlen)
{
	struct ctx c = {.err = err, .errlen = errlen};
	json_error_t je;
	json_t *root;
	int ret;

	if (out)
		*out = NULL;
	if (!text || !out)
		return lb_cfg_fail(&c, "", "no configuration text was given");
	/* Duplicate keys are refused: with two "port"s, which one did the user mean? */
	root = source ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)
		      : json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (err && errlen) {
			if (source)
				snprintf(err, errlen, "%s:%d:%d: %s", source, je.line, je.column,
					 je.text);
			else
				snprintf(err, errlen, "JSON syntax error at line %d, column %d: %s",
					 je.line, je.column, je.text);
		}
		return -EINVAL;
	}
	ret = parse_root(&c, root, out);
	json_decref(root);
	return ret;
}

int lb_config_parse_string(const char *text, struct lb_config **out, char *err, size_t errlen)
{
	return parse_buffer(text, text ? strlen(text) : 0, NULL, out, err, errlen);
}

static int read_error(const char *path, int e, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
	return -e;
}

int lb_config_parse_file(const char *path, struct lb_config **out, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	FILE *f;
	int ret;

	if (out)
		*out = NULL;
	if (!path)
		return read_error("(null)", EINVAL, err, errlen);
	f = fopen(path, "re");
	if (!f)
		return read_error(path, errno, err, errlen);
	errno = 0;
	for (;;) {
		size_t got;

		if (len == cap) {
			if (cap >= CONFIG_FILE_MAX) {
				free(buf);
				fclose(f);
				if (err && errlen)
					snprintf(err, errlen,
						 "cannot read %s: the file is larger than %u MiB",
						 path, CONFIG_FILE_MAX >> 20);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return read_error(path, ENOMEM, err, errlen);
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		/* e.g. EISDIR: fopen() opens a directory, the read then fails. */
		ret = errno ? errno : EIO;
		free(buf);
		fclose(f);
		return read_error(path, ret, err, errlen);
	}
	fclose(f);
	buf[len] = '\0';
	ret = parse_buffer(buf, len, path, out, err, errlen);
	free(buf);
	return ret;
}

/*
 * What the entry points for one piece of a configuration (RPC arguments) start from: where
 * messages go, the path that prefixes them, and the settings new targets inherit from (the
 * built-in ones when none are given).
 */
struct piece {
	struct ctx c;
	const char *path;
	const struct lb_settings *s;
	struct lb_settings builtin;
};

static void piece_init(struct piece *pc, const struct lb_settings *s, const char *path, char *err,
		       size_t errlen)
{
	pc->c.err = err;
	pc->c.errlen = errlen;
	pc->path = path ? path : "";
	pc->s = s;
	if (!s) {
		lb_settings_default(&pc->builtin);
		pc->s = &pc->builtin;
	}
}

int lb_config_proxy_from_json(json_t *j, const struct lb_settings *s, const char *path,
			      struct lb_proxy_cfg *out, char *err, size_t errlen)
{
	struct piece pc;
	int ret;

	piece_init(&pc, s, path, err, errlen);
	if (!j || !out)
		return lb_cfg_fail(&pc.c, pc.path, "no proxy was given");
	memset(out, 0, sizeof(*out));
	ret = parse_proxy(&pc.c, j, pc.path, pc.s, out);
	/* As for a whole file: what the parser built must be what the validator accepts. */
	if (!ret)
		ret = lb_cfg_check_proxy(&pc.c, out, pc.path);
	if (ret) {
		lb_proxy_cfg_release(out);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

/* The caller names the place (e.g. "hostname: "), so messages come without a path. */
int lb_sni_hostname_parse(const char *text, struct lb_sni_route_cfg *r, char *err, size_t errlen)
{
	struct ctx c = {.err = err, .errlen = errlen};

	if (!text || !r)
		return lb_cfg_fail(&c, NULL, "no host name was given");
	return set_sni_hostname(&c, NULL, text, strlen(text), r);
}

int lb_config_group_from_json(json_t *j, const struct lb_settings *s, const char *path,
			      struct lb_group_cfg *out, char *err, size_t errlen)
{
	struct target_rules rules;
	struct piece pc;
	int ret;

	piece_init(&pc, s, path, err, errlen);
	/*
	 * Where the group goes is not known here: lb_config_validate() on the configuration
	 * that will hold it decides whether its targets may send a PROXY protocol header.
	 */
	rules.defaults = &pc.s->health_check_defaults;
	rules.pp_refusal = NULL;
	if (!j || !out)
		return lb_cfg_fail(&pc.c, pc.path, "no targets were given");
	memset(out, 0, sizeof(*out));
	ret = parse_group(&pc.c, j, pc.path, FORM_LIST, &rules, out);
	if (ret)
		lb_group_cfg_release(out);
	return ret;
}
