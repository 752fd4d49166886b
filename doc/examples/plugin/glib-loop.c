/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree guiloop toolkit plugin: `glib`, a plain GLib main loop
 * with no display.  Executed code can use GLib timers and idles (PyGObject's
 * GLib, on the default context), threads and guiloop's own services on a
 * server, with no X or Wayland at all.
 *
 * It is built against the installed SDK only (pkg-config guiloop-plugin):
 * the header <guiloop/plugin.h>, no library.  Everything but the entry is
 * static, and the shared module is built with hidden visibility.
 *
 * What it shows:
 *   - post(): a GSource of our own that runs one posted call per loop
 *     iteration, FIFO, woken by g_main_context_wakeup(): nothing polls;
 *   - fd watches and timers as GSources (the optional set: with it, a guest
 *     could ride on this loop; without, leave all five NULL);
 *   - an optional field of the host table used only when the daemon's table
 *     holds it (GUILOOP_HOST_HAS): loop_idle/loop_busy around each wait.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include <guiloop/plugin.h>

/* Posted calls, and timers of 0 (plugin.h), at g_idle_add()'s priority. */
#define POSTS_PRIORITY G_PRIORITY_DEFAULT_IDLE

/* ---- posted calls: any thread pushes, the loop's thread runs one per iteration ---- */

typedef struct Call {
        GuiloopFn fn;
        void *data;
} Call;

typedef struct Posts {
        GSource source;
        GMutex lock;
        GQueue calls; /* of Call */
} Posts;

static gboolean posts_prepare(GSource *source, gint *timeout)
{
        Posts *p = (Posts *)source;
        gboolean ready;

        *timeout = -1;
        g_mutex_lock(&p->lock);
        ready = !g_queue_is_empty(&p->calls);
        g_mutex_unlock(&p->lock);
        return ready;
}

static gboolean posts_check(GSource *source)
{
        gint timeout;

        return posts_prepare(source, &timeout);
}

static gboolean posts_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        Posts *p = (Posts *)source;
        Call *c;

        (void)callback;
        (void)user_data;
        g_mutex_lock(&p->lock);
        c = g_queue_pop_head(&p->calls);
        g_mutex_unlock(&p->lock);
        if (c) {
                c->fn(c->data);
                g_free(c);
        }
        return G_SOURCE_CONTINUE;
}

static void posts_finalize(GSource *source)
{
        Posts *p = (Posts *)source;

        g_queue_clear_full(&p->calls, g_free);
        g_mutex_clear(&p->lock);
}

static GSourceFuncs posts_funcs = {
        .prepare = posts_prepare,
        .check = posts_check,
        .dispatch = posts_dispatch,
        .finalize = posts_finalize,
};

/* ---- the loop ---- */

struct GuiloopLoop {
        const GuiloopHost *host;
        GMainContext *context;
        Posts *posts;
        gint quit; /* atomic */
        char describe[64];
};

static int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        Call *c = g_try_new(Call, 1);

        if (!c)
                return -ENOMEM;
        c->fn = fn;
        c->data = data;
        g_mutex_lock(&loop->posts->lock);
        g_queue_push_tail(&loop->posts->calls, c);
        g_mutex_unlock(&loop->posts->lock);
        g_main_context_wakeup(loop->context);
        return 0;
}

static int loop_run(GuiloopLoop *loop)
{
        while (!g_atomic_int_get(&loop->quit))
                g_main_context_iteration(loop->context, TRUE);
        return 0;
}

static void loop_quit(GuiloopLoop *loop)
{
        g_atomic_int_set(&loop->quit, 1);
        g_main_context_wakeup(loop->context);
}

static const char *loop_describe(GuiloopLoop *loop)
{
        snprintf(loop->describe, sizeof(loop->describe), "GLib %u.%u.%u (no display)",
                 glib_major_version, glib_minor_version, glib_micro_version);
        return loop->describe;
}

/* ---- fd watches ---- */

struct GuiloopWatch {
        GSource source;
        gpointer tag;
        int fd;
        GuiloopFdFn fn;
        void *data;
};

static GIOCondition condition_of(unsigned events)
{
        return ((events & GUILOOP_FD_IN) ? G_IO_IN : 0) | ((events & GUILOOP_FD_OUT) ? G_IO_OUT : 0);
}

