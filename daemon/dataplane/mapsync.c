// SPDX-License-Identifier: MIT
#include "mapsync.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_fault.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "map_image.h"

struct lb_mapsync {
	struct lb_dataplane *dp;
	bool held; /* the images say what the maps hold */
	struct lb_map_image listen, routes, groups;
	uint32_t *group_at;  /* group id -> 1 + its entry in the groups image, 0: none */
	struct lb_ids names; /* what lb_pnames and lb_tnames say */
};

/* Index the groups image by id: a verdict change looks 40,000 groups up in it. */
static void index_groups(struct lb_mapsync *ms)
{
	size_t i;

	memset(ms->group_at, 0, LB_MAX_GROUPS * sizeof(*ms->group_at));
	for (i = 0; i < ms->groups.n; i++) {
		__u32 id;

		memcpy(&id, ms->groups.ents + i * ms->groups.ent_size, sizeof(id));
		if (id < LB_MAX_GROUPS)
			ms->group_at[id] = (uint32_t)i + 1;
	}
}

/* What one full sync wants the maps to hold. */
struct want {
	struct lb_map_image listen, routes, groups;
};

static void images_init(struct lb_map_image *l, struct lb_map_image *r, struct lb_map_image *g)
{
	lb_map_image_init(l, sizeof(struct lb_listen_key), sizeof(struct lb_listen_val));
	lb_map_image_init(r, sizeof(struct lb_route_key), sizeof(struct lb_route_val));
	lb_map_image_init(g, sizeof(__u32), sizeof(struct lb_group));
}

struct lb_mapsync *lb_mapsync_new(struct lb_dataplane *dp, const struct lb_ids *names)
{
	struct lb_mapsync *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->dp = dp;
	images_init(&ms->listen, &ms->routes, &ms->groups);
	ms->group_at = calloc(LB_MAX_GROUPS, sizeof(*ms->group_at));
	if (!ms->group_at || lb_ids_clone(&ms->names, names)) {
		free(ms->group_at);
		free(ms);
		return NULL;
	}
	return ms;
}

void lb_mapsync_free(struct lb_mapsync *ms)
{
	if (!ms)
		return;
	lb_map_image_release(&ms->listen);
	lb_map_image_release(&ms->routes);
	lb_map_image_release(&ms->groups);
	lb_ids_release(&ms->names);
	free(ms->group_at);
	free(ms);
}

/* The lb_groups value of a model group. */
static void group_value(const struct lb_model_group *g, struct lb_group *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->n_backends = g->n;
	for (i = 0; i < g->n; i++) {
		out->backends[i].addr = g->t[i].addr;
		out->backends[i].port = htons(g->t[i].port);
		out->backends[i].weight = g->t[i].effective;
		out->backends[i].target_id = g->t[i].target_id;
	}
}

/* The map groups of @p: its default group, its source routes, its acceptor. */
static int push_groups(struct lb_map_image *img, const struct lb_model_proxy *p)
{
	struct lb_group v;
	size_t r;
	int ret = 0;

	for (r = 0; r < p->n_groups && !ret; r++) {
		if (p->groups[r].kind == LB_MG_SNI)
			continue;
		group_value(&p->groups[r], &v);
		ret = lb_map_image_push(img, &p->groups[r].id, &v);
	}
	if (!ret && p->acceptor_port) {
		group_value(&p->acceptor, &v);
		ret = lb_map_image_push(img, &p->acceptor.id, &v);
	}
	return ret;
}

static int push_routes(struct lb_map_image *img, const struct lb_model_proxy *p)
{
	size_t r;
	int ret = 0;

	for (r = 0; r < p->cfg->n_routes && !ret; r++) {
		struct lb_route_key k = {
			.prefixlen = 32 + lb_prefix128(&p->cfg->routes[r].addr,
						       p->cfg->routes[r].prefix_len),
			.proxy_id = p->id,
			.addr = p->cfg->routes[r].addr,
		};
		struct lb_route_val v = {.group = p->groups[1 + r].id};

		ret = lb_map_image_push(img, &k, &v);
	}
	return ret;
}

#define FAMILY_V4 1u
#define FAMILY_V6 2u

static unsigned int family_of(const struct lb_ip *a)
{
	return lb_ip_is_v4(a) ? FAMILY_V4 : FAMILY_V6;
}

/*
 * The families (FAMILY_V4, FAMILY_V6 or both) a listener without an address serves on its
 * interfaces: those of the targets its groups balance to in the kernel, both for a proxy
 * with an SNI acceptor (it listens on both and connects to any target itself). Packets of
 * another family to the same port are none of its business: they pass to the host.
 */
