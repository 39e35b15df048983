// SPDX-License-Identifier: MIT
#include "call.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "lb_addr.h"
#include "lb_rpc.h"

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

	if (only && !lb_config_find_proxy(l->cfg, only))
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
json_t *lbd_rpc_path_of(const char *msg)
{
	const char *colon, *name_end;
	json_t *data = json_object();

	/* A proxy named by name (LB_CFG_BY_NAME): `proxy "api": listen.port: message`. */
	if (!strncmp(msg, "proxy \"", 7) && (name_end = strstr(msg + 7, "\": "))) {
		json_object_set_new(data, "proxy", json_stringn(msg + 7, name_end - (msg + 7)));
		msg = name_end + 3;
	}
	colon = strstr(msg, ": ");
	if (colon && !memchr(msg, ' ', colon - msg))
		json_object_set_new(data, "path", json_stringn(msg, colon - msg));
	return data;
}
int lbd_rpc_apply(struct lbd *l, struct lb_config *next, struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];
	int ret = lbd_apply(l, next, LB_CFG_BY_NAME, err, sizeof(err));

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
int lbd_rpc_target_param(struct lbd *l, json_t *params, const struct lb_proxy_cfg **p,
			 struct lb_ip *addr, uint16_t *port, struct lbd_rpc_err *e)
{
	const char *name = json_string_value(json_object_get(params, "proxy"));
	const char *target = json_string_value(json_object_get(params, "target"));
	struct lb_target_cfg tc;
	char err[LB_ERR_MAX];
	int has_weight = 0;

	*p = lb_config_find_proxy(l->cfg, name);
	if (!*p)
		return lbd_rpc_no_proxy(e, name);
	if (lb_parse_target(target, &tc, &has_weight, err, sizeof(err)) || has_weight)
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "target"),
				    "target: %s",
				    has_weight ? "give ip:port, without a weight" : err);
	if (lb_proxy_has_target(*p, &tc.addr, tc.port)) {
		*addr = tc.addr;
		*port = tc.port;
		return 0;
	}
	return lbd_rpc_fail(e, LB_RPC_NOT_FOUND,
			    json_pack("{s:s, s:s}", "kind", "target", "name", target),
			    "proxy \"%s\" has no target %s", name, target);
}

struct lb_config *lbd_rpc_dup_config(struct lbd *l, struct lbd_rpc_err *e)
{
	struct lb_config *next = lb_config_dup(l->cfg);

	if (!next)
		lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	return next;
}
