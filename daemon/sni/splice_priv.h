/* SPDX-License-Identifier: MIT */
/*
 * splice_priv.h - what the three files of the splicer share; nothing outside them includes it.
 *
 *   splice.c          the front: splicers, starting a pair, ending it, statistics.
 *   splice_pump.c     the user-space pump: recv() into a buffer, send() to the peer, FIN and
 *                     reset propagation. Copy mode runs every byte through it; sockmap mode
 *                     runs the prefix and whatever reached user space before the kernel
 *                     took over, and still relies on it for end of stream.
 *   splice_sockmap.c  the BPF object, its slots, handing a direction over to the kernel and
 *                     telling when the kernel has flushed it.
 */
#ifndef LBD_SPLICE_PRIV_H
#define LBD_SPLICE_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "splice.h"

#define LB_SPLICE_BUF		  (64 * 1024) /* bytes read per recv() */
#define LB_SPLICE_READS_PER_EVENT 4	      /* then other pairs get the loop */

/* Index of a side in lb_splice.side; the peer of side i is !i. */
enum { LB_SP_CLIENT = 0, LB_SP_BACKEND = 1 };

/* One socket of a pair and the direction that writes to it. */
struct lb_splice_side {
	int fd;
	uv_poll_t poll;
	int events;	  /* registered on poll; 0 while stopped */
	uint8_t *out;	  /* bytes for this socket that did not fit into its send buffer */
	size_t out_off;	  /* first unsent byte of out */
	size_t out_len;	  /* unsent bytes */
	uint64_t written; /* bytes lbd itself sent to this socket */
	bool rd_eof;	  /* recv() returned 0: the remote end sent its FIN */
	bool wr_shut;	  /* lbd sent a FIN on this socket (shutdown(SHUT_WR)) */

	/* Sockmap pairs only. */
	bool held;	 /* lbd's output waits for the kernel's forwarded bytes to go first */
	bool eof_wait;	 /* recv() said EOF, but passed bytes are still on their way */
	bool forwarded;	 /* lbd handed this socket's direction to the kernel (paused or not) */
	bool late;	 /* lbd read bytes passed as forwarding began: ordering to check */
	uint64_t fwd_r0; /* the kernel's count of bytes forwarded from it when forwarding began */
	uint64_t taken;	 /* bytes lbd read from it since it joined the sockmap */
	uint64_t late_left;   /* bytes passed before forwarding began, not read yet */
	uint64_t paused_read; /* bytes read while the kernel paused, since forwarding began */
	uint64_t paused_sent; /* of which lbd told the kernel they are sent (lb_sp_taken) */
	uint64_t cookie;      /* SO_COOKIE: its key in lb_sp_peer */
	uint64_t base;	      /* bytes queued on the socket before the splice (sent + unsent) */
};

struct lb_splice {
	struct lb_splicer *s;
	struct lb_splice *prev, *next; /* the splicer's pairs, ended ones until released */
	struct lb_splice_side side[2];
	uv_timer_t flush_timer; /* sockmap: waits for the kernel to flush before a FIN */
	uint64_t flush_ms;
	int slot;	  /* pair index in the sockmap, -1 while copied */
	int handles;	  /* initialised libuv handles not closed yet */
	bool ended;	  /* sockets closed, handles closing */
	bool done_called; /* done ran (or must not run: failed start) */
	struct lb_splice_stats final;
	lb_splice_done_fn done;
	void *arg;
};

struct lb_splice_sockmap;

struct lb_splicer {
	uv_loop_t *loop;
	struct lb_splice_sockmap *sm; /* NULL: copy mode */
	struct lb_splice *head;	      /* every pair not released yet */
	size_t pairs;		      /* in that list */
	size_t active;		      /* of which not ended */
	bool freeing;
	uint8_t scratch[LB_SPLICE_BUF]; /* every recv() lands here first */
};

/* splice.c */

/*
 * End @sp: clean when @err is 0, else reset both sockets (SO_LINGER 0); close the sockets
 * and the handles. Idempotent; the memory stays until lb_splice_release().
 */
void lb_splice_end(struct lb_splice *sp, int err);

/* The last handle of ended @sp closed: run done unless it ran, free @sp (and the splicer). */
void lb_splice_release(struct lb_splice *sp);

/* splice_pump.c */

/* Open @sp's libuv handles: 0 or a libuv error (close what opened with pump_close). */
int lb_splice_pump_init(struct lb_splice *sp);

/* Send what is pending, read what is there, then wait for the loop's events. */
void lb_splice_pump_kick(struct lb_splice *sp);

/* Close every handle lb_splice_pump_init() opened; the last one's callback runs done. */
void lb_splice_pump_close(struct lb_splice *sp);

/* Read from side @src into its peer, as far as backpressure allows. */
void lb_splice_pump_read(struct lb_splice *sp, int src);

/* Send the FIN of direction !@dst -> @dst when it is due and every byte is out. */
void lb_splice_pump_fin(struct lb_splice *sp, int dst);

/* Register the poll events side @i needs now. */
void lb_splice_pump_watch(struct lb_splice *sp, int i);

/* Append @len bytes to what waits to be sent to side @dst. 0 or -ENOMEM. */
int lb_splice_queue(struct lb_splice *sp, int dst, const uint8_t *buf, size_t len);

/* The socket's pending error (SO_ERROR), else @fallback. */
int lb_splice_sock_error(int fd, int fallback);

/* splice_sockmap.c */

/*
 * Load and attach the BPF object: 0 or -errno with a sentence in @err. @quiet keeps
 * libbpf's own warnings out of the log (probing, when copying is an answer too).
 */
int lb_splice_sockmap_open(struct lb_splice_sockmap **out, bool quiet, char *err, size_t errlen);

/* Detach and free; every pair must have been removed. NULL: no-op. */
void lb_splice_sockmap_close(struct lb_splice_sockmap *sm);

/*
 * Put both sockets of @sp into the sockmap, forwarding nothing yet (HOLD: the verdict
 * program passes their bytes to recv()). 0 or -errno: the pair is then copied (or, if
 * a socket failed, ended).
 */
int lb_splice_sockmap_add(struct lb_splice_sockmap *sm, struct lb_splice *sp);

/* Let the kernel forward what arrives on side @src from now on (again). 0 or -errno. */
int lb_splice_sockmap_forward(struct lb_splice *sp, int src);

/* True when the verdict program paused forwarding side @src: its peer fell behind. */
bool lb_splice_sockmap_paused(const struct lb_splice *sp, int src);

/*
 * Tell the verdict program that every byte lbd read from side @src during pauses is now
 * in the peer socket, so that it may resume forwarding behind them. 0 or -errno.
 */
int lb_splice_sockmap_taken(struct lb_splice *sp, int src);

/* Bytes the verdict program left to recv() on side @src. */
uint64_t lb_splice_sockmap_passed(const struct lb_splice *sp, int src);

/* True when every byte forwarded to side @dst sits in its socket, so a FIN may follow. */
bool lb_splice_sockmap_flushed(const struct lb_splice *sp, int dst);

/* Bytes the kernel forwarded from side @src. */
uint64_t lb_splice_sockmap_bytes(const struct lb_splice *sp, int src);

/* Take @sp's sockets out of the maps and recycle its slot. */
void lb_splice_sockmap_remove(struct lb_splice *sp);

#endif /* LBD_SPLICE_PRIV_H */
