// SPDX-License-Identifier: MIT
#include "sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "dataplane.h"
#include "lconn.h"
#include "lb_log.h"

#define NSEC	    1000000000ull
#define SWEEP_BATCH 4096

struct lb_sweeper {
	uv_timer_t timer;
	struct lb_dataplane *dp;
	struct lb_sweep_timeouts t;
	struct lb_sweep_result last;
	struct lb_live live; /* the newest snapshot: the last sweep's or a count's since */
	lb_sweep_close_fn on_close;
	void *close_arg;
	void (*on_sweep)(void *arg);
	void *sweep_arg;
};

/* The clock the datapath stamps with (bpf_ktime_get_coarse_ns). */
static uint64_t now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

struct lb_ct_fds lb_ct_fds_of(const struct lb_dataplane *dp)
{
	struct lb_ct_fds fds = {lb_dataplane_fd_ct(dp), lb_dataplane_fd_syn(dp),
				lb_dataplane_fd_lconn(dp)};

	return fds;
}

static uint64_t idle_ns(uint64_t now, uint64_t last)
{
	return now > last ? now - last : 0;
}

uint64_t lb_sweep_last_seen(const struct lb_ct_val *orig, const struct lb_ct_val *reply,
			    const struct lb_sweep_timeouts *t)
{
	uint64_t last = orig->last_seen_ns;

	if (reply && reply->last_seen_ns > last)
		last = reply->last_seen_ns;
	if (t->gap_to && last >= t->gap_from && last < t->gap_to)
		last = t->gap_to;
	return last;
}

bool lb_sweep_expired(const struct lb_ct_key *key, const struct lb_ct_val *orig,
		      const struct lb_ct_val *reply, uint64_t now_ns,
		      const struct lb_sweep_timeouts *t, bool *live)
{
	uint64_t last = lb_sweep_last_seen(orig, reply, t);
	uint8_t flags = orig->flags;
	uint64_t idle;
	bool closed;

	if (reply)
		flags |= reply->flags;
	idle = idle_ns(now_ns, last);
	if (key->proto == LB_PROTO_UDP) {
		*live = true;
		return idle > (uint64_t)t->udp_idle * NSEC;
	}
	/* A dsr flow has no REPLY entry: its client's FIN is all the LB sees of a close. */
	closed = (flags & LB_CT_F_RST) ||
		 ((orig->flags & LB_CT_F_FIN) && reply && (reply->flags & LB_CT_F_FIN)) ||
		 (orig->fwd == LB_FWD_DSR && (orig->flags & LB_CT_F_FIN));
	*live = !closed;
	if (closed)
		return idle > LB_CT_CLOSED_SEC * NSEC;
	if (orig->fwd != LB_FWD_DSR && (!reply || !(reply->flags & LB_CT_F_REPLIED)))
		if (idle_ns(now_ns, orig->created_ns) > LB_CT_UNANSWERED_SEC * NSEC)
			return true;
	return idle > (uint64_t)t->tcp_idle * NSEC;
}

static void reply_key(const struct lb_ct_key *k, const struct lb_ct_val *v, struct lb_ct_key *r)
{
	memset(r, 0, sizeof(*r));
	r->saddr = v->nat_addr;
	r->sport = v->nat_port;
	r->daddr = v->fwd == LB_FWD_FULLNAT ? v->snat_addr : k->saddr;
	r->dport = v->fwd == LB_FWD_FULLNAT ? v->snat_port : k->sport;
	r->proto = k->proto;
	r->dir = LB_DIR_REPLY;
}

/* Append the whole map @fd to keys/vals (n entries, room for cap), in batches. */
static int read_map(int fd, struct lb_ct_key **keys_io, struct lb_ct_val **vals_io, size_t *n_io,
		    size_t *cap_io)
{
	struct lb_ct_key *keys = *keys_io;
	struct lb_ct_val *vals = *vals_io;
	size_t n = *n_io, cap = *cap_io;
	__u64 in = 0, out = 0;
	bool first = true;
	int ret = 0;

	for (;;) {
		__u32 count = SWEEP_BATCH;

		if (n + SWEEP_BATCH > cap) {
			void *k, *v;

			cap = cap ? 2 * cap : 4 * SWEEP_BATCH;
			k = realloc(keys, cap * sizeof(*keys));
			if (k)
				keys = k;
			v = realloc(vals, cap * sizeof(*vals));
			if (v)
				vals = v;
			if (!k || !v) {
				ret = -ENOMEM;
				break;
			}
		}
		ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys + n, vals + n, &count,
					   NULL);
		ret = ret ? -errno : 0;
		n += count;
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
		if (ret)
			break;
		in = out;
		first = false;
	}
	*keys_io = keys;
	*vals_io = vals;
	*n_io = n;
	*cap_io = cap;
	return ret;
}

