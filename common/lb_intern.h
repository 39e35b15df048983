/* SPDX-License-Identifier: MIT */
/*
 * lb_intern.h - interned strings: one shared, immutable copy of each distinct string.
 *
 * Configuration structures are copied by value (lb_config_dup(), a target's health check
 * into the health policy, ...). The few strings they carry that may be long but are
 * rarely distinct (a health check's host and ca-file) are interned: a structure holds a
 * pointer that stays valid for the life of the process, copies share it, nothing frees it,
 * and equal strings have equal pointers. The pool grows with the distinct strings ever
 * configured, which an operator's configurations keep small. Thread-safe.
 */
#ifndef LB_INTERN_H
#define LB_INTERN_H

/* The interned copy of @s (NULL for NULL), or NULL with errno ENOMEM. */
const char *lb_intern(const char *s);

#endif /* LB_INTERN_H */
