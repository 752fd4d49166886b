/* SPDX-License-Identifier: MIT */
/* guiloopctl: the human client of guiloopd. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "build-config.h"
#include "bus-call.h"

/* Exit codes: see the help text and guiloopctl(1). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* the code raised */
        EXIT_USAGE = 2,       /* bad command line or input */
        EXIT_BUS = 3,         /* no daemon, no bus, or a D-Bus error */
        EXIT_GAVE_UP = 130,   /* a third Ctrl-C: stopped waiting */
};

/* A third Ctrl-C stops waiting; the first two each send Interrupt(). */
#define INTERRUPTS_BEFORE_GIVING_UP 2

static const char *instance;

static void help(FILE *f)
{
        fputs("Usage: guiloopctl [OPTION]... COMMAND [ARG]...\n"
              "Run Python code in guiloopd, the daemon that owns a GUI toolkit's loop.\n"
              "\n"
              "Commands:\n"
              "  exec CODE           execute CODE in the interactive namespace; '-' reads\n"
              "                      the code from standard input\n"
              "  run FILE [ARG]...   run FILE as __main__ with sys.argv = [FILE, ARG...],\n"
              "                      like IPython's %run (a relative FILE is taken from the\n"
              "                      current directory)\n"
              "  interrupt           raise KeyboardInterrupt in the running execution\n"
              "  shutdown            stop the daemon and wait until it has left the bus\n"
              "  status              print every property of the daemon, 'Name: value'\n"
              "\n"
              "Options:\n"
              "  -i, --instance NAME  talk to org.guiloop.GuiLoop1.NAME (guiloopd --instance)\n"
              "  -h, --help           print this help and exit\n"
              "      --version        print the version and exit\n"
              "\n"
              "exec and run print the code's standard output on stdout and its standard\n"
              "error on stderr, as they are, then the value of a trailing expression (its\n"
              "repr()) on stdout, like a REPL.  They wait as long as the code runs.  Ctrl-C\n"
              "while waiting sends Interrupt to the daemon and keeps waiting for the\n"
              "traceback; a second Ctrl-C sends it again; a third stops waiting.\n"
              "\n"
              "exec, run and status start the daemon through D-Bus activation when none\n"
              "runs; interrupt and shutdown never start one.  The session bus is\n"
              "$DBUS_SESSION_BUS_ADDRESS.\n"
              "\n"
              "Exit status:\n"
              "  0    success\n"
              "  1    the code raised an exception (SystemExit and KeyboardInterrupt too)\n"
              "  2    bad command line or input\n"
              "  3    the daemon could not be reached or answered with a D-Bus error\n"
              "       (printed as 'guiloopctl: ERROR.NAME: message')\n"
              "  130  a third Ctrl-C: guiloopctl stopped waiting, the code may still run\n",
              f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("guiloopctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'guiloopctl --help'.\n", stderr);
        return EXIT_USAGE;
}

/* One line on stderr for an error the bus or the daemon answered. */
static int bus_error(Client *c, const char *what, const DBusError *e)
{
        const char *name = c ? client_name(c) : GUILOOP_BUS_NAME;

        if (dbus_error_has_name(e, DBUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "guiloopctl: no guiloopd is running as %s\n", name);
                return EXIT_BUS;
        }
        fputs("guiloopctl: ", stderr);
        if (what)
                fprintf(stderr, "%s: ", what);
        fprintf(stderr, "%s: ", e->name);
        for (const char *p = e->message ? e->message : ""; *p; p++)
                fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
        if (instance && dbus_error_has_name(e, DBUS_ERROR_SERVICE_UNKNOWN))
                fprintf(stderr, " (start it with 'guiloopd --instance %s')", instance);
        fputc('\n', stderr);
        return EXIT_BUS;
}

static int fatal(int r)
{
        fprintf(stderr, "guiloopctl: %s\n", strerror(-r));
        return EXIT_BUS;
}

static bool valid_instance(const char *s)
{
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
                return false;
        for (s++; *s; s++)
                if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                      (*s >= '0' && *s <= '9') || *s == '_'))
                        return false;
        return true;
}

/* D-Bus strings are UTF-8 without NUL; libdbus aborts on anything else. */
static int check_text(const char *what, const char *s, size_t len)
{
        if (memchr(s, '\0', len))
                return usage_error("%s contains a NUL byte", what);
        if (!dbus_validate_utf8(s, NULL))
                return usage_error("%s is not valid UTF-8", what);
        return 0;
}

