// SPDX-License-Identifier: MIT
/* The /metrics HTTP listener (see metrics_http.h). */
#include "metrics_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"
#include "metrics.h"

struct conn;

struct lb_metrics_http {
	uv_tcp_t listener;
	struct lb_ip addr;
	uint16_t port;
	lb_metrics_render_fn render;
	void *ctx;
	struct conn *conns;
	size_t n_conns;
	int refs; /* the listener and every connection not freed yet */
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t write;
	uv_shutdown_t shutdown;
	struct lb_metrics_http *srv;
	struct conn *next, **pprev;
	int handles; /* open libuv handles: freed when it drops to 0 */
	bool closing;
	char *answer;
	size_t len;
	char req[LB_METRICS_HTTP_REQ_MAX + 1];
};

static void unref(struct lb_metrics_http *h)
{
	if (--h->refs == 0)
		free(h);
}

static void on_conn_closed(uv_handle_t *handle)
{
	struct conn *c = handle->data;

	if (--c->handles)
		return;
	free(c->answer);
	unref(c->srv);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->srv->n_conns--;
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	conn_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;

	/* Half-close and wait for the peer's FIN: closing now could reset unread data. */
	if (status || c->closing || uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown))
		conn_close(c);
}

static void answer(struct conn *c, int code, const char *reason, const char *extra,
		   const char *type, const char *body, size_t body_len)
{
	uv_buf_t buf;
	FILE *m;

	uv_read_stop((uv_stream_t *)&c->tcp);
	m = open_memstream(&c->answer, &c->len);
	if (!m) {
		conn_close(c);
		return;
	}
	fprintf(m,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
		"close\r\n\r\n",
		code, reason, type, body_len, extra);
	fwrite(body, 1, body_len, m);
	if (fclose(m)) {
		conn_close(c);
		return;
	}
	buf = uv_buf_init(c->answer, (unsigned int)c->len);
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written))
		conn_close(c);
}

static void answer_text(struct conn *c, int code, const char *reason, const char *extra,
			const char *text)
{
	answer(c, code, reason, extra, "text/plain; charset=utf-8", text, strlen(text));
}

/* The request line of a complete request in c->req. */
static void handle_request(struct conn *c)
{
	char method[16], target[LB_METRICS_HTTP_REQ_MAX], version[16];
	size_t path_len;
	char *body;
	size_t len = 0;

	if (sscanf(c->req, "%15s %4095s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		answer_text(c, 400, "Bad Request", "", "not an HTTP/1 request\n");
		return;
	}
	path_len = strcspn(target, "?");
	if (path_len != strlen("/metrics") || strncmp(target, "/metrics", path_len)) {
		answer_text(c, 404, "Not Found", "", "not found: lbd serves /metrics only\n");
		return;
	}
	if (strcmp(method, "GET")) {
		answer_text(c, 405, "Method Not Allowed", "Allow: GET\r\n", "use GET\n");
		return;
	}
	body = c->srv->render(c->srv->ctx, &len);
	if (!body) {
		answer_text(c, 500, "Internal Server Error", "",
			    "cannot read the counters; lbd's log says why\n");
		return;
	}
	answer(c, 200, "OK", "", LB_METRICS_CONTENT_TYPE, body, len);
	free(body);
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
	struct conn *c = handle->data;
	size_t used = strlen(c->req);

	*buf = uv_buf_init(c->req + used, (unsigned int)(LB_METRICS_HTTP_REQ_MAX - used));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	size_t used;

	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	buf->base[nread] = '\0';
	/* A NUL inside the request ends the text early: such a request is not HTTP anyway. */
	if (memchr(buf->base, '\0', (size_t)nread)) {
		answer_text(c, 400, "Bad Request", "", "not an HTTP/1 request\n");
		return;
	}
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		handle_request(c);
		return;
	}
	used = strlen(c->req);
	if (used >= LB_METRICS_HTTP_REQ_MAX)
		answer_text(c, 431, "Request Header Fields Too Large", "",
			    "request headers too large\n");
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct lb_metrics_http *h = server->data;
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = h;
	h->refs++;
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->handles = 2;
	c->tcp.data = c->timer.data = c->write.data = c->shutdown.data = c;
	c->next = h->conns;
	c->pprev = &h->conns;
	if (h->conns)
		h->conns->pprev = &c->next;
	h->conns = c;
	h->n_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) || h->n_conns > LB_METRICS_HTTP_CONN_MAX ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, LB_METRICS_HTTP_TIMEOUT_MS, 0);
}

static void on_listener_closed(uv_handle_t *handle)
{
	unref(handle->data);
}

struct lb_metrics_http *lb_metrics_http_start(uv_loop_t *loop, const struct lb_ip *addr,
					      uint16_t port, lb_metrics_render_fn render, void *ctx,
					      char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	struct lb_metrics_http *h = calloc(1, sizeof(*h));
	char where[LB_TARGET_STR_MAX];
	int ret;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	lb_sockaddr_of(addr, port, &sa);
	h->addr = *addr;
	h->port = port;
	h->render = render;
	h->ctx = ctx;
	h->refs = 1;
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	/* libuv reports a taken address from bind or, deferred, from listen. */
	ret = uv_tcp_bind(&h->listener, (const struct sockaddr *)&sa, 0);
	if (!ret)
		ret = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
	if (ret) {
		snprintf(err, errlen, "cannot listen on %s for metrics: %s",
			 lb_format_target(addr, port, where), uv_strerror(ret));
		uv_close((uv_handle_t *)&h->listener, on_listener_closed);
		errno = -ret;
		return NULL;
	}
	return h;
}

bool lb_metrics_http_listens_on(const struct lb_metrics_http *h, const struct lb_ip *addr,
				uint16_t port)
{
	return h && lb_ip_eq(&h->addr, addr) && h->port == port;
}

void lb_metrics_http_stop(struct lb_metrics_http *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_close(h->conns);
	uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
