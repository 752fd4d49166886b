/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Signal handlers can only reach state through globals; these are the only ones. */
static atomic_uint pending;
static int wake;
static pid_t self_pid;
static pthread_t gui;
/*
 * Python's SIGINT handler is our guard.  When executed code replaced it, it
 * may be SIG_DFL or SIG_IGN, and CPython 3.11's PyErr_SetInterruptEx()
 * then compares Python ints without a thread state: it crashes.  Until the
 * guard is back, an interrupt only breaks blocking calls (EINTR).
 */
static atomic_bool python_guarded;

static void on_signal(int sig, siginfo_t *si, void *context)
{
        int saved = errno;
        uint64_t one = 1;

        (void)context;
        /* Our own pthread_kill(gui, SIGINT) from signals_interrupt(). */
        if (sig == SIGINT && si->si_code == SI_TKILL && si->si_pid == self_pid) {
                if (atomic_load(&python_guarded))
                        PyErr_SetInterruptEx(SIGINT);
        } else {
                atomic_fetch_or(&pending, sig == SIGINT ? SIGNALS_INT : SIGNALS_TERM);
                (void)!write(wake, &one, sizeof(one));
        }
        errno = saved;
}

static int install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        /* No SA_RESTART: a blocking call must fail with EINTR so Python can raise. */
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        return 0;
}

int signals_install(int wake_fd, pthread_t gui_thread)
{
        wake = wake_fd;
        gui = gui_thread;
        self_pid = getpid();
        atomic_store(&python_guarded, true);
        return install();
}

static bool signals_ours(void)
{
        struct sigaction si, st;

        return sigaction(SIGINT, NULL, &si) == 0 && sigaction(SIGTERM, NULL, &st) == 0 &&
               (si.sa_flags & SA_SIGINFO) && si.sa_sigaction == on_signal &&
               (st.sa_flags & SA_SIGINFO) && st.sa_sigaction == on_signal;
}

bool signals_reclaim(void)
{
        if (!self_pid)
                return false;
        if (signals_ours())
                return !atomic_load(&python_guarded);
        /* Whoever replaced ours used signal.signal(): Python's handler changed too. */
        atomic_store(&python_guarded, false);
        install();
        return true;
}

void signals_python_guarded(void)
{
        atomic_store(&python_guarded, true);
}

unsigned signals_take(void)
{
        return atomic_exchange(&pending, 0);
}

void signals_interrupt(void)
{
        /* Executed code may have set SIGINT to SIG_DFL: that must not kill us. */
        signals_reclaim();
        pthread_kill(gui, SIGINT);
}

void signals_uninstall(void)
{
        self_pid = 0;
        /* A stopping daemon has nothing left to interrupt: a Ctrl-C must not kill its teardown. */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_DFL);
}