static int read_stdin(char **out)
{
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, size = 0;

        for (;;) {
                size_t n;

                if (size - len < 4096) {
                        char *p;

                        size = size ? 2 * size : 65536;
                        p = realloc(buf, size);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                n = fread(buf + len, 1, size - len - 1, stdin);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(stdin))
                return -errno ?: -EIO;
        buf[len] = '\0';
        if (check_text("standard input", buf, len))
                return EXIT_USAGE;
        *out = steal_pointer(&buf);
        return 0;
}

static int connect_daemon(Client **out)
{
        _cleanup_(freep) char *name = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        if (asprintf(&name, "%s%s%s", GUILOOP_BUS_NAME, instance ? "." : "",
                     instance ?: "") < 0)
                return fatal(-ENOMEM);
        r = client_new(out, name, &e);
        if (r == CLIENT_E_DBUS) {
                r = bus_error(NULL, "cannot connect to the session bus", &e);
                dbus_error_free(&e);
                return r;
        }
        if (r < 0)
                return fatal(r);
        return 0;
}

/* Ctrl-C while an execution is awaited. */
typedef struct Waiting {
        int sigfd;
        unsigned interrupts;
} Waiting;

static int on_sigint(Client *c, void *userdata)
{
        Waiting *w = userdata;
        struct signalfd_siginfo si;
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;

        while (read(w->sigfd, &si, sizeof(si)) == sizeof(si)) {
                if (++w->interrupts > INTERRUPTS_BEFORE_GIVING_UP) {
                        fputs("guiloopctl: stopped waiting; the code may still run in the daemon\n",
                              stderr);
                        return CLIENT_E_STOPPED;
                }
        }
        /* Nobody waits for this reply: the execution's own reply says the rest. */
        m = client_method(c, GUILOOP_INTERFACE, "Interrupt", false);
        if (!m)
                return -ENOMEM;
        dbus_message_set_no_reply(m, TRUE);
        return client_send(c, m);
}

/* SIGINT blocked and readable from a signalfd, polled beside the bus. */
static int setup_sigint(void)
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

static void write_out(FILE *f, const char *s)
{
        fputs(s, f);
        fflush(f);
}

/* Execute or RunFile: wait with Ctrl-C forwarded, print like a REPL. */
static int call_execution(Client *c, DBusMessage *m, bool has_result)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(closep) int sigfd = -1;
        DBusError e = DBUS_ERROR_INIT;
        dbus_bool_t success;
        const char *result = "", *out, *err;
        Waiting w;
        int r;

        sigfd = setup_sigint();
        if (sigfd < 0)
                return fatal(sigfd);
        w = (Waiting){ .sigfd = sigfd };

        r = client_call(c, m, sigfd, on_sigint, &w, &reply, &e);
        if (r == CLIENT_E_STOPPED)
                return EXIT_GAVE_UP;
        if (r == CLIENT_E_DBUS) {
                r = bus_error(c, NULL, &e);
                dbus_error_free(&e);
                return r;
        }
        if (r < 0)
                return fatal(r);

        if (has_result ? !dbus_message_get_args(reply, &e, DBUS_TYPE_BOOLEAN, &success,
                                                DBUS_TYPE_STRING, &result, DBUS_TYPE_STRING,
                                                &out, DBUS_TYPE_STRING, &err, DBUS_TYPE_INVALID)
                       : !dbus_message_get_args(reply, &e, DBUS_TYPE_BOOLEAN, &success,
                                                DBUS_TYPE_STRING, &out, DBUS_TYPE_STRING, &err,
                                                DBUS_TYPE_INVALID)) {
                r = bus_error(c, "unexpected reply", &e);
                dbus_error_free(&e);
                return r;
        }
        write_out(stdout, out);
        write_out(stderr, err);
        if (result[0]) {
                fputs(result, stdout);
                fputc('\n', stdout);
                fflush(stdout);
        }
        return success ? EXIT_OK : EXIT_FAILED;
}

static int cmd_exec(Client *c, char **args, int n _unused_)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;
        _cleanup_(freep) char *input = NULL;
        const char *code = args[0];
        int r;

        if (strcmp(code, "-") == 0) {
                r = read_stdin(&input);
                if (r < 0)
                        return fatal(r);
                if (r > 0)
                        return r;
                code = input;
        } else if ((r = check_text("CODE", code, strlen(code))))
                return r;

        m = client_method(c, GUILOOP_INTERFACE, "Execute", true);
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID))
                return fatal(-ENOMEM);
        return call_execution(c, m, true);
}

