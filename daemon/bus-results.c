/* SPDX-License-Identifier: MIT */
#include "bus-results.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "bus-dispatch.h"
#include "bus-names.h"
#include "log.h"

/* The bus side of one execution: who asked, who waits, and what it gave. */
struct Job {
        uint64_t id;
        Origin origin;
        ReplyTo reply;   /* Execute, RunFile: the caller */
        char *owner;     /* the sender that asked for it */
        bool stream;     /* Submit: Output signals to the owner */
        double timeout;  /* seconds; < 0: execution.timeout */
        bool started, finished;
        GQueue waiters;  /* ReplyTo *, Wait calls */
        uint64_t first_output_seq; /* the first Output batch sent for it, 0: none */
        size_t streamed[OUTPUT_N_STREAMS];

        /* Once finished. */
        int status;
        char *status_text;
        bool success;
        char *result, *stdout_text, *stderr_text;
};

typedef struct Subscriber {
        uint64_t since_seq; /* output_seq when it subscribed */
} Subscriber;

struct Results {
        ResultsOps ops;
        uint32_t keep;
        GHashTable *jobs;        /* id -> Job *: waiting, running, and kept */
        GQueue kept;             /* Job *, finished, oldest first */
        GHashTable *subscribers; /* unique name -> Subscriber * */
        uint64_t output_seq;     /* Output batches sent so far */
};

static const char *const stream_names[OUTPUT_N_STREAMS] = { "stdout", "stderr" };

/* How far back from a piece's end a newline is looked for. */
#define PIECE_LINE_LOOK 4096u

static void send(Results *r, DBusMessage *m)
{
        if (m)
                r->ops.send(r->ops.data, m);
}

static guint id_hash(gconstpointer p)
{
        uint64_t id = *(const uint64_t *)p;

        return (guint)(id ^ (id >> 32));
}

static gboolean id_equal(gconstpointer a, gconstpointer b)
{
        return *(const uint64_t *)a == *(const uint64_t *)b;
}

static void job_free(gpointer p)
{
        Job *j = p;
        ReplyTo *w;

        reply_to_clear(&j->reply);
        while ((w = g_queue_pop_head(&j->waiters))) {
                reply_to_clear(w);
                free(w);
        }
        free(j->owner);
        free(j->status_text);
        free(j->result);
        free(j->stdout_text);
        free(j->stderr_text);
        free(j);
}

int results_new(Results **out, const ResultsOps *ops, uint32_t keep)
{
        Results *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        r->ops = *ops;
        r->keep = keep;
        g_queue_init(&r->kept);
        r->jobs = g_hash_table_new_full(id_hash, id_equal, NULL, job_free);
        r->subscribers = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
        *out = r;
        return 0;
}

Results *results_free(Results *r)
{
        if (!r)
                return NULL;
        g_queue_clear(&r->kept);
        g_hash_table_destroy(r->jobs);
        g_hash_table_destroy(r->subscribers);
        free(r);
        return NULL;
}

static Job *job_find(Results *r, uint64_t id)
{
        return g_hash_table_lookup(r->jobs, &id);
}

int results_prepare(Results *r, DBusMessage *call, Origin origin, bool stream, double timeout,
                    Job **out)
{
        const char *sender = dbus_message_get_sender(call);
        Job *j = calloc(1, sizeof(*j));
        int ret;

        (void)r;
        if (!j)
                return -ENOMEM;
        j->origin = origin;
        j->stream = stream;
        j->timeout = timeout;
        g_queue_init(&j->waiters);
        ret = reply_to_init(&j->reply, call);
        if (ret == 0 && sender && !(j->owner = strdup(sender)))
                ret = -ENOMEM;
        if (ret < 0) {
                job_free(j);
                return ret;
        }
        *out = j;
        return 0;
}

void results_commit(Results *r, Job *j, uint64_t id)
{
        j->id = id;
        g_hash_table_insert(r->jobs, &j->id, j);
}

void results_discard(Job *j)
{
        if (j)
                job_free(j);
}

double results_started(Results *r, uint64_t id)
{
        Job *j = job_find(r, id);

        if (!j)
                return -1;
        j->started = true;
        return j->timeout;
}

bool results_known(Results *r, uint64_t id)
{
        return job_find(r, id) != NULL;
}

/* ---- signals: unicast to the Submit caller and to subscribers ---- */

static void send_to(Results *r, DBusMessage *sig, const char *dest)
{
        DBusMessage *copy = dbus_message_copy(sig);

        if (copy && dbus_message_set_destination(copy, dest))
                send(r, copy);
        else if (copy)
                dbus_message_unref(copy);
}

