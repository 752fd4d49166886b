/* SPDX-License-Identifier: MIT */
#include "bus-object.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "build-config.h"
#include "bus-caller.h"
#include "bus-deadline.h"
#include "bus-dispatch.h"
#include "bus-introspect.h"
#include "bus-names.h"
#include "bus-properties.h"
#include "bus-results.h"
#include "log.h"
#include "loopwatch.h"
#include "queue.h"
#include "ratelimit.h"
#include "signals.h"
#include "stacks.h"

/*
 * An execution's start reaches the bus thread (Busy = true) at most this long
 * after it began, or with its end: a short one costs no wake-up of the bus
 * thread.  The notice timer is armed once per interval, not per execution
 * (each timerfd_settime() cost ~11 us on the GUI thread, measured): a start
 * that finds it armed is seen when it fires, sooner than this.
 */
#define STARTED_NOTICE_USEC 1000
/* The Output signal comes at most this often per execution, with what gathered. */
#define OUTPUT_INTERVAL_USEC 50000
/*
 * Complete, Inspect, IsComplete answer within 50 ms: what the assist thread
 * has not answered by then is an empty reply.  Stacks then reads the thread
 * states without the GIL: whoever holds it is stuck in C code, which moves
 * no frame.
 */
#define ASSIST_DEADLINE_USEC 40000

typedef enum EventType {
        EVENT_STARTED,
        EVENT_FINISHED,
        EVENT_BACKGROUND,
} EventType;

typedef struct Event {
        EventType type;
        Execution *execution; /* STARTED, FINISHED */
        int stream;           /* BACKGROUND */
        char *text;           /* BACKGROUND: valid UTF-8 */
} Event;

typedef struct Pending {
        ReplyTo reply;
        AssistRequest *req;
        AssistKind kind;
        uint64_t due;
} Pending;

struct BusObject {
        BusObjectSetup s;
        int started_fd; /* timerfd: an execution has run for STARTED_NOTICE_USEC */
        int output_fd;  /* timerfd: output is waiting to be signalled */
        _Atomic uint64_t notice_due; /* GUI thread: when started_fd fires, 0: not armed */
        Queue *events;  /* Event *, from any thread */
        pthread_mutex_t python_lock; /* held while Stacks reads Python's thread states */
        bool python_gone;

        /*
         * Held by the bus thread for all it does but poll(), and by the thread
         * that finishes an execution (the GUI thread) while it sends the
         * reply: every libdbus call and everything below happens under it,
         * so messages leave in the order they were made (Output before the
         * reply and Finished, a Submit's reply before its Finished).
         * Recursive: the bus thread finishes what it cancels.
         */
        pthread_mutex_t lock;
        CallerCheck *callers;
        Deadlines deadlines;
        bool busy_signalled;
        bool finishing;    /* bus_object_finished handles the events */
        bool busy_pending; /* a start seen then: Busy goes after the reply */
        bool busy_pulse;   /* Busy went true and false unseen: the bus thread says so */
        uint64_t execution_count;
        Results *results;
        Execution *running_execution; /* its Output is read while it runs */
        Output *background;           /* execution 0's output, NULL: none */
        GQueue pending;          /* Pending *: assist answers due */
        RateLimit gone_log;
};

static const PropertyTable property_table;
static void process_events(BusObject *o);

/* ---- sending ---- */

static void send(BusObject *o, DBusMessage *m)
{
        if (!m)
                return;
        if (!dbus_connection_send(o->s.conn, m, NULL))
                log_err("out of memory sending a message");
        dbus_message_unref(m);
}

static void send_reply_error(BusObject *o, const ReplyTo *r, int code, const char *text)
{
        if (!r->no_reply)
                send(o, reply_to_error(r, code, text));
}

/* ---- events from the executor ---- */

static void signal_busy(BusObject *o, bool busy)
{
        static const Property busy_property = { "Busy", DBUS_TYPE_BOOLEAN, NULL };
        PropertyValue v = { .b = busy };

        if (o->busy_signalled == busy)
                return;
        o->busy_signalled = busy;
        /* The value the event says, not the one at sending time. */
        send(o, properties_changed(&property_table, GUILOOP_OBJECT_PATH, &busy_property, &v));
}

static void execution_started(BusObject *o, Execution *e)
{
        double timeout = results_started(o->results, e->id);

        o->running_execution = e;
        deadlines_started(&o->deadlines, e->id, e->started_usec,
                          timeout >= 0 ? timeout : o->s.config->timeout);
        /* Seen with its end: the reply first, Busy's true and false later. */
        if (o->finishing)
                o->busy_pending = true;
        else
                signal_busy(o, true);
}

static void execution_finished(BusObject *o, Execution *e)
{
        bool was_running = o->running_execution == e;

        if (was_running) {
                o->running_execution = NULL;
                deadlines_finished(&o->deadlines, e->id);
        }
        if (e->started_usec) {
                o->execution_count++;
                log_debug("execution %" PRIu64 " finished in %.3f ms (waited %.3f ms, back in %.3f ms): %s",
                          e->id, (double)(e->finished_usec - e->started_usec) / 1000.0,
                          (double)(e->started_usec - e->queued_usec) / 1000.0,
                          (double)(now_usec() - e->finished_usec) / 1000.0,
                          e->status ? "refused" : e->success ? "ok" : "raised");
        }
        /* The reply and Finished first; Busy is false already. */
        results_finished(o->results, e);
        if (o->busy_pending) {
                /*
                 * Not from here, where the two signals cost the next call
                 * ~30 us (measured): the bus thread sends them when the
                 * started-notice timer, armed before this started, fires
                 * (at most STARTED_NOTICE_USEC later), the executions of
                 * that interval as one true/false pair.
                 */
                o->busy_pending = false;
                o->busy_pulse = true;
                return;
        }
        if (was_running)
                signal_busy(o, false);
}

/* Bus thread: the Busy changes of executions too short to be seen starting. */
static void send_busy_pulse(BusObject *o)
{
        if (!o->busy_pulse)
                return;
        o->busy_pulse = false;
        if (!o->busy_signalled) {
                signal_busy(o, true);
                signal_busy(o, false);
        }
}

