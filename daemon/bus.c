/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <dbus/dbus.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "dbus-poll.h"
#include "log.h"

struct Bus {
        DBusConnection *conn;
        char *name;
        int wake_fd;
        BusObject *object;
        pthread_t thread;
        bool started;
        atomic_bool stop; /* the main thread is done: drain and leave */

        /* The bus thread's. */
        DBusWatch **watches;
        size_t n_watches;
        DBusTimeout **timeouts;
        size_t n_timeouts;
};

/* ---- libdbus's watches and timeouts ---- */

/*
 * libdbus calls these from the thread that made the call: the bus thread,
 * or one that sent a message (under the object's lock, see bus_thread).
 * The bus thread reads the lists at each turn; one asleep in poll() is
 * woken to build its set again when another thread changed them.
 */
static _Thread_local bool on_bus_thread;

static void changed(Bus *b)
{
        uint64_t one = 1;

        if (!on_bus_thread)
                (void)!write(b->wake_fd, &one, sizeof(one));
}

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
        Bus *b = data;
        DBusWatch **grown = realloc(b->watches, (b->n_watches + 1) * sizeof(*grown));

        if (!grown)
                return FALSE;
        b->watches = grown;
        b->watches[b->n_watches++] = w;
        changed(b);
        return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
        Bus *b = data;

        for (size_t i = 0; i < b->n_watches; i++)
                if (b->watches[i] == w) {
                        b->watches[i] = b->watches[--b->n_watches];
                        changed(b);
                        return;
                }
}

static void toggle_watch(DBusWatch *w, void *data)
{
        /* Enabled state is read at each poll. */
        (void)w;
        changed(data);
}

typedef struct TimeoutData {
        uint64_t due;
} TimeoutData;

static void timeout_restart(DBusTimeout *t)
{
        TimeoutData *td = dbus_timeout_get_data(t);

        td->due = now_usec() + (uint64_t)dbus_timeout_get_interval(t) * 1000u;
}

static dbus_bool_t add_timeout(DBusTimeout *t, void *data)
{
        Bus *b = data;
        DBusTimeout **grown = realloc(b->timeouts, (b->n_timeouts + 1) * sizeof(*grown));
        TimeoutData *td = calloc(1, sizeof(*td));

        if (!grown || !td) {
                free(td);
                if (grown)
                        b->timeouts = grown;
                return FALSE;
        }
        b->timeouts = grown;
        b->timeouts[b->n_timeouts++] = t;
        dbus_timeout_set_data(t, td, free);
        timeout_restart(t);
        changed(b);
        return TRUE;
}

static void remove_timeout(DBusTimeout *t, void *data)
{
        Bus *b = data;

        for (size_t i = 0; i < b->n_timeouts; i++)
                if (b->timeouts[i] == t) {
                        b->timeouts[i] = b->timeouts[--b->n_timeouts];
                        changed(b);
                        return;
                }
}

static void toggle_timeout(DBusTimeout *t, void *data)
{
        if (dbus_timeout_get_enabled(t))
                timeout_restart(t);
        changed(data);
}

/*
 * libdbus queued a message: one it read (the bus thread dispatches after
 * each read anyway), or one sent that did not all go out (the bus thread
 * rebuilds its poll set, the write watch with it, after each iteration):
 * only another thread's send needs the bus thread woken.
 */
static void wake_up(void *data)
{
        changed(data);
}

static void expire_timeouts(Bus *b, uint64_t now)
{
        for (size_t i = 0; i < b->n_timeouts; i++) {
                DBusTimeout *t = b->timeouts[i];
                TimeoutData *td = dbus_timeout_get_data(t);

                if (!dbus_timeout_get_enabled(t) || td->due > now)
                        continue;
                timeout_restart(t);
                dbus_timeout_handle(t);
                /* The handler may have removed timeouts: start over next time. */
                return;
        }
}

/* Milliseconds poll() may sleep: until the next deadline, or forever (-1). */
static int poll_timeout(Bus *b)
{
        uint64_t due = bus_object_next_due(b->object), now;

        for (size_t i = 0; i < b->n_timeouts; i++) {
                TimeoutData *td = dbus_timeout_get_data(b->timeouts[i]);

                if (dbus_timeout_get_enabled(b->timeouts[i]) && td->due < due)
                        due = td->due;
        }
        if (due == UINT64_MAX)
                return -1;
        now = now_usec();
        if (due <= now)
                return 0;
        return (int)((due - now + 999) / 1000);
}

