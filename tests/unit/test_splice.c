// SPDX-License-Identifier: MIT
/*
 * Unit tests of the splicer (daemon/splice.h) on 127.0.0.1, in both modes: every case runs
 * once copying in user space and once through the sockmap. The sockmap cases are left out
 * (with a note on stderr, not a failure) when the BPF object cannot be loaded: not root,
 * no sockmap in the kernel.
 *
 * Each case builds the three parties of a splice: a client socket connected to lbd's
 * client socket, lbd's backend socket connected to a backend socket. The client and the
 * backend are driven by uv_poll on the same loop as the splicer, sending a seeded byte
 * stream and checking every byte they receive against the other side's stream, so loss,
 * duplication and reordering are all caught at the byte where they happen. Every wait is
 * bounded by a guard timer.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb_splice_abi.h"
#include "lb_splice.skel.h"
#include "sni_priv.h"
#include "splice.h"

#define GUARD_MS 30000 /* no case comes near it unless something hangs */
#define MIB	 (1024 * 1024)

static uv_loop_t loop;
static enum lb_splice_mode mode;
static struct lb_splicer *splicer;
static int listener;
static struct sockaddr_in listen_addr;

/* Byte @i of the stream seeded @seed: position-dependent, so any shift shows. */
static uint8_t stream_byte(uint32_t seed, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9E3779B97F4A7C15ull + seed;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	return (uint8_t)(x >> ((i & 7) * 8));
}

static void stream_fill(uint32_t seed, uint64_t from, uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = stream_byte(seed, from + i);
}

/* A connected TCP pair: *a connect()ed, *b accept()ed, both non-blocking. */
static void tcp_pair(int *a, int *b)
{
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*a, 0);
	ck_assert_int_eq(connect(*a, (struct sockaddr *)&listen_addr, sizeof(listen_addr)), 0);
	*b = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ck_assert_int_ge(*b, 0);
	ck_assert_int_eq(fcntl(*a, F_SETFL, O_NONBLOCK), 0);
}

/*
 * A party at one end of a splice: sends send_total bytes of stream send_seed, checks
 * what it receives against stream recv_seed, closes its socket once it has sent all it
 * had to (and its FIN, if asked) and read EOF or an error.
 */
struct endpoint {
	const char *name;
	int fd;
	uv_poll_t poll;
	int events;
	bool open; /* poll handle initialised, not closed yet */

	uint32_t send_seed;
	uint64_t send_total;
	uint64_t sent;
	bool send_after_eof;	  /* start sending only once EOF was read */
	uint64_t send_after_recv; /* and only once this much arrived */
	bool shut_when_sent;	  /* shutdown(SHUT_WR) after the last byte */
	bool shut;

	uint32_t recv_seed;
	bool no_read; /* a reader that never reads */
	uint64_t received;
	uint64_t reset_after; /* > 0: once this much arrived, close with SO_LINGER 0 */
	bool eof;
	int err;	      /* from recv() or send() */
	int64_t mismatch_at;  /* first wrong byte, -1 when none */
	uint64_t sent_at_eof; /* sent when EOF arrived */
	bool closed;
};

static void endpoint_watch(struct endpoint *e);

static bool endpoint_finished(const struct endpoint *e)
{
	bool sending = !e->err && (e->sent < e->send_total || (e->shut_when_sent && !e->shut));

	return e->err || (!sending && e->eof);
}

static void endpoint_close(struct endpoint *e, bool reset)
{
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (e->open) {
		uv_poll_stop(&e->poll);
		uv_close((uv_handle_t *)&e->poll, NULL);
		e->open = false;
	}
	close(e->fd);
	e->closed = true;
}

static void endpoint_send(struct endpoint *e)
{
	uint8_t buf[65536];

	while (e->sent < e->send_total && !e->err) {
		size_t len = e->send_total - e->sent < sizeof(buf) ? e->send_total - e->sent
								   : sizeof(buf);
		ssize_t n;

		stream_fill(e->send_seed, e->sent, buf, len);
		n = send(e->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			e->err = errno;
		else
			e->sent += (uint64_t)n;
	}
	if (!e->err && e->shut_when_sent && !e->shut) {
		ck_assert_int_eq(shutdown(e->fd, SHUT_WR), 0);
		e->shut = true;
	}
}

static void endpoint_recv(struct endpoint *e)
{
	uint8_t buf[65536];
	int rounds;

	for (rounds = 0; rounds < 16 && !e->eof && !e->err; rounds++) {
		ssize_t n = recv(e->fd, buf, sizeof(buf), 0);
		ssize_t i;

		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			e->err = errno;
			return;
		}
		if (n == 0) {
			e->eof = true;
			e->sent_at_eof = e->sent;
			return;
		}
		for (i = 0; i < n && e->mismatch_at < 0; i++)
			if (buf[i] != stream_byte(e->recv_seed, e->received + (uint64_t)i))
				e->mismatch_at = (int64_t)(e->received + (uint64_t)i);
		e->received += (uint64_t)n;
		if (e->reset_after && e->received >= e->reset_after) {
			endpoint_close(e, true);
			return;
		}
	}
}

