/* SPDX-License-Identifier: MIT */
#include "spare.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

struct Spare {
        pthread_mutex_t lock;
        size_t size;
        char *block; /* NULL: none ready */
        bool wanted;
};

int spare_new(Spare **out, size_t size)
{
        Spare *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        s->size = size;
        *out = s;
        return 0;
}

Spare *spare_free(Spare *s)
{
        if (!s)
                return NULL;
        free(s->block);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

char *spare_take(Spare *s, size_t need, size_t *size)
{
        char *block;

        if (need > s->size)
                return NULL;
        pthread_mutex_lock(&s->lock);
        block = steal_pointer(&s->block);
        s->wanted = true;
        pthread_mutex_unlock(&s->lock);
        *size = s->size;
        return block;
}

bool spare_wanted(Spare *s)
{
        bool wanted;

        pthread_mutex_lock(&s->lock);
        wanted = s->wanted;
        pthread_mutex_unlock(&s->lock);
        return wanted;
}

void page_populate(char *at, size_t n)
{
#ifdef MADV_POPULATE_WRITE
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t from = ((uintptr_t)at + page - 1) & ~(page - 1);
        uintptr_t to = ((uintptr_t)at + n) & ~(page - 1);

        if (to > from)
                (void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
        (void)at;
        (void)n;
#endif
}

void spare_refill(Spare *s)
{
        char *block;
        bool make;

        pthread_mutex_lock(&s->lock);
        make = s->wanted && !s->block;
        s->wanted = false;
        pthread_mutex_unlock(&s->lock);
        if (!make)
                return;
        /* Outside the lock: a writer that wants the block meanwhile grows its own. */
        block = malloc(s->size);
        if (!block)
                return;
        page_populate(block, s->size);
        pthread_mutex_lock(&s->lock);
        if (!s->block)
                s->block = steal_pointer(&block);
        pthread_mutex_unlock(&s->lock);
        free(block);
}