static void push_event(BusObject *o, EventType type, Execution *e)
{
        Event *ev = calloc(1, sizeof(*ev));

        if (ev) {
                ev->type = type;
                ev->execution = e;
        }
        if (!ev || queue_push(o->events, ev) < 0) {
                /* Cannot happen short of memory; losing the reply would be worse. */
                log_err("out of memory passing execution %" PRIu64 " back", e->id);
                abort();
        }
}

static void arm_timer(int fd, uint64_t usec)
{
        struct itimerspec when = {
                .it_value = { .tv_sec = (time_t)(usec / 1000000u),
                              .tv_nsec = (long)(usec % 1000000u) * 1000 },
        };

        timerfd_settime(fd, 0, &when, NULL);
}

void bus_object_started(BusObject *o, Execution *e)
{
        uint64_t due = atomic_load(&o->notice_due);

        /*
         * No wake-up now: the timer brings it if the execution lasts.  One
         * that is armed already fires after this push (due > now), so the
         * bus thread sees this start then; else arm it.  Never disarmed: a
         * timer that finds nothing to notice costs the bus thread one
         * wake-up, at most one per STARTED_NOTICE_USEC of executions.
         */
        push_event(o, EVENT_STARTED, e);
        if (e->started_usec >= due) {
                atomic_store(&o->notice_due, e->started_usec + STARTED_NOTICE_USEC);
                arm_timer(o->started_fd, STARTED_NOTICE_USEC);
        }
}

void bus_object_lock(BusObject *o)
{
        pthread_mutex_lock(&o->lock);
}

void bus_object_unlock(BusObject *o)
{
        pthread_mutex_unlock(&o->lock);
}

/*
 * Any thread, mostly the GUI thread as e ends: the reply, the last Output
 * and Finished leave from here, with no hop through the bus thread (that hop
 * was a third of an Execute's round trip).  Under the lock, after what the
 * bus thread had not handled yet (e's start, background output), in order.
 */
void bus_object_finished(BusObject *o, Execution *e)
{
        uint64_t due_before, one = 1;
        bool noticed;

        pthread_mutex_lock(&o->lock);
        due_before = bus_object_next_due(o);
        /* Busy was signalled (and a deadline set) by the bus thread: it hears of the end. */
        noticed = o->running_execution == e;
        push_event(o, EVENT_FINISHED, e);
        o->finishing = true;
        process_events(o);
        o->finishing = false;
        if (noticed || bus_object_next_due(o) != due_before)
                (void)!write(o->s.wake_fd, &one, sizeof(one));
        pthread_mutex_unlock(&o->lock);
}

void bus_object_background_output(BusObject *o, int stream, const char *text, size_t len)
{
        Event *ev = calloc(1, sizeof(*ev));
        uint64_t one = 1;

        if (!ev || !(ev->text = text_escape(text, len))) {
                free(ev);
                return; /* background output is best effort: it is in the log too */
        }
        ev->type = EVENT_BACKGROUND;
        ev->stream = stream == OUTPUT_STDERR ? OUTPUT_STDERR : OUTPUT_STDOUT;
        if (queue_push(o->events, ev) < 0) {
                free(ev->text);
                free(ev);
                return;
        }
        (void)!write(o->s.wake_fd, &one, sizeof(one));
}

static void process_events(BusObject *o)
{
        Event *ev;

        while ((ev = queue_pop(o->events))) {
                if (ev->type == EVENT_STARTED)
                        execution_started(o, ev->execution);
                else if (ev->type == EVENT_FINISHED)
                        execution_finished(o, ev->execution);
                else
                        /* No execution: its Submit caller is nobody, subscribers get it. */
                        results_background(o->results, ev->stream, ev->text);
                free(ev->text);
                free(ev);
        }
}

/* From the thread that printed: signal what gathers over the next interval. */
static void output_pending(void *data)
{
        BusObject *o = data;

        arm_timer(o->output_fd, OUTPUT_INTERVAL_USEC);
}

void bus_object_set_background(BusObject *o, Output *bg)
{
        if (o->background)
                output_set_notify(o->background, NULL, NULL);
        o->background = bg;
        if (bg)
                output_set_notify(bg, output_pending, o);
}

/* What the background gathered since the last signal, to subscribers. */
static void send_background(BusObject *o)
{
        char *texts[OUTPUT_N_STREAMS];

        if (!o->background || !output_take(o->background, texts))
                return;
        for (int i = 0; i < OUTPUT_N_STREAMS; i++) {
                if (texts[i])
                        results_background(o->results, i, texts[i]);
                free(texts[i]);
        }
}

/* ---- interrupts ---- */

/* After any interrupt: until Python's handler takes it, it is sent again. */
static void watch_interrupt(BusObject *o)
{
        deadlines_interrupted(&o->deadlines, executor_interrupt_untaken(o->s.executor),
                              now_usec(), false);
}

static bool interrupt(BusObject *o, uint64_t id)
{
        bool interrupted = executor_interrupt(o->s.executor, id);

        if (interrupted)
                watch_interrupt(o);
        return interrupted;
}

/*
 * The stacks read without the GIL (Stacks when the assist thread could not
 * get it, the forced exit); "" once Python is being finalized, when the
 * thread states go away.
 */
static char *stacks_without_gil(BusObject *o)
{
        char *dump;

        pthread_mutex_lock(&o->python_lock);
        dump = o->python_gone ? strdup("") :
               stacks_dump(o->s.gui_thread, o->s.assist ? assist_thread_id(o->s.assist) : 0);
        pthread_mutex_unlock(&o->python_lock);
        return dump;
}

/* ---- shutdown ---- */

static void begin_shutdown(BusObject *o, const char *why)
{
        if (!deadlines_shutdown(&o->deadlines, now_usec()))
                return;
        log_info("shutting down (%s)", why);
        executor_shutdown(o->s.executor);
        watch_interrupt(o);
        o->s.services.quit(o->s.services.data);
}

