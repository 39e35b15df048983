// SPDX-License-Identifier: MIT
/* SNI route methods: add-sni-route, remove-sni-route, list-sni-routes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods.h"

static const struct lb_sni_route_cfg *find_route(const struct lb_proxy_cfg *p, const char *host)
{
	size_t i;

	for (i = 0; i < p->n_sni_routes; i++)
		if (!strcmp(p->sni_routes[i].hostname, host))
			return &p->sni_routes[i];
	return NULL;
}

static json_t *route_json(const char *proxy, const struct lb_sni_route_cfg *r)
{
	return json_pack("{s:s, s:s, s:o}", "proxy", proxy, "hostname", r->hostname, "targets",
			 lb_config_group_to_json(&r->group));
}

/* The "hostname" parameter, checked and normalised like the configuration's. */
static int hostname_param(json_t *params, struct lb_sni_route_cfg *r, struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];

	if (lb_sni_hostname_parse(json_string_value(json_object_get(params, "hostname")), r, err,
				  sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS,
				    json_pack("{s:s}", "field", "hostname"), "hostname: %s", err);
	return 0;
}

int lbd_rpc_add_sni_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e)
{
	const char *name = json_string_value(json_object_get(params, "proxy"));
	struct lb_proxy_cfg *p = lb_config_find_proxy(l->cfg, name);
	struct lb_sni_route_cfg route = {0}, *grown;
	struct lb_config *next;
	char err[LB_ERR_MAX];

	if (!p)
		return lbd_rpc_no_proxy(e, name);
	if (hostname_param(params, &route, e))
		return -1;
	if (find_route(p, route.hostname))
		return lbd_rpc_fail(
			e, LB_RPC_EXISTS,
			json_pack("{s:s, s:s}", "kind", "sni-route", "name", route.hostname),
			"proxy \"%s\" already routes %s; remove that route first", name,
			route.hostname);
	if (lb_config_group_from_json(json_object_get(params, "targets"), &l->cfg->settings,
				      "targets", &route.group, err, sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	next = lbd_rpc_dup_config(l, e);
	if (!next) {
		lb_group_cfg_release(&route.group);
		return -1;
	}
	p = lb_config_find_proxy(next, name);
	grown = realloc(p->sni_routes, (p->n_sni_routes + 1) * sizeof(*grown));
	if (!grown) {
		lb_config_free(next);
		lb_group_cfg_release(&route.group);
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	}
	p->sni_routes = grown;
	p->sni_routes[p->n_sni_routes++] = route;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = route_json(name, find_route(lb_config_find_proxy(l->cfg, name), route.hostname));
	return 0;
}

int lbd_rpc_remove_sni_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e)
{
	const char *name = json_string_value(json_object_get(params, "proxy"));
	struct lb_proxy_cfg *p = lb_config_find_proxy(l->cfg, name);
	struct lb_sni_route_cfg route = {0};
	struct lb_config *next;
	size_t i;

	if (!p)
		return lbd_rpc_no_proxy(e, name);
	if (hostname_param(params, &route, e))
		return -1;
	if (!find_route(p, route.hostname))
		return lbd_rpc_fail(
			e, LB_RPC_NOT_FOUND,
			json_pack("{s:s, s:s}", "kind", "sni-route", "name", route.hostname),
			"proxy \"%s\" has no SNI route for %s", name, route.hostname);
	next = lbd_rpc_dup_config(l, e);
	if (!next)
		return -1;
	p = lb_config_find_proxy(next, name);
	i = find_route(p, route.hostname) - p->sni_routes;
	lb_group_cfg_release(&p->sni_routes[i].group);
	memmove(&p->sni_routes[i], &p->sni_routes[i + 1],
		(p->n_sni_routes - i - 1) * sizeof(p->sni_routes[0]));
	p->n_sni_routes--;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:s, s:s, s:b}", "proxy", name, "hostname", route.hostname, "removed",
			    1);
	return 0;
}

static size_t n_sni_routes(const struct lb_proxy_cfg *p)
{
	return p->n_sni_routes;
}

static json_t *sni_route_at(const struct lb_proxy_cfg *p, size_t i)
{
	return route_json(p->name, &p->sni_routes[i]);
}

int lbd_rpc_list_sni_routes(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			    struct lbd_rpc_err *e)
{
	return lbd_rpc_list_routes(l, params, n_sni_routes, sni_route_at, result, e);
}
