/* SPDX-License-Identifier: MIT */
#include "live.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api.h"

/* A third Ctrl-C stops waiting; the first two each send Cancel. */
#define INTERRUPTS_BEFORE_GIVING_UP 2

enum { SOURCE_NONE = -1, SOURCE_OWN = 0, SOURCE_BG = 2, SOURCE_OTHER = 4 };

static const char *const stream_names[2] = { "stdout", "stderr" };

void live_init(Live *l, Client *c)
{
        *l = (Live){ .c = c, .last_source = SOURCE_NONE };
}

static void release_held(Live *l)
{
        for (size_t i = 0; i < l->n_held; i++)
                dbus_message_unref(l->held[i]);
        free(l->held);
        l->held = NULL;
        l->n_held = 0;
}

void live_forget(Live *l)
{
        release_held(l);
        l->holding = false;
        l->own = 0;
        l->finished = l->success = l->gone = l->cancel_sent = l->own_printed = false;
        free(l->owner);
        l->owner = NULL;
        free(l->result);
        l->result = NULL;
}

int live_set_daemon(Live *l, const char *unique)
{
        free(l->daemon);
        l->daemon = NULL;
        if (unique && unique[0]) {
                l->daemon = strdup(unique);
                if (!l->daemon)
                        return -ENOMEM;
        }
        return 0;
}

void live_done(Live *l)
{
        live_forget(l);
        live_set_daemon(l, NULL);
}

int text_append(Text *t, const char *s, size_t n)
{
        if (t->len + n + 1 > t->size) {
                size_t size = t->size ? t->size : 4096;
                char *p;

                while (size < t->len + n + 1)
                        size *= 2;
                p = realloc(t->s, size);
                if (!p)
                        return -ENOMEM;
                t->s = p;
                t->size = size;
        }
        memcpy(t->s + t->len, s, n);
        t->len += n;
        t->s[t->len] = '\0';
        return 0;
}

static FILE *stream_file(int stream)
{
        return stream == 1 ? stderr : stdout;
}

void live_end_line(Live *l)
{
        if (l->mid_line) {
                fputc('\n', stdout);
                fflush(stdout);
                l->mid_line = false;
        }
        l->last_source = SOURCE_NONE;
}

/* Writes text for one source: each line after prefix (NULL: none), and a
 * newline first when another source's line was left open. */
static void emit(Live *l, int source, const char *prefix, int stream, const char *text)
{
        /* monitor: one stream of lines, each saying where it came from. */
        FILE *f = l->monitor ? stdout : stream_file(stream);
        const char *p = text;

        if (!*text)
                return;
        if (l->mid_line && l->last_source != source) {
                fputc('\n', stdout);
                fflush(stdout);
                l->mid_line = false;
        }
        fflush(stream_file(1 - stream));
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

                if (prefix && !l->mid_line)
                        fputs(prefix, f);
                fwrite(p, 1, n, f);
                l->mid_line = !nl;
                p += n;
        }
        fflush(f);
        l->last_source = source;
}

void live_print(Live *l, int stream, const char *text)
{
        if (l->sink.before)
                l->sink.before(l->sink.data);
        /* One source for both streams: a program's own lines, byte for byte. */
        emit(l, SOURCE_OWN, NULL, stream, text);
        if (l->sink.after)
                l->sink.after(l->sink.data);
}

static int stream_index(const char *name)
{
        return strcmp(name, "stderr") == 0 ? 1 : 0;
}

static void print_other(Live *l, uint64_t id, int stream, const char *text, bool own)
{
        char prefix[48];

        if (own)
                return live_print(l, stream, text);
        if (l->monitor) {
                if (id)
                        snprintf(prefix, sizeof(prefix), "[%" PRIu64 " %s] ", id,
                                 stream_names[stream]);
                else
                        snprintf(prefix, sizeof(prefix), "[bg %s] ", stream_names[stream]);
        } else {
                snprintf(prefix, sizeof(prefix), "[bg] ");
        }
        if (l->sink.before)
                l->sink.before(l->sink.data);
        emit(l, (id ? SOURCE_OTHER : SOURCE_BG) + stream, prefix, stream, text);
        /* The console draws its prompt on a line of its own. */
        if (l->sink.after) {
                live_end_line(l);
                l->sink.after(l->sink.data);
        }
}

static void on_output(Live *l, uint64_t id, const char *stream_name, const char *text)
{
        int stream = stream_index(stream_name);
        bool own = l->own && id == l->own;

        if (own) {
                l->own_printed = true;
                print_other(l, id, stream, text, true);
        } else if (l->monitor || (id == 0 && l->show_background)) {
                print_other(l, id, stream, text, false);
        }
}

static void on_finished(Live *l, uint64_t id, bool success, const char *result,
                        const char *out, const char *err)
{
        if (l->own && id == l->own && !l->finished) {
                if (*out)
                        on_output(l, id, "stdout", out);
                if (*err)
                        on_output(l, id, "stderr", err);
                l->finished = true;
                l->success = success;
                l->result = strdup(result);
                if (l->cancel_sent && !success && !l->own_printed) {
                        live_end_line(l);
                        fprintf(stderr, "guiloopctl: execution %" PRIu64 " was cancelled "
                                        "before it started\n", id);
                }
                return;
        }
        if (!l->monitor)
                return;
        if (*out)
                on_output(l, id, "stdout", out);
        if (*err)
                on_output(l, id, "stderr", err);
        live_end_line(l);
        if (*result)
                printf("[%" PRIu64 " finished] %s: %s\n", id, success ? "ok" : "failed", result);
        else
                printf("[%" PRIu64 " finished] %s\n", id, success ? "ok" : "failed");
        fflush(stdout);
}

