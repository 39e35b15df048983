// SPDX-License-Identifier: MIT
/* The methods about the daemon itself: status, version, get-config, reload, set-ingress. */
#include "attach.h"
#include "apply.h"
#include "methods.h"
#include "node.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

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
	next = lbd_rpc_dup_config(l, e);
	if (!next)
		return -1;
	next->settings.ingress = in;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:s, s:o}", "ingress", lb_ingress_name(in), "interfaces",
			    hooks_json(l));
	return 0;
}

/* @ifname is already a member "name" of one of @arr's objects. */
static bool listed(const json_t *arr, const char *ifname)
{
	const json_t *v;
	size_t i;

	json_array_foreach (arr, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")), ifname))
			return true;
	return false;
}

/*
 * The attached interfaces ("lingering" when no proxy uses one any more but flows may
 * still pass it: "flows" and "why" say which), then those the proxies name that are not
 * attached: "gone" (vanished since lbd attached it: attached again when it comes back), or
 * "unattached" (there, but lbd could not attach it; the log says why).
 */
static json_t *ifaces_json(struct lbd *l)
{
	const char *ifname, *state;
	json_t *arr = json_array();
	size_t i, p;

	for (i = 0; i < l->dp->n_ifaces; i++) {
		const struct lbd_linger *g = lbd_attach_lingering(l, l->dp->ifaces[i].name);
		json_t *v = json_pack("{s:s, s:i, s:s, s:s, s:s}", "name", l->dp->ifaces[i].name,
				      "ifindex", (int)l->dp->ifaces[i].ifindex, "ingress",
				      lb_dataplane_hook_name(l->dp->ifaces[i].hook), "xdp-mode",
				      xdp_mode_of(l->dp->ifaces[i].ifindex), "state",
				      g ? "lingering" : "attached");

		if (g) {
			json_object_set_new(v, "flows", json_integer((json_int_t)g->flows));
			json_object_set_new(v, "why", json_string(g->why));
		}
		json_array_append_new(arr, v);
	}
	for (p = 0; p < l->cfg->n_proxies; p++)
		for (i = 0; i < l->cfg->proxies[p].n_ifaces; i++) {
			ifname = l->cfg->proxies[p].ifaces[i];
			state = if_nametoindex(ifname) ? "unattached" : "gone";
			if (!listed(arr, ifname))
				json_array_append_new(arr, json_pack("{s:s, s:s}", "name", ifname,
								     "state", state));
		}
	return arr;
}

int lbd_rpc_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		   struct lbd_rpc_err *e)
{
	json_t *ifaces = ifaces_json(l), *proxies = json_array(), *r;
	const struct lb_live *live = lbd_live(l, true);
	size_t i;

	for (i = 0; i < l->cfg->n_proxies; i++)
		json_array_append_new(proxies, json_string(l->cfg->proxies[i].name));
	r = json_pack("{s:s, s:i, s:i, s:I, s:s?, s:s, s:s, s:s, s:b, s:o, s:o, s:I}", "version",
		      LBD_VERSION, "abi", LB_ABI_VERSION, "pid", (int)getpid(), "uptime-sec",
		      (json_int_t)(lbd_uptime_ms(l) / 1000), "config-file", l->args.config_path,
		      "instance", l->args.instance, "pin-dir", l->dp->pin_dir, "socket",
		      l->socket_path, "stats-enabled", l->cfg->settings.stats_enabled, "interfaces",
		      ifaces, "proxies", proxies, "connections",
		      (json_int_t)(live ? live->total : 0));
	if (r)
		json_object_set_new(r, "node", lbd_node_json(l));
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
