// SPDX-License-Identifier: MIT
#include "rpc.h"

#include <errno.h>
#include <string.h>

#include "lb_log.h"
#include "methods.h"

static const lbd_rpc_handler handlers[LB_M_COUNT] = {
	[LB_M_STATUS] = lbd_rpc_status,
	[LB_M_VERSION] = lbd_rpc_version,
	[LB_M_GET_CONFIG] = lbd_rpc_get_config,
	[LB_M_LIST_PROXIES] = lbd_rpc_list_proxies,
	[LB_M_ADD_PROXY] = lbd_rpc_add_proxy,
	[LB_M_REMOVE_PROXY] = lbd_rpc_remove_proxy,
	[LB_M_ADD_SOURCE_ROUTE] = lbd_rpc_add_source_route,
	[LB_M_ADD_SOURCE_ROUTES] = lbd_rpc_add_source_routes,
	[LB_M_REMOVE_SOURCE_ROUTE] = lbd_rpc_remove_source_route,
	[LB_M_LIST_SOURCE_ROUTES] = lbd_rpc_list_source_routes,
	[LB_M_ATTACH_INTERFACES] = lbd_rpc_attach_interfaces,
	[LB_M_DETACH_INTERFACES] = lbd_rpc_detach_interfaces,
	[LB_M_SET_INGRESS] = lbd_rpc_set_ingress,
	[LB_M_SET_WEIGHTS] = lbd_rpc_set_weights,
	[LB_M_CONNECTIONS] = lbd_rpc_connections,
	[LB_M_CONNECTION_COUNT] = lbd_rpc_connection_count,
	[LB_M_CONNECTION_STATS] = lbd_rpc_connection_stats,
	[LB_M_TRACE] = lbd_rpc_trace,
	[LB_M_RELOAD] = lbd_rpc_reload,
	[LB_M_HEALTH] = lbd_rpc_health,
	[LB_M_SET_TARGET_STATUS] = lbd_rpc_set_target_status,
	[LB_M_FORCE_CHECK] = lbd_rpc_force_check,
	[LB_M_ENABLE_HEALTH_CHECKS] = lbd_rpc_enable_health_checks,
	[LB_M_DISABLE_HEALTH_CHECKS] = lbd_rpc_disable_health_checks,
	[LB_M_DRAIN] = lbd_rpc_drain,
	[LB_M_UNDRAIN] = lbd_rpc_undrain,
	[LB_M_DRAIN_STATUS] = lbd_rpc_drain_status,
	[LB_M_NODE_DRAIN] = lbd_rpc_node_drain,
	[LB_M_NODE_UNDRAIN] = lbd_rpc_node_undrain,
	[LB_M_NODE_STATUS] = lbd_rpc_node_status,
	[LB_M_ADD_SNI_ROUTE] = lbd_rpc_add_sni_route,
	[LB_M_REMOVE_SNI_ROUTE] = lbd_rpc_remove_sni_route,
	[LB_M_LIST_SNI_ROUTES] = lbd_rpc_list_sni_routes,
	[LB_M_STATS] = lbd_rpc_stats,
	[LB_M_ENABLE_STATS] = lbd_rpc_enable_stats,
	[LB_M_DISABLE_STATS] = lbd_rpc_disable_stats,
	[LB_M_METRICS] = lbd_rpc_metrics,
};

bool lbd_rpc_has_handler(enum lb_method_id id)
{
	return id < LB_M_COUNT && handlers[id] != NULL;
}

/* The server's dispatch callback: one validated call to its handler, then the reply. */
static void dispatch(void *ctx, struct lb_rpc_client *c, json_t *id, const struct lb_method *m,
		     json_t *params)
{
	struct lbd_rpc *r = ctx;
	struct lbd_rpc_err e = {.code = LB_RPC_INTERNAL_ERROR};
	struct lbd_call call = {.rpc = r, .client = c, .id = id};
	json_t *result = NULL;
	int ret;

	/* Every method of the shared table has a handler; this guards a missing line. */
	if (!handlers[m->id]) {
		lb_rpc_client_reply_error(c, id, LB_RPC_INTERNAL_ERROR,
					  "internal error: lbd has no handler for this method",
					  json_pack("{s:s}", "method", m->name));
		return;
	}
	ret = handlers[m->id](r->l, &call, params, &result, &e);
	if (ret) {
		if (m->mutates)
			lb_info("rpc %s refused: %s", m->name, e.msg);
		lb_rpc_client_reply_error(c, id, e.code, e.msg, e.data);
		return;
	}
	if (m->mutates)
		lb_info("rpc %s applied (uid %u)", m->name, (unsigned int)lb_rpc_client_uid(c));
	if (call.deferred) {
		json_decref(result);
		return;
	}
	lb_rpc_client_reply(c, id, result ? result : json_object());
}

/* lbd's notifications, to the streams. */
static void notify_health(void *ctx, json_t *event)
{
	struct lbd_rpc *r = ctx;

	lb_subs_broadcast(&r->health_subs, "health-event", event);
}

static bool health_wanted(void *ctx)
{
	struct lbd_rpc *r = ctx;

	return lb_subs_count(&r->health_subs) != 0;
}

static bool flows_wanted(void *ctx)
{
	struct lbd_rpc *r = ctx;

	return lb_subs_count(&r->stats_subs) != 0;
}

static void notify_flow(void *ctx, json_t *event)
{
	struct lbd_rpc *r = ctx;

	r->events_missed += lb_subs_broadcast_lossy(&r->stats_subs, "stats-event", event,
						    LBD_EVENTS_MAX_QUEUED);
	r->events_sent++;
}

int lbd_rpc_start(struct lbd_rpc *r, struct lbd *l, struct lb_rpc_server_opts *o, char *err,
		  size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->l = l;
	o->dispatch = dispatch;
	o->ctx = r;
	r->server = lb_rpc_server_start(l->loop, o, err, errlen);
	if (!r->server)
		return -EADDRINUSE;
	l->notify = (struct lbd_notify){
		.health_wanted = health_wanted,
		.health = notify_health,
		.flows_wanted = flows_wanted,
		.flow = notify_flow,
		.ctx = r,
	};
	return 0;
}

void lbd_rpc_stop(struct lbd_rpc *r)
{
	if (r->l)
		memset(&r->l->notify, 0, sizeof(r->l->notify));
	lb_rpc_server_stop(r->server);
	r->server = NULL;
	lb_subs_release(&r->health_subs);
	lb_subs_release(&r->stats_subs);
}
