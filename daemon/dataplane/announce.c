// SPDX-License-Identifier: MIT
#include "announce.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lb_addr.h"
#include "lb_log.h"
#include "nl.h"

struct route_msg {
	struct nlmsghdr n;
	struct rtmsg r;
	char attrs[RTA_SPACE(sizeof(struct lb_ip)) + RTA_SPACE(sizeof(uint32_t))];
};

static int ip_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lb_ip));
}

size_t lb_announce_set(struct lb_ip *a, size_t n)
{
	size_t i, k = 0;

	if (!n)
		return 0;
	qsort(a, n, sizeof(*a), ip_cmp);
	for (i = 1; i < n; i++)
		if (!lb_ip_eq(&a[i], &a[k]))
			a[++k] = a[i];
	return k + 1;
}

bool lb_announce_in(const struct lb_ip *set, size_t n, const struct lb_ip *a)
{
	return n && bsearch(a, set, n, sizeof(*set), ip_cmp);
}

/* Add (RTM_NEWROUTE) or delete (RTM_DELROUTE) the blackhole host route to @addr. */
static int route_change(int fd, int type, uint32_t table, uint8_t protocol,
			const struct lb_ip *addr)
{
	bool v4 = lb_ip_is_v4(addr);
	struct route_msg m = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.n.nlmsg_type = (unsigned short)type,
		.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
				 (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0),
		.n.nlmsg_seq = 1,
		.r.rtm_family = v4 ? AF_INET : AF_INET6,
		.r.rtm_dst_len = v4 ? 32 : 128,
		.r.rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC,
		.r.rtm_protocol = protocol,
		.r.rtm_scope = RT_SCOPE_UNIVERSE,
		.r.rtm_type = RTN_BLACKHOLE,
	};

	lb_nl_put_attr(&m.n, RTA_DST, v4 ? (const void *)&addr->w[3] : (const void *)addr,
		       v4 ? 4 : 16);
	lb_nl_put_attr(&m.n, RTA_TABLE, &table, sizeof(table));
	return lb_nl_request(fd, &m.n);
}

/* The destination of one dumped route, if it is one of ours; false otherwise. */
static bool ours(const struct nlmsghdr *n, uint32_t table, uint8_t protocol, struct lb_ip *dst)
{
	const struct rtmsg *r = NLMSG_DATA(n);
	const struct rtattr *a = RTM_RTA(r);
	int len = (int)RTM_PAYLOAD(n);
	uint32_t t = r->rtm_table;
	bool has_dst = false;

	if (r->rtm_protocol != protocol || r->rtm_type != RTN_BLACKHOLE ||
	    r->rtm_dst_len != (r->rtm_family == AF_INET ? 32 : 128))
		return false;
	memset(dst, 0, sizeof(*dst));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			memcpy(&t, RTA_DATA(a), sizeof(t));
		} else if (a->rta_type == RTA_DST && r->rtm_family == AF_INET &&
			   RTA_PAYLOAD(a) == 4) {
			__be32 v4;

			memcpy(&v4, RTA_DATA(a), sizeof(v4));
			*dst = lb_ip_from_v4(v4);
			has_dst = true;
		} else if (a->rta_type == RTA_DST && r->rtm_family == AF_INET6 &&
			   RTA_PAYLOAD(a) == 16) {
			memcpy(dst, RTA_DATA(a), sizeof(*dst));
			has_dst = true;
		}
	}
	return has_dst && t == table;
}

struct dump_ctx {
	uint32_t table;
	uint8_t protocol;
	struct lb_ip *out;
	size_t n, cap;
};

/* One dumped route: kept when it is ours. */
static int keep_ours(const struct nlmsghdr *h, void *arg)
{
	struct dump_ctx *c = arg;
	struct lb_ip dst;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)) ||
	    !ours(h, c->table, c->protocol, &dst))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct lb_ip *p = realloc(c->out, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->out = p;
		c->cap = cap;
	}
	c->out[c->n++] = dst;
	return 0;
}

