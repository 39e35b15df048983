/* SPDX-License-Identifier: MIT */
/*
 * lb_splice_abi.h - what bpf/lb_splice.bpf.c and daemon/splice_sockmap.c share: the sizes
 * and the value layouts of the splice maps. Compiled by both sides; kept apart from
 * lb_abi.h because these maps belong to one lbd process (never pinned, never reused by a
 * restarted lbd), so their layout is not versioned.
 *
 * Slots: pair p keeps its client socket at slot 2p and its backend socket at slot 2p + 1
 * of lb_sp_socks; the byte counters of a socket have the same index in lb_sp_bytes
 * (forwarded), lb_sp_passed (left to recv()), lb_sp_taken (lbd's side of a pause) and
 * lb_sp_seq (where the socket's stream has got to).
 */
#ifndef LB_SPLICE_ABI_H
#define LB_SPLICE_ABI_H

#include <linux/types.h>

/* Pairs spliced in the kernel at once; further pairs are copied in user space. */
#define LB_SPLICE_MAX_PAIRS 65536
#define LB_SPLICE_MAX_SOCKS (2 * LB_SPLICE_MAX_PAIRS)

/*
 * Bytes the kernel may hold for one direction, forwarded but not yet queued on the peer
 * socket (whose reader is slow). Beyond it the verdict program pauses forwarding and lbd
 * carries the direction, so TCP flow control reaches the sender again, until lbd has sent
 * on every byte passed to it (lb_sp_taken) and the program resumes.
 */
#define LB_SPLICE_INFLIGHT_MAX (4u << 20)

/*
 * lb_sp_seq value: the TCP sequence number the next byte of the socket's stream has, so
 * the verdict program can cut off what an skb repeats of bytes already handled (a
 * retransmission that partly overlaps them: the kernel hands such an skb over whole).
 * lbd zeroes it (LB_SPLICE_SEQ_UNSET) before the socket joins the sockmap.
 */
struct lb_splice_seq {
	__u32 nxt;   /* sequence number of the next new byte */
	__u32 state; /* LB_SPLICE_SEQ_* */
	__u32 cut;   /* skbs that repeated bytes of the stream (cut short or dropped) */
	__u32 pad;
};
_Static_assert(sizeof(struct lb_splice_seq) == 16, "lb_splice_seq layout");

#define LB_SPLICE_SEQ_UNSET  0 /* nxt not known yet: the first skb learns it */
#define LB_SPLICE_SEQ_OK     1 /* nxt tracks the stream */
#define LB_SPLICE_SEQ_BROKEN 2 /* a gap, or an overlap too long to cut: lbd resets the pair */

/* The longest overlap the program cuts off (bpf_skb_adjust_room() takes 4095 at a time). */
#define LB_SPLICE_TRIM_STEPS 16
#define LB_SPLICE_TRIM_STEP  4095u

/* lb_splice_peer.flags */
#define LB_SPLICE_F_HOLD   (1u << 0) /* lbd: pass every byte to recv(), forward nothing */
#define LB_SPLICE_F_ARMED  (1u << 1) /* program: w0 and r0 hold where forwarding started */
#define LB_SPLICE_F_PAUSED (1u << 2) /* program: over LB_SPLICE_INFLIGHT_MAX, passing */

/*
 * lb_sp_peer value, keyed by the socket cookie (__u64, SO_COOKIE) of a spliced socket.
 * lbd writes a whole entry twice: with HOLD when the socket joins, without (all else zero)
 * when it hands the direction to the kernel; the program updates the rest in place.
 */
struct lb_splice_peer {
	__u32 slot;   /* this socket's slot (index in every per-slot map) */
	__u32 peer;   /* the slot of the socket its bytes are sent out of */
	__u32 flags;  /* LB_SPLICE_F_* */
	__u32 w0;     /* the peer's write_seq when forwarding (re)started */
	__u64 r0;     /* this socket's lb_sp_bytes count when forwarding (re)started */
	__u64 paused; /* bytes passed while PAUSED, ever since lbd wrote the entry */
};
_Static_assert(sizeof(struct lb_splice_peer) == 32, "lb_splice_peer layout");

#endif /* LB_SPLICE_ABI_H */
