/* SPDX-License-Identifier: MIT */
/*
 * guiloop plugin ABI.  Installed, with guiloop-plugin.pc: a plugin built
 * out of tree needs this header alone (`pkg-config --cflags guiloop-plugin`)
 * and never links against the daemon.
 *
 * ENTRY.  A plugin is a shared object that exports exactly one symbol,
 * GUILOOP_PLUGIN_ENTRY, a function of type GuiloopPluginEntry that returns a
 * pointer to a GuiloopPlugin table living as long as the process (a static
 * constant).  GUILOOP_PLUGIN_DEFINE(table) defines that entry, in C and in
 * C++.  Build with hidden visibility; the entry is the one exported symbol.
 * The daemon calls the entry, checks the table's abi and size before
 * anything else, and only then calls into it.  Plugins are never unloaded.
 *
 * GROWTH.  GUILOOP_PLUGIN_ABI changes only for an incompatible change (then
 * every plugin must be rebuilt, and an old one is refused by name).  Within
 * one ABI every table grows only by appending fields, and its size field
 * says which fields exist:
 *   - a reader checks a table against the minimum size of the version it
 *     claims (GUILOOP_*_MIN_SIZE below) and refuses a smaller one, or one
 *     claiming a version newer than the reader knows;
 *   - a table smaller than today's but valid for its version is accepted: a
 *     field beyond its size is absent (GUILOOP_HAS_FIELD), and the reader
 *     uses the default the field's comment gives;
 *   - an optional method that is absent or NULL means -ENOTSUP (or the
 *     documented default); a required one is always set.
 *
 * ERRORS.  0 on success, a negative errno for a fault, a positive
 * GUILOOP_PLUGIN_E_* code for a documented condition.  Messages written into
 * err (errlen bytes, always NUL-terminated) are one line, without a newline.
 *
 * THREADS.  "Main thread" is the thread that loaded the plugin and runs the
 * loop; every method is main-thread only unless its comment says "any
 * thread".  Callbacks a plugin gets (GuiloopFn, GuiloopFdFn) are called in
 * the main thread, never from inside the method that registered them.
 *
 * PYTHON.  The daemon embeds CPython and starts it after loop_new() and
 * guest_new() returned, so those two must not touch Python.  From then on,
 * until free()/guest_free(), a plugin that links libpython (it may; the
 * daemon's interpreter is the process's) may call Python only:
 *   - in the main thread, holding the GIL through PyGILState_Ensure() and
 *     releasing it before returning (the loop runs without the GIL: the
 *     daemon's own code takes it for every execution);
 *   - inside run() and the callbacks run() dispatches, while
 *     Py_IsInitialized() (it is not after Python was finalized at shutdown).
 * It may import its own module (python_setup's, "_guiloop_setup_<name>"),
 * the toolkit's binding, and _guiloop_boot's two documented functions
 * (python_setup below); every other module or name that starts with
 * "_guiloop" is the daemon's private business and may change without
 * notice.  A plugin never replaces sys.stdout/sys.stderr or the daemon's
 * signal handlers (SIGINT, and the signal Interrupt travels on): output
 * capture and Interrupt depend on them.  Python code of a plugin that may
 * run a long time (a nested loop) goes through _guiloop_boot.run_nested(),
 * so that Interrupt can end it.
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

/* The size a table must have so that FIELD lies inside it. */
#define GUILOOP_FIELD_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
/* Does the table *t (with its size field) hold FIELD?  Check before reading a field
 * that a later version appended; the field's comment says what its absence means. */
#define GUILOOP_HAS_FIELD(t, field) \
        ((size_t)(t)->size >= GUILOOP_FIELD_END(__typeof__(*(t)), field))

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
 * daemon; they reach it only through this table.  The table and what data
 * points to live until the plugin's free() (or guest_free()) returned: a
 * plugin may keep the pointer.  log and config are always set; a field
 * appended later may be absent from an older daemon's smaller table, so a
 * plugin checks it with GUILOOP_HOST_HAS before calling it.
 */
#define GUILOOP_HOST_VERSION 1
typedef struct GuiloopHost {
        uint32_t version; /* GUILOOP_HOST_VERSION */
        uint32_t size;    /* sizeof(GuiloopHost) */
        void *data;       /* passed back to every method */
        /* Log one line (no newline needed); any thread. */
        void (*log)(void *data, int priority, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));
        /*
         * Look up a configuration value ("daemon", "toolkit"); NULL if unset.
         * Any thread.  The string is in a buffer of the calling thread, valid
         * until that thread's next config() call: copy it to keep it.
         */
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
/* Version 1 ends with config. */
#define GUILOOP_HOST_MIN_SIZE_1 GUILOOP_FIELD_END(GuiloopHost, config)

