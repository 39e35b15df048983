// SPDX-License-Identifier: MIT
#include "ids.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb_abi.h"

_Static_assert(sizeof(struct lb_target_key) == 24, "lb_target_key: no hidden padding");
_Static_assert(sizeof(struct lb_group_key) == 24, "lb_group_key: no hidden padding");

void lb_ids_init(struct lb_ids *ids)
{
	lb_idmap_init(&ids->proxies, LB_PROXY_NAME_MAX, LB_MAX_PROXIES);
	lb_idmap_init(&ids->targets, sizeof(struct lb_target_key), LB_MAX_TARGETS);
	lb_idmap_init(&ids->groups, sizeof(struct lb_group_key), LB_MAX_GROUPS);
}

void lb_ids_release(struct lb_ids *ids)
{
	lb_idmap_release(&ids->proxies);
	lb_idmap_release(&ids->targets);
	lb_idmap_release(&ids->groups);
}

int lb_ids_clone(struct lb_ids *dst, const struct lb_ids *src)
{
	lb_ids_init(dst);
	if (lb_idmap_clone(&dst->proxies, &src->proxies) ||
	    lb_idmap_clone(&dst->targets, &src->targets) ||
	    lb_idmap_clone(&dst->groups, &src->groups)) {
		lb_ids_release(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool idmap_same(const struct lb_idmap *a, const struct lb_idmap *b)
{
	return a->n == b->n && a->n_retired == b->n_retired &&
	       (!a->n || (!memcmp(a->keys, b->keys, a->n * a->key_size) &&
			  !memcmp(a->ids, b->ids, a->n * sizeof(*a->ids)))) &&
	       (!a->n_retired ||
		(!memcmp(a->retired_keys, b->retired_keys, a->n_retired * a->key_size) &&
		 !memcmp(a->retired_ids, b->retired_ids, a->n_retired * sizeof(*a->ids))));
}

bool lb_ids_same_names(const struct lb_ids *a, const struct lb_ids *b)
{
	return idmap_same(&a->proxies, &b->proxies) && idmap_same(&a->targets, &b->targets);
}

int64_t lb_ids_proxy(const struct lb_ids *ids, const char *name)
{
	char key[LB_PROXY_NAME_MAX] = {};

	snprintf(key, sizeof(key), "%s", name);
	return lb_idmap_find(&ids->proxies, key);
}

const char *lb_ids_proxy_name(const struct lb_ids *ids, uint32_t id)
{
	return lb_idmap_key_of(&ids->proxies, id);
}

int64_t lb_ids_target(const struct lb_ids *ids, uint32_t proxy_id, const struct lb_ip *addr,
		      uint16_t port)
{
	struct lb_target_key k = {.proxy_id = proxy_id, .addr = *addr, .port = port};

	return lb_idmap_find(&ids->targets, &k);
}
