// SPDX-License-Identifier: MIT
/*
 * The inner maps of a map sync (daemon/dataplane/inner_maps.h) against real maps: a table
 * cache that finds only equal inputs, inserts into a hash of maps queued past one batch,
 * and deletes that take what is there and leave the rest.
 */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "inner_maps.h"
#include "maglev.h"

/* An inner map as lbd makes them: an array whose size may differ from the template's. */
static int inner_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "im_t", 4, 8, 1, &o);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* An outer hash of maps of such arrays, as lb_maglev and lb_gsets are. */
static int outer_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int inner = inner_map(), fd;

	o.inner_map_fd = inner;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH_OF_MAPS, "im_outer", 4, 4, 1024, &o);
	ck_assert_int_ge(fd, 0);
	close(inner);
	return fd;
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static void targets(struct lb_maglev_target *t, size_t n, uint32_t w0)
{
	size_t i;

	memset(t, 0, n * sizeof(*t));
	for (i = 0; i < n; i++) {
		lb_maglev_target_v4(&t[i], htonl(0x0a020002 + ((uint32_t)i << 8)), 8080);
		t[i].weight = i ? 50 : w0;
	}
}

/* Equal targets find the map; another weight, port or count does not. */
START_TEST(test_cache_finds_equal_inputs_only)
{
	struct lb_inner_cache c = {0};
	struct lb_maglev_target a[3], b[3];
	int fd = inner_map(), i, fds[200];

	targets(a, 3, 50);
	ck_assert_int_eq(lb_inner_cache_get(&c, a, sizeof(a)), -1);
	ck_assert_int_eq(lb_inner_cache_put(&c, a, sizeof(a), fd), 0);
	ck_assert_int_ge(lb_inner_cache_get(&c, a, sizeof(a)), 0);
	ck_assert_uint_eq(map_id(lb_inner_cache_get(&c, a, sizeof(a))), map_id(fd));
	close(fd); /* the cache holds its own */
	ck_assert_uint_gt(map_id(lb_inner_cache_get(&c, a, sizeof(a))), 0);
	ck_assert_int_eq(lb_inner_cache_get(&c, a, 2 * sizeof(a[0])), -1);
	targets(b, 3, 51);
	ck_assert_int_eq(lb_inner_cache_get(&c, b, sizeof(b)), -1);
	targets(b, 3, 50);
	b[2].port = 8081;
	ck_assert_int_eq(lb_inner_cache_get(&c, b, sizeof(b)), -1);
	/* Growing past its first size keeps every entry findable. */
	for (i = 0; i < 200; i++) {
		fds[i] = inner_map();
		targets(b, 3, 100 + (uint32_t)i);
		ck_assert_int_eq(lb_inner_cache_put(&c, b, sizeof(b), fds[i]), 0);
	}
	for (i = 0; i < 200; i++) {
		targets(b, 3, 100 + (uint32_t)i);
		ck_assert_uint_eq(map_id(lb_inner_cache_get(&c, b, sizeof(b))), map_id(fds[i]));
		close(fds[i]);
	}
	ck_assert_uint_eq(c.n, 201);
	lb_inner_cache_clear(&c);
	ck_assert_int_eq(lb_inner_cache_get(&c, a, sizeof(a)), -1);
}
END_TEST

/* More inserts than one batch, some sharing one inner map: all land; deletes take what is there. */
START_TEST(test_outer_puts_and_deletes)
{
	struct lb_outer_puts *q = malloc(sizeof(*q));
	int outer = outer_map(), shared = inner_map(), own = inner_map();
	uint32_t key, id, keys[4] = {3, 5000, 7, 5001};
	size_t n = LB_OUTER_BATCH + 44;

	ck_assert_ptr_nonnull(q);
	lb_outer_puts_init(q, outer);
	for (key = 0; key < n; key++)
		ck_assert_int_eq(lb_outer_put(q, key, key == 9 ? own : shared), 0);
	/* A full queue was written when the next insert came: the first batch is there. */
	ck_assert_int_eq(bpf_map_lookup_elem(outer, &(uint32_t){0}, &id), 0);
	ck_assert_int_ne(bpf_map_lookup_elem(outer, &(uint32_t){n - 1}, &id), 0);
	ck_assert_int_eq(lb_outer_flush(q), 0);
	ck_assert_uint_eq(q->n, 0);
	for (key = 0; key < n; key++) {
		ck_assert_int_eq(bpf_map_lookup_elem(outer, &key, &id), 0);
		ck_assert_uint_eq(id, map_id(key == 9 ? own : shared));
	}
	/* Two there, two never were: the two go, nothing else does. */
	ck_assert_int_eq(lb_outer_delete(outer, keys, 4), 0);
	ck_assert_int_ne(bpf_map_lookup_elem(outer, &(uint32_t){3}, &id), 0);
	ck_assert_int_ne(bpf_map_lookup_elem(outer, &(uint32_t){7}, &id), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(outer, &(uint32_t){4}, &id), 0);
	ck_assert_int_eq(lb_outer_delete(outer, keys, 0), 0);
	close(shared);
	close(own);
	close(outer);
	free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inner_maps");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: creating BPF maps needs root\n");
		return 77;
	}
	tcase_add_test(tc, test_cache_finds_equal_inputs_only);
	tcase_add_test(tc, test_outer_puts_and_deletes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
