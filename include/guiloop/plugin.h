/* SPDX-License-Identifier: MIT */
/*
 * guiloop plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * GUILOOP_PLUGIN_ENTRY, a function of type GuiloopPluginEntry that returns a
 * pointer to a static, constant GuiloopPlugin table.  The daemon calls the
 * entry, checks the table's abi and size fields before anything else, and
 * only then calls into it.  Plugins are never unloaded.
 *
 * Every table passed in either direction starts with a version (or abi) field
 * and its size, so that a field can be added at the end without breaking
 * older plugins: a reader never touches a field beyond the size it was given,
 * and treats an absent or NULL optional method as -ENOTSUP.
 *
 * Return values follow one rule: 0 on success, a negative errno for a fault,
 * a positive GUILOOP_PLUGIN_E_* code for a documented condition.
 */
#ifndef GUILOOP_PLUGIN_H
#define GUILOOP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GUILOOP_PLUGIN_ABI 1

/* The one exported symbol; use GUILOOP_PLUGIN_EXPORT on its definition. */
#define GUILOOP_PLUGIN_ENTRY guiloop_plugin_entry
#define GUILOOP_PLUGIN_ENTRY_NAME "guiloop_plugin_entry"
#define GUILOOP_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Documented conditions a plugin may report (positive return codes). */
enum {
        GUILOOP_PLUGIN_E_UNAVAILABLE = 1, /* toolkit cannot start: no display, ... */
};

/* Log priorities, as syslog(3). */
enum {
        GUILOOP_LOG_ERR = 3,
        GUILOOP_LOG_WARNING = 4,
        GUILOOP_LOG_INFO = 6,
        GUILOOP_LOG_DEBUG = 7,
};

/* Events of a file descriptor watch. */
enum {
        GUILOOP_FD_IN = 1 << 0,
        GUILOOP_FD_OUT = 1 << 1,
        GUILOOP_FD_ERR = 1 << 2, /* reported only, never requested */
        GUILOOP_FD_HUP = 1 << 3, /* reported only, never requested */
};

typedef struct GuiloopLoop GuiloopLoop;   /* a toolkit's loop, opaque */
typedef struct GuiloopWatch GuiloopWatch; /* an fd watch, owned by the loop */
typedef struct GuiloopTimer GuiloopTimer; /* a one-shot timer, owned by the loop */
typedef struct GuiloopGuest GuiloopGuest; /* a guest toolkit, opaque */

typedef void (*GuiloopFn)(void *data);
typedef void (*GuiloopFdFn)(void *data, int fd, unsigned events);

/*
 * Services the daemon passes to a plugin.  Plugins never link against the
 * daemon; they reach it only through this table.
 */
#define GUILOOP_HOST_VERSION 1
typedef struct GuiloopHost {
        uint32_t version; /* GUILOOP_HOST_VERSION */
        uint32_t size;    /* sizeof(GuiloopHost) */
        void *data;       /* passed back to every method */
        /* Log one line (no newline needed); any thread. */
        void (*log)(void *data, int priority, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));
        /* Look up a configuration value ("daemon", "toolkit"); NULL if unset. */
        const char *(*config)(void *data, const char *section, const char *key);

        /* ---- appended: present when size says so (GUILOOP_HOST_HAS) ---- */

        /*
         * The loop's thread tells the daemon where it is: loop_idle() right
         * before it waits for events (poll), loop_busy() right after it woke
         * up to dispatch them.  Whatever runs between a busy and the next idle
         * (a GUI callback, an execution, a redraw) holds the thread: that is
         * what LoopBlockedMs measures and what Interrupt interrupts when no
         * execution runs.  Cheap (an atomic store), called around every wait,
         * nested loops' waits included.  Loop's thread only.
         */
        void (*loop_idle)(void *data);
        void (*loop_busy)(void *data);
} GuiloopHost;

/* Whether a host table is large enough to hold field (an older daemon's is smaller). */
#define GUILOOP_HOST_HAS(host, field) \
        ((host)->size >= offsetof(GuiloopHost, field) + sizeof((host)->field) && (host)->field)

