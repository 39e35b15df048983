/* SPDX-License-Identifier: MIT */
/*
 * attach.h - the interfaces a configuration listens on, as a step of lbd_apply(): attach
 * the new ones and move every attached one to the hook settings.ingress asks for
 * (prepare), then set route_localnet where 127.0.0.0/8 targets need it and detach what no
 * proxy uses any more (commit), or put everything back (abort).
 */
#ifndef LBD_ATTACH_H
#define LBD_ATTACH_H

#include <net/if.h>
#include <stddef.h>

#include "lb_config.h"

struct lbd;

/* What a prepare did, for its commit or abort. */
struct lbd_attach_undo {
	size_t n_added;
	char (*added)[IF_NAMESIZE]; /* interfaces attached by the prepare */
	bool fullnat_set;	    /* the prepare set full-nat's port range; the old one: */
	uint32_t old_port_min, old_port_max;
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

/* @next runs: route_localnet where needed, detach what it does not use. */
void lbd_attach_commit(struct lbd *l, const struct lb_config *next, struct lbd_attach_undo *u);

/*
 * Links changed (rtnetlink): forget attached interfaces whose device is gone (their programs
 * went with it), and attach the running configuration's interfaces that are not attached,
 * such as one created again under its old name. Failures are logged. The listeners follow
 * at the next lbd_resync(), the fast path's interfaces at lb_dataplane_sync_fast_tx().
 */
void lbd_attach_follow(struct lbd *l);

#endif /* LBD_ATTACH_H */
