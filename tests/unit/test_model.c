// SPDX-License-Identifier: MIT
/*
 * The model of effective state (daemon/policy/model.c): ids stable across changes and not
 * reused within one, every group composed with the verdicts of health and drains, a
 * verdict or weight change recomposed in place, the SNI acceptor's group.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "drain.h"
#include "health.h"
#include "lb_ip.h"
#include "model.h"

static struct lb_config *parse(const char *json)
{
	struct lb_config *cfg = NULL;
	char err[512];

	ck_assert_msg(lb_config_parse_string(json, &cfg, err, sizeof(err)) == 0, "%s", err);
	return cfg;
}

static struct lb_model *build(const struct lb_config *cfg, const struct lb_ids *prev,
			      const struct lb_model_inputs *in)
{
	struct lb_model *m = NULL;
	char err[512];

	ck_assert_msg(lb_model_build(cfg, prev, in, &m, err, sizeof(err)) == 0, "%s", err);
	return m;
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

#define WEB                                                                                         \
	"{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": [\"lo\"], \"port\": 80}, " \
	"\"default-target\": [{\"ip\": \"10.0.0.1\", \"port\": 80, \"weight\": 50},"                \
	" {\"ip\": \"10.0.0.2\", \"port\": 80, \"weight\": 30},"                                    \
	" {\"ip\": \"10.0.0.3\", \"port\": 80, \"weight\": 20}],"                                   \
	"\"source-routes\": [{\"source\": \"192.168.0.0/16\", \"targets\": ["                       \
	" {\"ip\": \"10.0.0.2\", \"port\": 80, \"weight\": 50},"                                    \
	" {\"ip\": \"10.0.0.4\", \"port\": 80, \"weight\": 50}]}]"

START_TEST(test_build_composes_every_group)
{
	struct lb_config *cfg = parse(WEB "}]}");
	struct lb_ids none;
	struct lb_model *m;
	const struct lb_model_proxy *p;

	lb_ids_init(&none);
	m = build(cfg, &none, NULL);
	ck_assert_uint_eq(m->n_proxies, 1);
	p = lb_model_find(m, "web");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(lb_model_find(m, "nope"));
	ck_assert_uint_eq(p->n_groups, 2);
	ck_assert(p->fresh);
	ck_assert_int_eq(p->groups[0].kind, LB_MG_DEFAULT);
	ck_assert_int_eq(p->groups[1].kind, LB_MG_SOURCE);
	ck_assert_uint_ne(p->groups[0].id, p->groups[1].id);
	ck_assert_uint_eq(p->groups[0].t[0].effective, 50);
	ck_assert_uint_eq(p->groups[0].t[1].effective, 30);
	ck_assert_uint_eq(p->groups[0].t[2].effective, 20);
	/* One target id per (proxy, target), however many groups list it. */
	ck_assert_uint_eq(p->groups[0].t[1].target_id, p->groups[1].t[0].target_id);
	ck_assert_uint_ne(p->groups[0].t[0].target_id, p->groups[1].t[1].target_id);
	ck_assert_uint_eq(m->ids.targets.n, 4);
	ck_assert_uint_eq(m->n_fresh_targets, 4);
	ck_assert_uint_eq(p->acceptor_port, 0);
	lb_model_free(m);
	lb_ids_release(&none);
	lb_config_free(cfg);
}
END_TEST

