// SPDX-License-Identifier: MIT
#include "subscribers.h"

#include <errno.h>
#include <stdlib.h>

int lb_subs_add(struct lb_subs *s, struct lb_rpc_client *c)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct lb_rpc_client **grown = realloc(s->c, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->c = grown;
		s->cap = cap;
	}
	s->c[s->n++] = lb_rpc_client_ref(c);
	return 0;
}

static void prune(struct lb_subs *s)
{
	size_t i = 0;

	while (i < s->n) {
		if (lb_rpc_client_connected(s->c[i])) {
			i++;
			continue;
		}
		lb_rpc_client_unref(s->c[i]);
		s->c[i] = s->c[--s->n];
	}
}

void lb_subs_broadcast(struct lb_subs *s, const char *method, json_t *params)
{
	size_t i;

	prune(s);
	for (i = 0; i < s->n; i++)
		lb_rpc_client_send(s->c[i], lb_rpc_notification(method, json_incref(params)));
}

size_t lb_subs_broadcast_lossy(struct lb_subs *s, const char *method, json_t *params,
			       size_t max_queued)
{
	size_t i, skipped = 0;

	prune(s);
	for (i = 0; i < s->n; i++) {
		if (lb_rpc_client_queued(s->c[i]) > max_queued) {
			skipped++;
			continue;
		}
		lb_rpc_client_send(s->c[i], lb_rpc_notification(method, json_incref(params)));
	}
	return skipped;
}

size_t lb_subs_count(struct lb_subs *s)
{
	prune(s);
	return s->n;
}

void lb_subs_release(struct lb_subs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		lb_rpc_client_unref(s->c[i]);
	free(s->c);
	s->c = NULL;
	s->n = s->cap = 0;
}
