// SPDX-License-Identifier: MIT
/*
 * lb_config.c - the configuration model: its field tables and names, the defaults, the life
 * of a configuration (new, copy, free), and which SNI route a server name takes.
 *
 * Parsing is in lb_config_parse.c, the rules in lb_config_validate.c, serialisation in
 * lb_config_json.c, error messages and paths in lb_config_path.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_config_priv.h"

const struct u32_field lb_cfg_hc_fields[] = {
	{"interval-ms", offsetof(struct lb_hc_cfg, interval_ms), 1000, 300000, HC_SET_INTERVAL},
	{"timeout-ms", offsetof(struct lb_hc_cfg, timeout_ms), 100, 60000, HC_SET_TIMEOUT},
	{"healthy-threshold", offsetof(struct lb_hc_cfg, healthy_threshold), 1, 10, 0},
	{"unhealthy-threshold", offsetof(struct lb_hc_cfg, unhealthy_threshold), 1, 10, 0},
};

const struct u32_field lb_cfg_settings_fields[] = {
	{"connection-timeout-sec", offsetof(struct lb_settings, connection_timeout_sec), 1, 604800,
	 0},
	{"udp-timeout-sec", offsetof(struct lb_settings, udp_timeout_sec), 1, 604800, 0},
	{"max-connections", offsetof(struct lb_settings, max_connections), 1024, 16777216, 0},
	{"default-drain-timeout-ms", offsetof(struct lb_settings, default_drain_timeout_ms), 1000,
	 3600000, 0},
	{"drain-check-interval-ms", offsetof(struct lb_settings, drain_check_interval_ms), 100,
	 60000, 0},
	{"sni-hello-timeout-ms", offsetof(struct lb_settings, sni_hello_timeout_ms), 100, 60000, 0},
	{"sni-max-pending", offsetof(struct lb_settings, sni_max_pending), 1, 65536, 0},
	{"hash-seed", offsetof(struct lb_settings, hash_seed), 0, UINT32_MAX, 0},
	{"maglev-table-size", offsetof(struct lb_settings, maglev_table_size), 4093, 131071, 0},
	{"announce-table", offsetof(struct lb_settings, announce_table), 0, UINT32_MAX, 0},
	{"announce-protocol", offsetof(struct lb_settings, announce_protocol), 5, 255, 0},
	{"snat-port-min", offsetof(struct lb_settings, snat_port_min), 1024, 65535, 0},
	{"snat-port-max", offsetof(struct lb_settings, snat_port_max), 1024, 65535, 0},
};

const char *const lb_cfg_hc_type_names[] = {"tcp", "http", "https", "none"};
const char *const lb_cfg_xdp_mode_names[] = {"auto", "native", "generic"};
const char *const lb_cfg_ingress_names[] = {"auto", "xdp", "tc"};
const char *const lb_cfg_splice_mode_names[] = {"auto", "sockmap", "copy"};
const char *const lb_cfg_protocol_names[] = {NULL, "tcp", "udp", "both"};
const char *const lb_cfg_hash_names[] = {"5-tuple", "source-address"};
const char *const lb_cfg_forwarding_names[] = {"nat", "full-nat", "dsr"};
const char *const lb_cfg_selection_names[] = {"maglev", "least-connections"};
/* By version: lbd writes the binary header of version 2 only, so "v1" is refused. */
const char *const lb_cfg_pp_names[] = {"none", NULL, "v2"};

static const uint16_t default_codes[] = {200, 201, 202, 204};

void lb_settings_default(struct lb_settings *s)
{
	struct lb_hc_cfg *hc = &s->health_check_defaults;

	memset(s, 0, sizeof(*s));
	s->stats_enabled = false;
	s->connection_timeout_sec = 300;
	s->udp_timeout_sec = 60;
	s->max_connections = 100000;
	s->health_check_enabled = false;
	s->fast_path = false;
	hc->type = LB_HC_TCP;
	strcpy(hc->path, "/health");
	hc->interval_ms = 10000;
	hc->timeout_ms = 3000;
	hc->healthy_threshold = 2;
	hc->unhealthy_threshold = 3;
	memcpy(hc->expected_codes, default_codes, sizeof(default_codes));
	hc->n_expected_codes = ARRAY_SIZE(default_codes);
	s->default_drain_timeout_ms = 30000;
	s->drain_check_interval_ms = 1000;
	s->xdp_mode = LB_XDP_AUTO;
	s->ingress = LB_INGRESS_AUTO;
	s->sni_hello_timeout_ms = 5000;
	s->sni_max_pending = 1024;
	s->sni_splice = LB_SPLICE_AUTO;
	s->hash_seed = 0;
	s->maglev_table_size = LB_MAGLEV_TABLE_SIZE_DEFAULT;
	s->announce_table = 0;
	s->announce_protocol = LB_ANNOUNCE_PROTOCOL_DEFAULT;
	s->snat_port_min = LB_SNAT_PORT_MIN_DEFAULT;
	s->snat_port_max = LB_SNAT_PORT_MAX_DEFAULT;
}

