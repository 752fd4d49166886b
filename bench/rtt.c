/* Round-trip and interrupt-latency client for bench/run, on plain libdbus.
 *
 * bench/run compiles it at run time (cc rtt.c $(pkg-config --cflags --libs
 * dbus-1) -lpthread) so the figures do not include python3-dbus's overhead.
 *
 *   rtt ADDRESS rtt N WARMUP
 *       N interleaved pairs of Execute('pass') and Peer.Ping to the daemon,
 *       on one connection, after WARMUP pairs; prints "execute US" and
 *       "ping US" lines, one per call.
 *   rtt ADDRESS interrupt RUNS CODE
 *       RUNS times: Execute(CODE) on a second connection in a thread, wait
 *       until Busy is true, send Interrupt(); prints "interrupt US" per run,
 *       the time from sending Interrupt() to receiving the Execute reply.
 *   rtt ADDRESS echo-serve
 *       The floor for big replies: owns org.guiloop.BenchEcho and answers
 *       Big(u n) with a string of n bytes; prints "ready" once it owns the
 *       name, runs until killed.
 *   rtt ADDRESS big N CODE BYTES
 *       N interleaved pairs of Execute(CODE) to the daemon and Big(BYTES) to
 *       the echo service; prints "execute US" and "echo US" lines.
 *   rtt ADDRESS big-submit N CODE BYTES STREAM
 *       The same with Submit(CODE, {stream: STREAM}) (0 or 1), timed from
 *       sending it to receiving its Finished signal, after every Output signal
 *       of it; checks that at least BYTES of stdout came (in Output signals or
 *       in Finished); prints "submit US" and "echo US" lines.
 *   rtt ADDRESS rtt2 N WARMUP NAME_A NAME_B
 *       As rtt, against two daemons at once (bus names NAME_A and NAME_B),
 *       their calls interleaved so that both see the same machine; prints
 *       "execute_a", "ping_a", "execute_b" and "ping_b" lines.
 *
 * Exit 0, or 1 with a message on stderr.
 */
#include <dbus/dbus.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME "org.guiloop.GuiLoop1"
#define PATH "/org/guiloop/GuiLoop1"
#define IFACE "org.guiloop.GuiLoop1"

static const char *address;

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, DBusError *err)
{
        fprintf(stderr, "rtt: %s: %s\n", what,
                err && dbus_error_is_set(err) ? err->message : "failed");
        exit(1);
}

static DBusConnection *connect_bus(void)
{
        DBusError err;
        DBusConnection *c;

        dbus_error_init(&err);
        c = dbus_connection_open_private(address, &err);
        if (!c)
                die("connect", &err);
        dbus_connection_set_exit_on_disconnect(c, FALSE);
        if (!dbus_bus_register(c, &err))
                die("Hello", &err);
        return c;
}

/* Sends msg, waits for the reply; returns it (an error reply is fatal). */
static DBusMessage *call(DBusConnection *c, DBusMessage *msg, const char *what)
{
        DBusError err;
        DBusMessage *reply;

        dbus_error_init(&err);
        reply = dbus_connection_send_with_reply_and_block(c, msg, -1, &err);
        if (!reply)
                die(what, &err);
        return reply;
}

static DBusMessage *new_execute_to(const char *name, const char *code)
{
        DBusMessage *m = dbus_message_new_method_call(name, PATH, IFACE, "Execute");

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code,
                                            DBUS_TYPE_INVALID))
                die("out of memory", NULL);
        return m;
}

static DBusMessage *new_execute(const char *code)
{
        return new_execute_to(NAME, code);
}

/* One Execute('pass') (a copy of exec) or Ping; its round trip in ns. */
static uint64_t timed_call(DBusConnection *c, DBusMessage *msg, int check)
{
        DBusMessage *m = dbus_message_copy(msg), *r;
        dbus_bool_t ok = FALSE;
        uint64_t t0, t1;

        t0 = now_ns();
        r = call(c, m, check ? "Execute" : "Ping");
        t1 = now_ns();
        if (check) {
                dbus_message_get_args(r, NULL, DBUS_TYPE_BOOLEAN, &ok, DBUS_TYPE_INVALID);
                if (!ok) {
                        fprintf(stderr, "rtt: Execute('pass') failed\n");
                        exit(1);
                }
        }
        dbus_message_unref(r);
        dbus_message_unref(m);
        return t1 - t0;
}

