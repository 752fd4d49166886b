/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Signal handlers can only reach state through globals; these are the only ones. */
static atomic_uint pending;
static int wake;
static pid_t self_pid;
static pthread_t gui;

static void on_signal(int sig, siginfo_t *si, void *context)
{
        int saved = errno;
        uint64_t one = 1;

        (void)context;
        /* Our own pthread_kill(gui, SIGINT) from signals_interrupt(). */
        if (sig == SIGINT && si->si_code == SI_TKILL && si->si_pid == self_pid) {
                PyErr_SetInterruptEx(SIGINT);
        } else {
                atomic_fetch_or(&pending, sig == SIGINT ? SIGNALS_INT : SIGNALS_TERM);
                (void)!write(wake, &one, sizeof(one));
        }
        errno = saved;
}

int signals_install(int wake_fd, pthread_t gui_thread)
{
        struct sigaction sa;

        wake = wake_fd;
        gui = gui_thread;
        self_pid = getpid();
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        /* No SA_RESTART: a blocking call must fail with EINTR so Python can raise. */
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        return 0;
}

unsigned signals_take(void)
{
        return atomic_exchange(&pending, 0);
}

void signals_interrupt(void)
{
        pthread_kill(gui, SIGINT);
}

void signals_uninstall(void)
{
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
}
