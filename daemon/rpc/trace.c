// SPDX-License-Identifier: MIT
/*
 * trace: which target a client of a proxy gets, and why. The answer is the datapath's own:
 * a synthesized first packet (TCP SYN or UDP datagram) from the client to the proxy's
 * listener runs through the trace instance of the programs (dataplane/trace.h) against the
 * live maps; this file only picks the packet and names what the instance noted.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn_json.h"
#include "lb_addr.h"
#include "methods.h"
#include "neigh.h"
#include "trace.h"

/* The client port when none is given: the first of the dynamic range (RFC 6335). */
#define TRACE_DEFAULT_CLIENT_PORT 49152

static uint64_t mono_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bad(struct lbd_rpc_err *e, const char *field, const char *fmt, const char *a,
	       const char *b)
{
	return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", field), fmt, a,
			    b);
}

/* The source route of @p that holds @client, longest first; NULL for none. */
static const struct lb_route_cfg *route_of(const struct lb_proxy_cfg *p, const struct lb_ip *client)
{
	const struct lb_route_cfg *best = NULL;
	size_t i;

	for (i = 0; i < p->n_routes; i++)
		if (lb_ip_in_prefix(client, &p->routes[i].addr, p->routes[i].prefix_len) &&
		    (!best || p->routes[i].prefix_len > best->prefix_len))
			best = &p->routes[i];
	return best;
}

struct trace_args {
	const struct lb_proxy_cfg *proxy;
	int64_t proxy_id;
	struct lb_trace_req req;
	const char *iface;
	bool default_port;
};

static int parse_args(struct lbd *l, json_t *params, struct trace_args *a, struct lbd_rpc_err *e)
{
	const char *name = json_string_value(json_object_get(params, "proxy"));
	const char *client = json_string_value(json_object_get(params, "client"));
	const char *proto = json_string_value(json_object_get(params, "protocol"));
	json_t *port = json_object_get(params, "port");
	char why[LB_ERR_MAX], fam[8];
	bool v4;

	memset(a, 0, sizeof(*a));
	a->proxy = lb_config_find_proxy(l->cfg, name);
	a->proxy_id = a->proxy ? lb_ids_proxy(&l->model->ids, name) : -1;
	if (!a->proxy || a->proxy_id < 0)
		return lbd_rpc_no_proxy(e, name);
	if (lb_parse_client(client, &a->req.client, &a->req.client_port, why, sizeof(why)))
		return bad(e, "client", "%s%s", why, "");
	if (port) {
		json_int_t p = json_integer_value(port);

		if (p < 1 || p > 65535)
			return lbd_rpc_fail(
				e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "port"),
				"port: %lld is not a valid port (expected a number from 1 "
				"to 65535)",
				(long long)p);
		if (a->req.client_port && a->req.client_port != p)
			return bad(e, "port",
				   "port: the client %s already says its port; give it once, "
				   "there or with port%s",
				   client, "");
		a->req.client_port = (uint16_t)p;
	}
	if (!a->req.client_port) {
		a->req.client_port = TRACE_DEFAULT_CLIENT_PORT;
		a->default_port = true;
	}
	if (!proto)
		a->req.proto = a->proxy->protocols & LB_L4_TCP ? LB_PROTO_TCP : LB_PROTO_UDP;
	else if (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))
		a->req.proto = proto[0] == 't' ? LB_PROTO_TCP : LB_PROTO_UDP;
	else
		return bad(e, "protocol", "protocol: \"%s\" is not tcp or udp%s", proto, "");
	if (!(a->proxy->protocols & (a->req.proto == LB_PROTO_TCP ? LB_L4_TCP : LB_L4_UDP)))
		return bad(e, "protocol", "protocol: proxy \"%s\" does not listen on %s", name,
			   a->req.proto == LB_PROTO_TCP ? "tcp" : "udp");
	a->iface = json_string_value(json_object_get(params, "interface"));
	if (a->iface) {
		size_t i;

		for (i = 0; i < a->proxy->n_ifaces; i++)
			if (!strcmp(a->proxy->ifaces[i], a->iface))
				break;
		if (i == a->proxy->n_ifaces)
			return bad(e, "interface",
				   "interface: %s is not a listening interface of proxy \"%s\" "
				   "(lbctl list-proxies shows them)",
				   a->iface, name);
	} else {
		a->iface = a->proxy->ifaces[0];
	}
	a->req.ifindex = if_nametoindex(a->iface);
	if (!a->req.ifindex)
		return lbd_rpc_fail(e, LB_RPC_NOT_FOUND,
				    json_pack("{s:s, s:s}", "kind", "interface", "name", a->iface),
				    "interface %s of proxy \"%s\" does not exist", a->iface, name);
	a->req.listen_port = a->proxy->port;
	v4 = lb_ip_is_v4(&a->req.client);
	snprintf(fam, sizeof(fam), "%s", v4 ? "IPv4" : "IPv6");
	if (a->proxy->has_address) {
		char addr[LB_ADDR_STR_MAX];

		if (lb_ip_is_v4(&a->proxy->address) != v4)
			return lbd_rpc_fail(
				e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "client"),
				"client: %s is an %s client, but proxy \"%s\" listens on "
				"%s only: give an %s client",
				client, fam, name, lb_format_ip(&a->proxy->address, addr),
				v4 ? "IPv6" : "IPv4");
		a->req.listen = a->proxy->address;
	} else if (lb_trace_find_listener(lb_dataplane_fd_listen(l->dp), a->req.ifindex,
					  a->req.listen_port, a->req.proto, (uint32_t)a->proxy_id,
					  v4, &a->req.listen)) {
		return lbd_rpc_fail(
			e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "client"),
			"client: %s is an %s client, but proxy \"%s\" has no %s listener "
			"address on %s (the interface has no %s address, or is not "
			"attached); give an %s client or another interface",
			client, fam, name, fam, a->iface, v4 ? "IPv4" : "global IPv6",
			v4 ? "IPv6" : "IPv4");
	}
	return 0;
}

