// SPDX-License-Identifier: MIT
#include "neigh.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "announce.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "nl.h"
#include "route.h"

/* The states with a usable address (the kernel's NUD_VALID, not in the uapi headers). */
#define NEIGH_VALID (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

struct lb_neigh {
	struct lb_ip *want; /* the dsr targets, a set (lb_announce_set()) */
	size_t n_want;
	struct lb_ip *warned; /* targets whose failure was logged, until one succeeds */
	size_t n_warned;
	bool clean; /* no target, and no entry of lbd's left: a repair has nothing to do */
};

/* One entry of the kernel's table that matters here: a wanted address's, or lbd's. */
struct entry {
	struct lb_ip addr;
	uint32_t ifindex;
	uint16_t state;	  /* NUD_* */
	uint8_t flags;	  /* NTF_* */
	uint8_t protocol; /* NDA_PROTOCOL; 0: none (the kernel's own, or `ip neigh add`) */
	uint32_t ext;	  /* NDA_FLAGS_EXT: NTF_EXT_* */
	uint8_t lladdr[32];
	size_t lladdr_len;
};

struct table {
	const struct lb_neigh *nb; /* NULL: keep lbd's entries only */
	struct entry *e;
	size_t n, cap;
};

struct neigh_msg {
	struct nlmsghdr n;
	struct ndmsg nd;
	char attrs[RTA_SPACE(sizeof(struct lb_ip)) + RTA_SPACE(sizeof(uint32_t)) +
		   RTA_SPACE(sizeof(uint8_t)) + RTA_SPACE(sizeof(((struct entry *)0)->lladdr))];
};

struct lb_neigh *lb_neigh_new(void)
{
	return calloc(1, sizeof(struct lb_neigh));
}

void lb_neigh_free(struct lb_neigh *nb)
{
	if (!nb)
		return;
	free(nb->want);
	free(nb->warned);
	free(nb);
}

/* The address and protocol of one dumped entry into @e; false when it has no address. */
static bool read_entry(const struct nlmsghdr *h, struct entry *e)
{
	const struct ndmsg *nd = NLMSG_DATA(h);
	const struct rtattr *a =
		(const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	int len = (int)NLMSG_PAYLOAD(h, sizeof(*nd));
	bool has_dst = false;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
		return false;
	memset(e, 0, sizeof(*e));
	e->ifindex = (uint32_t)nd->ndm_ifindex;
	e->state = nd->ndm_state;
	e->flags = nd->ndm_flags;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_DST && nd->ndm_family == AF_INET && RTA_PAYLOAD(a) == 4) {
			__be32 v4;

			memcpy(&v4, RTA_DATA(a), sizeof(v4));
			e->addr = lb_ip_from_v4(v4);
			has_dst = true;
		} else if (a->rta_type == NDA_DST && nd->ndm_family == AF_INET6 &&
			   RTA_PAYLOAD(a) == 16) {
			memcpy(&e->addr, RTA_DATA(a), sizeof(e->addr));
			has_dst = true;
		} else if (a->rta_type == NDA_PROTOCOL && RTA_PAYLOAD(a) >= 1) {
			e->protocol = *(const uint8_t *)RTA_DATA(a);
		} else if (a->rta_type == NDA_FLAGS_EXT && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			memcpy(&e->ext, RTA_DATA(a), sizeof(e->ext));
		} else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) <= sizeof(e->lladdr)) {
			e->lladdr_len = RTA_PAYLOAD(a);
			memcpy(e->lladdr, RTA_DATA(a), e->lladdr_len);
		}
	}
	return has_dst;
}

static int keep_entry(const struct nlmsghdr *h, void *arg)
{
	struct table *t = arg;
	struct entry e;

	if (!read_entry(h, &e) || !(e.protocol == LB_NEIGH_PROTOCOL ||
				    (t->nb && lb_announce_in(t->nb->want, t->nb->n_want, &e.addr))))
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct entry *p = realloc(t->e, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->e = p;
		t->cap = cap;
	}
	t->e[t->n++] = e;
	return 0;
}

