// SPDX-License-Identifier: MIT
#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"
#include "lb_log.h"
#include "weights.h"

struct hc_target {
	struct lb_health *h;
	char proxy[LB_PROXY_NAME_MAX];
	struct lb_ip addr;
	uint16_t port;
	struct lb_hc_cfg cfg;
	/* lbd sends it a PROXY v2 header (from any group listing it): checks send LOCAL */
	bool proxy_local;
	bool healthy;
	enum lb_override override;
	uint8_t recovery_step;
	uint32_t consecutive_ok, consecutive_fail;
	uint64_t checks;
	struct lb_hc_result last;
	bool have_last;
	uv_timer_t timer;
	struct lb_hc_probe *probe;
	bool seen; /* mark for lb_health_sync */
};

struct lb_health {
	uv_loop_t *loop;
	lb_health_changed_fn changed;
	lb_health_event_fn event;
	void *ctx;
	bool enabled;
	size_t n, cap;
	struct hc_target **t;
	unsigned int seed;
	/* lb_health_assume_unhealthy(), until the first sync */
	struct assumed {
		char proxy[LB_PROXY_NAME_MAX];
		struct lb_ip addr;
		uint16_t port;
	} * assumed;
	size_t n_assumed;
};

const char *lb_override_name(enum lb_override o)
{
	return o == LB_OVERRIDE_HEALTHY	    ? "healthy"
	       : o == LB_OVERRIDE_UNHEALTHY ? "unhealthy"
					    : "none";
}

struct lb_health *lb_health_new(uv_loop_t *loop, lb_health_changed_fn changed,
				lb_health_event_fn event, void *ctx)
{
	struct lb_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->loop = loop;
	h->changed = changed;
	h->event = event;
	h->ctx = ctx;
	h->seed = (unsigned int)uv_hrtime();
	return h;
}

static struct hc_target *find(const struct lb_health *h, const char *proxy,
			      const struct lb_ip *addr, uint16_t port)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (lb_ip_eq(&h->t[i]->addr, addr) && h->t[i]->port == port &&
		    !strcmp(h->t[i]->proxy, proxy))
			return h->t[i];
	return NULL;
}

bool lb_health_has(const struct lb_health *h, const char *proxy, const struct lb_ip *addr,
		   uint16_t port)
{
	return find(h, proxy, addr, port) != NULL;
}

bool lb_health_enabled(const struct lb_health *h)
{
	return h->enabled;
}

static struct lb_health_state target_state(const struct lb_health *h, const struct hc_target *t)
{
	struct lb_health_state s = {.healthy = true};

	if (!t)
		return s;
	if (t->override != LB_OVERRIDE_NONE) {
		s.healthy = t->override == LB_OVERRIDE_HEALTHY;
		return s;
	}
	/* No verdict of checks; a ramp is one that clearing an unhealthy override started. */
	if (!h->enabled || t->cfg.type == LB_HC_NONE) {
		s.recovery_step = t->recovery_step;
		return s;
	}
	s.healthy = t->healthy;
	s.recovery_step = t->healthy ? t->recovery_step : 0;
	return s;
}

struct lb_health_state lb_health_state(const struct lb_health *h, const char *proxy,
				       const struct lb_ip *addr, uint16_t port)
{
	return target_state(h, find(h, proxy, addr, port));
}

static bool same_state(struct lb_health_state a, struct lb_health_state b)
{
	return a.healthy == b.healthy && a.recovery_step == b.recovery_step;
}

/* What changed a target's verdict: its checks, or set-target-status. */
enum cause { BY_CHECK, BY_OVERRIDE };

static json_t *target_event(const struct hc_target *t, const char *type, enum cause cause)
{
	char tgt[LB_TARGET_STR_MAX];

	json_t *ev =
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:i}", "type", type, "proxy",
			  t->proxy, "target", lb_format_target(&t->addr, t->port, tgt), "cause",
			  cause == BY_OVERRIDE ? "override" : "check", "override",
			  lb_override_name(t->override), "last-error",
			  lb_hc_error_name(t->last.error), "last-latency-ms",
			  t->last.latency_us / 1000.0, "last-http-status", t->last.http_status);

	if (ev && t->last.detail[0])
		json_object_set_new(ev, "last-error-detail", json_string(t->last.detail));
	return ev;
}