static unsigned int listen_families(const struct lb_proxy_cfg *pc)
{
	unsigned int f = pc->n_sni_routes ? FAMILY_V4 | FAMILY_V6 : 0;
	size_t g, t;

	for (g = 0; g < lb_proxy_n_groups(pc); g++) {
		const struct lb_group_cfg *gc = lb_proxy_group(pc, g);

		if (g > pc->n_routes) /* SNI routes: the acceptor's */
			continue;
		for (t = 0; t < gc->n; t++)
			f |= family_of(&gc->t[t].addr);
	}
	return f;
}

/*
 * The listener entries of @p: (interface, address, port, protocol) for its address, or
 * for each address of each of its interfaces. TCP of a proxy with an SNI acceptor goes to
 * the acceptor's group (source routes are looked up first), everything else to the
 * default group.
 */
static int push_listeners(struct lb_map_image *img, const struct lb_model_proxy *p,
			  const struct lb_ifaddr_table *addrs, char *err, size_t errlen)
{
	static const uint8_t protos[2][2] = {{LB_L4_TCP, LB_PROTO_TCP}, {LB_L4_UDP, LB_PROTO_UDP}};
	const struct lb_proxy_cfg *pc = p->cfg;
	struct lb_listen_val v = {
		.proxy_id = p->id,
		.flags = pc->n_routes ? LB_LISTEN_F_HAS_ROUTES : 0,
	};
	unsigned int families = listen_families(pc);
	size_t i, a, pr;
	int ret;

	for (i = 0; i < pc->n_ifaces; i++) {
		unsigned int idx = if_nametoindex(pc->ifaces[i]);
		size_t before = img->n;

		if (!idx)
			return lb_errf(err, errlen, -ENODEV,
				       "proxy \"%s\": interface %s does not exist", pc->name,
				       pc->ifaces[i]);
		for (pr = 0; pr < 2; pr++) {
			struct lb_listen_key k = {
				.ifindex = idx,
				.port = htons(pc->port),
				.proto = protos[pr][1],
			};

			if (!(pc->protocols & protos[pr][0]))
				continue;
			v.default_group = protos[pr][1] == LB_PROTO_TCP && p->acceptor_port
						  ? p->acceptor.id
						  : p->groups[0].id;
			if (pc->has_address) {
				k.addr = pc->address;
				ret = lb_map_image_push(img, &k, &v);
				if (ret)
					return ret;
				continue;
			}
			for (a = 0; a < addrs->n; a++) {
				if (addrs->e[a].ifindex != idx ||
				    !(families & family_of(&addrs->e[a].addr)))
					continue;
				k.addr = addrs->e[a].addr;
				ret = lb_map_image_push(img, &k, &v);
				if (ret)
					return ret;
			}
		}
		if (img->n == before)
			lb_warn("proxy \"%s\": %s has no %s address yet; its listener starts when "
				"one is added",
				pc->name, pc->ifaces[i],
				families == FAMILY_V4	? "IPv4"
				: families == FAMILY_V6 ? "IPv6"
							: "IPv4 or IPv6");
	}
	return 0;
}

/* Every entry @m wants, sorted and checked against the capacities. */
static int build(const struct lb_model *m, const struct lb_ifaddr_table *addrs, struct want *w,
		 char *err, size_t errlen)
{
	size_t p, i;
	int ret = 0;

	for (p = 0; p < m->n_proxies && !ret; p++) {
		ret = push_groups(&w->groups, &m->proxies[p]);
		if (!ret)
			ret = push_routes(&w->routes, &m->proxies[p]);
		if (!ret)
			ret = push_listeners(&w->listen, &m->proxies[p], addrs, err, errlen);
	}
	if (ret == -ENOMEM)
		return lb_errf(err, errlen, ret, "out of memory");
	if (ret)
		return ret;
	if (w->listen.n > LB_MAX_LISTENERS)
		return lb_errf(err, errlen, -ENOSPC,
			       "%zu listener entries (interface addresses x ports x protocols) "
			       "exceed the limit of %d",
			       w->listen.n, LB_MAX_LISTENERS);
	lb_map_image_sort(&w->listen);
	lb_map_image_sort(&w->routes);
	lb_map_image_sort(&w->groups);
	for (i = 1; i < w->listen.n; i++)
		if (!memcmp(w->listen.ents + (i - 1) * w->listen.ent_size,
			    w->listen.ents + i * w->listen.ent_size, w->listen.key_size))
			return lb_errf(err, errlen, -EEXIST,
				       "two proxies listen on the same address, port and protocol");
	return 0;
}

