// SPDX-License-Identifier: MIT
#include "sni.h"
#include "sni_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_addr.h"
#include "lb_fault.h"
#include "lb_log.h"
#include "lb_tls.h"
#include "lb_proxy_proto.h"

void lb_sni_unref(struct lb_sni *s)
{
	if (--s->refs || !s->dead)
		return;
	free(s->acc);
	free(s->conns);
	free(s->active);
	free(s);
}

static struct active *active_of(struct lb_sni *s, const char *proxy, const struct lb_ip *addr,
				uint16_t port, bool create)
{
	size_t i;

	for (i = 0; i < s->n_active; i++)
		if (lb_ip_eq(&s->active[i].addr, addr) && s->active[i].port == port &&
		    !strcmp(s->active[i].proxy, proxy))
			return &s->active[i];
	if (!create)
		return NULL;
	if (s->n_active == s->cap_active) {
		size_t cap = s->cap_active ? 2 * s->cap_active : 16;
		struct active *grown = realloc(s->active, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		s->active = grown;
		s->cap_active = cap;
	}
	memset(&s->active[s->n_active], 0, sizeof(s->active[0]));
	snprintf(s->active[s->n_active].proxy, LB_PROXY_NAME_MAX, "%s", proxy);
	s->active[s->n_active].addr = *addr;
	s->active[s->n_active].port = port;
	return &s->active[s->n_active++];
}

uint32_t lb_sni_active(const struct lb_sni *s, const char *proxy, const struct lb_ip *addr,
		       uint16_t port)
{
	struct active *x = active_of((struct lb_sni *)s, proxy, addr, port, false);

	return x ? x->n : 0;
}

void lb_sni_count_active(struct lb_sni *s, const char *proxy, const struct lb_ip *addr,
			 uint16_t port, int delta, bool routed)
{
	struct active *x = active_of(s, proxy, addr, port, delta > 0);

	if (!x)
		return;
	x->n += delta;
	if (routed)
		x->c.connections++;
}

struct lb_sni_target_counters lb_sni_target_counters(const struct lb_sni *s, const char *proxy,
						     const struct lb_ip *addr, uint16_t port)
{
	struct active *x = active_of((struct lb_sni *)s, proxy, addr, port, false);
	struct lb_sni_target_counters zero = {0};

	return x ? x->c : zero;
}

/* Close with a reset: the peer learns at once that this connection is over. */
void lb_sni_close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void conns_remove(struct lb_sni *s, struct conn *c)
{
	size_t i;

	for (i = 0; i < s->n_conns; i++)
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->n_conns];
			return;
		}
}

void lb_sni_splice_done(struct lb_splice *sp, const struct lb_splice_stats *st, void *arg)
{
	struct spliced *x = arg;
	struct active *a = active_of(x->s, x->proxy, &x->addr, x->port, false);

	(void)sp;
	if (a) {
		a->c.bytes_to_backend += st->bytes_to_backend;
		a->c.bytes_to_client += st->bytes_to_client;
	}
	lb_sni_count_active(x->s, x->proxy, &x->addr, x->port, -1, false);
	lb_sni_unref(x->s);
	free(x);
}

