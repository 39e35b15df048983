// SPDX-License-Identifier: MIT
/*
 * Unit tests of the health check probes (daemon/health_check.h) against servers the test runs
 * itself on 127.0.0.1: listening sockets that never accept (a connect succeeds, nothing ever
 * answers), a bound port nobody listens on (refused), and a scripted HTTP server thread that
 * answers in chunks, plain or over TLS with a certificate made at test time. Each HTTP case
 * runs over both transports. No privileges needed; every wait is bounded by a probe timeout.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "health_check.h"
#include "lb_intern.h"
#include "lb_ip.h"
#include "lb_proxy_proto.h"

/* The IPv4 address @a (host order) as the const struct lb_ip * probes take. */
#define V4(a)	   ((const struct lb_ip[]){lb_ip_from_v4(htonl(a))})
#define LOOPBACK   V4(INADDR_LOOPBACK)
#define LOOPBACK6  ((const struct lb_ip[]){{{0, 0, 0, htonl(1)}}}) /* ::1 */
#define TIMEOUT_MS 5000 /* for checks that must end well before it */

static uv_loop_t loop;

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
}

/* Every probe must have closed all its handles by the time its test returns. */
static void teardown(void)
{
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

struct outcome {
	struct lb_hc_probe *p;
	int calls;
	struct lb_hc_result r;
};

static void record(struct lb_hc_probe *p, const struct lb_hc_result *r, void *arg)
{
	struct outcome *o = arg;

	/* o->p is only set once start returned: a synchronous report fails here. */
	ck_assert_ptr_eq(p, o->p);
	o->calls++;
	o->r = *r;
}

static struct lb_hc_cfg hc_cfg(enum lb_hc_type type, uint32_t timeout_ms)
{
	struct lb_hc_cfg c = {
		.type = type,
		.path = "/health",
		.interval_ms = timeout_ms + 1000,
		.timeout_ms = timeout_ms,
		.expected_codes = {200},
		.n_expected_codes = 1,
	};

	return c;
}

static void probe_start(struct outcome *o, const struct lb_hc_cfg *cfg, const struct lb_ip *addr,
			uint16_t port)
{
	memset(o, 0, sizeof(*o));
	o->p = lb_hc_probe_start(&loop, addr, port, cfg, false, record, o);
	ck_assert_ptr_nonnull(o->p);
	ck_assert_int_eq(o->calls, 0);
}

/* One probe, run to completion: done must have run exactly once. */
static struct lb_hc_result probe_once(const struct lb_hc_cfg *cfg, const struct lb_ip *addr,
				      uint16_t port)
{
	struct outcome o;

	probe_start(&o, cfg, addr, port);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	return o.r;
}

/*
 * A TCP socket on 127.0.0.1 (::1 when @v6) and an ephemeral port; listening unless
 * @backlog < 0.
 */
static int tcp_socket_on(bool v6, uint16_t *port, int backlog)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr *a = v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa;
	socklen_t len = v6 ? sizeof(sa6) : sizeof(sa);
	int fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, a, len), 0);
	ck_assert_int_eq(getsockname(fd, a, &len), 0);
	if (backlog >= 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	*port = ntohs(v6 ? sa6.sin6_port : sa.sin_port);
	return fd;
}

static int tcp_socket(uint16_t *port, int backlog)
{
	return tcp_socket_on(false, port, backlog);
}

/* Can this host bind ::1 (IPv6 may be off in a container)? The IPv6 tests need it. */
static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa6, sizeof(sa6));

	if (fd >= 0)
		close(fd);
	if (!ok)
		fprintf(stderr, "no ::1 on this host: IPv6 probe test skipped\n");
	return ok;
}

/*
 * A server thread answering every connection the same way: read the request (unless
 * skip_request), write the chunks gap_ms apart, then close (or, with linger, wait until the
 * client closes and note that it did).
 */
struct server {
	const char *const *chunks; /* NULL-terminated */
	int gap_ms;
	bool skip_request;
	bool linger;
	bool v6;      /* listen on ::1 instead of 127.0.0.1 */
	SSL_CTX *tls; /* serve over TLS when set */
	bool pp;      /* read a 16-byte PROXY v2 header (LOCAL) before anything else */

	int lfd, stop[2];
	uint16_t port;
	pthread_t thread;
	/* Written by the server thread, read once server_stop() joined it. */
	char request[1024];
	char sni[256];	    /* the server name the first client sent, "" for none */
	uint8_t pp_got[16]; /* with pp: the first client's 16 bytes */
	size_t pp_len;
	int served;
	bool client_closed;
};

