/* SPDX-License-Identifier: MIT */
/* guiloopctl: the human client of guiloopd.  This file is the command line:
 * options, the command table, help; the commands are in commands.c and
 * console.c. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "commands.h"
#include "ctl.h"

static void help(FILE *f)
{
        fputs("Usage: guiloopctl [OPTION]... [COMMAND [ARG]...]\n"
              "Run Python code in guiloopd, the daemon that owns a GUI toolkit's loop.\n"
              "\n"
              "Commands:\n"
              "  console             the interactive console (IPython's prompts, history,\n"
              "                      Tab completion, NAME? help, %run); the default when\n"
              "                      standard input is a terminal\n"
              "  exec CODE           execute CODE in the interactive namespace; '-' reads\n"
              "                      the code from standard input (the default when no\n"
              "                      command is given and standard input is not a terminal)\n"
              "  run FILE [ARG]...   run FILE as __main__ with sys.argv = [FILE, ARG...],\n"
              "                      like IPython's %run (a relative FILE is taken from the\n"
              "                      current directory)\n"
              "  interrupt           raise KeyboardInterrupt in the running execution\n"
              "  shutdown            stop the daemon and wait until it has left the bus\n"
              "  status              print every property of the daemon, 'Name: value'\n"
              "  monitor             print every execution's output, background output\n"
              "                      included, prefixed '[ID STREAM] ', until Ctrl-C\n"
              "  stacks              print the stack of every Python thread in the daemon\n"
              "\n"
              "Options:\n"
              "  -i, --instance NAME  talk to org.guiloop.GuiLoop1.NAME (guiloopd --instance)\n"
              "  -h, --help           print this help and exit\n"
              "      --version        print the version and exit\n"
              "\n"
              "exec and run print the code's standard output on stdout and its standard\n"
              "error on stderr as the code prints them, then the value of a trailing\n"
              "expression (its repr()) on stdout, like a REPL.  They wait as long as the\n"
              "code runs.  Ctrl-C while waiting cancels that execution (the daemon raises\n"
              "KeyboardInterrupt in it) and keeps waiting for the traceback; a second\n"
              "Ctrl-C cancels it again; a third stops waiting.\n"
              "\n"
              "In the console, Enter runs the input once it is a complete statement, else\n"
              "opens a continuation line; Ctrl-C cancels the running input or clears the\n"
              "line; Ctrl-D on an empty line leaves (the daemon keeps running).  History:\n"
              "$XDG_STATE_HOME/guiloop/history (~/.local/state/guiloop/history).\n"
              "\n"
              "console, exec, run, status, monitor and stacks start the daemon through\n"
              "D-Bus activation when none runs; interrupt and shutdown never start one.\n"
              "The session bus is $DBUS_SESSION_BUS_ADDRESS.\n"
              "\n"
              "Exit status:\n"
              "  0    success (monitor: ended with Ctrl-C; console: left with Ctrl-D)\n"
              "  1    the code raised an exception (KeyboardInterrupt too; SystemExit\n"
              "       only with a non-zero code)\n"
              "  2    bad command line or input\n"
              "  3    the daemon could not be reached or answered with a D-Bus error\n"
              "       (printed as 'guiloopctl: ERROR.NAME: message')\n"
              "  130  a third Ctrl-C: guiloopctl stopped waiting, the code may still run\n",
              f);
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

typedef struct Command {
        const char *name;
        int min_args, max_args; /* -1: no limit */
        const char *args;
        int (*run)(Client *c, char **args, int n);
} Command;

static const Command commands[] = {
        { "console", 0, 0, "", cmd_console },
        { "exec", 1, 1, "CODE", cmd_exec },
        { "run", 1, -1, "FILE [ARG]...", cmd_run },
        { "interrupt", 0, 0, "", cmd_interrupt },
        { "shutdown", 0, 0, "", cmd_shutdown },
        { "status", 0, 0, "", cmd_status },
        { "monitor", 0, 0, "", cmd_monitor },
        { "stacks", 0, 0, "", cmd_stacks },
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
        static char *stdin_args[] = { (char *)"-", NULL };
        _cleanup_(client_freep) Client *c = NULL;
        const Command *cmd = NULL;
        char **args;
        int opt, n, r;

        opterr = 0;
        /* '+': options stop at the command, so run's arguments reach the script. */
        while ((opt = getopt_long(argc, argv, "+:i:h", options, NULL)) != -1) {
                switch (opt) {
                case 'i':
                        ctl_instance = optarg;
                        break;
                case 'h':
                        help(stdout);
                        return EXIT_OK;
                case OPT_VERSION:
                        puts("guiloopctl " GUILOOP_VERSION);
                        return EXIT_OK;
                case ':':
                        return ctl_usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        if (optopt)
                                return ctl_usage_error("unknown option '-%c'", optopt);
                        return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }
        if (ctl_instance && !valid_instance(ctl_instance))
                return ctl_usage_error("bad instance name '%s': letters, digits and '_', not "
                                       "starting with a digit",
                                       ctl_instance);

        if (optind >= argc) {
                /* No command: the console on a terminal, else stdin is the code. */
                bool tty = isatty(STDIN_FILENO);

                cmd = &commands[tty ? 0 : 1];
                args = tty ? argv + argc : stdin_args;
                n = tty ? 0 : 1;
        } else {
                for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                        if (strcmp(argv[optind], commands[i].name) == 0)
                                cmd = &commands[i];
                if (!cmd)
                        return ctl_usage_error("unknown command '%s'", argv[optind]);
                args = argv + optind + 1;
                n = argc - optind - 1;
                /* "exec -- -x", "run -- -f.py": what follows is not an option. */
                if (n > 0 && cmd->max_args != 0 && strcmp(args[0], "--") == 0) {
                        args++;
                        n--;
                }
                if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args)) {
                        if (cmd->args[0])
                                return ctl_usage_error("usage: guiloopctl %s %s", cmd->name,
                                                       cmd->args);
                        return ctl_usage_error("'%s' takes no arguments", cmd->name);
                }
        }

        r = ctl_connect(&c);
        if (r != 0)
                return r;
        return cmd->run(c, args, n);
}
