/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static bool verbose;
static bool journal;
/*
 * The stderr guiloopd was started with, duplicated above 2 at the first
 * log_setup(): executed code may close or reopen fds 1 and 2 (os.close(2);
 * open(...) took fd 2 and got the next log line), never this one.
 */
static int log_fd = STDERR_FILENO;

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
        static bool done;

        verbose = v;
        if (done)
                return;
        done = true;
        journal = stderr_is_journal();
        if (fcntl(STDERR_FILENO, F_GETFD) >= 0) {
                int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

                if (fd >= 0)
                        log_fd = fd;
        }
}

int log_get_fd(void)
{
        return log_fd;
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
        (void)!write(log_fd, line, n);
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

void log_raw_async(int prio, const char *text, size_t len)
{
        char prefix[4] = { '<', (char)('0' + (prio & 7)), '>', 0 };
        struct iovec iov[4] = {
                { .iov_base = prefix, .iov_len = journal ? 3 : 0 },
                { .iov_base = (char *)"guiloopd: ", .iov_len = 10 },
                { .iov_base = (char *)text, .iov_len = len },
                { .iov_base = (char *)"\n", .iov_len = 1 },
        };

        (void)!writev(log_fd, iov, 4);
}
