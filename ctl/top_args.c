// SPDX-License-Identifier: MIT
/* top_args.c - lbctl top's command line: options, help, completion lists (see top.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

void lb_top_opts_init(struct lb_top_opts *o)
{
	*o = (struct lb_top_opts){.interval_ms = 1000};
}

void lb_top_print_usage(FILE *out)
{
	fprintf(out, "usage: lbctl top [PROXY] [--interval SECONDS] [--count N]\n");
}

void lb_top_print_help(FILE *out)
{
	lb_top_print_usage(out);
	fprintf(out,
		"\nWatch the proxies and their targets live: new connections, open connections,\n"
		"packets and bytes in and out, and drops, per second, with each target's health\n"
		"and effective weight. lbctl asks lbd for its stats every interval; a rate is\n"
		"the growth of a counter over the time measured between two samples, so the\n"
		"first frame shows \"-\" for the rates. On a terminal the screen is redrawn;\n"
		"otherwise frames follow one another, a blank line between them. Ctrl-C stops\n"
		"it (exit status 130). A counter that went backwards (its proxy or target was\n"
		"removed and added again) shows \"-\" for one frame, never a negative rate.\n\n"
		"arguments:\n"
		"  PROXY                 only this proxy (default: every proxy)\n\n"
		"options:\n"
		"  --interval SECONDS    time between frames (default 1; fractions such as 0.5,\n"
		"                        and 500ms or 2m, are accepted; 1ms to 24h)\n"
		"  --count N             stop after N frames (default: until interrupted)\n"
		"  --json                one JSON object per frame and line, rates per second,\n"
		"                        null where there is none yet\n"
		"  -h, --help            show this help\n\n"
		"examples:\n"
		"  lbctl top\n"
		"  lbctl top web --interval 0.5\n"
		"  lbctl top --count 10 > incident.log\n"
		"  lbctl --json top web | jq -c '.proxies[0].rates'\n");
}

void lb_top_print_options(FILE *out)
{
	fprintf(out, "--interval SECONDS\n--count N\n--help\n");
}

void lb_top_print_positionals(FILE *out)
{
	fprintf(out, "PROXY\n");
}

/* Is argv's option @a (its name @n bytes long, before any '=') @name? */
static bool is_option(const char *a, size_t n, const char *name)
{
	return n == strlen(name) && !strncmp(a, name, n);
}

/* A whole number 1..LONG_MAX, written without a sign. */
static int parse_count(const char *s, long *count)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1)
		return -EINVAL;
	*count = v;
	return 0;
}

int lb_top_parse_args(int argc, char **argv, struct lb_top_opts *o, lb_cli_extra_opt_fn extra,
		      void *extra_arg, char *err, size_t errlen)
{
	const char *a, *eq, *v;
	bool options_done = false;
	json_int_t ms;
	size_t n;
	int i, r;

	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (!options_done && !strcmp(a, "--")) {
			options_done = true;
			continue;
		}
		if (options_done || a[0] != '-' || !a[1]) {
			if (o->proxy) {
				snprintf(err, errlen,
					 "unexpected argument \"%s\" (top shows one PROXY, or all)",
					 a);
				return -EINVAL;
			}
			if (!*a) {
				snprintf(err, errlen, "PROXY is empty");
				return -EINVAL;
			}
			o->proxy = a;
			continue;
		}
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		v = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
		if (is_option(a, n, "--interval")) {
			if (!v || lb_cli_parse_duration(v, &ms)) {
				snprintf(
					err, errlen,
					"--interval needs SECONDS: a number above 0 such as 1, 0.5 or "
					"500ms (at most 24h)");
				return -EINVAL;
			}
			o->interval_ms = (int)ms;
		} else if (is_option(a, n, "--count")) {
			if (parse_count(v, &o->count)) {
				snprintf(err, errlen, "--count needs N: a whole number, 1 or more");
				return -EINVAL;
			}
		} else {
			r = extra ? extra(extra_arg, argc, argv, &i, err, errlen) : 0;
			if (r < 0)
				return r;
			if (r == 0) {
				snprintf(err, errlen, "unknown option \"%s\"", a);
				return -EINVAL;
			}
			continue;
		}
		if (!eq)
			i++;
	}
	return 0;
}
