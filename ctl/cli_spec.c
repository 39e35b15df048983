// SPDX-License-Identifier: MIT
/*
 * cli_spec.c - the command line of every method (see cli_spec.h).
 *
 * The table below is built from LB_METHOD_LIST, so a method added to proto/ without a
 * cli_<ID> spec here is a compile error rather than a subcommand that silently does not
 * exist. tests/unit/test_ctl_cli.c checks the rest: every required parameter of the schema
 * is reachable, every argument names a parameter of the schema, every example parses.
 */
#include "cli_spec.h"

#include <string.h>

#define ARGS(...)     ((const struct lb_cli_arg[]){__VA_ARGS__, {.path = NULL}})
#define NO_ARGS	      ((const struct lb_cli_arg[]){{.path = NULL}})
#define EXAMPLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Positional @path; @req false for a trailing optional one. */
#define POS(path, vt, mv, req, help)                              \
	{                                                         \
		path, LB_CLI_POS, LB_CV_##vt, mv, NULL, req, help \
	}
/* The remaining positionals, as an array. */
#define REST(path, vt, mv, req, help)                                  \
	{                                                              \
		path, LB_CLI_POS_REST, LB_CV_##vt, mv, NULL, req, help \
	}
/* --opt VALUE. */
#define OPT(opt, path, vt, mv, req, help)                        \
	{                                                        \
		path, LB_CLI_OPT, LB_CV_##vt, mv, opt, req, help \
	}
/* --opt, no value: true. */
#define FLAG(opt, path, help)                                           \
	{                                                               \
		path, LB_CLI_FLAG, LB_CV_STRING, NULL, opt, false, help \
	}
/* --opt VALUE, repeatable, as an array. */
#define REPEAT(opt, path, vt, mv, req, help)                            \
	{                                                               \
		path, LB_CLI_OPT_REPEAT, LB_CV_##vt, mv, opt, req, help \
	}

static const struct lb_cli_spec cli_STATUS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl status", "lbctl --json status"),
};

static const struct lb_cli_spec cli_VERSION = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl version"),
};

static const struct lb_cli_spec cli_GET_CONFIG = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl get-config > running.json"),
};

static const struct lb_cli_spec cli_LIST_PROXIES = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl list-proxies"),
};

static const struct lb_cli_spec cli_ADD_PROXY = {
	.args = ARGS(POS("proxy.name", STRING, "NAME", true, "name of the new proxy"),
		     REPEAT("interface", "proxy.listen.interfaces", IFACE, "IFACE", true,
			    "interface to listen on (repeat for several)"),
		     OPT("port", "proxy.listen.port", PORT, "PORT", true, "port to listen on"),
		     OPT("protocol", "proxy.listen.protocol", CHOICE, "tcp|udp|both", false,
			 "protocol to balance (default tcp)"),
		     OPT("address", "proxy.listen.address", IP, "IP", false,
			 "balance only packets to this local IPv4 or IPv6 address (default: "
			 "any address of the interfaces, both families)"),
		     OPT("hash", "proxy.hash", CHOICE, "5-tuple|source-address", false,
			 "what picks a new connection's target (default 5-tuple); "
			 "source-address: every connection of a client to one target"),
		     OPT("hash-prefix", "proxy.hash-prefix", INT, "BITS", false,
			 "with source-address, hash only the first BITS of the client "
			 "address (e.g. 24 or 64: a subnet sticks together); needs --address "
			 "when the targets are of both families"),
		     OPT("forwarding", "proxy.forwarding", CHOICE, "nat|full-nat|dsr", false,
			 "how packets reach the targets (default nat: replies must route via "
			 "the LB); full-nat: the targets see an LB address; dsr: targets on "
			 "this L2 segment hold the listener address and answer clients "
			 "directly (target port = --port)"),
		     OPT("selection", "proxy.selection", CHOICE, "maglev|least-connections", false,
			 "how a new connection's target is chosen (default maglev: the "
			 "consistent hash); least-connections: the fewest live flows per "
			 "unit of weight"),
		     OPT("snat-address", "proxy.snat-address", IP, "IP", false,
			 "full-nat: the source address the targets see (default: "
			 "settings.snat-address, else the LB's address towards the targets)"),
		     REST("proxy.default-target", TARGET, "TARGET", true,
			  "default targets; 2 to 8 need weights that sum to 100, more (up to "
			  "256) take relative weights: all given, or none for equal shares")),
	.file_param = "proxy",
	.file_help = "read the proxy from FILE (- for stdin) as JSON: one element of the "
		     "configuration's \"proxies\" array, with health checks, source routes, ...",
	.examples = EXAMPLES(
		"lbctl add-proxy web --interface eth0 --port 80 10.0.0.1:8080@70 10.0.0.2:8080@30",
		"lbctl add-proxy dns --interface eth0 --interface eth1 --port 53 --protocol udp "
		"10.0.0.53:53",
		"lbctl add-proxy web6 --interface eth0 --address 2001:db8::10 --port 443 "
		"[2001:db8::1]:8443@50 [2001:db8::2]:8443@50",
		"lbctl add-proxy app --interface eth0 --address 10.0.0.10 --port 443 --hash "
		"source-address --hash-prefix 24 10.0.0.1:8443@50 10.0.0.2:8443@50",
		"lbctl add-proxy dns --interface eth0 --address 10.0.0.10 --port 53 --protocol "
		"udp --forwarding dsr 10.0.0.1:53@50 10.0.0.2:53@50",
		"lbctl add-proxy --file api.json"),
};

