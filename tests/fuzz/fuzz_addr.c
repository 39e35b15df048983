// SPDX-License-Identifier: MIT
/*
 * fuzz_addr.c - libFuzzer target for the address parsers of lb_addr.h and the SNI host name
 * parser of lb_config.h.
 *
 * The first byte picks the parser (modulo their number); the rest, cut at the first NUL, is
 * the text (IPv4 or IPv6). What parses is formatted back and parsed again, which must give the same
 * value; every error message must be a NUL-terminated sentence within its buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"
#include "lb_config.h"

static void check_err(int rc, const char *err, size_t errlen)
{
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc && (!err[0] || strnlen(err, errlen) >= errlen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], buf[LB_TARGET_STR_MAX], q[LB_QUOTE_MAX];
	struct lb_sni_route_cfg route, again_route;
	struct lb_target_cfg t, again;
	struct lb_ip addr, addr2, masked;
	uint16_t port, port2;
	uint8_t plen, plen2;
	int rc, hw, hw2;
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	err[0] = '\0';
	switch (data[0] % 7) {
	case 0:
		rc = lb_parse_ip(s, &addr, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc) {
			if (lb_parse_ip(lb_format_ip(&addr, buf), &addr2, err, sizeof(err)) ||
			    !lb_ip_eq(&addr2, &addr))
				abort();
		}
		break;
	case 1:
		rc = lb_parse_cidr(s, &addr, &plen, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc) {
			if (plen > lb_prefix_max(&addr))
				abort();
			masked =
				addr; /* no host bits: the network masked to its prefix is itself */
			for (unsigned int i = lb_prefix128(&addr, plen); i < 128; i++)
				((uint8_t *)&masked)[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
			if (!lb_ip_eq(&masked, &addr))
				abort();
			if (lb_parse_cidr(lb_format_cidr(&addr, plen, buf), &addr2, &plen2, err,
					  sizeof(err)) ||
			    !lb_ip_eq(&addr2, &addr) || plen2 != plen)
				abort();
		}
		break;
	case 2:
		rc = lb_parse_port(s, &port, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc && !port)
			abort();
		break;
	case 3:
		memset(&t, 0, sizeof(t));
		rc = lb_parse_target(s, &t, &hw, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc) {
			if (!t.port || (hw && t.weight > 100) || lb_addr_unusable(&t.addr))
				abort();
			memset(&again, 0, sizeof(again));
			if (lb_parse_target(lb_format_target(&t.addr, t.port, buf), &again, &hw2,
					    err, sizeof(err)) ||
			    hw2 || !lb_ip_eq(&again.addr, &t.addr) || again.port != t.port)
				abort();
		}
		break;
	case 4:
		rc = lb_parse_listen(s, &addr, &port, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc) {
			if (lb_parse_listen(lb_format_target(&addr, port, buf), &addr2, &port2, err,
					    sizeof(err)) ||
			    !lb_ip_eq(&addr2, &addr) || port2 != port)
				abort();
		}
		break;
	case 5:
		memset(&route, 0, sizeof(route));
		rc = lb_sni_hostname_parse(s, &route, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc) {
			/* Normalised names are a fixed point. */
			memset(&again_route, 0, sizeof(again_route));
			if (lb_sni_hostname_parse(route.hostname, &again_route, err, sizeof(err)) ||
			    strcmp(route.hostname, again_route.hostname) ||
			    route.wildcard != again_route.wildcard)
				abort();
		}
		break;
	default:
		lb_quote(s, q);
		if (strnlen(q, sizeof(q)) >= sizeof(q))
			abort();
		memset(&addr, 0, sizeof(addr));
		memcpy(&addr, s, strnlen(s, sizeof(addr)));
		rc = lb_check_usable(&addr, err, sizeof(err));
		check_err(rc, err, sizeof(err));
		if (!rc != !lb_addr_unusable(&addr))
			abort();
		break;
	}
	free(s);
	return 0;
}
