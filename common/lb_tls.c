// SPDX-License-Identifier: MIT
/*
 * lb_tls.c - find the server name in a TLS ClientHello, a byte stream at a time.
 *
 * Two passes, both forward only, neither allocating nor copying the message:
 *
 * 1. walk_records() follows the record layer from the first byte and decides everything that
 *    depends on how much has arrived: not TLS at all, a broken record, a hello too large to
 *    ever buffer, or not complete yet. It stops as soon as the last byte of the first handshake
 *    message is present; what follows (the rest of that record, early data) is never looked at.
 * 2. Only then does the ClientHello get parsed, through a reader that steps over the record
 *    headers the walk has already checked, so a hello fragmented over many records parses like
 *    one in a single record. Every length is checked against what is left of its enclosing
 *    vector before anything is read.
 *
 * Deciding completeness before parsing keeps the verdict a function of the bytes alone: a
 * prefix of any input gives either LB_HELLO_NEED_MORE or the verdict of the whole input.
 */
#include "lb_tls.h"

#include <stdbool.h>

#define TLS_RECORD_HEADER    5
#define TLS_HANDSHAKE_HEADER 4 /* msg_type(1) length(3) */
#define TLS_CT_HANDSHAKE     22
#define TLS_HT_CLIENT_HELLO  1
/* RFC 8446 5.1 and RFC 5246 6.2.1: a plaintext record carries at most 2^14 bytes. */
#define TLS_RECORD_MAX	    16384
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME   0
#define TLS_SESSION_ID_MAX  32

/*
 * legacy_version(2) random(32) session_id<0..32>(1 + 0) cipher_suites<2..2^16-2>(2 + 2)
 * compression_methods<1..2^8-1>(1 + 1): anything shorter cannot be a ClientHello.
 */
#define TLS_HELLO_BODY_MIN (2 + 32 + 1 + 2 + 2 + 1 + 1)

/*
 * Check the record header at @p, of which @avail bytes have arrived, a byte at a time so that
 * "not TLS" is known from the first byte. Clients send 0x0301 here for compatibility whatever
 * they offer (RFC 8446 5.1), some 0x0303; anything from 0x0301 to 0x0304 is taken, while 0x0300
 * (SSL 3.0) and SSLv2-style hellos are not TLS for us. A zero-length handshake record is
 * forbidden (RFC 8446 5.1), and a longer one than 2^14 is a record_overflow. A bad first record
 * means the connection is not TLS; a bad later one, that a TLS client sent garbage.
 * Returns true with *@reclen set when the header is complete and sane.
 */
static bool record_header(const uint8_t *p, size_t avail, bool first, size_t *reclen,
			  enum lb_hello_result *verdict)
{
	enum lb_hello_result bad = first ? LB_HELLO_NOT_TLS : LB_HELLO_MALFORMED;

	*verdict = LB_HELLO_NEED_MORE;
	if (avail >= 1 && p[0] != TLS_CT_HANDSHAKE)
		*verdict = bad;
	else if (avail >= 2 && p[1] != 3)
		*verdict = bad;
	else if (avail >= 3 && (p[2] < 1 || p[2] > 4))
		*verdict = bad;
	if (*verdict != LB_HELLO_NEED_MORE || avail < TLS_RECORD_HEADER)
		return false;
	*reclen = (size_t)p[3] << 8 | p[4];
	if (*reclen == 0 || *reclen > TLS_RECORD_MAX) {
		*verdict = LB_HELLO_MALFORMED;
		return false;
	}
	return true;
}

/*
 * Follow the records until the first handshake message is complete. Returns true with
 * *@msg_len (header included) set when it is; false with *@verdict otherwise.
 *
 * LB_HELLO_TOO_LARGE is decided as soon as the bytes seen prove that the message cannot end
 * within the first LB_HELLO_MAX bytes of the stream, counting the record headers in between:
 * once the handshake length is known, the earliest the message can end is where it would end
 * if everything left came in the current record, or, if the current record is too short, in
 * a single next one. Each record header seen moves that bound; when it passes LB_HELLO_MAX the
 * verdict is final whatever @len is. So a ClientHello whose last byte is within LB_HELLO_MAX
 * always parses however it is fragmented, and a caller holding LB_HELLO_MAX bytes never gets
 * LB_HELLO_NEED_MORE.
 */
