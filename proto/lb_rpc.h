/* SPDX-License-Identifier: MIT */
/*
 * lb_rpc.h - the JSON-RPC 2.0 protocol between lbd and its clients (lbctl, scripts).
 *
 * Transport: a Unix stream socket; each message is one compact JSON object terminated by
 * '\n' (so `echo '{...}' | socat -t 5 - UNIX-CONNECT:/run/lbd/lbd.sock` works). Requests
 * carry an id; notifications (server to client, no id) carry streams. PROTOCOL.md in this
 * folder documents every method with an example.
 */
#ifndef LB_RPC_H
#define LB_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define LB_RPC_DEFAULT_SOCKET "/run/lbd/lbd.sock"
#define LB_RPC_MAX_REQUEST    (1024 * 1024) /* bytes in one request line */

/* Error codes: JSON-RPC's own, then lbd's (-32000..-32099), each with a `data` object. */
enum lb_rpc_code {
	LB_RPC_PARSE_ERROR = -32700,	  /* not JSON */
	LB_RPC_INVALID_REQUEST = -32600,  /* JSON, but not a request object */
	LB_RPC_METHOD_NOT_FOUND = -32601, /* data: {"method"} */
	LB_RPC_INVALID_PARAMS = -32602,	  /* data: {"field"} */
	LB_RPC_INTERNAL_ERROR = -32603,
	LB_RPC_CONFIG_INVALID = -32000, /* the change breaks a configuration rule; data: {"path"} */
	LB_RPC_NOT_FOUND = -32001,  /* data: {"kind", "name"}: proxy, route, target, interface */
	LB_RPC_EXISTS = -32002,	    /* data: {"kind", "name"} */
	LB_RPC_PERMISSION = -32003, /* data: {"uid", "method"}: peer may not call this method */
	LB_RPC_DATAPATH = -32004,   /* the kernel refused a map update or attach; data: {"errno"} */
	LB_RPC_TOO_LARGE = -32005,  /* data: {"limit"}: request line over LB_RPC_MAX_REQUEST */
	LB_RPC_UNAVAILABLE = -32006, /* e.g. reload without a configuration file; data: {} */
};

/* Parameter types of the method schemas. */
enum lb_ptype {
	LB_PT_STRING,
	LB_PT_INT,
	LB_PT_BOOL,
	LB_PT_STRINGS, /* array of strings */
	LB_PT_TARGETS, /* array of targets: "ip:port[@weight]" strings or {"ip","port","weight"} */
	LB_PT_OBJECT,
	LB_PT_OBJECTS, /* array of objects */
};

struct lb_param {
	const char *name;
	enum lb_ptype type;
	bool required;
	const char *help;
};

/*
 * The method table shared by lbd (which adds a handler per id) and lbctl (one subcommand
 * per method). Adding a method: one X() line here, its parameters in lb_methods.c, a
 * handler in lbd, and (optionally) a human formatter in lbctl.
 *   X(ID, "name", mutates, "summary")
 */
#define LB_METHOD_LIST(X)                                                                          \
	X(STATUS, "status", false, "show the daemon, its interfaces and proxies")                  \
	X(VERSION, "version", false, "show lbd's version and BPF ABI version")                     \
	X(GET_CONFIG, "get-config", false, "print the running configuration as JSON")              \
	X(LIST_PROXIES, "list-proxies", false, "list proxies with listeners and targets")          \
	X(ADD_PROXY, "add-proxy", true, "add a proxy")                                             \
	X(REMOVE_PROXY, "remove-proxy", true, "remove a proxy")                                    \
	X(ADD_SOURCE_ROUTE, "add-source-route", true, "route a client prefix to targets")          \
	X(ADD_SOURCE_ROUTES, "add-source-routes", true, "add many source routes in one change")    \
	X(REMOVE_SOURCE_ROUTE, "remove-source-route", true, "remove a source route")               \
	X(LIST_SOURCE_ROUTES, "list-source-routes", false, "list source routes")                   \
	X(ATTACH_INTERFACES, "attach-interfaces", true, "add listening interfaces")                \
	X(DETACH_INTERFACES, "detach-interfaces", true, "remove listening interfaces")             \
	X(SET_INGRESS, "set-ingress", true, "balance requests at XDP or TC ingress (auto|xdp|tc)") \
	X(SET_WEIGHTS, "set-weights", true, "change a group's weights (canary, blue/green)")       \
	X(CONNECTIONS, "connections", false, "list tracked connections")                           \
	X(CONNECTION_COUNT, "connection-count", false, "count tracked connections")                \
	X(CONNECTION_STATS, "connection-stats", false, "packet and byte totals")                   \
	X(TRACE, "trace", false, "which target a client gets, and why (runs the datapath)")        \
	X(RELOAD, "reload", true, "re-read the configuration file and apply it as a diff")         \
	X(HEALTH, "health", false, "health of targets, weights; --follow streams events")          \
	X(SET_TARGET_STATUS, "set-target-status", true, "override a target's health by hand")      \
	X(FORCE_CHECK, "force-check", true, "health-check a target now")                           \
	X(ENABLE_HEALTH_CHECKS, "enable-health-checks", true, "start active health checks")        \
	X(DISABLE_HEALTH_CHECKS, "disable-health-checks", true, "stop health checks")              \
	X(DRAIN, "drain", true, "stop new connections to a target; --wait until it is empty")      \
	X(UNDRAIN, "undrain", true, "cancel a drain: the target takes new connections again")      \
	X(DRAIN_STATUS, "drain-status", false, "progress of drains")                               \
	X(NODE_DRAIN, "node-drain", true, "maintenance: withdraw this node's announcements")       \
	X(NODE_UNDRAIN, "node-undrain", true, "end maintenance: announce this node again")         \
	X(NODE_STATUS, "node-status", false, "maintenance, announced addresses, flows left")       \
	X(ADD_SNI_ROUTE, "add-sni-route", true, "route a TLS server name to targets")              \
	X(REMOVE_SNI_ROUTE, "remove-sni-route", true, "remove an SNI route")                       \
	X(LIST_SNI_ROUTES, "list-sni-routes", false, "list SNI routes")                            \
	X(STATS, "stats", false, "counters, open connections; --follow streams connections")       \
	X(ENABLE_STATS, "enable-stats", true, "turn connection events on (stream, access log)")    \
	X(DISABLE_STATS, "disable-stats", true, "turn connection events off")                      \
	X(METRICS, "metrics", false, "the statistics in Prometheus text format")

