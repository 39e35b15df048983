/* SPDX-License-Identifier: MIT */
/*
 * drain.h - taking a target out of rotation without dropping a connection.
 *
 * A drained target gets effective weight 0 in every group of its proxy (through the weight
 * composer), so no new flow picks it, while conntrack keeps its established flows on it.
 * Every drain-check-interval-ms one conntrack scan counts each draining target's open
 * flows (a flow stops counting when FIN was seen both ways or RST, or when it expired): the
 * drain completes when that is 0 at a check at least one interval after the start (so a
 * packet that read the old weights is counted), or times out; either way the connections are left
 * alone, and the target stays out of rotation until `undrain`.
 *
 * Drains live in lbd's memory: a restarted lbd starts with none (its configuration's
 * weights apply again).
 */
#ifndef LBD_DRAIN_H
#define LBD_DRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "lb_config.h"
#include "lb_ip.h"

enum lb_drain_status {
	LB_DRAIN_DRAINING = 0,
	LB_DRAIN_COMPLETED,
	LB_DRAIN_TIMEOUT,
	LB_DRAIN_CANCELLED
};

struct lb_drains;

/*
 * Counts open flows per target: fills @counts[i] for the targets (@proxy_ids[i],
 * @addrs[i], @ports[i]); returns 0 or -errno.
 */
typedef int (*lb_drain_count_fn)(void *ctx, size_t n, const char *const *proxies,
				 const struct lb_ip *addrs, const uint16_t *ports,
				 uint32_t *counts);
/* The drained set changed (a drain started or was cancelled): weights must be recomposed. */
typedef void (*lb_drain_changed_fn)(void *ctx, const char *proxy);

struct lb_drains *lb_drains_new(uv_loop_t *loop, lb_drain_count_fn count,
				lb_drain_changed_fn changed, void *ctx);
void lb_drains_free(struct lb_drains *d);

/* How often drains are checked (settings.drain-check-interval-ms). */
void lb_drains_set_interval(struct lb_drains *d, uint32_t ms);

/*
 * Start draining (@proxy, @addr, @port) with @timeout_ms. An existing drain of the target
 * is kept as it is (its status is returned). On success *status gets the drain's JSON
 * status (new reference). Returns 0 or -errno.
 */
int lb_drains_start(struct lb_drains *d, const char *proxy, const struct lb_ip *addr, uint16_t port,
		    uint32_t timeout_ms, json_t **status);

/*
 * Someone waiting for a drain to end (lbctl drain --wait): @progress runs at every check
 * while the drain goes on, @done once with its final status (the waiter is forgotten after
 * it), @drop instead of @done when the drains are freed first. Statuses are borrowed.
 */
struct lb_drain_waiter {
	void (*progress)(void *arg, json_t *status);
	void (*done)(void *arg, json_t *status);
	void (*drop)(void *arg);
};

/*
 * Tell @w (with @arg) how the drain of the target goes; a drain that already ended calls
 * done at once. Returns 0, -ENOENT (no such drain) or -ENOMEM.
 */
int lb_drains_wait(struct lb_drains *d, const char *proxy, const struct lb_ip *addr, uint16_t port,
		   const struct lb_drain_waiter *w, void *arg);

/*
 * Cancel (undrain): the target takes new flows again; waiters learn "cancelled".
 * *previous gets the status it had. Returns 0 or -ENOENT.
 */
int lb_drains_cancel(struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
		     uint16_t port, enum lb_drain_status *previous);

/* Is the target out of rotation (draining, completed or timed out)? */
bool lb_drains_drained(const struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
		       uint16_t port);

/*
 * The first group of @p that drains leave without a target for new connections: one with
 * a drained target of weight > 0 and no target of weight > 0 that is not drained. With
 * @addr (the question a drain of it asks), the first group holding it that would have no
 * target of weight > 0 left undrained once it is drained too. -1 when there is none.
 */
int lb_drains_starved_group(const struct lb_drains *d, const struct lb_proxy_cfg *p,
			    const struct lb_ip *addr, uint16_t port);

/* Drop drains whose target no longer exists; keep(proxy, addr, port) says which exist. */
void lb_drains_prune(struct lb_drains *d,
		     bool (*keep)(void *ctx, const char *proxy, const struct lb_ip *addr,
				  uint16_t port),
		     void *ctx);

/* JSON statuses: every drain, or filtered by @proxy / target (NULL = any). */
json_t *lb_drains_json(const struct lb_drains *d, const char *proxy, const struct lb_ip *addr,
		       const uint16_t *port);

const char *lb_drain_status_name(enum lb_drain_status s);

#endif /* LBD_DRAIN_H */
