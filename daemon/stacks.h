/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Every Python thread's stack, GUI thread first, as tracebacks (most recent
 * call last), malloc'd.  Needs no GIL: faulthandler's dump reads the thread
 * states as a crash handler does, so it answers while the GUI thread sits in
 * a C call that holds the GIL.  gui: the GUI thread's Python thread id; skip:
 * a thread to leave out (the assist thread), 0 for none.  Python must be
 * initialised.
 */
char *stacks_dump(unsigned long gui, unsigned long skip);

/* The formatting alone, on faulthandler's text (for the unit tests). */
char *stacks_format(const char *dump, unsigned long gui, unsigned long skip);
