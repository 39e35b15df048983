// SPDX-License-Identifier: MIT
/*
 * ct_fill.c - fill lbd's pinned conntrack map with synthetic live flows, without traffic,
 * for bench/state_bench.sh (bench/README.md, "State benchmark").
 *
 *   ct_fill ids PIN_DIR PROXY [IP:PORT ...]
 *       Print, as one JSON line, the proxy's id (from the pinned lb_pnames) and the id of
 *       each of its targets (from lb_tnames): {"proxy_id":1,"targets":{"10.2.1.2:8080":0}}.
 *   ct_fill fill MAP --flows N --proxy-id P --listen IP:PORT --target ID@IP:PORT
 *                [--target ...] [--client-base IP] [--batch K] [--udp]
 *       Insert N flows into the pinned conntrack map MAP (lbd's lb_ct) with
 *       BPF_MAP_UPDATE_BATCH: per flow the REPLY entry (backend -> client, LB_CT_F_REPLIED)
 *       and the ORIG entry (client -> listener), as the datapath writes a confirmed flow,
 *       stamped now on CLOCK_MONOTONIC_COARSE (the datapath's clock). Clients are distinct
 *       (address, port) pairs counted up from --client-base (default 10.128.0.1), ports
 *       1024-65535; flows go round-robin to the --target entries. Running it again with
 *       the same arguments rewrites the same keys: it refreshes last_seen_ns. Prints one
 *       JSON line.
 *
 * Addresses are IPv4, written IPv4-mapped (common/lb_ip.h) as lbd and the datapath keep them.
 *
 * Every layout comes from common/lb_abi.h; the map's key and value sizes are checked
 * against it before anything is written, and a map too small to hold 2 x N entries
 * without LRU eviction is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_ip.h"

#define NSEC	     1000000000ull
#define FIRST_PORT   1024u
#define PORTS_PER_IP (65536u - FIRST_PORT)
#define MAX_TARGETS  64
#define DEF_BATCH    8192
#define LRU_SLACK    4096 /* entries the per-CPU LRU free lists may hold back */
#define MAX_FLOWS    (1u << 26)

struct target {
	uint32_t id;
	struct lb_ip addr; /* IPv4-mapped */
	uint16_t port;	   /* host order */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ct_fill ids PIN_DIR PROXY [IP:PORT ...]\n"
		   "       ct_fill fill MAP --flows N --proxy-id P --listen IP:PORT\n"
		   "                    --target ID@IP:PORT [--target ...] [--client-base IP]\n"
		   "                    [--batch K] [--udp]\n");
}

