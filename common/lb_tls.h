/* SPDX-License-Identifier: MIT */
/*
 * lb_tls.h - read the server name out of a TLS ClientHello without terminating TLS.
 *
 * The parser sees the bytes a client sent so far, in order, and says whether they already
 * hold a complete ClientHello. It follows the TLS record layer (RFC 8446 section 5.1,
 * RFC 5246 section 6.2) across as many records as the handshake message spans, then the
 * ClientHello (section 4.1.2) and its server_name extension (RFC 6066 section 3). Every
 * length is checked against what is actually there; nothing is read out of bounds.
 */
#ifndef LB_TLS_H
#define LB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_HELLO_MAX	16384 /* bytes buffered while waiting for a complete ClientHello */
#define LB_SNI_NAME_LEN 255   /* longest host name accepted (RFC 6066: a DNS host name) */

enum lb_hello_result {
	LB_HELLO_NEED_MORE = 0, /* could still become a ClientHello: read more */
	LB_HELLO_SNI,		/* complete, with a host_name: see @name */
	LB_HELLO_NO_SNI,	/* complete, without a host_name to route by */
	LB_HELLO_NOT_TLS,	/* the first bytes are not a TLS handshake record */
	LB_HELLO_MALFORMED,	/* TLS, but a length or field is inconsistent */
	LB_HELLO_TOO_LARGE,	/* no complete ClientHello within LB_HELLO_MAX bytes */
};

/*
 * Parse @len bytes (@len may exceed LB_HELLO_MAX; only what is needed is read, and nothing
 * after the end of the ClientHello). On LB_HELLO_SNI, @name receives the first host_name
 * lowercased and NUL-terminated, one trailing dot dropped; on any other result it is "". A
 * name that is not a valid DNS host name (empty, longer than LB_SNI_NAME_LEN bytes as sent,
 * an empty label, bytes outside letters, digits, '-', '.', or '_') gives LB_HELLO_MALFORMED.
 * LB_HELLO_TOO_LARGE comes as soon as the bytes seen prove the ClientHello cannot end within
 * the first LB_HELLO_MAX bytes, record headers included; one that does always parses, however
 * it is split into records. The result depends on the bytes only: a prefix of any input
 * gives LB_HELLO_NEED_MORE or the result of the whole.
 */
enum lb_hello_result lb_tls_parse_hello(const uint8_t *buf, size_t len,
					char name[LB_SNI_NAME_LEN + 1]);

/*
 * For bytes that lb_tls_parse_hello() answers LB_HELLO_NEED_MORE: true when they already
 * hold the ClientHello's server_name extension whole (in its first record), with @name set
 * as lb_tls_parse_hello() would set it, so that the connect to the target can start while
 * the rest of the hello arrives. Only a hint: the complete hello still decides (it may turn
 * out malformed, or name a second host), and false says nothing about it.
 */
bool lb_tls_peek_sni(const uint8_t *buf, size_t len, char name[LB_SNI_NAME_LEN + 1]);

/* "need-more", "sni", "no-sni", "not-tls", "malformed", "too-large". */
const char *lb_hello_result_name(enum lb_hello_result r);

#endif /* LB_TLS_H */
