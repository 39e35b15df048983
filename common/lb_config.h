/* SPDX-License-Identifier: MIT */
/*
 * lb_config.h - the configuration model (SPEC section 2) and its validating parser.
 *
 * A configuration is parsed and validated whole: either every rule holds and a complete
 * struct lb_config comes back, or nothing does and the error names the exact place
 * ("proxies[0].default-target[1].weight: ...") and what to fix.
 */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lb_abi.h"
#include "lb_ip.h"

#define LB_ERR_MAX		512
#define LB_HC_PATH_MAX		256
#define LB_HC_CODES_MAX		16
#define LB_MAX_IFACES_PER_PROXY 16

/* Bits of lb_proxy_cfg.protocols. */
#define LB_L4_TCP (1u << 0)
#define LB_L4_UDP (1u << 1)

enum lb_hc_type { LB_HC_TCP = 0, LB_HC_HTTP, LB_HC_HTTPS, LB_HC_NONE };

/* How the SNI acceptor moves bytes once a connection is bound to its target. */
enum lb_splice_mode { LB_SPLICE_AUTO = 0, LB_SPLICE_SOCKMAP, LB_SPLICE_COPY };

/* What places a new flow on a group's Maglev table (lb_proxy_cfg.hash). */
enum lb_hash { LB_HASH_5TUPLE = 0, LB_HASH_SOURCE };

/* "selection": how a new flow's target is chosen (docs/configuration.md). */
enum lb_selection { LB_SEL_MAGLEV = 0, LB_SEL_LEASTCONN };

/* The Maglev table sizes settings.maglev-table-size accepts (primes), and the default. */
#define LB_MAGLEV_TABLE_SIZES              \
	{                                  \
		4093, 16381, 65537, 131071 \
	}
#define LB_MAGLEV_TABLE_SIZE_DEFAULT 65537

/*
 * The route protocol number of lbd's announcements (settings.announce-protocol): 250 is
 * unused by iproute2's rt_protos and by the routing daemons Debian ships.
 */
#define LB_ANNOUNCE_PROTOCOL_DEFAULT 250

/*
 * One source address per family for full-nat ("snat-address" of a proxy or of settings):
 * all zero and has_* false when not given.
 */
struct lb_snat_cfg {
	bool has_v4, has_v6;
	struct lb_ip v4, v6;
};

/* The default source port range of full-nat: above the kernel's ip_local_port_range. */
#define LB_SNAT_PORT_MIN_DEFAULT 61000
#define LB_SNAT_PORT_MAX_DEFAULT 65535

/* XDP attach mode for all interfaces of this lbd. */
enum lb_xdp_mode { LB_XDP_AUTO = 0, LB_XDP_NATIVE, LB_XDP_GENERIC };
/* Where the request direction runs (settings.ingress); replies are always TC egress. */
enum lb_ingress { LB_INGRESS_AUTO = 0, LB_INGRESS_XDP, LB_INGRESS_TC };

/* A health check with every field resolved (defaults applied). */
struct lb_hc_cfg {
	enum lb_hc_type type;
	char path[LB_HC_PATH_MAX];
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint32_t healthy_threshold;
	uint32_t unhealthy_threshold;
	uint16_t expected_codes[LB_HC_CODES_MAX];
	size_t n_expected_codes;
	/*
	 * Interned (lb_intern.h), NULL when unset. host: the server name sent as SNI (https)
	 * and in the Host header (http, https); ca_file: the CA certificates (PEM) that
	 * tls_verify checks against, the system's store when NULL.
	 */
	const char *host;
	const char *ca_file;
	bool tls_verify; /* https: verify the certificate chain and name (host, else the IP) */
};

struct lb_target_cfg {
	struct lb_ip addr;	/* IPv4 ones IPv4-mapped (lb_ip.h) */
	uint16_t port;		/* host byte order */
	uint8_t weight;		/* 0..100; 100 for a lone target without a weight */
	bool has_hc;		/* a per-target "health-check" object was given */
	struct lb_hc_cfg hc;	/* resolved: per-target override on top of the defaults */
	uint8_t proxy_protocol; /* 0: none, 2: send a PROXY protocol v2 header (SNI path only) */
};

/*
 * A group of 1..LB_MAX_TARGETS_PER_GROUP targets. It owns @t (malloc'ed, @n elements):
 * lb_config_dup() copies it, lb_group_cfg_release() (and so lb_proxy_cfg_release(),
 * lb_config_free()) frees it. Moving a group moves its array with it.
 */
struct lb_group_cfg {
	size_t n;
	struct lb_target_cfg *t;
};

