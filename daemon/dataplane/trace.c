// SPDX-License-Identifier: MIT
/* trace.c - the trace instance of the datapath and its one-packet runs (see trace.h). */
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lb_ip.h"
#include "lb_log.h"
#include "lb.skel.h"

#define ETH_LEN	  14
#define IP4_LEN	  20
#define IP6_LEN	  40
#define TCP_LEN	  20
#define UDP_LEN	  8
#define TRACE_PKT 128

struct lb_tracer {
	struct lb_bpf *skel;
	uint64_t load_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Maps of the trace instance that stay its own: .rodata (lb_trace_mode) and .bss (the
 * record), the per-CPU scratch (the running instance's may be in use on this CPU when a
 * packet interrupts the run) and the event ring (nothing is ever written to it).
 */
static bool private_map(const struct bpf_map *m)
{
	const char *name = bpf_map__name(m);

	return bpf_map__is_internal(m) || !strcmp(name, "lb_scratch") || !strcmp(name, "lb_events");
}

int lb_tracer_open(const struct lb_bpf *live, struct lb_tracer **out, char *err, size_t errlen)
{
	struct lb_tracer *t;
	struct bpf_map *m, *lm;
	uint64_t t0 = now_ns();
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	t->skel = lb_bpf__open();
	if (!t->skel) {
		ret = lb_errf(err, errlen, -errno, "cannot open the BPF object: %s",
			      strerror(errno));
		free(t);
		return ret;
	}
	t->skel->rodata->lb_trace_mode = 1;
	/* Only the XDP program runs: the verifier's time goes to it alone. */
	bpf_program__set_autoload(t->skel->progs.lb_tc_ingress, false);
	bpf_program__set_autoload(t->skel->progs.lb_tc_egress, false);
	bpf_object__for_each_map(m, t->skel->obj)
	{
		/* Never pinned: without a pin root libbpf would pin under /sys/fs/bpf. */
		ret = bpf_map__set_pin_path(m, NULL);
		if (!ret && !strcmp(bpf_map__name(m), "lb_events"))
			ret = bpf_map__set_max_entries(m, page > 0 ? (__u32)page : 4096);
		if (!ret && !private_map(m)) {
			lm = bpf_object__find_map_by_name(live->obj, bpf_map__name(m));
			ret = lm ? bpf_map__reuse_fd(m, bpf_map__fd(lm)) : -ENOENT;
		}
		if (ret) {
			lb_errf(err, errlen, ret, "cannot prepare the trace instance's map %s: %s",
				bpf_map__name(m), strerror(-ret));
			goto fail;
		}
	}
	ret = lb_bpf__load(t->skel);
	if (ret) {
		lb_errf(err, errlen, ret,
			"cannot load the trace instance of the BPF programs: %s (run lbd with -v "
			"for the verifier log)",
			strerror(-ret));
		goto fail;
	}
	t->load_ns = now_ns() - t0;
	*out = t;
	return 0;
fail:
	lb_bpf__destroy(t->skel);
	free(t);
	return ret;
}

uint64_t lb_tracer_load_ns(const struct lb_tracer *t)
{
	return t->load_ns;
}

void lb_tracer_free(struct lb_tracer *t)
{
	if (!t)
		return;
	lb_bpf__destroy(t->skel);
	free(t);
}

/* Internet checksum of @len bytes, added to @sum (host-order 16-bit words folded). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t lb_trace_packet(const struct lb_trace_req *req, uint8_t *buf, size_t cap)
{
	bool v4 = lb_ip_is_v4(&req->client);
	size_t l3 = v4 ? IP4_LEN : IP6_LEN, l4 = req->proto == LB_PROTO_TCP ? TCP_LEN : UDP_LEN;
	size_t len = ETH_LEN + l3 + l4;
	uint8_t *ip = buf + ETH_LEN, *th = ip + l3;
	uint32_t sum;
	uint8_t ph[4];

	if (cap < len || len > TRACE_PKT)
		return 0;
	memset(buf, 0, len);
	/* Locally administered MACs: nothing reads them but a forwarding mode's rewrite. */
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(buf + 12, v4 ? 0x0800 : 0x86dd);
	if (v4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(l3 + l4));
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = req->proto;
		memcpy(ip + 12, &req->client.w[3], 4);
		memcpy(ip + 16, &req->listen.w[3], 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, IP4_LEN)));
		sum = csum_add(0, ip + 12, 8);
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4);
		ip[6] = req->proto;
		ip[7] = 64;
		memcpy(ip + 8, &req->client, 16);
		memcpy(ip + 24, &req->listen, 16);
		sum = csum_add(0, ip + 8, 32);
	}
	put16(th, req->client_port);
	put16(th + 2, req->listen_port);
	if (req->proto == LB_PROTO_TCP) {
		put16(th + 4, 0x1000); /* sequence number: any */
		th[12] = 5 << 4;       /* data offset: no options */
		th[13] = 0x02;	       /* SYN */
		put16(th + 14, 64240);
	} else {
		put16(th + 4, (uint16_t)l4);
	}
	ph[0] = 0;
	ph[1] = req->proto;
	put16(ph + 2, (uint16_t)l4);
	sum = csum_add(sum, ph, 4);
	sum = csum_add(sum, th, l4);
	put16(th + (req->proto == LB_PROTO_TCP ? 16 : 6), csum_fold(sum));
	return len;
}

