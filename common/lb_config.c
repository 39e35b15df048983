// SPDX-License-Identifier: MIT
/*
 * lb_config.c - the JSON configuration: defaults, parsing and validation.
 *
 * The parser walks the JSON once, refuses anything it does not know (a typo in a key must
 * not silently fall back to a default) and applies each element rule where the exact JSON
 * path is at hand. The rules themselves live in check_* functions that work on the model,
 * so lb_config_validate() runs the very same code on a configuration built in code, and
 * the parser ends by running it too.
 */
#include "lb_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define JPATH_MAX	192
#define CONFIG_FILE_MAX (64u << 20) /* far above any sane config, far below a DoS */

#define NAME_LEN_MAX   (LB_PROXY_NAME_MAX - 1)
#define IFNAME_LEN_MAX (IF_NAMESIZE - 1)
#define WEIGHT_MAX     100
#define WEIGHT_SUM     100
#define HC_CODE_MIN    100
#define HC_CODE_MAX    599

/* Which health-check fields a health-check object set itself (the rest are inherited). */
#define HC_SET_INTERVAL (1u << 0)
#define HC_SET_TIMEOUT	(1u << 1)
#define HC_SET_BOTH	(HC_SET_INTERVAL | HC_SET_TIMEOUT)

/* Where a health-check object inherits unset fields from, for error messages. */
#define HC_BASE_BUILTIN	 "the built-in defaults"
#define HC_BASE_SETTINGS "settings.health-check-defaults"

struct ctx {
	char *err;
	size_t errlen;
};

/* A uint32_t member with a range, so parsing and validation read one table. */
struct u32_field {
	const char *key;
	size_t off;
	uint32_t min, max;
	unsigned int set_bit; /* HC_SET_* for health-check fields */
};

static const struct u32_field hc_fields[] = {
	{"interval-ms", offsetof(struct lb_hc_cfg, interval_ms), 1000, 300000, HC_SET_INTERVAL},
	{"timeout-ms", offsetof(struct lb_hc_cfg, timeout_ms), 100, 60000, HC_SET_TIMEOUT},
	{"healthy-threshold", offsetof(struct lb_hc_cfg, healthy_threshold), 1, 10, 0},
	{"unhealthy-threshold", offsetof(struct lb_hc_cfg, unhealthy_threshold), 1, 10, 0},
};

static const struct u32_field settings_fields[] = {
	{"connection-timeout-sec", offsetof(struct lb_settings, connection_timeout_sec), 1, 604800,
	 0},
	{"udp-timeout-sec", offsetof(struct lb_settings, udp_timeout_sec), 1, 604800, 0},
	{"max-connections", offsetof(struct lb_settings, max_connections), 1024, 16777216, 0},
	{"default-drain-timeout-ms", offsetof(struct lb_settings, default_drain_timeout_ms), 1000,
	 3600000, 0},
	{"drain-check-interval-ms", offsetof(struct lb_settings, drain_check_interval_ms), 100,
	 60000, 0},
};

/* Indexed by enum lb_hc_type, enum lb_xdp_mode and protocol bits respectively. */
static const char *const hc_type_names[] = {"tcp", "http", "https", "none"};
static const char *const xdp_mode_names[] = {"auto", "native", "generic"};
static const char *const protocol_names[] = {NULL, "tcp", "udp", "both"};

static const uint16_t default_codes[] = {200, 201, 202, 204};

static uint32_t *field_u32(void *base, const struct u32_field *f)
{
	return (uint32_t *)((char *)base + f->off);
}

static uint32_t field_get(const void *base, const struct u32_field *f)
{
	return *(const uint32_t *)((const char *)base + f->off);
}

/* Record "<path>: <message>" and return -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, const char *path,
						      const char *fmt, ...)
{
	char msg[LB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: %s", *path ? path : "top level", msg);
	return -EINVAL;
}

static int fail_nomem(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "out of memory while reading the configuration");
	return -ENOMEM;
}

/* A path too deep for the buffer cannot come from the format, but is cut visibly if it does. */
static const char *path_done(char buf[JPATH_MAX], int n)
{
	if (n < 0 || n >= JPATH_MAX)
		strcpy(buf + JPATH_MAX - 4, "...");
	return buf;
}

/* @buf must not be @parent. */
static const char *pkey(char buf[JPATH_MAX], const char *parent, const char *key)
{
	return path_done(buf, snprintf(buf, JPATH_MAX, "%s%s%s", parent, *parent ? "." : "", key));
}

static const char *pidx(char buf[JPATH_MAX], const char *parent, size_t i)
{
	return path_done(buf, snprintf(buf, JPATH_MAX, "%s[%zu]", parent, i));
}

