/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Documented conditions (positive return codes). */
enum {
        CMDLINE_E_USAGE = 1, /* err says what is wrong with the command line */
};

typedef struct Options {
        const char *config;
        const char *toolkit;
        bool tk_guest;
        const char *instance;
        const char *plugin_dir;
        bool check_config;
        bool list_plugins;
        bool verbose;
        bool version;
        bool help;
} Options;

int cmdline_parse(int argc, char **argv, Options *o, char *err, size_t errlen);
void cmdline_help(FILE *f);
