/* SPDX-License-Identifier: MIT */
/*
 * lbd.h - the daemon's state: one struct lbd owns every subsystem (each with its own
 * _new/_free or _start/_stop), the running configuration and its model. It changes only
 * through apply.h. Functions named lbd_* take it; lb_* ones take explicit arguments.
 *
 * Below the RPC layer: lbd knows nothing of clients. What it has to tell (health events,
 * weights-updated, connection events) goes out through struct lbd_notify.
 */
#ifndef LBD_LBD_H
#define LBD_LBD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <jansson.h>
#include <uv.h>

#include "args.h"
#include "dataplane.h"
#include "drain.h"
#include "event_ring.h"
#include "health.h"
#include "ifaddr.h"
#include "lb_config.h"
#include "mapsync.h"
#include "metrics_http.h"
#include "model.h"
#include "sni.h"
#include "splice.h"
#include "sweep.h"
#include "xdp_tx.h"

/*
 * Where lbd's notifications go (the RPC layer's streams); any member may be NULL.
 * @health_wanted says whether anyone follows health events now, and @health gets each
 * target-healthy, target-unhealthy and weights-updated event; @flows_wanted and @flow
 * the same for connection events. Events are borrowed.
 */
struct lbd_notify {
	bool (*health_wanted)(void *ctx);
	void (*health)(void *ctx, json_t *event);
	bool (*flows_wanted)(void *ctx);
	void (*flow)(void *ctx, json_t *event);
	void *ctx;
};

struct lbd {
	uv_loop_t *loop;
	struct lbd_args args;
	struct lb_config *cfg;	 /* the running configuration */
	struct lb_model *model;	 /* its effective state: ids, effective weights */
	struct lb_ids adopted;	 /* the ids of an adopted datapath, until the first model */
	struct lb_dataplane *dp; /* programs, maps, attachments */
	struct lb_mapsync *maps; /* writes models to the maps */
	struct lb_ifaddr_table addrs;
	struct lb_ifwatch *ifwatch;
	struct lb_ifwatch *xdpwatch;   /* xdp-features changes (lb_fast_tx); NULL before 6.3 */
	struct lb_neigh *neigh;	       /* the neighbour entries of dsr targets (neigh.h) */
	struct lb_ifwatch *neighwatch; /* entries leaving the neighbour table */
	struct lb_sweeper *sweeper;    /* conntrack expiry, and the one live-flow count */
	struct lb_health *health;
	struct lb_drains *drains;
	struct lb_splicer *splicer;	  /* moves bytes of SNI-routed connections */
	struct lb_sni *sni;		  /* the SNI acceptors */
	struct lb_event_ring *events;	  /* the datapath's connection events, read on the loop */
	struct lb_access_log *access_log; /* settings.access-log, when set */
	struct lb_metrics_http *metrics;  /* settings.metrics-listen, when set */
	struct lbd_notify notify;
	json_t *last_weights;	 /* proxy name -> digest of its weights as last announced */
	json_t *last_stats;	 /* proxy name -> its last stats log line (lbd_stats_log()) */
	struct lb_ip *announced; /* what node.c last announced, sorted */
	size_t n_announced;
	/* lb_announce_claim() of (claim_table, claim_protocol); -1 when none (node.h) */
	int claim_fd;
	uint32_t claim_table;
	uint8_t claim_protocol;
	bool repair_failed;	   /* lbd_node_check() said it could not put routes back */
	struct lbd_linger *linger; /* interfaces no longer used, waiting for flows (attach.h) */
	size_t n_linger;
	uv_signal_t sigint, sigterm, sighup, sigusr1;
	uv_timer_t stats_timer;
	uv_timer_t clock_timer; /* advances the datapath's clock (lb_dataplane_tick) */
	uint64_t started_ms;
	bool lost;	  /* the datapath was removed under this lbd: stop, and exit non-zero */
	bool handed_over; /* a next lbd took everything over (lbd --takeover): leave it all */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Live flows per proxy and per target (the sweeper's snapshot, sweep.h): @fresh for a
 * reply to a request (a fraction of a second old), else the last sweep's (/metrics, logs).
 * NULL with errno when conntrack cannot be read.
 */
const struct lb_live *lbd_live(struct lbd *l, bool fresh);

/*
 * Count the live flows now, whatever the snapshot's age: after a change the next replies'
 * counts must not predate (a node drain: `lbctl node drain --wait` must not be told 0 by a
 * snapshot taken before a flow that is open when the drain begins).
 */
void lbd_live_recount(struct lbd *l);

/* Milliseconds since lbd started. */
uint64_t lbd_uptime_ms(const struct lbd *l);

/* The name of proxy id @id, or "?". */
const char *lbd_proxy_name(const struct lbd *l, uint32_t id);

#endif /* LBD_LBD_H */
