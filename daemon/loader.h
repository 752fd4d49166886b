/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "guiloop/plugin.h"

/* Documented conditions (positive return codes); the message says which file and why. */
enum {
        LOADER_E_NOT_FOUND = 1, /* no such file */
        LOADER_E_OPEN,          /* dlopen failed: dlerror() text */
        LOADER_E_NO_ENTRY,      /* no GUILOOP_PLUGIN_ENTRY symbol */
        LOADER_E_ABI,           /* wrong ABI version or table too small */
        LOADER_E_ROLE,          /* the plugin cannot play the role asked of it */
        LOADER_E_TWICE,         /* a toolkit plugin is loaded already */
};

/*
 * The folder plugins are read from: --plugin-dir, else the config's
 * plugin_dir, else $GUILOOP_PLUGIN_DIR, else the build tree's plugins when
 * this executable runs from the build tree, else the installed folder.
 * Either argument may be NULL.  Returns a static string or one of its inputs.
 */
const char *loader_plugin_dir(const char *cmdline_dir, const char *config_dir);

/*
 * Load the plugin named name ("gtk") from dir/name.so.  Plugins are never
 * unloaded: unloading a GObject-based one and loading it again crashes in
 * type registration.  On failure err holds one line naming the file and the
 * reason.
 */
int loader_load(const char *dir, const char *name, const GuiloopPlugin **out,
                char *err, size_t errlen);

/*
 * Check the loop table a plugin's loop_new() gave: a version this daemon
 * knows, at least that version's size, the required methods, and the fd
 * watch and timer methods all or none.  name is for the message.
 */
int loader_check_loop_ops(const char *name, const GuiloopLoopOps *ops, char *err, size_t errlen);

/* Can a guest run in this loop (it has fd watches and timers)? */
bool loader_loop_has_watches(const GuiloopLoopOps *ops);

/* The plugin's conflicts, or NULL when its table predates the field. */
const char *const *loader_conflicts(const GuiloopPlugin *p);

/* Print every plugin in dir, one per line, and for one that cannot load, why. */
int loader_list(const char *dir, FILE *f);