static const struct lb_cli_spec cli_REMOVE_PROXY = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL)),
	.examples = EXAMPLES("lbctl remove-proxy web"),
};

static const struct lb_cli_spec cli_ADD_SOURCE_ROUTE = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("source", CIDR, "SOURCE", true, NULL),
		     REST("targets", TARGET, "TARGET", true, NULL)),
	.examples = EXAMPLES("lbctl add-source-route web 192.168.1.0/24 10.0.0.3:8080",
			     "lbctl add-source-route web 10.10.0.0/16 10.0.0.4:8080@70 "
			     "10.0.0.5:8080@30"),
};

/* Thousands of routes in one change: too many for a command line, so they come as JSON. */
static const struct lb_cli_spec cli_ADD_SOURCE_ROUTES = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL)),
	.file_param = "routes",
	.file_help = "read the routes from FILE (- for stdin) as a JSON array of {\"source\": "
		     "CIDR, \"targets\": [TARGET, ...]}, targets written as for "
		     "add-source-route or as objects; lbd adds all of them in one change, or "
		     "none and names the first route at fault (routes[INDEX])",
	.examples = EXAMPLES("lbctl add-source-routes web --file routes.json",
			     "lbctl --json list-source-routes web | jq '[.routes[] | {source, "
			     "targets}]' | lbctl add-source-routes api --file -"),
};

static const struct lb_cli_spec cli_REMOVE_SOURCE_ROUTE = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("source", CIDR, "SOURCE", true, NULL)),
	.examples = EXAMPLES("lbctl remove-source-route web 10.10.0.0/16"),
};

static const struct lb_cli_spec cli_LIST_SOURCE_ROUTES = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL)),
	.examples = EXAMPLES("lbctl list-source-routes", "lbctl list-source-routes web"),
};

/* lbd checks the hostname (and lowercases it): its rules live with the configuration's. */
static const struct lb_cli_spec cli_ADD_SNI_ROUTE = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("hostname", STRING, "HOSTNAME", true, NULL),
		     REST("targets", TARGET, "TARGET", true, NULL)),
	.examples = EXAMPLES("lbctl add-sni-route https api.example.com 10.0.1.1:8443",
			     "lbctl add-sni-route https '*.app.example.com' 10.0.3.1:8443@70 "
			     "10.0.3.2:8443@30"),
};

static const struct lb_cli_spec cli_REMOVE_SNI_ROUTE = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("hostname", STRING, "HOSTNAME", true, NULL)),
	.examples = EXAMPLES("lbctl remove-sni-route https api.example.com"),
};

static const struct lb_cli_spec cli_LIST_SNI_ROUTES = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL)),
	.examples = EXAMPLES("lbctl list-sni-routes", "lbctl list-sni-routes https"),
};

static const struct lb_cli_spec cli_ATTACH_INTERFACES = {
	.args = ARGS(REST("interfaces", IFACE, "IFACE", true, NULL),
		     OPT("proxy", "proxy", STRING, "PROXY", false, NULL)),
	.examples = EXAMPLES("lbctl attach-interfaces eth1 eth2",
			     "lbctl attach-interfaces eth1 --proxy web"),
};

static const struct lb_cli_spec cli_DETACH_INTERFACES = {
	.args = ARGS(REST("interfaces", IFACE, "IFACE", true, NULL),
		     OPT("proxy", "proxy", STRING, "PROXY", false, NULL)),
	.examples = EXAMPLES("lbctl detach-interfaces eth2",
			     "lbctl detach-interfaces eth2 --proxy web"),
};

static const struct lb_cli_spec cli_SET_INGRESS = {
	.args = ARGS(POS("mode", CHOICE, "auto|xdp|tc", true,
			 "auto: TC ingress on veth, native XDP where the driver has it, TC "
			 "otherwise; xdp or tc: that hook on every interface. Established "
			 "connections keep going while the interfaces move")),
	.examples = EXAMPLES("lbctl set-ingress tc", "lbctl set-ingress auto"),
};

