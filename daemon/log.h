/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

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
 * Write lines to fd instead of STDERR_FILENO (fd stays the caller's): fds 1
 * and 2 are execution output while they are captured, and the daemon's own
 * lines never mix into that.  log_fd() is where they go now, e.g. for
 * faulthandler.  Safe from any thread.
 */
void log_set_fd(int fd);
int log_fd(void);

void log_msgv(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line printed as it is (e.g. "FILE:LINE: reason"), with the journal prefix if any. */
void log_raw(int prio, const char *text);

#define log_err(...) log_msg(LOG_PRIO_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_PRIO_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_PRIO_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_PRIO_DEBUG, __VA_ARGS__)
