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

static DBusMessage *new_execute(const char *code)
{
        DBusMessage *m = dbus_message_new_method_call(NAME, PATH, IFACE, "Execute");

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code,
                                            DBUS_TYPE_INVALID))
                die("out of memory", NULL);
        return m;
}

static int rtt(int n, int warmup)
{
        DBusConnection *c = connect_bus();
        DBusMessage *exec = new_execute("pass");
        DBusMessage *ping = dbus_message_new_method_call(NAME, "/",
                        "org.freedesktop.DBus.Peer", "Ping");
        uint64_t *e = calloc((size_t)n, sizeof(*e));
        uint64_t *p = calloc((size_t)n, sizeof(*p));

        if (!ping || !e || !p)
                die("out of memory", NULL);
        for (int i = -warmup; i < n; i++) {
                DBusMessage *m, *r;
                uint64_t t0, t1, t2, t3;
                dbus_bool_t ok = FALSE;

                /* A message can be sent once; copies keep the cost equal. */
                m = dbus_message_copy(exec);
                t0 = now_ns();
                r = call(c, m, "Execute");
                t1 = now_ns();
                dbus_message_get_args(r, NULL, DBUS_TYPE_BOOLEAN, &ok,
                                      DBUS_TYPE_INVALID);
                if (!ok) {
                        fprintf(stderr, "rtt: Execute('pass') failed\n");
                        return 1;
                }
                dbus_message_unref(r);
                dbus_message_unref(m);

                m = dbus_message_copy(ping);
                t2 = now_ns();
                r = call(c, m, "Ping");
                t3 = now_ns();
                dbus_message_unref(r);
                dbus_message_unref(m);
                if (i >= 0) {
                        e[i] = t1 - t0;
                        p[i] = t3 - t2;
                }
        }
        for (int i = 0; i < n; i++)
                printf("execute %.3f\nping %.3f\n", e[i] / 1e3, p[i] / 1e3);
        dbus_connection_close(c);
        dbus_connection_unref(c);
        return 0;
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

int main(int argc, char **argv)
{
        if (!dbus_threads_init_default())
                die("dbus_threads_init_default", NULL);
        if (argc == 5 && strcmp(argv[2], "rtt") == 0) {
                address = argv[1];
                return rtt(atoi(argv[3]), atoi(argv[4]));
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
        fprintf(stderr, "usage: rtt ADDRESS rtt N WARMUP\n"
                        "       rtt ADDRESS interrupt RUNS CODE\n"
                        "       rtt ADDRESS echo-serve\n"
                        "       rtt ADDRESS big N CODE BYTES\n");
        return 1;
}
