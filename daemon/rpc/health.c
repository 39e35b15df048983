// SPDX-License-Identifier: MIT
/* Health methods: health (and its event stream), set-target-status, force-check, on/off. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb_addr.h"
#include "methods.h"
#include "rpc.h"

int lbd_rpc_health(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e)
{
	const char *only = json_string_value(json_object_get(params, "proxy"));
	json_t *arr = json_array();
	size_t i;

	if (only && !lb_config_find_proxy(l->cfg, only)) {
		json_decref(arr);
		return lbd_rpc_no_proxy(e, only);
	}
	for (i = 0; i < l->cfg->n_proxies; i++) {
		const struct lb_proxy_cfg *p = &l->cfg->proxies[i];

		if (only && strcmp(only, p->name))
			continue;
		json_array_append_new(
			arr, json_pack("{s:s, s:o, s:o}", "proxy", p->name, "targets",
				       lb_health_targets_json(l->health, p->name), "groups",
				       lb_model_weights_json(lb_model_find(l->model, p->name))));
	}
	if (json_is_true(json_object_get(params, "follow")) &&
	    lb_subs_add(&call->rpc->health_subs, call->client)) {
		json_decref(arr);
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	}
	*result = json_pack("{s:b, s:o}", "enabled", lb_health_enabled(l->health), "proxies", arr);
	return 0;
}

int lbd_rpc_set_target_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e)
{
	const char *status = json_string_value(json_object_get(params, "status"));
	const struct lb_proxy_cfg *p;
	enum lb_override o;
	struct lb_ip addr;
	uint16_t port;
	char tgt[LB_TARGET_STR_MAX];

	if (!strcmp(status, "healthy"))
		o = LB_OVERRIDE_HEALTHY;
	else if (!strcmp(status, "unhealthy"))
		o = LB_OVERRIDE_UNHEALTHY;
	else if (!strcmp(status, "auto"))
		o = LB_OVERRIDE_NONE;
	else
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "status"),
				    "status: \"%s\" is not healthy, unhealthy or auto", status);
	if (lbd_rpc_target_param(l, params, &p, &addr, &port, e))
		return -1;
	lb_health_set_override(l->health, p->name, &addr, port, o);
	*result = json_pack("{s:s, s:s, s:s}", "proxy", p->name, "target",
			    lb_format_target(&addr, port, tgt), "status", status);
	return 0;
}

int lbd_rpc_force_check(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e)
{
	const struct lb_proxy_cfg *p;
	char tgt[LB_TARGET_STR_MAX];
	struct lb_ip addr;
	uint16_t port;

	if (lbd_rpc_target_param(l, params, &p, &addr, &port, e))
		return -1;
	if (lb_health_force_check(l->health, p->name, &addr, port) == -EAGAIN)
		return lbd_rpc_fail(e, LB_RPC_UNAVAILABLE, json_object(),
				    "health checking is disabled (lbctl enable-health-checks)");
	*result = json_pack("{s:s, s:s, s:b}", "proxy", p->name, "target",
			    lb_format_target(&addr, port, tgt), "scheduled", 1);
	return 0;
}

static int set_checks(struct lbd *l, bool on, json_t **result, struct lbd_rpc_err *e)
{
	struct lb_config *next = lbd_rpc_dup_config(l, e);

	if (!next)
		return -1;
	next->settings.health_check_enabled = on;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:b}", "enabled", on);
	return 0;
}

int lbd_rpc_enable_health_checks(struct lbd *l, struct lbd_call *call, json_t *params,
				 json_t **result, struct lbd_rpc_err *e)
{
	return set_checks(l, true, result, e);
}

int lbd_rpc_disable_health_checks(struct lbd *l, struct lbd_call *call, json_t *params,
				  json_t **result, struct lbd_rpc_err *e)
{
	return set_checks(l, false, result, e);
}
