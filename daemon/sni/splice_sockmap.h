/* SPDX-License-Identifier: MIT */
/*
 * splice_sockmap.h - the splicer's kernel offload: a sockmap and an sk_skb verdict program
 * (bpf/lb_splice.bpf.c) that forward a pair's bytes from one socket to the other.
 */
#ifndef LBD_SPLICE_SOCKMAP_H
#define LBD_SPLICE_SOCKMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "lb_fdrec.h"
#include "splice_pump.h"

/*
 * Load and attach the BPF object: *ops and *off then drive it (splice_pump.h). 0, or
 * -errno with a sentence in @err. @quiet keeps libbpf's own warnings out of the log
 * (probing, when copying is an answer too).
 */
int lb_splice_sockmap_open(const struct lb_splice_offload **ops, void **off, bool quiet, char *err,
			   size_t errlen);

/*
 * Hand-over (lbd --takeover): describe the offload in @r (its maps' descriptors, still
 * the offload's, and its slot allocator); 0 or -ENOMEM. The kernel keeps forwarding the
 * pairs meanwhile: the maps and the program attached to them live as long as a
 * descriptor does.
 */
int lb_splice_sockmap_export(void *off, struct lb_fdrec *r);

/* The offload the previous lbd described in @r, its descriptors taken from @r. */
int lb_splice_sockmap_adopt(struct lb_fdrec *r, const struct lb_splice_offload **ops, void **off,
			    char *err, size_t errlen);

#endif /* LBD_SPLICE_SOCKMAP_H */
