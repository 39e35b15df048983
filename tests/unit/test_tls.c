// SPDX-License-Identifier: MIT
/*
 * Unit tests of lb_tls: the ClientHello parser on hellos captured from real clients and on
 * hellos built here, each one whole, in every prefix, split into records in many ways, and
 * with single bytes changed. Every parse reads from a buffer of exactly the size it is given,
 * so under -fsanitize=address a read past the end fails the test.
 *
 * The captures in tests/unit/tls/ (LBD_TLS_FIXTURES names the directory) are the first bytes
 * each client sent to a socat that records and never answers; they were made, and can be
 * remade, in that directory with bash (OpenSSL 3.0, Python 3.11, curl 7.88 of Debian 12):
 *
 *   cap() { socat -u TCP-LISTEN:44330,reuseaddr OPEN:"$1",creat,trunc & sleep 0.5
 *           timeout 2 "${@:2}" </dev/null >/dev/null 2>&1; wait; }
 *   S="openssl s_client -connect 127.0.0.1:44330"
 *   PY='import socket, ssl, sys
 *   sni, lo, hi, n, w = sys.argv[1:4] + [int(a) for a in sys.argv[4:]]
 *   c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
 *   c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
 *   c.minimum_version, c.maximum_version = ssl.TLSVersion[lo], ssl.TLSVersion[hi]
 *   if n: c.set_alpn_protocols([("p%d-" % i).ljust(w, "x") for i in range(n)])
 *   s = socket.create_connection(("127.0.0.1", 44330))
 *   c.wrap_socket(s, server_hostname=None if sni == "-" else sni)'
 *   cap openssl-tls13.bin $S -servername api.example.com
 *   cap openssl-tls12-upper.bin $S -tls1_2 -servername API.Example.COM
 *   cap openssl-nosni.bin $S -noservername
 *   cap python-tls13.bin python3 -c "$PY" www.example.org TLSv1_3 TLSv1_3 0 0
 *   cap python-tls12.bin python3 -c "$PY" Mixed.Example.COM TLSv1_2 TLSv1_2 0 0
 *   cap python-ip.bin python3 -c "$PY" 127.0.0.1 TLSv1_2 TLSv1_3 0 0
 *   cap python-alpn-1600.bin python3 -c "$PY" alpn.example.net TLSv1_2 TLSv1_3 60 20
 *   cap python-alpn-5k.bin python3 -c "$PY" big-hello.example.net TLSv1_2 TLSv1_3 200 24
 *   cap python-alpn-20k.bin python3 -c "$PY" huge.example.net TLSv1_2 TLSv1_3 250 80
 *   U=https://curl.example.com:44330/
 *   cap curl.bin curl -sk --resolve curl.example.com:44330:127.0.0.1 $U
 *
 * Random values and key shares change on every run; the sizes and what each capture is for
 * (the table below) do not.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_tls.h"

#define N(a)	(int)(sizeof(a) / sizeof((a)[0]))
#define BUF_MAX (128 * 1024)

/*
 * ck_assert*() records every passing check with a write(2), which the millions of parses
 * here cannot afford: check quietly, fail the same way.
 */