static ssize_t conn_read(SSL *ssl, int fd, char *buf, size_t len)
{
	return ssl ? SSL_read(ssl, buf, (int)len) : recv(fd, buf, len, 0);
}

static void conn_write(SSL *ssl, int fd, const char *buf, size_t len)
{
	if (ssl)
		SSL_write(ssl, buf, (int)len);
	else
		send(fd, buf, len, MSG_NOSIGNAL);
}

/* True when the peer closes within 3 s (whatever it still sends is discarded). */
static bool peer_closes(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN | POLLRDHUP};
	char junk[512];

	while (poll(&pf, 1, 3000) == 1) {
		if (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))
			return true;
		if (recv(fd, junk, sizeof(junk), 0) <= 0)
			return true;
	}
	return false;
}

static void serve_one(struct server *s, int fd)
{
	struct timeval tv = {.tv_sec = 3};
	char buf[sizeof(s->request)];
	SSL *ssl = NULL;
	size_t len = 0, i;
	ssize_t n;
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (s->pp && len < sizeof(s->pp_got)) {
		n = recv(fd, buf + len, sizeof(s->pp_got) - len, 0);
		if (n <= 0)
			goto out;
		len += (size_t)n;
	}
	if (s->pp && !s->served) {
		memcpy(s->pp_got, buf, len);
		s->pp_len = len;
	}
	len = 0;
	if (s->tls) {
		ssl = SSL_new(s->tls);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto out;
		if (!s->served && SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
			snprintf(s->sni, sizeof(s->sni), "%s",
				 SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	}
	while (!s->skip_request && !memmem(buf, len, "\r\n\r\n", 4) && len < sizeof(buf) - 1) {
		n = conn_read(ssl, fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (!s->served)
		memcpy(s->request, buf, len + 1);
	for (i = 0; s->chunks && s->chunks[i]; i++) {
		if (i && s->gap_ms)
			usleep((useconds_t)s->gap_ms * 1000);
		conn_write(ssl, fd, s->chunks[i], strlen(s->chunks[i]));
	}
	if (s->linger)
		s->client_closed = peer_closes(fd);
	else if (ssl)
		SSL_shutdown(ssl);
out:
	s->served++;
	SSL_free(ssl);
	close(fd);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd;

	for (;;) {
		struct pollfd pf[2] = {{.fd = s->lfd, .events = POLLIN},
				       {.fd = s->stop[0], .events = POLLIN}};

		if (poll(pf, 2, -1) < 0 || pf[1].revents)
			return NULL;
		fd = accept(s->lfd, NULL, NULL);
		if (fd >= 0)
			serve_one(s, fd);
	}
}

static void server_start(struct server *s)
{
	s->lfd = tcp_socket_on(s->v6, &s->port, 256);
	ck_assert_int_eq(pipe(s->stop), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	ck_assert_int_eq(write(s->stop[1], "x", 1), 1);
	ck_assert_int_eq(pthread_join(s->thread, NULL), 0);
	close(s->stop[0]);
	close(s->stop[1]);
	close(s->lfd);
}

/*
 * A server context with a fresh self-signed P-256 certificate whose subject is @cn and
 * whose subjectAltName is @san (NULL: none), written to @pem_out unless NULL.
 */
static SSL_CTX *tls_server_ctx_for(const char *cn, const char *san, int max_version,
				   const char *pem_out);

static SSL_CTX *tls_server_ctx(int max_version)
{
	return tls_server_ctx_for("127.0.0.1", NULL, max_version, NULL);
}

static SSL_CTX *tls_server_ctx_for(const char *cn, const char *san, int max_version,
				   const char *pem_out)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(ctx);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	ck_assert_int_eq(X509_set_issuer_name(x, name), 1);
	if (san) {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);

		ck_assert_ptr_nonnull(ext);
		ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	if (pem_out) {
		FILE *f = fopen(pem_out, "w");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(PEM_write_X509(f, x), 1);
		fclose(f);
	}
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

START_TEST(test_error_names)
{
	ck_assert_str_eq(lb_hc_error_name(LB_HC_OK), "ok");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_REFUSED), "connection-refused");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_TIMEOUT), "timeout");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_UNREACHABLE), "unreachable");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_RESET), "connection-reset");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_BAD_STATUS), "bad-status");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_BAD_RESPONSE), "bad-response");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_TLS), "tls-error");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_TLS_VERIFY), "tls-verify-failed");
	ck_assert_str_eq(lb_hc_error_name(LB_HC_ERR_INTERNAL), "internal-error");
	ck_assert_str_eq(lb_hc_error_name((enum lb_hc_error)99), "unknown");
}
END_TEST

