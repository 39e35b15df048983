// SPDX-License-Identifier: MIT
#include "weights.h"

#include <string.h>

/* The share of its configured weight a target may take right now, in percent. */
static unsigned int factor_pct(const struct lb_weight_input *t)
{
	if (t->draining || !t->healthy)
		return 0;
	if (t->recovery_step >= 1 && t->recovery_step < LB_RECOVERY_STEPS)
		return 100u * t->recovery_step / LB_RECOVERY_STEPS;
	return 100;
}

/* Scale @raw to sum to exactly 100 by largest remainder (ties: the lower index). */
static void normalise(const unsigned int *raw, size_t n, unsigned int sum, uint16_t *out)
{
	unsigned int rem[64], given = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		out[i] = raw[i] * 100 / sum;
		rem[i] = raw[i] * 100 % sum;
		given += out[i];
	}
	while (given < 100) {
		size_t best = n;

		for (i = 0; i < n; i++)
			if (raw[i] && (best == n || rem[i] > rem[best]))
				best = i;
		out[best]++;
		rem[best] = 0;
		given++;
	}
}

void lb_weights_compose(const struct lb_weight_input *in, size_t n, uint16_t *out)
{
	unsigned int raw[64], sum = 0;
	size_t i;

	if (n > 64)
		n = 64;
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
	normalise(raw, n, sum, out);
}
