// SPDX-License-Identifier: MIT
/*
 * sni_handover.c - the SNI acceptor handed from one lbd to the next (sni.h, "Hand-over"):
 * its listening sockets (the datapath sends new connections to their ports, which must
 * not change), the connections still waiting for a ClientHello or for their backend, and
 * the spliced pairs with who they belong to.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lb_addr.h"
#include "lb_log.h"
#include "sni_priv.h"

#define CONNECT_TIMEOUT_MS 5000 /* as sni.c: a connection handed over connecting starts anew */

void lb_sni_freeze(struct lb_sni *s)
{
	size_t i;

	for (i = 0; i < s->n_acc; i++)
		uv_poll_stop(&s->acc[i]->poll);
	for (i = 0; i < s->n_conns; i++) {
		struct conn *c = s->conns[i];

		if (c->closing)
			continue;
		lb_sni_watch_set(s->watcher, &c->cw, 0);
		lb_sni_watch_set(s->watcher, &c->bw, 0);
		/* Handed over (or resumed) waiting for its hello, it connects once that is in. */
		lb_sni_drop_early(c);
		uv_timer_stop(&c->timer);
	}
	lb_splicer_freeze(s->splicer);
}

bool lb_sni_settling(const struct lb_sni *s)
{
	size_t i;

	for (i = 0; i < s->n_conns; i++)
		if (s->conns[i]->closing)
			return true;
	return false;
}

/* Watch @c again as its state asks; a connection's whole timeout starts anew. */
static void conn_watch(struct conn *c, uint32_t hello_timeout_ms)
{
	bool hello = c->state == CONN_HELLO;

	if (lb_sni_watch_set(c->s->watcher, hello ? &c->cw : &c->bw, hello ? EPOLLIN : EPOLLOUT)) {
		lb_sni_conn_end(c, true);
		return;
	}
	uv_timer_start(&c->timer, lb_sni_on_timeout, hello ? hello_timeout_ms : CONNECT_TIMEOUT_MS,
		       0);
}

void lb_sni_thaw(struct lb_sni *s)
{
	size_t i;

	for (i = 0; i < s->n_acc; i++)
		if (!s->acc[i]->fresh && !s->acc[i]->adopted)
			uv_poll_start(&s->acc[i]->poll, UV_READABLE, lb_sni_on_acceptable);
	for (i = 0; i < s->n_conns; i++)
		if (!s->conns[i]->closing)
			conn_watch(s->conns[i], s->conns[i]->a ? s->conns[i]->a->hello_timeout_ms
							       : CONNECT_TIMEOUT_MS);
	lb_splicer_thaw(s->splicer);
}

struct export_ctx {
	lb_splice_emit_fn emit;
	void *ctx;
};

/* A pair's record gets its owner: the proxy and the target it was routed to. */
static int emit_pair(void *arg, struct lb_fdrec *r, void *pair_arg)
{
	struct export_ctx *x = arg;
	struct spliced *sp = pair_arg;
	char a[LB_ADDR_STR_MAX];

	if (sp && json_object_set_new(r->meta, "owner",
				      json_pack("{s:s, s:s, s:i}", "proxy", sp->proxy, "addr",
						lb_format_ip(&sp->addr, a), "port", sp->port)))
		return -ENOMEM;
	return x->emit(x->ctx, r, NULL);
}

static int export_conn(const struct conn *c, lb_splice_emit_fn emit, void *ctx)
{
	char ca[LB_ADDR_STR_MAX], la[LB_ADDR_STR_MAX], ta[LB_ADDR_STR_MAX];
	struct lb_fdrec r = {0};
	int ret;

	r.meta = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:i, s:i}", "kind", "sni-conn",
			   "proxy", c->proxy, "state",
			   c->state == CONN_HELLO ? "hello" : "connecting", "client-addr",
			   lb_format_ip(&c->caddr, ca), "client-port", c->cport, "local-addr",
			   lb_format_ip(&c->laddr, la), "local-port", c->lport, "target-addr",
			   lb_format_ip(&c->tgt.addr, ta), "target-port", c->tgt.port,
			   "proxy-protocol", c->tgt.proxy_protocol);
	r.blob = malloc(c->len ? c->len : 1);
	if (!r.meta || !r.blob) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(r.blob, c->buf, c->len);
	r.blob_len = c->len;
	r.fds[r.n_fds++] = c->cfd;
	if (c->state == CONN_CONNECTING)
		r.fds[r.n_fds++] = c->bfd;
	ret = emit(ctx, &r, NULL);
