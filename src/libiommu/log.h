/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Messages for people go to stderr, one line each. The errno variants set errno from the
 * (negative) error so "%m" works, and return the negative error so callers can write
 * "return log_error_errno(r, ...);". */

enum { LOG_LEVEL_ERROR = 3, LOG_LEVEL_WARNING = 4, LOG_LEVEL_NOTICE = 5, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

void log_set_max_level(int level);
int log_get_max_level(void);
/* SYSTEMD_LOG_LEVEL's syntax, as systemd reads it: 0-7 or emerg...debug. -EINVAL otherwise. */
int log_level_from_string(const char *s);
/* Prefix every line with "<N>" (the kernel log's priority syntax), for generators whose stderr goes
 * to /dev/kmsg. */
void log_set_kmsg_prefix(bool on);
/* Also hands every message, whatever the maximum level, to hook (NULL: none), for callers that
 * report problems in their own output (lint --json). Messages still go to stderr as usual. */
typedef void (*LogHook)(int level, const char *message, void *userdata);
void log_set_hook(LogHook hook, void *userdata);
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
#define log_oom() log_internal(LOG_LEVEL_ERROR, -ENOMEM, "Out of memory.")
