/* SPDX-License-Identifier: MIT */
/*
 * lb_addr.h - strict parsing and formatting of the addresses users write: IPv4 addresses,
 * CIDRs, ports and targets ("ip:port" or "ip:port@weight").
 *
 * Every parser returns 0 or -EINVAL; on error @err (when non-NULL) receives a sentence that
 * says what is wrong with the text and what is expected.
 */
#ifndef LB_ADDR_H
#define LB_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "lb_config.h"

#define LB_ADDR_STR_MAX	  16 /* "255.255.255.255" + NUL */
#define LB_TARGET_STR_MAX 28 /* "255.255.255.255:65535@100" + NUL, rounded */

/* Dotted-quad IPv4 only (no shorthand like "10.1"); *addr in network byte order. */
int lb_parse_ipv4(const char *s, uint32_t *addr, char *err, size_t errlen);

/*
 * "a.b.c.d/len" or a bare address (= /32). Host bits beyond the prefix are refused with a
 * hint naming the network the user probably meant.
 */
int lb_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix_len, char *err, size_t errlen);

/* Decimal port 1..65535. */
int lb_parse_port(const char *s, uint16_t *port, char *err, size_t errlen);

/*
 * "ip:port" or "ip:port@weight" (weight 0..100). The address must be usable as a unicast
 * backend. *has_weight tells whether "@weight" was given; t->hc is left untouched.
 */
int lb_parse_target(const char *s, struct lb_target_cfg *t, int *has_weight, char *err,
		    size_t errlen);

/*
 * "ip:port" a socket of lbd listens on (settings.metrics-listen): like a target without a
 * weight, except that 0.0.0.0 (every local address) is allowed. *port in host order.
 */
int lb_parse_listen(const char *s, uint32_t *addr, uint16_t *port, char *err, size_t errlen);

/*
 * Why @addr (network order) cannot be a backend or listener address (0.0.0.0, multicast,
 * broadcast), or NULL when it can.
 */
const char *lb_addr_unusable(uint32_t addr);

/*
 * The same verdict as a sentence naming @addr ("224.0.0.1 is a multicast address ..."), for
 * error messages. Returns 0 when @addr is usable, -EINVAL otherwise.
 */
int lb_check_usable(uint32_t addr, char *err, size_t errlen);

#define LB_QUOTE_MAX 72 /* a quoted excerpt of user text, NUL included */

/*
 * @s in double quotes for an error message: '"', '\\' and non-printable bytes escaped, text
 * longer than fits cut with "...". Returns @buf.
 */
char *lb_quote(const char *s, char buf[LB_QUOTE_MAX]);

/* Format helpers; return @buf. */
char *lb_format_ipv4(uint32_t addr, char buf[LB_ADDR_STR_MAX]);
char *lb_format_target(uint32_t addr, uint16_t port, char buf[LB_TARGET_STR_MAX]);
char *lb_format_cidr(uint32_t addr, uint8_t prefix_len, char buf[LB_TARGET_STR_MAX]);

#endif /* LB_ADDR_H */
