/* SPDX-License-Identifier: MIT */
/*
 * server.h - lbd's JSON-RPC endpoint on a Unix stream socket, on the libuv loop.
 *
 * Framing, request validation (JSON, JSON-RPC shape, method, parameter schema) and peer
 * authorisation happen here; a valid call reaches the dispatch callback. Replies may be
 * sent at once or later (long-running calls keep a reference on the client).
 *
 * Who may call what (SO_PEERCRED): root and members of the socket's group may call every
 * method; any other peer that can connect (e.g. after an operator widened the socket's
 * mode) may call read-only methods only.
 *
 * Misbehaving clients cannot hurt the others: requests are capped at LB_RPC_MAX_REQUEST
 * bytes (the connection stays usable), and a client whose unread replies exceed
 * LB_RPC_MAX_QUEUED bytes is disconnected instead of making lbd buffer without bound.
 */
#ifndef LBD_RPC_SERVER_H
#define LBD_RPC_SERVER_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include <uv.h>

#include "lb_rpc.h"

#define LB_RPC_MAX_QUEUED  (4 * 1024 * 1024)
#define LB_RPC_MAX_CLIENTS 1024

struct lb_rpc_server;
struct lb_rpc_client;

/*
 * A validated call: @params is an object (empty when the request had none), @id is NULL for
 * a notification (no reply expected). The callee replies with lb_rpc_client_send().
 */
typedef void (*lb_rpc_dispatch_fn)(void *ctx, struct lb_rpc_client *c, json_t *id,
				   const struct lb_method *m, json_t *params);

struct lb_rpc_server_opts {
	const char *path;    /* socket path to create (ignored with inherited_fd >= 0) */
	int inherited_fd;    /* a listening socket from systemd or a previous lbd, or -1 */
	bool owns_inherited; /* that socket is bound to @path: remove it on stop (hand-over) */
	gid_t group;	     /* group owning the socket; its members may mutate */
	lb_rpc_dispatch_fn dispatch;
	void *ctx;
};

/*
 * Create (or adopt) the listening socket and start accepting. Refuses to take over a path
 * another live server answers on. Returns NULL and sets @err on failure.
 */
struct lb_rpc_server *lb_rpc_server_start(uv_loop_t *loop, const struct lb_rpc_server_opts *o,
					  char *err, size_t errlen);

/*
 * Is @path free for a new server? 0 when nothing answers there (no file, or a socket left
 * by a crash); -EADDRINUSE with a sentence naming the pid that serves it; -EEXIST when a
 * file that is not a socket is there (never removed).
 */
int lb_rpc_server_check(const char *path, char *err, size_t errlen);

/* Close every client and the socket (unlinking a path we created); NULL is a no-op. */
void lb_rpc_server_stop(struct lb_rpc_server *s);

/* The listening socket's descriptor (the server's: a hand-over passes a copy), or -1. */
int lb_rpc_server_fd(const struct lb_rpc_server *s);

/* Leave the socket file in place on stop: another lbd listens on it now. */
void lb_rpc_server_keep_path(struct lb_rpc_server *s);

/* Number of connected clients. */
size_t lb_rpc_server_clients(const struct lb_rpc_server *s);

/* Queue @msg (stolen) to the client as one line. Ignored when the client is gone. */
void lb_rpc_client_send(struct lb_rpc_client *c, json_t *msg);

/* Reply helpers for a request @id (nothing is sent for a notification, id == NULL). */
void lb_rpc_client_reply(struct lb_rpc_client *c, json_t *id, json_t *result);
void lb_rpc_client_reply_error(struct lb_rpc_client *c, json_t *id, int code, const char *message,
			       json_t *data);

/* Keep @c valid across callbacks (for replies sent later); every ref needs an unref. */
struct lb_rpc_client *lb_rpc_client_ref(struct lb_rpc_client *c);
void lb_rpc_client_unref(struct lb_rpc_client *c);

/* False once the peer disconnected (further sends are dropped). */
bool lb_rpc_client_connected(const struct lb_rpc_client *c);

/* Bytes written to @c that it has not read yet. */
size_t lb_rpc_client_queued(const struct lb_rpc_client *c);

/* The peer's credentials. */
uid_t lb_rpc_client_uid(const struct lb_rpc_client *c);

#endif /* LBD_RPC_SERVER_H */