#define CHECK(cond, ...)                           \
	do {                                       \
		if (!(cond))                       \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* A byte string with its length, NULs included. */
#define RAW(s) (const uint8_t *)(s), sizeof(s) - 1

static const char *res(enum lb_hello_result r)
{
	return lb_hello_result_name(r);
}

/* ---- parsing, with the checks every result must pass ---- */

static bool is_name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/*
 * Parse @n bytes from a copy of exactly that size. Whatever the input, @name must come back
 * NUL-terminated, "" unless the result is LB_HELLO_SNI, and otherwise a lowercase name of
 * allowed bytes without empty labels: never garbage.
 */
static enum lb_hello_result parse(const uint8_t *b, size_t n, char name[LB_SNI_NAME_LEN + 1])
{
	uint8_t *copy = malloc(n ? n : 1);
	enum lb_hello_result r;
	size_t i, len;

	CHECK(copy, "out of memory");
	if (n)
		memcpy(copy, b, n);
	memset(name, 0x7f, LB_SNI_NAME_LEN + 1);
	r = lb_tls_parse_hello(copy, n, name);
	free(copy);

	CHECK(memchr(name, '\0', LB_SNI_NAME_LEN + 1), "%s: name not terminated", res(r));
	len = strlen(name);
	if (r != LB_HELLO_SNI) {
		CHECK(len == 0, "%s, yet name \"%s\"", res(r), name);
		return r;
	}
	CHECK(len > 0, "sni with an empty name");
	for (i = 0; i < len; i++)
		CHECK(is_name_byte(name[i]), "sni with byte 0x%02x in the name", (uint8_t)name[i]);
	CHECK(name[0] != '.' && name[len - 1] != '.' && !strstr(name, ".."),
	      "sni with an empty label: \"%s\"", name);
	return r;
}

static void expect(const char *what, const uint8_t *b, size_t n, enum lb_hello_result want,
		   const char *want_name)
{
	char name[LB_SNI_NAME_LEN + 1];
	enum lb_hello_result r = parse(b, n, name);

	CHECK(r == want, "%s (%zu bytes): %s, expected %s", what, n, res(r), res(want));
	if (want == LB_HELLO_SNI)
		CHECK(!strcmp(name, want_name), "%s: name \"%s\", expected \"%s\"", what, name,
		      want_name);
}

/*
 * The prefixes of @b give LB_HELLO_NEED_MORE up to some length and @want from there on: a
 * result never depends on bytes not seen yet. When @b ends where the hello does (@whole), a
 * complete hello (sni, no-sni) must need more in every proper prefix. With @step > 1, only
 * the first and last 64 prefixes and every @step-th in between are tried.
 */
static void expect_prefixes(const char *what, const uint8_t *b, size_t n, enum lb_hello_result want,
			    size_t step, bool whole)
{
	char name[LB_SNI_NAME_LEN + 1];
	bool decided = false;
	enum lb_hello_result r;
	size_t k;

	for (k = 0; k <= n; k++) {
		if (k > 64 && k + 64 < n && k % step)
			continue;
		r = parse(b, k, name);
		if (r == LB_HELLO_NEED_MORE && !decided)
			continue;
		CHECK(r == want, "%s: the first %zu of %zu bytes give %s, all of them %s", what, k,
		      n, res(r), res(want));
		CHECK(!whole || k == n || (want != LB_HELLO_SNI && want != LB_HELLO_NO_SNI),
		      "%s: %s after only %zu of %zu bytes", what, res(r), k, n);
		decided = true;
	}
}

/* ---- building hellos ---- */

struct hb {
	uint8_t b[BUF_MAX];
	size_t n;
	size_t open[8]; /* where each length field still to fill in starts */
	unsigned int open_w[8];
	unsigned int depth;
	size_t lens[64]; /* where the first 64 length fields start, for the corruption tests */
	unsigned int lens_w[64];
	unsigned int nlens;
};

/* Static: they are too large for the stack, and each test runs in its own process. */
static struct hb msg, stream;
static uint8_t scratch[BUF_MAX];

static void hb_reset(struct hb *h)
{
	h->n = 0;
	h->depth = 0;
	h->nlens = 0;
}

static void put(struct hb *h, const void *p, size_t n)
{
	CHECK(h->n + n <= sizeof(h->b), "builder overflow");
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void put_be(struct hb *h, size_t v, unsigned int width)
{
	uint8_t c;

	while (width--) {
		c = (uint8_t)(v >> (8 * width));
		put(h, &c, 1);
	}
}

/* @n bytes of filler that is not all one value, so misread lengths meet varied bytes. */
static void fill(struct hb *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put_be(h, (i * 37 + 11) & 0xff, 1);
}

/* A vector with a @width-byte length, filled in by vec_end(). */
static void vec_begin(struct hb *h, unsigned int width)
{
	CHECK(h->depth < N(h->open), "vectors nested too deep");
	if (h->nlens < N(h->lens)) {
		h->lens[h->nlens] = h->n;
		h->lens_w[h->nlens++] = width;
	}
	h->open[h->depth] = h->n;
	h->open_w[h->depth++] = width;
	put_be(h, 0, width);
}

/* Close the innermost vector, writing its length off by @delta. */
static void vec_end_by(struct hb *h, int delta)
{
	size_t at = h->open[--h->depth], v;
	unsigned int w = h->open_w[h->depth], i;

	v = h->n - at - w + (size_t)(ptrdiff_t)delta;
	for (i = 0; i < w; i++)
		h->b[at + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
}

static void vec_end(struct hb *h)
{
	vec_end_by(h, 0);
}

/* The ClientHello fields before the extensions, with the given vector sizes. */
static void hello_head(struct hb *h, unsigned int version, size_t sid, size_t suites, size_t comp)
{
	size_t i;

	put_be(h, version, 2);
	fill(h, 32); /* random */
	vec_begin(h, 1);
	fill(h, sid);
	vec_end(h);
	vec_begin(h, 2);
	for (i = 0; i < suites; i++)
		put_be(h, i % 2 ? 0x01 : 0x13, 1);
	vec_end(h);
	vec_begin(h, 1);
	for (i = 0; i < comp; i++)
		put_be(h, comp - 1 - i, 1); /* ending with null, like 1.2 clients */
	vec_end(h);
}

/* What TLS 1.3 clients send: a 32-byte session id, three suites, null compression. */
static void head(struct hb *h)
{
	hello_head(h, 0x0303, 32, 6, 1);
}

static void ext_other(struct hb *h, unsigned int type, size_t n)
{
	put_be(h, type, 2);
	vec_begin(h, 2);
	fill(h, n);
	vec_end(h);
}

static void sni_entry(struct hb *h, unsigned int type, const void *name, size_t n)
{
	put_be(h, type, 1);
	vec_begin(h, 2);
	put(h, name, n);
	vec_end(h);
}

/* server_name as clients send it, one host_name, with its list and name lengths bent. */
static void ext_sni_bent(struct hb *h, const void *name, size_t n, int dlist, int dname)
{
	put_be(h, 0, 2);
	vec_begin(h, 2);
	vec_begin(h, 2);
	put_be(h, 0, 1);
	vec_begin(h, 2);
	put(h, name, n);
	vec_end_by(h, dname);
	vec_end_by(h, dlist);
	vec_end(h);
}

static void ext_sni(struct hb *h, const char *name)
{
	ext_sni_bent(h, name, strlen(name), 0, 0);
}

/* Start a handshake message: ClientHello, its length filled in by hello_end(). */
static void hello_begin(struct hb *h)
{
	hb_reset(h);
	put_be(h, 1, 1);
	vec_begin(h, 3);
}

static void hello_end(struct hb *h)
{
	vec_end(h);
	ck_assert_uint_eq(h->depth, 0);
}

/*
 * @msg in records of @frags[0], @frags[1], ... bytes, then of @tail bytes (0: the rest in
 * one), never more than 2^14 each. The first says 0x0301 as clients do, the others 0x0303.
 */
static void wrap(struct hb *out, const uint8_t *m, size_t n, const size_t *frags,
		 unsigned int nfrags, size_t tail)
{
	size_t off = 0, k;
	unsigned int i;

	hb_reset(out);
	for (i = 0; off < n; i++) {
		k = i < nfrags ? frags[i] : tail ? tail : n - off;
		if (k > n - off)
			k = n - off;
		if (k > 16384)
			k = 16384;
		put_be(out, 22, 1);
		put_be(out, i ? 0x0303 : 0x0301, 2);
		vec_begin(out, 2);
		put(out, m + off, k);
		vec_end(out);
		off += k;
	}
}

/* ---- one hello, every way it can arrive ---- */

/* A message whose end is past LB_HELLO_MAX in the stream is too large, whatever it holds. */
static enum lb_hello_result fitted(size_t end, enum lb_hello_result want)
{
	return end > LB_HELLO_MAX ? LB_HELLO_TOO_LARGE : want;
}

static void expect_split(const char *what, const uint8_t *m, size_t n, const size_t *frags,
			 unsigned int nfrags, size_t tail, enum lb_hello_result want,
			 const char *name, size_t prefix_step)
{
	char desc[256];
	unsigned int i;
	int len;

	len = snprintf(desc, sizeof(desc), "%s in records of ", what);
	for (i = 0; i < nfrags && len < (int)sizeof(desc) - 32; i++)
		len += snprintf(desc + len, sizeof(desc) - (size_t)len, "%zu+", frags[i]);
	if (tail)
		snprintf(desc + len, sizeof(desc) - (size_t)len, "%zu each", tail);
	else
		snprintf(desc + len, sizeof(desc) - (size_t)len, "the rest");
	wrap(&stream, m, n, frags, nfrags, tail);
	expect(desc, stream.b, stream.n, fitted(stream.n, want), name);
	if (prefix_step)
		expect_prefixes(desc, stream.b, stream.n, fitted(stream.n, want), prefix_step,
				true);
}

static uint32_t rnd_state = 2463534242u;

/* xorshift32, seeded the same every run: the tests are deterministic. */
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static size_t rnd_in(size_t lo, size_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/*
 * Handshake message @m must give @want (and @name) in one record, with data after it, split
 * in two at every point, with its handshake header split in every way, in 2..5 records at
 * random, and one byte per record; each time TOO_LARGE instead once it ends past LB_HELLO_MAX.
 */
static void check_hello(const char *what, const uint8_t *m, size_t n, enum lb_hello_result want,
			const char *name)
{
	static const size_t shapes[][4] = {
		{1, 1, 1, 1}, {1, 1, 2, 0}, {1, 3, 0, 0}, {2, 2, 0, 0}, {3, 1, 0, 0},
		{1, 2, 1, 0}, {4, 0, 0, 0}, {5, 0, 0, 0}, {4, 1, 1, 1}, {2, 1, 1, 0},
	};
	static const uint8_t early[] = "\x17\x03\x03\x00\x05hello";
	size_t step = n > 6000 ? n / 1500 : 1, prefix_step = n > 6000 ? 97 : 1, frags[4], k;
	char desc[128];
	unsigned int i, j, nf;

	/* One record, the way clients send whatever fits. */
	expect_split(what, m, n, NULL, 0, 0, want, name, prefix_step);

	/* What follows the hello is never looked at: early data, or anything. */
	wrap(&stream, m, n, NULL, 0, 0);
	k = stream.n;
	put(&stream, early, sizeof(early) - 1);
	snprintf(desc, sizeof(desc), "%s followed by early data", what);
	expect(desc, stream.b, stream.n, fitted(k, want), name);
	put(&stream, "\x00\xff\x16\x03", 4);
	snprintf(desc, sizeof(desc), "%s followed by garbage", what);
	expect(desc, stream.b, stream.n, fitted(k, want), name);

	/* A record that goes on after the hello (another handshake message, say). */
	memcpy(scratch, m, n);
	memcpy(scratch + n, "\x0b\x00\x00\x00", 4);
	wrap(&stream, scratch, n + 4, NULL, 0, 0);
	snprintf(desc, sizeof(desc), "%s with more in its record", what);
	expect(desc, stream.b, stream.n, fitted(stream.n - 4, want), name);

	for (k = 1; k < n; k += step)
		expect_split(what, m, n, &k, 1, 0, want, name, 0);
	for (i = 0; i < N(shapes); i++) {
		for (nf = 0; nf < 4 && shapes[i][nf]; nf++)
			;
		expect_split(what, m, n, shapes[i], nf, 0, want, name, prefix_step);
	}
	for (i = 0; i < 64; i++) {
		nf = (unsigned int)rnd_in(1, 4);
		for (j = 0; j < nf; j++)
			frags[j] = rnd_in(1, n / 2);
		expect_split(what, m, n, frags, nf, 0, want, name, i < 4 ? prefix_step : 0);
	}
	if (6 * n + 64 <= sizeof(stream.b))
		expect_split(what, m, n, NULL, 0, 1, want, name, 0);
}

/*
 * Change each byte of @b in turn, to every other value or (@every_value false) to a few. The
 * parser must not crash or read out of bounds, and may find no name but @name, or @name with
 * the changed byte in it when the change fell inside the name, @name_len bytes at @name_at.
 */
static void sweep(const char *what, const uint8_t *b, size_t n, const char *name, size_t name_at,
		  size_t name_len, bool every_value)
{
	char got[LB_SNI_NAME_LEN + 1];
	unsigned int v, i, nv;
	uint8_t vals[256];
	size_t p, j;

	memcpy(scratch, b, n);
	for (p = 0; p < n; p++) {
		nv = 0;
		if (every_value) {
			for (v = 0; v < 256; v++)
				vals[nv++] = (uint8_t)v;
		} else {
			vals[nv++] = 0;
			vals[nv++] = 0xff;
			vals[nv++] = b[p] ^ 0x01;
			vals[nv++] = b[p] ^ 0x80;
			vals[nv++] = (uint8_t)(b[p] + 1);
			vals[nv++] = (uint8_t)(b[p] - 1);
		}
		for (i = 0; i < nv; i++) {
			if (vals[i] == b[p])
				continue;
			scratch[p] = vals[i];
			if (parse(scratch, n, got) != LB_HELLO_SNI)
				continue;
			CHECK(name, "%s: byte %zu set to 0x%02x gives name \"%s\"", what, p,
			      vals[i], got);
			if (p < name_at || p >= name_at + name_len) {
				CHECK(!strcmp(got, name),
				      "%s: byte %zu set to 0x%02x gives \"%s\", not \"%s\"", what,
				      p, vals[i], got, name);
				continue;
			}
			/* The same name but for that byte, or for a trailing dot it became. */
			CHECK(strlen(got) + 1 >= strlen(name), "%s: \"%s\" from \"%s\"", what, got,
			      name);
			for (j = 0; got[j]; j++)
				CHECK(j == p - name_at || got[j] == name[j],
				      "%s: byte %zu set to 0x%02x gives \"%s\" from \"%s\"", what,
				      p, vals[i], got, name);
		}
		scratch[p] = b[p];
	}
}

/* ---- captured hellos ---- */

static const struct capture {
	const char *file;
	size_t min_size; /* what the capture is kept for; a regenerated one must still be */
	enum lb_hello_result want;
	const char *wire_name; /* as the client sent it */
	const char *name;      /* as the parser returns it */
} captures[] = {
	{"openssl-tls13.bin", 0, LB_HELLO_SNI, "api.example.com", "api.example.com"},
	{"openssl-tls12-upper.bin", 0, LB_HELLO_SNI, "API.Example.COM", "api.example.com"},
	{"openssl-nosni.bin", 0, LB_HELLO_NO_SNI, NULL, NULL},
	{"python-tls13.bin", 0, LB_HELLO_SNI, "www.example.org", "www.example.org"},
	{"python-tls12.bin", 0, LB_HELLO_SNI, "Mixed.Example.COM", "mixed.example.com"},
	/* RFC 6066 3: no server_name for an address literal. */
	{"python-ip.bin", 0, LB_HELLO_NO_SNI, NULL, NULL},
	/* More than one TCP segment at a 1500-byte MTU. */
	{"python-alpn-1600.bin", 1501, LB_HELLO_SNI, "alpn.example.net", "alpn.example.net"},
	{"python-alpn-5k.bin", 4097, LB_HELLO_SNI, "big-hello.example.net",
	 "big-hello.example.net"},
	/* Sent in two records (16384 + the rest): more than the parser will wait for. */
	{"python-alpn-20k.bin", LB_HELLO_MAX + 1, LB_HELLO_TOO_LARGE, "huge.example.net", NULL},
	{"curl.bin", 0, LB_HELLO_SNI, "curl.example.com", "curl.example.com"},
};

static size_t load(const char *file, uint8_t *buf, size_t cap)
{
	const char *dir = getenv("LBD_TLS_FIXTURES");
	char path[4096];
	size_t n;
	FILE *f;

	CHECK(dir, "LBD_TLS_FIXTURES is not set: point it at tests/unit/tls");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "rb");
	CHECK(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, cap, f);
	CHECK(!ferror(f) && n < cap, "%s: read error or larger than %zu bytes", path, cap);
	fclose(f);
	return n;
}

/* The handshake bytes of a capture: its record payloads, joined. */
static size_t unwrap(const uint8_t *b, size_t n, uint8_t *out)
{
	size_t pos = 0, len = 0, k;

	while (pos + 5 <= n) {
		k = (size_t)b[pos + 3] << 8 | b[pos + 4];
		CHECK(b[pos] == 22 && pos + 5 + k <= n, "a capture that is not handshake records");
		memcpy(out + len, b + pos + 5, k);
		len += k;
		pos += 5 + k;
	}
	CHECK(pos == n, "a capture that ends inside a record header");
	return len;
}

static uint8_t captured[BUF_MAX], captured_msg[BUF_MAX];

START_TEST(test_captured)
{
	const struct capture *c = &captures[_i];
	size_t n = load(c->file, captured, sizeof(captured)), m, at = 0;
	const uint8_t *hit;

	CHECK(n >= c->min_size, "%s: %zu bytes, it is there to be at least %zu", c->file, n,
	      c->min_size);
	expect(c->file, captured, n, c->want, c->name);
	expect_prefixes(c->file, captured, n, c->want, n > 6000 ? 97 : 1, true);

	m = unwrap(captured, n, captured_msg);
	check_hello(c->file, captured_msg, m, c->want, c->name);

	if (c->wire_name) {
		hit = memmem(captured, n, c->wire_name, strlen(c->wire_name));
		CHECK(hit, "%s: \"%s\" not in it", c->file, c->wire_name);
		at = (size_t)(hit - captured);
	}
	sweep(c->file, captured, n > 6000 ? 64 : n, c->name, at,
	      c->wire_name ? strlen(c->wire_name) : 0, n <= 600);
}
END_TEST

/* ---- built hellos: structure ---- */

static void b_sni(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_sni(h, "api.example.com");
	vec_end(h);
}

static void b_sni_upper(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_sni(h, "API.Example.COM");
	vec_end(h);
}

static void b_no_extensions(struct hb *h)
{
	hello_head(h, 0x0303, 0, 2, 1);
}

static void b_empty_extensions(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	vec_end(h);
}

static void b_no_server_name(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_other(h, 10, 8);
	ext_other(h, 13, 20);
	ext_other(h, 43, 5);
	vec_end(h);
}

/* Like real hellos with the order shuffled: zero-length ones, others before and after. */
static void b_others_around(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_other(h, 23, 0);
	ext_other(h, 11, 2);
	ext_other(h, 16, 14);
	ext_sni(h, "api.example.com");
	ext_other(h, 0xfe0d, 200);
	ext_other(h, 22, 0);
	vec_end(h);
}

static void b_server_name_last(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_other(h, 0x0a0a, 0); /* GREASE */
	ext_other(h, 10, 8);
	ext_other(h, 21, 300);
	ext_sni(h, "last.example.com");
	vec_end(h);
}

/* A name of another type before the host_name: skipped. */
static void b_other_type_first(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_other(h, 11, 2);
	ext_other(h, 10, 8);
	put_be(h, 0, 2);
	vec_begin(h, 2);
	vec_begin(h, 2);
	sni_entry(h, 1, "other-type", 10);
	sni_entry(h, 0, "Api.Example.com", 15);
	vec_end(h);
	vec_end(h);
	ext_other(h, 43, 3);
	vec_end(h);
}

static void b_other_type_only(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	put_be(h, 0, 2);
	vec_begin(h, 2);
	vec_begin(h, 2);
	sni_entry(h, 7, "x", 1);
	vec_end(h);
	vec_end(h);
	vec_end(h);
}

/* RFC 6066: at most one name of a type; taking either could disagree with the backend. */
static void b_two_host_names(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	put_be(h, 0, 2);
	vec_begin(h, 2);
	vec_begin(h, 2);
	sni_entry(h, 0, "a.example", 9);
	sni_entry(h, 0, "b.example", 9);
	vec_end(h);
	vec_end(h);
	vec_end(h);
}

static void b_two_server_names(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_sni(h, "a.example");
	ext_other(h, 10, 8);
	ext_sni(h, "a.example");
	vec_end(h);
}

/* Even when the first has no host_name. */
static void b_two_server_names_first_other(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	put_be(h, 0, 2);
	vec_begin(h, 2);
	vec_begin(h, 2);
	sni_entry(h, 1, "other-type", 10);
	vec_end(h);
	vec_end(h);
	ext_sni(h, "a.example");
	vec_end(h);
}

/* What a server sends back, not a client. */
static void b_empty_server_name(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_other(h, 0, 0);
	vec_end(h);
}

static void b_empty_name_list(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	put_be(h, 0, 2);
	vec_begin(h, 2);
	vec_begin(h, 2);
	vec_end(h);
	vec_end(h);
	vec_end(h);
}

static void b_empty_name(struct hb *h)
{
	head(h);
	vec_begin(h, 2);
	ext_sni(h, "");
	vec_end(h);
}

#define BENT_SNI(fn, dlist, dname)                                    \
	static void fn(struct hb *h)                                  \
	{                                                             \
		head(h);                                              \
		vec_begin(h, 2);                                      \
		ext_sni_bent(h, "api.example.com", 15, dlist, dname); \
		ext_other(h, 10, 8);                                  \
		vec_end(h);                                           \
	}
BENT_SNI(b_list_long, 1, 0)
BENT_SNI(b_list_short, -1, 0)
BENT_SNI(b_name_long, 0, 1)
BENT_SNI(b_name_short, 0, -1)
BENT_SNI(b_both_long, 1, 1)

#define BENT_EXTS(fn, dblock, dlast)           \
	static void fn(struct hb *h)           \
	{                                      \
		head(h);                       \
		vec_begin(h, 2);               \
		ext_sni(h, "api.example.com"); \
		put_be(h, 10, 2);              \
		vec_begin(h, 2);               \
		fill(h, 8);                    \
		vec_end_by(h, dlast);          \
		vec_end_by(h, dblock);         \
	}
BENT_EXTS(b_block_long, 1, 0)
BENT_EXTS(b_block_short, -1, 0)
BENT_EXTS(b_block_zero, -36, 0)
BENT_EXTS(b_ext_overrun, 0, 1)
BENT_EXTS(b_ext_short, 0, -1)

/* One byte where the extensions' length would be. */
static void b_stray_byte(struct hb *h)
{
	head(h);
	put_be(h, 0, 1);
}

static void b_no_session_id(struct hb *h)
{
	hello_head(h, 0x0303, 0, 2, 1);
	vec_begin(h, 2);
	ext_sni(h, "api.example.com");
	vec_end(h);
}

#define HEAD_ONLY(fn, version, sid, suites, comp)          \
	static void fn(struct hb *h)                       \
	{                                                  \
		hello_head(h, version, sid, suites, comp); \
		vec_begin(h, 2);                           \
		ext_sni(h, "api.example.com");             \
		vec_end(h);                                \
	}
HEAD_ONLY(b_session_id_33, 0x0303, 33, 2, 1)
HEAD_ONLY(b_suites_odd, 0x0303, 32, 3, 1)
HEAD_ONLY(b_suites_none, 0x0303, 32, 0, 1)
HEAD_ONLY(b_compression_none, 0x0303, 32, 2, 0)
HEAD_ONLY(b_compression_two, 0x0301, 0, 2, 2)
HEAD_ONLY(b_version_2, 0x0200, 32, 2, 1)
HEAD_ONLY(b_version_3_4, 0x0304, 32, 2, 1)

/* The session id claims more than the message holds. */
static void b_session_id_overrun(struct hb *h)
{
	put_be(h, 0x0303, 2);
	fill(h, 32);
	put_be(h, 32, 1);
	fill(h, 7);
}

static const struct structure_case {
	const char *what;
	void (*build)(struct hb *h);
	enum lb_hello_result want;
	const char *name;
} structure_cases[] = {
	{"server_name", b_sni, LB_HELLO_SNI, "api.example.com"},
	{"uppercase server_name", b_sni_upper, LB_HELLO_SNI, "api.example.com"},
	{"no extensions block", b_no_extensions, LB_HELLO_NO_SNI, NULL},
	{"empty extensions block", b_empty_extensions, LB_HELLO_NO_SNI, NULL},
	{"extensions without server_name", b_no_server_name, LB_HELLO_NO_SNI, NULL},
	{"other extensions around server_name", b_others_around, LB_HELLO_SNI, "api.example.com"},
	{"server_name last", b_server_name_last, LB_HELLO_SNI, "last.example.com"},
	{"another name type first", b_other_type_first, LB_HELLO_SNI, "api.example.com"},
	{"only another name type", b_other_type_only, LB_HELLO_NO_SNI, NULL},
	{"two host_names", b_two_host_names, LB_HELLO_MALFORMED, NULL},
	{"two server_name extensions", b_two_server_names, LB_HELLO_MALFORMED, NULL},
	{"two server_name extensions, host_name in the second", b_two_server_names_first_other,
	 LB_HELLO_MALFORMED, NULL},
	{"empty server_name", b_empty_server_name, LB_HELLO_MALFORMED, NULL},
	{"empty server name list", b_empty_name_list, LB_HELLO_MALFORMED, NULL},
	{"empty host_name", b_empty_name, LB_HELLO_MALFORMED, NULL},
	{"name list length + 1", b_list_long, LB_HELLO_MALFORMED, NULL},
	{"name list length - 1", b_list_short, LB_HELLO_MALFORMED, NULL},
	{"host_name length + 1", b_name_long, LB_HELLO_MALFORMED, NULL},
	{"host_name length - 1", b_name_short, LB_HELLO_MALFORMED, NULL},
	{"list and name lengths + 1", b_both_long, LB_HELLO_MALFORMED, NULL},
	{"extensions length + 1", b_block_long, LB_HELLO_MALFORMED, NULL},
	{"extensions length - 1", b_block_short, LB_HELLO_MALFORMED, NULL},
	{"extensions length 0 before extensions", b_block_zero, LB_HELLO_MALFORMED, NULL},
	{"extension length past the block", b_ext_overrun, LB_HELLO_MALFORMED, NULL},
	{"extension length short of the block", b_ext_short, LB_HELLO_MALFORMED, NULL},
	{"one byte after compression methods", b_stray_byte, LB_HELLO_MALFORMED, NULL},
	{"no session id", b_no_session_id, LB_HELLO_SNI, "api.example.com"},
	{"33-byte session id", b_session_id_33, LB_HELLO_MALFORMED, NULL},
	{"odd cipher suites length", b_suites_odd, LB_HELLO_MALFORMED, NULL},
	{"no cipher suites", b_suites_none, LB_HELLO_MALFORMED, NULL},
	{"no compression methods", b_compression_none, LB_HELLO_MALFORMED, NULL},
	{"two compression methods", b_compression_two, LB_HELLO_SNI, "api.example.com"},
	{"legacy_version 0x0200", b_version_2, LB_HELLO_MALFORMED, NULL},
	{"legacy_version 0x0304", b_version_3_4, LB_HELLO_SNI, "api.example.com"},
	{"session id past the message", b_session_id_overrun, LB_HELLO_MALFORMED, NULL},
};

START_TEST(test_structure)
{
	const struct structure_case *c = &structure_cases[_i];

	hello_begin(&msg);
	c->build(&msg);
	hello_end(&msg);
	check_hello(c->what, msg.b, msg.n, c->want, c->name);
}
END_TEST

/*
 * Every value of every length field of a hello with several extensions and two name
 * entries, in one record: no crash, no name but the one sent, no verdict a longer prefix
 * takes back. A record that now goes on past the hello still gives the name; other values
 * mostly give malformed, but 14 of them frame a different valid hello that has no host_name
 * (a handshake length ending it before the extensions, a cipher suite or compression list
 * swallowing them, an extension or the other name entry swallowing the host_name): no-sni.
 * Then every value of every byte, which may only change the name where the name was changed.
 */
START_TEST(test_corrupt_lengths)
{
	static const uint8_t few[] = {0, 1, 0x7f, 0x80, 0xff};
	char name[LB_SNI_NAME_LEN + 1], desc[128];
	enum lb_hello_result r;
	size_t pos[80], p, k, reclen;
	unsigned int i, j, v, npos = 0, nosni = 0, malformed = 0;
	const uint8_t *hit;

	hello_begin(&msg);
	b_other_type_first(&msg);
	hello_end(&msg);
	wrap(&stream, msg.b, msg.n, NULL, 0, 0);
	expect("the hello to corrupt", stream.b, stream.n, LB_HELLO_SNI, "api.example.com");

	pos[npos++] = 3; /* record length */
	pos[npos++] = 4;
	for (i = 0; i < msg.nlens; i++)
		for (j = 0; j < msg.lens_w[i]; j++)
			pos[npos++] = 5 + msg.lens[i] + j;
	ck_assert_uint_ge(npos, 20);

	for (i = 0; i < npos; i++) {
		p = pos[i];
		memcpy(scratch, stream.b, stream.n);
		for (v = 0; v < 256; v++) {
			if (v == stream.b[p])
				continue;
			scratch[p] = (uint8_t)v;
			reclen = (size_t)scratch[3] << 8 | scratch[4];
			if (p < 5 && reclen >= msg.n && reclen <= 16384) {
				expect("a longer record", scratch, stream.n, LB_HELLO_SNI,
				       "api.example.com");
				continue;
			}
			r = parse(scratch, stream.n, name);
			CHECK(r != LB_HELLO_SNI || !strcmp(name, "api.example.com"),
			      "length byte %zu set to 0x%02x: %s \"%s\"", p, v, res(r), name);
			nosni += r == LB_HELLO_NO_SNI;
			malformed += r == LB_HELLO_MALFORMED;
		}
		for (k = 0; k < sizeof(few); k++) {
			scratch[p] = (uint8_t)(stream.b[p] + few[k]);
			r = parse(scratch, stream.n, name);
			snprintf(desc, sizeof(desc), "length byte %zu set to 0x%02x", p,
				 scratch[p]);
			expect_prefixes(desc, scratch, stream.n, r, 1, true);
		}
	}

	CHECK(nosni == 14 && malformed > 200 * npos, "%u no-sni, %u malformed of %u", nosni,
	      malformed, npos * 255);

	hit = memmem(stream.b, stream.n, "Api.Example.com", 15);
	ck_assert_ptr_nonnull(hit);
	sweep("every byte", stream.b, stream.n, "api.example.com", (size_t)(hit - stream.b), 15,
	      true);
}
END_TEST

/* ---- built hellos: names ---- */

#define S(s) s, sizeof(s) - 1

static const struct name_case {
	const char *wire;
	size_t len;
	enum lb_hello_result want;
	const char *name;
} name_cases[] = {
	{S("api.example.com"), LB_HELLO_SNI, "api.example.com"},
	{S("API.EXAMPLE.COM"), LB_HELLO_SNI, "api.example.com"},
	{S("a"), LB_HELLO_SNI, "a"},
	{S("Z"), LB_HELLO_SNI, "z"},
	{S("x_y-z.Example9"), LB_HELLO_SNI, "x_y-z.example9"},
	{S("xn--bcher-kva.example"), LB_HELLO_SNI, "xn--bcher-kva.example"},
	/* Labels are only required to be non-empty: the configuration decides what matches. */
	{S("-a-.b_"), LB_HELLO_SNI, "-a-.b_"},
	{S("127.0.0.1"), LB_HELLO_SNI, "127.0.0.1"},
	{S("example.com."), LB_HELLO_SNI, "example.com"},
	{S("A."), LB_HELLO_SNI, "a"},
	{S(""), LB_HELLO_MALFORMED, NULL},
	{S("."), LB_HELLO_MALFORMED, NULL},
	{S(".."), LB_HELLO_MALFORMED, NULL},
	{S("example.com.."), LB_HELLO_MALFORMED, NULL},
	{S(".example.com"), LB_HELLO_MALFORMED, NULL},
	{S("a..b"), LB_HELLO_MALFORMED, NULL},
	{S("exa mple.com"), LB_HELLO_MALFORMED, NULL},
	{S("exa\0mple.com"), LB_HELLO_MALFORMED, NULL},
	{S("example.com\0"), LB_HELLO_MALFORMED, NULL},
	{S("b\xc3\xbc"
	   "cher.example"),
	 LB_HELLO_MALFORMED, NULL},
	{S("*.example.com"), LB_HELLO_MALFORMED, NULL},
	{S("example.com:443"), LB_HELLO_MALFORMED, NULL},
	{S("a/b"), LB_HELLO_MALFORMED, NULL},
	{S("a\\b"), LB_HELLO_MALFORMED, NULL},
	{S("a@b"), LB_HELLO_MALFORMED, NULL},
	{S("[::1]"), LB_HELLO_MALFORMED, NULL},
	{S("a\r\n"), LB_HELLO_MALFORMED, NULL},
	{S("a\x7f"), LB_HELLO_MALFORMED, NULL},
	{S("\xff"), LB_HELLO_MALFORMED, NULL},
};

static void sni_hello(struct hb *h, const void *name, size_t n)
{
	hello_begin(h);
	head(h);
	vec_begin(h, 2);
	ext_other(h, 10, 8);
	ext_sni_bent(h, name, n, 0, 0);
	ext_other(h, 43, 3);
	vec_end(h);
	hello_end(h);
}

START_TEST(test_names)
{
	const struct name_case *c = &name_cases[_i];
	char what[64];

	snprintf(what, sizeof(what), "name #%d", _i);
	sni_hello(&msg, c->wire, c->len);
	check_hello(what, msg.b, msg.n, c->want, c->name);
}
END_TEST

/* @len bytes of labels of up to 63 letters, in @upper case, then @dot or not. */
static void long_name(char *out, size_t len, bool upper, bool dot)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = i % 64 == 63 ? '.' : (char)((upper ? 'A' : 'a') + i % 26);
	if (len && out[len - 1] == '.')
		out[len - 1] = 'z';
	if (dot)
		out[len++] = '.';
	out[len] = '\0';
}

START_TEST(test_long_names)
{
	static const struct {
		size_t len;
		bool dot;
		enum lb_hello_result want;
	} cases[] = {
		{253, false, LB_HELLO_SNI},	   {254, false, LB_HELLO_SNI},
		{255, false, LB_HELLO_SNI},	   {256, false, LB_HELLO_MALFORMED},
		{254, true, LB_HELLO_SNI},	   {255, true, LB_HELLO_MALFORMED},
		{1000, false, LB_HELLO_MALFORMED},
	};
	char wire[1100], want[1100], what[64];
	unsigned int i;

	for (i = 0; i < N(cases); i++) {
		long_name(wire, cases[i].len, true, cases[i].dot);
		long_name(want, cases[i].len, false, false);
		snprintf(what, sizeof(what), "a %zu-byte name%s", cases[i].len,
			 cases[i].dot ? " and a dot" : "");
		sni_hello(&msg, wire, strlen(wire));
		wrap(&stream, msg.b, msg.n, NULL, 0, 0);
		expect(what, stream.b, stream.n, cases[i].want, want);
		wrap(&stream, msg.b, msg.n, NULL, 0, 7);
		expect(what, stream.b, stream.n, cases[i].want, want);
	}
}
END_TEST

/* ---- the record layer and the handshake header ---- */

static const struct {
	const char *what;
	const uint8_t *b;
	size_t n;
	enum lb_hello_result want;
} raw_cases[] = {
	{"nothing", RAW(""), LB_HELLO_NEED_MORE},
	{"0x16", RAW("\x16"), LB_HELLO_NEED_MORE},
	{"0x16 0x03", RAW("\x16\x03"), LB_HELLO_NEED_MORE},
	{"TLS 1.0 record", RAW("\x16\x03\x01\x00"), LB_HELLO_NEED_MORE},
	{"TLS 1.1 record", RAW("\x16\x03\x02\x00\x04\x01\x00\x00\x29"), LB_HELLO_NEED_MORE},
	{"TLS 1.2 record", RAW("\x16\x03\x03\x00\x04\x01\x00\x00\x29"), LB_HELLO_NEED_MORE},
	{"TLS 1.3 record", RAW("\x16\x03\x04\x00\x04\x01\x00\x00\x29"), LB_HELLO_NEED_MORE},
	{"HTTP", RAW("GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n"), LB_HELLO_NOT_TLS},
	{"SSH", RAW("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), LB_HELLO_NOT_TLS},
	{"HTTP/2 preface", RAW("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), LB_HELLO_NOT_TLS},
	{"SSLv2 hello", RAW("\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10"), LB_HELLO_NOT_TLS},
	{"NUL", RAW("\x00"), LB_HELLO_NOT_TLS},
	{"0x16 then SSLv2", RAW("\x16\x02\x00\x00\x04"), LB_HELLO_NOT_TLS},
	{"0x16 then 0x16", RAW("\x16\x16\x03\x01"), LB_HELLO_NOT_TLS},
	{"0x16 then 4.1", RAW("\x16\x04\x01"), LB_HELLO_NOT_TLS},
	{"SSL 3.0 record", RAW("\x16\x03\x00\x00\x04\x01\x00\x00\x29"), LB_HELLO_NOT_TLS},
	{"record version 3.5", RAW("\x16\x03\x05"), LB_HELLO_NOT_TLS},
	{"application data first", RAW("\x17\x03\x03\x00\x10"), LB_HELLO_NOT_TLS},
	{"alert first", RAW("\x15\x03\x03\x00\x02\x02\x28"), LB_HELLO_NOT_TLS},
	{"change_cipher_spec first", RAW("\x14\x03\x03\x00\x01\x01"), LB_HELLO_NOT_TLS},
	{"empty record", RAW("\x16\x03\x01\x00\x00"), LB_HELLO_MALFORMED},
	{"2^14 + 1 record", RAW("\x16\x03\x01\x40\x01"), LB_HELLO_MALFORMED},
	{"2^14 record", RAW("\x16\x03\x01\x40\x00\x01"), LB_HELLO_NEED_MORE},
	{"ServerHello", RAW("\x16\x03\x03\x00\x04\x02\x00\x00\x46"), LB_HELLO_MALFORMED},
	{"HelloRequest", RAW("\x16\x03\x03\x00\x04\x00\x00\x00\x00"), LB_HELLO_MALFORMED},
	{"hello of 40 bytes", RAW("\x16\x03\x01\x00\x04\x01\x00\x00\x28"), LB_HELLO_MALFORMED},
	{"hello of 0 bytes", RAW("\x16\x03\x01\x00\x04\x01\x00\x00\x00"), LB_HELLO_MALFORMED},
	{"hello of 41 bytes", RAW("\x16\x03\x01\x00\x04\x01\x00\x00\x29"), LB_HELLO_NEED_MORE},
	/* The limit, header included: 5 + 4 + 16375 = 16384 fits, one more does not. */
	{"hello that just fits", RAW("\x16\x03\x01\x40\x00\x01\x00\x3f\xf7"), LB_HELLO_NEED_MORE},
	{"hello 1 too large", RAW("\x16\x03\x01\x40\x00\x01\x00\x3f\xf8"), LB_HELLO_TOO_LARGE},
	/* A short first record: the rest needs another header. */
	{"hello 1 too large, 2 records", RAW("\x16\x03\x01\x00\x04\x01\x00\x3f\xf3"),
	 LB_HELLO_TOO_LARGE},
	{"hello that fits, 2 records", RAW("\x16\x03\x01\x00\x04\x01\x00\x3f\xf2"),
	 LB_HELLO_NEED_MORE},
	{"hello of 20000 bytes", RAW("\x16\x03\x01\x00\x04\x01\x00\x4e\x20"), LB_HELLO_TOO_LARGE},
	{"hello of 2^24 - 1 bytes", RAW("\x16\x03\x01\x00\x04\x01\xff\xff\xff"),
	 LB_HELLO_TOO_LARGE},
	{"handshake header over 4 records",
	 RAW("\x16\x03\x01\x00\x01\x01"
	     "\x16\x03\x03\x00\x01\x00"
	     "\x16\x03\x03\x00\x01\x4e"
	     "\x16\x03\x03\x00\x01\x20"),
	 LB_HELLO_TOO_LARGE},
	{"handshake header over 2 records",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x16\x03\x03\x00\x02\x00\x29"),
	 LB_HELLO_NEED_MORE},
	{"ServerHello type in a second record",
	 RAW("\x16\x03\x01\x00\x01\x02"
	     "\x16\x03\x03\x00\x03\x00\x00\x46"),
	 LB_HELLO_MALFORMED},
	{"application data inside the hello",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x17\x03\x03\x00\x01\x00"),
	 LB_HELLO_MALFORMED},
	{"alert inside the hello",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x15\x03\x03\x00\x02\x02\x28"),
	 LB_HELLO_MALFORMED},
	{"change_cipher_spec inside the hello",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x14\x03\x03\x00\x01\x01"),
	 LB_HELLO_MALFORMED},
	{"SSLv2 version in a second record",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x16\x02"),
	 LB_HELLO_MALFORMED},
	{"version 3.5 in a second record",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x16\x03\x05"),
	 LB_HELLO_MALFORMED},
	{"empty second record",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x16\x03\x03\x00\x00"),
	 LB_HELLO_MALFORMED},
	{"2^14 + 1 second record",
	 RAW("\x16\x03\x01\x00\x02\x01\x00"
	     "\x16\x03\x03\x40\x01"),
	 LB_HELLO_MALFORMED},
};

START_TEST(test_raw)
{
	expect(raw_cases[_i].what, raw_cases[_i].b, raw_cases[_i].n, raw_cases[_i].want, NULL);
	expect_prefixes(raw_cases[_i].what, raw_cases[_i].b, raw_cases[_i].n, raw_cases[_i].want, 1,
			true);
}
END_TEST

/* One byte is enough to know it is not TLS; none, not even a buffer, is not enough. */
START_TEST(test_first_byte)
{
	char name[LB_SNI_NAME_LEN + 1] = "x";
	uint8_t b[2] = {0, 0x03};
	unsigned int v;

	ck_assert_int_eq(lb_tls_parse_hello(NULL, 0, name), LB_HELLO_NEED_MORE);
	ck_assert_str_eq(name, "");

	for (v = 0; v < 256; v++) {
		b[0] = (uint8_t)v;
		expect("first byte", b, 1, v == 0x16 ? LB_HELLO_NEED_MORE : LB_HELLO_NOT_TLS, NULL);
		expect("first two bytes", b, 2, v == 0x16 ? LB_HELLO_NEED_MORE : LB_HELLO_NOT_TLS,
		       NULL);
	}
}
END_TEST

/* ---- sizes ---- */

/* A hello naming @name, padded (RFC 7685) to a handshake message of exactly @total bytes. */
static void padded_hello(struct hb *h, const char *name, size_t total)
{
	size_t base;

	hello_begin(h);
	head(h);
	vec_begin(h, 2);
	ext_sni(h, name);
	ext_other(h, 21, 0);
	vec_end(h);
	hello_end(h);
	base = h->n;
	ck_assert_uint_ge(total, base);

	hello_begin(h);
	head(h);
	vec_begin(h, 2);
	ext_sni(h, name);
	put_be(h, 21, 2);
	vec_begin(h, 2);
	memset(h->b + h->n, 0, total - base);
	h->n += total - base;
	vec_end(h);
	vec_end(h);
	hello_end(h);
	ck_assert_uint_eq(h->n, total);
}

/* The last byte of the hello at LB_HELLO_MAX parses, one further is too large. */
START_TEST(test_limit)
{
	static const struct {
		const char *what;
		size_t frags[4];
		unsigned int nfrags;
		size_t tail;
		size_t overhead; /* record header bytes in the stream */
	} shapes[] = {
		{"one record", {0}, 0, 0, 5},
		{"two records", {100}, 1, 0, 10},
		{"three records", {5000, 5000}, 2, 0, 15},
		{"five records", {1, 1, 1, 1}, 4, 0, 25},
		{"records of 1000", {0}, 0, 1000, 5 * 17},
		{"records of 3", {0}, 0, 3, 5 * 2048},
	};
	char what[128];
	unsigned int i;
	size_t total, d;

	for (i = 0; i < N(shapes); i++) {
		for (d = 0; d < 2; d++) {
			total = LB_HELLO_MAX - shapes[i].overhead + d;
			padded_hello(&msg, "edge.example.com", total);
			wrap(&stream, msg.b, msg.n, shapes[i].frags, shapes[i].nfrags,
			     shapes[i].tail);
			ck_assert_uint_eq(stream.n > LB_HELLO_MAX, d);
			ck_assert(d || stream.n == LB_HELLO_MAX);
			snprintf(what, sizeof(what), "%zu-byte hello in %s", total, shapes[i].what);
			expect(what, stream.b, stream.n, d ? LB_HELLO_TOO_LARGE : LB_HELLO_SNI,
			       "edge.example.com");
			/* Handing over more than the limit changes nothing. */
			memcpy(scratch, stream.b, stream.n);
			memset(scratch + stream.n, 0x17, 4096);
			expect(what, scratch, stream.n + 4096,
			       d ? LB_HELLO_TOO_LARGE : LB_HELLO_SNI, "edge.example.com");
			expect_prefixes(what, stream.b, stream.n,
					d ? LB_HELLO_TOO_LARGE : LB_HELLO_SNI, 61, true);
		}
	}
}
END_TEST

/* One byte per record costs 6 bytes per byte: 2730 of them fit, 2731 do not. */
START_TEST(test_limit_byte_records)
{
	padded_hello(&msg, "edge.example.com", 2730);
	wrap(&stream, msg.b, msg.n, NULL, 0, 1);
	expect("2730 one-byte records", stream.b, stream.n, LB_HELLO_SNI, "edge.example.com");
	expect_prefixes("2730 one-byte records", stream.b, stream.n, LB_HELLO_SNI, 7, true);
	padded_hello(&msg, "edge.example.com", 2731);
	wrap(&stream, msg.b, msg.n, NULL, 0, 1);
	expect("2731 one-byte records", stream.b, stream.n, LB_HELLO_TOO_LARGE, NULL);
	expect_prefixes("2731 one-byte records", stream.b, stream.n, LB_HELLO_TOO_LARGE, 7, true);
}
END_TEST

/* 12 KB over three records, and every other way check_hello() splits it. */
START_TEST(test_12k)
{
	static const size_t thirds[] = {4096, 4096};

	padded_hello(&msg, "Twelve.Example.com", 12 * 1024);
	expect_split("12 KB hello", msg.b, msg.n, thirds, 2, 0, LB_HELLO_SNI, "twelve.example.com",
		     1);
	check_hello("12 KB hello", msg.b, msg.n, LB_HELLO_SNI, "twelve.example.com");
}
END_TEST

/*
 * Random record streams of more than LB_HELLO_MAX bytes, hellos or noise, whole or with a
 * byte changed: never LB_HELLO_NEED_MORE (the caller cannot give more), never a verdict that
 * a longer prefix takes back.
 */
START_TEST(test_random_streams)
{
	char name[LB_SNI_NAME_LEN + 1], what[64];
	enum lb_hello_result r;
	size_t n, tail, end;
	unsigned int i;
	bool valid;

	for (i = 0; i < 200; i++) {
		valid = rnd() % 2;
		if (valid) {
			padded_hello(&msg, "Fuzz.example.com", rnd_in(200, 16500));
		} else {
			hb_reset(&msg);
			put_be(&msg, 1, 1);
			n = rnd() % 3 == 0 ? rnd_in(16300, 16450) : rnd_in(0, 3000);
			put_be(&msg, n, 3);
			while (msg.n < n + 4)
				put_be(&msg, rnd(), 1);
		}
		switch (rnd() % 4) {
		case 0:
			tail = 0;
			break;
		case 1:
			tail = msg.n <= 3000 ? rnd_in(1, 8) : rnd_in(100, 400);
			break;
		default:
			tail = rnd_in(1, 5000);
			break;
		}
		wrap(&stream, msg.b, msg.n, NULL, 0, tail);
		end = stream.n;
		if (rnd() % 2) {
			stream.b[rnd() % stream.n] ^= (uint8_t)rnd_in(1, 255);
			valid = false;
		}
		while (stream.n <= LB_HELLO_MAX)
			put_be(&stream, rnd(), 1);

		snprintf(what, sizeof(what), "random stream #%u", i);
		r = parse(stream.b, stream.n, name);
		CHECK(r != LB_HELLO_NEED_MORE, "%s: need-more with %zu bytes", what, stream.n);
		if (valid)
			CHECK(r == fitted(end, LB_HELLO_SNI), "%s: %s", what, res(r));
		expect_prefixes(what, stream.b, stream.n, r, 251, false);
	}
}
END_TEST

START_TEST(test_result_names)
{
	ck_assert_str_eq(lb_hello_result_name(LB_HELLO_NEED_MORE), "need-more");
	ck_assert_str_eq(lb_hello_result_name(LB_HELLO_SNI), "sni");
	ck_assert_str_eq(lb_hello_result_name(LB_HELLO_NO_SNI), "no-sni");
	ck_assert_str_eq(lb_hello_result_name(LB_HELLO_NOT_TLS), "not-tls");
	ck_assert_str_eq(lb_hello_result_name(LB_HELLO_MALFORMED), "malformed");
	ck_assert_str_eq(lb_hello_result_name(LB_HELLO_TOO_LARGE), "too-large");
}
END_TEST

/*
 * lb_tls_peek_sni() on every prefix of a capture that still needs more: never a name the
 * whole hello does not give, and the name as soon as its extension is in (in the first
 * record), so the connect can start early.
 */
START_TEST(test_peek_sni)
{
	const struct capture *c = &captures[_i];
	size_t n = load(c->file, captured, sizeof(captured)), len, name_end = 0, first;
	char name[LB_SNI_NAME_LEN + 1], peeked[LB_SNI_NAME_LEN + 1];
	const uint8_t *hit;
	size_t early = 0;

	if (c->wire_name) {
		hit = memmem(captured, n, c->wire_name, strlen(c->wire_name));
		CHECK(hit, "%s: \"%s\" not in it", c->file, c->wire_name);
		name_end = (size_t)(hit - captured) + strlen(c->wire_name);
	}
	first = 5 + ((size_t)captured[3] << 8 | captured[4]);
	for (len = 0; len <= n; len++) {
		bool got = lb_tls_peek_sni(captured, len, peeked);

		if (lb_tls_parse_hello(captured, len, name) != LB_HELLO_NEED_MORE)
			break;
		if (c->want != LB_HELLO_SNI) {
			/* No server name: nothing to peek. Too large: it may peek, the whole
			 * decides. */
			CHECK(!got || c->want == LB_HELLO_TOO_LARGE, "%s: peeked \"%s\" at %zu",
			      c->file, peeked, len);
			continue;
		}
		if (got) {
			CHECK(!strcmp(peeked, c->name), "%s: peeked \"%s\" at %zu, want \"%s\"",
			      c->file, peeked, len, c->name);
			early++;
		} else {
			CHECK(len < name_end || name_end > first,
			      "%s: the name ends at %zu, no peek at %zu", c->file, name_end, len);
			CHECK(!peeked[0], "%s: a name left behind at %zu", c->file, len);
		}
	}
	if (c->want == LB_HELLO_SNI && n > name_end)
		CHECK(early, "%s: the name never peeked before the hello was whole", c->file);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_create("captured");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_captured, 0, N(captures));
	tcase_add_loop_test(tc, test_peek_sni, 0, N(captures));
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_add_loop_test(tc, test_structure, 0, N(structure_cases));
	tcase_add_test(tc, test_corrupt_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_names, 0, N(name_cases));
	tcase_add_test(tc, test_long_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_loop_test(tc, test_raw, 0, N(raw_cases));
	tcase_add_test(tc, test_first_byte);
	tcase_add_test(tc, test_result_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("sizes");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_limit_byte_records);
	tcase_add_test(tc, test_12k);
	tcase_add_test(tc, test_random_streams);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
