/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Tab in the console: Complete() on the input so far, the match put in, or
 * a list below the line when several match (as readline shows it).  Tab
 * where only blanks precede the cursor indents by four spaces, as IPython.
 */

#include <histedit.h>
#include <stdbool.h>

#include "bus-call.h"

typedef struct Completer {
        Client *c;
        const char *before; /* the cell's earlier lines, each with its newline */
        bool unavailable;   /* the daemon has no Complete: said once */
} Completer;

/* Binds Tab in el.  el's EL_CLIENTDATA must point to a struct whose first
 * member is the Completer (the console's). */
int completer_bind(EditLine *el);

/* Column width of the terminal on stdout, 80 when unknown. */
int terminal_width(void);

/* Characters (code points) in the first n bytes of UTF-8 text. */
int utf8_chars(const char *s, size_t n);
