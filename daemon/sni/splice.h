/* SPDX-License-Identifier: MIT */
/*
 * splice.h - move bytes between two connected TCP sockets for the rest of their lives:
 * in the kernel through a sockmap and an sk_skb verdict program (bpf/lb_splice.bpf.c)
 * when asked for, by copying on the libuv loop otherwise.
 *
 * Used by the SNI acceptor once it has chosen a backend: the client socket (whose
 * ClientHello lbd has already read) and the backend socket become one byte stream each
 * way. The bytes lbd read from the client before the splice (@prefix) are sent to the
 * backend first, in order, before any later client byte.
 *
 * End of stream: a FIN from one side becomes a shutdown(SHUT_WR) towards the other (a
 * half-closed connection keeps flowing the other way); a reset or error on one side
 * resets the other (SO_LINGER 0); the splice ends when both directions ended.
 *
 * Nothing here blocks the loop: a pair whose reader is slow stops reading its writer
 * (TCP flow control does the rest) and costs other pairs nothing. Everything runs on the
 * loop's thread.
 */
#ifndef LBD_SPLICE_H
#define LBD_SPLICE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lb_config.h"
#include "lb_fdrec.h"

struct lb_splicer;
struct lb_splice;
struct lb_sni_watcher;

struct lb_splice_stats {
	uint64_t bytes_to_backend; /* client -> backend, prefix included */
	uint64_t bytes_to_client;  /* backend -> client */
	/*
	 * 0 for a clean close, else the errno that ended it: the socket's error (ECONNRESET,
	 * EPIPE, ...), ECANCELED from lb_splicer_free(), EPROTO when the sockmap could not
	 * keep the byte order (the client sent at the very moment the kernel took over).
	 */
	int error;
};

/*
 * Runs once per splice, when both directions ended and both sockets are closed: on the
 * loop, never from within lb_splice_start(); from within lb_splicer_free() for splices
 * still running then. @sp is valid until it returns.
 */
typedef void (*lb_splice_done_fn)(struct lb_splice *sp, const struct lb_splice_stats *st,
				  void *arg);

/*
 * A splicer for @mode: LB_SPLICE_SOCKMAP fails (NULL, errno, a sentence in @err) when the
 * kernel cannot (no privileges, no sockmap); LB_SPLICE_AUTO picks what measured faster,
 * which is copying (splicer.c says why); LB_SPLICE_COPY copies.
 */
struct lb_splicer *lb_splicer_new(uv_loop_t *loop, enum lb_splice_mode mode, char *err,
				  size_t errlen);

/*
 * The splicer's epoll set (sni_watch.h), for the SNI acceptor's pending sockets too: one
 * set for every SNI socket, whatever state it is in.
 * It stays open until lb_splicer_free() or lb_splicer_forget().
 */
struct lb_sni_watcher *lb_splicer_watcher(struct lb_splicer *s);

/*
 * Run the splicer's loop until it has nothing left to do (uv_run(UV_RUN_DEFAULT)'s
 * contract), its epoll set driving libuv: one epoll_wait() per wake-up for the SNI
 * sockets (lb_sni_watcher_run()). lb_splicer_free() may run meanwhile. 0 or -errno.
 */
int lb_splicer_run(struct lb_splicer *s);

/* "sockmap" or "copy": what this splicer actually does. */
const char *lb_splicer_kind(const struct lb_splicer *s);

/* Spliced pairs in progress. */
size_t lb_splicer_active(const struct lb_splicer *s);

/*
 * Take over @client_fd and @backend_fd (connected TCP sockets nobody else polls; the
 * splicer makes them non-blocking and closes them; TCP_NODELAY is the caller's: what lbd
 * forwards was sized by a peer a moment ago, and the SNI acceptor sets it with no syscall
 * per connection on the client's side, see lb_sni_listener_opts()), send @prefix (copied) to the
 * backend, then forward both ways until both ends closed. Bytes still queued on the sockets are
 * forwarded too: the client's after @prefix. Returns NULL and sets errno when the pair
 * cannot be set up (both fds are then closed, the client's with a reset; done never
 * runs); errors after that reach done.
 */
struct lb_splice *lb_splice_start(struct lb_splicer *s, int client_fd, int backend_fd,
				  const uint8_t *prefix, size_t prefix_len, lb_splice_done_fn done,
				  void *arg);

/* Current byte counts of a splice (final ones once it ended); error is 0 while it runs. */
struct lb_splice_stats lb_splice_stats(const struct lb_splice *sp);

/*
 * Reset both sides of every running splice (done runs for each, before this returns, with
 * ECANCELED) and free the splicer; the memory goes once the loop has closed the handles.
 * Not from within a done callback. NULL: no-op.
 */
void lb_splicer_free(struct lb_splicer *s);

/*
 * Hand-over (lbd --takeover): a running lbd passes its pairs to the next one.
 *
 * Freeze stops watching every pair (nothing is read or written, the kernel offload keeps
 * forwarding), thaw resumes. Export, on a frozen splicer, calls @emit once for the
 * splicer itself (pair_arg NULL; with the sockmap, the descriptors of its maps) and once
 * per running pair (pair_arg: the pair's done argument, for the owner to describe it);
 * the descriptors in the records stay the splicer's. Forget, after the next lbd took
 * them, ends every pair in this process only: descriptors closed, sockets untouched, done
 * runs with ECANCELED; then frees the splicer like lb_splicer_free().
 *
 * Adopt makes a splicer from the splicer record of the previous lbd (the same offload,
 * with its maps) and import a running pair from one of its pair records; both take the
 * descriptors they keep from the record. NULL with errno on failure (EPROTO: a malformed
 * record).
 */
typedef int (*lb_splice_emit_fn)(void *ctx, struct lb_fdrec *r, void *pair_arg);

/*
 * Park, on a frozen splicer before a stop that hands its pairs to systemd's descriptor
 * store: the copy splice forwards only while an lbd runs, and a restart leaves seconds
 * with none. Park puts every copied pair into the sockmap offload (loaded now if the
 * splicer had none), as if it had been spliced there from the start, so the kernel keeps
 * forwarding it until the next lbd adopts it; the pairs stay frozen. A pair the kernel
 * does not take (half-closed, no sockmap, no privileges) stays copied and waits, as
 * before; a line in the log says how many went. Copy-new makes a splicer with an offload
 * copy the pairs it starts from now on (settings.sni-splice "copy" or "auto" after
 * adopting a splicer record with a sockmap): the adopted pairs finish in the kernel.
 */
void lb_splicer_park(struct lb_splicer *s);
void lb_splicer_copy_new(struct lb_splicer *s);

void lb_splicer_freeze(struct lb_splicer *s);
void lb_splicer_thaw(struct lb_splicer *s);
int lb_splicer_export(struct lb_splicer *s, lb_splice_emit_fn emit, void *ctx);
void lb_splicer_forget(struct lb_splicer *s);
struct lb_splicer *lb_splicer_adopt(uv_loop_t *loop, struct lb_fdrec *r, char *err, size_t errlen);
struct lb_splice *lb_splice_import(struct lb_splicer *s, struct lb_fdrec *r, lb_splice_done_fn done,
				   void *arg);

#endif /* LBD_SPLICE_H */
