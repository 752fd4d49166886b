/* SPDX-License-Identifier: MIT */
#pragma once

#include <dbus/dbus.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "assist.h"
#include "config.h"
#include "execution.h"
#include "executor.h"
#include "util.h"

/*
 * The object /org/guiloop/GuiLoop1 with its interface org.guiloop.GuiLoop1,
 * properties and introspection, on a connection the bus thread drives
 * (bus.c).  It turns calls into executions for the executor, implements the
 * executor's started/finished events, and sends replies and the Output and
 * Finished signals.  Everything but bus_object_started/finished runs in the
 * bus thread, under the object's lock.
 */
typedef struct BusObject BusObject;

typedef struct BusObjectServices {
        void *data;
        /* Shutdown began and the executor refused what waited: quit the GUI loop. */
        void (*quit)(void *data);
        /* The bus connection is gone: the daemon is to exit 69 once stopped. */
        void (*lost)(void *data);
} BusObjectServices;

typedef struct BusObjectSetup {
        DBusConnection *conn;
        const char *name; /* our well-known name */
        const Config *config;
        Executor *executor;
        Assist *assist; /* NULL: Complete, Inspect, IsComplete answer empty */
        const char *python_version;
        unsigned long gui_thread; /* Python's id of the GUI thread, for Stacks */
        int wake_fd;              /* the bus thread's eventfd */
        int assist_fd;            /* eventfd the assist writes, or -1 */
        BusObjectServices services;
} BusObjectSetup;

int bus_object_new(BusObject **out, const BusObjectSetup *setup);
BusObject *bus_object_free(BusObject *o);
DEFINE_CLEANUP(BusObject *, bus_object_free);

/*
 * The executor's events (ExecutorOps.started, .finished), any thread.
 * finished sends e's reply and signals from the calling thread, under the
 * object's lock.
 */
void bus_object_started(BusObject *o, Execution *e);
void bus_object_finished(BusObject *o, Execution *e);
/*
 * The object's lock (recursive): the bus thread holds it for everything it
 * does but poll(); every libdbus call on the connection is made under it.
 */
void bus_object_lock(BusObject *o);
void bus_object_unlock(BusObject *o);

/*
 * Background output (printed while no execution of its own runs), any
 * thread: sent as Output with execution 0 to subscribers only.
 */
void bus_object_background_output(BusObject *o, int stream, const char *text, size_t len);

/*
 * Background output gathered in bg (the fd capture's rolling Output; it
 * outlives the object), sent coalesced like an execution's, as Output with
 * execution 0 to subscribers only.  Main thread, before the bus thread runs.
 */
void bus_object_set_background(BusObject *o, Output *bg);

/*
 * Main thread, before Python is finalized: Stacks (which reads Python's
 * thread states without the GIL) answers empty from now on.
 */
void bus_object_python_gone(BusObject *o);

/* The loop: fds the object wants polled (at most BUS_OBJECT_MAX_FDS), then what they found. */
#define BUS_OBJECT_MAX_FDS 3
size_t bus_object_poll_fds(BusObject *o, struct pollfd *fds);
/* After poll: signals, events, output, answers, deadlines; stopping: the main thread is done. */
void bus_object_process(BusObject *o, const struct pollfd *fds, bool stopping);
/* The earliest time (CLOCK_MONOTONIC usec) the object wants to run, UINT64_MAX: none. */
uint64_t bus_object_next_due(BusObject *o);