START_TEST(test_start_rejects_bad_config)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTP, 1000);
	struct outcome o = {0};

	c.type = (enum lb_hc_type)42;
	errno = 0;
	ck_assert_ptr_null(lb_hc_probe_start(&loop, LOOPBACK, 80, &c, false, record, &o));
	ck_assert_int_eq(errno, EINVAL);

	c = hc_cfg(LB_HC_HTTP, 1000);
	strcpy(c.path, "health");
	errno = 0;
	ck_assert_ptr_null(lb_hc_probe_start(&loop, LOOPBACK, 80, &c, false, record, &o));
	ck_assert_int_eq(errno, EINVAL);

	c = hc_cfg(LB_HC_HTTPS, 1000);
	c.n_expected_codes = LB_HC_CODES_MAX + 1;
	errno = 0;
	ck_assert_ptr_null(lb_hc_probe_start(&loop, LOOPBACK, 80, &c, false, record, &o));
	ck_assert_int_eq(errno, EINVAL);

	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 0);
	lb_hc_probe_cancel(NULL);
}
END_TEST

START_TEST(test_tcp_connects)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_TCP, TIMEOUT_MS);
	struct lb_hc_result r;
	uint16_t port;
	int lfd = tcp_socket(&port, 8); /* the backlog completes the connect */

	r = probe_once(&c, LOOPBACK, port);
	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_uint_lt(r.latency_us, TIMEOUT_MS * 1000u);
	close(lfd);
}
END_TEST

START_TEST(test_tcp_refused)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_TCP, TIMEOUT_MS);
	struct lb_hc_result r;
	uint16_t port;
	int fd = tcp_socket(&port, -1); /* bound, so nobody else listens there either */

	r = probe_once(&c, LOOPBACK, port);
	ck_assert_str_eq(lb_hc_error_name(r.error), "connection-refused");
	close(fd);
}
END_TEST

/* No packet leaves: Linux refuses TCP to a multicast address inside connect(). */
START_TEST(test_tcp_unreachable)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_TCP, TIMEOUT_MS);
	struct lb_hc_result r = probe_once(&c, V4(0xe0000001), 80);

	ck_assert_str_eq(lb_hc_error_name(r.error), "unreachable");
	ck_assert_uint_lt(r.latency_us, TIMEOUT_MS * 1000u);
}
END_TEST

/* Connected (by the backlog) and silent: http and https both time out after 200 ms. */
START_TEST(test_silent_server_times_out)
{
	enum lb_hc_type types[] = {LB_HC_HTTP, LB_HC_HTTPS};
	struct lb_hc_cfg c;
	struct lb_hc_result r;
	uint16_t port;
	int lfd = tcp_socket(&port, 8);
	size_t i;

	for (i = 0; i < 2; i++) {
		c = hc_cfg(types[i], 200);
		r = probe_once(&c, LOOPBACK, port);
		ck_assert_str_eq(lb_hc_error_name(r.error), "timeout");
		ck_assert_uint_ge(r.latency_us, 190000);
		ck_assert_uint_lt(r.latency_us, 2000000);
	}
	close(lfd);
}
END_TEST

/* How an HTTP answer is judged; every row runs over plain TCP and over TLS. */
static const struct http_case {
	const char *desc;
	const char *chunks[5];
	int gap_ms;
	uint16_t codes[3]; /* {200} when all zero */
	enum lb_hc_error error;
	int status;
} http_cases[] = {
	{"200 OK", {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}, 0, {0}, LB_HC_OK, 200},
	{"500 is not expected",
	 {"HTTP/1.1 500 Internal Server Error\r\n\r\n"},
	 0,
	 {0},
	 LB_HC_ERR_BAD_STATUS,
	 500},
	{"not HTTP at all", {"SSH-2.0-OpenSSH_9.2\r\n"}, 0, {0}, LB_HC_ERR_BAD_RESPONSE, 0},
	{"closed after the request", {NULL}, 0, {0}, LB_HC_ERR_RESET, 0},
	{"closed inside the status line", {"HTTP/1.1 200 O"}, 0, {0}, LB_HC_ERR_RESET, 0},
	{"status line in pieces",
	 {"HTT", "P/1.1 2", "00 OK\r", "\nContent-Length: 0\r\n\r\n"},
	 30,
	 {0},
	 LB_HC_OK,
	 200},
	{"closed inside the headers", {"HTTP/1.1 200 OK\r\nContent-Le"}, 0, {0}, LB_HC_OK, 200},
	{"204 listed", {"HTTP/1.1 204 No Content\r\n\r\n"}, 0, {200, 204}, LB_HC_OK, 204},
	{"200 not listed", {"HTTP/1.1 200 OK\r\n\r\n"}, 0, {204}, LB_HC_ERR_BAD_STATUS, 200},
	{"HTTP/1.0, bare LF, no reason", {"HTTP/1.0 200\n\n"}, 0, {0}, LB_HC_OK, 200},
	{"interim 103 skipped",
	 {"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n", "\r\nHTTP/1.1 204 No Content\r\n\r\n"},
	 20,
	 {204},
	 LB_HC_OK,
	 204},
	{"listed 1xx is the answer", {"HTTP/1.1 102 Processing\r\n\r\n"}, 0, {102}, LB_HC_OK, 102},
	{"101 is final", {"HTTP/1.1 101 Switching\r\n\r\n"}, 0, {0}, LB_HC_ERR_BAD_STATUS, 101},
	{"HTTP/2 text", {"HTTP/2 200 OK\r\n\r\n"}, 0, {0}, LB_HC_ERR_BAD_RESPONSE, 0},
	{"lower case", {"http/1.1 200 OK\r\n\r\n"}, 0, {0}, LB_HC_ERR_BAD_RESPONSE, 0},
	{"two-digit code", {"HTTP/1.1 20 OK\r\n\r\n"}, 0, {0}, LB_HC_ERR_BAD_RESPONSE, 0},
	{"four-digit code", {"HTTP/1.1 2000 OK\r\n\r\n"}, 0, {0}, LB_HC_ERR_BAD_RESPONSE, 0},
	{"code below 100", {"HTTP/1.1 099 Odd\r\n\r\n"}, 0, {0}, LB_HC_ERR_BAD_RESPONSE, 0},
};

