// SPDX-License-Identifier: MIT
/* format.c - the generic human layout of JSON results and the table printer (see format.h). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "lb_rpc.h"

#define MAX_COLUMNS 64

struct lb_table {
	size_t ncols, nrows, cap;
	char **headers;
	char **cells; /* nrows * ncols */
};

/* Display width of UTF-8 text: continuation bytes take no column. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

struct lb_table *lb_table_new(const char *const *headers, size_t ncols)
{
	struct lb_table *t = calloc(1, sizeof(*t));
	size_t i;

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(char *));
	if (!t->headers)
		goto fail;
	for (i = 0; i < ncols; i++) {
		t->headers[i] = strdup(headers[i]);
		if (!t->headers[i])
			goto fail;
	}
	return t;
fail:
	lb_table_free(t);
	return NULL;
}

void lb_table_free(struct lb_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->headers && i < t->ncols; i++)
		free(t->headers[i]);
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->cells);
	free(t);
}

size_t lb_table_rows(const struct lb_table *t)
{
	return t->nrows;
}

/* Room for one more row; the new row's cells are NULL. */
static char **table_row(struct lb_table *t)
{
	char **grown;
	size_t cap;

	if (t->nrows == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		grown = realloc(t->cells, cap * t->ncols * sizeof(char *));
		if (!grown)
			return NULL;
		t->cells = grown;
		t->cap = cap;
	}
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof(char *));
	return t->cells + t->nrows++ * t->ncols;
}

int lb_table_add(struct lb_table *t, const char *const *cells)
{
	char **row = table_row(t);
	size_t i;

	if (!row)
		return -ENOMEM;
	for (i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "-");
		if (!row[i])
			return -ENOMEM;
	}
	return 0;
}

int lb_table_add_json(struct lb_table *t, const json_t *const *values)
{
	char **row = table_row(t);
	size_t i;

	if (!row)
		return -ENOMEM;
	for (i = 0; i < t->ncols; i++) {
		row[i] = lb_format_inline(values[i]);
		if (!row[i])
			return -ENOMEM;
	}
	return 0;
}

static void print_row(FILE *out, char *const *cells, const size_t *width, size_t ncols, int indent)
{
	size_t i, last = ncols;

	while (last > 1 && !*cells[last - 1])
		last--; /* no trailing blanks before empty cells */
	fprintf(out, "%*s", indent, "");
	for (i = 0; i < last; i++) {
		fputs(cells[i], out);
		if (i + 1 < last)
			fprintf(out, "%*s", (int)(width[i] - text_width(cells[i]) + 2), "");
	}
	fputc('\n', out);
}

void lb_table_print(FILE *out, const struct lb_table *t, int indent)
{
	size_t width[MAX_COLUMNS] = {0}, i, r, w;

	for (i = 0; i < t->ncols && i < MAX_COLUMNS; i++) {
		width[i] = text_width(t->headers[i]);
		for (r = 0; r < t->nrows; r++) {
			w = text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	}
	print_row(out, t->headers, width, t->ncols, indent);
	for (r = 0; r < t->nrows; r++)
		print_row(out, t->cells + r * t->ncols, width, t->ncols, indent);
}

const char *lb_format_target_obj(const json_t *v, char *buf, size_t len)
{
	const json_t *ip = json_object_get(v, "ip"), *port = json_object_get(v, "port");
	const json_t *weight = json_object_get(v, "weight");
	const char *a;
	bool v6;
	int n;

	if (!json_is_string(ip) || !json_is_integer(port))
		return NULL;
	a = json_string_value(ip);
	v6 = strchr(a, ':') != NULL; /* [2001:db8::1]:8080, as every target is written */
	n = snprintf(buf, len, "%s%s%s:%" JSON_INTEGER_FORMAT, v6 ? "[" : "", a, v6 ? "]" : "",
		     json_integer_value(port));
	if (json_is_integer(weight) && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "@%" JSON_INTEGER_FORMAT,
			 json_integer_value(weight));
	return buf;
}

const char *lb_format_duration(json_int_t sec, char *buf, size_t len)
{
	if (sec < 60)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "s", sec);
	else if (sec < 3600)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "m%02ds", sec / 60, (int)(sec % 60));
	else if (sec < 86400)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "h%02dm", sec / 3600,
			 (int)(sec % 3600 / 60));
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "d%02dh", sec / 86400,
			 (int)(sec % 86400 / 3600));
	return buf;
}

