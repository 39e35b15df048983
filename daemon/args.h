/* SPDX-License-Identifier: MIT */
/*
 * args.h - lbd's command line: the seed's flags (-c, -i, -p, -t, -s, -v, -h) plus what a
 * daemon needs (--bpffs, --instance, --xdp-mode, --check, --teardown).
 */
#ifndef LBD_ARGS_H
#define LBD_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "lb_config.h"

#define LBD_DEFAULT_BPFFS    "/sys/fs/bpf"
#define LBD_DEFAULT_INSTANCE "default"

struct lbd_args {
	const char *config_path; /* -c; NULL in flag mode */
	const char *bpffs;
	const char *instance;
	const char *socket_path;  /* --socket; NULL: derived from the instance */
	const char *socket_group; /* --socket-group; NULL: "lbd" when that group exists */
	bool verbose;
	bool check_only;       /* --check: validate and exit */
	bool check_system;     /* --check without =file: also against this system */
	bool teardown;	       /* --teardown: remove a pinned datapath and exit */
	bool teardown_on_exit; /* --teardown-on-exit: remove everything when stopping */
	bool force;	       /* --force: --teardown even while an lbd holds the instance */
	bool takeover;	       /* --takeover: take the running lbd's sockets and datapath over */
	bool stats_flag;       /* -s given: wins over the file, also on reload */
	bool xdp_mode_flag;    /* --xdp-mode given: wins over the file, also on reload */
	bool ingress_flag;     /* --ingress given: the same */
	bool help;
	bool version;
	struct lb_config *cfg; /* from -c (after parsing the file) or from the flags */
	char config_abs[4096]; /* -c made absolute (config_path points here then) */
};

/*
 * Parse argv. Returns 0 (a->cfg set unless help/version/teardown), or -EINVAL with a
 * message in @err for a usage or configuration error.
 */
int lbd_args_parse(int argc, char **argv, struct lbd_args *a, char *err, size_t errlen);

/*
 * The socket path of an instance: --socket, else /run/lbd/lbd.sock for the default
 * instance and /run/lbd/<instance>.sock for others.
 */
void lbd_args_socket_path(const struct lbd_args *a, char *buf, size_t len);

/* Print the usage text. */
void lbd_args_usage(FILE *out);

/* Free a->cfg. */
void lbd_args_release(struct lbd_args *a);

#endif /* LBD_ARGS_H */
