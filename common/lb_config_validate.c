// SPDX-License-Identifier: MIT
/*
 * lb_config_validate.c - the rules of a configuration, on the model.
 *
 * The parser applies each rule where the exact JSON path is at hand and ends by running
 * lb_cfg_validate() on what it built; lb_config_validate() runs the very same code on a
 * configuration built in code, so both report the same message at the same path.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lb_addr.h"
#include "lb_config_priv.h"

/* A byte named in a message: 'x' when printable, \xNN otherwise. */
static const char *char_name(unsigned char ch, char buf[8])
{
	if (ch > 0x20 && ch < 0x7f)
		snprintf(buf, 8, "'%c'", ch);
	else if (ch == ' ')
		snprintf(buf, 8, "a space");
	else
		snprintf(buf, 8, "\\x%02x", ch);
	return buf;
}

int lb_cfg_check_usable(struct ctx *c, const char *path, const struct lb_ip *addr)
{
	char msg[LB_ERR_MAX];

	if (lb_check_usable(addr, msg, sizeof(msg)))
		return lb_cfg_fail(c, path, "%s", msg);
	return 0;
}

int lb_cfg_check_name(struct ctx *c, const char *path, const char *name)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(name, NAME_LEN_MAX + 1), i;

	if (n == 0)
		return lb_cfg_fail(c, path, "must not be empty");
	if (n > NAME_LEN_MAX)
		return lb_cfg_fail(c, path, "%s is longer than %d characters", lb_quote(name, q),
				   NAME_LEN_MAX);
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)name[i];

		if ((x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
		    x == '_' || x == '.' || x == '-')
			continue;
		return lb_cfg_fail(c, path,
				   "%s contains %s; use only letters, digits, '_', '.' and '-'",
				   lb_quote(name, q), char_name(x, ch));
	}
	return 0;
}

/* The kernel's own rules (dev_valid_name()), so a name it would refuse is refused here. */
int lb_cfg_check_iface_name(struct ctx *c, const char *path, const char *name)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(name, IFNAME_LEN_MAX + 1), i;

	if (n == 0)
		return lb_cfg_fail(c, path, "must not be empty");
	if (n > IFNAME_LEN_MAX)
		return lb_cfg_fail(
			c, path,
			"%s is longer than %d characters, the longest interface name Linux allows",
			lb_quote(name, q), IFNAME_LEN_MAX);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return lb_cfg_fail(c, path, "%s is not a valid interface name", lb_quote(name, q));
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)name[i];

		/*
		 * ':' matters: the kernel cuts "eth0:1" to "eth0" in some lookups, so an alias
		 * label would silently attach to the whole device.
		 */
		if (x <= 0x20 || x == 0x7f || x == '/' || x == ':')
			return lb_cfg_fail(
				c, path,
				"%s contains %s, which Linux does not allow in an interface name",
				lb_quote(name, q), char_name(x, ch));
	}
	return 0;
}

int lb_cfg_check_ifaces(struct ctx *c, const struct lb_proxy_cfg *p, const char *listen_path)
{
	char path[JPATH_MAX], ipath[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t i, j;
	int ret;

	lb_cfg_pkey(path, listen_path, "interfaces");
	if (p->n_ifaces == 0)
		return lb_cfg_fail(c, path, "must list at least one interface");
	if (p->n_ifaces > LB_MAX_IFACES_PER_PROXY)
		return lb_cfg_fail(c, path, "has %zu interfaces, at most %d are allowed",
				   p->n_ifaces, LB_MAX_IFACES_PER_PROXY);
	for (i = 0; i < p->n_ifaces; i++) {
		ret = lb_cfg_check_iface_name(c, lb_cfg_pidx(ipath, path, i), p->ifaces[i]);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (!strncmp(p->ifaces[i], p->ifaces[j], IF_NAMESIZE))
				return lb_cfg_fail(c, ipath, "%s is already listed as %s[%zu]",
						   lb_quote(p->ifaces[i], q), lb_cfg_ref(path), j);
	}
	return 0;
}

int lb_cfg_check_hc_path(struct ctx *c, const char *path, const char *s)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(s, LB_HC_PATH_MAX), i;

	if (n >= LB_HC_PATH_MAX)
		return lb_cfg_fail(c, path, "is longer than %d characters", LB_HC_PATH_MAX - 1);
	if (s[0] != '/')
		return lb_cfg_fail(c, path, "%s must start with '/'", lb_quote(s, q));
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)s[i];

		/* It goes into an HTTP request line as is: no spaces, controls or raw UTF-8. */
		if (x <= 0x20 || x >= 0x7f)
			return lb_cfg_fail(c, path, "%s contains %s; percent-encode it (e.g. %%20)",
					   lb_quote(s, q), char_name(x, ch));
	}
	return 0;
}

int lb_cfg_check_access_log(struct ctx *c, const char *path, const char *s)
{
	char q[LB_QUOTE_MAX];
	const char *base;
	size_t n = strnlen(s, LOG_PATH_MAX + 1);

	/* lbd's working directory is nobody's business: a relative path would move with it. */
	if (s[0] != '/')
		return lb_cfg_fail(c, path, "must be an absolute path, not %s", lb_quote(s, q));
	if (n > LOG_PATH_MAX)
		return lb_cfg_fail(c, path, "is longer than %d bytes", LOG_PATH_MAX);
	base = strrchr(s, '/') + 1;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return lb_cfg_fail(c, path,
				   "%s names a directory; give the path of a file (e.g. "
				   "\"/var/log/lbd/access.log\")",
				   lb_quote(s, q));
	return 0;
}

