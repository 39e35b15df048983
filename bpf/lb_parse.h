/* SPDX-License-Identifier: MIT */
/*
 * lb_parse.h - header parsing with a cursor, hook-neutral: the caller hands in the packet's
 * data and data_end (XDP or TC) and gets the IP and L4 fields the load balancer needs, for
 * IPv4 and IPv6 alike (addresses as struct lb_ip: IPv4 ones IPv4-mapped).
 *
 * Each step bounds-checks against data_end before it reads and only then advances, which
 * is both what the verifier wants and what keeps hostile packets harmless.
 *
 * IPv6 extension headers: up to LB_IPV6_EXT_MAX hop-by-hop, destination options and
 * routing headers are skipped; a fragment header makes the packet a fragment (passed
 * untouched, like an IPv4 fragment); a routing header with segments left means the packet
 * is not at its final destination yet (not ours); more headers than that are MALFORMED.
 */
#ifndef LB_PARSE_H
#define LB_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_ip.h"

#define LB_VLAN_MAX	2
#define LB_IPV6_EXT_MAX 4

/* frag_off bits (host order), as in the kernel's net/ip.h which UAPI does not export. */
#define LB_IP_MF     0x2000
#define LB_IP_OFFSET 0x1fff

/* IPv6 next-header values of the extension headers lbd looks at (RFC 8200). */
#define LB_IPV6_HOPOPTS	 0
#define LB_IPV6_ROUTING	 43
#define LB_IPV6_FRAGMENT 44
#define LB_IPV6_DSTOPTS	 60

enum lb_parse_result {
	LB_PARSE_OK = 0,
	LB_PARSE_NOT_IP,     /* neither IPv4 nor IPv6 */
	LB_PARSE_MALFORMED,  /* truncated or bogus header */
	LB_PARSE_FRAGMENT,   /* a fragment: ports unknown or not in this packet */
	LB_PARSE_OTHER_L4,   /* neither TCP nor UDP (or not for this host yet) */
	LB_PARSE_ICMP_ERROR, /* an ICMP(v6) error carrying the start of a TCP or UDP packet */
};

/* TCP flag bits as they sit in byte 13 of the TCP header. */
#define LB_TCP_FIN 0x01
#define LB_TCP_SYN 0x02
#define LB_TCP_RST 0x04
#define LB_TCP_ACK 0x10

/*
 * What the decisions need of a packet: plain numbers, no packet pointer (they run as
 * global functions that see it as memory: lb_nat.h). For an ICMP error (LB_PARSE_ICMP_ERROR)
 * also the packet it is about, as it sits inside, and how many of its L4 bytes the frame
 * holds (a checksum beyond them was cut off on the way).
 */
#define LB_PKT_INFO_FIELDS                                                                       \
	struct lb_ip saddr;                                                                      \
	struct lb_ip daddr;                                                                      \
	struct lb_ip in_saddr;                                                                   \
	struct lb_ip in_daddr;                                                                   \
	__be16 sport;                                                                            \
	__be16 dport;                                                                            \
	__be16 in_sport;                                                                         \
	__be16 in_dport;                                                                         \
	__u32 in_l4_len;                                                                         \
	__u16 ip_len; /* host order IP length (IPv4 total length, IPv6 40 + payload): counted */ \
	__u8 family;  /* 4 or 6 */                                                               \
	__u8 proto;                                                                              \
	__u8 tcp_flags; /* LB_TCP_* (0 for UDP) */                                               \
	__u8 in_proto;                                                                           \
	__u8 pad[2];

struct lb_pkt_info {
	LB_PKT_INFO_FIELDS
};

/* A parsed packet: where its headers are, and (the same fields by name) its info. */
struct lb_pkt {
	void *l3;     /* struct iphdr (family 4) or struct ipv6hdr (family 6) */
	void *l4;     /* struct tcphdr or struct udphdr, or the ICMP header */
	void *in_l3;  /* ICMP errors: the inner IP header, */
	void *in_l4;  /* and its first L4 bytes */
	__u32 l3_off; /* offsets from the start of the packet, for the skb helpers */
	__u32 l4_off;
	/*
	 * The family and L4 protocol again, outside the info: a decision may write its
	 * memory, so after one the verifier would not know what the rewrites may touch.
	 */
	__u8 l3_family;
	__u8 l4_proto;
	__u8 in_l4_proto;
	union {
		struct lb_pkt_info info; /* what the decisions get */
		struct {
			LB_PKT_INFO_FIELDS
		};
	};
};

