/* SPDX-License-Identifier: MIT */
/*
 * cli_spec.h - how each JSON-RPC method is written on lbctl's command line.
 *
 * The method table in proto/ is authoritative for names, summaries and parameter schemas;
 * this file adds, per method, which parameters are positional (and in what order), which are
 * --options, how each value is checked locally and converted to JSON, and an example. The
 * argv -> params conversion, the usage line and the --help text are all derived from it.
 */
#ifndef LB_CLI_SPEC_H
#define LB_CLI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "lb_rpc.h"

#define LB_CLI_ERR_MAX 512

/* Where an argument sits on the command line. */
enum lb_cli_kind {
	LB_CLI_POS,	   /* positional, one value; optional ones come after required ones */
	LB_CLI_POS_REST,   /* the remaining positionals (last), a JSON array */
	LB_CLI_OPT,	   /* --option VALUE, at most once */
	LB_CLI_OPT_REPEAT, /* --option VALUE, repeatable, a JSON array */
	LB_CLI_FLAG,	   /* --option, no value, JSON true */
};

/* How a value is checked before sending and what JSON it becomes. */
enum lb_cli_vtype {
	LB_CV_STRING,	/* any non-empty text -> string */
	LB_CV_IFACE,	/* interface name (1..15 bytes, no '/' or blanks) -> string */
	LB_CV_INT,	/* decimal 0..INT32_MAX -> integer */
	LB_CV_PORT,	/* decimal 1..65535 -> integer */
	LB_CV_IP,	/* a.b.c.d or an IPv6 address -> string */
	LB_CV_CIDR,	/* a.b.c.d/len or a.b.c.d -> string */
	LB_CV_ENDPOINT, /* ip:port -> string */
	LB_CV_TARGET,	/* ip:port or ip:port@weight -> {"ip","port"[,"weight"]} */
	LB_CV_CHOICE,	/* one of the '|'-separated words in the argument's metavar -> string */
	LB_CV_CLIENT,	/* ip, ip:port, ipv6 or [ipv6]:port -> string */
	LB_CV_DURATION, /* 500ms, 60s, 2m, 1h, or a number of seconds -> integer milliseconds */
};

struct lb_cli_arg {
	/*
	 * Where the value goes in params: a top-level parameter of the method's schema
	 * ("proxy"), or a dotted path into an object parameter ("proxy.listen.port").
	 */
	const char *path;
	enum lb_cli_kind kind;
	enum lb_cli_vtype vtype;
	const char *metavar; /* PROXY, TARGET, or for LB_CV_CHOICE the choices "tcp|udp|both" */
	const char *option;  /* long option name without "--" (option kinds only) */
	bool required;
	const char *help; /* NULL: the schema's help of a top-level parameter */
};

struct lb_cli_spec {
	const struct lb_cli_arg *args; /* terminated by an entry whose path is NULL */
	/*
	 * When set, "--file FILE" (FILE may be "-" for stdin) reads JSON into this top-level
	 * parameter instead of building it from the arguments that fill it: an object, or an
	 * array for a parameter of type LB_PT_OBJECTS.
	 */
	const char *file_param;
	const char *file_help;
	const char *const *examples; /* full command lines, NULL-terminated */
};

/* The CLI spec of @m (never NULL: a method without one does not compile). */
const struct lb_cli_spec *lb_cli_spec_of(const struct lb_method *m);

/*
 * Does @a fill a part of the spec's file_param (the parameter itself, or a path inside it)?
 * Those arguments and --file exclude each other; the others may go with --file.
 */
bool lb_cli_arg_in_file(const struct lb_cli_spec *spec, const struct lb_cli_arg *a);

/* Can @m's file_param, a required parameter, be given only with --file? */
bool lb_cli_file_required(const struct lb_method *m);

/* Help text of @a: its own, or the schema's for its parameter; never NULL. */
const char *lb_cli_arg_help(const struct lb_method *m, const struct lb_cli_arg *a);

/*
 * Called for an option the command does not define, so that the caller can accept its
 * global options after the command. argv[*i] is the option; a handler that consumes a
 * value advances *i. Returns 1 when handled, 0 when unknown, -EINVAL (with @err) on error.
 */
typedef int (*lb_cli_extra_opt_fn)(void *arg, int argc, char **argv, int *i, char *err,
				   size_t errlen);

/*
 * Build the params object of @m from the arguments that follow the command name. Every
 * value is checked locally (targets with lb_parse_target, ...). Returns 0 with *params set
 * (an object, possibly empty; caller decrefs) or -EINVAL with a sentence in @err.
 */
int lb_cli_build_params(const struct lb_method *m, int argc, char **argv, json_t **params,
			lb_cli_extra_opt_fn extra, void *extra_arg, char *err, size_t errlen);

/*
 * Parse a duration: a decimal number (with an optional fraction) followed by ms, s, m or
 * h; no unit means seconds ("60", "60s", "1.5m", "500ms"). Rounded to whole milliseconds.
 * Returns 0 with *ms, -EINVAL when @s is not written so, -ERANGE when it is outside
 * LB_CLI_DURATION_MIN_MS..LB_CLI_DURATION_MAX_MS.
 */
#define LB_CLI_DURATION_MIN_MS 1
#define LB_CLI_DURATION_MAX_MS (24 * 3600 * 1000)
int lb_cli_parse_duration(const char *s, json_int_t *ms);

/* Print the usage synopsis ("usage: lbctl NAME ...", one line per form) of @m. */
void lb_cli_print_usage(FILE *out, const struct lb_method *m);

/* Print the full help of @m: usage, summary, arguments, options, examples. */
void lb_cli_print_help(FILE *out, const struct lb_method *m);

/* Print @m's options, one "--name[ METAVAR]" per line (shell completion). */
void lb_cli_print_options(FILE *out, const struct lb_method *m);

/* Print @m's positional metavars in order, "TARGET..." for the rest (shell completion). */
void lb_cli_print_positionals(FILE *out, const struct lb_method *m);

#endif /* LB_CLI_SPEC_H */