/*
 * Read both conntrack tables (one syscall per SWEEP_BATCH entries): a flow's two entries
 * are always in the same table, but a scan may catch one moving to lb_ct.
 */
static int read_all(const struct lb_ct_fds *fds, struct lb_ct_key **keys_out,
		    struct lb_ct_val **vals_out, size_t *n_out, size_t *n_ct)
{
	struct lb_ct_key *keys = NULL;
	struct lb_ct_val *vals = NULL;
	size_t n = 0, cap = 0;
	int ret = read_map(fds->ct, &keys, &vals, &n, &cap);

	if (n_ct)
		*n_ct = n;
	if (!ret)
		ret = read_map(fds->syn, &keys, &vals, &n, &cap);
	if (ret) {
		free(keys);
		free(vals);
		return ret;
	}
	*keys_out = keys;
	*vals_out = vals;
	*n_out = n;
	return 0;
}

/* Delete @k from both tables (it is in one of them). */
static void delete_both(const struct lb_ct_fds *fds, const struct lb_ct_key *k)
{
	bpf_map_delete_elem(fds->ct, k);
	bpf_map_delete_elem(fds->syn, k);
}

enum since_scan { SAME, GONE, OTHER_FLOW, SEEN_AGAIN };

/*
 * What became of the entry @k since the scan read it as @was (NULL: it was not there) for
 * the flow created at @created_ns: a new flow may have taken the key over (a client
 * reusing its port, another listener reaching the same backend from the same port), or a
 * packet of the flow itself arrived (the datapath stamped it again). Scanning a large
 * table takes a while; a flow idle for just its timeout that sends again meanwhile keeps
 * its entries. What is left of the race is the system calls between this and the deletes.
 */
static enum since_scan entry_since(const struct lb_ct_fds *fds, const struct lb_ct_key *k,
				   const struct lb_ct_val *was, uint64_t created_ns)
{
	struct lb_ct_val v;

	if (bpf_map_lookup_elem(fds->ct, k, &v) && bpf_map_lookup_elem(fds->syn, k, &v))
		return GONE;
	if (v.created_ns != created_ns)
		return OTHER_FLOW;
	return was && v.last_seen_ns == was->last_seen_ns ? SAME : SEEN_AGAIN;
}

static int cmp_ct_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lb_ct_key));
}

struct ct_entry {
	struct lb_ct_key k;
	struct lb_ct_val v;
	bool paired;
};

/*
 * Pair every ORIG entry with its REPLY entry in memory: the batch read already holds both,
 * so a scan costs one syscall per SWEEP_BATCH entries instead of one per flow.
 */
static int ct_scan(const struct lb_ct_fds *fds, const struct lb_sweep_timeouts *t, lb_flow_fn fn,
		   void (*orphan_fn)(const struct ct_entry *e, uint64_t now, void *arg), void *arg,
		   size_t *n_ct)
{
	struct lb_ct_key *keys = NULL;
	struct lb_ct_val *vals = NULL;
	struct ct_entry *replies = NULL;
	struct lb_flow_view f = {.now_ns = now_coarse_ns()};
	size_t n = 0, n_replies = 0, n_conf = 0, i;
	int ret;

	/* lb_ct's entries come first: the rest are lb_syn's. */
	ret = read_all(fds, &keys, &vals, &n, &n_conf);
	if (!ret && n_ct)
		*n_ct = n_conf;
	if (ret)
		return ret;
	replies = calloc(n ? n : 1, sizeof(*replies));
	if (!replies) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (keys[i].dir == LB_DIR_REPLY) {
			replies[n_replies].k = keys[i];
			replies[n_replies].v = vals[i];
			n_replies++;
		}
	qsort(replies, n_replies, sizeof(*replies), cmp_ct_key);
	for (i = 0; i < n && !ret; i++) {
		struct lb_ct_key rk;
		struct ct_entry *r;

		if (keys[i].dir != LB_DIR_ORIG)
			continue;
		reply_key(&keys[i], &vals[i], &rk);
		r = bsearch(&rk, replies, n_replies, sizeof(*replies), cmp_ct_key);
		if (r)
			r->paired = true;
		f.key = &keys[i];
		f.orig = &vals[i];
		f.confirmed = i < n_conf;
		f.reply = r ? &r->v : NULL;
		f.expired = lb_sweep_expired(&keys[i], &vals[i], f.reply, f.now_ns, t, &f.live);
		f.last_ns = lb_sweep_last_seen(&vals[i], f.reply, t);
		ret = fn(&f, arg);
	}
	ret = ret > 0 ? 0 : ret;
	for (i = 0; !ret && orphan_fn && i < n_replies; i++)
		if (!replies[i].paired)
			orphan_fn(&replies[i], f.now_ns, arg);
out:
	free(replies);
	free(keys);
	free(vals);
	return ret;
}

