// SPDX-License-Identifier: MIT
/*
 * cli_parse.c - a subcommand's arguments -> the method's params object, driven by its
 * lb_cli_spec. Values are checked here with the same parsers lbd uses, so a mistyped target
 * is a usage error before anything is sent.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_spec.h"
#include "lb_addr.h"

#define MAX_ARGS 32 /* arguments of one spec */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* How @a is named in messages: "--port", "TARGET", or "STATUS" for a positional choice. */
static const char *arg_name(const struct lb_cli_arg *a, char *buf, size_t len)
{
	const char *p;
	size_t i = 0;

	if (a->option) {
		snprintf(buf, len, "--%s", a->option);
	} else if (a->vtype == LB_CV_CHOICE) {
		p = strrchr(a->path, '.') ? strrchr(a->path, '.') + 1 : a->path;
		for (; p[i] && i + 1 < len; i++)
			buf[i] = (char)toupper((unsigned char)p[i]);
		buf[i] = '\0';
	} else {
		snprintf(buf, len, "%s", a->metavar);
	}
	return buf;
}

static bool choice_ok(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices, *bar;

	for (;;) {
		bar = strchr(p, '|');
		if ((bar ? (size_t)(bar - p) : strlen(p)) == n && !strncmp(p, s, n))
			return true;
		if (!bar)
			return false;
		p = bar + 1;
	}
}

static int parse_int(const char *s, json_int_t *out)
{
	json_int_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int lb_cli_parse_duration(const char *s, json_int_t *ms)
{
	static const struct {
		const char *unit;
		json_int_t ms;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}};
	json_int_t whole = 0, frac = 0, scale = 1, v;
	const char *p = s;
	size_t i;

	if (*p < '0' || *p > '9')
		return -EINVAL; /* no sign, no blank, no ".5" */
	for (; *p >= '0' && *p <= '9'; p++)
		if (whole <= LB_CLI_DURATION_MAX_MS) /* beyond that it is out of range anyway */
			whole = whole * 10 + (*p - '0');
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale < 1000000) { /* finer than a microsecond of an hour is noise */
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(p, units[i].unit))
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		return -EINVAL;
	v = whole * units[i].ms + (frac * units[i].ms + scale / 2) / scale;
	if (v < LB_CLI_DURATION_MIN_MS || v > LB_CLI_DURATION_MAX_MS)
		return -ERANGE;
	*ms = v;
	return 0;
}

static int check_iface(const char *s, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX];

	if (!*s || strlen(s) >= IF_NAMESIZE || strpbrk(s, "/ \t\n:") || !strcmp(s, ".") ||
	    !strcmp(s, ".."))
		return fail(
			err, errlen,
			"%s is not an interface name (1 to %d characters, no '/', ':' or blanks)",
			lb_quote(s, q), IF_NAMESIZE - 1);
	return 0;
}

/* {"ip","port"[,"weight"]} of an "ip:port[@weight]" the user wrote. */
static json_t *target_json(const char *s, char *err, size_t errlen)
{
	struct lb_target_cfg t;
	char ip[LB_ADDR_STR_MAX];
	int has_weight;
	json_t *o;

	if (lb_parse_target(s, &t, &has_weight, err, errlen))
		return NULL;
	o = json_pack("{s:s, s:i}", "ip", lb_format_ip(&t.addr, ip), "port", (int)t.port);
	if (o && has_weight)
		json_object_set_new(o, "weight", json_integer(t.weight));
	if (!o)
		fail(err, errlen, "out of memory");
	return o;
}