#define N_HTTP_CASES (int)(sizeof(http_cases) / sizeof(http_cases[0]))

/* The loop index is 2 * row + transport. */
START_TEST(test_http_responses)
{
	const struct http_case *t = &http_cases[_i / 2];
	bool tls = _i % 2;
	struct server s = {.chunks = t->chunks, .gap_ms = t->gap_ms};
	SSL_CTX *ctx = tls ? tls_server_ctx(0) : NULL;
	struct lb_hc_cfg c = hc_cfg(tls ? LB_HC_HTTPS : LB_HC_HTTP, TIMEOUT_MS);
	struct lb_hc_result r;
	size_t i;

	s.tls = ctx;
	for (i = 0; t->codes[0] && i < 3 && t->codes[i]; i++)
		c.expected_codes[i] = t->codes[i];
	if (i)
		c.n_expected_codes = i;
	server_start(&s);
	r = probe_once(&c, LOOPBACK, s.port);
	server_stop(&s);
	SSL_CTX_free(ctx);
	ck_assert_msg(r.error == t->error && r.http_status == t->status,
		      "%s over %s: got %s (status %d), expected %s (status %d)", t->desc,
		      tls ? "TLS" : "TCP", lb_hc_error_name(r.error), r.http_status,
		      lb_hc_error_name(t->error), t->status);
	ck_assert_uint_lt(r.latency_us, TIMEOUT_MS * 1000u);
}
END_TEST

/* Over IPv6 (@v6: to ::1) the Host header is the bracketed address and the port. */
static void check_request_and_close_on(SSL_CTX *tls, bool v6)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", NULL};
	struct server s = {.chunks = reply, .linger = true, .tls = tls, .v6 = v6};
	struct lb_hc_cfg c = hc_cfg(tls ? LB_HC_HTTPS : LB_HC_HTTP, TIMEOUT_MS);
	struct lb_hc_result r;
	char want[256];

	strcpy(c.path, "/ready?full=1");
	server_start(&s);
	r = probe_once(&c, v6 ? LOOPBACK6 : LOOPBACK, s.port);
	server_stop(&s);
	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	ck_assert_int_eq(r.http_status, 200);
	snprintf(want, sizeof(want),
		 "GET /ready?full=1 HTTP/1.1\r\nHost: %s:%u\r\n"
		 "User-Agent: lbd-health-check\r\nConnection: close\r\nAccept: */*\r\n\r\n",
		 v6 ? "[::1]" : "127.0.0.1", s.port);
	ck_assert_str_eq(s.request, want);
	/* The body never comes: the probe must close as soon as it has the status. */
	ck_assert(s.client_closed);
}

static void check_request_and_close(SSL_CTX *tls)
{
	check_request_and_close_on(tls, false);
}

START_TEST(test_http_request_and_early_close)
{
	check_request_and_close(NULL);
}
END_TEST

START_TEST(test_https_request_and_early_close)
{
	SSL_CTX *tls = tls_server_ctx(0);

	check_request_and_close(tls);
	SSL_CTX_free(tls);
}
END_TEST