/* FILE as the daemon needs it: absolute, from the client's working directory. */
static int absolute_path(const char *file, char **out)
{
        _cleanup_(freep) char *cwd = NULL;

        if (file[0] == '/') {
                *out = strdup(file);
                return *out ? 0 : -ENOMEM;
        }
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return -errno;
        while (file[0] == '.' && file[1] == '/')
                for (file += 2; *file == '/'; file++)
                        ;
        if (asprintf(out, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", file) < 0)
                return -ENOMEM;
        return 0;
}

static int cmd_run(Client *c, char **args, int n)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;
        _cleanup_(freep) char *path = NULL;
        DBusMessageIter iter, array;
        int r;

        if (args[0][0] == '\0')
                return usage_error("FILE is empty");
        r = absolute_path(args[0], &path);
        if (r < 0)
                return fatal(r);
        if ((r = check_text("FILE", path, strlen(path))))
                return r;
        for (int i = 1; i < n; i++)
                if ((r = check_text("an argument", args[i], strlen(args[i]))))
                        return r;

        m = client_method(c, GUILOOP_INTERFACE, "RunFile", true);
        if (!m)
                return fatal(-ENOMEM);
        dbus_message_iter_init_append(m, &iter);
        if (!dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &path) ||
            !dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &array))
                return fatal(-ENOMEM);
        for (int i = 1; i < n; i++) {
                if (!dbus_message_iter_append_basic(&array, DBUS_TYPE_STRING, &args[i])) {
                        dbus_message_iter_abandon_container(&iter, &array);
                        return fatal(-ENOMEM);
                }
        }
        if (!dbus_message_iter_close_container(&iter, &array))
                return fatal(-ENOMEM);
        return call_execution(c, m, false);
}

/* A call that never starts a daemon and answers at once. */
static int simple_call(Client *c, const char *member, DBusMessage **reply)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        m = client_method(c, GUILOOP_INTERFACE, member, false);
        if (!m)
                return fatal(-ENOMEM);
        r = client_call_blocking(c, m, reply, &e);
        if (r == CLIENT_E_DBUS) {
                r = bus_error(c, NULL, &e);
                dbus_error_free(&e);
        }
        return r;
}

static int cmd_interrupt(Client *c, char **args _unused_, int n _unused_)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *reply = NULL;
        DBusError e = DBUS_ERROR_INIT;
        dbus_bool_t interrupted;
        int r;

        r = simple_call(c, "Interrupt", &reply);
        if (r != 0)
                return r;
        if (!dbus_message_get_args(reply, &e, DBUS_TYPE_BOOLEAN, &interrupted,
                                   DBUS_TYPE_INVALID)) {
                r = bus_error(c, "unexpected reply", &e);
                dbus_error_free(&e);
                return r;
        }
        puts(interrupted ? "interrupted" : "nothing was running");
        return EXIT_OK;
}

static int cmd_shutdown(Client *c, char **args _unused_, int n _unused_)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *reply = NULL;
        _cleanup_(freep) char *unique = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        r = simple_call(c, "Shutdown", &reply);
        if (r != 0)
                return r;
        unique = strdup(dbus_message_get_sender(reply) ?: "");
        if (!unique)
                return fatal(-ENOMEM);
        if (!unique[0])
                return EXIT_OK;
        r = client_wait_gone(c, unique, &e);
        if (r == CLIENT_E_DBUS) {
                r = bus_error(c, "waiting for the daemon to stop", &e);
                dbus_error_free(&e);
                return r;
        }
        return r < 0 ? fatal(r) : EXIT_OK;
}

