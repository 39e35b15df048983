/* SPDX-License-Identifier: MIT */
/*
 * trace.h - `lbctl trace`: what the datapath would do with one client's first packet,
 * answered by the datapath itself. A second instance of the same BPF object is loaded
 * with lb_trace_mode set (bpf/lb_trace.h: the verifier removes every conntrack write,
 * counter and event from it), its maps the running instance's own, except its private
 * .rodata/.bss (the trace record), scratch and event ring. One synthesized TCP SYN or UDP
 * datagram from the client to the listener is run through its XDP program with
 * BPF_PROG_TEST_RUN; the verdict, the packet as it left and the trace record are the
 * answer.
 */
#ifndef LBD_TRACE_H
#define LBD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_abi.h"

struct lb_bpf;
struct lb_tracer;

/* The packet to run: client -> listener, ports host order, on interface @ifindex. */
struct lb_trace_req {
	struct lb_ip client;
	uint16_t client_port;
	struct lb_ip listen;
	uint16_t listen_port;
	uint8_t proto; /* LB_PROTO_TCP or LB_PROTO_UDP */
	unsigned int ifindex;
};

enum lb_trace_verdict { LB_TRACE_PASS, LB_TRACE_REWRITE, LB_TRACE_DROP, LB_TRACE_OTHER };

struct lb_trace_out {
	enum lb_trace_verdict verdict;
	int retval; /* the XDP program's return value */
	/* The destination of the packet as the program left it (host order port). */
	struct lb_ip dst;
	uint16_t dst_port;
	struct lb_trace_rec rec; /* what the decisions noted (lb_abi.h) */
	uint64_t run_ns;	 /* the BPF_PROG_TEST_RUN call */
};

/*
 * Load the trace instance beside @live (the running instance's skeleton, whose map fds
 * it shares). About a verifier run of the XDP program: tens to hundreds of ms. Returns 0
 * or -errno with a sentence in @err.
 */
int lb_tracer_open(const struct lb_bpf *live, struct lb_tracer **out, char *err, size_t errlen);

/* Run @req through the trace instance. Returns 0 or -errno with a sentence in @err. */
int lb_tracer_run(struct lb_tracer *t, const struct lb_trace_req *req, struct lb_trace_out *out,
		  char *err, size_t errlen);

/* Nanoseconds lb_tracer_open() took. */
uint64_t lb_tracer_load_ns(const struct lb_tracer *t);

/* NULL is a no-op. */
void lb_tracer_free(struct lb_tracer *t);

/*
 * The first listener address (lowest) in lb_listen (@listen_fd) of proxy @proxy_id on
 * @ifindex, @port (host order), @proto, of the family of @v4. 0, or -ENOENT when there is
 * none.
 */
int lb_trace_find_listener(int listen_fd, unsigned int ifindex, uint16_t port, uint8_t proto,
			   uint32_t proxy_id, bool v4, struct lb_ip *addr);

/* The packet lb_tracer_run() sends, Ethernet included; its length (at most 128 bytes). */
size_t lb_trace_packet(const struct lb_trace_req *req, uint8_t *buf, size_t cap);

#endif /* LBD_TRACE_H */
