// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * lb_splice.bpf.c - forwards the bytes of a spliced TCP pair inside the kernel.
 *
 *   lb_splice_verdict  sk_skb stream verdict attached to lb_sp_socks: every skb that
 *                      arrives on a socket of the map is sent out of its peer socket,
 *                      or left to recv() while lbd holds the direction.
 *
 * daemon/splice_sockmap.c puts both sockets of a pair into lb_sp_socks with HOLD entries
 * in lb_sp_peer and, once the bytes it must send itself (the ClientHello it read, what
 * was queued before) are out, clears HOLD; from then on the socket's bytes bypass user
 * space, except while its peer lags (PAUSED). Before any of that, stream_check() cuts off
 * what an skb repeats of bytes already handled (a partly overlapping retransmission, which
 * the kernel hands over whole). The maps are not pinned: they live and die with the lbd
 * process that loaded them.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "lb_splice_abi.h"

/*
 * slot -> socket (lb_splice_abi.h says who sits where). A SOCKMAP rather than a SOCKHASH:
 * slots are small dense integers lbd recycles, so an array is the cheaper lookup. The
 * 8-byte value lets user space read back socket cookies; updates take an fd.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, LB_SPLICE_MAX_SOCKS);
	__type(key, __u32);
	__type(value, __u64);
} lb_sp_socks SEC(".maps");

/*
 * socket cookie -> its slot, its peer's slot and the forwarding state, for every spliced
 * socket. Keyed by cookie because that is all the verdict program can learn about the
 * socket an skb arrived on; cookies are never reused, so an entry left behind by a dying
 * socket can never match a new one. Allocated on demand: most lbd never fill it. Only the
 * CPU running a socket's receive path runs the program for that socket (the socket lock
 * serialises them), so the program updates its entry in place without a lock.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_SPLICE_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct lb_splice_peer);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lb_sp_peer SEC(".maps");

/* slot -> bytes forwarded from the socket in that slot; lbd zeroes it before reusing the slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_SPLICE_MAX_SOCKS);
	__type(key, __u32);
	__type(value, __u64);
} lb_sp_bytes SEC(".maps");

/*
 * slot -> bytes of that socket passed to recv(). recv() returning 0 does not prove they
 * were all read: a passed skb queues behind the skbs the kernel is still sending out of
 * the same socket (one psock queue holds both), and recv() reports the FIN before it
 * gets there (seen on 6.18). lbd believes an EOF once it has read this many bytes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_SPLICE_MAX_SOCKS);
	__type(key, __u32);
	__type(value, __u64);
} lb_sp_passed SEC(".maps");

/*
 * slot -> bytes lbd has read while the socket was PAUSED and sent on in full, counted
 * since lbd wrote the socket's lb_sp_peer entry. Written by lbd only; when it equals the
 * entry's paused count, nothing passed is left in user space and forwarding may resume.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_SPLICE_MAX_SOCKS);
	__type(key, __u32);
	__type(value, __u64);
} lb_sp_taken SEC(".maps");

/*
 * slot -> where that socket's stream has got to (struct lb_splice_seq); lbd zeroes it
 * before the socket joins. Only the program writes it afterwards, under the socket's lock.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_SPLICE_MAX_SOCKS);
	__type(key, __u32);
	__type(value, struct lb_splice_seq);
} lb_sp_seq SEC(".maps");

/*
 * The fields of the kernel's struct tcp_sock and struct sk_buff this program reads.
 * preserve_access_index makes libbpf fix their offsets up from the running kernel's BTF
 * (CO-RE), so no vmlinux.h; the ___lb suffix keeps the names apart from the UAPI ones.
 */
struct tcp_sock {
	__u32 write_seq;
	__u32 copied_seq;
} __attribute__((preserve_access_index));

struct sk_buff___lb {
	char cb[48];
} __attribute__((preserve_access_index));

/*
 * The peer socket's write_seq: how far the bytes sent out of it have got into its send
 * queue. -1 when the slot is empty (lbd is tearing the pair down).
 */