const char *lb_format_ms(json_int_t ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 120 * 1000)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT ".%ds", ms / 1000,
			 (int)(ms % 1000 / 100));
	else
		lb_format_duration(ms / 1000, buf, len);
	return buf;
}

static bool is_target(const json_t *v)
{
	char buf[64];

	return json_is_object(v) && lb_format_target_obj(v, buf, sizeof(buf));
}

/* A non-empty array whose elements all satisfy @pred. */
static bool array_all(const json_t *v, bool (*pred)(const json_t *))
{
	const json_t *e;
	size_t i;

	if (!json_is_array(v) || !json_array_size(v))
		return false;
	json_array_foreach (v, i, e)
		if (!pred(e))
			return false;
	return true;
}

static bool is_record(const json_t *v)
{
	return json_is_object(v) && !is_target(v);
}

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* An array of objects that are not targets: shown as a table. */
static bool is_record_array(const json_t *v)
{
	return array_all(v, is_record);
}

/* {"web": {...}, "api": {...}}: shown as a table with a NAME column. */
static bool is_record_map(const json_t *v)
{
	const json_t *e;
	const char *k;

	if (!json_is_object(v) || !json_object_size(v) || is_target(v))
		return false;
	json_object_foreach ((json_t *)v, k, e)
		if (!is_record(e))
			return false;
	return true;
}

static void put_scalar(FILE *f, const json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f, "%g", json_real_value(v));
	else if (json_is_true(v))
		fputs("yes", f);
	else if (json_is_false(v))
		fputs("no", f);
	else
		fputs("-", f);
}

