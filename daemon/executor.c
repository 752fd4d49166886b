/* SPDX-License-Identifier: MIT */
#include "executor.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>

struct Executor {
        ExecutorOps ops;
        size_t limit;
        uint64_t max_bytes;

        pthread_mutex_t lock; /* everything below */
        GQueue waiting;       /* Execution *, oldest first */
        uint64_t waiting_bytes;
        Execution *running;
        uint64_t interrupt_for; /* id of the execution an interrupt is meant for */
        unsigned deferred;      /* run_next calls that came while one ran (nested loop) */
        bool shutting_down;
        uint64_t next_id;
};

int executor_new(Executor **out, const ExecutorOps *ops, size_t limit, uint64_t bytes)
{
        Executor *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        x->ops = *ops;
        x->limit = limit;
        x->max_bytes = bytes;
        pthread_mutex_init(&x->lock, NULL);
        g_queue_init(&x->waiting);
        *out = x;
        return 0;
}

Executor *executor_free(Executor *x)
{
        Execution *e;

        if (!x)
                return NULL;
        while ((e = g_queue_pop_head(&x->waiting)))
                execution_free(e);
        pthread_mutex_destroy(&x->lock);
        free(x);
        return NULL;
}

/* Posted once per submitted execution; runs the oldest waiting one. */
static void run_next(void *data)
{
        Executor *x = data;
        unsigned deferred;
        Execution *e;

        pthread_mutex_lock(&x->lock);
        if (x->running) {
                /* Executed code runs a nested loop (Gtk.main(), mainloop()): never nest. */
                x->deferred++;
                pthread_mutex_unlock(&x->lock);
                return;
        }
        e = g_queue_pop_head(&x->waiting);
        if (e) {
                x->waiting_bytes -= e->bytes;
                if (x->shutting_down)
                        e->status = EXECUTION_E_SHUTTING_DOWN;
                else
                        x->running = e;
        }
        pthread_mutex_unlock(&x->lock);
        if (!e)
                return;
        if (e->status) {
                x->ops.finished(x->ops.data, e);
                return;
        }

        e->started_usec = now_usec();
        x->ops.started(x->ops.data, e);
        x->ops.run(x->ops.data, e);
        e->finished_usec = now_usec();

        pthread_mutex_lock(&x->lock);
        x->running = NULL;
        x->interrupt_for = 0;
        deferred = x->deferred;
        x->deferred = 0;
        pthread_mutex_unlock(&x->lock);
        x->ops.finished(x->ops.data, e);
        while (deferred--)
                x->ops.post(x->ops.data, run_next, x);
}

int executor_submit(Executor *x, Execution *e)
{
        int r = 0;

        pthread_mutex_lock(&x->lock);
        if (x->shutting_down)
                r = EXECUTOR_E_SHUTTING_DOWN;
        else if ((x->limit && x->waiting.length >= x->limit) ||
                 (x->max_bytes && x->waiting.length > 0 &&
                  x->waiting_bytes + e->bytes > x->max_bytes))
                /* One execution may always wait, however large: max_output bounds it elsewhere. */
                r = EXECUTOR_E_QUEUE_FULL;
        if (r == 0) {
                e->id = ++x->next_id;
                g_queue_push_tail(&x->waiting, e);
                x->waiting_bytes += e->bytes;
        }
        pthread_mutex_unlock(&x->lock);
        if (r != 0)
                return r;
        /* One post per execution: the loop runs between two of them. */
        r = x->ops.post(x->ops.data, run_next, x);
        return r < 0 ? r : 0;
}

bool executor_interrupt(Executor *x, uint64_t id)
{
        bool interrupted = false;

        pthread_mutex_lock(&x->lock);
        if (x->running && (id == 0 || x->running->id == id)) {
                x->interrupt_for = x->running->id;
                interrupted = true;
                x->ops.interrupt(x->ops.data);
        } else if (!x->running && id == 0 && x->ops.interrupt_idle) {
                interrupted = x->ops.interrupt_idle(x->ops.data);
        }
        pthread_mutex_unlock(&x->lock);
        return interrupted;
}

static gint has_id(gconstpointer a, gconstpointer b)
{
        return ((const Execution *)a)->id == *(const uint64_t *)b ? 0 : 1;
}

bool executor_cancel(Executor *x, uint64_t id, int status)
{
        Execution *e = NULL;
        GList *link;

        pthread_mutex_lock(&x->lock);
        link = g_queue_find_custom(&x->waiting, &id, has_id);
        if (link) {
                e = link->data;
                g_queue_delete_link(&x->waiting, link);
                x->waiting_bytes -= e->bytes;
        }
        pthread_mutex_unlock(&x->lock);
        if (!e)
                return false;
        /* Its run_next post still comes; it finds the next one, or nothing. */
        e->status = status;
        x->ops.finished(x->ops.data, e);
        return true;
}

void executor_shutdown(Executor *x)
{
        Execution *e;

        pthread_mutex_lock(&x->lock);
        x->shutting_down = true;
        pthread_mutex_unlock(&x->lock);
        for (;;) {
                pthread_mutex_lock(&x->lock);
                e = g_queue_pop_head(&x->waiting);
                if (e)
                        x->waiting_bytes -= e->bytes;
                pthread_mutex_unlock(&x->lock);
                if (!e)
                        break;
                e->status = EXECUTION_E_SHUTTING_DOWN;
                x->ops.finished(x->ops.data, e);
        }
        executor_interrupt(x, 0);
}

uint64_t executor_running(Executor *x)
{
        uint64_t id;

        pthread_mutex_lock(&x->lock);
        id = x->running ? x->running->id : 0;
        pthread_mutex_unlock(&x->lock);
        return id;
}

size_t executor_queue_length(Executor *x)
{
        size_t n;

        pthread_mutex_lock(&x->lock);
        n = x->waiting.length;
        pthread_mutex_unlock(&x->lock);
        return n;
}

uint64_t executor_last_id(Executor *x)
{
        uint64_t id;

        pthread_mutex_lock(&x->lock);
        id = x->next_id;
        pthread_mutex_unlock(&x->lock);
        return id;
}

/* The running execution's id while an interrupt for it waits to be taken, else 0.  Lock held. */
static uint64_t untaken_locked(Executor *x)
{
        return x->running && x->interrupt_for == x->running->id ? x->interrupt_for : 0;
}

uint64_t executor_interrupt_untaken(Executor *x)
{
        uint64_t id;

        pthread_mutex_lock(&x->lock);
        id = untaken_locked(x);
        pthread_mutex_unlock(&x->lock);
        return id;
}

bool executor_interrupt_again(Executor *x, uint64_t id)
{
        bool again;

        pthread_mutex_lock(&x->lock);
        again = id && untaken_locked(x) == id;
        if (again)
                x->ops.interrupt(x->ops.data);
        pthread_mutex_unlock(&x->lock);
        return again;
}

bool executor_interrupt_wanted(Executor *x, bool take)
{
        bool wanted;

        pthread_mutex_lock(&x->lock);
        wanted = untaken_locked(x) != 0;
        if (wanted && take)
                x->interrupt_for = 0;
        pthread_mutex_unlock(&x->lock);
        return wanted;
}