static bool out_of_range(long long v, long long min, long long max)
{
	return v < min || v > max;
}

static int fail_range(struct ctx *c, const char *path, long long v, long long min, long long max)
{
	return fail(c, path, "must be between %lld and %lld (got %lld)", min, max, v);
}

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
		return fail(c, path, "must be an object, not %s", jtype(j));
	return 0;
}

static int want_array(struct ctx *c, const json_t *j, const char *path)
{
	if (!json_is_array(j))
		return fail(c, path, "must be an array, not %s", jtype(j));
	return 0;
}

static int get_string(struct ctx *c, const json_t *j, const char *path, const char **out)
{
	if (!json_is_string(j))
		return fail(c, path, "must be a string, not %s", jtype(j));
	*out = json_string_value(j);
	return 0;
}

static int get_bool(struct ctx *c, const json_t *j, const char *path, bool *out)
{
	if (!json_is_boolean(j))
		return fail(c, path, "must be a boolean (true or false), not %s", jtype(j));
	*out = json_is_true(j);
	return 0;
}

static int get_int(struct ctx *c, const json_t *j, const char *path, long long min, long long max,
		   long long *out)
{
	long long v = 0;

	/* No coercion: "80" or 80.0 are refused rather than guessed at. */
	if (!json_is_integer(j))
		return fail(c, path, "must be an integer, not %s", jtype(j));
	v = json_integer_value(j);
	if (out_of_range(v, min, max))
		return fail_range(c, path, v, min, max);
	*out = v;
	return 0;
}

/* Refuse every key not in the NULL-terminated @keys, naming the accepted ones. */
static int check_keys(struct ctx *c, json_t *obj, const char *path, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		char list[256], q[LB_QUOTE_MAX];
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
		return fail(c, path, "unknown key %s (expected one of: %s)", lb_quote(key, q),
			    list);
	}
	return 0;
}

static int require(struct ctx *c, json_t *obj, const char *path, const char *key, json_t **out)
{
	*out = json_object_get(obj, key);
	if (!*out)
		return fail(c, path, "missing required key \"%s\"", key);
	return 0;
}

/* ---- rules on the model, shared by the parser and lb_config_validate() ---- */

static int check_usable(struct ctx *c, const char *path, uint32_t addr)
{
	char msg[LB_ERR_MAX];

	if (lb_check_usable(addr, msg, sizeof(msg)))
		return fail(c, path, "%s", msg);
	return 0;
}

static int check_name(struct ctx *c, const char *path, const char *name)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(name, NAME_LEN_MAX + 1), i;

	if (n == 0)
		return fail(c, path, "must not be empty");
	if (n > NAME_LEN_MAX)
		return fail(c, path, "%s is longer than %d characters", lb_quote(name, q),
			    NAME_LEN_MAX);
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)name[i];

		if ((x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
		    x == '_' || x == '.' || x == '-')
			continue;
		return fail(c, path, "%s contains %s; use only letters, digits, '_', '.' and '-'",
			    lb_quote(name, q), char_name(x, ch));
	}
	return 0;
}

/* The kernel's own rules (dev_valid_name()), so a name it would refuse is refused here. */
static int check_iface_name(struct ctx *c, const char *path, const char *name)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(name, IFNAME_LEN_MAX + 1), i;

	if (n == 0)
		return fail(c, path, "must not be empty");
	if (n > IFNAME_LEN_MAX)
		return fail(
			c, path,
			"%s is longer than %d characters, the longest interface name Linux allows",
			lb_quote(name, q), IFNAME_LEN_MAX);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return fail(c, path, "%s is not a valid interface name", lb_quote(name, q));
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)name[i];

		/*
		 * ':' matters: the kernel cuts "eth0:1" to "eth0" in some lookups, so an alias
		 * label would silently attach to the whole device.
		 */
		if (x <= 0x20 || x == 0x7f || x == '/' || x == ':')
			return fail(
				c, path,
				"%s contains %s, which Linux does not allow in an interface name",
				lb_quote(name, q), char_name(x, ch));
	}
	return 0;
}

