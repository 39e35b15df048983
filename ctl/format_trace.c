// SPDX-License-Identifier: MIT
/*
 * format_trace.c - `lbctl trace` for a human: the answer first (the target, or why there is
 * none), then each reason on its own line, then what the answer depends on.
 */
#include <string.h>

#include "format.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

#define LABEL "  %-9s "

/* The existing flow that decides: conntrack comes before every other rule. */
static void print_conntrack(FILE *out, const json_t *ct)
{
	json_int_t age = num(ct, "age-ms");

	fprintf(out, LABEL "%s (target id %" JSON_INTEGER_FORMAT ")\n", "answer", str(ct, "target"),
		num(ct, "target-id"));
	fprintf(out,
		LABEL "this flow already exists in conntrack (%s, created %" JSON_INTEGER_FORMAT
		      ".%" JSON_INTEGER_FORMAT " s ago, route %s",
		"why", str(ct, "state"), age / 1000, (age % 1000) / 100, str(ct, "route"));
	if (json_object_get(ct, "packets"))
		fprintf(out, ", %" JSON_INTEGER_FORMAT " packets from the client",
			num(ct, "packets"));
	fprintf(out, ")\n" LABEL "an existing flow keeps its target whatever the group says now\n",
		"");
}

static void print_decision(FILE *out, const json_t *r)
{
	const json_t *route = json_object_get(r, "route"), *hash = json_object_get(r, "hash");
	const json_t *sel = json_object_get(r, "selection"), *t = json_object_get(r, "target");
	const char *mode = str(hash, "mode");

	if (t)
		fprintf(out, LABEL "%s (target id %" JSON_INTEGER_FORMAT ")\n", "answer",
			str(t, "address"), num(t, "target-id"));
	else
		fprintf(out,
			LABEL
			"none: the packet is dropped, no target of group %" JSON_INTEGER_FORMAT
			" has a weight (unhealthy, drained or weight 0; lbctl health)\n",
			"answer", num(r, "group"));
	if (!strcmp(str(route, "kind"), "source-route"))
		fprintf(out, LABEL "new flow; source route %s -> group %" JSON_INTEGER_FORMAT "\n",
			"why", json_object_get(route, "source") ? str(route, "source") : "(?)",
			num(r, "group"));
	else
		fprintf(out,
			LABEL
			"new flow; no source route matches -> default group %" JSON_INTEGER_FORMAT
			"\n",
			"why", num(r, "group"));
	if (!strcmp(mode, "source-address")) {
		bool v6 = strchr(str(r, "client"), '[') != NULL;
		json_int_t bits = num(hash, "prefix-bits") - (v6 ? 0 : 96);

		fprintf(out,
			LABEL "hash source-address /%" JSON_INTEGER_FORMAT
			      ": every connection of this client's /%" JSON_INTEGER_FORMAT
			      " gets this answer\n",
			"", bits, bits);
	} else {
		fprintf(out, LABEL "hash 5-tuple: client address and port, listener, protocol\n",
			"");
	}
	if (!strcmp(str(sel, "method"), "least-connections"))
		fprintf(out,
			LABEL
			"least connections: the smallest load (confirmed flows x %" JSON_INTEGER_FORMAT
			" + unconfirmed) per unit of weight",
			"", num(sel, "confirmed-weight"));
	else if (!strcmp(str(sel, "method"), "maglev"))
		fprintf(out,
			LABEL "Maglev table slot %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
			      " (hash %" JSON_INTEGER_FORMAT ")",
			"", num(sel, "slot"), num(sel, "table-size"), num(hash, "value"));
	else if (num(sel, "table-size"))
		fprintf(out,
			LABEL "no Maglev table of this family (fewer than two weighted targets of "
			      "it): cumulative weights",
			"");
	else
		fprintf(out, LABEL "the group has no Maglev table: cumulative weights", "");
	if (t)
		fprintf(out,
			" -> backend index %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT "\n",
			num(t, "index"), num(sel, "backends"));
	else
		fputc('\n', out);
}

bool lb_format_trace_result(FILE *out, const char *method, const json_t *r)
{
	const json_t *lis = json_object_get(r, "listener"), *ct = json_object_get(r, "conntrack");
	const char *verdict = str(r, "verdict");
	const json_t *hash = json_object_get(r, "hash");
	bool v6 = strchr(str(lis, "address"), ':') != NULL;

	if (strcmp(method, "trace") || !json_is_object(r))
		return false;
	fprintf(out, "%s: %s -> ", str(r, "proxy"), str(r, "client"));
	fprintf(out, v6 ? "[%s]:%" JSON_INTEGER_FORMAT : "%s:%" JSON_INTEGER_FORMAT,
		str(lis, "address"), num(lis, "port"));
	fprintf(out, "/%s on %s\n", str(r, "protocol"), str(lis, "interface"));
	if (ct) {
		print_conntrack(out, ct);
	} else if (!json_is_true(json_object_get(lis, "matched"))) {
		fprintf(out,
			LABEL "none: no listener of the proxy matches this packet; it is passed to "
			      "the kernel untouched\n" LABEL
			      "(is the interface attached and the address current? lbctl status)\n",
			"answer", "");
	} else {
		print_decision(out, r);
	}
	if (json_object_get(r, "destination") && strcmp(verdict, "forward") &&
	    strcmp(verdict, "pass"))
		fprintf(out, LABEL "%s to %s\n", "sent", verdict, str(r, "destination"));
	if (json_is_string(json_object_get(r, "reason")))
		fprintf(out, LABEL "dropped: %s (%s)\n", "verdict", str(r, "reason"),
			!strcmp(str(r, "reason"), "drop-dsr-no-route")
				? "no route reaches the target on a connected interface: ip route "
				  "get TARGET"
				: "the target's neighbour entry is not resolved: ip neigh show "
				  "TARGET");
	if (json_is_string(json_object_get(r, "forwarding")))
		fprintf(out, LABEL "%s forwarding\n", "mode", str(r, "forwarding"));
	if (!ct && json_is_true(json_object_get(r, "client-port-default")) &&
	    (!hash || strcmp(str(hash, "mode"), "source-address")))
		fprintf(out,
			LABEL "client port %s is lbctl's default: with 5-tuple hashing another "
			      "port may get another target (give CLIENT:PORT)\n",
			"note", strrchr(str(r, "client"), ':') + 1);
	return true;
}