int lb_cfg_check_hc_host(struct ctx *c, const char *path, const char *s)
{
	char q[LB_QUOTE_MAX];
	struct in_addr a;
	bool wild;
	int ret;

	/* RFC 6066 3: server_name holds a DNS name, never an address literal. */
	if (inet_pton(AF_INET, s, &a) == 1 || strchr(s, ':'))
		return lb_cfg_fail(c, path,
				   "%s is an address, not a server name; leave \"host\" out to "
				   "send no server name and \"Host: IP:PORT\"",
				   lb_quote(s, q));
	ret = lb_cfg_check_sni_hostname(c, path, s, s, strnlen(s, LB_SNI_NAME_MAX + 1), &wild);
	if (!ret && wild)
		return lb_cfg_fail(c, path, "%s is a wildcard; a check names one server",
				   lb_quote(s, q));
	return ret;
}

int lb_cfg_check_ca_file(struct ctx *c, const char *path, const char *s)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(s, LOG_PATH_MAX + 1), i;

	if (s[0] != '/')
		return lb_cfg_fail(c, path, "must be an absolute path, not %s", lb_quote(s, q));
	if (n > LOG_PATH_MAX)
		return lb_cfg_fail(c, path, "is longer than %d bytes", LOG_PATH_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return lb_cfg_fail(c, path, "%s contains %s", lb_quote(s, q),
					   char_name((unsigned char)s[i], ch));
	return 0;
}

int lb_cfg_check_hc(struct ctx *c, const struct lb_hc_cfg *hc, const char *path, unsigned int set,
		    const char *base)
{
	char p[JPATH_MAX], p2[JPATH_MAX];
	const char *note = "";
	char notebuf[128];
	size_t i;
	int ret;

	if ((unsigned int)hc->type >= ARRAY_SIZE(lb_cfg_hc_type_names))
		return lb_cfg_fail(c, lb_cfg_pkey(p, path, "type"), "unknown health-check type %d",
				   (int)hc->type);
	ret = lb_cfg_check_hc_path(c, lb_cfg_pkey(p, path, "path"), hc->path);
	if (ret)
		return ret;
	if (hc->host) {
		ret = lb_cfg_check_hc_host(c, lb_cfg_pkey(p, path, "host"), hc->host);
		if (ret)
			return ret;
	}
	if (hc->ca_file) {
		ret = lb_cfg_check_ca_file(c, lb_cfg_pkey(p, path, "ca-file"), hc->ca_file);
		if (ret)
			return ret;
	}
	/* Said here and ignored would be worse than refused (the defaults serve https targets). */
	if ((set & HC_SET_TLS) && hc->type != LB_HC_HTTPS && strcmp(base, HC_BASE_BUILTIN))
		return lb_cfg_fail(c, path,
				   "tls-verify and ca-file apply to https checks only (type is "
				   "\"%s\")",
				   lb_cfg_hc_type_names[hc->type]);
	if ((set & HC_SET_CA) && !hc->tls_verify)
		return lb_cfg_fail(c, lb_cfg_pkey(p, path, "ca-file"),
				   "is read only to verify certificates: add \"tls-verify\": true");
	for (i = 0; i < ARRAY_SIZE(lb_cfg_hc_fields); i++) {
		const struct u32_field *f = &lb_cfg_hc_fields[i];
		uint32_t v = field_get(hc, f);

		if (out_of_range(v, f->min, f->max))
			return lb_cfg_fail_range(c, lb_cfg_pkey(p, path, f->key), v, f->min,
						 f->max);
	}
	if (hc->n_expected_codes < 1 || hc->n_expected_codes > LB_HC_CODES_MAX)
		return lb_cfg_fail(c, lb_cfg_pkey(p, path, "expected-codes"),
				   "must list 1 to %d status codes (got %zu)", LB_HC_CODES_MAX,
				   hc->n_expected_codes);
	for (i = 0; i < hc->n_expected_codes; i++)
		if (out_of_range(hc->expected_codes[i], HC_CODE_MIN, HC_CODE_MAX))
			return lb_cfg_fail_range(
				c, lb_cfg_pidx(p2, lb_cfg_pkey(p, path, "expected-codes"), i),
				hc->expected_codes[i], HC_CODE_MIN, HC_CODE_MAX);
	if (hc->timeout_ms >= hc->interval_ms) {
		if ((set & HC_SET_BOTH) == HC_SET_INTERVAL)
			note = "timeout-ms";
		else if ((set & HC_SET_BOTH) == HC_SET_TIMEOUT)
			note = "interval-ms";
		if (*note) {
			snprintf(notebuf, sizeof(notebuf), "; %s is inherited from %s", note, base);
			note = notebuf;
		}
		return lb_cfg_fail(c, path, "timeout-ms (%u) must be less than interval-ms (%u)%s",
				   hc->timeout_ms, hc->interval_ms, note);
	}
	return 0;
}

static bool maglev_size_ok(uint32_t m)
{
	static const uint32_t sizes[] = LB_MAGLEV_TABLE_SIZES;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (sizes[i] == m)
			return true;
	return false;
}

