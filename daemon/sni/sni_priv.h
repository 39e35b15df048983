/* SPDX-License-Identifier: MIT */
/*
 * sni_priv.h - the SNI acceptor's state, shared by sni.c (accepting, routing, handing
 * connections to the splicer) and sni_handover.c (passing all of it to the next lbd).
 */
#ifndef LBD_SNI_PRIV_H
#define LBD_SNI_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lb_tls.h"
#include "sni.h"
#include "sni_watch.h"

#define ACCEPT_BURST	   64	/* accepts per loop iteration: keeps the loop fair */
#define CONNECT_TIMEOUT_MS 5000 /* to the chosen target */

/* Open connections per (proxy, target): drains and status read them. */
struct active {
	char proxy[LB_PROXY_NAME_MAX];
	struct lb_ip addr;
	uint16_t port;
	uint32_t n;			 /* open now */
	struct lb_sni_target_counters c; /* since lbd started */
};

struct counters {
	uint64_t accepted, rejected_overload, hello_timeout, no_target, connect_failed;
	uint64_t routed_sni, routed_default;
	uint64_t early_connects; /* connects started before the ClientHello was complete */
};

struct acceptor {
	struct lb_sni *s;
	char proxy[LB_PROXY_NAME_MAX];
	uint16_t listen_port; /* the proxy's own port: what the client connected to */
	uint32_t hello_timeout_ms, max_pending;
	int fd;
	uint16_t port;
	uv_poll_t poll;
	size_t pending;
	struct counters c;
	bool seen;
	bool fresh;	/* opened by a change that has not committed yet */
	bool adopted;	/* handed over by the previous lbd: polled from the first commit on */
	bool announced; /* told the listener hook it listens */
};

enum conn_state { CONN_HELLO, CONN_CONNECTING, CONN_HANDOFF };

struct conn {
	struct lb_sni *s;
	struct acceptor *a; /* NULL once its acceptor was removed */
	char proxy[LB_PROXY_NAME_MAX];
	enum conn_state state;
	int cfd, bfd;
	struct lb_sni_watch cw, bw; /* the client's, the backend's (sni_watch.h) */
	uv_timer_t timer;
	int open_handles; /* the timer: the memory goes once it closed */
	bool failed;
	bool closing; /* conn_end() ran: its handles are closing */
	/*
	 * The hello's first bytes named early_name: bfd connects (early_connected: is
	 * connected) to the target it chose while the rest of the hello arrives.
	 */
	bool early, early_connected;
	char early_name[LB_SNI_NAME_LEN + 1];
	struct lb_ip caddr, laddr;
	uint16_t cport, lport;
	struct lb_sni_choice tgt;
	size_t len;
	uint8_t buf[LB_HELLO_MAX];
};

struct spliced {
	struct lb_sni *s;
	char proxy[LB_PROXY_NAME_MAX];
	struct lb_ip addr;
	uint16_t port;
};

struct lb_sni {
	uv_loop_t *loop;
	struct lb_splicer *splicer;
	lb_sni_listener_fn listener_hook;
	void *listener_ctx;
	lb_sni_choose_fn choose;
	void *ctx;
	size_t n_acc;
	struct acceptor **acc;
	size_t n_active, cap_active;
	struct active *active;
	size_t n_conns, cap_conns;
	struct conn **conns;		/* pending connections, for teardown */
	struct lb_sni_watcher *watcher; /* their sockets' readiness: the splicer's set */
	/*
	 * Closing acceptors, pending connections and spliced pairs each hold a reference:
	 * their callbacks may run after lb_sni_free(), which only marks the acceptor dead.
	 */
	size_t refs;
	bool dead;
};

/* The open-connection count of (@proxy, @addr, @port) moves by @delta; @routed counts one more
 * connection routed to it. */
void lb_sni_count_active(struct lb_sni *s, const char *proxy, const struct lb_ip *addr,
			 uint16_t port, int delta, bool routed);

/* Drop a reference taken by an acceptor, a pending connection or a spliced pair. */
void lb_sni_unref(struct lb_sni *s);

/* Give up @c's early connect (if any): the hand-over, or a hello that named another host. */
void lb_sni_drop_early(struct conn *c);

/* Set the options accepted connections inherit on listening socket @fd (sni.c). */
void lb_sni_listener_opts(int fd);

/* Close @fd with a reset. */
void lb_sni_close_reset(int fd);

/* Poll callbacks and teardown of sni.c, for connections and acceptors made elsewhere. */
void lb_sni_on_acceptable(uv_poll_t *p, int status, int events);
void lb_sni_on_client_readable(struct lb_sni_watch *w, int status, int events);
void lb_sni_on_backend_writable(struct lb_sni_watch *w, int status, int events);
void lb_sni_on_timeout(uv_timer_t *t);
void lb_sni_conn_end(struct conn *c, bool failed);
void lb_sni_splice_done(struct lb_splice *sp, const struct lb_splice_stats *st, void *arg);
void lb_sni_acceptor_free(struct lb_sni *s, struct acceptor *a);
struct acceptor *lb_sni_find_acceptor(const struct lb_sni *s, const char *proxy);

#endif /* LBD_SNI_PRIV_H */