struct sweep_ctx {
	const struct lb_ct_fds *fds;
	struct lb_sweep_result *res;
	lb_sweep_close_fn on_close;
	void *close_arg;
	/* per target: flows still LB_CT_F_COUNTED after the sweep, by table (lconn.h) */
	struct lb_lconn_val *counted;
};

/*
 * The "closed" event of a flow that ends without a packet that closes it in the datapath:
 * idle timeout, never answered, or a FIN close whose last ACK never came.
 */
void lb_sweep_close_event(const struct lb_flow_view *f, struct lb_event *ev)
{
	const struct lb_ct_val *o = f->orig, *r = f->reply;
	uint8_t flags = o->flags | (r ? r->flags : 0);

	memset(ev, 0, sizeof(*ev));
	ev->type = LB_EV_CLOSED;
	ev->proto = f->key->proto;
	ev->route = o->route;
	ev->flags = flags;
	if (!f->live)
		ev->reason = (flags & LB_CT_F_RST) ? LB_CLOSE_RST : LB_CLOSE_FIN;
	else if (f->key->proto == LB_PROTO_TCP && o->fwd != LB_FWD_DSR &&
		 !(r && (r->flags & LB_CT_F_REPLIED)))
		ev->reason = LB_CLOSE_UNANSWERED;
	else
		ev->reason = LB_CLOSE_TIMEOUT;
	ev->proxy_id = o->proxy_id;
	ev->target_id = o->target_id;
	ev->client_addr = f->key->saddr;
	ev->client_port = f->key->sport;
	ev->listen_addr = f->key->daddr;
	ev->listen_port = f->key->dport;
	ev->backend_addr = o->nat_addr;
	ev->backend_port = o->nat_port;
	ev->ts_ns = f->now_ns;
	ev->created_ns = o->created_ns;
	ev->pkts_in = o->pkts;
	ev->bytes_in = o->bytes;
	if (r) {
		ev->pkts_out = r->pkts;
		ev->bytes_out = r->bytes;
	}
}

/* Add a live flow to @arg (struct lb_live). */
static int count_live(const struct lb_flow_view *f, void *arg)
{
	struct lb_live *l = arg;

	if (f->orig->proxy_id < LB_MAX_PROXIES)
		l->present_proxy[f->orig->proxy_id]++;
	if (f->orig->target_id < LB_MAX_TARGETS)
		l->present_target[f->orig->target_id]++;
	if (!f->live || f->expired)
		return 0;
	l->total++;
	if (f->orig->fwd == LB_FWD_NAT ||
	    idle_ns(f->now_ns, f->last_ns) <= (uint64_t)LB_LIVE_GONE_SEC * NSEC)
		l->bound++;
	if (f->orig->proxy_id < LB_MAX_PROXIES)
		l->per_proxy[f->orig->proxy_id]++;
	if (f->orig->target_id < LB_MAX_TARGETS)
		l->per_target[f->orig->target_id]++;
	return 0;
}

