// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * xdp_pass.bpf.c - an XDP program that passes everything, for test_dsr.sh: frames sent
 * back out of a veth by XDP_TX (lbd's dsr) reach its peer only while the peer runs an
 * XDP program of its own (Linux 6.18: GRO on the peer does not do it). Real NICs need
 * nothing of the kind.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
