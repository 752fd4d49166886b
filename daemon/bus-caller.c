/* SPDX-License-Identifier: MIT */
#include "bus-caller.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"

typedef enum Verdict {
        VERDICT_PENDING,
        VERDICT_ALLOWED,
        VERDICT_DENIED,
} Verdict;

typedef struct Sender {
        Verdict verdict;
        GQueue held; /* DBusMessage *, in arrival order */
} Sender;

struct CallerCheck {
        CallerCheckOps ops;
        uid_t self;
        uid_t *allow;
        size_t n_allow;
        GHashTable *senders; /* char * -> Sender * */
        RateLimit denied_log;
};

static void sender_free(gpointer p)
{
        Sender *s = p;
        DBusMessage *m;

        while ((m = g_queue_pop_head(&s->held)))
                dbus_message_unref(m);
        free(s);
}

int caller_check_new(CallerCheck **out, const CallerCheckOps *ops, uid_t self,
                     const uid_t *allow, size_t n_allow)
{
        CallerCheck *cc = calloc(1, sizeof(*cc));

        if (!cc)
                return -ENOMEM;
        cc->ops = *ops;
        cc->self = self;
        cc->denied_log = (RateLimit)RATELIMIT_INIT(10 * 1000000u, 5);
        if (n_allow) {
                cc->allow = calloc(n_allow, sizeof(uid_t));
                if (!cc->allow) {
                        free(cc);
                        return -ENOMEM;
                }
                memcpy(cc->allow, allow, n_allow * sizeof(uid_t));
                cc->n_allow = n_allow;
        }
        cc->senders = g_hash_table_new_full(g_str_hash, g_str_equal, free, sender_free);
        *out = cc;
        return 0;
}

CallerCheck *caller_check_free(CallerCheck *cc)
{
        if (!cc)
                return NULL;
        g_hash_table_destroy(cc->senders);
        free(cc->allow);
        free(cc);
        return NULL;
}

static bool uid_allowed(CallerCheck *cc, unsigned long uid)
{
        if (uid == (unsigned long)cc->self)
                return true;
        for (size_t i = 0; i < cc->n_allow; i++)
                if (uid == (unsigned long)cc->allow[i])
                        return true;
        return false;
}

static void log_denied(CallerCheck *cc, const char *sender, const char *why)
{
        unsigned suppressed = 0;

        if (ratelimit_test(&cc->denied_log, now_usec(), &suppressed))
                log_warning("denied a call from %s (%s)%s", sender, why,
                            suppressed ? "; more denials were not logged" : "");
}

/* A pending entry for name, with the question asked; NULL when that failed (then denied). */
static Sender *ask(CallerCheck *cc, const char *name)
{
        Sender *s = calloc(1, sizeof(*s));
        char *key = strdup(name);

        if (!s || !key) {
                free(s);
                free(key);
                return NULL;
        }
        g_queue_init(&s->held);
        s->verdict = VERDICT_PENDING;
        g_hash_table_insert(cc->senders, key, s);
        if (cc->ops.lookup(cc->ops.data, name) < 0) {
                s->verdict = VERDICT_DENIED;
                log_denied(cc, name, "cannot ask the bus for its Unix user");
        }
        return s;
}

void caller_check_prefetch(CallerCheck *cc, const char *sender)
{
        if (!g_hash_table_contains(cc->senders, sender))
                ask(cc, sender);
}

int caller_check_message(CallerCheck *cc, DBusMessage *m, bool needs_check)
{
        const char *name = dbus_message_get_sender(m);
        Sender *s;

        if (!name)
                return needs_check ? CALLER_DENIED : CALLER_ALLOWED;
        s = g_hash_table_lookup(cc->senders, name);
        if (s && s->verdict != VERDICT_PENDING)
                return !needs_check || s->verdict == VERDICT_ALLOWED ? CALLER_ALLOWED :
                                                                       CALLER_DENIED;
        if (!s && !needs_check)
                return CALLER_ALLOWED;
        if (!s) {
                s = ask(cc, name);
                if (!s || s->verdict == VERDICT_DENIED)
                        return CALLER_DENIED;
        }
        g_queue_push_tail(&s->held, dbus_message_ref(m));
        return CALLER_HELD;
}

void caller_check_answer(CallerCheck *cc, const char *sender, int result, unsigned long uid)
{
        Sender *s = g_hash_table_lookup(cc->senders, sender);
        DBusMessage *m;
        char why[64];

        if (!s || s->verdict != VERDICT_PENDING)
                return;
        if (result == CALLER_LOOKUP_GONE) {
                /* Nobody is left to answer: drop what it sent. */
                g_hash_table_remove(cc->senders, sender);
                return;
        }
        s->verdict = result == CALLER_LOOKUP_OK && uid_allowed(cc, uid) ? VERDICT_ALLOWED :
                                                                          VERDICT_DENIED;
        if (s->verdict == VERDICT_DENIED) {
                if (result == CALLER_LOOKUP_OK)
                        snprintf(why, sizeof(why), "uid %lu", uid);
                else
                        snprintf(why, sizeof(why), "the bus cannot tell its Unix user");
                log_denied(cc, sender, why);
        }
        /* deliver() may call back into the check (a message from the same sender): pop first. */
        while ((s = g_hash_table_lookup(cc->senders, sender)) && (m = g_queue_pop_head(&s->held))) {
                cc->ops.deliver(cc->ops.data, m, s->verdict == VERDICT_ALLOWED);
                dbus_message_unref(m);
        }
}

void caller_check_forget(CallerCheck *cc, const char *sender)
{
        g_hash_table_remove(cc->senders, sender);
}

size_t caller_check_size(CallerCheck *cc)
{
        return g_hash_table_size(cc->senders);
}
