/* SPDX-License-Identifier: MIT */
/* Properties, the caller check, deadlines, the executor and Stacks' formatting, each alone. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "bus-caller.h"
#include "bus-deadline.h"
#include "bus-properties.h"
#include "bus-results.h"
#include "executor.h"
#include "stacks.h"
#include "tap.h"

/* ---- properties ---- */

static void get_name(void *data, PropertyValue *v)
{
        (void)data;
        v->s = "me";
}

static void get_count(void *data, PropertyValue *v)
{
        v->u = *(unsigned *)data;
}

static const Property props[] = {
        { "Name", DBUS_TYPE_STRING, get_name },
        { "Count", DBUS_TYPE_UINT32, get_count },
};
static const PropertyTable table = { "a.B", props, ARRAY_SIZE(props) };

static int run_prop(int (*fn)(const PropertyTable *, void *, Call *), DBusMessage *m, void *data,
                    DBusMessage **reply)
{
        Call c = { .msg = m, .reply = dbus_message_new_method_return(m) };
        int r = fn(&table, data, &c);

        *reply = c.reply;
        free(c.error_text);
        return r;
}

static DBusMessage *get_call(const char *method, const char *iface, const char *name)
{
        DBusMessage *m = dbus_message_new_method_call("x.y", "/o", "org.freedesktop.DBus.Properties",
                                                      method);

        dbus_message_set_serial(m, 7);
        if (name)
                dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name,
                                         DBUS_TYPE_INVALID);
        else
                dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID);
        return m;
}

static void test_properties(void)
{
        unsigned count = 5;
        DBusMessage *m, *reply;
        DBusMessageIter it, v, dict;
        dbus_uint32_t got = 0;
        int n = 0;

        m = get_call("Get", "a.B", "Count");
        ok(run_prop(properties_get, m, &count, &reply) == 0, "Get of a known property");
        dbus_message_iter_init(reply, &it);
        dbus_message_iter_recurse(&it, &v);
        dbus_message_iter_get_basic(&v, &got);
        ok(got == 5, "reads its getter live (%u)", got);
        dbus_message_unref(reply);
        dbus_message_unref(m);

        m = get_call("Get", "a.B", "Nope");
        ok(run_prop(properties_get, m, &count, &reply) == BUS_E_UNKNOWN_PROPERTY, "unknown property");
        dbus_message_unref(reply);
        dbus_message_unref(m);
        m = get_call("Get", "z.Z", "Count");
        ok(run_prop(properties_get, m, &count, &reply) == BUS_E_UNKNOWN_INTERFACE, "unknown interface");
        dbus_message_unref(reply);
        dbus_message_unref(m);

        m = get_call("GetAll", "", NULL);
        ok(run_prop(properties_get_all, m, &count, &reply) == 0, "GetAll of the empty interface");
        dbus_message_iter_init(reply, &it);
        dbus_message_iter_recurse(&it, &dict);
        while (dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY) {
                n++;
                dbus_message_iter_next(&dict);
        }
        ok(n == 2, "lists every property of the table (%d)", n);
        dbus_message_unref(reply);
        dbus_message_unref(m);

        m = dbus_message_new_method_call("x.y", "/o", "org.freedesktop.DBus.Properties", "Set");
        dbus_message_set_serial(m, 8);
        {
                const char *i = "a.B", *p = "Name";
                DBusMessageIter a, var;
                const char *val = "x";

                dbus_message_iter_init_append(m, &a);
                dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, &i);
                dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, &p);
                dbus_message_iter_open_container(&a, DBUS_TYPE_VARIANT, "s", &var);
                dbus_message_iter_append_basic(&var, DBUS_TYPE_STRING, &val);
                dbus_message_iter_close_container(&a, &var);
        }
        ok(run_prop(properties_set, m, &count, &reply) == BUS_E_PROPERTY_READ_ONLY, "Set: read-only");
        dbus_message_unref(reply);
        dbus_message_unref(m);
}

/* ---- caller check ---- */

