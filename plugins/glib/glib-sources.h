/* SPDX-License-Identifier: MIT */
/*
 * GLib sources behind plugin.h's post(), fd watch and timer, for the
 * plugins whose toolkit runs on a GMainContext: gtk, and wx (wxGTK).
 * Linked into each of those plugins; all symbols stay hidden there.
 */
#pragma once

#include <glib.h>

#include "guiloop/plugin.h"

G_BEGIN_DECLS

typedef struct GlibPosts GlibPosts;

/*
 * A source running posted calls on context at priority: one call per loop
 * iteration, and after a call the source sits out one iteration, so that
 * what the call itself scheduled at the same priority (an idle, wx's
 * pending events) runs before the next call, as it would after a toolkit
 * event handler.  after_call(after_data) runs after each call (NULL: none).
 * g_main_context_wakeup() wakes the loop for a new call: nothing polls.
 */
GlibPosts *glib_posts_new(GMainContext *context, int priority, GuiloopFn after_call,
                          void *after_data);
/* Any thread; FIFO.  0 or -ENOMEM. */
int glib_posts_push(GlibPosts *p, GuiloopFn fn, void *data);
/* Loop's thread; calls not run are dropped. */
void glib_posts_free(GlibPosts *p);

int glib_watch_add(GMainContext *context, int fd, unsigned events, GuiloopFdFn fn, void *data,
                   GuiloopWatch **out);
int glib_watch_update(GuiloopWatch *w, unsigned events);
void glib_watch_remove(GuiloopWatch *w);

/*
 * One-shot, microsecond ready time on the monotonic clock.  A timer of 0
 * gets now_priority, the loop's posted calls' (plugin.h: a 0 timer never
 * starves them); others the default priority, as g_timeout_add()'s.
 */
int glib_timer_add(GMainContext *context, uint64_t usec, int now_priority, GuiloopFn fn,
                   void *data, GuiloopTimer **out);
void glib_timer_remove(GuiloopTimer *t);

/*
 * Tell the host when the loop's thread waits and when it leaves the wait
 * (plugin.h, loop_idle/loop_busy): a poll function around GLib's own on
 * context, so every loop on it counts, nested ones (g_main_loop_run,
 * gtk_dialog_run, Qt's GLib event dispatcher, wx's gtk_main) included.
 * Nothing when the host is too old to have those.  Loop's thread.
 */
void glib_report_waits(GMainContext *context, const GuiloopHost *host);

G_END_DECLS
