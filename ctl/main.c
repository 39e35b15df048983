// SPDX-License-Identifier: MIT
/*
 * lbctl - the admin CLI of lbd: one subcommand per JSON-RPC method of proto/lb_rpc.h.
 *
 *   lbctl [-s SOCKET] [--json] [--timeout SECONDS] COMMAND ARGS...
 *
 * Exit status (exit_status.h): 0 ok, 1 lbd returned an error, 2 lbd could not be reached
 * (or answered something that is not JSON-RPC), 3 usage error; drain --wait: 4 the drain
 * timed out, 5 it was cancelled; drain --wait and top: 130 interrupted (Ctrl-C).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli_spec.h"
#include "client.h"
#include "exit_status.h"
#include "format.h"
#include "lb_rpc.h"
#include "node_wait.h"
#include "stream.h"
#include "top.h"

#ifndef LBD_VERSION
#define LBD_VERSION "unknown"
#endif

#define DEFAULT_TIMEOUT_MS 10000

struct opts {
	const char *socket;
	bool json;
	bool help;
	int timeout_ms; /* < 0: no limit */
};

/* Commands of lbctl itself, next to the methods. */
static const struct {
	const char *name, *args, *summary;
} builtins[] = {
	{"call", "METHOD [PARAMS]", "call any method with raw JSON params (- reads stdin)"},
	{"help", "[COMMAND]", "show this help, or a command's"},
	{"top", "[PROXY]", "watch proxies and targets live: rates, health"},
};

static void print_main_help(FILE *out)
{
	char name[64];
	size_t i;
	int w = 0;

	for (i = 0; i < LB_M_COUNT; i++)
		if ((int)strlen(lb_methods[i].name) > w)
			w = (int)strlen(lb_methods[i].name);
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		snprintf(name, sizeof(name), "%s %s", builtins[i].name, builtins[i].args);
		if ((int)strlen(name) > w)
			w = (int)strlen(name);
	}
	fprintf(out, "usage: lbctl [-s SOCKET] [--json] [--timeout SECONDS] COMMAND [ARGS...]\n\n"
		     "Change and inspect a running lbd through its control socket.\n\n"
		     "commands:\n");
	for (i = 0; i < LB_M_COUNT; i++)
		fprintf(out, "  %-*s  %s\n", w, lb_methods[i].name, lb_methods[i].summary);
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		snprintf(name, sizeof(name), "%s %s", builtins[i].name, builtins[i].args);
		fprintf(out, "  %-*s  %s\n", w, name, builtins[i].summary);
	}
	fprintf(out,
		"\noptions (also accepted after COMMAND, unless it has an option of that name):\n"
		"  -s, --socket PATH    lbd's control socket (default: $LBD_SOCKET, else %s)\n"
		"  --json               print the result as received: one line of JSON\n"
		"  --timeout SECONDS    how long to wait for lbd (default %d, 0: no limit)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show lbctl's version\n\n"
		"Targets are written ip:port or ip:port@weight, IPv6 ones [ipv6]:port@weight.\n"
		"\"lbctl COMMAND --help\" shows a command's arguments and examples.\n\n"
		"exit status: 0 ok, 1 lbd returned an error, 2 lbd could not be reached,\n"
		"3 usage error; drain --wait: 4 the drain timed out, 5 it was cancelled;\n"
		"drain --wait and top: 130 interrupted.\n",
		LB_RPC_DEFAULT_SOCKET, DEFAULT_TIMEOUT_MS / 1000);
}

static void print_call_help(FILE *out)
{
	fprintf(out,
		"usage: lbctl call METHOD [PARAMS]\n\n"
		"Call METHOD with PARAMS sent as they are: a JSON object (or array), \"-\" to\n"
		"read it from stdin. METHOD need not be known to this lbctl. The result is\n"
		"shown like the command of that name's, or as JSON with --json.\n\n"
		"examples:\n"
		"  lbctl call status\n"
		"  lbctl call add-source-route '{\"proxy\":\"web\",\"source\":\"10.9.0.0/16\","
		"\"targets\":[\"10.0.0.9:8080\"]}'\n");
}

