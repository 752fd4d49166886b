/* SPDX-License-Identifier: MIT */
#include "execute.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ctl.h"

static int report(Client *c, const char *what, DBusError *e)
{
        int r = ctl_bus_error(c, what, e);

        dbus_error_free(e);
        return r;
}

static int gave_up(Live *l)
{
        live_end_line(l);
        fprintf(stderr, "guiloopctl: stopped waiting; the code may still run in the daemon\n");
        return EXIT_GAVE_UP;
}

static int gone(Live *l)
{
        live_end_line(l);
        fprintf(stderr, "guiloopctl: guiloopd left the bus while execution %" PRIu64 " ran\n",
                l->own);
        return EXIT_BUS;
}

/* The reply of Execute or RunFile (an older daemon: no live output), printed. */
static int print_reply(Live *l, DBusMessage *reply, bool has_result, Outcome *o)
{
        DBusError e = DBUS_ERROR_INIT;
        dbus_bool_t success;
        const char *result = "", *texts[2];

        if (has_result ? !dbus_message_get_args(reply, &e, DBUS_TYPE_BOOLEAN, &success,
                                                DBUS_TYPE_STRING, &result, DBUS_TYPE_STRING,
                                                &texts[0], DBUS_TYPE_STRING, &texts[1],
                                                DBUS_TYPE_INVALID)
                       : !dbus_message_get_args(reply, &e, DBUS_TYPE_BOOLEAN, &success,
                                                DBUS_TYPE_STRING, &texts[0], DBUS_TYPE_STRING,
                                                &texts[1], DBUS_TYPE_INVALID))
                return report(l->c, "unexpected reply", &e);
        for (int i = 0; i < 2; i++)
                live_print(l, i, texts[i]);
        o->result = strdup(result);
        if (!o->result)
                return ctl_fatal(-ENOMEM);
        return success ? EXIT_OK : EXIT_FAILED;
}

/* Execute or RunFile sent (pending), waited for with Ctrl-C, reply printed. */
static int finish_call(Live *l, DBusPendingCall *pending, bool has_result, int sigfd, Outcome *o)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *reply = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        r = live_wait(l, pending, sigfd);
        if (r < 0)
                return ctl_fatal(r);
        if (r == LIVE_GAVE_UP) {
                dbus_pending_call_cancel(pending);
                return gave_up(l);
        }
        r = client_wait_pending(l->c, pending, -1, NULL, NULL, &reply, &e);
        if (r == CLIENT_E_DBUS)
                return report(l->c, NULL, &e);
        if (r < 0)
                return ctl_fatal(r);
        return print_reply(l, reply, has_result, o);
}

static int send_message(Client *c, DBusMessage *m, DBusPendingCall **pending)
{
        int r;

        if (!m)
                return -ENOMEM;
        r = client_send_with_reply(c, m, pending);
        dbus_message_unref(m);
        return r;
}

/* An older daemon: Execute, output at the end, Ctrl-C as Interrupt. */
static int execute_old(Live *l, const char *code, int sigfd, Outcome *o)
{
        _cleanup_(dbus_pending_call_unrefp) DBusPendingCall *pending = NULL;
        int r;

        live_forget(l);
        r = send_message(l->c, api_execute_message(l->c, code), &pending);
        if (r < 0)
                return ctl_fatal(r);
        return finish_call(l, pending, true, sigfd, o);
}

/* follow()'s answer when the daemon lacks the method; never an exit code. */
#define FOLLOW_UNKNOWN (-1000)

static int follow(Live *l, DBusPendingCall *pending, int sigfd, Outcome *o);

int execute_code(Live *l, const char *code, int sigfd, Outcome *o)
{
        _cleanup_(dbus_pending_call_unrefp) DBusPendingCall *pending = NULL;
        int r;

        *o = (Outcome){ 0 };
        if (l->no_submit)
                return execute_old(l, code, sigfd, o);
        live_hold(l);
        r = api_submit_send(l->c, code, true, &pending);
        if (r < 0)
                return ctl_fatal(r);
        r = follow(l, pending, sigfd, o);
        if (r == FOLLOW_UNKNOWN) {
                l->no_submit = true;
                return execute_old(l, code, sigfd, o);
        }
        return r;
}

