/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the Prometheus text exposition format (version 0.0.4) of a `stats` result.
 *
 * A pure function of the JSON that the `stats` method returns, so /metrics, the `metrics`
 * method and `stats` always show the same numbers. Every family gets one HELP and one TYPE
 * line, counters end in _total, label values are escaped as the format requires, and the
 * samples of a family are sorted so the text is stable from scrape to scrape.
 */
#ifndef LBD_METRICS_H
#define LBD_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

/* The media type of the text, for an HTTP Content-Type header. */
#define LB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * The exposition text of @stats (a `stats` result: {"proxies": [...], "global": {...}}).
 * Members it does not know are ignored, missing ones leave their samples out. Returns a
 * malloc'ed NUL-terminated string (its length in *len when @len is not NULL), or NULL with
 * errno set (ENOMEM).
 */
char *lb_metrics_format(const json_t *stats, size_t *len);

/*
 * Append @s to @out as a label value: backslash, double quote and newline escaped
 * (\\, \", \n). Used by the formatter; exported for its tests.
 */
void lb_metrics_put_label_value(FILE *out, const char *s);

#endif /* LBD_METRICS_H */
