// SPDX-License-Identifier: MIT
#include "drain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_abi.h"
#include "lb_addr.h"
#include "lb_log.h"

struct waiter {
	const struct lb_drain_waiter *w;
	void *arg;
};

struct drain {
	char proxy[LB_PROXY_NAME_MAX];
	struct lb_ip addr;
	uint16_t port;
	enum lb_drain_status status;
	uint64_t started_ms, ended_ms;
	uint32_t timeout_ms;
	uint32_t initial, current;
	bool counted; /* initial holds a real count */
	size_t n_waiters;
	struct waiter *waiters;
};

struct lb_drains {
	uv_loop_t *loop;
	uv_timer_t timer;
	uint32_t interval_ms;
	lb_drain_count_fn count;
	lb_drain_changed_fn changed;
	void *ctx;
	size_t n;
	struct drain *v;
};

const char *lb_drain_status_name(enum lb_drain_status s)
{
	switch (s) {
	case LB_DRAIN_DRAINING:
		return "draining";
	case LB_DRAIN_COMPLETED:
		return "completed";
	case LB_DRAIN_TIMEOUT:
		return "timeout";
	default:
		return "cancelled";
	}
}

static json_t *status_json(const struct lb_drains *d, const struct drain *x)
{
	uint64_t end = x->status == LB_DRAIN_DRAINING ? uv_now(d->loop) : x->ended_ms;
	char tgt[LB_TARGET_STR_MAX];

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "proxy", x->proxy, "target",
			 lb_format_target(&x->addr, x->port, tgt), "status",
			 lb_drain_status_name(x->status), "elapsed-ms",
			 (json_int_t)(end - x->started_ms), "timeout-ms", (json_int_t)x->timeout_ms,
			 "current-connections", (json_int_t)x->current, "initial-connections",
			 (json_int_t)x->initial);
}

static struct drain *find(const struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
			  uint16_t port)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (lb_ip_eq(&d->v[i].addr, addr) && d->v[i].port == port &&
		    !strcmp(d->v[i].proxy, proxy))
			return &d->v[i];
	return NULL;
}

/* Answer every waiter of @x with its final status. */
static void finish_waiters(struct lb_drains *d, struct drain *x)
{
	json_t *st = status_json(d, x);
	size_t i;

	for (i = 0; i < x->n_waiters; i++)
		x->waiters[i].w->done(x->waiters[i].arg, st);
	json_decref(st);
	free(x->waiters);
	x->waiters = NULL;
	x->n_waiters = 0;
}

static void end_drain(struct lb_drains *d, struct drain *x, enum lb_drain_status s)
{
	char tgt[LB_TARGET_STR_MAX];

	x->status = s;
	x->ended_ms = uv_now(d->loop);
	lb_info("drain of %s %s %s after %llu ms with %u connections left", x->proxy,
		lb_format_target(&x->addr, x->port, tgt), lb_drain_status_name(s),
		(unsigned long long)(x->ended_ms - x->started_ms), x->current);
	finish_waiters(d, x);
}

static size_t count_draining(const struct lb_drains *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += d->v[i].status == LB_DRAIN_DRAINING;
	return n;
}

/* One conntrack scan for every active drain: counts, completions, timeouts, progress. */
static void check_all(struct lb_drains *d)
{
	size_t n = count_draining(d), i, k;
	const char **proxies;
	struct lb_ip *addrs;
	uint32_t *counts;
	uint16_t *ports;
	int ret = -ENOMEM;

	if (!n)
		return;
	proxies = calloc(n, sizeof(*proxies));
	addrs = calloc(n, sizeof(*addrs));
	ports = calloc(n, sizeof(*ports));
	counts = calloc(n, sizeof(*counts));
	if (proxies && addrs && ports && counts) {
		for (i = 0, k = 0; i < d->n; i++) {
			if (d->v[i].status != LB_DRAIN_DRAINING)
				continue;
			proxies[k] = d->v[i].proxy;
			addrs[k] = d->v[i].addr;
			ports[k++] = d->v[i].port;
		}
		ret = d->count(d->ctx, n, proxies, addrs, ports, counts);
	}
	if (ret)
		lb_warn("drain: cannot count connections: %s", strerror(-ret));
	for (i = 0, k = 0; !ret && i < d->n; i++) {
		struct drain *x = &d->v[i];
		json_t *st;
		size_t w;

		if (x->status != LB_DRAIN_DRAINING)
			continue;
		x->current = counts[k++];
		if (!x->counted) {
			x->initial = x->current;
			x->counted = true;
		}
		/*
		 * Not on the first count: a packet already inside the datapath when the
		 * weights changed may still create a flow to this target (it read the old
		 * group). One check interval later such a flow is in conntrack and counted.
		 */
		if (x->current == 0 && uv_now(d->loop) - x->started_ms >= d->interval_ms) {
			end_drain(d, x, LB_DRAIN_COMPLETED);
			continue;
		}
		if (uv_now(d->loop) - x->started_ms >= x->timeout_ms) {
			end_drain(d, x, LB_DRAIN_TIMEOUT);
			continue;
		}
		st = status_json(d, x);
		for (w = 0; w < x->n_waiters; w++)
			if (x->waiters[w].w->progress)
				x->waiters[w].w->progress(x->waiters[w].arg, st);
		json_decref(st);
	}
	free(proxies);
	free(addrs);
	free(ports);
	free(counts);
}

static void on_tick(uv_timer_t *t)
{
	struct lb_drains *d = t->data;

	check_all(d);
	if (!count_draining(d))
		uv_timer_stop(&d->timer);
}

