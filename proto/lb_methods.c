// SPDX-License-Identifier: MIT
/* The method table and its parameter schemas (see lb_rpc.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb_rpc.h"

#define P_END                        \
	{                            \
		NULL, 0, false, NULL \
	}

static const struct lb_param p_none[] = {P_END};

static const struct lb_param p_add_proxy[] = {
	{"proxy", LB_PT_OBJECT, true,
	 "the proxy, as an element of the configuration's \"proxies\""},
	P_END,
};

static const struct lb_param p_proxy_required[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	P_END,
};

static const struct lb_param p_proxy_optional[] = {
	{"proxy", LB_PT_STRING, false, "only this proxy"},
	P_END,
};

static const struct lb_param p_add_source_route[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"source", LB_PT_STRING, true, "client address or CIDR"},
	{"targets", LB_PT_TARGETS, true, "one target, or weighted targets summing to 100"},
	P_END,
};

static const struct lb_param p_add_source_routes[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"routes", LB_PT_OBJECTS, true,
	 "the routes, each {\"source\": CIDR, \"targets\": TARGETS}; added all or none"},
	P_END,
};

static const struct lb_param p_remove_source_route[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"source", LB_PT_STRING, true, "the route's client address or CIDR"},
	P_END,
};

static const struct lb_param p_interfaces[] = {
	{"interfaces", LB_PT_STRINGS, true, "interface names"},
	{"proxy", LB_PT_STRING, false, "only this proxy (default: every proxy)"},
	P_END,
};

static const struct lb_param p_set_weights[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"targets", LB_PT_TARGETS, true, "every target of the group with its new weight"},
	{"source", LB_PT_STRING, false, "the source route's CIDR (default: the default group)"},
	P_END,
};

static const struct lb_param p_connections[] = {
	{"proxy", LB_PT_STRING, false, "only this proxy"},
	{"target", LB_PT_STRING, false, "only flows to this backend (ip:port)"},
	{"client", LB_PT_STRING, false, "only clients in this address or CIDR"},
	{"limit", LB_PT_INT, false, "at most this many flows (default 100)"},
	P_END,
};

static const struct lb_param p_trace[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"client", LB_PT_STRING, true,
	 "the client: ip, ip:port, an IPv6 address, or [ipv6]:port (the port is its source port)"},
	{"port", LB_PT_INT, false,
	 "the client's source port, when the client is written without one (default 49152)"},
	{"protocol", LB_PT_STRING, false, "tcp or udp (default: the proxy's, tcp for both)"},
	{"interface", LB_PT_STRING, false,
	 "the listening interface the packet arrives on (default: the proxy's first)"},
	P_END,
};

static const struct lb_param p_set_ingress[] = {
	{"mode", LB_PT_STRING, true,
	 "auto (TC ingress on veth, native XDP elsewhere when the driver has it), xdp or tc"},
	P_END,
};

static const struct lb_param p_health[] = {
	{"proxy", LB_PT_STRING, false, "only this proxy"},
	{"follow", LB_PT_BOOL, false,
	 "after the reply, stream health-event notifications until the client disconnects"},
	P_END,
};

static const struct lb_param p_stats[] = {
	{"proxy", LB_PT_STRING, false, "only this proxy"},
	{"follow", LB_PT_BOOL, false,
	 "after the reply, stream stats-event notifications (connections opened and closed) "
	 "until the client disconnects"},
	P_END,
};

static const struct lb_param p_set_target_status[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"target", LB_PT_STRING, true, "the target, ip:port"},
	{"status", LB_PT_STRING, true, "healthy, unhealthy, or auto (clear the override)"},
	P_END,
};

static const struct lb_param p_target[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"target", LB_PT_STRING, true, "the target, ip:port"},
	P_END,
};

static const struct lb_param p_drain[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"target", LB_PT_STRING, true, "the target, ip:port"},
	{"timeout-ms", LB_PT_INT, false,
	 "give up after this long (default: settings.default-drain-timeout-ms)"},
	{"wait", LB_PT_BOOL, false,
	 "reply only when the drain ends, with drain-progress notifications meanwhile"},
	P_END,
};

static const struct lb_param p_drain_status[] = {
	{"proxy", LB_PT_STRING, false, "only this proxy"},
	{"target", LB_PT_STRING, false, "only this target, ip:port"},
	P_END,
};

/* lbctl's options: lbctl waits by polling node-status; lbd accepts and ignores them. */
static const struct lb_param p_node_drain[] = {
	{"timeout-ms", LB_PT_INT, false, "lbctl --wait gives up after this long (lbd ignores it)"},
	{"wait", LB_PT_BOOL, false,
	 "lbctl polls node-status until no flow is left (lbd ignores it)"},
	P_END,
};

static const struct lb_param p_add_sni_route[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"hostname", LB_PT_STRING, true, "server name: api.example.com, or *.example.com"},
	{"targets", LB_PT_TARGETS, true, "one target, or weighted targets summing to 100"},
	P_END,
};

static const struct lb_param p_remove_sni_route[] = {
	{"proxy", LB_PT_STRING, true, "proxy name"},
	{"hostname", LB_PT_STRING, true, "the route's server name (case does not matter)"},
	P_END,
};