static void on_endpoint(uv_poll_t *h, int status, int events)
{
	struct endpoint *e = h->data;

	if (status < 0) {
		socklen_t len = sizeof(e->err);

		getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &e->err, &len);
		if (!e->err)
			e->err = -status;
	}
	if (!e->closed && (events & (UV_READABLE | UV_DISCONNECT)))
		endpoint_recv(e);
	if (!e->closed && (events & UV_WRITABLE))
		endpoint_send(e);
	if (!e->closed)
		endpoint_watch(e);
}

static void endpoint_watch(struct endpoint *e)
{
	int events = 0;

	if (endpoint_finished(e)) {
		endpoint_close(e, false);
		return;
	}
	if (!e->no_read && !e->eof && !e->err)
		events |= UV_READABLE;
	if (e->sent < e->send_total && (!e->send_after_eof || e->eof) &&
	    e->received >= e->send_after_recv)
		events |= UV_WRITABLE;
	if (events == e->events)
		return;
	e->events = events;
	if (events)
		ck_assert_int_eq(uv_poll_start(&e->poll, events, on_endpoint), 0);
	else
		uv_poll_stop(&e->poll);
}

static void endpoint_start(struct endpoint *e, const char *name, int fd)
{
	e->name = name;
	e->fd = fd;
	e->mismatch_at = -1;
	ck_assert_int_eq(uv_poll_init(&loop, &e->poll, fd), 0);
	e->poll.data = e;
	e->open = true;
	endpoint_watch(e);
}

/* Everything arrived, in order, and EOF after it. */
static void endpoint_check_got(const struct endpoint *e, uint64_t expected)
{
	ck_assert_msg(e->mismatch_at < 0, "%s: byte %lld differs", e->name,
		      (long long)e->mismatch_at);
	ck_assert_msg(e->err == 0, "%s: %s", e->name, strerror(e->err));
	ck_assert_msg(e->received == expected, "%s: got %llu bytes, want %llu", e->name,
		      (unsigned long long)e->received, (unsigned long long)expected);
	ck_assert_msg(e->eof, "%s: no EOF", e->name);
}

struct outcome {
	struct lb_splice *sp;
	int calls;
	struct lb_splice_stats st;
};

static void record(struct lb_splice *sp, const struct lb_splice_stats *st, void *arg)
{
	struct outcome *o = arg;

	/* o->sp is set once lb_splice_start() returned: a synchronous done fails here. */
	ck_assert_ptr_eq(sp, o->sp);
	o->calls++;
	o->st = *st;
}

/* One splice with its client and backend; the lbd-side sockets go to the splicer. */
struct trio {
	struct endpoint client, backend;
	int lb_client, lb_backend;
	struct outcome out;
};

static void trio_connect(struct trio *t)
{
	memset(t, 0, sizeof(*t));
	tcp_pair(&t->client.fd, &t->lb_client);
	tcp_pair(&t->lb_backend, &t->backend.fd);
}

static void trio_start(struct trio *t, const uint8_t *prefix, size_t prefix_len)
{
	t->out.sp = lb_splice_start(splicer, t->lb_client, t->lb_backend, prefix, prefix_len,
				    record, &t->out);
	ck_assert_ptr_nonnull(t->out.sp);
	ck_assert_int_eq(t->out.calls, 0);
	endpoint_start(&t->client, "client", t->client.fd);
	endpoint_start(&t->backend, "backend", t->backend.fd);
}

static bool guard_fired;

static void on_guard(uv_timer_t *t)
{
	guard_fired = true;
	uv_stop(&loop);
}

