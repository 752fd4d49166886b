/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "bus-object.h"
#include "execution.h"
#include "util.h"

/* Documented conditions (positive return codes); err says what happened. */
enum {
        BUS_E_CONNECT = 1, /* no session bus */
        BUS_E_NAME_TAKEN,  /* another process owns our name */
};

/*
 * The bus thread and its connection: it alone reads and writes the D-Bus
 * connection, in its own poll() loop over the connection's watches, an
 * eventfd and the object's fds, with no timeout when idle.  The object
 * (bus-object.h) answers the calls; this file only connects, owns the name
 * and drives the loop.
 */
typedef struct Bus Bus;

/*
 * Connect to the session bus ($DBUS_SESSION_BUS_ADDRESS, else
 * $XDG_RUNTIME_DIR/bus; never an autolaunched one), own name and set up the
 * object as setup says (its conn, name and wake_fd are filled in here).
 * Main thread, before bus_start.
 */
int bus_new(Bus **out, const char *name, const BusObjectSetup *setup, char *err, size_t errlen);
Bus *bus_free(Bus *b);
DEFINE_CLEANUP(Bus *, bus_free);

/* The eventfd that wakes the bus thread (signal handlers write it too). */
int bus_wake_fd(Bus *b);
/* The object, for the executor's events (bus_object_started/finished). */
BusObject *bus_object(Bus *b);

int bus_start(Bus *b);

/* After the loop returned: answer what is left, join the thread. */
void bus_stop(Bus *b);
