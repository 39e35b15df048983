// SPDX-License-Identifier: MIT
/*
 * fuzz_tls.c - libFuzzer target for the ClientHello/SNI parser (lb_tls_parse_hello).
 *
 * The parser is stateless: the SNI acceptor calls it on everything a client sent so far,
 * after each TCP segment. The first input byte seeds the segment sizes; the rest is the byte
 * stream. Every prefix at a segment boundary is parsed from an exact-size heap copy (so ASan
 * sees any read past the end) and checked against the contract in lb_tls.h: a prefix gives
 * NEED_MORE or the result of the whole, @name is "" except on SNI, and an SNI name is a
 * non-empty lowercase host name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_tls.h"

static enum lb_hello_result parse_copy(const uint8_t *data, size_t len,
				       char name[LB_SNI_NAME_LEN + 1])
{
	enum lb_hello_result r;
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, data, len);
	memset(name, 'X', LB_SNI_NAME_LEN + 1);
	r = lb_tls_parse_hello(copy, len, name);
	free(copy);
	return r;
}

static void check_name(enum lb_hello_result r, const char *name)
{
	size_t n = strnlen(name, LB_SNI_NAME_LEN + 1), i;

	if (n > LB_SNI_NAME_LEN)
		abort(); /* not NUL-terminated */
	if (r != LB_HELLO_SNI) {
		if (n)
			abort();
		return;
	}
	if (!n || name[n - 1] == '.' || name[0] == '.')
		abort();
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_'))
			abort();
		if (c == '.' && name[i + 1] == '.')
			abort();
	}
	if (!lb_hello_result_name(r))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char whole_name[LB_SNI_NAME_LEN + 1], name[LB_SNI_NAME_LEN + 1];
	enum lb_hello_result whole, r;
	unsigned int seed;
	size_t off = 0, seg;

	if (size < 1)
		return 0;
	seed = data[0];
	data++;
	size--;

	whole = parse_copy(data, size, whole_name);
	check_name(whole, whole_name);

	/* Segments of 1..(seed % 64 + 1) * 16 bytes, sizes varying with a small LCG. */
	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		seg = 1 + (seed >> 16) % ((data[-1] % 64 + 1) * 16);
		off = off + seg > size ? size : off + seg;
		r = parse_copy(data, off, name);
		check_name(r, name);
		if (r != LB_HELLO_NEED_MORE) {
			/* A prefix that already decides must decide as the whole does. */
			if (r != whole || strcmp(name, whole_name))
				abort();
			break;
		}
	}
	return 0;
}