/* Check @s as @a's value and convert it; NULL with @err on a bad value. */
static json_t *convert(const struct lb_cli_arg *a, const char *s, char *err, size_t errlen)
{
	char why[LB_CLI_ERR_MAX], name[64], q[LB_QUOTE_MAX];
	struct lb_target_cfg t;
	json_int_t n;
	struct lb_ip addr;
	uint16_t port;
	uint8_t plen;
	int has_weight, r = 0;
	json_t *v;

	arg_name(a, name, sizeof(name));
	switch (a->vtype) {
	case LB_CV_STRING:
		if (!*s)
			r = fail(why, sizeof(why), "must not be empty");
		break;
	case LB_CV_IFACE:
		r = check_iface(s, why, sizeof(why));
		break;
	case LB_CV_INT:
		r = parse_int(s, &n);
		if (r)
			fail(why, sizeof(why), "%s is not a number from 0 to %d", lb_quote(s, q),
			     INT32_MAX);
		else
			return json_integer(n);
		break;
	case LB_CV_PORT:
		r = lb_parse_port(s, &port, why, sizeof(why));
		if (!r)
			return json_integer(port);
		break;
	case LB_CV_IP:
		r = lb_parse_ip(s, &addr, why, sizeof(why));
		break;
	case LB_CV_CIDR:
		r = lb_parse_cidr(s, &addr, &plen, why, sizeof(why));
		break;
	case LB_CV_ENDPOINT:
		r = lb_parse_target(s, &t, &has_weight, why, sizeof(why));
		if (!r && has_weight)
			r = fail(why, sizeof(why), "%s: expected ip:port here, without @weight",
				 lb_quote(s, q));
		break;
	case LB_CV_CLIENT:
		r = lb_parse_client(s, &addr, &port, why, sizeof(why));
		break;
	case LB_CV_TARGET:
		v = target_json(s, why, sizeof(why));
		if (v)
			return v;
		r = -EINVAL;
		break;
	case LB_CV_DURATION:
		r = lb_cli_parse_duration(s, &n);
		if (!r)
			return json_integer(n);
		if (r == -ERANGE)
			fail(why, sizeof(why), "%s is out of range (1ms to 24h)", lb_quote(s, q));
		else
			fail(why, sizeof(why),
			     "%s is not a duration: a number with ms, s, m or h (no unit: seconds)",
			     lb_quote(s, q));
		break;
	case LB_CV_CHOICE:
		if (!choice_ok(a->metavar, s))
			r = fail(why, sizeof(why), "%s is not one of %s", lb_quote(s, q),
				 a->metavar);
		break;
	}
	if (r) {
		fail(err, errlen, "%s: %s", name, why);
		return NULL;
	}
	return json_string(s);
}

/*
 * The JSON value at dotted @path under @root, created as an empty object (intermediate
 * levels) or an empty array (@leaf_array) when missing. NULL when something else is there.
 */
static json_t *path_get(json_t *root, const char *path, bool leaf_array)
{
	char key[128];
	const char *dot;
	json_t *cur = root, *next;

	for (;;) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) : (int)strlen(path),
			 path);
		next = json_object_get(cur, key);
		if (!next) {
			next = !dot && leaf_array ? json_array() : json_object();
			if (json_object_set_new(cur, key, next))
				return NULL;
		}
		if (!dot)
			return next;
		if (!json_is_object(next))
			return NULL;
		cur = next;
		path = dot + 1;
	}
}

/* Store @v (stolen) at @a's path: appended for array kinds, set otherwise. */
static int store(json_t *params, const struct lb_cli_arg *a, json_t *v)
{
	const char *dot = strrchr(a->path, '.');
	char parent[128];
	json_t *at;

	if (a->kind == LB_CLI_POS_REST || a->kind == LB_CLI_OPT_REPEAT) {
		at = path_get(params, a->path, true);
		return at && json_is_array(at) ? json_array_append_new(at, v) : -EINVAL;
	}
	if (!dot)
		return json_object_set_new(params, a->path, v);
	snprintf(parent, sizeof(parent), "%.*s", (int)(dot - a->path), a->path);
	at = path_get(params, parent, false);
	return at && json_is_object(at) ? json_object_set_new(at, dot + 1, v) : -EINVAL;
}

/* Does --file of @m hold an array (a parameter of type LB_PT_OBJECTS), not an object? */
static bool file_is_array(const struct lb_method *m)
{
	const struct lb_param *p;

	for (p = lb_method_params(m); p->name; p++)
		if (!strcmp(p->name, lb_cli_spec_of(m)->file_param))
			return p->type == LB_PT_OBJECTS;
	return false;
}