static int check_ifaces(struct ctx *c, const struct lb_proxy_cfg *p, const char *listen_path)
{
	char path[JPATH_MAX], ipath[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t i, j;
	int ret;

	pkey(path, listen_path, "interfaces");
	if (p->n_ifaces == 0)
		return fail(c, path, "must list at least one interface");
	if (p->n_ifaces > LB_MAX_IFACES_PER_PROXY)
		return fail(c, path, "has %zu interfaces, at most %d are allowed", p->n_ifaces,
			    LB_MAX_IFACES_PER_PROXY);
	for (i = 0; i < p->n_ifaces; i++) {
		ret = check_iface_name(c, pidx(ipath, path, i), p->ifaces[i]);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (!strncmp(p->ifaces[i], p->ifaces[j], IF_NAMESIZE))
				return fail(c, ipath, "%s is already listed as %s[%zu]",
					    lb_quote(p->ifaces[i], q), path, j);
	}
	return 0;
}

static int check_hc_path(struct ctx *c, const char *path, const char *s)
{
	char q[LB_QUOTE_MAX], ch[8];
	size_t n = strnlen(s, LB_HC_PATH_MAX), i;

	if (n >= LB_HC_PATH_MAX)
		return fail(c, path, "is longer than %d characters", LB_HC_PATH_MAX - 1);
	if (s[0] != '/')
		return fail(c, path, "%s must start with '/'", lb_quote(s, q));
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)s[i];

		/* It goes into an HTTP request line as is: no spaces, controls or raw UTF-8. */
		if (x <= 0x20 || x >= 0x7f)
			return fail(c, path, "%s contains %s; percent-encode it (e.g. %%20)",
				    lb_quote(s, q), char_name(x, ch));
	}
	return 0;
}

/*
 * A resolved health check. @set says which of interval/timeout its own object gave, @base
 * where the others came from, so a timeout >= interval error points at the right place.
 */
static int check_hc(struct ctx *c, const struct lb_hc_cfg *hc, const char *path, unsigned int set,
		    const char *base)
{
	char p[JPATH_MAX], p2[JPATH_MAX];
	const char *note = "";
	char notebuf[128];
	size_t i;
	int ret;

	if ((unsigned int)hc->type >= ARRAY_SIZE(hc_type_names))
		return fail(c, pkey(p, path, "type"), "unknown health-check type %d",
			    (int)hc->type);
	ret = check_hc_path(c, pkey(p, path, "path"), hc->path);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(hc_fields); i++) {
		const struct u32_field *f = &hc_fields[i];
		uint32_t v = field_get(hc, f);

		if (out_of_range(v, f->min, f->max))
			return fail_range(c, pkey(p, path, f->key), v, f->min, f->max);
	}
	if (hc->n_expected_codes < 1 || hc->n_expected_codes > LB_HC_CODES_MAX)
		return fail(c, pkey(p, path, "expected-codes"),
			    "must list 1 to %d status codes (got %zu)", LB_HC_CODES_MAX,
			    hc->n_expected_codes);
	for (i = 0; i < hc->n_expected_codes; i++)
		if (out_of_range(hc->expected_codes[i], HC_CODE_MIN, HC_CODE_MAX))
			return fail_range(c, pidx(p2, pkey(p, path, "expected-codes"), i),
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
		return fail(c, path, "timeout-ms (%u) must be less than interval-ms (%u)%s",
			    hc->timeout_ms, hc->interval_ms, note);
	}
	return 0;
}

static int check_settings(struct ctx *c, const struct lb_settings *s)
{
	char p[JPATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(settings_fields); i++) {
		const struct u32_field *f = &settings_fields[i];
		uint32_t v = field_get(s, f);

		if (out_of_range(v, f->min, f->max))
			return fail_range(c, pkey(p, "settings", f->key), v, f->min, f->max);
	}
	if ((unsigned int)s->xdp_mode >= ARRAY_SIZE(xdp_mode_names))
		return fail(c, "settings.xdp-mode", "unknown XDP mode %d", (int)s->xdp_mode);
	return check_hc(c, &s->health_check_defaults, "settings.health-check-defaults", HC_SET_BOTH,
			HC_BASE_BUILTIN);
}

static int check_group_size(struct ctx *c, const char *path, size_t n)
{
	if (n == 0)
		return fail(c, path, "must list at least one target");
	if (n > LB_MAX_TARGETS_PER_GROUP)
		return fail(c, path, "has %zu targets, at most %d are allowed in one group", n,
			    LB_MAX_TARGETS_PER_GROUP);
	return 0;
}

/* A group of valid size: its weights sum to 100 and no ip:port appears twice. */
static int check_group(struct ctx *c, const struct lb_group_cfg *g, const char *path)
{
	char p[JPATH_MAX], a[LB_TARGET_STR_MAX];
	unsigned int sum = 0;
	size_t i, j;

	for (i = 0; i < g->n; i++) {
		for (j = 0; j < i; j++)
			if (g->t[i].addr == g->t[j].addr && g->t[i].port == g->t[j].port)
				return fail(c, pidx(p, path, i), "%s is already listed as %s[%zu]",
					    lb_format_target(g->t[i].addr, g->t[i].port, a), path,
					    j);
		sum += g->t[i].weight;
	}
	if (sum != WEIGHT_SUM)
		return fail(c, path, "weights sum to %u, must be %d", sum, WEIGHT_SUM);
	return 0;
}

