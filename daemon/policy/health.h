/* SPDX-License-Identifier: MIT */
/*
 * health.h - active health checking of every target, on the libuv loop.
 *
 * One checker per target (proxy, ip, port): a target that appears in several groups of a
 * proxy is checked once and its state applies to all of them. Checks run every
 * interval-ms (the first one after a random part of the interval, so a restart does not
 * check every backend at once), each bounded by timeout-ms. healthy-threshold consecutive
 * successes mark an unhealthy target healthy, unhealthy-threshold consecutive failures
 * mark a healthy one unhealthy. A target that became healthy ramps back in: recovery steps
 * 1, 2, 3 (25, 50, 75 % of its weight), one per further successful check, then full.
 *
 * Targets start healthy (a new lbd serves at once; a dead backend is found within
 * interval x unhealthy-threshold). A manual override (set-target-status) wins over the
 * checks until it is cleared; the checks keep running and their results stay visible (and
 * logged), but only the verdict the weights follow makes events. An override that changes
 * that verdict makes the event a check would; clearing a forced failure while the checks
 * find the target healthy ramps it in as a recovery does, one step per check interval
 * (per passing check while checks run, by a timer while they are off).
 */
#ifndef LBD_HEALTH_H
#define LBD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "health_check.h"
#include "lb_config.h"

enum lb_override { LB_OVERRIDE_NONE = 0, LB_OVERRIDE_HEALTHY, LB_OVERRIDE_UNHEALTHY };

struct lb_health;

/* What a target contributes to the weight composer right now. */
struct lb_health_state {
	bool healthy;
	uint8_t recovery_step; /* 1..3 while ramping, 0 otherwise */
};

/*
 * @changed runs whenever a target's contribution to the weights changed (proxy name given);
 * @event runs for each target-healthy / target-unhealthy transition of the verdict the
 * weights follow, whether a check or an override made it ("cause": "check" or "override"),
 * with a JSON event (borrowed: the callee takes a reference if it keeps it).
 */
typedef void (*lb_health_changed_fn)(void *ctx, const char *proxy);
typedef void (*lb_health_event_fn)(void *ctx, json_t *event);

struct lb_health *lb_health_new(uv_loop_t *loop, lb_health_changed_fn changed,
				lb_health_event_fn event, void *ctx);

/* Free all checkers (handles close asynchronously); NULL is a no-op. */
void lb_health_free(struct lb_health *h);

/*
 * Make the set of checked targets match @cfg: new targets start healthy, removed ones stop,
 * kept ones keep their state (and get the new check settings from their next check on).
 * Checks run only while @cfg->settings.health_check_enabled. Returns whether any target's
 * verdict (lb_health_state) changed, so the caller knows the maps need the new weights.
 */
bool lb_health_sync(struct lb_health *h, const struct lb_config *cfg);

/*
 * Before the first lb_health_sync(): (@proxy, @addr, @port) had no weight under the lbd
 * before this one (unhealthy, or drained: the pinned datapath says which targets, not
 * why). If that sync checks it, it starts unhealthy and is checked at once, coming back
 * (and ramping in) after healthy-threshold passed checks instead of getting its full
 * share until its checks fail again. Without checks it changes nothing. 0 or -ENOMEM.
 */
int lb_health_assume_unhealthy(struct lb_health *h, const char *proxy, const struct lb_ip *addr,
			       uint16_t port);

/* Whether checks run; when off, every target counts as healthy. */
bool lb_health_enabled(const struct lb_health *h);

/* The composer's view of (@proxy, @addr, @port); unknown targets are healthy. */
struct lb_health_state lb_health_state(const struct lb_health *h, const char *proxy,
				       const struct lb_ip *addr, uint16_t port);

/*
 * Set or clear (LB_OVERRIDE_NONE) a manual status; a changed verdict makes its event, and a
 * target cleared from LB_OVERRIDE_UNHEALTHY that the checks find healthy ramps in. Returns
 * 0 or -ENOENT.
 */
int lb_health_set_override(struct lb_health *h, const char *proxy, const struct lb_ip *addr,
			   uint16_t port, enum lb_override o);

/* Check now (the regular schedule continues afterwards). Returns 0, -ENOENT or -EAGAIN
 * when health checking is disabled. */
int lb_health_force_check(struct lb_health *h, const char *proxy, const struct lb_ip *addr,
			  uint16_t port);

/* Known target? */
bool lb_health_has(const struct lb_health *h, const char *proxy, const struct lb_ip *addr,
		   uint16_t port);

/*
 * Per-target details of @proxy as a JSON array of objects: target, status, override,
 * recovery-step, last-latency-ms, last-error, last-http-status, consecutive-successes,
 * consecutive-failures, checks, check (type, interval-ms, ...).
 */
json_t *lb_health_targets_json(const struct lb_health *h, const char *proxy);

const char *lb_override_name(enum lb_override o);

#endif /* LBD_HEALTH_H */
