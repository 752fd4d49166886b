/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One execution from start to end, output live: code through Submit (or
 * Execute, from a daemon without Submit), a file through RunFile.  Used by
 * exec, run and the console.
 */

#include <stdbool.h>
#include <stdint.h>

#include "live.h"

typedef struct Outcome {
        uint64_t id;  /* the execution, 0 when not known */
        char *result; /* repr() of a trailing expression, "" when none; the caller frees */
} Outcome;

/* Both return an exit code: EXIT_OK, EXIT_FAILED (the code raised),
 * EXIT_GAVE_UP (a third Ctrl-C), EXIT_BUS (said on stderr already).
 * sigfd: live_sigint_fd(), or -1.  The Live's handler must be installed. */
int execute_code(Live *l, const char *code, int sigfd, Outcome *o);
int execute_file(Live *l, const char *path, char **argv, int n, int sigfd, Outcome *o);

/* Subscribe once per daemon; false (and why, once, on stderr unless quiet)
 * when the daemon has no Subscribe. */
bool execute_subscribe(Live *l, bool quiet);
