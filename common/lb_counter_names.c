// SPDX-License-Identifier: MIT
/* lb_counter_names.c - the names lbd, lbctl and the tests give the datapath's counters. */
#include "lb_counter_names.h"

const char *lb_counters_global_name(enum lb_global_counter c)
{
	static const char *const names[LB_G_MAX] = {
		[LB_G_PASS_NOT_IP] = "pass-not-ip",
		[LB_G_PASS_MALFORMED] = "pass-malformed",
		[LB_G_PASS_FRAGMENT] = "pass-fragment",
		[LB_G_PASS_OTHER_L4] = "pass-other-l4",
		[LB_G_PASS_NO_LISTENER] = "pass-no-listener",
		[LB_G_PASS_STRAY_RST] = "pass-stray-rst",
		[LB_G_DNAT] = "dnat",
		[LB_G_SNAT] = "snat",
		[LB_G_DROP_NO_BACKEND] = "drop-no-backend",
		[LB_G_ERR_CT_INSERT] = "error-conntrack-insert",
		[LB_G_CT_REUSED] = "conntrack-reused",
		[LB_G_EVENTS_LOST] = "events-lost",
		[LB_G_CT_CONFIRMED] = "conntrack-confirmed",
		[LB_G_ICMP_TO_BACKEND] = "icmp-to-backend",
		[LB_G_ICMP_TO_CLIENT] = "icmp-to-client",
		[LB_G_CT_REPLY_RESTORED] = "conntrack-reply-restored",
		[LB_G_DSR_TX] = "dsr-tx",
		[LB_G_DSR_NO_NEIGH] = "drop-dsr-no-neighbour",
		[LB_G_DSR_NO_ROUTE] = "drop-dsr-no-route",
		[LB_G_FULLNAT_REPLY] = "full-nat-reply",
		[LB_G_FULLNAT_NO_PORT] = "drop-full-nat-no-port",
		[LB_G_FAST_REDIRECT] = "fast-path-redirect",
		[LB_G_FAST_FALLBACK] = "fast-path-fallback",
	};

	return (unsigned int)c < LB_G_MAX && names[c] ? names[c] : "unknown";
}
