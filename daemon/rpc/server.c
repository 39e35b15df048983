// SPDX-License-Identifier: MIT
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lb_log.h"

struct lb_rpc_server {
	uv_pipe_t listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool own_path; /* we created the socket file and remove it on stop */
	gid_t group;
	lb_rpc_dispatch_fn dispatch;
	void *ctx;
	struct lb_rpc_client *clients; /* doubly linked */
	size_t n_clients;
};

struct lb_rpc_client {
	uv_pipe_t pipe;
	struct lb_rpc_server *server; /* NULL once the server stopped */
	struct lb_rpc_client *prev, *next;
	struct lb_linebuf in;
	int refs;
	bool closing;
	bool may_mutate;
	uid_t uid;
	pid_t pid;
	uint64_t active_ms; /* when it connected or last sent bytes (uv_now) */
};

struct write_req {
	uv_write_t req;
	char *line;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct lb_rpc_client *lb_rpc_client_ref(struct lb_rpc_client *c)
{
	c->refs++;
	return c;
}

static void client_closed(uv_handle_t *h)
{
	lb_rpc_client_unref(h->data);
}

void lb_rpc_client_unref(struct lb_rpc_client *c)
{
	if (--c->refs > 0)
		return;
	lb_linebuf_release(&c->in);
	free(c);
}

static void client_close(struct lb_rpc_client *c)
{
	struct lb_rpc_server *s = c->server;

	if (c->closing)
		return;
	c->closing = true;
	if (s) {
		if (c->prev)
			c->prev->next = c->next;
		else
			s->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
		s->n_clients--;
		c->server = NULL;
	}
	/* The handle's own reference is dropped in the close callback. */
	uv_close((uv_handle_t *)&c->pipe, client_closed);
}

bool lb_rpc_client_connected(const struct lb_rpc_client *c)
{
	return !c->closing;
}

uid_t lb_rpc_client_uid(const struct lb_rpc_client *c)
{
	return c->uid;
}

static void write_done(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;

	free(w->line);
	free(w);
	(void)status; /* a failed write surfaces as a read error/EOF and closes the client */
}

size_t lb_rpc_client_queued(const struct lb_rpc_client *c)
{
	return c->closing ? 0 : uv_stream_get_write_queue_size((const uv_stream_t *)&c->pipe);
}

void lb_rpc_client_send(struct lb_rpc_client *c, json_t *msg)
{
	struct write_req *w;
	uv_buf_t buf;
	size_t len;

	if (c->closing || !msg) {
		json_decref(msg);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > LB_RPC_MAX_QUEUED) {
		lb_warn("rpc: client pid %d does not read its replies; disconnecting it", c->pid);
		json_decref(msg);
		client_close(c);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w)
		w->line = lb_rpc_dump_line(msg, &len);
	json_decref(msg);
	if (!w || !w->line) {
		free(w);
		client_close(c);
		return;
	}
	buf = uv_buf_init(w->line, len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done)) {
		free(w->line);
		free(w);
		client_close(c);
	}
}

void lb_rpc_client_reply(struct lb_rpc_client *c, json_t *id, json_t *result)
{
	if (!id) {
		json_decref(result);
		return;
	}
	lb_rpc_client_send(c, lb_rpc_result(id, result));
}

void lb_rpc_client_reply_error(struct lb_rpc_client *c, json_t *id, int code, const char *message,
			       json_t *data)
{
	if (!id) {
		json_decref(data);
		return;
	}
	lb_rpc_client_send(c, lb_rpc_error(id, code, message, data));
}