static void handle_watches(Bus *b, struct pollfd *fds, DBusWatch **which, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                bool alive = false;

                if (!fds[i].revents)
                        continue;
                /* An earlier handle may have removed this watch. */
                for (size_t j = 0; j < b->n_watches; j++)
                        alive = alive || b->watches[j] == which[i];
                if (alive)
                        dbus_watch_handle(which[i], dbus_poll_flags(fds[i].revents));
        }
}

/* ---- the thread ---- */

static void *bus_thread(void *data)
{
        Bus *b = data;
        sigset_t set;

        /* Signals are for the GUI thread and the handlers; poll() here is never cut short. */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        on_bus_thread = true;

        /*
         * The object's lock is held for all but poll(): another thread that
         * sends (an execution's reply, from the GUI thread) does so under it,
         * so libdbus, the watches and the object's state see one thread at a time.
         */
        bus_object_lock(b->object);
        for (;;) {
                enum { FIXED = 1 + BUS_OBJECT_MAX_FDS };
                size_t n = b->n_watches, nfds, nobj;
                struct pollfd fds[FIXED + n];
                DBusWatch *which[FIXED + n];
                bool stopping;
                uint64_t count;

                fds[0] = (struct pollfd){ .fd = b->wake_fd, .events = POLLIN };
                nobj = bus_object_poll_fds(b->object, fds + 1);
                nfds = 1 + nobj;
                nfds += dbus_poll_fill(b->watches, n, fds + nfds, which + nfds);

                {
                        int timeout = poll_timeout(b), r;

                        bus_object_unlock(b->object);
                        r = poll(fds, nfds, timeout);
                        bus_object_lock(b->object);
                        if (r < 0 && errno != EINTR) {
                                log_err("poll: %s", strerror(errno));
                                continue;
                        }
                }
                if (fds[0].revents & POLLIN)
                        (void)!read(b->wake_fd, &count, sizeof(count));
                handle_watches(b, fds + 1 + nobj, which + 1 + nobj, nfds - 1 - nobj);
                expire_timeouts(b, now_usec());
                stopping = atomic_load(&b->stop);
                bus_object_process(b->object, fds + 1, stopping);
                while (dbus_connection_dispatch(b->conn) == DBUS_DISPATCH_DATA_REMAINS)
                        ;
                if (stopping) {
                        struct pollfd none[BUS_OBJECT_MAX_FDS] = { { 0 } };

                        bus_object_process(b->object, none, true);
                        dbus_connection_flush(b->conn);
                        break;
                }
        }
        bus_object_unlock(b->object);
        return NULL;
}

int bus_wake_fd(Bus *b)
{
        return b->wake_fd;
}

BusObject *bus_object(Bus *b)
{
        return b->object;
}

void bus_stop(Bus *b)
{
        uint64_t one = 1;

        if (!b->started)
                return;
        atomic_store(&b->stop, true);
        (void)!write(b->wake_fd, &one, sizeof(one));
        pthread_join(b->thread, NULL);
        b->started = false;
}

int bus_start(Bus *b)
{
        int r = pthread_create(&b->thread, NULL, bus_thread, b);

        if (r != 0)
                return -r;
        pthread_setname_np(b->thread, "guiloopd-bus");
        b->started = true;
        return 0;
}

/* ---- connecting ---- */

/*
 * The session bus: $DBUS_SESSION_BUS_ADDRESS, else the systemd user bus at
 * $XDG_RUNTIME_DIR/bus.  Never libdbus's autolaunch (it starts a private bus
 * through X11 that nobody else finds, and leaves dbus-launch behind).
 */