START_TEST(test_ids_survive_and_are_not_reused)
{
	struct lb_config *a = parse(WEB "}]}");
	struct lb_config *b =
		parse("{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": [\"lo\"], "
		      "\"port\": 80}, \"default-target\": [{\"ip\": \"10.0.0.1\", \"port\": 80, "
		      "\"weight\": 50}, {\"ip\": \"10.0.0.9\", \"port\": 80, \"weight\": 50}]}]}");
	struct lb_ids none;
	struct lb_model *ma, *mb;
	uint32_t kept, gone;

	lb_ids_init(&none);
	ma = build(a, &none, NULL);
	kept = ma->proxies[0].groups[0].t[0].target_id; /* 10.0.0.1 */
	gone = ma->proxies[0].groups[0].t[1].target_id; /* 10.0.0.2, removed below */
	mb = build(b, &ma->ids, NULL);
	ck_assert(!mb->proxies[0].fresh);
	ck_assert_uint_eq(mb->proxies[0].id, ma->proxies[0].id);
	ck_assert_uint_eq(mb->proxies[0].groups[0].id, ma->proxies[0].groups[0].id);
	ck_assert_uint_eq(mb->proxies[0].groups[0].t[0].target_id, kept);
	/* The new target must not take an id a removed one held in the same change. */
	ck_assert_uint_ne(mb->proxies[0].groups[0].t[1].target_id, gone);
	ck_assert_uint_eq(mb->n_fresh_targets, 1);
	ck_assert_uint_eq(mb->fresh_targets[0], mb->proxies[0].groups[0].t[1].target_id);
	/* Building mb left ma's ids alone: a refused change keeps the ids in force. */
	ck_assert_int_eq(lb_ids_target(&ma->ids, ma->proxies[0].id, ip("10.0.0.9"), 80), -1);
	lb_model_free(ma);
	lb_model_free(mb);
	lb_ids_release(&none);
	lb_config_free(a);
	lb_config_free(b);
}
END_TEST

static int no_flows(void *ctx, size_t n, const char *const *proxies, const struct lb_ip *addrs,
		    const uint16_t *ports, uint32_t *counts)
{
	memset(counts, 0, n * sizeof(*counts));
	return 0;
}

START_TEST(test_verdicts_and_recompose)
{
	struct lb_config *cfg = parse(WEB "}]}");
	uv_loop_t *loop = uv_default_loop();
	struct lb_health *h = lb_health_new(loop, NULL, NULL, NULL);
	struct lb_drains *d = lb_drains_new(loop, no_flows, NULL, NULL);
	struct lb_model_inputs in = {.health = h, .drains = d};
	struct lb_ids none;
	struct lb_model *m;
	const struct lb_model_proxy *p;
	json_t *st = NULL;

	lb_ids_init(&none);
	lb_health_sync(h, cfg);
	m = build(cfg, &none, &in);
	p = lb_model_find(m, "web");
	ck_assert(!lb_model_recompose(m, "web", &in)); /* nothing changed */

	/* 10.0.0.2 down: seed's 50/30/20 -> 71/0/29; in the route 50/50 -> 0/100. */
	ck_assert_int_eq(
		lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_UNHEALTHY), 0);
	ck_assert(lb_model_recompose(m, "web", &in));
	ck_assert(!p->groups[0].t[1].healthy);
	ck_assert_uint_eq(p->groups[0].t[0].effective, 71);
	ck_assert_uint_eq(p->groups[0].t[1].effective, 0);
	ck_assert_uint_eq(p->groups[0].t[2].effective, 29);
	ck_assert_uint_eq(p->groups[1].t[0].effective, 0);
	ck_assert_uint_eq(p->groups[1].t[1].effective, 100);

	/* Draining 10.0.0.1 too: the default group's last healthy one takes it all. */
	ck_assert_int_eq(lb_drains_start(d, "web", ip("10.0.0.1"), 80, 1000, &st), 0);
	json_decref(st);
	ck_assert(lb_model_recompose(m, "web", &in));
	ck_assert(p->groups[0].t[0].draining);
	ck_assert_uint_eq(p->groups[0].t[0].effective, 0);
	ck_assert_uint_eq(p->groups[0].t[2].effective, 100);

	/*
	 * A weight changed in the configuration is read back by the recompose. (10.0.0.2 back
	 * at full weight by hand: cleared to auto, it would ramp in; tests/unit/test_health.c.)
	 */
	lb_health_set_override(h, "web", ip("10.0.0.2"), 80, LB_OVERRIDE_HEALTHY);
	cfg->proxies[0].routes[0].group.t[0].weight = 90;
	cfg->proxies[0].routes[0].group.t[1].weight = 10;
	ck_assert(lb_model_recompose(m, "web", &in));
	ck_assert_uint_eq(p->groups[1].t[0].configured, 90);
	ck_assert_uint_eq(p->groups[1].t[0].effective, 90);
	ck_assert(!lb_model_recompose(m, "nope", &in));

	lb_model_free(m);
	lb_health_free(h);
	lb_drains_free(d);
	uv_run(loop, UV_RUN_DEFAULT); /* their handles close */
	lb_ids_release(&none);
	lb_config_free(cfg);
}
END_TEST

