/* SPDX-License-Identifier: MIT */
/*
 * call.h - one RPC call as a handler sees it, and what handlers share: errors as
 * JSON-RPC error objects, the proxy and target parameters, applying a changed copy of
 * the running configuration.
 */
#ifndef LBD_CALL_H
#define LBD_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "lb_config.h"
#include "lbd.h"
#include "server.h"

struct lbd_rpc;

/* One call being handled: who asked, under which id, and whether the reply comes later. */
struct lbd_call {
	struct lbd_rpc *rpc; /* the layer's state: its streams */
	struct lb_rpc_client *client;
	json_t *id;    /* NULL for a notification: no reply is sent */
	bool deferred; /* set by a handler that replies later itself (drain --wait) */
};

struct lbd_rpc_err {
	int code; /* enum lb_rpc_code */
	char msg[LB_ERR_MAX];
	json_t *data; /* owned; may be NULL */
};

/* Fill @e; returns -1 so handlers can `return lbd_rpc_fail(...)`. Steals @data. */
int lbd_rpc_fail(struct lbd_rpc_err *e, int code, json_t *data, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * {"path": P} for a message "P: what is wrong", {"proxy": N, "path": P} for one that names
 * its proxy, `proxy "N": P: what is wrong` (lbd_apply() for a change made at run time), or
 * {} when it names no place.
 */
json_t *lbd_rpc_path_of(const char *msg);

/* -32001 for a proxy called @name that does not exist; returns -1. */
int lbd_rpc_no_proxy(struct lbd_rpc_err *e, const char *name);

/*
 * {"routes": [...]}: route(p, i) for each of the count(p) routes of every proxy, or of the
 * proxy named by the "proxy" parameter. Shared by list-source-routes and list-sni-routes.
 */
int lbd_rpc_list_routes(struct lbd *l, json_t *params, size_t (*count)(const struct lb_proxy_cfg *),
			json_t *(*route)(const struct lb_proxy_cfg *, size_t), json_t **result,
			struct lbd_rpc_err *e);

/* Apply @next through lbd_apply(), mapping its failures to RPC errors; frees @next on error. */
int lbd_rpc_apply(struct lbd *l, struct lb_config *next, struct lbd_rpc_err *e);

/* A copy of the running configuration to change, or NULL with -32603 in @e. */
struct lb_config *lbd_rpc_dup_config(struct lbd *l, struct lbd_rpc_err *e);

/*
 * The "target" parameter as (addr, port) of a target of the "proxy" parameter's proxy
 * (*p); fails with -32602 when it is not ip:port and -32001 when there is no such target.
 */
int lbd_rpc_target_param(struct lbd *l, json_t *params, const struct lb_proxy_cfg **p,
			 struct lb_ip *addr, uint16_t *port, struct lbd_rpc_err *e);

#endif /* LBD_CALL_H */