/*
 * The ICMP header, spelled out: <linux/icmp.h> pulls in <linux/if.h> and with it libc
 * headers a BPF build must not see. ICMPv6's has the same first 8 bytes.
 */
struct lb_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* unused, the next-hop MTU (IPv4 frag needed), or the MTU (ICMPv6 PTB) */
};

#define LB_ICMP_DEST_UNREACH	3
#define LB_ICMP_TIME_EXCEEDED	11
#define LB_ICMPV6_DEST_UNREACH	1
#define LB_ICMPV6_PKT_TOOBIG	2
#define LB_ICMPV6_TIME_EXCEEDED 3

struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The first bytes of every IPv6 extension header lbd skips (RFC 8200 4.3-4.5). */
struct lb_ipv6_ext {
	__u8 nexthdr;
	__u8 len; /* in 8-byte units, not counting the first 8 */
	__u8 routing_type;
	__u8 segments_left; /* routing header only */
};

/* The inner L4 ports of an ICMP error at @l4, up to @ip_end: LB_PARSE_ICMP_ERROR or why not. */
static __always_inline int lb_parse_icmp_inner_l4(__u8 *l4, void *data_end, void *ip_end,
						  struct lb_pkt *p)
{
	if ((void *)(l4 + 8) > data_end)
		return ip_end > data_end ? LB_PARSE_MALFORMED : LB_PARSE_OTHER_L4;
	if ((void *)(l4 + 8) > ip_end)
		return LB_PARSE_OTHER_L4; /* the IP length says the ports are not there */
	p->in_l4 = l4;
	/* What follows the ports up to the end of the IP packet, as far as the frame has it. */
	p->in_l4_len = (__u32)((ip_end < data_end ? ip_end : data_end) - (void *)l4);
	p->in_sport = *(__be16 *)l4;
	p->in_dport = *(__be16 *)(l4 + 2);
	return LB_PARSE_ICMP_ERROR;
}

/*
 * @v with bounds Linux 6.1's verifier can see: it knows nothing of a byte swap's result
 * (be16), and the compiler would drop a plain mask it knows to be redundant.
 */
static __always_inline __u32 lb_bounded16(__u32 v)
{
	asm volatile("" : "+r"(v));
	return v & 0xffff;
}

/*
 * The ICMP message at @icmp (ending at @ip_end, the IPv4 total length): a destination
 * unreachable (every code, fragmentation needed among them) or a time exceeded carries
 * the IPv4 header and at least the first 8 L4 bytes of the packet it is about (RFC 792):
 * for TCP and UDP, the ports. Anything else, and errors about fragments after the first
 * (no ports), are not ours: LB_PARSE_OTHER_L4. MALFORMED when the inner headers lie
 * beyond @data_end within the frame (a TC hook pulls them in and parses again).
 */
static __always_inline int lb_parse_icmp_error(void *icmp, void *data_end, void *ip_end,
					       struct lb_pkt *p)
{
	struct lb_icmphdr *ih = icmp;
	struct iphdr *in;

	if ((void *)(ih + 1) > data_end)
		return ip_end > data_end ? LB_PARSE_MALFORMED : LB_PARSE_OTHER_L4;
	if (ih->type != LB_ICMP_DEST_UNREACH && ih->type != LB_ICMP_TIME_EXCEEDED)
		return LB_PARSE_OTHER_L4;
	in = (void *)(ih + 1);
	if ((void *)(in + 1) > data_end)
		return ip_end > data_end ? LB_PARSE_MALFORMED : LB_PARSE_OTHER_L4;
	if (in->version != 4 || in->ihl < 5 || (in->frag_off & bpf_htons(LB_IP_OFFSET)) ||
	    (in->protocol != LB_PROTO_TCP && in->protocol != LB_PROTO_UDP))
		return LB_PARSE_OTHER_L4;
	p->in_l3 = in;
	p->in_saddr = lb_ip_from_v4(in->saddr);
	p->in_daddr = lb_ip_from_v4(in->daddr);
	p->in_proto = p->in_l4_proto = in->protocol;
	return lb_parse_icmp_inner_l4((__u8 *)in + in->ihl * 4, data_end, ip_end, p);
}

/*
 * The same for ICMPv6 (RFC 4443): destination unreachable, packet too big (PMTU
 * discovery: IPv6 routers never fragment) and time exceeded carry as much of the packet
 * they are about as fits; lbd needs its IPv6 header followed directly by TCP or UDP.
 * Everything else (neighbour discovery, echo, errors about packets with extension
 * headers) is not ours.
 */
static __always_inline int lb_parse_icmp6_error(void *icmp, void *data_end, void *ip_end,
						struct lb_pkt *p)
{
	struct lb_icmphdr *ih = icmp;
	struct ipv6hdr *in;

