/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's methods as C calls, one function each (DESIGN.md, the D-Bus
 * interface table).  Every function returns 0, CLIENT_E_DBUS with *error
 * set (an older daemon answers DBUS_ERROR_UNKNOWN_METHOD: see
 * ctl_unknown_method()), or a negative errno.  Strings handed out are the
 * caller's to free().  Waiting calls run the connection's signal handler
 * meanwhile (see bus-call.h), so no Output is lost while they wait.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bus-call.h"

/* Complete() and Inspect() are answered within 50 ms by contract; a bit
 * more covers a loaded machine.  Past this the console carries on without. */
#define API_QUICK_TIMEOUT_MS 2000

typedef struct Completion {
        char **matches;
        size_t n;
        int start, end; /* code[start:end] is what each match replaces, in characters */
} Completion;

void completion_clear(Completion *c);

/* Execute(code) / RunFile(path, argv) messages, sent by the caller. */
DBusMessage *api_execute_message(Client *c, const char *code);
DBusMessage *api_run_file_message(Client *c, const char *path, char **argv, int n);

/* Submit(code, {stream}) sent, its reply collected later with api_submit_reply(). */
int api_submit_send(Client *c, const char *code, bool stream, DBusPendingCall **pending);
/* SubmitFile(path, argv, {}) sent; its reply (the id) too comes through api_submit_reply(). */
int api_submit_file_send(Client *c, const char *path, char **argv, int n,
                         DBusPendingCall **pending);
int api_submit_reply(Client *c, DBusPendingCall *pending, uint64_t *id, char **sender,
                     DBusError *error);

/* Cancel(id), no reply awaited: what it did shows in the execution's end. */
int api_cancel(Client *c, uint64_t id);
/*
 * Why execution id failed, when its Finished carried no traceback (it never
 * ran: cancelled, refused at shutdown): Wait's D-Bus error, CLIENT_E_DBUS
 * with error set; 0 when Wait answers with a result instead.
 */
int api_wait_error(Client *c, uint64_t id, DBusError *error);

int api_complete(Client *c, const char *code, int cursor, Completion *out, DBusError *error);
int api_is_complete(Client *c, const char *code, char **status, char **indent,
                    DBusError *error);
int api_inspect(Client *c, const char *code, int cursor, bool *found, char **text,
                DBusError *error);
int api_stacks(Client *c, char **text, DBusError *error);
/* Subscribe(); *sender (when not NULL): the daemon's unique name, to free(). */
int api_subscribe(Client *c, char **sender, DBusError *error);

/* Properties.GetAll of the interface; the reply is an a{sv}. */
int api_properties(Client *c, bool auto_start, DBusMessage **reply, DBusError *error);

/* A string, boolean or number property from a GetAll reply; false when absent. */
bool api_property_string(DBusMessage *props, const char *name, const char **out);
bool api_property_uint(DBusMessage *props, const char *name, uint64_t *out);