static gboolean watch_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        GuiloopWatch *w = (GuiloopWatch *)source;
        GIOCondition cond = g_source_query_unix_fd(source, w->tag);
        unsigned events = ((cond & G_IO_IN) ? GUILOOP_FD_IN : 0) |
                          ((cond & G_IO_OUT) ? GUILOOP_FD_OUT : 0) |
                          ((cond & (G_IO_ERR | G_IO_NVAL)) ? GUILOOP_FD_ERR : 0) |
                          ((cond & G_IO_HUP) ? GUILOOP_FD_HUP : 0);

        (void)callback;
        (void)user_data;
        /* GLib holds a reference while dispatching: fn may remove this watch. */
        if (events)
                w->fn(w->data, w->fd, events);
        return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = { .dispatch = watch_dispatch };

static int loop_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn,
                          void *data, GuiloopWatch **out)
{
        GuiloopWatch *w = (GuiloopWatch *)g_source_new(&watch_funcs, sizeof(*w));

        w->fd = fd;
        w->fn = fn;
        w->data = data;
        w->tag = g_source_add_unix_fd(&w->source, fd, condition_of(events));
        g_source_attach(&w->source, loop->context);
        *out = w;
        return 0;
}

static int loop_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events)
{
        (void)loop;
        g_source_modify_unix_fd(&w->source, w->tag, condition_of(events));
        return 0;
}

static void loop_watch_remove(GuiloopLoop *loop, GuiloopWatch *w)
{
        (void)loop;
        g_source_destroy(&w->source);
        g_source_unref(&w->source);
}

/* ---- one-shot timers ---- */

struct GuiloopTimer {
        GSource source;
        GuiloopFn fn;
        void *data;
};

static gboolean timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        GuiloopTimer *t = (GuiloopTimer *)source;

        (void)callback;
        (void)user_data;
        /* Gone before fn runs, as plugin.h says: fn may add the next one. */
        g_source_destroy(source);
        t->fn(t->data);
        g_source_unref(source);
        return G_SOURCE_REMOVE;
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

static int loop_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                          GuiloopTimer **out)
{
        GuiloopTimer *t = (GuiloopTimer *)g_source_new(&timer_funcs, sizeof(*t));

        t->fn = fn;
        t->data = data;
        /* 0: the posts' priority, as plugin.h asks, so that it never starves them. */
        if (usec == 0)
                g_source_set_priority(&t->source, POSTS_PRIORITY);
        g_source_set_ready_time(&t->source, g_get_monotonic_time() + (gint64)usec);
        g_source_attach(&t->source, loop->context);
        if (out)
                *out = t;
        return 0;
}

static void loop_timer_remove(GuiloopLoop *loop, GuiloopTimer *t)
{
        (void)loop;
        g_source_destroy(&t->source);
        g_source_unref(&t->source);
}

/* ---- telling the daemon when the loop waits (optional host fields) ---- */

static const GuiloopHost *wait_host;
static GPollFunc next_poll;

static gint report_poll(GPollFD *fds, guint n, gint timeout)
{
        gint r;

        wait_host->loop_idle(wait_host->data);
        r = next_poll(fds, n, timeout);
        wait_host->loop_busy(wait_host->data);
        return r;
}

/* ---- life ---- */

static void loop_free(GuiloopLoop *loop)
{
        g_source_destroy(&loop->posts->source);
        g_source_unref(&loop->posts->source);
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

        if (!guiloop_host_ok(host)) {
                snprintf(err, errlen, "the daemon's service table is not one this plugin knows");
                return -EINVAL;
        }
        loop = calloc(1, sizeof(*loop));
        if (!loop)
                return -ENOMEM;
        loop->host = host;
        loop->context = g_main_context_default();
        loop->posts = (Posts *)g_source_new(&posts_funcs, sizeof(Posts));
        g_mutex_init(&loop->posts->lock);
        g_queue_init(&loop->posts->calls);
        g_source_set_priority(&loop->posts->source, POSTS_PRIORITY);
        g_source_attach(&loop->posts->source, loop->context);
        /* An older daemon's host table has no loop_idle/loop_busy: then report nothing. */
        if (GUILOOP_HOST_HAS(host, loop_idle) && GUILOOP_HOST_HAS(host, loop_busy)) {
                wait_host = host;
                next_poll = g_main_context_get_poll_func(loop->context);
                g_main_context_set_poll_func(loop->context, report_poll);
        }
        host->log(host->data, GUILOOP_LOG_DEBUG, "glib: a plain GLib loop, no display");
        *out = loop;
        *ops = &loop_ops;
        return 0;
}

static const GuiloopPlugin plugin = {
        GUILOOP_PLUGIN_HEADER,
        .name = "glib",
        .description = "plain GLib main loop, no display (out-of-tree example)",
        .loop_new = loop_new,
};

GUILOOP_PLUGIN_DEFINE(plugin)
