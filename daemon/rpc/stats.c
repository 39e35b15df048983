// SPDX-License-Identifier: MIT
/*
 * Statistics methods: stats (counters per proxy and per target, open connections, health
 * and weights, the global counters, and the connection event stream with "follow"),
 * enable-stats, disable-stats, and metrics (the same as Prometheus text, which /metrics
 * serves too). The views themselves are built in stats_view.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fanout.h"
#include "metrics.h"
#include "methods.h"
#include "rpc.h"
#include "stats_view.h"

/* The view, or -32030 / -32603 in @e. */
static json_t *stats_or_fail(struct lbd *l, const char *only, struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];
	json_t *stats = lbd_stats_json(l, only, true, err, sizeof(err));

	if (!stats && errno == ENOMEM)
		lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "%s", err);
	else if (!stats)
		lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", errno), "%s", err);
	return stats;
}

/* lbd's event status plus this layer's: followers, events sent to them and missed. */
static json_t *events_json(struct lbd *l, struct lbd_rpc *r)
{
	json_t *o = lbd_events_status(l);

	if (o) {
		json_object_set_new(o, "subscribers",
				    json_integer((json_int_t)lb_subs_count(&r->stats_subs)));
		json_object_set_new(o, "sent", json_integer((json_int_t)r->events_sent));
		json_object_set_new(o, "missed-by-slow-subscribers",
				    json_integer((json_int_t)r->events_missed));
	}
	return o;
}

int lbd_rpc_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e)
{
	const char *only = json_string_value(json_object_get(params, "proxy"));

	if (only && !lb_config_find_proxy(l->cfg, only))
		return lbd_rpc_no_proxy(e, only);
	*result = stats_or_fail(l, only, e);
	if (!*result)
		return -1;
	/* The subscription starts with the reply: no event is lost between the two. */
	if (json_is_true(json_object_get(params, "follow")) &&
	    lb_subs_add(&call->rpc->stats_subs, call->client)) {
		json_decref(*result);
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	}
	json_object_set_new(*result, "events", events_json(l, call->rpc));
	return 0;
}

static int set_stats(struct lbd *l, bool on, json_t **result, struct lbd_rpc_err *e)
{
	struct lb_config *next = lbd_rpc_dup_config(l, e);

	if (!next)
		return -1;
	next->settings.stats_enabled = on;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:b}", "enabled", on);
	return 0;
}

int lbd_rpc_enable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e)
{
	return set_stats(l, true, result, e);
}

int lbd_rpc_disable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e)
{
	return set_stats(l, false, result, e);
}

int lbd_rpc_metrics(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e)
{
	json_t *stats = stats_or_fail(l, NULL, e);
	char *text;

	if (!stats)
		return -1;
	text = lb_metrics_format(stats, NULL);
	json_decref(stats);
	if (!text)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	*result = json_pack("{s:s}", "text", text);
	free(text);
	return 0;
}
