/* SPDX-License-Identifier: MIT */
/*
 * lb_proxy_proto.h - the PROXY protocol v2 header (haproxy.org/download/2.9/doc/proxy-protocol.txt)
 * that tells a backend who the client was when lbd, not the client, opened the connection
 * (the SNI acceptor, daemon/sni/sni.c), and the LOCAL header a health check of such a backend
 * opens its connection with (daemon/policy/health_check.c).
 */
#ifndef LB_PROXY_PROTO_H
#define LB_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "lb_ip.h"

/* 12-byte signature, version/command, family, length, then the addresses and ports. */
#define PROXY_PROTO_V2_IPV4_LEN	 (16 + 12)
#define PROXY_PROTO_V2_IPV6_LEN	 (16 + 36)
#define PROXY_PROTO_V2_MAX	 PROXY_PROTO_V2_IPV6_LEN
#define PROXY_PROTO_V2_LOCAL_LEN 16

/*
 * Write a v2 PROXY header for a TCP connection from @src to @dst (ports in host order) into
 * @out; returns its length. The family is theirs: AF_INET when both are IPv4 addresses,
 * else AF_INET6, an IPv4 address among them written IPv4-mapped (a client and the address
 * it connected to are of one family; the target lbd connects to does not appear).
 */
size_t lb_proxy_proto_v2(uint8_t out[PROXY_PROTO_V2_MAX], const struct lb_ip *src, uint16_t sport,
			 const struct lb_ip *dst, uint16_t dport);

/*
 * Write a v2 LOCAL header into @out: the signature, 0x20 (version 2, command LOCAL), 0x00
 * (AF_UNSPEC, UNSPEC) and a zero length: 16 bytes, returned. The spec's header for
 * connections the proxy makes on its own behalf, health checks above all: the receiver
 * uses the connection's real addresses (HAProxy's check-send-proxy sends it for v2).
 */
size_t lb_proxy_proto_v2_local(uint8_t out[PROXY_PROTO_V2_LOCAL_LEN]);

#endif /* LB_PROXY_PROTO_H */
