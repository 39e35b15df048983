// SPDX-License-Identifier: MIT
#include "handover.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lb_abi.h"
#include "lb_log.h"

#define IO_TIMEOUT_MS  10000 /* any one read or write of the hand-over */
#define SETTLE_MAX_MS  2000  /* connections on their way to the splicer */
#define SETTLE_TICK_MS 1

struct lbd_handover {
	struct lbd *l;
	struct lbd_handover_hooks hooks;
	int fd; /* listening */
	uv_poll_t poll;
	uv_timer_t settle;
	int settled_ms;
	int peer; /* the next lbd, during a hand-over; else -1 */
	pid_t peer_pid;
	bool same_socket;
	int handles;
};

/* ---- both sides ---- */

/* "\0lbd-handover-<hash of the instance's pin folder>": abstract, gone with its lbd. */
static socklen_t endpoint(const struct lbd_args *a, struct sockaddr_un *sa)
{
	char real[PATH_MAX], dir[PATH_MAX + 64];
	uint64_t h = 1469598103934665603ull;
	const char *p;
	int n;

	snprintf(dir, sizeof(dir), "%s/lbd/%s", realpath(a->bpffs, real) ? real : a->bpffs,
		 a->instance);
	for (p = dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "lbd-handover-%016llx",
		     (unsigned long long)h);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Send a record of JSON only (steals @meta). */
static int send_meta(int fd, json_t *meta)
{
	struct lb_fdrec r = {.meta = meta};
	int ret = meta ? lb_fdrec_send(fd, &r) : -ENOMEM;

	json_decref(meta);
	return ret;
}

static const char *kind_of(const struct lb_fdrec *r)
{
	const char *k = json_string_value(json_object_get(r->meta, "kind"));

	return k ? k : "";
}

/* ---- the running lbd: giving ---- */

struct emit_ctx {
	int fd;
	size_t records;
};

static int emit(void *arg, struct lb_fdrec *r, void *pair_arg)
{
	struct emit_ctx *x = arg;
	int ret;

	(void)pair_arg;
	ret = lb_fdrec_send(x->fd, r);
	if (!ret)
		x->records++;
	return ret;
}

/* Everything, in the order the next lbd needs it. 0 or -errno. */
static int send_all(struct lbd_handover *h)
{
	struct lbd *l = h->l;
	struct emit_ctx x = {.fd = h->peer};
	struct lb_fdrec ctl = {.fds = {h->hooks.control_fd(h->hooks.ctx)}, .n_fds = 1};
	int ret;

	ret = send_meta(h->peer, json_pack("{s:s, s:i, s:i}", "kind", "begin", "pid", (int)getpid(),
					   "protocol", LBD_HANDOVER_PROTOCOL));
	if (ret)
		return ret;
	ctl.meta = json_pack("{s:s, s:s}", "kind", "control", "path", l->socket_path);
	ret = ctl.meta && ctl.fds[0] >= 0 ? emit(&x, &ctl, NULL) : -EBADF;
	json_decref(ctl.meta);
	if (!ret)
		ret = lb_sni_export(l->sni, emit, &x);
	if (!ret)
		ret = send_meta(h->peer, json_pack("{s:s, s:I}", "kind", "end", "records",
						   (json_int_t)x.records));
	return ret;
}

static void listen_again(struct lbd_handover *h);

/* The hand-over failed before the next lbd confirmed: carry on as before. */
static void resume(struct lbd_handover *h, const char *why, int err)
{
	lb_warn("hand-over to lbd pid %d failed (%s: %s); this lbd keeps serving", (int)h->peer_pid,
		why, strerror(-err));
	lb_sni_thaw(h->l->sni);
	close(h->peer);
	h->peer = -1;
	listen_again(h);
}

static void transfer(struct lbd_handover *h)
{
	struct lb_fdrec ack;
	int ret;

	ret = send_all(h);
	if (ret) {
		resume(h, "sending", ret);
		return;
	}
	ret = lb_fdrec_recv(h->peer, &ack);
	if (!ret && strcmp(kind_of(&ack), "ack"))
		ret = -EPROTO;
	lb_fdrec_release(&ack);
	if (ret) {
		resume(h, "waiting for its confirmation", ret);
		return;
	}
	lb_info("handed over to lbd pid %d; stopping", (int)h->peer_pid);
	close(h->peer);
	h->peer = -1;
	h->hooks.finish(h->hooks.ctx, h->same_socket);
}

/* Stopping under systemd: everything into its descriptor store for the next lbd. */
static void store(struct lbd_handover *h)
{
	char err[LB_ERR_MAX];

	if (h->hooks.store(h->hooks.ctx, err, sizeof(err))) {
		lb_warn("%s; SNI connections end with this lbd", err);
		lb_sni_thaw(h->l->sni); /* the stop resets them as without a store */
		h->hooks.stop(h->hooks.ctx);
		return;
	}
	h->hooks.finish(h->hooks.ctx, false);
}

/* Frozen: wait until no connection is between its acceptor and the splicer, then send. */
static void on_settle(uv_timer_t *t)
{
	struct lbd_handover *h = t->data;

	if (lb_sni_settling(h->l->sni) && h->settled_ms < SETTLE_MAX_MS) {
		h->settled_ms += SETTLE_TICK_MS;
		return;
	}
	uv_timer_stop(t);
	if (h->peer >= 0)
		transfer(h);
	else
		store(h);
}

void lbd_handover_to_store(struct lbd_handover *h)
{
	if (h->peer >= 0 || uv_is_active((uv_handle_t *)&h->settle))
		return; /* a hand-over is under way: it decides */
	uv_poll_stop(&h->poll);
	lb_sni_freeze(h->l->sni);
	h->settled_ms = 0;
	uv_timer_start(&h->settle, on_settle, 0, SETTLE_TICK_MS);
}

/* Who asks, and can it continue what this lbd does? NULL when it may, else why not. */
static const char *refusal(const struct lb_fdrec *req, char *buf, size_t len)
{
	json_int_t proto = json_integer_value(json_object_get(req->meta, "protocol"));
	json_int_t abi = json_integer_value(json_object_get(req->meta, "abi"));

	if (strcmp(kind_of(req), "take"))
		return "not a hand-over request";
	if (proto != LBD_HANDOVER_PROTOCOL || abi != LB_ABI_VERSION) {
		snprintf(buf, len,
			 "this lbd speaks hand-over protocol %d and BPF ABI %d, the new one %lld "
			 "and %lld: stop this one and start the new one instead (balanced flows "
			 "survive that; SNI connections do not)",
			 LBD_HANDOVER_PROTOCOL, LB_ABI_VERSION, (long long)proto, (long long)abi);
		return buf;
	}
	return NULL;
}

static void on_request(uv_poll_t *p, int status, int events)
{
	struct lbd_handover *h = p->data;
	struct lb_fdrec req;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	const char *why, *path;
	char buf[256];
	int fd;

	(void)events;
	if (status < 0)
		return;
	fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* Every socket lbd holds goes to whoever asks: only lbd's own user may. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != geteuid()) {
		close(fd);
		return;
	}
	set_timeouts(fd, IO_TIMEOUT_MS);
	if (lb_fdrec_recv(fd, &req)) {
		close(fd);
		return;
	}
	why = refusal(&req, buf, sizeof(buf));
	if (why) {
		lb_warn("hand-over to lbd pid %d refused: %s", (int)cred.pid, why);
		send_meta(fd, json_pack("{s:s, s:s}", "kind", "refused", "error", why));
		lb_fdrec_release(&req);
		close(fd);
		return;
	}
	path = json_string_value(json_object_get(req.meta, "socket"));
	h->same_socket = path && !strcmp(path, h->l->socket_path);
	lb_fdrec_release(&req);
	lb_info("lbd pid %d takes over: handing over listening sockets and SNI connections",
		(int)cred.pid);
	h->peer = fd;
	h->peer_pid = cred.pid;
	uv_poll_stop(&h->poll);
	lb_sni_freeze(h->l->sni);
	h->settled_ms = 0;
	uv_timer_start(&h->settle, on_settle, 0, SETTLE_TICK_MS);
}

