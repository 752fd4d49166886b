/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What every guiloopctl command shares: the exit codes, the instance it
 * talks to, and the one-line error messages (every error is reported here,
 * so each reads the same whichever command hit it).
 */

#include <stdbool.h>
#include <stddef.h>

#include "bus-call.h"

/* Exit codes: see the help text and guiloopctl(1). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* the code raised */
        EXIT_USAGE = 2,       /* bad command line or input */
        EXIT_BUS = 3,         /* no daemon, no bus, or a D-Bus error */
        EXIT_GAVE_UP = 130,   /* a third Ctrl-C: stopped waiting */
};

/* --instance NAME, or NULL. */
extern const char *ctl_instance;

int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr for an error the bus or the daemon answered; EXIT_BUS. */
int ctl_bus_error(Client *c, const char *what, const DBusError *e);

/* One line on stderr for a negative errno; EXIT_BUS. */
int ctl_fatal(int r);

/* D-Bus strings are UTF-8 without NUL: 0, or EXIT_USAGE with the reason said. */
int ctl_check_text(const char *what, const char *s, size_t len);

/* The daemon's well-known name for ctl_instance, connected: 0 or an exit code. */
int ctl_connect(Client **out);

/* The call is one the daemon does not know: an older guiloopd. */
bool ctl_unknown_method(const DBusError *e);

/* "s" without its \r and \n (a D-Bus error message on one line). */
void ctl_put_one_line(const char *s);
