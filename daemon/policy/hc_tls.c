// SPDX-License-Identifier: MIT
#include "hc_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>

#include "lb_addr.h"
#include "lb_log.h"

/* A context and, for a CA file, the file as it was when read. */
struct tls_entry {
	bool verify;
	const char *ca_file; /* interned; NULL: the system's store */
	SSL_CTX *ctx;
	struct stat st;
};

static struct {
	struct tls_entry *v;
	size_t n;
} cache;

static SSL_CTX *ctx_new(bool verify, const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[160] = "";
	int ok = 1;

	if (!ctx) {
		lb_errf(err, errlen, -ENOMEM, "cannot make a TLS context: out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A peer closing without close_notify is a plain EOF here, judged like one over TCP. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	ERR_clear_error();
	if (verify)
		ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
			     : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_LIB(e) == ERR_LIB_SYS)
			snprintf(why, sizeof(why), "%s", strerror(ERR_GET_REASON(e)));
		else if (e)
			snprintf(why, sizeof(why), "%s", ERR_reason_error_string(e));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		lb_errf(err, errlen, -EINVAL, "cannot load CA certificates from %s: %s",
			ca_file ? ca_file : "the system's store",
			*why ? why : "no certificate in it");
		return NULL;
	}
	return ctx;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

SSL_CTX *lb_hc_tls_ctx(bool verify, const char *ca_file, char *err, size_t errlen)
{
	struct tls_entry *e = NULL, *v;
	struct stat st = {0};
	SSL_CTX *ctx;
	size_t i;

	if (!verify)
		ca_file = NULL;
	for (i = 0; i < cache.n && !e; i++)
		if (cache.v[i].verify == verify && cache.v[i].ca_file == ca_file)
			e = &cache.v[i];
	if (ca_file && stat(ca_file, &st)) {
		lb_errf(err, errlen, -errno, "cannot load CA certificates from %s: %s", ca_file,
			strerror(errno));
		return NULL;
	}
	if (e && (!ca_file || same_file(&e->st, &st)))
		return e->ctx;
	ctx = ctx_new(verify, ca_file, err, errlen);
	if (!ctx)
		return NULL;
	if (e) {
		lb_info("health checks: CA file %s changed, read again", ca_file);
		SSL_CTX_free(e->ctx);
	} else {
		v = realloc(cache.v, (cache.n + 1) * sizeof(*v));
		if (!v) {
			SSL_CTX_free(ctx);
			lb_errf(err, errlen, -ENOMEM, "out of memory");
			return NULL;
		}
		cache.v = v;
		e = &cache.v[cache.n++];
		e->verify = verify;
		e->ca_file = ca_file;
	}
	e->ctx = ctx;
	e->st = st;
	return ctx;
}

static int check_target(const struct lb_proxy_cfg *p, const struct lb_target_cfg *t, char *err,
			size_t errlen)
{
	char why[256], tgt[LB_TARGET_STR_MAX];

	if (t->hc.type != LB_HC_HTTPS || !t->hc.tls_verify)
		return 0;
	if (lb_hc_tls_ctx(true, t->hc.ca_file, why, sizeof(why)))
		return 0;
	return lb_errf(err, errlen, -EINVAL, "proxy %s, target %s: health-check: %s", p->name,
		       lb_format_target(&t->addr, t->port, tgt), why);
}

int lb_hc_tls_check(const struct lb_config *cfg, char *err, size_t errlen)
{
	size_t i, g, k;
	int ret;

	for (i = 0; i < cfg->n_proxies; i++) {
		const struct lb_proxy_cfg *p = &cfg->proxies[i];

		for (g = 0; g < lb_proxy_n_groups(p); g++)
			for (k = 0; k < lb_proxy_group(p, g)->n; k++) {
				ret = check_target(p, &lb_proxy_group(p, g)->t[k], err, errlen);
				if (ret)
					return ret;
			}
	}
	return 0;
}

void lb_hc_tls_release(void)
{
	size_t i;

	for (i = 0; i < cache.n; i++)
		SSL_CTX_free(cache.v[i].ctx);
	free(cache.v);
	cache.v = NULL;
	cache.n = 0;
}
