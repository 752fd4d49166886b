/* SPDX-License-Identifier: MIT */
/* guiloopd: parse the command line, run the daemon, map the result to an exit code. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "cmdline.h"
#include "config.h"
#include "crash.h"
#include "daemon.h"
#include "loader.h"
#include "log.h"

/*
 * glibc maps a block of more than 128 KiB afresh and gives the memory back
 * at free(); its threshold moves up only after such a free, and the heap's
 * top is given back past twice that.  Code that makes two 1 MB objects per
 * step then pays for 512 new pages each time: measured, 'x' * 1048575 took
 * 290-380 us inside guiloopd and in a plain python3, 37 us with these.
 * Blocks up to 4 MB come from the heap; up to 8 MB free at a heap's top
 * stay for the next ones (that much at most is held while idle).
 */
static void tune_malloc(void)
{
        (void)mallopt(M_MMAP_THRESHOLD, 4 << 20);
        (void)mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

/* The command line's values override the file's, with the file's checks. */
static int apply_options(Config *c, const Options *o)
{
        const struct {
                const char *key, *value;
        } set[] = {
                { "toolkit", o->toolkit },
                { "tk_guest", o->tk_guest ? "true" : NULL },
                { "instance", o->instance },
                { "plugin_dir", o->plugin_dir },
        };
        char err[256];

        for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
                if (!set[i].value)
                        continue;
                if (config_set(c, "daemon", set[i].key, set[i].value, err, sizeof(err)) != 0) {
                        log_err("bad command line: %s", err);
                        return EXIT_USAGE;
                }
        }
        return 0;
}

static int load_config(Config **out, const Options *o)
{
        _cleanup_(freep) char *found = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        const char *path = o->config;
        int r;

        if (!path)
                path = found = config_find(GUILOOP_SYSCONFDIR);
        r = path ? config_load(&c, path) : config_new(&c);
        if (r < 0) {
                log_err("cannot read the configuration: %s", strerror(-r));
                return EXIT_SOFTWARE;
        }
        if (r > 0) {
                log_raw(LOG_PRIO_ERR, c->error);
                return EXIT_CONFIG;
        }
        r = apply_options(c, o);
        if (r != 0)
                return r;
        if (config_validate(c) != 0) {
                /* Located in the file: a config error; else the command line's. */
                if (c->line_tk_guest || c->line_toolkit) {
                        log_raw(LOG_PRIO_ERR, c->error);
                        return EXIT_CONFIG;
                }
                log_err("bad command line: %s", c->error);
                return EXIT_USAGE;
        }
        *out = steal_pointer(&c);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_(config_freep) Config *config = NULL;
        const char *plugin_dir;
        char err[256];
        Options o;
        int r;

        tune_malloc();
        log_setup(false);
        crash_install();
        if (cmdline_parse(argc, argv, &o, err, sizeof(err)) != 0) {
                log_err("%s", err);
                fprintf(stderr, "Try 'guiloopd --help' for more information.\n");
                return EXIT_USAGE;
        }
        if (o.help) {
                cmdline_help(stdout);
                return EXIT_OK;
        }
        if (o.version) {
                printf("guiloopd %s\n", GUILOOP_VERSION);
                return EXIT_OK;
        }
        log_setup(o.verbose);

        r = load_config(&config, &o);
        if (r != 0)
                return r;
        plugin_dir = loader_plugin_dir(NULL, config->plugin_dir);
        if (o.check_config) {
                /* The effective configuration: where plugins are looked for too. */
                if (!config->plugin_dir || !*config->plugin_dir) {
                        free(config->plugin_dir);
                        config->plugin_dir = strdup(plugin_dir);
                        if (!config->plugin_dir)
                                return EXIT_SOFTWARE;
                }
                config_print(config, stdout);
                return EXIT_OK;
        }
        if (o.list_plugins) {
                loader_list(plugin_dir, stdout);
                return EXIT_OK;
        }
        return daemon_run(config, plugin_dir);
}
