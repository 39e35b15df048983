// SPDX-License-Identifier: MIT
/*
 * lb_addr.c - strict parsing of the addresses, ports and targets users write.
 *
 * inet_aton() and strtoul() accept far more than anyone means ("10.1" is 10.0.0.1, "010" is
 * octal, " 80", "+80" and "80abc" are all 80), so IPv4 addresses and numbers are parsed by
 * hand, digit by digit, and anything that is not exactly the documented form is refused.
 * IPv6 text goes to inet_pton() once its characters are known to be hex digits, colons and
 * dots only (it takes no zone, no spaces).
 */
#include "lb_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
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

/* Why the address text [s, s + len) is not one: NULL when it is (*addr set). */
static const char *parse_ip(const char *s, size_t len, struct lb_ip *addr)
{
	char buf[LB_ADDR_STR_MAX];
	struct in6_addr a6;
	struct lb_ip ip;
	uint32_t v4;
	size_t i;
	bool lz;
	const char *colon = memchr(s, ':', len), *dot = memchr(s, '.', len);

	if (!colon || (dot && dot < colon)) {
		if (colon) /* 10.0.0.1:8080 */
			return "an address alone is expected here, without ':' and a port";
		if (parse_ipv4(s, len, &v4, &lz))
			return lz ? "an IPv4 address is written a.b.c.d without leading zeros"
				  : "expected an IPv4 address a.b.c.d or an IPv6 address";
		*addr = lb_ip_from_v4(v4);
		return NULL;
	}
	if (len >= sizeof(buf))
		return "too long for an IPv6 address";
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return s[i] == '%' ? "zones (%) are not supported"
					   : "expected an IPv6 address (hex digits and colons)";
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return "expected an IPv6 address (RFC 4291 text form)";
	memcpy(&ip, &a6, sizeof(ip));
	if (lb_ip_is_v4(&ip))
		return "an IPv4-mapped address: write the IPv4 address a.b.c.d itself";
	/* ::/96 but :: and ::1, however written (::a00:1 is ::10.0.0.1): RFC 4291 2.5.5.1. */
	if (!ip.w[0] && !ip.w[1] && !ip.w[2] && ntohl(ip.w[3]) > 1)
		return "an IPv4-compatible address (deprecated): write the IPv4 address a.b.c.d "
		       "itself";
	*addr = ip;
	return NULL;
}

int lb_parse_ip(const char *s, struct lb_ip *addr, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX];
	const char *why;

	if (!s)
		s = "";
	why = parse_ip(s, strlen(s), addr);
	if (!why)
		return 0;
	return fail(err, errlen, "%s is not an IP address (%s)", lb_quote(s, q), why);
}

/* @addr with its host bits beyond @prefix_len (family-relative) cleared; true if any was set. */
static bool clear_host_bits(struct lb_ip *addr, uint8_t prefix_len)
{
	uint8_t *b = (uint8_t *)addr;
	unsigned int bit = lb_prefix128(addr, prefix_len), i;
	bool set = false;

	for (i = bit; i < 128; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));

		if (b[i / 8] & m) {
			set = true;
			b[i / 8] &= (uint8_t)~m;
		}
	}
	return set;
}

int lb_parse_cidr(const char *s, struct lb_ip *addr, uint8_t *prefix_len, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX], net[LB_TARGET_STR_MAX];
	const char *slash, *why;
	struct lb_ip a, masked;
	uint32_t plen;
	size_t alen;

	if (!s)
		s = "";
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	why = parse_ip(s, alen, &a);
	if (why)
		return fail(err, errlen,
			    "%s is not an address or prefix (%s; a prefix is written addr/len)",
			    lb_quote(s, q), why);
	plen = lb_prefix_max(&a);
	if (slash) {
		const char *p = slash + 1;
		size_t n = strlen(p);

		/* One form per prefix: "/08" is refused like an octet with a leading zero. */
		if (parse_dec(p, n, lb_prefix_max(&a), &plen) || (n > 1 && p[0] == '0'))
			return fail(err, errlen,
				    "%s has an invalid prefix length (expected a number from 0 to "
				    "%u after the '/')",
				    lb_quote(s, q), lb_prefix_max(&a));
	}
	masked = a;
	if (clear_host_bits(&masked, (uint8_t)plen))
		return fail(err, errlen, "%s has host bits set; did you mean %s?", lb_quote(s, q),
			    lb_format_cidr(&masked, (uint8_t)plen, net));
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

