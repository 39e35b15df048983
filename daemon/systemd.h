/* SPDX-License-Identifier: MIT */
/*
 * systemd.h - the systemd protocols lbd speaks, by hand (no libsystemd): socket
 * activation and descriptors given back (LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES),
 * notification (NOTIFY_SOCKET): readiness, the file-descriptor store (FDSTORE=1),
 * barriers, and the watchdog (WATCHDOG_USEC/WATCHDOG_PID). All are no-ops outside systemd.
 */
#ifndef LBD_SYSTEMD_H
#define LBD_SYSTEMD_H

#include <stddef.h>

#define LB_SD_LISTEN_FDS_START 3

/* A descriptor systemd passed: a socket of lbd.socket, or one lbd stored (FDSTORE=1). */
struct lb_sd_fd {
	int fd;
	char name[256]; /* FileDescriptorName= or FDNAME=; "" when systemd gave none */
};

/*
 * The descriptors systemd passed to this process (LISTEN_FDS, with LISTEN_FDNAMES):
 * their number, with *@out (free() it) listing them; 0 when none. The environment
 * variables are removed so children do not inherit them.
 */
int lb_sd_listen_fds(struct lb_sd_fd **out);

/* Send @state (e.g. "READY=1\nSTATUS=serving") to systemd. Returns 0, or -errno. */
int lb_sd_notify(const char *state);

#define LB_SD_NOTIFY_MAX_FDS 16

/* The same with descriptors (FDSTORE=1): 0, or -errno. */
int lb_sd_notify_fds(const char *state, const int *fds, size_t n_fds);

/* The file-descriptor store's size (FDSTORE, FileDescriptorStoreMax=); 0 when none. */
long lb_sd_fdstore_max(void);

/* Wait until systemd has handled every message sent before (BARRIER=1). 0, or -errno. */
int lb_sd_barrier(int timeout_ms);

/*
 * The service watchdog, with sd_watchdog_enabled(3)'s semantics: the interval in
 * microseconds within which systemd expects "WATCHDOG=1" (WatchdogSec=), 0 when it
 * expects none (WATCHDOG_USEC unset, or WATCHDOG_PID set to another process), -EINVAL
 * when WATCHDOG_USEC or WATCHDOG_PID is malformed or zero. Both variables are removed
 * from the environment when they were meant for this process (0 or a positive result),
 * so children do not inherit them. Ping at half the interval.
 */
long long lb_sd_watchdog_usec(void);

#endif /* LBD_SYSTEMD_H */
