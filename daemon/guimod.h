/* SPDX-License-Identifier: MIT */
/*
 * The Python side of issue 13: the public `guiloop` module, matplotlib with
 * no set-up, and an asyncio event loop living in the toolkit's loop.
 *
 * What runs at start is small: a C module `_guiloop_gui` (posting to the GUI
 * thread, the plugin's fd watches and timers, the running execution's id)
 * and guiloop_hooks.py, which registers the embedded Python modules
 * (`guiloop`, `_guiloop_asyncio`, `_guiloop_matplotlib`) with an importer
 * and post-import hooks: nothing of asyncio or matplotlib is imported until
 * executed code imports them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guiloop/plugin.h"

typedef struct GuiModuleHost {
        const GuiloopLoopOps *ops; /* the loop's, for post, watches and timers */
        GuiloopLoop *loop;
        const char *toolkit; /* "gtk", ...; copied */
        bool tk_guest;
        bool matplotlib; /* python.matplotlib */
        void *data;
        /* Any thread: id of the running execution, 0 when none. */
        uint64_t (*running)(void *data);
} GuiModuleHost;

/*
 * Main thread, Python initialised, GIL not held (it is taken here), before
 * any execution.  0, or -1 with the reason in err.
 */
int guimod_start(const GuiModuleHost *host, char *err, size_t errlen);

/*
 * Main thread, after the loop returned and before Python is finalized:
 * pending asyncio tasks are cancelled (and get a few turns to clean up),
 * the asyncio loop's watches and timers are removed, Futures of calls that
 * will never run get an exception.  Safe when guimod_start never ran.
 */
void guimod_stop(void);
