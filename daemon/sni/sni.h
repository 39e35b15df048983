/* SPDX-License-Identifier: MIT */
/*
 * sni.h - the SNI acceptor: delayed binding for proxies with SNI routes.
 *
 * The TLS ClientHello only arrives after the TCP handshake, so for a proxy with SNI routes
 * the datapath sends each new TCP connection that no source route claims to this acceptor
 * (a backend of address 0 and the acceptor's port: the destination port is rewritten,
 * replies are translated back, the client still talks to VIP:443). The acceptor then
 *   1. reads the ClientHello without terminating TLS (across TCP segments and TLS records,
 *      up to 16 KiB, within sni-hello-timeout-ms),
 *   2. picks the target: the SNI route matching the name, else the default target (no SNI,
 *      unknown name, not TLS), weighted by the effective weights like every group,
 *   3. connects to it, sends a PROXY protocol v2 header first if the target asks for one,
 *      replays the bytes it read, and splices the two sockets (splice.h).
 * At most sni-max-pending connections per proxy may wait for a ClientHello; beyond that
 * new ones are reset at once, so a flood of silent clients costs bounded memory and
 * never slows the loop.
 */
#ifndef LBD_SNI_H
#define LBD_SNI_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "lb_config.h"
#include "lb_ip.h"
#include "splice.h"

struct lb_sni;

/* The target chosen for one connection. */
struct lb_sni_choice {
	struct lb_ip addr;
	uint16_t port; /* host order */
	uint8_t proxy_protocol;
};

/*
 * Choose the target of a connection of @proxy from @client (addr network order, port host
 * order) to @listener, with server name @name (NULL: none). 0, or -ENOENT when no target
 * may take a new connection.
 */
typedef int (*lb_sni_choose_fn)(void *ctx, const char *proxy, const char *name,
				const struct lb_ip *client_addr, uint16_t client_port,
				const struct lb_ip *listener_addr, uint16_t listener_port,
				struct lb_sni_choice *out);

struct lb_sni *lb_sni_new(uv_loop_t *loop, struct lb_splicer *splicer, lb_sni_choose_fn choose,
			  void *ctx);

/*
 * Told when an acceptor of @proxy starts listening on @fd (from the commit that makes it
 * serve) and, with fd -1, when it stops for good (not when lb_sni_forget() lets go).
 */
typedef void (*lb_sni_listener_fn)(void *ctx, const char *proxy, int fd);
void lb_sni_set_listener_hook(struct lb_sni *s, lb_sni_listener_fn fn, void *ctx);

/*
 * A change to @cfg, in lbd_apply()'s three steps. Prepare opens an acceptor (a listening
 * socket) for each new proxy with SNI routes and changes nothing else; 0 or -errno with
 * a sentence in @err (what it opened is closed again). Abort closes what prepare opened.
 * Commit gives every acceptor @cfg's settings and closes those of proxies that lost
 * their SNI routes (their spliced connections go on).
 */
int lb_sni_prepare(struct lb_sni *s, const struct lb_config *cfg, char *err, size_t errlen);
void lb_sni_abort(struct lb_sni *s);
void lb_sni_commit(struct lb_sni *s, const struct lb_config *cfg);

/* The local port of @proxy's acceptor, 0 when it has none. */
uint16_t lb_sni_port(const struct lb_sni *s, const char *proxy);

/* What the acceptor has sent to one target so far. */
struct lb_sni_target_counters {
	uint64_t connections;	   /* routed to it (new connections) */
	uint64_t bytes_to_backend; /* payload bytes, counted when a connection ends */
	uint64_t bytes_to_client;
};

/* Counters of (@proxy, @addr, @port) routed by the acceptor; zeros when none. */
struct lb_sni_target_counters lb_sni_target_counters(const struct lb_sni *s, const char *proxy,
						     const struct lb_ip *addr, uint16_t port);

/* Open connections of @proxy to the target (connecting or spliced). */
uint32_t lb_sni_active(const struct lb_sni *s, const char *proxy, const struct lb_ip *addr,
		       uint16_t port);

/*
 * Counters of @proxy's acceptor: {"port", "hello-timeout-ms", "max-pending", "pending",
 * "connections", "accepted",
 * "rejected-overload", "hello-timeout", "no-target", "connect-failed", "routed-by-sni",
 * "routed-default", "splice"}; NULL when it has none.
 */
json_t *lb_sni_stats_json(const struct lb_sni *s, const char *proxy);

/*
 * Hand-over (lbd --takeover; splice.h says how the pairs travel). Freeze stops accepting
 * and watching every pending connection and pair; a connection whose handles are closing
 * on its way to the splicer still becomes a pair, so export waits until settling() is
 * false. Export calls @emit for each acceptor ("sni-acceptor": its listening socket), the
 * splicer and each pair ("splicer", "splice" with its "owner"), then each pending
 * connection ("sni-conn"); the descriptors stay this lbd's. Thaw resumes everything, for
 * a hand-over that failed. Forget, once the next lbd has them (and after
 * lb_splicer_forget()), closes this lbd's descriptors without a word to any peer and
 * frees the acceptor like lb_sni_free().
 *
 * The next lbd adopts the acceptors before its first apply (they are polled from its
 * commit on: the model must exist), then imports the pairs and the pending connections
 * (-EPROTO for a record it does not understand; its sockets are then reset).
 */
void lb_sni_freeze(struct lb_sni *s);
bool lb_sni_settling(const struct lb_sni *s);
void lb_sni_thaw(struct lb_sni *s);
int lb_sni_export(struct lb_sni *s, lb_splice_emit_fn emit, void *ctx);
void lb_sni_forget(struct lb_sni *s);
int lb_sni_adopt_acceptor(struct lb_sni *s, struct lb_fdrec *r, char *err, size_t errlen);
int lb_sni_import(struct lb_sni *s, struct lb_fdrec *r);

/* Close every acceptor and pending connection (spliced ones end with the splicer). */
void lb_sni_free(struct lb_sni *s);

#endif /* LBD_SNI_H */