/*
 * A signal for several listeners: each but the last gets a copy, the last
 * the message itself, so a 1 MB text for one listener is not copied once
 * more (a copy of a 1 MB Finished is a 1 MB malloc and memcpy).
 */
typedef struct Fanout {
        DBusMessage *sig; /* NULL: not built (yet) */
        const char *last; /* who gets sig itself, at fanout_end */
} Fanout;

static void fanout_add(Results *r, Fanout *f, const char *dest)
{
        if (!f->sig)
                return;
        if (f->last)
                send_to(r, f->sig, f->last);
        f->last = dest;
}

static void fanout_end(Results *r, Fanout *f)
{
        if (f->sig && f->last && dbus_message_set_destination(f->sig, f->last))
                send(r, f->sig);
        else if (f->sig)
                dbus_message_unref(f->sig);
        f->sig = NULL;
}

/* Is there a subscriber other than skip? */
static bool has_listener(Results *r, const char *skip)
{
        guint n = g_hash_table_size(r->subscribers);

        return n > 1 || (n == 1 && (!skip || !g_hash_table_contains(r->subscribers, skip)));
}

/* The Submit caller that streams j's output, if any. */
static const char *output_owner(const Job *j)
{
        return j && j->origin == ORIGIN_SUBMIT && j->stream ? j->owner : NULL;
}

/* The subscriber that gets j's output some other way: an Execute or RunFile caller, in the reply. */
static const char *output_skip(const Job *j)
{
        return j && j->origin != ORIGIN_SUBMIT ? j->owner : output_owner(j);
}

/* Does anybody get j's Output signals (j NULL: background)? */
static bool output_wanted(Results *r, const Job *j)
{
        return output_owner(j) || has_listener(r, output_skip(j));
}

/* Output of j (NULL: background): its Submit caller (stream) and every subscriber, once each. */
static void send_output(Results *r, Job *j, uint64_t id, const char *stream, const char *text)
{
        Fanout f = { 0 };
        dbus_uint64_t eid = id;
        const char *owner = output_owner(j), *skip = output_skip(j);
        GHashTableIter it;
        gpointer key;

        if (!output_wanted(r, j))
                return;
        f.sig = dbus_message_new_signal(GUILOOP_OBJECT_PATH, GUILOOP_INTERFACE, "Output");
        if (!f.sig || !dbus_message_append_args(f.sig, DBUS_TYPE_UINT64, &eid, DBUS_TYPE_STRING,
                                                &stream, DBUS_TYPE_STRING, &text,
                                                DBUS_TYPE_INVALID)) {
                fanout_end(r, &f);
                return;
        }
        r->output_seq++;
        if (j && !j->first_output_seq)
                j->first_output_seq = r->output_seq;
        if (owner)
                fanout_add(r, &f, owner);
        g_hash_table_iter_init(&it, r->subscribers);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!skip || strcmp(skip, key) != 0)
                        fanout_add(r, &f, key);
        fanout_end(r, &f);
}

/*
 * text[0..len) as Output signals of at most RESULTS_OUTPUT_SIGNAL_MAX bytes.
 * libdbus checks every byte of a message before it leaves, dbus-daemon
 * before it forwards it, the client before it reads it: in pieces, the
 * three work at once, not one after the other (a 1 MB output reached a
 * Submit caller in 0.9 times a bare 1 MB reply's time, 1.2 times in one
 * piece).  Each piece ends on a NUL written into text for the moment.
 */
static void send_output_text(Results *r, Job *j, uint64_t id, const char *stream, char *text,
                             size_t len)
{
        while (len > RESULTS_OUTPUT_SIGNAL_MAX) {
                size_t n = utf8_cut(text, len, RESULTS_OUTPUT_SIGNAL_MAX);
                size_t look = n < PIECE_LINE_LOOK ? n : PIECE_LINE_LOOK;
                /* After a newline near the end, when there is one: a client prints whole lines. */
                const char *nl = memrchr(text + n - look, '\n', look);
                char was;

                if (nl)
                        n = (size_t)(nl - text) + 1;
                was = text[n];
                text[n] = 0;
                send_output(r, j, id, stream, text);
                text[n] = was;
                text += n;
                len -= n;
        }
        send_output(r, j, id, stream, text);
}

void results_output(Results *r, uint64_t id, Output *out)
{
        Job *j = job_find(r, id);
        char *texts[OUTPUT_N_STREAMS];

        if (!output_take(out, texts))
                return;
        for (int i = 0; i < OUTPUT_N_STREAMS; i++) {
                size_t len = texts[i] ? strlen(texts[i]) : 0;

                if (j)
                        j->streamed[i] += len;
                if (texts[i])
                        send_output_text(r, j, id, stream_names[i], texts[i], len);
                free(texts[i]);
        }
}

