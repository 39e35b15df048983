// SPDX-License-Identifier: MIT
#include "if_sysctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lb_log.h"

#define MARK_PREFIX "was_"

static const char *const names[] = {
	[LB_SYSCTL_ROUTE_LOCALNET] = "route_localnet",
	[LB_SYSCTL_ACCEPT_LOCAL] = "accept_local",
};

const char *lb_if_sysctl_name(enum lb_if_sysctl s)
{
	return names[s];
}

static int proc_path(char *buf, size_t len, const char *ifname, enum lb_if_sysctl s)
{
	return snprintf(buf, len, "/proc/sys/net/ipv4/conf/%s/%s", ifname, names[s]) >= (int)len
		       ? -ENAMETOOLONG
		       : 0;
}

static int read_value(const char *ifname, enum lb_if_sysctl s)
{
	char path[128], buf[32] = "";
	ssize_t n;
	int fd;

	if (proc_path(path, sizeof(path), ifname, s))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n <= 0 ? -EIO : atoi(buf);
}

static int write_value(const char *ifname, enum lb_if_sysctl s, int v)
{
	char path[128], buf[16];
	int fd, len = snprintf(buf, sizeof(buf), "%d\n", v);
	ssize_t n;

	if (proc_path(path, sizeof(path), ifname, s))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, (size_t)len);
	close(fd);
	return n == len ? 0 : -EIO;
}

/*
 * A mark's name split: the sysctl, its value and the interface ("was_accept_local_0_eth0";
 * an interface name may hold '_' itself, so it comes last). False for other pins.
 */
static bool parse_mark(const char *name, enum lb_if_sysctl *s, int *value, const char **ifname)
{
	size_t i, len;
	char *end;
	long v;

	if (strncmp(name, MARK_PREFIX, strlen(MARK_PREFIX)))
		return false;
	name += strlen(MARK_PREFIX);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		len = strlen(names[i]);
		if (!strncmp(name, names[i], len) && name[len] == '_')
			break;
	}
	if (i == sizeof(names) / sizeof(names[0]))
		return false;
	errno = 0;
	v = strtol(name + len + 1, &end, 10);
	if (errno || end == name + len + 1 || *end != '_' || !end[1] || v < 0 || v > INT_MAX)
		return false;
	*s = (enum lb_if_sysctl)i;
	*value = (int)v;
	*ifname = end + 1;
	return true;
}

/* The value the mark of (@ifname, @s) keeps, its name in @path; -1 when there is none. */
static int find_mark(const char *pin_dir, const char *ifname, enum lb_if_sysctl s, char *path,
		     size_t len)
{
	DIR *d = opendir(pin_dir);
	struct dirent *de;
	int found = -1;

	while (d && found < 0 && (de = readdir(d))) {
		const char *name;
		enum lb_if_sysctl ms;
		int v;

		if (parse_mark(de->d_name, &ms, &v, &name) && ms == s && !strcmp(name, ifname)) {
			snprintf(path, len, "%s/%s", pin_dir, de->d_name);
			found = v;
		}
	}
	if (d)
		closedir(d);
	return found;
}

int lb_if_sysctl_raise(const char *pin_dir, int mark_fd, const char *ifname, enum lb_if_sysctl s)
{
	char path[PATH_MAX];
	int cur = read_value(ifname, s), was = find_mark(pin_dir, ifname, s, path, sizeof(path));

	if (cur < 0)
		return cur;
	if (cur == 1)
		return was; /* an earlier lbd's, or someone else's (-1) */
	if (write_value(ifname, s, 1))
		return -EIO;
	if (was >= 0)
		return was; /* set back to its old value under us: the mark still says what */
	if (snprintf(path, sizeof(path), "%s/" MARK_PREFIX "%s_%d_%s", pin_dir, names[s], cur,
		     ifname) >= (int)sizeof(path) ||
	    bpf_obj_pin(mark_fd, path))
		lb_warn("%s: cannot keep its %s value (%d) with the datapath (%s): a restarted lbd "
			"or lbd --teardown will leave it at 1",
			ifname, names[s], cur, strerror(errno));
	lb_info("%s: set net.ipv4.conf.%s.%s=1 (was %d)", ifname, ifname, names[s], cur);
	return cur;
}

void lb_if_sysctl_restore(const char *pin_dir, const char *ifname, enum lb_if_sysctl s)
{
	char path[PATH_MAX];
	int was = find_mark(pin_dir, ifname, s, path, sizeof(path));

	if (was < 0)
		return;
	if (write_value(ifname, s, was))
		lb_warn("%s: cannot put net.ipv4.conf.%s.%s back to %d", ifname, ifname, names[s],
			was);
	else
		lb_info("%s: net.ipv4.conf.%s.%s back to %d", ifname, ifname, names[s], was);
	unlink(path);
}

void lb_if_sysctl_forget(const char *pin_dir, const char *ifname, enum lb_if_sysctl s)
{
	char path[PATH_MAX];

	if (find_mark(pin_dir, ifname, s, path, sizeof(path)) >= 0)
		unlink(path);
}

int lb_if_sysctl_restore_all(const char *pin_dir)
{
	DIR *d = opendir(pin_dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		const char *ifname;
		enum lb_if_sysctl s;
		int v;

		if (!parse_mark(de->d_name, &s, &v, &ifname) || !if_nametoindex(ifname))
			continue;
		if (write_value(ifname, s, v)) {
			lb_warn("%s: cannot put net.ipv4.conf.%s.%s back to %d", ifname, ifname,
				names[s], v);
			continue;
		}
		lb_info("%s: net.ipv4.conf.%s.%s back to %d", ifname, ifname, names[s], v);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}