static int rtt2(int n, int warmup, const char *name_a, const char *name_b)
{
        DBusConnection *c = connect_bus();
        const char *names[2] = { name_a, name_b };
        DBusMessage *exec[2], *ping[2];
        uint64_t *t[4];

        for (int k = 0; k < 2; k++) {
                exec[k] = new_execute_to(names[k], "pass");
                ping[k] = dbus_message_new_method_call(names[k], "/", "org.freedesktop.DBus.Peer",
                                                       "Ping");
                if (!ping[k])
                        die("out of memory", NULL);
        }
        for (int k = 0; k < 4; k++)
                if (!(t[k] = calloc((size_t)n, sizeof(uint64_t))))
                        die("out of memory", NULL);
        for (int i = -warmup; i < n; i++) {
                /* Each goes first every other time: neither gains from the order. */
                for (int j = 0; j < 2; j++) {
                        int k = (i & 1) ^ j;
                        uint64_t e = timed_call(c, exec[k], 1), p = timed_call(c, ping[k], 0);

                        if (i >= 0) {
                                t[2 * k][i] = e;
                                t[2 * k + 1][i] = p;
                        }
                }
        }
        for (int i = 0; i < n; i++)
                printf("execute_a %.3f\nping_a %.3f\nexecute_b %.3f\nping_b %.3f\n", t[0][i] / 1e3,
                       t[1][i] / 1e3, t[2][i] / 1e3, t[3][i] / 1e3);
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return 0;
}

/*
 * n pairs of what(c, arg) then Peer.Ping on one connection, after warmup
 * pairs; prints "name US" and "ping US" lines.
 */
static int against_ping(int n, int warmup, const char *name,
                        uint64_t (*what)(DBusConnection *c, void *arg), void *arg)
{
        DBusConnection *c = connect_bus();
        DBusMessage *ping = dbus_message_new_method_call(NAME, "/",
                        "org.freedesktop.DBus.Peer", "Ping");
        uint64_t *w = calloc((size_t)n, sizeof(*w));
        uint64_t *p = calloc((size_t)n, sizeof(*p));

        if (!ping || !w || !p)
                die("out of memory", NULL);
        for (int i = -warmup; i < n; i++) {
                uint64_t tw = what(c, arg), tp = timed_call(c, ping, 0);

                if (i >= 0) {
                        w[i] = tw;
                        p[i] = tp;
                }
        }
        for (int i = 0; i < n; i++)
                printf("%s %.3f\nping %.3f\n", name, w[i] / 1e3, p[i] / 1e3);
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return 0;
}

static uint64_t execute_pass(DBusConnection *c, void *exec)
{
        return timed_call(c, exec, 1);
}

static int rtt(int n, int warmup)
{
        DBusMessage *exec = new_execute("pass");

        return against_ping(n, warmup, "execute", execute_pass, exec);
}

struct runner {
        const char *code;
        uint64_t replied;
        int success;
};

static void *run_execute(void *data)
{
        struct runner *r = data;
        DBusConnection *c = connect_bus();
        DBusMessage *m = new_execute(r->code), *reply;
        dbus_bool_t ok = TRUE;

        reply = call(c, m, "Execute");
        r->replied = now_ns();
        dbus_message_get_args(reply, NULL, DBUS_TYPE_BOOLEAN, &ok,
                              DBUS_TYPE_INVALID);
        r->success = ok;
        dbus_message_unref(reply);
        dbus_message_unref(m);
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return NULL;
}

static int busy(DBusConnection *c)
{
        const char *iface = IFACE, *prop = "Busy";
        DBusMessage *m = dbus_message_new_method_call(NAME, PATH,
                        "org.freedesktop.DBus.Properties", "Get");
        DBusMessage *r;
        DBusMessageIter it, v;
        dbus_bool_t b = FALSE;

        dbus_message_append_args(m, DBUS_TYPE_STRING, &iface,
                                 DBUS_TYPE_STRING, &prop, DBUS_TYPE_INVALID);
        r = call(c, m, "Get Busy");
        if (dbus_message_iter_init(r, &it) &&
            dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_VARIANT) {
                dbus_message_iter_recurse(&it, &v);
                if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_BOOLEAN)
                        dbus_message_iter_get_basic(&v, &b);
        }
        dbus_message_unref(r);
        dbus_message_unref(m);
        return b;
}

static int interrupt(int runs, const char *code)
{
        DBusConnection *c = connect_bus();

        for (int i = 0; i < runs; i++) {
                struct runner r = { .code = code };
                pthread_t t;
                DBusMessage *m, *reply;
                uint64_t t0;
                struct timespec pause = { 0, 200000 };

                if (pthread_create(&t, NULL, run_execute, &r) != 0)
                        die("pthread_create", NULL);
                for (int k = 0; !busy(c); k++) {
                        if (k > 50000)
                                die("Busy never became true", NULL);
                        nanosleep(&pause, NULL);
                }
                m = dbus_message_new_method_call(NAME, PATH, IFACE, "Interrupt");
                t0 = now_ns();
                reply = call(c, m, "Interrupt");
                pthread_join(t, NULL);
                dbus_message_unref(reply);
                dbus_message_unref(m);
                if (r.success) {
                        fprintf(stderr, "rtt: the execution was not interrupted\n");
                        return 1;
                }
                printf("interrupt %.3f\n", (r.replied - t0) / 1e3);
                /* Let Busy fall back before the next run. */
                for (int k = 0; busy(c); k++) {
                        if (k > 50000)
                                die("Busy stayed true", NULL);
                        nanosleep(&pause, NULL);
                }
        }
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return 0;
}