static int check_target(struct ctx *c, const struct lb_target_cfg *t, const char *path)
{
	char p[JPATH_MAX];
	int ret;

	ret = check_usable(c, pkey(p, path, "ip"), t->addr);
	if (ret)
		return ret;
	if (t->port == 0)
		return fail_range(c, pkey(p, path, "port"), 0, 1, 65535);
	if (t->weight > WEIGHT_MAX)
		return fail_range(c, pkey(p, path, "weight"), t->weight, 0, WEIGHT_MAX);
	return check_hc(c, &t->hc, pkey(p, path, "health-check"), HC_SET_BOTH, HC_BASE_SETTINGS);
}

/* Everything about a group built in code: size, each target, then the group rules. */
static int check_group_model(struct ctx *c, const struct lb_group_cfg *g, const char *path)
{
	char p[JPATH_MAX];
	size_t i;
	int ret;

	ret = check_group_size(c, path, g->n);
	if (ret)
		return ret;
	for (i = 0; i < g->n; i++) {
		/* A lone target is written as an object, several as an array. */
		ret = check_target(c, &g->t[i], g->n > 1 ? pidx(p, path, i) : path);
		if (ret)
			return ret;
	}
	return check_group(c, g, path);
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
static int check_routes_unique(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char rp[JPATH_MAX], dp[JPATH_MAX], sp[JPATH_MAX], net[LB_TARGET_STR_MAX];
	size_t i, first = 0, dup = SIZE_MAX, orig = 0;
	struct route_key *keys;

	if (p->n_routes < 2)
		return 0;
	keys = calloc(p->n_routes, sizeof(*keys));
	if (!keys)
		return fail_nomem(c);
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
	pidx(rp, path, orig);
	return fail(c, pkey(sp, pidx(dp, path, dup), "source"), "%s is already routed by %s",
		    lb_format_cidr(p->routes[dup].addr, p->routes[dup].prefix_len, net), rp);
}

static int check_route(struct ctx *c, const struct lb_route_cfg *r, const char *path)
{
	char p[JPATH_MAX], net[LB_TARGET_STR_MAX], hint[LB_TARGET_STR_MAX];
	uint32_t mask;

	if (r->prefix_len > 32)
		return fail(c, pkey(p, path, "source"),
			    "prefix length %u is out of range (0 to 32)", r->prefix_len);
	mask = prefix_mask(r->prefix_len);
	if (ntohl(r->addr) & ~mask)
		return fail(c, pkey(p, path, "source"), "%s has host bits set; did you mean %s?",
			    lb_format_cidr(r->addr, r->prefix_len, net),
			    lb_format_cidr(htonl(ntohl(r->addr) & mask), r->prefix_len, hint));
	return check_group_model(c, &r->group,
				 pkey(p, path, r->group.n > 1 ? "targets" : "target"));
}

/* Every rule of one proxy on its own (the parser applies them piecemeal as it reads). */
static int check_proxy(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char p1[JPATH_MAX], p2[JPATH_MAX];
	size_t i;
	int ret;

	ret = check_name(c, pkey(p1, path, "name"), p->name);
	if (ret)
		return ret;
	pkey(p1, path, "listen");
	ret = check_ifaces(c, p, p1);
	if (ret)
		return ret;
	if (p->port == 0)
		return fail_range(c, pkey(p2, p1, "port"), 0, 1, 65535);
	if (p->protocols == 0 || p->protocols & ~(LB_L4_TCP | LB_L4_UDP))
		return fail(c, pkey(p2, p1, "protocol"),
			    "protocol bits 0x%x are not tcp, udp or both", p->protocols);
	if (p->has_address) {
		ret = check_usable(c, pkey(p2, p1, "address"), p->address);
		if (ret)
			return ret;
	}
	ret = check_group_model(c, &p->default_group, pkey(p1, path, "default-target"));
	if (ret)
		return ret;
	pkey(p1, path, "source-routes");
	if (p->n_routes > LB_MAX_ROUTES)
		return fail(c, p1, "has %zu source routes, at most %d are allowed", p->n_routes,
			    LB_MAX_ROUTES);
	if (p->n_routes && !p->routes)
		return fail(c, p1, "has %zu source routes but no route array", p->n_routes);
	for (i = 0; i < p->n_routes; i++) {
		ret = check_route(c, &p->routes[i], pidx(p2, p1, i));
		if (ret)
			return ret;
	}
	return check_routes_unique(c, p, p1);
}

static bool same_listener_addr(const struct lb_proxy_cfg *a, const struct lb_proxy_cfg *b)
{
	/* A listener without an address takes every address of its interfaces. */
	return !a->has_address || !b->has_address || a->address == b->address;
}

/* The rules between proxy @i and the ones before it: names, listeners, route total. */
static int check_cross(struct ctx *c, const struct lb_config *cfg, size_t i)
{
	const struct lb_proxy_cfg *p = &cfg->proxies[i];
	char path[JPATH_MAX], sub[JPATH_MAX], q[LB_QUOTE_MAX];
	size_t j, a, b, total = 0;

	pidx(path, "proxies", i);
	for (j = 0; j < i; j++)
		if (!strncmp(p->name, cfg->proxies[j].name, LB_PROXY_NAME_MAX))
			return fail(c, pkey(sub, path, "name"),
				    "%s is already used by proxies[%zu]", lb_quote(p->name, q), j);
	for (j = 0; j < i; j++) {
		const struct lb_proxy_cfg *o = &cfg->proxies[j];
		unsigned int common = p->protocols & o->protocols;

		if (p->port != o->port || !common || !same_listener_addr(p, o))
			continue;
		for (a = 0; a < p->n_ifaces; a++)
			for (b = 0; b < o->n_ifaces; b++)
				if (!strncmp(p->ifaces[a], o->ifaces[b], IF_NAMESIZE))
					return fail(
						c, pkey(sub, path, "listen"),
						"conflicts with proxies[%zu] (%s) on %s port %u/%s",
						j, lb_quote(o->name, q), p->ifaces[a], p->port,
						common & LB_L4_TCP ? "tcp" : "udp");
	}
	for (j = 0; j <= i; j++)
		total += cfg->proxies[j].n_routes;
	if (total > LB_MAX_ROUTES)
		return fail(c, pkey(sub, path, "source-routes"),
			    "brings the number of source routes to %zu, at most %d are allowed in "
			    "total",
			    total, LB_MAX_ROUTES);
	return 0;
}

static int validate(struct ctx *c, const struct lb_config *cfg)
{
	char path[JPATH_MAX];
	size_t i;
	int ret;

	if (!cfg)
		return fail(c, "", "no configuration was given");
	if (cfg->n_proxies > LB_MAX_PROXIES)
		return fail(c, "proxies", "has %zu proxies, at most %d are allowed", cfg->n_proxies,
			    LB_MAX_PROXIES);
	if (cfg->n_proxies && !cfg->proxies)
		return fail(c, "proxies", "has %zu proxies but no proxy array", cfg->n_proxies);
	ret = check_settings(c, &cfg->settings);
	if (ret)
		return ret;
	for (i = 0; i < cfg->n_proxies; i++) {
		ret = check_proxy(c, &cfg->proxies[i], pidx(path, "proxies", i));
		if (ret)
			return ret;
		ret = check_cross(c, cfg, i);
		if (ret)
			return ret;
	}
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
					   NULL};
	char p[JPATH_MAX], p2[JPATH_MAX], q[LB_QUOTE_MAX], list[64];
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
		ret = get_string(c, x, pkey(p, path, "type"), &s);
		if (ret)
			return ret;
		t = lookup(s, hc_type_names, ARRAY_SIZE(hc_type_names));
		if (t < 0)
			return fail(c, p, "%s is not a health-check type (expected %s)",
				    lb_quote(s, q),
				    choices(hc_type_names, ARRAY_SIZE(hc_type_names), list,
					    sizeof(list)));
		hc->type = (enum lb_hc_type)t;
	}
	x = json_object_get(j, "path");
	if (x) {
		ret = get_string(c, x, pkey(p, path, "path"), &s);
		if (!ret)
			ret = check_hc_path(c, p, s);
		if (ret)
			return ret;
		strcpy(hc->path, s);
	}
	for (i = 0; i < ARRAY_SIZE(hc_fields); i++) {
		const struct u32_field *f = &hc_fields[i];

		x = json_object_get(j, f->key);
		if (!x)
			continue;
		ret = get_int(c, x, pkey(p, path, f->key), f->min, f->max, &v);
		if (ret)
			return ret;
		*field_u32(hc, f) = (uint32_t)v;
		set |= f->set_bit;
	}
	x = json_object_get(j, "expected-codes");
	if (x) {
		size_t n;

		pkey(p, path, "expected-codes");
		ret = want_array(c, x, p);
		if (ret)
			return ret;
		n = json_array_size(x);
		if (n < 1 || n > LB_HC_CODES_MAX)
			return fail(c, p, "must list 1 to %d status codes (got %zu)",
				    LB_HC_CODES_MAX, n);
		for (i = 0; i < n; i++) {
			ret = get_int(c, json_array_get(x, i), pidx(p2, p, i), HC_CODE_MIN,
				      HC_CODE_MAX, &v);
			if (ret)
				return ret;
			hc->expected_codes[i] = (uint16_t)v;
		}
		hc->n_expected_codes = n;
	}
	return check_hc(c, hc, path, set, base);
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
					   NULL};
	char p[JPATH_MAX], q[LB_QUOTE_MAX], list[64];
	const char *str = NULL;
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
	for (i = 0; i < ARRAY_SIZE(settings_fields); i++) {
		const struct u32_field *f = &settings_fields[i];

		x = json_object_get(j, f->key);
		if (!x)
			continue;
		ret = get_int(c, x, pkey(p, "settings", f->key), f->min, f->max, &v);
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
		ret = get_string(c, x, "settings.xdp-mode", &str);
		if (ret)
			return ret;
		m = lookup(str, xdp_mode_names, ARRAY_SIZE(xdp_mode_names));
		if (m < 0)
			return fail(c, "settings.xdp-mode", "%s is not an XDP mode (expected %s)",
				    lb_quote(str, q),
				    choices(xdp_mode_names, ARRAY_SIZE(xdp_mode_names), list,
					    sizeof(list)));
		s->xdp_mode = (enum lb_xdp_mode)m;
	}
	return 0;
}

