// SPDX-License-Identifier: MIT
/*
 * lb_syn sized as lbd sizes it (common/lb_ct_size.h) holds every flow it is sized for, even
 * when other CPUs sit on free entries: the kernel's LRU hands them out per CPU in batches,
 * and evicts live entries to refill a CPU's batch while others keep theirs (without the
 * reserve, 896 of 1,024 entries stay on 2 CPUs, on Linux 6.1 and 6.18 alike). Needs root.
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

		/*
		 * One flow on each CPU but the last, which then takes all the others: each of
		 * those CPUs keeps the rest of its batch of free entries to itself, and the
		 * last one must find its entries anyway.
		 */
		on_cpu(i < online - 1 ? i : online - 1);
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