static void release_name(BusObject *o)
{
        DBusError error = DBUS_ERROR_INIT;

        if (dbus_connection_get_is_connected(o->s.conn)) {
                dbus_bus_release_name(o->s.conn, o->s.name, &error);
                dbus_error_free(&error);
                dbus_connection_flush(o->s.conn);
        }
}

/* shutdown_grace ran out and the GUI thread is still not back: stop anyway. */
static void __attribute__((noreturn)) force_exit(BusObject *o)
{
        process_events(o);
        if (o->running_execution) {
                _cleanup_(freep) char *dump = NULL;

                log_warning("execution %" PRIu64 " still runs %g s after shutdown began; "
                            "exiting without finalizing Python", o->running_execution->id,
                            o->s.config->shutdown_grace);
                /* Where it is stuck: what Stacks would have answered. */
                dump = stacks_without_gil(o);
                /* One log line per line of the dump, as faulthandler writes it. */
                for (char *line = dump, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        if (*line)
                                log_warning("%s", line);
                }
                results_abandon(o->results, o->running_execution->id,
                                "guiloopd stopped before the execution finished");
        } else {
                log_warning("Python's finalization (atexit handlers, threads) did not end in time; "
                            "exiting anyway");
        }
        release_name(o);
        _exit(0);
}

static void check_deadlines(BusObject *o, bool stopping)
{
        uint64_t now = now_usec(), id = 0;
        DeadlineAction a;

        while ((a = deadlines_check(&o->deadlines, now, o->running_execution != NULL, &id)) !=
               DEADLINE_NONE) {
                if (a == DEADLINE_INTERRUPT) {
                        if (interrupt(o, id))
                                log_warning("execution %" PRIu64 " ran past its timeout: interrupted",
                                            id);
                } else if (a == DEADLINE_REINTERRUPT) {
                        if (executor_interrupt_again(o->s.executor, id))
                                deadlines_interrupted(&o->deadlines, id, now, true);
                } else if (!stopping) {
                        force_exit(o);
                }
        }
}

static void handle_signals(BusObject *o)
{
        unsigned sigs = signals_take();

        if (sigs & SIGNALS_TERM)
                begin_shutdown(o, "SIGTERM");
        if (sigs & SIGNALS_INT) {
                /* Like IPython: Ctrl-C stops what runs, or the daemon when nothing does. */
                if (interrupt(o, 0))
                        log_info("SIGINT: interrupting the running execution");
                else
                        begin_shutdown(o, "SIGINT");
        }
}

/* ---- assist answers (Complete, Inspect, IsComplete, Stacks) ---- */

static int append_stacks(BusObject *o, DBusMessage *m, const char *read_with_gil)
{
        _cleanup_(freep) char *dump = NULL;
        _cleanup_(freep) char *text = NULL;
        const char *t;

        if (!read_with_gil)
                read_with_gil = dump = stacks_without_gil(o);
        text = read_with_gil ? text_escape(read_with_gil, strlen(read_with_gil)) : NULL;
        t = text;
        if (!t)
                return -ENOMEM;
        return dbus_message_append_args(m, DBUS_TYPE_STRING, &t, DBUS_TYPE_INVALID) ? 0 :
                                                                                     -ENOMEM;
}

static void reply_assist(BusObject *o, Pending *p, AssistRequest *r)
{
        DBusMessage *m = reply_to_return(&p->reply);
        DBusMessageIter iter, array;
        bool ok = m != NULL;

        if (!m)
                return;
        dbus_message_iter_init_append(m, &iter);
        if (p->kind == ASSIST_COMPLETE) {
                dbus_int32_t start = r ? r->start : 0, end = r ? r->end : 0;

                ok = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &array);
                for (size_t i = 0; ok && r && i < r->n_matches; i++)
                        ok = dbus_message_iter_append_basic(&array, DBUS_TYPE_STRING, &r->matches[i]);
                ok = ok && dbus_message_iter_close_container(&iter, &array) &&
                     dbus_message_iter_append_basic(&iter, DBUS_TYPE_INT32, &start) &&
                     dbus_message_iter_append_basic(&iter, DBUS_TYPE_INT32, &end);
        } else if (p->kind == ASSIST_INSPECT) {
                dbus_bool_t found = r && r->found;
                const char *text = r && r->text ? r->text : "";

                ok = dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &found, DBUS_TYPE_STRING, &text,
                                              DBUS_TYPE_INVALID);
        } else if (p->kind == ASSIST_STACKS) {
                ok = append_stacks(o, m, r ? r->text : NULL) == 0;
        } else {
                /* No answer in time: "unknown", as Jupyter's protocol has it. */
                const char *status = r && r->status ? r->status : "unknown";
                const char *indent = r && r->indent ? r->indent : "";

                ok = dbus_message_append_args(m, DBUS_TYPE_STRING, &status, DBUS_TYPE_STRING,
                                              &indent, DBUS_TYPE_INVALID);
        }
        if (!ok) {
                dbus_message_unref(m);
                return send_reply_error(o, &p->reply, -ENOMEM, "out of memory");
        }
        send(o, m);
}

static void pending_free(Pending *p)
{
        reply_to_clear(&p->reply);
        free(p);
}

static void process_assist(BusObject *o, bool drain_fd)
{
        AssistRequest *r;
        uint64_t now = now_usec(), count;

        if (drain_fd && o->s.assist_fd >= 0)
                (void)!read(o->s.assist_fd, &count, sizeof(count));
        while (o->s.assist && (r = assist_take_done(o->s.assist))) {
                Pending *p = r->tag;

                g_queue_remove(&o->pending, p);
                reply_assist(o, p, r);
                pending_free(p);
                assist_request_free(r);
        }
        for (GList *l = o->pending.head, *next; l; l = next) {
                Pending *p = l->data;

                next = l->next;
                if (p->due > now)
                        continue;
                g_queue_delete_link(&o->pending, l);
                assist_abandon(o->s.assist, p->req);
                reply_assist(o, p, NULL);
                pending_free(p);
        }
}

