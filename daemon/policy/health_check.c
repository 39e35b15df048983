// SPDX-License-Identifier: MIT
/*
 * One health check as a small state machine on a uv_poll of its socket:
 *
 *   CONNECTING --(tcp)--> done
 *       | http            | https
 *       |  (PREFACE: a PROXY v2 LOCAL header first, to targets that need one)
 *       v                 v
 *    SENDING <------- HANDSHAKE
 *       v
 *    RECEIVING (until the status line is complete) --> done
 *
 * Lifetime: a probe owns a socket, a poll handle on it and a timer bounding the whole check,
 * and frees itself in the close callback of the last handle. It ends exactly once, in one of
 * two ways. Either done() runs: the socket is already closed and the handles are closing, so
 * the probe is freed at the end of that loop iteration and the caller must forget the pointer
 * when done() returns (there is nothing to cancel or free). Or the caller cancels it first,
 * which closes everything the same way without calling done(). Cancelling from inside any
 * done() is safe: another running probe is cancelled, the probe being reported is left alone.
 *
 * Results never arrive synchronously from lb_hc_probe_start(): a check of type none and a
 * connect() the kernel refuses at once are reported by the timer armed with a zero timeout.
 *
 * TLS: the check's host, when it has one, goes out as SNI (and in the Host header, for
 * http too); without one no SNI is sent (RFC 6066 section 3 allows no address literal
 * there) and the server presents its default certificate. With tls-verify, the chain is
 * verified against the check's ca-file (or the system's store), and the certificate must
 * name the host, or the target's IP address when there is no host. Without it nothing is
 * verified: a check proves liveness, not identity (contexts: hc_tls.h).
 *
 * Everything here runs on the loop's thread.
 */
#include "health_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "hc_tls.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "lb_proxy_proto.h"

#define HC_RESPONSE_MAX 4096 /* a status line (after any 1xx) must fit in this much */
#define HC_PEER_MAX	LB_TARGET_STR_MAX
/* The request's fixed text is under 128 bytes; Host: is "host" or the peer, IPv6 included. */
#define HC_HOST_MAX    (LB_SNI_NAME_MAX > HC_PEER_MAX ? LB_SNI_NAME_MAX : HC_PEER_MAX)
#define HC_REQUEST_MAX (LB_HC_PATH_MAX + HC_HOST_MAX + 128)

enum hc_state { HC_CONNECTING, HC_PREFACE, HC_HANDSHAKE, HC_SENDING, HC_RECEIVING };

/* What a step of the state machine asks for: wait for poll events, go on, or stop. */
#define HC_CONTINUE 0
#define HC_FINISHED (-1)

struct lb_hc_probe {
	uv_poll_t poll; /* initialised only when fd >= 0 */
	uv_timer_t timer;
	int open_handles;
	int fd;
	SSL *ssl;
	bool finished; /* done ran or the probe was cancelled */
	bool early;    /* the timer reports early_error instead of a timeout */
	enum lb_hc_error early_error;
	enum lb_hc_type type;
	enum hc_state state;
	uint64_t start_ns;
	lb_hc_done_fn done;
	void *arg;
	int http_status;
	uint16_t codes[LB_HC_CODES_MAX];
	size_t n_codes;
	char peer[HC_PEER_MAX];
	char detail[LB_HC_DETAIL_MAX]; /* why TLS failed */
	size_t pp_len, pp_off;	       /* the PROXY v2 LOCAL header; pp_len 0: none */
	uint8_t pp[PROXY_PROTO_V2_LOCAL_LEN];
	size_t req_len, req_off, resp_len;
	char req[HC_REQUEST_MAX];
	char resp[HC_RESPONSE_MAX];
};

static const char *const error_names[] = {
	[LB_HC_OK] = "ok",
	[LB_HC_ERR_REFUSED] = "connection-refused",
	[LB_HC_ERR_TIMEOUT] = "timeout",
	[LB_HC_ERR_UNREACHABLE] = "unreachable",
	[LB_HC_ERR_RESET] = "connection-reset",
	[LB_HC_ERR_BAD_STATUS] = "bad-status",
	[LB_HC_ERR_BAD_RESPONSE] = "bad-response",
	[LB_HC_ERR_TLS] = "tls-error",
	[LB_HC_ERR_INTERNAL] = "internal-error",
	[LB_HC_ERR_TLS_VERIFY] = "tls-verify-failed",
};