/* "lbctl: CMD: what is wrong", then how to call it. Returns EXIT_USAGE. */
static int usage_error(const struct lb_method *m, const char *cmd, const char *err)
{
	fprintf(stderr, "lbctl: %s%s%s\n", cmd ? cmd : "", cmd ? ": " : "", err);
	if (m) {
		lb_cli_print_usage(stderr, m);
		fprintf(stderr, "Run \"lbctl %s --help\" for details.\n", m->name);
	} else if (cmd && !strcmp(cmd, "call")) {
		fprintf(stderr, "usage: lbctl call METHOD [PARAMS]\n");
	} else if (cmd && !strcmp(cmd, "top")) {
		lb_top_print_usage(stderr);
		fprintf(stderr, "Run \"lbctl top --help\" for details.\n");
	} else {
		fprintf(stderr, "Run \"lbctl --help\" for the commands and options.\n");
	}
	return EXIT_USAGE;
}

/* "10", "2.5", "10s", "500ms" -> milliseconds; 0 means no limit (-1). */
static int parse_timeout(const char *s, int *ms)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || *s == '+' || *s == '-')
		return -EINVAL;
	if (!strcmp(end, "ms"))
		v /= 1000;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	if (v > 86400)
		return -EINVAL;
	*ms = v == 0 ? -1 : (int)ceil(v * 1000);
	return 0;
}

/* The value of option argv[*i]: after '=' in it, or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq)
		return eq + 1;
	return *i + 1 < argc ? argv[++*i] : NULL;
}

/*
 * The options valid before and after COMMAND (lb_cli_extra_opt_fn). Returns 1 when argv[*i]
 * was one, 0 when not, -EINVAL with @err on a bad value.
 */
static int global_option(void *arg, int argc, char **argv, int *i, char *err, size_t errlen)
{
	struct opts *o = arg;
	const char *a = argv[*i], *eq = strchr(a, '='), *v;
	size_t n = eq ? (size_t)(eq - a) : strlen(a);

	if (!strcmp(a, "--json")) {
		o->json = true;
	} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		o->help = true;
	} else if (!strncmp(a, "-s", 2) && a[2]) {
		o->socket = a + 2;
	} else if (!strcmp(a, "-s") || (n == 8 && !strncmp(a, "--socket", 8))) {
		v = option_value(argc, argv, i, eq);
		if (!v || !*v) {
			snprintf(err, errlen, "%s needs a socket PATH", a);
			return -EINVAL;
		}
		o->socket = v;
	} else if (n == 9 && !strncmp(a, "--timeout", 9)) {
		v = option_value(argc, argv, i, eq);
		if (!v || parse_timeout(v, &o->timeout_ms)) {
			snprintf(
				err, errlen,
				"--timeout needs SECONDS: a number such as 5 or 0.5 (0: no limit)");
			return -EINVAL;
		}
	} else {
		return 0;
	}
	return 1;
}

/* Why the daemon could not be reached, as a sentence naming the socket. */
static int report_unreachable(const struct opts *o, int err)
{
	const char *p = o->socket;
	struct stat st;

	switch (-err) {
	case ENOENT:
		fprintf(stderr,
			"lbctl: cannot reach lbd: %s does not exist (is lbd running? -s or "
			"LBD_SOCKET selects another socket)\n",
			p);
		break;
	case ECONNREFUSED:
		if (!stat(p, &st) && !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "lbctl: cannot reach lbd: %s is not a socket\n", p);
			break;
		}
		fprintf(stderr,
			"lbctl: cannot reach lbd: connection to %s refused (lbd is not running, or "
			"the socket is stale)\n",
			p);
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr,
			"lbctl: cannot reach lbd: permission denied on %s (run as root or as a "
			"user allowed to use the socket)\n",
			p);
		break;
	case ETIMEDOUT:
		fprintf(stderr,
			"lbctl: no answer from lbd on %s within %g s (busy or hung? --timeout "
			"waits longer); a change sent may still be applied when lbd gets to it "
			"(lbctl get-config shows what is)\n",
			p, o->timeout_ms / 1000.0);
		break;
	case EMSGSIZE:
		fprintf(stderr,
			"lbctl: not sent: the request is longer than lbd takes (%d MiB); split it, "
			"e.g. a file of source routes into several add-source-routes calls\n",
			LB_RPC_MAX_REQUEST >> 20);
		return EXIT_USAGE;
	case ECONNRESET:
		fprintf(stderr, "lbctl: lbd closed the connection on %s without answering\n", p);
		break;
	case EPROTO:
		fprintf(stderr,
			"lbctl: the answer on %s is not JSON-RPC (is lbd what listens there?)\n",
			p);
		break;
	case E2BIG:
		fprintf(stderr, "lbctl: the answer on %s is longer than %d MiB\n", p,
			LB_CLIENT_MAX_REPLY >> 20);
		break;
	case ENAMETOOLONG:
		fprintf(stderr,
			"lbctl: cannot reach lbd: socket path %s is longer than %zu bytes\n", p,
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		break;
	default:
		fprintf(stderr, "lbctl: cannot reach lbd on %s: %s\n", p, strerror(-err));
	}
	return EXIT_UNREACHABLE;
}

