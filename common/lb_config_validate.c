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

int lb_cfg_check_usable(struct ctx *c, const char *path, uint32_t addr)
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
						   lb_quote(p->ifaces[i], q), path, j);
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

static int check_settings(struct ctx *c, const struct lb_settings *s)
{
	char p[JPATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lb_cfg_settings_fields); i++) {
		const struct u32_field *f = &lb_cfg_settings_fields[i];
		uint32_t v = field_get(s, f);

		if (out_of_range(v, f->min, f->max))
			return lb_cfg_fail_range(c, lb_cfg_pkey(p, "settings", f->key), v, f->min,
						 f->max);
	}
	if ((unsigned int)s->xdp_mode >= ARRAY_SIZE(lb_cfg_xdp_mode_names))
		return lb_cfg_fail(c, "settings.xdp-mode", "unknown XDP mode %d", (int)s->xdp_mode);
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

int lb_cfg_check_group(struct ctx *c, const struct lb_group_cfg *g, const char *path)
{
	char p[JPATH_MAX], a[LB_TARGET_STR_MAX];
	unsigned int sum = 0;
	size_t i, j;

	for (i = 0; i < g->n; i++) {
		for (j = 0; j < i; j++)
			if (g->t[i].addr == g->t[j].addr && g->t[i].port == g->t[j].port)
				return lb_cfg_fail(c, lb_cfg_pidx(p, path, i),
						   "%s is already listed as %s[%zu]",
						   lb_format_target(g->t[i].addr, g->t[i].port, a),
						   path, j);
		sum += g->t[i].weight;
	}
	if (sum != WEIGHT_SUM)
		return lb_cfg_fail(c, path, "weights sum to %u, must be %d", sum, WEIGHT_SUM);
	return 0;
}

static int check_target(struct ctx *c, const struct lb_target_cfg *t, const char *path)
{
	char p[JPATH_MAX];
	int ret;

	ret = lb_cfg_check_usable(c, lb_cfg_pkey(p, path, "ip"), t->addr);
	if (ret)
		return ret;
	if (t->port == 0)
		return lb_cfg_fail_range(c, lb_cfg_pkey(p, path, "port"), 0, 1, 65535);
	if (t->weight > WEIGHT_MAX)
		return lb_cfg_fail_range(c, lb_cfg_pkey(p, path, "weight"), t->weight, 0,
					 WEIGHT_MAX);
	return lb_cfg_check_hc(c, &t->hc, lb_cfg_pkey(p, path, "health-check"), HC_SET_BOTH,
			       HC_BASE_SETTINGS);
}

/* Everything about a group built in code: size, each target, then the group rules. */
static int check_group_model(struct ctx *c, const struct lb_group_cfg *g, const char *path)
{
	char p[JPATH_MAX];
	size_t i;
	int ret;

	ret = lb_cfg_check_group_size(c, path, g->n);
	if (ret)
		return ret;
	for (i = 0; i < g->n; i++) {
		/* A lone target is written as an object, several as an array. */
		ret = check_target(c, &g->t[i], g->n > 1 ? lb_cfg_pidx(p, path, i) : path);
		if (ret)
			return ret;
	}
	return lb_cfg_check_group(c, g, path);
}

static uint32_t prefix_mask(uint8_t prefix_len)
{
	return prefix_len ? ~(uint32_t)0 << (32 - prefix_len) : 0;
}

struct route_key {
	uint32_t addr; /* host order */
	uint8_t prefix_len;
	size_t idx;
};