/* All handles of @c are closed: hand the sockets to the splicer, or drop them. */
static void conn_finish(struct conn *c)
{
	struct lb_sni *s = c->s;
	struct spliced *x = NULL;
	uint8_t *prefix = c->buf;
	size_t prefix_len = c->len;
	uint8_t pp2[PROXY_PROTO_V2_MAX + LB_HELLO_MAX];

	conns_remove(s, c);
	if (!c->failed && c->state == CONN_HANDOFF && !s->dead)
		x = calloc(1, sizeof(*x));
	if (!x) {
		lb_sni_close_reset(c->cfd);
		lb_sni_close_reset(c->bfd);
		if (c->state != CONN_HELLO || c->early)
			lb_sni_count_active(s, c->proxy, &c->tgt.addr, c->tgt.port, -1, false);
		goto out;
	}
	if (c->tgt.proxy_protocol == 2) {
		size_t n = lb_proxy_proto_v2(pp2, &c->caddr, c->cport, &c->laddr, c->lport);

		memcpy(pp2 + n, c->buf, c->len);
		prefix = pp2;
		prefix_len = n + c->len;
	}
	x->s = s;
	snprintf(x->proxy, sizeof(x->proxy), "%s", c->proxy);
	x->addr = c->tgt.addr;
	x->port = c->tgt.port;
	s->refs++;
	if (!lb_splice_start(s->splicer, c->cfd, c->bfd, prefix, prefix_len, lb_sni_splice_done,
			     x)) {
		/* lb_splice_start closed both sockets itself. */
		lb_sni_count_active(s, c->proxy, &c->tgt.addr, c->tgt.port, -1, false);
		s->refs--;
		free(x);
	}
out:
	free(c);
	lb_sni_unref(s);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->open_handles == 0)
		conn_finish(c);
}

/*
 * End the pending phase of @c: close its handles; once they are closed the sockets go to
 * the splicer (CONN_HANDOFF) or are reset (@failed).
 */
void lb_sni_conn_end(struct conn *c, bool failed)
{
	if (c->a) {
		c->a->pending--;
		c->a = NULL;
	}
	c->failed = failed;
	c->closing = true;
	/* Out of the set before the sockets go on (or close): only an error can fail that. */
	lb_sni_watch_set(c->s->watcher, &c->cw, 0);
	lb_sni_watch_set(c->s->watcher, &c->bw, 0);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

void lb_sni_on_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->a) {
		if (c->state == CONN_HELLO)
			c->a->c.hello_timeout++;
		else
			c->a->c.connect_failed++;
	}
	lb_sni_conn_end(c, true);
}

void lb_sni_on_backend_writable(struct lb_sni_watch *w, int status, int events)
{
	struct conn *c = w->data;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	/*
	 * A failed connect reports EPOLLERR (status < 0): only then does SO_ERROR say why. A
	 * writable socket without it is connected, no getsockopt() needed.
	 */
	if (status < 0 && (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &soerr, &len) || !soerr))
		soerr = EIO;
	if (status < 0) {
		char t[LB_TARGET_STR_MAX];

		lb_debug("sni %s: cannot connect to %s: %s", c->proxy,
			 lb_format_target(&c->tgt.addr, c->tgt.port, t), strerror(soerr));
		if (c->a)
			c->a->c.connect_failed++;
		lb_sni_conn_end(c, true);
		return;
	}
	if (c->state == CONN_HELLO) {
		/* An early connect is up: wait for the rest of the hello, without the socket. */
		c->early_connected = true;
		lb_sni_watch_set(c->s->watcher, &c->bw, 0);
		return;
	}
	c->state = CONN_HANDOFF;
	lb_sni_conn_end(c, false);
}

/*
 * Open lbd's connection to the chosen c->tgt and watch it: 0 (counted active), or -1
 * (counted as a failed connect, not active; c->bfd is closed with @c).
 */
