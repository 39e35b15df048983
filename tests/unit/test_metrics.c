// SPDX-License-Identifier: MIT
/*
 * Unit tests of the Prometheus formatter (daemon/metrics.h): the exact text of a small
 * `stats` result, label escaping, one HELP and TYPE per family, sorted and stable output.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static json_t *stats_of(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	ck_assert_msg(j, "bad test JSON: %s", je.text);
	return j;
}

#define COUNTERS(pi, po)                                                                      \
	"{\"packets-in\":" #pi ",\"bytes-in\":500,\"packets-out\":" #po ",\"bytes-out\":900," \
	"\"new-connections\":2,\"active-connections\":1,"                                     \
	"\"drops\":{\"no-backend\":0,\"conntrack-insert\":3}}"

/* Targets and proxies out of order, one proxy name that needs escaping. */
static const char stats_text[] =
	"{\"proxies\":["
	"{\"proxy\":\"web\",\"counters\":" COUNTERS(
		10,
		8) ",\"targets\":["
		   "{\"target\":\"10.0.0.2:80\",\"status\":\"unhealthy\",\"draining\":false,"
		   "\"counters\":" COUNTERS(
			   4,
			   3) ",\"weights\":[{\"group\":\"default\",\"configured\":30,"
			      "\"effective\":0}]},"
			      "{\"target\":\"10.0.0.1:80\",\"status\":\"healthy\",\"draining\":false,"
			      "\"counters\":" COUNTERS(
				      6,
				      5) ",\"weights\":[{\"group\":\"default\",\"configured\":70,"
					 "\"effective\":100},{\"group\":\"10.9.0.0/16\",\"configured\":100,\"effective\":100}]}]},"
					 "{\"proxy\":\"a\\\"b\\\\c\\nd\",\"counters\":" COUNTERS(
						 1,
						 1) ",\"targets\":[]}],"
						    "\"global\":{\"pass-not-ip\":7,\"dnat\":20,\"events-lost\":4,\"conntrack-confirmed\":9},"
						    "\"conntrack\":{\"entries\":1800,\"capacity\":2256}}";

