// SPDX-License-Identifier: MIT
/* Dispatch, and the methods about the daemon itself: status, version, get-config, reload. */
#include "methods.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "counters.h"
#include "lb_log.h"

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
	[LB_M_RELOAD] = lbd_rpc_reload,
	[LB_M_HEALTH] = lbd_rpc_health,
	[LB_M_SET_TARGET_STATUS] = lbd_rpc_set_target_status,
	[LB_M_FORCE_CHECK] = lbd_rpc_force_check,
	[LB_M_ENABLE_HEALTH_CHECKS] = lbd_rpc_enable_health_checks,
	[LB_M_DISABLE_HEALTH_CHECKS] = lbd_rpc_disable_health_checks,
	[LB_M_DRAIN] = lbd_rpc_drain,
	[LB_M_UNDRAIN] = lbd_rpc_undrain,
	[LB_M_DRAIN_STATUS] = lbd_rpc_drain_status,
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

int lbd_rpc_fail(struct lbd_rpc_err *e, int code, json_t *data, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	json_decref(e->data);
	e->data = data;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void lbd_rpc_dispatch(void *ctx, struct lb_rpc_client *c, json_t *id, const struct lb_method *m,
		      json_t *params)
{
	struct lbd *l = ctx;
	struct lbd_rpc_err e = {.code = LB_RPC_INTERNAL_ERROR};
	struct lbd_call call = {.client = c, .id = id};
	json_t *result = NULL;
	int ret;

	/* Every method of the shared table has a handler; this guards a missing line. */
	if (!handlers[m->id]) {
		lb_rpc_client_reply_error(c, id, LB_RPC_INTERNAL_ERROR,
					  "internal error: lbd has no handler for this method",
					  json_pack("{s:s}", "method", m->name));
		return;
	}
	ret = handlers[m->id](l, &call, params, &result, &e);
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

int lbd_rpc_no_proxy(struct lbd_rpc_err *e, const char *name)
{
	return lbd_rpc_fail(e, LB_RPC_NOT_FOUND,
			    json_pack("{s:s, s:s}", "kind", "proxy", "name", name),
			    "no proxy named \"%s\" (lbctl list-proxies shows them)", name);
}

int lbd_rpc_list_routes(struct lbd *l, json_t *params, size_t (*count)(const struct lb_proxy_cfg *),
			json_t *(*route)(const struct lb_proxy_cfg *, size_t), json_t **result,
			struct lbd_rpc_err *e)
{
	const char *only = json_string_value(json_object_get(params, "proxy"));
	json_t *arr;
	size_t i, r;

	if (only && !lbd_find_proxy(l->cfg, only))
		return lbd_rpc_no_proxy(e, only);
	arr = json_array();
	for (i = 0; i < l->cfg->n_proxies; i++) {
		const struct lb_proxy_cfg *p = &l->cfg->proxies[i];

		if (only && strcmp(only, p->name))
			continue;
		for (r = 0; r < count(p); r++)
			json_array_append_new(arr, route(p, r));
	}
	*result = json_pack("{s:o}", "routes", arr);
	return 0;
}

/* "proxies[1].default-target: weights ..." -> "proxies[1].default-target" */
json_t *lbd_rpc_path_of(const char *msg)
{
	const char *colon = strstr(msg, ": ");

	if (!colon || memchr(msg, ' ', colon - msg))
		return json_object();
	return json_pack("{s:s%}", "path", msg, (size_t)(colon - msg));
}

int lbd_rpc_apply(struct lbd *l, struct lb_config *next, struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];
	int ret = lbd_apply(l, next, err, sizeof(err));

	if (!ret)
		return 0;
	lb_config_free(next);
	if (ret == -EINVAL)
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	if (ret == -ENODEV)
		return lbd_rpc_fail(e, LB_RPC_NOT_FOUND, json_pack("{s:s}", "kind", "interface"),
				    "%s", err);
	return lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", -ret), "%s", err);
}

const char *lbd_proxy_name(const struct lbd *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->ids.proxies.n; i++)
		if (l->ids.proxies.ids[i] == id)
			return (const char *)l->ids.proxies.keys + i * LB_PROXY_NAME_MAX;
	return "?";
}

static const char *xdp_mode_of(unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return "unknown";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_NONE:
		return "none";
	default:
		return "other";
	}
}

struct live_count {
	uint64_t total;
};

static int count_live(const struct lb_flow_view *f, void *arg)
{
	struct live_count *c = arg;

	c->total += f->live && !f->expired;
	return 0;
}

/*
 * Live flows (a scan of both conntrack tables, not the last sweep's figure). A scan costs
 * time in proportion to the tables (~1 ms per 10k flows), so a scan is reused while it is
 * younger than LIVE_REUSE times what it cost: a monitor calling status in a loop gets a
 * figure at most ~10 ms old on small tables, and lbd spends at most ~1/LIVE_REUSE of its
 * time scanning however large the tables are. Negative on error.
 */
