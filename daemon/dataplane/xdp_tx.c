// SPDX-License-Identifier: MIT
#include "xdp_tx.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_log.h"

/* linux/netdev.h (Linux 6.3+; Debian 12's headers are 6.1's). */
#define NETDEV_NAME	      "netdev"
#define NETDEV_MCGRP	      "mgmt"
#define NETDEV_CMD_GET	      1
#define NETDEV_A_IFINDEX      1
#define NETDEV_A_XDP_FEATURES 3

struct nl_req {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char attrs[64];
};

static int nl_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int nl_send(int fd, struct nl_req *r)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};

	return sendto(fd, r, r->n.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno
											: 0;
}

/* Walk the attributes of a generic netlink message @n: @fn(type, payload, len, arg). */
static void genl_attrs(const struct nlmsghdr *n, void (*fn)(int, const void *, int, void *),
		       void *arg)
{
	const struct nlattr *a = (const void *)((const char *)NLMSG_DATA(n) + GENL_HDRLEN);
	int left = (int)n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	while (left >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		fn(a->nla_type & NLA_TYPE_MASK, (const char *)a + NLA_HDRLEN,
		   a->nla_len - NLA_HDRLEN, arg);
		left -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

/*
 * Read replies to the request just sent until its end (a dump's NLMSG_DONE, the one reply
 * of anything else, or an error), calling @fn for each data message. 0 or the kernel's
 * -errno. (The "netdev" family's dump messages do not carry NLM_F_MULTI.)
 */
static int nl_recv_all(int fd, bool dump, void (*fn)(const struct nlmsghdr *, void *), void *arg)
{
	char buf[16384] __attribute__((aligned(4)));

	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *n;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (n = (void *)buf; NLMSG_OK(n, (size_t)len); n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_type == NLMSG_DONE)
				return 0;
			if (n->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(n);

				return e->error;
			}
			fn(n, arg);
			if (!dump)
				return 0;
		}
	}
}

struct family {
	int id, mcgrp;
};

static void family_grp(int type, const void *p, int len, void *arg)
{
	const struct nlattr *a = p;
	struct family *f = arg;
	const char *name = NULL;
	int id = -1;

	(void)type;
	/* One group: CTRL_ATTR_MCAST_GRP_NAME and _ID. */
	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= len) {
		int plen = a->nla_len - NLA_HDRLEN;

		/* The name only when NUL-terminated within its attribute. */
		if (a->nla_type == CTRL_ATTR_MCAST_GRP_NAME && plen > 0 &&
		    memchr((const char *)a + NLA_HDRLEN, 0, (size_t)plen))
			name = (const char *)a + NLA_HDRLEN;
		else if (a->nla_type == CTRL_ATTR_MCAST_GRP_ID && plen >= (int)sizeof(id))
			memcpy(&id, (const char *)a + NLA_HDRLEN, sizeof(id));
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	if (name && !strcmp(name, NETDEV_MCGRP))
		f->mcgrp = id;
}

static void family_attr(int type, const void *p, int len, void *arg)
{
	struct family *f = arg;
	const struct nlattr *g = p;
	__u16 id;

	if (type == CTRL_ATTR_FAMILY_ID && len >= 2) {
		memcpy(&id, p, sizeof(id));
		f->id = id;
	} else if (type == CTRL_ATTR_MCAST_GROUPS) {
		while (len >= (int)sizeof(*g) && g->nla_len >= sizeof(*g) && g->nla_len <= len) {
			family_grp(0, (const char *)g + NLA_HDRLEN, g->nla_len - NLA_HDRLEN, f);
			len -= NLA_ALIGN(g->nla_len);
			g = (const void *)((const char *)g + NLA_ALIGN(g->nla_len));
		}
	}
}

static void family_msg(const struct nlmsghdr *n, void *arg)
{
	genl_attrs(n, family_attr, arg);
}

/* The "netdev" family's id and its "mgmt" group on @fd. 0, -ENOENT (no such family). */
static int netdev_family(int fd, struct family *f)
{
	struct nl_req r = {0};
	struct nlattr *a = (void *)r.attrs;
	int ret;

	r.n.nlmsg_type = GENL_ID_CTRL;
	r.n.nlmsg_flags = NLM_F_REQUEST;
	r.n.nlmsg_seq = 1;
	r.g.cmd = CTRL_CMD_GETFAMILY;
	r.g.version = 1;
	a->nla_type = CTRL_ATTR_FAMILY_NAME;
	a->nla_len = NLA_HDRLEN + sizeof(NETDEV_NAME);
	memcpy((char *)a + NLA_HDRLEN, NETDEV_NAME, sizeof(NETDEV_NAME));
	r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(a->nla_len);
	f->id = -1;
	f->mcgrp = -1;
	ret = nl_send(fd, &r);
	if (!ret)
		ret = nl_recv_all(fd, false, family_msg, f);
	if (!ret && f->id < 0)
		ret = -ENOENT;
	return ret;
}

struct feat_list {
	struct lb_xdp_feat *e;
	size_t n, cap;
	int err;
	struct lb_xdp_feat cur;
};

static void feat_attr(int type, const void *p, int len, void *arg)
{
	struct lb_xdp_feat *cur = arg;

	if (type == NETDEV_A_IFINDEX && len >= 4)
		memcpy(&cur->ifindex, p, 4);
	else if (type == NETDEV_A_XDP_FEATURES && len >= 8)
		memcpy(&cur->flags, p, 8);
}

