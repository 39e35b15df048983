/* SPDX-License-Identifier: MIT */
/*
 * subscribers.h - RPC clients that asked for a stream (health events, drain progress...).
 * Each holds a reference on its client; clients that went away are dropped at the next
 * broadcast. A subscriber that stops reading is cut off by the RPC server's queue limit,
 * never by blocking lbd.
 */
#ifndef LBD_SUBSCRIBERS_H
#define LBD_SUBSCRIBERS_H

#include <stddef.h>
#include <jansson.h>

#include "server.h"

struct lb_subs {
	size_t n, cap;
	struct lb_rpc_client **c;
};

/* Subscribe @c (a reference is taken). Returns 0 or -ENOMEM. */
int lb_subs_add(struct lb_subs *s, struct lb_rpc_client *c);

/* Send the notification @method with @params (borrowed) to every live subscriber. */
void lb_subs_broadcast(struct lb_subs *s, const char *method, json_t *params);

/*
 * The same, except that a subscriber with more than @max_queued bytes not yet read misses
 * this notification (it stays subscribed). Returns the number of subscribers that missed it.
 */
size_t lb_subs_broadcast_lossy(struct lb_subs *s, const char *method, json_t *params,
			       size_t max_queued);

/* Number of live subscribers (after dropping the departed). */
size_t lb_subs_count(struct lb_subs *s);

/* Drop every subscriber. */
void lb_subs_release(struct lb_subs *s);

#endif /* LBD_SUBSCRIBERS_H */
