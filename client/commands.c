/* SPDX-License-Identifier: MIT */
/* guiloopctl's commands but the console: exec, run, interrupt, shutdown,
 * status, monitor, stacks. */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "ctl.h"
#include "execute.h"
#include "live.h"


int read_code(int fd, char **out)
{
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, size = 0;

        /* read(2), not stdio: on a terminal the first Ctrl-D on an empty line
         * ends the input (stdio's fread would ask for a second one). */
        for (;;) {
                ssize_t n;

                if (size - len < 4096) {
                        char *p;

                        size = size ? 2 * size : 65536;
                        p = realloc(buf, size);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                n = read(fd, buf + len, size - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        if (ctl_check_text("standard input", buf, len))
                return EXIT_USAGE;
        *out = steal_pointer(&buf);
        return 0;
}

/* exec and run: live output, then the result like a REPL. */
static int run_live(Client *c, const char *code, const char *path, char **argv, int n)
{
        _cleanup_(closep) int sigfd = -1;
        Outcome o;
        Live l;
        int r;

        sigfd = live_sigint_fd();
        if (sigfd < 0)
                return ctl_fatal(sigfd);
        live_init(&l, c);
        client_set_signal_handler(c, live_on_signal, &l);
        r = client_watch_owner(c);
        if (r < 0)
                return ctl_fatal(r);
        if (code)
                r = execute_code(&l, code, sigfd, &o);
        else
                r = execute_file(&l, path, argv, n, sigfd, &o);
        if ((r == EXIT_OK || r == EXIT_FAILED) && o.result && o.result[0]) {
                fputs(o.result, stdout);
                fputc('\n', stdout);
        }
        if (fflush(stdout) != 0 && r == EXIT_OK)
                r = ctl_fatal(-errno);
        free(o.result);
        client_set_signal_handler(c, NULL, NULL);
        live_done(&l);
        return r;
}

int cmd_exec(Client *c, char **args, int n _unused_)
{
        _cleanup_(freep) char *input = NULL;
        const char *code = args[0];
        int r;

        if (strcmp(code, "-") == 0) {
                r = read_code(STDIN_FILENO, &input);
                if (r < 0)
                        return ctl_fatal(r);
                if (r > 0)
                        return r;
                code = input;
        } else if ((r = ctl_check_text("CODE", code, strlen(code))))
                return r;
        return run_live(c, code, NULL, NULL, 0);
}

/* FILE as the daemon needs it: absolute, from the client's working directory. */
int absolute_path(const char *file, char **out)
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

int cmd_run(Client *c, char **args, int n)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        if (args[0][0] == '\0')
                return ctl_usage_error("FILE is empty");
        r = absolute_path(args[0], &path);
        if (r < 0)
                return ctl_fatal(r);
        if ((r = ctl_check_text("FILE", path, strlen(path))))
                return r;
        for (int i = 1; i < n; i++)
                if ((r = ctl_check_text("an argument", args[i], strlen(args[i]))))
                        return r;
        return run_live(c, NULL, path, args + 1, n - 1);
}

/* A call that never starts a daemon and answers at once. */
static int simple_call(Client *c, const char *member, DBusMessage **reply)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        m = client_method(c, GUILOOP_INTERFACE, member, false);
        if (!m)
                return ctl_fatal(-ENOMEM);
        r = client_call_blocking(c, m, reply, &e);
        if (r == CLIENT_E_DBUS) {
                r = ctl_bus_error(c, NULL, &e);
                dbus_error_free(&e);
        }
        return r;
}

int cmd_interrupt(Client *c, char **args _unused_, int n _unused_)
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
                r = ctl_bus_error(c, "unexpected reply", &e);
                dbus_error_free(&e);
                return r;
        }
        puts(interrupted ? "interrupted" : "nothing was running");
        return EXIT_OK;
}

int cmd_shutdown(Client *c, char **args _unused_, int n _unused_)
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
                return ctl_fatal(-ENOMEM);
        if (!unique[0])
                return EXIT_OK;
        r = client_wait_gone(c, unique, &e);
        if (r == CLIENT_E_DBUS) {
                r = ctl_bus_error(c, "waiting for the daemon to stop", &e);
                dbus_error_free(&e);
                return r;
        }
        return r < 0 ? ctl_fatal(r) : EXIT_OK;
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

