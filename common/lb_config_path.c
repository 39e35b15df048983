// SPDX-License-Identifier: MIT
/*
 * lb_config_path.c - configuration error messages and the JSON paths that start them
 * ("proxies[0].default-target[1].weight: ...").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lb_config_priv.h"

int lb_cfg_fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[LB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->err || !c->errlen)
		return -EINVAL;
	if (path)
		snprintf(c->err, c->errlen, "%s: %s", *path ? path : "top level", msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -EINVAL;
}

int lb_cfg_fail_range(struct ctx *c, const char *path, long long v, long long min, long long max)
{
	return lb_cfg_fail(c, path, "must be between %lld and %lld (got %lld)", min, max, v);
}

int lb_cfg_fail_nomem(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "out of memory while reading the configuration");
	return -ENOMEM;
}

/* A path too deep for the buffer cannot come from the format, but is cut visibly if it does. */
static const char *path_done(char buf[JPATH_MAX], int n)
{
	if (n < 0 || n >= JPATH_MAX)
		strcpy(buf + JPATH_MAX - 4, "...");
	return buf;
}

const char *lb_cfg_pkey(char buf[JPATH_MAX], const char *parent, const char *key)
{
	return path_done(buf, snprintf(buf, JPATH_MAX, "%s%s%s", parent, *parent ? "." : "", key));
}

const char *lb_cfg_pidx(char buf[JPATH_MAX], const char *parent, size_t i)
{
	return path_done(buf, snprintf(buf, JPATH_MAX, "%s[%zu]", parent, i));
}
