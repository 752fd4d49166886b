/* SPDX-License-Identifier: MIT */
/*
 * The FIFO behind plugin.h's post() in the C plugins (tk, and the GLib
 * sources of gtk and wx): any thread pushes, the loop's thread pops.  Each
 * plugin includes its own copy; nothing here is exported.
 */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "guiloop/plugin.h"

typedef struct Call {
        struct Call *next;
        GuiloopFn fn;
        void *data;
} Call;

typedef struct Calls {
        pthread_mutex_t lock;
        Call *head, *tail;
} Calls;

static inline void calls_init(Calls *q)
{
        pthread_mutex_init(&q->lock, NULL);
        q->head = q->tail = NULL;
}

/* Drops the calls not run. */
static inline void calls_clear(Calls *q)
{
        while (q->head) {
                Call *c = q->head;

                q->head = c->next;
                free(c);
        }
        q->tail = NULL;
        pthread_mutex_destroy(&q->lock);
}

/* Any thread.  0 or -ENOMEM; the caller wakes the loop. */
static inline int calls_push(Calls *q, GuiloopFn fn, void *data)
{
        Call *c = malloc(sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->next = NULL;
        c->fn = fn;
        c->data = data;
        pthread_mutex_lock(&q->lock);
        if (q->tail)
                q->tail->next = c;
        else
                q->head = c;
        q->tail = c;
        pthread_mutex_unlock(&q->lock);
        return 0;
}

/* Run the oldest call, if any; true if one ran.  *more: calls still wait. */
static inline bool calls_run_one(Calls *q, bool *more)
{
        Call *c;

        pthread_mutex_lock(&q->lock);
        c = q->head;
        if (c) {
                q->head = c->next;
                if (!q->head)
                        q->tail = NULL;
        }
        pthread_mutex_unlock(&q->lock);
        if (c) {
                c->fn(c->data);
                free(c);
        }
        pthread_mutex_lock(&q->lock);
        *more = q->head != NULL;
        pthread_mutex_unlock(&q->lock);
        return c != NULL;
}

static inline bool calls_pending(Calls *q)
{
        bool pending;

        pthread_mutex_lock(&q->lock);
        pending = q->head != NULL;
        pthread_mutex_unlock(&q->lock);
        return pending;
}
