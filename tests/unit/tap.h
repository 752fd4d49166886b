/* SPDX-License-Identifier: MIT */
/* A minimal TAP producer for the unit tests (meson test protocol: 'tap'). */
#pragma once

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 4, 5)))
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
        va_list ap;

        tap_count++;
        printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
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