static int sweep_flow(const struct lb_flow_view *f, void *arg)
{
	struct sweep_ctx *c = arg;
	struct lb_sweep_result *res = c->res;
	struct lb_flow_view again;

	res->flows++;
	if (f->expired) {
		uint64_t created = f->orig->created_ns;
		enum since_scan o, r;
		struct lb_ct_key rk;

		reply_key(f->key, f->orig, &rk);
		o = entry_since(c->fds, f->key, f->orig, created);
		r = entry_since(c->fds, &rk, f->reply, created);
		if (o == SEEN_AGAIN || r == SEEN_AGAIN) {
			/* Active again: counted as it was before it went quiet (lconn.h too). */
			again = *f;
			again.expired = false;
			f = &again;
			res->spared++;
		} else {
			if (o != OTHER_FLOW)
				delete_both(c->fds, f->key);
			if (r != OTHER_FLOW)
				delete_both(c->fds, &rk);
			res->expired++;
			if (c->on_close && !((f->orig->flags | (f->reply ? f->reply->flags : 0)) &
					     LB_CT_F_CLOSED)) {
				struct lb_event ev;

				lb_sweep_close_event(f, &ev);
				c->on_close(c->close_arg, &ev);
			}
			return 0;
		}
	}
	if (c->counted && (f->orig->flags & LB_CT_F_COUNTED) &&
	    f->orig->target_id < LB_MAX_TARGETS) {
		struct lb_lconn_val *n = &c->counted[f->orig->target_id];

		if (f->confirmed)
			n->confirmed++;
		else
			n->unconfirmed++;
	}
	return count_live(f, &res->live);
}

/* @t with the datapath's clock gap. */
static struct lb_sweep_timeouts with_gap(const struct lb_dataplane *dp,
					 const struct lb_sweep_timeouts *t)
{
	struct lb_sweep_timeouts g = *t;

	g.gap_from = dp->gap_from;
	g.gap_to = dp->gap_to;
	return g;
}

int lb_ct_scan(const struct lb_dataplane *dp, const struct lb_sweep_timeouts *t, lb_flow_fn fn,
	       void *arg)
{
	struct lb_ct_fds fds = lb_ct_fds_of(dp);
	struct lb_sweep_timeouts g = with_gap(dp, t);

	return ct_scan(&fds, &g, fn, NULL, arg, NULL);
}

/*
 * A REPLY entry whose ORIG was evicted can no longer be reached by a request; once quiet
 * it is removed on its own. (The datapath writes REPLY before ORIG, hence the quiet period.)
 */
static void sweep_orphan(const struct ct_entry *e, uint64_t now, void *arg)
{
	struct sweep_ctx *c = arg;

	if (idle_ns(now, e->v.last_seen_ns) > LB_CT_UNANSWERED_SEC * NSEC)
		delete_both(c->fds, &e->k);
}

/* The size of the conntrack table @fd (max_entries), 0 when unknown. */
static uint64_t ct_capacity(int fd)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static int sweep(const struct lb_ct_fds *fds, const struct lb_sweep_timeouts *t,
		 struct lb_sweep_result *res, lb_sweep_close_fn on_close, void *close_arg)
{
	struct lb_sweep_result local;
	struct sweep_ctx c = {
		.fds = fds,
		.res = res ? res : &local,
		.on_close = on_close,
		.close_arg = close_arg,
	};

	uint64_t start = uv_hrtime();
	struct lb_lconn_val *before = NULL, *after = NULL;
	size_t n_ct = 0;
	int ret;

	memset(c.res, 0, sizeof(*c.res));
	/* The live counts before the walk, to correct them after it (lconn.h). */
	if (fds->lconn > 0) {
		before = calloc(LB_MAX_TARGETS, sizeof(*before));
		c.counted = calloc(LB_MAX_TARGETS, sizeof(*c.counted));
		if (!before || !c.counted || lb_lconn_read(fds->lconn, before)) {
			free(c.counted);
			c.counted = NULL;
		}
	}
	ret = ct_scan(fds, t, sweep_flow, sweep_orphan, &c, &n_ct);
	/* And after it: what changed during the walk is no drift (lconn.h). */
	if (!ret && c.counted) {
		after = calloc(LB_MAX_TARGETS, sizeof(*after));
		if (!after || lb_lconn_read(fds->lconn, after)) {
			free(c.counted);
			c.counted = NULL;
		}
	}
	if (!ret && c.counted) {
		int fixed = lb_lconn_correct(fds->lconn, before, after, c.counted);

		if (fixed < 0)
			lb_warn("cannot correct the live flow counts: %s", strerror(-fixed));
		else
			c.res->lconn_fixed = (uint64_t)fixed;
	}
	free(before);
	free(after);
	free(c.counted);
	c.res->live.ct_entries = n_ct;
	c.res->live.ct_capacity = ct_capacity(fds->ct);
	c.res->live.at_ns = uv_hrtime();
	c.res->live.cost_ns = c.res->live.at_ns - start;
	return ret;
}

int lb_sweep_once(const struct lb_ct_fds *fds, const struct lb_sweep_timeouts *t,
		  struct lb_sweep_result *res, lb_sweep_close_fn on_close, void *close_arg)
{
	return sweep(fds, t, res, on_close, close_arg);
}

