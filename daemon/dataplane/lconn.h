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
 * Correct lb_lconn (@fd) after a conntrack walk: @before is what it held before the walk
 * began, @counted the flows the walk found still counted (LB_CT_F_COUNTED, not expired) per
 * target: those of lb_ct as confirmed, those of lb_syn as unconfirmed. Each part that
 * drifted gets the difference added to what it holds now, so flows created, confirmed or
 * closed during the walk are not lost (those the walk saw too are off by one until the
 * next walk). Never below 0. Returns the number of targets corrected, or -errno.
 */
int lb_lconn_correct(int fd, const struct lb_lconn_val *before, const struct lb_lconn_val *counted);

#endif /* LBD_LCONN_H */
