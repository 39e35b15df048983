/* SPDX-License-Identifier: MIT */
/*
 * lbd.h - the daemon's state and the one way to change it.
 *
 * Every change, from the configuration file at start, a reload, SIGHUP or an RPC method,
 * goes through lbd_apply(): the new configuration is validated whole, applied to the
 * datapath as a diff, and only then becomes the running one. A refused change leaves
 * maps, attachments and the running configuration exactly as they were.
 */
#ifndef LBD_LBD_H
#define LBD_LBD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <uv.h>

#include "args.h"
#include "dataplane.h"
#include "event_ring.h"
#include "drain.h"
#include "health.h"
#include "ifaddr.h"
#include "lb_config.h"
#include "mapsync.h"
#include "metrics_http.h"
#include "server.h"
#include "sni.h"
#include "splice.h"
#include "subscribers.h"
#include "sweep.h"

struct lbd {
	uv_loop_t *loop;
	struct lbd_args args;
	struct lb_config *cfg; /* the running configuration */
	struct lb_dataplane *dp;
	struct lb_ids ids;
	struct lb_ifaddr_table addrs;
	struct lb_ifwatch *ifwatch;
	struct lb_sweeper *sweeper;
	struct lb_rpc_server *rpc;
	struct lb_health *health;
	struct lb_drains *drains;
	struct lb_splicer *splicer;	  /* moves bytes of SNI-routed connections */
	struct lb_sni *sni;		  /* the SNI acceptors */
	struct lb_subs health_subs;	  /* clients following health events */
	struct lb_subs stats_subs;	  /* clients following connection events */
	struct lb_events *events;	  /* the datapath's event ring, read on the loop */
	struct lb_access_log *access_log; /* settings.access-log, when set */
	uint64_t events_sent;		  /* events sent to subscribers */
	uint64_t events_missed;		  /* ... and missed by subscribers too slow to read */
	struct lb_metrics_http *metrics;  /* settings.metrics-listen, when set */
	json_t *last_weights;		  /* proxy name -> digest of its weights as last sent */
	struct {
		uint64_t at_ns, cost_ns; /* when the last count of live flows ended, its cost */
		int64_t count;
	} live_scan; /* status's live-flow count, reused while recent (rpc_methods.c) */
	uv_signal_t sigint, sigterm, sighup;
	uv_timer_t stats_timer;
	uv_timer_t clock_timer; /* advances the datapath's clock (lb_dataplane_tick) */
	bool stats_timer_on;
	uint64_t started_ms;
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Make @next the running configuration. On success lbd owns @next (the previous one is
 * freed); on failure nothing changed, @next is still the caller's, and @err says why.
 * Returns 0, -EINVAL (the configuration breaks a rule), or another -errno (the kernel
 * refused an attach or a map update).
 */
int lbd_apply(struct lbd *l, struct lb_config *next, char *err, size_t errlen);

/* Re-read the configuration file (-c) and apply it as a diff. */
int lbd_reload(struct lbd *l, char *err, size_t errlen);

/* Re-read the interfaces' addresses and re-sync the listeners. */
int lbd_resync(struct lbd *l);

/*
 * The effective weights of group @g of proxy @p (the one weight composer: configured
 * weight x health x recovery step x drain). Writes g->n entries to @out.
 */
void lbd_compose_group(void *l, const struct lb_proxy_cfg *p, const struct lb_group_cfg *g,
		       uint16_t *out);

/* "default", the source route's CIDR, or "sni:HOSTNAME" for group @i of @p. */
const char *lbd_group_label(const struct lb_proxy_cfg *p, size_t i, char *buf, size_t len);

/*
 * The groups of @p with configured and effective weights:
 * [{"source": "default"|CIDR, "targets": [{"target", "configured-weight",
 * "effective-weight"}]}]. New reference.
 */
json_t *lbd_weights_json(struct lbd *l, const struct lb_proxy_cfg *p);

/* The SNI acceptor's choice of target (sni.h's lb_sni_choose_fn). */
int lbd_sni_choose(void *ctx, const char *proxy, const char *name, uint32_t client_addr,
		   uint16_t client_port, uint32_t listener_addr, uint16_t listener_port,
		   struct lb_sni_choice *out);

/* Health and drain callbacks: re-sync the weights of @proxy, tell subscribers. */
void lbd_on_health_changed(void *ctx, const char *proxy);
int lbd_drain_count(void *ctx, size_t n, const char *const *proxies, const uint32_t *addrs,
		    const uint16_t *ports, uint32_t *counts);
void lbd_on_health_event(void *ctx, json_t *event);

/* Milliseconds since lbd started. */
uint64_t lbd_uptime_ms(const struct lbd *l);

/* The running proxy called @name, or NULL. */
struct lb_proxy_cfg *lbd_find_proxy(const struct lb_config *cfg, const char *name);

#endif /* LBD_LBD_H */
