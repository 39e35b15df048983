/* SPDX-License-Identifier: MIT */
/* exit_status.h - lbctl's exit statuses (documented in lbctl --help and lbctl(1)). */
#ifndef LB_EXIT_STATUS_H
#define LB_EXIT_STATUS_H

enum lbctl_exit {
	EXIT_OK = 0,
	EXIT_DAEMON_ERROR = 1,	  /* lbd answered with an error (or the output failed) */
	EXIT_UNREACHABLE = 2,	  /* no answer, or not JSON-RPC */
	EXIT_USAGE = 3,		  /* bad command line; nothing was sent */
	EXIT_DRAIN_TIMEOUT = 4,	  /* drain --wait: the drain timed out, connections were left */
	EXIT_DRAIN_CANCELLED = 5, /* drain --wait: the drain was cancelled (undrain) */
	EXIT_INTERRUPTED = 130,	  /* drain --wait (the drain goes on in lbd), top: interrupted */
};

#endif /* LB_EXIT_STATUS_H */