static int ask_assist(BusObject *o, Call *c, AssistKind kind, const char *code, int cursor)
{
        Pending *p = calloc(1, sizeof(*p));
        AssistRequest *r = NULL;
        int ret;

        if (!p)
                return -ENOMEM;
        p->kind = kind;
        ret = reply_to_init(&p->reply, c->msg);
        if (ret == 0 && o->s.assist) {
                r = assist_request_new(kind, code, cursor, p);
                ret = r ? 0 : -ENOMEM;
                if (r)
                        r->gui_thread = o->s.gui_thread;
        }
        if (ret < 0) {
                pending_free(p);
                return ret;
        }
        p->req = r;
        if (!r || assist_submit(o->s.assist, r) < 0) {
                /* No assist, or it is stuck behind the GIL with a full queue: empty, at once. */
                assist_request_free(r);
                reply_assist(o, p, NULL);
                pending_free(p);
                return BUS_DEFERRED;
        }
        p->due = now_usec() + ASSIST_DEADLINE_USEC;
        g_queue_push_tail(&o->pending, p);
        return BUS_DEFERRED;
}

/* ---- GuiLoop1 methods ---- */

static int error_from_executor(Call *c, int r)
{
        switch (r) {
        case EXECUTOR_E_QUEUE_FULL:
                return call_fail(c, BUS_E_QUEUE_FULL,
                                 "too many executions waiting (queue_limit, queue_bytes)");
        case EXECUTOR_E_SHUTTING_DOWN:
                return call_fail(c, BUS_E_SHUTTING_DOWN, "guiloopd is shutting down");
        default:
                return r < 0 ? r : call_fail(c, BUS_E_FAILED, "failed (%d)", r);
        }
}

/* Hand e to the executor with a job that says who asked; takes e either way. */
static int submit(BusObject *o, Call *c, Execution *e, Origin origin, bool stream, double timeout,
                  uint64_t *id)
{
        _cleanup_(execution_freep) Execution *owned = e;
        Job *j = NULL;
        int r;

        r = results_prepare(o->results, c->msg, origin, stream, timeout, &j);
        if (r < 0)
                return r;
        output_set_notify(e->output, output_pending, o);
        r = executor_submit(o->s.executor, e);
        if (r != 0) {
                results_discard(j);
                return error_from_executor(c, r);
        }
        steal_pointer(&owned);
        /* The GUI thread may run it already, but its events come to this thread, later. */
        results_commit(o->results, j, e->id);
        log_debug("execution %" PRIu64 " queued (%s from %s)", e->id,
                  origin == ORIGIN_SUBMIT ? "Submit" : origin == ORIGIN_EXECUTE ? "Execute" : "RunFile",
                  dbus_message_get_sender(c->msg) ? dbus_message_get_sender(c->msg) : "?");
        if (id)
                *id = e->id;
        return 0;
}

static int new_code_execution(BusObject *o, const char *code, Execution **out)
{
        _cleanup_(execution_freep) Execution *e = NULL;
        int r = execution_new(&e, EXECUTION_CODE, o->s.config->max_output);

        if (r == 0)
                r = execution_set_code(e, code);
        if (r == 0)
                *out = steal_pointer(&e);
        return r;
}

static int on_execute(void *data, Call *c)
{
        BusObject *o = data;
        Execution *e = NULL;
        const char *code;
        int r;

        dbus_message_get_args(c->msg, NULL, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID);
        r = new_code_execution(o, code, &e);
        if (r < 0)
                return r;
        r = submit(o, c, e, ORIGIN_EXECUTE, false, -1, NULL);
        return r ? r : BUS_DEFERRED;
}

/* RunFile's and SubmitFile's execution: an absolute, readable path. */
static int new_file_execution(BusObject *o, Call *c, const char *what, const char *path,
                              char **argv, int argc, Execution **out)
{
        _cleanup_(execution_freep) Execution *e = NULL;
        int r;

        if (path[0] != '/')
                return call_fail(c, BUS_E_INVALID_ARGS, "%s: path must be absolute: %s", what,
                                 path);
        if (access(path, R_OK) < 0)
                return call_fail(c, BUS_E_FILE_NOT_FOUND, "%s: %s", path, strerror(errno));
        r = execution_new(&e, EXECUTION_FILE, o->s.config->max_output);
        if (r == 0)
                r = execution_set_file(e, path, (const char *const *)argv, (size_t)argc);
        if (r == 0)
                *out = steal_pointer(&e);
        return r;
}

static int on_run_file(void *data, Call *c)
{
        BusObject *o = data;
        Execution *e = NULL;
        char **argv = NULL;
        const char *path;
        int argc = 0, r;

        dbus_message_get_args(c->msg, NULL, DBUS_TYPE_STRING, &path, DBUS_TYPE_ARRAY,
                              DBUS_TYPE_STRING, &argv, &argc, DBUS_TYPE_INVALID);
        r = new_file_execution(o, c, "RunFile", path, argv, argc, &e);
        dbus_free_string_array(argv);
        if (r != 0)
                return r;
        r = submit(o, c, e, ORIGIN_RUN_FILE, false, -1, NULL);
        return r ? r : BUS_DEFERRED;
}

/* Submit's and SubmitFile's options (a{sv} at dict): timeout, stream. */
static int submit_options(Call *c, DBusMessageIter *dict, const char *what, dbus_bool_t *stream,
                          double *timeout)
{
        for (; dbus_message_iter_get_arg_type(dict) == DBUS_TYPE_DICT_ENTRY;
             dbus_message_iter_next(dict)) {
                DBusMessageIter entry, variant;
                const char *key;
                int type;

                dbus_message_iter_recurse(dict, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &variant);
                type = dbus_message_iter_get_arg_type(&variant);
                if (strcmp(key, "timeout") == 0 && type == DBUS_TYPE_DOUBLE) {
                        dbus_message_iter_get_basic(&variant, timeout);
                        if (!(*timeout >= 0) || *timeout > 1e9)
                                return call_fail(c, BUS_E_INVALID_ARGS,
                                                 "%s: timeout must be seconds >= 0, got %g",
                                                 what, *timeout);
                } else if (strcmp(key, "stream") == 0 && type == DBUS_TYPE_BOOLEAN) {
                        dbus_message_iter_get_basic(&variant, stream);
                } else if (strcmp(key, "timeout") == 0 || strcmp(key, "stream") == 0) {
                        return call_fail(c, BUS_E_INVALID_ARGS,
                                         "%s: option %s must be of type %s, got %c", what, key,
                                         strcmp(key, "timeout") == 0 ? "d" : "b", (char)type);
                } else {
                        return call_fail(c, BUS_E_INVALID_ARGS,
                                         "%s: unknown option %s (known: timeout, stream)", what,
                                         key);
                }
        }
        return 0;
}

