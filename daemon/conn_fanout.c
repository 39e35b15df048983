// SPDX-License-Identifier: MIT
#include "conn_fanout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access_log.h"
#include "conn_json.h"
#include "event_ring.h"
#include "lb_fault.h"
#include "lb_log.h"
#include "lbd.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One event, from the ring or from the sweeper. */
static void on_event(void *arg, const struct lb_event *ev)
{
	struct lbd *l = arg;
	bool followed = l->notify.flows_wanted && l->notify.flows_wanted(l->notify.ctx);
	bool logged = l->access_log && ev->type == LB_EV_CLOSED;
	json_t *j;

	/* Events emitted just before stats were disabled are still in the ring: drop them. */
	if (!l->cfg->settings.stats_enabled || (!followed && !logged))
		return;
	j = lb_event_json(ev, lbd_proxy_name(l, ev->proxy_id), clock_ns(CLOCK_MONOTONIC_COARSE),
			  clock_ns(CLOCK_REALTIME));
	if (!j)
		return;
	if (followed && l->notify.flow)
		l->notify.flow(l->notify.ctx, j);
	if (logged)
		lb_access_log_write(l->access_log, j);
	json_decref(j);
}

int lbd_events_start(struct lbd *l, char *err, size_t errlen)
{
	l->events = lb_event_ring_start(l->loop, lb_dataplane_fd_events(l->dp), on_event, l, err,
					errlen);
	if (!l->events)
		return -EIO;
	lb_sweeper_on_close(l->sweeper, on_event, l);
	return 0;
}

int lbd_events_prepare(struct lbd *l, const struct lb_settings *nx, struct lb_access_log **fresh,
		       char *err, size_t errlen)
{
	int ret;

	*fresh = NULL;
	if (!nx->access_log ||
	    (l->access_log && !strcmp(lb_access_log_path(l->access_log), nx->access_log)))
		return 0;
	ret = lb_access_log_open(fresh, nx->access_log, err, errlen);
	if (!ret && (ret = lb_fault("access-log", err, errlen))) {
		lb_access_log_close(*fresh);
		*fresh = NULL;
	}
	return ret;
}

void lbd_events_commit(struct lbd *l, struct lb_access_log *fresh)
{
	const struct lb_settings *s = &l->cfg->settings;

	lb_dataplane_set_events(l->dp, s->stats_enabled);
	if (fresh || !s->access_log) {
		lb_access_log_close(l->access_log);
		l->access_log = fresh;
		if (fresh)
			lb_info("access log: %s", s->access_log);
	}
	if (s->access_log && !s->stats_enabled)
		lb_warn("settings.access-log is set but stats are disabled: lines are written "
			"while stats are enabled (lbctl enable-stats)");
}

int lbd_events_reopen_log(struct lbd *l, char *err, size_t errlen)
{
	if (!l->access_log)
		return 0;
	/* Lines of events already in the ring belong in the old file. */
	if (l->events)
		lb_event_ring_drain(l->events);
	return lb_access_log_reopen(l->access_log, err, errlen);
}

json_t *lbd_events_status(struct lbd *l)
{
	json_t *o = json_pack("{s:b, s:I}", "enabled", l->cfg->settings.stats_enabled, "read",
			      (json_int_t)lb_event_ring_read(l->events));

	if (o && l->access_log)
		json_object_set_new(
			o, "access-log",
			json_pack("{s:s, s:I, s:I}", "path", lb_access_log_path(l->access_log),
				  "lines", (json_int_t)lb_access_log_written(l->access_log),
				  "failed", (json_int_t)lb_access_log_failed(l->access_log)));
	return o;
}

void lbd_events_stop(struct lbd *l)
{
	if (l->events)
		lb_event_ring_drain(l->events);
	lb_event_ring_stop(l->events);
	l->events = NULL;
	lb_access_log_close(l->access_log);
	l->access_log = NULL;
}
