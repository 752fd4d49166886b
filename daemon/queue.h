/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Documented conditions (positive return codes). */
enum {
        QUEUE_E_FULL = 1, /* the queue holds its limit already */
};

/*
 * A thread-safe FIFO of pointers, optionally bounded.  It never blocks and
 * never wakes anybody: whoever pushes says so to the consumer its own way
 * (a loop's post(), an eventfd).
 */
typedef struct Queue Queue;

/* limit 0: unbounded. */
int queue_new(Queue **out, size_t limit);
/* Frees the queue; items still in it are the caller's to have drained. */
Queue *queue_free(Queue *q);
DEFINE_CLEANUP(Queue *, queue_free);

int queue_push(Queue *q, void *item);
/* The oldest item, or NULL when empty. */
void *queue_pop(Queue *q);
size_t queue_length(Queue *q);
/* Take item out wherever it is in the queue; false when it is not there. */
bool queue_remove(Queue *q, void *item);