static bool hold(Live *l, DBusMessage *m)
{
        DBusMessage **p = realloc(l->held, (l->n_held + 1) * sizeof(*p));

        if (!p)
                return false;
        l->held = p;
        l->held[l->n_held++] = dbus_message_ref(m);
        return true;
}

static void handle(Live *l, DBusMessage *m, bool replay)
{
        dbus_uint64_t id;
        dbus_bool_t success;
        const char *stream, *text, *result, *out, *err, *name, *old_owner, *new_owner;

        if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) {
                if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING,
                                           &old_owner, DBUS_TYPE_STRING, &new_owner,
                                           DBUS_TYPE_INVALID) ||
                    strcmp(name, client_name(l->c)) != 0)
                        return;
                if (!dbus_message_has_sender(m, DBUS_SERVICE_DBUS))
                        return;
                if (old_owner[0]) {
                        l->owner_lost = true;
                        if (l->owner && strcmp(old_owner, l->owner) == 0)
                                l->gone = true;
                }
                if (new_owner[0]) {
                        l->owner_new = true;
                        (void)live_set_daemon(l, new_owner);
                }
                return;
        }
        if (!dbus_message_has_interface(m, GUILOOP_INTERFACE))
                return;
        /* Only the daemon speaks for the daemon: any peer can send a signal. */
        if (l->daemon && !dbus_message_has_sender(m, l->daemon))
                return;
        if (dbus_message_is_signal(m, GUILOOP_INTERFACE, "Output")) {
                if (!dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64, &id, DBUS_TYPE_STRING,
                                           &stream, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID))
                        return;
                if (id > l->highest_id)
                        l->highest_id = id;
                if (!replay && l->holding && id != 0 && hold(l, m))
                        return;
                on_output(l, id, stream, text);
        } else if (dbus_message_is_signal(m, GUILOOP_INTERFACE, "Finished")) {
                if (!dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64, &id, DBUS_TYPE_BOOLEAN,
                                           &success, DBUS_TYPE_STRING, &result,
                                           DBUS_TYPE_STRING, &out, DBUS_TYPE_STRING, &err,
                                           DBUS_TYPE_INVALID))
                        return;
                if (id > l->highest_id)
                        l->highest_id = id;
                if (!replay && l->holding && hold(l, m))
                        return;
                on_finished(l, id, success, result, out, err);
        }
}

void live_on_signal(Client *c _unused_, DBusMessage *m, void *userdata)
{
        handle(userdata, m, false);
}

void live_hold(Live *l)
{
        live_forget(l);
        l->holding = true;
}

int live_own(Live *l, uint64_t id, const char *owner)
{
        l->holding = false;
        l->own = id;
        if (owner) {
                l->owner = strdup(owner);
                if (!l->owner || live_set_daemon(l, owner) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < l->n_held; i++)
                handle(l, l->held[i], true);
        release_held(l);
        return 0;
}

int live_sigint_fd(void)
{
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

unsigned live_sigint_count(int sigfd)
{
        struct signalfd_siginfo si;
        unsigned n = 0;

        while (read(sigfd, &si, sizeof(si)) == sizeof(si))
                n++;
        return n;
}

/* Ctrl-C: Cancel own (Interrupt for an older daemon's Execute), said on stderr. */
static int interrupt_own(Live *l)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;

        fflush(stdout);
        /* The terminal echoed "^C" where the cursor was: say it on a line of its own. */
        if (l->mid_line)
                fputc('\n', stderr);
        else if (isatty(STDERR_FILENO))
                fputc('\r', stderr);
        l->mid_line = false;
        l->last_source = SOURCE_NONE;
        if (l->own) {
                fprintf(stderr, "^C: interrupting execution %" PRIu64 "\xe2\x80\xa6\n", l->own);
                l->cancel_sent = true;
                return api_cancel(l->c, l->own);
        }
        fputs("^C: interrupting the running execution\xe2\x80\xa6\n", stderr);
        m = client_method(l->c, GUILOOP_INTERFACE, "Interrupt", false);
        if (!m)
                return -ENOMEM;
        dbus_message_set_no_reply(m, TRUE);
        return client_send(l->c, m);
}

int live_wait(Live *l, DBusPendingCall *pending, int sigfd)
{
        unsigned interrupts = 0;

        for (;;) {
                struct pollfd p = { .fd = sigfd, .events = POLLIN };
                int r;

                client_dispatch(l->c);
                if (pending ? dbus_pending_call_get_completed(pending) : l->finished)
                        return LIVE_DONE;
                if (!pending && l->gone)
                        return LIVE_GONE;
                r = client_iterate(l->c, &p, sigfd >= 0 ? 1 : 0, -1);
                if (r == -ENOTCONN)
                        return pending ? LIVE_DONE : LIVE_GONE;
                if (r < 0)
                        return r;
                if (sigfd >= 0 && p.revents) {
                        unsigned n = live_sigint_count(sigfd);

                        for (unsigned i = 0; i < n; i++) {
                                if (++interrupts > INTERRUPTS_BEFORE_GIVING_UP)
                                        return LIVE_GAVE_UP;
                                r = interrupt_own(l);
                                if (r < 0)
                                        return r;
                        }
                }
        }
}