/* A default group of 200 targets 10.1.0.1-200:80, weight i % 4 + 1 (none: all 1). */
static char *big_config(bool weighted)
{
	size_t cap = 64 * 1024, len;
	char *s = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(s);
	len = (size_t)snprintf(s, cap,
			       "{\"proxies\": [{\"name\": \"big\", \"listen\": {\"interfaces\": "
			       "[\"lo\"], \"port\": 80}, \"default-target\": [");
	for (i = 1; i <= 200; i++) {
		len += (size_t)snprintf(s + len, cap - len,
					"%s{\"ip\": \"10.1.%d.%d\", \"port\": 80",
					i > 1 ? ", " : "", i / 250, i % 250);
		if (weighted)
			len += (size_t)snprintf(s + len, cap - len, ", \"weight\": %d", i % 4 + 1);
		len += (size_t)snprintf(s + len, cap - len, "}");
	}
	snprintf(s + len, cap - len, "]}]}");
	return s;
}

/*
 * A group of 200 targets with relative weights: effective weights are the shares of
 * 10000; health, drains and a configured weight change keep their meaning; the
 * selection over the whole group follows the weights.
 */
START_TEST(test_large_group)
{
	char *text = big_config(true);
	struct lb_config *cfg = parse(text);
	uv_loop_t *loop = uv_default_loop();
	struct lb_health *h = lb_health_new(loop, NULL, NULL, NULL);
	struct lb_drains *d = lb_drains_new(loop, no_flows, NULL, NULL);
	struct lb_model_inputs in = {.health = h, .drains = d};
	unsigned int count[200] = {0}, sum = 0, cfg_sum = 0, i, k;
	struct lb_ids none;
	struct lb_model *m;
	const struct lb_model_proxy *p;
	const struct lb_model_group *g;
	json_t *st = NULL;

	lb_ids_init(&none);
	lb_health_sync(h, cfg);
	m = build(cfg, &none, &in);
	p = lb_model_find(m, "big");
	g = &p->groups[0];
	ck_assert_uint_eq(g->n, 200);
	for (k = 0; k < 200; k++)
		cfg_sum += g->t[k].configured;
	ck_assert_uint_eq(cfg_sum, 500); /* 50 each of 1, 2, 3, 4 */
	for (k = 0; k < 200; k++) {
		ck_assert_uint_eq(g->t[k].configured, (k + 1) % 4 + 1);
		/* 10000 * w / 500 = 20 w exactly */
		ck_assert_uint_eq(g->t[k].effective, 20 * g->t[k].configured);
		sum += g->t[k].effective;
	}
	ck_assert_uint_eq(sum, 10000);

	/* Every target is picked in proportion to its weight (2% of the expected count + 25). */
	for (i = 0; i < 400000; i++)
		count[lb_model_select(g, i * 2654435761u) - g->t]++;
	for (k = 0; k < 200; k++) {
		double want = 400000.0 * g->t[k].configured / 500;

		ck_assert_msg(count[k] > want * 0.9 && count[k] < want * 1.1,
			      "target %u (weight %u): %u picks, want %.0f", k, g->t[k].configured,
			      count[k], want);
	}

	/* Target 10.1.0.4 (weight 1) down: its 20 go to the others in proportion. */
	ck_assert_int_eq(
		lb_health_set_override(h, "big", ip("10.1.0.4"), 80, LB_OVERRIDE_UNHEALTHY), 0);
	ck_assert(lb_model_recompose(m, "big", &in));
	ck_assert_uint_eq(g->t[3].effective, 0);
	for (k = 0, sum = 0; k < 200; k++) {
		double exact = k == 3 ? 0 : 10000.0 * g->t[k].configured / 499;

		ck_assert_msg(g->t[k].effective > exact - 1.01 && g->t[k].effective < exact + 1.01,
			      "target %u: %u, exact %.2f", k, g->t[k].effective, exact);
		sum += g->t[k].effective;
	}
	ck_assert_uint_eq(sum, 10000);

	/* Draining the last one: 0, and nothing is picked there any more. */
	ck_assert_int_eq(lb_drains_start(d, "big", ip("10.1.0.200"), 80, 1000, &st), 0);
	json_decref(st);
	ck_assert(lb_model_recompose(m, "big", &in));
	ck_assert_uint_eq(g->t[199].effective, 0);
	for (i = 0; i < 100000; i++) {
		const struct lb_model_target *t = lb_model_select(g, i * 2654435761u);

		ck_assert(t != &g->t[199] && t != &g->t[3]);
	}

	/* A configured weight change (as set-weights makes it) is read back. */
	cfg->proxies[0].default_group.t[0].weight = 100;
	ck_assert(lb_model_recompose(m, "big", &in));
	ck_assert_uint_eq(g->t[0].configured, 100);
	ck_assert_uint_gt(g->t[0].effective, 10 * g->t[1].effective);

	lb_model_free(m);
	lb_health_free(h);
	lb_drains_free(d);
	uv_run(loop, UV_RUN_DEFAULT);
	lb_ids_release(&none);
	lb_config_free(cfg);
	free(text);

	/* No weights at all: equal shares of 10000, 50 each. */
	text = big_config(false);
	cfg = parse(text);
	m = build(cfg, &none, NULL);
	g = &lb_model_find(m, "big")->groups[0];
	for (k = 0; k < 200; k++)
		ck_assert_uint_eq(g->t[k].effective, 50);
	lb_model_free(m);
	lb_ids_release(&none);
	lb_config_free(cfg);
	free(text);
}
END_TEST