/* e queued as Submit queues it; the reply is its id. */
static int submit_and_reply_id(BusObject *o, Call *c, Execution *e, dbus_bool_t stream,
                               double timeout)
{
        dbus_uint64_t id;
        uint64_t got;
        int r;

        r = submit(o, c, e, ORIGIN_SUBMIT, stream, timeout, &got);
        if (r)
                return r;
        id = got;
        return dbus_message_append_args(c->reply, DBUS_TYPE_UINT64, &id, DBUS_TYPE_INVALID) ?
                       0 : -ENOMEM;
}

static int on_submit(void *data, Call *c)
{
        BusObject *o = data;
        DBusMessageIter iter, dict;
        Execution *e = NULL;
        dbus_bool_t stream = TRUE;
        double timeout = -1;
        const char *code;
        int r;

        dbus_message_iter_init(c->msg, &iter);
        dbus_message_iter_get_basic(&iter, &code);
        dbus_message_iter_next(&iter);
        dbus_message_iter_recurse(&iter, &dict);
        r = submit_options(c, &dict, "Submit", &stream, &timeout);
        if (r != 0)
                return r;
        r = new_code_execution(o, code, &e);
        if (r < 0)
                return r;
        return submit_and_reply_id(o, c, e, stream, timeout);
}

/*
 * SubmitFile(path, argv, options): RunFile as Submit runs code -- the id at
 * once, Output and Finished to the caller, Wait.  Beyond DESIGN.md's table:
 * without it a client cannot tell RunFile's Output from another's, nor
 * Cancel it (guiloopctl run, the console's %run).
 */
static int on_submit_file(void *data, Call *c)
{
        BusObject *o = data;
        DBusMessageIter iter, array, dict;
        _cleanup_(freep) char **argv = NULL;
        Execution *e = NULL;
        dbus_bool_t stream = TRUE;
        double timeout = -1;
        const char *path;
        int argc = 0, r;

        dbus_message_iter_init(c->msg, &iter);
        dbus_message_iter_get_basic(&iter, &path);
        dbus_message_iter_next(&iter);
        argc = dbus_message_iter_get_element_count(&iter);
        argv = calloc((size_t)argc + 1, sizeof(*argv));
        if (!argv)
                return -ENOMEM;
        dbus_message_iter_recurse(&iter, &array);
        for (int i = 0; i < argc; i++, dbus_message_iter_next(&array))
                dbus_message_iter_get_basic(&array, &argv[i]); /* the message's strings */
        dbus_message_iter_next(&iter);
        dbus_message_iter_recurse(&iter, &dict);
        r = submit_options(c, &dict, "SubmitFile", &stream, &timeout);
        if (r != 0)
                return r;
        r = new_file_execution(o, c, "SubmitFile", path, argv, argc, &e);
        if (r != 0)
                return r;
        return submit_and_reply_id(o, c, e, stream, timeout);
}

static uint64_t arg_id(Call *c)
{
        dbus_uint64_t id = 0;

        dbus_message_get_args(c->msg, NULL, DBUS_TYPE_UINT64, &id, DBUS_TYPE_INVALID);
        return id;
}

static int unknown_execution(Call *c, uint64_t id)
{
        return call_fail(c, BUS_E_UNKNOWN_EXECUTION,
                         "no execution %" PRIu64 " (finished ones are kept for Wait: "
                         "execution.keep_results)", id);
}

static int on_wait(void *data, Call *c)
{
        BusObject *o = data;
        uint64_t id = arg_id(c);
        int r = results_wait(o->results, id, c->msg);

        if (r == BUS_E_UNKNOWN_EXECUTION)
                return unknown_execution(c, id);
        return r < 0 ? r : BUS_DEFERRED;
}

static int on_cancel(void *data, Call *c)
{
        BusObject *o = data;
        uint64_t id = arg_id(c);
        dbus_bool_t cancelled = FALSE;

        if (!results_known(o->results, id) && (id == 0 || id > executor_last_id(o->s.executor)))
                return unknown_execution(c, id);
        if (executor_cancel(o->s.executor, id, EXECUTION_E_CANCELLED))
                cancelled = TRUE;
        else if (interrupt(o, id))
                cancelled = TRUE;
        if (cancelled)
                log_info("execution %" PRIu64 " cancelled by %s", id,
                         dbus_message_get_sender(c->msg));
        return dbus_message_append_args(c->reply, DBUS_TYPE_BOOLEAN, &cancelled,
                                        DBUS_TYPE_INVALID) ? 0 : -ENOMEM;
}

static int on_interrupt(void *data, Call *c)
{
        BusObject *o = data;
        dbus_bool_t interrupted = interrupt(o, 0);

        if (interrupted)
                log_info("interrupt requested by %s", dbus_message_get_sender(c->msg));
        return dbus_message_append_args(c->reply, DBUS_TYPE_BOOLEAN, &interrupted,
                                        DBUS_TYPE_INVALID) ? 0 : -ENOMEM;
}

static int on_shutdown(void *data, Call *c)
{
        BusObject *o = data;
        _cleanup_(freep) char *why = NULL;
        DBusMessage *reply = steal_pointer(&c->reply);

        /* Reply first, then stop. */
        if (!dbus_message_get_no_reply(c->msg))
                send(o, reply);
        else
                dbus_message_unref(reply);
        if (asprintf(&why, "Shutdown from %s", dbus_message_get_sender(c->msg)) < 0)
                why = NULL;
        begin_shutdown(o, why ? why : "Shutdown");
        return BUS_DEFERRED;
}