/* Has stdout taken everything? Else say so: EXIT_DAEMON_ERROR (the change, if any, was made). */
static int check_output(int rc)
{
	if ((fflush(stdout) || ferror(stdout)) && rc == EXIT_OK) {
		fprintf(stderr, "lbctl: cannot write the output: %s\n", strerror(errno));
		rc = EXIT_DAEMON_ERROR;
	}
	return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* health --follow, drain --wait (stream.h); SIGINT ends them. */
static int run_stream(const struct opts *o, const char *method, const json_t *params,
		      enum lb_stream_kind kind)
{
	const char *proxy = json_string_value(json_object_get(params, "proxy"));
	const char *target = json_string_value(json_object_get(params, "target"));
	struct lb_stream s = {.json = o->json, .out = stdout, .err = stderr};
	struct sigaction sa = {.sa_handler = on_interrupt};
	struct opts waited = *o;
	struct lb_client c;
	bool called = false;
	int r;

	r = lb_client_connect(&c, o->socket, o->timeout_ms);
	if (!r) {
		called = true;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		c.stop = &interrupted;
		r = lb_stream_call(&c, method, params, kind, &s);
		waited.timeout_ms = c.timeout_ms;
	}
	lb_client_close(&c);
	if (r == -EINTR) {
		fprintf(stderr,
			"lbctl: stopped waiting; lbd goes on draining %s %s (lbctl drain-status "
			"shows it, lbctl undrain cancels it)\n",
			proxy ? proxy : "?", target ? target : "?");
		return EXIT_INTERRUPTED;
	}
	if (called && r == -ETIMEDOUT && kind == LB_STREAM_WAIT) {
		fprintf(stderr,
			"lbctl: lbd did not report the end of the drain of %s %s within %g s "
			"(lbctl drain-status shows it)\n",
			proxy ? proxy : "?", target ? target : "?", c.timeout_ms / 1000.0);
		return EXIT_UNREACHABLE;
	}
	if (r < 0)
		return report_unreachable(&waited, r);
	return check_output(r);
}

/*
 * Call @method with @params (may be NULL) and print what comes back. With @result_out the
 * result is handed back instead of printed (caller decrefs).
 */
static int run(const struct opts *o, const char *method, const json_t *params, json_t **result_out)
{
	enum lb_stream_kind kind = lb_stream_kind_of(method, params);
	json_t *resp = NULL, *error, *result;
	struct lb_client c;
	int r, rc = EXIT_OK;

	if (kind != LB_STREAM_NONE && !result_out)
		return run_stream(o, method, params, kind);
	r = lb_client_connect(&c, o->socket, o->timeout_ms);
	if (!r)
		r = lb_client_call(&c, method, params, &resp, NULL, NULL);
	lb_client_close(&c);
	if (r)
		return report_unreachable(o, r);

	error = json_object_get(resp, "error");
	result = json_object_get(resp, "result");
	if (json_is_object(error)) {
		if (o->json)
			lb_format_json_line(stdout, error);
		lb_format_error(stderr, error);
		rc = EXIT_DAEMON_ERROR;
	} else if (!result) {
		rc = report_unreachable(o, -EPROTO);
	} else if (result_out) {
		*result_out = json_incref(result);
	} else if (o->json) {
		lb_format_json_line(stdout, result);
	} else {
		lb_format_result(stdout, method, result);
	}
	json_decref(resp);
	return check_output(rc);
}

/* lbctl call METHOD [PARAMS] */
static int cmd_call(struct opts *o, int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL};
	char err[LB_CLI_ERR_MAX];
	bool options_done = false;
	json_error_t jerr;
	json_t *params = NULL;
	int i, npos = 0, r;

	for (i = 0; i < argc; i++) {
		if (!options_done && !strcmp(argv[i], "--")) {
			options_done = true;
		} else if (!options_done && argv[i][0] == '-' && argv[i][1]) {
			r = global_option(o, argc, argv, &i, err, sizeof(err));
			if (r < 0)
				return usage_error(NULL, "call", err);
			if (r == 0) {
				snprintf(err, sizeof(err), "unknown option \"%s\"", argv[i]);
				return usage_error(NULL, "call", err);
			}
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			snprintf(err, sizeof(err), "unexpected argument \"%s\"", argv[i]);
			return usage_error(NULL, "call", err);
		}
	}
	if (o->help) {
		print_call_help(stdout);
		return EXIT_OK;
	}
	if (!pos[0])
		return usage_error(NULL, "call", "missing METHOD");
	if (pos[1]) {
		params = !strcmp(pos[1], "-") ? json_loadf(stdin, 0, &jerr)
					      : json_loads(pos[1], 0, &jerr);
		if (!params) {
			snprintf(err, sizeof(err), "PARAMS is not JSON: %s (column %d)", jerr.text,
				 jerr.column);
			return usage_error(NULL, "call", err);
		}
		if (!json_is_object(params) && !json_is_array(params)) {
			json_decref(params);
			return usage_error(NULL, "call", "PARAMS must be a JSON object or array");
		}
	}
	r = run(o, pos[0], params, NULL);
	json_decref(params);
	return r;
}

