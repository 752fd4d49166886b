/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "execution.h"

/* Exit codes (sysexits). */
enum {
        EXIT_OK = 0,
        EXIT_USAGE = 64,
        EXIT_UNAVAILABLE = 69,
        EXIT_SOFTWARE = 70,
        EXIT_TEMPFAIL = 75,
        EXIT_CONFIG = 78,
};

typedef struct Daemon Daemon;

/* Run the daemon with this configuration until it stops; returns an exit code. */
int daemon_run(Config *config, const char *plugin_dir);
