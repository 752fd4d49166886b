/* SPDX-License-Identifier: MIT */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * What a method handler returns: 0 (the reply it filled goes out),
 * BUS_DEFERRED (it keeps a ReplyTo and answers later, exactly once), a
 * BUS_E_* condition (the dispatcher sends that error, with the text the
 * handler gave call_fail()), or a negative errno.  Only this module knows
 * D-Bus error names.
 */
enum {
        BUS_DEFERRED = 1,
        BUS_E_INVALID_ARGS,
        BUS_E_ACCESS_DENIED,
        BUS_E_UNKNOWN_METHOD,
        BUS_E_UNKNOWN_INTERFACE,
        BUS_E_UNKNOWN_PROPERTY,
        BUS_E_UNKNOWN_OBJECT,
        BUS_E_PROPERTY_READ_ONLY,
        BUS_E_QUEUE_FULL,
        BUS_E_SHUTTING_DOWN,
        BUS_E_FILE_NOT_FOUND,
        BUS_E_UNKNOWN_EXECUTION,
        BUS_E_CANCELLED,
        BUS_E_FAILED,
};

/* The D-Bus error name of a result code (negative errno included). */
const char *bus_error_name(int code);

/* One method call on its way through a handler. */
typedef struct Call {
        DBusMessage *msg;   /* the call (borrowed) */
        DBusMessage *reply; /* the method return to fill, made by the dispatcher */
        char *error_text;   /* set by call_fail() */
} Call;

/* Say why the call fails; returns code, so: return call_fail(c, BUS_E_..., "...", ...). */
int call_fail(Call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

typedef int (*MethodHandler)(void *data, Call *c);

enum {
        METHOD_CHECK_CALLER = 1 << 0, /* only allowed callers (see bus-caller.h) */
};

typedef struct Method {
        const char *interface;
        const char *member;
        const char *signature; /* checked before the handler runs */
        MethodHandler handler;
        unsigned flags;
} Method;

/* The entry for m's interface and member; NULL with *code set when there is none. */
const Method *dispatch_find(const Method *table, size_t n, DBusMessage *m, int *code,
                            char **text);

/*
 * Run the handler for method call m and return the one message that answers
 * it: its reply, or an error; NULL when nothing is to be sent now (deferred,
 * or the caller asked for no reply).  Never returns NULL for want of memory
 * while a reply is due: the handler's result is then a NoMemory error, and
 * only when even that cannot be built is the failure logged.
 */
DBusMessage *dispatch_call(const Method *table, size_t n, void *data, DBusMessage *m);

/* The error reply to m for code, with text (any bytes: made valid UTF-8 and cut). */
DBusMessage *dispatch_error(DBusMessage *m, int code, const char *text);

/*
 * What answering a call later takes, and nothing more (not the message
 * itself: a queued 30 MB Execute must not keep 30 MB of libdbus's incoming
 * budget).
 */
typedef struct ReplyTo {
        char *destination;
        dbus_uint32_t serial;
        bool no_reply;
} ReplyTo;

int reply_to_init(ReplyTo *r, DBusMessage *m);
void reply_to_clear(ReplyTo *r);
/* A method return (empty: append to it) or error for r; NULL when r wants no reply or no memory. */
DBusMessage *reply_to_return(const ReplyTo *r);
DBusMessage *reply_to_error(const ReplyTo *r, int code, const char *text);

/*
 * text, valid UTF-8 and at most max bytes (cut at a character boundary, with
 * "…" when cut), malloc'd.  Every string the daemon builds from caller data
 * for D-Bus goes through here or text_escape().
 */
char *utf8_text(const char *text, size_t max);