static char asked[8][32];
static int n_asked;
static DBusMessage *delivered[8];
static bool verdicts[8];
static int n_delivered;

static int fake_lookup(void *data, const char *sender)
{
        (void)data;
        snprintf(asked[n_asked++], sizeof(asked[0]), "%s", sender);
        return 0;
}

static void fake_deliver(void *data, DBusMessage *m, bool allowed)
{
        (void)data;
        delivered[n_delivered] = dbus_message_ref(m);
        verdicts[n_delivered++] = allowed;
}

static DBusMessage *from(const char *sender, dbus_uint32_t serial)
{
        DBusMessage *m = dbus_message_new_method_call("x.y", "/o", "a.B", "M");

        dbus_message_set_sender(m, sender);
        dbus_message_set_serial(m, serial);
        return m;
}

static void test_caller_check(void)
{
        const CallerCheckOps ops = { .lookup = fake_lookup, .deliver = fake_deliver };
        uid_t allow[] = { 1234 };
        CallerCheck *cc;
        DBusMessage *m[4];

        ok(caller_check_new(&cc, &ops, 1000, allow, 1) == 0, "caller check made");
        for (int i = 0; i < 3; i++)
                m[i] = from(":1.7", (dbus_uint32_t)(i + 1));
        ok(caller_check_message(cc, m[0], true) == CALLER_HELD, "a new sender's call is held");
        ok(caller_check_message(cc, m[1], false) == CALLER_HELD,
           "and so is its next message, even one that needs no check (order)");
        ok(caller_check_message(cc, m[2], true) == CALLER_HELD, "and the one after");
        ok(n_asked == 1 && strcmp(asked[0], ":1.7") == 0, "the bus is asked once");
        ok(n_delivered == 0, "nothing goes on before the answer (no timeout denies)");
        caller_check_answer(cc, ":1.7", CALLER_LOOKUP_OK, 1000);
        ok(n_delivered == 3 && verdicts[0] && verdicts[2] &&
           dbus_message_get_serial(delivered[0]) == 1 && dbus_message_get_serial(delivered[2]) == 3,
           "the answer releases them in order, allowed");
        m[3] = from(":1.7", 9);
        ok(caller_check_message(cc, m[3], true) == CALLER_ALLOWED, "the verdict is kept");
        dbus_message_unref(m[3]);

        m[3] = from(":1.8", 10);
        ok(caller_check_message(cc, m[3], true) == CALLER_HELD, "another sender is asked about");
        caller_check_answer(cc, ":1.8", CALLER_LOOKUP_OK, 65534);
        ok(n_delivered == 4 && !verdicts[3], "a stranger's uid: denied");
        dbus_message_unref(m[3]);
        m[3] = from(":1.8", 11);
        ok(caller_check_message(cc, m[3], false) == CALLER_ALLOWED,
           "a denied sender may still read properties");
        ok(caller_check_message(cc, m[3], true) == CALLER_DENIED, "but not call methods");
        dbus_message_unref(m[3]);

        m[3] = from(":1.9", 12);
        caller_check_message(cc, m[3], true);
        caller_check_answer(cc, ":1.9", CALLER_LOOKUP_OK, 1234);
        ok(n_delivered == 5 && verdicts[4], "allow_uids are allowed");
        dbus_message_unref(m[3]);

        m[3] = from(":1.10", 13);
        caller_check_message(cc, m[3], true);
        caller_check_answer(cc, ":1.10", CALLER_LOOKUP_GONE, 0);
        ok(n_delivered == 5 && caller_check_size(cc) == 3, "a sender that left: its messages dropped");
        dbus_message_unref(m[3]);
        caller_check_forget(cc, ":1.7");
        ok(caller_check_size(cc) == 2, "forgotten when it leaves the bus");

        caller_check_prefetch(cc, ":1.20");
        ok(n_asked == 5 && strcmp(asked[4], ":1.20") == 0, "a new name on the bus is asked about at once");
        caller_check_answer(cc, ":1.20", CALLER_LOOKUP_OK, 1000);
        m[3] = from(":1.20", 14);
        ok(caller_check_message(cc, m[3], true) == CALLER_ALLOWED,
           "so its first call goes on without waiting");
        dbus_message_unref(m[3]);
        caller_check_prefetch(cc, ":1.20");
        ok(n_asked == 5, "and is not asked about twice");

        for (int i = 0; i < 3; i++)
                dbus_message_unref(m[i]);
        for (int i = 0; i < n_delivered; i++)
                dbus_message_unref(delivered[i]);
        caller_check_free(cc);
}