/* The entries of both families that matter (struct entry) into @t. 0 or -errno. */
static int read_table(int fd, struct table *t)
{
	static const unsigned char families[] = {AF_INET, AF_INET6};
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(families) && !ret; i++) {
		struct neigh_msg m = {
			.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
			.n.nlmsg_type = RTM_GETNEIGH,
			.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.n.nlmsg_seq = 1,
			.nd.ndm_family = families[i],
		};

		ret = lb_nl_dump(fd, &m.n, RTM_NEWNEIGH, keep_entry, t);
	}
	return ret;
}

/*
 * A plain dynamic entry: one the kernel learned from traffic (or an `ip neigh add` of no
 * permanence), which nobody marked as theirs. It ages out, or stays FAILED or STALE with
 * nothing probing it, so lbd makes it managed and its own, in place.
 */
static bool adoptable(const struct entry *e)
{
	return !e->protocol && !(e->state & (NUD_PERMANENT | NUD_NOARP)) &&
	       !(e->flags & NTF_EXT_LEARNED) && !(e->ext & NTF_EXT_MANAGED);
}

/*
 * Make the entry of @addr on @ifindex managed and lbd's (RTM_NEWNEIGH): a new one only
 * where there is none (NLM_F_EXCL), or plain dynamic entry @was made so in place, its
 * address and state kept (no moment without a valid entry). 0 or the kernel's -errno.
 */
static int neigh_add(int fd, const struct lb_ip *addr, uint32_t ifindex, const struct entry *was)
{
	bool v4 = lb_ip_is_v4(addr), keep = was && (was->state & NEIGH_VALID) && was->lladdr_len;
	struct neigh_msg m = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
		.n.nlmsg_type = RTM_NEWNEIGH,
		.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
				 (was ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL),
		.n.nlmsg_seq = 1,
		.nd.ndm_family = v4 ? AF_INET : AF_INET6,
		.nd.ndm_ifindex = (int)ifindex,
		.nd.ndm_flags = was ? was->flags & NTF_ROUTER : 0,
		/* No address yet: the kernel resolves a managed entry itself. */
		.nd.ndm_state = keep ? was->state : NUD_NONE,
	};
	uint32_t ext = NTF_EXT_MANAGED;
	uint8_t proto = LB_NEIGH_PROTOCOL;

	lb_nl_put_attr(&m.n, NDA_DST, v4 ? (const void *)&addr->w[3] : (const void *)addr,
		       v4 ? 4 : 16);
	lb_nl_put_attr(&m.n, NDA_PROTOCOL, &proto, sizeof(proto));
	lb_nl_put_attr(&m.n, NDA_FLAGS_EXT, &ext, sizeof(ext));
	if (keep)
		lb_nl_put_attr(&m.n, NDA_LLADDR, was->lladdr, was->lladdr_len);
	return lb_nl_request(fd, &m.n);
}

/* Delete the entry of @addr on @ifindex (RTM_DELNEIGH). 0 or the kernel's -errno. */
static int neigh_del(int fd, const struct lb_ip *addr, uint32_t ifindex)
{
	bool v4 = lb_ip_is_v4(addr);
	struct neigh_msg m = {
		.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
		.n.nlmsg_type = RTM_DELNEIGH,
		.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		.n.nlmsg_seq = 1,
		.nd.ndm_family = v4 ? AF_INET : AF_INET6,
		.nd.ndm_ifindex = (int)ifindex,
	};

	lb_nl_put_attr(&m.n, NDA_DST, v4 ? (const void *)&addr->w[3] : (const void *)addr,
		       v4 ? 4 : 16);
	return lb_nl_request(fd, &m.n);
}

static bool warned(const struct lb_neigh *nb, const struct lb_ip *a)
{
	size_t i;

	for (i = 0; i < nb->n_warned; i++)
		if (lb_ip_eq(&nb->warned[i], a))
			return true;
	return false;
}

