// SPDX-License-Identifier: MIT
/*
 * Methods that change or list proxies, source routes, interfaces and weights. Each mutation
 * copies the running configuration, changes the copy, and hands it to lbd_apply(): the
 * copy is validated whole, and the running state changes only if everything succeeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "methods.h"

static const char *str_param(json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

/* A proxy as configured, plus its live flows. */
static json_t *proxy_json(struct lbd *l, const struct lb_proxy_cfg *p)
{
	json_t *j = lb_config_proxy_to_json(p);
	json_t *acc = l->sni ? lb_sni_stats_json(l->sni, p->name) : NULL;
	const struct lb_model_proxy *mp = lb_model_find(l->model, p->name);
	const struct lb_live *live = lbd_live(l, true);

	/* get-config leaves the default out; the listing always says it. */
	if (j && !json_object_get(j, "forwarding"))
		json_object_set_new(j, "forwarding",
				    json_string(lb_forwarding_name(p->forwarding)));
	if (j && !json_object_get(j, "selection"))
		json_object_set_new(j, "selection", json_string(lb_selection_name(p->selection)));
	if (j && live && mp)
		json_object_set_new(j, "connections", json_integer(live->per_proxy[mp->id]));
	/* Connections spliced by the SNI acceptor are lbd's own: its counters say how many. */
	if (j && acc)
		json_object_set_new(j, "sni-acceptor", acc);
	else
		json_decref(acc);
	return j;
}

int lbd_rpc_list_proxies(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < l->cfg->n_proxies; i++)
		json_array_append_new(arr, proxy_json(l, &l->cfg->proxies[i]));
	*result = json_pack("{s:o}", "proxies", arr);
	return 0;
}

/*
 * Where add-proxy's messages start: the proxy by its name, as every change made at run time
 * names it (lbd_apply()), or "proxy" (the parameter) while it has no name to go by.
 */
static const char *new_proxy_path(json_t *proxy, char *buf, size_t len)
{
	const char *name = json_string_value(json_object_get(proxy, "name"));

	if (!name || !*name || strlen(name) >= LB_PROXY_NAME_MAX)
		return "proxy";
	return lb_config_proxy_path(name, 0, LB_CFG_BY_NAME, NULL, buf, len);
}

int lbd_rpc_add_proxy(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		      struct lbd_rpc_err *e)
{
	json_t *proxy = json_object_get(params, "proxy");
	struct lb_proxy_cfg pc = {0}, *grown;
	struct lb_config *next;
	char err[LB_ERR_MAX], where[LB_PROXY_NAME_MAX + 16];

	if (lb_config_proxy_from_json(proxy, &l->cfg->settings,
				      new_proxy_path(proxy, where, sizeof(where)), &pc, err,
				      sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	if (lb_config_find_proxy(l->cfg, pc.name)) {
		lbd_rpc_fail(e, LB_RPC_EXISTS,
			     json_pack("{s:s, s:s}", "kind", "proxy", "name", pc.name),
			     "a proxy named \"%s\" already exists; remove it first", pc.name);
		lb_proxy_cfg_release(&pc);
		return -1;
	}
	next = lbd_rpc_dup_config(l, e);
	grown = next ? realloc(next->proxies, (next->n_proxies + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		lb_proxy_cfg_release(&pc);
		lb_config_free(next);
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	}
	next->proxies = grown;
	next->proxies[next->n_proxies++] = pc; /* the configuration owns its routes now */
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:o}", "proxy", proxy_json(l, lb_config_find_proxy(l->cfg, pc.name)));
	return 0;
}

int lbd_rpc_remove_proxy(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e)
{
	const char *name = str_param(params, "proxy");
	struct lb_config *next;
	char removed[LB_PROXY_NAME_MAX];
	size_t i;

	if (!lb_config_find_proxy(l->cfg, name))
		return lbd_rpc_no_proxy(e, name);
	snprintf(removed, sizeof(removed), "%s", name);
	next = lbd_rpc_dup_config(l, e);
	if (!next)
		return -1;
	for (i = 0; i < next->n_proxies; i++)
		if (!strcmp(next->proxies[i].name, removed))
			break;
	lb_proxy_cfg_release(&next->proxies[i]);
	memmove(&next->proxies[i], &next->proxies[i + 1],
		(next->n_proxies - i - 1) * sizeof(next->proxies[0]));
	next->n_proxies--;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:s}", "removed", removed);
	return 0;
}

/* Parse the "source" parameter into (addr, prefix_len). */
static int source_param(json_t *params, struct lb_ip *addr, uint8_t *plen, struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];

	if (lb_parse_cidr(str_param(params, "source"), addr, plen, err, sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "source"),
				    "source: %s", err);
	return 0;
}

