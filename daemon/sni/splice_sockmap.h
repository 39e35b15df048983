/* SPDX-License-Identifier: MIT */
/*
 * splice_sockmap.h - the splicer's kernel offload: a sockmap and an sk_skb verdict program
 * (bpf/lb_splice.bpf.c) that forward a pair's bytes from one socket to the other.
 */
#ifndef LBD_SPLICE_SOCKMAP_H
#define LBD_SPLICE_SOCKMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "splice_pump.h"

/*
 * Load and attach the BPF object: *ops and *off then drive it (splice_pump.h). 0, or
 * -errno with a sentence in @err. @quiet keeps libbpf's own warnings out of the log
 * (probing, when copying is an answer too).
 */
int lb_splice_sockmap_open(const struct lb_splice_offload **ops, void **off, bool quiet, char *err,
			   size_t errlen);

#endif /* LBD_SPLICE_SOCKMAP_H */