int cmd_status(Client *c, char **args _unused_, int n _unused_)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
        DBusError e = DBUS_ERROR_INIT;
        DBusMessageIter iter, dict;
        const char *iface = GUILOOP_INTERFACE;
        int r;

        m = client_method(c, DBUS_INTERFACE_PROPERTIES, "GetAll", true);
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID))
                return ctl_fatal(-ENOMEM);
        r = client_call_blocking(c, m, &reply, &e);
        if (r == CLIENT_E_DBUS) {
                r = ctl_bus_error(c, NULL, &e);
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
        return fflush(stdout) == 0 ? EXIT_OK : ctl_fatal(-errno);
}


/* A method an older daemon lacks: one clear line, exit 3. */
static int unknown_method(Client *c, const char *member, DBusError *e)
{
        int r;

        if (ctl_unknown_method(e)) {
                fprintf(stderr, "guiloopctl: %s has no %s method (an older guiloopd?)\n",
                        client_name(c), member);
                r = EXIT_BUS;
        } else {
                r = ctl_bus_error(c, NULL, e);
        }
        dbus_error_free(e);
        return r;
}

int cmd_stacks(Client *c, char **args _unused_, int n _unused_)
{
        _cleanup_(freep) char *text = NULL;
        DBusError e = DBUS_ERROR_INIT;
        int r;

        r = api_stacks(c, &text, &e);
        if (r == CLIENT_E_DBUS)
                return unknown_method(c, "Stacks", &e);
        if (r < 0)
                return ctl_fatal(r);
        fputs(text, stdout);
        if (text[0] && text[strlen(text) - 1] != '\n')
                fputc('\n', stdout);
        return fflush(stdout) == 0 ? EXIT_OK : ctl_fatal(-errno);
}

/* Every Output and Finished, background included, until Ctrl-C; across
 * daemon restarts (subscribed again when one owns the name again). */
int cmd_monitor(Client *c, char **args _unused_, int n _unused_)
{
        _cleanup_(closep) int sigfd = -1;
        DBusError e = DBUS_ERROR_INIT;
        Live l;
        int r;

        sigfd = live_sigint_fd();
        if (sigfd < 0)
                return ctl_fatal(sigfd);
        live_init(&l, c);
        l.monitor = true;
        client_set_signal_handler(c, live_on_signal, &l);
        r = client_watch_owner(c);
        if (r < 0)
                return ctl_fatal(r);
        {
                _cleanup_(freep) char *sender = NULL;

                r = api_subscribe(c, &sender, &e);
                if (r == CLIENT_E_DBUS)
                        return unknown_method(c, "Subscribe", &e);
                if (r < 0)
                        return ctl_fatal(r);
                r = live_set_daemon(&l, sender);
                if (r < 0)
                        return ctl_fatal(r);
        }
        fprintf(stderr, "guiloopctl: monitoring %s; Ctrl-C to stop\n", client_name(c));

        for (;;) {
                struct pollfd p = { .fd = sigfd, .events = POLLIN };

                r = client_iterate(c, &p, 1, -1);
                if (r == -ENOTCONN) {
                        fprintf(stderr, "guiloopctl: the session bus closed the connection\n");
                        r = EXIT_BUS;
                        break;
                }
                if (r < 0) {
                        r = ctl_fatal(r);
                        break;
                }
                if (p.revents) {
                        live_sigint_count(sigfd);
                        r = EXIT_OK;
                        break;
                }
                if (l.owner_lost) {
                        l.owner_lost = false;
                        live_end_line(&l);
                        printf("[guiloopd left the bus]\n");
                        fflush(stdout);
                }
                if (l.owner_new) {
                        l.owner_new = false;
                        r = api_subscribe(c, NULL, &e);
                        live_end_line(&l);
                        if (r == 0)
                                printf("[guiloopd is back: subscribed again]\n");
                        else
                                printf("[guiloopd is back, but Subscribe failed: %s]\n",
                                       e.message ? e.message : strerror(-r));
                        dbus_error_free(&e);
                        fflush(stdout);
                }
        }
        client_set_signal_handler(c, NULL, NULL);
        live_done(&l);
        return r;
}