static int on_subscribe(void *data, Call *c)
{
        BusObject *o = data;
        const char *sender = dbus_message_get_sender(c->msg);

        if (sender)
                log_debug("%s subscribed to every execution's output", sender);
        return sender ? results_subscribe(o->results, sender) : 0;
}

static int on_unsubscribe(void *data, Call *c)
{
        BusObject *o = data;
        const char *sender = dbus_message_get_sender(c->msg);

        if (sender)
                results_unsubscribe(o->results, sender);
        return 0;
}

static int code_cursor(Call *c, const char **code, dbus_int32_t *cursor)
{
        *cursor = -1;
        dbus_message_get_args(c->msg, NULL, DBUS_TYPE_STRING, code, DBUS_TYPE_INT32, cursor,
                              DBUS_TYPE_INVALID);
        if (*cursor < -1)
                return call_fail(c, BUS_E_INVALID_ARGS, "cursor must be >= -1, got %d", *cursor);
        return 0;
}

static int on_complete(void *data, Call *c)
{
        const char *code;
        dbus_int32_t cursor;
        int r = code_cursor(c, &code, &cursor);

        return r ? r : ask_assist(data, c, ASSIST_COMPLETE, code, cursor);
}

static int on_inspect(void *data, Call *c)
{
        const char *code;
        dbus_int32_t cursor;
        int r = code_cursor(c, &code, &cursor);

        return r ? r : ask_assist(data, c, ASSIST_INSPECT, code, cursor);
}

static int on_is_complete(void *data, Call *c)
{
        const char *code;

        dbus_message_get_args(c->msg, NULL, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID);
        return ask_assist(data, c, ASSIST_IS_COMPLETE, code, -1);
}

void bus_object_python_gone(BusObject *o)
{
        pthread_mutex_lock(&o->python_lock);
        o->python_gone = true;
        pthread_mutex_unlock(&o->python_lock);
}

static int on_stacks(void *data, Call *c)
{
        BusObject *o = data;

        if (!o->s.assist)
                return append_stacks(o, c->reply, NULL);
        return ask_assist(o, c, ASSIST_STACKS, "", -1);
}

/* ---- properties ---- */

static void get_version(void *data, PropertyValue *v)
{
        (void)data;
        v->s = GUILOOP_VERSION;
}

static void get_toolkit(void *data, PropertyValue *v)
{
        v->s = ((BusObject *)data)->s.config->toolkit;
}

static void get_tk_guest(void *data, PropertyValue *v)
{
        v->b = ((BusObject *)data)->s.config->tk_guest;
}

static void get_python_version(void *data, PropertyValue *v)
{
        v->s = ((BusObject *)data)->s.python_version;
}

static void get_busy(void *data, PropertyValue *v)
{
        v->b = executor_running(((BusObject *)data)->s.executor) != 0;
}

static void get_queue_length(void *data, PropertyValue *v)
{
        v->u = (dbus_uint32_t)executor_queue_length(((BusObject *)data)->s.executor);
}

static void get_execution_count(void *data, PropertyValue *v)
{
        v->t = ((BusObject *)data)->execution_count;
}

static void get_running(void *data, PropertyValue *v)
{
        v->t = executor_running(((BusObject *)data)->s.executor);
}

static void get_loop_blocked_ms(void *data, PropertyValue *v)
{
        (void)data;
        v->u = loopwatch_blocked_ms();
}

static const Property properties[] = {
        { "Version", DBUS_TYPE_STRING, get_version },
        { "Toolkit", DBUS_TYPE_STRING, get_toolkit },
        { "TkGuest", DBUS_TYPE_BOOLEAN, get_tk_guest },
        { "PythonVersion", DBUS_TYPE_STRING, get_python_version },
        { "Busy", DBUS_TYPE_BOOLEAN, get_busy },
        { "QueueLength", DBUS_TYPE_UINT32, get_queue_length },
        { "ExecutionCount", DBUS_TYPE_UINT64, get_execution_count },
        { "Running", DBUS_TYPE_UINT64, get_running },
        { "LoopBlockedMs", DBUS_TYPE_UINT32, get_loop_blocked_ms },
};

static const PropertyTable property_table = { GUILOOP_INTERFACE, properties,
                                              ARRAY_SIZE(properties) };

static int on_get(void *data, Call *c)
{
        return properties_get(&property_table, data, c);
}

static int on_get_all(void *data, Call *c)
{
        return properties_get_all(&property_table, data, c);
}

static int on_set(void *data, Call *c)
{
        return properties_set(&property_table, data, c);
}

static int on_introspect(void *data, Call *c)
{
        _cleanup_(freep) char *xml = introspect_object();
        const char *x = xml;

        (void)data;
        if (!xml)
                return -ENOMEM;
        return dbus_message_append_args(c->reply, DBUS_TYPE_STRING, &x, DBUS_TYPE_INVALID) ?
                       0 : -ENOMEM;
}

#define CHECK METHOD_CHECK_CALLER
static const Method methods[] = {
        { GUILOOP_INTERFACE, "Execute", "s", on_execute, CHECK },
        { GUILOOP_INTERFACE, "RunFile", "sas", on_run_file, CHECK },
        { GUILOOP_INTERFACE, "Interrupt", "", on_interrupt, CHECK },
        { GUILOOP_INTERFACE, "Shutdown", "", on_shutdown, CHECK },
        { GUILOOP_INTERFACE, "Submit", "sa{sv}", on_submit, CHECK },
        { GUILOOP_INTERFACE, "SubmitFile", "sasa{sv}", on_submit_file, CHECK },
        { GUILOOP_INTERFACE, "Wait", "t", on_wait, CHECK },
        { GUILOOP_INTERFACE, "Cancel", "t", on_cancel, CHECK },
        { GUILOOP_INTERFACE, "Subscribe", "", on_subscribe, CHECK },
        { GUILOOP_INTERFACE, "Unsubscribe", "", on_unsubscribe, CHECK },
        { GUILOOP_INTERFACE, "IsComplete", "s", on_is_complete, CHECK },
        { GUILOOP_INTERFACE, "Complete", "si", on_complete, CHECK },
        { GUILOOP_INTERFACE, "Inspect", "si", on_inspect, CHECK },
        { GUILOOP_INTERFACE, "Stacks", "", on_stacks, CHECK },
        { PROPERTIES_INTERFACE, "Get", "ss", on_get, 0 },
        { PROPERTIES_INTERFACE, "GetAll", "s", on_get_all, 0 },
        { PROPERTIES_INTERFACE, "Set", "ssv", on_set, CHECK },
        { INTROSPECTABLE_INTERFACE, "Introspect", "", on_introspect, 0 },
};
#undef CHECK

