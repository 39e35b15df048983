// SPDX-License-Identifier: MIT
/*
 * splice_sockmap.c - spliced pairs forwarded by the kernel: both sockets in a sockmap, an
 * sk_skb verdict program (bpf/lb_splice.bpf.c) sending what arrives on one out of the other.
 *
 * Handing a pair over, in this order (sockmap_add(), then the pump):
 *
 *  1. Read whatever already waits on both sockets (the rest of what the acceptor read, a
 *     backend's greeting) into lbd's pending output, before either socket enters the map.
 *     This matters beyond ordering: the kernel (seen on 6.18) hands an skb that user space
 *     had partly read to the verdict program whole, so its first bytes would go out twice.
 *  2. Give both sockets a HOLD entry in lb_sp_peer, then insert the backend and the client
 *     into lb_sp_socks. Nothing is forwarded yet: the verdict program passes each skb to
 *     the socket's psock queue, where recv() finds it in order (poll() says readable).
 *  3. Backend -> client: as soon as the backend reads dry and lbd owes the client nothing,
 *     its entry loses HOLD. This happens before the prefix is sent, so a backend's answer
 *     to the prefix is always forwarded.
 *  4. Client -> backend: lbd sends the prefix and everything it read from the client; once
 *     all of it sits in the backend socket and the client reads dry, its entry loses HOLD.
 *  5. Right after each update lbd recv()s once more: what the verdict program passed in
 *     the microseconds between the read that came back dry and the update.
 *
 * The window that remains is step 5: if bytes were passed in that window and later bytes
 * were already forwarded by the kernel before lbd sent the passed ones, the peer would get
 * them out of order. lbd cannot undo that, but it can tell: the verdict program counts what
 * it forwards, and lbd resets the pair (EPROTO) when the count moved before the passed
 * bytes were out (splice_pump.c, check_late()). It takes a client that sends in the
 * microseconds after lbd finished the prefix without waiting for an answer. Step 1 leaves
 * a window as narrow: bytes arriving between the last read and the insertion stay in the
 * socket's own queue until the next skb makes the verdict program run; if lbd reads them
 * first (recv() falls back to the socket's queue), they are not counted as passed, and
 * the EOF check below could believe an EOF up to that many bytes early.
 *
 * A slow peer: the kernel does not push back on redirected skbs, so the verdict program
 * pauses forwarding once LB_SPLICE_INFLIGHT_MAX bytes wait for the peer and passes skbs to
 * recv() again, where they fill the socket's receive buffer and close its TCP window. lbd
 * reads them, sends them on once the kernel's own have gone out and reports how many it
 * has sent (lb_sp_taken); when that equals what the program passed, the program resumes
 * forwarding, behind them. While the kernel's forwarding is slower than the sender (2
 * cores shared on loopback), lbd ends up carrying much of such a stream.
 *
 * End of stream: with the verdict program attached, recv() still returns 0 at the peer's
 * FIN and poll() still reports it (UV_DISCONNECT). Two more conditions than in copy mode:
 *  - recv() may report the FIN while passed skbs still wait in the psock queue behind
 *    skbs being sent out of the same socket, so lbd believes the EOF only once it has read
 *    as many bytes as were passed (lb_sp_passed);
 *  - the kernel sends forwarded skbs from a work item, later, and a shutdown(SHUT_WR)
 *    before they are queued would make them fail: lbd sends the FIN (and any byte of its
 *    own) only once the peer socket has queued (acknowledged + SIOCOUTQ) everything the
 *    kernel forwarded to it.
 * Only then does it take the sockets out of the map: removing a socket drops whatever its
 * psock still holds.
 *
 * Retransmissions: TCP queues a segment that repeats bytes it has received already (its
 * head arrived before, its tail did not: ACKs late or lost, which a loaded machine makes)
 * whole, and its own readers skip the repeat; tcp_read_skb() hands it to the verdict
 * program whole (seen on 6.18). Forwarded like that, the repeated bytes reached the peer
 * twice: the sockmap bulk test's rare TLS errors under CPU load. The program therefore
 * tracks each socket's next sequence number in lb_sp_seq (learnt from copied_seq at its
 * first skb; lbd zeroes the entry before the socket joins) and cuts the repeat off before
 * passing or forwarding; a stream it cannot make whole (a gap) it marks BROKEN and passes
 * on, and the pump resets the pair at the next read (ops->broken) rather than deliver it.
 * The same covers step 1's partly read skb should one slip through.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb_log.h"
#include "lb_splice_abi.h"
#include "lb_splice.skel.h"
#include "splice_pump.h"
#include "splice_sockmap.h"

struct lb_splice_sockmap {
	struct lb_splice_bpf *skel;
	int socks_fd, peer_fd, bytes_fd, passed_fd, taken_fd;
	int seq_fd; /* -1: adopted from an lbd whose program keeps no lb_sp_seq */
	/*
	 * Pair indices: never used ones first (fresh), then recycled ones oldest first, so a
	 * slot is reused as late as possible. A verdict program still running on another CPU
	 * for a pair that just ended (its skb arrived as lbd took the pair out) looks its peer
	 * slot up once more; it must find that slot empty, never a new pair's socket.
	 */
	uint32_t fresh;
	uint32_t *ring; /* LB_SPLICE_MAX_PAIRS recycled indices, a FIFO */
	uint32_t ring_head, ring_len;
};