static void listen_again(struct lbd_handover *h)
{
	uv_poll_start(&h->poll, UV_READABLE, on_request);
}

struct lbd_handover *lbd_handover_listen(struct lbd *l, const struct lbd_handover_hooks *hooks,
					 char *err, size_t errlen)
{
	struct lbd_handover *h = calloc(1, sizeof(*h));
	struct sockaddr_un sa;
	socklen_t salen = endpoint(&l->args, &sa);

	if (!h) {
		lb_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	h->l = l;
	h->hooks = *hooks;
	h->peer = -1;
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&sa, salen) || listen(h->fd, 4)) {
		lb_errf(err, errlen, -errno, "cannot listen for a hand-over (lbd --takeover): %s",
			strerror(errno));
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return NULL;
	}
	uv_poll_init(l->loop, &h->poll, h->fd);
	uv_timer_init(l->loop, &h->settle);
	h->poll.data = h->settle.data = h;
	h->handles = 2;
	listen_again(h);
	return h;
}

static void closed(uv_handle_t *hd)
{
	struct lbd_handover *h = hd->data;

	if (--h->handles)
		return;
	close(h->fd);
	if (h->peer >= 0)
		close(h->peer);
	free(h);
}

void lbd_handover_close(struct lbd_handover *h)
{
	if (!h)
		return;
	uv_close((uv_handle_t *)&h->poll, closed);
	uv_close((uv_handle_t *)&h->settle, closed);
}