/*
 * The weights of a group of at most LB_PCT_GROUP_MAX targets are percentages summing to
 * 100; those of a larger group are relative shares (docs/configuration.md, "Weights").
 */
#define LB_PCT_GROUP_MAX 8

static inline bool lb_group_relative(size_t n)
{
	return n > LB_PCT_GROUP_MAX;
}

/* Give @g room for @n zeroed targets (any it held freed); 0 or -ENOMEM. */
int lb_group_cfg_alloc(struct lb_group_cfg *g, size_t n);

/* Make @dst (holding nothing) a copy of @src; 0 or -ENOMEM (@dst then empty). */
int lb_group_cfg_copy(struct lb_group_cfg *dst, const struct lb_group_cfg *src);

/* Free what @g owns and empty it; NULL is a no-op. */
void lb_group_cfg_release(struct lb_group_cfg *g);

struct lb_route_cfg {
	struct lb_ip addr; /* host bits zero */
	/* prefix_len below is the family's own: 0-32 for IPv4, 0-128 for IPv6 */
	uint8_t prefix_len;
	struct lb_group_cfg group;
};

#define LB_SNI_NAME_MAX 255

/*
 * An SNI route: "api.example.com" matches that name exactly (case-insensitively);
 * "*.example.com" matches any name ending in ".example.com". Names are stored lowercased;
 * for a wildcard, hostname holds the whole pattern ("*.example.com").
 */
struct lb_sni_route_cfg {
	char hostname[LB_SNI_NAME_MAX + 1];
	bool wildcard;
	struct lb_group_cfg group;
};

struct lb_proxy_cfg {
	char name[LB_PROXY_NAME_MAX];
	size_t n_ifaces;
	char ifaces[LB_MAX_IFACES_PER_PROXY][IF_NAMESIZE];
	uint16_t port;	   /* host byte order */
	uint8_t protocols; /* LB_L4_* bits */
	bool has_address;
	struct lb_ip address; /* valid when has_address */
	struct lb_group_cfg default_group;
	/*
	 * "hash": 5-tuple (default) or source-address: session affinity, every connection
	 * of a client (of its first hash_prefix bits, the family's own length, when
	 * has_hash_prefix) goes to one target while the group is unchanged.
	 */
	uint8_t hash; /* enum lb_hash */
	bool has_hash_prefix;
	uint8_t hash_prefix; /* 0-32 for an IPv4 proxy, 0-128 for an IPv6 one */
	/*
	 * "forwarding": LB_FWD_NAT (default), LB_FWD_FULLNAT or LB_FWD_DSR (lb_abi.h); with
	 * full-nat, "snat-address" (else settings.snat-address, else the LB's address on
	 * the route towards the targets).
	 */
	uint8_t forwarding;
	/*
	 * "selection": LB_SEL_MAGLEV (default: the consistent hash) or LB_SEL_LEASTCONN
	 * (weighted least-connections over the datapath's live flow counts).
	 */
	uint8_t selection; /* enum lb_selection */
	struct lb_snat_cfg snat;
	size_t n_routes;
	struct lb_route_cfg *routes;
	size_t n_sni_routes;
	struct lb_sni_route_cfg *sni_routes;
};

struct lb_settings {
	bool stats_enabled;
	uint32_t connection_timeout_sec; /* idle timeout of TCP flows */
	uint32_t udp_timeout_sec;	 /* idle timeout of UDP flows */
	uint32_t max_connections;	 /* flows tracked; conntrack holds 2 entries per flow */
	bool health_check_enabled;
	struct lb_hc_cfg health_check_defaults;
	uint32_t default_drain_timeout_ms;
	uint32_t drain_check_interval_ms;
	enum lb_xdp_mode xdp_mode;
	enum lb_ingress ingress; /* auto: TC on veth, else native XDP when the driver has it */
	uint32_t sni_hello_timeout_ms;	/* how long the SNI acceptor waits for a ClientHello */
	uint32_t sni_max_pending;	/* connections waiting for a ClientHello, per proxy */
	enum lb_splice_mode sni_splice; /* how spliced SNI connections move bytes */
	bool metrics_listen;		/* serve Prometheus metrics over HTTP (metrics-listen) */
	struct lb_ip metrics_addr;	/* valid when metrics_listen; 0.0.0.0 or ::: any */
	uint16_t metrics_port;		/* host order; valid when metrics_listen */
	char *access_log;		/* JSON-lines log file (access-log), owned; NULL: none */
	uint32_t hash_seed;		/* seeds every Maglev table: same seed, same tables */
	uint32_t maglev_table_size;	/* slots of each table: one of LB_MAGLEV_TABLE_SIZES */
	uint32_t announce_table;	/* kernel routing table of announced addresses; 0: off */
	uint32_t announce_protocol;	/* their route protocol number (lbd's own) */
	struct lb_snat_cfg snat; /* full-nat source addresses of every proxy without its own */
	uint32_t snat_port_min;	 /* full-nat source ports: snat_port_min..snat_port_max */
	uint32_t snat_port_max;
	bool fast_path; /* rewritten packets leave from the hook (bpf/lb_fast.h) */
};

