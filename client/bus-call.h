/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * guiloopctl's side of the bus: one private session-bus connection that
 * guiloopctl drives itself with poll() over libdbus's own watches.  A wait
 * for a reply can therefore also watch one more fd (a signalfd for Ctrl-C):
 * no timer, no thread, no periodic wake-up.
 */

#include <dbus/dbus.h>
#include <poll.h>
#include <stdbool.h>

#include "bus-names.h"
#include "util.h"

/* Positive results of this module, besides 0 and a negative errno. */
enum {
        CLIENT_E_DBUS = 1, /* the DBusError passed in is set */
        CLIENT_E_STOPPED,  /* the extra fd's callback asked to stop waiting */
};

typedef struct Client Client;

/* Called by client_call() when the extra fd is readable.  Returns 0 to keep
 * waiting, CLIENT_E_STOPPED to give up, or a negative errno. */
typedef int (*ClientFdFn)(Client *c, void *userdata);

/* Called for every signal the connection receives, from inside libdbus's
 * dispatch: it may print and set flags, but must not make a call or iterate
 * (libdbus's dispatch does not nest).  m is only borrowed. */
typedef void (*ClientSignalFn)(Client *c, DBusMessage *m, void *userdata);

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

/* Sends m and waits for its reply as client_call() does, but gives up after
 * timeout_ms (then *error is NoReply and CLIENT_E_DBUS).  Signals received
 * meanwhile stay queued, their handler runs at the next wait. */
int client_call_timeout(Client *c, DBusMessage *m, int timeout_ms, DBusMessage **reply,
                        DBusError *error);

/* Queues m and hands back the pending reply, to collect with client_wait_pending(). */
int client_send_with_reply(Client *c, DBusMessage *m, DBusPendingCall **pending);

/* Waits for a pending reply as client_call() does. */
int client_wait_pending(Client *c, DBusPendingCall *pending, int fd, ClientFdFn fn,
                        void *userdata, DBusMessage **reply, DBusError *error);

/* The one hook for signals; NULL removes it. */
void client_set_signal_handler(Client *c, ClientSignalFn fn, void *userdata);

/* Asks the bus (without waiting) for NameOwnerChanged of the daemon's name,
 * so that the signal handler learns when the daemon leaves or comes back. */
int client_watch_owner(Client *c);

/* One poll() over the connection and the extra fds (their revents are
 * filled in), timeout_ms as poll()'s (-1: none), then dispatch: signal
 * handlers run here.  0, or a negative errno; -ENOTCONN once the bus is gone. */
int client_iterate(Client *c, struct pollfd *extra, size_t n_extra, int timeout_ms);

/* Runs the signal handler for what is already received, without waiting. */
void client_dispatch(Client *c);

bool client_connected(Client *c);

/* Waits until the connection with this unique name has left the bus. */
int client_wait_gone(Client *c, const char *unique, DBusError *error);

static inline void dbus_message_unrefp(DBusMessage **m)
{
        if (*m)
                dbus_message_unref(*m);
}

static inline void dbus_pending_call_unrefp(DBusPendingCall **p)
{
        if (*p)
                dbus_pending_call_unref(*p);
}