START_TEST(test_https_tls12)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	struct server s = {.chunks = reply, .tls = tls_server_ctx(TLS1_2_VERSION)};
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTPS, TIMEOUT_MS);
	struct lb_hc_result r;

	server_start(&s);
	r = probe_once(&c, LOOPBACK, s.port);
	server_stop(&s);
	SSL_CTX_free(s.tls);
	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	ck_assert_int_eq(r.http_status, 200);
}
END_TEST

/* A check with a host sends it as SNI and in the Host header (a virtual host's check). */
START_TEST(test_https_host_is_sni_and_host_header)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	struct server s = {.chunks = reply, .tls = tls_server_ctx(0)};
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTPS, TIMEOUT_MS);
	struct lb_hc_result r;

	c.host = lb_intern("api.example.com");
	server_start(&s);
	r = probe_once(&c, LOOPBACK, s.port);
	server_stop(&s);
	SSL_CTX_free(s.tls);
	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	ck_assert_str_eq(s.sni, "api.example.com");
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nHost: api.example.com\r\n"));
}
END_TEST

/* The PROXY v2 LOCAL header: signature, 0x20 (v2, LOCAL), 0x00 (UNSPEC), length 0. */
static const uint8_t pp2_local[16] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
				      0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00};

START_TEST(test_proxy_v2_local_bytes)
{
	uint8_t out[PROXY_PROTO_V2_LOCAL_LEN + 1];

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(lb_proxy_proto_v2_local(out), 16);
	ck_assert_mem_eq(out, pp2_local, 16);
	ck_assert_uint_eq(out[16], 0xee); /* nothing past it */
}
END_TEST

/*
 * A target lbd sends PROXY v2 to: http (_i 0) and https (_i 1) checks send the LOCAL header
 * first, as plain bytes, then the request or the ClientHello.
 */
START_TEST(test_proxy_local_header_first)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	struct server s = {.chunks = reply, .pp = true, .tls = _i ? tls_server_ctx(0) : NULL};
	struct lb_hc_cfg c = hc_cfg(_i ? LB_HC_HTTPS : LB_HC_HTTP, TIMEOUT_MS);
	struct outcome o = {0};

	server_start(&s);
	o.p = lb_hc_probe_start(&loop, LOOPBACK, s.port, &c, true, record, &o);
	ck_assert_ptr_nonnull(o.p);
	uv_run(&loop, UV_RUN_DEFAULT);
	server_stop(&s);
	SSL_CTX_free(s.tls);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_str_eq(lb_hc_error_name(o.r.error), "ok");
	ck_assert_uint_eq(s.pp_len, 16);
	ck_assert_mem_eq(s.pp_got, pp2_local, 16);
	ck_assert_ptr_eq(strstr(s.request, "GET /health HTTP/1.1\r\n"), s.request);
}
END_TEST

/* A tcp check only connects: with proxy_local it still sends nothing. */
START_TEST(test_proxy_local_tcp_sends_nothing)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_TCP, TIMEOUT_MS);
	uint16_t port;
	int lfd = tcp_socket(&port, 16), fd;
	struct outcome o = {0};
	char b;

	o.p = lb_hc_probe_start(&loop, LOOPBACK, port, &c, true, record, &o);
	ck_assert_ptr_nonnull(o.p);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_str_eq(lb_hc_error_name(o.r.error), "ok");
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(recv(fd, &b, 1, 0), 0); /* closed with nothing sent */
	close(fd);
	close(lfd);
}
END_TEST

/* Without a host: no SNI at all (an address may not be one). */
START_TEST(test_https_without_host_sends_no_sni)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	struct server s = {.chunks = reply, .tls = tls_server_ctx(0)};
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTPS, TIMEOUT_MS);
	struct lb_hc_result r;

	server_start(&s);
	r = probe_once(&c, LOOPBACK, s.port);
	server_stop(&s);
	SSL_CTX_free(s.tls);
	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	ck_assert_str_eq(s.sni, "");
}
END_TEST

/* tls-verify: the chain against ca-file, and the host's name (or the IP) in the certificate. */
static const struct verify_case {
	const char *host;   /* NULL: none */
	const char *ca;	    /* "cert": the server's own certificate; NULL: the system's store */
	const char *error;  /* expected result */
	const char *detail; /* a part of the detail, or NULL */
} verify_cases[] = {
	{"api.example.com", "cert", "ok", NULL},
	{"API.Example.com", "cert", "ok", NULL},
	{"other.example.com", "cert", "tls-verify-failed", "hostname mismatch"},
	{NULL, "cert", "ok", NULL}, /* the certificate names 127.0.0.1 as an IP address */
	{"api.example.com", NULL, "tls-verify-failed", "self-signed certificate"},
	{"api.example.com", "missing", "tls-verify-failed", "No such file or directory"},
};

