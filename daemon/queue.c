/* SPDX-License-Identifier: MIT */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct Node {
        struct Node *next;
        void *item;
} Node;

struct Queue {
        pthread_mutex_t lock;
        Node *head, *tail;
        size_t length;
        size_t limit;
};

int queue_new(Queue **out, size_t limit)
{
        Queue *q = calloc(1, sizeof(*q));

        if (!q)
                return -ENOMEM;
        pthread_mutex_init(&q->lock, NULL);
        q->limit = limit;
        *out = q;
        return 0;
}

Queue *queue_free(Queue *q)
{
        if (!q)
                return NULL;
        while (q->head) {
                Node *n = q->head;

                q->head = n->next;
                free(n);
        }
        pthread_mutex_destroy(&q->lock);
        free(q);
        return NULL;
}

int queue_push(Queue *q, void *item)
{
        Node *n = malloc(sizeof(*n));

        if (!n)
                return -ENOMEM;
        n->next = NULL;
        n->item = item;

        pthread_mutex_lock(&q->lock);
        if (q->limit && q->length >= q->limit) {
                pthread_mutex_unlock(&q->lock);
                free(n);
                return QUEUE_E_FULL;
        }
        if (q->tail)
                q->tail->next = n;
        else
                q->head = n;
        q->tail = n;
        q->length++;
        pthread_mutex_unlock(&q->lock);
        return 0;
}

void *queue_pop(Queue *q)
{
        Node *n;
        void *item;

        pthread_mutex_lock(&q->lock);
        n = q->head;
        if (n) {
                q->head = n->next;
                if (!q->head)
                        q->tail = NULL;
                q->length--;
        }
        pthread_mutex_unlock(&q->lock);
        if (!n)
                return NULL;
        item = n->item;
        free(n);
        return item;
}

size_t queue_length(Queue *q)
{
        size_t n;

        pthread_mutex_lock(&q->lock);
        n = q->length;
        pthread_mutex_unlock(&q->lock);
        return n;
}

bool queue_remove(Queue *q, void *item)
{
        Node *prev = NULL, *n;

        pthread_mutex_lock(&q->lock);
        for (n = q->head; n && n->item != item; n = n->next)
                prev = n;
        if (n) {
                if (prev)
                        prev->next = n->next;
                else
                        q->head = n->next;
                if (q->tail == n)
                        q->tail = prev;
                q->length--;
        }
        pthread_mutex_unlock(&q->lock);
        free(n);
        return n != NULL;
}