static int check_settings(struct ctx *c, const struct lb_settings *s)
{
	char p[JPATH_MAX];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(lb_cfg_settings_fields); i++) {
		const struct u32_field *f = &lb_cfg_settings_fields[i];
		uint32_t v = field_get(s, f);

		if (out_of_range(v, f->min, f->max))
			return lb_cfg_fail_range(c, lb_cfg_pkey(p, "settings", f->key), v, f->min,
						 f->max);
	}
	if ((unsigned int)s->xdp_mode >= ARRAY_SIZE(lb_cfg_xdp_mode_names))
		return lb_cfg_fail(c, "settings.xdp-mode", "unknown XDP mode %d", (int)s->xdp_mode);
	if ((unsigned int)s->ingress >= ARRAY_SIZE(lb_cfg_ingress_names))
		return lb_cfg_fail(c, "settings.ingress", "unknown ingress hook %d",
				   (int)s->ingress);
	if ((unsigned int)s->sni_splice >= ARRAY_SIZE(lb_cfg_splice_mode_names))
		return lb_cfg_fail(c, "settings.sni-splice", "unknown splice mode %d",
				   (int)s->sni_splice);
	if (!maglev_size_ok(s->maglev_table_size))
		return lb_cfg_fail(c, "settings.maglev-table-size",
				   "%u is not a table size lbd offers: use 4093, 16381, 65537 "
				   "(the default) or 131071 (primes)",
				   s->maglev_table_size);
	/* RT_TABLE_DEFAULT (253), RT_TABLE_MAIN (254), RT_TABLE_LOCAL (255): the kernel's own. */
	if (s->announce_table >= 253 && s->announce_table <= 255)
		return lb_cfg_fail(c, "settings.announce-table",
				   "table %u is one the kernel routes with (253 default, 254 main, "
				   "255 local): lbd's blackhole routes there would swallow the "
				   "listener addresses; pick a table of its own, e.g. 200",
				   s->announce_table);
	if (s->metrics_listen && !s->metrics_port)
		return lb_cfg_fail(c, "settings.metrics-listen", "port 0 is not a valid port");
	if (s->metrics_listen && !lb_ip_is_any(&s->metrics_addr) &&
	    lb_addr_unusable(&s->metrics_addr))
		return lb_cfg_fail(c, "settings.metrics-listen", "%s",
				   lb_addr_unusable(&s->metrics_addr));
	ret = s->access_log ? lb_cfg_check_access_log(c, "settings.access-log", s->access_log) : 0;
	if (ret)
		return ret;
	return lb_cfg_check_hc(c, &s->health_check_defaults, "settings.health-check-defaults",
			       HC_SET_BOTH, HC_BASE_BUILTIN);
}

int lb_cfg_check_group_size(struct ctx *c, const char *path, size_t n)
{
	if (n == 0)
		return lb_cfg_fail(c, path, "must list at least one target");
	if (n > LB_MAX_TARGETS_PER_GROUP)
		return lb_cfg_fail(c, path, "has %zu targets, at most %d are allowed in one group",
				   n, LB_MAX_TARGETS_PER_GROUP);
	return 0;
}

int lb_cfg_check_group_family(struct ctx *c, const struct lb_group_cfg *g, const char *path,
			      int family, const char *clients)
{
	char p[JPATH_MAX], a[LB_TARGET_STR_MAX];
	size_t i;

	for (i = 0; i < g->n; i++)
		if (lb_ip_is_v4(&g->t[i].addr) != (family == 4))
			return lb_cfg_fail(
				c, g->n > 1 ? lb_cfg_pidx(p, path, i) : path,
				"%s is an IPv%d target, but %s are IPv%d: balancing in the kernel "
				"does not translate between families (SNI routes, which connect "
				"from lbd, may mix them)",
				lb_format_target(&g->t[i].addr, g->t[i].port, a),
				family == 4 ? 6 : 4, clients, family);
	return 0;
}

int lb_cfg_check_group(struct ctx *c, const struct lb_group_cfg *g, const char *path)
{
	char p[JPATH_MAX], a[LB_TARGET_STR_MAX];
	unsigned int sum = 0;
	size_t i, j;

	for (i = 0; i < g->n; i++) {
		for (j = 0; j < i; j++)
			if (lb_ip_eq(&g->t[i].addr, &g->t[j].addr) && g->t[i].port == g->t[j].port)
				return lb_cfg_fail(c, lb_cfg_pidx(p, path, i),
						   "%s is already listed as %s[%zu]",
						   lb_format_target(&g->t[i].addr, g->t[i].port, a),
						   lb_cfg_ref(path), j);
		sum += g->t[i].weight;
	}
	if (lb_group_relative(g->n)) {
		if (sum == 0)
			return lb_cfg_fail(
				c, path,
				"every weight is 0; at least one of the %zu targets needs a "
				"weight above 0 (weights of a group of more than %d targets "
				"are relative shares)",
				g->n, LB_PCT_GROUP_MAX);
		return 0;
	}
	if (sum != WEIGHT_SUM)
		return lb_cfg_fail(c, path, "weights sum to %u, must be %d", sum, WEIGHT_SUM);
	return 0;
}

int lb_cfg_check_proxy_protocol(struct ctx *c, const char *path, unsigned int version,
				const char *refusal)
{
	if (version >= ARRAY_SIZE(lb_cfg_pp_names) || !lb_cfg_pp_names[version])
		return lb_cfg_fail(
			c, path, "PROXY protocol version %u is not one lbd sends (0: none, 2: v2)",
			version);
	/*
	 * The header goes first on the connection lbd opens to the target; XDP only rewrites
	 * the client's own packets and has no connection of its own to put it on.
	 */
	if (version && refusal)
		return lb_cfg_fail(c, path,
				   "only targets reached through SNI routing (a proxy with "
				   "sni-routes) can send a PROXY protocol header; %s",
				   refusal);
	return 0;
}

