/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdbool.h>

enum {
        SIGNALS_INT = 1 << 0,  /* SIGINT from outside: Ctrl-C, kill -INT */
        SIGNALS_TERM = 1 << 1, /* SIGTERM */
};

/*
 * Install the process's SIGINT and SIGTERM handlers (after Python's init,
 * which installs its own).  A signal from outside is only recorded and
 * wake_fd (an eventfd) written, so the bus thread decides: interrupt or shut
 * down.  The SIGINT that signals_interrupt() aims at the GUI thread raises
 * Python's interrupt flag right there, in the thread Python checks it in;
 * PyErr_SetInterruptEx() called from any other thread never stops a busy
 * `while True: pass` (measured on CPython 3.11).
 */
int signals_install(int wake_fd, pthread_t gui_thread);

/*
 * Executed code can replace the handlers (signal.signal(), wx.App()); take
 * them back.  True when they had been replaced, now or since Python's handler
 * was last known to be the guard: then python_guard_sigint() is due.  Any
 * thread.
 */
bool signals_reclaim(void);

/* Python's SIGINT handler is the guard again (after python_guard_sigint). */
void signals_python_guarded(void);

/* The signals that arrived since the last call (SIGNALS_* bits). */
unsigned signals_take(void);

/* Interrupt the GUI thread: Python raises at its next check or EINTR. */
void signals_interrupt(void);

/* Default actions back, for the end of the process. */
void signals_uninstall(void);
