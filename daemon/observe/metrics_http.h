/* SPDX-License-Identifier: MIT */
/*
 * metrics_http.h - a tiny HTTP/1.1 server on the libuv loop for Prometheus scrapes.
 *
 * GET /metrics answers 200 with the text the renderer returns; any other path is 404, any
 * other method 405, a request that is not HTTP 400. Every answer closes the connection
 * (Connection: close). A request is read up to its blank line within a bounded size and
 * time; at most a bounded number of connections are open at once, beyond that new ones are
 * closed at once. Nothing here blocks the loop.
 */
#ifndef LBD_METRICS_HTTP_H
#define LBD_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lb_ip.h"

#define LB_METRICS_HTTP_REQ_MAX	   4096 /* bytes up to the end of the request's headers */
#define LB_METRICS_HTTP_TIMEOUT_MS 5000 /* a connection's whole life, request to answer */
#define LB_METRICS_HTTP_CONN_MAX   64	/* connections open at once */

/* The body of a 200 answer: malloc'ed text (length in *len), or NULL for a 500. */
typedef char *(*lb_metrics_render_fn)(void *ctx, size_t *len);

struct lb_metrics_http;

/*
 * Listen on @addr (network order; 0: every address):@port (host order). Returns the server,
 * or NULL with errno set and a sentence in @err (the address is in use, ...).
 */
struct lb_metrics_http *lb_metrics_http_start(uv_loop_t *loop, const struct lb_ip *addr,
					      uint16_t port, lb_metrics_render_fn render, void *ctx,
					      char *err, size_t errlen);

/* Does @h listen on @addr:@port? False for NULL. */
bool lb_metrics_http_listens_on(const struct lb_metrics_http *h, const struct lb_ip *addr,
				uint16_t port);

/* Stop listening and close every connection (freed once their handles closed); NULL is a
 * no-op. */
void lb_metrics_http_stop(struct lb_metrics_http *h);

#endif /* LBD_METRICS_HTTP_H */