static const struct lb_cli_spec cli_SET_WEIGHTS = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     REST("targets", TARGET, "TARGET", true, NULL),
		     OPT("source", "source", CIDR, "CIDR", false, NULL)),
	.examples = EXAMPLES("lbctl set-weights web 10.0.0.1:8080@90 10.0.0.2:8080@10",
			     "lbctl set-weights web 10.0.0.4:8080@0 10.0.0.5:8080@100 --source "
			     "10.10.0.0/16"),
};

static const struct lb_cli_spec cli_CONNECTIONS = {
	.args = ARGS(OPT("proxy", "proxy", STRING, "PROXY", false, NULL),
		     OPT("target", "target", ENDPOINT, "IP:PORT", false, NULL),
		     OPT("client", "client", CIDR, "CIDR", false, NULL),
		     OPT("limit", "limit", INT, "N", false, NULL)),
	.examples = EXAMPLES("lbctl connections",
			     "lbctl connections --proxy web --target 10.0.0.1:8080 --limit 20",
			     "lbctl connections --client 192.168.1.0/24"),
};

static const struct lb_cli_spec cli_CONNECTION_COUNT = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL)),
	.examples = EXAMPLES("lbctl connection-count", "lbctl connection-count web"),
};

static const struct lb_cli_spec cli_CONNECTION_STATS = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL)),
	.examples = EXAMPLES("lbctl connection-stats", "lbctl connection-stats web"),
};

static const struct lb_cli_spec cli_TRACE = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("client", CLIENT, "CLIENT[:PORT]", true,
			 "the client: an address, with its source port if it matters (5-tuple "
			 "hashing): 10.1.2.3, 10.1.2.3:5555, 2001:db8::1 or [2001:db8::1]:5555"),
		     OPT("port", "port", PORT, "PORT", false,
			 "the client's source port, for a client written without one (default "
			 "49152)"),
		     OPT("proto", "protocol", CHOICE, "tcp|udp", false,
			 "the protocol of the packet (default: the proxy's; tcp when it has both)"),
		     OPT("interface", "interface", IFACE, "IFACE", false,
			 "the listening interface the packet arrives on (default: the proxy's "
			 "first)")),
	.examples = EXAMPLES("lbctl trace web 192.168.1.20", "lbctl trace web 192.168.1.20:51000",
			     "lbctl trace web [2001:db8::7]:51000 --proto udp",
			     "lbctl --json trace web 10.0.9.1 --port 40000 --interface eth1"),
};

static const struct lb_cli_spec cli_RELOAD = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl reload"),
};

static const struct lb_cli_spec cli_HEALTH = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL),
		     FLAG("follow", "follow",
			  "then print each health event as it happens (a target turns healthy or "
			  "unhealthy, a group's effective weights change), one line each, until "
			  "interrupted or lbd closes the connection")),
	.examples = EXAMPLES("lbctl health", "lbctl health web --follow",
			     "lbctl --json health --follow | jq -c 'select(.type != null)'"),
};

static const struct lb_cli_spec cli_SET_TARGET_STATUS = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("target", ENDPOINT, "TARGET", true,
			 "the target, written ip:port or [ipv6]:port"),
		     POS("status", CHOICE, "healthy|unhealthy|auto", true,
			 "healthy or unhealthy: override the health checks until set back to auto; "
			 "auto: the health checks decide again")),
	.examples = EXAMPLES("lbctl set-target-status web 10.0.0.2:8080 unhealthy",
			     "lbctl set-target-status web 10.0.0.2:8080 auto"),
};

static const struct lb_cli_spec cli_FORCE_CHECK = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("target", ENDPOINT, "TARGET", true,
			 "the target, written ip:port or [ipv6]:port")),
	.examples = EXAMPLES("lbctl force-check web 10.0.0.2:8080"),
};

static const struct lb_cli_spec cli_ENABLE_HEALTH_CHECKS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl enable-health-checks"),
};

static const struct lb_cli_spec cli_DISABLE_HEALTH_CHECKS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl disable-health-checks"),
};

/*
 * --timeout here is the drain's: a command's own option wins over the global option of the
 * same name after the command (lbctl's reply timeout then goes before the command).
 */
