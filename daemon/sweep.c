// SPDX-License-Identifier: MIT
#include "sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "dataplane.h"
#include "lb_log.h"

#define NSEC	    1000000000ull
#define SWEEP_BATCH 4096

struct lb_sweeper {
	uv_timer_t timer;
	struct lb_dataplane *dp;
	struct lb_sweep_timeouts t;
	struct lb_sweep_result last;
};

/* The clock the datapath stamps with (bpf_ktime_get_coarse_ns). */
static uint64_t now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static uint64_t idle_ns(uint64_t now, uint64_t last)
{
	return now > last ? now - last : 0;
}

bool lb_sweep_expired(const struct lb_ct_key *key, const struct lb_ct_val *orig,
		      const struct lb_ct_val *reply, uint64_t now_ns,
		      const struct lb_sweep_timeouts *t, bool *live)
{
	uint64_t last = orig->last_seen_ns;
	uint8_t flags = orig->flags;
	uint64_t idle;
	bool closed;

	if (reply) {
		if (reply->last_seen_ns > last)
			last = reply->last_seen_ns;
		flags |= reply->flags;
	}
	idle = idle_ns(now_ns, last);
	if (key->proto == LB_PROTO_UDP) {
		*live = true;
		return idle > (uint64_t)t->udp_idle * NSEC;
	}
	closed = (flags & LB_CT_F_RST) ||
		 ((orig->flags & LB_CT_F_FIN) && reply && (reply->flags & LB_CT_F_FIN));
	*live = !closed;
	if (closed)
		return idle > LB_CT_CLOSED_SEC * NSEC;
	if (!reply || !(reply->flags & LB_CT_F_REPLIED))
		if (idle_ns(now_ns, orig->created_ns) > LB_CT_UNANSWERED_SEC * NSEC)
			return true;
	return idle > (uint64_t)t->tcp_idle * NSEC;
}

static void reply_key(const struct lb_ct_key *k, const struct lb_ct_val *v, struct lb_ct_key *r)
{
	memset(r, 0, sizeof(*r));
	r->saddr = v->nat_addr;
	r->sport = v->nat_port;
	r->daddr = k->saddr;
	r->dport = k->sport;
	r->proto = k->proto;
	r->dir = LB_DIR_REPLY;
}

/* Read the whole map in batches (one syscall per SWEEP_BATCH entries). */
static int read_all(int fd, struct lb_ct_key **keys_out, struct lb_ct_val **vals_out, size_t *n_out)
{
	struct lb_ct_key *keys = NULL;
	struct lb_ct_val *vals = NULL;
	size_t n = 0, cap = 0;
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

int lb_sweep_once(int ct_fd, const struct lb_sweep_timeouts *t, struct lb_sweep_result *res)
{
	struct lb_ct_key *keys = NULL, rk;
	struct lb_ct_val *vals = NULL, rv;
	uint64_t now = now_coarse_ns();
	size_t n = 0, i;
	int ret;

	ret = read_all(ct_fd, &keys, &vals, &n);
	if (ret)
		return ret;
	if (res)
		memset(res, 0, sizeof(*res));
	for (i = 0; i < n; i++) {
		bool live, have_reply;

		if (keys[i].dir == LB_DIR_REPLY) {
			/*
			 * A reply entry whose ORIG was evicted can no longer be reached by a
			 * request; once quiet it is removed on its own. (The datapath writes
			 * REPLY before ORIG, hence the quiet period before looking.)
			 */
			if (idle_ns(now, vals[i].last_seen_ns) > LB_CT_UNANSWERED_SEC * NSEC) {
				struct lb_ct_key ok = {
					.saddr = keys[i].daddr,
					.sport = keys[i].dport,
					.daddr = vals[i].nat_addr,
					.dport = vals[i].nat_port,
					.proto = keys[i].proto,
					.dir = LB_DIR_ORIG,
				};
				struct lb_ct_val ov;

				if (bpf_map_lookup_elem(ct_fd, &ok, &ov))
					bpf_map_delete_elem(ct_fd, &keys[i]);
			}
			continue;
		}
		reply_key(&keys[i], &vals[i], &rk);
		have_reply = bpf_map_lookup_elem(ct_fd, &rk, &rv) == 0;
		if (res)
			res->flows++;
		if (lb_sweep_expired(&keys[i], &vals[i], have_reply ? &rv : NULL, now, t, &live)) {
			bpf_map_delete_elem(ct_fd, &keys[i]);
			if (have_reply)
				bpf_map_delete_elem(ct_fd, &rk);
			if (res)
				res->expired++;
			continue;
		}
		if (res && live) {
			if (vals[i].proxy_id < LB_MAX_PROXIES)
				res->live_per_proxy[vals[i].proxy_id]++;
			if (vals[i].target_id < LB_MAX_TARGETS)
				res->live_per_target[vals[i].target_id]++;
		}
	}
	free(keys);
	free(vals);
	return 0;
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
	int ret = lb_sweep_once(lb_dataplane_fd_ct(s->dp), &s->t, &s->last);

	if (ret)
		lb_warn("conntrack sweep failed: %s", strerror(-ret));
	else if (s->last.expired)
		lb_debug("conntrack sweep: %llu flows, %llu expired",
			 (unsigned long long)s->last.flows, (unsigned long long)s->last.expired);
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

void lb_sweeper_set_timeouts(struct lb_sweeper *s, const struct lb_sweep_timeouts *t)
{
	s->t = *t;
	uv_timer_set_repeat(&s->timer, sweep_interval_ms(t));
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