static int parse_ipv4_at(struct ctx *c, json_t *x, const char *path, uint32_t *addr)
{
	char msg[LB_ERR_MAX];
	const char *s = NULL;
	int ret;

	ret = get_string(c, x, path, &s);
	if (ret)
		return ret;
	if (lb_parse_ipv4(s, addr, msg, sizeof(msg)))
		return fail(c, path, "%s", msg);
	return check_usable(c, path, *addr);
}

static int parse_target(struct ctx *c, json_t *j, const char *path,
			const struct lb_hc_cfg *defaults, struct lb_target_cfg *t, bool *has_weight)
{
	static const char *const keys[] = {"ip", "port", "weight", "health-check", NULL};
	char p[JPATH_MAX];
	long long v = 0;
	json_t *x;
	int ret;

	if (!json_is_object(j))
		return fail(c, path,
			    "must be a target object like {\"ip\": \"10.0.0.1\", \"port\": 8080}, "
			    "not %s",
			    jtype(j));
	ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "ip", &x);
	if (!ret)
		ret = parse_ipv4_at(c, x, pkey(p, path, "ip"), &t->addr);
	if (!ret)
		ret = require(c, j, path, "port", &x);
	if (!ret)
		ret = get_int(c, x, pkey(p, path, "port"), 1, 65535, &v);
	if (ret)
		return ret;
	t->port = (uint16_t)v;

	t->weight = WEIGHT_SUM;
	x = json_object_get(j, "weight");
	*has_weight = x != NULL;
	if (x) {
		ret = get_int(c, x, pkey(p, path, "weight"), 0, WEIGHT_MAX, &v);
		if (ret)
			return ret;
		t->weight = (uint8_t)v;
	}

	/* Resolution: the defaults, with whatever this target's own object overrides. */
	t->hc = *defaults;
	x = json_object_get(j, "health-check");
	t->has_hc = x != NULL;
	if (x)
		return parse_hc(c, x, pkey(p, path, "health-check"), HC_BASE_SETTINGS, &t->hc);
	return 0;
}