/* ---- messages in ---- */

static bool needs_check(DBusMessage *m)
{
        _cleanup_(freep) char *text = NULL;
        const Method *me;
        int code;

        me = dispatch_find(methods, ARRAY_SIZE(methods), m, &code, &text);
        /* An unknown method is answered as such only to allowed callers. */
        return !me || (me->flags & METHOD_CHECK_CALLER);
}

static void handle_call(BusObject *o, DBusMessage *m)
{
        send(o, dispatch_call(methods, ARRAY_SIZE(methods), o, m));
}

static void deny(BusObject *o, DBusMessage *m)
{
        send(o, dispatch_error(m, BUS_E_ACCESS_DENIED,
                               "only the daemon's own Unix user and allow_uids may call guiloopd"));
}

static void deliver(void *data, DBusMessage *m, bool allowed)
{
        BusObject *o = data;

        if (allowed || !needs_check(m))
                handle_call(o, m);
        else
                deny(o, m);
}

static DBusHandlerResult on_object_message(DBusConnection *conn, DBusMessage *m, void *data)
{
        BusObject *o = data;

        (void)conn;
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        switch (caller_check_message(o->callers, m, needs_check(m))) {
        case CALLER_ALLOWED:
                handle_call(o, m);
                break;
        case CALLER_DENIED:
                deny(o, m);
                break;
        default:
                break; /* held: deliver() gets it */
        }
        return DBUS_HANDLER_RESULT_HANDLED;
}

/* The path's ancestors, so that busctl tree and gdbus introspect find the object. */
static DBusHandlerResult on_fallback_message(DBusConnection *conn, DBusMessage *m, void *data)
{
        BusObject *o = data;
        _cleanup_(freep) char *xml = NULL;
        _cleanup_(freep) char *path = NULL;
        DBusMessage *reply;

        (void)conn;
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (dbus_message_is_method_call(m, INTROSPECTABLE_INTERFACE, "Introspect"))
                xml = introspect_ancestor(GUILOOP_OBJECT_PATH, dbus_message_get_path(m));
        if (!xml) {
                path = utf8_text(dbus_message_get_path(m), 200);
                path = path ? path : strdup("?");
                if (path && asprintf(&xml, "no object %s", path) < 0)
                        xml = NULL;
                send(o, dispatch_error(m, BUS_E_UNKNOWN_OBJECT, xml ? xml : "no such object"));
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        reply = dbus_message_get_no_reply(m) ? NULL : dbus_message_new_method_return(m);
        if (reply && !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
                dbus_message_unref(reply);
                reply = NULL;
        }
        send(o, reply);
        return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- callers that leave ---- */

static void caller_gone(BusObject *o, const char *name)
{
        _cleanup_(freep) uint64_t *ids = NULL;
        unsigned dropped = 0, suppressed = 0;
        size_t n;

        caller_check_forget(o->callers, name);
        n = results_caller_gone(o->results, name, &ids);
        for (size_t i = 0; i < n; i++)
                if (executor_cancel(o->s.executor, ids[i], EXECUTION_E_CALLER_GONE))
                        dropped++;
        if (dropped && ratelimit_test(&o->gone_log, now_usec(), &suppressed))
                log_info("dropped %u queued execution%s of %s, which left the bus%s", dropped,
                         dropped == 1 ? "" : "s", name,
                         suppressed ? " (and of others, not logged)" : "");
}

static DBusHandlerResult on_filter(DBusConnection *conn, DBusMessage *m, void *data)
{
        BusObject *o = data;
        const char *name, *old_owner, *new_owner;

        (void)conn;
        if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                log_err("lost the connection to the session bus");
                o->s.services.lost(o->s.services.data);
                begin_shutdown(o, "the session bus is gone");
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
            dbus_message_has_sender(m, DBUS_SERVICE_DBUS) &&
            dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                  DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
            name[0] == ':') {
                if (!*new_owner)
                        caller_gone(o, name);
                else if (!*old_owner && strcmp(name, dbus_bus_get_unique_name(o->s.conn)) != 0)
                        /* A new connection: its uid is known before its first call. */
                        caller_check_prefetch(o->callers, name);
        }
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

/* ---- the caller check's question to the bus ---- */

static void uid_answered(DBusPendingCall *pending, void *data)
{
        BusObject *o = *(BusObject **)data;
        const char *sender = (const char *)data + sizeof(BusObject *);
        DBusMessage *reply = dbus_pending_call_steal_reply(pending);
        dbus_uint32_t uid = 0;
        int result = CALLER_LOOKUP_FAILED;

        if (reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
                if (dbus_message_is_error(reply, DBUS_ERROR_NAME_HAS_NO_OWNER))
                        result = CALLER_LOOKUP_GONE;
        } else if (reply && dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT32, &uid,
                                                  DBUS_TYPE_INVALID)) {
                result = CALLER_LOOKUP_OK;
        }
        if (reply)
                dbus_message_unref(reply);
        caller_check_answer(o->callers, sender, result, uid);
}

static int lookup_uid(void *data, const char *sender)
{
        BusObject *o = data;
        DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                      DBUS_INTERFACE_DBUS, "GetConnectionUnixUser");
        DBusPendingCall *pending = NULL;
        size_t len = strlen(sender);
        char *tag;

        if (!m)
                return -ENOMEM;
        tag = malloc(sizeof(BusObject *) + len + 1);
        if (!tag || !dbus_message_append_args(m, DBUS_TYPE_STRING, &sender, DBUS_TYPE_INVALID) ||
            /* Never a timeout: a slow bus delays the caller, it does not deny it. */
            !dbus_connection_send_with_reply(o->s.conn, m, &pending, DBUS_TIMEOUT_INFINITE) ||
            !pending) {
                free(tag);
                dbus_message_unref(m);
                return -ENOMEM;
        }
        dbus_message_unref(m);
        memcpy(tag, &o, sizeof(o));
        memcpy(tag + sizeof(o), sender, len + 1);
        if (!dbus_pending_call_set_notify(pending, uid_answered, tag, free)) {
                free(tag);
                dbus_pending_call_cancel(pending);
                dbus_pending_call_unref(pending);
                return -ENOMEM;
        }
        dbus_pending_call_unref(pending);
        return 0;
}

