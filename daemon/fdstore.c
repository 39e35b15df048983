// SPDX-License-Identifier: MIT
#include "fdstore.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

#include "lb_addr.h"
#include "lb_log.h"
#include "splice.h"

#define ACC_PREFIX "lbd-acc-"
#define FD_PREFIX  "lbd-fd-"
#define STATE_NAME "lbd-state"
#define BARRIER_MS 5000

bool lbd_fdstore_enabled(void)
{
	return lb_sd_fdstore_max() > 0;
}

static int store(int fd, const char *name)
{
	char msg[300];

	/* FDPOLL=0: systemd would drop a descriptor that polls EPOLLERR, which every BPF map
	 * but a ring buffer does, and a socket reset while lbd restarts. lbd cleans up. */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	return lb_sd_notify_fds(msg, &fd, 1);
}

static void unstore(const char *name)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	lb_sd_notify(msg);
}

void lbd_fdstore_listener(void *ctx, const char *proxy, int fd)
{
	char name[256];
	int ret;

	(void)ctx;
	if (!lbd_fdstore_enabled())
		return;
	snprintf(name, sizeof(name), ACC_PREFIX "%s", proxy);
	if (fd < 0) {
		unstore(name);
		return;
	}
	ret = store(fd, name);
	if (ret)
		lb_warn("sni %s: cannot keep the acceptor in systemd's descriptor store: %s", proxy,
			strerror(-ret));
}

/* ---- saving, at a stop ---- */

struct save_ctx {
	int memfd;
	unsigned int next; /* lbd-fd-N */
	size_t records, fds;
	size_t room;		   /* descriptors the store takes besides the state's memfd */
	size_t left_out, left_fds; /* connections that did not fit, their descriptors */
};

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One record: its descriptors into the store, its JSON (naming them) and bytes into the memfd. */
static int save_record(void *arg, struct lb_fdrec *r, void *pair_arg)
{
	struct save_ctx *x = arg;
	const char *kind = json_string_value(json_object_get(r->meta, "kind"));
	json_t *names = json_array();
	uint32_t head[2];
	char *text = NULL, name[256];
	size_t i;
	int ret = names ? 0 : -ENOMEM;

	(void)pair_arg;
	/*
	 * A store that is full drops what comes next, the state's memfd last of all, and the
	 * next lbd would find no connection at all: a connection that does not fit ends with
	 * this lbd instead. The acceptors and the splicer come first (lb_sni_export) and are
	 * always kept: without them no connection could be taken over.
	 */
	if (kind && (!strcmp(kind, "sni-conn") || !strcmp(kind, "splice")) &&
	    x->fds + r->n_fds > x->room) {
		x->left_out++;
		x->left_fds += r->n_fds;
		json_decref(names);
		return 0;
	}
	for (i = 0; i < r->n_fds && !ret; i++) {
		if (kind && !strcmp(kind, "sni-acceptor"))
			snprintf(name, sizeof(name), ACC_PREFIX "%s",
				 json_string_value(json_object_get(r->meta, "proxy")));
		else
			snprintf(name, sizeof(name), FD_PREFIX "%u", x->next++);
		ret = store(r->fds[i], name);
		if (!ret)
			ret = json_array_append_new(names, json_string(name)) ? -ENOMEM : 0;
	}
	if (!ret)
		ret = json_object_set(r->meta, "fd-names", names) ? -ENOMEM : 0;
	text = ret ? NULL : json_dumps(r->meta, JSON_COMPACT);
	if (!ret && !text)
		ret = -ENOMEM;
	if (!ret) {
		head[0] = (uint32_t)strlen(text);
		head[1] = (uint32_t)r->blob_len;
		ret = write_all(x->memfd, head, sizeof(head));
	}
	if (!ret)
		ret = write_all(x->memfd, text, strlen(text));
	if (!ret && r->blob_len)
		ret = write_all(x->memfd, r->blob, r->blob_len);
	if (!ret) {
		x->records++;
		x->fds += r->n_fds;
	}
	free(text);
	json_decref(names);
	return ret;
}