static __always_inline int peer_write_seq(__u32 peer, __u32 *seq)
{
	struct tcp_sock *tp;
	struct bpf_sock *sk;

	/* A sockmap lookup from a program returns a referenced socket: release it. */
	sk = bpf_map_lookup_elem(&lb_sp_socks, &peer);
	if (!sk)
		return -1;
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp)
		*seq = tp->write_seq;
	bpf_sk_release(sk);
	return tp ? 0 : -1;
}

/* Leave the skb to recv(), in order, counted for lbd's EOF check (lb_sp_passed). */
static __always_inline int pass(const struct lb_splice_peer *p, __u32 len)
{
	__u64 *passed = bpf_map_lookup_elem(&lb_sp_passed, &p->slot);

	if (passed)
		__sync_fetch_and_add(passed, len);
	return SK_PASS;
}

/*
 * The TCP sequence number of the skb's first byte: TCP_SKB_CB(skb)->seq, the first member
 * of struct tcp_skb_cb at the start of skb->cb (the same since Linux 2.6). The context
 * pointer is the kernel's struct sk_buff; bpf_probe_read_kernel() (CAP_PERFMON, which
 * lbd needs anyway) reads it, as __sk_buff has no such field.
 */
static __always_inline __u32 skb_seq(struct __sk_buff *skb)
{
	__u32 seq = 0;

	bpf_core_read(&seq, sizeof(seq), &((struct sk_buff___lb *)(void *)skb)->cb);
	return seq;
}

/* The source socket's copied_seq: the first byte neither read nor handed to the program. */
static __always_inline int src_copied_seq(struct __sk_buff *skb, __u32 *seq)
{
	struct bpf_sock *sk = skb->sk;
	struct tcp_sock *tp;

	if (!sk)
		return -1;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return -1;
	*seq = tp->copied_seq;
	return 0;
}

/*
 * A retransmitted segment may start before the bytes TCP has already queued (its head was
 * received before, its tail was not). TCP queues it whole and lets its readers skip the
 * head (tcp_recvmsg() starts at copied_seq), but tcp_read_skb() hands the whole skb to
 * this program (seen on 6.18: every overlapping byte reached the peer twice). So the
 * program keeps the stream's next sequence number itself and cuts the repeated head off
 * before the skb goes anywhere. 0: the skb (perhaps shorter now) is all new bytes; 1: it
 * holds nothing new (drop it); -1: the stream cannot be trusted any more (BROKEN).
 */
static __noinline int stream_check(struct __sk_buff *skb, __u32 slot)
{
	struct lb_splice_seq *st = bpf_map_lookup_elem(&lb_sp_seq, &slot);
	__u32 seq, len = skb->len, over, step;
	int i;

	if (!st || st->state == LB_SPLICE_SEQ_BROKEN)
		return -1;
	seq = skb_seq(skb);
	if (st->state == LB_SPLICE_SEQ_UNSET) {
		/* The first skb since the socket joined: nothing before it was handed over. */
		if (src_copied_seq(skb, &st->nxt))
			goto broken;
		st->state = LB_SPLICE_SEQ_OK;
	}
	over = st->nxt - seq;
	if (!over) {
		st->nxt = seq + len;
		return 0;
	}
	if ((__s32)over < 0)
		goto broken; /* a gap: bytes went past the program */
	st->cut++;
	if (over >= len)
		return 1;
	/* bpf_skb_adjust_room() looks at skb->sk (tls); tcp_read_skb() always sets it. */
	if (!skb->sk)
		goto broken;
	for (i = 0; i < LB_SPLICE_TRIM_STEPS && over; i++) {
		step = over < LB_SPLICE_TRIM_STEP ? over : LB_SPLICE_TRIM_STEP;
		if (bpf_skb_adjust_room(skb, -(__s32)step, 0, 0))
			goto broken;
		over -= step;
	}
	if (over)
		goto broken;
	st->nxt = seq + len;
	return 0;
broken:
	st->state = LB_SPLICE_SEQ_BROKEN;
	return -1;
}