START_TEST(test_exact_text)
{
	json_t *stats = stats_of(stats_text);
	size_t len = 0;
	char *text = lb_metrics_format(stats, &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_msg(strstr(text, "# HELP lbd_up 1 while lbd answers.\n# TYPE lbd_up gauge\n"
				   "lbd_up 1\n"),
		      "%s", text);
	/* Escaped label value: backslash, quote and newline. */
	ck_assert_msg(strstr(text, "lbd_packets_total{proxy=\"a\\\"b\\\\c\\nd\",direction=\"in\"} "
				   "1\n"),
		      "%s", text);
	/* Sorted samples: "a..." before "web", in before out. */
	ck_assert_msg(strstr(text,
			     "# TYPE lbd_packets_total counter\n"
			     "lbd_packets_total{proxy=\"a\\\"b\\\\c\\nd\",direction=\"in\"} 1\n"
			     "lbd_packets_total{proxy=\"a\\\"b\\\\c\\nd\",direction=\"out\"} 1\n"
			     "lbd_packets_total{proxy=\"web\",direction=\"in\"} 10\n"
			     "lbd_packets_total{proxy=\"web\",direction=\"out\"} 8\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "lbd_drops_total{proxy=\"web\",reason=\"conntrack-insert\"} 3\n"
				   "lbd_drops_total{proxy=\"web\",reason=\"no-backend\"} 0\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "# TYPE lbd_connections_active gauge\n"), "%s", text);
	ck_assert_msg(strstr(text, "# TYPE lbd_connections_new_total counter\n"), "%s", text);
	/* Targets: sorted, healthy 0/1, weights per group. */
	ck_assert_msg(strstr(text, "lbd_target_packets_total{proxy=\"web\",target=\"10.0.0.1:80\","
				   "direction=\"in\"} 6\n"
				   "lbd_target_packets_total{proxy=\"web\",target=\"10.0.0.1:80\","
				   "direction=\"out\"} 5\n"
				   "lbd_target_packets_total{proxy=\"web\",target=\"10.0.0.2:80\","
				   "direction=\"in\"} 4\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "# TYPE lbd_target_healthy gauge\n"
				   "lbd_target_healthy{proxy=\"web\",target=\"10.0.0.1:80\"} 1\n"
				   "lbd_target_healthy{proxy=\"web\",target=\"10.0.0.2:80\"} 0\n"),
		      "%s", text);
	ck_assert_msg(strstr(text,
			     "lbd_target_weight_effective{proxy=\"web\",target=\"10.0.0.1:80\","
			     "group=\"10.9.0.0/16\"} 100\n"
			     "lbd_target_weight_effective{proxy=\"web\",target=\"10.0.0.1:80\","
			     "group=\"default\"} 100\n"
			     "lbd_target_weight_effective{proxy=\"web\",target=\"10.0.0.2:80\","
			     "group=\"default\"} 0\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "# TYPE lbd_datapath_packets_total counter\n"
				   "lbd_datapath_packets_total{reason=\"dnat\"} 20\n"
				   "lbd_datapath_packets_total{reason=\"pass-not-ip\"} 7\n"),
		      "%s", text);
	/* Lost events are not packets: a family of their own. */
	ck_assert_msg(
		strstr(text, "# TYPE lbd_events_lost_total counter\nlbd_events_lost_total 4\n"),
		"%s", text);
	ck_assert_msg(!strstr(text, "reason=\"events-lost\""), "%s", text);
	ck_assert_msg(strstr(text, "lbd_conntrack_confirmed_total 9\n"), "%s", text);
	ck_assert_msg(!strstr(text, "reason=\"conntrack-confirmed\""), "%s", text);
	/* The table's fill, for "nearly full" alerts. */
	ck_assert_msg(
		strstr(text, "# TYPE lbd_conntrack_entries gauge\nlbd_conntrack_entries 1800\n"),
		"%s", text);
	ck_assert_msg(
		strstr(text, "# TYPE lbd_conntrack_capacity gauge\nlbd_conntrack_capacity 2256\n"),
		"%s", text);
	ck_assert_uint_eq(text[len - 1], '\n');
	free(text);
	json_decref(stats);
}
END_TEST

/* Every family has exactly one HELP and one TYPE line, right before its samples. */
START_TEST(test_help_type_once)
{
	json_t *stats = stats_of(stats_text);
	char *text = lb_metrics_format(stats, NULL), *line, *save = NULL;
	char family[128] = "", seen[64][128];
	size_t n_seen = 0, i;
	int expect = 0; /* 0: anything, 1: TYPE of family next */

	ck_assert_ptr_nonnull(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			ck_assert_int_eq(expect, 0);
			ck_assert_int_eq(sscanf(line + 7, "%127s", name), 1);
			for (i = 0; i < n_seen; i++)
				ck_assert_msg(strcmp(seen[i], name), "second HELP for %s", name);
			ck_assert_uint_lt(n_seen, 64);
			strcpy(seen[n_seen++], name);
			strcpy(family, name);
			expect = 1;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			ck_assert_int_eq(expect, 1);
			ck_assert_int_eq(sscanf(line + 7, "%127s", name), 1);
			ck_assert_str_eq(name, family);
			ck_assert_msg(strstr(line, " counter") || strstr(line, " gauge"), "%s",
				      line);
			/* Counters, and only counters, end in _total. */
			ck_assert_int_eq(strstr(line, " counter") != NULL,
					 strlen(name) > 6 &&
						 !strcmp(name + strlen(name) - 6, "_total"));
			expect = 0;
		} else {
			ck_assert_int_eq(expect, 0);
			ck_assert_msg(!strncmp(line, family, strlen(family)) &&
					      (line[strlen(family)] == '{' ||
					       line[strlen(family)] == ' '),
				      "sample %s outside its family %s", line, family);
		}
	}
	ck_assert_uint_eq(n_seen, 18);
	free(text);
	json_decref(stats);
}
END_TEST

/* The same stats give the same text; so does reordering proxies and targets. */
START_TEST(test_stable)
{
	json_t *a = stats_of(stats_text), *b = stats_of(stats_text);
	json_t *proxies = json_object_get(b, "proxies"),
	       *web = json_incref(json_array_get(proxies, 0));
	json_t *targets = json_object_get(web, "targets");
	json_t *t0 = json_incref(json_array_get(targets, 0));
	char *ta, *tb, *ta2;

	json_array_remove(proxies, 0);
	json_array_append_new(proxies, web);
	json_array_remove(targets, 0);
	json_array_append_new(targets, t0);
	ta = lb_metrics_format(a, NULL);
	ta2 = lb_metrics_format(a, NULL);
	tb = lb_metrics_format(b, NULL);
	ck_assert_str_eq(ta, ta2);
	ck_assert_str_eq(ta, tb);
	free(ta);
	free(ta2);
	free(tb);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* Nothing but lbd_up for an empty result; members of the wrong type are skipped. */
/* SNI-spliced payload is a family of its own, beside (never inside) the IPv4 bytes. */
START_TEST(test_payload_apart)
{
	json_t *stats = stats_of("{\"proxies\":[{\"proxy\":\"tls\",\"counters\":" COUNTERS(
		1, 1) ",\"targets\":[{\"target\":\"10.0.0.1:8443\",\"status\":\"healthy\","
		      "\"counters\":{\"bytes-in\":0,\"bytes-out\":0,\"payload-bytes-in\":517,"
		      "\"payload-bytes-out\":4100}}]}]}");
	char *text = lb_metrics_format(stats, NULL);

	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "# TYPE lbd_target_payload_bytes_total counter\n"
				   "lbd_target_payload_bytes_total{proxy=\"tls\",target=\"10.0.0.1:"
				   "8443\",direction=\"in\"} 517\n"
				   "lbd_target_payload_bytes_total{proxy=\"tls\",target=\"10.0.0.1:"
				   "8443\",direction=\"out\"} 4100\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "lbd_target_bytes_total{proxy=\"tls\",target=\"10.0.0.1:8443\","
				   "direction=\"in\"} 0\n"),
		      "%s", text);
	free(text);
	json_decref(stats);
}
END_TEST

START_TEST(test_empty_and_odd)
{
	json_t *stats = stats_of("{\"proxies\":[{\"proxy\":3},{\"proxy\":\"x\",\"counters\":"
				 "{\"packets-in\":\"many\"}}],\"global\":{\"dnat\":null}}");
	char *text = lb_metrics_format(stats, NULL);

	ck_assert_str_eq(text,
			 "# HELP lbd_up 1 while lbd answers.\n# TYPE lbd_up gauge\nlbd_up 1\n");
	free(text);
	json_decref(stats);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("format");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_exact_text);
	tcase_add_test(tc, test_help_type_once);
	tcase_add_test(tc, test_stable);
	tcase_add_test(tc, test_empty_and_odd);
	tcase_add_test(tc, test_payload_apart);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