static void emit(struct hc_target *t, const char *type, enum cause cause)
{
	json_t *ev = target_event(t, type, cause);
	char tgt[LB_TARGET_STR_MAX];

	if (cause == BY_OVERRIDE)
		lb_info("health: %s %s is now %s (set-target-status %s)", t->proxy,
			lb_format_target(&t->addr, t->port, tgt), type + strlen("target-"),
			t->override == LB_OVERRIDE_NONE ? "auto" : lb_override_name(t->override));
	else
		lb_info("health: %s %s is now %s (%s%s%s)", t->proxy,
			lb_format_target(&t->addr, t->port, tgt), type + strlen("target-"),
			lb_hc_error_name(t->last.error), t->last.detail[0] ? ": " : "",
			t->last.detail);
	if (ev && t->h->event)
		t->h->event(t->h->ctx, ev);
	json_decref(ev);
}

/*
 * After a change to @t, whose state was @before: an event when its verdict flipped (however
 * it flipped: the event stream shows what the weights follow), and new weights when its
 * contribution changed.
 */
static void settle(struct hc_target *t, struct lb_health_state before, enum cause cause)
{
	struct lb_health_state now = target_state(t->h, t);

	if (now.healthy != before.healthy)
		emit(t, now.healthy ? "target-healthy" : "target-unhealthy", cause);
	if (!same_state(before, now) && t->h->changed)
		t->h->changed(t->h->ctx, t->proxy);
}

/*
 * The ramp of a target whose checks do not run (checks disabled): one step per check
 * interval, as checks would pace it. With checks on, each passing check takes a step.
 */
static void ramp_tick(uv_timer_t *timer)
{
	struct hc_target *t = timer->data;
	struct lb_health_state before = target_state(t->h, t);

	if (!t->recovery_step || t->h->enabled)
		return;
	if (++t->recovery_step >= LB_RECOVERY_STEPS)
		t->recovery_step = 0;
	else
		uv_timer_start(&t->timer, ramp_tick, t->cfg.interval_ms, 0);
	settle(t, before, BY_OVERRIDE);
}

static void probe_done(struct lb_hc_probe *p, const struct lb_hc_result *r, void *arg);

static void start_probe(uv_timer_t *timer)
{
	struct hc_target *t = timer->data;

	if (t->probe || !t->h->enabled)
		return;
	t->probe = lb_hc_probe_start(t->h->loop, &t->addr, t->port, &t->cfg, t->proxy_local,
				     probe_done, t);
	if (!t->probe) {
		struct lb_hc_result r = {.error = LB_HC_ERR_INTERNAL};

		probe_done(NULL, &r, t);
	}
}

/* Fold one result into the target's state: thresholds, recovery ramp, events. */
static void probe_done(struct lb_hc_probe *p, const struct lb_hc_result *r, void *arg)
{
	struct hc_target *t = arg;
	struct lb_health_state before = target_state(t->h, t);
	bool was_healthy = t->healthy;
	char tgt[LB_TARGET_STR_MAX];

	(void)p;
	t->probe = NULL; /* the probe frees itself after this callback */
	t->last = *r;
	t->have_last = true;
	t->checks++;
	if (r->error == LB_HC_OK) {
		t->consecutive_ok++;
		t->consecutive_fail = 0;
		if (t->healthy && t->recovery_step) {
			if (++t->recovery_step >= LB_RECOVERY_STEPS)
				t->recovery_step = 0;
		} else if (!t->healthy && t->consecutive_ok >= t->cfg.healthy_threshold) {
			t->healthy = true;
			t->recovery_step = 1;
		}
	} else {
		t->consecutive_fail++;
		t->consecutive_ok = 0;
		if (t->healthy && t->consecutive_fail >= t->cfg.unhealthy_threshold) {
			t->healthy = false;
			t->recovery_step = 0;
		}
	}
	/* Under an override the verdict stays the operator's: the checks' is only logged. */
	if (t->healthy != was_healthy && t->override != LB_OVERRIDE_NONE)
		lb_info("health: %s %s: checks say %s (%s%s%s); set-target-status keeps it %s",
			t->proxy, lb_format_target(&t->addr, t->port, tgt),
			t->healthy ? "healthy" : "unhealthy", lb_hc_error_name(t->last.error),
			t->last.detail[0] ? ": " : "", t->last.detail,
			lb_override_name(t->override));
	settle(t, before, BY_CHECK);
	uv_timer_start(&t->timer, start_probe, t->cfg.interval_ms, 0);
}