START_TEST(test_https_verify)
{
	const struct verify_case *vc = &verify_cases[_i];
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	char dir[] = "/tmp/lbd-hc-XXXXXX", pem[64], missing[64];
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTPS, TIMEOUT_MS);
	struct server s = {.chunks = reply};
	struct lb_hc_result r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pem, sizeof(pem), "%s/ca.pem", dir);
	snprintf(missing, sizeof(missing), "%s/none.pem", dir);
	s.tls = tls_server_ctx_for("api.example.com", "DNS:api.example.com,IP:127.0.0.1", 0, pem);
	c.host = lb_intern(vc->host);
	c.tls_verify = true;
	c.ca_file = !vc->ca ? NULL : lb_intern(strcmp(vc->ca, "cert") ? missing : pem);
	server_start(&s);
	r = probe_once(&c, LOOPBACK, s.port);
	server_stop(&s);
	SSL_CTX_free(s.tls);
	unlink(pem);
	rmdir(dir);
	ck_assert_msg(!strcmp(lb_hc_error_name(r.error), vc->error),
		      "case %d: %s (%s), expected %s", _i, lb_hc_error_name(r.error), r.detail,
		      vc->error);
	if (vc->detail)
		ck_assert_msg(strstr(r.detail, vc->detail), "case %d: detail \"%s\"", _i, r.detail);
}
END_TEST

/* 4 KiB without an end of line is not a status line, however it started. */
START_TEST(test_http_status_line_too_long)
{
	static char line[5000];
	const char *const reply[] = {line, NULL};
	struct server s = {.chunks = reply, .linger = true};
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTP, TIMEOUT_MS);
	struct lb_hc_result r;

	memset(line, 'x', sizeof(line) - 1);
	memcpy(line, "HTTP/1.1 200 ", 13);
	server_start(&s);
	r = probe_once(&c, LOOPBACK, s.port);
	server_stop(&s);
	ck_assert_str_eq(lb_hc_error_name(r.error), "bad-response");
	ck_assert_int_eq(r.http_status, 0);
}
END_TEST

/* A plain server answering the ClientHello, or hanging up on it, fails the handshake. */
START_TEST(test_https_against_plain_server)
{
	const char *const reply[] = {"HTTP/1.1 400 Bad Request\r\n\r\n", NULL};
	struct server answers = {.chunks = reply, .skip_request = true};
	struct server hangs_up = {.skip_request = true};
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTPS, TIMEOUT_MS);
	struct lb_hc_result r;

	server_start(&answers);
	r = probe_once(&c, LOOPBACK, answers.port);
	server_stop(&answers);
	ck_assert_str_eq(lb_hc_error_name(r.error), "tls-error");
	ck_assert_int_eq(r.http_status, 0);

	server_start(&hangs_up);
	r = probe_once(&c, LOOPBACK, hangs_up.port);
	server_stop(&hangs_up);
	ck_assert_str_eq(lb_hc_error_name(r.error), "tls-error");
}
END_TEST

START_TEST(test_none_is_ok_later)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_NONE, TIMEOUT_MS);
	struct lb_hc_result r = probe_once(&c, LOOPBACK, 1);

	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_uint_lt(r.latency_us, TIMEOUT_MS * 1000u);
}
END_TEST

/* Cancelled before the loop ever ran, of every type and in every early state. */
START_TEST(test_cancel_before_running)
{
	enum lb_hc_type types[] = {LB_HC_TCP, LB_HC_HTTP, LB_HC_HTTPS, LB_HC_NONE};
	struct outcome o[5];
	struct lb_hc_cfg c;
	uint16_t port;
	int lfd = tcp_socket(&port, 8);
	size_t i;

	for (i = 0; i < 4; i++) {
		c = hc_cfg(types[i], TIMEOUT_MS);
		probe_start(&o[i], &c, LOOPBACK, port);
	}
	c = hc_cfg(LB_HC_TCP, TIMEOUT_MS);
	probe_start(&o[4], &c, V4(0xe0000001), 80); /* failed inside connect() */
	for (i = 0; i < 5; i++)
		lb_hc_probe_cancel(o[i].p);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(o[i].calls, 0);
	close(lfd);
}
END_TEST

static void cancel_from_timer(uv_timer_t *t)
{
	struct outcome *o = t->data;

	lb_hc_probe_cancel(o->p);
	uv_close((uv_handle_t *)t, NULL);
}

