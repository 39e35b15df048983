/* SPDX-License-Identifier: MIT */
/*
 * client.h - a small synchronous JSON-RPC client of lbd: one blocking Unix stream socket,
 * every wait bounded by poll() against a deadline.
 *
 * Messages that carry no id are server notifications (stats, health and drain streams):
 * lb_client_call() hands them to a callback while it waits for its reply, and a streaming
 * mode keeps calling lb_client_recv() after the reply.
 */
#ifndef LB_CLIENT_H
#define LB_CLIENT_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "lb_rpc.h"

/* Longest reply line accepted (a connection list can be long). */
#define LB_CLIENT_MAX_REPLY (64 * 1024 * 1024)

struct lb_client {
	int fd;
	const char *path;
	int timeout_ms; /* per call; < 0 waits forever */
	json_int_t next_id;
	struct lb_linebuf in;
	/*
	 * When set (after connecting) and a signal interrupts a wait while *stop is non-zero,
	 * the wait ends with -EINTR: how a streaming command stops on SIGINT.
	 */
	const volatile sig_atomic_t *stop;
};

/* Called with each notification received while a call waits for its reply. */
typedef void (*lb_client_notify_fn)(const json_t *notification, void *arg);

/*
 * Connect to the socket at @path within @timeout_ms (< 0: no limit). Returns 0 or -errno:
 * -ENOENT (no socket there), -ECONNREFUSED (nobody listening), -EACCES, -ETIMEDOUT,
 * -ENAMETOOLONG (path does not fit a sockaddr_un), ...
 */
int lb_client_connect(struct lb_client *c, const char *path, int timeout_ms);

/* Close the socket and free the buffers (also after a failed connect; twice is harmless). */
void lb_client_close(struct lb_client *c);

/*
 * Next message from lbd, waiting until @deadline_ms (CLOCK_MONOTONIC milliseconds, < 0: no
 * limit). Returns 0 with *msg (caller decrefs), -ETIMEDOUT, -ECONNRESET when lbd closed the
 * connection, -EPROTO when a line is not a JSON object, -E2BIG for an over-long line,
 * -EINTR when stopped (see lb_client.stop).
 */
int lb_client_recv(struct lb_client *c, int64_t deadline_ms, json_t **msg);

/*
 * Send a request for @method with @params (borrowed, may be NULL) and wait for the response
 * with its id, within the client's timeout. Notifications go to @notify (may be NULL);
 * responses to other ids are dropped. Returns 0 with *response (the whole message, with
 * "result" or "error"; caller decrefs) or -errno as lb_client_recv() and lb_client_connect().
 */
int lb_client_call(struct lb_client *c, const char *method, const json_t *params, json_t **response,
		   lb_client_notify_fn notify, void *arg);

/* CLOCK_MONOTONIC now, in milliseconds. */
int64_t lb_client_now_ms(void);

#endif /* LB_CLIENT_H */
