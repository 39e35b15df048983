// SPDX-License-Identifier: MIT
/* format_events.c - connection events of `stats --follow`, one line each (see format.h). */
#include <stdio.h>

#include "format.h"

static const char *str(const json_t *ev, const char *key)
{
	const char *v = json_string_value(json_object_get(ev, key));

	return v ? v : "?";
}

static json_int_t num(const json_t *ev, const char *key)
{
	return json_integer_value(json_object_get(ev, key));
}

void lb_format_stats_event(FILE *out, const json_t *ev)
{
	const char *what = str(ev, "event");

	fprintf(out, "%s %s %s %s %s -> %s -> %s", str(ev, "time"), what, str(ev, "proxy"),
		str(ev, "protocol"), str(ev, "client"), str(ev, "listener"), str(ev, "target"));
	if (json_is_true(json_object_get(ev, "pickup")))
		fputs(" pickup", out);
	if (json_object_get(ev, "reason"))
		fprintf(out, " %s %lld ms in %lld pkts %lld B out %lld pkts %lld B",
			str(ev, "reason"), (long long)num(ev, "duration-ms"),
			(long long)num(ev, "packets-in"), (long long)num(ev, "bytes-in"),
			(long long)num(ev, "packets-out"), (long long)num(ev, "bytes-out"));
	else
		fprintf(out, " (%s)", str(ev, "route"));
	fputc('\n', out);
}
