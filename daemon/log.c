/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool verbose;
static bool journal;
/* Where lines go: stderr, or the copy of it kept while fds 1 and 2 are captured. */
static atomic_int log_to = STDERR_FILENO;

/* systemd sets $JOURNAL_STREAM to "DEV:INO" of the stream it connected to stderr. */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(bool v)
{
        verbose = v;
        journal = stderr_is_journal();
}

/* Write one line with a single write(2), so lines of two threads never mix. */
static void emit(int prio, const char *prefix, const char *text)
{
        char line[2048];
        size_t n = 0;

        if (journal)
                n = (size_t)snprintf(line, sizeof(line), "<%d>", prio);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", prefix);
        for (const char *p = text; *p && n < sizeof(line) - 2; p++)
                line[n++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
        line[n++] = '\n';
        (void)!write(atomic_load(&log_to), line, n);
}

void log_set_fd(int fd)
{
        atomic_store(&log_to, fd);
}

int log_fd(void)
{
        return atomic_load(&log_to);
}

void log_msgv(int prio, const char *fmt, va_list ap)
{
        char text[1800];

        if (prio >= LOG_PRIO_DEBUG && !verbose)
                return;
        vsnprintf(text, sizeof(text), fmt, ap);
        emit(prio, "guiloopd: ", text);
}

void log_msg(int prio, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_msgv(prio, fmt, ap);
        va_end(ap);
}

void log_raw(int prio, const char *text)
{
        emit(prio, "", text);
}
