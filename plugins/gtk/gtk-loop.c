/* SPDX-License-Identifier: MIT */
/*
 * The GTK 3 toolkit plugin: gtk_main() in the main thread, with a GSource
 * for posted calls (woken by g_main_context_wakeup, never polled), one per
 * loop iteration, and unix-fd and ready-time sources for a guest.
 */
#include <errno.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>

#include "guiloop/plugin.h"

typedef struct Call {
        struct Call *next;
        GuiloopFn fn;
        void *data;
} Call;

/* The posted calls: a FIFO any thread appends to, the loop's thread drains. */
typedef struct PostSource {
        GSource source;
        GMutex lock;
        Call *head, *tail;
} PostSource;

struct GuiloopLoop {
        const GuiloopHost *host;
        GMainContext *context;
        PostSource *posts;
        gint quit; /* atomic: quit() was called */
        char describe[64];
};

struct GuiloopWatch {
        GSource source;
        gpointer tag;
        GuiloopFdFn fn;
        void *data;
        int fd;
};

struct GuiloopTimer {
        GSource source;
        GuiloopFn fn;
        void *data;
};

/* ---- posted calls ---- */

static gboolean post_prepare(GSource *source, gint *timeout)
{
        PostSource *p = (PostSource *)source;
        gboolean ready;

        *timeout = -1;
        g_mutex_lock(&p->lock);
        ready = p->head != NULL;
        g_mutex_unlock(&p->lock);
        return ready;
}

static gboolean post_check(GSource *source)
{
        gint timeout;

        return post_prepare(source, &timeout);
}

static gboolean post_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        PostSource *p = (PostSource *)source;
        Call *c;

        (void)callback;
        (void)user_data;
        /* One call per iteration: the toolkit's own events get their turn between two. */
        g_mutex_lock(&p->lock);
        c = p->head;
        if (c) {
                p->head = c->next;
                if (!p->head)
                        p->tail = NULL;
        }
        g_mutex_unlock(&p->lock);
        if (c) {
                c->fn(c->data);
                free(c);
        }
        return G_SOURCE_CONTINUE;
}

static void post_finalize(GSource *source)
{
        PostSource *p = (PostSource *)source;

        while (p->head) {
                Call *c = p->head;

                p->head = c->next;
                free(c);
        }
        g_mutex_clear(&p->lock);
}

static GSourceFuncs post_funcs = {
        .prepare = post_prepare,
        .check = post_check,
        .dispatch = post_dispatch,
        .finalize = post_finalize,
};

static int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        PostSource *p = loop->posts;
        Call *c = malloc(sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->next = NULL;
        c->fn = fn;
        c->data = data;
        g_mutex_lock(&p->lock);
        if (p->tail)
                p->tail->next = c;
        else
                p->head = c;
        p->tail = c;
        g_mutex_unlock(&p->lock);
        g_main_context_wakeup(loop->context);
        return 0;
}

/* ---- run and quit ---- */

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

/* ---- fd watches and timers for a guest ---- */

static gushort to_condition(unsigned events)
{
        return (gushort)(((events & GUILOOP_FD_IN) ? G_IO_IN : 0) |
                         ((events & GUILOOP_FD_OUT) ? G_IO_OUT : 0));
}

static gboolean watch_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        GuiloopWatch *w = (GuiloopWatch *)source;
        GIOCondition cond = g_source_query_unix_fd(source, w->tag);
        unsigned events = 0;

        (void)callback;
        (void)user_data;
        if (cond & G_IO_IN)
                events |= GUILOOP_FD_IN;
        if (cond & G_IO_OUT)
                events |= GUILOOP_FD_OUT;
        if (cond & (G_IO_ERR | G_IO_NVAL))
                events |= GUILOOP_FD_ERR;
        if (cond & G_IO_HUP)
                events |= GUILOOP_FD_HUP;
        if (events)
                w->fn(w->data, w->fd, events);
        return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = { .dispatch = watch_dispatch };

static int loop_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn,
                          void *data, GuiloopWatch **out)
{
        GuiloopWatch *w = (GuiloopWatch *)g_source_new(&watch_funcs, sizeof(*w));

        w->fn = fn;
        w->data = data;
        w->fd = fd;
        w->tag = g_source_add_unix_fd(&w->source, fd, to_condition(events));
        g_source_set_name(&w->source, "guiloop fd watch");
        g_source_attach(&w->source, loop->context);
        *out = w;
        return 0;
}

static int loop_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events)
{
        (void)loop;
        g_source_modify_unix_fd(&w->source, w->tag, to_condition(events));
        return 0;
}

static void loop_watch_remove(GuiloopLoop *loop, GuiloopWatch *w)
{
        (void)loop;
        g_source_destroy(&w->source);
        g_source_unref(&w->source);
}

static gboolean timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        GuiloopTimer *t = (GuiloopTimer *)source;

        (void)callback;
        (void)user_data;
        /* One-shot: gone before fn runs, so fn may add the next one. */
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
        g_source_set_name(&t->source, "guiloop timer");
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

/* ---- life ---- */

static const char *loop_describe(GuiloopLoop *loop)
{
        snprintf(loop->describe, sizeof(loop->describe), "GTK %u.%u.%u", gtk_get_major_version(),
                 gtk_get_minor_version(), gtk_get_micro_version());
        return loop->describe;
}

static void loop_free(GuiloopLoop *loop)
{
        g_source_destroy(&loop->posts->source);
        g_source_unref(&loop->posts->source);
        /* GTK cannot be torn down and started again; what it holds goes with the process. */
        free(loop);
}

static const GuiloopLoopOps loop_ops = {
        .version = GUILOOP_LOOP_OPS_VERSION,
        .size = sizeof(GuiloopLoopOps),
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
        if (!gtk_init_check(NULL, NULL)) {
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
        loop->posts = (PostSource *)g_source_new(&post_funcs, sizeof(PostSource));
        g_mutex_init(&loop->posts->lock);
        g_source_set_name(&loop->posts->source, "guiloop posted calls");
        /* Below GTK's redraws (HIGH_IDLE + 20): a long queue never starves the GUI. */
        g_source_set_priority(&loop->posts->source, G_PRIORITY_DEFAULT_IDLE);
        g_source_attach(&loop->posts->source, loop->context);
        *out = loop;
        *ops = &loop_ops;
        return 0;
}

static const GuiloopPlugin plugin = {
        .abi = GUILOOP_PLUGIN_ABI,
        .size = sizeof(GuiloopPlugin),
        .name = "gtk",
        .description = "GTK 3 main loop (gtk_main)",
        .loop_new = loop_new,
};

GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)
{
        return &plugin;
}