	if ((void *)(ih + 1) > data_end)
		return ip_end > data_end ? LB_PARSE_MALFORMED : LB_PARSE_OTHER_L4;
	if (ih->type != LB_ICMPV6_DEST_UNREACH && ih->type != LB_ICMPV6_PKT_TOOBIG &&
	    ih->type != LB_ICMPV6_TIME_EXCEEDED)
		return LB_PARSE_OTHER_L4;
	in = (void *)(ih + 1);
	if ((void *)(in + 1) > data_end)
		return ip_end > data_end ? LB_PARSE_MALFORMED : LB_PARSE_OTHER_L4;
	if (in->version != 6 || (in->nexthdr != LB_PROTO_TCP && in->nexthdr != LB_PROTO_UDP))
		return LB_PARSE_OTHER_L4;
	p->in_l3 = in;
	__builtin_memcpy(&p->in_saddr, &in->saddr, sizeof(p->in_saddr));
	__builtin_memcpy(&p->in_daddr, &in->daddr, sizeof(p->in_daddr));
	p->in_proto = p->in_l4_proto = in->nexthdr;
	return lb_parse_icmp_inner_l4((__u8 *)(in + 1), data_end, ip_end, p);
}

/*
 * TCP or UDP at @cur, @l4_len bytes of IP payload from there on (the IP length says so):
 * the ports and flags, or MALFORMED for a header the kernel would drop too.
 */
static __always_inline int lb_parse_l4(void *cur, void *data_end, __u32 l4_len, struct lb_pkt *p)
{
	if (p->proto == LB_PROTO_TCP) {
		struct tcphdr *th = cur;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return LB_PARSE_MALFORMED;
		doff = th->doff * 4;
		/* A data offset below 20 is bogus; one beyond the IP payload is a lie. */
		if (doff < sizeof(*th) || doff > l4_len)
			return LB_PARSE_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		/*
		 * SYN with RST or FIN is no stack's packet (Linux discards both in LISTEN): it
		 * must not create a flow or touch one.
		 */
		if ((p->tcp_flags & LB_TCP_SYN) && (p->tcp_flags & (LB_TCP_RST | LB_TCP_FIN)))
			return LB_PARSE_MALFORMED;
		return LB_PARSE_OK;
	}
	{
		struct udphdr *uh = cur;

		if ((void *)(uh + 1) > data_end)
			return LB_PARSE_MALFORMED;
		/* Below its own header, or beyond the IP payload (the kernel drops both). */
		if (bpf_ntohs(uh->len) < sizeof(*uh) || bpf_ntohs(uh->len) > l4_len)
			return LB_PARSE_MALFORMED;
		/* UDP over IPv6 must carry a checksum (RFC 8200 8.1): the kernel drops a 0. */
		if (p->family == 6 && !uh->check)
			return LB_PARSE_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		return LB_PARSE_OK;
	}
}

static __always_inline int lb_parse_ipv4(void *data, void *data_end, __u32 frame_len,
					 struct iphdr *iph, struct lb_pkt *p)
{
	__u32 ihl_bytes;
	void *cur;

	if ((void *)(iph + 1) > data_end)
		return LB_PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return LB_PARSE_MALFORMED;
	ihl_bytes = iph->ihl * 4;
	if (bpf_ntohs(iph->tot_len) < ihl_bytes)
		return LB_PARSE_MALFORMED;

	p->family = p->l3_family = 4;
	p->l3 = iph;
	p->l3_off = (__u32)((void *)iph - data);
	if (bpf_ntohs(iph->tot_len) > frame_len - p->l3_off)
		return LB_PARSE_MALFORMED;
	p->saddr = lb_ip_from_v4(iph->saddr);
	p->daddr = lb_ip_from_v4(iph->daddr);
	p->proto = p->l4_proto = iph->protocol;
	p->ip_len = bpf_ntohs(iph->tot_len);
	p->tcp_flags = 0;

	/*
	 * Any fragment, the first one included, is left alone: later fragments carry no ports,
	 * so rewriting only the first would split one datagram between two destinations.
	 */
	if (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET))
		return LB_PARSE_FRAGMENT;

	/* The real IHL: options shift the L4 header. ihl is 4 bits, so this stays <= 60. */
	cur = (void *)iph + ihl_bytes;
	p->l4 = cur;
	p->l4_off = p->l3_off + ihl_bytes;
	if (iph->protocol == LB_PROTO_TCP || iph->protocol == LB_PROTO_UDP)
		return lb_parse_l4(cur, data_end, p->ip_len - ihl_bytes, p);
	if (iph->protocol == LB_PROTO_ICMP)
		return lb_parse_icmp_error(cur, data_end, (void *)iph + lb_bounded16(p->ip_len), p);
	return LB_PARSE_OTHER_L4;
}

