/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "execution.h"
#include "util.h"

/* Documented conditions (positive return codes). */
enum {
        EXECUTOR_E_QUEUE_FULL = 1, /* queue_limit executions, or queue_bytes of code, wait already */
        EXECUTOR_E_SHUTTING_DOWN,  /* executor_shutdown() was called */
};

/*
 * Runs executions one at a time, FIFO, in the GUI thread, and owns what that
 * takes: the waiting queue (bounded by count and by bytes), the running
 * execution, the interrupt aimed at it, and "shutting down".  Any thread may
 * submit, interrupt, cancel and ask; it reports through ExecutorOps and
 * never calls the bus (the bus implements started/finished).
 */
typedef struct Executor Executor;

typedef struct ExecutorOps {
        void *data;
        /* Run fn(arg) in the GUI thread at its loop's next turn (the plugin's post). */
        int (*post)(void *data, void (*fn)(void *arg), void *arg);
        /* GUI thread: run e and fill its results (python_run). */
        void (*run)(void *data, Execution *e);
        /* Make the GUI thread's Python raise KeyboardInterrupt (signals_interrupt). */
        void (*interrupt)(void *data);
        /* GUI thread: e starts now (it stays the executor's until finished). */
        void (*started)(void *data, Execution *e);
        /* Any thread: e is done, or refused (e->status); the receiver owns e now. */
        void (*finished)(void *data, Execution *e);
        /*
         * Nothing runs: interrupt the GUI callback that holds the GUI thread,
         * if one does; true when it did.  NULL: nothing to interrupt then.
         */
        bool (*interrupt_idle)(void *data);
} ExecutorOps;

/* limit, bytes: 0 = unbounded. */
int executor_new(Executor **out, const ExecutorOps *ops, size_t limit, uint64_t bytes);
Executor *executor_free(Executor *x);
DEFINE_CLEANUP(Executor *, executor_free);

/* Queue e; it gets its id (from 1, never reused) on success, and is the executor's. */
int executor_submit(Executor *x, Execution *e);
/*
 * Interrupt the running execution (id 0: whichever runs, or when none does,
 * the GUI callback holding the thread); false if nothing was interrupted.
 */
bool executor_interrupt(Executor *x, uint64_t id);
/*
 * Take the waiting execution id out of the queue and report it finished with
 * status (EXECUTION_E_CANCELLED, EXECUTION_E_CALLER_GONE): true; false when
 * it does not wait (it runs, finished, or never was).
 */
bool executor_cancel(Executor *x, uint64_t id, int status);
/* Refuse new work and what waits (finished with EXECUTION_E_SHUTTING_DOWN); interrupt the running. */
void executor_shutdown(Executor *x);
/* The id of the running execution, 0 when none. */
uint64_t executor_running(Executor *x);
size_t executor_queue_length(Executor *x);
/* The highest id given out so far. */
uint64_t executor_last_id(Executor *x);
/*
 * GUI thread, from Python's SIGINT handler: is the interrupt that arrived
 * meant for the running execution?  With take, consumes the request.
 */
bool executor_interrupt_wanted(Executor *x, bool take);
/*
 * The execution whose interrupt Python's handler has not taken yet, 0 when
 * none.  A signal that lands between Python's last check and a blocking
 * call (time.sleep, a lock, select) is seen only when that call returns:
 * executor_interrupt_again() sends it again while it stays untaken.
 */
uint64_t executor_interrupt_untaken(Executor *x);
/* Signal the GUI thread again for id's untaken interrupt; false once taken or over. */
bool executor_interrupt_again(Executor *x, uint64_t id);
