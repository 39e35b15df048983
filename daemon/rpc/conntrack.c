// SPDX-License-Identifier: MIT
/* Methods that read conntrack and counters: connections, connection-count, connection-stats. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "counters.h"
#include "conn_json.h"
#include "lb_addr.h"
#include "methods.h"

#define CONNECTIONS_DEFAULT_LIMIT 100
#define CONNECTIONS_MAX_LIMIT	  100000
#define NSEC			  1000000000ull

static struct lb_sweep_timeouts timeouts_of(const struct lbd *l)
{
	struct lb_sweep_timeouts t = {
		.tcp_idle = l->cfg->settings.connection_timeout_sec,
		.udp_idle = l->cfg->settings.udp_timeout_sec,
	};

	return t;
}

static int64_t proxy_filter(struct lbd *l, json_t *params, struct lbd_rpc_err *e)
{
	const char *name = json_string_value(json_object_get(params, "proxy"));
	int64_t id;

	if (!name)
		return -1;
	id = lb_config_find_proxy(l->cfg, name) ? lb_ids_proxy(&l->model->ids, name) : -1;
	if (id < 0) {
		lbd_rpc_no_proxy(e, name);
		return -2;
	}
	return id;
}

struct conn_query {
	struct lbd *l;
	int64_t proxy_id; /* -1: any */
	bool by_target;
	struct lb_ip target_addr;
	uint16_t target_port; /* network order */
	bool by_client;
	struct lb_ip client_net;
	uint8_t client_len; /* family-relative prefix length */
	size_t limit;
	size_t total;
	json_t *list;
};

static const char *flow_state(const struct lb_flow_view *f)
{
	if (!f->live)
		return "closing";
	/* A dsr flow's replies never pass the LB: it cannot tell. */
	if (f->key->proto == LB_PROTO_TCP && f->orig->fwd != LB_FWD_DSR &&
	    (!f->reply || !(f->reply->flags & LB_CT_F_REPLIED)))
		return "unanswered";
	return "established";
}

/*
 * The flow's own counters: each direction's entry counts its packets while stats are
 * enabled (the datapath skips them otherwise), so they are shown only then.
 */
static void flow_counters(json_t *o, const struct lb_flow_view *f, bool stats)
{
	char via[LB_TARGET_STR_MAX];

	json_object_set_new(o, "route", json_string(lb_event_route_name(f->orig->route)));
	json_object_set_new(o, "forwarding", json_string(lb_forwarding_name(f->orig->fwd)));
	/* full-nat: the source the backend sees, to match the flow with its logs. */
	if (f->orig->fwd == LB_FWD_FULLNAT)
		json_object_set_new(o, "lb-source",
				    json_string(lb_format_target(&f->orig->snat_addr,
								 ntohs(f->orig->snat_port), via)));
	if (!stats)
		return;
	json_object_set_new(o, "packets-in", json_integer((json_int_t)f->orig->pkts));
	json_object_set_new(o, "bytes-in", json_integer((json_int_t)f->orig->bytes));
	json_object_set_new(o, "packets-out",
			    json_integer(f->reply ? (json_int_t)f->reply->pkts : 0));
	json_object_set_new(o, "bytes-out",
			    json_integer(f->reply ? (json_int_t)f->reply->bytes : 0));
}

static int collect_conn(const struct lb_flow_view *f, void *arg)
{
	struct conn_query *q = arg;
	char client[LB_TARGET_STR_MAX], listener[LB_TARGET_STR_MAX], backend[LB_TARGET_STR_MAX];
	uint64_t last = f->last_ns;

	if (f->expired)
		return 0;
	if (q->proxy_id >= 0 && f->orig->proxy_id != q->proxy_id)
		return 0;
	if (q->by_target &&
	    (!lb_ip_eq(&f->orig->nat_addr, &q->target_addr) || f->orig->nat_port != q->target_port))
		return 0;
	if (q->by_client && !lb_ip_in_prefix(&f->key->saddr, &q->client_net, q->client_len))
		return 0;
	q->total++;
	if (json_array_size(q->list) >= q->limit)
		return 0;
	json_array_append_new(
		q->list,
		json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "proxy",
			lbd_proxy_name(q->l, f->orig->proxy_id), "protocol",
			f->key->proto == LB_PROTO_TCP ? "tcp" : "udp", "client",
			lb_format_target(&f->key->saddr, ntohs(f->key->sport), client), "listener",
			lb_format_target(&f->key->daddr, ntohs(f->key->dport), listener), "backend",
			lb_format_target(&f->orig->nat_addr, ntohs(f->orig->nat_port), backend),
			"state", flow_state(f), "age-sec",
			(json_int_t)((f->now_ns - f->orig->created_ns) / NSEC), "idle-sec",
			(json_int_t)(f->now_ns > last ? (f->now_ns - last) / NSEC : 0), "pickup",
			(f->orig->flags & LB_CT_F_PICKUP) != 0));
	flow_counters(json_array_get(q->list, json_array_size(q->list) - 1), f,
		      q->l->cfg->settings.stats_enabled);
	return 0;
}

