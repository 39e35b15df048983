// SPDX-License-Identifier: MIT
/*
 * fuzz_rpc.c - libFuzzer target for the JSON-RPC framing and request checks of lb_rpc.h,
 * without a daemon.
 *
 * The first two bytes pick the line limit and seed the chunk sizes; the rest is the byte
 * stream a client sends. It goes through lb_linebuf_feed() in chunks, and what
 * lb_linebuf_next() hands out is compared with a simple reference splitter (complete lines
 * up to the limit come out as sent; each longer line is reported once with -E2BIG). Each
 * line is then handled as lbd's RPC server does: parsed as JSON, checked as a request,
 * looked up in the method table, its params checked against the method's schema, and the
 * reply built and serialised.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lb_rpc.h"

static void send_reply(json_t *msg)
{
	size_t len;
	char *line;

	if (!msg)
		return; /* json_pack may refuse e.g. invalid UTF-8 it was given */
	line = lb_rpc_dump_line(msg, &len);
	if (line && (!len || line[len - 1] != '\n' || memchr(line, '\n', len - 1)))
		abort();
	free(line);
	json_decref(msg);
}

/* The request checks of lbd's handle_line() (daemon/rpc_server.c), minus the handlers. */
static void handle_line(const char *line, size_t len)
{
	char field[64], msg[512];
	json_t *req, *id, *method, *params, *version;
	const struct lb_method *m;
	json_error_t jerr;

	if (len == 0 || strspn(line, " \t\r") == len)
		return;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		send_reply(lb_rpc_error(NULL, LB_RPC_PARSE_ERROR, jerr.text, NULL));
		return;
	}
	id = json_object_get(req, "id");
	if (!json_is_object(req) ||
	    (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))) {
		send_reply(lb_rpc_error(NULL, LB_RPC_INVALID_REQUEST, "invalid request", NULL));
		goto out;
	}
	version = json_object_get(req, "jsonrpc");
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") ||
	    !json_is_string(method)) {
		send_reply(lb_rpc_error(id, LB_RPC_INVALID_REQUEST, "invalid request", NULL));
		goto out;
	}
	m = lb_method_find(json_string_value(method));
	if (!m) {
		send_reply(lb_rpc_error(id, LB_RPC_METHOD_NOT_FOUND, "method not found",
					json_pack("{s:O}", "method", method)));
		goto out;
	}
	if (m != &lb_methods[m->id] || strcmp(m->name, json_string_value(method)) ||
	    !lb_method_params(m))
		abort();
	if (params && json_is_null(params))
		params = NULL;
	field[0] = msg[0] = '\0';
	if (lb_params_check(m, params, field, sizeof(field), msg, sizeof(msg))) {
		if (!msg[0] || strnlen(field, sizeof(field)) >= sizeof(field) ||
		    strnlen(msg, sizeof(msg)) >= sizeof(msg))
			abort();
		send_reply(lb_rpc_error(id, LB_RPC_INVALID_PARAMS, msg,
					json_pack("{s:s}", "field", field)));
		goto out;
	}
	send_reply(lb_rpc_result(id, json_pack("{s:s}", "method", m->name)));
	if (!id)
		send_reply(lb_rpc_notification(m->name, json_object()));
out:
	json_decref(req);
}

/*
 * Reference framing: the @i-th event expected from @data (a line, or -E2BIG). *pos moves
 * past the line; returns 0 at the end of what is complete or already known to be too long.
 */
static int ref_next(const char *data, size_t size, size_t *pos, size_t max, const char **line,
		    size_t *len)
{
	const char *nl;
	size_t n;

	if (*pos >= size)
		return 0;
	nl = memchr(data + *pos, '\n', size - *pos);
	n = nl ? (size_t)(nl - (data + *pos)) : size - *pos;
	if (n > max) {
		*pos = nl ? (size_t)(nl - data) + 1 : size;
		return -E2BIG;
	}
	if (!nl)
		return 0; /* an unterminated tail within the limit is not a line yet */
	*line = data + *pos;
	*len = n;
	*pos += n + 1;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *stream, *line, *want;
	size_t max, off = 0, chunk, pos = 0, len, want_len;
	struct lb_linebuf lb;
	unsigned int seed;
	int rc, ref;

	if (size < 2)
		return 0;
	max = data[0] < 128 ? 1 + data[0] : LB_RPC_MAX_REQUEST;
	seed = data[1];
	stream = (const char *)data + 2;
	size -= 2;

	lb_linebuf_init(&lb, max);
	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % (data[1] % 8 == 0 ? size : 1 + data[1] % 97);
		if (chunk > size - off)
			chunk = size - off;
		if (lb_linebuf_feed(&lb, stream + off, chunk))
			abort();
		off += chunk;
		while ((rc = lb_linebuf_next(&lb, &line, &len)) != 0) {
			ref = ref_next(stream, size, &pos, max, &want, &want_len);
			if (rc != ref)
				abort();
			if (rc == -E2BIG)
				continue;
			if (rc != 1 || len != want_len || memcmp(line, want, len) || line[len])
				abort();
			handle_line(line, len);
		}
	}
	/* Everything complete was handed out (an over-long tail may still be pending). */
	if (ref_next(stream, size, &pos, max, &want, &want_len) == 1)
		abort();
	lb_linebuf_release(&lb);
	return 0;
}
