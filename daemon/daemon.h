/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "execution.h"

/* Documented conditions (positive return codes). */
enum {
        DAEMON_E_QUEUE_FULL = 1,  /* queue_limit executions wait already */
        DAEMON_E_SHUTTING_DOWN,   /* Shutdown() was called */
};

/* Exit codes (sysexits). */
enum {
        EXIT_OK = 0,
        EXIT_USAGE = 64,
        EXIT_UNAVAILABLE = 69,
        EXIT_SOFTWARE = 70,
        EXIT_TEMPFAIL = 75,
        EXIT_CONFIG = 78,
};

typedef struct Daemon Daemon;

/* Run the daemon with this configuration until it stops; returns an exit code. */
int daemon_run(Config *config, const char *plugin_dir);

/* For the bus thread. */
int daemon_submit(Daemon *d, Execution *e);
/* Interrupt the running execution (id 0: whichever runs); false if none runs. */
bool daemon_interrupt(Daemon *d, uint64_t id);
/* Refuse new work, answer the queued, interrupt the running, quit the loop. */
void daemon_shutdown(Daemon *d);
/* Stop with this exit code once shut down (the bus is gone, say). */
void daemon_set_exit_code(Daemon *d, int code);
/* An execution runs now (the Busy property). */
bool daemon_busy(Daemon *d);
size_t daemon_queue_length(Daemon *d);
const Config *daemon_config(Daemon *d);
const char *daemon_python_version(Daemon *d);
