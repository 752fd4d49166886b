/* SPDX-License-Identifier: MIT */
#include "bus-deadline.h"

#include "util.h"

void deadlines_started(Deadlines *d, uint64_t id, uint64_t started, double timeout)
{
        d->timeout_id = id;
        d->timeout_due = timeout > 0 ? started + usec_from_seconds(timeout) : 0;
}

#define RETRY_FIRST_USEC 10000u
#define RETRY_MAX_USEC 1000000u

void deadlines_interrupted(Deadlines *d, uint64_t id, uint64_t now, bool retry)
{
        if (!id)
                return;
        if (!retry || d->retry_id != id)
                d->retry_step = RETRY_FIRST_USEC;
        else if (d->retry_step < RETRY_MAX_USEC)
                d->retry_step = d->retry_step * 2 < RETRY_MAX_USEC ? d->retry_step * 2 :
                                                                      RETRY_MAX_USEC;
        d->retry_id = id;
        d->retry_due = now + d->retry_step;
}

void deadlines_finished(Deadlines *d, uint64_t id)
{
        if (d->retry_id == id) {
                d->retry_id = 0;
                d->retry_due = 0;
        }
        if (d->timeout_id == id) {
                d->timeout_id = 0;
                d->timeout_due = 0;
        }
}

bool deadlines_shutdown(Deadlines *d, uint64_t now)
{
        if (d->shutting_down)
                return false;
        d->shutting_down = true;
        d->grace_due = now + usec_from_seconds(d->grace);
        if (d->grace_due == now)
                d->grace_due = now + 1;
        return true;
}

uint64_t deadlines_next(const Deadlines *d)
{
        uint64_t due = UINT64_MAX;

        if (d->timeout_due && d->timeout_due < due)
                due = d->timeout_due;
        if (d->grace_due && d->grace_due < due)
                due = d->grace_due;
        if (d->retry_due && d->retry_due < due)
                due = d->retry_due;
        return due;
}

DeadlineAction deadlines_check(Deadlines *d, uint64_t now, bool running, uint64_t *id)
{
        if (d->timeout_due && d->timeout_due <= now) {
                *id = d->timeout_id;
                d->timeout_due = 0;
                return DEADLINE_INTERRUPT;
        }
        if (d->retry_due && d->retry_due <= now) {
                *id = d->retry_id;
                d->retry_due = 0;
                return DEADLINE_REINTERRUPT;
        }
        if (d->grace_due && d->grace_due <= now) {
                /*
                 * An execution that ignores its interrupt holds the loop; else
                 * Python's finalization (atexit, joining threads) gets as long
                 * again, at least a second, before we stop anyway.
                 */
                if (running || d->grace_final) {
                        d->grace_due = 0;
                        return DEADLINE_EXIT;
                }
                d->grace_final = true;
                d->grace_due = now + usec_from_seconds(d->grace > 1 ? d->grace : 1);
        }
        return DEADLINE_NONE;
}