static int conn_connect(struct conn *c)
{
	struct sockaddr_storage sa;
	/* The target's family, whatever the client's: this side is lbd's own connection. */
	socklen_t salen = lb_sockaddr_of(&c->tgt.addr, c->tgt.port, &sa);
	struct lb_sni *s = c->s;

	c->bfd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* No Nagle, as on the client's side (lb_sni_listener_opts()); best effort. */
	if (c->bfd >= 0)
		setsockopt(c->bfd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	if (c->bfd < 0 ||
	    (connect(c->bfd, (struct sockaddr *)&sa, salen) && errno != EINPROGRESS)) {
		c->a->c.connect_failed++;
		return -1;
	}
	lb_sni_watch_init(&c->bw, c->bfd, lb_sni_on_backend_writable, c);
	if (lb_sni_watch_set(s->watcher, &c->bw, EPOLLOUT)) {
		c->a->c.connect_failed++;
		return -1;
	}
	/* Open towards the target from here on, until the splice (or a failure) ends. */
	lb_sni_count_active(s, c->proxy, &c->tgt.addr, c->tgt.port, +1, false);
	return 0;
}

void lb_sni_drop_early(struct conn *c)
{
	if (!c->early)
		return;
	lb_sni_watch_set(c->s->watcher, &c->bw, 0);
	lb_sni_close_reset(c->bfd);
	c->bfd = -1;
	lb_sni_count_active(c->s, c->proxy, &c->tgt.addr, c->tgt.port, -1, false);
	c->early = false;
	c->early_connected = false;
}

/*
 * The first bytes of the ClientHello already name the host (lb_tls_peek_sni()): choose and
 * start connecting while the rest arrives. The complete hello confirms it (conn_route()).
 */
static void conn_connect_early(struct conn *c, const char *name)
{
	struct lb_sni *s = c->s;

	if (s->choose(s->ctx, c->proxy, name, &c->caddr, c->cport, &c->laddr, c->lport, &c->tgt))
		return; /* the complete hello gets the verdict */
	snprintf(c->early_name, sizeof(c->early_name), "%s", name);
	c->a->c.early_connects++;
	if (conn_connect(c)) {
		lb_sni_conn_end(c, true);
		return;
	}
	c->early = true;
}

/* The ClientHello is in (or will never be): choose, then connect to the target. */
static void conn_route(struct conn *c, const char *name)
{
	struct lb_sni *s = c->s;

	/* The client's next bytes wait in its socket for the splice. */
	lb_sni_watch_set(s->watcher, &c->cw, 0);
	if (c->early && name && !strcmp(name, c->early_name)) {
		/* Connecting (or connected) to the target this name chose already. */
		c->early = false;
		c->a->c.routed_sni++;
		lb_sni_count_active(s, c->proxy, &c->tgt.addr, c->tgt.port, 0, true);
		if (c->early_connected) {
			c->state = CONN_HANDOFF;
			lb_sni_conn_end(c, false);
			return;
		}
		c->state = CONN_CONNECTING;
		uv_timer_start(&c->timer, lb_sni_on_timeout, CONNECT_TIMEOUT_MS, 0);
		return;
	}
	/* The whole hello says otherwise (or nothing): that connect was not this one's. */
	lb_sni_drop_early(c);
	if (s->choose(s->ctx, c->proxy, name, &c->caddr, c->cport, &c->laddr, c->lport, &c->tgt)) {
		c->a->c.no_target++;
		lb_sni_conn_end(c, true);
		return;
	}
	if (name)
		c->a->c.routed_sni++;
	else
		c->a->c.routed_default++;
	if (conn_connect(c)) {
		lb_sni_conn_end(c, true);
		return;
	}
	c->state = CONN_CONNECTING;
	lb_sni_count_active(s, c->proxy, &c->tgt.addr, c->tgt.port, 0, true);
	uv_timer_start(&c->timer, lb_sni_on_timeout, CONNECT_TIMEOUT_MS, 0);
}

/*
 * Read what the client sent of its ClientHello; route once it is complete (or cannot be).
 * 1: routed or ended; 0: the hello is not (all) there yet, wait for the socket.
 */
static int conn_read_hello(struct conn *c)
{
	char name[LB_SNI_NAME_LEN + 1];
	enum lb_hello_result r;
	ssize_t n;

	n = recv(c->cfd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* The client left before its ClientHello was complete. */
		lb_sni_conn_end(c, true);
		return 1;
	}
	if (n < 0)
		return 0;
	c->len += n;
	r = lb_tls_parse_hello(c->buf, c->len, name);
	if (r == LB_HELLO_NEED_MORE && c->len < sizeof(c->buf)) {
		if (!c->early && lb_tls_peek_sni(c->buf, c->len, name))
			conn_connect_early(c, name);
		return c->closing;
	}
	lb_debug("sni %s: %s %s", c->proxy, lb_hello_result_name(r), r == LB_HELLO_SNI ? name : "");
	conn_route(c, r == LB_HELLO_SNI ? name : NULL);
	return 1;
}

void lb_sni_on_client_readable(struct lb_sni_watch *w, int status, int events)
{
	struct conn *c = w->data;

	if (status < 0) {
		lb_sni_conn_end(c, true);
		return;
	}
	conn_read_hello(c);
}

/* @peer: the client's address, as accept4() gave it. */
static void accept_one(struct acceptor *a, int fd, const struct sockaddr_storage *peer)
{
	struct lb_sni *s = a->s;
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct lb_ip caddr, laddr;
	uint16_t cport;
	struct conn *c;

	a->c.accepted++;
	if (a->pending >= a->max_pending) {
		a->c.rejected_overload++;
		lb_sni_close_reset(fd);
		return;
	}
	/* A dual-stack socket reports an IPv4 client IPv4-mapped: the same struct lb_ip. */
	if (getsockname(fd, (struct sockaddr *)&local, &llen) ||
	    lb_ip_of_sockaddr((const struct sockaddr *)peer, &caddr, &cport) ||
	    lb_ip_of_sockaddr((struct sockaddr *)&local, &laddr, NULL)) {
		lb_sni_close_reset(fd);
		return;
	}
	if (s->n_conns == s->cap_conns) {
		size_t cap = s->cap_conns ? 2 * s->cap_conns : 64;
		struct conn **grown = realloc(s->conns, cap * sizeof(*grown));

		if (!grown) {
			lb_sni_close_reset(fd);
			return;
		}
		s->conns = grown;
		s->cap_conns = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		lb_sni_close_reset(fd);
		return;
	}
	s->refs++;
	s->conns[s->n_conns++] = c;
	c->s = s;
	c->a = a;
	snprintf(c->proxy, sizeof(c->proxy), "%s", a->proxy);
	c->cfd = fd;
	c->bfd = -1;
	c->caddr = caddr;
	c->cport = cport;
	c->laddr = laddr;
	c->lport = a->listen_port; /* the client connected to the proxy's port (DNAT'd here) */
	a->pending++;
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 1;
	lb_sni_watch_init(&c->cw, fd, lb_sni_on_client_readable, c);
	lb_sni_watch_init(&c->bw, -1, lb_sni_on_backend_writable, c);
	uv_timer_start(&c->timer, lb_sni_on_timeout, a->hello_timeout_ms, 0);
	/*
	 * The listener defers accepting until the client's first bytes are in (open_listener()),
	 * so the ClientHello is nearly always here already: read it now, without a trip through
	 * the epoll set. A hello still on its way (split across segments, or a client that sent
	 * nothing before the defer ran out) waits for the socket as before.
	 */
	if (conn_read_hello(c))
		return;
	if (lb_sni_watch_set(s->watcher, &c->cw, EPOLLIN))
		lb_sni_conn_end(c, true);
}

void lb_sni_on_acceptable(uv_poll_t *p, int status, int events)
{
	struct acceptor *a = p->data;
	struct sockaddr_storage peer;
	socklen_t plen;
	int i, fd;

	if (status < 0)
		return;
	for (i = 0; i < ACCEPT_BURST; i++) {
		/* The peer's address comes with the accept: no getpeername() per connection. */
		plen = sizeof(peer);
		fd = accept4(a->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break; /* EAGAIN, or a transient error: the next readiness retries */
		accept_one(a, fd, &peer);
	}
}

struct lb_sni *lb_sni_new(uv_loop_t *loop, struct lb_splicer *splicer, lb_sni_choose_fn choose,
			  void *ctx)
{
	struct lb_sni *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	/* The splicer's epoll set: a socket changes hands without leaving one set for another. */
	s->watcher = lb_splicer_watcher(splicer);
	s->refs = 1; /* dropped by lb_sni_free() */
	s->loop = loop;
	s->splicer = splicer;
	s->choose = choose;
	s->ctx = ctx;
	return s;
}

struct acceptor *lb_sni_find_acceptor(const struct lb_sni *s, const char *proxy)
{
	size_t i;

	for (i = 0; i < s->n_acc; i++)
		if (!strcmp(s->acc[i]->proxy, proxy))
			return s->acc[i];
	return NULL;
}

uint16_t lb_sni_port(const struct lb_sni *s, const char *proxy)
{
	const struct acceptor *a = lb_sni_find_acceptor(s, proxy);

	return a ? a->port : 0;
}

/*
 * Options every accepted connection inherits from the listener, so that none costs a
 * syscall per connection: TCP_NODELAY (the splice forwards what a peer wrote a moment ago,
 * already sized by it; a partial TLS flight held for an ACK would stall the handshake), and
 * TCP_DEFER_ACCEPT: accept4() returns a connection once its first bytes (the ClientHello)
 * are in, so accept_one() reads the hello at once. A client that sends nothing is accepted
 * all the same after the defer (one SYN-ACK retransmission, about a second) and then has
 * the hello timeout. Best effort: without them the acceptor works, with more syscalls.
 */
void lb_sni_listener_opts(int fd)
{
	int one = 1, defer_s = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
}

/*
 * A listening socket on every local address, of both families (the datapath sends IPv4 and
 * IPv6 clients to the same port), and a port the kernel picks; IPv4 only on a kernel
 * without IPv6.
 */
static int open_listener(uint16_t *port)
{
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in sa4 = {.sin_family = AF_INET};
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, zero = 0;
	bool v6 = fd >= 0;

	if (!v6)
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	lb_sni_listener_opts(fd);
	if ((v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero))) ||
	    bind(fd, v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa4,
		 v6 ? sizeof(sa6) : sizeof(sa4)) ||
	    listen(fd, 4096) || getsockname(fd, (struct sockaddr *)&got, &len) ||
	    lb_ip_of_sockaddr((struct sockaddr *)&got, &(struct lb_ip){{0}}, port)) {
		int e = errno ? -errno : -EAFNOSUPPORT;

		close(fd);
		return e;
	}
	return fd;
}