/* Run the loop until nothing is left to do; fail if that takes GUARD_MS. */
static void run_all(void)
{
	uv_timer_t guard;

	uv_timer_init(&loop, &guard);
	uv_timer_start(&guard, on_guard, GUARD_MS, 0);
	uv_unref((uv_handle_t *)&guard);
	guard_fired = false;
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_msg(!guard_fired, "timed out");
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void setup(void)
{
	socklen_t len = sizeof(listen_addr);
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	splicer = lb_splicer_new(&loop, mode, err, sizeof(err));
	ck_assert_msg(splicer, "%s", err);
	ck_assert_str_eq(lb_splicer_kind(splicer), mode == LB_SPLICE_COPY ? "copy" : "sockmap");

	memset(&listen_addr, 0, sizeof(listen_addr));
	listen_addr.sin_family = AF_INET;
	listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&listen_addr, sizeof(listen_addr)), 0);
	ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&listen_addr, &len), 0);
	ck_assert_int_eq(listen(listener, 1024), 0);
}

static void setup_copy(void)
{
	mode = LB_SPLICE_COPY;
	setup();
}

static void setup_sockmap(void)
{
	mode = LB_SPLICE_SOCKMAP;
	setup();
}

/* No handle, no pair left behind: the loop closes. */
static void teardown(void)
{
	lb_splicer_free(splicer);
	uv_run(&loop, UV_RUN_DEFAULT);
	close(listener);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/*
 * What lbd read before the splice goes first, then what was still queued on lbd's
 * sockets, then the rest: the prefix here is the first 517 bytes of the client's stream
 * (as a ClientHello would be), read out of an skb whose remaining bytes stay queued.
 */
START_TEST(test_prefix_then_data_in_order)
{
	uint8_t early[4000], prefix[517], banner[300];
	struct trio t;

	trio_connect(&t);
	stream_fill(1, 0, early, sizeof(early));
	ck_assert_int_eq(send(t.client.fd, early, sizeof(early), 0), sizeof(early));
	stream_fill(2, 0, banner, sizeof(banner));
	ck_assert_int_eq(send(t.backend.fd, banner, sizeof(banner), 0), sizeof(banner));
	/* Like the acceptor: the first bytes only, the rest stays in the socket. */
	ck_assert_int_eq(poll(&(struct pollfd){.fd = t.lb_client, .events = POLLIN}, 1, 1000), 1);
	ck_assert_int_eq(recv(t.lb_client, prefix, sizeof(prefix), 0), sizeof(prefix));
	ck_assert_int_eq(memcmp(prefix, early, sizeof(prefix)), 0);

	t.client.send_seed = 1;
	t.client.sent = sizeof(early);
	t.client.send_total = sizeof(early) + 100000;
	t.client.shut_when_sent = true;
	t.client.recv_seed = 2;
	t.backend.send_seed = 2;
	t.backend.sent = sizeof(banner);
	t.backend.send_total = sizeof(banner) + 50000;
	t.backend.shut_when_sent = true;
	t.backend.recv_seed = 1;
	trio_start(&t, prefix, sizeof(prefix));
	run_all();

	endpoint_check_got(&t.backend, t.client.send_total);
	endpoint_check_got(&t.client, t.backend.send_total);
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_eq(t.out.st.error, 0);
	/* The prefix counts; bytes the acceptor read and did not pass on do not exist. */
	ck_assert_uint_eq(t.out.st.bytes_to_backend, t.client.send_total);
	ck_assert_uint_eq(t.out.st.bytes_to_client, t.backend.send_total);
	ck_assert_uint_eq(lb_splicer_active(splicer), 0);
}
END_TEST

/* 8 MiB each way at once, every byte checked, counts exact. */
START_TEST(test_bulk_both_ways)
{
	const char *hello = "HELLO";
	struct trio t;

	trio_connect(&t);
	t.client.send_seed = 11;
	t.client.send_total = 8 * MIB;
	t.client.shut_when_sent = true;
	t.client.recv_seed = 12;
	t.backend.send_seed = 12;
	t.backend.send_total = 8 * MIB;
	t.backend.shut_when_sent = true;
	/* The backend sees "HELLO" and then the client's stream: check the stream part. */
	t.backend.recv_seed = 11;
	t.out.sp = lb_splice_start(splicer, t.lb_client, t.lb_backend, (const uint8_t *)hello, 5,
				   record, &t.out);
	ck_assert_ptr_nonnull(t.out.sp);
	{
		char got[5];
		struct pollfd p = {.fd = t.backend.fd, .events = POLLIN};

		/* Read the prefix by hand, then let the endpoint check the stream. */
		while (p.revents == 0) {
			uv_run(&loop, UV_RUN_NOWAIT);
			poll(&p, 1, 10);
		}
		ck_assert_int_eq(recv(t.backend.fd, got, 5, MSG_WAITALL), 5);
		ck_assert_int_eq(memcmp(got, hello, 5), 0);
	}
	ck_assert_uint_eq(lb_splicer_active(splicer), 1);
	endpoint_start(&t.client, "client", t.client.fd);
	endpoint_start(&t.backend, "backend", t.backend.fd);
	run_all();

	endpoint_check_got(&t.backend, 8 * MIB);
	endpoint_check_got(&t.client, 8 * MIB);
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_eq(t.out.st.error, 0);
	ck_assert_uint_eq(t.out.st.bytes_to_backend, 8 * MIB + 5);
	ck_assert_uint_eq(t.out.st.bytes_to_client, 8 * MIB);
}
END_TEST

/*
 * Half-close: the client's FIN reaches the backend as EOF while the backend has not sent
 * a byte yet; its answer (sent after that EOF) still reaches the client, then its FIN.
 */
START_TEST(test_half_close)
{
	struct trio t;

	trio_connect(&t);
	t.client.send_seed = 21;
	t.client.send_total = 70000;
	t.client.shut_when_sent = true;
	t.client.recv_seed = 22;
	t.backend.send_seed = 22;
	t.backend.send_total = 3 * MIB;
	t.backend.send_after_eof = true;
	t.backend.shut_when_sent = true;
	t.backend.recv_seed = 21;
	trio_start(&t, NULL, 0);
	run_all();

	endpoint_check_got(&t.backend, 70000);
	ck_assert_uint_eq(t.backend.sent_at_eof, 0); /* the EOF came first, data followed */
	endpoint_check_got(&t.client, 3 * MIB);
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_eq(t.out.st.error, 0);
	ck_assert_uint_eq(t.out.st.bytes_to_backend, 70000);
	ck_assert_uint_eq(t.out.st.bytes_to_client, 3 * MIB);
}
END_TEST

/* The backend resets mid-stream: the client is reset too and done reports an error. */
START_TEST(test_backend_reset)
{
	struct trio t;

	trio_connect(&t);
	t.client.send_seed = 31;
	t.client.send_total = 200000;
	t.client.send_after_recv = 1000; /* the backend's bytes are through before its reset */
	t.client.recv_seed = 32;
	t.backend.recv_seed = 31;
	t.backend.send_seed = 32;
	t.backend.send_total = 1000;
	t.backend.reset_after = 100000;
	trio_start(&t, NULL, 0);
	run_all();

	ck_assert_int_eq(t.backend.mismatch_at, -1);
	ck_assert_int_eq(t.client.mismatch_at, -1);
	ck_assert_uint_eq(t.client.received, 1000);
	ck_assert_msg(t.client.err == ECONNRESET || t.client.err == EPIPE,
		      "client: %s, not a reset", strerror(t.client.err));
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_ne(t.out.st.error, 0);
}
END_TEST

/* The client resets while the backend still sends: the backend is reset. */
START_TEST(test_client_reset)
{
	struct trio t;

	trio_connect(&t);
	t.client.recv_seed = 42;
	t.client.reset_after = 300000;
	t.backend.send_seed = 42;
	t.backend.send_total = 64 * MIB; /* more than the reset lets through */
	t.backend.recv_seed = 41;
	trio_start(&t, NULL, 0);
	run_all();

	ck_assert_int_eq(t.client.mismatch_at, -1);
	ck_assert_msg(t.backend.err == ECONNRESET || t.backend.err == EPIPE,
		      "backend: %s, not a reset", strerror(t.backend.err));
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_ne(t.out.st.error, 0);
}
END_TEST

#define N_SHORT 200

/* 200 short pairs at once, each with its own prefix and streams. */
START_TEST(test_many_short_pairs)
{
	struct trio *t = calloc(N_SHORT, sizeof(*t));
	uint8_t prefix[64];
	int i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < N_SHORT; i++) {
		trio_connect(&t[i]);
		t[i].client.send_seed = 1000 + (uint32_t)i;
		t[i].client.send_total = 1000 + (uint64_t)i;
		t[i].client.shut_when_sent = true;
		t[i].client.recv_seed = 5000 + (uint32_t)i;
		t[i].backend.send_seed = 5000 + (uint32_t)i;
		t[i].backend.send_total = 2000 + (uint64_t)i;
		t[i].backend.shut_when_sent = true;
		t[i].backend.recv_seed = 1000 + (uint32_t)i;
		/* The prefix is the head of the client's stream; the client sends the rest. */
		stream_fill(t[i].client.send_seed, 0, prefix, sizeof(prefix));
		t[i].client.sent = sizeof(prefix);
		trio_start(&t[i], prefix, sizeof(prefix));
	}
	ck_assert_uint_eq(lb_splicer_active(splicer), N_SHORT);
	run_all();

	for (i = 0; i < N_SHORT; i++) {
		endpoint_check_got(&t[i].backend, t[i].client.send_total);
		endpoint_check_got(&t[i].client, t[i].backend.send_total);
		ck_assert_int_eq(t[i].out.calls, 1);
		ck_assert_int_eq(t[i].out.st.error, 0);
		ck_assert_uint_eq(t[i].out.st.bytes_to_backend, t[i].client.send_total);
		ck_assert_uint_eq(t[i].out.st.bytes_to_client, t[i].backend.send_total);
	}
	ck_assert_uint_eq(lb_splicer_active(splicer), 0);
	free(t);
}
END_TEST

