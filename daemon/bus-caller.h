/* SPDX-License-Identifier: MIT */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/*
 * Who may call: the daemon's own Unix user and allow_uids.  A sender's uid
 * is asked of the bus asynchronously (ops->lookup starts the question, the
 * answer comes through caller_check_answer()); meanwhile that sender's
 * messages are held, in order, and never denied for a slow answer.  Unique
 * names are never reused on a bus, so a verdict holds until the sender
 * leaves (caller_check_forget()).  Bus thread only.
 */
typedef struct CallerCheck CallerCheck;

typedef struct CallerCheckOps {
        void *data;
        /* Ask for sender's uid; 0, or a negative errno (then it is denied). */
        int (*lookup)(void *data, const char *sender);
        /*
         * A held message is released: allowed is its sender's verdict (a
         * message whose method needs no check goes on either way).
         */
        void (*deliver)(void *data, DBusMessage *m, bool allowed);
} CallerCheckOps;

enum {
        CALLER_ALLOWED,
        CALLER_DENIED,
        CALLER_HELD, /* the check took a reference: deliver() gets it later */
};

/* What caller_check_answer() is told. */
enum {
        CALLER_LOOKUP_OK,
        CALLER_LOOKUP_GONE,   /* the sender left the bus: its held messages are dropped */
        CALLER_LOOKUP_FAILED, /* the bus could not say: denied */
};

int caller_check_new(CallerCheck **out, const CallerCheckOps *ops, uid_t self,
                     const uid_t *allow, size_t n_allow);
CallerCheck *caller_check_free(CallerCheck *cc);
DEFINE_CLEANUP(CallerCheck *, caller_check_free);

/*
 * May m go on now?  needs_check: the method is for allowed callers only;
 * other messages go on at once unless earlier ones of the same sender are
 * held (then they wait behind them, so that order is kept).
 */
int caller_check_message(CallerCheck *cc, DBusMessage *m, bool needs_check);
void caller_check_answer(CallerCheck *cc, const char *sender, int result, unsigned long uid);
/*
 * sender just joined the bus: ask about it now, so that its first call
 * need not wait for the answer.
 */
void caller_check_prefetch(CallerCheck *cc, const char *sender);
/* sender left the bus. */
void caller_check_forget(CallerCheck *cc, const char *sender);
/* Senders whose uid is known or asked (for tests and the log). */
size_t caller_check_size(CallerCheck *cc);
