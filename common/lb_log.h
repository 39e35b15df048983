/* SPDX-License-Identifier: MIT */
/*
 * lb_log.h - logging to stderr in a form journald reads well.
 *
 * Under systemd (JOURNAL_STREAM set) every line starts with a "<N>" syslog priority prefix,
 * which journald turns into the entry's priority; on a terminal the level is spelled out.
 */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum lb_log_level { LB_LOG_ERR = 3, LB_LOG_WARN = 4, LB_LOG_INFO = 6, LB_LOG_DEBUG = 7 };

/* Set the most verbose level printed (default LB_LOG_INFO). */
void lb_log_set_level(enum lb_log_level level);

/* True when messages of @level are printed. */
bool lb_log_enabled(enum lb_log_level level);

/* printf-style; a trailing newline is added. */
void lb_log(enum lb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Write a printf-style sentence into @err (@errlen bytes) and return @ret: the idiom of
 * functions that return -errno and explain it to the user.
 */
int lb_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define lb_err(...)   lb_log(LB_LOG_ERR, __VA_ARGS__)
#define lb_warn(...)  lb_log(LB_LOG_WARN, __VA_ARGS__)
#define lb_info(...)  lb_log(LB_LOG_INFO, __VA_ARGS__)
#define lb_debug(...) lb_log(LB_LOG_DEBUG, __VA_ARGS__)

#endif /* LB_LOG_H */