static int loop_turns;

static void on_check(uv_check_t *c)
{
	loop_turns++;
}

static void on_quiet_end(uv_timer_t *t)
{
	uv_stop(&loop);
}

/*
 * A backend that never reads stalls its own pair only: another pair moves 4 MiB through
 * meanwhile, and the stalled pair does not keep the loop spinning.
 */
START_TEST(test_slow_reader_stalls_only_its_pair)
{
	struct trio slow, fast;
	uv_check_t check;
	uv_timer_t quiet;

	trio_connect(&slow);
	slow.client.send_seed = 51;
	slow.client.send_total = 64 * MIB;
	slow.client.recv_seed = 52;
	slow.backend.no_read = true;
	trio_start(&slow, NULL, 0);

	trio_connect(&fast);
	fast.client.send_seed = 53;
	fast.client.send_total = 4 * MIB;
	fast.client.shut_when_sent = true;
	fast.client.recv_seed = 54;
	fast.backend.send_seed = 54;
	fast.backend.send_total = 4 * MIB;
	fast.backend.shut_when_sent = true;
	fast.backend.recv_seed = 53;
	trio_start(&fast, NULL, 0);

	/* The slow pair never finishes: run until the fast one and its parties are done. */
	uv_check_init(&loop, &check);
	uv_check_start(&check, on_check);
	uv_timer_init(&loop, &quiet);
	while (!fast.out.calls || !fast.client.closed || !fast.backend.closed) {
		uv_timer_start(&quiet, on_quiet_end, 100, 0);
		uv_run(&loop, UV_RUN_DEFAULT);
		ck_assert_int_lt(loop_turns, 100000);
	}
	endpoint_check_got(&fast.backend, 4 * MIB);
	endpoint_check_got(&fast.client, 4 * MIB);
	ck_assert_int_eq(fast.out.st.error, 0);
	ck_assert_int_eq(slow.out.calls, 0);
	ck_assert_uint_lt(slow.client.sent, 64 * MIB);

	/* Stalled, nothing else to do: a few loop turns in 300 ms, not a busy loop. */
	uv_run(&loop, UV_RUN_NOWAIT);
	loop_turns = 0;
	uv_timer_start(&quiet, on_quiet_end, 300, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_lt(loop_turns, 50);

	uv_close((uv_handle_t *)&quiet, NULL);
	uv_close((uv_handle_t *)&check, NULL);
	endpoint_close(&slow.backend, true);
	run_all();
	ck_assert_int_eq(slow.out.calls, 1);
	ck_assert_int_ne(slow.out.st.error, 0);
}
END_TEST

struct stall_watch {
	const struct endpoint *e;
	uint64_t last;
	int still; /* ticks without progress */
};

static void on_stall_tick(uv_timer_t *t)
{
	struct stall_watch *w = t->data;

	w->still = w->e->sent == w->last ? w->still + 1 : 0;
	w->last = w->e->sent;
	if (w->still >= 10)
		uv_stop(&loop);
}

/* Run the loop until @e has sent nothing for 200 ms; fail after GUARD_MS. */
static void run_until_stuck(const struct endpoint *e)
{
	struct stall_watch w = {.e = e};
	uv_timer_t tick;
	int ticks;

	uv_timer_init(&loop, &tick);
	tick.data = &w;
	uv_timer_start(&tick, on_stall_tick, 20, 20);
	for (ticks = 0; w.still < 10; ticks++) {
		ck_assert_msg(ticks < GUARD_MS / 20, "%s never stopped sending", e->name);
		uv_run(&loop, UV_RUN_ONCE);
	}
	uv_close((uv_handle_t *)&tick, NULL);
}

/*
 * A backend that reads nothing until its client is stuck, then everything: the bytes
 * held back (in lbd's buffers or, in sockmap mode, passed back to lbd once the kernel
 * stopped forwarding) arrive complete and in order once it reads.
 */
START_TEST(test_reader_catches_up)
{
	struct trio t;

	trio_connect(&t);
	t.client.send_seed = 71;
	t.client.send_total = 48 * MIB;
	t.client.shut_when_sent = true;
	t.client.recv_seed = 72;
	t.backend.send_seed = 72;
	t.backend.send_total = 1000;
	t.backend.shut_when_sent = true;
	t.backend.recv_seed = 71;
	t.backend.no_read = true;
	trio_start(&t, NULL, 0);

	run_until_stuck(&t.client);
	/* Stuck well before the end: something pushed back on the client. */
	ck_assert_uint_lt(t.client.sent, 48 * MIB);
	ck_assert_int_eq(t.out.calls, 0);

	t.backend.no_read = false;
	endpoint_watch(&t.backend);
	run_all();
	endpoint_check_got(&t.backend, 48 * MIB);
	endpoint_check_got(&t.client, 1000);
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_eq(t.out.st.error, 0);
	ck_assert_uint_eq(t.out.st.bytes_to_backend, 48 * MIB);
	ck_assert_uint_eq(t.out.st.bytes_to_client, 1000);
}
END_TEST

static int freed_done_calls;

static void record_free(struct lb_splice *sp, const struct lb_splice_stats *st, void *arg)
{
	struct outcome *o = arg;

	ck_assert_int_eq(st->error, ECANCELED);
	o->calls++;
	o->st = *st;
	freed_done_calls++;
}

/* Freeing the splicer resets running pairs, reports each once, leaves nothing behind. */
START_TEST(test_free_resets_active_pairs)
{
	struct trio t[8];
	int i;

	for (i = 0; i < 8; i++) {
		trio_connect(&t[i]);
		t[i].client.send_seed = 61;
		t[i].client.send_total = 1000;
		t[i].client.recv_seed = 62;
		t[i].backend.send_seed = 62;
		t[i].backend.send_total = 1000;
		t[i].backend.recv_seed = 61;
		t[i].out.sp = lb_splice_start(splicer, t[i].lb_client, t[i].lb_backend, NULL, 0,
					      record_free, &t[i].out);
		ck_assert_ptr_nonnull(t[i].out.sp);
		endpoint_start(&t[i].client, "client", t[i].client.fd);
		endpoint_start(&t[i].backend, "backend", t[i].backend.fd);
	}
	/* Until every byte arrived: the pairs are idle, not finished. */
	for (i = 0; i < 8; i++)
		while (t[i].client.received < 1000 || t[i].backend.received < 1000)
			uv_run(&loop, UV_RUN_ONCE);
	ck_assert_uint_eq(lb_splicer_active(splicer), 8);

	freed_done_calls = 0;
	lb_splicer_free(splicer);
	splicer = NULL;
	ck_assert_int_eq(freed_done_calls, 8); /* synchronously, once each */
	run_all();
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(t[i].out.calls, 1);
		ck_assert_uint_eq(t[i].out.st.bytes_to_backend, 1000);
		ck_assert_uint_eq(t[i].out.st.bytes_to_client, 1000);
		ck_assert_msg(t[i].client.err == ECONNRESET, "client %d: %s", i,
			      strerror(t[i].client.err));
		ck_assert_msg(t[i].backend.err == ECONNRESET, "backend %d: %s", i,
			      strerror(t[i].backend.err));
	}
}
END_TEST

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* A pair that cannot start closes both sockets and never calls done. */
START_TEST(test_start_rejects)
{
	struct outcome o = {0};
	int a, b, c, d;
	char byte;

	tcp_pair(&a, &b);
	tcp_pair(&c, &d);
	errno = 0;
	ck_assert_ptr_null(lb_splice_start(splicer, b, c, NULL, 0, NULL, &o));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(!fd_is_open(b));
	ck_assert(!fd_is_open(c));
	/* The client side was reset, the backend side closed. */
	ck_assert_int_eq(poll(&(struct pollfd){.fd = a, .events = POLLIN}, 1, 1000), 1);
	ck_assert_int_eq(recv(a, &byte, 1, 0), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	ck_assert_int_eq(poll(&(struct pollfd){.fd = d, .events = POLLIN}, 1, 1000), 1);
	ck_assert_int_eq(recv(d, &byte, 1, 0), 0);
	close(a);
	close(d);
	ck_assert_int_eq(o.calls, 0);
}
END_TEST

/* A socket the kernel cannot splice (never connected): done reports the error. */
START_TEST(test_unconnected_socket_fails_in_done)
{
	struct trio t;
	int lone = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	trio_connect(&t);
	close(t.lb_backend);
	close(t.backend.fd);
	t.client.recv_seed = 1;
	t.out.sp = lb_splice_start(splicer, t.lb_client, lone, NULL, 0, record, &t.out);
	ck_assert_ptr_nonnull(t.out.sp);
	endpoint_start(&t.client, "client", t.client.fd);
	run_all();
	ck_assert_int_eq(t.out.calls, 1);
	ck_assert_int_ne(t.out.st.error, 0);
	ck_assert_int_eq(t.client.err, ECONNRESET);
}
END_TEST

/* What an unprivileged lbd gets: a refusal that says why, or copying in auto mode. */
static int unprivileged_modes(void)
{
	struct lb_splicer *s;
	char err[300] = "";
	uv_loop_t l;
	int ret = 0;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 10;
	libbpf_set_print(NULL); /* its refusal, expected, is no news */
	uv_loop_init(&l);
	s = lb_splicer_new(&l, LB_SPLICE_SOCKMAP, err, sizeof(err));
	if (s || !strstr(err, "cannot load the splice BPF program"))
		ret = 11;
	lb_splicer_free(s);
	s = lb_splicer_new(&l, LB_SPLICE_AUTO, err, sizeof(err));
	if (!s || strcmp(lb_splicer_kind(s), "copy"))
		ret = 12;
	lb_splicer_free(s);
	uv_run(&l, UV_RUN_DEFAULT);
	uv_loop_close(&l);
	return ret;
}

/*
 * Auto mode copies, where the sockmap is available too (the copy measured faster,
 * bench/README.md) and where it is not; only "sockmap" asks for the sockmap.
 */
START_TEST(test_auto_mode)
{
	struct lb_splicer *s;
	char err[300];
	int status;
	pid_t pid;

	s = lb_splicer_new(&loop, LB_SPLICE_SOCKMAP, err, sizeof(err));
	ck_assert_msg(s, "the sockmap is available here: %s", err);
	ck_assert_str_eq(lb_splicer_kind(s), "sockmap");
	lb_splicer_free(s);
	s = lb_splicer_new(&loop, LB_SPLICE_AUTO, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(lb_splicer_kind(s), "copy");
	lb_splicer_free(s);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(unprivileged_modes());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "unprivileged splicer: status %d", status);
}
END_TEST

/*
 * Kernel behaviour the sockmap mode relies on (checked on the running kernel): with the
 * verdict program attached, a socket still reports the peer's FIN to poll() and recv()
 * returns 0 at it, whether its bytes are passed to user space or forwarded.
 */
START_TEST(test_kernel_fin_with_verdict)
{
	struct lb_splice_bpf *skel = lb_splice_bpf__open_and_load();
	struct lb_splice_peer v = {.slot = 0, .peer = 1};
	int a, b, c, d, socks, i;
	uint64_t fd, cookie;
	socklen_t len = sizeof(cookie);
	char buf[16];
	uint32_t k;

	ck_assert_ptr_nonnull(skel);
	socks = bpf_map__fd(skel->maps.lb_sp_socks);
	ck_assert_int_eq(bpf_prog_attach(bpf_program__fd(skel->progs.lb_splice_verdict), socks,
					 BPF_SK_SKB_STREAM_VERDICT, 0),
			 0);
	for (i = 0; i < 2; i++) {
		struct pollfd p;

		tcp_pair(&a, &b); /* a -> b, b in slot 0 */
		tcp_pair(&c, &d); /* b's bytes go out of c (slot 1) to d */
		k = 0;
		fd = (uint64_t)b;
		ck_assert_int_eq(bpf_map_update_elem(socks, &k, &fd, BPF_NOEXIST), 0);
		k = 1;
		fd = (uint64_t)c;
		ck_assert_int_eq(bpf_map_update_elem(socks, &k, &fd, BPF_NOEXIST), 0);
		if (i == 1) {
			ck_assert_int_eq(getsockopt(b, SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);
			ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.lb_sp_peer),
							     &cookie, &v, BPF_NOEXIST),
					 0);
		}
		ck_assert_int_eq(send(a, "data", 4, 0), 4);
		ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
		p = (struct pollfd){.fd = i ? d : b, .events = POLLIN};
		ck_assert_int_eq(poll(&p, 1, 1000), 1);
		ck_assert_int_eq(recv(i ? d : b, buf, sizeof(buf), 0), 4); /* passed / forwarded */
		p = (struct pollfd){.fd = b, .events = POLLIN | POLLRDHUP};
		ck_assert_int_eq(poll(&p, 1, 1000), 1);
		ck_assert(p.revents & POLLRDHUP);
		ck_assert_int_eq(recv(b, buf, sizeof(buf), MSG_DONTWAIT), 0);
		close(a);
		close(b);
		close(c);
		close(d);
	}
	lb_splice_bpf__destroy(skel);
}
END_TEST

