/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "util.h"

typedef enum ExecutionKind {
        EXECUTION_CODE, /* Execute(code), Submit(code) */
        EXECUTION_FILE, /* RunFile(path, argv) */
} ExecutionKind;

/* How an execution ended, beside what the code itself did. */
enum {
        EXECUTION_E_FILE_NOT_FOUND = 1, /* RunFile's file could not be read */
        EXECUTION_E_SHUTTING_DOWN,      /* refused: the daemon is stopping */
        EXECUTION_E_CANCELLED,          /* taken out of the queue by Cancel */
        EXECUTION_E_CALLER_GONE,        /* its caller left the bus before it started */
};

/*
 * One piece of code to run, from the bus thread through the GUI thread and
 * back.  It holds only what running it needs (no D-Bus message: whoever
 * answers keeps the few bytes that takes), so that a long queue costs the
 * code's size and nothing more.  The GUI thread fills the results while it
 * runs it; then it goes back through the executor's finished() event.
 */
typedef struct Execution {
        uint64_t id;
        ExecutionKind kind;
        char *code;  /* EXECUTION_CODE */
        char *path;  /* EXECUTION_FILE */
        char **argv; /* EXECUTION_FILE, NULL-terminated */
        size_t bytes; /* what code, path and argv take: the queue's byte bound counts it */

        /* Results: 0 or EXECUTION_E_*, then what the code did. */
        int status;
        char *status_text; /* why, for EXECUTION_E_* */
        bool success;
        char *result;
        Output *output;
        char *stdout_text, *stderr_text;

        uint64_t queued_usec, started_usec, finished_usec;
} Execution;

int execution_new(Execution **out, ExecutionKind kind, uint64_t max_output);
Execution *execution_free(Execution *e);
DEFINE_CLEANUP(Execution *, execution_free);

/* e->code = a copy of code (EXECUTION_CODE); 0 or -ENOMEM. */
int execution_set_code(Execution *e, const char *code);
/* e->path, e->argv = copies (EXECUTION_FILE); 0 or -ENOMEM. */
int execution_set_file(Execution *e, const char *path, const char *const *argv, size_t argc);
