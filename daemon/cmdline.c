/* SPDX-License-Identifier: MIT */
#include "cmdline.h"

#include <getopt.h>
#include <string.h>

enum {
        OPT_CONFIG = 'c',
        OPT_HELP = 'h',
        OPT_VERBOSE = 'v',
        OPT_TOOLKIT = 't',
        OPT_TK_GUEST = 0x100,
        OPT_INSTANCE,
        OPT_PLUGIN_DIR,
        OPT_CHECK_CONFIG,
        OPT_LIST_PLUGINS,
        OPT_VERSION,
};

static const struct option options[] = {
        { "config", required_argument, NULL, OPT_CONFIG },
        { "toolkit", required_argument, NULL, OPT_TOOLKIT },
        { "tk-guest", no_argument, NULL, OPT_TK_GUEST },
        { "instance", required_argument, NULL, OPT_INSTANCE },
        { "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
        { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
        { "list-plugins", no_argument, NULL, OPT_LIST_PLUGINS },
        { "verbose", no_argument, NULL, OPT_VERBOSE },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
};

void cmdline_help(FILE *f)
{
        fputs("Usage: guiloopd [OPTION]...\n"
              "Own a GUI toolkit's event loop and run Python code inside it on request\n"
              "over D-Bus (org.guiloop.GuiLoop1 on the session bus).\n"
              "\n"
              "  -c, --config FILE     read this configuration file (it must exist); default:\n"
              "                        $XDG_CONFIG_HOME/guiloop/guiloopd.ini, then\n"
              "                        ~/.config/guiloop/guiloopd.ini, then the system one\n"
              "  -t, --toolkit NAME    gtk, gtk4, qt, qt6, wx or tk (overrides daemon.toolkit)\n"
              "      --tk-guest        run Tk beside the toolkit's loop (daemon.tk_guest)\n"
              "      --instance NAME   own org.guiloop.GuiLoop1.NAME, to run beside another\n"
              "      --plugin-dir DIR  load toolkit plugins from DIR\n"
              "      --check-config    validate the configuration, print it, and exit\n"
              "      --list-plugins    list the plugins found, and why one cannot load\n"
              "  -v, --verbose         log every execution too\n"
              "      --version         print the version and exit\n"
              "  -h, --help            print this help and exit\n"
              "\n"
              "Signals: SIGTERM shuts down; SIGINT (Ctrl-C) interrupts the running\n"
              "execution, or shuts down when none runs.\n"
              "\n"
              "Exit status: 0 clean shutdown, 64 bad command line, 69 plugin, display or\n"
              "bus unavailable, 70 internal error, 75 the bus name is owned already\n"
              "(another guiloopd runs), 78 bad configuration.\n",
              f);
}

int cmdline_parse(int argc, char **argv, Options *o, char *err, size_t errlen)
{
        int c;

        *o = (Options){ 0 };
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, ":c:t:vh", options, NULL)) != -1) {
                switch (c) {
                case OPT_CONFIG:
                        o->config = optarg;
                        break;
                case OPT_TOOLKIT:
                        o->toolkit = optarg;
                        break;
                case OPT_TK_GUEST:
                        o->tk_guest = true;
                        break;
                case OPT_INSTANCE:
                        o->instance = optarg;
                        break;
                case OPT_PLUGIN_DIR:
                        o->plugin_dir = optarg;
                        break;
                case OPT_CHECK_CONFIG:
                        o->check_config = true;
                        break;
                case OPT_LIST_PLUGINS:
                        o->list_plugins = true;
                        break;
                case OPT_VERBOSE:
                        o->verbose = true;
                        break;
                case OPT_VERSION:
                        o->version = true;
                        break;
                case OPT_HELP:
                        o->help = true;
                        break;
                case ':':
                        snprintf(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
                        return CMDLINE_E_USAGE;
                default:
                        if (optopt)
                                snprintf(err, errlen, "unknown option '-%c'", optopt);
                        else
                                snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
                        return CMDLINE_E_USAGE;
                }
        }
        if (optind < argc) {
                snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
                return CMDLINE_E_USAGE;
        }
        return 0;
}