static void acceptor_closed(uv_handle_t *h)
{
	struct acceptor *a = h->data;
	struct lb_sni *s = a->s;

	close(a->fd);
	free(a);
	lb_sni_unref(s);
}

void lb_sni_set_listener_hook(struct lb_sni *s, lb_sni_listener_fn fn, void *ctx)
{
	s->listener_hook = fn;
	s->listener_ctx = ctx;
}

void lb_sni_acceptor_free(struct lb_sni *s, struct acceptor *a)
{
	size_t i;

	if (a->announced && s->listener_hook)
		s->listener_hook(s->listener_ctx, a->proxy, -1);

	/* Pending connections of this acceptor are dropped; spliced ones are not its. */
	for (i = s->n_conns; i > 0; i--)
		if (s->conns[i - 1]->a == a)
			lb_sni_conn_end(s->conns[i - 1], true);
	uv_close((uv_handle_t *)&a->poll, acceptor_closed);
}

int lb_sni_prepare(struct lb_sni *s, const struct lb_config *cfg, char *err, size_t errlen)
{
	size_t p;
	int fd, ret;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];
		struct acceptor *a, **grown;

		if (!pc->n_sni_routes || lb_sni_find_acceptor(s, pc->name))
			continue;
		grown = realloc(s->acc, (s->n_acc + 1) * sizeof(*grown));
		if (grown)
			s->acc = grown;
		a = grown ? calloc(1, sizeof(*a)) : NULL;
		if (!a) {
			ret = lb_errf(err, errlen, -ENOMEM, "out of memory");
			goto undo;
		}
		fd = open_listener(&a->port);
		if (fd < 0) {
			free(a);
			ret = lb_errf(err, errlen, fd,
				      "proxy \"%s\": cannot open the SNI acceptor: %s", pc->name,
				      strerror(-fd));
			goto undo;
		}
		a->fd = fd;
		a->s = s;
		a->fresh = true;
		s->refs++;
		snprintf(a->proxy, sizeof(a->proxy), "%s", pc->name);
		/* Until the change commits, with the settings it asks for: nothing points here. */
		a->listen_port = pc->port;
		a->hello_timeout_ms = cfg->settings.sni_hello_timeout_ms;
		a->max_pending = cfg->settings.sni_max_pending;
		uv_poll_init(s->loop, &a->poll, fd);
		a->poll.data = a;
		uv_poll_start(&a->poll, UV_READABLE, lb_sni_on_acceptable);
		s->acc[s->n_acc++] = a;
	}
	ret = lb_fault("sni", err, errlen);
	if (!ret)
		return 0;