/* Log the failure @fmt for target @a, unless it was logged already since its last success. */
static void __attribute__((format(printf, 3, 4)))
warn_once(struct lb_neigh *nb, const struct lb_ip *a, const char *fmt, ...)
{
	char msg[LB_ERR_MAX];
	struct lb_ip *p;
	va_list ap;

	if (warned(nb, a))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lb_warn("%s", msg);
	p = realloc(nb->warned, (nb->n_warned + 1) * sizeof(*p));
	if (p) {
		nb->warned = p;
		nb->warned[nb->n_warned++] = *a;
	}
}

static void succeeded(struct lb_neigh *nb, const struct lb_ip *a)
{
	size_t i;

	for (i = 0; i < nb->n_warned; i++)
		if (lb_ip_eq(&nb->warned[i], a)) {
			nb->warned[i] = nb->warned[--nb->n_warned];
			return;
		}
}

/* The entry of @a on @ifindex in @t; NULL when the kernel has none. */
static const struct entry *find_entry(const struct table *t, const struct lb_ip *a,
				      uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->e[i].ifindex == ifindex && lb_ip_eq(&t->e[i].addr, a))
			return &t->e[i];
	return NULL;
}

/*
 * The interface towards target @a, where its entry belongs: 0 when the route does not
 * reach it on-link (logged; the datapath drops its packets as drop-dsr-no-route then).
 */
static uint32_t target_iface(struct lb_neigh *nb, const struct lb_ip *a)
{
	char s[LB_ADDR_STR_MAX], gw[LB_ADDR_STR_MAX];
	struct lb_route r;
	int ret = lb_route_get(a, &r);

	if (!ret && r.type == RTN_UNICAST && r.oif && !r.has_gateway)
		return r.oif;
	if (!ret && r.has_gateway)
		warn_once(nb, a,
			  "dsr target %s is reached through the router %s: its packets are "
			  "dropped (drop-dsr-no-route); put it on a segment the LB is connected to",
			  lb_format_ip(a, s), lb_format_ip(&r.gateway, gw));
	else
		warn_once(nb, a,
			  "dsr target %s: no route on a connected interface (%s), so lbd cannot "
			  "keep its neighbour entry and its packets are dropped; give the LB an "
			  "address in the target's subnet",
			  lb_format_ip(a, s), ret ? strerror(-ret) : "not a unicast route");
	return 0;
}

/* Add what the targets lack, then delete lbd's entries no target needs (none: @nb NULL). */
static int sync_entries(struct lb_neigh *nb)
{
	char s[LB_ADDR_STR_MAX], ifname[IF_NAMESIZE];
	struct table t = {.nb = nb};
	uint32_t *oif = NULL;
	size_t i, k, n = nb ? nb->n_want : 0;
	int fd, ret;

	fd = lb_nl_open();
	if (fd < 0)
		return fd;
	ret = read_table(fd, &t);
	if (!ret && n && !(oif = calloc(n, sizeof(*oif))))
		ret = -ENOMEM;
	for (i = 0; i < n && !ret; i++) {
		const struct lb_ip *a = &nb->want[i];
		const struct entry *e;
		int r;

		oif[i] = target_iface(nb, a);
		if (!oif[i])
			continue;
		e = find_entry(&t, a, oif[i]);
		if (e && !adoptable(e)) { /* lbd's already, or someone else's to keep */
			succeeded(nb, a);
			continue;
		}
		r = neigh_add(fd, a, oif[i], e);
		/* EEXIST: one came meanwhile; ENOENT: the one adopted went (the watch repairs). */
		if (!r || r == -EEXIST || r == -ENOENT) {
			lb_debug("neighbour entry for dsr target %s added", lb_format_ip(a, s));
			succeeded(nb, a);
		} else {
			warn_once(
				nb, a,
				"dsr target %s: cannot add a managed neighbour entry on %s (%s): "
				"its packets are dropped until the LB resolves it "
				"(drop-dsr-no-neighbour); lbd needs CAP_NET_ADMIN and Linux 5.16 or "
				"later, or add the entry yourself (ip neigh add ... nud permanent)",
				lb_format_ip(a, s), if_indextoname(oif[i], ifname) ? ifname : "?",
				strerror(-r));
		}
	}
	for (k = 0; k < t.n && !ret; k++) {
		const struct entry *e = &t.e[k];
		int r;

		if (e->protocol != LB_NEIGH_PROTOCOL)
			continue;
		for (i = 0; i < n; i++)
			if (oif[i] == e->ifindex && lb_ip_eq(&nb->want[i], &e->addr))
				break;
		if (i < n)
			continue;
		r = neigh_del(fd, &e->addr, e->ifindex);
		if (r && r != -ENOENT)
			lb_warn("cannot delete lbd's neighbour entry for %s, which no dsr target "
				"needs any more: %s",
				lb_format_ip(&e->addr, s), strerror(-r));
		else
			lb_debug("neighbour entry for %s deleted", lb_format_ip(&e->addr, s));
	}
	close(fd);
	free(oif);
	free(t.e);
	return ret;
}