/*
 * A Submit or SubmitFile sent (pending): its id, then its Output live and
 * its Finished; Ctrl-C cancels it.  FOLLOW_UNKNOWN: the daemon has no such
 * method (nothing printed, the caller falls back).
 */
static int follow(Live *l, DBusPendingCall *pending, int sigfd, Outcome *o)
{
        _cleanup_(freep) char *owner = NULL;
        DBusError e = DBUS_ERROR_INIT;
        uint64_t id;
        int r;

        r = api_submit_reply(l->c, pending, &id, &owner, &e);
        if (r == CLIENT_E_DBUS && ctl_unknown_method(&e)) {
                dbus_error_free(&e);
                live_forget(l);
                return FOLLOW_UNKNOWN;
        }
        if (r == CLIENT_E_DBUS) {
                live_forget(l);
                return report(l->c, NULL, &e);
        }
        if (r < 0)
                return ctl_fatal(r);
        r = live_own(l, id, owner);
        if (r < 0)
                return ctl_fatal(r);
        o->id = id;

        r = live_wait(l, NULL, sigfd);
        if (r < 0)
                return ctl_fatal(r);
        if (r == LIVE_GAVE_UP)
                return gave_up(l);
        if (r == LIVE_GONE)
                return gone(l);
        if (!l->success && !l->own_printed && !l->cancel_sent) {
                /* It failed without a traceback: it never ran, and Wait says why. */
                r = api_wait_error(l->c, id, &e);
                if (r == CLIENT_E_DBUS)
                        return report(l->c, NULL, &e);
        }
        o->result = strdup(l->result ? l->result : "");
        if (!o->result)
                return ctl_fatal(-ENOMEM);
        return l->success ? EXIT_OK : EXIT_FAILED;
}

bool execute_subscribe(Live *l, bool quiet)
{
        _cleanup_(freep) char *sender = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        if (l->subscribed)
                return true;
        if (l->no_subscribe)
                return false;
        r = api_subscribe(l->c, &sender, &e);
        if (r == 0) {
                l->subscribed = true;
                (void)live_set_daemon(l, sender);
                return true;
        }
        if (r == CLIENT_E_DBUS && ctl_unknown_method(&e)) {
                l->no_subscribe = true;
                if (!quiet)
                        fprintf(stderr, "guiloopctl: this guiloopd has no Subscribe: no background "
                                        "output, run's output comes at its end\n");
        } else if (!quiet) {
                if (r == CLIENT_E_DBUS)
                        ctl_bus_error(l->c, "Subscribe", &e);
                else
                        ctl_fatal(r);
        }
        dbus_error_free(&e);
        return false;
}

/*
 * SubmitFile: the id at once, the Output live to this connection, Ctrl-C
 * cancels just this run.  A daemon without it gets RunFile, with the
 * output at the end and Ctrl-C as an Interrupt.
 */
int execute_file(Live *l, const char *path, char **argv, int n, int sigfd, Outcome *o)
{
        _cleanup_(dbus_pending_call_unrefp) DBusPendingCall *pending = NULL;
        int r;

        *o = (Outcome){ 0 };
        if (!l->no_submit && !l->no_submit_file) {
                live_hold(l);
                r = api_submit_file_send(l->c, path, argv, n, &pending);
                if (r < 0)
                        return ctl_fatal(r);
                r = follow(l, pending, sigfd, o);
                if (r != FOLLOW_UNKNOWN)
                        return r;
                l->no_submit_file = true;
                dbus_pending_call_unref(steal_pointer(&pending));
        }
        live_forget(l);
        r = send_message(l->c, api_run_file_message(l->c, path, argv, n), &pending);
        if (r < 0)
                return ctl_fatal(r);
        return finish_call(l, pending, false, sigfd, o);
}
