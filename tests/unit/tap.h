/* SPDX-License-Identifier: MIT */
/* A minimal TAP producer for the unit tests (meson test protocol: 'tap'). */
#pragma once

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 4, 5)))
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
        char text[2048];
        va_list ap;

        tap_count++;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        /* One line per result: a newline in the description would break TAP. */
        printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
        for (const char *p = text; *p; p++)
                fputs(*p == '\n' ? "\\n" : (char[]){ *p, 0 }, stdout);
        printf("\n");
        if (!cond) {
                tap_failed++;
                printf("# failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return cond;
}

/* ok(condition, "what is checked", ...) */
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap_done(void)
{
        printf("1..%d\n", tap_count);
        return tap_failed ? 1 : 0;
}
