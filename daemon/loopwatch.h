/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether the GUI thread is in its toolkit's loop (waiting for events) or
 * away from it (running an execution, a GUI callback, a redraw): the
 * LoopBlockedMs property, and what Interrupt needs to know when no execution
 * runs.  The GUI thread reports; any thread reads.  Lock-free (atomics), so
 * the bus thread can read it while the GUI thread is stuck.
 */

/* GUI thread: it is back in its loop, about to wait for events. */
void loopwatch_idle(void);
/* GUI thread: it left its loop's wait to run something. */
void loopwatch_busy(void);
/* Any thread: milliseconds since the GUI thread left its loop; 0 while in it. */
uint32_t loopwatch_blocked_ms(void);
/* Any thread: the GUI thread is away from its loop right now. */
bool loopwatch_away(void);
