// SPDX-License-Identifier: MIT
#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int lb_sd_listen_fds(struct lb_sd_fd **out)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	struct lb_sd_fd *v;
	long n, i;

	*out = NULL;
	/* LISTEN_PID guards against variables inherited by a process they were not for. */
	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	n = strtol(fds, NULL, 10);
	if (n <= 0 || n > 1 << 20)
		n = 0;
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *end = names ? strchr(names, ':') : NULL;
		size_t len = names ? (end ? (size_t)(end - names) : strlen(names)) : 0;

		v[i].fd = LB_SD_LISTEN_FDS_START + (int)i;
		fcntl(v[i].fd, F_SETFD, FD_CLOEXEC);
		snprintf(v[i].name, sizeof(v[i].name), "%.*s", (int)len, names ? names : "");
		names = end ? end + 1 : NULL;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	*out = v;
	return (int)n;
}

int lb_sd_notify(const char *state)
{
	return lb_sd_notify_fds(state, NULL, 0);
}

int lb_sd_notify_fds(const char *state, const int *fds, size_t n_fds)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t salen;
	size_t len;
	ssize_t n;
	int fd;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	salen = offsetof(struct sockaddr_un, sun_path) + len;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	{
		char cbuf[CMSG_SPACE(sizeof(int) * LB_SD_NOTIFY_MAX_FDS)] = {0};
		struct iovec iov = {.iov_base = (void *)state, .iov_len = strlen(state)};
		struct msghdr mh = {
			.msg_name = &sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1};

		if (n_fds > LB_SD_NOTIFY_MAX_FDS) {
			close(fd);
			return -EINVAL;
		}
		if (n_fds) {
			struct cmsghdr *cm;

			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
		}
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

long lb_sd_fdstore_max(void)
{
	const char *v = getenv("FDSTORE");

	return getenv("NOTIFY_SOCKET") && v ? strtol(v, NULL, 10) : 0;
}

int lb_sd_barrier(int timeout_ms)
{
	struct pollfd pf;
	int p[2], ret;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	/* systemd closes its copy of the write end once it has read everything before it. */
	ret = lb_sd_notify_fds("BARRIER=1", &p[1], 1);
	close(p[1]);
	if (!ret) {
		pf.fd = p[0];
		pf.events = POLLIN;
		do
			ret = poll(&pf, 1, timeout_ms);
		while (ret < 0 && errno == EINTR);
		ret = ret > 0 ? 0 : ret == 0 ? -ETIMEDOUT : -errno;
	}
	close(p[0]);
	return ret;
}

/* A positive decimal number that fills the whole string; -1 otherwise. */
static long long parse_positive(const char *s)
{
	unsigned long long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > (unsigned long long)INT64_MAX)
		return -1;
	return (long long)v;
}

long long lb_sd_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	long long u, p;

	if (!usec)
		return 0;
	u = parse_positive(usec);
	if (u < 0)
		return -EINVAL;
	if (pid) {
		p = parse_positive(pid);
		if (p < 0)
			return -EINVAL;
		/* Meant for another process (we were forked by the one it was for): keep it. */
		if (p != (long long)getpid())
			return 0;
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return u;
}