/*
 * glibc's struct tcp_info stops before tcpi_bytes_acked (Linux 4.1); <linux/tcp.h> has it
 * but clashes with the <netinet/tcp.h> uv.h includes. The kernel's layout continues so.
 */
struct lb_tcp_info {
	struct tcp_info glibc;
	uint64_t pacing_rate;
	uint64_t max_pacing_rate;
	uint64_t bytes_acked;
};
_Static_assert(offsetof(struct lb_tcp_info, bytes_acked) == 120, "Linux struct tcp_info layout");

static uint64_t sockmap_bytes(const struct lb_splice *sp, int src);
static uint64_t sockmap_passed(const struct lb_splice *sp, int src);

static struct lb_splice_sockmap *sm_of(const struct lb_splice *sp)
{
	return sp->s->off;
}

static int tcp_info_get(int fd, struct lb_tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len))
		return -errno;
	return len < sizeof(*ti) ? -EOPNOTSUPP : 0;
}

/*
 * Bytes ever queued on @fd for sending: acknowledged plus still in the send queue. Exact
 * only when no ACK moved snd_una between the two reads, so read until two agree; -EAGAIN
 * if ACKs keep arriving (ask again later).
 */
static int tcp_queued(int fd, uint64_t *queued, uint8_t *state)
{
	struct lb_tcp_info a, b;
	int tries, outq, ret;

	for (tries = 0; tries < 4; tries++) {
		ret = tcp_info_get(fd, &a);
		if (ret)
			return ret;
		if (ioctl(fd, SIOCOUTQ, &outq))
			return -errno;
		ret = tcp_info_get(fd, &b);
		if (ret)
			return ret;
		if (a.bytes_acked == b.bytes_acked) {
			*queued = b.bytes_acked + (uint64_t)outq;
			if (state)
				*state = b.glibc.tcpi_state;
			return 0;
		}
	}
	return -EAGAIN;
}