/* Whether a host table is large enough to hold field (an older daemon's is smaller). */
#define GUILOOP_HOST_HAS(host, field) \
        ((host)->size >= offsetof(GuiloopHost, field) + sizeof((host)->field) && (host)->field)

/*
 * The loop a toolkit plugin owns.  Unless said otherwise, a method must be
 * called in the loop's thread (the main thread).  The table lives as long
 * as the process (a static constant).  Required: run, quit, post.
 * Optional (NULL allowed): describe, free, and the fd watch and timer
 * methods, which come as a set (all five or none): without them no guest
 * can run in this loop (the daemon says so) and the methods are -ENOTSUP.
 */
#define GUILOOP_LOOP_OPS_VERSION 1
typedef struct GuiloopLoopOps {
        uint32_t version; /* GUILOOP_LOOP_OPS_VERSION */
        uint32_t size;    /* sizeof(GuiloopLoopOps) */

        /*
         * Optional.  Toolkit name and version for the log, e.g. "GTK 3.24.38".
         * The string belongs to the loop and stays valid until the next
         * describe() or free(); the daemon copies it.  NULL: the plugin's name.
         */
        const char *(*describe)(GuiloopLoop *loop);

        /*
         * Required.  Run the loop; returns once quit() was called, and only
         * then: executed code that quits the toolkit's loop (app.quit(),
         * Gtk.main_quit()) must not end it.  0 or -errno.  Called once.
         */
        int (*run)(GuiloopLoop *loop);

        /*
         * Required.  Make run() return (once a nested loop that runs, if any,
         * has ended: the daemon interrupts the execution that runs it).  Any thread
         * (not from a signal handler); safe before run() too.
         */
        void (*quit)(GuiloopLoop *loop);

        /*
         * Required.  Call fn(data) once in the loop's thread, soon.  Any
         * thread.  Calls run in the order they were posted, one per loop
         * iteration, so the toolkit processes its own events between two of
         * them; a call posted while a nested loop runs (a modal dialog) runs
         * in that nested loop.  post() wakes the loop at once; it never polls.
         * It never calls fn itself, so it may be called from fn.  Calls not
         * run when free() comes are dropped.  0 or -ENOMEM.
         *
         * Deadlock to avoid: a thread that posts and then blocks until fn has
         * run must never be a thread the loop's thread itself waits for (the
         * daemon's bus thread therefore never waits on posted work).
         */
        int (*post)(GuiloopLoop *loop, GuiloopFn fn, void *data);

        /*
         * Optional set.  Watch fd for events (GUILOOP_FD_IN/OUT); fn gets
         * what happened, ERR and HUP included, while the fd stays in that
         * state (level-triggered).  At most one watch per fd at a time: to
         * wait for both directions, ask for both in one watch, and change
         * them with watch_update().  The watch belongs to the loop and stays
         * valid until watch_remove(), which may be called from inside fn
         * itself (fn then touches nothing of it afterwards).  The caller
         * keeps fd open until then.  0 or -errno (-ENOTSUP when absent).
         */
        int (*watch_add)(GuiloopLoop *loop, int fd, unsigned events,
                         GuiloopFdFn fn, void *data, GuiloopWatch **out);
        int (*watch_update)(GuiloopLoop *loop, GuiloopWatch *watch, unsigned events);
        void (*watch_remove)(GuiloopLoop *loop, GuiloopWatch *watch);

        /*
         * Optional set.  Call fn(data) once, usec microseconds from now
         * (monotonic clock).  0: as soon as the loop is idle, in turn with
         * posted calls and the toolkit's idle work (redraws), after input:
         * a 0 timer that keeps adding the next one must never starve them
         * (asyncio's ready callbacks come this way).  The timer is gone
         * before fn runs, so fn may add the next one; timer_remove() is only
         * for one that has not fired yet, never from its own fn.  out may be
         * NULL for a timer never removed.
         */
        int (*timer_add)(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                         GuiloopTimer **out);
        void (*timer_remove)(GuiloopLoop *loop, GuiloopTimer *timer);

        /*
         * Optional.  Tear the toolkit down; after run() returned, after any
         * guest's guest_free(), after Python was finalized.  Watches and
         * timers not removed go with it.  NULL: nothing to free.
         */
        void (*free)(GuiloopLoop *loop);
} GuiloopLoopOps;
/* Version 1 ends with free. */
#define GUILOOP_LOOP_OPS_MIN_SIZE_1 GUILOOP_FIELD_END(GuiloopLoopOps, free)

/*
 * What a plugin's entry returns.  The table and its strings live as long
 * as the process (static constants).  Required: name, description, and
 * loop_new or the guest_new/guest_free pair (or both).
 */
