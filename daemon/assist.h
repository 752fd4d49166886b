/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/*
 * Complete, Inspect and IsComplete, answered by daemon/complete.py in a
 * thread of their own, never in the bus thread: that thread waits for the
 * GIL as long as it takes (a C call may hold it for seconds), while the bus
 * thread answers at its deadline with an empty reply when the answer is not
 * there yet.  Python hands the GIL over every switch_interval, so while code
 * runs `while True: pass` an answer still comes within a few intervals.
 *
 * Stacks is read here too: with the GIL held no thread can push or pop a
 * frame or go away while the thread states are walked, which Stacks read
 * from the bus thread alone could not promise (a SEGV seen once under ASan
 * while threads came and went).
 */
typedef struct Assist Assist;

typedef enum AssistKind {
        ASSIST_COMPLETE,
        ASSIST_INSPECT,
        ASSIST_IS_COMPLETE,
        ASSIST_STACKS, /* cursor unused; gui_thread names the GUI thread */
} AssistKind;

typedef struct AssistRequest {
        AssistKind kind;
        char *code;
        int cursor;
        void *tag; /* the submitter's */
        unsigned long gui_thread; /* Stacks */

        /* Results (valid UTF-8): Complete */
        char **matches;
        size_t n_matches;
        int start, end;
        /* Inspect; Stacks: the text */
        bool found;
        char *text;
        /* IsComplete */
        char *status, *indent;
} AssistRequest;

/* Python is initialised; done_fd (an eventfd) is written when an answer is ready. */
int assist_new(Assist **out, int done_fd);
/* Stop the thread (before Python is finalized); later submits are refused. */
void assist_stop(Assist *a);
Assist *assist_free(Assist *a);
DEFINE_CLEANUP(Assist *, assist_free);

AssistRequest *assist_request_new(AssistKind kind, const char *code, int cursor, void *tag);
void assist_request_free(AssistRequest *r);

/* Queue r (the assist owns it from now on); -EBUSY when too many wait, -ESHUTDOWN when stopped. */
int assist_submit(Assist *a, AssistRequest *r);
/* A request answered since, or NULL; the caller owns it. */
AssistRequest *assist_take_done(Assist *a);
/* Its deadline passed: the answer, when it comes, is thrown away. */
void assist_abandon(Assist *a, AssistRequest *r);
/* The Python thread id of the assist thread (to leave out of Stacks), 0 before it runs. */
unsigned long assist_thread_id(Assist *a);
