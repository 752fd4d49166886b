/* SPDX-License-Identifier: MIT */
#include "glib-sources.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct Call {
        struct Call *next;
        GuiloopFn fn;
        void *data;
} Call;

struct GlibPosts {
        GSource source;
        GMainContext *context;
        GuiloopFn after_call;
        void *after_data;
        GMutex lock;
        Call *head, *tail;
        bool sit_out; /* loop's thread: the last call's own work goes first */
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

static gboolean posts_prepare(GSource *source, gint *timeout)
{
        GlibPosts *p = (GlibPosts *)source;
        gboolean ready;

        *timeout = -1;
        g_mutex_lock(&p->lock);
        ready = p->head != NULL;
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
        GlibPosts *p = (GlibPosts *)source;
        Call *c;

        (void)callback;
        (void)user_data;
        /*
         * GLib dispatches every ready source of one priority in an iteration,
         * in the order they were attached, ours first: sitting this one out
         * lets the sources the last call attached run before the next call.
         */
        if (p->sit_out) {
                p->sit_out = false;
                return G_SOURCE_CONTINUE;
        }
        g_mutex_lock(&p->lock);
        c = p->head;
        if (c) {
                p->head = c->next;
                if (!p->head)
                        p->tail = NULL;
        }
        g_mutex_unlock(&p->lock);
        if (!c)
                return G_SOURCE_CONTINUE;
        c->fn(c->data);
        free(c);
        if (p->after_call)
                p->after_call(p->after_data);
        g_mutex_lock(&p->lock);
        p->sit_out = p->head != NULL;
        g_mutex_unlock(&p->lock);
        return G_SOURCE_CONTINUE;
}

static void posts_finalize(GSource *source)
{
        GlibPosts *p = (GlibPosts *)source;

        while (p->head) {
                Call *c = p->head;

                p->head = c->next;
                free(c);
        }
        g_mutex_clear(&p->lock);
}

static GSourceFuncs posts_funcs = {
        .prepare = posts_prepare,
        .check = posts_check,
        .dispatch = posts_dispatch,
        .finalize = posts_finalize,
};

GlibPosts *glib_posts_new(GMainContext *context, int priority, GuiloopFn after_call,
                          void *after_data)
{
        GlibPosts *p = (GlibPosts *)g_source_new(&posts_funcs, sizeof(GlibPosts));

        p->context = context;
        p->after_call = after_call;
        p->after_data = after_data;
        g_mutex_init(&p->lock);
        g_source_set_name(&p->source, "guiloop posted calls");
        g_source_set_priority(&p->source, priority);
        g_source_attach(&p->source, context);
        return p;
}

int glib_posts_push(GlibPosts *p, GuiloopFn fn, void *data)
{
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
        g_main_context_wakeup(p->context);
        return 0;
}

void glib_posts_free(GlibPosts *p)
{
        g_source_destroy(&p->source);
        g_source_unref(&p->source);
}

/* ---- fd watches ---- */

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

int glib_watch_add(GMainContext *context, int fd, unsigned events, GuiloopFdFn fn, void *data,
                   GuiloopWatch **out)
{
        GuiloopWatch *w = (GuiloopWatch *)g_source_new(&watch_funcs, sizeof(*w));

        w->fn = fn;
        w->data = data;
        w->fd = fd;
        w->tag = g_source_add_unix_fd(&w->source, fd, to_condition(events));
        g_source_set_name(&w->source, "guiloop fd watch");
        g_source_attach(&w->source, context);
        *out = w;
        return 0;
}

int glib_watch_update(GuiloopWatch *w, unsigned events)
{
        g_source_modify_unix_fd(&w->source, w->tag, to_condition(events));
        return 0;
}

void glib_watch_remove(GuiloopWatch *w)
{
        g_source_destroy(&w->source);
        g_source_unref(&w->source);
}

/* ---- one-shot timers ---- */

static gboolean timer_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        GuiloopTimer *t = (GuiloopTimer *)source;

        (void)callback;
        (void)user_data;
        /* Gone before fn runs, so fn may add the next one. */
        g_source_destroy(source);
        t->fn(t->data);
        g_source_unref(source);
        return G_SOURCE_REMOVE;
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

int glib_timer_add(GMainContext *context, uint64_t usec, GuiloopFn fn, void *data,
                   GuiloopTimer **out)
{
        GuiloopTimer *t = (GuiloopTimer *)g_source_new(&timer_funcs, sizeof(*t));

        t->fn = fn;
        t->data = data;
        g_source_set_name(&t->source, "guiloop timer");
        g_source_set_ready_time(&t->source, g_get_monotonic_time() + (gint64)usec);
        g_source_attach(&t->source, context);
        if (out)
                *out = t;
        return 0;
}

void glib_timer_remove(GuiloopTimer *t)
{
        g_source_destroy(&t->source);
        g_source_unref(&t->source);
}