static __always_inline int lb_parse_ipv6(void *data, void *data_end, __u32 frame_len,
					 struct ipv6hdr *ip6, struct lb_pkt *p)
{
	__u32 payload, off = sizeof(*ip6);
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return LB_PARSE_MALFORMED;
	if (ip6->version != 6)
		return LB_PARSE_MALFORMED;
	payload = bpf_ntohs(ip6->payload_len);
	p->family = p->l3_family = 6;
	p->l3 = ip6;
	p->l3_off = (__u32)((void *)ip6 - data);
	if (sizeof(*ip6) + payload > frame_len - p->l3_off)
		return LB_PARSE_MALFORMED;
	__builtin_memcpy(&p->saddr, &ip6->saddr, sizeof(p->saddr));
	__builtin_memcpy(&p->daddr, &ip6->daddr, sizeof(p->daddr));
	p->ip_len = (__u16)(sizeof(*ip6) + payload);
	p->tcp_flags = 0;
	/*
	 * IPv4-mapped addresses are how this datapath spells IPv4: on the wire they are bogus
	 * (RFC 4291 2.5.5.2) and must not meet an IPv4 listener's or flow's key.
	 */
	if (lb_ip_is_v4(&p->saddr) || lb_ip_is_v4(&p->daddr))
		return LB_PARSE_MALFORMED;
	/* A jumbogram (payload length 0, RFC 2675) is nothing a listener gets here. */
	if (!payload)
		return LB_PARSE_OTHER_L4;

	next = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < LB_IPV6_EXT_MAX; i++) {
		struct lb_ipv6_ext *e;

		if (next == LB_IPV6_FRAGMENT)
			return LB_PARSE_FRAGMENT;
		if (next != LB_IPV6_HOPOPTS && next != LB_IPV6_DSTOPTS && next != LB_IPV6_ROUTING)
			break;
		e = (void *)ip6 + off;
		if ((void *)(e + 1) > data_end)
			return LB_PARSE_MALFORMED;
		/* Not at its final destination yet: a later hop's business, not ours. */
		if (next == LB_IPV6_ROUTING && e->segments_left)
			return LB_PARSE_OTHER_L4;
		next = e->nexthdr;
		off += ((__u32)e->len + 1) * 8;
	}
	if (next == LB_IPV6_FRAGMENT)
		return LB_PARSE_FRAGMENT;
	if (next == LB_IPV6_HOPOPTS || next == LB_IPV6_DSTOPTS || next == LB_IPV6_ROUTING)
		return LB_PARSE_MALFORMED; /* more extension headers than lbd skips */
	if (off > sizeof(*ip6) + payload)
		return LB_PARSE_MALFORMED;
	p->proto = p->l4_proto = next;
	p->l4 = (void *)ip6 + off;
	p->l4_off = p->l3_off + off;
	if (next == LB_PROTO_TCP || next == LB_PROTO_UDP)
		return lb_parse_l4(p->l4, data_end, sizeof(*ip6) + payload - off, p);
	if (next == LB_PROTO_ICMPV6)
		return lb_parse_icmp6_error(p->l4, data_end, (void *)ip6 + lb_bounded16(p->ip_len),
					    p);
	return LB_PARSE_OTHER_L4;
}

/*
 * Parse the frame at @data; @frame_len is its whole length (more than data_end - data for
 * a paged skb): an IP length beyond it is a lie the counters must not believe.
 */
static __always_inline int lb_parse(void *data, void *data_end, __u32 frame_len, struct lb_pkt *p)
{
	struct ethhdr *eth = data;
	__be16 proto;
	void *cur;
	int i;

	if ((void *)(eth + 1) > data_end)
		return LB_PARSE_MALFORMED;
	proto = eth->h_proto;
	cur = eth + 1;

	/* 802.1Q and 802.1ad (QinQ): at most two tags, unrolled for the verifier. */
#pragma unroll
	for (i = 0; i < LB_VLAN_MAX; i++) {
		struct lb_vlan_hdr *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return LB_PARSE_MALFORMED;
		proto = vh->proto;
		cur = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return lb_parse_ipv4(data, data_end, frame_len, cur, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return lb_parse_ipv6(data, data_end, frame_len, cur, p);
	return LB_PARSE_NOT_IP;
}

#endif /* LB_PARSE_H */
