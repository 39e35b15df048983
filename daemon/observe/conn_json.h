/* SPDX-License-Identifier: MIT */
/*
 * conn_json.h - a connection event (struct lb_event) as the JSON object lbd sends to
 * `stats --follow` subscribers and writes to the access log:
 *
 *   {"event": "opened"|"closed", "time": "2026-11-26T20:31:02.114Z", "proxy": "web",
 *    "protocol": "tcp", "client": "10.1.0.2:40112", "listener": "10.1.0.1:80",
 *    "target": "10.2.1.2:8080", "route": "default"|"source-route"|"sni-acceptor",
 *    "pickup": true (only when the flow was picked up mid-stream),
 *    closed only: "reason": "fin"|"rst"|"timeout"|"unanswered", "duration-ms": 12,
 *    "packets-in": 6, "bytes-in": 412, "packets-out": 4, "bytes-out": 1520}
 *
 * Times come from the datapath's coarse monotonic clock (a few milliseconds of resolution),
 * turned into UTC wall-clock time when the event is read.
 */
#ifndef LBD_EVENT_JSON_H
#define LBD_EVENT_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "lb_abi.h"

/* Names used in the JSON for the codes of lb_abi.h. */
const char *lb_event_type_name(uint8_t type);
const char *lb_event_route_name(uint8_t route);
const char *lb_event_reason_name(uint8_t reason);

/*
 * The JSON of @ev for proxy @proxy. @mono_now_ns and @real_now_ns are the same instant
 * read from CLOCK_MONOTONIC_COARSE and CLOCK_REALTIME. New reference, NULL without memory.
 */
json_t *lb_event_json(const struct lb_event *ev, const char *proxy, uint64_t mono_now_ns,
		      uint64_t real_now_ns);

#endif /* LBD_EVENT_JSON_H */
