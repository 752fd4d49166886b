/* SPDX-License-Identifier: MIT */
/*
 * The GTK plugins, one source built twice: `gtk` against GTK 3, `gtk4`
 * against GTK 4.  GTK 3 runs gtk_main() in the main thread; GTK 4 has no
 * gtk_main(), and its loop is the default GMainContext, iterated here.
 * Posted calls, fd watches and timers are the GLib sources of plugins/glib,
 * whose poll function also reports each wait to the host.  gtk_setup.py
 * (the plugins' python_setup, shared) makes unmodified PyGObject programs
 * fit this loop, and pins the Gtk version of this process: GTK 3 and GTK 4
 * cannot share one, and asking for the other is a clear ImportError.  Its
 * opening comment says how, as measured.
 *
 * GDK exits 1 without a word when the X server goes away; an Xlib I/O
 * error handler of ours, set after gtk_init, logs one line and exits 69.
 */
#include <X11/Xlib.h>
#include <errno.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "glib-sources.h"
#include "gtk-setup-py.h"
#include "guiloop/plugin.h"

#if GTK_CHECK_VERSION(4, 0, 0)
#define GTK_PLUGIN_NAME "gtk4"
/* wxWidgets 3.2 is wxGTK on GTK 3: it cannot share a process with GTK 4 either. */
#define GTK_PLUGIN_CONFLICTS "gtk", "wx"
#define GTK_PLUGIN_DESCRIPTION "GTK 4 main loop (the default GMainContext)"
#else
#define GTK_PLUGIN_NAME "gtk"
#define GTK_PLUGIN_CONFLICTS "gtk4"
#define GTK_PLUGIN_DESCRIPTION "GTK 3 main loop (gtk_main)"
#endif

/* Posted calls at g_idle_add()'s priority, below GTK's redraws (HIGH_IDLE + 20):
 * a long queue never starves the GUI, and shares the loop with idles fairly.
 * A timer of 0 runs at it too. */
#define POSTS_PRIORITY G_PRIORITY_DEFAULT_IDLE

struct GuiloopLoop {
        const GuiloopHost *host;
        GMainContext *context;
        GlibPosts *posts;
        gint quit; /* atomic: quit() was called */
        char describe[64];
};

static int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        return glib_posts_push(loop->posts, fn, data);
}

/* ---- run and quit ---- */

#if GTK_CHECK_VERSION(4, 0, 0)
static int loop_run(GuiloopLoop *loop)
{
        /* What GTK 4's own GApplication and gtk_dialog_run() did: iterate the context. */
        while (!g_atomic_int_get(&loop->quit))
                g_main_context_iteration(loop->context, TRUE);
        return 0;
}

static void loop_quit(GuiloopLoop *loop)
{
        g_atomic_int_set(&loop->quit, 1);
        /* Thread-safe; the iteration in run() returns and sees the flag. */
        g_main_context_wakeup(loop->context);
}
#else
static int loop_run(GuiloopLoop *loop)
{
        /* Code run inside may call Gtk.main_quit(): only our quit() ends the loop. */
        while (!g_atomic_int_get(&loop->quit))
                gtk_main();
        return 0;
}

static gboolean quit_now(gpointer data)
{
        GuiloopLoop *loop = data;

        if (gtk_main_level() > 0)
                gtk_main_quit();
        (void)loop;
        return G_SOURCE_REMOVE;
}

static void loop_quit(GuiloopLoop *loop)
{
        g_atomic_int_set(&loop->quit, 1);
        /* g_idle_add is thread-safe and wakes the context. */
        g_idle_add_full(G_PRIORITY_HIGH, quit_now, loop, NULL);
}
#endif

/* ---- fd watches and timers for a guest ---- */

static int loop_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn,
                          void *data, GuiloopWatch **out)
{
        return glib_watch_add(loop->context, fd, events, fn, data, out);
}

static int loop_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events)
{
        (void)loop;
        return glib_watch_update(w, events);
}

static void loop_watch_remove(GuiloopLoop *loop, GuiloopWatch *w)
{
        (void)loop;
        glib_watch_remove(w);
}

static int loop_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                          GuiloopTimer **out)
{
        return glib_timer_add(loop->context, usec, POSTS_PRIORITY, fn, data, out);
}

