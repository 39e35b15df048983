/* SPDX-License-Identifier: MIT */
/*
 * weights.h - the one weight composer: configured weight x health x recovery step x drain
 * -> the effective weights the datapath uses, for every group of every proxy alike.
 *
 *   - a draining or unhealthy target gets 0;
 *   - a recovering target gets 25%, 50%, 75% of its configured weight (recovery steps 1-3),
 *     rounded half up to a whole weight, then 100% from step 4 on;
 *   - the rest are scaled proportionally to sum to exactly the group's total, by largest
 *     remainder: LB_WEIGHTS_PCT (100) for a group of percentages (50/30/20 with the middle
 *     one down -> 71/0/29; 50/50 with one at step 1 -> 79/21), LB_WEIGHTS_RELATIVE
 *     (10000) for a group of relative shares (more than 8 targets), where a target whose
 *     exact share is above 0 but rounds to 0 gets 1, taken from the largest;
 *   - when that leaves nothing (every target unhealthy), the configured weights of the
 *     targets that are not draining stay in force: sending traffic to possibly-dead
 *     backends beats sending it nowhere (graceful degradation);
 *   - when every target is draining, all weights are 0 and new flows are dropped.
 */
#ifndef LBD_WEIGHTS_H
#define LBD_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_RECOVERY_STEPS 4 /* step 4 (or 0) = full weight */

/* What a group's effective weights sum to. */
#define LB_WEIGHTS_PCT	    100u
#define LB_WEIGHTS_RELATIVE 10000u

struct lb_weight_input {
	uint8_t configured; /* 0..100, as configured (or set by set-weights) */
	bool healthy;
	uint8_t recovery_step; /* 1..3 while ramping back in; 0 or >= 4 when not ramping */
	bool draining;
	/*
	 * The target's place in identity order (address, port) within its group: the lower
	 * rank wins a rounding tie, so that nodes listing a group's targets in different
	 * orders compose the same weights (and so the same Maglev table). Equal ranks: the
	 * lower index.
	 */
	uint16_t rank;
};

/*
 * Compose @n (at most LB_MAX_TARGETS_PER_GROUP; more are left out) effective weights into
 * @out, summing to @total (LB_WEIGHTS_PCT or LB_WEIGHTS_RELATIVE) or all 0.
 */
void lb_weights_compose(const struct lb_weight_input *in, size_t n, unsigned int total,
			uint16_t *out);

#endif /* LBD_WEIGHTS_H */