/* Counters of a newly numbered proxy or target start from zero, whoever held the id before. */
static int zero_stats(struct lb_dataplane *dp, int fd, uint32_t id)
{
	struct lb_stats *zero = calloc(dp->ncpus, sizeof(*zero));
	int ret;

	if (!zero)
		return -ENOMEM;
	ret = bpf_map_update_elem(fd, &id, zero, BPF_ANY) ? -errno : 0;
	free(zero);
	return ret;
}

static int zero_fresh(struct lb_dataplane *dp, const struct lb_model *m)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < m->n_proxies && !ret; i++)
		if (m->proxies[i].fresh)
			ret = zero_stats(dp, lb_dataplane_fd_pstats(dp), m->proxies[i].id);
	for (i = 0; i < m->n_fresh_targets && !ret; i++)
		ret = zero_stats(dp, lb_dataplane_fd_tstats(dp), m->fresh_targets[i]);
	return ret;
}

/* Rewrite the name tables (lb_pnames, lb_tnames) from @ids, in one batch each. */
static int write_names(struct lb_dataplane *dp, const struct lb_ids *ids)
{
	struct lb_proxy_meta *pm = calloc(LB_MAX_PROXIES, sizeof(*pm));
	struct lb_target_meta *tm = calloc(LB_MAX_TARGETS, sizeof(*tm));
	__u32 *keys = calloc(LB_MAX_TARGETS, sizeof(*keys));
	__u32 count, i;
	int ret = -ENOMEM;

	if (!pm || !tm || !keys)
		goto out;
	for (i = 0; i < LB_MAX_TARGETS; i++)
		keys[i] = i;
	/* Retired ids too: flows that still carry them are named after a restart. */
	for (i = 0; i < LB_MAX_PROXIES; i++) {
		const char *name = lb_idmap_key_of(&ids->proxies, i);

		if (name)
			memcpy(pm[i].name, name, LB_PROXY_NAME_MAX);
	}
	for (i = 0; i < LB_MAX_TARGETS; i++) {
		const struct lb_target_key *k = lb_idmap_key_of(&ids->targets, i);
		struct lb_target_meta *t = &tm[i];

		if (!k)
			continue;
		t->proxy_id = k->proxy_id;
		t->addr = k->addr;
		t->port = htons(k->port);
		t->in_use = 1;
	}
	count = LB_MAX_PROXIES;
	ret = bpf_map_update_batch(lb_dataplane_fd_pnames(dp), keys, pm, &count, NULL);
	if (!ret) {
		count = LB_MAX_TARGETS;
		ret = bpf_map_update_batch(lb_dataplane_fd_tnames(dp), keys, tm, &count, NULL);
	}
	ret = ret ? -errno : 0;
out:
	free(pm);
	free(tm);
	free(keys);
	return ret;
}

/*
 * The name tables say what the proxy and target ids said after the last sync. Rewriting
 * them costs more than the rest of a small sync (4,352 entries), so that happens only
 * when some id changed.
 */
static int sync_names(struct lb_mapsync *ms, const struct lb_ids *ids)
{
	struct lb_ids copy;
	int ret;

	if (lb_ids_same_names(&ms->names, ids))
		return 0;
	if (lb_ids_clone(&copy, ids))
		return -ENOMEM;
	ret = write_names(ms->dp, ids);
	if (ret) {
		/* A half-written table must say what it said. */
		if (write_names(ms->dp, &ms->names))
			lb_err("cannot restore the name tables");
		lb_ids_release(&copy);
		return ret;
	}
	lb_ids_release(&ms->names);
	ms->names = copy;
	return 0;
}

/* Read what the maps hold (when the images cannot say). */
static int read_held(struct lb_mapsync *ms, char *err, size_t errlen)
{
	struct lb_dataplane *dp = ms->dp;
	int ret;

	if (ms->held)
		return 0;
	ret = lb_map_image_read(lb_dataplane_fd_groups(dp), "lb_groups", &ms->groups, err, errlen);
	if (!ret)
		ret = lb_map_image_read(lb_dataplane_fd_routes(dp), "lb_routes", &ms->routes, err,
					errlen);
	if (!ret)
		ret = lb_map_image_read(lb_dataplane_fd_listen(dp), "lb_listen", &ms->listen, err,
					errlen);
	ms->held = !ret;
	if (!ret)
		index_groups(ms);
	return ret;
}