static int sockmap_load(struct lb_splice_sockmap **out, bool quiet, char *err, size_t errlen)
{
	libbpf_print_fn_t old_print = NULL;
	struct lb_splice_sockmap *sm;
	int ret, prog_fd;

	sm = calloc(1, sizeof(*sm));
	if (sm)
		sm->ring = calloc(LB_SPLICE_MAX_PAIRS, sizeof(*sm->ring));
	if (!sm || !sm->ring) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	/* Probing (auto mode): a refusal is an answer, not a warning for the log. */
	if (quiet)
		old_print = libbpf_set_print(NULL);
	sm->skel = lb_splice_bpf__open_and_load();
	ret = sm->skel ? 0 : -errno;
	if (quiet)
		libbpf_set_print(old_print);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the splice BPF program: %s (it needs CAP_BPF, CAP_NET_ADMIN "
			 "and CAP_PERFMON, and a kernel with sockmap and BTF; settings.sni-splice "
			 "\"copy\" needs none of them)",
			 strerror(-ret));
		goto err_free;
	}
	sm->socks_fd = bpf_map__fd(sm->skel->maps.lb_sp_socks);
	sm->peer_fd = bpf_map__fd(sm->skel->maps.lb_sp_peer);
	sm->bytes_fd = bpf_map__fd(sm->skel->maps.lb_sp_bytes);
	sm->passed_fd = bpf_map__fd(sm->skel->maps.lb_sp_passed);
	sm->taken_fd = bpf_map__fd(sm->skel->maps.lb_sp_taken);
	sm->seq_fd = bpf_map__fd(sm->skel->maps.lb_sp_seq);
	prog_fd = bpf_program__fd(sm->skel->progs.lb_splice_verdict);
	/* Attached to the map, not to a socket: it runs for every socket the map holds. */
	if (bpf_prog_attach(prog_fd, sm->socks_fd, BPF_SK_SKB_STREAM_VERDICT, 0)) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach the splice verdict program to its sockmap: %s",
			 strerror(-ret));
		goto err_destroy;
	}
	*out = sm;
	return 0;

err_destroy:
	lb_splice_bpf__destroy(sm->skel);
err_free:
	if (sm)
		free(sm->ring);
	free(sm);
	return ret;
}

static void sockmap_close(void *off)
{
	struct lb_splice_sockmap *sm = off;

	if (!sm)
		return;
	/*
	 * Closing the last descriptor of the map detaches the program and drops any socket
	 * still in it; after a hand-over the next lbd holds its own, and nothing changes.
	 */
	if (sm->skel) {
		lb_splice_bpf__destroy(sm->skel);
	} else {
		close(sm->socks_fd);
		close(sm->peer_fd);
		close(sm->bytes_fd);
		close(sm->passed_fd);
		close(sm->taken_fd);
		if (sm->seq_fd >= 0)
			close(sm->seq_fd);
	}
	free(sm->ring);
	free(sm);
}

static int slot_get(struct lb_splice_sockmap *sm, uint32_t *pair)
{
	if (sm->fresh < LB_SPLICE_MAX_PAIRS) {
		*pair = sm->fresh++;
		return 0;
	}
	if (!sm->ring_len)
		return -ENOSPC;
	*pair = sm->ring[sm->ring_head];
	sm->ring_head = (sm->ring_head + 1) % LB_SPLICE_MAX_PAIRS;
	sm->ring_len--;
	return 0;
}

static void slot_put(struct lb_splice_sockmap *sm, uint32_t pair)
{
	sm->ring[(sm->ring_head + sm->ring_len) % LB_SPLICE_MAX_PAIRS] = pair;
	sm->ring_len++;
}

static uint32_t sock_slot(const struct lb_splice *sp, int side)
{
	return 2 * (uint32_t)sp->slot + (uint32_t)side;
}

/*
 * Step 1: move what waits on side @src into its peer's pending output, so that no skb
 * user space touched ever meets the verdict program. 0 when read dry; -EMSGSIZE when the
 * socket holds more than lbd buffers for one pair, -ESHUTDOWN at a FIN (the pair is then
 * copied; the pump sees the FIN again); other errors end the pair.
 */
static int drain(struct lb_splice *sp, int src)
{
	struct lb_splice_side *s = &sp->side[src], *d = &sp->side[!src];
	uint8_t *buf = sp->s->scratch;
	ssize_t n;
	int ret;

	for (;;) {
		n = recv(s->fd, buf, sizeof(sp->s->scratch), MSG_DONTWAIT);
		if (n > 0) {
			ret = lb_splice_queue(sp, !src, buf, (size_t)n);
			if (ret)
				goto err_end;
			if (d->out_len > LB_SPLICE_BUF)
				return -EMSGSIZE;
			continue;
		}
		if (n == 0)
			return -ESHUTDOWN;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		ret = -errno;
		goto err_end;
	}
err_end:
	lb_splice_end(sp, -ret);
	return ret;
}