static DBusConnection *connect_session(char *err, size_t errlen)
{
        const char *address = getenv("DBUS_SESSION_BUS_ADDRESS");
        const char *runtime = getenv("XDG_RUNTIME_DIR");
        DBusError error = DBUS_ERROR_INIT;
        _cleanup_(freep) char *path = NULL, *fallback = NULL;
        DBusConnection *conn;
        struct stat st;

        if (!address || !*address) {
                if (!runtime || !*runtime || asprintf(&path, "%s/bus", runtime) < 0 ||
                    stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                        snprintf(err, errlen,
                                 "no session bus: DBUS_SESSION_BUS_ADDRESS is not set and %s%s is "
                                 "not a socket; set DBUS_SESSION_BUS_ADDRESS (or start guiloopd "
                                 "from a systemd user session)",
                                 runtime && *runtime ? runtime : "$XDG_RUNTIME_DIR", "/bus");
                        return NULL;
                }
                {
                        char *escaped = dbus_address_escape_value(path);

                        if (!escaped || asprintf(&fallback, "unix:path=%s", escaped) < 0)
                                fallback = NULL;
                        dbus_free(escaped);
                }
                if (!fallback) {
                        snprintf(err, errlen, "out of memory");
                        return NULL;
                }
                address = fallback;
        }
        conn = dbus_connection_open_private(address, &error);
        if (conn && !dbus_bus_register(conn, &error)) {
                dbus_connection_close(conn);
                dbus_connection_unref(conn);
                conn = NULL;
        }
        if (!conn) {
                snprintf(err, errlen, "cannot connect to the session bus at %s: %s", address,
                         error.message);
                dbus_error_free(&error);
        }
        return conn;
}

int bus_new(Bus **out, const char *name, const BusObjectSetup *setup, char *err, size_t errlen)
{
        _cleanup_(bus_freep) Bus *b = calloc(1, sizeof(*b));
        DBusError error = DBUS_ERROR_INIT;
        BusObjectSetup s = *setup;
        int r;

        if (!b)
                return -ENOMEM;
        b->wake_fd = -1;
        if (!(b->name = strdup(name)))
                return -ENOMEM;
        b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->wake_fd < 0)
                return -errno;

        /* Before any other libdbus call: the connection is used from two threads. */
        if (!dbus_threads_init_default())
                return -ENOMEM;
        b->conn = connect_session(err, errlen);
        if (!b->conn)
                return BUS_E_CONNECT;
        dbus_connection_set_exit_on_disconnect(b->conn, FALSE);
        /*
         * libdbus stops reading once the messages it handed out and that are
         * still alive pass 63 MB.  Queued executions keep no message, but a
         * new caller's messages are held while the bus says who it is, and
         * that answer comes on this same socket: three new callers' 30 MB
         * Executes held at once stopped the reading for good (measured).
         * Allow far more than anything the bus forwards (128 MB a message).
         */
        dbus_connection_set_max_received_size(b->conn, 1024L * 1024 * 1024);

        s.conn = b->conn;
        s.name = b->name;
        s.wake_fd = b->wake_fd;
        r = bus_object_new(&b->object, &s);
        if (r < 0)
                return r;
        if (!dbus_connection_set_watch_functions(b->conn, add_watch, remove_watch, toggle_watch,
                                                 b, NULL) ||
            !dbus_connection_set_timeout_functions(b->conn, add_timeout, remove_timeout,
                                                   toggle_timeout, b, NULL))
                return -ENOMEM;
        dbus_connection_set_wakeup_main_function(b->conn, wake_up, b, NULL);

        r = dbus_bus_request_name(b->conn, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &error);
        if (r < 0) {
                snprintf(err, errlen, "cannot own %s: %s", name, error.message);
                dbus_error_free(&error);
                return BUS_E_CONNECT;
        }
        if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
                snprintf(err, errlen,
                         "%s is already owned on the session bus: is another guiloopd running? "
                         "(--instance NAME starts a second one)", name);
                return BUS_E_NAME_TAKEN;
        }
        *out = steal_pointer(&b);
        return 0;
}

static void release_name(Bus *b)
{
        DBusError error = DBUS_ERROR_INIT;

        if (dbus_connection_get_is_connected(b->conn)) {
                dbus_bus_release_name(b->conn, b->name, &error);
                dbus_error_free(&error);
                dbus_connection_flush(b->conn);
        }
}

Bus *bus_free(Bus *b)
{
        if (!b)
                return NULL;
        bus_stop(b);
        if (b->conn)
                release_name(b);
        b->object = bus_object_free(b->object);
        if (b->conn) {
                dbus_connection_close(b->conn);
                dbus_connection_set_watch_functions(b->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_set_timeout_functions(b->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_set_wakeup_main_function(b->conn, NULL, NULL, NULL);
                dbus_connection_unref(b->conn);
        }
        free(b->watches);
        free(b->timeouts);
        free(b->name);
        if (b->wake_fd >= 0)
                close(b->wake_fd);
        free(b);
        return NULL;
}