static int load_file(const char *path, bool array, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	if (!strcmp(path, "-"))
		v = json_loadf(stdin, 0, &jerr);
	else
		v = json_load_file(path, 0, &jerr);
	if (!v)
		return fail(err, errlen, "--file %s: %s (line %d, column %d)", path, jerr.text,
			    jerr.line, jerr.column);
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		json_decref(v);
		return fail(err, errlen, "--file %s: expected a JSON %s", path,
			    array ? "array" : "object");
	}
	if (!array && json_object_get(v, "proxies")) {
		json_decref(v);
		return fail(err, errlen,
			    "--file %s: this is a whole configuration; give one element of its "
			    "\"proxies\" array (or use lbctl reload)",
			    path);
	}
	*out = v;
	return 0;
}

static const struct lb_cli_arg *find_option(const struct lb_cli_arg *args, const char *name,
					    size_t namelen)
{
	const struct lb_cli_arg *a;

	for (a = args; a->path; a++)
		if (a->option && strlen(a->option) == namelen && !strncmp(a->option, name, namelen))
			return a;
	return NULL;
}

/* One value given on the command line, before it is checked. */
struct given {
	const struct lb_cli_arg *arg; /* NULL: a positional, not yet assigned */
	const char *text;
};

struct parse_state {
	const struct lb_cli_spec *spec;
	json_t *params;
	unsigned int seen[MAX_ARGS]; /* values given per argument */
	const char *file;
	struct given given[256];
	int ngiven;
};

static int add_given(struct parse_state *st, const struct lb_cli_arg *a, const char *text,
		     char *err, size_t errlen)
{
	if (st->ngiven == (int)(sizeof(st->given) / sizeof(st->given[0])))
		return fail(err, errlen, "too many arguments");
	st->given[st->ngiven++] = (struct given){a, text};
	if (a)
		st->seen[a - st->spec->args]++;
	return 0;
}

/* argv[*i] starts with '-': one of the command's options, or handed to @extra. */
static int parse_option(struct parse_state *st, int argc, char **argv, int *i,
			lb_cli_extra_opt_fn extra, void *extra_arg, char *err, size_t errlen)
{
	const char *opt = argv[*i], *name = opt + 2, *eq = strchr(opt, '='), *val;
	size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
	const struct lb_cli_arg *a = NULL;
	char q[LB_QUOTE_MAX];
	int r;

	if (opt[1] == '-')
		a = find_option(st->spec->args, name, namelen);
	if (!a && opt[1] == '-' && st->spec->file_param && namelen == 4 &&
	    !strncmp(name, "file", 4)) {
		val = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		if (!val || !*val)
			return fail(err, errlen, "--file needs a FILE");
		if (st->file)
			return fail(err, errlen, "--file given twice");
		st->file = val;
		return 0;
	}
	if (!a) {
		r = extra ? extra(extra_arg, argc, argv, i, err, errlen) : 0;
		if (r < 0)
			return r;
		if (r == 0)
			return fail(err, errlen, "unknown option %s", lb_quote(opt, q));
		return 0;
	}
	if (a->kind == LB_CLI_FLAG) {
		if (eq)
			return fail(err, errlen, "--%s takes no value", a->option);
		return add_given(st, a, NULL, err, errlen);
	}
	val = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!val)
		return fail(err, errlen, "--%s needs a value (%s)", a->option, a->metavar);
	if (a->kind == LB_CLI_OPT && st->seen[a - st->spec->args])
		return fail(err, errlen, "--%s given twice", a->option);
	return add_given(st, a, val, err, errlen);
}