static int sockmap_add(void *off, struct lb_splice *sp)
{
	struct lb_splice_sockmap *sm = off;
	struct lb_splice_seq unset = {0};
	uint64_t zero = 0, fd;
	uint32_t pair, k;
	uint8_t state;
	int i, ret;

	for (i = 0; i < 2; i++) {
		struct lb_splice_side *d = &sp->side[i];
		socklen_t len = sizeof(d->cookie);

		/* Before lbd sends anything: the base sockmap_flushed() counts from. */
		ret = tcp_queued(d->fd, &d->base, &state);
		if (ret)
			return ret;
		/* The sockmap takes established TCP sockets only (not CLOSE_WAIT, say). */
		if (state != TCP_ESTABLISHED)
			return -ENOTCONN;
		if (getsockopt(d->fd, SOL_SOCKET, SO_COOKIE, &d->cookie, &len))
			return -errno;
	}
	for (i = 0; i < 2; i++) {
		ret = drain(sp, i);
		if (ret)
			return ret;
	}

	ret = slot_get(sm, &pair);
	if (ret)
		return ret;
	sp->slot = (int)pair;
	for (i = 0; i < 2; i++) {
		struct lb_splice_peer v = {
			.slot = sock_slot(sp, i),
			.peer = sock_slot(sp, !i),
			.flags = LB_SPLICE_F_HOLD,
		};

		k = sock_slot(sp, i);
		if (bpf_map_update_elem(sm->bytes_fd, &k, &zero, BPF_ANY) ||
		    bpf_map_update_elem(sm->passed_fd, &k, &zero, BPF_ANY) ||
		    bpf_map_update_elem(sm->taken_fd, &k, &zero, BPF_ANY) ||
		    (sm->seq_fd >= 0 && bpf_map_update_elem(sm->seq_fd, &k, &unset, BPF_ANY)) ||
		    bpf_map_update_elem(sm->peer_fd, &sp->side[i].cookie, &v, BPF_NOEXIST))
			goto err_entries;
	}
	/*
	 * Backend first: if the client is refused, the backend comes out again having passed
	 * nothing to its psock queue (which removal would drop): it has not been sent the
	 * prefix yet, and a TLS server speaks only when spoken to.
	 */
	k = sock_slot(sp, LB_SP_BACKEND);
	fd = (uint64_t)sp->side[LB_SP_BACKEND].fd; /* the map's 8-byte value: an fd to insert */
	if (bpf_map_update_elem(sm->socks_fd, &k, &fd, BPF_NOEXIST))
		goto err_entries;
	k = sock_slot(sp, LB_SP_CLIENT);
	fd = (uint64_t)sp->side[LB_SP_CLIENT].fd;
	if (bpf_map_update_elem(sm->socks_fd, &k, &fd, BPF_NOEXIST)) {
		ret = -errno;
		k = sock_slot(sp, LB_SP_BACKEND);
		bpf_map_delete_elem(sm->socks_fd, &k);
		goto err_put;
	}
	return 0;

err_entries:
	ret = -errno;
err_put:
	for (i = 0; i < 2; i++)
		bpf_map_delete_elem(sm->peer_fd, &sp->side[i].cookie);
	slot_put(sm, pair);
	sp->slot = -1;
	return ret;
}

static int sockmap_forward(struct lb_splice *sp, int src)
{
	struct lb_splice_sockmap *sm = sm_of(sp);
	struct lb_splice_side *s = &sp->side[src];
	struct lb_splice_peer v = {.slot = sock_slot(sp, src), .peer = sock_slot(sp, !src)};
	uint64_t passed;

	/* Not forwarding, so the count is still: late bytes are judged against it. */
	s->fwd_r0 = sockmap_bytes(sp, src);
	if (bpf_map_update_elem(sm->peer_fd, &s->cookie, &v, BPF_EXIST))
		return -errno;
	s->forwarded = true;
	/* Passed before the update and not read yet: the bytes of step 5, late ones. */
	passed = sockmap_passed(sp, src);
	s->late_left = passed > s->taken ? passed - s->taken : 0;
	return 0;
}

