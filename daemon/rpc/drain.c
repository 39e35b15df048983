// SPDX-License-Identifier: MIT
/* Drain methods: drain (optionally waiting), undrain, drain-status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"
#include "methods.h"

/*
 * Draining must leave every group of the proxy that holds the target some other target
 * that can take new connections; a proxy whose last target goes should be removed instead.
 */
static int check_not_last(struct lbd *l, const struct lb_proxy_cfg *p, const struct lb_ip *addr,
			  uint16_t port, struct lbd_rpc_err *e)
{
	char src[LB_SNI_NAME_MAX + 8];
	int r = lb_drains_starved_group(l->drains, p, addr, port);

	if (r < 0)
		return 0;
	lb_proxy_group_label(p, (size_t)r, src, sizeof(src));
	return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, json_pack("{s:s}", "path", src),
			    "draining it would leave proxy \"%s\" (%s) without a target for "
			    "new connections; add a target first, or remove the proxy or route",
			    p->name, src);
}

/* A client of `drain` with "wait": progress notifications, then the reply. */
struct drain_waiter {
	struct lb_rpc_client *c;
	json_t *id;
};

static void waiter_progress(void *arg, json_t *status)
{
	struct drain_waiter *w = arg;

	lb_rpc_client_send(w->c, lb_rpc_notification("drain-progress", json_incref(status)));
}

static void waiter_drop(void *arg)
{
	struct drain_waiter *w = arg;

	lb_rpc_client_unref(w->c);
	json_decref(w->id);
	free(w);
}

static void waiter_done(void *arg, json_t *status)
{
	struct drain_waiter *w = arg;

	lb_rpc_client_reply(w->c, w->id, json_incref(status));
	waiter_drop(w);
}

static const struct lb_drain_waiter rpc_waiter = {
	.progress = waiter_progress,
	.done = waiter_done,
	.drop = waiter_drop,
};

/* Reply when the drain of the target ends (and notify progress meanwhile). 0 or -ENOMEM. */
static int wait_for(struct lbd *l, struct lbd_call *call, const char *proxy, struct lb_ip addr,
		    uint16_t port)
{
	struct drain_waiter *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->c = lb_rpc_client_ref(call->client);
	w->id = json_incref(call->id);
	ret = lb_drains_wait(l->drains, proxy, &addr, port, &rpc_waiter, w);
	if (ret)
		waiter_drop(w);
	return ret;
}

int lbd_rpc_drain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e)
{
	json_t *tmo = json_object_get(params, "timeout-ms"), *status = NULL;
	uint32_t timeout = l->cfg->settings.default_drain_timeout_ms;
	const struct lb_proxy_cfg *p;
	struct lb_ip addr;
	uint16_t port;
	int ret;

	if (lbd_rpc_target_param(l, params, &p, &addr, &port, e))
		return -1;
	if (tmo) {
		json_int_t v = json_integer_value(tmo);

		if (v < 1 || v > 86400000)
			return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS,
					    json_pack("{s:s}", "field", "timeout-ms"),
					    "timeout-ms: must be between 1 and 86400000 (24 h)");
		timeout = (uint32_t)v;
	}
	if (!lb_drains_drained(l->drains, p->name, &addr, port) &&
	    check_not_last(l, p, &addr, port, e))
		return -1;
	ret = lb_drains_start(l->drains, p->name, &addr, port, timeout, &status);
	if (ret)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "cannot start the drain: %s",
				    strerror(-ret));
	if (json_is_true(json_object_get(params, "wait")) && call->id) {
		json_decref(status);
		if (wait_for(l, call, p->name, addr, port))
			return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
		call->deferred = true;
		*result = NULL;
		return 0;
	}
	*result = status;
	return 0;
}

int lbd_rpc_undrain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e)
{
	const struct lb_proxy_cfg *p;
	enum lb_drain_status prev;
	char tgt[LB_TARGET_STR_MAX];
	struct lb_ip addr;
	uint16_t port;

	if (lbd_rpc_target_param(l, params, &p, &addr, &port, e))
		return -1;
	lb_format_target(&addr, port, tgt);
	if (lb_drains_cancel(l->drains, p->name, &addr, port, &prev))
		return lbd_rpc_fail(e, LB_RPC_NOT_FOUND,
				    json_pack("{s:s, s:s}", "kind", "drain", "name", tgt),
				    "%s of proxy \"%s\" is not drained", tgt, p->name);
	*result = json_pack("{s:s, s:s, s:b, s:s}", "proxy", p->name, "target", tgt, "undrained", 1,
			    "previous-status", lb_drain_status_name(prev));
	return 0;
}

int lbd_rpc_drain_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e)
{
	const char *proxy = json_string_value(json_object_get(params, "proxy"));
	const char *target = json_string_value(json_object_get(params, "target"));
	struct lb_target_cfg tc;
	char err[LB_ERR_MAX];
	int has_weight = 0;

	if (target && (lb_parse_target(target, &tc, &has_weight, err, sizeof(err)) || has_weight))
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "target"),
				    "target: %s",
				    has_weight ? "give ip:port, without a weight" : err);
	*result = json_pack("{s:o}", "drains",
			    lb_drains_json(l->drains, proxy, target ? &tc.addr : NULL,
					   target ? &tc.port : NULL));
	return 0;
}
