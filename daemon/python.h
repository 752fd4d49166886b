/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "execution.h"
#include "util.h"

/* Documented conditions (positive return codes). */
enum {
        PYTHON_E_INIT = 1, /* the interpreter or guiloop's boot code failed; err says why */
};

typedef struct Python Python;

typedef struct PythonHooks {
        void *data;
        /*
         * Called by the interrupt handler in Python (GUI thread, GIL held):
         * should what runs now (the execution, or the GUI callback holding
         * the thread) get a KeyboardInterrupt?  take: the request is used
         * up.  A signal nobody asked for is dropped, so that it can never
         * hit a later execution.
         */
        bool (*interrupt_wanted)(void *data, bool take);
} PythonHooks;

/*
 * Initialise the embedded interpreter in the calling (main, GUI) thread:
 * program name, no PYTHON* variables, sys.stdout/err captured per execution,
 * sys.path, switch interval, the startup file.  Returns with the GIL released.
 */
int python_new(Python **out, const Config *c, PythonHooks hooks, char *err, size_t errlen);

/* Finalize (atexit handlers run); the toolkit must still be alive. */
Python *python_free(Python *py);
DEFINE_CLEANUP(Python *, python_free);

/*
 * Run a plugin's setup source in a module of its own (main thread, before
 * any execution).  0, or PYTHON_E_INIT with the exception in err.
 */
int python_setup(Python *py, const char *name, const char *source, char *err, size_t errlen);

/*
 * Make the interrupt guard Python's SIGINT handler again, and the daemon's
 * C handlers the process's (code may have called signal.signal()).  True
 * when something had to be taken back.  Main thread.
 */
bool python_guard_sigint(Python *py);

/*
 * Run Python in the GUI thread for a moment (boot.poke), so that a pending
 * interrupt is seen while the thread waits in a nested loop.  GUI thread.
 */
void python_poke(Python *py);

/* The GUI thread runs Python code right now (a hint; any thread, no GIL). */
bool python_gui_in_code(Python *py);

/* sys.version. */
const char *python_version(Python *py);

/* Run e in the GUI thread and fill its results. */
void python_run(Python *py, Execution *e);
