/* SPDX-License-Identifier: MIT */
/*
 * access_log.h - the JSON-lines access log (settings.access-log): one compact JSON object
 * per line, appended to a file that logrotate may rename under lbd's feet.
 *
 * Each line goes out in one write() of the whole line, unbuffered: the caller already
 * batches per event-loop wakeup, and a line lbd has accepted is in the kernel's hands even
 * if lbd dies right after. A failed write (ENOSPC, EIO...) loses that line, is counted and
 * is logged once per distinct errno, never more often; lbd keeps going.
 */
#ifndef LB_ACCESS_LOG_H
#define LB_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct lb_access_log;

/*
 * Open (creating it with mode 0640, less the umask) @path for appending. Returns 0 and sets
 * *out, or -errno with "cannot open access log PATH: REASON" in @err.
 */
int lb_access_log_open(struct lb_access_log **out, const char *path, char *err, size_t errlen);

/*
 * Append @record (a JSON object; its keys in insertion order) as one compact line. Returns 0,
 * or -errno when the line was lost (-EINVAL: @record is not an object or cannot be encoded);
 * every lost line counts in lb_access_log_failed().
 */
int lb_access_log_write(struct lb_access_log *a, json_t *record);

/*
 * Open the path again and write there from now on (after logrotate renamed the file). When
 * the open fails, lines keep going to the file open until now and -errno comes back with
 * "cannot reopen access log PATH: REASON" in @err.
 */
int lb_access_log_reopen(struct lb_access_log *a, char *err, size_t errlen);

/* Lines written whole since open, and lines lost. */
uint64_t lb_access_log_written(const struct lb_access_log *a);
uint64_t lb_access_log_failed(const struct lb_access_log *a);

/* The path given to lb_access_log_open(). */
const char *lb_access_log_path(const struct lb_access_log *a);

/* Close the file and free @a; NULL is a no-op. */
void lb_access_log_close(struct lb_access_log *a);

#endif /* LB_ACCESS_LOG_H */