static int tcp_nodelay(int fd)
{
	socklen_t len = sizeof(int);
	int v = -1;

	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	return v;
}

/*
 * The SNI listener's options (lb_sni_listener_opts()) reach every accepted connection with no
 * syscall of its own: TCP_NODELAY is inherited, and TCP_DEFER_ACCEPT holds a connection back
 * from accept4() until its first bytes are in, so the acceptor reads the ClientHello at once.
 */
START_TEST(test_sni_listener_opts)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int l, c, a;
	char b;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(l, 0);
	lb_sni_listener_opts(l);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 8), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Connected, nothing sent: not acceptable yet. */
	ck_assert_int_eq(poll(&(struct pollfd){.fd = l, .events = POLLIN}, 1, 200), 0);
	ck_assert_int_eq(accept4(l, NULL, NULL, SOCK_NONBLOCK), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(send(c, "h", 1, 0), 1);
	ck_assert_int_eq(poll(&(struct pollfd){.fd = l, .events = POLLIN}, 1, 5000), 1);
	a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ck_assert_int_ge(a, 0);
	/* The byte came with the connection, and Nagle is off without a setsockopt(). */
	ck_assert_int_eq(recv(a, &b, 1, MSG_DONTWAIT), 1);
	ck_assert_int_eq(b, 'h');
	ck_assert_int_eq(tcp_nodelay(a), 1);
	close(a);
	close(c);
	close(l);
}
END_TEST

