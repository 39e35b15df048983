/* SPDX-License-Identifier: MIT */
/*
 * lb_counter_names.h - the names of the datapath's global counters (lb_gstats, LB_G_*), as
 * the stats RPC and the metrics show them. Shared with the tests, which name the counter
 * a packet should have moved.
 */
#ifndef LB_COUNTER_NAMES_H
#define LB_COUNTER_NAMES_H

#include "lb_abi.h"

/* "pass-malformed", "dnat", ...; "unknown" for a value out of range. */
const char *lb_counters_global_name(enum lb_global_counter c);

#endif /* LB_COUNTER_NAMES_H */
