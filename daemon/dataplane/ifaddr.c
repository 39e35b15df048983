// SPDX-License-Identifier: MIT
#include "ifaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lb_addr.h"
#include "lb_log.h"

/* Changes usually come in bursts (link up, then its addresses): wait this long for quiet. */
#define IFWATCH_DEBOUNCE_MS 100

int lb_ifaddr_table_read(struct lb_ifaddr_table *t)
{
	struct ifaddrs *ifa_list, *ifa;
	size_t cap = 0;

	lb_ifaddr_table_clear(t);
	if (getifaddrs(&ifa_list))
		return -errno;
	for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
		struct lb_ifaddr *grown;
		unsigned int idx;
		struct lb_ip a;

		if (!ifa->ifa_addr || lb_ip_of_sockaddr(ifa->ifa_addr, &a, NULL))
			continue;
		/* No listener on a link-local address: it names no service. */
		if (lb_ip_is_link_local6(&a))
			continue;
		idx = if_nametoindex(ifa->ifa_name);
		if (!idx)
			continue;
		if (t->n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(t->e, cap * sizeof(*t->e));
			if (!grown) {
				freeifaddrs(ifa_list);
				lb_ifaddr_table_clear(t);
				return -ENOMEM;
			}
			t->e = grown;
		}
		t->e[t->n].ifindex = idx;
		t->e[t->n].addr = a;
		t->n++;
	}
	freeifaddrs(ifa_list);
	return 0;
}

void lb_ifaddr_table_clear(struct lb_ifaddr_table *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

struct lb_ifwatch {
	int fd;
	uv_poll_t poll;
	uv_timer_t debounce;
	int open_handles;
	lb_ifwatch_cb cb;
	lb_ifwatch_keep keep; /* NULL: every message counts */
	void *arg;
};

static void ifwatch_fire(uv_timer_t *t)
{
	struct lb_ifwatch *w = t->data;

	w->cb(w->arg);
}

/* Does datagram @buf of @len bytes hold a message @w is told of? */
static bool ifwatch_wanted(const struct lb_ifwatch *w, const char *buf, ssize_t len)
{
	const struct nlmsghdr *h;
	int left = (int)len;

	if (!w->keep)
		return true;
	for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
		if (w->keep(h, w->arg))
			return true;
	return false;
}

static void ifwatch_readable(uv_poll_t *p, int status, int events)
{
	struct lb_ifwatch *w = p->data;
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool wanted = false;

	(void)events;
	/* Beyond keep(), the content does not matter: a message means "re-read everything". */
	for (;;) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0 && !(n < 0 && errno == ENOBUFS))
			break;
		/* A lost message (ENOBUFS) may have been one that counts. */
		wanted = wanted || n < 0 || ifwatch_wanted(w, buf, n);
	}
	/* libuv stops a handle that reported an error: watch on. */
	if (status < 0)
		uv_poll_start(&w->poll, UV_READABLE, ifwatch_readable);
	/* At most IFWATCH_DEBOUNCE_MS after the first: a steady stream cannot starve it. */
	if (wanted && !uv_is_active((uv_handle_t *)&w->debounce))
		uv_timer_start(&w->debounce, ifwatch_fire, IFWATCH_DEBOUNCE_MS, 0);
}

struct lb_ifwatch *lb_ifwatch_start_fd(uv_loop_t *loop, int fd, lb_ifwatch_keep keep,
				       lb_ifwatch_cb cb, void *arg)
{
	struct lb_ifwatch *w = calloc(1, sizeof(*w));
	int err = !w ? ENOMEM : uv_poll_init(loop, &w->poll, fd) ? EIO : 0;

	if (err) {
		free(w);
		close(fd);
		errno = err;
		return NULL;
	}
	/* A lost message costs nothing (any one means "re-read everything"): no ENOBUFS. */
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &(int){1}, sizeof(int));
	w->fd = fd;
	w->cb = cb;
	w->keep = keep;
	w->arg = arg;
	w->poll.data = w;
	uv_timer_init(loop, &w->debounce);
	w->debounce.data = w;
	w->open_handles = 2;
	uv_poll_start(&w->poll, UV_READABLE, ifwatch_readable);
	return w;
}

struct lb_ifwatch *lb_ifwatch_start_groups(uv_loop_t *loop, uint32_t groups, lb_ifwatch_keep keep,
					   lb_ifwatch_cb cb, void *arg)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return NULL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return NULL;
	}
	return lb_ifwatch_start_fd(loop, fd, keep, cb, arg);
}

struct lb_ifwatch *lb_ifwatch_start(uv_loop_t *loop, lb_ifwatch_cb cb, void *arg)
{
	return lb_ifwatch_start_groups(loop, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_LINK,
				       NULL, cb, arg);
}

static void ifwatch_closed(uv_handle_t *h)
{
	struct lb_ifwatch *w = h->data;

	if (--w->open_handles == 0) {
		close(w->fd);
		free(w);
	}
}

void lb_ifwatch_stop(struct lb_ifwatch *w)
{
	if (!w)
		return;
	uv_close((uv_handle_t *)&w->poll, ifwatch_closed);
	uv_close((uv_handle_t *)&w->debounce, ifwatch_closed);
}