out:
	r.n_fds = 0;
	lb_fdrec_release(&r);
	return ret;
}

int lb_sni_export(struct lb_sni *s, lb_splice_emit_fn emit, void *ctx)
{
	struct export_ctx x = {emit, ctx};
	size_t i;
	int ret = 0;

	for (i = 0; i < s->n_acc && !ret; i++) {
		const struct acceptor *a = s->acc[i];
		struct lb_fdrec r = {.fds = {a->fd}, .n_fds = 1};

		if (a->fresh)
			continue; /* a change in progress: not the running state */
		r.meta = json_pack("{s:s, s:s, s:i}", "kind", "sni-acceptor", "proxy", a->proxy,
				   "port", a->port);
		ret = r.meta ? emit(ctx, &r, NULL) : -ENOMEM;
		r.n_fds = 0;
		lb_fdrec_release(&r);
	}
	if (!ret)
		ret = lb_splicer_export(s->splicer, emit_pair, &x);
	for (i = 0; i < s->n_conns && !ret; i++)
		if (!s->conns[i]->closing)
			ret = export_conn(s->conns[i], emit, ctx);
	return ret;
}

void lb_sni_forget(struct lb_sni *s)
{
	size_t i;

	if (!s)
		return;
	s->listener_hook = NULL; /* the listeners live on in the next lbd */
	/* Pending connections end here without a word to their peers: the next lbd has them. */
	for (i = s->n_conns; i > 0; i--) {
		struct conn *c = s->conns[i - 1];

		if (c->closing)
			continue;
		lb_sni_conn_end(c, true);
		close(c->cfd);
		c->cfd = -1;
		if (c->bfd >= 0)
			close(c->bfd);
		c->bfd = -1;
	}
	/* lb_sni_free() closes the listening sockets: plain close()s, the next lbd's stay. */
	lb_sni_free(s);
}

int lb_sni_adopt_acceptor(struct lb_sni *s, struct lb_fdrec *r, char *err, size_t errlen)
{
	const char *proxy = json_string_value(json_object_get(r->meta, "proxy"));
	json_int_t port = json_integer_value(json_object_get(r->meta, "port"));
	struct acceptor *a, **grown;

	if (!proxy || strlen(proxy) >= LB_PROXY_NAME_MAX || port <= 0 || port > 65535 ||
	    r->n_fds != 1)
		return lb_errf(err, errlen, -EPROTO,
			       "the previous lbd's acceptor record is malformed");
	if (lb_sni_find_acceptor(s, proxy))
		return lb_errf(err, errlen, -EEXIST, "proxy \"%s\": two acceptors handed over",
			       proxy);
	grown = realloc(s->acc, (s->n_acc + 1) * sizeof(*grown));
	if (!grown)
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	s->acc = grown;
	a = calloc(1, sizeof(*a));
	if (!a)
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	a->fd = lb_fdrec_take_fd(r, 0);
	lb_sni_listener_opts(a->fd); /* an older lbd may not have set them */
	a->s = s;
	a->adopted = true;
	a->port = (uint16_t)port;
	snprintf(a->proxy, sizeof(a->proxy), "%s", proxy);
	s->refs++;
	uv_poll_init(s->loop, &a->poll, a->fd);
	a->poll.data = a;
	s->acc[s->n_acc++] = a;
	return 0;
}

/* The address at @key of @o (written by lb_format_ip()): 0, or -EPROTO (then ::). */
static int ip_of(json_t *o, const char *key, struct lb_ip *out)
{
	if (lb_parse_ip(json_string_value(json_object_get(o, key)), out, NULL, 0)) {
		memset(out, 0, sizeof(*out));
		return -EPROTO;
	}
	return 0;
}