enum lb_method_id {
#define LB_X_ENUM(id, name, mutates, summary) LB_M_##id,
	LB_METHOD_LIST(LB_X_ENUM)
#undef LB_X_ENUM
		LB_M_COUNT
};

struct lb_method {
	enum lb_method_id id;
	const char *name;
	bool mutates;
	const char *summary;
	const void *reserved;
};

/* The table, indexed by enum lb_method_id. */
extern const struct lb_method lb_methods[LB_M_COUNT];

/* The parameter schema of @m, terminated by an entry whose name is NULL. */
const struct lb_param *lb_method_params(const struct lb_method *m);

/* The method called @name, or NULL. */
const struct lb_method *lb_method_find(const char *name);

/*
 * Check @params (an object, or NULL for none) against the method's schema: required
 * parameters present, no unknown ones, every value of its type. Returns 0 or -EINVAL with
 * the offending parameter's name in @field and a sentence in @err.
 */
int lb_params_check(const struct lb_method *m, const json_t *params, char *field, size_t fieldlen,
		    char *err, size_t errlen);

/* Name of a parameter type for messages ("string", "array of targets", ...). */
const char *lb_ptype_name(enum lb_ptype t);

/* Build {"jsonrpc":"2.0","id":id,"result":result}; steals @result. */
json_t *lb_rpc_result(json_t *id, json_t *result);

/* Build an error response; steals @data (may be NULL). @id may be NULL (null id). */
json_t *lb_rpc_error(json_t *id, int code, const char *message, json_t *data);

/* Build a notification {"jsonrpc":"2.0","method":method,"params":params}; steals @params. */
json_t *lb_rpc_notification(const char *method, json_t *params);

/* Serialise @msg as one compact line ending in '\n'. Caller frees. NULL on failure. */
char *lb_rpc_dump_line(const json_t *msg, size_t *len);

/*
 * Line framing over a byte stream: bytes go in with lb_linebuf_feed(), complete lines come
 * out with lb_linebuf_next(). A line longer than @max is reported once as too long and
 * skipped up to its newline, so the stream stays usable.
 */
struct lb_linebuf {
	char *buf;
	size_t start; /* buffered bytes are buf[start, len): lines are consumed by offset */
	size_t len, cap, max;
	size_t pending_len; /* bytes of the line last handed out, dropped on the next call */
	bool discarding;    /* inside an over-long line */
};

void lb_linebuf_init(struct lb_linebuf *lb, size_t max);
void lb_linebuf_release(struct lb_linebuf *lb);

/* Append bytes. Returns 0 or -ENOMEM. */
int lb_linebuf_feed(struct lb_linebuf *lb, const char *data, size_t len);

/*
 * Next complete line (without '\n', NUL-terminated, valid until the next call):
 * returns 1 and sets *line and *len; 0 when no complete line is buffered; -E2BIG once for a
 * line over the limit (which is then dropped).
 */
int lb_linebuf_next(struct lb_linebuf *lb, const char **line, size_t *len);

#endif /* LB_RPC_H */