/* Handle one request line: every failure is answered, none closes the connection. */
static void handle_line(struct lb_rpc_client *c, const char *line, size_t len)
{
	char field[64], msg[512];
	const struct lb_method *m;
	json_t *req, *id, *method, *params, *version;
	json_error_t jerr;

	if (len == 0 || strspn(line, " \t\r") == len)
		return; /* blank lines are harmless keep-alives */
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		snprintf(msg, sizeof(msg), "parse error: %s at column %d", jerr.text, jerr.column);
		lb_rpc_client_send(c, lb_rpc_error(NULL, LB_RPC_PARSE_ERROR, msg, NULL));
		return;
	}
	if (json_is_array(req)) {
		lb_rpc_client_send(c,
				   lb_rpc_error(NULL, LB_RPC_INVALID_REQUEST,
						"invalid request: batches (JSON arrays) are not "
						"supported; send each request on a line of its own",
						NULL));
		goto out;
	}
	id = json_object_get(req, "id");
	if (!json_is_object(req) ||
	    (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))) {
		lb_rpc_client_send(c,
				   lb_rpc_error(NULL, LB_RPC_INVALID_REQUEST,
						"invalid request: expected an object with "
						"\"jsonrpc\", \"method\" and a string or integer "
						"\"id\"",
						NULL));
		goto out;
	}
	version = json_object_get(req, "jsonrpc");
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") ||
	    !json_is_string(method)) {
		lb_rpc_client_send(c,
				   lb_rpc_error(id, LB_RPC_INVALID_REQUEST,
						"invalid request: \"jsonrpc\" must be \"2.0\" and "
						"\"method\" a string",
						NULL));
		goto out;
	}
	m = lb_method_find(json_string_value(method));
	if (!m) {
		snprintf(msg, sizeof(msg), "method not found: %s (lbctl --help lists them)",
			 json_string_value(method));
		lb_rpc_client_reply_error(c, id, LB_RPC_METHOD_NOT_FOUND, msg,
					  json_pack("{s:O}", "method", method));
		goto out;
	}
	if (params && json_is_null(params))
		params = NULL;
	if (lb_params_check(m, params, field, sizeof(field), msg, sizeof(msg))) {
		lb_rpc_client_reply_error(c, id, LB_RPC_INVALID_PARAMS, msg,
					  json_pack("{s:s}", "field", field));
		goto out;
	}
	if (m->mutates && !c->may_mutate) {
		snprintf(msg, sizeof(msg),
			 "permission denied: %s changes the load balancer; only root and members "
			 "of the socket's group may call it",
			 m->name);
		lb_rpc_client_reply_error(
			c, id, LB_RPC_PERMISSION, msg,
			json_pack("{s:i, s:s}", "uid", (int)c->uid, "method", m->name));
		goto out;
	}
	if (!params)
		params = json_object();
	else
		json_incref(params);
	lb_debug("rpc: pid %d calls %s", c->pid, m->name);
	c->server->dispatch(c->server->ctx, c, id, m, params);
	json_decref(params);
out:
	json_decref(req);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536]; /* one loop thread: reads are consumed before the next */

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct lb_rpc_client *c = stream->data;
	const char *line;
	size_t len;
	int r;

	if (nread < 0) {
		client_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->active_ms = uv_now(stream->loop);
	if (lb_linebuf_feed(&c->in, buf->base, nread)) {
		client_close(c);
		return;
	}
	lb_rpc_client_ref(c);
	while (!c->closing && (r = lb_linebuf_next(&c->in, &line, &len)) != 0) {
		if (r == -E2BIG) {
			char msg[128];

			snprintf(msg, sizeof(msg),
				 "request too large: the limit is %d bytes a line",
				 LB_RPC_MAX_REQUEST);
			lb_rpc_client_send(
				c, lb_rpc_error(NULL, LB_RPC_TOO_LARGE, msg,
						json_pack("{s:i}", "limit", LB_RPC_MAX_REQUEST)));
			continue;
		}
		handle_line(c, line, len);
	}
	lb_rpc_client_unref(c);
}

/*
 * Is @gid among the peer's supplementary groups? SO_PEERGROUPS (Linux 4.13) gives the
 * groups the peer had when it connected, race-free: reading /proc/PID/status instead can
 * meet another process once the pid is reused, and truncates long group lists.
 */
static bool peer_in_group(int fd, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found = false;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno != ERANGE)
			return false;
		groups = malloc(len);
		if (!groups || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
			free(groups);
			return false;
		}
	}
	for (i = 0; i < len / sizeof(*groups) && !found; i++)
		found = groups[i] == gid;
	if (groups != small)
		free(groups);
	return found;
}

/*
 * At the limit, make room for @fresh by closing the client silent longest, if it has been
 * for LB_RPC_IDLE_EVICT_MS and nothing holds it (a stream it follows, a call it waits on):
 * peers that connect and send nothing cannot lock everyone else out, root's lbctl included.
 */
#define LB_RPC_IDLE_EVICT_MS 10000
static bool evict_idle(struct lb_rpc_server *s, struct lb_rpc_client *fresh)
{
	uint64_t now = uv_now(fresh->pipe.loop);
	struct lb_rpc_client *x, *idle = NULL;

	for (x = s->clients; x; x = x->next)
		if (x != fresh && !x->closing && x->refs == 1 &&
		    now - x->active_ms >= LB_RPC_IDLE_EVICT_MS &&
		    (!idle || x->active_ms < idle->active_ms))
			idle = x;
	if (!idle)
		return false;
	lb_warn("rpc: %d clients; closing the one silent longest (pid %d, uid %u, %llu s) for "
		"a new one",
		LB_RPC_MAX_CLIENTS, (int)idle->pid, (unsigned int)idle->uid,
		(unsigned long long)((now - idle->active_ms) / 1000));
	client_close(idle);
	return true;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct lb_rpc_server *s = listener->data;
	struct lb_rpc_client *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uv_os_fd_t fd;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	uv_pipe_init(listener->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->refs = 1;
	c->server = s;
	lb_linebuf_init(&c->in, LB_RPC_MAX_REQUEST);
	if (uv_accept(listener, (uv_stream_t *)&c->pipe)) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->pipe, client_closed);
		return;
	}
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	c->active_ms = uv_now(listener->loop);
	if (s->n_clients > LB_RPC_MAX_CLIENTS && !evict_idle(s, c)) {
		lb_warn("rpc: more than %d clients; refusing a new one", LB_RPC_MAX_CLIENTS);
		client_close(c);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->may_mutate =
			cred.uid == 0 || cred.gid == s->group || peer_in_group(fd, s->group);
	}
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

