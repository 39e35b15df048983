// SPDX-License-Identifier: MIT
/*
 * cli_help.c - usage lines, per-command help and the completion lists, all derived from the
 * method table and the CLI specs, so they cannot disagree with what the parser accepts.
 */
#include <ctype.h>
#include <string.h>

#include "cli_spec.h"

#define WRAP_COLUMNS 79
#define HELP_COLUMN  24 /* where the description of an argument starts */

/* Words appended to a line that wraps at WRAP_COLUMNS, continuing at column @indent. */
struct wrap {
	FILE *out;
	int col, indent;
};

static void wrap_word(struct wrap *w, const char *word, int len)
{
	if (w->col > w->indent && w->col + 1 + len > WRAP_COLUMNS) {
		fprintf(w->out, "\n%*s", w->indent, "");
		w->col = w->indent;
	} else if (w->col != w->indent) {
		fputc(' ', w->out);
		w->col++;
	}
	fprintf(w->out, "%.*s", len, word);
	w->col += len;
}

/* Every blank-separated word of @text. */
static void wrap_text(struct wrap *w, const char *text)
{
	const char *p = text, *end;

	for (;;) {
		p += strspn(p, " ");
		if (!*p)
			return;
		end = p + strcspn(p, " ");
		wrap_word(w, p, (int)(end - p));
		p = end;
	}
}

/* The synopsis token of @a: "PROXY", "[--source CIDR]", "TARGET...", ... */
static void synopsis_token(const struct lb_cli_arg *a, char *buf, size_t len)
{
	const char *o = a->required ? "" : "[", *c = a->required ? "" : "]";

	switch (a->kind) {
	case LB_CLI_POS:
		snprintf(buf, len, "%s%s%s", o, a->metavar, c);
		break;
	case LB_CLI_POS_REST:
		snprintf(buf, len, "%s%s...%s", o, a->metavar, c);
		break;
	case LB_CLI_OPT:
		snprintf(buf, len, "%s--%s %s%s", o, a->option, a->metavar, c);
		break;
	case LB_CLI_OPT_REPEAT:
		if (a->required)
			snprintf(buf, len, "--%s %s [--%s %s...]", a->option, a->metavar, a->option,
				 a->metavar);
		else
			snprintf(buf, len, "[--%s %s...]", a->option, a->metavar);
		break;
	case LB_CLI_FLAG:
		snprintf(buf, len, "[--%s]", a->option);
		break;
	}
}

/* A synopsis token never splits: blanks inside it are written as they are. */
static void usage_line(FILE *out, const char *lead, const struct lb_method *m, bool file_form)
{
	const struct lb_cli_spec *spec = lb_cli_spec_of(m);
	struct wrap w = {out, 0, 0};
	const struct lb_cli_arg *a;
	char tok[160];

	w.col = fprintf(out, "%slbctl %s", lead, m->name);
	w.indent = w.col + 1;
	for (a = spec->args; a->path; a++) {
		if (file_form && lb_cli_arg_in_file(spec, a))
			continue;
		synopsis_token(a, tok, sizeof(tok));
		wrap_word(&w, tok, (int)strlen(tok));
	}
	if (file_form)
		wrap_word(&w, "--file FILE", 11);
	fputc('\n', out);
}

void lb_cli_print_usage(FILE *out, const struct lb_method *m)
{
	bool file_only = lb_cli_file_required(m);

	if (!file_only)
		usage_line(out, "usage: ", m, false);
	if (lb_cli_spec_of(m)->file_param)
		usage_line(out, file_only ? "usage: " : "       ", m, true);
}