static int route_key_cmp(const void *a, const void *b)
{
	const struct route_key *x = a, *y = b;

	if (x->prefix_len != y->prefix_len)
		return x->prefix_len < y->prefix_len ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * No prefix twice in one proxy. Sorting keeps this O(n log n) for big route tables; among
 * all duplicates the one latest in the file order is not what users want to hear about,
 * so the error names the first route that repeats an earlier one.
 */
int lb_cfg_check_routes_unique(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char rp[JPATH_MAX], dp[JPATH_MAX], sp[JPATH_MAX], net[LB_TARGET_STR_MAX];
	size_t i, first = 0, dup = SIZE_MAX, orig = 0;
	struct route_key *keys;

	if (p->n_routes < 2)
		return 0;
	keys = calloc(p->n_routes, sizeof(*keys));
	if (!keys)
		return lb_cfg_fail_nomem(c);
	for (i = 0; i < p->n_routes; i++) {
		keys[i].addr = ntohl(p->routes[i].addr);
		keys[i].prefix_len = p->routes[i].prefix_len;
		keys[i].idx = i;
	}
	qsort(keys, p->n_routes, sizeof(*keys), route_key_cmp);
	for (i = 1; i < p->n_routes; i++) {
		if (keys[i].addr != keys[first].addr ||
		    keys[i].prefix_len != keys[first].prefix_len) {
			first = i;
			continue;
		}
		if (keys[i].idx < dup) {
			dup = keys[i].idx;
			orig = keys[first].idx;
		}
	}
	free(keys);
	if (dup == SIZE_MAX)
		return 0;
	lb_cfg_pidx(rp, path, orig);
	return lb_cfg_fail(c, lb_cfg_pkey(sp, lb_cfg_pidx(dp, path, dup), "source"),
			   "%s is already routed by %s",
			   lb_format_cidr(p->routes[dup].addr, p->routes[dup].prefix_len, net), rp);
}

static int check_route(struct ctx *c, const struct lb_route_cfg *r, const char *path)
{
	char p[JPATH_MAX], net[LB_TARGET_STR_MAX], hint[LB_TARGET_STR_MAX];
	uint32_t mask;

	if (r->prefix_len > 32)
		return lb_cfg_fail(c, lb_cfg_pkey(p, path, "source"),
				   "prefix length %u is out of range (0 to 32)", r->prefix_len);
	mask = prefix_mask(r->prefix_len);
	if (ntohl(r->addr) & ~mask)
		return lb_cfg_fail(
			c, lb_cfg_pkey(p, path, "source"), "%s has host bits set; did you mean %s?",
			lb_format_cidr(r->addr, r->prefix_len, net),
			lb_format_cidr(htonl(ntohl(r->addr) & mask), r->prefix_len, hint));
	return check_group_model(c, &r->group,
				 lb_cfg_pkey(p, path, r->group.n > 1 ? "targets" : "target"));
}

/* Every rule of one proxy on its own (the parser applies them piecemeal as it reads). */
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
		ret = lb_cfg_check_usable(c, lb_cfg_pkey(p2, p1, "address"), p->address);
		if (ret)
			return ret;
	}
	ret = check_group_model(c, &p->default_group, lb_cfg_pkey(p1, path, "default-target"));
	if (ret)
		return ret;
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
	}
	return lb_cfg_check_routes_unique(c, p, p1);
}

static bool same_listener_addr(const struct lb_proxy_cfg *a, const struct lb_proxy_cfg *b)
{
	/* A listener without an address takes every address of its interfaces. */
	return !a->has_address || !b->has_address || a->address == b->address;
}

int lb_cfg_check_cross(struct ctx *c, const struct lb_config *cfg, size_t i)
{
	const struct lb_proxy_cfg *p = &cfg->proxies[i];
	char path[JPATH_MAX], sub[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t j, a, b, total = 0;

	lb_cfg_pidx(path, "proxies", i);
	for (j = 0; j < i; j++)
		if (!strncmp(p->name, cfg->proxies[j].name, LB_PROXY_NAME_MAX))
			return lb_cfg_fail(c, lb_cfg_pkey(sub, path, "name"),
					   "%s is already used by proxies[%zu]",
					   lb_quote(p->name, q), j);
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
						"conflicts with proxies[%zu] (%s) on %s port %u/%s",
						j, lb_quote(o->name, q), p->ifaces[a], p->port,
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
	if (ret)
		return ret;
	for (i = 0; i < cfg->n_proxies; i++) {
		ret = lb_cfg_check_proxy(c, &cfg->proxies[i], lb_cfg_pidx(path, "proxies", i));
		if (ret)
			return ret;
		ret = lb_cfg_check_cross(c, cfg, i);
		if (ret)
			return ret;
	}
	return 0;
}

int lb_config_validate(const struct lb_config *cfg, char *err, size_t errlen)
{
	struct ctx c = {.err = err, .errlen = errlen};

	return lb_cfg_validate(&c, cfg);
}