enum group_form {
	FORM_ANY,    /* default-target: one object or an array */
	FORM_OBJECT, /* a route's "target" */
	FORM_ARRAY,  /* a route's "targets" */
};

static int fail_lone_weight(struct ctx *c, const char *path, unsigned int weight)
{
	char p[JPATH_MAX];

	return fail(c, pkey(p, path, "weight"),
		    "a lone target's weight must be %d (got %u); leave it out, or add targets "
		    "so that the weights sum to %d",
		    WEIGHT_SUM, weight, WEIGHT_SUM);
}

static int parse_group(struct ctx *c, json_t *j, const char *path, enum group_form form,
		       const struct lb_hc_cfg *defaults, struct lb_group_cfg *g)
{
	char p[JPATH_MAX];
	bool has_weight;
	size_t i, n;
	int ret;

	if (json_is_object(j) && form != FORM_ARRAY) {
		ret = parse_target(c, j, path, defaults, &g->t[0], &has_weight);
		if (ret)
			return ret;
		if (has_weight && g->t[0].weight != WEIGHT_SUM)
			return fail_lone_weight(c, path, g->t[0].weight);
		g->n = 1;
		return 0;
	}
	if (!json_is_array(j) || form == FORM_OBJECT) {
		if (form == FORM_OBJECT)
			return fail(c, path, "must be one target object, not %s%s", jtype(j),
				    json_is_array(j) ? " (use \"targets\" for a list of targets)"
						     : "");
		if (form == FORM_ARRAY)
			return fail(
				c, path, "must be an array of target objects, not %s%s", jtype(j),
				json_is_object(j) ? " (use \"target\" for a single target)" : "");
		return fail(c, path,
			    "must be a target object or an array of target objects, not %s",
			    jtype(j));
	}
	n = json_array_size(j);
	ret = check_group_size(c, path, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		ret = parse_target(c, json_array_get(j, i), pidx(p, path, i), defaults, &g->t[i],
				   &has_weight);
		if (ret)
			return ret;
		if (n > 1 && !has_weight)
			return fail(c, p,
				    "missing required key \"weight\" (every target of a group of "
				    "several needs one, and the weights sum to %d)",
				    WEIGHT_SUM);
		if (n == 1 && has_weight && g->t[i].weight != WEIGHT_SUM)
			return fail_lone_weight(c, p, g->t[i].weight);
	}
	g->n = n;
	return check_group(c, g, path);
}