static struct lb_route_cfg *find_route(const struct lb_proxy_cfg *p, const struct lb_ip *addr,
				       uint8_t plen)
{
	size_t i;

	for (i = 0; i < p->n_routes; i++)
		if (lb_ip_eq(&p->routes[i].addr, addr) && p->routes[i].prefix_len == plen)
			return &p->routes[i];
	return NULL;
}

static json_t *route_json(const char *proxy, const struct lb_route_cfg *r)
{
	char cidr[LB_TARGET_STR_MAX];

	return json_pack("{s:s, s:s, s:o}", "proxy", proxy, "source",
			 lb_format_cidr(&r->addr, r->prefix_len, cidr), "targets",
			 lb_config_group_to_json(&r->group));
}

static void release_routes(struct lb_route_cfg *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		lb_group_cfg_release(&r[i].group);
}

/*
 * Apply the running configuration plus the @n routes @add (checked) of proxy @name. Their
 * groups go with them, whatever the outcome: the caller frees only @add itself, and reads
 * a group (in the running configuration now) only on success.
 */
static int apply_with_routes(struct lbd *l, const char *name, const struct lb_route_cfg *add,
			     size_t n, struct lbd_rpc_err *e)
{
	struct lb_config *next = lbd_rpc_dup_config(l, e);
	struct lb_route_cfg *grown;
	struct lb_proxy_cfg *p;

	if (!next) {
		release_routes((struct lb_route_cfg *)add, n);
		return -1;
	}
	p = lb_config_find_proxy(next, name);
	grown = realloc(p->routes, (p->n_routes + n) * sizeof(*grown));
	if (!grown) {
		lb_config_free(next);
		release_routes((struct lb_route_cfg *)add, n);
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	}
	p->routes = grown;
	memcpy(&p->routes[p->n_routes], add, n * sizeof(*add));
	p->n_routes += n;
	return lbd_rpc_apply(l, next, e);
}

