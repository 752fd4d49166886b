/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* type_freep(&p) for a type_free(p) that returns NULL. */
#define DEFINE_CLEANUP(type, func)                                      \
        static inline void func##p(type *p)                             \
        {                                                               \
                if (*p)                                                 \
                        func(*p);                                       \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

/* Hand ownership over: returns *pp and clears it, so a cleanup does nothing. */
#define steal_pointer(pp)                                               \
        ({                                                              \
                __typeof__(*(pp)) steal_tmp = *(pp);                    \
                *(pp) = NULL;                                           \
                steal_tmp;                                              \
        })

static inline uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Seconds (config values) as microseconds, capped far beyond any real wait. */
static inline uint64_t usec_from_seconds(double s)
{
        if (!(s > 0))
                return 0;
        if (s > 1e9)
                s = 1e9;
        return (uint64_t)(s * 1e6);
}