static void print_value(DBusMessageIter *v)
{
        DBusBasicValue b;
        int type = dbus_message_iter_get_arg_type(v);

        if (!dbus_type_is_basic(type)) {
                char *sig = dbus_message_iter_get_signature(v);

                printf("(a value of type %s)\n", sig ? sig : "?");
                dbus_free(sig);
                return;
        }
        dbus_message_iter_get_basic(v, &b);
        switch (type) {
        case DBUS_TYPE_STRING:
        case DBUS_TYPE_OBJECT_PATH:
        case DBUS_TYPE_SIGNATURE:
                puts(b.str);
                break;
        case DBUS_TYPE_BOOLEAN:
                puts(b.bool_val ? "true" : "false");
                break;
        case DBUS_TYPE_BYTE:
                printf("%u\n", b.byt);
                break;
        case DBUS_TYPE_INT16:
                printf("%d\n", b.i16);
                break;
        case DBUS_TYPE_UINT16:
                printf("%u\n", b.u16);
                break;
        case DBUS_TYPE_INT32:
                printf("%" PRId32 "\n", b.i32);
                break;
        case DBUS_TYPE_UINT32:
                printf("%" PRIu32 "\n", b.u32);
                break;
        case DBUS_TYPE_INT64:
                printf("%" PRId64 "\n", (int64_t)b.i64);
                break;
        case DBUS_TYPE_UINT64:
                printf("%" PRIu64 "\n", (uint64_t)b.u64);
                break;
        case DBUS_TYPE_DOUBLE:
                printf("%g\n", b.dbl);
                break;
        default:
                printf("(a value of type %c)\n", type);
                break;
        }
}

static int cmd_status(Client *c, char **args _unused_, int n _unused_)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
        DBusError e = DBUS_ERROR_INIT;
        DBusMessageIter iter, dict;
        const char *iface = GUILOOP_INTERFACE;
        int r;

        m = client_method(c, DBUS_INTERFACE_PROPERTIES, "GetAll", true);
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID))
                return fatal(-ENOMEM);
        r = client_call_blocking(c, m, &reply, &e);
        if (r == CLIENT_E_DBUS) {
                r = bus_error(c, NULL, &e);
                dbus_error_free(&e);
                return r;
        }
        if (!dbus_message_has_signature(reply, "a{sv}")) {
                fprintf(stderr, "guiloopctl: unexpected reply to GetAll: signature '%s'\n",
                        dbus_message_get_signature(reply));
                return EXIT_BUS;
        }
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &dict);
        for (; dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY;
             dbus_message_iter_next(&dict)) {
                DBusMessageIter entry, value;
                const char *name;

                dbus_message_iter_recurse(&dict, &entry);
                dbus_message_iter_get_basic(&entry, &name);
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &value);
                printf("%s: ", name);
                print_value(&value);
        }
        return fflush(stdout) == 0 ? EXIT_OK : fatal(-errno);
}

typedef struct Command {
        const char *name;
        int min_args, max_args; /* -1: no limit */
        const char *args;
        int (*run)(Client *c, char **args, int n);
} Command;

static const Command commands[] = {
        { "exec", 1, 1, "CODE", cmd_exec },
        { "run", 1, -1, "FILE [ARG]...", cmd_run },
        { "interrupt", 0, 0, "", cmd_interrupt },
        { "shutdown", 0, 0, "", cmd_shutdown },
        { "status", 0, 0, "", cmd_status },
};

int main(int argc, char **argv)
{
        enum { OPT_VERSION = 0x100 };
        static const struct option options[] = {
                { "instance", required_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { NULL, 0, NULL, 0 },
        };
        _cleanup_(client_freep) Client *c = NULL;
        const Command *cmd = NULL;
        int opt, n, r;

        opterr = 0;
        /* '+': options stop at the command, so run's arguments reach the script. */
        while ((opt = getopt_long(argc, argv, "+:i:h", options, NULL)) != -1) {
                switch (opt) {
                case 'i':
                        instance = optarg;
                        break;
                case 'h':
                        help(stdout);
                        return EXIT_OK;
                case OPT_VERSION:
                        puts("guiloopctl " GUILOOP_VERSION);
                        return EXIT_OK;
                case ':':
                        return usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        if (optopt)
                                return usage_error("unknown option '-%c'", optopt);
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }
        if (instance && !valid_instance(instance))
                return usage_error("bad instance name '%s': letters, digits and '_', not "
                                   "starting with a digit",
                                   instance);
        if (optind >= argc)
                return usage_error("no command given");

        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (strcmp(argv[optind], commands[i].name) == 0)
                        cmd = &commands[i];
        if (!cmd)
                return usage_error("unknown command '%s'", argv[optind]);
        n = argc - optind - 1;
        if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args)) {
                if (cmd->args[0])
                        return usage_error("usage: guiloopctl %s %s", cmd->name, cmd->args);
                return usage_error("'%s' takes no arguments", cmd->name);
        }

        r = connect_daemon(&c);
        if (r != 0)
                return r;
        return cmd->run(c, argv + optind + 1, n);
}
