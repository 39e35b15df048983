/* SPDX-License-Identifier: MIT */
/*
 * node_wait.h - `lbctl node drain --wait`: after node-drain, poll node-status until this
 * node tracks no flow. lbctl waits, not lbd: scripts on the socket do the same with
 * node-status.
 */
#ifndef LB_NODE_WAIT_H
#define LB_NODE_WAIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

/*
 * Wait on the connected @c until node-status says "flows": 0 (EXIT_OK), @timeout_ms
 * passed (> 0; EXIT_DRAIN_TIMEOUT) or *@stop was set (EXIT_INTERRUPTED), printing each
 * new count (a line of text, or node-status' JSON with @json). -errno when lbd did not
 * answer.
 */
int lb_node_drain_wait(struct lb_client *c, int64_t timeout_ms, bool json, FILE *out, FILE *err,
		       volatile sig_atomic_t *stop);

#endif /* LB_NODE_WAIT_H */
