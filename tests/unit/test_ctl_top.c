// SPDX-License-Identifier: MIT
/*
 * Unit tests of lbctl top's computation (ctl/top.h): rates from counter deltas, counter
 * resets, frames built from two `stats` results, human units, the table and the command
 * line. No socket, no clock: the samples and the elapsed time are given.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	ck_assert_msg(v, "bad test JSON %s: %s", text, e.text);
	return v;
}

static const struct {
	json_int_t prev, cur;
	double elapsed, rate; /* NAN: no rate */
} rates[] = {
	{0, 10, 1.0, 10},
	{10, 10, 0.5, 0},
	{100, 150, 0.5, 100},
	{0, 3, 1.5, 2},
	{4611686018427387904LL, 4611686018427388904LL, 2.0, 500}, /* 2^62: no overflow */
	{100, 50, 1.0, NAN},					  /* reset: unknown, not -50 */
	{100, 0, 1.0, NAN},
	{0, 10, 0, NAN}, /* no time elapsed */
	{0, 10, -1.0, NAN},
	{0, 10, NAN, NAN},
	{-1, 10, 1.0, NAN},
};

START_TEST(test_rate)
{
	double r = -12345;
	bool ok = lb_top_rate(rates[_i].prev, rates[_i].cur, rates[_i].elapsed, &r);

	if (isnan(rates[_i].rate)) {
		ck_assert_msg(!ok, "case %d: a rate (%g) where there is none", _i, r);
		ck_assert(r == -12345); /* left alone */
	} else {
		ck_assert_msg(ok, "case %d: no rate", _i);
		ck_assert_msg(fabs(r - rates[_i].rate) < 1e-9, "case %d: %g, not %g", _i, r,
			      rates[_i].rate);
	}
}
END_TEST

/* A `stats` result: proxy web with targets t1 and t2, counters given as JSON objects. */
static json_t *stats(const char *web, const char *t1, const char *t2)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"proxies\":[{\"proxy\":\"web\",\"counters\":%s,\"targets\":["
		 "{\"target\":\"10.0.0.1:80\",\"status\":\"healthy\",\"draining\":false,"
		 "\"counters\":%s,\"weights\":[{\"group\":\"default\",\"configured\":50,"
		 "\"effective\":50}]},"
		 "{\"target\":\"10.0.0.2:80\",\"status\":\"unhealthy\",\"draining\":false,"
		 "\"counters\":%s,\"weights\":[{\"group\":\"default\",\"configured\":50,"
		 "\"effective\":0}]}]}],\"global\":{}}",
		 web, t1, t2);
	return J(buf);
}

/* Counters as `stats` writes them, all from a few numbers. */
static char *ctr(int newc, int active, int pkts, int bytes, int drops)
{
	char *s = NULL;

	ck_assert(asprintf(&s,
			   "{\"packets-in\":%d,\"bytes-in\":%d,\"packets-out\":%d,\"bytes-out\":%d,"
			   "\"new-connections\":%d,\"active-connections\":%d,"
			   "\"drops\":{\"no-backend\":%d,\"conntrack-insert\":%d}}",
			   pkts, bytes, pkts * 2, bytes * 2, newc, active, drops, drops) > 0);
	return s;
}

static json_t *sample(int k)
{
	char *a = ctr(10 * k, 3, 100 * k, 1000 * k, k), *b = ctr(6 * k, 2, 60 * k, 600 * k, k);
	char *c = ctr(4 * k, 1, 40 * k, 400 * k, 0);
	json_t *s = stats(a, b, c);

	free(a);
	free(b);
	free(c);
	return s;
}

static double rate_of(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(json_object_get(row, "rates"), key);

	ck_assert_msg(json_is_real(v), "%s is not a number", key);
	return json_real_value(v);
}

START_TEST(test_first_frame)
{
	json_t *cur = sample(1), *f = lb_top_frame(NULL, cur, 0);
	const json_t *web = json_array_get(f, 0), *t2;

	ck_assert_int_eq(json_array_size(f), 1);
	ck_assert_str_eq(json_string_value(json_object_get(web, "proxy")), "web");
	ck_assert(json_is_null(json_object_get(web, "rates")));
	ck_assert_int_eq(json_integer_value(json_object_get(web, "active-connections")), 3);
	t2 = json_array_get(json_object_get(web, "targets"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(t2, "target")), "10.0.0.2:80");
	ck_assert_str_eq(json_string_value(json_object_get(t2, "status")), "unhealthy");
	ck_assert(json_is_false(json_object_get(t2, "draining")));
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_array_get(json_object_get(t2, "weights"), 0), "effective")),
			 0);
	ck_assert(json_is_null(json_object_get(t2, "rates")));
	ck_assert(!json_object_get(web, "counters")); /* totals are not what top shows */
	json_decref(f);
	json_decref(cur);
}
END_TEST

