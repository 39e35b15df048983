// SPDX-License-Identifier: MIT
#include "node_wait.h"

#include <errno.h>
#include <time.h>

#include "exit_status.h"
#include "format.h"

#define POLL_MS 500

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int lb_node_drain_wait(struct lb_client *c, int64_t timeout_ms, bool json, FILE *out, FILE *err,
		       volatile sig_atomic_t *stop)
{
	int64_t start = lb_client_now_ms(), left = -1, flows;
	json_t *resp = NULL, *result;
	int r;

	for (;;) {
		r = lb_client_call(c, "node-status", NULL, &resp, NULL, NULL);
		if (r)
			return r;
		result = json_object_get(resp, "result");
		if (!json_is_object(result)) {
			json_decref(resp);
			return -EPROTO;
		}
		flows = json_integer_value(json_object_get(result, "flows"));
		if (flows != left) {
			if (json)
				lb_format_json_line(out, result);
			else
				fprintf(out, "node drain: %lld flow%s left\n", (long long)flows,
					flows == 1 ? "" : "s");
			fflush(out);
			left = flows;
		}
		json_decref(resp);
		if (!flows)
			return EXIT_OK;
		if (stop && *stop) {
			fprintf(err, "lbctl: stopped waiting; the node stays in maintenance "
				     "(lbctl node undrain ends it)\n");
			return EXIT_INTERRUPTED;
		}
		if (timeout_ms > 0 && lb_client_now_ms() - start >= timeout_ms) {
			fprintf(err,
				"lbctl: %lld flow%s still open after %g s; the node stays in "
				"maintenance (lbctl node status shows it)\n",
				(long long)flows, flows == 1 ? "" : "s", timeout_ms / 1000.0);
			return EXIT_DRAIN_TIMEOUT;
		}
		sleep_ms(POLL_MS);
	}
}
