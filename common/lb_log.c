// SPDX-License-Identifier: MIT
#include "lb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static enum lb_log_level max_level = LB_LOG_INFO;

void lb_log_set_level(enum lb_log_level level)
{
	max_level = level;
}

bool lb_log_enabled(enum lb_log_level level)
{
	return level <= max_level;
}

static const char *level_name(enum lb_log_level level)
{
	switch (level) {
	case LB_LOG_ERR:
		return "error";
	case LB_LOG_WARN:
		return "warning";
	case LB_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void lb_log(enum lb_log_level level, const char *fmt, ...)
{
	static int journal = -1;
	char line[1024];
	va_list ap;

	if (!lb_log_enabled(level))
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line: concurrent writers never interleave inside a line. */
	if (journal)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "lbd %s: %s\n", level_name(level), line);
}

int lb_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}