/* ---- deadlines ---- */

static void test_deadlines(void)
{
        Deadlines d = { .grace = 2 };
        uint64_t id = 0;

        ok(deadlines_next(&d) == UINT64_MAX, "nothing due at first");
        deadlines_started(&d, 3, 1000000, 0.5);
        ok(deadlines_next(&d) == 1500000, "a timeout is due at start + timeout");
        ok(deadlines_check(&d, 1400000, true, &id) == DEADLINE_NONE, "not before");
        ok(deadlines_check(&d, 1500000, true, &id) == DEADLINE_INTERRUPT && id == 3,
           "then: interrupt that execution");
        ok(deadlines_check(&d, 1600000, true, &id) == DEADLINE_NONE, "once");
        deadlines_started(&d, 4, 2000000, 0);
        ok(deadlines_next(&d) == UINT64_MAX, "timeout 0 is never");
        deadlines_started(&d, 5, 2000000, 1);
        deadlines_finished(&d, 5);
        ok(deadlines_next(&d) == UINT64_MAX, "a finished execution's timeout goes");

        ok(deadlines_shutdown(&d, 10000000), "shutdown begins");
        ok(!deadlines_shutdown(&d, 10000001), "once");
        ok(deadlines_next(&d) == 12000000, "grace is due after shutdown_grace");
        ok(deadlines_check(&d, 12000000, true, &id) == DEADLINE_EXIT,
           "an execution that ignores its interrupt: exit when grace ends");
        d = (Deadlines){ .grace = 0.5 };
        deadlines_shutdown(&d, 0);
        ok(deadlines_check(&d, 500000, false, &id) == DEADLINE_NONE && d.grace_final &&
           deadlines_next(&d) == 1500000,
           "nothing runs: finalization gets as long again, at least 1 s");
        ok(deadlines_check(&d, 1500000, false, &id) == DEADLINE_EXIT, "then exit anyway");

        d = (Deadlines){ .grace = 5 };
        deadlines_interrupted(&d, 0, 0, false);
        ok(deadlines_next(&d) == UINT64_MAX, "no untaken interrupt: nothing to send again");
        deadlines_interrupted(&d, 7, 1000000, false);
        ok(deadlines_next(&d) == 1010000, "an untaken interrupt is due again after 10 ms");
        ok(deadlines_check(&d, 1010000, true, &id) == DEADLINE_REINTERRUPT && id == 7,
           "then: send it again");
        ok(deadlines_check(&d, 1010000, true, &id) == DEADLINE_NONE, "once per due time");
        deadlines_interrupted(&d, 7, 1010000, true);
        ok(deadlines_next(&d) == 1030000, "each retry waits twice as long");
        for (int i = 0; i < 20; i++)
                deadlines_interrupted(&d, 7, 2000000, true);
        ok(deadlines_next(&d) == 3000000, "at most 1 s apart");
        deadlines_interrupted(&d, 8, 4000000, false);
        ok(deadlines_next(&d) == 4010000, "a new interrupt starts at 10 ms again");
        deadlines_finished(&d, 8);
        ok(deadlines_next(&d) == UINT64_MAX, "a finished execution's retry goes");
}

/* ---- executor ---- */

typedef struct Fake {
        void (*fn)(void *);
        void *arg;
        int posted, interrupts, started;
        Execution *finished[8];
        int n_finished;
} Fake;

static int f_post(void *data, void (*fn)(void *), void *arg)
{
        Fake *f = data;

        f->fn = fn;
        f->arg = arg;
        f->posted++;
        return 0;
}

