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

#include "call.h"
#include "lb_config.h"
#include "lbd.h"

typedef int (*lbd_rpc_handler)(struct lbd *l, struct lbd_call *call, json_t *params,
			       json_t **result, struct lbd_rpc_err *e);

/* Handlers, by file: daemon.c */
int lbd_rpc_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e);
int lbd_rpc_version(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e);
int lbd_rpc_get_config(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		       struct lbd_rpc_err *e);
int lbd_rpc_reload(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e);

/* proxies.c */
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

/* conntrack.c */
int lbd_rpc_connections(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e);
int lbd_rpc_connection_count(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);
int lbd_rpc_connection_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);

/* trace.c */
int lbd_rpc_trace(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e);

/* health.c */
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

/* node.c */
int lbd_rpc_node_drain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		       struct lbd_rpc_err *e);
int lbd_rpc_node_undrain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);
int lbd_rpc_node_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e);

/* drain.c */
int lbd_rpc_drain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e);
int lbd_rpc_undrain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e);
int lbd_rpc_drain_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);

/* sni.c */
int lbd_rpc_add_sni_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e);
int lbd_rpc_remove_sni_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e);
int lbd_rpc_list_sni_routes(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			    struct lbd_rpc_err *e);

/* stats.c */
int lbd_rpc_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e);
int lbd_rpc_enable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e);
int lbd_rpc_disable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e);
int lbd_rpc_metrics(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e);

#endif /* LBD_RPC_METHODS_H */
