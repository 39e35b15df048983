/* SPDX-License-Identifier: MIT */
/*
 * hc_tls.h - the OpenSSL contexts of https health checks.
 *
 * One context for checks that do not verify, one per CA file (or the system's store) for
 * those that do. A CA file is read when first needed and again whenever it changed on disk
 * (inode, size or modification time), so a renewed CA is picked up without a reload; a
 * context in use by running checks stays alive until they end (OpenSSL counts references).
 * Everything runs on the loop's thread.
 */
#ifndef LBD_HC_TLS_H
#define LBD_HC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#include "lb_config.h"

/*
 * The context for checks with @verify against @ca_file (NULL: the system's store). NULL
 * with a sentence in @err when it cannot be made (a CA file that cannot be read or holds
 * no certificate, out of memory). The cache keeps the reference: do not free it.
 */
SSL_CTX *lb_hc_tls_ctx(bool verify, const char *ca_file, char *err, size_t errlen);

/*
 * Can every https check of @cfg that verifies load its CA file? 0, or -EINVAL with a
 * sentence naming the file, the proxy and the target.
 */
int lb_hc_tls_check(const struct lb_config *cfg, char *err, size_t errlen);

/* Free every context (at exit; running checks keep theirs until they end). */
void lb_hc_tls_release(void);

#endif /* LBD_HC_TLS_H */