static bool sockmap_paused(const struct lb_splice *sp, int src)
{
	struct lb_splice_peer v;

	if (bpf_map_lookup_elem(sm_of(sp)->peer_fd, &sp->side[src].cookie, &v))
		return false;
	return v.flags & LB_SPLICE_F_PAUSED;
}

static int sockmap_taken(struct lb_splice *sp, int src)
{
	struct lb_splice_side *s = &sp->side[src];
	uint32_t k = sock_slot(sp, src);

	if (s->paused_sent == s->paused_read)
		return 0;
	if (bpf_map_update_elem(sm_of(sp)->taken_fd, &k, &s->paused_read, BPF_ANY))
		return -errno;
	s->paused_sent = s->paused_read;
	return 0;
}

static bool sockmap_broken(const struct lb_splice *sp, int src)
{
	const struct lb_splice_sockmap *sm = sm_of(sp);
	uint32_t k = sock_slot(sp, src);
	struct lb_splice_seq st;

	if (sp->slot < 0 || sm->seq_fd < 0 || bpf_map_lookup_elem(sm->seq_fd, &k, &st))
		return false;
	return st.state == LB_SPLICE_SEQ_BROKEN;
}

static uint64_t sockmap_passed(const struct lb_splice *sp, int src)
{
	uint32_t k = sock_slot(sp, src);
	uint64_t bytes = 0;

	if (sp->slot < 0 || bpf_map_lookup_elem(sm_of(sp)->passed_fd, &k, &bytes))
		return 0;
	return bytes;
}

static bool sockmap_flushed(const struct lb_splice *sp, int dst)
{
	const struct lb_splice_side *d = &sp->side[dst];
	uint64_t queued;
	int ret;

	ret = tcp_queued(d->fd, &queued, NULL);
	if (ret == -EAGAIN)
		return false;
	if (ret)
		return true; /* the socket failed: the shutdown() that follows says how */
	return queued - d->base >= d->written + sockmap_bytes(sp, !dst);
}

static uint64_t sockmap_bytes(const struct lb_splice *sp, int src)
{
	uint32_t k = sock_slot(sp, src);
	uint64_t bytes = 0;

	if (sp->slot < 0 || bpf_map_lookup_elem(sm_of(sp)->bytes_fd, &k, &bytes))
		return 0;
	return bytes;
}

static void sockmap_remove(struct lb_splice *sp)
{
	struct lb_splice_sockmap *sm = sm_of(sp);
	uint32_t k;
	int i;

	/* Forwarding off first, so nothing is redirected to a socket on its way out. */
	for (i = 0; i < 2; i++)
		bpf_map_delete_elem(sm->peer_fd, &sp->side[i].cookie);
	for (i = 0; i < 2 && sm->seq_fd >= 0; i++) {
		struct lb_splice_seq st;

		k = sock_slot(sp, i);
		if (!bpf_map_lookup_elem(sm->seq_fd, &k, &st) && st.cut)
			lb_info("sni splice: %u retransmitted segment%s from the %s repeated bytes "
				"already forwarded; the repeats were cut off",
				st.cut, st.cut == 1 ? "" : "s",
				i == LB_SP_CLIENT ? "client" : "backend");
	}
	for (i = 0; i < 2; i++) {
		k = sock_slot(sp, i);
		bpf_map_delete_elem(sm->socks_fd, &k);
	}
	slot_put(sm, (uint32_t)sp->slot);
	sp->slot = -1;
}

static const struct lb_splice_offload sockmap_ops = {
	.name = "sockmap",
	.add = sockmap_add,
	.forward = sockmap_forward,
	.paused = sockmap_paused,
	.taken = sockmap_taken,
	.broken = sockmap_broken,
	.passed = sockmap_passed,
	.flushed = sockmap_flushed,
	.bytes = sockmap_bytes,
	.remove = sockmap_remove,
	.close = sockmap_close,
};

int lb_splice_sockmap_open(const struct lb_splice_offload **ops, void **off, bool quiet, char *err,
			   size_t errlen)
{
	struct lb_splice_sockmap *sm = NULL;
	int ret = sockmap_load(&sm, quiet, err, errlen);

	if (ret)
		return ret;
	*ops = &sockmap_ops;
	*off = sm;
	return 0;
}

