/* SPDX-License-Identifier: MIT */
/*
 * methods.h - lbd's handlers for the methods of proto/lb_rpc.h, one per method id.
 *
 * A handler either fills *result (0) or describes an error in *e (negative return). The
 * dispatcher turns that into the JSON-RPC reply. Handlers of mutating methods build the
 * next configuration and hand it to lbd_apply(), which validates it whole.
 */
#ifndef LBD_RPC_METHODS_H
#define LBD_RPC_METHODS_H

#include <jansson.h>

#include "lb_config.h"
#include "lbd.h"

struct lbd_rpc_err {
	int code; /* enum lb_rpc_code */
	char msg[LB_ERR_MAX];
	json_t *data; /* owned; may be NULL */
};

/* One call being handled: who asked, under which id, and whether the reply comes later. */
struct lbd_call {
	struct lb_rpc_client *client;
	json_t *id;    /* NULL for a notification: no reply is sent */
	bool deferred; /* set by a handler that replies later itself (drain --wait) */
};

typedef int (*lbd_rpc_handler)(struct lbd *l, struct lbd_call *call, json_t *params,
			       json_t **result, struct lbd_rpc_err *e);

/* Does lbd handle method @id? (A unit test checks every method of the table.) */
bool lbd_rpc_has_handler(enum lb_method_id id);

/* The dispatcher the RPC server calls (ctx is the struct lbd). */
void lbd_rpc_dispatch(void *ctx, struct lb_rpc_client *c, json_t *id, const struct lb_method *m,
		      json_t *params);

/* Fill @e; returns -1 so handlers can `return rpc_fail(...)`. Steals @data. */
int lbd_rpc_fail(struct lbd_rpc_err *e, int code, json_t *data, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* {"path": P} for a message "P: what is wrong", or {} when it names no place. */
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

/* The name of proxy id @id, or "?" */
const char *lbd_proxy_name(const struct lbd *l, uint32_t id);

/* Handlers, by file. */
int lbd_rpc_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e);
int lbd_rpc_version(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e);
int lbd_rpc_get_config(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		       struct lbd_rpc_err *e);
int lbd_rpc_reload(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e);

/* rpc_proxies.c */
int lbd_rpc_list_proxies(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);
int lbd_rpc_add_proxy(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		      struct lbd_rpc_err *e);
int lbd_rpc_remove_proxy(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);
int lbd_rpc_add_source_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);
int lbd_rpc_add_source_routes(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e);
int lbd_rpc_remove_source_route(struct lbd *l, struct lbd_call *call, json_t *params,
				json_t **result, struct lbd_rpc_err *e);
int lbd_rpc_list_source_routes(struct lbd *l, struct lbd_call *call, json_t *params,
			       json_t **result, struct lbd_rpc_err *e);
int lbd_rpc_attach_interfaces(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e);
int lbd_rpc_detach_interfaces(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e);
int lbd_rpc_set_ingress(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e);
int lbd_rpc_set_weights(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e);

/* rpc_conntrack.c */
int lbd_rpc_connections(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e);
int lbd_rpc_connection_count(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);
int lbd_rpc_connection_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);

/*
 * The "target" parameter as (addr, port) of a target of @p; fails with -32602 when it is
 * not ip:port and -32001 when @p has no such target.
 */
int lbd_rpc_target_param(struct lbd *l, json_t *params, const struct lb_proxy_cfg **p,
			 uint32_t *addr, uint16_t *port, struct lbd_rpc_err *e);

/* rpc_health.c */
int lbd_rpc_health(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e);
int lbd_rpc_set_target_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e);
int lbd_rpc_force_check(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e);
int lbd_rpc_enable_health_checks(struct lbd *l, struct lbd_call *call, json_t *params,
				 json_t **result, struct lbd_rpc_err *e);
int lbd_rpc_disable_health_checks(struct lbd *l, struct lbd_call *call, json_t *params,
				  json_t **result, struct lbd_rpc_err *e);

/* rpc_drain.c */
int lbd_rpc_drain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e);
int lbd_rpc_undrain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e);
int lbd_rpc_drain_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);

/* rpc_sni.c */
int lbd_rpc_add_sni_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e);
int lbd_rpc_remove_sni_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);
int lbd_rpc_list_sni_routes(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			    struct lbd_rpc_err *e);

/* rpc_stats.c */
int lbd_rpc_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e);
int lbd_rpc_enable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);
int lbd_rpc_disable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e);
int lbd_rpc_metrics(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e);

/*
 * The Prometheus text of every proxy (metrics.h) for lbd @ctx, as the metrics listener's
 * renderer (metrics_http.h). NULL with errno when the counters cannot be read.
 */
char *lbd_metrics_render(void *ctx, size_t *len);

#endif /* LBD_RPC_METHODS_H */