const char *lb_hc_error_name(enum lb_hc_error e)
{
	if ((unsigned int)e >= sizeof(error_names) / sizeof(error_names[0]))
		return "unknown";
	return error_names[e];
}

static enum lb_hc_error error_of_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return LB_HC_ERR_REFUSED;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return LB_HC_ERR_UNREACHABLE;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		return LB_HC_ERR_RESET;
	case ETIMEDOUT:
		return LB_HC_ERR_TIMEOUT;
	default: /* ENOMEM, ENOBUFS, EADDRNOTAVAIL (no local port left), ...: our side */
		return LB_HC_ERR_INTERNAL;
	}
}

static void probe_closed(uv_handle_t *h)
{
	struct lb_hc_probe *p = h->data;

	if (--p->open_handles == 0)
		free(p);
}

/* Close the socket now and the handles soon; the last close callback frees the probe. */
static void probe_teardown(struct lb_hc_probe *p)
{
	p->finished = true;
	if (p->fd >= 0) {
		/* uv_close() takes the fd out of epoll at once, so closing it next is safe. */
		uv_close((uv_handle_t *)&p->poll, probe_closed);
		SSL_free(p->ssl);
		p->ssl = NULL;
		close(p->fd);
		p->fd = -1;
	}
	uv_close((uv_handle_t *)&p->timer, probe_closed);
}

static void probe_finish(struct lb_hc_probe *p, enum lb_hc_error e)
{
	struct lb_hc_result r = {.error = e, .http_status = p->http_status};
	uint64_t us;

	if (p->finished)
		return;
	memcpy(r.detail, p->detail, sizeof(r.detail));
	us = (uv_hrtime() - p->start_ns) / 1000;
	r.latency_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	probe_teardown(p);
	p->done(p, &r, p->arg);
}

void lb_hc_probe_cancel(struct lb_hc_probe *p)
{
	if (p && !p->finished)
		probe_teardown(p);
}

/*
 * Keep why TLS failed in p->detail (a rejected certificate: what verification said), say it
 * at debug level, and leave OpenSSL's (per-thread) error queue empty. Returns the error.
 */
static enum lb_hc_error tls_failure(struct lb_hc_probe *p, const char *what, int err)
{
	unsigned long code = ERR_peek_last_error();
	enum lb_hc_error e = LB_HC_ERR_TLS;
	long verdict = SSL_get_verify_result(p->ssl);
	char msg[200];

	if (code)
		ERR_error_string_n(code, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "%s", err ? strerror(err) : "connection closed");
	if (verdict != X509_V_OK && SSL_get_verify_mode(p->ssl) != SSL_VERIFY_NONE) {
		e = LB_HC_ERR_TLS_VERIFY;
		snprintf(p->detail, sizeof(p->detail), "%s",
			 X509_verify_cert_error_string(verdict));
	} else {
		/* OpenSSL's own words, after "error:CODE:LIBRARY:FUNCTION:". */
		const char *reason = code ? ERR_reason_error_string(code) : NULL;

		snprintf(p->detail, sizeof(p->detail), "%s failed: %s", what,
			 reason ? reason : msg);
	}
	lb_debug("health check of %s: TLS %s failed: %s", p->peer, what, msg);
	ERR_clear_error();
	return e;
}

/* The poll events an SSL_ERROR_WANT_* asks for, 0 for any other SSL_get_error() value. */
static int tls_want(int ssl_err)
{
	if (ssl_err == SSL_ERROR_WANT_READ)
		return UV_READABLE;
	if (ssl_err == SSL_ERROR_WANT_WRITE)
		return UV_WRITABLE;
	return 0;
}

/*
 * Move bytes over the connection, plain or TLS. Returns HC_CONTINUE with *@n bytes moved
 * (0 from a read is EOF), the poll events to wait for, or HC_FINISHED with *@e set.
 */
static int probe_io(struct lb_hc_probe *p, bool out, void *buf, size_t len, size_t *n,
		    enum lb_hc_error *e)
{
	ssize_t r;
	int ok, ssl_err;

