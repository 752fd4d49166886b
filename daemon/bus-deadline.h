/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The bus thread's clocks: execution.timeout (or Submit's timeout) of the
 * running execution, and shutdown_grace.  Pure bookkeeping over times given
 * in (CLOCK_MONOTONIC microseconds), so it is tested without a daemon.
 */
typedef struct Deadlines {
        double grace;         /* shutdown_grace, seconds */
        uint64_t timeout_id;  /* the execution timeout_due is for */
        uint64_t timeout_due; /* 0: none */
        uint64_t grace_due;   /* 0: not shutting down */
        bool shutting_down;
        bool grace_final;     /* the second period, for Python's finalization */
        uint64_t retry_id;    /* the execution whose interrupt is sent again at retry_due */
        uint64_t retry_due;   /* 0: none */
        uint64_t retry_step;  /* the wait before retry_due, doubled each time */
} Deadlines;

typedef enum DeadlineAction {
        DEADLINE_NONE,
        DEADLINE_INTERRUPT, /* interrupt *id: it ran past its timeout */
        DEADLINE_EXIT,      /* shutdown_grace is over: stop anyway */
        DEADLINE_REINTERRUPT, /* *id's interrupt may still be untaken: send it again */
} DeadlineAction;

/* Execution id started at started; timeout in seconds, 0 = never. */
void deadlines_started(Deadlines *d, uint64_t id, uint64_t started, double timeout);
void deadlines_finished(Deadlines *d, uint64_t id);
/*
 * Execution id was interrupted at now (again: retry true): its interrupt is
 * due again after 10 ms, then twice as long each time, at most 1 s apart.
 */
void deadlines_interrupted(Deadlines *d, uint64_t id, uint64_t now, bool retry);
/* Shutdown begins at now; false when it had begun already. */
bool deadlines_shutdown(Deadlines *d, uint64_t now);
/* The earliest due time, UINT64_MAX when none. */
uint64_t deadlines_next(const Deadlines *d);
/* What is due at now (one action per call); running: an execution still runs. */
DeadlineAction deadlines_check(Deadlines *d, uint64_t now, bool running, uint64_t *id);
