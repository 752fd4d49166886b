/* SPDX-License-Identifier: MIT */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "execution.h"
#include "util.h"

/*
 * What the bus knows of each execution, and who hears of it: the caller
 * that waits for its reply, the Wait calls, the subscribers; the Output and
 * Finished signals (unicast, never broadcast: the Submit caller and each
 * subscriber get their own copy, nobody the same output twice); the last
 * keep_results finished ones, for Wait.  Bus thread only; it sends through
 * ResultsOps and calls nobody else.
 */
typedef struct Results Results;

/*
 * The most text one Output signal carries: more goes as several signals back
 * to back, each cut after a newline in its last 4 KiB, else between two
 * characters.
 */
#define RESULTS_OUTPUT_SIGNAL_MAX (256u * 1024u)

typedef enum Origin {
        ORIGIN_EXECUTE,
        ORIGIN_RUN_FILE,
        ORIGIN_SUBMIT,
} Origin;

typedef struct Job Job;

typedef struct ResultsOps {
        void *data;
        /* Send m (takes it; NULL: nothing to send). */
        void (*send)(void *data, DBusMessage *m);
} ResultsOps;

int results_new(Results **out, const ResultsOps *ops, uint32_t keep);
Results *results_free(Results *r);
DEFINE_CLEANUP(Results *, results_free);

/*
 * A job for the execution call asks for (its sender, and for Execute and
 * RunFile where the reply goes); it gets its id with results_commit() once
 * the executor took the execution, or goes with results_discard().
 */
int results_prepare(Results *r, DBusMessage *call, Origin origin, bool stream, double timeout,
                    Job **out);
void results_commit(Results *r, Job *j, uint64_t id);
void results_discard(Job *j);

/* Execution id started; its timeout in seconds (< 0: execution.timeout's). */
double results_started(Results *r, uint64_t id);
/* What output gathered for id since the last call, as Output signals. */
void results_output(Results *r, uint64_t id, Output *out);
/* Background output (execution 0), to subscribers only; text is the caller's, unchanged after. */
void results_background(Results *r, int stream, char *text);
/* e is done: the last Output, the reply, Finished, the waiters; takes e. */
void results_finished(Results *r, Execution *e);

/* Wait(id) from call: answered now or when it finishes; BUS_E_UNKNOWN_EXECUTION if not kept. */
int results_wait(Results *r, uint64_t id, DBusMessage *call);
/* Known: waiting, running or kept. */
bool results_known(Results *r, uint64_t id);

int results_subscribe(Results *r, const char *sender);
void results_unsubscribe(Results *r, const char *sender);

/*
 * sender left the bus: it is no subscriber any more; the ids of its Execute
 * and RunFile calls that have not started (to be dropped) go to *ids
 * (g_free them), their count is returned.  Submits stay, for Wait.
 */
size_t results_caller_gone(Results *r, const char *sender, uint64_t **ids);

/*
 * The daemon stops before id finished: its caller, if one waits for a
 * reply, and its Wait calls hear why.
 */
void results_abandon(Results *r, uint64_t id, const char *why);
