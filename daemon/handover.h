/* SPDX-License-Identifier: MIT */
/*
 * handover.h - one lbd hands its instance to the next (lbd --takeover): an upgrade or a
 * restart without a refused or reset connection.
 *
 * The running lbd listens on an abstract Unix socket named after its instance. The new
 * one connects (before it takes the instance's lock) and asks; the running one checks
 * who asks (its own user) and whether they speak the same protocol and BPF ABI, stops
 * accepting and watching (nothing is lost meanwhile: the kernel queues new connections
 * on the listening sockets and keeps forwarding spliced pairs in a sockmap), waits for
 * connections already on their way to the splicer, and sends every open file the next
 * lbd needs as records (lb_fdrec.h): its control socket, the SNI acceptors' listening
 * sockets, the splicer (its sockmap's maps), every spliced pair with its state and every
 * connection still waiting for a ClientHello or a backend. Once the new lbd confirms, the
 * old one closes its own descriptors without a word to any peer and exits, leaving the
 * datapath pinned; the new one takes the lock as it is released, adopts the datapath as
 * after any restart and resumes every connection where the old one stopped. If anything
 * fails before the confirmation, the old lbd resumes as if nothing happened.
 */
#ifndef LBD_HANDOVER_H
#define LBD_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lb_fdrec.h"
#include "lbd.h"

#define LBD_HANDOVER_PROTOCOL 1

/* What the running lbd handed over, for this one's start. */
struct lbd_takeover {
	pid_t from;		 /* the lbd that handed over */
	int control_fd;		 /* its control socket, listening, when the path is ours; else -1 */
	struct lb_fdrec splicer; /* its splicer (meta NULL when it had none) */
	struct lb_fdrec *acceptors; /* "sni-acceptor" records */
	size_t n_acceptors;
	struct lb_fdrec *conns; /* "splice" and "sni-conn" records, in the order sent */
	size_t n_conns;
};

/*
 * Ask the lbd running the instance of @args for everything (blocking, a few seconds at
 * most). Returns 0 with *@t filled, 1 when no lbd runs it (start afresh), or -errno with
 * a sentence in @err (the running lbd refused, or the transfer broke: it then keeps
 * running).
 */
int lbd_takeover_receive(const struct lbd_args *args, const char *socket_path,
			 struct lbd_takeover *t, char *err, size_t errlen);

/* Close whatever of @t nobody took. */
void lbd_takeover_release(struct lbd_takeover *t);

/* File record @r (taken: zeroed) into @t; its control socket only when bound to @socket_path. */
int lbd_takeover_add(struct lbd_takeover *t, struct lb_fdrec *r, const char *socket_path);

/* What the giving side needs from main.c. */
struct lbd_handover_hooks {
	void *ctx;
	int (*control_fd)(void *ctx); /* the control socket's listening descriptor */
	/*
	 * The next lbd has everything: stop now without touching what it took. @same_socket:
	 * it serves the control socket's path (do not unlink it).
	 */
	void (*finish)(void *ctx, bool same_socket);
	/* Stop as usual (a stop whose state could not be stored). */
	void (*stop)(void *ctx);
	/* Put the frozen state into systemd's descriptor store (fdstore.h): 0 or -errno. */
	int (*store)(void *ctx, char *err, size_t errlen);
};

struct lbd_handover;

/* Listen for a next lbd. NULL with a sentence in @err when the socket cannot be made. */
struct lbd_handover *lbd_handover_listen(struct lbd *l, const struct lbd_handover_hooks *hooks,
					 char *err, size_t errlen);

/*
 * Stopping under systemd with a descriptor store: freeze as for a hand-over, store
 * everything (hooks->store), then finish; if storing fails, stop as usual.
 */
void lbd_handover_to_store(struct lbd_handover *h);

/* Stop listening (closes on the loop). NULL: no-op. */
void lbd_handover_close(struct lbd_handover *h);

#endif /* LBD_HANDOVER_H */