/* -h or --help among a command's arguments (before any "--")? */
static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

/*
 * lbctl node drain [--wait] [--timeout D]: node-drain, then (--wait) node-status until no
 * flow is left. The two options are lbctl's: lbd's node-drain takes no parameters.
 */
static int cmd_node_drain(struct opts *o, json_t *params)
{
	bool wait = json_is_true(json_object_get(params, "wait"));
	json_int_t timeout_ms = json_integer_value(json_object_get(params, "timeout-ms"));
	struct sigaction sa = {.sa_handler = on_interrupt};
	struct lb_client c;
	int r;

	if (!wait && json_object_get(params, "timeout-ms"))
		return usage_error(lb_method_find("node-drain"), "node-drain",
				   "--timeout goes with --wait");
	r = run(o, "node-drain", NULL, NULL);
	if (r != EXIT_OK || !wait)
		return r;
	r = lb_client_connect(&c, o->socket, o->timeout_ms);
	if (!r) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		r = lb_node_drain_wait(&c, timeout_ms, o->json, stdout, stderr, &interrupted);
	}
	lb_client_close(&c);
	return r < 0 ? report_unreachable(o, r) : check_output(r);
}

static int cmd_method(struct opts *o, const struct lb_method *m, int argc, char **argv)
{
	char err[LB_CLI_ERR_MAX];
	json_t *params;
	int r;

	if (wants_help(argc, argv)) {
		lb_cli_print_help(stdout, m);
		return EXIT_OK;
	}
	if (lb_cli_build_params(m, argc, argv, &params, global_option, o, err, sizeof(err)))
		return usage_error(m, m->name, err);
	if (m->id == LB_M_NODE_DRAIN)
		r = cmd_node_drain(o, params);
	else
		r = run(o, m->name, json_object_size(params) ? params : NULL, NULL);
	json_decref(params);
	return r;
}

/* lbctl top [PROXY] [--interval SECONDS] [--count N] */
static int cmd_top(struct opts *o, int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_interrupt};
	struct lb_top_opts t;
	char err[LB_CLI_ERR_MAX];
	struct lb_client c;
	int r;

	if (wants_help(argc, argv)) {
		lb_top_print_help(stdout);
		return EXIT_OK;
	}
	lb_top_opts_init(&t);
	if (lb_top_parse_args(argc, argv, &t, global_option, o, err, sizeof(err)))
		return usage_error(NULL, "top", err);
	t.json = o->json;
	t.redraw = !o->json && isatty(STDOUT_FILENO);
	r = lb_client_connect(&c, o->socket, o->timeout_ms);
	if (!r) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		c.stop = &interrupted;
		r = lb_top_run(&c, &t, stdout, stderr, &interrupted);
	}
	lb_client_close(&c);
	if (r < 0)
		return report_unreachable(o, r);
	return check_output(r);
}

