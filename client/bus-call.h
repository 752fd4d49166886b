/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * guiloopctl's side of the bus: one private session-bus connection that
 * guiloopctl drives itself with poll() over libdbus's own watches.  A wait
 * for a reply can therefore also watch one more fd (a signalfd for Ctrl-C):
 * no timer, no thread, no periodic wake-up.
 */

#include <dbus/dbus.h>
#include <stdbool.h>

#include "util.h"

#define GUILOOP_BUS_NAME "org.guiloop.GuiLoop1"
#define GUILOOP_OBJECT_PATH "/org/guiloop/GuiLoop1"
#define GUILOOP_INTERFACE "org.guiloop.GuiLoop1"

/* Positive results of this module, besides 0 and a negative errno. */
enum {
        CLIENT_E_DBUS = 1, /* the DBusError passed in is set */
        CLIENT_E_STOPPED,  /* the extra fd's callback asked to stop waiting */
};

typedef struct Client Client;

/* Called by client_call() when the extra fd is readable.  Returns 0 to keep
 * waiting, CLIENT_E_STOPPED to give up, or a negative errno. */
typedef int (*ClientFdFn)(Client *c, void *userdata);

/* Connects to the session bus; name is the daemon's well-known name. */
int client_new(Client **out, const char *name, DBusError *error);
Client *client_free(Client *c);
DEFINE_CLEANUP(Client *, client_free)

const char *client_name(Client *c);

/* A new method call to the daemon's object; NULL when out of memory.
 * auto_start false: the bus answers NameHasNoOwner instead of starting one. */
DBusMessage *client_method(Client *c, const char *interface, const char *member,
                           bool auto_start);

/* Sends m and waits with no timeout for its reply, watching fd too (when >= 0)
 * and calling fn each time it is readable.  An error reply becomes *error and
 * CLIENT_E_DBUS. */
int client_call(Client *c, DBusMessage *m, int fd, ClientFdFn fn, void *userdata,
                DBusMessage **reply, DBusError *error);

/* Like client_call() with libdbus's default timeout and no extra fd. */
int client_call_blocking(Client *c, DBusMessage *m, DBusMessage **reply, DBusError *error);

/* Queues m without waiting for anything; it goes out from the next wait. */
int client_send(Client *c, DBusMessage *m);

/* Waits until the connection with this unique name has left the bus. */
int client_wait_gone(Client *c, const char *unique, DBusError *error);

static inline void dbus_message_unrefp(DBusMessage **m)
{
        if (*m)
                dbus_message_unref(*m);
}
