// SPDX-License-Identifier: MIT
/*
 * lb_syn sized as lbd sizes it (common/lb_ct_size.h) holds every flow it is sized for, even
 * when the flows arrive on every CPU in turn: the kernel's LRU keeps free entries aside per
 * CPU and, on Linux 6.1, evicts live ones early to refill a CPU's batch. Needs root.
 */
#include <arpa/inet.h>
#include <check.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "dpfix.h"
#include "lb_ct_size.h"
#include "pktbuild.h"

#define FLOWS 512
#define BURST 32 /* SYNs on one CPU before moving to the next */

static void on_cpu(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(s), &s), 0);
}

START_TEST(test_every_flow_fits_from_every_cpu)
{
	struct lb_group g;
	int online = (int)sysconf(_SC_NPROCESSORS_ONLN), i, verdict;
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len, out_len;

	reset_maps();
	three_backends(&g, 8080);
	put_group_def(1, &g);
	put_listener(IP(10, 1, 0, 1), 80, IPPROTO_TCP, 1, 1, 0);
	for (i = 0; i < FLOWS; i++) {
		struct pkt_spec syn = {.saddr = htonl(0xc6120000 + i),
				       .daddr = IP(10, 1, 0, 1),
				       .sport = 40000,
				       .dport = 80,
				       .proto = IPPROTO_TCP,
				       .tcp_flags = 0x02};

		if (i % BURST == 0)
			on_cpu((i / BURST) % online);
		len = pkt_build(&syn, in);
		ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	}
	ck_assert_uint_eq(map_count(skel->maps.lb_syn), 2 * FLOWS);
}
END_TEST

static Suite *lru_suite(void)
{
	Suite *s = suite_create("lru");
	TCase *tc = tcase_create("lru");

	tcase_add_test(tc, test_every_flow_fits_from_every_cpu);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	dpfix_syn_entries = lb_ct_entries(FLOWS, libbpf_num_possible_cpus());
	return dpfix_main(lru_suite);
}
