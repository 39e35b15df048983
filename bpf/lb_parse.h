/* SPDX-License-Identifier: MIT */
/*
 * lb_parse.h - header parsing with a cursor, hook-neutral: the caller hands in the packet's
 * data and data_end (XDP or TC) and gets the IPv4 and L4 fields the load balancer needs.
 *
 * Each step bounds-checks against data_end before it reads and only then advances, which
 * is both what the verifier wants and what keeps hostile packets harmless.
 */
#ifndef LB_PARSE_H
#define LB_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"

#define LB_VLAN_MAX 2

/* frag_off bits (host order), as in the kernel's net/ip.h which UAPI does not export. */
#define LB_IP_MF     0x2000
#define LB_IP_OFFSET 0x1fff

enum lb_parse_result {
	LB_PARSE_OK = 0,
	LB_PARSE_NOT_IP,     /* not IPv4 */
	LB_PARSE_MALFORMED,  /* truncated or bogus header */
	LB_PARSE_FRAGMENT,   /* IPv4 fragment: ports unknown or not in this packet */
	LB_PARSE_OTHER_L4,   /* IPv4, neither TCP nor UDP */
	LB_PARSE_ICMP_ERROR, /* an ICMP error carrying the start of a TCP or UDP packet */
};

/* TCP flag bits as they sit in byte 13 of the TCP header. */
#define LB_TCP_FIN 0x01
#define LB_TCP_SYN 0x02
#define LB_TCP_RST 0x04
#define LB_TCP_ACK 0x10

struct lb_pkt {
	struct iphdr *iph;
	void *l4;     /* struct tcphdr or struct udphdr */
	__u32 l3_off; /* offsets from the start of the packet, for the skb helpers */
	__u32 l4_off;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 ip_len; /* host order IPv4 total length: what the counters count */
	__u8 proto;
	__u8 tcp_flags; /* LB_TCP_* (0 for UDP) */
	/*
	 * LB_PARSE_ICMP_ERROR only: the packet the error is about, as it sits inside (its IPv4
	 * header, its first L4 bytes: at least the ports), and how many of those L4 bytes the
	 * frame holds (a checksum beyond them was cut off on the way).
	 */
	struct iphdr *in_iph;
	void *in_l4;
	__u32 in_l4_len;
	__be32 in_saddr;
	__be32 in_daddr;
	__be16 in_sport;
	__be16 in_dport;
	__u8 in_proto;
};

/*
 * The ICMP header, spelled out: <linux/icmp.h> pulls in <linux/if.h> and with it libc
 * headers a BPF build must not see.
 */
struct lb_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* unused, or the next-hop MTU of "fragmentation needed" */
};

#define LB_ICMP_DEST_UNREACH  3
#define LB_ICMP_TIME_EXCEEDED 11

struct lb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

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
	__u32 in_ihl;
	__u8 *l4;

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
	in_ihl = in->ihl * 4;
	l4 = (__u8 *)in + in_ihl;
	if ((void *)(l4 + 8) > data_end)
		return ip_end > data_end ? LB_PARSE_MALFORMED : LB_PARSE_OTHER_L4;
	if ((void *)(l4 + 8) > ip_end)
		return LB_PARSE_OTHER_L4; /* the IP length says the ports are not there */
	p->in_iph = in;
	p->in_l4 = l4;
	/* What follows the ports up to the end of the IP packet, as far as the frame has it. */
	p->in_l4_len = (__u32)((ip_end < data_end ? ip_end : data_end) - (void *)l4);
	p->in_saddr = in->saddr;
	p->in_daddr = in->daddr;
	p->in_proto = in->protocol;
	p->in_sport = *(__be16 *)l4;
	p->in_dport = *(__be16 *)(l4 + 2);
	return LB_PARSE_ICMP_ERROR;
}

/*
 * Parse the frame at @data; @frame_len is its whole length (more than data_end - data for
 * a paged skb): an IPv4 total length beyond it is a lie the counters must not believe.
 */
static __always_inline int lb_parse(void *data, void *data_end, __u32 frame_len, struct lb_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__be16 proto;
	__u32 ihl_bytes;
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
	if (proto != bpf_htons(ETH_P_IP))
		return LB_PARSE_NOT_IP;

	iph = cur;
	if ((void *)(iph + 1) > data_end)
		return LB_PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return LB_PARSE_MALFORMED;
	ihl_bytes = iph->ihl * 4;
	if (bpf_ntohs(iph->tot_len) < ihl_bytes)
		return LB_PARSE_MALFORMED;

	p->iph = iph;
	p->l3_off = (__u32)((void *)iph - data);
	if (bpf_ntohs(iph->tot_len) > frame_len - p->l3_off)
		return LB_PARSE_MALFORMED;
	p->saddr = iph->saddr;
	p->daddr = iph->daddr;
	p->proto = iph->protocol;
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

	if (iph->protocol == LB_PROTO_TCP) {
		struct tcphdr *th = cur;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return LB_PARSE_MALFORMED;
		doff = th->doff * 4;
		/* A data offset below 20 is bogus; one beyond the IP payload is a lie. */
		if (doff < sizeof(*th) || ihl_bytes + doff > p->ip_len)
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
	if (iph->protocol == LB_PROTO_UDP) {
		struct udphdr *uh = cur;

		if ((void *)(uh + 1) > data_end)
			return LB_PARSE_MALFORMED;
		/* Below its own header, or beyond the IP payload (the kernel drops both). */
		if (bpf_ntohs(uh->len) < sizeof(*uh) || ihl_bytes + bpf_ntohs(uh->len) > p->ip_len)
			return LB_PARSE_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		return LB_PARSE_OK;
	}
	if (iph->protocol == LB_PROTO_ICMP)
		return lb_parse_icmp_error(cur, data_end, (void *)iph + lb_bounded16(p->ip_len), p);
	return LB_PARSE_OTHER_L4;
}

#endif /* LB_PARSE_H */
