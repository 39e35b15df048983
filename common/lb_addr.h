/* SPDX-License-Identifier: MIT */
/*
 * lb_addr.h - strict parsing and formatting of the addresses users write, IPv4 and IPv6:
 * addresses, prefixes, ports and targets ("ip:port", "ip:port@weight"; an IPv6 address in
 * brackets: "[2001:db8::1]:8080@30"). Addresses are struct lb_ip (lb_abi.h): IPv4 ones
 * IPv4-mapped. A prefix length is the family's own (0-32 for IPv4, 0-128 for IPv6).
 *
 * Every parser returns 0 or -EINVAL; on error @err (when non-NULL) receives a sentence that
 * says what is wrong with the text and what is expected.
 */
#ifndef LB_ADDR_H
#define LB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lb_config.h"
#include "lb_ip.h"

#define LB_ADDR_STR_MAX	  46 /* INET6_ADDRSTRLEN: an IPv6 address with an IPv4 tail + NUL */
#define LB_TARGET_STR_MAX 56 /* "[" + 45 + "]:65535@100" + NUL, rounded */

/*
 * An IPv4 address (a.b.c.d, no shorthand like "10.1", no leading zeros) or an IPv6 address
 * (RFC 4291 text, no zone). IPv4-mapped and -compatible IPv6 forms are refused: write the
 * IPv4 address itself.
 */
int lb_parse_ip(const char *s, struct lb_ip *addr, char *err, size_t errlen);

/*
 * "addr/len" or a bare address (= one host). Host bits beyond the prefix are refused with a
 * hint naming the network the user probably meant.
 */
int lb_parse_cidr(const char *s, struct lb_ip *addr, uint8_t *prefix_len, char *err, size_t errlen);

/* Decimal port 1..65535. */
int lb_parse_port(const char *s, uint16_t *port, char *err, size_t errlen);

/*
 * "ip:port" or "ip:port@weight" (weight 0..100), "[ipv6]:port[@weight]". The address must
 * be usable as a unicast backend. *has_weight tells whether "@weight" was given; t->hc is
 * left untouched.
 */
int lb_parse_target(const char *s, struct lb_target_cfg *t, int *has_weight, char *err,
		    size_t errlen);

/*
 * "ip:port" or "[ipv6]:port" a socket of lbd listens on (settings.metrics-listen): like a
 * target without a weight, except that 0.0.0.0 and [::] (every local address) are allowed.
 * *port in host order.
 */
int lb_parse_listen(const char *s, struct lb_ip *addr, uint16_t *port, char *err, size_t errlen);

/*
 * A client of `lbctl trace`: "a.b.c.d", "a.b.c.d:port", an IPv6 address, "[ipv6]" or
 * "[ipv6]:port". *port (host order) is 0 when none is given.
 */
int lb_parse_client(const char *s, struct lb_ip *addr, uint16_t *port, char *err, size_t errlen);

/*
 * Why @addr cannot be a backend or listener address (unspecified, multicast, broadcast,
 * link-local IPv6), or NULL when it can.
 */
const char *lb_addr_unusable(const struct lb_ip *addr);

/*
 * The same verdict as a sentence naming @addr ("224.0.0.1 is a multicast address ..."), for
 * error messages. Returns 0 when @addr is usable, -EINVAL otherwise.
 */
int lb_check_usable(const struct lb_ip *addr, char *err, size_t errlen);

/* Every local address of its family: 0.0.0.0 (IPv4-mapped) or :: (all zero). */
bool lb_ip_is_any(const struct lb_ip *addr);

/* The prefix length over the 128-bit form of @addr's family-relative @prefix_len. */
static inline uint8_t lb_prefix128(const struct lb_ip *addr, uint8_t prefix_len)
{
	return lb_ip_is_v4(addr) ? (uint8_t)(LB_IP_V4_PREFIX_BASE + prefix_len) : prefix_len;
}

/* Is @addr within @net/@prefix_len (family-relative; the families must match)? */
bool lb_ip_in_prefix(const struct lb_ip *addr, const struct lb_ip *net, uint8_t prefix_len);

/* The longest prefix @addr's family has: 32 or 128. */
static inline uint8_t lb_prefix_max(const struct lb_ip *addr)
{
	return lb_ip_is_v4(addr) ? 32 : 128;
}

/* @addr:@port (host order) as a socket address, AF_INET for IPv4; returns its length. */
socklen_t lb_sockaddr_of(const struct lb_ip *addr, uint16_t port, struct sockaddr_storage *ss);

/*
 * The address and port (host order) of @sa, AF_INET or AF_INET6 (an IPv4-mapped IPv6
 * address, as a dual-stack socket reports an IPv4 peer, is the IPv4 address it maps:
 * the same struct lb_ip). 0, or -EAFNOSUPPORT.
 */
int lb_ip_of_sockaddr(const struct sockaddr *sa, struct lb_ip *addr, uint16_t *port);

#define LB_QUOTE_MAX 72 /* a quoted excerpt of user text, NUL included */

/*
 * @s in double quotes for an error message: '"', '\\' and non-printable bytes escaped, text
 * longer than fits cut with "...". Returns @buf.
 */
char *lb_quote(const char *s, char buf[LB_QUOTE_MAX]);

/* Format helpers (IPv6 per RFC 5952, in brackets before a port); return @buf. */
char *lb_format_ip(const struct lb_ip *addr, char buf[LB_ADDR_STR_MAX]);
char *lb_format_target(const struct lb_ip *addr, uint16_t port, char buf[LB_TARGET_STR_MAX]);
char *lb_format_cidr(const struct lb_ip *addr, uint8_t prefix_len, char buf[LB_TARGET_STR_MAX]);

#endif /* LB_ADDR_H */