/*
 * The loop a toolkit plugin owns.  Unless said otherwise, a method must be
 * called in the loop's thread (the main thread).
 */
#define GUILOOP_LOOP_OPS_VERSION 1
typedef struct GuiloopLoopOps {
        uint32_t version; /* GUILOOP_LOOP_OPS_VERSION */
        uint32_t size;    /* sizeof(GuiloopLoopOps) */

        /* Toolkit name and version for the log, e.g. "GTK 3.24.38". */
        const char *(*describe)(GuiloopLoop *loop);

        /* Run the loop; returns once quit() was called.  0 or -errno. */
        int (*run)(GuiloopLoop *loop);

        /* Make run() return.  Any thread; safe before run() too. */
        void (*quit)(GuiloopLoop *loop);

        /*
         * Call fn(data) once in the loop's thread, soon.  Any thread.  Calls
         * run in the order they were posted, one per loop iteration, so the
         * toolkit processes its own events between two of them.  post() wakes
         * the loop at once; it never polls.  It never calls fn itself, so it
         * may be called from fn.
         *
         * Deadlock to avoid: a thread that posts and then blocks until fn has
         * run must never be a thread the loop's thread itself waits for (the
         * daemon's bus thread therefore never waits on posted work).
         */
        int (*post)(GuiloopLoop *loop, GuiloopFn fn, void *data);

        /* Watch fd for events (GUILOOP_FD_IN/OUT); fn gets what happened. */
        int (*watch_add)(GuiloopLoop *loop, int fd, unsigned events,
                         GuiloopFdFn fn, void *data, GuiloopWatch **out);
        int (*watch_update)(GuiloopLoop *loop, GuiloopWatch *watch, unsigned events);
        void (*watch_remove)(GuiloopLoop *loop, GuiloopWatch *watch);

        /*
         * Call fn(data) once, usec microseconds from now (monotonic clock).
         * The timer is gone after it fired; timer_remove() is only for one
         * that has not fired yet.
         */
        int (*timer_add)(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                         GuiloopTimer **out);
        void (*timer_remove)(GuiloopLoop *loop, GuiloopTimer *timer);

        /* Tear the toolkit down; after run() returned, after Python is gone. */
        void (*free)(GuiloopLoop *loop);
} GuiloopLoopOps;

/* What a plugin's entry returns. */
typedef struct GuiloopPlugin {
        uint32_t abi;  /* GUILOOP_PLUGIN_ABI */
        uint32_t size; /* sizeof(GuiloopPlugin) */
        const char *name;        /* toolkit name: "gtk", "qt", "wx", "tk" */
        const char *description; /* one line for --list-plugins */

        /*
         * Own the main loop: initialise the toolkit in the calling (main)
         * thread.  On failure returns GUILOOP_PLUGIN_E_UNAVAILABLE or -errno
         * and writes one line into err.  NULL: the plugin cannot own a loop.
         */
        int (*loop_new)(const GuiloopHost *host, GuiloopLoop **out,
                        const GuiloopLoopOps **ops, char *err, size_t errlen);

        /*
         * Run beside another plugin's loop, through its ops only.  Must be
         * called before any Python code runs.  NULL: not a guest.
         */
        int (*guest_new)(const GuiloopHost *host, GuiloopLoop *loop,
                         const GuiloopLoopOps *ops, GuiloopGuest **out,
                         char *err, size_t errlen);
        void (*guest_free)(GuiloopGuest *guest);

        /*
         * Python source the daemon runs once, in a module of its own, after
         * the interpreter started and before any execution: the place to
         * make the toolkit's binding fit a loop that already runs (main-loop
         * calls that return at once, nested loops that Interrupt can end).
         * The daemon's boot module is importable there as _guiloop_boot.
         * NULL: none.
         */
        const char *python_setup;
} GuiloopPlugin;

typedef const GuiloopPlugin *(*GuiloopPluginEntry)(void);

#ifdef __cplusplus
}
#endif

#endif