int lbd_fdstore_save(struct lbd *l, char *err, size_t errlen)
{
	struct save_ctx x = {.memfd = memfd_create(STATE_NAME, MFD_CLOEXEC)};
	long max = lb_sd_fdstore_max();
	int ret;

	if (x.memfd < 0)
		return lb_errf(err, errlen, -errno, "memfd_create: %s", strerror(errno));
	/* No lbd forwards copied pairs until the next one runs: the kernel does meanwhile. */
	if (l->splicer)
		lb_splicer_park(l->splicer);
	x.room = max > 1 ? (size_t)max - 1 : 0;
	ret = lb_sni_export(l->sni, save_record, &x);
	if (!ret)
		ret = store(x.memfd, STATE_NAME);
	if (!ret)
		ret = lb_sd_barrier(BARRIER_MS);
	close(x.memfd);
	if (ret)
		return lb_errf(err, errlen, ret,
			       "cannot keep the SNI connections in systemd's descriptor store: %s",
			       strerror(-ret));
	lb_info("kept %zu SNI object%s (%zu descriptors) in systemd's descriptor store for the "
		"next lbd",
		x.records, x.records == 1 ? "" : "s", x.fds);
	if (x.left_out)
		lb_warn("systemd's descriptor store takes %ld descriptors (FileDescriptorStoreMax=): "
			"%zu SNI connection%s (%zu descriptors) did not fit and end with this lbd; "
			"raise FileDescriptorStoreMax= in lbd.service",
			max, x.left_out, x.left_out == 1 ? "" : "s", x.left_fds);
	return 0;
}

/* ---- loading, at a start ---- */

static int find(struct lb_sd_fd *fds, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i].fd >= 0 && !strcmp(fds[i].name, name))
			return (int)i;
	return -1;
}

static int take(struct lb_sd_fd *fds, size_t n, const char *name)
{
	int i = find(fds, n, name), fd;

	if (i < 0)
		return -1;
	fd = fds[i].fd;
	fds[i].fd = -1;
	return fd;
}

static bool lost_fd(const struct lb_fdrec *r)
{
	size_t i;

	for (i = 0; i < r->n_fds; i++)
		if (r->fds[i] < 0)
			return true;
	return false;
}

static bool is_connection(const struct lb_fdrec *r)
{
	const char *kind = json_string_value(json_object_get(r->meta, "kind"));

	return kind && (!strcmp(kind, "sni-conn") || !strcmp(kind, "splice"));
}

/* The records of the state memfd @memfd, their descriptors taken from @fds. */
static int load_state(int memfd, struct lb_sd_fd *fds, size_t n, const char *socket_path,
		      struct lbd_takeover *t)
{
	off_t size = lseek(memfd, 0, SEEK_END), at = 0;
	uint8_t *map;
	int ret = 0, records = 0;

	if (size <= 0)
		return size < 0 ? -errno : 0;
	map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, memfd, 0);
	if (map == MAP_FAILED)
		return -errno;
	while (!ret && at < size) {
		struct lb_fdrec r = {0};
		json_t *names;
		uint32_t head[2];
		size_t i;

		if (size - at < (off_t)sizeof(head)) {
			ret = -EPROTO;
			break;
		}
		memcpy(head, map + at, sizeof(head));
		at += sizeof(head);
		if ((off_t)head[0] + head[1] > size - at) {
			ret = -EPROTO;
			break;
		}
		r.meta = json_loadb((const char *)map + at, head[0], 0, NULL);
		at += head[0];
		r.blob = malloc(head[1] ? head[1] : 1);
		if (!json_is_object(r.meta) || !r.blob) {
			lb_fdrec_release(&r);
			ret = r.blob ? -EPROTO : -ENOMEM;
			break;
		}
		memcpy(r.blob, map + at, head[1]);
		r.blob_len = head[1];
		at += head[1];
		names = json_object_get(r.meta, "fd-names");
		for (i = 0; i < json_array_size(names) && i < LB_FDREC_MAX_FDS; i++)
			r.fds[r.n_fds++] =
				take(fds, n, json_string_value(json_array_get(names, i)));
		if (lost_fd(&r)) {
			/* A connection the store lost alone (systemd drops what polls an error
			 * unless told otherwise); anything else is needed by everything after. */
			if (!is_connection(&r))
				ret = -ENOENT;
			else
				lb_warn("a connection kept in systemd's descriptor store was lost "
					"while lbd restarted");
			for (i = 0; i < json_array_size(names); i++) /* no copy left open */
				unstore(json_string_value(json_array_get(names, i)));
		} else {
			ret = lbd_takeover_add(t, &r, socket_path);
			records++;
		}
		lb_fdrec_release(&r);
	}
	munmap(map, (size_t)size);
	return ret ? ret : records;
}

