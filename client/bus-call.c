/* SPDX-License-Identifier: MIT */
#include "bus-call.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "dbus-poll.h"

/* libdbus uses one or two watches (read, write) on the socket. */
#define MAX_WATCHES 8

struct Client {
        DBusConnection *conn;
        char *name;
        DBusWatch *watches[MAX_WATCHES];
        size_t n_watches;
        bool filter_added;
        /* client_wait_gone(): the unique name watched, and whether it left. */
        const char *gone_name;
        bool gone;
        ClientSignalFn signal_fn;
        void *signal_data;
};

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
        Client *c = data;

        if (c->n_watches >= MAX_WATCHES)
                return FALSE;
        c->watches[c->n_watches++] = w;
        return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
        Client *c = data;

        for (size_t i = 0; i < c->n_watches; i++) {
                if (c->watches[i] == w) {
                        c->watches[i] = c->watches[--c->n_watches];
                        return;
                }
        }
}

/* Enabled or not is asked at each poll(). */
static void toggle_watch(DBusWatch *w _unused_, void *data _unused_)
{
}

static bool has_watch(Client *c, DBusWatch *w)
{
        for (size_t i = 0; i < c->n_watches; i++)
                if (c->watches[i] == w)
                        return true;
        return false;
}

static DBusHandlerResult filter(DBusConnection *conn _unused_, DBusMessage *m, void *data)
{
        Client *c = data;
        const char *name, *old_owner, *new_owner;

        if (c->gone_name && dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
            dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                  DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
            strcmp(name, c->gone_name) == 0 && new_owner[0] == '\0')
                c->gone = true;
        if (c->signal_fn && dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL)
                c->signal_fn(c, m, c->signal_data);
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

int client_new(Client **out, const char *name, DBusError *error)
{
        _cleanup_(client_freep) Client *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->name = strdup(name);
        if (!c->name)
                return -ENOMEM;
        c->conn = dbus_bus_get_private(DBUS_BUS_SESSION, error);
        if (!c->conn)
                return CLIENT_E_DBUS;
        dbus_connection_set_exit_on_disconnect(c->conn, FALSE);
        if (!dbus_connection_set_watch_functions(c->conn, add_watch, remove_watch, toggle_watch,
                                                 c, NULL))
                return -ENOMEM;
        if (!dbus_connection_add_filter(c->conn, filter, c, NULL))
                return -ENOMEM;
        c->filter_added = true;
        *out = steal_pointer(&c);
        return 0;
}

Client *client_free(Client *c)
{
        if (!c)
                return NULL;
        if (c->conn) {
                if (c->filter_added)
                        dbus_connection_remove_filter(c->conn, filter, c);
                dbus_connection_set_watch_functions(c->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_close(c->conn);
                dbus_connection_unref(c->conn);
        }
        free(c->name);
        free(c);
        return NULL;
}

const char *client_name(Client *c)
{
        return c->name;
}

DBusMessage *client_method(Client *c, const char *interface, const char *member,
                           bool auto_start)
{
        DBusMessage *m;

        m = dbus_message_new_method_call(c->name, GUILOOP_OBJECT_PATH, interface, member);
        if (m)
                dbus_message_set_auto_start(m, auto_start);
        return m;
}

static void dispatch_all(Client *c)
{
        while (dbus_connection_dispatch(c->conn) == DBUS_DISPATCH_DATA_REMAINS)
                ;
}

/* One poll() over the connection's watches and the extra fds, then handle
 * what is ready and dispatch. */
int client_iterate(Client *c, struct pollfd *extra, size_t n_extra, int timeout_ms)
{
        struct pollfd fds[MAX_WATCHES + 4];
        DBusWatch *which[MAX_WATCHES];
        size_t n, n_watches;

        if (n_extra > 4)
                return -EINVAL;
        n = n_watches = dbus_poll_fill(c->watches, c->n_watches, fds, which);
        for (size_t i = 0; i < n_extra; i++) {
                extra[i].revents = 0;
                fds[n++] = extra[i];
        }
        if (n_watches == 0 && (n_extra == 0 || !dbus_connection_get_is_connected(c->conn)))
                return -ENOTCONN; /* nothing could ever wake us, or the bus is gone */

        if (poll(fds, n, timeout_ms) < 0)
                return errno == EINTR ? 0 : -errno;

        for (size_t i = 0; i < n_watches; i++) {
                /* Handling one watch may have removed another (disconnect). */
                if (fds[i].revents && has_watch(c, which[i]))
                        dbus_watch_handle(which[i], dbus_poll_flags(fds[i].revents));
        }
        for (size_t i = 0; i < n_extra; i++)
                extra[i].revents = fds[n_watches + i].revents;
        dispatch_all(c);
        return 0;
}

/* The old shape: one extra fd or none. */
static int iterate(Client *c, int fd, bool *fd_ready)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;

        r = client_iterate(c, &p, fd >= 0 ? 1 : 0, -1);
        *fd_ready = r == 0 && fd >= 0 && p.revents;
        return r;
}

void client_dispatch(Client *c)
{
        dispatch_all(c);
}

bool client_connected(Client *c)
{
        return dbus_connection_get_is_connected(c->conn);
}

void client_set_signal_handler(Client *c, ClientSignalFn fn, void *userdata)
{
        c->signal_fn = fn;
        c->signal_data = userdata;
}

int client_watch_owner(Client *c)
{
        _cleanup_(freep) char *rule = NULL;

        if (asprintf(&rule,
                     "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='" DBUS_INTERFACE_DBUS
                     "',member='NameOwnerChanged',arg0='%s'",
                     c->name) < 0) {
                rule = NULL;
                return -ENOMEM;
        }
        /* No DBusError: libdbus sends it and does not wait for the answer. */
        dbus_bus_add_match(c->conn, rule, NULL);
        return 0;
}

static int disconnected(DBusError *error)
{
        dbus_set_error_const(error, DBUS_ERROR_DISCONNECTED,
                             "the connection to the session bus was closed");
        return CLIENT_E_DBUS;
}

static int take_reply(DBusMessage *m, DBusMessage **reply, DBusError *error)
{
        if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR) {
                dbus_set_error_from_message(error, m);
                dbus_message_unref(m);
                return CLIENT_E_DBUS;
        }
        *reply = m;
        return 0;
}

