/* SPDX-License-Identifier: MIT */
/*
 * stats_view.h - the running state as JSON, read from the model (effective weights,
 * verdicts, ids), the datapath's counters and the live-flow snapshot: what `stats`,
 * `metrics`, /metrics, `health` and weights-updated events show. One place builds each
 * view, so every reader shows the same numbers.
 */
#ifndef LBD_STATS_VIEW_H
#define LBD_STATS_VIEW_H

#include <stddef.h>
#include <jansson.h>

#include "model.h"

struct lbd;

/*
 * The `stats` result for every proxy, or only @only: {"proxies": [...], "global": {...}}.
 * @fresh: live-flow counts a fraction of a second old (a request), else the last sweep's
 * (a scrape). NULL with errno and a sentence in @err when the counters cannot be read.
 */
json_t *lbd_stats_json(struct lbd *l, const char *only, bool fresh, char *err, size_t errlen);

/*
 * The periodic stats log line of each proxy (while stats are enabled), written only when it
 * differs from the proxy's last one: an idle load balancer logs nothing new.
 */
void lbd_stats_log(struct lbd *l);

/*
 * The Prometheus text of every proxy (observe/metrics.h) for lbd @ctx, as the metrics
 * listener's renderer (metrics_http.h). NULL with errno when the counters cannot be read.
 */
char *lbd_metrics_render(void *ctx, size_t *len);

#endif /* LBD_STATS_VIEW_H */
