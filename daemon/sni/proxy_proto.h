/* SPDX-License-Identifier: MIT */
/*
 * proxy_proto.h - the PROXY protocol v2 header (haproxy.org/download/2.9/doc/proxy-protocol.txt)
 * that tells a backend who the client was when lbd, not the client, opened the connection.
 */
#ifndef LBD_PROXY_PROTO_H
#define LBD_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* 12-byte signature, version/command, family, length, then 12 bytes of IPv4 addresses. */
#define PROXY_PROTO_V2_IPV4_LEN (16 + 12)

/*
 * Write a v2 PROXY header for a TCP over IPv4 connection from @src to @dst (addresses in
 * network order, ports in host order) into @out; returns its length.
 */
size_t lb_proxy_proto_v2(uint8_t out[PROXY_PROTO_V2_IPV4_LEN], uint32_t src, uint16_t sport,
			 uint32_t dst, uint16_t dport);

#endif /* LBD_PROXY_PROTO_H */