/* A proxy "web" whose default group lists 10.3.0.<host[i]>:80 at @weight, in that order. */
static struct lb_config *listed(const unsigned int *host, size_t n, unsigned int weight)
{
	char s[8192];
	size_t len, i;

	len = (size_t)snprintf(s, sizeof(s),
			       "{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": "
			       "[\"lo\"], \"port\": 80}, \"default-target\": [");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len,
					"%s{\"ip\": \"10.3.0.%u\", \"port\": 80, \"weight\": %u}",
					i ? ", " : "", host[i], weight);
	snprintf(s + len, sizeof(s) - len, "]}]}");
	return parse(s);
}

/* The effective weight of 10.3.0.@host in @m's default group of "web". */
static unsigned int effective_of(const struct lb_model *m, unsigned int host)
{
	const struct lb_model_group *g = &lb_model_find(m, "web")->groups[0];
	struct lb_ip want = ip_of("10.3.0.0");
	size_t i;

	want.w[3] = htonl(ntohl(want.w[3]) + host);
	for (i = 0; i < g->n; i++)
		if (!memcmp(&g->t[i].addr, &want, sizeof(want)))
			return g->t[i].effective;
	ck_abort_msg("10.3.0.%u not in the group", host);
	return 0;
}

/*
 * Nodes that list a group's targets in different orders compose the same weights (their
 * Maglev tables, built from identities, then agree): rounding ties go by identity, not by
 * the place in the list. 36 equal relative weights leave 10000 / 36 = 277.8 to round;
 * 3 equal percentages of 4 with one down, 100 / 3.
 */
START_TEST(test_order_changes_no_weight)
{
	unsigned int fwd[36], shuffled[36], seed = 36;
	struct lb_ids none;
	struct lb_config *a, *b;
	struct lb_model *ma, *mb;
	size_t i;

	for (i = 0; i < 36; i++)
		fwd[i] = shuffled[i] = (unsigned int)i + 1;
	for (i = 35; i > 0; i--) {
		size_t k = (size_t)rand_r(&seed) % (i + 1);
		unsigned int t = shuffled[i];

		shuffled[i] = shuffled[k];
		shuffled[k] = t;
	}
	lb_ids_init(&none);
	a = listed(fwd, 36, 10);
	b = listed(shuffled, 36, 10);
	ma = build(a, &none, NULL);
	mb = build(b, &none, NULL);
	for (i = 1; i <= 36; i++)
		ck_assert_msg(effective_of(ma, (unsigned int)i) ==
				      effective_of(mb, (unsigned int)i),
			      "10.3.0.%zu: %u listed in order, %u shuffled", i,
			      effective_of(ma, (unsigned int)i), effective_of(mb, (unsigned int)i));
	lb_model_free(ma);
	lb_model_free(mb);
	lb_config_free(a);
	lb_config_free(b);

	{
		const unsigned int up[] = {1, 2, 3, 4}, down[] = {4, 3, 2, 1};
		uv_loop_t *loop = uv_default_loop();
		struct lb_health *h = lb_health_new(loop, NULL, NULL, NULL);
		struct lb_model_inputs in = {.health = h};

		a = listed(up, 4, 25);
		b = listed(down, 4, 25);
		lb_health_sync(h, a);
		ck_assert_int_eq(
			lb_health_set_override(h, "web", ip("10.3.0.2"), 80, LB_OVERRIDE_UNHEALTHY),
			0);
		ma = build(a, &none, &in);
		mb = build(b, &none, &in);
		for (i = 1; i <= 4; i++)
			ck_assert_msg(effective_of(ma, (unsigned int)i) ==
					      effective_of(mb, (unsigned int)i),
				      "10.3.0.%zu: %u listed up, %u listed down", i,
				      effective_of(ma, (unsigned int)i),
				      effective_of(mb, (unsigned int)i));
		ck_assert_uint_eq(effective_of(ma, 1), 34); /* the lowest address */
		lb_model_free(ma);
		lb_model_free(mb);
		lb_health_free(h);
		uv_run(loop, UV_RUN_DEFAULT);
		lb_config_free(a);
		lb_config_free(b);
	}
	lb_ids_release(&none);
}
END_TEST