static void add_cases(TCase *tc)
{
	tcase_set_timeout(tc, 120); /* generous for valgrind; the guard bounds each run */
	tcase_add_test(tc, test_prefix_then_data_in_order);
	tcase_add_test(tc, test_bulk_both_ways);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_backend_reset);
	tcase_add_test(tc, test_client_reset);
	tcase_add_test(tc, test_many_short_pairs);
	tcase_add_test(tc, test_slow_reader_stalls_only_its_pair);
	tcase_add_test(tc, test_reader_catches_up);
	tcase_add_test(tc, test_free_resets_active_pairs);
	tcase_add_test(tc, test_start_rejects);
	tcase_add_test(tc, test_unconnected_socket_fails_in_done);
}

/* NULL when the sockmap can be used here, else why not. */
static const char *sockmap_unavailable(void)
{
	static char why[300];
	struct lb_splicer *s;
	uv_loop_t l;

	if (geteuid() != 0)
		return "not root";
	uv_loop_init(&l);
	s = lb_splicer_new(&l, LB_SPLICE_SOCKMAP, why, sizeof(why));
	lb_splicer_free(s);
	uv_run(&l, UV_RUN_DEFAULT);
	uv_loop_close(&l);
	return s ? NULL : why;
}

static Suite *splice_suite(void)
{
	Suite *s = suite_create("splice");
	TCase *copy = tcase_create("copy");
	const char *why = sockmap_unavailable();

	tcase_add_checked_fixture(copy, setup_copy, teardown);
	add_cases(copy);
	tcase_add_test(copy, test_sni_listener_opts);
	suite_add_tcase(s, copy);
	if (why) {
		fprintf(stderr, "splice: sockmap cases skipped: %s\n", why);
	} else {
		TCase *sockmap = tcase_create("sockmap");

		tcase_add_checked_fixture(sockmap, setup_sockmap, teardown);
		add_cases(sockmap);
		tcase_add_test(sockmap, test_kernel_fin_with_verdict);
		tcase_add_test(sockmap, test_auto_mode);
		suite_add_tcase(s, sockmap);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(splice_suite());
	struct rlimit rl;
	int failed;

	/* 200 pairs hold 800 sockets. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