#define ECHO_NAME "org.guiloop.BenchEcho"
#define ECHO_PATH "/org/guiloop/BenchEcho"
#define ECHO_IFACE "org.guiloop.BenchEcho"

static DBusHandlerResult echo_filter(DBusConnection *c, DBusMessage *m, void *data)
{
        dbus_uint32_t n = 0;
        DBusMessage *reply;
        char *text;

        (void)data;
        if (!dbus_message_is_method_call(m, ECHO_IFACE, "Big"))
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        dbus_message_get_args(m, NULL, DBUS_TYPE_UINT32, &n, DBUS_TYPE_INVALID);
        text = malloc((size_t)n + 1);
        if (!text)
                die("out of memory", NULL);
        memset(text, 'x', n);
        text[n] = 0;
        reply = dbus_message_new_method_return(m);
        dbus_message_append_args(reply, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
        dbus_connection_send(c, reply, NULL);
        dbus_message_unref(reply);
        free(text);
        return DBUS_HANDLER_RESULT_HANDLED;
}

static int echo_serve(void)
{
        DBusConnection *c = connect_bus();
        DBusError err;

        dbus_error_init(&err);
        if (dbus_bus_request_name(c, ECHO_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err) !=
            DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
                die("RequestName " ECHO_NAME, &err);
        dbus_connection_add_filter(c, echo_filter, NULL, NULL);
        printf("ready\n");
        fflush(stdout);
        while (dbus_connection_read_write_dispatch(c, -1))
                ;
        return 0;
}

static int big(int n, const char *code, dbus_uint32_t bytes)
{
        DBusConnection *c = connect_bus();
        DBusMessage *exec = new_execute(code);
        DBusMessage *echo = dbus_message_new_method_call(ECHO_NAME, ECHO_PATH, ECHO_IFACE, "Big");

        if (!echo || !dbus_message_append_args(echo, DBUS_TYPE_UINT32, &bytes, DBUS_TYPE_INVALID))
                die("out of memory", NULL);
        for (int i = -2; i < n; i++) {
                DBusMessage *m, *r;
                uint64_t t0, t1, t2, t3;

                m = dbus_message_copy(exec);
                t0 = now_ns();
                r = call(c, m, "Execute");
                t1 = now_ns();
                dbus_message_unref(r);
                dbus_message_unref(m);
                m = dbus_message_copy(echo);
                t2 = now_ns();
                r = call(c, m, "Big");
                t3 = now_ns();
                dbus_message_unref(r);
                dbus_message_unref(m);
                if (i >= 0)
                        printf("execute %.3f\necho %.3f\n", (t1 - t0) / 1e3, (t3 - t2) / 1e3);
        }
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return 0;
}

/* Bytes of stdout in an Output or Finished signal of execution id; -1: not one of them. */
static long signal_stdout(DBusMessage *m, dbus_uint64_t id, int *finished)
{
        dbus_uint64_t eid = 0;
        dbus_bool_t success = FALSE;
        const char *stream = NULL, *text = NULL, *result = NULL, *err = NULL;

        if (dbus_message_is_signal(m, IFACE, "Output") &&
            dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64, &eid, DBUS_TYPE_STRING, &stream,
                                  DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID) && eid == id)
                return strcmp(stream, "stdout") == 0 ? (long)strlen(text) : 0;
        if (dbus_message_is_signal(m, IFACE, "Finished") &&
            dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64, &eid, DBUS_TYPE_BOOLEAN, &success,
                                  DBUS_TYPE_STRING, &result, DBUS_TYPE_STRING, &text,
                                  DBUS_TYPE_STRING, &err, DBUS_TYPE_INVALID) && eid == id) {
                if (!success) {
                        fprintf(stderr, "rtt: the submitted code failed: %s\n", err);
                        exit(1);
                }
                *finished = 1;
                return (long)strlen(text);
        }
        return -1;
}