int lbd_rpc_add_source_route(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e)
{
	const char *name = str_param(params, "proxy");
	struct lb_route_cfg route = {0};
	struct lb_proxy_cfg *p = lb_config_find_proxy(l->cfg, name);
	char err[LB_ERR_MAX], cidr[LB_TARGET_STR_MAX];

	if (!p)
		return lbd_rpc_no_proxy(e, name);
	if (source_param(params, &route.addr, &route.prefix_len, e))
		return -1;
	lb_format_cidr(&route.addr, route.prefix_len, cidr);
	if (find_route(p, &route.addr, route.prefix_len))
		return lbd_rpc_fail(e, LB_RPC_EXISTS,
				    json_pack("{s:s, s:s}", "kind", "source-route", "name", cidr),
				    "proxy \"%s\" already routes %s; remove that route first, or "
				    "change its weights with set-weights",
				    name, cidr);
	if (lb_config_group_from_json(json_object_get(params, "targets"), &l->cfg->settings,
				      "targets", &route.group, err, sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	if (apply_with_routes(l, name, &route, 1, e))
		return -1;
	*result = route_json(name, &route);
	return 0;
}

/* Element @i of add-source-routes' "routes": {"source": CIDR, "targets": TARGETS}. */
static int batch_route(struct lbd *l, json_t *j, size_t i, struct lb_route_cfg *out,
		       struct lbd_rpc_err *e)
{
	char where[48], err[LB_ERR_MAX];
	const char *key, *source;
	json_t *v;

	snprintf(where, sizeof(where), "routes[%zu]", i);
	json_object_foreach (j, key, v)
		if (strcmp(key, "source") && strcmp(key, "targets"))
			return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS,
					    json_pack("{s:s}", "field", where),
					    "%s: unknown member \"%s\" (a route has \"source\" and "
					    "\"targets\")",
					    where, key);
	source = json_string_value(json_object_get(j, "source"));
	snprintf(where, sizeof(where), "routes[%zu].source", i);
	if (!source)
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", where),
				    "%s: missing, or not a string (an address or CIDR)", where);
	if (lb_parse_cidr(source, &out->addr, &out->prefix_len, err, sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", where),
				    "%s: %s", where, err);
	snprintf(where, sizeof(where), "routes[%zu].targets", i);
	if (lb_config_group_from_json(json_object_get(j, "targets"), &l->cfg->settings, where,
				      &out->group, err, sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	return 0;
}

/* A prefix of the proxy (at 0) or of the batch (at i + 1), for finding repeats by sorting. */
struct route_ref {
	struct lb_ip addr;
	uint8_t prefix_len;
	size_t at;
};

static int cmp_route_ref(const void *a, const void *b)
{
	const struct route_ref *x = a, *y = b;
	int c;

	if (x->prefix_len != y->prefix_len)
		return x->prefix_len < y->prefix_len ? -1 : 1;
	c = memcmp(&x->addr, &y->addr, sizeof(x->addr));
	if (c)
		return c;
	return (x->at > y->at) - (x->at < y->at);
}

/*
 * The first route of the batch @add (@n) whose prefix @p routes already or an earlier
 * route of the batch repeats: -32002 or -32602 naming it. Sorting keeps this O(n log n)
 * for batches of thousands.
 */
static int batch_repeats(const struct lb_proxy_cfg *p, const struct lb_route_cfg *add, size_t n,
			 struct lbd_rpc_err *e)
{
	struct route_ref *refs = calloc(p->n_routes + n, sizeof(*refs));
	size_t i, first = 0, bad = SIZE_MAX, orig = 0;
	char cidr[LB_TARGET_STR_MAX], field[48];

	if (!refs)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	for (i = 0; i < p->n_routes; i++)
		refs[i] = (struct route_ref){p->routes[i].addr, p->routes[i].prefix_len, 0};
	for (i = 0; i < n; i++)
		refs[p->n_routes + i] = (struct route_ref){add[i].addr, add[i].prefix_len, i + 1};
	qsort(refs, p->n_routes + n, sizeof(*refs), cmp_route_ref);
	for (i = 1; i < p->n_routes + n; i++) {
		if (!lb_ip_eq(&refs[i].addr, &refs[first].addr) ||
		    refs[i].prefix_len != refs[first].prefix_len) {
			first = i;
			continue;
		}
		if (refs[i].at && refs[i].at - 1 < bad) {
			bad = refs[i].at - 1;
			orig = refs[first].at;
		}
	}
	free(refs);
	if (bad == SIZE_MAX)
		return 0;
	lb_format_cidr(&add[bad].addr, add[bad].prefix_len, cidr);
	if (orig == 0)
		return lbd_rpc_fail(
			e, LB_RPC_EXISTS,
			json_pack("{s:s, s:s}", "kind", "source-route", "name", cidr),
			"routes[%zu].source: proxy \"%s\" already routes %s; remove that "
			"route first, or change its weights with set-weights",
			bad, p->name, cidr);
	snprintf(field, sizeof(field), "routes[%zu].source", bad);
	return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", field),
			    "%s: %s is given twice (also routes[%zu])", field, cidr, orig - 1);
}

/*
 * lbd_apply() names a route by its place in the proxy, `proxy "web": source-routes[K]`; the
 * caller knows the new ones as "routes[K - @n_before]".
 */
static void batch_error_path(struct lbd_rpc_err *e, const char *proxy, size_t n_before)
{
	char prefix[LB_PROXY_NAME_MAX + 64], rest[LB_ERR_MAX - 32];
	size_t len, k;
	int used = 0;

	len = strlen(lb_config_proxy_path(proxy, 0, LB_CFG_BY_NAME, "source-routes[", prefix,
					  sizeof(prefix)));
	if (e->code != LB_RPC_CONFIG_INVALID || strncmp(e->msg, prefix, len) ||
	    sscanf(e->msg + len, "%zu]%n", &k, &used) != 1 || !used || k < n_before)
		return;
	snprintf(rest, sizeof(rest), "%s", e->msg + len + used);
	snprintf(e->msg, sizeof(e->msg), "routes[%zu]%s", k - n_before, rest);
	json_decref(e->data);
	e->data = lbd_rpc_path_of(e->msg);
}

int lbd_rpc_add_source_routes(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e)
{
	const char *name = str_param(params, "proxy");
	json_t *routes = json_object_get(params, "routes"), *j;
	struct lb_proxy_cfg *p = lb_config_find_proxy(l->cfg, name);
	size_t n = json_array_size(routes), i;
	struct lb_route_cfg *add;
	int ret = -1;

	if (!p)
		return lbd_rpc_no_proxy(e, name);
	if (n == 0)
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "routes"),
				    "routes: give at least one route");
	add = calloc(n, sizeof(*add));
	if (!add)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	json_array_foreach (routes, i, j)
		if (batch_route(l, j, i, &add[i], e)) {
			release_routes(add, i);
			goto free_add;
		}
	if (batch_repeats(p, add, n, e)) {
		release_routes(add, n);
		goto free_add;
	}
	/* A refused change leaves the running configuration as it is: p still describes it. */
	if (apply_with_routes(l, name, add, n, e)) {
		batch_error_path(e, name, p->n_routes);
		goto free_add;
	}
	p = lb_config_find_proxy(l->cfg, name);
	*result = json_pack("{s:s, s:I, s:I}", "proxy", name, "added", (json_int_t)n,
			    "total-routes", (json_int_t)p->n_routes);
	ret = 0;
free_add:
	free(add);
	return ret;
}

