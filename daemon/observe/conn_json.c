// SPDX-License-Identifier: MIT
#include "conn_json.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include "lb_addr.h"

#define NSEC 1000000000ull

const char *lb_event_type_name(uint8_t type)
{
	return type == LB_EV_OPENED ? "opened" : type == LB_EV_CLOSED ? "closed" : "unknown";
}

const char *lb_event_route_name(uint8_t route)
{
	switch (route) {
	case LB_ROUTE_DEFAULT:
		return "default";
	case LB_ROUTE_SOURCE:
		return "source-route";
	case LB_ROUTE_ACCEPTOR:
		return "sni-acceptor";
	default:
		return "unknown";
	}
}

const char *lb_event_reason_name(uint8_t reason)
{
	switch (reason) {
	case LB_CLOSE_FIN:
		return "fin";
	case LB_CLOSE_RST:
		return "rst";
	case LB_CLOSE_TIMEOUT:
		return "timeout";
	case LB_CLOSE_UNANSWERED:
		return "unanswered";
	default:
		return "unknown";
	}
}

static json_t *endpoint(const struct lb_ip *addr, uint16_t port_be)
{
	char buf[LB_TARGET_STR_MAX];

	return json_string(lb_format_target(addr, ntohs(port_be), buf));
}

/* ISO 8601 UTC with milliseconds of the CLOCK_REALTIME instant @real_ns. */
static json_t *utc(uint64_t real_ns)
{
	time_t sec = (time_t)(real_ns / NSEC);
	char day[32], buf[48];
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s.%03uZ", day, (unsigned int)(real_ns % NSEC / 1000000));
	return json_string(buf);
}

json_t *lb_event_json(const struct lb_event *ev, const char *proxy, uint64_t mono_now_ns,
		      uint64_t real_now_ns)
{
	uint64_t age = mono_now_ns > ev->ts_ns ? mono_now_ns - ev->ts_ns : 0;
	uint64_t real = real_now_ns > age ? real_now_ns - age : 0;
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "event", json_string(lb_event_type_name(ev->type)));
	json_object_set_new(o, "time", utc(real));
	json_object_set_new(o, "proxy", json_string(proxy ? proxy : "unknown"));
	json_object_set_new(o, "protocol", json_string(ev->proto == LB_PROTO_UDP ? "udp" : "tcp"));
	json_object_set_new(o, "client", endpoint(&ev->client_addr, ev->client_port));
	json_object_set_new(o, "listener", endpoint(&ev->listen_addr, ev->listen_port));
	json_object_set_new(o, "target", endpoint(&ev->backend_addr, ev->backend_port));
	json_object_set_new(o, "route", json_string(lb_event_route_name(ev->route)));
	if (ev->flags & LB_CT_F_PICKUP)
		json_object_set_new(o, "pickup", json_true());
	if (ev->type != LB_EV_CLOSED)
		return o;
	json_object_set_new(o, "reason", json_string(lb_event_reason_name(ev->reason)));
	json_object_set_new(
		o, "duration-ms",
		json_integer(ev->ts_ns > ev->created_ns
				     ? (json_int_t)((ev->ts_ns - ev->created_ns) / 1000000)
				     : 0));
	json_object_set_new(o, "packets-in", json_integer((json_int_t)ev->pkts_in));
	json_object_set_new(o, "bytes-in", json_integer((json_int_t)ev->bytes_in));
	json_object_set_new(o, "packets-out", json_integer((json_int_t)ev->pkts_out));
	json_object_set_new(o, "bytes-out", json_integer((json_int_t)ev->bytes_out));
	return o;
}