const char *lb_forwarding_name(unsigned int f)
{
	return f < ARRAY_SIZE(lb_cfg_forwarding_names) ? lb_cfg_forwarding_names[f] : "?";
}

const char *lb_selection_name(unsigned int s)
{
	return s < ARRAY_SIZE(lb_cfg_selection_names) ? lb_cfg_selection_names[s] : "?";
}

int lb_selection_from_name(const char *s, uint8_t *sel)
{
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(lb_cfg_selection_names); i++)
		if (!strcmp(s, lb_cfg_selection_names[i])) {
			*sel = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

int lb_forwarding_from_name(const char *s, uint8_t *f)
{
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(lb_cfg_forwarding_names); i++)
		if (!strcmp(s, lb_cfg_forwarding_names[i])) {
			*f = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

const char *lb_hash_name(unsigned int h)
{
	return h < ARRAY_SIZE(lb_cfg_hash_names) ? lb_cfg_hash_names[h] : "?";
}

unsigned int lb_proxy_families(const struct lb_proxy_cfg *p)
{
	unsigned int f = 0;
	size_t g, t;

	if (p->has_address)
		return lb_ip_family(&p->address);
	if (p->n_sni_routes)
		return LB_FAMILY_V4 | LB_FAMILY_V6;
	for (g = 0; g <= p->n_routes; g++) {
		const struct lb_group_cfg *gc = lb_proxy_group(p, g);

		for (t = 0; t < gc->n; t++)
			f |= lb_ip_family(&gc->t[t].addr);
	}
	return f;
}

struct lb_config *lb_config_new(void)
{
	struct lb_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg)
		lb_settings_default(&cfg->settings);
	return cfg;
}

/* A malloc'ed copy of @n elements of @size at @src; NULL for none (or without memory). */
static void *dup_array(const void *src, size_t n, size_t size, bool *nomem)
{
	void *d;

	if (!n || !src)
		return NULL;
	d = malloc(n * size);
	if (!d)
		*nomem = true;
	else
		memcpy(d, src, n * size);
	return d;
}

int lb_group_cfg_alloc(struct lb_group_cfg *g, size_t n)
{
	lb_group_cfg_release(g);
	if (!n)
		return 0;
	g->t = calloc(n, sizeof(*g->t));
	if (!g->t)
		return -ENOMEM;
	g->n = n;
	return 0;
}

int lb_group_cfg_copy(struct lb_group_cfg *dst, const struct lb_group_cfg *src)
{
	bool nomem = false;

	dst->t = dup_array(src->t, src->n, sizeof(*src->t), &nomem);
	dst->n = dst->t ? src->n : 0;
	return nomem ? -ENOMEM : 0;
}

void lb_group_cfg_release(struct lb_group_cfg *g)
{
	if (!g)
		return;
	free(g->t);
	g->t = NULL;
	g->n = 0;
}

/* Replace every group of @q (a shallow copy of @p) by its own copy. */
static bool dup_groups(struct lb_proxy_cfg *q, const struct lb_proxy_cfg *p)
{
	bool ok = true;
	size_t i;

	/* First make every group hold nothing, so a failure frees only copies. */
	q->default_group.t = NULL;
	for (i = 0; i < q->n_routes; i++)
		q->routes[i].group.t = NULL;
	for (i = 0; i < q->n_sni_routes; i++)
		q->sni_routes[i].group.t = NULL;
	ok = !lb_group_cfg_copy(&q->default_group, &p->default_group);
	for (i = 0; i < q->n_routes; i++)
		ok = !lb_group_cfg_copy(&q->routes[i].group, &p->routes[i].group) && ok;
	for (i = 0; i < q->n_sni_routes; i++)
		ok = !lb_group_cfg_copy(&q->sni_routes[i].group, &p->sni_routes[i].group) && ok;
	return ok;
}

struct lb_config *lb_config_dup(const struct lb_config *cfg)
{
	struct lb_config *d;
	bool nomem = false;
	size_t i;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->settings = cfg->settings;
	d->settings.access_log = NULL; /* not @cfg's: lb_config_free(d) below frees it */
	if (cfg->settings.access_log) {
		d->settings.access_log = strdup(cfg->settings.access_log);
		if (!d->settings.access_log)
			goto nomem;
	}
	if (cfg->n_proxies) {
		d->proxies = calloc(cfg->n_proxies, sizeof(*d->proxies));
		if (!d->proxies)
			goto nomem;
		d->n_proxies = cfg->n_proxies;
	}
	for (i = 0; i < cfg->n_proxies; i++) {
		const struct lb_proxy_cfg *p = &cfg->proxies[i];
		struct lb_proxy_cfg *q = &d->proxies[i];

		*q = *p;
		q->routes = dup_array(p->routes, p->n_routes, sizeof(*q->routes), &nomem);
		if (!q->routes)
			q->n_routes = 0;
		q->sni_routes =
			dup_array(p->sni_routes, p->n_sni_routes, sizeof(*q->sni_routes), &nomem);
		if (!q->sni_routes)
			q->n_sni_routes = 0;
		if (!dup_groups(q, p))
			nomem = true;
		if (nomem)
			goto nomem;
	}
	return d;
nomem:
	lb_config_free(d);
	errno = ENOMEM;
	return NULL;
}

void lb_config_free(struct lb_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_proxies && cfg->proxies; i++)
		lb_proxy_cfg_release(&cfg->proxies[i]);
	free(cfg->proxies);
	free(cfg->settings.access_log);
	free(cfg);
}

