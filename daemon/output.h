/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spare.h"
#include "util.h"

enum { OUTPUT_STDOUT, OUTPUT_STDERR, OUTPUT_N_STREAMS };

/*
 * What one execution printed, per stream, bounded: past max bytes a stream
 * only counts what it drops.  Writers may be any thread; the lock is there
 * so that a reader (the bus thread streaming the Output signal) can take
 * what is new while the execution runs.
 */
typedef struct Output Output;

/*
 * Called, from the writing thread, when a stream gets text after the last
 * output_take(): once per batch, so a reader can coalesce.  Never with the
 * lock held.
 */
typedef void (*OutputNotify)(void *data);

int output_new(Output **out, uint64_t max);
void output_set_notify(Output *o, OutputNotify fn, void *data);
Output *output_free(Output *o);
DEFINE_CLEANUP(Output *, output_free);

/*
 * A stream that needs a large buffer takes spare's block when one is ready
 * (its pages mapped ahead); spare outlives o.
 */
void output_set_spare(Output *o, Spare *spare);

/*
 * Background output (execution 0): output_take() forgets what it handed
 * out, so the buffer holds only what waits for the next Output signal.
 */
void output_set_rolling(Output *o);

/* Append bytes; whatever cannot travel in a D-Bus string is escaped first. */
void output_write(Output *o, int stream, const char *text, size_t len);

/*
 * Room for n more bytes of stream (as far as the bound lets), in one
 * allocation: a large text about to be written in pieces is not copied
 * again each time the buffer doubles.
 */
void output_reserve(Output *o, int stream, size_t n);

/*
 * Up to n bytes read from fd (non-blocking) appended to stream, read
 * straight into the kept text: no copy in between when they are valid UTF-8
 * (nearly always; else they go through output_write).  carry[0..*carry_len)
 * (the incomplete UTF-8 sequence the last read ended with) goes first, and
 * what this read ends with that is incomplete becomes the new carry.
 * Returns what read() returned; -1 with errno ENOSPC when nothing was read
 * because the bytes cannot go in place (the stream is near its bound, or
 * finished, or rolling): the caller reads them and uses output_write().
 */
ssize_t output_read(Output *o, int stream, int fd, size_t n, char carry[4], size_t *carry_len);

/*
 * What each stream kept since the last take, malloc'd into texts[stream]
 * (NULL when nothing); false when there was nothing at all.
 */
bool output_take(Output *o, char *texts[OUTPUT_N_STREAMS]);

/*
 * The stream's final text, malloc'd: what was kept, then the line saying how
 * many bytes were dropped (if any), then tail (e.g. a traceback; NULL for
 * none), itself cut to its last max bytes.  The line and the tail become part
 * of the stream, so the next output_take() hands them out too (the last
 * Output signal of an execution ends as its reply does).  Once per stream:
 * a second call returns a copy of the same text and ignores tail.
 *
 * The first call hands over the stream's own buffer, without a copy: the
 * Output reads it still (output_take, a second output_finish), so the caller
 * frees it only after the last of those, and output_free() leaves it alone.
 */
char *output_finish(Output *o, int stream, const char *tail);

/*
 * text as a valid UTF-8 string without NUL, malloc'd: a NUL or a byte that is
 * not part of valid UTF-8 becomes \xNN, as Python's backslashreplace does.
 */
char *text_escape(const char *text, size_t len);

/* The longest prefix of text[0..len), at most max bytes, that ends on a character boundary. */
size_t utf8_cut(const char *text, size_t len, size_t max);

/* Bytes at the end of text that begin a UTF-8 sequence not complete yet (0 to 3). */
size_t text_incomplete_tail(const char *text, size_t len);