typedef struct GuiloopPlugin {
        uint32_t abi;  /* GUILOOP_PLUGIN_ABI */
        uint32_t size; /* sizeof(GuiloopPlugin) */
        /* Toolkit name, as in `toolkit = NAME`: the file is NAME.so. */
        const char *name;
        const char *description; /* one line for --list-plugins */

        /*
         * Optional: own the main loop.  Initialise the toolkit in the calling
         * (main) thread, before Python exists.  On success *out and *ops are
         * set (ops: a static table).  On failure returns
         * GUILOOP_PLUGIN_E_UNAVAILABLE (no display, ...) or -errno, and
         * writes one line into err.  Called at most once per process.
         * NULL: the plugin cannot own a loop.
         */
        int (*loop_new)(const GuiloopHost *host, GuiloopLoop **out,
                        const GuiloopLoopOps **ops, char *err, size_t errlen);

        /*
         * Optional, as a pair: run beside another plugin's loop, through its
         * ops only (check ops with GUILOOP_LOOP_OPS_OK() and each optional
         * method for NULL).  Called in the main thread, after the host's
         * loop_new() and before Python exists.  loop and ops stay valid
         * until guest_free(), which comes after run() returned and after
         * Python was finalized, before the host loop's free(); it removes
         * every watch and timer the guest still has.  NULL: not a guest.
         */
        int (*guest_new)(const GuiloopHost *host, GuiloopLoop *loop,
                         const GuiloopLoopOps *ops, GuiloopGuest **out,
                         char *err, size_t errlen);
        void (*guest_free)(GuiloopGuest *guest);

        /*
         * Optional: Python source the daemon runs once, as the body of a
         * module of its own named "_guiloop_setup_<name>", after the
         * interpreter started and before any execution (and before the bus
         * name is taken), in the main thread: the place to make the
         * toolkit's binding fit a loop that already runs (main-loop calls
         * that return at once, nested loops that Interrupt can end, one
         * application object).  The daemon's boot module is importable there
         * as _guiloop_boot; a plugin may use its after_import(name, fn) and
         * run_nested(quit, fn, *args) (see daemon/boot.py) and nothing else
         * of it.  An exception stops the daemon with its traceback in the
         * log.  NULL: none.
         */
        const char *python_setup;

        /*
         * Appended after ABI 1 was first released; absent: NULL.  Names
         * of the toolkit plugins whose toolkit cannot share a process with
         * this one (GTK 3 and GTK 4, PyQt5 and PyQt6), NULL-terminated, for
         * --list-plugins.
         */
        const char *const *conflicts;
} GuiloopPlugin;
/* ABI 1 as first released ends with python_setup. */
#define GUILOOP_PLUGIN_MIN_SIZE GUILOOP_FIELD_END(GuiloopPlugin, python_setup)

typedef const GuiloopPlugin *(*GuiloopPluginEntry)(void);

/*
 * Is ops a loop table this header can read?  A version from 1 to
 * GUILOOP_LOOP_OPS_VERSION, with at least that version's fields.  A guest
 * checks its host loop's table with it before calling anything.
 */
static inline int guiloop_loop_ops_ok(const GuiloopLoopOps *ops)
{
        static const size_t min_size[GUILOOP_LOOP_OPS_VERSION + 1] = {
                0,
                GUILOOP_LOOP_OPS_MIN_SIZE_1,
        };

        return ops && ops->version >= 1 && ops->version <= GUILOOP_LOOP_OPS_VERSION &&
               ops->size >= min_size[ops->version];
}

/* Is host a service table this header can read?  The daemon's is, always. */
static inline int guiloop_host_ok(const GuiloopHost *host)
{
        return host && host->version >= 1 && host->size >= GUILOOP_HOST_MIN_SIZE_1;
}

/*
 * Define the one exported entry, returning &table (a GuiloopPlugin of
 * static storage).  In C:
 *
 *     static const GuiloopPlugin plugin = {
 *             GUILOOP_PLUGIN_HEADER,
 *             .name = "glib",
 *             .description = "plain GLib main loop, no display",
 *             .loop_new = my_loop_new,
 *     };
 *     GUILOOP_PLUGIN_DEFINE(plugin)
 *
 * C++17 has no designated initialisers: fill a value-initialised table by
 * field name in a function (see plugins/qt), then GUILOOP_PLUGIN_DEFINE.
 */
#define GUILOOP_PLUGIN_HEADER .abi = GUILOOP_PLUGIN_ABI, .size = sizeof(GuiloopPlugin)
#define GUILOOP_LOOP_OPS_HEADER .version = GUILOOP_LOOP_OPS_VERSION, .size = sizeof(GuiloopLoopOps)
#ifdef __cplusplus
#define GUILOOP_PLUGIN_DEFINE(table)                                                    \
        extern "C" GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void) \
        {                                                                               \
                return &(table);                                                        \
        }
#else
#define GUILOOP_PLUGIN_DEFINE(table)                                          \
        GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void); \
        GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)  \
        {                                                                     \
                return &(table);                                              \
        }
#endif

#ifdef __cplusplus
}
#endif

#endif