static const char *verdict_name(enum lb_trace_verdict v)
{
	switch (v) {
	case LB_TRACE_PASS:
		return "pass";
	case LB_TRACE_REWRITE:
		return "forward";
	case LB_TRACE_DROP:
		return "drop";
	default:
		return "transmit";
	}
}

static json_t *hash_json(uint32_t flags, const struct lb_trace_rec *r, bool maglev)
{
	json_t *h = json_object();

	if (flags & LB_LISTEN_F_HASH_SADDR) {
		json_object_set_new(h, "mode", json_string("source-address"));
		/* The record's prefix is of the 128-bit form: an IPv4 /24 is 96 + 24. */
		json_object_set_new(h, "prefix-bits", json_integer(LB_LISTEN_PREFIX(flags)));
	} else {
		json_object_set_new(h, "mode", json_string("5-tuple"));
	}
	if (maglev)
		json_object_set_new(h, "value", json_integer(r->hash));
	return h;
}

static json_t *result_json(struct lbd *l, const struct trace_args *a, const struct lb_trace_out *o,
			   uint64_t load_ns)
{
	const struct lb_trace_rec *r = &o->rec;
	char buf[LB_TARGET_STR_MAX], addr[LB_ADDR_STR_MAX];
	unsigned int fwd;
	int nb;
	json_t *res = json_object(), *lis = json_object();

	json_object_set_new(res, "proxy", json_string(a->proxy->name));
	json_object_set_new(res, "protocol",
			    json_string(a->req.proto == LB_PROTO_TCP ? "tcp" : "udp"));
	json_object_set_new(res, "client",
			    json_string(lb_format_target(&a->req.client, a->req.client_port, buf)));
	json_object_set_new(res, "client-port-default", json_boolean(a->default_port));
	json_object_set_new(lis, "address", json_string(lb_format_ip(&a->req.listen, addr)));
	json_object_set_new(lis, "port", json_integer(a->req.listen_port));
	json_object_set_new(lis, "interface", json_string(a->iface));
	/* Not consulted when conntrack answered: the flow's entry comes first. */
	if (!(r->flags & LB_TRACE_F_CT))
		json_object_set_new(lis, "matched", json_boolean(r->flags & LB_TRACE_F_LISTENER));
	json_object_set_new(res, "listener", lis);
	/*
	 * How the flow is forwarded: its own mode when it exists, else its listener's. The
	 * trace instance stops at the choice, before any mode's own rewrite, so the packet it
	 * gives back is rewritten as nat would: a dsr packet really keeps its addresses and
	 * leaves from the hook towards the target's MAC, a full-nat one also gets a source
	 * address of the LB's and a port of the range.
	 */
	fwd = r->flags & LB_TRACE_F_CT	       ? r->ct.fwd
	      : r->flags & LB_TRACE_F_LISTENER ? LB_LISTEN_FWD(r->listen_flags)
					       : LB_FWD_NAT;
	/* The trace instance stops before dsr's FIB lookup, which drops for want of these. */
	nb = fwd == LB_FWD_DSR && o->verdict == LB_TRACE_REWRITE ? lb_neigh_resolved(&o->dst) : 1;
	if (nb == 0 || nb == -ENETUNREACH) {
		json_object_set_new(res, "verdict", json_string("drop"));
		json_object_set_new(
			res, "reason",
			json_string(nb ? "drop-dsr-no-route" : "drop-dsr-no-neighbour"));
	} else if (fwd == LB_FWD_DSR && o->verdict == LB_TRACE_REWRITE) {
		json_object_set_new(res, "verdict", json_string("transmit"));
		json_object_set_new(
			res, "destination",
			json_string(lb_format_target(&a->req.listen, a->req.listen_port, buf)));
	} else {
		json_object_set_new(res, "verdict", json_string(verdict_name(o->verdict)));
		if (o->verdict == LB_TRACE_REWRITE || o->verdict == LB_TRACE_OTHER)
			json_object_set_new(
				res, "destination",
				json_string(lb_format_target(&o->dst, o->dst_port, buf)));
	}
	if (r->flags & (LB_TRACE_F_CT | LB_TRACE_F_LISTENER))
		json_object_set_new(res, "forwarding", json_string(lb_forwarding_name(fwd)));
	if (r->flags & LB_TRACE_F_CT) {
		uint64_t now = mono_coarse_ns();
		json_t *ct = json_object();

		json_object_set_new(
			ct, "state",
			json_string(r->flags & LB_TRACE_F_SYN ? "unconfirmed" : "established"));
		json_object_set_new(
			ct, "target",
			json_string(lb_format_target(&r->ct.nat_addr, ntohs(r->ct.nat_port), buf)));
		json_object_set_new(ct, "target-id", json_integer(r->ct.target_id));
		json_object_set_new(ct, "route", json_string(lb_event_route_name(r->ct.route)));
		json_object_set_new(
			ct, "age-ms",
			json_integer(now > r->ct.created_ns
					     ? (json_int_t)((now - r->ct.created_ns) / 1000000)
					     : 0));
		/* Counted only while stats are enabled (lb_ct_touch()). */
		if (lb_dataplane_events(l->dp))
			json_object_set_new(ct, "packets", json_integer((json_int_t)r->ct.pkts));
		json_object_set_new(res, "conntrack", ct);
	}
	if (r->flags & LB_TRACE_F_GROUP) {
		json_t *sel = json_object(), *rt = json_object();
		const struct lb_route_cfg *rc;

		json_object_set_new(
			rt, "kind",
			json_string(r->route == LB_ROUTE_SOURCE ? "source-route" : "default"));
		rc = r->route == LB_ROUTE_SOURCE ? route_of(a->proxy, &a->req.client) : NULL;
		if (rc)
			json_object_set_new(
				rt, "source",
				json_string(lb_format_cidr(&rc->addr, rc->prefix_len, buf)));
		json_object_set_new(res, "route", rt);
		json_object_set_new(res, "group", json_integer(r->group_id));
		json_object_set_new(res, "hash",
				    hash_json(r->listen_flags, r, r->flags & LB_TRACE_F_MAGLEV));
		/* Least connections: by the live counts (a large group: of two table slots). */
		json_object_set_new(sel, "method",
				    json_string(r->listen_flags & LB_LISTEN_F_LEASTCONN
							? "least-connections"
						: r->flags & LB_TRACE_F_MAGLEV ? "maglev"
									       : "weights"));
		/* A target's load: confirmed * this + unconfirmed (lb_abi.h). */
		if (r->listen_flags & LB_LISTEN_F_LEASTCONN)
			json_object_set_new(sel, "confirmed-weight", json_integer(LB_LC_CONFIRMED));
		/* 0: the group has no table; else the size of the table it points at. */
		json_object_set_new(sel, "table-size", json_integer(r->table_size));
		if (r->flags & LB_TRACE_F_MAGLEV)
			json_object_set_new(sel, "slot", json_integer(r->slot));
		json_object_set_new(sel, "backends", json_integer(r->n_backends));
		json_object_set_new(res, "selection", sel);
	}
	if (r->flags & LB_TRACE_F_BACKEND) {
		json_t *t = json_object();

		if (lb_ip_is_zero(&r->addr))
			json_object_set_new(t, "address", json_string("sni-acceptor"));
		else
			json_object_set_new(
				t, "address",
				json_string(lb_format_target(&r->addr, ntohs(r->port), buf)));
		json_object_set_new(t, "target-id", json_integer(r->target_id));
		json_object_set_new(t, "index", json_integer(r->idx));
		json_object_set_new(res, "target", t);
	}
	json_object_set_new(res, "run-us", json_integer((json_int_t)(o->run_ns / 1000)));
	if (load_ns)
		json_object_set_new(res, "load-ms", json_integer((json_int_t)(load_ns / 1000000)));
	return res;
}

int lbd_rpc_trace(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e)
{
	struct lb_tracer *t;
	struct lb_trace_out o;
	struct trace_args a;
	char err[LB_ERR_MAX];
	uint64_t load_ns;
	int ret;

	(void)call;
	if (parse_args(l, params, &a, e))
		return -1;
	ret = lb_dataplane_tracer(l->dp, &t, &load_ns, err, sizeof(err));
	if (!ret)
		ret = lb_tracer_run(t, &a.req, &o, err, sizeof(err));
	if (ret)
		return lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", -ret), "%s",
				    err);
	*result = result_json(l, &a, &o, load_ns);
	return 0;
}