static uint64_t sweep_interval_ms(const struct lb_sweep_timeouts *t)
{
	uint32_t shortest = t->tcp_idle < t->udp_idle ? t->tcp_idle : t->udp_idle;
	uint64_t ms = (uint64_t)shortest * 1000 / 4;

	if (ms < 1000)
		ms = 1000;
	if (ms > 10000)
		ms = 10000;
	return ms;
}

static void sweeper_tick(uv_timer_t *timer)
{
	struct lb_sweeper *s = timer->data;
	struct lb_ct_fds fds = lb_ct_fds_of(s->dp);
	struct lb_sweep_timeouts g = with_gap(s->dp, &s->t);
	int ret = sweep(&fds, &g, &s->last, s->on_close, s->close_arg);

	if (ret)
		lb_warn("conntrack sweep failed: %s", strerror(-ret));
	else
		s->live = s->last.live;
	if (!ret && (s->last.expired || s->last.spared))
		lb_debug("conntrack sweep: %llu flows, %llu expired, %llu active again meanwhile",
			 (unsigned long long)s->last.flows, (unsigned long long)s->last.expired,
			 (unsigned long long)s->last.spared);
	if (!ret && s->on_sweep)
		s->on_sweep(s->sweep_arg);
}

struct lb_sweeper *lb_sweeper_start(uv_loop_t *loop, struct lb_dataplane *dp,
				    const struct lb_sweep_timeouts *t)
{
	struct lb_sweeper *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->dp = dp;
	s->t = *t;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	uv_timer_start(&s->timer, sweeper_tick, sweep_interval_ms(t), sweep_interval_ms(t));
	return s;
}

/* Count the live flows into @l, and lb_ct's fill. */
static int scan_live(struct lb_sweeper *s, struct lb_live *l)
{
	struct lb_ct_fds fds = lb_ct_fds_of(s->dp);
	struct lb_sweep_timeouts g = with_gap(s->dp, &s->t);
	size_t n_ct = 0;
	int ret = ct_scan(&fds, &g, count_live, NULL, l, &n_ct);

	l->ct_entries = n_ct;
	l->ct_capacity = ct_capacity(fds.ct);
	return ret;
}

const struct lb_live *lb_sweeper_live(struct lb_sweeper *s, uint64_t max_age_ms)
{
	uint64_t now = uv_hrtime(), bound = max_age_ms * 1000000;
	struct lb_live *fresh;
	int ret;

	if (!max_age_ms) {
		bound = (uint64_t)LB_LIVE_MIN_AGE_MS * 1000000;
		if (LB_LIVE_REUSE * s->live.cost_ns > bound)
			bound = LB_LIVE_REUSE * s->live.cost_ns;
	}
	if (s->live.at_ns && now - s->live.at_ns < bound)
		return &s->live;
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return s->live.at_ns ? &s->live : NULL;
	ret = scan_live(s, fresh);
	if (ret) {
		free(fresh);
		lb_warn("cannot count the live flows: %s", strerror(-ret));
		errno = -ret;
		return s->live.at_ns ? &s->live : NULL;
	}
	fresh->at_ns = uv_hrtime();
	fresh->cost_ns = fresh->at_ns - now;
	s->live = *fresh;
	free(fresh);
	return &s->live;
}

uint64_t lb_sweeper_interval_ms(const struct lb_sweeper *s)
{
	return sweep_interval_ms(&s->t);
}

void lb_sweeper_set_timeouts(struct lb_sweeper *s, const struct lb_sweep_timeouts *t)
{
	s->t = *t;
	uv_timer_set_repeat(&s->timer, sweep_interval_ms(t));
}

void lb_sweeper_on_close(struct lb_sweeper *s, lb_sweep_close_fn fn, void *arg)
{
	s->on_close = fn;
	s->close_arg = arg;
}

void lb_sweeper_on_sweep(struct lb_sweeper *s, void (*fn)(void *arg), void *arg)
{
	s->on_sweep = fn;
	s->sweep_arg = arg;
}

const struct lb_sweep_result *lb_sweeper_last(const struct lb_sweeper *s)
{
	return &s->last;
}

static void sweeper_closed(uv_handle_t *h)
{
	free(h->data);
}

void lb_sweeper_stop(struct lb_sweeper *s)
{
	if (s)
		uv_close((uv_handle_t *)&s->timer, sweeper_closed);
}
