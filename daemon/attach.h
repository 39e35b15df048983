/* SPDX-License-Identifier: MIT */
/*
 * attach.h - the interfaces a configuration listens on, as a step of lbd_apply(): attach
 * the new ones and move every attached one to the hook settings.ingress asks for
 * (prepare), then set route_localnet where 127.0.0.0/8 targets need it and detach what no
 * proxy uses any more (commit), or put everything back (abort). What no proxy uses but
 * established flows may still pass lingers until they end (struct lbd_linger).
 */
#ifndef LBD_ATTACH_H
#define LBD_ATTACH_H

#include <net/if.h>
#include <stddef.h>

#include "lb_abi.h"
#include "lb_config.h"

struct lbd;
struct lb_dataplane;

/* What a prepare did, for its commit or abort. */
struct lbd_attach_undo {
	size_t n_added;
	char (*added)[IF_NAMESIZE]; /* interfaces attached by the prepare */
	bool fullnat_set;	    /* the prepare set full-nat's port range; the old one: */
	uint32_t old_port_min, old_port_max;
};

/*
 * An interface the configuration no longer uses, still attached ("lingering") while
 * conntrack may hold flows that pass it: established flows finish where they started.
 * It has no listener, so no new flow comes in through it.
 */
struct lbd_linger {
	char name[IF_NAMESIZE];
	uint64_t since_ns; /* CLOCK_MONOTONIC (uv_hrtime()) when the configuration let it go */
	bool any;	   /* who used it is not known: every flow older than since_ns counts */
	bool fresh;	   /* started by the change being committed */
	uint8_t proxies[LB_MAX_PROXIES / 8]; /* the flows of these proxies count (they listened) */
	uint8_t targets[LB_MAX_TARGETS / 8]; /* and full-nat flows to these (replies come in) */
	unsigned int clean;		     /* scans in a row, since since_ns, finding none */
	uint64_t flows, seen;		     /* flows the last scan found; the current one's */
	char why[128]; /* the proxies whose flows count, for logs and status */
};

/*
 * Refuse a configuration naming an interface that does not exist, naming its proxy as
 * @naming says. An interface a proxy of @running (NULL: none) of the same name already
 * listens on passes: it vanished while attached, counts as detached, and is attached again
 * when it comes back (lbd_attach_follow()). 0 or -ENODEV.
 */
int lb_attach_check(const struct lb_config *cfg, const struct lb_config *running,
		    enum lb_cfg_naming naming, char *err, size_t errlen);

/* Attach what @next adds, move hooks to @next's ingress. 0 or -errno with @err (undone). */
int lbd_attach_prepare(struct lbd *l, const struct lb_config *next, struct lbd_attach_undo *u,
		       char *err, size_t errlen);

/* Put hooks back to the running configuration's and detach what the prepare attached. */
void lbd_attach_abort(struct lbd *l, struct lbd_attach_undo *u);

/*
 * @next runs: route_localnet where needed; what it does not use is detached at once when
 * conntrack holds no flow that may pass it, else it lingers (struct lbd_linger).
 */
void lbd_attach_commit(struct lbd *l, const struct lb_config *next, struct lbd_attach_undo *u);

/*
 * Links changed (rtnetlink): forget attached interfaces whose device is gone (their programs
 * went with it), and attach the running configuration's interfaces that are not attached,
 * such as one created again under its old name. Failures are logged. The listeners follow
 * at the next lbd_resync(), the fast path's interfaces at lb_dataplane_sync_fast_tx().
 */
void lbd_attach_follow(struct lbd *l);

/*
 * After a sweep (lb_sweeper_on_sweep(), @arg: struct lbd): detach the lingering interfaces
 * that two scans in a row found no flow for.
 */
void lbd_attach_linger_check(void *arg);

/*
 * Whether the conntrack of @dp holds a full-nat flow (a scan that cannot read it says yes):
 * lb_dp_opts.holds_fullnat, for a restarted lbd whose configuration has no full-nat proxy.
 */
bool lbd_attach_ct_fullnat(const struct lb_dataplane *dp);

/* The lingering interface @ifname, or NULL when it does not linger. */
const struct lbd_linger *lbd_attach_lingering(struct lbd *l, const char *ifname);

#endif /* LBD_ATTACH_H */
