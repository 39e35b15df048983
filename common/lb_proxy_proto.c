// SPDX-License-Identifier: MIT
#include "lb_proxy_proto.h"

#include <string.h>

static const uint8_t v2_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

size_t lb_proxy_proto_v2(uint8_t out[PROXY_PROTO_V2_MAX], const struct lb_ip *src, uint16_t sport,
			 const struct lb_ip *dst, uint16_t dport)
{
	bool v4 = lb_ip_is_v4(src) && lb_ip_is_v4(dst);
	size_t alen = v4 ? 4 : 16;
	uint8_t *a = out + 16;

	memcpy(out, v2_signature, sizeof(v2_signature));
	out[12] = 0x21;		    /* version 2, command PROXY */
	out[13] = v4 ? 0x11 : 0x21; /* AF_INET or AF_INET6, STREAM */
	out[14] = 0;
	out[15] = (uint8_t)(2 * alen + 4); /* address block length, big endian */
	memcpy(a, v4 ? (const void *)&src->w[3] : (const void *)src, alen);
	memcpy(a + alen, v4 ? (const void *)&dst->w[3] : (const void *)dst, alen);
	a += 2 * alen;
	a[0] = sport >> 8;
	a[1] = sport & 0xff;
	a[2] = dport >> 8;
	a[3] = dport & 0xff;
	return 16 + 2 * alen + 4;
}

size_t lb_proxy_proto_v2_local(uint8_t out[PROXY_PROTO_V2_LOCAL_LEN])
{
	memcpy(out, v2_signature, sizeof(v2_signature));
	out[12] = 0x20; /* version 2, command LOCAL */
	out[13] = 0x00; /* AF_UNSPEC, UNSPEC */
	out[14] = 0;	/* no address block */
	out[15] = 0;
	return PROXY_PROTO_V2_LOCAL_LEN;
}