/* First check after a random part of the interval: restarts do not check all at once. */
static void schedule_first(struct hc_target *t)
{
	uint64_t delay = t->cfg.interval_ms ? rand_r(&t->h->seed) % t->cfg.interval_ms : 0;

	uv_timer_start(&t->timer, start_probe, delay, 0);
}

static void target_closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void target_free(struct hc_target *t)
{
	lb_hc_probe_cancel(t->probe);
	t->probe = NULL;
	uv_close((uv_handle_t *)&t->timer, target_closed);
}

static struct hc_target *target_new(struct lb_health *h, const char *proxy,
				    const struct lb_target_cfg *tc)
{
	struct hc_target *t;

	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		struct hc_target **grown = realloc(h->t, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		h->t = grown;
		h->cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->h = h;
	snprintf(t->proxy, sizeof(t->proxy), "%s", proxy);
	t->addr = tc->addr;
	t->port = tc->port;
	t->healthy = true;
	uv_timer_init(h->loop, &t->timer);
	t->timer.data = t;
	h->t[h->n++] = t;
	return t;
}

int lb_health_assume_unhealthy(struct lb_health *h, const char *proxy, const struct lb_ip *addr,
			       uint16_t port)
{
	struct assumed *grown = realloc(h->assumed, (h->n_assumed + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	h->assumed = grown;
	grown = &h->assumed[h->n_assumed++];
	memset(grown, 0, sizeof(*grown));
	snprintf(grown->proxy, sizeof(grown->proxy), "%s", proxy);
	grown->addr = *addr;
	grown->port = port;
	return 0;
}

static bool assumed_unhealthy(const struct lb_health *h, const struct hc_target *t)
{
	size_t i;

	for (i = 0; i < h->n_assumed; i++)
		if (h->assumed[i].port == t->port && lb_ip_eq(&h->assumed[i].addr, &t->addr) &&
		    !strncmp(h->assumed[i].proxy, t->proxy, sizeof(t->proxy)))
			return true;
	return false;
}

/* Returns whether the target's verdict changed (its check type went to or from none). */
static bool sync_target(struct lb_health *h, const char *proxy, const struct lb_target_cfg *tc)
{
	struct hc_target *t = find(h, proxy, &tc->addr, tc->port);
	struct lb_health_state before;

	if (t && t->seen) {
		/* synced already from another group of this proxy; a header from either */
		t->proxy_local |= tc->proxy_protocol == 2;
		return false;
	}
	if (!t) {
		t = target_new(h, proxy, tc);
		if (!t) {
			lb_warn("health: out of memory; %s is not checked", proxy);
			return false;
		}
		t->cfg = tc->hc;
		if (h->enabled && tc->hc.type != LB_HC_NONE && assumed_unhealthy(h, t)) {
			char tgt[LB_TARGET_STR_MAX];

			t->healthy = false;
			lb_info("health: %s %s had no weight under the previous lbd: unhealthy "
				"until %u checks pass",
				proxy, lb_format_target(&t->addr, t->port, tgt),
				t->cfg.healthy_threshold);
			uv_timer_start(&t->timer, start_probe, 0, 0);
		} else if (h->enabled) {
			schedule_first(t);
		}
	}
	before = target_state(h, t);
	t->cfg = tc->hc;
	t->proxy_local = tc->proxy_protocol == 2;
	t->seen = true;
	return !same_state(before, target_state(h, t));
}

bool lb_health_sync(struct lb_health *h, const struct lb_config *cfg)
{
	bool was = h->enabled, changed = false;
	size_t i, p, r, k;
	int pass;

	h->enabled = cfg->settings.health_check_enabled;
	for (i = 0; i < h->n; i++)
		h->t[i]->seen = false;
	/*
	 * A target is checked once per proxy, by the health-check one of its groups gives
	 * (the configuration refuses two different ones), else by the defaults: targets
	 * with their own check first, so a group listing it without one cannot take over.
	 */
	for (pass = 0; pass < 2; pass++)
		for (p = 0; p < cfg->n_proxies; p++) {
			const struct lb_proxy_cfg *pc = &cfg->proxies[p];

			for (r = 0; r < lb_proxy_n_groups(pc); r++) {
				const struct lb_group_cfg *g = lb_proxy_group(pc, r);

				for (k = 0; k < g->n; k++)
					if (pass || g->t[k].has_hc)
						changed |= sync_target(h, pc->name, &g->t[k]);
			}
		}
	free(h->assumed); /* the first configuration has taken what the last lbd left */
	h->assumed = NULL;
	h->n_assumed = 0;
	for (i = 0; i < h->n;) {
		if (h->t[i]->seen) {
			i++;
			continue;
		}
		target_free(h->t[i]);
		h->t[i] = h->t[--h->n];
	}
	if (h->enabled && !was) {
		for (i = 0; i < h->n; i++)
			schedule_first(h->t[i]);
		lb_info("health checking enabled for %zu targets", h->n);
	} else if (!h->enabled && was) {
		/* Off means "all healthy": forget the verdicts so none lingers when it is back. */
		for (i = 0; i < h->n; i++) {
			lb_hc_probe_cancel(h->t[i]->probe);
			h->t[i]->probe = NULL;
			uv_timer_stop(&h->t[i]->timer);
			h->t[i]->healthy = true;
			h->t[i]->recovery_step = 0;
			h->t[i]->consecutive_ok = h->t[i]->consecutive_fail = 0;
		}
		lb_info("health checking disabled; every target counts as healthy");
	}
	return changed || was != h->enabled;
}

int lb_health_set_override(struct lb_health *h, const char *proxy, const struct lb_ip *addr,
			   uint16_t port, enum lb_override o)
{
	struct hc_target *t = find(h, proxy, addr, port);
	struct lb_health_state before;
	enum lb_override was;

	if (!t)
		return -ENOENT;
	if (t->override == o)
		return 0;
	before = target_state(h, t);
	was = t->override;
	t->override = o;
	/*
	 * Back from a forced failure to checks that find it healthy: it ramps in as a recovered
	 * target does. Without checks running, a timer paces the steps.
	 */
	if (o == LB_OVERRIDE_NONE && was == LB_OVERRIDE_UNHEALTHY && target_state(h, t).healthy) {
		t->recovery_step = 1;
		if (!h->enabled && t->cfg.interval_ms)
			uv_timer_start(&t->timer, ramp_tick, t->cfg.interval_ms, 0);
	}
	settle(t, before, BY_OVERRIDE);
	return 0;
}

int lb_health_force_check(struct lb_health *h, const char *proxy, const struct lb_ip *addr,
			  uint16_t port)
{
	struct hc_target *t = find(h, proxy, addr, port);

	if (!t)
		return -ENOENT;
	if (!h->enabled)
		return -EAGAIN;
	if (!t->probe)
		uv_timer_start(&t->timer, start_probe, 0, 0);
	return 0;
}

static const char *status_of(const struct lb_health *h, const struct hc_target *t)
{
	struct lb_health_state s = lb_health_state(h, t->proxy, &t->addr, t->port);

	if (!s.healthy)
		return "unhealthy";
	return s.recovery_step ? "recovering" : "healthy";
}

json_t *lb_health_targets_json(const struct lb_health *h, const char *proxy)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < h->n; i++) {
		const struct hc_target *t = h->t[i];
		char tgt[LB_TARGET_STR_MAX];
		json_t *o;

		if (strcmp(t->proxy, proxy))
			continue;
		o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:{s:s, s:i, s:i}}", "target",
			      lb_format_target(&t->addr, t->port, tgt), "status", status_of(h, t),
			      "override", lb_override_name(t->override), "recovery-step",
			      t->healthy ? t->recovery_step : 0, "consecutive-successes",
			      (int)t->consecutive_ok, "consecutive-failures",
			      (int)t->consecutive_fail, "checks", (json_int_t)t->checks, "check",
			      "type", lb_hc_type_name(t->cfg.type), "interval-ms",
			      (int)t->cfg.interval_ms, "timeout-ms", (int)t->cfg.timeout_ms);
		if (!o)
			continue;
		if (t->cfg.host)
			json_object_set_new(json_object_get(o, "check"), "host",
					    json_string(t->cfg.host));
		if (t->cfg.type == LB_HC_HTTPS && t->cfg.tls_verify)
			json_object_set_new(json_object_get(o, "check"), "tls-verify", json_true());
		if (t->have_last) {
			json_object_set_new(o, "last-latency-ms",
					    json_real(t->last.latency_us / 1000.0));
			json_object_set_new(o, "last-error",
					    json_string(lb_hc_error_name(t->last.error)));
			if (t->last.detail[0])
				json_object_set_new(o, "last-error-detail",
						    json_string(t->last.detail));
			if (t->last.http_status)
				json_object_set_new(o, "last-http-status",
						    json_integer(t->last.http_status));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

void lb_health_free(struct lb_health *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		target_free(h->t[i]);
	free(h->t);
	free(h->assumed);
	free(h);
}