static int check_target(struct ctx *c, const struct lb_target_cfg *t, const char *path,
			const char *pp_refusal)
{
	char p[JPATH_MAX];
	int ret;

	ret = lb_cfg_check_usable(c, lb_cfg_pkey(p, path, "ip"), &t->addr);
	if (ret)
		return ret;
	if (t->port == 0)
		return lb_cfg_fail_range(c, lb_cfg_pkey(p, path, "port"), 0, 1, 65535);
	if (t->weight > WEIGHT_MAX)
		return lb_cfg_fail_range(c, lb_cfg_pkey(p, path, "weight"), t->weight, 0,
					 WEIGHT_MAX);
	ret = lb_cfg_check_proxy_protocol(c, lb_cfg_pkey(p, path, "proxy-protocol"),
					  t->proxy_protocol, pp_refusal);
	if (ret)
		return ret;
	return lb_cfg_check_hc(c, &t->hc, lb_cfg_pkey(p, path, "health-check"), HC_SET_BOTH,
			       HC_BASE_SETTINGS);
}

/*
 * Everything about a group built in code: size, each target, then the group rules.
 * @pp_refusal: why its targets may not send a PROXY protocol header, NULL if they may.
 */
static int check_group_model(struct ctx *c, const struct lb_group_cfg *g, const char *path,
			     const char *pp_refusal)
{
	char p[JPATH_MAX];
	size_t i;
	int ret;

	ret = lb_cfg_check_group_size(c, path, g->n);
	if (ret)
		return ret;
	for (i = 0; i < g->n; i++) {
		/* A lone target is written as an object, several as an array. */
		ret = check_target(c, &g->t[i], g->n > 1 ? lb_cfg_pidx(p, path, i) : path,
				   pp_refusal);
		if (ret)
			return ret;
	}
	return lb_cfg_check_group(c, g, path);
}

/* What find_repeat() sorts by: items of @size at @items, compared by @cmp. */
struct repeat_ctx {
	const char *items;
	size_t size;
	int (*cmp)(const void *a, const void *b);
};

static const void *repeat_item(const struct repeat_ctx *r, size_t i)
{
	return r->items + i * r->size;
}

/* Indices by their items, equal items by index (file order). */
static int repeat_cmp(const void *a, const void *b, void *arg)
{
	const struct repeat_ctx *r = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int d = r->cmp(repeat_item(r, x), repeat_item(r, y));

	if (d)
		return d;
	return x < y ? -1 : x > y;
}

/*
 * The first of @n items that equals an earlier one under @cmp: 1 with its index in *dup and
 * the earlier one's in *orig, 0 when all differ, -ENOMEM. Sorting keeps this O(n log n) for
 * big route tables; among all repeats, the one latest in the file order is not what users
 * want to hear about, so the first item that repeats an earlier one is named.
 */
static int find_repeat(struct ctx *c, const void *items, size_t n, size_t size,
		       int (*cmp)(const void *a, const void *b), size_t *dup, size_t *orig)
{
	const struct repeat_ctx r = {items, size, cmp};
	size_t i, first = 0, d = SIZE_MAX, o = 0, *idx;

	if (n < 2)
		return 0;
	idx = calloc(n, sizeof(*idx));
	if (!idx)
		return lb_cfg_fail_nomem(c);
	for (i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), repeat_cmp, (void *)&r);
	for (i = 1; i < n; i++) {
		if (cmp(repeat_item(&r, idx[i]), repeat_item(&r, idx[first]))) {
			first = i;
			continue;
		}
		if (idx[i] < d) {
			d = idx[i];
			o = idx[first];
		}
	}
	free(idx);
	if (d == SIZE_MAX)
		return 0;
	*dup = d;
	*orig = o;
	return 1;
}