/* The positionals, in order, go to the spec's positional arguments, in order. */
static int assign_positionals(struct parse_state *st, char *err, size_t errlen)
{
	const struct lb_cli_arg *a = st->spec->args;
	char q[LB_QUOTE_MAX];
	int g;

	for (g = 0; g < st->ngiven; g++) {
		if (st->given[g].arg)
			continue;
		while (a->path &&
		       (a->option || (a->kind == LB_CLI_POS && st->seen[a - st->spec->args])))
			a++;
		if (!a->path)
			return fail(err, errlen, "unexpected argument %s",
				    lb_quote(st->given[g].text, q));
		st->given[g].arg = a;
		st->seen[a - st->spec->args]++;
	}
	return 0;
}

/* Convert and store every value, argument by argument in the spec's order. */
static int store_all(struct parse_state *st, char *err, size_t errlen)
{
	const struct lb_cli_arg *a;
	json_t *v;
	int g;

	for (a = st->spec->args; a->path; a++) {
		for (g = 0; g < st->ngiven; g++) {
			if (st->given[g].arg != a)
				continue;
			v = a->kind == LB_CLI_FLAG ? json_true()
						   : convert(a, st->given[g].text, err, errlen);
			if (!v)
				return -EINVAL;
			if (store(st->params, a, v))
				return fail(err, errlen, "out of memory");
		}
	}
	return 0;
}

static int check_required(const struct parse_state *st, const struct lb_method *m, char *err,
			  size_t errlen)
{
	const struct lb_cli_arg *a;
	char name[64];

	for (a = st->spec->args; a->path; a++) {
		if (!a->required || st->seen[a - st->spec->args] ||
		    (st->file && lb_cli_arg_in_file(st->spec, a)))
			continue;
		if (a->option)
			return fail(err, errlen, "missing --%s %s", a->option, a->metavar);
		if (a->vtype == LB_CV_CHOICE)
			return fail(err, errlen, "missing %s (%s)", arg_name(a, name, sizeof(name)),
				    a->metavar);
		return fail(err, errlen, "missing %s%s", a->metavar,
			    a->kind == LB_CLI_POS_REST ? " (at least one)" : "");
	}
	if (!st->file && lb_cli_file_required(m))
		return fail(err, errlen, "missing --file FILE (the %s)", st->spec->file_param);
	return 0;
}

/* Was an argument that fills a part of the file's parameter given besides --file? */
static bool given_in_file(const struct parse_state *st)
{
	int g;

	for (g = 0; g < st->ngiven; g++)
		if (lb_cli_arg_in_file(st->spec, st->given[g].arg))
			return true;
	return false;
}

int lb_cli_build_params(const struct lb_method *m, int argc, char **argv, json_t **params,
			lb_cli_extra_opt_fn extra, void *extra_arg, char *err, size_t errlen)
{
	struct parse_state st = {.spec = lb_cli_spec_of(m)};
	bool options_done = false;
	json_t *file_value = NULL;
	int i, r = 0;

	err[0] = '\0';
	st.params = json_object();
	if (!st.params)
		return fail(err, errlen, "out of memory");
	for (i = 0; i < argc && !r; i++) {
		if (!options_done && !strcmp(argv[i], "--")) {
			options_done = true;
		} else if (!options_done && argv[i][0] == '-' && argv[i][1]) {
			r = parse_option(&st, argc, argv, &i, extra, extra_arg, err, errlen);
		} else {
			r = add_given(&st, NULL, argv[i], err, errlen);
		}
	}
	if (!r)
		r = assign_positionals(&st, err, errlen);
	if (!r && st.file && given_in_file(&st))
		r = fail(err, errlen, "--file replaces every other argument of %s", m->name);
	if (!r)
		r = store_all(&st, err, errlen);
	if (!r)
		r = check_required(&st, m, err, errlen);
	if (!r && st.file)
		r = load_file(st.file, file_is_array(m), &file_value, err, errlen);
	if (!r && file_value && json_object_set_new(st.params, st.spec->file_param, file_value))
		r = fail(err, errlen, "out of memory");
	else if (r)
		json_decref(file_value);
	if (r) {
		json_decref(st.params);
		return r;
	}
	*params = st.params;
	return 0;
}