/* What a value of @vt looks like, for the help text; NULL when the metavar says it. */
static const char *vtype_hint(enum lb_cli_vtype vt)
{
	switch (vt) {
	case LB_CV_PORT:
		return "1-65535";
	case LB_CV_CIDR:
		return "written addr/len (a.b.c.d/24, 2001:db8::/64), or an address alone for one "
		       "host";
	case LB_CV_TARGET:
		return "written ip:port or ip:port@weight with weight 0-100; an IPv6 address in "
		       "brackets: [2001:db8::1]:8080@30";
	case LB_CV_DURATION:
		return "a number with ms, s, m or h, such as 60s or 2m; no unit means seconds; "
		       "1ms to 24h";
	default:
		return NULL;
	}
}

/* "  NAME    description that wraps, aligned" */
static void help_entry(FILE *out, const char *name, const char *help, const char *hint)
{
	struct wrap w = {out, 0, HELP_COLUMN};
	char h[512];

	w.col = fprintf(out, "  %s", name);
	if (w.col >= HELP_COLUMN - 1) {
		fprintf(out, "\n%*s", HELP_COLUMN, "");
	} else {
		fprintf(out, "%*s", HELP_COLUMN - w.col, "");
	}
	w.col = HELP_COLUMN;
	if (hint && *help && help[strlen(help) - 1] == ')')
		snprintf(h, sizeof(h), "%s; %s", help, hint);
	else if (hint)
		snprintf(h, sizeof(h), "%s (%s)", help, hint);
	else
		snprintf(h, sizeof(h), "%s", help);
	wrap_text(&w, h);
	fputc('\n', out);
}

void lb_cli_print_help(FILE *out, const struct lb_method *m)
{
	const struct lb_cli_spec *spec = lb_cli_spec_of(m);
	const struct lb_cli_arg *a;
	const char *const *ex;
	bool any = false;
	char name[160];

	lb_cli_print_usage(out, m);
	fprintf(out, "\n%c%s%s.\n", toupper((unsigned char)m->summary[0]), m->summary + 1,
		m->mutates ? "" : " (read-only)");
	for (a = spec->args; a->path; a++) {
		if (a->option)
			continue;
		if (!any)
			fprintf(out, "\narguments:\n");
		any = true;
		snprintf(name, sizeof(name), "%s%s", a->metavar,
			 a->kind == LB_CLI_POS_REST ? "..." : "");
		help_entry(out, name, lb_cli_arg_help(m, a), vtype_hint(a->vtype));
	}
	fprintf(out, "\noptions:\n");
	for (a = spec->args; a->path; a++) {
		if (!a->option)
			continue;
		if (a->kind == LB_CLI_FLAG)
			snprintf(name, sizeof(name), "--%s", a->option);
		else
			snprintf(name, sizeof(name), "--%s %s", a->option, a->metavar);
		help_entry(out, name, lb_cli_arg_help(m, a), vtype_hint(a->vtype));
	}
	if (spec->file_param)
		help_entry(out, "--file FILE", spec->file_help, NULL);
	help_entry(out, "-h, --help", "show this help", NULL);
	fprintf(out, "\nexample%s:\n", spec->examples[0] && spec->examples[1] ? "s" : "");
	for (ex = spec->examples; *ex; ex++)
		fprintf(out, "  %s\n", *ex);
}

void lb_cli_print_options(FILE *out, const struct lb_method *m)
{
	const struct lb_cli_spec *spec = lb_cli_spec_of(m);
	const struct lb_cli_arg *a;

	for (a = spec->args; a->path; a++) {
		if (a->kind == LB_CLI_FLAG)
			fprintf(out, "--%s\n", a->option);
		else if (a->option)
			fprintf(out, "--%s %s\n", a->option, a->metavar);
	}
	if (spec->file_param)
		fprintf(out, "--file FILE\n");
	fprintf(out, "--help\n");
}

void lb_cli_print_positionals(FILE *out, const struct lb_method *m)
{
	const struct lb_cli_arg *a;

	for (a = lb_cli_spec_of(m)->args; a->path; a++)
		if (!a->option)
			fprintf(out, "%s%s\n", a->metavar, a->kind == LB_CLI_POS_REST ? "..." : "");
}
