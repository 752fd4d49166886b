/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "util.h"

/*
 * File descriptors 1 and 2 as execution output, for the daemon's whole life
 * (execution.capture_fd), and background output.
 *
 * With capture on, fds 1 and 2 are the write ends of two pipes; the stderr
 * the daemon was started with is kept above 2 (close-on-exec) for the log
 * (log_set_fd), and C's stdout is line-buffered.  A capture thread of its
 * own reads both pipes as soon as anything arrives, so a writer never fills
 * a pipe and blocks for good (ipykernel's deadlock: a GUI thread that was
 * also the reader).  What arrives while an execution runs is its output;
 * otherwise it is background output.
 *
 * The GUI thread itself only ever takes what is already in a pipe, without
 * blocking (capture_end, capture_sync): at the end of an execution C's
 * buffers are flushed and what the pipes hold then is the execution's, and
 * before a Python write lands in an Output what fds got earlier goes first,
 * so `print("a"); os.write(1, b"b\n"); print("c")` keeps its order.
 *
 * Background output (what is printed while no execution of its own runs)
 * goes to an Output of its own that the bus sends as execution 0, and to the
 * log at info priority, "stdout: text", one line each; at most max bytes per
 * stream per second, the rest dropped and counted.
 */
typedef struct Capture Capture;

/* Main thread, before the toolkit starts; capture_fd false: background only. */
int capture_new(Capture **out, bool capture_fd, uint64_t max);

/*
 * Main thread, at the end (Python finalized): fds 1 and 2 are the daemon's
 * original ones again, the thread is joined, what the pipes still held is
 * background output.  The background Output stays until capture_free.
 */
void capture_stop(Capture *c);
Capture *capture_free(Capture *c);
DEFINE_CLEANUP(Capture *, capture_free);

/* The Output of execution 0 (rolling: it holds only what is pending). */
Output *capture_background(Capture *c);

/* GUI thread: what fds 1 and 2 get from now on is o's (the running execution). */
void capture_begin(Capture *c, Output *o);

/* GUI thread: C's buffers flushed, what the pipes hold is still o's; then background. */
void capture_end(Capture *c);

/*
 * GUI thread, once an execution's reply has left: if the execution took the
 * spare block for a large output, the capture thread maps the next one now,
 * off the reply's path (see spare.h).
 */
void capture_replied(Capture *c);

/* Any thread: what fds 1 and 2 got until now is filed before what is written next. */
void capture_sync(Capture *c);

/* Any thread: text printed while no execution of the writer's runs. */
void capture_background_write(Capture *c, int stream, const char *text, size_t len);
