// SPDX-License-Identifier: MIT
/*
 * Manual overrides in the health state (daemon/policy/health.c): set-target-status emits
 * the events a real failure and recovery emit, and clearing a forced failure ramps the
 * target back in (25, 50, 75, 100 %) instead of handing it its full weight at once.
 * Checks stay disabled here: no probe runs, the ramp is paced by a timer.
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <uv.h>

#include "health.h"

#define CONFIG                                                                                      \
	"{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": [\"lo\"], \"port\": 80}, " \
	"\"default-target\": [{\"ip\": \"10.0.0.1\", \"port\": 80, \"weight\": 50},"                \
	" {\"ip\": \"10.0.0.2\", \"port\": 80, \"weight\": 50}]}],"                                 \
	" \"settings\": {\"health-check-defaults\": {\"interval-ms\": 1000, \"timeout-ms\": 500}}}"

/* What the callbacks saw. */
struct seen {
	char events[8][64]; /* "target-unhealthy override" */
	size_t n_events, changed;
};

static void on_changed(void *ctx, const char *proxy)
{
	((struct seen *)ctx)->changed++;
}

static void on_event(void *ctx, json_t *ev)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->n_events, 8);
	snprintf(s->events[s->n_events++], sizeof(s->events[0]), "%s %s",
		 json_string_value(json_object_get(ev, "type")),
		 json_string_value(json_object_get(ev, "cause")));
}

static struct lb_config *config_of(const char *text)
{
	struct lb_config *cfg = NULL;
	char err[512];

	ck_assert_msg(lb_config_parse_string(text, &cfg, err, sizeof(err)) == 0, "%s", err);
	return cfg;
}

static struct lb_config *config(void)
{
	return config_of(CONFIG);
}

/* The address @s, IPv4 (IPv4-mapped) or IPv6. */
static struct lb_ip ip_of(const char *s)
{
	struct lb_ip a;

	if (!strchr(s, ':'))
		return lb_ip_from_v4(inet_addr(s));
	ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* The same as a pointer the calls take (valid to the end of the enclosing block). */
#define ip(s) ((const struct lb_ip[]){ip_of(s)})

static struct lb_health_state state_of(struct lb_health *h)
{
	return lb_health_state(h, "web", ip("10.0.0.2"), 80);
}

START_TEST(test_override_emits_like_a_real_transition)
{
	struct seen s = {0};
	uv_loop_t *loop = uv_default_loop();
	struct lb_health *h = lb_health_new(loop, on_changed, on_event, &s);
	struct lb_config *cfg = config();

	lb_health_sync(h, cfg);
	ck_assert_int_eq(
		lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_UNHEALTHY), 0);
	ck_assert_uint_eq(s.n_events, 1);
	ck_assert_str_eq(s.events[0], "target-unhealthy override");
	ck_assert(!state_of(h).healthy);
	/* The same again changes nothing and says nothing. */
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_UNHEALTHY);
	ck_assert_uint_eq(s.n_events, 1);
	/* Forced healthy: the event of a recovery, and full weight at once (the operator's word).
	 */
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_HEALTHY);
	ck_assert_uint_eq(s.n_events, 2);
	ck_assert_str_eq(s.events[1], "target-healthy override");
	ck_assert(state_of(h).healthy);
	ck_assert_uint_eq(state_of(h).recovery_step, 0);
	/* From healthy by hand back to the checks, which (off) find it healthy: no event. */
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_NONE);
	ck_assert_uint_eq(s.n_events, 2);
	ck_assert_uint_eq(state_of(h).recovery_step, 0);
	ck_assert_int_eq(lb_health_set_override(h, "web", ip("10.9.9.9"), 80, LB_OVERRIDE_NONE),
			 -ENOENT);

	lb_health_free(h);
	uv_run(loop, UV_RUN_DEFAULT);
	lb_config_free(cfg);
}
END_TEST

static void stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Run the loop for @ms. */
static void run_for(uv_loop_t *loop, uint64_t ms)
{
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, stop_loop, ms, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

START_TEST(test_auto_after_unhealthy_ramps)
{
	struct seen s = {0};
	uv_loop_t *loop = uv_default_loop();
	struct lb_health *h = lb_health_new(loop, on_changed, on_event, &s);
	struct lb_config *cfg = config();
	uint8_t steps[4];
	size_t i;

	lb_health_sync(h, cfg);
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_UNHEALTHY);
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_NONE);
	ck_assert_uint_eq(s.n_events, 2);
	ck_assert_str_eq(s.events[1], "target-healthy override");
	ck_assert(state_of(h).healthy);
	/* One step per check interval (1 s here): 25 %, 50 %, 75 %, then full. */
	for (i = 0; i < 4; i++) {
		steps[i] = state_of(h).recovery_step;
		run_for(loop, 1050);
	}
	ck_assert_uint_eq(steps[0], 1);
	ck_assert_uint_eq(steps[1], 2);
	ck_assert_uint_eq(steps[2], 3);
	ck_assert_uint_eq(steps[3], 0);
	ck_assert(state_of(h).healthy);
	ck_assert_uint_eq(s.n_events, 2); /* the ramp is no verdict: no more events */

	lb_health_free(h);
	uv_run(loop, UV_RUN_DEFAULT);
	lb_config_free(cfg);
}
END_TEST