struct lb_config {
	size_t n_proxies;
	struct lb_proxy_cfg *proxies;
	struct lb_settings settings;
};

/* Number of target groups of @p: the default group, its source routes, its SNI routes. */
static inline size_t lb_proxy_n_groups(const struct lb_proxy_cfg *p)
{
	return 1 + p->n_routes + p->n_sni_routes;
}

/* Group @i of @p, in that order (0 = the default group); @i < lb_proxy_n_groups(p). */
static inline struct lb_group_cfg *lb_proxy_group(const struct lb_proxy_cfg *p, size_t i)
{
	if (i == 0)
		return (struct lb_group_cfg *)&p->default_group;
	if (i <= p->n_routes)
		return &p->routes[i - 1].group;
	return &p->sni_routes[i - 1 - p->n_routes].group;
}

/* Does some group of @p hold the target @addr:@port? */
static inline bool lb_proxy_has_target(const struct lb_proxy_cfg *p, const struct lb_ip *addr,
				       uint16_t port)
{
	size_t i, k;

	for (i = 0; i < lb_proxy_n_groups(p); i++)
		for (k = 0; k < lb_proxy_group(p, i)->n; k++)
			if (lb_ip_eq(&lb_proxy_group(p, i)->t[k].addr, addr) &&
			    lb_proxy_group(p, i)->t[k].port == port)
				return true;
	return false;
}

/*
 * Fill @s with the documented defaults. @s is taken as holding nothing: an access_log it had
 * is not freed (lb_config_free() frees that of a configuration).
 */
void lb_settings_default(struct lb_settings *s);

/*
 * Parse and validate a JSON configuration text. Returns 0 and sets *out (free with
 * lb_config_free), or -EINVAL with a message in @err naming the offending place.
 */
int lb_config_parse_string(const char *text, struct lb_config **out, char *err, size_t errlen);

/* Same, reading @path; -errno with a message when the file cannot be read. */
int lb_config_parse_file(const char *path, struct lb_config **out, char *err, size_t errlen);

/*
 * Check a model built in code (e.g. from lbd's -i/-p/-t flags) against the rules the parser
 * applies, with the same code, messages and paths: names, interfaces, ports, addresses,
 * group sizes and weight sums, duplicate targets and source prefixes, health checks,
 * settings ranges, and the cross-proxy rules (unique names, non-conflicting listeners).
 * Only rules about how JSON was written (unknown keys, types) have no equivalent here.
 * Unlike a file, a model without proxies is valid (all may have been removed at run time).
 * Returns 0 or -EINVAL with a message.
 */
int lb_config_validate(const struct lb_config *cfg, char *err, size_t errlen);

/*
 * How messages name a proxy. A file names it by its place, "proxies[2].listen.port: ...";
 * a change made at run time (add-proxy, add-sni-route, ...) has no file whose index the
 * operator could look up, so it names the proxy, 'proxy "api": listen.port: ...'.
 */
enum lb_cfg_naming { LB_CFG_BY_INDEX = 0, LB_CFG_BY_NAME };

/* lb_config_validate() with messages naming proxies as @naming says. */
int lb_config_validate_as(const struct lb_config *cfg, enum lb_cfg_naming naming, char *err,
			  size_t errlen);

/*
 * The path of @member ("listen.interfaces[1]"; NULL for the proxy itself) of proxy @i, called
 * @name, as @naming says: "proxies[3].listen.interfaces[1]" or
 * 'proxy "api": listen.interfaces[1]' (the proxy itself: "proxies[3]", 'proxy "api":').
 * A message follows after ": " either way. Returns @buf.
 */
const char *lb_config_proxy_path(const char *name, size_t i, enum lb_cfg_naming naming,
				 const char *member, char *buf, size_t len);

/* Allocate an empty configuration with default settings; NULL and errno on failure. */
struct lb_config *lb_config_new(void);

/* Deep copy; NULL and errno on failure. */
struct lb_config *lb_config_dup(const struct lb_config *cfg);

/* Free a configuration; NULL is a no-op. */
void lb_config_free(struct lb_config *cfg);

