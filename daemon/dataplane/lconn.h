/* SPDX-License-Identifier: MIT */
/*
 * lconn.h - lb_lconn (lb_abi.h): the datapath's live flow count per target, which
 * least-connections reads. The datapath counts what it sees (a flow created, a flow
 * closing); the conntrack sweeper corrects the rest (idle expiry, LRU evictions, flows
 * that changed while no lbd ran) from the flows it walks anyway.
 */
#ifndef LBD_LCONN_H
#define LBD_LCONN_H

#include <stdint.h>

#include "lb_abi.h"

/* Every target's counts (LB_MAX_TARGETS values) from the lb_lconn map @fd. 0 or -errno. */
int lb_lconn_read(int fd, struct lb_lconn_val *out);

/*
 * Correct lb_lconn (@fd) after a conntrack walk: @before and @after are what it held just
 * before the walk began and just after it ended, @counted the flows the walk found still
 * counted (LB_CT_F_COUNTED, not expired) per target: those of lb_ct as confirmed, those of
 * lb_syn as unconfirmed. A part is corrected only by a drift that both readings show (the
 * one nearer 0): what the datapath changed while the walk ran (a flow created, confirmed
 * or closed in a bucket the walk had or had not read yet) shows against one reading only,
 * where a real error (an eviction, a lost race, a restart's gap) shows against both. A
 * confirmation during the walk would otherwise move its unit a second time: +1 confirmed
 * (16 units of load) and -1 unconfirmed per flow, on every sweep of a busy target. The
 * drift is added to what the part holds now; never below 0. Returns the number of targets
 * corrected, or -errno.
 */
int lb_lconn_correct(int fd, const struct lb_lconn_val *before, const struct lb_lconn_val *after,
		     const struct lb_lconn_val *counted);

#endif /* LBD_LCONN_H */
