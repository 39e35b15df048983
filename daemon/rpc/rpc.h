/* SPDX-License-Identifier: MIT */
/*
 * rpc.h - lbd's control interface: the JSON-RPC server on its Unix socket (server.h),
 * the dispatch of each call to its handler (methods.h), and the streams clients follow
 * (health events, connection events), which lbd feeds through struct lbd_notify.
 */
#ifndef LBD_RPC_H
#define LBD_RPC_H

#include <stdint.h>

#include "lbd.h"
#include "server.h"
#include "subscribers.h"

/*
 * A follower of connection events that has more than LBD_EVENTS_MAX_QUEUED bytes unread
 * misses events (counted) instead of slowing lbd down.
 */
#define LBD_EVENTS_MAX_QUEUED (1024 * 1024)

struct lbd_rpc {
	struct lbd *l;
	struct lb_rpc_server *server;
	struct lb_subs health_subs; /* `health --follow`: health events, weights-updated */
	struct lb_subs stats_subs;  /* `stats --follow`: connection events */
	uint64_t events_sent;	    /* connection events sent to followers */
	uint64_t events_missed;	    /* ... and missed by followers too slow to read */
};

/*
 * Serve @l on the socket @o describes (o->dispatch and o->ctx are set here) and take
 * over its notifications. 0, or -errno with a sentence in @err.
 */
int lbd_rpc_start(struct lbd_rpc *r, struct lbd *l, struct lb_rpc_server_opts *o, char *err,
		  size_t errlen);

/* Close the socket and every client, drop the followers; lbd notifies nobody after. */
void lbd_rpc_stop(struct lbd_rpc *r);

/* Does lbd handle method @id? (A unit test checks every method of the table.) */
bool lbd_rpc_has_handler(enum lb_method_id id);

#endif /* LBD_RPC_H */
