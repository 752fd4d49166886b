/* SPDX-License-Identifier: MIT */
#include "crash.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"

static const struct {
        int sig;
        const char *name;
} fatal[] = {
        { SIGSEGV, "SIGSEGV" }, { SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" },
        { SIGILL, "SIGILL" },   { SIGABRT, "SIGABRT" }, { SIGTRAP, "SIGTRAP" },
        { SIGSYS, "SIGSYS" },
};

/* A signal handler reaches state only through globals. */
static struct sigaction previous[(sizeof(fatal) / sizeof(fatal[0]))];
static atomic_uint_fast64_t running;

void crash_set_execution(uint64_t id)
{
        atomic_store(&running, id);
}

/* Decimal digits of v at the end of buf; returns where they start. */
static char *format_u64(char *end, uint64_t v)
{
        *--end = 0;
        do
                *--end = (char)('0' + v % 10);
        while (v /= 10);
        return end;
}

static size_t append(char *buf, size_t n, size_t cap, const char *s)
{
        while (*s && n < cap)
                buf[n++] = *s++;
        return n;
}

static void on_fatal(int sig, siginfo_t *si, void *context)
{
        uint64_t id = atomic_load(&running);
        char line[160], num[24];
        size_t n = 0, i;

        (void)si;
        (void)context;
        for (i = 0; i < (sizeof(fatal) / sizeof(fatal[0])) && fatal[i].sig != sig; i++)
                ;
        n = append(line, n, sizeof(line), "fatal signal ");
        n = append(line, n, sizeof(line), i < (sizeof(fatal) / sizeof(fatal[0])) ? fatal[i].name : "?");
        n = append(line, n, sizeof(line), " (");
        n = append(line, n, sizeof(line), format_u64(num + sizeof(num), (uint64_t)sig));
        n = append(line, n, sizeof(line), ")");
        if (id) {
                n = append(line, n, sizeof(line), " during execution ");
                n = append(line, n, sizeof(line), format_u64(num + sizeof(num), id));
        } else {
                n = append(line, n, sizeof(line), " while no execution ran");
        }
        n = append(line, n, sizeof(line), "; guiloopd dies");
        log_raw_async(LOG_PRIO_ERR, line, n);

        /*
         * Whoever handled it before us (faulthandler, a sanitizer) or the
         * default action: the signal is blocked until we return, then a
         * raised one is delivered and a fault happens again.
         */
        if (i < (sizeof(fatal) / sizeof(fatal[0])))
                sigaction(sig, &previous[i], NULL);
        else
                signal(sig, SIG_DFL);
        if (!si || si->si_code <= 0)
                raise(sig); /* sent by kill(), raise() or abort(): it will not recur */
}

void crash_install(void)
{
        static char altstack[64 * 1024];
        struct sigaction sa;
        stack_t ss;

        /* A stack overflow needs a stack to report on (the main thread's own). */
        if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
                ss = (stack_t){ .ss_sp = altstack, .ss_size = sizeof(altstack) };
                (void)sigaltstack(&ss, NULL);
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_fatal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < (sizeof(fatal) / sizeof(fatal[0])); i++)
                if (sigaction(fatal[i].sig, &sa, &previous[i]) < 0)
                        previous[i].sa_handler = SIG_DFL;
}
