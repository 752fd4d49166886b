/* SPDX-License-Identifier: MIT */
#pragma once

#include "daemon.h"
#include "execution.h"
#include "util.h"

/* Documented conditions (positive return codes); err says what happened. */
enum {
        BUS_E_CONNECT = 1, /* no session bus */
        BUS_E_NAME_TAKEN,  /* another process owns our name */
};

/*
 * The bus thread: it alone reads and writes the D-Bus connection, in its own
 * poll() loop over the connection's watches and an eventfd, with no timeout
 * when idle.  It answers Interrupt, Shutdown, properties and introspection at
 * once; executions go to the GUI thread through daemon_submit() and come
 * back through bus_execution_finished(); it never waits for the GUI thread.
 */
typedef struct Bus Bus;

/* Connect to the session bus and own the name (main thread, before bus_start). */
int bus_new(Bus **out, Daemon *d, const char *name, char *err, size_t errlen);
Bus *bus_free(Bus *b);
DEFINE_CLEANUP(Bus *, bus_free);

/* The eventfd that wakes the bus thread (signal handlers write it too). */
int bus_wake_fd(Bus *b);

int bus_start(Bus *b);

/* After the loop returned: answer what is left, release the name, join. */
void bus_stop(Bus *b);

/*
 * Background output, sent as Output with execution 0 (o is the capture's,
 * and lives until bus_free).  Main thread, before bus_start.
 */
void bus_set_background(Bus *b, Output *o);

/* From the GUI thread: an execution began, or ended (then the bus thread owns it). */
void bus_execution_started(Bus *b, Execution *e);
void bus_execution_finished(Bus *b, Execution *e);