#define LB_X_TABLE(id, name, mutates, summary) \
	[LB_M_##id] = {LB_M_##id, name, mutates, summary, NULL},
const struct lb_method lb_methods[LB_M_COUNT] = {LB_METHOD_LIST(LB_X_TABLE)};
#undef LB_X_TABLE

/* Parameters per method; kept apart from the X-list so the list stays one line each. */
static const struct lb_param *const method_params[LB_M_COUNT] = {
	[LB_M_STATUS] = p_none,
	[LB_M_VERSION] = p_none,
	[LB_M_GET_CONFIG] = p_none,
	[LB_M_LIST_PROXIES] = p_none,
	[LB_M_ADD_PROXY] = p_add_proxy,
	[LB_M_REMOVE_PROXY] = p_proxy_required,
	[LB_M_ADD_SOURCE_ROUTE] = p_add_source_route,
	[LB_M_ADD_SOURCE_ROUTES] = p_add_source_routes,
	[LB_M_REMOVE_SOURCE_ROUTE] = p_remove_source_route,
	[LB_M_LIST_SOURCE_ROUTES] = p_proxy_optional,
	[LB_M_ATTACH_INTERFACES] = p_interfaces,
	[LB_M_DETACH_INTERFACES] = p_interfaces,
	[LB_M_SET_INGRESS] = p_set_ingress,
	[LB_M_SET_WEIGHTS] = p_set_weights,
	[LB_M_CONNECTIONS] = p_connections,
	[LB_M_CONNECTION_COUNT] = p_proxy_optional,
	[LB_M_CONNECTION_STATS] = p_proxy_optional,
	[LB_M_TRACE] = p_trace,
	[LB_M_RELOAD] = p_none,
	[LB_M_HEALTH] = p_health,
	[LB_M_SET_TARGET_STATUS] = p_set_target_status,
	[LB_M_FORCE_CHECK] = p_target,
	[LB_M_ENABLE_HEALTH_CHECKS] = p_none,
	[LB_M_DISABLE_HEALTH_CHECKS] = p_none,
	[LB_M_DRAIN] = p_drain,
	[LB_M_UNDRAIN] = p_target,
	[LB_M_DRAIN_STATUS] = p_drain_status,
	[LB_M_NODE_DRAIN] = p_node_drain,
	[LB_M_NODE_UNDRAIN] = p_none,
	[LB_M_NODE_STATUS] = p_none,
	[LB_M_ADD_SNI_ROUTE] = p_add_sni_route,
	[LB_M_REMOVE_SNI_ROUTE] = p_remove_sni_route,
	[LB_M_LIST_SNI_ROUTES] = p_proxy_optional,
	[LB_M_STATS] = p_stats,
	[LB_M_ENABLE_STATS] = p_none,
	[LB_M_DISABLE_STATS] = p_none,
	[LB_M_METRICS] = p_none,
};

const struct lb_param *lb_method_params(const struct lb_method *m)
{
	return method_params[m->id] ? method_params[m->id] : p_none;
}

const struct lb_method *lb_method_find(const char *name)
{
	size_t i;

	for (i = 0; i < LB_M_COUNT; i++)
		if (!strcmp(lb_methods[i].name, name))
			return &lb_methods[i];
	return NULL;
}

const char *lb_ptype_name(enum lb_ptype t)
{
	switch (t) {
	case LB_PT_STRING:
		return "a string";
	case LB_PT_INT:
		return "an integer";
	case LB_PT_BOOL:
		return "a boolean";
	case LB_PT_STRINGS:
		return "an array of strings";
	case LB_PT_TARGETS:
		return "an array of targets (\"ip:port@weight\" or {\"ip\",\"port\",\"weight\"})";
	case LB_PT_OBJECTS:
		return "an array of objects";
	default:
		return "an object";
	}
}

/* Is @v an array whose every element is of JSON type @type? */
static bool array_of(const json_t *v, json_type type)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach (v, i, e)
		if (json_typeof(e) != type)
			return false;
	return true;
}

static bool type_ok(enum lb_ptype t, const json_t *v)
{
	size_t i;
	json_t *e;

	switch (t) {
	case LB_PT_STRING:
		return json_is_string(v);
	case LB_PT_INT:
		return json_is_integer(v);
	case LB_PT_BOOL:
		return json_is_boolean(v);
	case LB_PT_OBJECT:
		return json_is_object(v);
	case LB_PT_STRINGS:
		return array_of(v, JSON_STRING);
	case LB_PT_OBJECTS:
		return array_of(v, JSON_OBJECT);
	case LB_PT_TARGETS:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return false;
		json_array_foreach (v, i, e)
			if (!json_is_string(e) && !json_is_object(e))
				return false;
		return true;
	}
	return false;
}

int lb_params_check(const struct lb_method *m, const json_t *params, char *field, size_t fieldlen,
		    char *err, size_t errlen)
{
	const struct lb_param *schema = lb_method_params(m), *p;
	const char *key;
	json_t *v;

	field[0] = '\0';
	if (params && !json_is_object(params)) {
		snprintf(err, errlen, "params must be an object (named parameters)");
		return -EINVAL;
	}
	for (p = schema; p->name; p++) {
		v = params ? json_object_get(params, p->name) : NULL;
		if (!v) {
			if (!p->required)
				continue;
			snprintf(field, fieldlen, "%s", p->name);
			snprintf(err, errlen, "%s: missing required parameter \"%s\" (%s)", m->name,
				 p->name, p->help);
			return -EINVAL;
		}
		if (!type_ok(p->type, v)) {
			snprintf(field, fieldlen, "%s", p->name);
			snprintf(err, errlen, "%s: parameter \"%s\" must be %s", m->name, p->name,
				 lb_ptype_name(p->type));
			return -EINVAL;
		}
	}
	if (!params)
		return 0;
	json_object_foreach ((json_t *)params, key, v) {
		for (p = schema; p->name; p++)
			if (!strcmp(p->name, key))
				break;
		if (!p->name) {
			snprintf(field, fieldlen, "%s", key);
			snprintf(err, errlen, "%s: unknown parameter \"%s\"", m->name, key);
			return -EINVAL;
		}
	}
	return 0;
}