/* The destination of the packet @pkt as it left (same layout as it went in). */
static void packet_dst(const uint8_t *pkt, size_t len, bool v4, struct lb_ip *dst, uint16_t *port)
{
	const uint8_t *ip = pkt + ETH_LEN;
	size_t l3 = v4 ? IP4_LEN : IP6_LEN;
	__be32 a;

	memset(dst, 0, sizeof(*dst));
	*port = 0;
	if (len < ETH_LEN + l3 + 4)
		return;
	if (v4) {
		memcpy(&a, ip + 16, 4);
		*dst = lb_ip_from_v4(a);
	} else {
		memcpy(dst, ip + 24, 16);
	}
	*port = (uint16_t)(ip[l3 + 2] << 8 | ip[l3 + 3]);
}

int lb_tracer_run(struct lb_tracer *t, const struct lb_trace_req *req, struct lb_trace_out *out,
		  char *err, size_t errlen)
{
	uint8_t in[TRACE_PKT], pkt[TRACE_PKT + 256];
	size_t len = lb_trace_packet(req, in, sizeof(in));
	struct xdp_md ctx = {.data_end = (__u32)len, .ingress_ifindex = req->ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = pkt, .data_size_out = sizeof(pkt), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	uint64_t t0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!len)
		return lb_errf(err, errlen, -EINVAL, "cannot build the trace packet");
	/* One run at a time (lbd's loop is single-threaded): the record is the run's own. */
	memset(&t->skel->bss->lb_trace, 0, sizeof(t->skel->bss->lb_trace));
	t0 = now_ns();
	ret = bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.lb_xdp_ingress), &o);
	out->run_ns = now_ns() - t0;
	if (ret) {
		ret = -errno;
		return lb_errf(err, errlen, ret,
			       "BPF_PROG_TEST_RUN of the trace instance failed: %s",
			       strerror(-ret));
	}
	out->retval = (int)o.retval;
	out->rec = t->skel->bss->lb_trace;
	packet_dst(pkt, o.data_size_out, lb_ip_is_v4(&req->client), &out->dst, &out->dst_port);
	switch (o.retval) {
	case XDP_DROP:
		out->verdict = LB_TRACE_DROP;
		break;
	case XDP_PASS:
		out->verdict = memcmp(in, pkt, len) ? LB_TRACE_REWRITE : LB_TRACE_PASS;
		break;
	default:
		/* XDP_TX or a redirect: a forwarding mode that sends from the hook. */
		out->verdict = LB_TRACE_OTHER;
		break;
	}
	return 0;
}

int lb_trace_find_listener(int listen_fd, unsigned int ifindex, uint16_t port, uint8_t proto,
			   uint32_t proxy_id, bool v4, struct lb_ip *addr)
{
	struct lb_listen_key k, next;
	struct lb_listen_val v;
	bool found = false, first = true;

	while (!bpf_map_get_next_key(listen_fd, first ? NULL : &k, &next)) {
		first = false;
		k = next;
		if (k.ifindex != ifindex || k.port != htons(port) || k.proto != proto ||
		    lb_ip_is_v4(&k.addr) != v4 || bpf_map_lookup_elem(listen_fd, &k, &v) ||
		    v.proxy_id != proxy_id)
			continue;
		if (!found || memcmp(&k.addr, addr, sizeof(*addr)) < 0)
			*addr = k.addr;
		found = true;
	}
	return found ? 0 : -ENOENT;
}