static void f_run(void *data, Execution *e)
{
        (void)data;
        e->success = true;
}

static void f_interrupt(void *data)
{
        ((Fake *)data)->interrupts++;
}

static void f_started(void *data, Execution *e)
{
        (void)e;
        ((Fake *)data)->started++;
}

static void f_finished(void *data, Execution *e)
{
        Fake *f = data;

        f->finished[f->n_finished++] = e;
}

static Execution *code(const char *text)
{
        Execution *e;

        execution_new(&e, EXECUTION_CODE, 1000);
        execution_set_code(e, text);
        return e;
}

static void test_executor(void)
{
        Fake f = { 0 };
        const ExecutorOps ops = { &f, f_post, f_run, f_interrupt, f_started, f_finished, NULL };
        Executor *x;
        Execution *a, *b, *c, *big;

        ok(executor_new(&x, &ops, 2, 100) == 0, "executor with limit 2, 100 bytes");
        a = code("a");
        b = code("b");
        c = code("c");
        ok(executor_submit(x, a) == 0 && a->id == 1, "ids start at 1");
        ok(executor_submit(x, b) == 0 && b->id == 2 && f.posted == 2, "one post per execution");
        ok(executor_submit(x, c) == EXECUTOR_E_QUEUE_FULL, "the third waiting one is QueueFull");
        ok(executor_queue_length(x) == 2, "two wait");
        ok(executor_cancel(x, 2, EXECUTION_E_CANCELLED) && f.n_finished == 1 &&
           f.finished[0] == b && b->status == EXECUTION_E_CANCELLED,
           "Cancel takes a waiting one out and reports it finished");
        ok(!executor_cancel(x, 2, EXECUTION_E_CANCELLED), "only once");
        big = code("0123456789012345678901234567890123456789012345678901234567890123456789"
                   "0123456789012345678901234567890123456789");
        ok(executor_submit(x, big) == EXECUTOR_E_QUEUE_FULL, "past queue_bytes: QueueFull");
        execution_free(big);
        ok(!executor_interrupt(x, 0), "nothing runs: no interrupt");
        f.fn(f.arg);
        ok(f.started == 1 && f.n_finished == 2 && f.finished[1] == a && a->success,
           "the GUI thread runs the oldest");
        ok(executor_running(x) == 0, "and nothing runs after it");
        ok(executor_submit(x, c) == 0 && c->id == 3, "ids are never reused");
        executor_shutdown(x);
        ok(f.n_finished == 3 && c->status == EXECUTION_E_SHUTTING_DOWN, "shutdown refuses what waits");
        ok(executor_submit(x, code("d")) == EXECUTOR_E_SHUTTING_DOWN, "and what comes");
        for (int i = 0; i < f.n_finished; i++)
                execution_free(f.finished[i]);
        executor_free(x);
}

/* ---- Stacks' formatting ---- */

static void test_stacks_format(void)
{
        const char *dump =
                "Thread 0x00000000000000aa (most recent call first):\n"
                "  File \"/w.py\", line 4 in wait\n"
                "  File \"/w.py\", line 9 in worker\n"
                "\n"
                "Current thread 0x00000000000000bb (most recent call first):\n"
                "  <no Python frame>\n"
                "\n"
                "Thread 0x00000000000000cc (most recent call first):\n"
                "  File \"<guiloop 3>\", line 2 in spin\n"
                "  File \"<guiloop 3>\", line 3 in <module>\n";
        char *t = stacks_format(dump, 0xcc, 0xbb);

        ok(t && strncmp(t, "Thread 0xcc (GUI thread) (most recent call last):\n"
                           "  File \"<guiloop 3>\", line 3, in <module>\n"
                           "  File \"<guiloop 3>\", line 2, in spin\n", 120) == 0,
           "GUI thread first, most recent call last: %s", t ? t : "(null)");
        ok(t && strstr(t, "Thread 0xaa (most recent call last):\n  File \"/w.py\", line 9, in worker\n"),
           "then the others");
        ok(t && !strstr(t, "0xbb"), "the skipped thread is left out");
        free(t);
}