/* ---- the loop ---- */

size_t bus_object_poll_fds(BusObject *o, struct pollfd *fds)
{
        size_t n = 0;

        fds[n++] = (struct pollfd){ .fd = o->started_fd, .events = POLLIN };
        fds[n++] = (struct pollfd){ .fd = o->output_fd, .events = POLLIN };
        fds[n++] = (struct pollfd){ .fd = o->s.assist_fd, .events = POLLIN };
        return n;
}

void bus_object_process(BusObject *o, const struct pollfd *fds, bool stopping)
{
        uint64_t count;

        if (fds[0].revents & POLLIN)
                (void)!read(o->started_fd, &count, sizeof(count));
        handle_signals(o);
        process_events(o);
        send_busy_pulse(o);
        if (fds[1].revents & POLLIN) {
                (void)!read(o->output_fd, &count, sizeof(count));
                if (o->running_execution)
                        results_output(o->results, o->running_execution->id,
                                       o->running_execution->output);
                send_background(o);
        }
        process_assist(o, fds[2].revents & POLLIN);
        check_deadlines(o, stopping);
}

uint64_t bus_object_next_due(BusObject *o)
{
        uint64_t due = deadlines_next(&o->deadlines);

        for (GList *l = o->pending.head; l; l = l->next) {
                Pending *p = l->data;

                if (p->due < due)
                        due = p->due;
        }
        return due;
}

static const DBusObjectPathVTable object_vtable = { .message_function = on_object_message };
static const DBusObjectPathVTable fallback_vtable = { .message_function = on_fallback_message };

static void results_send(void *data, DBusMessage *m)
{
        send(data, m);
}

int bus_object_new(BusObject **out, const BusObjectSetup *setup)
{
        _cleanup_(bus_object_freep) BusObject *o = calloc(1, sizeof(*o));
        const CallerCheckOps caller_ops = { .lookup = lookup_uid, .deliver = deliver };
        CallerCheckOps ops = caller_ops;
        int r;

        if (!o)
                return -ENOMEM;
        o->s = *setup;
        o->started_fd = -1;
        o->output_fd = -1;
        o->deadlines.grace = setup->config->shutdown_grace;
        o->gone_log = (RateLimit)RATELIMIT_INIT(10 * 1000000u, 5);
        pthread_mutex_init(&o->python_lock, NULL);
        {
                pthread_mutexattr_t attr;

                pthread_mutexattr_init(&attr);
                pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
                pthread_mutex_init(&o->lock, &attr);
                pthread_mutexattr_destroy(&attr);
        }
        g_queue_init(&o->pending);
        {
                const ResultsOps rops = { .data = o, .send = results_send };

                r = results_new(&o->results, &rops, setup->config->keep_results);
                if (r < 0)
                        return r;
        }
        r = queue_new(&o->events, 0);
        if (r < 0)
                return r;
        o->started_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        o->output_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (o->started_fd < 0 || o->output_fd < 0)
                return -errno;
        ops.data = o;
        r = caller_check_new(&o->callers, &ops, getuid(), setup->config->allow_uids,
                             setup->config->n_allow_uids);
        if (r < 0)
                return r;
        if (!dbus_connection_register_object_path(o->s.conn, GUILOOP_OBJECT_PATH, &object_vtable, o) ||
            !dbus_connection_register_fallback(o->s.conn, "/", &fallback_vtable, o) ||
            !dbus_connection_add_filter(o->s.conn, on_filter, o, NULL))
                return -ENOMEM;
        /* Callers that leave: their queued Executes are dropped, their verdicts forgotten. */
        dbus_bus_add_match(o->s.conn,
                           "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='"
                           DBUS_INTERFACE_DBUS "',member='NameOwnerChanged'", NULL);
        *out = steal_pointer(&o);
        return 0;
}

BusObject *bus_object_free(BusObject *o)
{
        Event *ev;
        Pending *p;

        if (!o)
                return NULL;
        bus_object_set_background(o, NULL);
        if (o->s.conn) {
                dbus_connection_remove_filter(o->s.conn, on_filter, o);
                dbus_connection_unregister_object_path(o->s.conn, GUILOOP_OBJECT_PATH);
                dbus_connection_unregister_object_path(o->s.conn, "/");
        }
        if (o->events) {
                while ((ev = queue_pop(o->events))) {
                        if (ev->type == EVENT_FINISHED)
                                execution_free(ev->execution);
                        free(ev->text);
                        free(ev);
                }
                queue_free(o->events);
        }
        while ((p = g_queue_pop_head(&o->pending))) {
                if (o->s.assist)
                        assist_abandon(o->s.assist, p->req);
                pending_free(p);
        }
        o->results = results_free(o->results);
        caller_check_free(o->callers);
        if (o->started_fd >= 0)
                close(o->started_fd);
        if (o->output_fd >= 0)
                close(o->output_fd);
        pthread_mutex_destroy(&o->python_lock);
        pthread_mutex_destroy(&o->lock);
        free(o);
        return NULL;
}