static bool walk_records(const uint8_t *buf, size_t len, size_t *msg_len,
			 enum lb_hello_result *verdict)
{
	size_t pos = 0, got = 0, need = 0, hs_len = 0, reclen, start, i, rest, here, end, bound;

	for (;;) {
		if (!record_header(buf + pos, len - pos, pos == 0, &reclen, verdict))
			return false;
		start = pos + TLS_RECORD_HEADER;

		/* The handshake header may itself be split over records. */
		for (i = 0; got < TLS_HANDSHAKE_HEADER && i < reclen; i++, got++) {
			if (start + i >= len) {
				*verdict = LB_HELLO_NEED_MORE;
				return false;
			}
			if (got == 0 && buf[start + i] != TLS_HT_CLIENT_HELLO) {
				/* The client speaks first, and only with a ClientHello. */
				*verdict = LB_HELLO_MALFORMED;
				return false;
			}
			if (got > 0)
				hs_len = hs_len << 8 | buf[start + i];
		}
		if (got < TLS_HANDSHAKE_HEADER) {
			pos = start + reclen;
			continue;
		}
		if (!need) {
			if (hs_len < TLS_HELLO_BODY_MIN) {
				*verdict = LB_HELLO_MALFORMED;
				return false;
			}
			need = TLS_HANDSHAKE_HEADER + hs_len;
		}

		rest = need - got;
		here = rest < reclen - i ? rest : reclen - i;
		end = start + i + here;
		bound = rest > here ? start + reclen + TLS_RECORD_HEADER + (rest - here) : end;
		if (bound > LB_HELLO_MAX) {
			*verdict = LB_HELLO_TOO_LARGE;
			return false;
		}
		if (end > len) {
			*verdict = LB_HELLO_NEED_MORE;
			return false;
		}
		got += here;
		if (got == need) {
			*msg_len = need;
			return true;
		}
		pos = start + reclen;
	}
}

/*
 * A forward-only view of one handshake message scattered over records. walk_records() has
 * checked every record header the message touches and that all of it has arrived, so the
 * reader only needs @left to stay inside the message.
 */
struct hs_reader {
	const uint8_t *p; /* next byte of the message */
	size_t frag;	  /* bytes left in the current record */
	size_t left;	  /* bytes left in the message */
};

static void hs_reader__next_record(struct hs_reader *r)
{
	r->frag = (size_t)r->p[3] << 8 | r->p[4];
	r->p += TLS_RECORD_HEADER;
}

static bool hs_reader__u8(struct hs_reader *r, uint8_t *v)
{
	if (!r->left)
		return false;
	if (!r->frag)
		hs_reader__next_record(r);
	*v = *r->p++;
	r->frag--;
	r->left--;
	return true;
}

static bool hs_reader__u16(struct hs_reader *r, size_t *v)
{
	uint8_t hi, lo;

	if (!hs_reader__u8(r, &hi) || !hs_reader__u8(r, &lo))
		return false;
	*v = (size_t)hi << 8 | lo;
	return true;
}

static bool hs_reader__skip(struct hs_reader *r, size_t n)
{
	size_t k;

	if (n > r->left)
		return false;
	r->left -= n;
	while (n) {
		if (!r->frag)
			hs_reader__next_record(r);
		k = n < r->frag ? n : r->frag;
		r->p += k;
		r->frag -= k;
		n -= k;
	}
	return true;
}

/* Skip a vector with a one-byte length, which must be within @min..@max. */
static bool hs_reader__skip_vec8(struct hs_reader *r, size_t min, size_t max)
{
	uint8_t n;

	return hs_reader__u8(r, &n) && n >= min && n <= max && hs_reader__skip(r, n);
}

