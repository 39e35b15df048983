// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lb_fault.h"
#include "lb_log.h"

static const char *armed; /* the point to fail, until it has failed once */

void lb_fault_arm(void)
{
	const char *p = getenv("LBD_FAULT");

	armed = p && *p ? p : NULL;
	if (armed)
		lb_warn("LBD_FAULT=%s: the next change fails there (a test seam)", armed);
}

int lb_fault(const char *point, char *err, size_t errlen)
{
	if (!armed || strcmp(armed, point))
		return 0;
	armed = NULL;
	lb_warn("LBD_FAULT: failing %s", point);
	return lb_errf(err, errlen, -EIO, "injected failure at %s (LBD_FAULT)", point);
}