START_TEST(test_rates_over_elapsed)
{
	json_t *prev = sample(1), *cur = sample(3), *f = lb_top_frame(prev, cur, 0.5);
	const json_t *web = json_array_get(f, 0), *t1;

	/* web: 10 -> 30 new connections in 0.5 s */
	ck_assert(fabs(rate_of(web, "new-connections") - 40) < 1e-9);
	ck_assert(fabs(rate_of(web, "packets-in") - 400) < 1e-9);
	ck_assert(fabs(rate_of(web, "bytes-in") - 4000) < 1e-9);
	ck_assert(fabs(rate_of(web, "packets-out") - 800) < 1e-9);
	ck_assert(fabs(rate_of(web, "bytes-out") - 8000) < 1e-9);
	ck_assert(fabs(rate_of(web, "drops") - 8) < 1e-9); /* both reasons, 2 -> 6 */
	t1 = json_array_get(json_object_get(web, "targets"), 0);
	ck_assert(fabs(rate_of(t1, "new-connections") - 24) < 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(t1, "active-connections")), 2);
	json_decref(f);
	json_decref(cur);
	json_decref(prev);
}
END_TEST

/* Counters that went backwards have no rate; the others keep theirs. */
START_TEST(test_reset)
{
	json_t *prev = sample(5), *cur, *f;
	const json_t *web, *rates;
	char *a = ctr(1, 0, 600, 6000, 5), *b = ctr(30, 0, 300, 3000, 5), *c = ctr(0, 0, 0, 0, 0);

	cur = stats(a, b, c);
	f = lb_top_frame(prev, cur, 1.0);
	web = json_array_get(f, 0);
	rates = json_object_get(web, "rates");
	ck_assert(json_is_null(json_object_get(rates, "new-connections"))); /* 50 -> 1 */
	ck_assert(fabs(rate_of(web, "packets-in") - 100) < 1e-9);
	ck_assert(fabs(rate_of(web, "drops") - 0) < 1e-9);
	rates = json_object_get(json_array_get(json_object_get(web, "targets"), 1), "rates");
	ck_assert(json_is_null(json_object_get(rates, "packets-in")));
	ck_assert(json_is_null(json_object_get(rates, "bytes-out")));
	free(a);
	free(b);
	free(c);
	json_decref(f);
	json_decref(cur);
	json_decref(prev);
}
END_TEST

/* Rows are matched by name, not position; a new one has no rates yet. */
START_TEST(test_matched_by_name)
{
	json_t *prev = J("{\"proxies\":[{\"proxy\":\"api\",\"counters\":{\"new-connections\":0},"
			 "\"targets\":[]},{\"proxy\":\"web\",\"counters\":{\"new-connections\":10},"
			 "\"targets\":[{\"target\":\"10.0.0.1:80\",\"counters\":"
			 "{\"new-connections\":4}}]}]}");
	json_t *cur = J("{\"proxies\":[{\"proxy\":\"web\",\"counters\":{\"new-connections\":20},"
			"\"targets\":[{\"target\":\"10.0.0.9:80\",\"counters\":"
			"{\"new-connections\":1}},{\"target\":\"10.0.0.1:80\",\"counters\":"
			"{\"new-connections\":8}}]},{\"proxy\":\"new\",\"counters\":"
			"{\"new-connections\":5},\"targets\":[]}]}");
	json_t *f = lb_top_frame(prev, cur, 2.0);
	const json_t *web = json_array_get(f, 0), *targets = json_object_get(web, "targets");

	ck_assert_int_eq(json_array_size(f), 2);
	ck_assert(fabs(rate_of(web, "new-connections") - 5) < 1e-9);
	ck_assert(json_is_null(json_object_get(json_array_get(targets, 0), "rates")));
	ck_assert(fabs(rate_of(json_array_get(targets, 1), "new-connections") - 2) < 1e-9);
	ck_assert(json_is_null(json_object_get(json_array_get(f, 1), "rates")));
	/* Counters stats did not report have no rate, and no active count. */
	ck_assert(json_is_null(json_object_get(json_object_get(web, "rates"), "bytes-in")));
	ck_assert(json_is_null(json_object_get(web, "active-connections")));
	json_decref(f);
	json_decref(cur);
	json_decref(prev);
}
END_TEST

static const struct {
	double v;
	const char *unit, *text;
} humans[] = {
	{0, "", "0"},
	{0.5, "", "0.5"},
	{2, "", "2.0"},
	{9.94, "", "9.9"},
	{9.96, "", "10"},
	{12.4, "", "12"},
	{999.4, "", "999"},
	{999.6, "", "1.0k"},
	{1234, "", "1.2k"},
	{45678, "", "46k"},
	{3.5e9, "", "3.5G"},
	{0, "B/s", "0 B/s"},
	{512, "B/s", "512 B/s"},
	{1234567, "B/s", "1.2 MB/s"},
	{25e6, "B/s", "25 MB/s"},
	{NAN, "B/s", "-"},
	{-1, "", "-"},
};

START_TEST(test_human)
{
	char buf[32];

	ck_assert_str_eq(lb_top_human(humans[_i].v, humans[_i].unit, buf, sizeof(buf)),
			 humans[_i].text);
}
END_TEST

