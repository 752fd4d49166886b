/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/*
 * One large block whose pages are mapped already, for the next output that
 * needs a large stream buffer.
 *
 * Until execution.keep_results results are kept, every large output lands
 * in memory nothing has touched yet: for 1 MB that is 256 page faults, or
 * one MADV_POPULATE_WRITE of 137 us (measured), on the way to the reply.
 * With a spare, the stream takes the block ready-made, and the capture
 * thread maps the next one after the reply has left (spare_refill).
 *
 * The lock only guards the pointer: taking the block is a pointer swap.
 */
typedef struct Spare Spare;

/* A spare of size bytes; none is made until one was asked for. */
int spare_new(Spare **out, size_t size);
Spare *spare_free(Spare *s);
DEFINE_CLEANUP(Spare *, spare_free);

/*
 * Any thread: the block, malloc'd, when need fits in it (*size: its size);
 * NULL when need is too large or no block is ready, which asks for one.
 */
char *spare_take(Spare *s, size_t need, size_t *size);

/* Any thread: was a block taken, or asked for, since the last spare_refill? */
bool spare_wanted(Spare *s);

/* The pages of at[0..n) mapped now: one call, not a fault per page.  Best effort. */
void page_populate(char *at, size_t n);

/*
 * A new block with its pages mapped, when one is wanted: the calling
 * thread pays for the page faults, so never the one sending a reply.
 */
void spare_refill(Spare *s);
