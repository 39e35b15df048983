/* SPDX-License-Identifier: MIT */
/*
 * conn_fanout.h - where lbd sends connection events (opened / closed, see conn_json.h):
 * to whoever follows them (struct lbd_notify: the RPC layer's `stats --follow` clients)
 * and to the access log (settings.access-log, one line per closed connection). They come
 * from the datapath's ring buffer and from the sweeper (flows that end silently).
 *
 * Events exist while stats are enabled (settings.stats-enabled, enable-stats,
 * disable-stats): the flag is the datapath's lb_events_on.
 */
#ifndef LBD_CONN_FANOUT_H
#define LBD_CONN_FANOUT_H

#include <jansson.h>
#include <stddef.h>

struct lbd;
struct lb_access_log;
struct lb_settings;

/* Start reading the datapath's events and the sweeper's. 0 or -errno with @err. */
int lbd_events_start(struct lbd *l, char *err, size_t errlen);

/*
 * Before a configuration change: open the access log @nx names if it is not the one open
 * now (*@fresh, NULL when nothing to open). 0, or -errno with @err: the change is refused.
 */
int lbd_events_prepare(struct lbd *l, const struct lb_settings *nx, struct lb_access_log **fresh,
		       char *err, size_t errlen);

/* After the change: the datapath follows stats-enabled, the access log is @fresh or kept. */
void lbd_events_commit(struct lbd *l, struct lb_access_log *fresh);

/* Reopen the access log (SIGHUP, reload: logrotate moved it). 0 or -errno with @err. */
int lbd_events_reopen_log(struct lbd *l, char *err, size_t errlen);

/* {"enabled", "read", "access-log": {"path", "lines", "failed"} when one is open}. */
json_t *lbd_events_status(struct lbd *l);

/* Stop reading events and close the access log. */
void lbd_events_stop(struct lbd *l);

#endif /* LBD_CONN_FANOUT_H */