static void loop_timer_remove(GuiloopLoop *loop, GuiloopTimer *t)
{
        (void)loop;
        glib_timer_remove(t);
}

/* ---- losing the X server ---- */

static const GuiloopHost *x_host;

static int on_x_io_error(Display *display)
{
        const char *name = g_getenv("DISPLAY");

        (void)display;
        x_host->log(x_host->data, GUILOOP_LOG_ERR,
                    GTK_PLUGIN_NAME ": lost the connection to the X server (DISPLAY=%s); exiting",
                    name ? name : "");
        _exit(69);
}

/* ---- life ---- */

static const char *loop_describe(GuiloopLoop *loop)
{
        snprintf(loop->describe, sizeof(loop->describe), "GTK %u.%u.%u", gtk_get_major_version(),
                 gtk_get_minor_version(), gtk_get_micro_version());
        return loop->describe;
}

static void loop_free(GuiloopLoop *loop)
{
        glib_posts_free(loop->posts);
        /* GTK cannot be torn down and started again; what it holds goes with the process. */
        free(loop);
}

static const GuiloopLoopOps loop_ops = {
        GUILOOP_LOOP_OPS_HEADER,
        .describe = loop_describe,
        .run = loop_run,
        .quit = loop_quit,
        .post = loop_post,
        .watch_add = loop_watch_add,
        .watch_update = loop_watch_update,
        .watch_remove = loop_watch_remove,
        .timer_add = loop_timer_add,
        .timer_remove = loop_timer_remove,
        .free = loop_free,
};

static int loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops,
                    char *err, size_t errlen)
{
        GuiloopLoop *loop;
        const char *display = g_getenv("DISPLAY");
        const char *wayland_env = g_getenv("WAYLAND_DISPLAY");
        const char *wayland = wayland_env && *wayland_env ? wayland_env : NULL;

        if (display && !*display)
                display = NULL;
#if GTK_CHECK_VERSION(4, 0, 0)
        /*
         * GTK 4 renders with GL by default; on a display without a GPU (Xvfb,
         * a remote X) that is Mesa's llvmpipe: a window took the daemon from
         * 89 to 156 MiB and 5 more threads, against 30 and 36 MiB without GL
         * (measured, GTK 4.8 on Xvfb), as Qt's xcb GL integration did.  A
         * user who sets GDK_DEBUG (even empty) keeps GTK's own choice.
         * Without GL, GSK still tried its GL renderer first and printed
         * "Gsk-Message: Failed to realize renderer of type 'GskGLRenderer'"
         * into the first window's execution (fd 2 is captured): the cairo
         * renderer is asked for directly, unless GSK_RENDERER says otherwise.
         */
        if (!g_getenv("GDK_DEBUG")) {
                g_setenv("GDK_DEBUG", "gl-disable", FALSE);
                g_setenv("GSK_RENDERER", "cairo", FALSE);
        }
        if (!gtk_init_check()) {
#else
        if (!gtk_init_check(NULL, NULL)) {
#endif
                if (!display && !wayland)
                        snprintf(err, errlen, "cannot open a display: DISPLAY is not set");
                else
                        snprintf(err, errlen, "cannot open display '%s'",
                                 display ? display : wayland);
                return GUILOOP_PLUGIN_E_UNAVAILABLE;
        }
        loop = calloc(1, sizeof(*loop));
        if (!loop)
                return -ENOMEM;
        loop->host = host;
        loop->context = g_main_context_default();
        loop->posts = glib_posts_new(loop->context, POSTS_PRIORITY, NULL, NULL);
        glib_report_waits(loop->context, host);
        /* After gtk_init: GDK set its own handler (it exits 1) when it opened the display. */
        x_host = host;
        XSetIOErrorHandler(on_x_io_error);
        *out = loop;
        *ops = &loop_ops;
        return 0;
}

static const char *const conflicts[] = { GTK_PLUGIN_CONFLICTS, NULL };

static const GuiloopPlugin plugin = {
        GUILOOP_PLUGIN_HEADER,
        .name = GTK_PLUGIN_NAME,
        .description = GTK_PLUGIN_DESCRIPTION,
        .loop_new = loop_new,
        .python_setup = gtk_setup_py,
        .conflicts = conflicts,
};

GUILOOP_PLUGIN_DEFINE(plugin)