char *lb_format_inline(const json_t *v)
{
	char *s = NULL, tbuf[64], *j;
	const json_t *e;
	size_t len, i;
	FILE *f;

	f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	if (is_scalar(v) || !v) {
		put_scalar(f, v);
	} else if (is_target(v)) {
		fputs(lb_format_target_obj(v, tbuf, sizeof(tbuf)), f);
	} else if (!json_is_array(v) ? !json_object_size(v) : !json_array_size(v)) {
		fputs("-", f);
	} else if (array_all(v, is_target) || array_all(v, is_scalar)) {
		json_array_foreach (v, i, e) {
			if (i)
				fputs(is_target(e) ? " " : ", ", f);
			if (is_target(e))
				fputs(lb_format_target_obj(e, tbuf, sizeof(tbuf)), f);
			else
				put_scalar(f, e);
		}
	} else {
		j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fputs(j ? j : "?", f);
		free(j);
	}
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Column keys of a list of records: every key, in order of first appearance. */
static size_t record_keys(const json_t *const *recs, size_t n, const char **keys, size_t max)
{
	size_t nkeys = 0, r, i;
	const json_t *v;
	const char *k;

	for (r = 0; r < n; r++) {
		json_object_foreach ((json_t *)recs[r], k, v) {
			for (i = 0; i < nkeys && strcmp(keys[i], k); i++)
				;
			if (i == nkeys && nkeys < max)
				keys[nkeys++] = k;
		}
	}
	return nkeys;
}

/* A table of @n records; with @names, a first NAME column holds names[r]. */
static void print_records(FILE *out, const json_t *const *recs, const char *const *names, size_t n,
			  int indent)
{
	const char *keys[MAX_COLUMNS - 1], *headers[MAX_COLUMNS] = {NULL};
	const json_t *row[MAX_COLUMNS];
	char upper[MAX_COLUMNS][64];
	size_t nkeys, ncols, i, r, c;
	struct lb_table *t;
	json_t *name;

	nkeys = record_keys(recs, n, keys, MAX_COLUMNS - 1);
	ncols = 0;
	if (names)
		headers[ncols++] = "NAME";
	for (i = 0; i < nkeys; i++, ncols++) {
		for (c = 0; keys[i][c] && c < sizeof(upper[0]) - 1; c++)
			upper[i][c] = (char)toupper((unsigned char)keys[i][c]);
		upper[i][c] = '\0';
		headers[ncols] = upper[i];
	}
	t = lb_table_new(headers, ncols);
	for (r = 0; t && r < n; r++) {
		c = 0;
		name = names ? json_string(names[r]) : NULL;
		if (names)
			row[c++] = name;
		for (i = 0; i < nkeys; i++)
			row[c++] = json_object_get(recs[r], keys[i]);
		lb_table_add_json(t, row);
		json_decref(name);
	}
	if (t)
		lb_table_print(out, t, indent);
	lb_table_free(t);
}

static void print_record_array(FILE *out, const json_t *arr, int indent)
{
	size_t n = json_array_size(arr), i;
	const json_t **recs = calloc(n ? n : 1, sizeof(*recs));

	if (!recs)
		return;
	for (i = 0; i < n; i++)
		recs[i] = json_array_get(arr, i);
	print_records(out, recs, NULL, n, indent);
	free(recs);
}

static void print_record_map(FILE *out, const json_t *map, int indent)
{
	size_t n = json_object_size(map), i = 0;
	const json_t **recs = calloc(n, sizeof(*recs));
	const char **names = calloc(n, sizeof(*names));
	const json_t *v;
	const char *k;

	if (recs && names) {
		json_object_foreach ((json_t *)map, k, v) {
			names[i] = k;
			recs[i++] = v;
		}
		print_records(out, recs, names, n, indent);
	}
	free(recs);
	free(names);
}

static bool skipped(const char *key, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (!strcmp(*skip, key))
			return true;
	return false;
}

int lb_format_kv(FILE *out, const json_t *obj, int indent, const char *const *skip)
{
	size_t width = 0;
	const json_t *v;
	const char *k;
	int printed = 0;
	char *s;

	json_object_foreach ((json_t *)obj, k, v)
		if (!skipped(k, skip) && text_width(k) > width)
			width = text_width(k);
	json_object_foreach ((json_t *)obj, k, v) {
		if (skipped(k, skip))
			continue;
		printed++;
		if (is_record_array(v) || is_record_map(v) ||
		    (is_record(v) && json_object_size(v))) {
			fprintf(out, "%*s%s:\n", indent, "", k);
			if (is_record_array(v))
				print_record_array(out, v, indent + 2);
			else if (is_record_map(v))
				print_record_map(out, v, indent + 2);
			else
				lb_format_kv(out, v, indent + 2, NULL);
			continue;
		}
		s = lb_format_inline(v);
		fprintf(out, "%*s%s:%*s%s\n", indent, "", k, (int)(width - text_width(k) + 1), "",
			s ? s : "?");
		free(s);
	}
	return printed;
}

void lb_format_generic(FILE *out, const json_t *v)
{
	const char *key;
	json_t *only;
	char *s;

	if (json_is_object(v) && json_object_size(v) == 1) {
		key = json_object_iter_key(json_object_iter((json_t *)v));
		only = json_object_get(v, key);
		if (json_is_array(only) && !json_array_size(only)) {
			fprintf(out, "no %s\n", key);
			return;
		}
		if (is_record_array(only)) {
			print_record_array(out, only, 0);
			return;
		}
	}
	if (json_is_object(v)) {
		lb_format_kv(out, v, 0, NULL);
	} else if (is_record_array(v)) {
		print_record_array(out, v, 0);
	} else if (v && !json_is_null(v)) {
		s = lb_format_inline(v);
		fprintf(out, "%s\n", s ? s : "?");
		free(s);
	}
}

void lb_format_json_line(FILE *out, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	fprintf(out, "%s\n", s ? s : "null");
	free(s);
}

void lb_format_error(FILE *out, const json_t *error)
{
	const json_t *msg = json_object_get(error, "message"),
		     *data = json_object_get(error, "data");
	const json_t *code = json_object_get(error, "code");

	fprintf(out, "lbctl: %s\n",
		json_is_string(msg) ? json_string_value(msg) : "lbd returned an error");
	if (json_is_object(data))
		lb_format_kv(out, data, 2, NULL);
	else if (data && !json_is_null(data))
		lb_format_kv(out, error, 2, (const char *const[]){"code", "message", NULL});
	/* A method this lbctl knows but lbd does not: lbd is the older of the two. */
	if (json_integer_value(code) == -32601 &&
	    lb_method_find(json_string_value(json_object_get(data, "method")) ?: ""))
		fprintf(out, "  (this lbd does not know the method: is it older than lbctl?)\n");
}
