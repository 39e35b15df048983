/* SPDX-License-Identifier: MIT */
/*
 * lb_config_priv.h - what the lb_config*.c files share and nobody else sees: the field
 * tables both the parser and the validator read, the error context with its JSON-path
 * helpers, and the model rules the parser applies where the exact path is at hand.
 *
 * Everything here with linkage is named lb_cfg_*, apart from the public lb_config_* API.
 */
#ifndef LB_CONFIG_PRIV_H
#define LB_CONFIG_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define JPATH_MAX 192

#define NAME_LEN_MAX   (LB_PROXY_NAME_MAX - 1)
#define IFNAME_LEN_MAX (IF_NAMESIZE - 1)
#define WEIGHT_MAX     100
#define WEIGHT_SUM     100
#define HC_CODE_MIN    100
#define HC_CODE_MAX    599
#define SNI_LABEL_MAX  63	      /* RFC 1035 section 2.3.4 */
#define SNI_ROUTES_MAX LB_MAX_ROUTES  /* per proxy, as for source routes */
#define LOG_PATH_MAX   (PATH_MAX - 1) /* bytes of a file path open() takes, NUL aside */

/* Which health-check fields a health-check object set itself (the rest are inherited). */
#define HC_SET_INTERVAL (1u << 0)
#define HC_SET_TIMEOUT	(1u << 1)
#define HC_SET_BOTH	(HC_SET_INTERVAL | HC_SET_TIMEOUT)
#define HC_SET_TLS	(1u << 2) /* tls-verify or ca-file */
#define HC_SET_CA	(1u << 3) /* ca-file */

/*
 * Why a target may not send a PROXY protocol header, ending the message that says so; NULL
 * where it may (the targets lbd's SNI acceptor connects to itself).
 */
#define PP_KERNEL_PROXY "this proxy balances in the kernel"
#define PP_SOURCE_ROUTE "source routes are balanced in the kernel, even in a proxy with sni-routes"

/* Where a health-check object inherits unset fields from, for error messages. */
#define HC_BASE_BUILTIN	 "the built-in defaults"
#define HC_BASE_SETTINGS "settings.health-check-defaults"

/* Where an error message goes; every lb_cfg_fail*() writes it. */
struct ctx {
	char *err;
	size_t errlen;
	enum lb_cfg_naming naming; /* how a proxy is named (lb_config_validate_as()) */
};

/* ---- the model's tables (lb_config.c) ---- */

/* A uint32_t member with a range, so parsing, validation and serialisation read one table. */
struct u32_field {
	const char *key;
	size_t off;
	uint32_t min, max;
	unsigned int set_bit; /* HC_SET_* for health-check fields */
};

#define LB_CFG_N_HC_FIELDS	 4
#define LB_CFG_N_SETTINGS_FIELDS 13
#define LB_CFG_N_PROTOCOLS	 ((LB_L4_TCP | LB_L4_UDP) + 1)
#define LB_CFG_N_PP_VERSIONS	 3

extern const struct u32_field lb_cfg_hc_fields[LB_CFG_N_HC_FIELDS];
extern const struct u32_field lb_cfg_settings_fields[LB_CFG_N_SETTINGS_FIELDS];

/*
 * Indexed by enum lb_hc_type, enum lb_xdp_mode, enum lb_ingress, enum lb_splice_mode,
 * protocol bits and PROXY protocol version respectively (NULL: no such value).
 */
extern const char *const lb_cfg_hc_type_names[LB_HC_NONE + 1];
extern const char *const lb_cfg_xdp_mode_names[LB_XDP_GENERIC + 1];
extern const char *const lb_cfg_ingress_names[LB_INGRESS_TC + 1];
extern const char *const lb_cfg_splice_mode_names[LB_SPLICE_COPY + 1];
extern const char *const lb_cfg_protocol_names[LB_CFG_N_PROTOCOLS];
extern const char *const lb_cfg_pp_names[LB_CFG_N_PP_VERSIONS];
extern const char *const lb_cfg_hash_names[LB_HASH_SOURCE + 1];
extern const char *const lb_cfg_forwarding_names[LB_FWD_DSR + 1];
extern const char *const lb_cfg_selection_names[LB_SEL_LEASTCONN + 1];

static inline uint32_t *field_u32(void *base, const struct u32_field *f)
{
	return (uint32_t *)((char *)base + f->off);
}

static inline uint32_t field_get(const void *base, const struct u32_field *f)
{
	return *(const uint32_t *)((const char *)base + f->off);
}

static inline bool out_of_range(long long v, long long min, long long max)
{
	return v < min || v > max;
}

/* ---- messages and JSON paths (lb_config_path.c) ---- */

/*
 * Record "<path>: <message>" ("top level" for an empty path; the message alone for a NULL
 * one, where the caller names the place itself) and return -EINVAL.
 */
__attribute__((format(printf, 3, 4))) int lb_cfg_fail(struct ctx *c, const char *path,
						      const char *fmt, ...);

/* "must be between MIN and MAX (got V)"; returns -EINVAL. */
int lb_cfg_fail_range(struct ctx *c, const char *path, long long v, long long min, long long max);

