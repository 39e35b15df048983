/* SPDX-License-Identifier: MIT */
/*
 * model.h - the effective state: what the datapath and everything that reports on it
 * should say, computed once per change from the configuration and the policy verdicts.
 *
 * For every proxy of a configuration the model holds its id, and for every group of it
 * (the default group, each source route, each SNI route, and the SNI acceptor's group)
 * the id of its lb_groups entry and each target with its configured weight, the health
 * and drain verdicts it was composed with, the effective weight the one weight composer
 * made of them (weights.h) and its target id. Map sync writes it (dataplane/mapsync.h),
 * stats, health, /metrics and the SNI chooser read it; nobody composes weights elsewhere.
 *
 * A model refers to the configuration it was built from (which must outlive it) and owns
 * its ids: building one for a new configuration numbers on a copy, so a refused change
 * leaves the ids in force untouched.
 */
#ifndef LBD_MODEL_H
#define LBD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "ids.h"
#include "lb_config.h"

struct lb_health;
struct lb_drains;

/* One target as one group holds it. */
struct lb_model_target {
	struct lb_ip addr;
	uint16_t port;	    /* host order */
	uint16_t effective; /* the weight new flows see: the group sums to 100 (10000 when
			     * relative, lb_group_relative()) or 0 */
	uint32_t target_id;
	uint8_t configured; /* as configured, or as set-weights set it */
	uint8_t proxy_protocol;
	bool healthy;	       /* the verdicts it was composed with */
	uint8_t recovery_step; /* 1..3 while ramping back in */
	bool draining;
};

enum lb_model_group_kind {
	LB_MG_DEFAULT,	/* the proxy's default target(s) */
	LB_MG_SOURCE,	/* a source route */
	LB_MG_SNI,	/* an SNI route: chosen by lbd's acceptor, not written to the maps */
	LB_MG_ACCEPTOR, /* one backend of address 0: the SNI acceptor's port on the LB */
};

struct lb_model_group {
	enum lb_model_group_kind kind;
	uint32_t id; /* its lb_groups key (SNI groups have none) */
	size_t n;
	struct lb_model_target *t;
};

struct lb_model_proxy {
	const struct lb_proxy_cfg *cfg;
	uint32_t id;
	bool fresh; /* the id was given out by this change: its counters start at zero */
	/* Indexed like lb_proxy_group(): default, source routes, SNI routes. */
	size_t n_groups;
	struct lb_model_group *groups;
	/* The SNI acceptor's group, when acceptor_port is not 0: where the proxy's TCP
	 * listeners point instead of the default group (source routes are looked up first). */
	uint16_t acceptor_port;
	struct lb_model_group acceptor;
};

struct lb_model {
	const struct lb_config *cfg;
	struct lb_ids ids;
	size_t n_proxies; /* as cfg->proxies */
	struct lb_model_proxy *proxies;
	size_t n_fresh_targets; /* target ids given out by this change */
	uint32_t *fresh_targets;
};

/* What the composer reads besides the configuration; NULL members mean "none". */
struct lb_model_inputs {
	const struct lb_health *health; /* NULL: every target healthy */
	const struct lb_drains *drains; /* NULL: nothing drained */
	const uint16_t *acceptor_port;	/* per proxy of the configuration: 0 when none */
	/*
	 * What conntrack holds, so retired proxy and target ids are not handed to others while
	 * flows carry them (idmap.h); a zero now_ns: nothing known (retired ids then wait one
	 * change).
	 */
	struct lb_id_quarantine proxies_q, targets_q;
};

/*
 * Build the model of @cfg: ids numbered from @prev (kept where the thing they name
 * survives, retired ones not handed out while conntrack may carry them), effective
 * weights composed from
 * @in. Returns 0 and *out, or -ENOSPC (capacity) / -ENOMEM with a sentence in @err.
 */
int lb_model_build(const struct lb_config *cfg, const struct lb_ids *prev,
		   const struct lb_model_inputs *in, struct lb_model **out, char *err,
		   size_t errlen);

/*
 * Compose the effective weights of every group of proxy @name again: a verdict changed, or
 * the configured weights of its configuration (set-weights changes them in place).
 * Returns true when some weight or verdict of it changed.
 */
bool lb_model_recompose(struct lb_model *m, const char *name, const struct lb_model_inputs *in);

/* The proxy called @name, or NULL. */
const struct lb_model_proxy *lb_model_find(const struct lb_model *m, const char *name);

/*
 * The target of @g a new flow of hash @hash goes to: the datapath's own choice
 * (lb_select.h) over the effective weights. NULL when every weight is 0.
 */
const struct lb_model_target *lb_model_select(const struct lb_model_group *g, uint32_t hash);

/*
 * The groups of @p with configured and effective weights:
 * [{"source": "default"|CIDR|"sni:NAME", "targets": [{"target", "configured-weight",
 * "effective-weight"}]}]. New reference.
 */
json_t *lb_model_weights_json(const struct lb_model_proxy *p);

/* Free @m (not its configuration); NULL is a no-op. */
void lb_model_free(struct lb_model *m);

#endif /* LBD_MODEL_H */