int lbd_rpc_connections(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e)
{
	struct conn_query q = {.l = l, .limit = CONNECTIONS_DEFAULT_LIMIT};
	struct lb_sweep_timeouts t = timeouts_of(l);
	const char *target = json_string_value(json_object_get(params, "target"));
	const char *client = json_string_value(json_object_get(params, "client"));
	json_t *limit = json_object_get(params, "limit");
	char err[LB_ERR_MAX];
	int ret;

	q.proxy_id = proxy_filter(l, params, e);
	if (q.proxy_id == -2)
		return -1;
	if (target) {
		struct lb_target_cfg tc;
		int has_weight;

		if (lb_parse_target(target, &tc, &has_weight, err, sizeof(err)) || has_weight)
			return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS,
					    json_pack("{s:s}", "field", "target"), "target: %s",
					    has_weight ? "give ip:port, no weight" : err);
		q.by_target = true;
		q.target_addr = tc.addr;
		q.target_port = htons(tc.port);
	}
	if (client) {
		if (lb_parse_cidr(client, &q.client_net, &q.client_len, err, sizeof(err)))
			return lbd_rpc_fail(e, LB_RPC_INVALID_PARAMS,
					    json_pack("{s:s}", "field", "client"), "client: %s",
					    err);
		q.by_client = true;
	}
	if (limit) {
		json_int_t v = json_integer_value(limit);

		if (v < 1 || v > CONNECTIONS_MAX_LIMIT)
			return lbd_rpc_fail(
				e, LB_RPC_INVALID_PARAMS, json_pack("{s:s}", "field", "limit"),
				"limit: must be between 1 and %d", CONNECTIONS_MAX_LIMIT);
		q.limit = (size_t)v;
	}
	q.list = json_array();
	ret = lb_ct_scan(l->dp, &t, collect_conn, &q);
	if (ret) {
		json_decref(q.list);
		return lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", -ret),
				    "cannot read conntrack: %s", strerror(-ret));
	}
	*result = json_pack("{s:o, s:I, s:b}", "connections", q.list, "total", (json_int_t)q.total,
			    "truncated", q.total > json_array_size(q.list));
	return 0;
}

/* Open connections (live, not yet due for expiry) of the proxy filter (-1: all). */
static const struct lb_live *count_open(struct lbd *l, int64_t proxy_id, uint64_t *total,
					struct lbd_rpc_err *e)
{
	const struct lb_live *live = lbd_live(l, true);

	if (!live) {
		lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", errno),
			     "cannot read conntrack: %s", strerror(errno));
		return NULL;
	}
	*total = proxy_id >= 0 ? live->per_proxy[proxy_id] : live->total;
	return live;
}

int lbd_rpc_connection_count(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e)
{
	int64_t only = proxy_filter(l, params, e);
	const struct lb_live *live;
	uint64_t total = 0;
	json_t *per;
	size_t i;

	if (only == -2 || !(live = count_open(l, only, &total, e)))
		return -1;
	per = json_object();
	for (i = 0; i < l->model->n_proxies; i++) {
		const struct lb_model_proxy *p = &l->model->proxies[i];

		if (only < 0 || p->id == only)
			json_object_set_new(per, p->cfg->name,
					    json_integer(live->per_proxy[p->id]));
	}
	*result = json_pack("{s:I, s:o}", "total", (json_int_t)total, "proxies", per);
	return 0;
}

int lbd_rpc_connection_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			     struct lbd_rpc_err *e)
{
	int64_t only = proxy_filter(l, params, e);
	const struct lb_live *live;
	struct lb_stats sum = {0};
	uint64_t total = 0;
	json_t *per;
	size_t i;

	if (only == -2 || !(live = count_open(l, only, &total, e)))
		return -1;
	per = json_object();
	for (i = 0; i < l->model->n_proxies; i++) {
		const struct lb_model_proxy *p = &l->model->proxies[i];
		struct lb_stats s;

		if ((only >= 0 && p->id != only) || lb_counters_proxy(l->dp, p->id, &s))
			continue;
		sum.pkts_in += s.pkts_in;
		sum.bytes_in += s.bytes_in;
		sum.pkts_out += s.pkts_out;
		sum.bytes_out += s.bytes_out;
		json_object_set_new(
			per, p->cfg->name,
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "connections",
				  (json_int_t)live->per_proxy[p->id], "new-connections",
				  (json_int_t)s.new_flows, "packets-forward", (json_int_t)s.pkts_in,
				  "bytes-forward", (json_int_t)s.bytes_in, "packets-reverse",
				  (json_int_t)s.pkts_out, "bytes-reverse", (json_int_t)s.bytes_out,
				  "drops-no-backend", (json_int_t)s.drop_no_backend));
	}
	*result = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "total-connections",
			    (json_int_t)total, "total-packets-forward", (json_int_t)sum.pkts_in,
			    "total-bytes-forward", (json_int_t)sum.bytes_in,
			    "total-packets-reverse", (json_int_t)sum.pkts_out,
			    "total-bytes-reverse", (json_int_t)sum.bytes_out, "proxies", per);
	return 0;
}
