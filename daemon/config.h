/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

/* Documented conditions (positive return codes). */
enum {
        CONFIG_E_INVALID = 1, /* bad file or value; Config.error says FILE:LINE: why */
        CONFIG_E_NOT_FOUND,   /* --config FILE does not exist */
};

typedef struct Config {
        /* [daemon] */
        char *toolkit;          /* "gtk", "gtk4", "qt", "qt6", "wx" or "tk" */
        bool tk_guest;
        char *instance;         /* "" or [A-Za-z_][A-Za-z0-9_]* */
        char *plugin_dir;       /* NULL: not set */
        uid_t *allow_uids;
        size_t n_allow_uids;
        double shutdown_grace;  /* seconds, >= 0 */
        /* [python] */
        char *startup;          /* NULL: none */
        char *python_path;      /* NULL: none; colon-separated */
        double switch_interval; /* seconds, > 0 */
        bool python_matplotlib; /* preselect the toolkit's backend, interactive mode */
        /* [execution] */
        double timeout;         /* seconds, 0 = never */
        uint32_t queue_limit;
        uint64_t max_output;    /* bytes per stream per execution */
        uint64_t queue_bytes;   /* bytes of code (and paths) that may wait, 0 = no bound */
        uint32_t keep_results;  /* finished executions kept for Wait */
        bool capture_fd;        /* fds 1 and 2 are execution output */

        /* Where the values came from (NULL: defaults only). */
        char *path;
        /* Line of each key in path, 0 when not set there; for cross-key errors. */
        unsigned line_toolkit, line_tk_guest;

        /* The one error line, "FILE:LINE: reason", after CONFIG_E_*. */
        char error[512];
} Config;

/* A fresh Config holding every default. */
int config_new(Config **out);
Config *config_free(Config *c);
DEFINE_CLEANUP(Config *, config_free);

/*
 * Parse the ini file at path into a fresh Config (defaults for what the file
 * does not set).  On CONFIG_E_INVALID or CONFIG_E_NOT_FOUND, *out is set
 * anyway so that the caller can print (*out)->error; otherwise 0.
 */
int config_load(Config **out, const char *path);

/*
 * The file to read when no --config was given: $XDG_CONFIG_HOME/guiloop/
 * guiloopd.ini, $HOME/.config/guiloop/guiloopd.ini, sysconfdir/xdg/guiloop/
 * guiloopd.ini, the first that exists.  NULL when none does.  Free with free().
 */
char *config_find(const char *sysconfdir);

/* Set one value, as the file would ("daemon", "toolkit", "qt"); 0 or CONFIG_E_INVALID. */
int config_set(Config *c, const char *section, const char *key, const char *value,
               char *err, size_t errlen);

/* Checks that involve more than one key (tk_guest with toolkit = tk). */
int config_validate(Config *c);

/* The value of one key as text, as config_print shows it; NULL if unknown key. */
const char *config_get(Config *c, const char *section, const char *key, char *buf, size_t len);

/* Write the effective configuration as an ini file. */
void config_print(Config *c, FILE *f);