/* One IPv4 and one IPv6 target whose last 32 bits are the IPv4 address: never confused. */
#define CONFIG6                                                                                     \
	"{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": [\"lo\"], \"port\": 80}, " \
	"\"default-target\": [{\"ip\": \"10.0.0.2\", \"port\": 80, \"weight\": 50},"                \
	" {\"ip\": \"2001:db8::a00:2\", \"port\": 80, \"weight\": 50}]}]}"

/* The "status" lb_health_targets_json gives @target of proxy web, or NULL. */
static const char *status_in_json(const struct lb_health *h, const char *target)
{
	json_t *arr = lb_health_targets_json(h, "web"), *o;
	const char *status = NULL;
	static char buf[32];
	size_t i;

	json_array_foreach (arr, i, o) {
		if (!strcmp(json_string_value(json_object_get(o, "target")), target)) {
			snprintf(buf, sizeof(buf), "%s",
				 json_string_value(json_object_get(o, "status")));
			status = buf;
		}
	}
	json_decref(arr);
	return status;
}

START_TEST(test_override_ipv6_target)
{
	struct seen s = {0};
	uv_loop_t *loop = uv_default_loop();
	struct lb_health *h = lb_health_new(loop, on_changed, on_event, &s);
	struct lb_config *cfg = config_of(CONFIG6);

	lb_health_sync(h, cfg);
	ck_assert(lb_health_has(h, "web", ip("2001:db8::a00:2"), 80));
	ck_assert(!lb_health_has(h, "web", ip("2001:db8::a00:2"), 81));
	ck_assert(!lb_health_has(h, "web", ip("2001:db8:1::a00:2"), 80));
	ck_assert_int_eq(
		lb_health_set_override(h, "web", ip("2001:db8::a00:2"), 80, LB_OVERRIDE_UNHEALTHY),
		0);
	ck_assert_uint_eq(s.n_events, 1);
	ck_assert_str_eq(s.events[0], "target-unhealthy override");
	ck_assert(!lb_health_state(h, "web", ip("2001:db8::a00:2"), 80).healthy);
	ck_assert(lb_health_state(h, "web", ip("10.0.0.2"), 80).healthy);
	ck_assert_str_eq(status_in_json(h, "[2001:db8::a00:2]:80"), "unhealthy");
	ck_assert_str_eq(status_in_json(h, "10.0.0.2:80"), "healthy");
	/* And the other way round. */
	lb_health_set_override(h, "web", ip("2001:db8::a00:2"), 80, LB_OVERRIDE_NONE);
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_UNHEALTHY);
	ck_assert(lb_health_state(h, "web", ip("2001:db8::a00:2"), 80).healthy);
	ck_assert(!lb_health_state(h, "web", ip("10.0.0.2"), 80).healthy);
	ck_assert_int_eq(lb_health_set_override(h, "web", ip("2001:db8::2"), 80, LB_OVERRIDE_NONE),
			 -ENOENT);

	lb_health_free(h);
	uv_run(loop, UV_RUN_DEFAULT);
	lb_config_free(cfg);
}
END_TEST

/*
 * A target listed by two groups, with its own health-check in the second only: that
 * check is the one run, whichever group comes first.
 */
START_TEST(test_the_given_check_wins_over_the_defaults)
{
	struct seen s = {0};
	uv_loop_t *loop = uv_default_loop();
	struct lb_health *h = lb_health_new(loop, on_changed, on_event, &s);
	struct lb_config *cfg = config_of(
		"{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": [\"lo\"], "
		"\"port\": 80}, \"default-target\": {\"ip\": \"10.0.0.1\", \"port\": 80}, "
		"\"source-routes\": [{\"source\": \"10.1.0.5\", \"target\": {\"ip\": "
		"\"10.0.0.1\", \"port\": 80, \"health-check\": {\"type\": \"http\", "
		"\"path\": \"/z\"}}}]}]}");
	json_t *t, *check;

	lb_health_sync(h, cfg);
	t = lb_health_targets_json(h, "web");
	ck_assert_uint_eq(json_array_size(t), 1);
	check = json_object_get(json_array_get(t, 0), "check");
	ck_assert_str_eq(json_string_value(json_object_get(check, "type")), "http");
	json_decref(t);
	lb_health_free(h);
	uv_run(loop, UV_RUN_DEFAULT);
	lb_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("override");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_override_emits_like_a_real_transition);
	tcase_add_test(tc, test_auto_after_unhealthy_ramps);
	tcase_add_test(tc, test_override_ipv6_target);
	tcase_add_test(tc, test_the_given_check_wins_over_the_defaults);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
