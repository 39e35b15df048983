/* SPDX-License-Identifier: MIT */
/*
 * systemd.h - the two systemd protocols lbd speaks, by hand (no libsystemd):
 * socket activation (LISTEN_PID/LISTEN_FDS) and readiness notification (NOTIFY_SOCKET).
 * Both are no-ops outside systemd.
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

#endif /* LBD_SYSTEMD_H */
