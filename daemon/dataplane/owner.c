// SPDX-License-Identifier: MIT
#include "owner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_log.h"

/* The pid holding an flock on the file @st names, from /proc/locks; 0 when not found. */
static int lock_holder(const struct stat *st)
{
	char line[256];
	FILE *f = fopen("/proc/locks", "re");
	int pid = 0;

	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long ino;
		int p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" */
		if (!strstr(line, "FLOCK") ||
		    sscanf(strstr(line, "WRITE") ? strstr(line, "WRITE") + 5 : "", "%d %x:%x:%lu",
			   &p, &maj, &min, &ino) != 4)
			continue;
		if (ino == st->st_ino && makedev(maj, min) == st->st_dev)
			pid = p;
	}
	fclose(f);
	return pid;
}

/* What the holder published in <pin_dir>/lb_owner, if anything. */
static void read_owner(const char *pin_dir, struct lb_owner_rec *rec)
{
	char path[4096 + 16];
	__u32 key = 0;
	int fd;

	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	/* ABI 5's record: pid, pad, socket (no node state), read to name its lbd. */
	struct {
		__u32 pid, pad;
		char socket[LB_OWNER_SOCKET_MAX];
	} old;

	memset(rec, 0, sizeof(*rec));
	snprintf(path, sizeof(path), "%s/lb_owner", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return;
	}
	if (info.value_size == sizeof(*rec)) {
		if (bpf_map_lookup_elem(fd, &key, rec))
			memset(rec, 0, sizeof(*rec));
	} else if (info.value_size == sizeof(old) && !bpf_map_lookup_elem(fd, &key, &old)) {
		rec->pid = old.pid;
		memcpy(rec->socket, old.socket, sizeof(rec->socket));
	}
	rec->socket[sizeof(rec->socket) - 1] = '\0';
	close(fd);
}

int lb_owner_lock(const char *pin_dir, int wait_ms, const char *what, const char *hint, char *err,
		  size_t errlen)
{
	struct lb_owner_rec rec;
	struct stat st;
	int fd, pid, waited = 0;

	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lb_errf(err, errlen, -errno, "cannot open %s: %s", pin_dir, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK && waited < wait_ms) {
		usleep(10 * 1000);
		waited += 10;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		int e = errno;

		close(fd);
		return lb_errf(err, errlen, -e, "cannot lock %s: %s", pin_dir, strerror(e));
	}
	pid = fstat(fd, &st) == 0 ? lock_holder(&st) : 0;
	close(fd);
	read_owner(pin_dir, &rec);
	if (!pid)
		pid = (int)rec.pid;
	return lb_errf(err, errlen, -EBUSY,
		       "%s: lbd pid %d runs the datapath at %s (control socket %s); %s", what, pid,
		       pin_dir, rec.socket[0] ? rec.socket : "unknown", hint);
}

int lb_owner_publish(int owner_fd, const char *socket)
{
	struct lb_owner_rec rec;
	__u32 key = 0;

	/* The node's state is the instance's, not this process's: it stays. */
	if (bpf_map_lookup_elem(owner_fd, &key, &rec))
		memset(&rec, 0, sizeof(rec));
	rec.pid = (__u32)getpid();
	memset(rec.socket, 0, sizeof(rec.socket));
	snprintf(rec.socket, sizeof(rec.socket), "%s", socket ? socket : "");
	return bpf_map_update_elem(owner_fd, &key, &rec, BPF_ANY) ? -errno : 0;
}

int lb_owner_node_get(int owner_fd, struct lb_node_state *out)
{
	struct lb_owner_rec rec;
	__u32 key = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(owner_fd, &key, &rec))
		return -errno;
	out->maintenance = rec.node_flags & LB_NODE_F_MAINTENANCE;
	out->announce_table = rec.announce_table;
	out->announce_protocol = rec.announce_protocol;
	return 0;
}

int lb_owner_node_set(int owner_fd, const struct lb_node_state *s)
{
	struct lb_owner_rec rec;
	__u32 key = 0;

	if (bpf_map_lookup_elem(owner_fd, &key, &rec))
		return -errno;
	rec.node_flags = s->maintenance ? LB_NODE_F_MAINTENANCE : 0;
	rec.announce_table = s->announce_table;
	rec.announce_protocol = s->announce_protocol;
	return bpf_map_update_elem(owner_fd, &key, &rec, BPF_EXIST) ? -errno : 0;
}

int lb_owner_node_read(const char *pin_dir, struct lb_node_state *out)
{
	struct lb_owner_rec rec;

	read_owner(pin_dir, &rec);
	memset(out, 0, sizeof(*out));
	out->maintenance = rec.node_flags & LB_NODE_F_MAINTENANCE;
	out->announce_table = rec.announce_table;
	out->announce_protocol = rec.announce_protocol;
	return 0;
}

bool lb_owner_present(int dir_fd)
{
	struct stat st;

	return fstat(dir_fd, &st) == 0 && st.st_nlink > 0;
}
