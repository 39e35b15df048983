// SPDX-License-Identifier: MIT
/*
 * pktbuild.c - the frame builder of the datapath tests. Bytes are written one field at a
 * time in network order, with no kernel header structs, so the builder shares nothing with
 * the code under test.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "pktbuild.h"

#define ETH_HDR_LEN  14
#define VLAN_HDR_LEN 4
#define IP_HDR_LEN   20
#define TCP_HDR_LEN  20
#define UDP_HDR_LEN  8
#define ICMP_HDR_LEN 8
#define ARP_LEN	     28
#define IP6_HDR_LEN  40

/* Experimental IPv4 option (RFC 4727), copied on fragmentation: fills the options area. */
#define IPOPT_EXP 0x9e

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v & 0xff;
}

/* Addresses are kept in network order: copy them as they sit in memory. */
static void put_be32(__u8 *p, __be32 v)
{
	memcpy(p, &v, sizeof(v));
}

static size_t ip_hdr_len(const struct pkt_spec *s)
{
	return (s->ihl > 5 ? s->ihl : 5) * 4;
}

static size_t tcp_hdr_len(const struct pkt_spec *s)
{
	return (s->doff > 5 ? s->doff : 5) * 4;
}

static size_t l4_hdr_len(const struct pkt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return tcp_hdr_len(s);
	case IPPROTO_UDP:
		return UDP_HDR_LEN;
	default:
		return ICMP_HDR_LEN;
	}
}

size_t pkt_l3_off(const struct pkt_spec *s)
{
	size_t off = ETH_HDR_LEN;

	for (int i = 0; i < 2 && s->vlan_tpid[i]; i++)
		off += VLAN_HDR_LEN;
	return off;
}

static size_t ext_len(const struct pkt_spec *s, int i)
{
	return s->ext[i] == 44 ? 8 : ((size_t)s->ext_len[i] + 1) * 8;
}

size_t pkt_l4_off(const struct pkt_spec *s)
{
	size_t off = pkt_l3_off(s) + IP6_HDR_LEN;
	int i;

	if (s->ethertype != ETH_P_IPV6)
		return pkt_l3_off(s) + ip_hdr_len(s);
	for (i = 0; i < s->n_ext && i < 4; i++)
		off += ext_len(s, i);
	return off;
}

__u32 pkt_csum_add(const void *data, size_t len, __u32 sum)
{
	const __u8 *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

__u16 pkt_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* L4 header and payload at @l4; returns their length. The checksum is left 0. */
static size_t build_l4(const struct pkt_spec *s, __u8 *l4)
{
	size_t hlen = l4_hdr_len(s), i;

	for (i = 0; i < s->payload_len; i++)
		l4[hlen + i] = (__u8)(i * 7 + 3);

	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 0x1000);
		put32(l4 + 8, s->tcp_flags & 0x10 ? 0x2000 : 0);
		l4[12] = (s->doff ? s->doff : 5) << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 0xffff);
		put16(l4 + 16, 0);
		put16(l4 + 18, 0);
		/* TCP options: NOPs, harmless and easy to spot in a dump. */
		memset(l4 + TCP_HDR_LEN, 1, hlen - TCP_HDR_LEN);
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, UDP_HDR_LEN + s->payload_len);
		put16(l4 + 6, 0);
		break;
	case IPPROTO_ICMPV6: /* the type asked for; an echo request by default */
		l4[0] = s->icmp6_type ? s->icmp6_type : 128;
		l4[1] = 0;
		put16(l4 + 2, 0);
		put16(l4 + 4, 0x4242);
		put16(l4 + 6, 1);
		break;
	default: /* ICMP echo request */
		l4[0] = 8;
		l4[1] = 0;
		put16(l4 + 2, 0);
		put16(l4 + 4, 0x4242);
		put16(l4 + 6, 1);
		break;
	}
	return hlen + s->payload_len;
}

/* Full L4 checksum over pseudo-header + header + payload of an IPv4 frame. */
static void fill_l4_csum(const struct pkt_spec *s, __u8 *l4, size_t l4_len)
{
	__u8 pseudo[12];
	__u32 sum = 0;
	__u16 check;

	if (s->proto == IPPROTO_ICMP) {
		put16(l4 + 2, ~pkt_csum_fold(pkt_csum_add(l4, l4_len, 0)));
		return;
	}
	if (s->proto == IPPROTO_UDP && s->udp_no_csum)
		return;
	put_be32(pseudo, s->saddr);
	put_be32(pseudo + 4, s->daddr);
	pseudo[8] = 0;
	pseudo[9] = s->proto;
	put16(pseudo + 10, l4_len);
	sum = pkt_csum_add(pseudo, sizeof(pseudo), sum);
	sum = pkt_csum_add(l4, l4_len, sum);
	check = ~pkt_csum_fold(sum);
	if (s->proto == IPPROTO_UDP && check == 0)
		check = 0xffff; /* RFC 768: 0 means "no checksum" */
	put16(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), check);
}

