/* SPDX-License-Identifier: MIT */
/* Driving a libdbus connection from one's own poll(): the daemon's bus thread, guiloopctl. */
#pragma once

#include <dbus/dbus.h>
#include <poll.h>

/* The poll() events an enabled watch asks for. */
static inline short dbus_poll_events(DBusWatch *w)
{
        unsigned flags = dbus_watch_get_flags(w);

        return (short)(((flags & DBUS_WATCH_READABLE) ? POLLIN : 0) |
                       ((flags & DBUS_WATCH_WRITABLE) ? POLLOUT : 0));
}

/* What poll() found, as dbus_watch_handle() wants it. */
static inline unsigned dbus_poll_flags(short revents)
{
        return ((revents & POLLIN) ? DBUS_WATCH_READABLE : 0u) |
               ((revents & POLLOUT) ? DBUS_WATCH_WRITABLE : 0u) |
               ((revents & POLLERR) ? DBUS_WATCH_ERROR : 0u) |
               ((revents & POLLHUP) ? DBUS_WATCH_HANGUP : 0u);
}