/*
 * The maps, in the order a hand-over record carries them. An lbd from before lb_sp_seq
 * hands over one fewer; its program, which goes on running, does not need it.
 */
enum { FD_SOCKS, FD_PEER, FD_BYTES, FD_PASSED, FD_TAKEN, FD_SEQ, N_MAP_FDS };

int lb_splice_sockmap_export(void *off, struct lb_fdrec *r)
{
	struct lb_splice_sockmap *sm = off;
	uint32_t *ring;
	size_t i;

	ring = malloc((sm->ring_len ? sm->ring_len : 1) * sizeof(*ring));
	r->meta = json_pack("{s:s, s:s, s:I, s:I}", "kind", "splicer", "offload", "sockmap",
			    "fresh", (json_int_t)sm->fresh, "recycled", (json_int_t)sm->ring_len);
	if (!ring || !r->meta) {
		free(ring);
		return -ENOMEM;
	}
	/* The recycled slots, oldest first: the next lbd reuses them in the same order. */
	for (i = 0; i < sm->ring_len; i++)
		ring[i] = sm->ring[(sm->ring_head + i) % LB_SPLICE_MAX_PAIRS];
	r->blob = (uint8_t *)ring;
	r->blob_len = sm->ring_len * sizeof(*ring);
	r->fds[FD_SOCKS] = sm->socks_fd;
	r->fds[FD_PEER] = sm->peer_fd;
	r->fds[FD_BYTES] = sm->bytes_fd;
	r->fds[FD_PASSED] = sm->passed_fd;
	r->fds[FD_TAKEN] = sm->taken_fd;
	r->n_fds = FD_SEQ;
	if (sm->seq_fd >= 0)
		r->fds[r->n_fds++] = sm->seq_fd;
	return 0;
}

int lb_splice_sockmap_adopt(struct lb_fdrec *r, const struct lb_splice_offload **ops, void **off,
			    char *err, size_t errlen)
{
	json_int_t fresh = json_integer_value(json_object_get(r->meta, "fresh"));
	json_int_t recycled = json_integer_value(json_object_get(r->meta, "recycled"));
	struct lb_splice_sockmap *sm;
	size_t i;

	if ((r->n_fds != N_MAP_FDS && r->n_fds != FD_SEQ) || fresh < 0 ||
	    fresh > LB_SPLICE_MAX_PAIRS || recycled < 0 || recycled > LB_SPLICE_MAX_PAIRS ||
	    (size_t)recycled * sizeof(uint32_t) != r->blob_len)
		return lb_errf(err, errlen, -EPROTO,
			       "the previous lbd's sockmap record is malformed");
	sm = calloc(1, sizeof(*sm));
	if (sm)
		sm->ring = calloc(LB_SPLICE_MAX_PAIRS, sizeof(*sm->ring));
	if (!sm || !sm->ring) {
		if (sm)
			free(sm->ring);
		free(sm);
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(sm->ring, r->blob, r->blob_len);
	for (i = 0; i < (size_t)recycled; i++)
		if (sm->ring[i] >= LB_SPLICE_MAX_PAIRS) {
			free(sm->ring);
			free(sm);
			return lb_errf(err, errlen, -EPROTO,
				       "the previous lbd's sockmap record is malformed");
		}
	sm->fresh = (uint32_t)fresh;
	sm->ring_len = (uint32_t)recycled;
	sm->socks_fd = lb_fdrec_take_fd(r, FD_SOCKS);
	sm->peer_fd = lb_fdrec_take_fd(r, FD_PEER);
	sm->bytes_fd = lb_fdrec_take_fd(r, FD_BYTES);
	sm->passed_fd = lb_fdrec_take_fd(r, FD_PASSED);
	sm->taken_fd = lb_fdrec_take_fd(r, FD_TAKEN);
	sm->seq_fd = r->n_fds == N_MAP_FDS ? lb_fdrec_take_fd(r, FD_SEQ) : -1;
	*ops = &sockmap_ops;
	*off = sm;
	return 0;
}