static int route_cmp(const void *a, const void *b)
{
	const struct lb_route_cfg *x = a, *y = b;

	uint8_t xl = lb_prefix128(&x->addr, x->prefix_len),
		yl = lb_prefix128(&y->addr, y->prefix_len);

	if (xl != yl)
		return xl < yl ? -1 : 1;
	return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

/* No prefix twice in one proxy. */
int lb_cfg_check_routes_unique(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char rp[JPATH_MAX], dp[JPATH_MAX], sp[JPATH_MAX], net[LB_TARGET_STR_MAX];
	size_t dup = 0, orig = 0;
	int ret;

	ret = find_repeat(c, p->routes, p->n_routes, sizeof(*p->routes), route_cmp, &dup, &orig);
	if (ret <= 0)
		return ret;
	lb_cfg_pidx(rp, path, orig);
	return lb_cfg_fail(c, lb_cfg_pkey(sp, lb_cfg_pidx(dp, path, dup), "source"),
			   "%s is already routed by %s",
			   lb_format_cidr(&p->routes[dup].addr, p->routes[dup].prefix_len, net),
			   lb_cfg_ref(rp));
}

static int check_route(struct ctx *c, const struct lb_route_cfg *r, const char *path)
{
	char p[JPATH_MAX], net[LB_TARGET_STR_MAX], hint[LB_TARGET_STR_MAX];
	struct lb_ip masked = r->addr;
	const uint8_t *b = (const uint8_t *)&masked;
	unsigned int i;
	bool host_bits = false;
	int ret;

	if (r->prefix_len > lb_prefix_max(&r->addr))
		return lb_cfg_fail(c, lb_cfg_pkey(p, path, "source"),
				   "prefix length %u is out of range (0 to %u)", r->prefix_len,
				   lb_prefix_max(&r->addr));
	for (i = lb_prefix128(&r->addr, r->prefix_len); i < 128; i++)
		if (b[i / 8] & (0x80u >> (i % 8))) {
			host_bits = true;
			((uint8_t *)&masked)[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
		}
	if (host_bits)
		return lb_cfg_fail(c, lb_cfg_pkey(p, path, "source"),
				   "%s has host bits set; did you mean %s?",
				   lb_format_cidr(&r->addr, r->prefix_len, net),
				   lb_format_cidr(&masked, r->prefix_len, hint));
	lb_cfg_pkey(p, path, r->group.n > 1 ? "targets" : "target");
	ret = check_group_model(c, &r->group, p, PP_SOURCE_ROUTE);
	if (ret)
		return ret;
	/* Clients of the prefix's family only: its targets must be of that family. */
	return lb_cfg_check_group_family(c, &r->group, p, lb_ip_is_v4(&r->addr) ? 4 : 6,
					 "this route's clients");
}

/* What a server name may hold besides the dots between its labels (and a leading "*."). */
static bool sni_char_ok(unsigned char x)
{
	return (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
	       x == '-' || x == '_';
}

/*
 * The names lb_tls_parse_hello() accepts from a ClientHello, so that every route can match.
 * A wildcard needs two labels after "*." so that one route cannot take a whole top-level
 * domain ("*.com"); '*' is the whole first label, the one form certificates still use, and
 * "*foo.example.com" or "a.*.example.com" are refused rather than guessed at.
 */
int lb_cfg_check_sni_hostname(struct ctx *c, const char *path, const char *shown, const char *name,
			      size_t len, bool *wildcard)
{
	static const char star_inside[] =
		"inside a label; a wildcard is a whole first label, as in \"*.example.com\"";
	static const char star_after[] = "after the first label; a wildcard is written "
					 "\"*.example.com\" and matches names ending in "
					 "\".example.com\"";
	char q[LB_QUOTE_MAX], ch[8];
	size_t i, start, labels = 0;
	bool wild;

	lb_quote(shown, q);
	if (len == 0)
		return lb_cfg_fail(c, path, "must not be empty");
	if (len > LB_SNI_NAME_MAX)
		return lb_cfg_fail(c, path, "%s is %zu bytes long; a server name has at most %d", q,
				   len, LB_SNI_NAME_MAX);
	if (len == 1 && name[0] == '*')
		return lb_cfg_fail(c, path,
				   "\"*\" alone would match every name; the default target already "
				   "takes the names no route matches");
	wild = len >= 2 && name[0] == '*' && name[1] == '.';
	start = wild ? 2 : 0;
	/* One past the end counts as a dot: it ends the last label. */
	for (i = start; i <= len; i++) {
		unsigned char x = i < len ? (unsigned char)name[i] : '.';

		if (x == '.') {
			if (i == start)
				return lb_cfg_fail(c, path,
						   "%s has an empty label (labels are "
						   "separated by single dots)",
						   q);
			if (i - start > SNI_LABEL_MAX)
				return lb_cfg_fail(c, path,
						   "%s has a label of %zu bytes; a label "
						   "has at most %d",
						   q, i - start, SNI_LABEL_MAX);
			start = i + 1;
			labels++;
		} else if (x == '*') {
			return lb_cfg_fail(c, path, "%s has '*' %s", q,
					   labels || wild ? star_after : star_inside);
		} else if (!sni_char_ok(x)) {
			return lb_cfg_fail(c, path,
					   "%s contains %s; a server name has only letters, "
					   "digits, '-' and '_' between its dots%s",
					   q, char_name(x, ch),
					   x >= 0x80 ? " (write an internationalised name in its "
						       "ASCII form, \"xn--...\")"
						     : "");
		}
	}
	if (wild && labels < 2)
		return lb_cfg_fail(c, path,
				   "%s would match names under a whole top-level domain; "
				   "a wildcard needs at least two labels after \"*.\", as in "
				   "\"*.example.com\"",
				   q);
	*wildcard = wild;
	return 0;
}

static int sni_route_cmp(const void *a, const void *b)
{
	const struct lb_sni_route_cfg *x = a, *y = b;

	return strncasecmp(x->hostname, y->hostname, sizeof(x->hostname));
}

int lb_cfg_find_sni_dup(struct ctx *c, const struct lb_proxy_cfg *p, size_t *dup, size_t *orig)
{
	return find_repeat(c, p->sni_routes, p->n_sni_routes, sizeof(*p->sni_routes), sni_route_cmp,
			   dup, orig);
}

int lb_cfg_check_sni_listen(struct ctx *c, const struct lb_proxy_cfg *p, const char *listen_path)
{
	char path[JPATH_MAX];

	if (!p->n_sni_routes || p->protocols & LB_L4_TCP)
		return 0;
	return lb_cfg_fail(c, lb_cfg_pkey(path, listen_path, "protocol"),
			   "a proxy with sni-routes reads the TLS ClientHello of TCP connections, "
			   "so it must listen on \"tcp\" or \"both\", not \"udp\"");
}

static int check_sni_route(struct ctx *c, const struct lb_sni_route_cfg *r, const char *path)
{
	char p[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t len = strnlen(r->hostname, sizeof(r->hostname));
	bool wild = false;
	int ret;

	lb_cfg_pkey(p, path, "sni-hostname");
	/* Not NUL-terminated: nothing to quote, and nothing lbd could compare. */
	if (len > LB_SNI_NAME_MAX)
		return lb_cfg_fail(c, p, "is longer than %d bytes", LB_SNI_NAME_MAX);
	ret = lb_cfg_check_sni_hostname(c, p, r->hostname, r->hostname, len, &wild);
	if (ret)
		return ret;
	if (wild != r->wildcard)
		return lb_cfg_fail(
			c, p,
			wild ? "%s is a wildcard, but the route is not marked as one"
			     : "%s is marked as a wildcard but does not start with \"*.\"",
			lb_quote(r->hostname, q));
	return check_group_model(c, &r->group,
				 lb_cfg_pkey(p, path, r->group.n > 1 ? "targets" : "target"), NULL);
}

/* Every SNI route of @p on its own, then that no hostname repeats; @path is "sni-routes". */
static int check_sni_routes(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char rp[JPATH_MAX], dp[JPATH_MAX], hp[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t i, dup = 0, orig = 0;
	int ret;

	if (p->n_sni_routes > SNI_ROUTES_MAX)
		return lb_cfg_fail(c, path, "has %zu SNI routes, at most %d are allowed",
				   p->n_sni_routes, SNI_ROUTES_MAX);
	if (p->n_sni_routes && !p->sni_routes)
		return lb_cfg_fail(c, path, "has %zu SNI routes but no route array",
				   p->n_sni_routes);
	for (i = 0; i < p->n_sni_routes; i++) {
		ret = check_sni_route(c, &p->sni_routes[i], lb_cfg_pidx(rp, path, i));
		if (ret)
			return ret;
	}
	ret = lb_cfg_find_sni_dup(c, p, &dup, &orig);
	if (ret <= 0)
		return ret;
	return lb_cfg_fail(c, lb_cfg_pkey(hp, lb_cfg_pidx(dp, path, dup), "sni-hostname"),
			   "%s is already routed by %s", lb_quote(p->sni_routes[dup].hostname, q),
			   lb_cfg_ref(lb_cfg_pidx(rp, path, orig)));
}

/* Every rule of one proxy on its own (the parser applies them piecemeal as it reads). */
/* "hash" and "hash-prefix": a prefix needs source-address and fits the clients' family. */
/*
 * "selection": least-connections places each new flow by the targets' load, which session
 * affinity by source address (every connection of a client on one target) contradicts.
 * It is the datapath's choice: a proxy with sni-routes sends every connection to lbd's
 * acceptor, which picks among a route's targets by weight, so it would change nothing.
 */
static int check_selection(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char p1[JPATH_MAX];

	lb_cfg_pkey(p1, path, "selection");
	if (p->selection >= ARRAY_SIZE(lb_cfg_selection_names))
		return lb_cfg_fail(c, p1, "unknown selection %u", p->selection);
	if (p->selection == LB_SEL_LEASTCONN && p->hash == LB_HASH_SOURCE)
		return lb_cfg_fail(c, p1,
				   "least-connections cannot keep \"hash\": \"source-address\" "
				   "affinity (it places each connection by the targets' load): "
				   "use \"selection\": \"maglev\" or drop \"hash\"");
	if (p->selection == LB_SEL_LEASTCONN && p->n_sni_routes)
		return lb_cfg_fail(c, p1,
				   "least-connections does not apply to a proxy with sni-routes: "
				   "every connection goes to lbd's SNI acceptor, which chooses "
				   "among a route's targets by weight; drop \"selection\" (or "
				   "balance these targets with a proxy of their own)");
	return 0;
}

static int check_hash(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char p1[JPATH_MAX];
	unsigned int fam;

	if (p->hash >= ARRAY_SIZE(lb_cfg_hash_names))
		return lb_cfg_fail(c, lb_cfg_pkey(p1, path, "hash"), "unknown hash %u", p->hash);
	if (!p->has_hash_prefix)
		return 0;
	lb_cfg_pkey(p1, path, "hash-prefix");
	if (p->hash != LB_HASH_SOURCE)
		return lb_cfg_fail(c, p1,
				   "only applies with \"hash\": \"source-address\" (this proxy "
				   "hashes the 5-tuple)");
	fam = lb_proxy_families(p);
	if (fam == (LB_FAMILY_V4 | LB_FAMILY_V6))
		return lb_cfg_fail(c, p1,
				   "this proxy serves IPv4 and IPv6 clients (no listen.address and "
				   "targets of both families, or SNI routes): a prefix length "
				   "needs one family, so give listen.address");
	if (fam == LB_FAMILY_V4 && p->hash_prefix > 32)
		return lb_cfg_fail(c, p1,
				   "%u is longer than an IPv4 address: this proxy's clients are "
				   "IPv4, use 0 to 32",
				   p->hash_prefix);
	if (p->hash_prefix > 128)
		return lb_cfg_fail_range(c, p1, p->hash_prefix, 0, 128);
	return 0;
}

static bool hc_same(const struct lb_hc_cfg *a, const struct lb_hc_cfg *b)
{
	return a->type == b->type && !strcmp(a->path, b->path) &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
	       a->healthy_threshold == b->healthy_threshold &&
	       a->unhealthy_threshold == b->unhealthy_threshold &&
	       a->n_expected_codes == b->n_expected_codes &&
	       !memcmp(a->expected_codes, b->expected_codes,
		       a->n_expected_codes * sizeof(a->expected_codes[0])) &&
	       a->host == b->host && a->ca_file == b->ca_file && a->tls_verify == b->tls_verify;
}

/* The path of target @k of group @r of @p (lb_proxy_group's order) under @path. */
static const char *target_path(const struct lb_proxy_cfg *p, const char *path, size_t r, size_t k,
			       char *buf)
{
	const struct lb_group_cfg *g = lb_proxy_group(p, r);
	const char *key = g->n > 1 ? "targets" : "target";
	char gp[JPATH_MAX], rp[JPATH_MAX];

	if (r == 0)
		lb_cfg_pkey(gp, path, "default-target");
	else if (r <= p->n_routes)
		lb_cfg_pkey(gp, lb_cfg_pidx(rp, lb_cfg_pkey(gp, path, "source-routes"), r - 1),
			    key);
	else
		lb_cfg_pkey(
			gp,
			lb_cfg_pidx(rp, lb_cfg_pkey(gp, path, "sni-routes"), r - 1 - p->n_routes),
			key);
	if (g->n > 1)
		return lb_cfg_pidx(buf, gp, k);
	snprintf(buf, JPATH_MAX, "%s", gp);
	return buf;
}

/*
 * A target is checked once per proxy however many groups list it: two groups giving it
 * different health-checks would leave one of them silently unused.
 */
static int check_one_hc_per_target(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char tp[JPATH_MAX], here[JPATH_MAX], there[JPATH_MAX], a[LB_TARGET_STR_MAX];
	size_t r, k, r2, k2;

	for (r = 0; r < lb_proxy_n_groups(p); r++)
		for (k = 0; k < lb_proxy_group(p, r)->n; k++) {
			const struct lb_target_cfg *t = &lb_proxy_group(p, r)->t[k];

			if (!t->has_hc)
				continue;
			for (r2 = 0; r2 <= r; r2++)
				for (k2 = 0; k2 < (r2 < r ? lb_proxy_group(p, r2)->n : k); k2++) {
					const struct lb_target_cfg *o =
						&lb_proxy_group(p, r2)->t[k2];

					if (!o->has_hc || o->port != t->port ||
					    !lb_ip_eq(&o->addr, &t->addr) ||
					    hc_same(&o->hc, &t->hc))
						continue;
					target_path(p, path, r2, k2, there);
					return lb_cfg_fail(
						c,
						lb_cfg_pkey(here, target_path(p, path, r, k, tp),
							    "health-check"),
						"differs from the health-check %s has at %s: a target "
						"is checked once per proxy, however many groups list "
						"it; give it one health-check, or the same one in each "
						"place",
						lb_format_target(&t->addr, t->port, a), there);
				}
		}
	return 0;
}

int lb_cfg_check_proxy(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char p1[JPATH_MAX], p2[JPATH_MAX];
	size_t i;
	int ret;

	ret = lb_cfg_check_name(c, lb_cfg_pkey(p1, path, "name"), p->name);
	if (ret)
		return ret;
	lb_cfg_pkey(p1, path, "listen");
	ret = lb_cfg_check_ifaces(c, p, p1);
	if (ret)
		return ret;
	if (p->port == 0)
		return lb_cfg_fail_range(c, lb_cfg_pkey(p2, p1, "port"), 0, 1, 65535);
	if (p->protocols == 0 || p->protocols & ~(LB_L4_TCP | LB_L4_UDP))
		return lb_cfg_fail(c, lb_cfg_pkey(p2, p1, "protocol"),
				   "protocol bits 0x%x are not tcp, udp or both", p->protocols);
	if (p->has_address) {
		ret = lb_cfg_check_usable(c, lb_cfg_pkey(p2, p1, "address"), &p->address);
		if (ret)
			return ret;
	}
	ret = lb_cfg_check_sni_listen(c, p, p1);
	if (ret)
		return ret;
	ret = check_group_model(c, &p->default_group, lb_cfg_pkey(p1, path, "default-target"),
				p->n_sni_routes ? NULL : PP_KERNEL_PROXY);
	if (ret)
		return ret;
	/*
	 * A listener on one address serves clients of that family; one on every address of
	 * its interfaces serves both, each over the targets of its own family. An SNI proxy
	 * connects to its targets itself, from either family.
	 */
	if (p->has_address && !p->n_sni_routes) {
		ret = lb_cfg_check_group_family(c, &p->default_group, p1,
						lb_ip_is_v4(&p->address) ? 4 : 6,
						"the clients of this listener's address");
		if (ret)
			return ret;
	}
	lb_cfg_pkey(p1, path, "source-routes");
	if (p->n_routes > LB_MAX_ROUTES)
		return lb_cfg_fail(c, p1, "has %zu source routes, at most %d are allowed",
				   p->n_routes, LB_MAX_ROUTES);
	if (p->n_routes && !p->routes)
		return lb_cfg_fail(c, p1, "has %zu source routes but no route array", p->n_routes);
	for (i = 0; i < p->n_routes; i++) {
		ret = check_route(c, &p->routes[i], lb_cfg_pidx(p2, p1, i));
		if (ret)
			return ret;
		if (p->has_address && lb_ip_is_v4(&p->routes[i].addr) != lb_ip_is_v4(&p->address)) {
			char net[LB_TARGET_STR_MAX], a[LB_ADDR_STR_MAX], sp[JPATH_MAX];

			return lb_cfg_fail(
				c, lb_cfg_pkey(sp, p2, "source"),
				"%s can never match: this listener's address %s only "
				"receives IPv%d clients",
				lb_format_cidr(&p->routes[i].addr, p->routes[i].prefix_len, net),
				lb_format_ip(&p->address, a), lb_ip_is_v4(&p->address) ? 4 : 6);
		}
	}
	ret = lb_cfg_check_routes_unique(c, p, p1);
	if (ret)
		return ret;
	ret = check_sni_routes(c, p, lb_cfg_pkey(p1, path, "sni-routes"));
	if (ret)
		return ret;
	ret = check_one_hc_per_target(c, p, path);
	if (ret)
		return ret;
	ret = check_hash(c, p, path);
	if (ret)
		return ret;
	ret = check_selection(c, p, path);
	if (ret)
		return ret;
	return lb_cfg_check_forwarding(c, p, path);
}

static bool same_listener_addr(const struct lb_proxy_cfg *a, const struct lb_proxy_cfg *b)
{
	/* A listener without an address takes every address of its interfaces. */
	return !a->has_address || !b->has_address || lb_ip_eq(&a->address, &b->address);
}

/* Another proxy, @j, in a message: "proxies[0] (\"web\")", or by name "proxy \"web\"". */
static const char *other_proxy(const struct ctx *c, const struct lb_config *cfg, size_t j,
			       char *buf, size_t len)
{
	char q[LB_QUOTE_MAX];

	if (c->naming == LB_CFG_BY_NAME)
		snprintf(buf, len, "proxy %s", lb_quote(cfg->proxies[j].name, q));
	else
		snprintf(buf, len, "proxies[%zu] (%s)", j, lb_quote(cfg->proxies[j].name, q));
	return buf;
}

int lb_cfg_check_cross(struct ctx *c, const struct lb_config *cfg, size_t i)
{
	const struct lb_proxy_cfg *p = &cfg->proxies[i];
	char path[JPATH_MAX], sub[JPATH_MAX], q[LB_QUOTE_MAX], other[JPATH_MAX];
	size_t j, a, b, total = 0;

	lb_config_proxy_path(p->name, i, c->naming, NULL, path, sizeof(path));
	for (j = 0; j < i; j++)
		if (!strncmp(p->name, cfg->proxies[j].name, LB_PROXY_NAME_MAX))
			return lb_cfg_fail(c, lb_cfg_pkey(sub, path, "name"),
					   "%s is already used by %s", lb_quote(p->name, q),
					   c->naming == LB_CFG_BY_NAME
						   ? "another proxy"
						   : lb_cfg_pidx(other, "proxies", j));
	for (j = 0; j < i; j++) {
		const struct lb_proxy_cfg *o = &cfg->proxies[j];
		unsigned int common = p->protocols & o->protocols;

		if (p->port != o->port || !common || !same_listener_addr(p, o))
			continue;
		for (a = 0; a < p->n_ifaces; a++)
			for (b = 0; b < o->n_ifaces; b++)
				if (!strncmp(p->ifaces[a], o->ifaces[b], IF_NAMESIZE))
					return lb_cfg_fail(
						c, lb_cfg_pkey(sub, path, "listen"),
						"conflicts with %s on %s port %u/%s",
						other_proxy(c, cfg, j, other, sizeof(other)),
						p->ifaces[a], p->port,
						common & LB_L4_TCP ? "tcp" : "udp");
	}
	for (j = 0; j <= i; j++)
		total += cfg->proxies[j].n_routes;
	if (total > LB_MAX_ROUTES)
		return lb_cfg_fail(
			c, lb_cfg_pkey(sub, path, "source-routes"),
			"brings the number of source routes to %zu, at most %d are allowed in "
			"total",
			total, LB_MAX_ROUTES);
	return 0;
}

int lb_cfg_validate(struct ctx *c, const struct lb_config *cfg)
{
	char path[JPATH_MAX];
	size_t i;
	int ret;

	if (!cfg)
		return lb_cfg_fail(c, "", "no configuration was given");
	if (cfg->n_proxies > LB_MAX_PROXIES)
		return lb_cfg_fail(c, "proxies", "has %zu proxies, at most %d are allowed",
				   cfg->n_proxies, LB_MAX_PROXIES);
	if (cfg->n_proxies && !cfg->proxies)
		return lb_cfg_fail(c, "proxies", "has %zu proxies but no proxy array",
				   cfg->n_proxies);
	ret = check_settings(c, &cfg->settings);
	if (!ret)
		ret = lb_cfg_check_snat_settings(c, &cfg->settings);
	if (ret)
		return ret;
	for (i = 0; i < cfg->n_proxies; i++) {
		lb_config_proxy_path(cfg->proxies[i].name, i, c->naming, NULL, path, sizeof(path));
		ret = lb_cfg_check_proxy(c, &cfg->proxies[i], path);
		if (ret)
			return ret;
		ret = lb_cfg_check_cross(c, cfg, i);
		if (!ret)
			ret = lb_cfg_check_snat_ports(c, cfg, i);
		if (ret)
			return ret;
	}
	return 0;
}

int lb_config_validate(const struct lb_config *cfg, char *err, size_t errlen)
{
	return lb_config_validate_as(cfg, LB_CFG_BY_INDEX, err, errlen);
}

int lb_config_validate_as(const struct lb_config *cfg, enum lb_cfg_naming naming, char *err,
			  size_t errlen)
{
	struct ctx c = {.err = err, .errlen = errlen, .naming = naming};

	return lb_cfg_validate(&c, cfg);
}
