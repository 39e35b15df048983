/* SPDX-License-Identifier: MIT */
/*
 * format.h - lbctl's human-readable output.
 *
 * A generic formatter shows any JSON result readably (objects as aligned "key: value" lines,
 * arrays of objects as tables, targets as "ip:port@weight"); a few methods have their own
 * layout on top of it (format_methods.c). --json output bypasses all of this.
 */
#ifndef LB_FORMAT_H
#define LB_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* Print @result of @method (any name, known or not) for humans. */
void lb_format_result(FILE *out, const char *method, const json_t *result);

/* Print the "error" object of a response: "lbctl: message", then its data, indented. */
void lb_format_error(FILE *out, const json_t *error);

/* Print any JSON value with the generic layout. */
void lb_format_generic(FILE *out, const json_t *v);

/*
 * @obj's members as aligned "key: value" lines at @indent, nested objects and arrays of
 * objects below their key; members named in @skip (NULL-terminated, may be NULL) are left
 * out. Returns how many members were printed.
 */
int lb_format_kv(FILE *out, const json_t *obj, int indent, const char *const *skip);

/*
 * One value on one line, for a cell or after a key: strings as they are, booleans yes/no,
 * null "-", a target "ip:port@weight", a list of targets space-separated, other lists
 * comma-separated, anything else compact JSON. Caller frees; NULL only without memory.
 */
char *lb_format_inline(const json_t *v);

/* "ip:port" or "ip:port@weight" of a target object {"ip","port"[,"weight"]}, else NULL. */
const char *lb_format_target_obj(const json_t *v, char *buf, size_t len);

/* A duration in seconds as "45s", "2m05s", "3h07m", "2d05h". Returns @buf. */
const char *lb_format_duration(json_int_t sec, char *buf, size_t len);

/* Milliseconds as "5.0s" under two minutes, else as lb_format_duration(). Returns @buf. */
const char *lb_format_ms(json_int_t ms, char *buf, size_t len);

/*
 * format_health.c: the results of health, set-target-status, force-check and
 * enable/disable-health-checks. Returns false (nothing printed) for another method or a
 * result of another shape.
 */
bool lb_format_health_result(FILE *out, const char *method, const json_t *result);

/*
 * One line for the params of a "health-event" notification received at @when (local time):
 *   12:00:01 web 10.0.0.2:8080 target-unhealthy (connection-refused)
 *   12:00:01 web 10.0.0.2:8080 target-unhealthy (set-target-status unhealthy)
 *   12:00:01 web weights-updated default: 71/0/29, 10.10.0.0/16: 100
 */
void lb_format_health_event(FILE *out, const json_t *event, time_t when);

/*
 * One line for a connection event of `stats --follow`:
 *   TIME opened PROXY PROTO CLIENT -> LISTENER -> TARGET (ROUTE)
 *   TIME closed PROXY PROTO CLIENT -> LISTENER -> TARGET REASON DURATION
 *        in PKTS pkts BYTES out PKTS pkts BYTES
 */
void lb_format_stats_event(FILE *out, const json_t *event);

/* @v as one compact line of JSON (what --json prints), "null" when it cannot be encoded. */
void lb_format_json_line(FILE *out, const json_t *v);

/* format_drain.c: the results of drain, undrain and drain-status, as above. */
bool lb_format_drain_result(FILE *out, const char *method, const json_t *result);
/* node-drain, node-undrain, node-status; false for other methods. */
bool lb_format_node_result(FILE *out, const char *method, const json_t *result);

/* `trace`: the answer, then why (format_trace.c). False for another method. */
bool lb_format_trace_result(FILE *out, const char *method, const json_t *result);

/*
 * One drain status object as a sentence and a newline (progress lines, outcomes):
 *   draining web 10.0.0.1:8080: 3 of 10 connections left, 5.0s of 60.0s
 *   drained web 10.0.0.1:8080: no connections left after 12.3s (10 at the start)
 *   drain of web 10.0.0.1:8080 timed out after 60.0s with 3 connections left; they were not cut
 *   drain of web 10.0.0.1:8080 was cancelled (undrain)
 */
void lb_format_drain_line(FILE *out, const json_t *status);

/* A table: headers, rows of cells, columns aligned on print. */
struct lb_table;

/* A table with @ncols columns titled @headers. NULL without memory. */
struct lb_table *lb_table_new(const char *const *headers, size_t ncols);

/* Append a row of @ncols cells (copied; NULL cells print as "-"). 0 or -ENOMEM. */
int lb_table_add(struct lb_table *t, const char *const *cells);

/* Append a row of JSON values, each shown as by lb_format_inline(). 0 or -ENOMEM. */
int lb_table_add_json(struct lb_table *t, const json_t *const *values);

/* Print at @indent columns, two spaces between columns, the last one unpadded. */
void lb_table_print(FILE *out, const struct lb_table *t, int indent);

/* Free @t; NULL is a no-op. */
void lb_table_free(struct lb_table *t);

/* Number of rows added so far. */
size_t lb_table_rows(const struct lb_table *t);

#endif /* LB_FORMAT_H */
