// SPDX-License-Identifier: MIT
/* client.c - connect, send, receive with a deadline (see client.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

int64_t lb_client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : lb_client_now_ms() + timeout_ms;
}

/* Wait for @events on the socket until @deadline_ms. Returns 0 or -ETIMEDOUT / -errno. */
static int wait_for(struct lb_client *c, short events, int64_t deadline_ms)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	int64_t left;
	int r;

	for (;;) {
		if (c->stop && *c->stop)
			return -EINTR;
		left = deadline_ms < 0 ? -1 : deadline_ms - lb_client_now_ms();
		if (deadline_ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 0; /* POLLHUP/POLLERR too: the next read or write reports it */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int lb_client_connect(struct lb_client *c, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int fd, r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	lb_linebuf_init(&c->in, LB_CLIENT_MAX_REPLY);
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix connect() only blocks on a full listen backlog, for at most SO_SNDTIMEO. */
	if (timeout_ms > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto fail_errno;
	do {
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			errno = ETIMEDOUT;
		goto fail_errno;
	}
	c->fd = fd;
	return 0;

fail_errno:
	r = -errno;
	close(fd);
	return r;
}

void lb_client_close(struct lb_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	lb_linebuf_release(&c->in);
}

static int send_all(struct lb_client *c, const char *buf, size_t len, int64_t deadline_ms)
{
	ssize_t n;
	int r;

	while (len) {
		r = wait_for(c, POLLOUT, deadline_ms);
		if (r)
			return r;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_client_recv(struct lb_client *c, int64_t deadline_ms, json_t **msg)
{
	char chunk[65536];
	const char *line;
	size_t len;
	ssize_t n;
	json_t *v;
	int r;

	for (;;) {
		r = lb_linebuf_next(&c->in, &line, &len);
		if (r < 0)
			return r;
		if (r > 0) {
			if (len == 0)
				continue; /* blank line: tolerated, nothing in it */
			v = json_loadb(line, len, 0, NULL);
			if (!json_is_object(v)) {
				json_decref(v);
				return -EPROTO;
			}
			*msg = v;
			return 0;
		}
		r = wait_for(c, POLLIN, deadline_ms);
		if (r)
			return r;
		n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		if (lb_linebuf_feed(&c->in, chunk, (size_t)n))
			return -ENOMEM;
	}
}

/* Is @msg the response to request @id? A null id with an error is too: lbd could not read
 * our request far enough to know its id, and we only ever have one outstanding. */
static bool is_reply(const json_t *msg, json_int_t id)
{
	const json_t *mid = json_object_get(msg, "id");

	if (json_is_integer(mid))
		return json_integer_value(mid) == id;
	return json_is_null(mid) && json_object_get(msg, "error");
}

int lb_client_call(struct lb_client *c, const char *method, const json_t *params, json_t **response,
		   lb_client_notify_fn notify, void *arg)
{
	int64_t deadline = deadline_after(c->timeout_ms);
	json_int_t id = c->next_id++;
	json_t *req, *msg;
	size_t len;
	char *line;
	int r;

	req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", id, "method", method);
	if (req && params)
		json_object_set(req, "params", (json_t *)params);
	line = req ? lb_rpc_dump_line(req, &len) : NULL;
	json_decref(req);
	if (!line)
		return -ENOMEM;
	if (len > LB_RPC_MAX_REQUEST + 1) { /* lbd would refuse it: do not send it at all */
		free(line);
		return -EMSGSIZE;
	}
	r = send_all(c, line, len, deadline);
	free(line);
	if (r)
		return r;

	for (;;) {
		r = lb_client_recv(c, deadline, &msg);
		if (r)
			return r;
		if (is_reply(msg, id)) {
			*response = msg;
			return 0;
		}
		if (!json_object_get(msg, "id") && json_object_get(msg, "method") && notify)
			notify(msg, arg);
		json_decref(msg); /* a notification, or a stale response to someone else's id */
	}
}