struct lb_drains *lb_drains_new(uv_loop_t *loop, lb_drain_count_fn count,
				lb_drain_changed_fn changed, void *ctx)
{
	struct lb_drains *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->loop = loop;
	d->count = count;
	d->changed = changed;
	d->ctx = ctx;
	d->interval_ms = 1000;
	uv_timer_init(loop, &d->timer);
	d->timer.data = d;
	return d;
}

void lb_drains_set_interval(struct lb_drains *d, uint32_t ms)
{
	d->interval_ms = ms ? ms : 1000;
	if (uv_is_active((uv_handle_t *)&d->timer))
		uv_timer_set_repeat(&d->timer, d->interval_ms);
}

int lb_drains_start(struct lb_drains *d, const char *proxy, const struct lb_ip *addr, uint16_t port,
		    uint32_t timeout_ms, json_t **status)
{
	struct drain *x = find(d, proxy, addr, port), *grown;

	if (!x) {
		grown = realloc(d->v, (d->n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		d->v = grown;
		x = &d->v[d->n++];
		memset(x, 0, sizeof(*x));
		snprintf(x->proxy, sizeof(x->proxy), "%s", proxy);
		x->addr = *addr;
		x->port = port;
		x->status = LB_DRAIN_DRAINING;
		x->started_ms = uv_now(d->loop);
		x->timeout_ms = timeout_ms;
		if (d->changed)
			d->changed(d->ctx, proxy);
		/* Count at once for the initial count; completion waits for the next check. */
		check_all(d);
		if (count_draining(d) && !uv_is_active((uv_handle_t *)&d->timer))
			uv_timer_start(&d->timer, on_tick, d->interval_ms, d->interval_ms);
		x = find(d, proxy, addr, port);
	}
	*status = status_json(d, x);
	return 0;
}

int lb_drains_wait(struct lb_drains *d, const char *proxy, const struct lb_ip *addr, uint16_t port,
		   const struct lb_drain_waiter *w, void *arg)
{
	struct drain *x = find(d, proxy, addr, port);
	struct waiter *grown;

	if (!x)
		return -ENOENT;
	if (x->status != LB_DRAIN_DRAINING) {
		json_t *st = status_json(d, x);

		w->done(arg, st);
		json_decref(st);
		return 0;
	}
	grown = realloc(x->waiters, (x->n_waiters + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	x->waiters = grown;
	x->waiters[x->n_waiters].w = w;
	x->waiters[x->n_waiters].arg = arg;
	x->n_waiters++;
	return 0;
}

static void remove_at(struct lb_drains *d, size_t i)
{
	d->v[i] = d->v[--d->n];
}

int lb_drains_cancel(struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
		     uint16_t port, enum lb_drain_status *previous)
{
	struct drain *x = find(d, proxy, addr, port);
	char name[LB_PROXY_NAME_MAX];

	if (!x)
		return -ENOENT;
	*previous = x->status;
	if (x->status == LB_DRAIN_DRAINING)
		end_drain(d, x, LB_DRAIN_CANCELLED);
	snprintf(name, sizeof(name), "%s", x->proxy);
	remove_at(d, x - d->v);
	if (d->changed)
		d->changed(d->ctx, name);
	return 0;
}

bool lb_drains_drained(const struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
		       uint16_t port)
{
	return find(d, proxy, addr, port) != NULL;
}

int lb_drains_starved_group(const struct lb_drains *d, const struct lb_proxy_cfg *p,
			    const struct lb_ip *addr, uint16_t port)
{
	size_t r, k;

	for (r = 0; r < lb_proxy_n_groups(p); r++) {
		const struct lb_group_cfg *g = lb_proxy_group(p, r);
		bool starved = false, other = false;

		for (k = 0; k < g->n; k++) {
			const struct lb_target_cfg *t = &g->t[k];
			bool self = addr && lb_ip_eq(&t->addr, addr) && t->port == port;
			bool drained = self || lb_drains_drained(d, p->name, &t->addr, t->port);

			starved |= addr ? self : drained && t->weight > 0;
			other |= !drained && t->weight > 0;
		}
		if (starved && !other)
			return (int)r;
	}
	return -1;
}

void lb_drains_prune(struct lb_drains *d,
		     bool (*keep)(void *ctx, const char *proxy, const struct lb_ip *addr,
				  uint16_t port),
		     void *ctx)
{
	size_t i = 0;

	while (i < d->n) {
		struct drain *x = &d->v[i];

		if (keep(ctx, x->proxy, &x->addr, x->port)) {
			i++;
			continue;
		}
		if (x->status == LB_DRAIN_DRAINING)
			end_drain(d, x, LB_DRAIN_CANCELLED);
		remove_at(d, i);
	}
}

json_t *lb_drains_json(const struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
		       const uint16_t *port)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct drain *x = &d->v[i];

		if ((proxy && strcmp(proxy, x->proxy)) || (addr && !lb_ip_eq(addr, &x->addr)) ||
		    (port && *port != x->port))
			continue;
		json_array_append_new(arr, status_json(d, x));
	}
	return arr;
}

static void timer_closed(uv_handle_t *h)
{
	struct lb_drains *d = h->data;
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].waiters);
	free(d->v);
	free(d);
}

void lb_drains_free(struct lb_drains *d)
{
	size_t i, w;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		for (w = 0; w < d->v[i].n_waiters; w++)
			if (d->v[i].waiters[w].w->drop)
				d->v[i].waiters[w].w->drop(d->v[i].waiters[w].arg);
		d->v[i].n_waiters = 0;
	}
	uv_close((uv_handle_t *)&d->timer, timer_closed);
}
