// SPDX-License-Identifier: MIT
#include "weights.h"

#include <string.h>

#include "lb_abi.h"

/* The share of its configured weight a target may take right now, in percent. */
static unsigned int factor_pct(const struct lb_weight_input *t)
{
	if (t->draining || !t->healthy)
		return 0;
	if (t->recovery_step >= 1 && t->recovery_step < LB_RECOVERY_STEPS)
		return 100u * t->recovery_step / LB_RECOVERY_STEPS;
	return 100;
}

/* Whether target @i goes before @j in a tie: the lower rank, then the lower index. */
static bool before(const struct lb_weight_input *in, size_t i, size_t j)
{
	return in[i].rank != in[j].rank ? in[i].rank < in[j].rank : i < j;
}

/*
 * Scale @raw to sum to exactly @total by largest remainder (ties: before()). 64-bit
 * products: 256 targets of weight 100 times 10000 do not fit 32 bits.
 */
static void normalise(const struct lb_weight_input *in, const unsigned int *raw, size_t n,
		      unsigned int sum, unsigned int total, uint16_t *out)
{
	uint64_t rem[LB_MAX_TARGETS_PER_GROUP];
	unsigned int given = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		out[i] = (uint16_t)((uint64_t)raw[i] * total / sum);
		rem[i] = (uint64_t)raw[i] * total % sum;
		given += out[i];
	}
	while (given < total) {
		size_t best = n;

		for (i = 0; i < n; i++)
			if (raw[i] && (best == n || rem[i] > rem[best] ||
				       (rem[i] == rem[best] && before(in, i, best))))
				best = i;
		out[best]++;
		rem[best] = 0;
		given++;
	}
}

/*
 * Relative groups: nobody with a share rounds to nothing; the largest (ties: before())
 * gives the unit.
 */
static void keep_alive(const struct lb_weight_input *in, const unsigned int *raw, size_t n,
		       uint16_t *out)
{
	size_t i, k, big;

	for (i = 0; i < n; i++) {
		if (!raw[i] || out[i])
			continue;
		for (big = 0, k = 1; k < n; k++)
			if (out[k] > out[big] || (out[k] == out[big] && before(in, k, big)))
				big = k;
		if (out[big] <= 1)
			return; /* cannot happen with a total above the number of targets */
		out[big]--;
		out[i] = 1;
	}
}

void lb_weights_compose(const struct lb_weight_input *in, size_t n, unsigned int total,
			uint16_t *out)
{
	unsigned int raw[LB_MAX_TARGETS_PER_GROUP], sum = 0;
	size_t i;

	if (n > LB_MAX_TARGETS_PER_GROUP)
		n = LB_MAX_TARGETS_PER_GROUP;
	for (i = 0; i < n; i++) {
		raw[i] = (in[i].configured * factor_pct(&in[i]) + 50) / 100;
		sum += raw[i];
	}
	if (sum == 0) {
		/* Graceful degradation: nobody healthy, so keep the configuration. */
		for (i = 0; i < n; i++) {
			raw[i] = in[i].draining ? 0 : in[i].configured;
			sum += raw[i];
		}
	}
	if (sum == 0) {
		memset(out, 0, n * sizeof(*out));
		return;
	}
	normalise(in, raw, n, sum, total, out);
	if (total > LB_WEIGHTS_PCT)
		keep_alive(in, raw, n, out);
}