/* `lbctl node COMMAND`: the node-* methods under one word. */
static const char *const node_commands[] = {"drain", "undrain", "status"};

static void print_node_help(FILE *out)
{
	const struct lb_method *m;
	char name[64];
	size_t i;

	fprintf(out, "usage: lbctl node drain|undrain|status [ARGS...]\n\n"
		     "This node among several behind ECMP (docs/scale-out.md): what it announces\n"
		     "(settings.announce-table) and maintenance.\n\ncommands:\n");
	for (i = 0; i < sizeof(node_commands) / sizeof(node_commands[0]); i++) {
		snprintf(name, sizeof(name), "node-%s", node_commands[i]);
		m = lb_method_find(name);
		fprintf(out, "  %-8s  %s\n", node_commands[i], m ? m->summary : "");
	}
	fprintf(out, "\n\"lbctl node COMMAND --help\" (or \"lbctl help node COMMAND\") shows a "
		     "command's\noptions and examples.\n");
}

static int cmd_help(const char *name, const char *sub)
{
	const struct lb_method *m;
	char err[128], node_cmd[64];

	if (name && !strcmp(name, "node") && sub) {
		snprintf(node_cmd, sizeof(node_cmd), "node-%s", sub);
		name = node_cmd;
	} else if (sub) {
		return usage_error(NULL, "help", "expected at most one COMMAND (or node COMMAND)");
	}
	m = name ? lb_method_find(name) : NULL;
	if (!name) {
		print_main_help(stdout);
	} else if (m) {
		lb_cli_print_help(stdout, m);
	} else if (!strcmp(name, "call")) {
		print_call_help(stdout);
	} else if (!strcmp(name, "help")) {
		printf("usage: lbctl help [COMMAND]\n");
	} else if (!strcmp(name, "top")) {
		lb_top_print_help(stdout);
	} else if (!strcmp(name, "node")) {
		print_node_help(stdout);
	} else {
		snprintf(err, sizeof(err), "no command \"%s\"", name);
		return usage_error(NULL, "help", err);
	}
	return EXIT_OK;
}

/* "unknown command", with the commands whose names contain @name as suggestions. */
static int unknown_command(const char *name)
{
	char err[LB_CLI_ERR_MAX];
	size_t i, len;
	int n = 0;

	len = (size_t)snprintf(err, sizeof(err), "unknown command \"%s\"", name);
	for (i = 0; i < LB_M_COUNT && len < sizeof(err); i++) {
		if (!strstr(lb_methods[i].name, name))
			continue;
		len += (size_t)snprintf(err + len, sizeof(err) - len, "%s%s",
					n++ ? ", " : " (did you mean ", lb_methods[i].name);
	}
	if (n && len < sizeof(err))
		snprintf(err + len, sizeof(err) - len, "?)");
	return usage_error(NULL, NULL, err);
}

/* --list-proxies (shell completion): proxy names, one per line. */
static int list_proxy_names(struct opts *o)
{
	json_t *result = NULL, *p;
	size_t i;
	int r;

	r = run(o, "list-proxies", NULL, &result);
	json_array_foreach (json_object_get(result, "proxies"), i, p)
		if (json_is_string(json_object_get(p, "name")))
			printf("%s\n", json_string_value(json_object_get(p, "name")));
	json_decref(result);
	return r;
}

