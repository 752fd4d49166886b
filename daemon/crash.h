/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/*
 * A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS)
 * leaves one log line naming the signal and the execution that ran, then
 * goes on to whatever handled it before (faulthandler's stack dump, the
 * sanitizers' report) or to the default action: the process still dies by
 * that signal, so its unit sees the crash.  Install once, early, in the main
 * thread.
 */
void crash_install(void);

/* The execution the GUI thread runs now (0: none).  Any thread; async-signal-safe. */
void crash_set_execution(uint64_t id);
