// SPDX-License-Identifier: MIT
#include "lbd.h"

#include <errno.h>
#include <string.h>

uint64_t lbd_uptime_ms(const struct lbd *l)
{
	return uv_now(l->loop) - l->started_ms;
}

const char *lbd_proxy_name(const struct lbd *l, uint32_t id)
{
	const char *name = l->model ? lb_ids_proxy_name(&l->model->ids, id) : NULL;

	return name ? name : "?";
}

const struct lb_live *lbd_live(struct lbd *l, bool fresh)
{
	if (!l->sweeper) {
		errno = ENODEV;
		return NULL;
	}
	return lb_sweeper_live(l->sweeper, fresh ? 0 : lb_sweeper_interval_ms(l->sweeper));
}

void lbd_live_recount(struct lbd *l)
{
	if (l->sweeper)
		lb_sweeper_live(l->sweeper, 1); /* reuses only a count under 1 ms old */
}
