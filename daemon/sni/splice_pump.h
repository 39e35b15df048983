/* SPDX-License-Identifier: MIT */
/*
 * splice_pump.h - a spliced pair and the user-space pump that runs it; what the files of
 * the splicer share (nothing outside sni/ includes it). They depend on each other in one
 * direction only:
 *
 *   splicer.c         the front (splice.h): splicers, starting a pair.
 *   splice_sockmap.c  the kernel offload: the BPF object, its slots, handing a direction
 *                     over to the kernel and telling when the kernel has flushed it. It
 *                     fills struct lb_splice_offload; it calls the pump, never the front.
 *   splice_pump.c     the pump: recv() into a buffer, send() to the peer, FIN and reset
 *                     propagation, ending and releasing a pair. Copy mode runs every byte
 *                     through it; with an offload it runs the prefix and whatever reached
 *                     user space before the kernel took over, and still handles end of
 *                     stream. It reaches the offload only through the ops below.
 */
#ifndef LBD_SPLICE_PUMP_H
#define LBD_SPLICE_PUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sni_watch.h"
#include "splice.h"

#define LB_SPLICE_BUF		  (64 * 1024) /* bytes read per recv() */
#define LB_SPLICE_READS_PER_EVENT 4	      /* then other pairs get the loop */

/* Index of a side in lb_splice.side; the peer of side i is !i. */
enum { LB_SP_CLIENT = 0, LB_SP_BACKEND = 1 };

/* One socket of a pair and the direction that writes to it. */
struct lb_splice_side {
	int fd;
	struct lb_sni_watch w; /* in the splicer's epoll set while w.events != 0 */
	uint8_t *out;	       /* bytes for this socket that did not fit into its send buffer */
	size_t out_off;	       /* first unsent byte of out */
	size_t out_len;	       /* unsent bytes */
	uint64_t written;      /* bytes lbd itself sent to this socket */
	bool rd_eof;	       /* recv() returned 0: the remote end sent its FIN */
	bool wr_shut;	       /* lbd sent a FIN on this socket (shutdown(SHUT_WR)) */

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
	int handles;	  /* initialised libuv handles not closed yet (the timer) */
	bool ended;	  /* sockets closed, handles closing */
	bool done_called; /* done ran (or must not run: failed start) */
	struct lb_splice_stats final;
	lb_splice_done_fn done;
	void *arg;
};

/*
 * What a kernel offload does for the pump; every member but add and close is called for
 * pairs it took (sp->slot >= 0) only. @src and @dst are side indices.
 */
struct lb_splice_offload {
	const char *name;
	/* Put both sockets of @sp in, forwarding nothing yet. 0, or -errno: copy the pair. */
	int (*add)(void *off, struct lb_splice *sp);
	/* Let the kernel forward what arrives on side @src from now on (again). */
	int (*forward)(struct lb_splice *sp, int src);
	/* True when the kernel paused forwarding side @src: its peer fell behind. */
	bool (*paused)(const struct lb_splice *sp, int src);
	/* Every byte lbd read from @src during pauses is in the peer socket: resume. */
	int (*taken)(struct lb_splice *sp, int src);
	/* True when the kernel found side @src's stream inconsistent: reset the pair. */
	bool (*broken)(const struct lb_splice *sp, int src);
	/* Bytes the kernel left to recv() on side @src. */
	uint64_t (*passed)(const struct lb_splice *sp, int src);
	/* True when every byte forwarded to side @dst sits in its socket (a FIN may follow). */
	bool (*flushed)(const struct lb_splice *sp, int dst);
	/* Bytes the kernel forwarded from side @src. */
	uint64_t (*bytes)(const struct lb_splice *sp, int src);
	/* Take @sp's sockets out and recycle its slot. */
	void (*remove)(struct lb_splice *sp);
	/* Free the offload; every pair was removed. */
	void (*close)(void *off);
};

struct lb_splicer {
	uv_loop_t *loop;
	const struct lb_splice_offload *ops; /* NULL: copy mode */
	void *off;			     /* the offload's own state */
	bool copy_new;			     /* ops serve parked pairs only: new ones copy */
	struct lb_splice *head;		     /* every pair not released yet */
	size_t pairs;			     /* in that list, plus 1 until the watcher closed */
	/* The pairs' sockets, one epoll set under or driving libuv (sni_watch.h). */
	struct lb_sni_watcher watcher;
	size_t active; /* of which not ended */
	bool freeing;
	uint8_t scratch[LB_SPLICE_BUF]; /* every recv() lands here first */
};

/*
 * End @sp: clean when @err is 0, else reset both sockets (SO_LINGER 0); close the sockets
 * and the handles (done runs once they closed). Idempotent.
 */
void lb_splice_end(struct lb_splice *sp, int err);

/*
 * End @sp in this process only, after a hand-over: close its descriptors (the next lbd
 * holds its own: the sockets stay open, nothing is sent) and leave the offload's entries
 * alone. The stats say ECANCELED. Idempotent.
 */
void lb_splice_forget(struct lb_splice *sp);

/* Current byte counts of @sp (final ones once it ended); error is 0 while it runs. */
struct lb_splice_stats lb_splice_pair_stats(const struct lb_splice *sp);

/*
 * The splicer's epoll set (counted in s->pairs: freeing @s waits for it). 0 or a libuv
 * error; close it once, when the splicer goes.
 */
int lb_splicer_watch_open(struct lb_splicer *s);
void lb_splicer_watch_close(struct lb_splicer *s);

/* Take side @i of @sp out of the splicer's epoll set (freeze, end). */
void lb_splice_unwatch(struct lb_splice *sp, int i);

/* Open @sp's libuv handles: 0 or a libuv error (lb_splice_end() closes what opened). */
int lb_splice_pump_init(struct lb_splice *sp);

/* Send what is pending, read what is there, then wait for the loop's events. */
void lb_splice_pump_kick(struct lb_splice *sp);

/* Append @len bytes to what waits to be sent to side @dst. 0 or -ENOMEM. */
int lb_splice_queue(struct lb_splice *sp, int dst, const uint8_t *buf, size_t len);

/* Close @fd so that its remote end sees a reset, not an orderly FIN. */
void lb_splice_close_reset(int fd);

/* The socket's pending error (SO_ERROR), else @fallback. */
int lb_splice_sock_error(int fd, int fallback);

#endif /* LBD_SPLICE_PUMP_H */
