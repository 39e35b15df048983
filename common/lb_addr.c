// SPDX-License-Identifier: MIT
/*
 * lb_addr.c - strict parsing of the addresses, ports and targets users write.
 *
 * inet_aton() and strtoul() accept far more than anyone means ("10.1" is 10.0.0.1, "010" is
 * octal, " 80", "+80" and "80abc" are all 80), so everything here is parsed by hand, digit by
 * digit, and anything that is not exactly the documented form is refused.
 */
#include "lb_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Decimal digits only, the whole of [s, s + len). Returns 0, -EINVAL when it is not a plain
 * number, -ERANGE when it is one but above @max.
 */
static int parse_dec(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return -EINVAL;
	for (i = 0; i < len; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		/* Stop early so a long run of digits cannot overflow v. */
		if (v > max)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

char *lb_quote(const char *s, char buf[LB_QUOTE_MAX])
{
	/* Room for the text between the quotes: the closing quote and NUL take two bytes. */
	const size_t cap = LB_QUOTE_MAX - 2;
	size_t pos = 1, need = 1, i;
	bool cut = false;

	buf[0] = '"';
	if (!s)
		s = "";
	for (i = 0; s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		need += (ch < 0x20 || ch >= 0x7f) ? 4 : (ch == '"' || ch == '\\') ? 2 : 1;
		if (need > cap) {
			cut = true;
			break;
		}
	}
	for (i = 0; s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[5];
		size_t n;

		if (ch < 0x20 || ch >= 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", ch);
		else if (ch == '"' || ch == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "%c", ch);
		/* When cutting, keep three bytes for the "..." that says so. */
		if (pos + n > cap - (cut ? 3 : 0))
			break;
		memcpy(buf + pos, esc, n);
		pos += n;
	}
	if (cut) {
		memcpy(buf + pos, "...", 3);
		pos += 3;
	}
	buf[pos++] = '"';
	buf[pos] = '\0';
	return buf;
}

/* Four decimal octets; no leading zeros, which some parsers would read as octal. */
static int parse_ipv4(const char *s, size_t len, uint32_t *addr, bool *leading_zero)
{
	uint32_t octets[4];
	size_t start = 0, part = 0, i;

	*leading_zero = false;
	for (i = 0; i <= len; i++) {
		size_t plen;

		if (i < len && s[i] != '.')
			continue;
		plen = i - start;
		if (part == 4 || plen == 0 || plen > 3)
			return -EINVAL;
		if (parse_dec(s + start, plen, 255, &octets[part]))
			return -EINVAL;
		if (plen > 1 && s[start] == '0') {
			*leading_zero = true;
			return -EINVAL;
		}
		part++;
		start = i + 1;
	}
	if (part != 4)
		return -EINVAL;
	*addr = htonl(octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]);
	return 0;
}

int lb_parse_ipv4(const char *s, uint32_t *addr, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX];
	bool lz;

	if (!s)
		s = "";
	if (parse_ipv4(s, strlen(s), addr, &lz) == 0)
		return 0;
	return fail(err, errlen, "%s is not an IPv4 address (expected a.b.c.d%s)", lb_quote(s, q),
		    lz ? " without leading zeros" : "");
}

static uint32_t prefix_mask(uint8_t prefix_len)
{
	/* A shift by 32 is undefined behaviour, and /0 is a legitimate "everything" prefix. */
	return prefix_len ? ~(uint32_t)0 << (32 - prefix_len) : 0;
}

int lb_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix_len, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX], net[LB_TARGET_STR_MAX];
	const char *slash;
	uint32_t a, plen = 32, mask;
	size_t alen;
	bool lz;

	if (!s)
		s = "";
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (parse_ipv4(s, alen, &a, &lz))
		return fail(err, errlen,
			    "%s is not an IPv4 address or CIDR (expected a.b.c.d/len or a.b.c.d%s)",
			    lb_quote(s, q), lz ? " without leading zeros" : "");
	if (slash) {
		const char *p = slash + 1;
		size_t n = strlen(p);

		/* One form per prefix: "/08" is refused like an octet with a leading zero. */
		if (parse_dec(p, n, 32, &plen) || (n > 1 && p[0] == '0'))
			return fail(
				err, errlen,
				"%s has an invalid prefix length (expected a number from 0 to 32 "
				"after the '/')",
				lb_quote(s, q));
	}
	mask = prefix_mask((uint8_t)plen);
	if (ntohl(a) & ~mask)
		return fail(err, errlen, "%s has host bits set; did you mean %s?", lb_quote(s, q),
			    lb_format_cidr(htonl(ntohl(a) & mask), (uint8_t)plen, net));
	*addr = a;
	*prefix_len = (uint8_t)plen;
	return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	uint32_t v;

	if (parse_dec(s, len, 65535, &v) || v == 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int lb_parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX];

	if (!s)
		s = "";
	if (parse_port(s, strlen(s), port) == 0)
		return 0;
	return fail(err, errlen, "%s is not a valid port (expected a number from 1 to 65535)",
		    lb_quote(s, q));
}

enum unusable { ADDR_OK, ADDR_ANY, ADDR_BROADCAST, ADDR_MULTICAST, ADDR_RESERVED };

static enum unusable classify(uint32_t addr)
{
	uint32_t a = ntohl(addr);

	if (a == 0)
		return ADDR_ANY;
	/* Before the reserved range: 255.255.255.255 lies inside 240.0.0.0/4. */
	if (a == 0xffffffffu)
		return ADDR_BROADCAST;
	if ((a & 0xf0000000u) == 0xe0000000u)
		return ADDR_MULTICAST;
	if ((a & 0xf0000000u) == 0xf0000000u)
		return ADDR_RESERVED;
	/* 127.0.0.0/8 stays usable: a target on the LB host itself is a supported setup. */
	return ADDR_OK;
}

