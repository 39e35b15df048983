/* SPDX-License-Identifier: MIT */
/*
 * systemd.h - the two systemd protocols lbd speaks, by hand (no libsystemd):
 * socket activation (LISTEN_PID/LISTEN_FDS), readiness notification (NOTIFY_SOCKET) and
 * the watchdog (WATCHDOG_USEC/WATCHDOG_PID). All are no-ops outside systemd.
 */
#ifndef LBD_SYSTEMD_H
#define LBD_SYSTEMD_H

#define LB_SD_LISTEN_FDS_START 3

/*
 * The listening socket systemd passed to this process, or -1 when none was. The
 * environment variables are removed so children do not inherit them. Returns -EINVAL
 * when systemd passed more than one socket (lbd.socket declares exactly one).
 */
int lb_sd_listen_fd(void);

/* Send @state (e.g. "READY=1\nSTATUS=serving") to systemd. Returns 0, or -errno. */
int lb_sd_notify(const char *state);

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