int lbd_rpc_remove_source_route(struct lbd *l, struct lbd_call *call, json_t *params,
				json_t **result, struct lbd_rpc_err *e)
{
	const char *name = str_param(params, "proxy");
	struct lb_proxy_cfg *p = lb_config_find_proxy(l->cfg, name);
	struct lb_config *next;
	struct lb_route_cfg *r;
	char cidr[LB_TARGET_STR_MAX];
	struct lb_ip addr;
	uint8_t plen;
	size_t i;

	if (!p)
		return lbd_rpc_no_proxy(e, name);
	if (source_param(params, &addr, &plen, e))
		return -1;
	lb_format_cidr(&addr, plen, cidr);
	if (!find_route(p, &addr, plen))
		return lbd_rpc_fail(e, LB_RPC_NOT_FOUND,
				    json_pack("{s:s, s:s}", "kind", "source-route", "name", cidr),
				    "proxy \"%s\" has no source route for %s", name, cidr);
	next = lbd_rpc_dup_config(l, e);
	if (!next)
		return -1;
	p = lb_config_find_proxy(next, name);
	r = find_route(p, &addr, plen);
	i = r - p->routes;
	lb_group_cfg_release(&r->group);
	memmove(&p->routes[i], &p->routes[i + 1], (p->n_routes - i - 1) * sizeof(*r));
	p->n_routes--;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:s, s:s, s:b}", "proxy", name, "source", cidr, "removed", 1);
	return 0;
}

static size_t n_source_routes(const struct lb_proxy_cfg *p)
{
	return p->n_routes;
}

static json_t *source_route_at(const struct lb_proxy_cfg *p, size_t i)
{
	return route_json(p->name, &p->routes[i]);
}

int lbd_rpc_list_source_routes(struct lbd *l, struct lbd_call *call, json_t *params,
			       json_t **result, struct lbd_rpc_err *e)
{
	return lbd_rpc_list_routes(l, params, n_source_routes, source_route_at, result, e);
}

static json_t *interfaces_result(const struct lb_config *cfg, const char *only)
{
	json_t *arr = json_array();
	size_t i, k;

	for (i = 0; i < cfg->n_proxies; i++) {
		json_t *names = json_array();

		if (only && strcmp(only, cfg->proxies[i].name)) {
			json_decref(names);
			continue;
		}
		for (k = 0; k < cfg->proxies[i].n_ifaces; k++)
			json_array_append_new(names, json_string(cfg->proxies[i].ifaces[k]));
		json_array_append_new(arr, json_pack("{s:s, s:o}", "name", cfg->proxies[i].name,
						     "interfaces", names));
	}
	return json_pack("{s:o}", "proxies", arr);
}

static int iface_index(const struct lb_proxy_cfg *p, const char *name)
{
	size_t k;

	for (k = 0; k < p->n_ifaces; k++)
		if (!strcmp(p->ifaces[k], name))
			return (int)k;
	return -1;
}

/* attach (@add) or detach the "interfaces" on the "proxy" (or every proxy). */
static int change_interfaces(struct lbd *l, json_t *params, bool add, json_t **result,
			     struct lbd_rpc_err *e)
{
	const char *only = str_param(params, "proxy");
	json_t *names = json_object_get(params, "interfaces"), *v;
	struct lb_config *next;
	size_t i, k;