	if (!p->ssl) {
		do
			r = out ? send(p->fd, buf, len, MSG_NOSIGNAL) : recv(p->fd, buf, len, 0);
		while (r < 0 && errno == EINTR);
		if (r >= 0) {
			*n = (size_t)r;
			return HC_CONTINUE;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return out ? UV_WRITABLE : UV_READABLE;
		*e = error_of_errno(errno);
		return HC_FINISHED;
	}

	ERR_clear_error();
	errno = 0;
	ok = out ? SSL_write_ex(p->ssl, buf, len, n) : SSL_read_ex(p->ssl, buf, len, n);
	if (ok)
		return HC_CONTINUE;
	ssl_err = SSL_get_error(p->ssl, ok);
	switch (ssl_err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return tls_want(ssl_err);
	case SSL_ERROR_ZERO_RETURN:
		*n = 0;
		return HC_CONTINUE;
	case SSL_ERROR_SYSCALL:
		if (!errno) {
			*n = 0;
			return HC_CONTINUE;
		}
		*e = error_of_errno(errno);
		return HC_FINISHED;
	default:
		*e = tls_failure(p, out ? "write" : "read", 0);
		return HC_FINISHED;
	}
}

/* The state after the connect and any PROXY header: the TLS handshake, or the request. */
static enum hc_state state_after_preface(const struct lb_hc_probe *p)
{
	return p->ssl ? HC_HANDSHAKE : HC_SENDING;
}

/* The PROXY v2 LOCAL header, sent as plain bytes before anything else (TLS included). */
static int probe_preface(struct lb_hc_probe *p, enum lb_hc_error *e)
{
	ssize_t r;

	do
		r = send(p->fd, p->pp + p->pp_off, p->pp_len - p->pp_off, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return UV_WRITABLE;
		*e = error_of_errno(errno);
		return HC_FINISHED;
	}
	p->pp_off += (size_t)r;
	if (p->pp_off == p->pp_len)
		p->state = state_after_preface(p);
	return HC_CONTINUE;
}

/* Any failure during the handshake, a peer that is not TLS included, is a TLS error. */
static int probe_handshake(struct lb_hc_probe *p, enum lb_hc_error *e)
{
	int ret, sys_err, want;

	ERR_clear_error();
	errno = 0;
	ret = SSL_connect(p->ssl);
	sys_err = errno;
	if (ret == 1) {
		p->state = HC_SENDING;
		return HC_CONTINUE;
	}
	want = tls_want(SSL_get_error(p->ssl, ret));
	if (want)
		return want;
	*e = tls_failure(p, "handshake", sys_err);
	return HC_FINISHED;
}

static int probe_send(struct lb_hc_probe *p, enum lb_hc_error *e)
{
	size_t n = 0;
	int ret = probe_io(p, true, p->req + p->req_off, p->req_len - p->req_off, &n, e);

	if (ret != HC_CONTINUE)
		return ret;
	if (!n) {
		*e = LB_HC_ERR_RESET;
		return HC_FINISHED;
	}
	p->req_off += n;
	if (p->req_off == p->req_len)
		p->state = HC_RECEIVING;
	return HC_CONTINUE;
}

/*
 * The status code of the "HTTP/1.x NNN reason" line at the start of @buf once its LF has
 * arrived (*@next then points past it), 0 while more bytes could still complete one, -1 as
 * soon as they cannot.
 */
static int parse_status_line(const char *buf, size_t len, size_t *next)
{
	static const char shape[] = "HTTP/1.# ###"; /* '#': a digit */
	const size_t n_shape = sizeof(shape) - 1;
	const char *lf;
	size_t i;

	for (i = 0; i < len && i < n_shape; i++) {
		if (shape[i] == '#' ? buf[i] < '0' || buf[i] > '9' : buf[i] != shape[i])
			return -1;
	}
	if (len > 9 && buf[9] == '0')
		return -1;
	if (len <= n_shape)
		return 0;
	if (buf[n_shape] != ' ' && buf[n_shape] != '\r' && buf[n_shape] != '\n')
		return -1;
	lf = memchr(buf + n_shape, '\n', len - n_shape);
	if (!lf)
		return 0;
	*next = (size_t)(lf - buf) + 1;
	return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

/* Past the empty line ending the header block that starts at @from, or 0 until it arrives. */
static size_t headers_end(const char *buf, size_t len, size_t from)
{
	const char *lf;

	while (from < len) {
		if (buf[from] == '\n')
			return from + 1;
		if (buf[from] == '\r' && from + 1 < len && buf[from + 1] == '\n')
			return from + 2;
		lf = memchr(buf + from, '\n', len - from);
		if (!lf)
			return 0;
		from = (size_t)(lf - buf) + 1;
	}
	return 0;
}

static bool code_expected(const struct lb_hc_probe *p, int code)
{
	size_t i;

	for (i = 0; i < p->n_codes; i++)
		if (p->codes[i] == code)
			return true;
	return false;
}

/*
 * Judge what has arrived: HC_CONTINUE while the status line is incomplete, else HC_FINISHED.
 * An interim 1xx response (RFC 9110 section 15.2) the configuration does not list is skipped
 * with its headers; the final status decides.
 */
static int probe_judge(struct lb_hc_probe *p, enum lb_hc_error *e)
{
	size_t next = 0, end;
	int code;

	for (;;) {
		code = parse_status_line(p->resp, p->resp_len, &next);
		if (code < 0)
			break;
		if (code == 0)
			goto incomplete;
		if (code >= 200 || code == 101 || code_expected(p, code)) {
			p->http_status = code;
			*e = code_expected(p, code) ? LB_HC_OK : LB_HC_ERR_BAD_STATUS;
			return HC_FINISHED;
		}
		end = headers_end(p->resp, p->resp_len, next);
		if (!end)
			goto incomplete;
		p->resp_len -= end;
		memmove(p->resp, p->resp + end, p->resp_len);
	}
	*e = LB_HC_ERR_BAD_RESPONSE;
	return HC_FINISHED;

incomplete:
	if (p->resp_len < sizeof(p->resp))
		return HC_CONTINUE;
	*e = LB_HC_ERR_BAD_RESPONSE;
	return HC_FINISHED;
}

static int probe_receive(struct lb_hc_probe *p, enum lb_hc_error *e)
{
	size_t n = 0;
	int ret = probe_io(p, false, p->resp + p->resp_len, sizeof(p->resp) - p->resp_len, &n, e);

	if (ret != HC_CONTINUE)
		return ret;
	if (!n) {
		*e = LB_HC_ERR_RESET; /* closed before a complete status line */
		return HC_FINISHED;
	}
	p->resp_len += n;
	return probe_judge(p, e);
}

/* Run the connected states until one has to wait (poll events returned) or the check ends. */
static int probe_advance(struct lb_hc_probe *p, enum lb_hc_error *e)
{
	int ret;

	do {
		switch (p->state) {
		case HC_PREFACE:
			ret = probe_preface(p, e);
			break;
		case HC_HANDSHAKE:
			ret = probe_handshake(p, e);
			break;
		case HC_SENDING:
			ret = probe_send(p, e);
			break;
		case HC_RECEIVING:
			ret = probe_receive(p, e);
			break;
		default:
			*e = LB_HC_ERR_INTERNAL;
			ret = HC_FINISHED;
		}
	} while (ret == HC_CONTINUE);
	return ret;
}

static int socket_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct lb_hc_probe *p = h->data;
	enum lb_hc_error e = LB_HC_ERR_INTERNAL;
	int ret;

	/*
	 * libuv reports POLLERR as status < 0 and stops polling. Once connected, that is handled
	 * like readiness: the next read returns what arrived before the error, then the error.
	 */
	if (p->state == HC_CONNECTING) {
		ret = socket_error(p->fd);
		if (ret) {
			probe_finish(p, error_of_errno(ret));
			return;
		}
		if (p->type == LB_HC_TCP) {
			probe_finish(p, LB_HC_OK);
			return;
		}
		p->state = p->pp_len ? HC_PREFACE : state_after_preface(p);
	}
	ret = probe_advance(p, &e);
	if (ret == HC_FINISHED)
		probe_finish(p, e);
	else if (uv_poll_start(&p->poll, ret, on_poll))
		probe_finish(p, LB_HC_ERR_INTERNAL);
}

static void on_timer(uv_timer_t *t)
{
	struct lb_hc_probe *p = t->data;

	probe_finish(p, p->early ? p->early_error : LB_HC_ERR_TIMEOUT);
}

/* Report @e from the next loop iteration, never from inside lb_hc_probe_start(). */
static void probe_report_soon(struct lb_hc_probe *p, enum lb_hc_error e)
{
	p->early = true;
	p->early_error = e;
	uv_timer_start(&p->timer, on_timer, 0, 0);
}

static int probe_build_request(struct lb_hc_probe *p, const char *path, const char *host)
{
	size_t path_len = strnlen(path, LB_HC_PATH_MAX);
	int n;

	if (path_len == LB_HC_PATH_MAX || path[0] != '/')
		return -EINVAL;
	n = snprintf(p->req, sizeof(p->req),
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: lbd-health-check\r\n"
		     "Connection: close\r\n"
		     "Accept: */*\r\n"
		     "\r\n",
		     path, host ? host : p->peer);
	if (n < 0 || (size_t)n >= sizeof(p->req))
		return -EINVAL;
	p->req_len = (size_t)n;
	return 0;
}

/* Everything that can fail before a handle exists: the probe is then simply freed. */
static int probe_prepare(struct lb_hc_probe *p, const struct lb_ip *addr, uint16_t port,
			 const struct lb_hc_cfg *cfg)
{
	char why[256];
	SSL_CTX *ctx;

	lb_format_target(addr, port, p->peer);
	if (cfg->type == LB_HC_NONE)
		return 0;
	if (cfg->type != LB_HC_TCP && probe_build_request(p, cfg->path, cfg->host))
		return -EINVAL;
	if (cfg->type == LB_HC_HTTPS) {
		ctx = lb_hc_tls_ctx(cfg->tls_verify, cfg->ca_file, why, sizeof(why));
		if (!ctx) {
			/* The CA file went away or went bad since the config was applied. */
			snprintf(p->detail, sizeof(p->detail), "%s", why);
			p->early = true;
			p->early_error = LB_HC_ERR_TLS_VERIFY;
			return 0;
		}
		p->ssl = SSL_new(ctx);
		if (!p->ssl)
			return -ENOMEM;
		if (cfg->host && !SSL_set_tlsext_host_name(p->ssl, cfg->host))
			return -ENOMEM;
		if (cfg->tls_verify &&
		    !(cfg->host ? SSL_set1_host(p->ssl, cfg->host)
				: X509_VERIFY_PARAM_set1_ip(
					  SSL_get0_param(p->ssl),
					  lb_ip_is_v4(addr) ? (const unsigned char *)&addr->w[3]
							    : (const unsigned char *)addr,
					  lb_ip_is_v4(addr) ? 4 : 16)))
			return -ENOMEM;
	}
	p->fd = socket(lb_ip_is_v4(addr) ? AF_INET : AF_INET6,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -errno;
	if (p->ssl && !SSL_set_fd(p->ssl, p->fd))
		return -ENOMEM;
	return 0;
}

struct lb_hc_probe *lb_hc_probe_start(uv_loop_t *loop, const struct lb_ip *addr, uint16_t port,
				      const struct lb_hc_cfg *cfg, bool proxy_local,
				      lb_hc_done_fn done, void *arg)
{
	struct sockaddr_storage sa;
	socklen_t salen = lb_sockaddr_of(addr, port, &sa);
	struct lb_hc_probe *p;
	int err;

	if (!loop || !cfg || !done || (unsigned int)cfg->type > LB_HC_NONE ||
	    cfg->n_expected_codes > LB_HC_CODES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fd = -1;
	p->type = cfg->type;
	p->done = done;
	p->arg = arg;
	p->n_codes = cfg->n_expected_codes;
	memcpy(p->codes, cfg->expected_codes, p->n_codes * sizeof(p->codes[0]));
	/* A tcp check only connects: it has nothing to put a header in front of. */
	if (proxy_local && (cfg->type == LB_HC_HTTP || cfg->type == LB_HC_HTTPS))
		p->pp_len = lb_proxy_proto_v2_local(p->pp);

	err = probe_prepare(p, addr, port, cfg);
	if (!err && p->fd >= 0)
		err = uv_poll_init(loop, &p->poll, p->fd);
	if (err)
		goto err_free;
	uv_timer_init(loop, &p->timer);
	p->poll.data = p;
	p->timer.data = p;
	p->open_handles = p->fd >= 0 ? 2 : 1;

	/* The loop's clock may be stale (the SSL_CTX was just made): time both from now. */
	uv_update_time(loop);
	p->start_ns = uv_hrtime();
	if (p->type == LB_HC_NONE || p->early) {
		probe_report_soon(p, p->early ? p->early_error : LB_HC_OK);
		return p;
	}
	if (connect(p->fd, (struct sockaddr *)&sa, salen) && errno != EINPROGRESS) {
		probe_report_soon(p, error_of_errno(errno));
		return p;
	}
	if (uv_poll_start(&p->poll, UV_WRITABLE, on_poll)) {
		probe_report_soon(p, LB_HC_ERR_INTERNAL);
		return p;
	}
	uv_timer_start(&p->timer, on_timer, cfg->timeout_ms, 0);
	return p;

err_free:
	SSL_free(p->ssl);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	errno = -err;
	return NULL;
}