undo:
	lb_sni_abort(s);
	return ret;
}

void lb_sni_abort(struct lb_sni *s)
{
	size_t i = 0;

	while (i < s->n_acc) {
		if (!s->acc[i]->fresh) {
			i++;
			continue;
		}
		lb_sni_acceptor_free(s, s->acc[i]);
		s->acc[i] = s->acc[--s->n_acc];
	}
}

void lb_sni_commit(struct lb_sni *s, const struct lb_config *cfg)
{
	size_t i, p;

	for (i = 0; i < s->n_acc; i++)
		s->acc[i]->seen = false;
	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];
		struct acceptor *a = pc->n_sni_routes ? lb_sni_find_acceptor(s, pc->name) : NULL;

		if (!a)
			continue;
		if (a->fresh)
			lb_info("sni %s: acceptor on port %u (%s splicing)", pc->name, a->port,
				lb_splicer_kind(s->splicer));
		if (a->adopted) {
			lb_info("sni %s: acceptor on port %u taken over (%s splicing)", pc->name,
				a->port, lb_splicer_kind(s->splicer));
			uv_poll_start(&a->poll, UV_READABLE, lb_sni_on_acceptable);
		}
		if (!a->announced && s->listener_hook)
			s->listener_hook(s->listener_ctx, a->proxy, a->fd);
		a->announced = true;
		a->fresh = false;
		a->adopted = false;
		a->listen_port = pc->port;
		a->hello_timeout_ms = cfg->settings.sni_hello_timeout_ms;
		a->max_pending = cfg->settings.sni_max_pending;
		a->seen = true;
	}
	/* Proxies that lost their SNI routes: the acceptor goes, its spliced connections not. */
	for (i = 0; i < s->n_acc;) {
		if (s->acc[i]->seen) {
			i++;
			continue;
		}
		lb_sni_acceptor_free(s, s->acc[i]);
		s->acc[i] = s->acc[--s->n_acc];
	}
}

