// SPDX-License-Identifier: MIT
#include "proxy_proto.h"

#include <string.h>

static const uint8_t v2_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

size_t lb_proxy_proto_v2(uint8_t out[PROXY_PROTO_V2_IPV4_LEN], uint32_t src, uint16_t sport,
			 uint32_t dst, uint16_t dport)
{
	memcpy(out, v2_signature, sizeof(v2_signature));
	out[12] = 0x21; /* version 2, command PROXY */
	out[13] = 0x11; /* AF_INET, STREAM */
	out[14] = 0;
	out[15] = 12; /* address block length, big endian */
	memcpy(out + 16, &src, 4);
	memcpy(out + 20, &dst, 4);
	out[24] = sport >> 8;
	out[25] = sport & 0xff;
	out[26] = dport >> 8;
	out[27] = dport & 0xff;
	return PROXY_PROTO_V2_IPV4_LEN;
}
