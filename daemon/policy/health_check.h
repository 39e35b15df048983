/* SPDX-License-Identifier: MIT */
/*
 * health_check.h - one active health check of one backend, on the libuv loop.
 *
 * A check is a non-blocking socket driven by uv_poll and bounded by a uv_timer:
 *   tcp    connect() succeeds;
 *   http   connect, send "GET <path> HTTP/1.1" (Host, Connection: close, User-Agent),
 *          read the status line: success when the status code is in expected-codes;
 *   https  the same over TLS (OpenSSL), with the check's host as SNI; the certificate is
 *          verified only with tls-verify (backends commonly use self-signed certificates,
 *          and a check proves liveness, not identity);
 *   none   succeeds at once.
 * To a target that gets a PROXY protocol v2 header from lbd, http and https send a LOCAL
 * header first (before the request, before the ClientHello).
 * Nothing blocks the loop: connect, TLS handshake, write and read all wait on poll events.
 */
#ifndef LBD_HEALTH_CHECK_H
#define LBD_HEALTH_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lb_config.h"

enum lb_hc_error {
	LB_HC_OK = 0,
	LB_HC_ERR_REFUSED,	/* connection refused (RST) */
	LB_HC_ERR_TIMEOUT,	/* no answer within timeout-ms */
	LB_HC_ERR_UNREACHABLE,	/* no route / host unreachable / network down */
	LB_HC_ERR_RESET,	/* connection reset or closed before a complete status line */
	LB_HC_ERR_BAD_STATUS,	/* HTTP status not in expected-codes */
	LB_HC_ERR_BAD_RESPONSE, /* not an HTTP status line */
	LB_HC_ERR_TLS,		/* TLS handshake or record error */
	LB_HC_ERR_INTERNAL,	/* socket/memory failure on the LB itself */
	LB_HC_ERR_TLS_VERIFY,	/* tls-verify: the certificate was not accepted */
};

#define LB_HC_DETAIL_MAX 256

struct lb_hc_result {
	enum lb_hc_error error;
	uint32_t latency_us; /* from start to success or failure */
	int http_status;     /* 0 when none was read */
	/* TLS failures: what OpenSSL said ("hostname mismatch", ...); empty otherwise */
	char detail[LB_HC_DETAIL_MAX];
};

struct lb_hc_probe;

typedef void (*lb_hc_done_fn)(struct lb_hc_probe *p, const struct lb_hc_result *r, void *arg);

/*
 * Start one check of @addr:@port (network / host order) with @cfg (type, path, timeout,
 * expected codes). With @proxy_local (a target lbd sends a PROXY protocol v2 header to, which
 * may refuse a connection without one), an http or https check opens its connection with a
 * v2 LOCAL header (lb_proxy_proto.h) before the request or the TLS ClientHello; a tcp check
 * sends nothing either way. @done runs exactly once, on the loop, unless the probe is
 * cancelled first. Returns NULL and sets errno when the check cannot even start.
 */
struct lb_hc_probe *lb_hc_probe_start(uv_loop_t *loop, const struct lb_ip *addr, uint16_t port,
				      const struct lb_hc_cfg *cfg, bool proxy_local,
				      lb_hc_done_fn done, void *arg);

/* Abandon a running check: @done will not be called. NULL is a no-op. */
void lb_hc_probe_cancel(struct lb_hc_probe *p);

/* Short machine-readable name: "ok", "connection-refused", "timeout", "bad-status", ... */
const char *lb_hc_error_name(enum lb_hc_error e);

#endif /* LBD_HEALTH_CHECK_H */