static uint64_t now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "IP:PORT" (IPv4) -> IPv4-mapped address, host-order port. */
static int parse_ipport(const char *s, struct lb_ip *addr, uint16_t *port)
{
	char buf[64];
	char *colon, *end;
	unsigned long p;
	struct in_addr a;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = 0;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p == 0 || p > 65535 || inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*addr = lb_ip_from_v4(a.s_addr);
	*port = (uint16_t)p;
	return 0;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int open_pinned(const char *path, uint32_t key_size, uint32_t value_size,
		       struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int fd = bpf_obj_get(path);

	if (fd < 0) {
		fprintf(stderr, "ct_fill: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		fprintf(stderr, "ct_fill: %s: cannot read the map's info: %s\n", path,
			strerror(errno));
		close(fd);
		return -1;
	}
	if (info->key_size != key_size || info->value_size != value_size) {
		fprintf(stderr,
			"ct_fill: %s: key/value size %u/%u, lb_abi.h says %u/%u: another ABI\n",
			path, info->key_size, info->value_size, key_size, value_size);
		close(fd);
		return -1;
	}
	return fd;
}

/* ids PIN_DIR PROXY [IP:PORT ...] */
static int cmd_ids(int argc, char **argv)
{
	struct bpf_map_info info;
	char path[4096];
	int64_t proxy_id = -1;
	char out[4096];
	int pfd, tfd, i, pos, ret = 1;
	__u32 k;

	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/lb_pnames", argv[1]);
	pfd = open_pinned(path, sizeof(__u32), sizeof(struct lb_proxy_meta), &info);
	if (pfd < 0)
		return 1;
	for (k = 0; k < info.max_entries && proxy_id < 0; k++) {
		struct lb_proxy_meta m;

		if (bpf_map_lookup_elem(pfd, &k, &m) == 0 &&
		    !strncmp(m.name, argv[2], sizeof(m.name)) && m.name[0])
			proxy_id = k;
	}
	close(pfd);
	if (proxy_id < 0) {
		fprintf(stderr, "ct_fill: no proxy named %s in %s/lb_pnames\n", argv[2], argv[1]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/lb_tnames", argv[1]);
	tfd = open_pinned(path, sizeof(__u32), sizeof(struct lb_target_meta), &info);
	if (tfd < 0)
		return 1;
	/* Printed only once every target is found: no half line on stdout. */
	pos = snprintf(out, sizeof(out), "{\"proxy_id\":%lld,\"targets\":{", (long long)proxy_id);
	for (i = 3; i < argc; i++) {
		struct lb_ip addr;
		uint16_t port;
		int64_t tid = -1;

		if (parse_ipport(argv[i], &addr, &port)) {
			fprintf(stderr, "ct_fill: %s is not IP:PORT\n", argv[i]);
			goto out;
		}
		for (k = 0; k < info.max_entries && tid < 0; k++) {
			struct lb_target_meta m;

			if (bpf_map_lookup_elem(tfd, &k, &m) == 0 && m.in_use &&
			    m.proxy_id == (__u32)proxy_id && lb_ip_eq(&m.addr, &addr) &&
			    ntohs(m.port) == port)
				tid = k;
		}
		if (tid < 0) {
			fprintf(stderr, "ct_fill: proxy %s has no target %s in lb_tnames\n",
				argv[2], argv[i]);
			goto out;
		}
		pos += snprintf(out + pos, sizeof(out) - pos, "%s\"%s\":%lld", i > 3 ? "," : "",
				argv[i], (long long)tid);
		if (pos >= (int)sizeof(out) - 4) {
			fprintf(stderr, "ct_fill: too many targets\n");
			goto out;
		}
	}
	printf("%s}}\n", out);
	ret = 0;
out:
	close(tfd);
	return ret;
}

/* fill MAP --flows N ... */
static int cmd_fill(int argc, char **argv)
{
	static const struct option opts[] = {
		{"flows", required_argument, NULL, 'n'},
		{"proxy-id", required_argument, NULL, 'p'},
		{"listen", required_argument, NULL, 'l'},
		{"target", required_argument, NULL, 't'},
		{"client-base", required_argument, NULL, 'c'},
		{"batch", required_argument, NULL, 'b'},
		{"udp", no_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct target targets[MAX_TARGETS];
	struct lb_ct_key *keys = NULL;
	struct lb_ct_val *vals = NULL;
	struct bpf_map_info info;
	uint32_t flows = 0, proxy_id = UINT32_MAX, batch = DEF_BATCH;
	struct lb_ip listen_addr = {{0}};
	uint32_t client_base = htonl(0x0a800001), done = 0, n_targets = 0, calls = 0;
	uint16_t listen_port = 0;
	uint8_t proto = LB_PROTO_TCP;
	const char *map;
	double t0;
	int fd, c, ret = 1;

	if (argc < 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	map = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *at;

		switch (c) {
		case 'n':
			if (parse_u32(optarg, MAX_FLOWS, &flows) || !flows)
				goto bad;
			break;
		case 'p':
			if (parse_u32(optarg, LB_MAX_PROXIES - 1, &proxy_id))
				goto bad;
			break;
		case 'l':
			if (parse_ipport(optarg, &listen_addr, &listen_port))
				goto bad;
			break;
		case 't':
			at = strchr(optarg, '@');
			if (!at || n_targets == MAX_TARGETS)
				goto bad;
			*at = 0;
			if (parse_u32(optarg, LB_MAX_TARGETS - 1, &targets[n_targets].id) ||
			    parse_ipport(at + 1, &targets[n_targets].addr,
					 &targets[n_targets].port))
				goto bad;
			n_targets++;
			break;
		case 'c':
			if (inet_pton(AF_INET, optarg, &client_base) != 1)
				goto bad;
			break;
		case 'b':
			if (parse_u32(optarg, 1u << 20, &batch) || !batch)
				goto bad;
			break;
		case 'u':
			proto = LB_PROTO_UDP;
			break;
		default:
			goto bad;
		}
	}
	if (optind != argc || !flows || proxy_id == UINT32_MAX || !listen_port || !n_targets)
		goto bad;
	if ((uint64_t)ntohl(client_base) + flows / PORTS_PER_IP + 1 > UINT32_MAX) {
		fprintf(stderr, "ct_fill: --client-base too high for %u flows\n", flows);
		return 2;
	}

	fd = open_pinned(map, sizeof(struct lb_ct_key), sizeof(struct lb_ct_val), &info);
	if (fd < 0)
		return 1;
	if ((uint64_t)2 * flows + LRU_SLACK > info.max_entries) {
		fprintf(stderr,
			"ct_fill: %s holds %u entries: %u flows (2 entries each) would be "
			"evicted by its LRU; raise settings.max-connections\n",
			map, info.max_entries, flows);
		goto out;
	}
	keys = calloc(2 * (size_t)batch, sizeof(*keys));
	vals = calloc(2 * (size_t)batch, sizeof(*vals));
	if (!keys || !vals) {
		fprintf(stderr, "ct_fill: out of memory\n");
		goto out;
	}

	t0 = now_s();
	while (done < flows) {
		uint32_t n = flows - done < batch ? flows - done : batch, i;
		uint64_t now = now_coarse_ns();
		__u32 count = 2 * n;
		LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);

		for (i = 0; i < n; i++) {
			uint32_t f = done + i;
			const struct target *t = &targets[f % n_targets];
			struct lb_ip client =
				lb_ip_from_v4(htonl(ntohl(client_base) + f / PORTS_PER_IP));
			uint16_t cport = htons((uint16_t)(FIRST_PORT + f % PORTS_PER_IP));
			struct lb_ct_key *rk = &keys[2 * i], *ok = &keys[2 * i + 1];
			struct lb_ct_val *rv = &vals[2 * i], *ov = &vals[2 * i + 1];

			memset(rk, 0, 2 * sizeof(*rk));
			memset(rv, 0, 2 * sizeof(*rv));
			/* The reply entry first, as the datapath writes them. */
			rk->saddr = t->addr;
			rk->sport = htons(t->port);
			rk->daddr = client;
			rk->dport = cport;
			rk->proto = proto;
			rk->dir = LB_DIR_REPLY;
			rv->nat_addr = listen_addr;
			rv->nat_port = htons(listen_port);
			rv->flags = LB_CT_F_REPLIED;
			rv->route = LB_ROUTE_DEFAULT;
			rv->proxy_id = proxy_id;
			rv->target_id = t->id;
			rv->created_ns = now;
			rv->last_seen_ns = now;

			ok->saddr = client;
			ok->sport = cport;
			ok->daddr = listen_addr;
			ok->dport = htons(listen_port);
			ok->proto = proto;
			ok->dir = LB_DIR_ORIG;
			ov->nat_addr = t->addr;
			ov->nat_port = htons(t->port);
			ov->flags = 0;
			ov->route = LB_ROUTE_DEFAULT;
			ov->proxy_id = proxy_id;
			ov->target_id = t->id;
			ov->created_ns = now;
			ov->last_seen_ns = now;
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, &bo)) {
			fprintf(stderr,
				"ct_fill: BPF_MAP_UPDATE_BATCH at flow %u: %s (%u written)\n", done,
				strerror(errno), count);
			goto out;
		}
		calls++;
		done += n;
	}
	printf("{\"flows\":%u,\"entries\":%u,\"map_max_entries\":%u,\"batch_calls\":%u,"
	       "\"seconds\":%.3f}\n",
	       flows, 2 * flows, info.max_entries, calls, now_s() - t0);
	ret = 0;
out:
	free(keys);
	free(vals);
	close(fd);
	return ret;
bad:
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ids"))
		return cmd_ids(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "fill"))
		return cmd_fill(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