START_TEST(test_table)
{
	json_t *prev = sample(1), *cur = sample(2), *f;
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	f = lb_top_frame(prev, cur, 0.25);
	lb_top_print_table(out, f);
	fclose(out);
	ck_assert_str_eq(buf, "PROXY/TARGET   STATUS     WEIGHT  NEW/S  ACTIVE  PKTS-IN/S  "
			      "BYTES-IN/S  PKTS-OUT/S  BYTES-OUT/S  DROPS/S\n"
			      "web                               40     3       400        4.0 kB/s"
			      "    800         8.0 kB/s     8.0\n"
			      "  10.0.0.1:80  healthy    50      24     2       240        2.4 kB/s"
			      "    480         4.8 kB/s     8.0\n"
			      "  10.0.0.2:80  unhealthy  0       16     1       160        1.6 kB/s"
			      "    320         3.2 kB/s     0\n");
	free(buf);
	json_decref(f);

	f = lb_top_frame(NULL, cur, 0);
	buf = NULL;
	out = open_memstream(&buf, &len);
	lb_top_print_table(out, f);
	fclose(out);
	ck_assert_msg(strstr(buf, "\nweb                               -      3       -  "), "%s",
		      buf);
	free(buf);
	json_decref(f);

	f = json_array();
	buf = NULL;
	out = open_memstream(&buf, &len);
	lb_top_print_table(out, f);
	fclose(out);
	ck_assert_str_eq(buf, "no proxies\n");
	free(buf);
	json_decref(f);
	json_decref(cur);
	json_decref(prev);
}
END_TEST

/* Options the parser does not know: --json is a global one. */
static int extra(void *arg, int argc, char **argv, int *i, char *err, size_t errlen)
{
	if (strcmp(argv[*i], "--json"))
		return 0;
	*(bool *)arg = true;
	return 1;
}

static int parse(struct lb_top_opts *o, bool *json, char *err, size_t errlen, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, errlen);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	lb_top_opts_init(o);
	*json = false;
	err[0] = '\0';
	return lb_top_parse_args(argc, argv, o, extra, json, err, errlen);
}

START_TEST(test_args)
{
	struct lb_top_opts o;
	char err[LB_CLI_ERR_MAX];
	bool json;

	ck_assert_int_eq(parse(&o, &json, err, sizeof(err), NULL), 0);
	ck_assert(!o.proxy && o.interval_ms == 1000 && o.count == 0 && !json);
	ck_assert_int_eq(parse(&o, &json, err, sizeof(err), "web", "--interval", "0.5", "--count",
			       "3", "--json", NULL),
			 0);
	ck_assert_str_eq(o.proxy, "web");
	ck_assert(o.interval_ms == 500 && o.count == 3 && json);
	ck_assert_int_eq(parse(&o, &json, err, sizeof(err), "--interval=250ms", "--count=2", "--",
			       "-odd-name", NULL),
			 0);
	ck_assert(o.interval_ms == 250 && o.count == 2 && !strcmp(o.proxy, "-odd-name"));
	ck_assert_int_eq(parse(&o, &json, err, sizeof(err), "--interval", "2", NULL), 0);
	ck_assert_int_eq(o.interval_ms, 2000);
}
END_TEST

static const char *const refused[][4] = {
	{"--interval", "0", NULL, "--interval needs SECONDS"},
	{"--interval", "-1", NULL, "--interval needs SECONDS"},
	{"--interval", "soon", NULL, "--interval needs SECONDS"},
	{"--interval", NULL, NULL, "--interval needs SECONDS"},
	{"--count", "0", NULL, "--count needs N"},
	{"--count", "-2", NULL, "--count needs N"},
	{"--count", "2x", NULL, "--count needs N"},
	{"--count", NULL, NULL, "--count needs N"},
	{"web", "api", NULL, "unexpected argument \"api\""},
	{"--colour", NULL, NULL, "unknown option \"--colour\""},
	{"", NULL, NULL, "PROXY is empty"},
};

START_TEST(test_refused)
{
	struct lb_top_opts o;
	char err[LB_CLI_ERR_MAX];
	bool json;

	ck_assert_int_eq(parse(&o, &json, err, sizeof(err), refused[_i][0], refused[_i][1],
			       refused[_i][2], NULL),
			 -EINVAL);
	ck_assert_msg(strstr(err, refused[_i][3]), "case %d: \"%s\"", _i, err);
}
END_TEST

static Suite *ctl_top_suite(void)
{
	Suite *s = suite_create("ctl_top");
	TCase *tc;

	tc = tcase_create("rates");
	tcase_add_loop_test(tc, test_rate, 0, N(rates));
	tcase_add_test(tc, test_first_frame);
	tcase_add_test(tc, test_rates_over_elapsed);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_matched_by_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_loop_test(tc, test_human, 0, N(humans));
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("args");
	tcase_add_test(tc, test_args);
	tcase_add_loop_test(tc, test_refused, 0, N(refused));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctl_top_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