SEC("sk_skb/stream_verdict")
int lb_splice_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct lb_splice_peer *p;
	__u32 seq, inflight;
	__u64 *bytes;

	/* Not (or no longer) a spliced socket: whatever it is, recv() gets it. */
	p = bpf_map_lookup_elem(&lb_sp_peer, &cookie);
	if (!p)
		return SK_PASS;

	/*
	 * Since Linux 6.x (tcp_read_skb) a bare FIN reaches this program as an skb without
	 * payload. Redirected, the peer's psock tries to send zero bytes, takes the zero for
	 * a hard error and sets EPIPE on the peer socket (seen on 6.18). Dropping it loses
	 * nothing: TCP has already recorded the FIN (recv() returns 0, poll() says RDHUP) and
	 * lbd forwards it as shutdown(SHUT_WR) once the data before it is out.
	 */
	if (!skb->len)
		return SK_DROP;

	/*
	 * Before anything else: what the skb repeats of the stream must go neither to recv()
	 * nor to the peer. BROKEN: recv() gets the rest, lbd sees lb_sp_seq and resets.
	 */
	switch (stream_check(skb, p->slot)) {
	case 0:
		break;
	case 1:
		return SK_DROP;
	default:
		return pass(p, skb->len);
	}

	/*
	 * HOLD: lbd still sends bytes of its own first (the prefix, what it read before);
	 * every skb must follow them to recv(), or the stream would reorder.
	 */
	if (p->flags & LB_SPLICE_F_HOLD)
		return pass(p, skb->len);
	bytes = bpf_map_lookup_elem(&lb_sp_bytes, &p->slot);
	if (!bytes)
		return pass(p, skb->len);

	/*
	 * PAUSED (below): skbs go to recv() until lbd has sent on all it was passed; only
	 * then may forwarding resume, behind those bytes. lb_sp_taken counts them once they
	 * sit in the peer socket, so equality is the moment. Unequal (lbd is behind, or read
	 * bytes it did not count as paused), keep passing: safe, merely slower.
	 */
	if (p->flags & LB_SPLICE_F_PAUSED) {
		__u64 *taken = bpf_map_lookup_elem(&lb_sp_taken, &p->slot);

		if (!taken || *taken != p->paused) {
			p->paused += skb->len;
			return pass(p, skb->len);
		}
		p->flags &= ~(LB_SPLICE_F_PAUSED | LB_SPLICE_F_ARMED);
	}
	if (peer_write_seq(p->peer, &seq))
		return SK_DROP; /* lbd resets pairs it takes out of the map while they run */

	/*
	 * The kernel does not push back on a redirect: skbs for a peer whose send buffer is
	 * full wait on its psock, charged to neither socket, so the sender is never slowed
	 * down and the queue grows without bound (seen on 6.18: gigabytes). Bytes forwarded
	 * since forwarding (re)started minus bytes the peer's send queue took in since then
	 * is that queue; both counts wrap alike in 32 bits, and the difference stays far below
	 * 2^32 because it is capped here. Over the cap, pause: passed skbs go to lbd, which
	 * sends them on once the peer has caught up. They were meant to be charged to this
	 * socket's receive buffer and close its TCP window; on 6.18 they wait on the psock
	 * uncharged, so a client that does not read is not slowed either (docs/datapath.md,
	 * "Known exposure of sni-splice: sockmap").
	 */
	if (!(p->flags & LB_SPLICE_F_ARMED)) {
		p->w0 = seq;
		p->r0 = *bytes;
		p->flags |= LB_SPLICE_F_ARMED;
	}
	inflight = (__u32)(*bytes - p->r0) - (seq - p->w0);
	if (inflight > LB_SPLICE_INFLIGHT_MAX) {
		p->flags |= LB_SPLICE_F_PAUSED;
		p->paused += skb->len;
		return pass(p, skb->len);
	}

	/*
	 * Without a stream parser the skb is whole TCP payload, so skb->len is the number of
	 * bytes forwarded. Counted before the redirect: lbd compares this count with what the
	 * peer socket has queued to know when its own bytes or a FIN may follow.
	 */
	__sync_fetch_and_add(bytes, skb->len);

	/*
	 * Flags 0: out of the peer's egress, i.e. sent to the peer's remote end through the
	 * peer's TCP send path (BPF_F_INGRESS would queue it for the peer's own recv()).
	 */
	return bpf_sk_redirect_map(skb, &lb_sp_socks, p->peer, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