	if (only && !lb_config_find_proxy(l->cfg, only))
		return lbd_rpc_no_proxy(e, only);
	if (json_array_size(names) == 0)
		return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS,
				    json_pack("{s:s}", "field", "interfaces"),
				    "interfaces: give at least one interface name");
	next = lbd_rpc_dup_config(l, e);
	if (!next)
		return -1;
	for (i = 0; i < next->n_proxies; i++) {
		struct lb_proxy_cfg *p = &next->proxies[i];

		if (only && strcmp(only, p->name))
			continue;
		json_array_foreach (names, k, v) {
			const char *ifname = json_string_value(v);
			int at = iface_index(p, ifname);

			if (add && at < 0) {
				if (p->n_ifaces == LB_MAX_IFACES_PER_PROXY ||
				    strlen(ifname) >= IF_NAMESIZE) {
					lb_config_free(next);
					return lbd_rpc_fail(
						e, LB_RPC_CONFIG_INVALID, json_object(),
						"proxy \"%s\": cannot add interface \"%s\" (at most %d "
						"interfaces of at most %d characters)",
						p->name, ifname, LB_MAX_IFACES_PER_PROXY,
						IF_NAMESIZE - 1);
				}
				snprintf(p->ifaces[p->n_ifaces++], IF_NAMESIZE, "%s", ifname);
			} else if (!add && at >= 0) {
				memmove(p->ifaces[at], p->ifaces[at + 1],
					(p->n_ifaces - at - 1) * IF_NAMESIZE);
				p->n_ifaces--;
			} else if (!add && only) {
				lb_config_free(next);
				return lbd_rpc_fail(e, LB_RPC_NOT_FOUND,
						    json_pack("{s:s, s:s}", "kind", "interface",
							      "name", ifname),
						    "proxy \"%s\" does not listen on %s", only,
						    ifname);
			}
		}
		if (p->n_ifaces == 0) {
			lbd_rpc_fail(
				e, LB_RPC_CONFIG_INVALID,
				json_pack("{s:s}", "path", "listen.interfaces"),
				"proxy \"%s\" would be left without interfaces; remove the proxy "
				"instead",
				p->name);
			lb_config_free(next);
			return -1;
		}
	}
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = interfaces_result(l->cfg, only);
	return 0;
}

int lbd_rpc_attach_interfaces(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e)
{
	return change_interfaces(l, params, true, result, e);
}

int lbd_rpc_detach_interfaces(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			      struct lbd_rpc_err *e)
{
	return change_interfaces(l, params, false, result, e);
}

/* The same backends (ip:port), in any order? Names the first one that differs in @err. */
static int same_members(const struct lb_group_cfg *cur, const struct lb_group_cfg *nw, char *err,
			size_t errlen)
{
	char t[LB_TARGET_STR_MAX];
	size_t i, k;

	for (i = 0; i < nw->n; i++) {
		for (k = 0; k < cur->n; k++)
			if (lb_ip_eq(&cur->t[k].addr, &nw->t[i].addr) &&
			    cur->t[k].port == nw->t[i].port)
				break;
		if (k == cur->n) {
			snprintf(err, errlen,
				 "targets[%zu]: %s is not a member of this group (set-weights only "
				 "changes weights; add or remove targets with the route methods)",
				 i, lb_format_target(&nw->t[i].addr, nw->t[i].port, t));
			return -1;
		}
	}
	if (nw->n != cur->n) {
		snprintf(err, errlen,
			 "targets: the group has %zu targets, %zu were given; list every target "
			 "with its new weight",
			 cur->n, nw->n);
		return -1;
	}
	return 0;
}

int lbd_rpc_set_weights(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e)
{
	const char *name = str_param(params, "proxy");
	struct lb_proxy_cfg *p = lb_config_find_proxy(l->cfg, name);
	struct lb_group_cfg nw = {0}, *g;
	char err[LB_ERR_MAX], cidr[LB_TARGET_STR_MAX] = "default";
	struct lb_ip addr = {0};
	uint8_t plen = 0;
	bool routed = json_object_get(params, "source") != NULL;
	int ret;

	if (!p)
		return lbd_rpc_no_proxy(e, name);
	if (routed) {
		if (source_param(params, &addr, &plen, e))
			return -1;
		lb_format_cidr(&addr, plen, cidr);
		if (!find_route(p, &addr, plen))
			return lbd_rpc_fail(
				e, LB_RPC_NOT_FOUND,
				json_pack("{s:s, s:s}", "kind", "source-route", "name", cidr),
				"proxy \"%s\" has no source route for %s", name, cidr);
	}
	if (lb_config_group_from_json(json_object_get(params, "targets"), &l->cfg->settings,
				      "targets", &nw, err, sizeof(err)))
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	g = routed ? &find_route(p, &addr, plen)->group : &p->default_group;
	if (same_members(g, &nw, err, sizeof(err))) {
		lb_group_cfg_release(&nw);
		return lbd_rpc_fail(e, LB_RPC_CONFIG_INVALID, lbd_rpc_path_of(err), "%s", err);
	}

	/* Only the weights change: order and health-check settings stay the group's own. */
	ret = lbd_set_weights(l, name,
			      routed ? 1 + (size_t)(find_route(p, &addr, plen) - p->routes) : 0,
			      &nw, err, sizeof(err));
	lb_group_cfg_release(&nw);
	if (ret)
		return lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", -ret), "%s",
				    err);
	*result = json_pack("{s:s, s:s, s:o}", "proxy", name, "source", cidr, "targets",
			    lb_config_group_to_json(g));
	return 0;
}