/* Cancelled while connected and waiting: for the reply (http) and in the handshake (https). */
START_TEST(test_cancel_while_waiting)
{
	enum lb_hc_type types[] = {LB_HC_HTTP, LB_HC_HTTPS};
	struct lb_hc_cfg c;
	struct outcome o;
	uv_timer_t t;
	uint16_t port;
	int lfd = tcp_socket(&port, 8);
	uint64_t t0;
	size_t i;

	for (i = 0; i < 2; i++) {
		c = hc_cfg(types[i], TIMEOUT_MS);
		probe_start(&o, &c, LOOPBACK, port);
		uv_timer_init(&loop, &t);
		t.data = &o;
		uv_timer_start(&t, cancel_from_timer, 50, 0);
		t0 = uv_hrtime();
		uv_run(&loop, UV_RUN_DEFAULT);
		ck_assert_int_eq(o.calls, 0);
		ck_assert_uint_lt(uv_hrtime() - t0, TIMEOUT_MS * 1000000ull / 2);
	}
	close(lfd);
}
END_TEST

struct canceller {
	struct outcome self;
	struct outcome *victim;
};

static void cancel_other(struct lb_hc_probe *p, const struct lb_hc_result *r, void *arg)
{
	struct canceller *k = arg;

	record(p, r, &k->self);
	lb_hc_probe_cancel(k->victim->p);
	lb_hc_probe_cancel(p); /* the probe being reported: a no-op */
}

START_TEST(test_cancel_from_another_done)
{
	struct lb_hc_cfg none = hc_cfg(LB_HC_NONE, TIMEOUT_MS);
	struct lb_hc_cfg http = hc_cfg(LB_HC_HTTP, TIMEOUT_MS);
	struct outcome victim;
	struct canceller k = {.victim = &victim};
	uint16_t port;
	int lfd = tcp_socket(&port, 8);
	uint64_t t0 = uv_hrtime();

	probe_start(&victim, &http, LOOPBACK, port);
	k.self.p = lb_hc_probe_start(&loop, LOOPBACK, 1, &none, false, cancel_other, &k);
	ck_assert_ptr_nonnull(k.self.p);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(k.self.calls, 1);
	ck_assert_int_eq(victim.calls, 0);
	ck_assert_uint_lt(uv_hrtime() - t0, TIMEOUT_MS * 1000000ull / 2);
	close(lfd);
}
END_TEST

#define N_CONCURRENT 200

START_TEST(test_many_concurrent)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	enum lb_hc_type types[] = {LB_HC_TCP, LB_HC_TCP, LB_HC_HTTP, LB_HC_NONE};
	enum lb_hc_error want[] = {LB_HC_OK, LB_HC_ERR_REFUSED, LB_HC_OK, LB_HC_OK};
	static struct outcome o[N_CONCURRENT];
	struct server s = {.chunks = reply};
	struct lb_hc_cfg c;
	uint16_t ports[4], open_port, closed_port;
	int open_fd = tcp_socket(&open_port, N_CONCURRENT);
	int closed_fd = tcp_socket(&closed_port, -1);
	size_t i;

	server_start(&s);
	ports[0] = open_port;
	ports[1] = closed_port;
	ports[2] = s.port;
	ports[3] = 1;
	for (i = 0; i < N_CONCURRENT; i++) {
		c = hc_cfg(types[i % 4], 10000);
		probe_start(&o[i], &c, LOOPBACK, ports[i % 4]);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	server_stop(&s);
	for (i = 0; i < N_CONCURRENT; i++) {
		ck_assert_int_eq(o[i].calls, 1);
		ck_assert_msg(o[i].r.error == want[i % 4], "probe %zu: %s, expected %s", i,
			      lb_hc_error_name(o[i].r.error), lb_hc_error_name(want[i % 4]));
	}
	ck_assert_int_eq(s.served, N_CONCURRENT / 4);
	close(open_fd);
	close(closed_fd);
}
END_TEST

/* IPv6 targets: TCP to ::1 connects or is refused, an IPv6 multicast address is refused. */
START_TEST(test_ipv6_tcp)
{
	struct lb_hc_cfg c = hc_cfg(LB_HC_TCP, TIMEOUT_MS);
	struct lb_ip mcast = {{htonl(0xff020000), 0, 0, htonl(1)}}; /* ff02::1 */
	struct lb_hc_result r;
	uint16_t open_port, closed_port;
	int open_fd, closed_fd;

	if (!have_ipv6_loopback())
		return;
	open_fd = tcp_socket_on(true, &open_port, 8);
	closed_fd = tcp_socket_on(true, &closed_port, -1);
	r = probe_once(&c, LOOPBACK6, open_port);
	ck_assert_str_eq(lb_hc_error_name(r.error), "ok");
	r = probe_once(&c, LOOPBACK6, closed_port);
	ck_assert_str_eq(lb_hc_error_name(r.error), "connection-refused");
	r = probe_once(&c, &mcast, 80);
	ck_assert_str_eq(lb_hc_error_name(r.error), "unreachable");
	close(open_fd);
	close(closed_fd);
}
END_TEST

