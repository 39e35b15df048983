/* SPDX-License-Identifier: MIT */
/*
 * ids.h - the small integers behind proxies, targets and groups: proxy ids index lb_pstats
 * and lb_pnames, target ids lb_tstats and lb_tnames, group ids are the keys of lb_groups.
 * They outlive each change (stable while the thing they name exists) and are pinned with
 * the datapath, so a restarted lbd adopts them (dataplane/adopt.c).
 */
#ifndef LBD_IDS_H
#define LBD_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "idmap.h"
#include "lb_ip.h"

/* A target of a proxy: one counter slot however many groups of the proxy list it. */
struct lb_target_key {
	uint32_t proxy_id;
	struct lb_ip addr; /* all zero with the SNI acceptor's port: the acceptor */
	uint16_t port;	   /* host order */
	uint16_t pad;
};

/* lb_group_key.kind */
enum lb_group_key_kind {
	LB_GK_SOURCE = 0,   /* a source route: addr/prefix_len name it */
	LB_GK_DEFAULT = 1,  /* the proxy's default group */
	LB_GK_ACCEPTOR = 2, /* the group holding the proxy's SNI acceptor */
};

struct lb_group_key {
	uint32_t proxy_id;
	struct lb_ip addr;  /* source routes */
	uint8_t prefix_len; /* over the 128-bit form (lb_prefix128()) */
	uint8_t kind;	    /* enum lb_group_key_kind */
	uint8_t pad[2];
};

struct lb_ids {
	struct lb_idmap proxies; /* key: name, zero padded to LB_PROXY_NAME_MAX */
	struct lb_idmap targets; /* key: struct lb_target_key */
	struct lb_idmap groups;	 /* key: struct lb_group_key */
};

/* Empty maps sized by the datapath's capacities. */
void lb_ids_init(struct lb_ids *ids);

/* Free storage; @ids may be initialised again. */
void lb_ids_release(struct lb_ids *ids);

/* Make @dst (released or fresh) an independent copy of @src. 0 or -ENOMEM. */
int lb_ids_clone(struct lb_ids *dst, const struct lb_ids *src);

/*
 * True when both hold the same proxy and target ids, retired ones included (the name
 * tables then need no write).
 */
bool lb_ids_same_names(const struct lb_ids *a, const struct lb_ids *b);

/* The proxy id of @name, or -1. */
int64_t lb_ids_proxy(const struct lb_ids *ids, const char *name);

/* The name behind proxy id @id (a retired one too: its flows may still run), or NULL. */
const char *lb_ids_proxy_name(const struct lb_ids *ids, uint32_t id);

/* The target id of (@proxy_id, @addr, @port), or -1. */
int64_t lb_ids_target(const struct lb_ids *ids, uint32_t proxy_id, const struct lb_ip *addr,
		      uint16_t port);

#endif /* LBD_IDS_H */