static bool is_name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/*
 * Copy a HostName of @n bytes into @name, lowercased. It may be at most LB_SNI_NAME_LEN bytes
 * as sent (RFC 1035's 255 already counts the root), of letters, digits, '-', '_' and '.', with
 * no empty label: names are compared with the configuration, and "a..b" or ".a" would match
 * nothing a user can write. RFC 6066 says the name has no trailing dot; some clients send one
 * anyway, so exactly one is dropped, which must leave something.
 */
static bool read_host_name(struct hs_reader *r, size_t n, char name[LB_SNI_NAME_LEN + 1])
{
	uint8_t c, prev = '.';
	size_t i;

	if (n > LB_SNI_NAME_LEN)
		return false;
	for (i = 0; i < n; i++) {
		if (!hs_reader__u8(r, &c) || !is_name_char(c))
			return false;
		if (c == '.' && prev == '.')
			return false;
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		name[i] = (char)c;
		prev = c;
	}
	if (n && prev == '.')
		n--;
	name[n] = '\0';
	return n > 0;
}

/*
 * The server_name extension_data, exactly @n bytes (RFC 6066 section 3): a ServerNameList
 * <1..2^16-1> of {name_type, HostName<1..2^16-1>}. Entries of other name types are skipped,
 * taken to have the same 2-byte length (none is defined; RFC 4366 meant the list to grow). A
 * second host_name is refused as the RFC requires: a backend could pick the other one.
 */
static bool read_server_name(struct hs_reader *r, size_t n, char name[LB_SNI_NAME_LEN + 1],
			     bool *found)
{
	size_t list, nlen;
	uint8_t type;

	if (!hs_reader__u16(r, &list) || list == 0 || list + 2 != n)
		return false;
	while (list) {
		if (list < 3 || !hs_reader__u8(r, &type) || !hs_reader__u16(r, &nlen))
			return false;
		list -= 3;
		if (nlen > list)
			return false;
		list -= nlen;
		if (type != TLS_SNI_HOST_NAME) {
			if (!hs_reader__skip(r, nlen))
				return false;
			continue;
		}
		if (*found || !read_host_name(r, nlen, name))
			return false;
		*found = true;
	}
	return true;
}

/* RFC 8446 4.1.2 (the same layout as RFC 5246 7.4.1.2), the message body of @r. */
static enum lb_hello_result parse_client_hello(struct hs_reader *r, char name[LB_SNI_NAME_LEN + 1])
{
	bool seen_sni = false, found = false;
	size_t version, cs_len, ext_len, type, n;

	if (!hs_reader__u16(r, &version) || version >> 8 != 3 || !hs_reader__skip(r, 32) ||
	    !hs_reader__skip_vec8(r, 0, TLS_SESSION_ID_MAX))
		return LB_HELLO_MALFORMED;
	if (!hs_reader__u16(r, &cs_len) || cs_len < 2 || cs_len % 2 || !hs_reader__skip(r, cs_len))
		return LB_HELLO_MALFORMED;
	if (!hs_reader__skip_vec8(r, 1, 255))
		return LB_HELLO_MALFORMED;
	/* TLS 1.2 and earlier hellos may end here (RFC 5246 7.4.1.2). */
	if (!r->left)
		return LB_HELLO_NO_SNI;
	if (!hs_reader__u16(r, &ext_len) || ext_len != r->left)
		return LB_HELLO_MALFORMED;

	/* Walk them all: an overrun or a second server_name anywhere refuses the hello. */
	while (r->left) {
		if (!hs_reader__u16(r, &type) || !hs_reader__u16(r, &n) || n > r->left)
			return LB_HELLO_MALFORMED;
		if (type != TLS_EXT_SERVER_NAME) {
			(void)hs_reader__skip(r, n);
			continue;
		}
		/* RFC 8446 4.2: no extension type may appear twice; this one matters. */
		if (seen_sni || !read_server_name(r, n, name, &found))
			return LB_HELLO_MALFORMED;
		seen_sni = true;
	}
	return found ? LB_HELLO_SNI : LB_HELLO_NO_SNI;
}