enum unusable {
	ADDR_OK,
	ADDR_ANY,
	ADDR_BROADCAST,
	ADDR_MULTICAST,
	ADDR_RESERVED,
	ADDR_LINK_LOCAL6,
};

static enum unusable classify(const struct lb_ip *addr)
{
	const uint8_t *b = (const uint8_t *)addr;
	uint32_t a;

	if (!lb_ip_is_v4(addr)) {
		if (lb_ip_is_zero(addr))
			return ADDR_ANY;
		if (b[0] == 0xff)
			return ADDR_MULTICAST;
		if (lb_ip_is_link_local6(addr))
			return ADDR_LINK_LOCAL6;
		/* ::1 stays usable, like 127.0.0.1: a target on the LB host itself. */
		return ADDR_OK;
	}
	a = ntohl(lb_ip_v4(addr));
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

bool lb_ip_is_any(const struct lb_ip *addr)
{
	return classify(addr) == ADDR_ANY;
}

const char *lb_addr_unusable(const struct lb_ip *addr)
{
	bool v4 = lb_ip_is_v4(addr);

	switch (classify(addr)) {
	case ADDR_ANY:
		return v4 ? "0.0.0.0 is not a usable address"
			  : ":: (the unspecified address) is not a usable address";
	case ADDR_BROADCAST:
		return "255.255.255.255 is the broadcast address, not a usable address";
	case ADDR_MULTICAST:
		return v4 ? "multicast addresses (224.0.0.0/4) are not usable"
			  : "multicast addresses (ff00::/8) are not usable";
	case ADDR_RESERVED:
		return "reserved addresses (240.0.0.0/4) are not usable";
	case ADDR_LINK_LOCAL6:
		return "link-local addresses (fe80::/10) are not supported: they name no "
		       "interface; use a global or unique local address";
	default:
		return NULL;
	}
}

int lb_check_usable(const struct lb_ip *addr, char *err, size_t errlen)
{
	char a[LB_ADDR_STR_MAX];
	bool v4 = lb_ip_is_v4(addr);

	switch (classify(addr)) {
	case ADDR_OK:
		return 0;
	case ADDR_MULTICAST:
		return fail(err, errlen,
			    "%s is a multicast address (%s), not a usable unicast address",
			    lb_format_ip(addr, a), v4 ? "224.0.0.0/4" : "ff00::/8");
	case ADDR_RESERVED:
		return fail(err, errlen,
			    "%s is a reserved address (240.0.0.0/4), not a usable address",
			    lb_format_ip(addr, a));
	case ADDR_LINK_LOCAL6:
		return fail(err, errlen,
			    "%s is a link-local address (fe80::/10), which names no interface: "
			    "use a global or unique local address",
			    lb_format_ip(addr, a));
	default:
		/* These two name their one address already. */
		return fail(err, errlen, "%s", lb_addr_unusable(addr));
	}
}

/*
 * Split "ip:port[@w]" or "[ipv6]:port[@w]" at @s into the address text [*a, *a + *alen) and
 * what follows the colon (*rest). Returns NULL, or why the form is wrong.
 */
static const char *split_host_port(const char *s, const char **a, size_t *alen, const char **rest)
{
	const char *colon, *close;

	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close)
			return "an IPv6 address in brackets lacks its ']'";
		if (close[1] != ':')
			return "expected ':' and a port after ']'";
		if (close > s + 1 && !memchr(s + 1, ':', (size_t)(close - s - 1)))
			return "brackets are for IPv6 addresses; an IPv4 address is written "
			       "a.b.c.d:port";
		*a = s + 1;
		*alen = (size_t)(close - s - 1);
		*rest = close + 2;
		return NULL;
	}
	colon = strchr(s, ':');
	if (!colon)
		return "no ':' before a port";
	/* A second colon before any '@' after no dotted quad: IPv6, which needs brackets. */
	if (!memchr(s, '.', (size_t)(colon - s)) && strchr(colon + 1, ':') &&
	    (!strchr(s, '@') || strchr(colon + 1, ':') < strchr(s, '@')))
		return "an IPv6 address is written in brackets before its port, as in "
		       "[2001:db8::1]:8080";
	*a = s;
	*alen = (size_t)(colon - s);
	*rest = colon + 1;
	return NULL;
}