static bool has_acceptor(const struct lbd_takeover *t, const char *proxy)
{
	size_t i;

	for (i = 0; i < t->n_acceptors; i++)
		if (!strcmp(json_string_value(json_object_get(t->acceptors[i].meta, "proxy")),
			    proxy))
			return true;
	return false;
}

int lbd_fdstore_load(struct lb_sd_fd *fds, size_t n, const char *socket_path,
		     struct lbd_takeover *t, char *err, size_t errlen)
{
	int memfd = take(fds, n, STATE_NAME), ret = 0, records = 0;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->control_fd = -1;
	if (memfd >= 0) {
		ret = load_state(memfd, fds, n, socket_path, t);
		close(memfd);
		unstore(STATE_NAME);
		if (ret < 0) {
			lbd_takeover_release(t);
			lb_errf(err, errlen, ret,
				"the SNI state the previous lbd stored is unusable (%s): its "
				"connections are lost",
				strerror(-ret));
		} else {
			records = ret;
		}
	}
	/* Listeners no state names (a crash): acceptors, whose port the socket tells. */
	for (i = 0; i < n; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		struct lb_fdrec r = {.fds = {fds[i].fd}, .n_fds = 1};
		struct lb_ip addr;
		uint16_t port;

		if (fds[i].fd < 0 || strncmp(fds[i].name, ACC_PREFIX, strlen(ACC_PREFIX)))
			continue;
		fds[i].fd = -1;
		if (has_acceptor(t, fds[i].name + strlen(ACC_PREFIX))) {
			close(r.fds[0]); /* stored twice: the state named the other copy */
			continue;
		}
		/* The acceptor listens on every address of both families (AF_INET6, [::]). */
		if (getsockname(r.fds[0], (struct sockaddr *)&sa, &len) ||
		    lb_ip_of_sockaddr((struct sockaddr *)&sa, &addr, &port)) {
			lb_fdrec_release(&r);
			continue;
		}
		r.meta = json_pack("{s:s, s:s, s:i}", "kind", "sni-acceptor", "proxy",
				   fds[i].name + strlen(ACC_PREFIX), "port", port);
		if (r.meta && !lbd_takeover_add(t, &r, socket_path))
			records++;
		lb_fdrec_release(&r);
	}
	/* Whatever is left of ours went stale: out of the store, closed. */
	for (i = 0; i < n; i++) {
		if (fds[i].fd < 0 || strncmp(fds[i].name, "lbd-", 4))
			continue;
		unstore(fds[i].name);
		close(fds[i].fd);
		fds[i].fd = -1;
	}
	/* What this lbd now holds must not also stay in the store (a close would not close). */
	for (i = 0; i < t->n_conns; i++) {
		json_t *names = json_object_get(t->conns[i].meta, "fd-names");
		size_t k;

		for (k = 0; k < json_array_size(names); k++)
			unstore(json_string_value(json_array_get(names, k)));
	}
	{
		json_t *names = json_object_get(t->splicer.meta, "fd-names");
		size_t k;

		for (k = 0; k < json_array_size(names); k++)
			unstore(json_string_value(json_array_get(names, k)));
	}
	return ret < 0 ? ret : records;
}