enum lb_hello_result lb_tls_parse_hello(const uint8_t *buf, size_t len,
					char name[LB_SNI_NAME_LEN + 1])
{
	enum lb_hello_result verdict;
	struct hs_reader r;
	size_t msg_len;

	name[0] = '\0';
	if (!len) /* and perhaps no buffer at all */
		return LB_HELLO_NEED_MORE;
	if (!walk_records(buf, len, &msg_len, &verdict))
		return verdict;
	r.p = buf + TLS_RECORD_HEADER;
	r.frag = (size_t)buf[3] << 8 | buf[4];
	r.left = msg_len;
	(void)hs_reader__skip(&r, TLS_HANDSHAKE_HEADER);
	verdict = parse_client_hello(&r, name);
	if (verdict != LB_HELLO_SNI)
		name[0] = '\0';
	return verdict;
}

bool lb_tls_peek_sni(const uint8_t *buf, size_t len, char name[LB_SNI_NAME_LEN + 1])
{
	bool found = false;
	size_t avail, reclen, hs_len, version, cs_len, type, n;
	struct hs_reader r;
	uint8_t ht;

	name[0] = '\0';
	if (len <= TLS_RECORD_HEADER + TLS_HANDSHAKE_HEADER || buf[0] != TLS_CT_HANDSHAKE ||
	    buf[1] != 3)
		return false;
	/* The first record only, and only as much of it as arrived. */
	reclen = (size_t)buf[3] << 8 | buf[4];
	avail = len - TLS_RECORD_HEADER < reclen ? len - TLS_RECORD_HEADER : reclen;
	r.p = buf + TLS_RECORD_HEADER;
	r.frag = avail;
	r.left = avail;
	if (!hs_reader__u8(&r, &ht) || ht != TLS_HT_CLIENT_HELLO || !hs_reader__u8(&r, &ht) || ht ||
	    !hs_reader__u16(&r, &hs_len) || hs_len < TLS_HELLO_BODY_MIN)
		return false;
	/* Not past the message's own end: what follows it is not the hello's. */
	if (r.left > hs_len)
		r.left = r.frag = hs_len;
	if (!hs_reader__u16(&r, &version) || version >> 8 != 3 || !hs_reader__skip(&r, 32) ||
	    !hs_reader__skip_vec8(&r, 0, TLS_SESSION_ID_MAX) || !hs_reader__u16(&r, &cs_len) ||
	    cs_len < 2 || cs_len % 2 || !hs_reader__skip(&r, cs_len) ||
	    !hs_reader__skip_vec8(&r, 1, 255) || !hs_reader__u16(&r, &n))
		return false;
	/* Extensions up to the first server_name; ending early is "not yet", never a verdict. */
	while (hs_reader__u16(&r, &type) && hs_reader__u16(&r, &n)) {
		if (type != TLS_EXT_SERVER_NAME) {
			if (!hs_reader__skip(&r, n))
				return false;
			continue;
		}
		if (n > r.left) /* the name list has not all arrived */
			return false;
		if (!read_server_name(&r, n, name, &found) || !found) {
			name[0] = '\0';
			return false;
		}
		return true;
	}
	return false;
}

const char *lb_hello_result_name(enum lb_hello_result r)
{
	switch (r) {
	case LB_HELLO_NEED_MORE:
		return "need-more";
	case LB_HELLO_SNI:
		return "sni";
	case LB_HELLO_NO_SNI:
		return "no-sni";
	case LB_HELLO_NOT_TLS:
		return "not-tls";
	case LB_HELLO_MALFORMED:
		return "malformed";
	case LB_HELLO_TOO_LARGE:
		return "too-large";
	}
	return "unknown";
}
