/* SPDX-License-Identifier: MIT */
/*
 * apply.h - the one way the daemon's state changes.
 *
 * Every change, from the configuration file at start, a reload, SIGHUP or an RPC method,
 * goes through lbd_apply(): the new configuration is validated whole, its effective state
 * (policy/model.h) is built once, applied to the datapath as a diff, and only then do the
 * configuration and its model become the running ones. A refused change leaves maps,
 * attachments, ids and the running configuration exactly as they were.
 *
 * A verdict that changes (a health check, a drain, set-target-status) recomposes the
 * effective weights of its proxy's groups in the running model and rewrites those groups
 * only (lbd_policy_changed()).
 */
#ifndef LBD_APPLY_H
#define LBD_APPLY_H

#include "lbd.h"

/*
 * Make @next the running configuration. On success lbd owns @next (the previous one is
 * freed); on failure nothing changed, @next is still the caller's, and @err says why, naming
 * proxies as @naming says (by index for a file, by name for a change made at run time).
 * Returns 0, -EINVAL (the configuration breaks a rule), or another -errno (the kernel
 * refused an attach or a map update).
 */
int lbd_apply(struct lbd *l, struct lb_config *next, enum lb_cfg_naming naming, char *err,
	      size_t errlen);

/*
 * What lbd_apply() refuses @next for before it changes anything, whatever runs: its rules,
 * an interface that does not exist, a CA file it cannot read (the errors of lbd --check,
 * syscheck.h). @running: the configuration in force (NULL: none), whose interfaces that
 * vanished since are let through (lb_attach_check). For lbd --takeover too, which must
 * know before the running lbd hands over. Returns 0 or -errno with @err, naming proxies as
 * @naming says.
 */
int lbd_apply_check(const struct lb_config *next, const struct lb_config *running,
		    enum lb_cfg_naming naming, char *err, size_t errlen);

/* Re-read the configuration file (-c) and apply it as a diff. */
int lbd_reload(struct lbd *l, char *err, size_t errlen);

/*
 * Change the configured weights of group @group (lb_proxy_group() order) of @proxy to
 * those of @w, which holds the same targets (checked by the caller: only weights change,
 * and the group's weight rules hold). The narrow path of a weight change: the proxy's
 * groups are recomposed and the changed ones written, nothing else; all or nothing like
 * lbd_apply(). Returns 0 or -errno with @err.
 */
int lbd_set_weights(struct lbd *l, const char *proxy, size_t group, const struct lb_group_cfg *w,
		    char *err, size_t errlen);

/* Re-read the interfaces' addresses and re-sync the listeners. */
int lbd_resync(struct lbd *l);

/*
 * A verdict of @proxy's targets changed (health, drain, override): recompose its groups,
 * rewrite the ones that changed, announce weights-updated. For struct lb_health and
 * struct lb_drains (@ctx is the struct lbd).
 */
void lbd_policy_changed(void *ctx, const char *proxy);

/* A target-healthy / target-unhealthy event, for struct lb_health. */
void lbd_on_health_event(void *ctx, json_t *event);

/* Open flows per target, for struct lb_drains (drain.h's lb_drain_count_fn). */
int lbd_drain_count(void *ctx, size_t n, const char *const *proxies, const struct lb_ip *addrs,
		    const uint16_t *ports, uint32_t *counts);

/* The SNI acceptor's choice of target (sni.h's lb_sni_choose_fn), read from the model. */
int lbd_sni_choose(void *ctx, const char *proxy, const char *name, const struct lb_ip *client_addr,
		   uint16_t client_port, const struct lb_ip *listener_addr, uint16_t listener_port,
		   struct lb_sni_choice *out);

#endif /* LBD_APPLY_H */
