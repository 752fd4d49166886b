/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Live output: the daemon's Output and Finished signals printed as they
 * arrive, and the wait for one execution with Ctrl-C turned into Cancel.
 * exec, run, the console and monitor all print through here.
 *
 * Output of the execution this client waits for ("own") goes to stdout and
 * stderr as it is; background output (execution 0) gets "[bg] " in front of
 * each line; in monitor mode every line gets "[ID STREAM] ".
 */

#include <stdbool.h>
#include <stdint.h>

#include "bus-call.h"

/* The console prints around its prompt: before() clears the line being
 * edited, after() draws it again. */
typedef struct LiveSink {
        void (*before)(void *data);
        void (*after)(void *data);
        void *data;
} LiveSink;

typedef struct Text {
        char *s;
        size_t len, size;
} Text;

/* Appends n bytes of s, NUL-terminated; a negative errno. */
int text_append(Text *t, const char *s, size_t n);

typedef struct Live {
        Client *c;
        LiveSink sink;
        bool show_background; /* print execution 0 */
        bool monitor;         /* print everything, prefixed */
        bool subscribed;      /* Subscribe() answered, for this daemon */
        bool no_subscribe, no_submit, no_submit_file; /* an older daemon: no such method */

        /* Submit sent, id not known yet: signals of other ids wait in held. */
        bool holding;
        DBusMessage **held;
        size_t n_held;

        uint64_t own; /* 0: none, or not known */
        char *owner;  /* the daemon's unique name that runs own */
        char *daemon; /* the daemon's unique name: signals from others are dropped */
        bool finished, success, gone;
        bool cancel_sent, own_printed;
        char *result;

        /* The daemon's name lost or got an owner (NameOwnerChanged). */
        bool owner_lost, owner_new;
        uint64_t highest_id; /* the highest execution id seen in a signal */

        /* Where the terminal is: at the start of a line, and whose line. */
        bool mid_line;
        int last_source; /* stream + 2 * (kind): who wrote the current line */
} Live;

void live_init(Live *l, Client *c);
void live_done(Live *l);

/* The signal handler for client_set_signal_handler(); userdata is the Live. */
void live_on_signal(Client *c, DBusMessage *m, void *userdata);

/* Before Submit is sent: keep its signals until live_own() names the id. */
void live_hold(Live *l);
/* Own execution id (0: unknown, show nothing as own); replays what was held. */
int live_own(Live *l, uint64_t id, const char *owner);
/* The daemon's unique name as a reply said it (NULL: not known, take any). */
int live_set_daemon(Live *l, const char *unique);

/* Forget own: back to printing background output only. */
void live_forget(Live *l);

/* Text for stdout or stderr (stream 0, 1) as own output, through the sink. */
void live_print(Live *l, int stream, const char *text);
/* A newline if the terminal is in the middle of a line. */
void live_end_line(Live *l);

/* The result of live_wait(). */
enum {
        LIVE_DONE = 0,    /* Finished of own arrived, or the pending reply */
        LIVE_GAVE_UP,     /* a third Ctrl-C */
        LIVE_GONE,        /* the daemon left the bus without finishing it */
};

/* Waits until own has finished (pending NULL) or until pending has its
 * reply, printing as signals come.  Ctrl-C (sigfd readable) sends Cancel
 * for own (Interrupt when own is 0), saying so on stderr; the third stops
 * waiting.  Returns LIVE_*, or a negative errno. */
int live_wait(Live *l, DBusPendingCall *pending, int sigfd);

/* SIGINT blocked and readable from a signalfd; a negative errno. */
int live_sigint_fd(void);
/* How many SIGINTs the signalfd has, consumed. */
unsigned live_sigint_count(int sigfd);