int client_send_with_reply(Client *c, DBusMessage *m, DBusPendingCall **pending)
{
        if (!dbus_connection_send_with_reply(c->conn, m, pending, DBUS_TIMEOUT_INFINITE))
                return -ENOMEM;
        return *pending ? 0 : -ENOTCONN;
}

int client_wait_pending(Client *c, DBusPendingCall *pending, int fd, ClientFdFn fn,
                        void *userdata, DBusMessage **reply, DBusError *error)
{
        DBusMessage *r;
        int ret;

        for (;;) {
                bool fd_ready;

                /* A blocking call earlier may have left messages queued. */
                dispatch_all(c);
                if (dbus_pending_call_get_completed(pending))
                        break;
                if (!dbus_connection_get_is_connected(c->conn))
                        return disconnected(error);
                ret = iterate(c, fd, &fd_ready);
                if (ret == -ENOTCONN)
                        return disconnected(error);
                if (ret < 0)
                        return ret;
                if (fd_ready && fn) {
                        ret = fn(c, userdata);
                        if (ret != 0) {
                                dbus_pending_call_cancel(pending);
                                return ret;
                        }
                }
        }

        r = dbus_pending_call_steal_reply(pending);
        if (!r)
                return disconnected(error);
        return take_reply(r, reply, error);
}

int client_call(Client *c, DBusMessage *m, int fd, ClientFdFn fn, void *userdata,
                DBusMessage **reply, DBusError *error)
{
        _cleanup_(dbus_pending_call_unrefp) DBusPendingCall *pending = NULL;
        int r;

        r = client_send_with_reply(c, m, &pending);
        if (r == -ENOTCONN)
                return disconnected(error);
        if (r < 0)
                return r;
        return client_wait_pending(c, pending, fd, fn, userdata, reply, error);
}

int client_call_timeout(Client *c, DBusMessage *m, int timeout_ms, DBusMessage **reply,
                        DBusError *error)
{
        *reply = dbus_connection_send_with_reply_and_block(c->conn, m, timeout_ms, error);
        return *reply ? 0 : CLIENT_E_DBUS;
}

int client_call_blocking(Client *c, DBusMessage *m, DBusMessage **reply, DBusError *error)
{
        *reply = dbus_connection_send_with_reply_and_block(c->conn, m, DBUS_TIMEOUT_USE_DEFAULT,
                                                           error);
        return *reply ? 0 : CLIENT_E_DBUS;
}

int client_send(Client *c, DBusMessage *m)
{
        return dbus_connection_send(c->conn, m, NULL) ? 0 : -ENOMEM;
}

int client_wait_gone(Client *c, const char *unique, DBusError *error)
{
        _cleanup_(freep) char *rule = NULL;
        int ret = 0;

        if (asprintf(&rule,
                     "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='" DBUS_INTERFACE_DBUS
                     "',member='NameOwnerChanged',arg0='%s'",
                     unique) < 0) {
                rule = NULL;
                return -ENOMEM;
        }
        dbus_bus_add_match(c->conn, rule, error);
        if (dbus_error_is_set(error))
                return CLIENT_E_DBUS;

        c->gone_name = unique;
        c->gone = false;
        /* It may have left before the match was in place. */
        if (!dbus_bus_name_has_owner(c->conn, unique, error))
                c->gone = !dbus_error_is_set(error);
        if (dbus_error_is_set(error))
                ret = CLIENT_E_DBUS;

        while (ret == 0 && !c->gone) {
                bool fd_ready;

                dispatch_all(c);
                if (c->gone)
                        break;
                if (!dbus_connection_get_is_connected(c->conn)) {
                        ret = disconnected(error);
                        break;
                }
                ret = iterate(c, -1, &fd_ready);
                if (ret == -ENOTCONN)
                        ret = disconnected(error);
        }
        c->gone_name = NULL;
        if (dbus_connection_get_is_connected(c->conn))
                dbus_bus_remove_match(c->conn, rule, NULL);
        return ret;
}
