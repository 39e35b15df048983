/* SPDX-License-Identifier: MIT */
/*
 * pktbuild.h - a small Ethernet/VLAN/IPv4/IPv6/TCP/UDP/ICMP frame builder for the datapath
 * tests.
 *
 * Every checksum is computed from scratch (a full one's-complement sum over the header, or
 * over pseudo-header + L4 header + payload), never updated incrementally: a test that
 * compares the datapath's output with a built frame therefore proves the datapath's
 * incremental updates equal a full recomputation.
 */
#ifndef PKTBUILD_H
#define PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 512

/* One frame to build. Zero-valued fields take the defaults noted beside them. */
struct pkt_spec {
	__u16 vlan_tpid[2]; /* TPIDs of up to two tags, outermost first; 0 = no tag */
	__u16 ethertype;    /* 0 = IPv4; ETH_P_ARP and ETH_P_IPV6 build such frames */
	__be32 saddr;
	__be32 daddr;
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u8 proto;  /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP (an echo request) */
	__u8 tcp_flags;
	__u8 ihl;	   /* 0 = 5; written as given, options fill max(ihl, 5) * 4 - 20 bytes */
	__u8 doff;	   /* 0 = 5; written as given, options fill max(doff, 5) * 4 - 20 bytes */
	__u16 frag_off;	   /* host order, flags and offset as in the IPv4 header */
	__u16 ip_id;	   /* host order */
	__u16 payload_len; /* L4 payload bytes, a fixed pattern */
	bool udp_no_csum;  /* send UDP with checksum 0 ("none"; over IPv6, invalid) */
	__u16 truncate;	   /* 0 = whole frame, else cut it to this many bytes */
	__u8 ttl;	   /* 0 = 64: IPv4 TTL or IPv6 hop limit */
	/* ETH_P_IPV6 only */
	__u8 saddr6[16]; /* all zero: fd00::1 */
	__u8 daddr6[16]; /* all zero: fd00::2 */
	__u8 n_ext;	 /* extension headers between the IPv6 header and L4, up to 4: */
	__u8 ext[4];	 /* their next-header values: 0, 43 (routing), 44 (fragment), 60 */
	__u8 ext_len[4]; /* their length field (8-byte units beyond the first 8; 44 ignores it) */
	__u8 segments_left; /* of a routing header */
	__u16 frag6_off;    /* of a fragment header: offset << 3 | M, host order */
	__u8 icmp6_type;    /* proto IPPROTO_ICMPV6: the message type (0 = echo request) */
};

/*
 * Build @s into @buf (at least PKT_MAX bytes) and return the frame's length. A UDP checksum
 * that computes to 0 is sent as 0xffff (RFC 768).
 */
size_t pkt_build(const struct pkt_spec *s, __u8 *buf);

/*
 * An ICMP error from @saddr to @daddr, @type/@code (the 4 bytes after the checksum hold
 * @mtu, for "fragmentation needed"), carrying the first @inner_len bytes of the IPv4
 * packet @inner (built whole by pkt_build(), its checksums from scratch, then cut), with
 * the ICMP checksum computed over all of it. Returns the frame's length.
 */
size_t pkt_build_icmp_error(__be32 saddr, __be32 daddr, __u8 type, __u8 code, __u16 mtu,
			    const struct pkt_spec *inner, size_t inner_len, __u8 *buf);

/*
 * The same for IPv6 (ICMPv6, RFC 4443): packet too big carries @mtu in its 32-bit field,
 * the others 0 there; @inner is an IPv6 packet built by pkt_build(); the checksum covers
 * the IPv6 pseudo-header.
 */
size_t pkt_build_icmp6_error(const __u8 saddr[16], const __u8 daddr[16], __u8 type, __u8 code,
			     __u32 mtu, const struct pkt_spec *inner, size_t inner_len, __u8 *buf);

/* Offset of the IP header in a frame built from @s (after the Ethernet header and tags). */
size_t pkt_l3_off(const struct pkt_spec *s);

/* Offset of the L4 header in a frame built from @s. */
size_t pkt_l4_off(const struct pkt_spec *s);

/* The one's-complement sum of @len bytes (16-bit big-endian words) added to @sum, unfolded. */
__u32 pkt_csum_add(const void *data, size_t len, __u32 sum);

/* Fold a one's-complement accumulator to 16 bits, all carries included. */
__u16 pkt_csum_fold(__u32 sum);

/* Room pkt_hex() needs: "xx" and a separator per byte, an indented line per 16 bytes. */
#define PKT_HEX_MAX (3 * PKT_MAX + 2 * (PKT_MAX / 16 + 1) + 1)

/* Hex dump of @len bytes into @out (PKT_HEX_MAX bytes), 16 bytes a line; returns @out. */
const char *pkt_hex(const __u8 *data, size_t len, char *out);

#endif /* PKTBUILD_H */
