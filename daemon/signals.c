/* SPDX-License-Identifier: MIT */
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
/* The interrupt signal's action as Python installed it (its C handler). */
static struct sigaction python_action;
static bool have_python_action;

int signals_interrupt_signal(void)
{
        return SIGRTMIN + 5;
}

static void on_signal(int sig, siginfo_t *si, void *context)
{
        int saved = errno;
        uint64_t one = 1;

        (void)si;
        (void)context;
        atomic_fetch_or(&pending, sig == SIGINT ? SIGNALS_INT : SIGNALS_TERM);
        (void)!write(wake, &one, sizeof(one));
        errno = saved;
}

static int install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
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
        have_python_action = sigaction(signals_interrupt_signal(), NULL, &python_action) == 0 &&
                             python_action.sa_handler != SIG_DFL &&
                             python_action.sa_handler != SIG_IGN;
        return install();
}

static bool ours(int sig)
{
        struct sigaction sa;

        return sigaction(sig, NULL, &sa) == 0 && (sa.sa_flags & SA_SIGINFO) &&
               sa.sa_sigaction == on_signal;
}

/* The interrupt signal's Python handler in place again; true if it was not. */
static bool reclaim_interrupt_signal(void)
{
        struct sigaction sa;

        if (!have_python_action || sigaction(signals_interrupt_signal(), NULL, &sa) < 0)
                return false;
        if (sa.sa_handler == python_action.sa_handler)
                return false;
        sigaction(signals_interrupt_signal(), &python_action, NULL);
        return true;
}

bool signals_reclaim(void)
{
        bool replaced;

        if (!self_pid || getpid() != self_pid)
                return false;
        replaced = reclaim_interrupt_signal();
        if (ours(SIGINT) && ours(SIGTERM))
                return replaced;
        install();
        return true;
}

unsigned signals_take(void)
{
        return atomic_exchange(&pending, 0);
}

void signals_interrupt(void)
{
        if (!have_python_action)
                return;
        /* Executed code may have set the signal to SIG_DFL: that must not kill us. */
        reclaim_interrupt_signal();
        pthread_kill(gui, signals_interrupt_signal());
}

void signals_uninstall(void)
{
        self_pid = 0;
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
}