/* Submit(code, {stream}) and every signal of it up to Finished; the time in ns. */
static uint64_t submit_finished(DBusConnection *c, const char *code, dbus_bool_t stream,
                                unsigned long bytes)
{
        DBusMessage *m = dbus_message_new_method_call(NAME, PATH, IFACE, "Submit"), *r;
        DBusMessageIter it, dict, entry, variant;
        const char *key = "stream";
        dbus_uint64_t id = 0;
        unsigned long got = 0;
        int finished = 0;
        uint64_t t0;

        dbus_message_iter_init_append(m, &it);
        if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &code) ||
            !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict) ||
            !dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
            !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) ||
            !dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "b", &variant) ||
            !dbus_message_iter_append_basic(&variant, DBUS_TYPE_BOOLEAN, &stream) ||
            !dbus_message_iter_close_container(&entry, &variant) ||
            !dbus_message_iter_close_container(&dict, &entry) ||
            !dbus_message_iter_close_container(&it, &dict))
                die("out of memory", NULL);
        t0 = now_ns();
        r = call(c, m, "Submit");
        dbus_message_get_args(r, NULL, DBUS_TYPE_UINT64, &id, DBUS_TYPE_INVALID);
        dbus_message_unref(r);
        dbus_message_unref(m);
        /* Signals that came before the reply wait in the queue: none is lost. */
        while (!finished) {
                long n;

                m = dbus_connection_pop_message(c);
                if (!m) {
                        if (!dbus_connection_read_write(c, -1))
                                die("the bus went away", NULL);
                        continue;
                }
                n = signal_stdout(m, id, &finished);
                if (n > 0)
                        got += (unsigned long)n;
                dbus_message_unref(m);
        }
        t0 = now_ns() - t0;
        if (got < bytes) {
                fprintf(stderr, "rtt: only %lu of %lu bytes of stdout came\n", got, bytes);
                exit(1);
        }
        return t0;
}

static int big_submit(int n, const char *code, dbus_uint32_t bytes, dbus_bool_t stream)
{
        DBusConnection *c = connect_bus();
        DBusMessage *echo = dbus_message_new_method_call(ECHO_NAME, ECHO_PATH, ECHO_IFACE, "Big");

        if (!echo || !dbus_message_append_args(echo, DBUS_TYPE_UINT32, &bytes, DBUS_TYPE_INVALID))
                die("out of memory", NULL);
        for (int i = -2; i < n; i++) {
                uint64_t ts = submit_finished(c, code, stream, bytes), te;
                DBusMessage *m = dbus_message_copy(echo), *r;

                te = now_ns();
                r = call(c, m, "Big");
                te = now_ns() - te;
                dbus_message_unref(r);
                dbus_message_unref(m);
                if (i >= 0)
                        printf("submit %.3f\necho %.3f\n", ts / 1e3, te / 1e3);
        }
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return 0;
}

static uint64_t submit_pass(DBusConnection *c, void *unused)
{
        (void)unused;
        return submit_finished(c, "pass", TRUE, 0);
}

/* Submit('pass') to its Finished, then Ping, interleaved, after a warm-up. */
static int submit_rtt(int n, int warmup)
{
        return against_ping(n, warmup, "submit", submit_pass, NULL);
}

int main(int argc, char **argv)
{
        if (!dbus_threads_init_default())
                die("dbus_threads_init_default", NULL);
        if (argc == 5 && strcmp(argv[2], "rtt") == 0) {
                address = argv[1];
                return rtt(atoi(argv[3]), atoi(argv[4]));
        }
        if (argc == 5 && strcmp(argv[2], "submit") == 0) {
                address = argv[1];
                return submit_rtt(atoi(argv[3]), atoi(argv[4]));
        }
        if (argc == 5 && strcmp(argv[2], "interrupt") == 0) {
                address = argv[1];
                return interrupt(atoi(argv[3]), argv[4]);
        }
        if (argc == 3 && strcmp(argv[2], "echo-serve") == 0) {
                address = argv[1];
                return echo_serve();
        }
        if (argc == 6 && strcmp(argv[2], "big") == 0) {
                address = argv[1];
                return big(atoi(argv[3]), argv[4], (dbus_uint32_t)strtoul(argv[5], NULL, 10));
        }
        if (argc == 7 && strcmp(argv[2], "big-submit") == 0) {
                address = argv[1];
                return big_submit(atoi(argv[3]), argv[4], (dbus_uint32_t)strtoul(argv[5], NULL, 10),
                                  atoi(argv[6]) != 0);
        }
        if (argc == 7 && strcmp(argv[2], "rtt2") == 0) {
                address = argv[1];
                return rtt2(atoi(argv[3]), atoi(argv[4]), argv[5], argv[6]);
        }
        fprintf(stderr, "usage: rtt ADDRESS rtt N WARMUP\n"
                        "       rtt ADDRESS submit N WARMUP\n"
                        "       rtt ADDRESS rtt2 N WARMUP NAME_A NAME_B\n"
                        "       rtt ADDRESS big-submit N CODE BYTES STREAM\n"
                        "       rtt ADDRESS interrupt RUNS CODE\n"
                        "       rtt ADDRESS echo-serve\n"
                        "       rtt ADDRESS big N CODE BYTES\n");
        return 1;
}