/* ---- results: who gets Output and Finished ---- */

static DBusMessage *sent[32];
static int n_sent;

static void r_send(void *data, DBusMessage *m)
{
        (void)data;
        if (n_sent < 32)
                sent[n_sent++] = m;
        else
                dbus_message_unref(m);
}

static void clear_sent(void)
{
        for (int i = 0; i < n_sent; i++)
                dbus_message_unref(sent[i]);
        n_sent = 0;
}

static int count_sent(const char *member, const char *dest)
{
        int n = 0;

        for (int i = 0; i < n_sent; i++)
                if ((!member || (dbus_message_get_member(sent[i]) &&
                                 strcmp(dbus_message_get_member(sent[i]), member) == 0)) &&
                    (!dest || strcmp(dbus_message_get_destination(sent[i]), dest) == 0))
                        n++;
        return n;
}

static DBusMessage *call_from(const char *sender, const char *member)
{
        DBusMessage *m = dbus_message_new_method_call("x.y", "/o", "org.guiloop.GuiLoop1", member);

        dbus_message_set_sender(m, sender);
        dbus_message_set_serial(m, 5);
        return m;
}

static Execution *finished_execution(uint64_t id, const char *out)
{
        Execution *e;

        execution_new(&e, EXECUTION_CODE, 1000);
        e->id = id;
        output_write(e->output, OUTPUT_STDOUT, out, strlen(out));
        e->success = true;
        e->result = strdup("'r'");
        e->stdout_text = output_finish(e->output, OUTPUT_STDOUT, NULL);
        e->stderr_text = strdup("");
        return e;
}

/* sender's Submit as execution id, started; what results_prepare() returned. */
static int submit_started(Results *r, const char *sender, bool stream, uint64_t id)
{
        DBusMessage *m = call_from(sender, "Submit");
        Job *j;
        int ret = results_prepare(r, m, ORIGIN_SUBMIT, stream, -1, &j);

        dbus_message_unref(m);
        if (ret == 0) {
                results_commit(r, j, id);
                results_started(r, id);
        }
        return ret;
}

/* The stdout argument of a Finished signal (its fourth). */
static const char *finished_stdout(DBusMessage *m)
{
        dbus_uint64_t id;
        dbus_bool_t success;
        const char *result, *out, *err;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64, &id, DBUS_TYPE_BOOLEAN, &success,
                                   DBUS_TYPE_STRING, &result, DBUS_TYPE_STRING, &out,
                                   DBUS_TYPE_STRING, &err, DBUS_TYPE_INVALID))
                return NULL;
        return out;
}

/* One Finished built for several listeners: each gets it once, whole, addressed to it. */
static void test_results_fanout(void)
{
        const ResultsOps ops = { .send = r_send };
        const char *const listeners[] = { ":1.owner", ":1.a", ":1.b" };
        Results *r;
        int whole = 0;

        results_new(&r, &ops, 2);
        results_subscribe(r, ":1.a");
        results_subscribe(r, ":1.b");
        /* stream=false: the caller gets the output in Finished, the subscribers in Output. */
        submit_started(r, ":1.owner", false, 1);
        results_finished(r, finished_execution(1, "hi\n"));
        for (size_t l = 0; l < ARRAY_SIZE(listeners); l++)
                ok(count_sent("Finished", listeners[l]) == 1, "one Finished to %s", listeners[l]);
        for (int i = 0; i < n_sent; i++) {
                const char *out;

                if (!dbus_message_is_signal(sent[i], "org.guiloop.GuiLoop1", "Finished"))
                        continue;
                out = finished_stdout(sent[i]);
                if (strcmp(dbus_message_get_destination(sent[i]), ":1.owner") == 0)
                        whole += out && strcmp(out, "hi\n") == 0;
                else
                        whole += out && strcmp(out, "") == 0;
        }
        ok(whole == 3, "the caller's Finished holds the output, the subscribers' do not (%d of 3)",
           whole);
        clear_sent();

        /* stream=true: all three get the same Finished without the output (copies and the original). */
        submit_started(r, ":1.owner", true, 2);
        results_finished(r, finished_execution(2, "yo\n"));
        whole = 0;
        for (size_t l = 0; l < ARRAY_SIZE(listeners); l++) {
                for (int i = 0; i < n_sent; i++)
                        if (dbus_message_is_signal(sent[i], "org.guiloop.GuiLoop1", "Finished") &&
                            strcmp(dbus_message_get_destination(sent[i]), listeners[l]) == 0 &&
                            finished_stdout(sent[i]) && !*finished_stdout(sent[i]))
                                whole++;
        }
        ok(whole == 3 && count_sent("Finished", NULL) == 3,
           "one Finished each, addressed to each, none twice (%d)", whole);
        clear_sent();
        results_free(r);
}

