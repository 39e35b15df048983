// SPDX-License-Identifier: MIT
#include "lb_fdrec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FDREC_MAGIC 0x6c626472u /* "lbdr" */

struct wire_head {
	uint32_t magic;
	uint32_t json_len;
	uint32_t blob_len;
	uint32_t n_fds;
};

static int send_all(int sock, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int sock, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(sock, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_fdrec_send(int sock, const struct lb_fdrec *r)
{
	char cbuf[CMSG_SPACE(sizeof(int) * LB_FDREC_MAX_FDS)] = {0};
	struct wire_head h = {.magic = FDREC_MAGIC};
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	char *text;
	size_t len;
	ssize_t n;
	int ret;

	if (r->n_fds > LB_FDREC_MAX_FDS || r->blob_len > LB_FDREC_MAX_BLOB)
		return -EMSGSIZE;
	text = json_dumps(r->meta, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	if (len > LB_FDREC_MAX_JSON) {
		free(text);
		return -EMSGSIZE;
	}
	h.json_len = (uint32_t)len;
	h.blob_len = (uint32_t)r->blob_len;
	h.n_fds = (uint32_t)r->n_fds;
	if (r->n_fds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * r->n_fds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * r->n_fds);
		memcpy(CMSG_DATA(cm), r->fds, sizeof(int) * r->n_fds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n < sizeof(h)) /* the descriptors went with the first byte */
		ret = send_all(sock, (uint8_t *)&h + n, sizeof(h) - (size_t)n);
	else
		ret = 0;
	if (!ret)
		ret = send_all(sock, text, len);
	if (!ret && r->blob_len)
		ret = send_all(sock, r->blob, r->blob_len);
	free(text);
	return ret;
}

int lb_fdrec_recv(int sock, struct lb_fdrec *r)
{
	char cbuf[CMSG_SPACE(sizeof(int) * LB_FDREC_MAX_FDS)];
	struct wire_head h;
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	char *text = NULL;
	json_error_t je;
	ssize_t n;
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < LB_FDREC_MAX_FDS; i++)
		r->fds[i] = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k, got;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		got = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < got; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (r->n_fds < LB_FDREC_MAX_FDS)
				r->fds[r->n_fds++] = fd;
			else
				close(fd);
		}
	}
	ret = (size_t)n < sizeof(h) ? recv_all(sock, (uint8_t *)&h + n, sizeof(h) - (size_t)n) : 0;
	if (ret)
		goto err;
	if ((mh.msg_flags & MSG_CTRUNC) || h.magic != FDREC_MAGIC || h.n_fds != r->n_fds ||
	    h.json_len > LB_FDREC_MAX_JSON || h.blob_len > LB_FDREC_MAX_BLOB) {
		ret = -EPROTO;
		goto err;
	}
	text = malloc(h.json_len + 1);
	r->blob = malloc(h.blob_len ? h.blob_len : 1);
	if (!text || !r->blob) {
		ret = -ENOMEM;
		goto err;
	}
	ret = recv_all(sock, text, h.json_len);
	if (!ret && h.blob_len)
		ret = recv_all(sock, r->blob, h.blob_len);
	if (ret)
		goto err;
	text[h.json_len] = '\0';
	r->blob_len = h.blob_len;
	r->meta = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(r->meta)) {
		ret = -EPROTO;
		goto err;
	}
	free(text);
	return 0;
err:
	free(text);
	lb_fdrec_release(r);
	return ret;
}

void lb_fdrec_release(struct lb_fdrec *r)
{
	size_t i;

	for (i = 0; i < r->n_fds; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	json_decref(r->meta);
	free(r->blob);
	memset(r, 0, sizeof(*r));
}

int lb_fdrec_take_fd(struct lb_fdrec *r, size_t i)
{
	int fd;

	if (i >= r->n_fds)
		return -1;
	fd = r->fds[i];
	r->fds[i] = -1;
	return fd;
}