int lb_rpc_server_check(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cred = {0};
	socklen_t clen = sizeof(cred);
	struct stat st;
	int fd, live;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	/* Anything but a socket is no leftover of ours (a mistyped path may name the config). */
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode)) {
		set_err(err, errlen,
			"cannot start: %s exists and is not a socket; lbd replaces only a socket "
			"nobody answers on (remove the file, or choose another --socket)",
			path);
		return -EEXIST;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (live)
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
	close(fd);
	if (!live)
		return 0;
	set_err(err, errlen,
		"cannot start: pid %d already serves the control socket %s; stop that lbd first, "
		"or give this one its own --socket and --instance",
		(int)cred.pid, path);
	return -EADDRINUSE;
}

/* A socket file nobody answers on is a leftover of a crash; a live one is another lbd. */
static int claim_path(const char *path, char *err, size_t errlen)
{
	int ret = lb_rpc_server_check(path, err, errlen);

	if (ret)
		return ret;
	if (unlink(path) && errno != ENOENT) {
		set_err(err, errlen, "cannot remove the stale socket %s: %s", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Bind @path ourselves rather than with uv_pipe_bind(), which would unlink it when the
 * handle closes: after a hand-over the next lbd listens on this very socket file.
 */
static int bind_path(uv_pipe_t *listener, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uv_translate_sys_error(errno);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = uv_translate_sys_error(errno);
		close(fd);
		return r;
	}
	r = uv_pipe_open(listener, fd);
	if (r) {
		unlink(path);
		close(fd);
	}
	return r;
}

struct lb_rpc_server *lb_rpc_server_start(uv_loop_t *loop, const struct lb_rpc_server_opts *o,
					  char *err, size_t errlen)
{
	struct lb_rpc_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	s->group = o->group;
	s->dispatch = o->dispatch;
	s->ctx = o->ctx;
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	if (o->inherited_fd >= 0) {
		r = uv_pipe_open(&s->listener, o->inherited_fd);
		if (r) {
			set_err(err, errlen, "cannot use the socket passed by systemd: %s",
				uv_strerror(r));
			goto err_close;
		}
		if (o->owns_inherited && o->path && strlen(o->path) < sizeof(s->path)) {
			snprintf(s->path, sizeof(s->path), "%s", o->path);
			s->own_path = true;
		}
	} else {
		if (strlen(o->path) >= sizeof(s->path)) {
			set_err(err, errlen, "socket path too long: %s", o->path);
			goto err_close;
		}
		snprintf(s->path, sizeof(s->path), "%s", o->path);
		if (mkdir_parent(o->path) || claim_path(o->path, err, errlen)) {
			if (!err[0])
				set_err(err, errlen, "cannot create the folder of %s", o->path);
			goto err_close;
		}
		r = bind_path(&s->listener, o->path);
		if (r) {
			set_err(err, errlen, "cannot bind %s: %s", o->path, uv_strerror(r));
			goto err_close;
		}
		s->own_path = true;
		/* Owner root, group may read and write: that is who may connect at all. */
		if (chown(o->path, 0, o->group) || chmod(o->path, 0660)) {
			set_err(err, errlen, "cannot set owner and mode of %s: %s", o->path,
				strerror(errno));
			goto err_close;
		}
	}
	r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	if (r) {
		set_err(err, errlen, "cannot listen on %s: %s", o->path ? o->path : "socket",
			uv_strerror(r));
		goto err_close;
	}
	return s;

err_close:
	if (s->own_path)
		unlink(s->path);
	uv_close((uv_handle_t *)&s->listener, (uv_close_cb)free);
	return NULL;
}

size_t lb_rpc_server_clients(const struct lb_rpc_server *s)
{
	return s->n_clients;
}

void lb_rpc_server_stop(struct lb_rpc_server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_close(s->clients);
	if (s->own_path)
		unlink(s->path);
	uv_close((uv_handle_t *)&s->listener, (uv_close_cb)free);
}

int lb_rpc_server_fd(const struct lb_rpc_server *s)
{
	uv_os_fd_t fd = -1;

	if (!s || uv_fileno((const uv_handle_t *)&s->listener, &fd))
		return -1;
	return fd;
}

void lb_rpc_server_keep_path(struct lb_rpc_server *s)
{
	if (s)
		s->own_path = false;
}
