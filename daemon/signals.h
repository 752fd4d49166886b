/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdbool.h>

enum {
        SIGNALS_INT = 1 << 0,  /* SIGINT from outside: Ctrl-C, kill -INT */
        SIGNALS_TERM = 1 << 1, /* SIGTERM */
};

/*
 * The signal guiloopd aims at the GUI thread to interrupt Python there (a
 * real-time signal, SIGRTMIN + 5).  Its Python-level handler is the daemon's
 * (boot.py installs it); executed code that replaces SIGINT's handler —
 * SIG_IGN, SIG_DFL, its own, matplotlib's, wx.App()'s — changes what a
 * terminal's Ctrl-C does to it, never whether Interrupt and
 * execution.timeout work.  Python's own C handler trips the interrupt flag
 * in the thread Python checks it in and cuts blocking calls short (EINTR);
 * PyErr_SetInterruptEx() called from any other thread never stops a busy
 * `while True: pass` (measured on CPython 3.11), and called from a signal
 * handler while SIGINT's handler is SIG_DFL it compares Python ints without
 * a thread state (it crashed).
 */
int signals_interrupt_signal(void);

/*
 * Install the process's SIGINT and SIGTERM handlers (after Python's init,
 * which installs its own, and after boot.py set the interrupt signal's
 * Python handler, which is remembered here).  A signal from outside is only
 * recorded and wake_fd (an eventfd) written, so the bus thread decides:
 * interrupt or shut down.
 */
int signals_install(int wake_fd, pthread_t gui_thread);

/*
 * Executed code can replace the handlers (signal.signal(), wx.App()); take
 * them back.  True when they had been replaced.  Any thread.
 */
bool signals_reclaim(void);

/* The signals that arrived since the last call (SIGNALS_* bits). */
unsigned signals_take(void);

/* Interrupt the GUI thread: Python runs the daemon's handler at its next check or EINTR. */
void signals_interrupt(void);

/* Default actions back, for the end of the process. */
void signals_uninstall(void);