void lb_proxy_cfg_release(struct lb_proxy_cfg *p)
{
	size_t i;

	if (!p)
		return;
	lb_group_cfg_release(&p->default_group);
	for (i = 0; i < p->n_routes && p->routes; i++)
		lb_group_cfg_release(&p->routes[i].group);
	for (i = 0; i < p->n_sni_routes && p->sni_routes; i++)
		lb_group_cfg_release(&p->sni_routes[i].group);
	free(p->routes);
	p->routes = NULL;
	p->n_routes = 0;
	free(p->sni_routes);
	p->sni_routes = NULL;
	p->n_sni_routes = 0;
}

/*
 * A linear scan, once per TLS connection: reading its ClientHello costs far more. An exact
 * match ends it; a wildcard wins only once every route has been seen, whatever their order.
 */
const struct lb_sni_route_cfg *lb_sni_route_match(const struct lb_proxy_cfg *p, const char *name)
{
	const struct lb_sni_route_cfg *best = NULL;
	size_t len, i, slen, best_len = 0;

	if (!p || !name || (p->n_sni_routes && !p->sni_routes))
		return NULL;
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.') /* "example.com." is "example.com", fully qualified */
		len--;
	for (i = 0; i < p->n_sni_routes; i++) {
		const struct lb_sni_route_cfg *r = &p->sni_routes[i];
		const char *h = r->hostname;

		slen = strnlen(h, sizeof(r->hostname));
		if (!r->wildcard) {
			if (slen == len && !strncasecmp(h, name, len))
				return r;
			continue;
		}
		/* "*.example.com" matches one label or more before ".example.com", never itself. */
		if (slen < 2 || h[0] != '*')
			continue;
		h++;
		slen--;
		if (slen < len && slen > best_len && !strncasecmp(name + len - slen, h, slen)) {
			best = r;
			best_len = slen;
		}
	}
	return best;
}

const char *lb_splice_mode_name(enum lb_splice_mode m)
{
	return (unsigned int)m < ARRAY_SIZE(lb_cfg_splice_mode_names) ? lb_cfg_splice_mode_names[m]
								      : "unknown";
}

const char *lb_hc_type_name(enum lb_hc_type t)
{
	return (unsigned int)t < ARRAY_SIZE(lb_cfg_hc_type_names) ? lb_cfg_hc_type_names[t]
								  : "unknown";
}

const char *lb_xdp_mode_name(enum lb_xdp_mode m)
{
	return (unsigned int)m < ARRAY_SIZE(lb_cfg_xdp_mode_names) ? lb_cfg_xdp_mode_names[m]
								   : "unknown";
}

/* Index of @s among @n words, or -1. */
static int word_index(const char *const *words, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (words[i] && !strcmp(words[i], s))
			return (int)i;
	return -1;
}

int lb_xdp_mode_from_name(const char *s, enum lb_xdp_mode *m)
{
	int i = word_index(lb_cfg_xdp_mode_names, ARRAY_SIZE(lb_cfg_xdp_mode_names), s);

	if (i < 0)
		return -EINVAL;
	*m = (enum lb_xdp_mode)i;
	return 0;
}

int lb_ingress_from_name(const char *s, enum lb_ingress *in)
{
	int i = word_index(lb_cfg_ingress_names, ARRAY_SIZE(lb_cfg_ingress_names), s);

	if (i < 0)
		return -EINVAL;
	*in = (enum lb_ingress)i;
	return 0;
}

const char *lb_ingress_name(enum lb_ingress i)
{
	return (unsigned int)i < ARRAY_SIZE(lb_cfg_ingress_names) ? lb_cfg_ingress_names[i]
								  : "unknown";
}

struct lb_proxy_cfg *lb_config_find_proxy(const struct lb_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_proxies; i++)
		if (!strcmp(cfg->proxies[i].name, name))
			return &cfg->proxies[i];
	return NULL;
}