START_TEST(test_sni_groups_and_acceptor)
{
	struct lb_config *cfg = parse(
		WEB ", \"sni-routes\": [{\"sni-hostname\": \"api.example.com\", \"targets\": ["
		    "{\"ip\": \"10.0.1.1\", \"port\": 443, \"weight\": 100}]}]}]}");
	uint16_t acc[1] = {40000};
	struct lb_model_inputs in = {.acceptor_port = acc};
	struct lb_ids none;
	struct lb_model *m;
	const struct lb_model_proxy *p;
	const struct lb_model_target *t;
	uint32_t hash;
	int hits[3] = {0};

	lb_ids_init(&none);
	m = build(cfg, &none, &in);
	p = &m->proxies[0];
	ck_assert_uint_eq(p->n_groups, 3);
	ck_assert_int_eq(p->groups[2].kind, LB_MG_SNI);
	ck_assert_uint_eq(p->acceptor_port, 40000);
	ck_assert_int_eq(p->acceptor.kind, LB_MG_ACCEPTOR);
	ck_assert_uint_eq(p->acceptor.n, 1);
	ck_assert(lb_ip_is_zero(&p->acceptor.t[0].addr));
	ck_assert_uint_eq(p->acceptor.t[0].port, 40000);
	ck_assert_uint_eq(p->acceptor.t[0].target_id,
			  (uint32_t)lb_ids_target(&m->ids, p->id, &(struct lb_ip){{0}}, 40000));
	t = lb_model_select(&p->groups[2], 12345);
	ck_assert_ptr_nonnull(t);
	ck_assert(lb_ip_eq(&t->addr, ip("10.0.1.1")));
	/* The default group's choice follows its weights, as the datapath's does. */
	for (hash = 0; hash < 30000; hash++) {
		t = lb_model_select(&p->groups[0], hash * 2654435761u);
		hits[t - p->groups[0].t]++;
	}
	ck_assert_msg(abs(hits[0] - 15000) < 600 && abs(hits[1] - 9000) < 600 &&
			      abs(hits[2] - 6000) < 600,
		      "split %d/%d/%d", hits[0], hits[1], hits[2]);
	lb_model_free(m);
	lb_ids_release(&none);
	lb_config_free(cfg);
}
END_TEST

START_TEST(test_weights_json)
{
	struct lb_config *cfg = parse(WEB "}]}");
	struct lb_ids none;
	struct lb_model *m;
	json_t *j;
	char *s;

	lb_ids_init(&none);
	m = build(cfg, &none, NULL);
	j = lb_model_weights_json(&m->proxies[0]);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(s, "[{\"source\":\"default\",\"targets\":["
			    "{\"target\":\"10.0.0.1:80\",\"configured-weight\":50,"
			    "\"effective-weight\":50},"
			    "{\"target\":\"10.0.0.2:80\",\"configured-weight\":30,"
			    "\"effective-weight\":30},"
			    "{\"target\":\"10.0.0.3:80\",\"configured-weight\":20,"
			    "\"effective-weight\":20}]},"
			    "{\"source\":\"192.168.0.0/16\",\"targets\":["
			    "{\"target\":\"10.0.0.2:80\",\"configured-weight\":50,"
			    "\"effective-weight\":50},"
			    "{\"target\":\"10.0.0.4:80\",\"configured-weight\":50,"
			    "\"effective-weight\":50}]}]");
	free(s);
	json_decref(j);
	lb_model_free(m);
	lb_ids_release(&none);
	lb_config_free(cfg);
}
END_TEST