static void feat_msg(const struct nlmsghdr *n, void *arg)
{
	struct feat_list *l = arg;
	struct lb_xdp_feat cur = {0};

	genl_attrs(n, feat_attr, &cur);
	if (!cur.ifindex || l->err)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct lb_xdp_feat *grown = realloc(l->e, cap * sizeof(*grown));

		if (!grown) {
			l->err = -ENOMEM;
			return;
		}
		l->e = grown;
		l->cap = cap;
	}
	l->e[l->n++] = cur;
}

int lb_xdp_feat_dump(struct lb_xdp_feat **out, size_t *n)
{
	struct feat_list l = {0};
	struct nl_req r = {0};
	struct family f;
	int fd = nl_open(), ret;

	if (fd < 0)
		return fd;
	ret = netdev_family(fd, &f);
	if (!ret) {
		r.n.nlmsg_type = (__u16)f.id;
		r.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		r.n.nlmsg_seq = 2;
		r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
		r.g.cmd = NETDEV_CMD_GET;
		r.g.version = 1;
		ret = nl_send(fd, &r);
	}
	if (!ret)
		ret = nl_recv_all(fd, true, feat_msg, &l);
	close(fd);
	if (!ret)
		ret = l.err;
	if (ret) {
		free(l.e);
		return ret;
	}
	*out = l.e;
	*n = l.n;
	return 0;
}

/*
 * Up and with a carrier: a veth whose peer is down stays up without one, and a frame
 * redirected to it is lost where the kernel's path would queue or count it. The carrier
 * coming back is a link event, which re-syncs the map.
 */
static bool iface_running(int sock, uint32_t ifindex)
{
	struct ifreq ifr = {0};

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return false;
	return ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) &&
	       (ifr.ifr_flags & IFF_RUNNING);
}

static bool in_list(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void log_change(uint32_t ifindex, bool added)
{
	char name[IF_NAMESIZE] = "?";

	if_indextoname(ifindex, name);
	lb_info("%s: %s", name,
		added ? "takes XDP frames: the fast path redirects there at XDP"
		      : "does not take XDP frames (any more, or has no carrier): the fast path "
			"falls back to the kernel there at XDP");
}

int lb_xdp_tx_sync(int map_fd, const uint32_t *native, size_t n_native, bool *known)
{
	struct lb_xdp_feat *feat = NULL;
	uint32_t *want = NULL, key, next, *stale = NULL;
	size_t n_feat = 0, n_want = 0, n_stale = 0, i;
	int sock, ret, count = 0;

	ret = lb_xdp_feat_dump(&feat, &n_feat);
	*known = ret == 0;
	if (ret && ret != -ENOENT)
		return ret;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	want = calloc((*known ? n_feat : n_native) + 1, sizeof(*want));
	stale = calloc(LB_MAX_FAST_TX, sizeof(*stale));
	if (sock < 0 || !want || !stale) {
		ret = sock < 0 ? -errno : -ENOMEM;
		goto out;
	}
	if (*known) {
		for (i = 0; i < n_feat; i++)
			if ((feat[i].flags & LB_XDP_ACT_NDO_XMIT) &&
			    iface_running(sock, feat[i].ifindex))
				want[n_want++] = feat[i].ifindex;
	} else {
		for (i = 0; i < n_native; i++)
			if (iface_running(sock, native[i]))
				want[n_want++] = native[i];
	}
	/* What the map holds and should not: collected first, deleting while walking skips. */
	for (ret = bpf_map_get_next_key(map_fd, NULL, &next); !ret && n_stale < LB_MAX_FAST_TX;
	     ret = bpf_map_get_next_key(map_fd, &key, &next)) {
		key = next;
		if (!in_list(want, n_want, key))
			stale[n_stale++] = key;
	}
	for (i = 0; i < n_stale; i++)
		if (!bpf_map_delete_elem(map_fd, &stale[i]))
			log_change(stale[i], false);
	ret = 0;
	for (i = 0; i < n_want; i++) {
		uint32_t v;

		if (!bpf_map_lookup_elem(map_fd, &want[i], &v)) {
			count++;
			continue;
		}
		if (bpf_map_update_elem(map_fd, &want[i], &want[i], BPF_ANY)) {
			/* Gone meanwhile (its removal syncs again), or the map is full. */
			lb_debug("lb_fast_tx: cannot add ifindex %u: %s", want[i], strerror(errno));
			continue;
		}
		log_change(want[i], true);
		count++;
	}
	ret = count;
out:
	if (sock >= 0)
		close(sock);
	free(stale);
	free(want);
	free(feat);
	return ret;
}

void lb_xdp_tx_clear(int map_fd)
{
	uint32_t key;

	while (!bpf_map_get_next_key(map_fd, NULL, &key) && !bpf_map_delete_elem(map_fd, &key))
		;
}

struct lb_ifwatch *lb_xdp_watch_start(uv_loop_t *loop, void (*cb)(void *), void *arg)
{
	struct family f;
	int fd = nl_open(), ret;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	ret = netdev_family(fd, &f);
	if (!ret && f.mcgrp < 0)
		ret = -ENOENT;
	if (!ret && setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &f.mcgrp, sizeof(f.mcgrp)))
		ret = -errno;
	if (ret) {
		close(fd);
		errno = -ret;
		return NULL;
	}
	return lb_ifwatch_start_fd(loop, fd, NULL, cb, arg);
}