static int import_conn(struct lb_sni *s, struct lb_fdrec *r)
{
	const char *proxy = json_string_value(json_object_get(r->meta, "proxy"));
	const char *state = json_string_value(json_object_get(r->meta, "state"));
	struct acceptor *a = proxy ? lb_sni_find_acceptor(s, proxy) : NULL;
	bool connecting = state && !strcmp(state, "connecting");
	struct conn *c, **grown;

	if (!a || r->blob_len > LB_HELLO_MAX || r->n_fds != (connecting ? 2u : 1u))
		return -EPROTO;
	if (s->n_conns == s->cap_conns) {
		size_t cap = s->cap_conns ? 2 * s->cap_conns : 64;

		grown = realloc(s->conns, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->conns = grown;
		s->cap_conns = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	s->refs++;
	s->conns[s->n_conns++] = c;
	c->s = s;
	c->a = a;
	snprintf(c->proxy, sizeof(c->proxy), "%s", proxy);
	c->state = connecting ? CONN_CONNECTING : CONN_HELLO;
	ip_of(r->meta, "client-addr", &c->caddr);
	c->cport = (uint16_t)json_integer_value(json_object_get(r->meta, "client-port"));
	ip_of(r->meta, "local-addr", &c->laddr);
	c->lport = (uint16_t)json_integer_value(json_object_get(r->meta, "local-port"));
	ip_of(r->meta, "target-addr", &c->tgt.addr);
	c->tgt.port = (uint16_t)json_integer_value(json_object_get(r->meta, "target-port"));
	c->tgt.proxy_protocol =
		(uint8_t)json_integer_value(json_object_get(r->meta, "proxy-protocol"));
	memcpy(c->buf, r->blob, r->blob_len);
	c->len = r->blob_len;
	c->cfd = lb_fdrec_take_fd(r, 0);
	c->bfd = connecting ? lb_fdrec_take_fd(r, 1) : -1;
	a->pending++;
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 1;
	lb_sni_watch_init(&c->cw, c->cfd, lb_sni_on_client_readable, c);
	lb_sni_watch_init(&c->bw, c->bfd, lb_sni_on_backend_writable, c);
	if (connecting)
		lb_sni_count_active(s, c->proxy, &c->tgt.addr, c->tgt.port, +1, false);
	conn_watch(c, a->hello_timeout_ms);
	return 0;
}

static int import_pair(struct lb_sni *s, struct lb_fdrec *r)
{
	json_t *owner = json_object_get(r->meta, "owner");
	const char *proxy = json_string_value(json_object_get(owner, "proxy"));
	struct spliced *x;

	if (!proxy || strlen(proxy) >= LB_PROXY_NAME_MAX)
		return -EPROTO;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->s = s;
	snprintf(x->proxy, sizeof(x->proxy), "%s", proxy);
	if (ip_of(owner, "addr", &x->addr)) {
		free(x);
		return -EPROTO;
	}
	x->port = (uint16_t)json_integer_value(json_object_get(owner, "port"));
	s->refs++;
	lb_sni_count_active(s, x->proxy, &x->addr, x->port, +1, false);
	if (!lb_splice_import(s->splicer, r, lb_sni_splice_done, x)) {
		int ret = -errno;

		lb_sni_count_active(s, x->proxy, &x->addr, x->port, -1, false);
		s->refs--;
		free(x);
		return ret;
	}
	return 0;
}

int lb_sni_import(struct lb_sni *s, struct lb_fdrec *r)
{
	const char *kind = json_string_value(json_object_get(r->meta, "kind"));
	int ret = -EPROTO;

	if (kind && !strcmp(kind, "splice"))
		ret = import_pair(s, r);
	else if (kind && !strcmp(kind, "sni-conn"))
		ret = import_conn(s, r);
	if (ret) {
		/* Not taken: its peers learn at once rather than hang. */
		size_t i;

		for (i = 0; i < r->n_fds; i++)
			if (r->fds[i] >= 0)
				lb_sni_close_reset(lb_fdrec_take_fd(r, i));
	}
	return ret;
}
