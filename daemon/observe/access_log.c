// SPDX-License-Identifier: MIT
/*
 * access_log.c - the JSON-lines access log: encoding a record into one line, appending it
 * with one write(), reopening the file for logrotate, and counting what was lost.
 */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_log.h"

#define LINE_CAP_MIN 512 /* a connection record is a few hundred bytes */

struct lb_access_log {
	char *path;
	int fd;
	/*
	 * The line being written, at buf + 1. buf[0] is always '\n': after a line was cut short
	 * the next write starts there, so the fragment ends and the new line stays whole.
	 */
	char *buf;
	size_t cap;
	bool torn;	  /* the file ends inside a line */
	int warned;	  /* errno of the last failure logged; 0 while writes succeed */
	uint64_t lost_at; /* lines lost before that failure was logged */
	uint64_t written; /* lines written whole */
	uint64_t failed;  /* lines lost */
};

static int open_file(const char *path)
{
	/* O_APPEND: every write lands at the end, wherever another writer or a truncate left it. */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int lb_access_log_open(struct lb_access_log **out, const char *path, char *err, size_t errlen)
{
	struct lb_access_log *a;
	int ret;

	if (!out || !path)
		return lb_errf(err, errlen, -EINVAL, "cannot open access log: no path was given");
	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	a->fd = -1;
	a->path = strdup(path);
	a->cap = LINE_CAP_MIN;
	a->buf = malloc(a->cap);
	if (!a->path || !a->buf)
		goto nomem;
	a->buf[0] = '\n';
	a->fd = open_file(path);
	if (a->fd < 0) {
		ret = -errno;
		lb_access_log_close(a);
		return lb_errf(err, errlen, ret, "cannot open access log %s: %s", path,
			       strerror(-ret));
	}
	*out = a;
	return 0;
nomem:
	lb_access_log_close(a);
	return lb_errf(err, errlen, -ENOMEM, "cannot open access log %s: %s", path,
		       strerror(ENOMEM));
}

/* @record as one compact line at a->buf + 1, its '\n' included; *len is its length. */
static int encode(struct lb_access_log *a, json_t *record, size_t *len)
{
	size_t n;
	char *b;

	if (!json_is_object(record))
		return -EINVAL;
	/* Twice at most: the first pass says how much room the line needs. */
	for (;;) {
		n = json_dumpb(record, a->buf + 1, a->cap - 2, JSON_COMPACT);
		if (!n)
			return -EINVAL; /* e.g. a string that is not UTF-8 */
		if (n <= a->cap - 2)
			break;
		b = realloc(a->buf, n + 2);
		if (!b)
			return -ENOMEM;
		a->buf = b;
		a->cap = n + 2;
	}
	a->buf[1 + n] = '\n';
	*len = n + 1;
	return 0;
}

/*
 * One line lost for @ret (-errno) while doing @what, which leads to @then: counted always,
 * logged only when the reason differs from the last one logged, so a full disk gives one
 * warning, not one a line.
 */
static int lose(struct lb_access_log *a, int ret, const char *what, const char *then)
{
	if (-ret != a->warned) {
		if (!a->warned)
			a->lost_at = a->failed;
		a->warned = -ret;
		lb_warn("access log %s: %s: %s; %s", a->path, what, strerror(-ret), then);
	}
	a->failed++;
	return ret;
}

int lb_access_log_write(struct lb_access_log *a, json_t *record)
{
	size_t len, off, end;
	ssize_t w;
	int ret;

	if (!a)
		return -EINVAL;
	ret = encode(a, record, &len);
	if (ret)
		return lose(a, ret, "cannot encode a record",
			    "records that are not JSON objects of UTF-8 text are left out");
	off = a->torn ? 0 : 1;
	end = 1 + len;
	/* One write() for the line; more only when the kernel took part of it. */
	while (off < end) {
		w = write(a->fd, a->buf + off, end - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
		/* Only the line's last byte or the leading newline leave the file at a line end. */
		a->torn = a->buf[off - 1] != '\n';
	}
	if (ret)
		return lose(a, ret, "cannot write", "lines are lost until writing works again");
	a->written++;
	if (a->warned) {
		lb_info("access log %s: writing again; lines lost: %llu", a->path,
			(unsigned long long)(a->failed - a->lost_at));
		a->warned = 0;
	}
	return 0;
}

/* Do @x and @y refer to the same file? False when either cannot be asked. */
static bool same_file(int x, int y)
{
	struct stat sx, sy;

	return !fstat(x, &sx) && !fstat(y, &sy) && sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

int lb_access_log_reopen(struct lb_access_log *a, char *err, size_t errlen)
{
	int fd, ret;

	if (!a)
		return lb_errf(err, errlen, -EINVAL, "cannot reopen access log: none is open");
	fd = open_file(a->path);
	if (fd < 0) {
		ret = -errno;
		return lb_errf(err, errlen, ret, "cannot reopen access log %s: %s", a->path,
			       strerror(-ret));
	}
	/* A file logrotate moved away keeps its fragment; the fresh one starts clean. */
	if (a->torn && !same_file(fd, a->fd))
		a->torn = false;
	close(a->fd);
	a->fd = fd;
	return 0;
}

uint64_t lb_access_log_written(const struct lb_access_log *a)
{
	return a ? a->written : 0;
}

uint64_t lb_access_log_failed(const struct lb_access_log *a)
{
	return a ? a->failed : 0;
}

const char *lb_access_log_path(const struct lb_access_log *a)
{
	return a ? a->path : NULL;
}

void lb_access_log_close(struct lb_access_log *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a->buf);
	free(a->path);
	free(a);
}