static const struct lb_cli_spec cli_DRAIN = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("target", ENDPOINT, "TARGET", true,
			 "the target, written ip:port or [ipv6]:port"),
		     OPT("timeout", "timeout-ms", DURATION, "DURATION", false,
			 "give up waiting for the target's connections after DURATION; they are "
			 "left alone, not cut (default: lbd's settings.default-drain-timeout-ms). "
			 "After the command, --timeout is this one; lbctl's own reply timeout goes "
			 "before the command"),
		     FLAG("wait", "wait",
			  "wait until the drain ends, showing its progress; exit status 0 when "
			  "the connections are gone, 4 when the drain timed out, 5 when it was "
			  "cancelled")),
	.examples = EXAMPLES("lbctl drain web 10.0.0.1:8080",
			     "lbctl drain web 10.0.0.1:8080 --timeout 60s --wait",
			     "lbctl drain web 10.0.0.1:8080 --timeout 2m"),
};

static const struct lb_cli_spec cli_UNDRAIN = {
	.args = ARGS(POS("proxy", STRING, "PROXY", true, NULL),
		     POS("target", ENDPOINT, "TARGET", true,
			 "the target, written ip:port or [ipv6]:port")),
	.examples = EXAMPLES("lbctl undrain web 10.0.0.1:8080"),
};

static const struct lb_cli_spec cli_DRAIN_STATUS = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL),
		     OPT("target", "target", ENDPOINT, "IP:PORT", false, NULL)),
	.examples = EXAMPLES("lbctl drain-status", "lbctl drain-status web --target 10.0.0.1:8080"),
};

/* Also spelt `lbctl node drain`, `lbctl node undrain`, `lbctl node status`. */
static const struct lb_cli_spec cli_NODE_DRAIN = {
	.args = ARGS(OPT("timeout", "timeout-ms", DURATION, "DURATION", false,
			 "with --wait: give up waiting after DURATION (exit status 4); the node "
			 "stays in maintenance"),
		     FLAG("wait", "wait",
			  "wait until this node's flows are gone, showing how many are left; exit "
			  "status 0 when none is left")),
	.examples = EXAMPLES("lbctl node drain", "lbctl node drain --wait --timeout 5m"),
};

static const struct lb_cli_spec cli_NODE_UNDRAIN = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl node undrain"),
};

static const struct lb_cli_spec cli_NODE_STATUS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl node status", "lbctl --json node status | jq .announced"),
};

static const struct lb_cli_spec cli_STATS = {
	.args = ARGS(POS("proxy", STRING, "PROXY", false, NULL),
		     FLAG("follow", "follow",
			  "then print one line per connection opened or closed (with --json, one "
			  "JSON object per line) until interrupted; needs stats enabled "
			  "(lbctl enable-stats)")),
	.examples = EXAMPLES("lbctl stats", "lbctl stats web",
			     "lbctl --json stats web | jq '.proxies[0].counters'",
			     "lbctl stats web --follow",
			     "lbctl --json stats --follow | jq -c 'select(.event == \"closed\")'"),
};

static const struct lb_cli_spec cli_ENABLE_STATS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl enable-stats"),
};

static const struct lb_cli_spec cli_DISABLE_STATS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl disable-stats"),
};

static const struct lb_cli_spec cli_METRICS = {
	.args = NO_ARGS,
	.examples = EXAMPLES("lbctl metrics", "lbctl metrics | promtool check metrics"),
};

#define LB_X_SPEC(id, name, mutates, summary) [LB_M_##id] = &cli_##id,
static const struct lb_cli_spec *const cli_specs[LB_M_COUNT] = {LB_METHOD_LIST(LB_X_SPEC)};
#undef LB_X_SPEC

const struct lb_cli_spec *lb_cli_spec_of(const struct lb_method *m)
{
	return cli_specs[m->id];
}

bool lb_cli_arg_in_file(const struct lb_cli_spec *spec, const struct lb_cli_arg *a)
{
	size_t len = spec->file_param ? strlen(spec->file_param) : 0;

	return len && !strncmp(a->path, spec->file_param, len) &&
	       (a->path[len] == '\0' || a->path[len] == '.');
}

bool lb_cli_file_required(const struct lb_method *m)
{
	const struct lb_cli_spec *spec = lb_cli_spec_of(m);
	const struct lb_cli_arg *a;
	const struct lb_param *p;

	if (!spec->file_param)
		return false;
	for (a = spec->args; a->path; a++)
		if (lb_cli_arg_in_file(spec, a))
			return false;
	for (p = lb_method_params(m); p->name; p++)
		if (!strcmp(p->name, spec->file_param))
			return p->required;
	return false;
}

const char *lb_cli_arg_help(const struct lb_method *m, const struct lb_cli_arg *a)
{
	const struct lb_param *p;

	if (a->help)
		return a->help;
	for (p = lb_method_params(m); p->name; p++)
		if (!strcmp(p->name, a->path))
			return p->help;
	return "";
}