/* ---- the new lbd: taking ---- */

int lbd_takeover_add(struct lbd_takeover *t, struct lb_fdrec *r, const char *socket_path)
{
	const char *kind = kind_of(r);
	struct lb_fdrec **v = NULL, *grown;
	size_t *n = NULL;

	if (!strcmp(kind, "control")) {
		const char *path = json_string_value(json_object_get(r->meta, "path"));

		if (path && !strcmp(path, socket_path) && t->control_fd < 0)
			t->control_fd = lb_fdrec_take_fd(r, 0);
	} else if (!strcmp(kind, "splicer") && !t->splicer.meta) {
		t->splicer = *r;
		memset(r, 0, sizeof(*r));
		return 0;
	} else if (!strcmp(kind, "sni-acceptor")) {
		v = &t->acceptors;
		n = &t->n_acceptors;
	} else if (!strcmp(kind, "splice") || !strcmp(kind, "sni-conn")) {
		v = &t->conns;
		n = &t->n_conns;
	} else {
		return -EPROTO;
	}
	if (v) {
		grown = realloc(*v, (*n + 1) * sizeof(**v));
		if (!grown)
			return -ENOMEM;
		*v = grown;
		(*v)[(*n)++] = *r;
		memset(r, 0, sizeof(*r));
	}
	lb_fdrec_release(r);
	return 0;
}

int lbd_takeover_receive(const struct lbd_args *args, const char *socket_path,
			 struct lbd_takeover *t, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t salen = endpoint(args, &sa);
	size_t records = 0;
	struct lb_fdrec r;
	int fd, ret;

	memset(t, 0, sizeof(*t));
	t->control_fd = -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lb_errf(err, errlen, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, salen)) {
		close(fd);
		return 1; /* nobody listens: no lbd runs this instance */
	}
	set_timeouts(fd, IO_TIMEOUT_MS);
	ret = send_meta(fd, json_pack("{s:s, s:i, s:i, s:s}", "kind", "take", "protocol",
				      LBD_HANDOVER_PROTOCOL, "abi", LB_ABI_VERSION, "socket",
				      socket_path));
	while (!ret) {
		ret = lb_fdrec_recv(fd, &r);
		if (ret)
			break;
		if (!strcmp(kind_of(&r), "refused")) {
			ret = lb_errf(err, errlen, -EPERM,
				      "the running lbd refused the hand-over: %s",
				      json_string_value(json_object_get(r.meta, "error")));
			lb_fdrec_release(&r);
			break;
		}
		if (!strcmp(kind_of(&r), "begin")) {
			t->from = (pid_t)json_integer_value(json_object_get(r.meta, "pid"));
			lb_fdrec_release(&r);
			continue;
		}
		if (!strcmp(kind_of(&r), "end")) {
			json_int_t sent = json_integer_value(json_object_get(r.meta, "records"));

			lb_fdrec_release(&r);
			ret = (size_t)sent == records ? 0 : -EPROTO;
			if (!ret)
				ret = send_meta(fd, json_pack("{s:s}", "kind", "ack"));
			break;
		}
		records++;
		ret = lbd_takeover_add(t, &r, socket_path);
		lb_fdrec_release(&r);
	}
	close(fd);
	if (ret) {
		if (!err[0] || ret != -EPERM)
			lb_errf(err, errlen, ret,
				"the hand-over from the running lbd%s broke off: %s (it keeps "
				"running)",
				t->from ? "" : " (it did not answer)", strerror(-ret));
		lbd_takeover_release(t);
		return ret;
	}
	return 0;
}

void lbd_takeover_release(struct lbd_takeover *t)
{
	size_t i;

	if (t->control_fd >= 0)
		close(t->control_fd);
	t->control_fd = -1;
	lb_fdrec_release(&t->splicer);
	for (i = 0; i < t->n_acceptors; i++)
		lb_fdrec_release(&t->acceptors[i]);
	for (i = 0; i < t->n_conns; i++)
		lb_fdrec_release(&t->conns[i]);
	free(t->acceptors);
	free(t->conns);
	t->acceptors = t->conns = NULL;
	t->n_acceptors = t->n_conns = 0;
}