static int parse_listen(struct ctx *c, json_t *j, const char *path, struct lb_proxy_cfg *p)
{
	static const char *const keys[] = {"interfaces", "port", "protocol", "address", NULL};
	char sub[JPATH_MAX], ip[JPATH_MAX], q[LB_QUOTE_MAX], list[64];
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
		ret = want_array(c, x, pkey(sub, path, "interfaces"));
	if (ret)
		return ret;
	n = json_array_size(x);
	if (n == 0)
		return fail(c, sub, "must list at least one interface");
	if (n > LB_MAX_IFACES_PER_PROXY)
		return fail(c, sub, "has %zu interfaces, at most %d are allowed", n,
			    LB_MAX_IFACES_PER_PROXY);
	for (i = 0; i < n; i++) {
		ret = get_string(c, json_array_get(x, i), pidx(ip, sub, i), &s);
		if (!ret)
			ret = check_iface_name(c, ip, s);
		if (ret)
			return ret;
		strcpy(p->ifaces[i], s);
	}
	p->n_ifaces = n;
	ret = check_ifaces(c, p, path);
	if (!ret)
		ret = require(c, j, path, "port", &x);
	if (!ret)
		ret = get_int(c, x, pkey(sub, path, "port"), 1, 65535, &v);
	if (ret)
		return ret;
	p->port = (uint16_t)v;

	p->protocols = LB_L4_TCP;
	x = json_object_get(j, "protocol");
	if (x) {
		ret = get_string(c, x, pkey(sub, path, "protocol"), &s);
		if (ret)
			return ret;
		proto = lookup(s, protocol_names, ARRAY_SIZE(protocol_names));
		if (proto < 0)
			return fail(c, sub, "%s is not a protocol (expected %s)", lb_quote(s, q),
				    choices(protocol_names, ARRAY_SIZE(protocol_names), list,
					    sizeof(list)));
		p->protocols = (uint8_t)proto;
	}

	x = json_object_get(j, "address");
	p->has_address = x != NULL;
	if (x)
		return parse_ipv4_at(c, x, pkey(sub, path, "address"), &p->address);
	return 0;
}

static int parse_route(struct ctx *c, json_t *j, const char *path, const struct lb_hc_cfg *defaults,
		       struct lb_route_cfg *r)
{
	static const char *const keys[] = {"source", "target", "targets", NULL};
	char p[JPATH_MAX], msg[LB_ERR_MAX];
	json_t *x, *one, *many;
	const char *s = NULL;
	int ret;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "source", &x);
	if (!ret)
		ret = get_string(c, x, pkey(p, path, "source"), &s);
	if (ret)
		return ret;
	if (lb_parse_cidr(s, &r->addr, &r->prefix_len, msg, sizeof(msg)))
		return fail(c, p, "%s", msg);

	one = json_object_get(j, "target");
	many = json_object_get(j, "targets");
	if (one && many)
		return fail(c, path,
			    "has both \"target\" and \"targets\"; use \"target\" for one target or "
			    "\"targets\" for a weighted list");
	if (!one && !many)
		return fail(c, path,
			    "missing required key \"target\" (one target) or \"targets\" (a "
			    "weighted list)");
	return parse_group(c, one ? one : many, pkey(p, path, one ? "target" : "targets"),
			   one ? FORM_OBJECT : FORM_ARRAY, defaults, &r->group);
}

static int parse_proxy(struct ctx *c, json_t *j, const char *path, const struct lb_settings *s,
		       struct lb_proxy_cfg *p)
{
	static const char *const keys[] = {"name",	    "listen",	  "default-target",
					   "source-routes", "sni-routes", NULL};
	const struct lb_hc_cfg *defaults = &s->health_check_defaults;
	char sub[JPATH_MAX], rp[JPATH_MAX];
	const char *name = NULL;
	json_t *x;
	size_t i, n;
	int ret;

