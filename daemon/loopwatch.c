/* SPDX-License-Identifier: MIT */
#include "loopwatch.h"

#include <stdatomic.h>

#include "util.h"

/* 0 while the GUI thread waits in its loop, else when it left (now_usec()). */
static _Atomic uint64_t away_since_usec;

void loopwatch_idle(void)
{
        atomic_store_explicit(&away_since_usec, 0, memory_order_release);
}

void loopwatch_busy(void)
{
        uint64_t t = now_usec();

        atomic_store_explicit(&away_since_usec, t ? t : 1, memory_order_release);
}

uint32_t loopwatch_blocked_ms(void)
{
        uint64_t since = atomic_load_explicit(&away_since_usec, memory_order_acquire);
        uint64_t now, ms;

        if (!since)
                return 0;
        now = now_usec();
        ms = now > since ? (now - since) / 1000u : 0;
        return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

bool loopwatch_away(void)
{
        return atomic_load_explicit(&away_since_usec, memory_order_acquire) != 0;
}
