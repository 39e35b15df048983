/* SPDX-License-Identifier: MIT */
/*
 * announce.h - the addresses this node announces, as the kernel holds them: one blackhole
 * host route (/32, /128) per address in a routing table of lbd's own
 * (settings.announce-table), tagged with lbd's route protocol number
 * (settings.announce-protocol). No ip rule points at that table, so the node's own
 * forwarding never reads it; a routing daemon does (BIRD's kernel protocol with `learn`,
 * docs/scale-out.md) and announces each route over BGP. The routes outlive lbd, as the
 * datapath does: a restart keeps them; `lbd --teardown` removes them.
 */
#ifndef LBD_ANNOUNCE_H
#define LBD_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_ip.h"

/*
 * The addresses announced in @table with @protocol, sorted (lb_ip_cmp order), into a
 * malloc'd *@out of *@n. Returns 0 or -errno.
 */
int lb_announce_list(uint32_t table, uint8_t protocol, struct lb_ip **out, size_t *n);

/* Sort @a (lb_announce_list()'s order) and drop duplicates in place; the new count. */
size_t lb_announce_set(struct lb_ip *a, size_t n);

/* Is @a in the set @set of @n (as lb_announce_set() or lb_announce_list() leave it)? */
bool lb_announce_in(const struct lb_ip *set, size_t n, const struct lb_ip *a);

/*
 * Make @table hold exactly the @n addresses of @want (in any order; duplicates allowed):
 * add the missing routes, then delete the others of @protocol. Returns 0, or -errno with
 * a sentence in @err (what is added stays added).
 */
int lb_announce_sync(uint32_t table, uint8_t protocol, const struct lb_ip *want, size_t n,
		     char *err, size_t errlen);

/*
 * Claim (@table, @protocol) for this process in its network namespace: an abstract Unix
 * socket named "lbd-announce/<table>/<protocol>" (abstract names are per network
 * namespace and go with their last descriptor, so a killed lbd's claim goes with it).
 * lb_announce_sync() takes every route of (table, protocol) as its caller's: only the
 * holder of the claim may call it with routes to keep. The descriptor (close it to let
 * go), or -errno: -EADDRINUSE when another process holds the claim.
 */
int lb_announce_claim(uint32_t table, uint8_t protocol);

/*
 * Withdraw every route of (@table, @protocol) unless a running lbd claims them: 0, 1 when
 * they were left alone for that, or -errno with a sentence in @err.
 */
int lb_announce_withdraw_unclaimed(uint32_t table, uint8_t protocol, char *err, size_t errlen);

#endif /* LBD_ANNOUNCE_H */
