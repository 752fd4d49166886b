/* SPDX-License-Identifier: MIT */
#include "glib-sources.h"

#include "calls.h"

struct GlibPosts {
        GSource source;
        GMainContext *context;
        GuiloopFn after_call;
        void *after_data;
        Calls calls;
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

/* ---- waits ---- */

static const GuiloopHost *wait_host;
static GPollFunc wait_poll_next;

static gint report_poll(GPollFD *fds, guint nfds, gint timeout)
{
        gint r;

        wait_host->loop_idle(wait_host->data);
        r = wait_poll_next(fds, nfds, timeout);
        wait_host->loop_busy(wait_host->data);
        return r;
}

void glib_report_waits(GMainContext *context, const GuiloopHost *host)
{
        if (!GUILOOP_HOST_HAS(host, loop_idle) || !GUILOOP_HOST_HAS(host, loop_busy) || wait_host)
                return;
        wait_host = host;
        wait_poll_next = g_main_context_get_poll_func(context);
        g_main_context_set_poll_func(context, report_poll);
}

/* ---- posted calls ---- */

static gboolean posts_prepare(GSource *source, gint *timeout)
{
        *timeout = -1;
        return calls_pending(&((GlibPosts *)source)->calls);
}

static gboolean posts_check(GSource *source)
{
        gint timeout;

        return posts_prepare(source, &timeout);
}

static gboolean posts_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
        GlibPosts *p = (GlibPosts *)source;
        bool more;

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
        if (calls_run_one(&p->calls, &more)) {
                if (p->after_call)
                        p->after_call(p->after_data);
                p->sit_out = more;
        }
        return G_SOURCE_CONTINUE;
}

static void posts_finalize(GSource *source)
{
        calls_clear(&((GlibPosts *)source)->calls);
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
        calls_init(&p->calls);
        g_source_set_name(&p->source, "guiloop posted calls");
        g_source_set_priority(&p->source, priority);
        g_source_attach(&p->source, context);
        return p;
}

int glib_posts_push(GlibPosts *p, GuiloopFn fn, void *data)
{
        int r = calls_push(&p->calls, fn, data);

        if (r == 0)
                g_main_context_wakeup(p->context);
        return r;
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

int glib_timer_add(GMainContext *context, uint64_t usec, int now_priority, GuiloopFn fn,
                   void *data, GuiloopTimer **out)
{
        GuiloopTimer *t = (GuiloopTimer *)g_source_new(&timer_funcs, sizeof(*t));

        t->fn = fn;
        t->data = data;
        g_source_set_name(&t->source, "guiloop timer");
        /* Due now: at the posts' priority.  A due timer of the default
         * priority comes before every idle source, on every turn: one that
         * kept re-adding itself starved posts and redraws alike. */
        if (usec == 0)
                g_source_set_priority(&t->source, now_priority);
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