/* Dump the routes of one family and keep ours. */
static int dump_family(int fd, int family, struct dump_ctx *c)
{
	struct route_msg m = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.n.nlmsg_type = RTM_GETROUTE,
		.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.n.nlmsg_seq = 2,
		.r.rtm_family = (unsigned char)family,
		.r.rtm_table = c->table < 256 ? (unsigned char)c->table : RT_TABLE_UNSPEC,
		.r.rtm_protocol = c->protocol,
		.r.rtm_type = RTN_BLACKHOLE,
	};

	/*
	 * With strict checking the kernel itself keeps only this table, protocol and type
	 * (a router's main table may hold a million routes); ours() filters again anyway.
	 */
	lb_nl_put_attr(&m.n, RTA_TABLE, &c->table, sizeof(c->table));
	return lb_nl_dump(fd, &m.n, RTM_NEWROUTE, keep_ours, c);
}

int lb_announce_list(uint32_t table, uint8_t protocol, struct lb_ip **out, size_t *n)
{
	struct dump_ctx c = {.table = table, .protocol = protocol};
	int fd, ret;

	*out = NULL;
	*n = 0;
	fd = lb_nl_open();
	if (fd < 0)
		return fd;
	ret = dump_family(fd, AF_INET, &c);
	if (!ret)
		ret = dump_family(fd, AF_INET6, &c);
	close(fd);
	if (ret) {
		free(c.out);
		return ret;
	}
	if (c.n)
		qsort(c.out, c.n, sizeof(*c.out), ip_cmp);
	*out = c.out;
	*n = c.n;
	return 0;
}

int lb_announce_sync(uint32_t table, uint8_t protocol, const struct lb_ip *want, size_t n,
		     char *err, size_t errlen)
{
	char a[LB_ADDR_STR_MAX];
	struct lb_ip *have = NULL, *sorted = NULL;
	size_t n_have = 0, i;
	int fd, ret;

	if (n && !(sorted = malloc(n * sizeof(*sorted))))
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	if (n) {
		memcpy(sorted, want, n * sizeof(*sorted));
		n = lb_announce_set(sorted, n);
	}
	ret = lb_announce_list(table, protocol, &have, &n_have);
	if (ret) {
		lb_errf(err, errlen, ret, "cannot read routing table %u: %s", table,
			strerror(-ret));
		goto out;
	}
	fd = lb_nl_open();
	if (fd < 0) {
		ret = lb_errf(err, errlen, fd, "cannot open a netlink socket: %s", strerror(-fd));
		goto out;
	}
	for (i = 0; i < n && !ret; i++)
		if (!lb_announce_in(have, n_have, &sorted[i]) &&
		    (ret = route_change(fd, RTM_NEWROUTE, table, protocol, &sorted[i])))
			lb_errf(err, errlen, ret, "cannot announce %s (route in table %u): %s",
				lb_format_ip(&sorted[i], a), table, strerror(-ret));
	for (i = 0; i < n_have && !ret; i++) {
		if (lb_announce_in(sorted, n, &have[i]))
			continue;
		ret = route_change(fd, RTM_DELROUTE, table, protocol, &have[i]);
		if (ret == -ESRCH) /* gone already */
			ret = 0;
		else if (ret)
			lb_errf(err, errlen, ret, "cannot withdraw %s (route in table %u): %s",
				lb_format_ip(&have[i], a), table, strerror(-ret));
	}
	close(fd);
out:
	free(have);
	free(sorted);
	return ret;
}

int lb_announce_claim(uint32_t table, uint8_t protocol)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), n, ret;

	if (fd < 0)
		return -errno;
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "lbd-announce/%u/%u", table,
		     protocol);
	if (bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int lb_announce_withdraw_unclaimed(uint32_t table, uint8_t protocol, char *err, size_t errlen)
{
	int claim = lb_announce_claim(table, protocol), ret;

	if (claim == -EADDRINUSE)
		return 1;
	/* Held for the withdrawal: no lbd starting meanwhile announces into it. */
	ret = lb_announce_sync(table, protocol, NULL, 0, err, errlen);
	if (claim >= 0)
		close(claim);
	return ret;
}