static size_t build_ipv4(const struct pkt_spec *s, __u8 *ip)
{
	size_t hlen = ip_hdr_len(s), l4_len, i;

	l4_len = build_l4(s, ip + hlen);
	ip[0] = 0x40 | (s->ihl ? s->ihl : 5);
	ip[1] = 0;
	put16(ip + 2, hlen + l4_len);
	put16(ip + 4, s->ip_id);
	put16(ip + 6, s->frag_off);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = s->proto;
	put16(ip + 10, 0);
	put_be32(ip + 12, s->saddr);
	put_be32(ip + 16, s->daddr);
	if (hlen > IP_HDR_LEN) {
		ip[IP_HDR_LEN] = IPOPT_EXP;
		ip[IP_HDR_LEN + 1] = hlen - IP_HDR_LEN;
		for (i = IP_HDR_LEN + 2; i < hlen; i++)
			ip[i] = (__u8)(0xa0 + i);
	}
	put16(ip + 10, ~pkt_csum_fold(pkt_csum_add(ip, hlen, 0)));
	fill_l4_csum(s, ip + hlen, l4_len);
	return hlen + l4_len;
}

static bool all_zero(const __u8 *a, size_t n)
{
	while (n--)
		if (a[n])
			return false;
	return true;
}

/* Full L4 checksum of an IPv6 frame: pseudo-header (RFC 8200 8.1) + header + payload. */
static void fill_l4_csum6(const struct pkt_spec *s, const __u8 *ip6, __u8 *l4, size_t l4_len)
{
	__u8 pseudo[40];
	__u32 sum;
	__u16 check;
	size_t at = s->proto == IPPROTO_TCP ? 16 : s->proto == IPPROTO_UDP ? 6 : 2;

	if (s->proto == IPPROTO_UDP && s->udp_no_csum)
		return;
	memcpy(pseudo, ip6 + 8, 32);
	put32(pseudo + 32, l4_len);
	memset(pseudo + 36, 0, 3);
	pseudo[39] = s->proto;
	sum = pkt_csum_add(pseudo, sizeof(pseudo), 0);
	sum = pkt_csum_add(l4, l4_len, sum);
	check = ~pkt_csum_fold(sum);
	if (s->proto == IPPROTO_UDP && check == 0)
		check = 0xffff;
	put16(l4 + at, check);
}

/* An IPv6 header, the extension headers asked for, then the L4 bytes. */
static size_t build_ipv6(const struct pkt_spec *s, __u8 *ip6)
{
	size_t off = IP6_HDR_LEN, l4_len, n;
	__u8 *next = ip6 + 6;
	int i;

	memset(ip6, 0, IP6_HDR_LEN);
	ip6[0] = 0x60;
	ip6[7] = s->ttl ? s->ttl : 64;
	if (all_zero(s->saddr6, 16)) {
		ip6[8] = 0xfd; /* fd00::1 -> fd00::2 */
		ip6[23] = 1;
	} else {
		memcpy(ip6 + 8, s->saddr6, 16);
	}
	if (all_zero(s->daddr6, 16)) {
		ip6[24] = 0xfd;
		ip6[39] = 2;
	} else {
		memcpy(ip6 + 24, s->daddr6, 16);
	}
	for (i = 0; i < s->n_ext && i < 4; i++) {
		__u8 *e = ip6 + off;

		*next = s->ext[i];
		n = ext_len(s, i);
		memset(e, 0, n);
		e[1] = s->ext[i] == 44 ? 0 : s->ext_len[i];
		if (s->ext[i] == 43) {
			e[2] = 4; /* segment routing, say */
			e[3] = s->segments_left;
		} else if (s->ext[i] == 44) {
			put16(e + 2, s->frag6_off);
			put32(e + 4, 0x12345678);
		} else {
			e[2] = 1; /* PadN over the rest */
			e[3] = n - 4;
		}
		next = e;
		off += n;
	}
	*next = s->proto;
	l4_len = build_l4(s, ip6 + off);
	put16(ip6 + 4, off - IP6_HDR_LEN + l4_len);
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP || s->proto == IPPROTO_ICMPV6)
		fill_l4_csum6(s, ip6, ip6 + off, l4_len);
	return off + l4_len;
}