void results_background(Results *r, int stream, char *text)
{
        send_output_text(r, NULL, 0, stream_names[stream == OUTPUT_STDERR], text, strlen(text));
}

/* What the final texts hold past what was streamed (the rest of the output, the traceback). */
static void send_tail(Results *r, Job *j)
{
        char *texts[OUTPUT_N_STREAMS] = { j->stdout_text, j->stderr_text };

        /* Most Executes: nobody listens, and a 1 MB text is not even measured. */
        if (!output_wanted(r, j))
                return;
        for (int i = 0; i < OUTPUT_N_STREAMS; i++) {
                size_t len = texts[i] ? strlen(texts[i]) : 0;

                if (len > j->streamed[i]) {
                        send_output_text(r, j, j->id, stream_names[i], texts[i] + j->streamed[i],
                                         len - j->streamed[i]);
                        j->streamed[i] = len;
                }
        }
}

static DBusMessage *finished_signal(Job *j, bool with_output)
{
        DBusMessage *sig = dbus_message_new_signal(GUILOOP_OBJECT_PATH, GUILOOP_INTERFACE,
                                                   "Finished");
        dbus_uint64_t id = j->id;
        dbus_bool_t success = j->status == 0 && j->success;
        const char *result = j->result ? j->result : "";
        const char *out = with_output && j->stdout_text ? j->stdout_text : "";
        const char *err = with_output && j->stderr_text ? j->stderr_text : "";

        if (j->status && with_output)
                err = j->status_text ? j->status_text : "";
        if (sig && !dbus_message_append_args(sig, DBUS_TYPE_UINT64, &id, DBUS_TYPE_BOOLEAN, &success,
                                             DBUS_TYPE_STRING, &result, DBUS_TYPE_STRING, &out,
                                             DBUS_TYPE_STRING, &err, DBUS_TYPE_INVALID)) {
                dbus_message_unref(sig);
                sig = NULL;
        }
        return sig;
}

/* dest gets the Finished signal with or without the output, built the first time it is needed. */
static void finished_to(Results *r, Job *j, bool with_output, Fanout *f, const char *dest)
{
        if (!f->sig)
                f->sig = finished_signal(j, with_output);
        fanout_add(r, f, dest);
}

static void send_finished(Results *r, Job *j)
{
        const char *owner = j->origin == ORIGIN_SUBMIT ? j->owner : NULL;
        /* An Execute or RunFile caller has the reply: no Finished for it. */
        const char *skip = j->owner;
        /* Built when a listener needs it: a streamed 1 MB output is not validated and copied for none. */
        Fanout full = { 0 }, bare = { 0 };
        GHashTableIter it;
        gpointer key, value;

        /* Most Executes have nobody listening: build nothing for them. */
        if (!owner && !has_listener(r, skip))
                return;
        /* A listener that got the output as Output signals gets it empty here. */
        if (owner)
                finished_to(r, j, !j->stream, j->stream ? &bare : &full, owner);
        g_hash_table_iter_init(&it, r->subscribers);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                Subscriber *s = value;
                bool got_all = !j->first_output_seq || s->since_seq < j->first_output_seq;

                if (!skip || strcmp(skip, key) != 0)
                        finished_to(r, j, !got_all, got_all ? &bare : &full, key);
        }
        fanout_end(r, &full);
        fanout_end(r, &bare);
}

/* ---- replies ---- */

static int status_code(int status)
{
        switch (status) {
        case EXECUTION_E_FILE_NOT_FOUND:
                return BUS_E_FILE_NOT_FOUND;
        case EXECUTION_E_SHUTTING_DOWN:
                return BUS_E_SHUTTING_DOWN;
        case EXECUTION_E_CANCELLED:
                return BUS_E_CANCELLED;
        default:
                return BUS_E_FAILED;
        }
}

static const char *status_text(const Job *j)
{
        if (j->status_text)
                return j->status_text;
        switch (j->status) {
        case EXECUTION_E_SHUTTING_DOWN:
                return "guiloopd is shutting down";
        case EXECUTION_E_CANCELLED:
                return "the execution was cancelled";
        case EXECUTION_E_CALLER_GONE:
                return "its caller left the bus before it started";
        default:
                return "failed";
        }
}

