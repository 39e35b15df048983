// SPDX-License-Identifier: MIT
/* JSON-RPC message construction and newline framing (see lb_rpc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb_rpc.h"

json_t *lb_rpc_result(json_t *id, json_t *result)
{
	return json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", id, "result",
			 result ? result : json_null());
}

json_t *lb_rpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *err = json_pack("{s:i, s:s}", "code", code, "message", message);

	if (err && data)
		json_object_set_new(err, "data", data);
	else if (data)
		json_decref(data);
	return json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
			 err);
}

json_t *lb_rpc_notification(const char *method, json_t *params)
{
	return json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
			 params ? params : json_object());
}

char *lb_rpc_dump_line(const json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)), *line;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return line;
}

void lb_linebuf_init(struct lb_linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void lb_linebuf_release(struct lb_linebuf *lb)
{
	free(lb->buf);
	lb_linebuf_init(lb, lb->max);
}

int lb_linebuf_feed(struct lb_linebuf *lb, const char *data, size_t len)
{
	/* Lines handed out are dropped here, once per read, not once per line. */
	if (lb->start) {
		memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
		lb->len -= lb->start;
		lb->start = 0;
	}
	if (lb->len + len + 1 > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;
		char *grown;

		while (cap < lb->len + len + 1)
			cap *= 2;
		grown = realloc(lb->buf, cap);
		if (!grown)
			return -ENOMEM;
		lb->buf = grown;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, len);
	lb->len += len;
	return 0;
}

/*
 * Drop @n buffered bytes: an offset moves, nothing is copied (a read full of short lines
 * would otherwise move the rest of the buffer once per line: quadratic).
 */
static void consume(struct lb_linebuf *lb, size_t n)
{
	lb->start += n;
	if (lb->start == lb->len)
		lb->start = lb->len = 0;
}

int lb_linebuf_next(struct lb_linebuf *lb, const char **line, size_t *len)
{
	char *nl;

	if (!lb->buf) /* nothing fed yet: NULL + 0 below would be undefined */
		return 0;
	if (lb->pending_len) {
		consume(lb, lb->pending_len);
		lb->pending_len = 0;
	}
	for (;;) {
		char *head = lb->buf + lb->start;
		size_t have = lb->len - lb->start;

		nl = have ? memchr(head, '\n', have) : NULL;
		if (lb->discarding) {
			if (!nl) {
				/* keep discarding: nothing of it is kept in memory */
				lb->start = lb->len = 0;
				return 0;
			}
			consume(lb, nl - head + 1);
			lb->discarding = false;
			continue;
		}
		if (!nl) {
			if (have > lb->max) {
				lb->start = lb->len = 0;
				lb->discarding = true;
				return -E2BIG;
			}
			return 0;
		}
		if ((size_t)(nl - head) > lb->max) {
			consume(lb, nl - head + 1);
			return -E2BIG;
		}
		*nl = '\0';
		*line = head;
		*len = nl - head;
		lb->pending_len = *len + 1;
		return 1;
	}
}