const char *lb_addr_unusable(uint32_t addr)
{
	switch (classify(addr)) {
	case ADDR_ANY:
		return "0.0.0.0 is not a usable address";
	case ADDR_BROADCAST:
		return "255.255.255.255 is the broadcast address, not a usable address";
	case ADDR_MULTICAST:
		return "multicast addresses (224.0.0.0/4) are not usable";
	case ADDR_RESERVED:
		return "reserved addresses (240.0.0.0/4) are not usable";
	default:
		return NULL;
	}
}

int lb_check_usable(uint32_t addr, char *err, size_t errlen)
{
	char a[LB_ADDR_STR_MAX];

	switch (classify(addr)) {
	case ADDR_OK:
		return 0;
	case ADDR_MULTICAST:
		return fail(err, errlen,
			    "%s is a multicast address (224.0.0.0/4), not a usable unicast address",
			    lb_format_ipv4(addr, a));
	case ADDR_RESERVED:
		return fail(err, errlen,
			    "%s is a reserved address (240.0.0.0/4), not a usable address",
			    lb_format_ipv4(addr, a));
	default:
		/* These two name their one address already. */
		return fail(err, errlen, "%s", lb_addr_unusable(addr));
	}
}

int lb_parse_target(const char *s, struct lb_target_cfg *t, int *has_weight, char *err,
		    size_t errlen)
{
	char q[LB_QUOTE_MAX], part[LB_QUOTE_MAX], why[LB_ERR_MAX];
	const char *colon, *at, *end;
	uint32_t addr, weight = 100;
	uint16_t port;
	bool lz;

	if (!s)
		s = "";
	colon = strchr(s, ':');
	if (!colon)
		return fail(err, errlen, "%s is not a target (expected ip:port or ip:port@weight)",
			    lb_quote(s, q));
	at = strchr(colon, '@');
	end = at ? at : colon + strlen(colon);

	if (parse_ipv4(s, (size_t)(colon - s), &addr, &lz)) {
		snprintf(why, sizeof(why), "%.*s", (int)(colon - s), s);
		return fail(
			err, errlen,
			"%s is not a valid target: %s is not an IPv4 address (expected a.b.c.d%s)",
			lb_quote(s, q), lb_quote(why, part), lz ? " without leading zeros" : "");
	}
	if (lb_check_usable(addr, why, sizeof(why)))
		return fail(err, errlen, "%s is not a valid target: %s", lb_quote(s, q), why);
	if (parse_port(colon + 1, (size_t)(end - colon - 1), &port)) {
		snprintf(why, sizeof(why), "%.*s", (int)(end - colon - 1), colon + 1);
		return fail(err, errlen,
			    "%s is not a valid target: %s is not a valid port (expected a number "
			    "from 1 to 65535)",
			    lb_quote(s, q), lb_quote(why, part));
	}
	if (at && parse_dec(at + 1, strlen(at + 1), 100, &weight))
		return fail(err, errlen,
			    "%s is not a valid target: weight %s is not a number from 0 to 100",
			    lb_quote(s, q), lb_quote(at + 1, part));

	t->addr = addr;
	t->port = port;
	t->weight = (uint8_t)weight;
	if (has_weight)
		*has_weight = at != NULL;
	return 0;
}

int lb_parse_listen(const char *s, uint32_t *addr, uint16_t *port, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX], part[LB_QUOTE_MAX], why[LB_ERR_MAX];
	const char *colon;
	uint32_t a;
	bool lz;

	if (!s)
		s = "";
	colon = strrchr(s, ':');
	if (!colon)
		return fail(err, errlen,
			    "%s is not a listen address (expected ip:port, e.g. 127.0.0.1:9100)",
			    lb_quote(s, q));
	if (parse_ipv4(s, (size_t)(colon - s), &a, &lz)) {
		snprintf(why, sizeof(why), "%.*s", (int)(colon - s), s);
		return fail(err, errlen,
			    "%s is not a valid listen address: %s is not an IPv4 address "
			    "(expected a.b.c.d%s, or 0.0.0.0 for every address)",
			    lb_quote(s, q), lb_quote(why, part),
			    lz ? " without leading zeros" : "");
	}
	/* 0.0.0.0 is fine here: it means every local address. */
	if (classify(a) != ADDR_OK && classify(a) != ADDR_ANY &&
	    lb_check_usable(a, why, sizeof(why)))
		return fail(err, errlen, "%s is not a valid listen address: %s", lb_quote(s, q),
			    why);
	if (parse_port(colon + 1, strlen(colon + 1), port))
		return fail(err, errlen,
			    "%s is not a valid listen address: %s is not a valid port (expected a "
			    "number from 1 to 65535)",
			    lb_quote(s, q), lb_quote(colon + 1, part));
	*addr = a;
	return 0;
}

char *lb_format_ipv4(uint32_t addr, char buf[LB_ADDR_STR_MAX])
{
	uint32_t a = ntohl(addr);

	snprintf(buf, LB_ADDR_STR_MAX, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		 a & 0xff);
	return buf;
}

char *lb_format_target(uint32_t addr, uint16_t port, char buf[LB_TARGET_STR_MAX])
{
	char a[LB_ADDR_STR_MAX];

	snprintf(buf, LB_TARGET_STR_MAX, "%s:%u", lb_format_ipv4(addr, a), port);
	return buf;
}

char *lb_format_cidr(uint32_t addr, uint8_t prefix_len, char buf[LB_TARGET_STR_MAX])
{
	char a[LB_ADDR_STR_MAX];

	snprintf(buf, LB_TARGET_STR_MAX, "%s/%u", lb_format_ipv4(addr, a), prefix_len);
	return buf;
}