/* Execute's, RunFile's or Wait's answer (with_result: the four-field form). */
static void reply_results(Results *r, Job *j, const ReplyTo *to, bool with_result)
{
        dbus_bool_t success = j->success;
        const char *result = j->result ? j->result : "";
        const char *out = j->stdout_text ? j->stdout_text : "";
        const char *err = j->stderr_text ? j->stderr_text : "";
        DBusMessage *m;
        bool ok;

        if (to->no_reply)
                return;
        if (j->status)
                return send(r, reply_to_error(to, status_code(j->status), status_text(j)));
        m = reply_to_return(to);
        if (!m)
                return log_err("out of memory answering execution %" PRIu64, j->id);
        if (with_result)
                ok = dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_STRING,
                                              &result, DBUS_TYPE_STRING, &out, DBUS_TYPE_STRING,
                                              &err, DBUS_TYPE_INVALID);
        else
                ok = dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_STRING,
                                              &out, DBUS_TYPE_STRING, &err, DBUS_TYPE_INVALID);
        if (!ok) {
                dbus_message_unref(m);
                return send(r, reply_to_error(to, -ENOMEM, "out of memory"));
        }
        send(r, m);
}

static void keep(Results *r, Job *j)
{
        g_queue_push_tail(&r->kept, j);
        while (r->kept.length > r->keep) {
                Job *old = g_queue_pop_head(&r->kept);

                g_hash_table_remove(r->jobs, &old->id);
        }
}

void results_finished(Results *r, Execution *e)
{
        Job *j = job_find(r, e->id);
        ReplyTo *w;

        if (!j) {
                execution_free(e);
                return;
        }
        j->finished = true;
        j->status = e->status;
        j->status_text = steal_pointer(&e->status_text);
        j->success = e->success;
        j->result = steal_pointer(&e->result);
        j->stdout_text = steal_pointer(&e->stdout_text);
        j->stderr_text = steal_pointer(&e->stderr_text);
        execution_free(e);
        /*
         * The last of the streamed output, then the reply and Finished: sent
         * from the final texts, past what Output signals carried already,
         * not from a copy that output_take() would make of the same bytes.
         */
        if (j->status == 0)
                send_tail(r, j);

        if (j->status != EXECUTION_E_CALLER_GONE) {
                if (j->origin != ORIGIN_SUBMIT)
                        reply_results(r, j, &j->reply, j->origin == ORIGIN_EXECUTE);
                send_finished(r, j);
                while ((w = g_queue_pop_head(&j->waiters))) {
                        reply_results(r, j, w, true);
                        reply_to_clear(w);
                        free(w);
                }
        }
        reply_to_clear(&j->reply);
        keep(r, j);
}

int results_wait(Results *r, uint64_t id, DBusMessage *call)
{
        Job *j = job_find(r, id);
        ReplyTo *w;
        int ret;

        if (!j)
                return BUS_E_UNKNOWN_EXECUTION;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        ret = reply_to_init(w, call);
        if (ret < 0) {
                free(w);
                return ret;
        }
        if (j->finished) {
                reply_results(r, j, w, true);
                reply_to_clear(w);
                free(w);
        } else {
                g_queue_push_tail(&j->waiters, w);
        }
        return 0;
}

int results_subscribe(Results *r, const char *sender)
{
        Subscriber *s;
        char *key;

        if (g_hash_table_contains(r->subscribers, sender))
                return 0;
        s = calloc(1, sizeof(*s));
        key = strdup(sender);
        if (!s || !key) {
                free(s);
                free(key);
                return -ENOMEM;
        }
        s->since_seq = r->output_seq;
        g_hash_table_insert(r->subscribers, key, s);
        return 0;
}

void results_unsubscribe(Results *r, const char *sender)
{
        g_hash_table_remove(r->subscribers, sender);
}

size_t results_caller_gone(Results *r, const char *sender, uint64_t **ids)
{
        GArray *a = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        GHashTableIter it;
        gpointer value;
        size_t n;

        g_hash_table_remove(r->subscribers, sender);
        g_hash_table_iter_init(&it, r->jobs);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                Job *j = value;

                /* A Submit's result stays for Wait; an Execute's has nobody left to go to. */
                if (!j->finished && !j->started && j->origin != ORIGIN_SUBMIT && j->owner &&
                    strcmp(j->owner, sender) == 0)
                        g_array_append_val(a, j->id);
        }
        n = a->len;
        *ids = (uint64_t *)(void *)g_array_free(a, FALSE);
        return n;
}

void results_abandon(Results *r, uint64_t id, const char *why)
{
        Job *j = job_find(r, id);
        ReplyTo *w;

        if (!j)
                return;
        if (j->origin != ORIGIN_SUBMIT && !j->reply.no_reply)
                send(r, reply_to_error(&j->reply, BUS_E_SHUTTING_DOWN, why));
        /* Its Wait calls too: every call gets its one reply. */
        while ((w = g_queue_pop_head(&j->waiters))) {
                send(r, reply_to_error(w, BUS_E_SHUTTING_DOWN, why));
                reply_to_clear(w);
                free(w);
        }
}
