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

/* The reply of Execute or RunFile: print what live output did not show yet. */
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
        for (int i = 0; i < 2; i++) {
                const Text *p = &l->printed[i];
                const char *rest = texts[i];

                /* What came live is the reply's beginning; the rest is new. */
                if (p->len && strncmp(texts[i], p->s, p->len) == 0)
                        rest += p->len;
                live_print(l, i, rest);
        }
        o->result = strdup(result);
        if (!o->result)
                return ctl_fatal(-ENOMEM);
        return success ? EXIT_OK : EXIT_FAILED;
}

/* Execute or RunFile sent (pending, on caller), waited for with Ctrl-C,
 * reply printed. */
static int finish_call(Live *l, Client *caller, DBusPendingCall *pending, bool has_result,
                       int sigfd, Outcome *o)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *reply = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        r = caller == l->c ? live_wait(l, pending, sigfd) : live_wait_runner(l, pending, sigfd);
        if (r < 0)
                return ctl_fatal(r);
        if (r == LIVE_GAVE_UP) {
                dbus_pending_call_cancel(pending);
                return gave_up(l);
        }
        /* The reply came on the other connection, in no order with the
         * Output signals here: those end with Finished, wait for it, so the
         * reply prints only what they did not bring. */
        if (r == LIVE_DONE && caller != l->c && l->own) {
                r = live_wait(l, NULL, sigfd);
                if (r < 0)
                        return ctl_fatal(r);
                if (r == LIVE_GAVE_UP)
                        return gave_up(l);
        }
        r = client_wait_pending(caller, pending, -1, NULL, NULL, &reply, &e);
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
        return finish_call(l, l->c, pending, true, sigfd, o);
}

int execute_code(Live *l, const char *code, int sigfd, Outcome *o)
{
        _cleanup_(dbus_pending_call_unrefp) DBusPendingCall *pending = NULL;
        _cleanup_(freep) char *owner = NULL;
        DBusError e = DBUS_ERROR_INIT;
        uint64_t id;
        int r;

        *o = (Outcome){ 0 };
        if (l->no_submit)
                return execute_old(l, code, sigfd, o);
        live_hold(l);
        r = api_submit_send(l->c, code, true, &pending);
        if (r < 0)
                return ctl_fatal(r);
        r = api_submit_reply(l->c, pending, &id, &owner, &e);
        if (r == CLIENT_E_DBUS && ctl_unknown_method(&e)) {
                dbus_error_free(&e);
                l->no_submit = true;
                return execute_old(l, code, sigfd, o);
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

/* "pass", not streamed: a marker whose id brackets the RunFile sent beside it. */
static int send_marker(Client *c, DBusPendingCall **pending)
{
        return api_submit_send(c, "pass", false, pending);
}

/* The second connection, made once per Live. */
static int runner(Live *l, Client **out)
{
        DBusError e = DBUS_ERROR_INIT;
        int r;

        if (!l->runner) {
                r = client_new(&l->runner, client_name(l->c), &e);
                if (r == CLIENT_E_DBUS) {
                        r = report(NULL, "cannot connect to the session bus", &e);
                        return r;
                }
                if (r < 0)
                        return ctl_fatal(r);
        }
        *out = l->runner;
        return 0;
}

/*
 * RunFile has no id in its reply, and its Output goes to subscribers only,
 * not to its caller, who gets it once, in the reply.  So: this connection
 * subscribes, and a second one sends Submit("pass"), RunFile, Submit("pass")
 * back to back.  The daemon numbers executions in the order it receives
 * them; when the two markers got A and A + 2, RunFile is A + 1, its Output
 * reaches the subscriber live, and Ctrl-C cancels it.  When another client's
 * call came in between, the output comes with the reply at the end, and
 * Ctrl-C is an Interrupt.
 */
int execute_file(Live *l, const char *path, char **argv, int n, int sigfd, Outcome *o)
{
        _cleanup_(dbus_pending_call_unrefp) DBusPendingCall *before = NULL, *run = NULL,
                                                            *after = NULL;
        _cleanup_(freep) char *owner = NULL;
        DBusError e = DBUS_ERROR_INIT;
        uint64_t a = 0, b = 0;
        Client *c = NULL;
        int r;

        *o = (Outcome){ 0 };
        if (l->no_submit || !execute_subscribe(l, true)) {
                live_forget(l);
                r = send_message(l->c, api_run_file_message(l->c, path, argv, n), &run);
                if (r < 0)
                        return ctl_fatal(r);
                return finish_call(l, l->c, run, false, sigfd, o);
        }
        r = runner(l, &c);
        if (r != 0)
                return r;

        live_hold(l);
        l->keep_printed = true;
        r = send_marker(c, &before);
        if (r >= 0)
                r = send_message(c, api_run_file_message(c, path, argv, n), &run);
        if (r >= 0)
                r = send_marker(c, &after);
        if (r < 0)
                return ctl_fatal(r);
        r = api_submit_reply(c, before, &a, &owner, &e);
        if (r == CLIENT_E_DBUS)
                dbus_error_free(&e); /* RunFile's own reply says what is wrong */
        else if (r < 0)
                return ctl_fatal(r);
        r = api_submit_reply(c, after, &b, NULL, &e);
        if (r == CLIENT_E_DBUS)
                dbus_error_free(&e);
        else if (r < 0)
                return ctl_fatal(r);
        if (a && b == a + 2) {
                o->id = a + 1;
                r = live_own(l, a + 1, owner);
        } else {
                r = live_own(l, 0, NULL);
        }
        if (r < 0)
                return ctl_fatal(r);
        r = finish_call(l, c, run, false, sigfd, o);
        l->keep_printed = false;
        return r;
}