/* Print "ip:port" of each target in @group (a target object or an array of them) once. */
static void print_targets(const json_t *group, json_t *seen)
{
	const json_t *ip = json_object_get(group, "ip"), *port = json_object_get(group, "port");
	const json_t *t;
	char buf[96];
	size_t i;

	if (json_is_string(ip) && json_is_integer(port)) {
		json_t *bare = json_pack("{s:O, s:O}", "ip", ip, "port", port); /* no weight */

		if (!bare || !lb_format_target_obj(bare, buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "?");
		json_decref(bare);
		if (!json_object_get(seen, buf)) {
			printf("%s\n", buf);
			json_object_set_new(seen, buf, json_true());
		}
	}
	json_array_foreach (group, i, t)
		print_targets(t, seen);
}

/* --list-targets [PROXY] (shell completion): the targets of PROXY, or of every proxy. */
static int list_target_names(struct opts *o, const char *proxy)
{
	json_t *result = NULL, *p, *route, *seen = json_object();
	const char *name;
	size_t i, k;
	int r;

	r = run(o, "list-proxies", NULL, &result);
	json_array_foreach (json_object_get(result, "proxies"), i, p) {
		name = json_string_value(json_object_get(p, "name"));
		if (proxy && (!name || strcmp(name, proxy)))
			continue;
		print_targets(json_object_get(p, "default-target"), seen);
		json_array_foreach (json_object_get(p, "source-routes"), k, route) {
			print_targets(json_object_get(route, "targets"), seen);
			print_targets(json_object_get(route, "target"), seen);
		}
	}
	json_decref(seen);
	json_decref(result);
	return r;
}

/* The hidden options that feed shell completion; -1 when argv[*i] is not one. */
static int completion_option(struct opts *o, int argc, char **argv, int i)
{
	const struct lb_method *m;
	size_t k;

	if (!strcmp(argv[i], "--list-commands")) {
		for (k = 0; k < LB_M_COUNT; k++)
			printf("%s\n", lb_methods[k].name);
		for (k = 0; k < sizeof(builtins) / sizeof(builtins[0]); k++)
			printf("%s\n", builtins[k].name);
		return EXIT_OK;
	}
	if (!strcmp(argv[i], "--list-proxies"))
		return list_proxy_names(o);
	if (!strcmp(argv[i], "--list-targets"))
		return list_target_names(o, i + 1 < argc && *argv[i + 1] ? argv[i + 1] : NULL);
	if (strcmp(argv[i], "--list-options") && strcmp(argv[i], "--list-args"))
		return -1;
	if (i + 1 < argc && !strcmp(argv[i + 1], "top")) {
		if (!strcmp(argv[i], "--list-options"))
			lb_top_print_options(stdout);
		else
			lb_top_print_positionals(stdout);
		return EXIT_OK;
	}
	m = i + 1 < argc ? lb_method_find(argv[i + 1]) : NULL;
	if (!m)
		return EXIT_USAGE;
	if (!strcmp(argv[i], "--list-options"))
		lb_cli_print_options(stdout, m);
	else
		lb_cli_print_positionals(stdout, m);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = {.timeout_ms = DEFAULT_TIMEOUT_MS};
	const struct lb_method *m;
	char err[LB_CLI_ERR_MAX];
	const char *cmd;
	char node_cmd[64];
	int i, r;

	o.socket = getenv("LBD_SOCKET");
	if (!o.socket || !*o.socket)
		o.socket = LB_RPC_DEFAULT_SOCKET;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("lbctl %s\n", LBD_VERSION);
			return EXIT_OK;
		}
		r = completion_option(&o, argc, argv, i);
		if (r >= 0)
			return r;
		r = global_option(&o, argc, argv, &i, err, sizeof(err));
		if (r < 0)
			return usage_error(NULL, NULL, err);
		if (r == 0) {
			snprintf(err, sizeof(err), "unknown option \"%s\"", argv[i]);
			return usage_error(NULL, NULL, err);
		}
	}
	if (o.help) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	if (i >= argc) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[i++];
	if (!strcmp(cmd, "help"))
		return i + 2 < argc ? usage_error(NULL, "help", "expected at most one COMMAND")
				    : cmd_help(i < argc ? argv[i] : NULL,
					       i + 1 < argc ? argv[i + 1] : NULL);
	if (!strcmp(cmd, "call"))
		return cmd_call(&o, argc - i, argv + i);
	if (!strcmp(cmd, "top"))
		return cmd_top(&o, argc - i, argv + i);
	/* lbctl node drain|undrain|status: the node-* methods. */
	if (!strcmp(cmd, "node") && i < argc && argv[i][0] != '-') {
		snprintf(node_cmd, sizeof(node_cmd), "node-%s", argv[i++]);
		cmd = node_cmd;
	} else if (!strcmp(cmd, "node")) {
		if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
			print_node_help(stdout);
			return EXIT_OK;
		}
		fprintf(stderr, "lbctl: node: expected a COMMAND: drain, undrain or status\n");
		print_node_help(stderr);
		return EXIT_USAGE;
	}
	m = lb_method_find(cmd);
	if (!m)
		return unknown_command(cmd);
	return cmd_method(&o, m, argc - i, argv + i);
}