static void test_results(void)
{
        const ResultsOps ops = { .send = r_send };
        DBusMessage *m;
        Results *r;
        Job *j;

        ok(results_new(&r, &ops, 2) == 0, "results made, keep 2");
        results_subscribe(r, ":1.sub");
        ok(submit_started(r, ":1.owner", true, 1) == 0, "a Submit's job");
        results_finished(r, finished_execution(1, "hi\n"));
        ok(count_sent("Output", ":1.owner") == 1 && count_sent("Output", ":1.sub") == 1,
           "Output to the Submit caller and the subscriber, one each");
        ok(count_sent("Finished", ":1.owner") == 1 && count_sent("Finished", ":1.sub") == 1,
           "Finished to both");
        ok(count_sent(NULL, NULL) == 4, "nothing else, and no reply for a Submit");
        clear_sent();

        m = call_from(":1.sub", "Execute");
        results_prepare(r, m, ORIGIN_EXECUTE, false, -1, &j);
        dbus_message_unref(m);
        results_commit(r, j, 2);
        results_finished(r, finished_execution(2, "x\n"));
        ok(count_sent(NULL, ":1.sub") == 1 && n_sent == 1 &&
           dbus_message_get_type(sent[0]) == DBUS_MESSAGE_TYPE_METHOD_RETURN,
           "a subscribed Execute caller gets its reply only");
        clear_sent();

        m = call_from(":1.w", "Wait");
        ok(results_wait(r, 1, m) == 0 && n_sent == 1 &&
           dbus_message_get_reply_serial(sent[0]) == 5, "Wait of a kept one answers at once");
        clear_sent();
        m = call_from(":1.other", "Execute");
        results_prepare(r, m, ORIGIN_EXECUTE, false, -1, &j);
        results_commit(r, j, 3);
        results_finished(r, finished_execution(3, ""));
        clear_sent();
        ok(results_wait(r, 1, m) == BUS_E_UNKNOWN_EXECUTION && results_known(r, 2) &&
           results_known(r, 3), "past keep_results the oldest is forgotten");
        dbus_message_unref(m);

        m = call_from(":1.gone", "Execute");
        results_prepare(r, m, ORIGIN_EXECUTE, false, -1, &j);
        results_commit(r, j, 4);
        results_prepare(r, m, ORIGIN_SUBMIT, true, -1, &j);
        results_commit(r, j, 5);
        dbus_message_unref(m);
        {
                uint64_t *ids = NULL;
                size_t n = results_caller_gone(r, ":1.gone", &ids);

                ok(n == 1 && ids[0] == 4, "a caller that left: its Execute is to drop, its Submit stays");
                g_free(ids);
        }
        results_free(r);
        clear_sent();
}

/* The Output text of sent[i], or NULL when it is no Output of id. */
static const char *output_text(int i, uint64_t id)
{
        dbus_uint64_t eid = 0;
        const char *stream = NULL, *text = NULL;

        if (!dbus_message_is_signal(sent[i], "org.guiloop.GuiLoop1", "Output") ||
            !dbus_message_get_args(sent[i], NULL, DBUS_TYPE_UINT64, &eid, DBUS_TYPE_STRING,
                                   &stream, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID))
                return NULL;
        return eid == id ? text : NULL;
}