int lb_parse_target(const char *s, struct lb_target_cfg *t, int *has_weight, char *err,
		    size_t errlen)
{
	char q[LB_QUOTE_MAX], part[LB_QUOTE_MAX], why[LB_ERR_MAX];
	const char *a, *rest, *at, *end, *bad;
	struct lb_ip addr;
	uint32_t weight = 100;
	uint16_t port;
	size_t alen;

	if (!s)
		s = "";
	bad = split_host_port(s, &a, &alen, &rest);
	if (bad)
		return fail(err, errlen,
			    "%s is not a target (%s; expected ip:port, ip:port@weight or "
			    "[ipv6]:port@weight)",
			    lb_quote(s, q), bad);
	at = strchr(rest, '@');
	end = at ? at : rest + strlen(rest);

	bad = parse_ip(a, alen, &addr);
	if (bad) {
		snprintf(why, sizeof(why), "%.*s", (int)alen, a);
		return fail(err, errlen, "%s is not a valid target: %s is not an IP address (%s)",
			    lb_quote(s, q), lb_quote(why, part), bad);
	}
	if (lb_check_usable(&addr, why, sizeof(why)))
		return fail(err, errlen, "%s is not a valid target: %s", lb_quote(s, q), why);
	if (parse_port(rest, (size_t)(end - rest), &port)) {
		snprintf(why, sizeof(why), "%.*s", (int)(end - rest), rest);
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

int lb_parse_listen(const char *s, struct lb_ip *addr, uint16_t *port, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX], part[LB_QUOTE_MAX], why[LB_ERR_MAX];
	const char *a, *rest, *bad;
	struct lb_ip ip;
	size_t alen;

	if (!s)
		s = "";
	bad = split_host_port(s, &a, &alen, &rest);
	if (bad)
		return fail(err, errlen,
			    "%s is not a listen address (%s; expected ip:port or [ipv6]:port, e.g. "
			    "127.0.0.1:9100 or [::1]:9100)",
			    lb_quote(s, q), bad);
	bad = parse_ip(a, alen, &ip);
	if (bad) {
		snprintf(why, sizeof(why), "%.*s", (int)alen, a);
		return fail(err, errlen,
			    "%s is not a valid listen address: %s is not an IP address (%s; "
			    "0.0.0.0 or [::] listens on every address)",
			    lb_quote(s, q), lb_quote(why, part), bad);
	}
	/* 0.0.0.0 and :: are fine here: they mean every local address. */
	if (!lb_ip_is_any(&ip) && lb_check_usable(&ip, why, sizeof(why)))
		return fail(err, errlen, "%s is not a valid listen address: %s", lb_quote(s, q),
			    why);
	if (parse_port(rest, strlen(rest), port))
		return fail(err, errlen,
			    "%s is not a valid listen address: %s is not a valid port (expected a "
			    "number from 1 to 65535)",
			    lb_quote(s, q), lb_quote(rest, part));
	*addr = ip;
	return 0;
}

int lb_parse_client(const char *s, struct lb_ip *addr, uint16_t *port, char *err, size_t errlen)
{
	char q[LB_QUOTE_MAX], part[LB_QUOTE_MAX], why[LB_ERR_MAX];
	const char *a = s ? s : "", *rest = NULL, *colon, *bad;
	size_t alen = strlen(a);
	struct lb_ip ip;

	*port = 0;
	colon = strchr(a, ':');
	if (a[0] == '[') {
		if (a[alen - 1] == ']') {
			a++;
			alen -= 2;
		} else {
			bad = split_host_port(a, &a, &alen, &rest);
			if (bad)
				return fail(err, errlen,
					    "%s is not a client (%s; expected ip, ip:port, ipv6 or "
					    "[ipv6]:port)",
					    lb_quote(s, q), bad);
		}
	} else if (colon && !strchr(colon + 1, ':')) {
		/* One colon: a.b.c.d:port (an IPv6 address has at least two). */
		alen = (size_t)(colon - a);
		rest = colon + 1;
	}
	bad = parse_ip(a, alen, &ip);
	if (bad) {
		snprintf(why, sizeof(why), "%.*s", (int)alen, a);
		return fail(err, errlen,
			    "%s is not a valid client: %s is not an IP address (%s; expected ip, "
			    "ip:port, ipv6 or [ipv6]:port)",
			    lb_quote(s, q), lb_quote(why, part), bad);
	}
	if (lb_check_usable(&ip, why, sizeof(why)))
		return fail(err, errlen, "%s is not a valid client: %s", lb_quote(s, q), why);
	if (rest && parse_port(rest, strlen(rest), port))
		return fail(err, errlen,
			    "%s is not a valid client: %s is not a valid port (expected a number "
			    "from 1 to 65535)",
			    lb_quote(s, q), lb_quote(rest, part));
	*addr = ip;
	return 0;
}

char *lb_format_ip(const struct lb_ip *addr, char buf[LB_ADDR_STR_MAX])
{
	uint32_t a;

	if (!lb_ip_is_v4(addr)) {
		if (!inet_ntop(AF_INET6, addr, buf, LB_ADDR_STR_MAX))
			snprintf(buf, LB_ADDR_STR_MAX, "?");
		return buf;
	}
	a = ntohl(lb_ip_v4(addr));
	snprintf(buf, LB_ADDR_STR_MAX, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		 a & 0xff);
	return buf;
}

char *lb_format_target(const struct lb_ip *addr, uint16_t port, char buf[LB_TARGET_STR_MAX])
{
	char a[LB_ADDR_STR_MAX];

	if (lb_ip_is_v4(addr))
		snprintf(buf, LB_TARGET_STR_MAX, "%s:%u", lb_format_ip(addr, a), port);
	else
		snprintf(buf, LB_TARGET_STR_MAX, "[%s]:%u", lb_format_ip(addr, a), port);
	return buf;
}

char *lb_format_cidr(const struct lb_ip *addr, uint8_t prefix_len, char buf[LB_TARGET_STR_MAX])
{
	char a[LB_ADDR_STR_MAX];

	snprintf(buf, LB_TARGET_STR_MAX, "%s/%u", lb_format_ip(addr, a), prefix_len);
	return buf;
}

socklen_t lb_sockaddr_of(const struct lb_ip *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (lb_ip_is_v4(addr)) {
		struct sockaddr_in *sa = (struct sockaddr_in *)ss;

		sa->sin_family = AF_INET;
		sa->sin_addr.s_addr = lb_ip_v4(addr);
		sa->sin_port = htons(port);
		return sizeof(*sa);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;

		sa->sin6_family = AF_INET6;
		memcpy(&sa->sin6_addr, addr, sizeof(*addr));
		sa->sin6_port = htons(port);
		return sizeof(*sa);
	}
}

int lb_ip_of_sockaddr(const struct sockaddr *sa, struct lb_ip *addr, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		*addr = lb_ip_from_v4(in->sin_addr.s_addr);
		if (port)
			*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		memcpy(addr, &in6->sin6_addr, sizeof(*addr));
		if (port)
			*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

bool lb_ip_in_prefix(const struct lb_ip *addr, const struct lb_ip *net, uint8_t prefix_len)
{
	const uint8_t *a = (const uint8_t *)addr, *n = (const uint8_t *)net;
	unsigned int bits = lb_prefix128(net, prefix_len), i;

	if (lb_ip_is_v4(addr) != lb_ip_is_v4(net))
		return false;
	for (i = 0; i < bits / 8; i++)
		if (a[i] != n[i])
			return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff00u >> (bits % 8));

		if ((a[i] & m) != (n[i] & m))
			return false;
	}
	return true;
}