/* An ARP request "who has daddr, tell saddr". */
static size_t build_arp(const struct pkt_spec *s, __u8 *arp)
{
	memset(arp, 0, ARP_LEN);
	put16(arp, 1);
	put16(arp + 2, ETH_P_IP);
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, 1);
	arp[8] = 0x02;
	arp[13] = 0x02;
	put_be32(arp + 14, s->saddr);
	put_be32(arp + 24, s->daddr);
	return ARP_LEN;
}

size_t pkt_build(const struct pkt_spec *s, __u8 *buf)
{
	static const __u8 dst_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
	static const __u8 src_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
	__u16 ethertype = s->ethertype ? s->ethertype : ETH_P_IP;
	size_t off = 12, len;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	for (int i = 0; i < 2 && s->vlan_tpid[i]; i++) {
		put16(buf + off, s->vlan_tpid[i]);
		put16(buf + off + 2, 100 * (i + 1)); /* VID 100, then 200 */
		off += VLAN_HDR_LEN;
	}
	put16(buf + off, ethertype);
	off += 2;

	switch (ethertype) {
	case ETH_P_ARP:
		len = off + build_arp(s, buf + off);
		break;
	case ETH_P_IPV6:
		len = off + build_ipv6(s, buf + off);
		break;
	default:
		len = off + build_ipv4(s, buf + off);
		break;
	}
	if (s->truncate && s->truncate < len)
		len = s->truncate;
	return len;
}

size_t pkt_build_icmp_error(__be32 saddr, __be32 daddr, __u8 type, __u8 code, __u16 mtu,
			    const struct pkt_spec *inner, size_t inner_len, __u8 *buf)
{
	struct pkt_spec outer = {.saddr = saddr, .daddr = daddr, .proto = IPPROTO_ICMP};
	__u8 in[PKT_MAX];
	size_t in_len = pkt_build(inner, in) - pkt_l3_off(inner), l3, len;
	__u8 *ip, *icmp;

	if (inner_len < in_len)
		in_len = inner_len;
	pkt_build(&outer, buf); /* Ethernet, then an IPv4 header we rewrite below */
	l3 = pkt_l3_off(&outer);
	ip = buf + l3;
	icmp = ip + IP_HDR_LEN;
	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 2, 0);
	put16(icmp + 4, 0);
	put16(icmp + 6, mtu);
	memcpy(icmp + ICMP_HDR_LEN, in + pkt_l3_off(inner), in_len);
	len = ICMP_HDR_LEN + in_len;
	put16(icmp + 2, ~pkt_csum_fold(pkt_csum_add(icmp, len, 0)));
	put16(ip + 2, IP_HDR_LEN + len);
	put16(ip + 10, 0);
	put16(ip + 10, ~pkt_csum_fold(pkt_csum_add(ip, IP_HDR_LEN, 0)));
	return l3 + IP_HDR_LEN + len;
}

size_t pkt_build_icmp6_error(const __u8 saddr[16], const __u8 daddr[16], __u8 type, __u8 code,
			     __u32 mtu, const struct pkt_spec *inner, size_t inner_len, __u8 *buf)
{
	struct pkt_spec outer = {.ethertype = ETH_P_IPV6, .proto = IPPROTO_ICMPV6};
	__u8 in[PKT_MAX], pseudo[40];
	size_t in_len = pkt_build(inner, in) - pkt_l3_off(inner), l3, len;
	__u8 *ip6, *icmp;
	__u32 sum;

	if (inner_len < in_len)
		in_len = inner_len;
	memcpy(outer.saddr6, saddr, 16);
	memcpy(outer.daddr6, daddr, 16);
	pkt_build(&outer, buf); /* Ethernet and the IPv6 header; the message below */
	l3 = pkt_l3_off(&outer);
	ip6 = buf + l3;
	icmp = ip6 + IP6_HDR_LEN;
	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 2, 0);
	put32(icmp + 4, mtu);
	memcpy(icmp + ICMP_HDR_LEN, in + pkt_l3_off(inner), in_len);
	len = ICMP_HDR_LEN + in_len;
	put16(ip6 + 4, len);
	memcpy(pseudo, ip6 + 8, 32);
	put32(pseudo + 32, len);
	memset(pseudo + 36, 0, 3);
	pseudo[39] = IPPROTO_ICMPV6;
	sum = pkt_csum_add(pseudo, sizeof(pseudo), 0);
	put16(icmp + 2, ~pkt_csum_fold(pkt_csum_add(icmp, len, sum)));
	return l3 + IP6_HDR_LEN + len;
}

const char *pkt_hex(const __u8 *data, size_t len, char *out)
{
	char *p = out;
	size_t i;

	*p = '\0';
	for (i = 0; i < len && i < PKT_MAX; i++)
		p += sprintf(p, "%s%02x", i % 16 ? " " : (i ? "\n  " : "  "), data[i]);
	return out;
}
