/* SPDX-License-Identifier: MIT */
/* Driving a libdbus connection from one's own poll(): the daemon's bus thread, guiloopctl. */
#pragma once

#include <dbus/dbus.h>
#include <poll.h>
#include <stddef.h>

/* The poll() events an enabled watch asks for. */
static inline short dbus_poll_events(DBusWatch *w)
{
        unsigned flags = dbus_watch_get_flags(w);

        return (short)(((flags & DBUS_WATCH_READABLE) ? POLLIN : 0) |
                       ((flags & DBUS_WATCH_WRITABLE) ? POLLOUT : 0));
}

/*
 * The enabled ones of watches[0..n) into fds[] (what each asks for) and
 * which[] (the watch at the same index); how many.
 */
static inline size_t dbus_poll_fill(DBusWatch *const *watches, size_t n, struct pollfd *fds,
                                    DBusWatch **which)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (!dbus_watch_get_enabled(watches[i]))
                        continue;
                fds[k] = (struct pollfd){ .fd = dbus_watch_get_unix_fd(watches[i]),
                                          .events = dbus_poll_events(watches[i]) };
                which[k++] = watches[i];
        }
        return k;
}

/* What poll() found, as dbus_watch_handle() wants it. */
static inline unsigned dbus_poll_flags(short revents)
{
        return ((revents & POLLIN) ? DBUS_WATCH_READABLE : 0u) |
               ((revents & POLLOUT) ? DBUS_WATCH_WRITABLE : 0u) |
               ((revents & POLLERR) ? DBUS_WATCH_ERROR : 0u) |
               ((revents & POLLHUP) ? DBUS_WATCH_HANGUP : 0u);
}