/*
 * Parse one proxy object (an element of "proxies") using @s for health-check defaults (NULL:
 * the built-in ones). @path prefixes every message (e.g. "proxy"). Returns 0 or -EINVAL with
 * a message; on success release @out with lb_proxy_cfg_release(). Cross-proxy rules are not
 * checked here: run lb_config_validate() on the configuration that will hold it.
 */
int lb_config_proxy_from_json(json_t *j, const struct lb_settings *s, const char *path,
			      struct lb_proxy_cfg *out, char *err, size_t errlen);

/*
 * Parse a target group given as an array whose elements are target objects or strings
 * "ip:port[@weight]", with the group weight rules (one target: weight optional, else every
 * weight given and summing to 100, at most 8, no duplicates). @path prefixes messages.
 */
int lb_config_group_from_json(json_t *j, const struct lb_settings *s, const char *path,
			      struct lb_group_cfg *out, char *err, size_t errlen);

/* Free what a proxy owns (its groups and routes); the struct itself is the caller's. */
void lb_proxy_cfg_release(struct lb_proxy_cfg *p);

/*
 * Serialise to the configuration file format (inverse of the parser): settings with every
 * value, proxies with "default-target" as an array of {"ip","port","weight"} (plus
 * "health-check" when the target had its own). Returns a new reference, or NULL and errno.
 */
json_t *lb_config_to_json(const struct lb_config *cfg);
json_t *lb_config_proxy_to_json(const struct lb_proxy_cfg *p);
json_t *lb_config_group_to_json(const struct lb_group_cfg *g);

/* Name of a health-check type ("tcp", "http", ...). */
const char *lb_hc_type_name(enum lb_hc_type t);

/* Name of a hash ("5-tuple", "source-address"). */
const char *lb_hash_name(unsigned int h);

/* Name of a forwarding mode ("nat", "full-nat", "dsr"); the LB_FWD_* of @s: 0 or -EINVAL. */
const char *lb_forwarding_name(unsigned int f);
int lb_forwarding_from_name(const char *s, uint8_t *f);

/* Name of a selection ("maglev", "least-connections"); the LB_SEL_* of @s: 0 or -EINVAL. */
const char *lb_selection_name(unsigned int s);
int lb_selection_from_name(const char *s, uint8_t *sel);

/* Bits of lb_proxy_families(): two bits, as 4 | 6 would be 6 again. */
#define LB_FAMILY_V4 1u
#define LB_FAMILY_V6 2u

/* The LB_FAMILY_* bit of @a's family. */
static inline unsigned int lb_ip_family(const struct lb_ip *a)
{
	return lb_ip_is_v4(a) ? LB_FAMILY_V4 : LB_FAMILY_V6;
}

/*
 * The client families a proxy's listeners serve: LB_FAMILY_V4, LB_FAMILY_V6, or both (no
 * address, targets of both families, or SNI routes).
 */
unsigned int lb_proxy_families(const struct lb_proxy_cfg *p);

/* Name of a splice mode ("auto", "sockmap", "copy"). */
const char *lb_splice_mode_name(enum lb_splice_mode m);

/*
 * Check and normalise an SNI route's host name as the configuration does (lowercase, one
 * trailing dot dropped, "*.suffix" wildcards): fills r->hostname and r->wildcard. 0, or
 * -EINVAL with a sentence in @err.
 */
int lb_sni_hostname_parse(const char *text, struct lb_sni_route_cfg *r, char *err, size_t errlen);

/* The proxy of @cfg called @name, or NULL. */
struct lb_proxy_cfg *lb_config_find_proxy(const struct lb_config *cfg, const char *name);

/*
 * How group @i of @p is named in replies and events: "default", the source route's CIDR,
 * or "sni:HOSTNAME". Writes into @buf (at least LB_SNI_NAME_MAX + 5 bytes) and returns it.
 */
const char *lb_proxy_group_label(const struct lb_proxy_cfg *p, size_t i, char *buf, size_t len);

/*
 * The SNI route of @p whose hostname matches @name (lowercase): an exact match first,
 * else the wildcard with the longest suffix. NULL when none matches.
 */
const struct lb_sni_route_cfg *lb_sni_route_match(const struct lb_proxy_cfg *p, const char *name);

/* Name of an XDP mode ("auto", "native", "generic"). */
const char *lb_xdp_mode_name(enum lb_xdp_mode m);
const char *lb_ingress_name(enum lb_ingress i);

/* The value named @s (the words of settings.xdp-mode / settings.ingress): 0 or -EINVAL. */
int lb_xdp_mode_from_name(const char *s, enum lb_xdp_mode *m);
int lb_ingress_from_name(const char *s, enum lb_ingress *i);

#endif /* LB_CONFIG_H */
