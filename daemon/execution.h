/* SPDX-License-Identifier: MIT */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>

#include "output.h"
#include "util.h"

typedef enum ExecutionKind {
        EXECUTION_CODE, /* Execute(code) */
        EXECUTION_FILE, /* RunFile(path, argv) */
} ExecutionKind;

/* How an execution ended, beside what the code itself did. */
enum {
        EXECUTION_E_FILE_NOT_FOUND = 1, /* RunFile's file could not be read */
        EXECUTION_E_SHUTTING_DOWN,      /* refused: the daemon is stopping */
};

/*
 * One Execute or RunFile call, from the bus thread through the GUI thread
 * and back.  The bus thread creates it and alone touches msg; the GUI thread
 * fills the results while it runs it; then it goes back to the bus thread,
 * which replies and frees it.
 */
typedef struct Execution {
        uint64_t id;
        ExecutionKind kind;
        char *code;  /* EXECUTION_CODE */
        char *path;  /* EXECUTION_FILE */
        char **argv; /* EXECUTION_FILE, NULL-terminated */
        DBusMessage *msg;

        /* Results: 0 or EXECUTION_E_*, then what the code did. */
        int status;
        char *status_text; /* why, for EXECUTION_E_* */
        bool success;
        char *result;
        Output *output;
        char *stdout_text, *stderr_text;

        uint64_t queued_usec, started_usec, finished_usec;
} Execution;

int execution_new(Execution **out, ExecutionKind kind, DBusMessage *msg, uint64_t max_output);
Execution *execution_free(Execution *e);
DEFINE_CLEANUP(Execution *, execution_free);