/* What a Submit caller got of one execution's stdout, as Output signals. */
typedef struct Pieces {
        int n;              /* Output signals */
        bool whole;         /* joined, they are the text */
        bool small;         /* none over RESULTS_OUTPUT_SIGNAL_MAX */
        bool lines;         /* each ends in a newline */
        bool finished_last; /* Finished came after all of them, and last */
} Pieces;

/* text[0..len) printed by a Submit: its first `early` bytes streamed while it ran, the rest at its end. */
static Pieces stream_pieces(const char *text, size_t len, size_t early)
{
        const ResultsOps ops = { .send = r_send };
        char *joined = calloc(1, len + 1);
        Pieces p = { .small = true, .lines = true };
        bool order_ok = true;
        int finished_at = -1;
        size_t got = 0;
        Execution *e;
        Results *r;

        results_new(&r, &ops, 2);
        submit_started(r, ":1.owner", true, 7);

        execution_new(&e, EXECUTION_CODE, 1 << 20);
        e->id = 7;
        output_write(e->output, OUTPUT_STDOUT, text, early);
        if (early)
                results_output(r, 7, e->output);
        output_write(e->output, OUTPUT_STDOUT, text + early, len - early);
        e->success = true;
        e->result = strdup("");
        e->stdout_text = output_finish(e->output, OUTPUT_STDOUT, NULL);
        e->stderr_text = strdup("");
        results_finished(r, e);

        for (int i = 0; i < n_sent; i++) {
                const char *piece = output_text(i, 7);
                size_t n = piece ? strlen(piece) : 0;

                if (dbus_message_is_signal(sent[i], "org.guiloop.GuiLoop1", "Finished"))
                        finished_at = i;
                if (!piece)
                        continue;
                p.n++;
                order_ok = order_ok && finished_at < 0;
                p.small = p.small && n <= RESULTS_OUTPUT_SIGNAL_MAX;
                p.lines = p.lines && n > 0 && piece[n - 1] == '\n';
                if (got + n <= len)
                        memcpy(joined + got, piece, n);
                got += n;
        }
        p.whole = got == len && memcmp(joined, text, len) == 0;
        p.finished_last = order_ok && finished_at == n_sent - 1;
        clear_sent();
        results_free(r);
        free(joined);
        return p;
}

/* A large output goes as several Output signals, each cut between two characters. */
static void test_results_pieces(void)
{
        /* 700,001 bytes: "é" (two bytes) from an odd offset, so no piece ends on a boundary by luck. */
        size_t len = 1 + 2 * 350000;
        char *text = malloc(len + 1);
        Pieces p;

        text[0] = 'a';
        for (size_t i = 1; i < len; i += 2)
                memcpy(text + i, "\xc3\xa9", 2);
        text[len] = 0;
        /* 100,001 streamed, then 600,000: two full pieces and a short one. */
        p = stream_pieces(text, len, 100001);
        ok(p.n == 4, "700 KB: one Output while it ran, three at its end (%d)", p.n);
        ok(p.small && p.whole, "no piece over %u bytes, none lost, split between characters",
           RESULTS_OUTPUT_SIGNAL_MAX);
        ok(p.finished_last, "Finished after the last piece");
        free(text);
}

/* Output of lines: each piece ends after a newline, so a client prints whole lines. */
static void test_results_pieces_lines(void)
{
        size_t len = 7000 * 100;
        char *text = malloc(len + 1);
        Pieces p;

        for (size_t i = 0; i < len; i += 100) {
                memset(text + i, 'x', 99);
                text[i + 99] = '\n';
        }
        text[len] = 0;
        p = stream_pieces(text, len, 0);
        ok(p.n == 3 && p.lines && p.small && p.whole,
           "700 KB of lines: three pieces, each ending after a newline (%d)", p.n);
        free(text);
}

int main(void)
{
        test_properties();
        test_caller_check();
        test_deadlines();
        test_executor();
        test_stacks_format();
        test_results();
        test_results_fanout();
        test_results_pieces();
        test_results_pieces_lines();
        return tap_done();
}