json_t *lb_sni_stats_json(const struct lb_sni *s, const char *proxy)
{
	const struct acceptor *a = lb_sni_find_acceptor(s, proxy);
	json_int_t spliced = 0;
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < s->n_active; i++)
		if (!strcmp(s->active[i].proxy, proxy))
			spliced += s->active[i].n;
	return json_pack(
		"{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "port",
		a->port, "hello-timeout-ms", (json_int_t)a->hello_timeout_ms, "max-pending",
		(json_int_t)a->max_pending, "pending", (json_int_t)a->pending, "connections",
		spliced, "accepted", (json_int_t)a->c.accepted, "rejected-overload",
		(json_int_t)a->c.rejected_overload, "hello-timeout", (json_int_t)a->c.hello_timeout,
		"no-target", (json_int_t)a->c.no_target, "connect-failed",
		(json_int_t)a->c.connect_failed, "routed-by-sni", (json_int_t)a->c.routed_sni,
		"routed-default", (json_int_t)a->c.routed_default, "early-connects",
		(json_int_t)a->c.early_connects, "splice", lb_splicer_kind(s->splicer));
}

void lb_sni_free(struct lb_sni *s)
{
	size_t i;

	if (!s)
		return;
	s->dead = true;
	s->refs++; /* held while tearing down */
	for (i = 0; i < s->n_acc; i++)
		lb_sni_acceptor_free(s, s->acc[i]);
	s->n_acc = 0;
	lb_sni_unref(s); /* the one lb_sni_new() took */
	lb_sni_unref(s);
}
