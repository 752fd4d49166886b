/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* syslog(3) priorities; the same numbers as GUILOOP_LOG_* in plugin.h. */
enum {
        LOG_PRIO_ERR = 3,
        LOG_PRIO_WARNING = 4,
        LOG_PRIO_INFO = 6,
        LOG_PRIO_DEBUG = 7,
};

/*
 * One line per event on stderr: "guiloopd: text", or "<N>text" when stderr is
 * the journal stream named by $JOURNAL_STREAM.  Debug lines only with verbose.
 * Safe from any thread.
 */
void log_setup(bool verbose);

/*
 * The log's own descriptor: a CLOEXEC duplicate of the stderr the daemon was
 * started with, made by the first log_setup(), so that code closing or
 * reopening fd 2 never takes the log (STDERR_FILENO before log_setup()).
 * Async-signal-safe to read.
 */
int log_get_fd(void);

void log_msgv(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line printed as it is (e.g. "FILE:LINE: reason"), with the journal prefix if any. */
void log_raw(int prio, const char *text);

/* One "guiloopd: text" line with a single writev(2), async-signal-safe (no formatting). */
void log_raw_async(int prio, const char *text, size_t len);

#define log_err(...) log_msg(LOG_PRIO_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_PRIO_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_PRIO_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_PRIO_DEBUG, __VA_ARGS__)
