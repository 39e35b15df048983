// SPDX-License-Identifier: MIT
/*
 * lb_config_path.c - configuration error messages and the JSON paths that start them
 * ("proxies[0].default-target[1].weight: ...").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lb_addr.h"
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
	if (path && *path && path[strlen(path) - 1] == ':')
		snprintf(c->err, c->errlen, "%s %s", path, msg); /* a proxy named by name */
	else if (path)
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

/* Under a proxy named by name ('proxy "api":') members follow after a space. */
static const char *separator(const char *parent)
{
	if (!*parent)
		return "";
	return parent[strlen(parent) - 1] == ':' ? " " : ".";
}

const char *lb_cfg_pkey(char buf[JPATH_MAX], const char *parent, const char *key)
{
	return path_done(buf, snprintf(buf, JPATH_MAX, "%s%s%s", parent, separator(parent), key));
}

const char *lb_cfg_pidx(char buf[JPATH_MAX], const char *parent, size_t i)
{
	return path_done(buf, snprintf(buf, JPATH_MAX, "%s[%zu]", parent, i));
}

const char *lb_cfg_ref(const char *path)
{
	const char *end;

	if (strncmp(path, "proxy \"", 7) || !(end = strstr(path + 7, "\": ")))
		return path;
	return end + 3;
}

const char *lb_config_proxy_path(const char *name, size_t i, enum lb_cfg_naming naming,
				 const char *member, char *buf, size_t len)
{
	char root[JPATH_MAX], q[LB_QUOTE_MAX];

	if (naming == LB_CFG_BY_NAME)
		snprintf(root, sizeof(root), "proxy %s:", lb_quote(name, q));
	else
		snprintf(root, sizeof(root), "proxies[%zu]", i);
	if (member)
		snprintf(buf, len, "%s%s%s", root, separator(root), member);
	else
		snprintf(buf, len, "%s", root);
	return buf;
}