#define LIVE_REUSE 10

static int64_t live_flows(struct lbd *l)
{
	struct lb_sweep_timeouts t = {l->cfg->settings.connection_timeout_sec,
				      l->cfg->settings.udp_timeout_sec};
	struct live_count c = {0};
	uint64_t start = uv_hrtime();
	int ret;

	if (l->live_scan.at_ns && start - l->live_scan.at_ns < LIVE_REUSE * l->live_scan.cost_ns)
		return l->live_scan.count;
	ret = lb_ct_scan(l->dp, &t, count_live, &c);
	if (ret)
		return ret;
	l->live_scan.at_ns = uv_hrtime();
	l->live_scan.cost_ns = l->live_scan.at_ns - start;
	l->live_scan.count = (int64_t)c.total;
	return l->live_scan.count;
}

/* The interfaces with the hook their requests run at: [{"name", "ingress", "xdp-mode"}]. */
static json_t *hooks_json(struct lbd *l)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < l->dp->n_ifaces; i++)
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s}", "name", l->dp->ifaces[i].name, "ingress",
				       lb_dataplane_hook_name(l->dp->ifaces[i].hook), "xdp-mode",
				       xdp_mode_of(l->dp->ifaces[i].ifindex)));
	return arr;
}

int lbd_rpc_set_ingress(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e)
{
	const char *mode = json_string_value(json_object_get(params, "mode"));
	struct lb_config *next;
	enum lb_ingress in;

	if (lb_ingress_from_name(mode, &in))
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "mode"),
				    "mode: \"%s\" is not an ingress hook (expected \"auto\", "
				    "\"xdp\" or \"tc\")",
				    mode);
	next = lb_config_dup(l->cfg);
	if (!next)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	next->settings.ingress = in;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:s, s:o}", "ingress", lb_ingress_name(in), "interfaces",
			    hooks_json(l));
	return 0;
}

int lbd_rpc_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e)
{
	json_t *ifaces = json_array(), *proxies = json_array(), *r;
	int64_t live = live_flows(l);
	size_t i;

	for (i = 0; i < l->dp->n_ifaces; i++)
		json_array_append_new(
			ifaces, json_pack("{s:s, s:i, s:s, s:s}", "name", l->dp->ifaces[i].name,
					  "ifindex", (int)l->dp->ifaces[i].ifindex, "ingress",
					  lb_dataplane_hook_name(l->dp->ifaces[i].hook), "xdp-mode",
					  xdp_mode_of(l->dp->ifaces[i].ifindex)));
	for (i = 0; i < l->cfg->n_proxies; i++)
		json_array_append_new(proxies, json_string(l->cfg->proxies[i].name));
	r = json_pack("{s:s, s:i, s:i, s:I, s:s?, s:s, s:s, s:s, s:b, s:o, s:o, s:I}", "version",
		      LBD_VERSION, "abi", LB_ABI_VERSION, "pid", (int)getpid(), "uptime-sec",
		      (json_int_t)(lbd_uptime_ms(l) / 1000), "config-file", l->args.config_path,
		      "instance", l->args.instance, "pin-dir", l->dp->pin_dir, "socket",
		      l->socket_path, "stats-enabled", l->cfg->settings.stats_enabled, "interfaces",
		      ifaces, "proxies", proxies, "connections", (json_int_t)(live < 0 ? 0 : live));
	if (!r)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	*result = r;
	return 0;
}

int lbd_rpc_version(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e)
{
	*result = json_pack("{s:s, s:i}", "version", LBD_VERSION, "abi", LB_ABI_VERSION);
	return 0;
}

int lbd_rpc_get_config(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		       struct lbd_rpc_err *e)
{
	*result = lb_config_to_json(l->cfg);
	if (!*result)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	return 0;
}

int lbd_rpc_reload(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];
	int ret = lbd_reload(l, err, sizeof(err));

	if (ret == -ENOENT && !l->args.config_path)
		return lbd_rpc_fail(e, LB_RPC_UNAVAILABLE, json_object(), "%s", err);
	if (ret == -EINVAL || ret == -ENOENT || ret == -EACCES)
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	if (ret == -ENODEV)
		return lbd_rpc_fail(e, LB_RPC_NOT_FOUND, json_pack("{s:s}", "kind", "interface"),
				    "%s", err);
	if (ret)
		return lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", -ret), "%s",
				    err);
	*result = json_pack("{s:b, s:s, s:i}", "reloaded", 1, "config-file", l->args.config_path,
			    "proxies", (int)l->cfg->n_proxies);
	return 0;
}