/* Write @w's difference from what the maps hold, in the order mapsync.h gives. */
static int write_diff(struct lb_mapsync *ms, const struct want *w, char *err, size_t errlen)
{
	struct lb_dataplane *dp = ms->dp;
	int fg = lb_dataplane_fd_groups(dp), fr = lb_dataplane_fd_routes(dp);
	int fl = lb_dataplane_fd_listen(dp);
	int ret;

	ret = lb_map_image_write_changed(fg, "lb_groups", &w->groups, &ms->groups, err, errlen);
	if (!ret)
		ret = lb_map_image_write_changed(fr, "lb_routes", &w->routes, &ms->routes, err,
						 errlen);
	/* Half-way: groups and routes written, listeners not yet. */
	if (!ret)
		ret = lb_fault("maps", err, errlen);
	if (!ret)
		ret = lb_map_image_write_changed(fl, "lb_listen", &w->listen, &ms->listen, err,
						 errlen);
	if (!ret)
		ret = lb_map_image_delete_stale(fl, "lb_listen", &w->listen, &ms->listen, err,
						errlen);
	if (!ret)
		ret = lb_map_image_delete_stale(fr, "lb_routes", &w->routes, &ms->routes, err,
						errlen);
	if (!ret)
		ret = lb_map_image_delete_stale(fg, "lb_groups", &w->groups, &ms->groups, err,
						errlen);
	return ret;
}

int lb_mapsync_apply(struct lb_mapsync *ms, const struct lb_model *m,
		     const struct lb_ifaddr_table *addrs, char *err, size_t errlen)
{
	struct want w;
	int ret;

	images_init(&w.listen, &w.routes, &w.groups);
	ret = build(m, addrs, &w, err, errlen);
	if (!ret && (ret = zero_fresh(ms->dp, m)))
		lb_errf(err, errlen, ret, "cannot reset the counters of new ids: %s",
			strerror(-ret));
	if (!ret)
		ret = read_held(ms, err, errlen);
	if (!ret)
		ret = write_diff(ms, &w, err, errlen);
	if (!ret && (ret = sync_names(ms, &m->ids)))
		lb_errf(err, errlen, ret, "cannot write the name tables: %s", strerror(-ret));
	if (ret) {
		/* Some of it may be written: what the maps hold is unknown until read again. */
		ms->held = false;
		lb_map_image_release(&w.listen);
		lb_map_image_release(&w.routes);
		lb_map_image_release(&w.groups);
		return ret;
	}
	lb_map_image_release(&ms->listen);
	lb_map_image_release(&ms->routes);
	lb_map_image_release(&ms->groups);
	ms->listen = w.listen;
	ms->routes = w.routes;
	ms->groups = w.groups;
	index_groups(ms);
	lb_debug("maps synced: %zu listeners, %zu routes, %zu groups, %zu targets", w.listen.n,
		 w.routes.n, w.groups.n, m->ids.targets.n);
	return 0;
}

/*
 * Append the entry of model group @g to @keys/@vals (at *n) when the image holds another
 * value for it, and make the image say the new value.
 */
static void queue_group(struct lb_mapsync *ms, const struct lb_model_group *g, __u32 *keys,
			struct lb_group *vals, size_t *n)
{
	uint32_t at = g->id < LB_MAX_GROUPS ? ms->group_at[g->id] : 0;
	uint8_t *held = at ? ms->groups.ents + (at - 1) * ms->groups.ent_size : NULL;
	struct lb_group *v = &vals[*n];

	group_value(g, v);
	if (held && !memcmp(held + sizeof(__u32), v, sizeof(*v)))
		return;
	if (held)
		memcpy(held + sizeof(__u32), v, sizeof(*v));
	else
		ms->held = false; /* not there: the next full sync reads the maps again */
	keys[(*n)++] = g->id;
}

int lb_mapsync_groups(struct lb_mapsync *ms, const struct lb_model_proxy *p, char *err,
		      size_t errlen)
{
	__u32 *keys = calloc(p->n_groups + 1, sizeof(*keys));
	struct lb_group *vals = calloc(p->n_groups + 1, sizeof(*vals));
	size_t r, n = 0;
	int ret = keys && vals ? 0 : -ENOMEM;

	if (!ret)
		ret = read_held(ms, err, errlen);
	for (r = 0; r < p->n_groups && !ret; r++)
		if (p->groups[r].kind != LB_MG_SNI)
			queue_group(ms, &p->groups[r], keys, vals, &n);
	if (!ret && n)
		ret = lb_map_write_entries(lb_dataplane_fd_groups(ms->dp), (uint8_t *)keys,
					   (uint8_t *)vals, n, sizeof(*keys), sizeof(*vals));
	if (ret) {
		ms->held = false;
		lb_errf(err, errlen, ret, "cannot update lb_groups: %s", strerror(-ret));
	} else {
		lb_debug("groups of \"%s\": %zu of %zu rewritten", p->cfg->name, n, p->n_groups);
	}
	free(keys);
	free(vals);
	return ret;
}