int lb_neigh_set(struct lb_neigh *nb, const struct lb_config *cfg)
{
	struct lb_ip *want = NULL;
	size_t p, g, k, n = 0, cap = 0;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		if (pc->forwarding != LB_FWD_DSR)
			continue;
		for (g = 0; g < lb_proxy_n_groups(pc); g++)
			for (k = 0; k < lb_proxy_group(pc, g)->n; k++) {
				if (n == cap) {
					size_t c = cap ? cap * 2 : 16;
					struct lb_ip *grown = realloc(want, c * sizeof(*grown));

					if (!grown) {
						free(want);
						return -ENOMEM;
					}
					want = grown;
					cap = c;
				}
				want[n++] = lb_proxy_group(pc, g)->t[k].addr;
			}
	}
	free(nb->want);
	nb->want = want;
	nb->n_want = lb_announce_set(want, n);
	/* A target that went is no longer warned of: it may come back, and be logged again. */
	for (k = 0; k < nb->n_warned;)
		if (lb_announce_in(nb->want, nb->n_want, &nb->warned[k]))
			k++;
		else
			nb->warned[k] = nb->warned[--nb->n_warned];
	lb_neigh_repair(nb);
	return 0;
}

void lb_neigh_repair(struct lb_neigh *nb)
{
	int ret;

	/* A configuration without dsr costs no dump once lbd's entries are gone. */
	if (!nb->n_want && nb->clean)
		return;
	ret = sync_entries(nb);
	nb->clean = !ret && !nb->n_want;
	if (ret)
		lb_warn("cannot read the neighbour table (%s): the entries of dsr targets are "
			"not kept until the next change",
			strerror(-ret));
}

int lb_neigh_resolved(const struct lb_ip *a)
{
	struct lb_neigh one = {.want = (struct lb_ip *)a, .n_want = 1};
	struct table t = {.nb = &one};
	const struct entry *e;
	struct lb_route r;
	int fd, ret = lb_route_get(a, &r);

	if (ret || r.type != RTN_UNICAST || !r.oif || r.has_gateway)
		return -ENETUNREACH;
	fd = lb_nl_open();
	if (fd < 0)
		return fd;
	ret = read_table(fd, &t);
	close(fd);
	e = ret ? NULL : find_entry(&t, a, r.oif);
	if (!ret)
		ret = e && (e->state & NEIGH_VALID) && e->lladdr_len;
	free(t.e);
	return ret;
}

int lb_neigh_remove_all(void)
{
	return sync_entries(NULL);
}

/* The entry of a target left the table (deleted, flushed, aged out, its link gone). */
static bool target_deleted(const struct nlmsghdr *n, void *arg)
{
	const struct lb_neigh *nb = arg;
	struct entry e;

	return n->nlmsg_type == RTM_DELNEIGH && read_entry(n, &e) &&
	       lb_announce_in(nb->want, nb->n_want, &e.addr);
}

static void repair(void *arg)
{
	lb_neigh_repair(arg);
}

struct lb_ifwatch *lb_neigh_watch_start(uv_loop_t *loop, struct lb_neigh *nb)
{
	return lb_ifwatch_start_groups(loop, RTMGRP_NEIGH, target_deleted, repair, nb);
}