/* Record that memory ran out; returns -ENOMEM. */
int lb_cfg_fail_nomem(struct ctx *c);

/*
 * "parent.key" (just "key" under the top level; 'proxy "api": key' under a proxy named by
 * name) in @buf, which must not be @parent.
 */
const char *lb_cfg_pkey(char buf[JPATH_MAX], const char *parent, const char *key);

/* "parent[i]" in @buf, which must not be @parent. */
const char *lb_cfg_pidx(char buf[JPATH_MAX], const char *parent, size_t i);

/*
 * @path as a message refers to another place of the same proxy: whole, or, under a proxy
 * named by name, the part after 'proxy "api": ' (the message already names the proxy).
 */
const char *lb_cfg_ref(const char *path);

/* ---- rules on the model (lb_config_validate.c), each reporting at @path ---- */

int lb_cfg_check_usable(struct ctx *c, const char *path, const struct lb_ip *addr);

/*
 * Every target of @g is of @family (4 or 6), the family of the clients it serves (named
 * @clients in the message): the kernel path does not translate between families.
 */
int lb_cfg_check_group_family(struct ctx *c, const struct lb_group_cfg *g, const char *path,
			      int family, const char *clients);
int lb_cfg_check_name(struct ctx *c, const char *path, const char *name);
int lb_cfg_check_iface_name(struct ctx *c, const char *path, const char *name);

/* The interface list of @p, reported under "<listen_path>.interfaces". */
int lb_cfg_check_ifaces(struct ctx *c, const struct lb_proxy_cfg *p, const char *listen_path);

int lb_cfg_check_hc_path(struct ctx *c, const char *path, const char *s);

/*
 * A resolved health check. @set says which of interval/timeout its own object gave, @base
 * where the others came from, so a timeout >= interval error points at the right place.
 */
int lb_cfg_check_hc(struct ctx *c, const struct lb_hc_cfg *hc, const char *path, unsigned int set,
		    const char *base);

/*
 * The file path @s of settings.access-log, reported at @path: absolute, at most LOG_PATH_MAX
 * bytes, and naming a file rather than a directory.
 */
int lb_cfg_check_access_log(struct ctx *c, const char *path, const char *s);

/* A health check's host: a server name (no wildcard, no IP address). */
int lb_cfg_check_hc_host(struct ctx *c, const char *path, const char *s);

/* A health check's ca-file: an absolute path of a file. */
int lb_cfg_check_ca_file(struct ctx *c, const char *path, const char *s);

int lb_cfg_check_group_size(struct ctx *c, const char *path, size_t n);

/* A group of valid size: its weights sum to 100 and no ip:port appears twice. */
int lb_cfg_check_group(struct ctx *c, const struct lb_group_cfg *g, const char *path);

/*
 * A target's PROXY protocol @version (0 or 2) at @path (its "proxy-protocol"); @refusal says
 * why this target may not send a header (PP_*), NULL where it may.
 */
int lb_cfg_check_proxy_protocol(struct ctx *c, const char *path, unsigned int version,
				const char *refusal);

/*
 * The @len bytes at @name as the server name of an SNI route: 1 to 255 bytes, labels of
 * letters, digits, '-' and '_' (1 to 63 bytes) between single dots, no trailing dot; or a
 * wildcard "*." followed by such a name of at least two labels. Messages quote @shown (what
 * the user wrote) and go to @path (which may be NULL, see lb_cfg_fail()). Sets *wildcard.
 */
int lb_cfg_check_sni_hostname(struct ctx *c, const char *path, const char *shown, const char *name,
			      size_t len, bool *wildcard);

/*
 * The first SNI route of @p (in file order) whose hostname an earlier one already has, case
 * aside: returns 1 with its index in *dup and the earlier one's in *orig, 0 when there is
 * none, -ENOMEM.
 */
int lb_cfg_find_sni_dup(struct ctx *c, const struct lb_proxy_cfg *p, size_t *dup, size_t *orig);

/* A proxy with SNI routes listens on TCP; @listen_path is its "listen". */
int lb_cfg_check_sni_listen(struct ctx *c, const struct lb_proxy_cfg *p, const char *listen_path);

/* No source prefix twice in @p; @path is its "source-routes". */
int lb_cfg_check_routes_unique(struct ctx *c, const struct lb_proxy_cfg *p, const char *path);

/* Every rule of one proxy on its own. */
int lb_cfg_check_proxy(struct ctx *c, const struct lb_proxy_cfg *p, const char *path);

/* The rules between proxy @i and the ones before it: names, listeners, route total. */
int lb_cfg_check_cross(struct ctx *c, const struct lb_config *cfg, size_t i);

/* The forwarding rules (lb_config_fwd.c): of one proxy, of settings, across proxies. */
int lb_cfg_check_forwarding(struct ctx *c, const struct lb_proxy_cfg *p, const char *path);
int lb_cfg_check_snat_settings(struct ctx *c, const struct lb_settings *s);
int lb_cfg_check_snat_ports(struct ctx *c, const struct lb_config *cfg, size_t i);

/* Every rule of a whole configuration. */
int lb_cfg_validate(struct ctx *c, const struct lb_config *cfg);

#endif /* LB_CONFIG_PRIV_H */