/*
 * A dual-stack listener (no address): an IPv6 target has its own id, distinct from the IPv4
 * target with the same port and the same last 32 bits, and so have IPv4 and IPv6 routes.
 */
#define DUAL                                                                                        \
	"{\"proxies\": [{\"name\": \"web\", \"listen\": {\"interfaces\": [\"lo\"], \"port\": 80}, " \
	"\"default-target\": [{\"ip\": \"10.0.0.2\", \"port\": 80, \"weight\": 50},"                \
	" {\"ip\": \"2001:db8::a00:2\", \"port\": 80, \"weight\": 50}],"                            \
	"\"source-routes\": [{\"source\": \"10.0.0.0/8\", \"target\": "                             \
	" {\"ip\": \"10.0.0.2\", \"port\": 80}},"                                                   \
	" {\"source\": \"2001:db8:100::/40\", \"target\": "                                         \
	" {\"ip\": \"2001:db8::a00:2\", \"port\": 80}}]}]}"

START_TEST(test_ipv6_ids)
{
	struct lb_config *cfg = parse(DUAL);
	struct lb_ids none;
	struct lb_model *m;
	const struct lb_model_proxy *p;
	uint32_t v4, v6;
	json_t *j;
	char *s;

	lb_ids_init(&none);
	m = build(cfg, &none, NULL);
	p = &m->proxies[0];
	ck_assert_uint_eq(p->n_groups, 3);
	ck_assert(lb_ip_eq(&p->groups[0].t[1].addr, ip("2001:db8::a00:2")));
	v4 = p->groups[0].t[0].target_id;
	v6 = p->groups[0].t[1].target_id;
	ck_assert_uint_ne(v4, v6);
	ck_assert_uint_eq(m->ids.targets.n, 2);
	ck_assert_uint_eq(p->groups[1].t[0].target_id, v4);
	ck_assert_uint_eq(p->groups[2].t[0].target_id, v6);
	ck_assert_int_eq(lb_ids_target(&m->ids, p->id, ip("10.0.0.2"), 80), v4);
	ck_assert_int_eq(lb_ids_target(&m->ids, p->id, ip("2001:db8::a00:2"), 80), v6);
	ck_assert_int_eq(lb_ids_target(&m->ids, p->id, ip("2001:db8::a00:2"), 81), -1);
	ck_assert_int_eq(lb_ids_target(&m->ids, p->id, ip("2001:db8:1::a00:2"), 80), -1);
	/* Three groups, three ids: the IPv6 route is not the IPv4 one. */
	ck_assert_uint_ne(p->groups[0].id, p->groups[1].id);
	ck_assert_uint_ne(p->groups[0].id, p->groups[2].id);
	ck_assert_uint_ne(p->groups[1].id, p->groups[2].id);
	ck_assert_uint_eq(m->ids.groups.n, 3);
	j = lb_model_weights_json(p);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(s, "[{\"source\":\"default\",\"targets\":["
			    "{\"target\":\"10.0.0.2:80\",\"configured-weight\":50,"
			    "\"effective-weight\":50},"
			    "{\"target\":\"[2001:db8::a00:2]:80\",\"configured-weight\":50,"
			    "\"effective-weight\":50}]},"
			    "{\"source\":\"10.0.0.0/8\",\"targets\":["
			    "{\"target\":\"10.0.0.2:80\",\"configured-weight\":100,"
			    "\"effective-weight\":100}]},"
			    "{\"source\":\"2001:db8:100::/40\",\"targets\":["
			    "{\"target\":\"[2001:db8::a00:2]:80\",\"configured-weight\":100,"
			    "\"effective-weight\":100}]}]");
	free(s);
	json_decref(j);
	lb_model_free(m);
	lb_ids_release(&none);
	lb_config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_build_composes_every_group);
	tcase_add_test(tc, test_ids_survive_and_are_not_reused);
	tcase_add_test(tc, test_verdicts_and_recompose);
	tcase_add_test(tc, test_sni_groups_and_acceptor);
	tcase_add_test(tc, test_large_group);
	tcase_add_test(tc, test_order_changes_no_weight);
	tcase_add_test(tc, test_weights_json);
	tcase_add_test(tc, test_ipv6_ids);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