/* HTTP and HTTPS to [::1]: the request names the target as "[::1]:port". */
START_TEST(test_ipv6_http_request)
{
	SSL_CTX *tls = tls_server_ctx(0);

	if (have_ipv6_loopback()) {
		check_request_and_close_on(NULL, true);
		check_request_and_close_on(tls, true);
	}
	SSL_CTX_free(tls);
}
END_TEST

/*
 * tls-verify without a host checks the target's IPv6 address against the certificate's IP
 * names: ::1 matches "IP:::1", and not a certificate that names only 127.0.0.1.
 */
START_TEST(test_ipv6_https_verify_ip)
{
	const char *const reply[] = {"HTTP/1.1 200 OK\r\n\r\n", NULL};
	const char *const sans[] = {"DNS:api.example.com,IP:::1", "IP:127.0.0.1"};
	const char *const want[] = {"ok", "tls-verify-failed"};
	const char *const detail[] = {"", "IP address mismatch"};
	char dir[] = "/tmp/lbd-hc-XXXXXX", pem[2][64];
	struct lb_hc_cfg c = hc_cfg(LB_HC_HTTPS, TIMEOUT_MS);
	struct lb_hc_result r;
	size_t i;

	if (!have_ipv6_loopback())
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	c.tls_verify = true;
	for (i = 0; i < 2; i++) {
		struct server s = {.chunks = reply, .v6 = true};

		/* A file per certificate: each is the CA of its own run. */
		snprintf(pem[i], sizeof(pem[i]), "%s/ca%zu.pem", dir, i);
		s.tls = tls_server_ctx_for("api.example.com", sans[i], 0, pem[i]);
		c.ca_file = lb_intern(pem[i]);
		server_start(&s);
		r = probe_once(&c, LOOPBACK6, s.port);
		server_stop(&s);
		SSL_CTX_free(s.tls);
		unlink(pem[i]);
		ck_assert_msg(!strcmp(lb_hc_error_name(r.error), want[i]),
			      "certificate %s: %s (%s), expected %s", sans[i],
			      lb_hc_error_name(r.error), r.detail, want[i]);
		ck_assert_msg(strstr(r.detail, detail[i]), "certificate %s: detail \"%s\"", sans[i],
			      r.detail);
	}
	rmdir(dir);
}
END_TEST

static Suite *health_check_suite(void)
{
	Suite *s = suite_create("health_check");
	TCase *tc = tcase_create("probe");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60); /* generous for valgrind; probes bound every wait */
	tcase_add_test(tc, test_error_names);
	tcase_add_test(tc, test_start_rejects_bad_config);
	tcase_add_test(tc, test_tcp_connects);
	tcase_add_test(tc, test_tcp_refused);
	tcase_add_test(tc, test_tcp_unreachable);
	tcase_add_test(tc, test_silent_server_times_out);
	tcase_add_loop_test(tc, test_http_responses, 0, 2 * N_HTTP_CASES);
	tcase_add_test(tc, test_http_request_and_early_close);
	tcase_add_test(tc, test_https_request_and_early_close);
	tcase_add_test(tc, test_https_tls12);
	tcase_add_test(tc, test_https_host_is_sni_and_host_header);
	tcase_add_test(tc, test_https_without_host_sends_no_sni);
	tcase_add_test(tc, test_proxy_v2_local_bytes);
	tcase_add_loop_test(tc, test_proxy_local_header_first, 0, 2);
	tcase_add_test(tc, test_proxy_local_tcp_sends_nothing);
	tcase_add_loop_test(tc, test_https_verify, 0,
			    (int)(sizeof(verify_cases) / sizeof(verify_cases[0])));
	tcase_add_test(tc, test_http_status_line_too_long);
	tcase_add_test(tc, test_https_against_plain_server);
	tcase_add_test(tc, test_none_is_ok_later);
	tcase_add_test(tc, test_cancel_before_running);
	tcase_add_test(tc, test_cancel_while_waiting);
	tcase_add_test(tc, test_cancel_from_another_done);
	tcase_add_test(tc, test_many_concurrent);
	tcase_add_test(tc, test_ipv6_tcp);
	tcase_add_test(tc, test_ipv6_http_request);
	tcase_add_test(tc, test_ipv6_https_verify_ip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(health_check_suite());
	int failed;

	/* A server writing to a probe that already hung up must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