	ret = want_object(c, j, path);
	if (!ret)
		ret = check_keys(c, j, path, keys);
	if (!ret)
		ret = require(c, j, path, "name", &x);
	if (!ret)
		ret = get_string(c, x, pkey(sub, path, "name"), &name);
	if (!ret)
		ret = check_name(c, sub, name);
	if (ret)
		return ret;
	strcpy(p->name, name);

	ret = require(c, j, path, "listen", &x);
	if (!ret)
		ret = parse_listen(c, x, pkey(sub, path, "listen"), p);
	if (!ret)
		ret = require(c, j, path, "default-target", &x);
	if (!ret)
		ret = parse_group(c, x, pkey(sub, path, "default-target"), FORM_ANY, defaults,
				  &p->default_group);
	if (ret)
		return ret;

	x = json_object_get(j, "source-routes");
	if (x) {
		pkey(sub, path, "source-routes");
		ret = want_array(c, x, sub);
		if (ret)
			return ret;
		n = json_array_size(x);
		if (n > LB_MAX_ROUTES)
			return fail(c, sub, "has %zu source routes, at most %d are allowed", n,
				    LB_MAX_ROUTES);
		if (n) {
			p->routes = calloc(n, sizeof(*p->routes));
			if (!p->routes)
				return fail_nomem(c);
			p->n_routes = n;
		}
		for (i = 0; i < n; i++) {
			ret = parse_route(c, json_array_get(x, i), pidx(rp, sub, i), defaults,
					  &p->routes[i]);
			if (ret)
				return ret;
		}
		ret = check_routes_unique(c, p, sub);
		if (ret)
			return ret;
	}

	x = json_object_get(j, "sni-routes");
	if (x) {
		pkey(sub, path, "sni-routes");
		ret = want_array(c, x, sub);
		if (ret)
			return ret;
		/* Refused rather than ignored: silently unrouted hostnames would be worse. */
		if (json_array_size(x))
			return fail(c, sub, "SNI routing is not supported by this version of lbd");
	}
	return 0;
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
		return fail(c, "", "the configuration must be a JSON object, not %s", jtype(root));
	ret = check_keys(c, root, "", keys);
	if (ret)
		return ret;
	cfg = lb_config_new();
	if (!cfg)
		return fail_nomem(c);

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
		ret = fail(c, "proxies", "must list 1 to %d proxies (got %zu)", LB_MAX_PROXIES, n);
		goto out;
	}
	cfg->proxies = calloc(n, sizeof(*cfg->proxies));
	if (!cfg->proxies) {
		ret = fail_nomem(c);
		goto out;
	}
	cfg->n_proxies = n;
	for (i = 0; i < n; i++) {
		ret = parse_proxy(c, json_array_get(proxies, i), pidx(path, "proxies", i),
				  &cfg->settings, &cfg->proxies[i]);
		if (!ret)
			ret = check_cross(c, cfg, i);
		if (ret)
			goto out;
	}
	/* Cheap, and proves that what the parser built is what the validator accepts. */
	ret = validate(c, cfg);
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
		return fail(&c, "", "no configuration text was given");
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

int lb_config_validate(const struct lb_config *cfg, char *err, size_t errlen)
{
	struct ctx c = {.err = err, .errlen = errlen};

	return validate(&c, cfg);
}

void lb_settings_default(struct lb_settings *s)
{
	struct lb_hc_cfg *hc = &s->health_check_defaults;

	memset(s, 0, sizeof(*s));
	s->stats_enabled = false;
	s->connection_timeout_sec = 300;
	s->udp_timeout_sec = 60;
	s->max_connections = 100000;
	s->health_check_enabled = false;
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
}

struct lb_config *lb_config_new(void)
{
	struct lb_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg)
		lb_settings_default(&cfg->settings);
	return cfg;
}

struct lb_config *lb_config_dup(const struct lb_config *cfg)
{
	struct lb_config *d;
	size_t i;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->settings = cfg->settings;
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
		q->routes = NULL;
		if (!p->n_routes)
			continue;
		q->routes = malloc(p->n_routes * sizeof(*q->routes));
		if (!q->routes) {
			q->n_routes = 0;
			goto nomem;
		}
		memcpy(q->routes, p->routes, p->n_routes * sizeof(*q->routes));
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
		free(cfg->proxies[i].routes);
	free(cfg->proxies);
	free(cfg);
}

const char *lb_hc_type_name(enum lb_hc_type t)
{
	return (unsigned int)t < ARRAY_SIZE(hc_type_names) ? hc_type_names[t] : "unknown";
}

const char *lb_xdp_mode_name(enum lb_xdp_mode m)
{
	return (unsigned int)m < ARRAY_SIZE(xdp_mode_names) ? xdp_mode_names[m] : "unknown";
}
