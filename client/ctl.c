/* SPDX-License-Identifier: MIT */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ctl_instance;

int ctl_usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("guiloopctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'guiloopctl --help'.\n", stderr);
        return EXIT_USAGE;
}

void ctl_put_one_line(const char *s)
{
        for (const char *p = s ? s : ""; *p; p++)
                fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
}

int ctl_bus_error(Client *c, const char *what, const DBusError *e)
{
        const char *name = c ? client_name(c) : GUILOOP_BUS_NAME;

        fflush(stdout);
        if (dbus_error_has_name(e, DBUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "guiloopctl: no guiloopd is running as %s\n", name);
                return EXIT_BUS;
        }
        fputs("guiloopctl: ", stderr);
        if (what)
                fprintf(stderr, "%s: ", what);
        fprintf(stderr, "%s: ", e->name);
        ctl_put_one_line(e->message);
        if (ctl_instance && dbus_error_has_name(e, DBUS_ERROR_SERVICE_UNKNOWN))
                fprintf(stderr, " (start it with 'guiloopd --instance %s')", ctl_instance);
        fputc('\n', stderr);
        return EXIT_BUS;
}

int ctl_fatal(int r)
{
        fflush(stdout);
        fprintf(stderr, "guiloopctl: %s\n", strerror(-r));
        return EXIT_BUS;
}

int ctl_check_text(const char *what, const char *s, size_t len)
{
        if (memchr(s, '\0', len))
                return ctl_usage_error("%s contains a NUL byte", what);
        if (!dbus_validate_utf8(s, NULL))
                return ctl_usage_error("%s is not valid UTF-8", what);
        return 0;
}

int ctl_connect(Client **out)
{
        _cleanup_(freep) char *name = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        if (asprintf(&name, "%s%s%s", GUILOOP_BUS_NAME, ctl_instance ? "." : "",
                     ctl_instance ?: "") < 0) {
                name = NULL;
                return ctl_fatal(-ENOMEM);
        }
        r = client_new(out, name, &e);
        if (r == CLIENT_E_DBUS) {
                r = ctl_bus_error(NULL, "cannot connect to the session bus", &e);
                dbus_error_free(&e);
                return r;
        }
        if (r < 0)
                return ctl_fatal(r);
        return 0;
}

bool ctl_unknown_method(const DBusError *e)
{
        return dbus_error_has_name(e, DBUS_ERROR_UNKNOWN_METHOD);
}
