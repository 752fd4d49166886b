/* SPDX-License-Identifier: MIT */
/*
 * The Tcl/Tk plugin: Tk owning the main loop (toolkit = tk), or Tk as a
 * guest inside another plugin's loop (tk_guest = true).
 *
 * Both rest on one Tcl notifier of our own, installed with Tcl_SetNotifier
 * before any interpreter exists.  It waits with poll() on Tcl's file
 * handlers and an eventfd (alerts from other threads, posted calls), so an
 * idle Tk wakes nobody, and it starts no notifier thread.  As a guest it
 * never blocks: Tcl's file handlers become the host's fd watches, Tcl's
 * block time the host's timer, alerts an fd watch too.
 *
 * Tcl events are always dispatched through _tkinter's own
 * tkapp.dooneevent(): _tkinter keeps the Python thread state that its
 * callbacks resume only while it runs Tcl itself, so a tkinter callback
 * fired from a Tcl_DoOneEvent() called here in C would abort CPython
 * ("PyEval_RestoreThread: ... thread state is NULL").  dooneevent()
 * releases the GIL while Tcl waits.
 *
 * The owner's notifier reports each wait to the host (loop_idle/loop_busy:
 * LoopBlockedMs, interrupting a GUI callback).  tk_setup.py (the plugin's
 * python_setup, for owner and guest alike) makes unmodified tkinter
 * programs fit the running loop; its opening comment says how, as measured.
 *
 * Tk opens its display only when tkinter.Tk() runs, so a daemon without a
 * Tk window had no X connection and never noticed the X server going
 * away: the owner keeps the connection it checked the display with, its fd
 * watched, and an Xlib I/O error handler (Tk's connections' too) logs one
 * line and exits 69.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <X11/Xlib.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <tcl.h>
#include <unistd.h>

#include "calls.h"
#include "guiloop/plugin.h"
#include "tk-setup-py.h"

/* A guest pump services at most this many events before the host runs again. */
#define PUMP_BATCH 256

typedef struct FileHandler {
        struct FileHandler *next;
        int fd;
        int mask;  /* TCL_READABLE | TCL_WRITABLE | TCL_EXCEPTION */
        int ready; /* what poll() found, not yet handled */
        bool queued;
        Tcl_FileProc *proc;
        ClientData data;
        GuiloopWatch *watch; /* guest: the host's watch on fd */
} FileHandler;

/* The notifier of one Tcl thread; the main thread's serves the loop. */
typedef struct Notifier {
        int wake_fd; /* eventfd: Tcl_AlertNotifier, post() */
        FileHandler *handlers;
        Tcl_ThreadId thread;

        /* Guest: Tcl rides on this host loop. */
        const GuiloopLoopOps *host;
        GuiloopLoop *host_loop;
        GuiloopWatch *wake_watch;
        GuiloopTimer *timer;
        bool pumping;
        int zero_waits;

        /* Owner: calls posted from any thread, run by one idle handler at a time. */
        Calls calls;
        bool post_queued; /* notifier's thread: the idle handler is registered */
} Notifier;

struct GuiloopLoop {
        const GuiloopHost *host;
        Notifier *notifier;
        volatile int quit;
        char describe[64];
};

struct GuiloopGuest {
        Notifier *notifier;
};

typedef struct FileEvent {
        Tcl_Event header;
        int fd;
} FileEvent;

static __thread Notifier *self;
/* The thread that loaded the plugin: the GUI thread, whose notifier is the loop's. */
static pthread_t gui_thread;
static Notifier *gui_notifier;
static const GuiloopHost *host_services;

/* _tkinter's interpreter object that dispatches Tcl events for us (GIL held). */
static PyObject *tkapp;

/* ---- dispatching through _tkinter ---- */

static bool tkapp_ready(void)
{
        PyObject *module;

        if (tkapp)
                return true;
        module = PyImport_ImportModule("_tkinter");
        if (module) {
                /* create(screenName, baseName, className, interactive, wantobjects, useTk) */
                tkapp = PyObject_CallMethod(module, "create", "zssiii", NULL, "guiloop", "Tk", 0,
                                            1, 0);
                Py_DECREF(module);
        }
        if (!tkapp) {
                host_services->log(host_services->data, GUILOOP_LOG_ERR,
                                   "tk: cannot start _tkinter; Tcl events are not served");
                PyErr_Print();
                return false;
        }
        return true;
}

/* One Tcl_DoOneEvent(flags) as _tkinter does it: 1 if an event was serviced. GIL held. */
static int do_one_event(int flags)
{
        PyObject *r;
        long served;

        if (!tkapp_ready())
                return -1;
        r = PyObject_CallMethod(tkapp, "dooneevent", "i", flags);
        if (!r) {
                /* An exception out of Tcl's own dispatch, not a callback's: say it. */
                PyErr_Print();
                return -1;
        }
        served = PyLong_AsLong(r);
        Py_DECREF(r);
        return served > 0;
}

/* ---- the notifier ---- */

static int file_event_proc(Tcl_Event *ev, int flags)
{
        FileEvent *fe = (FileEvent *)ev;
        Notifier *n = self;

        if (!(flags & TCL_FILE_EVENTS))
                return 0;
        for (FileHandler *h = n->handlers; h; h = h->next) {
                int mask;

                if (h->fd != fe->fd)
                        continue;
                mask = h->ready & h->mask;
                h->ready = 0;
                h->queued = false;
                if (mask)
                        h->proc(h->data, mask);
                break;
        }
        return 1;
}

static void queue_file_event(FileHandler *h)
{
        FileEvent *fe;

        if (h->queued)
                return;
        fe = (FileEvent *)ckalloc(sizeof(*fe));
        fe->header.proc = file_event_proc;
        fe->fd = h->fd;
        h->queued = true;
        Tcl_QueueEvent(&fe->header, TCL_QUEUE_TAIL);
}

static void post_idle_proc(ClientData data);

/*
 * Schedule the next posted call, once; the notifier's thread.  Posted calls
 * run as Tcl idle handlers: Tcl runs those only when no event waits, so
 * Tk's timers, X events and redraws all get their turn between two calls,
 * and a new one registered while idle handlers run waits for the next round.
 */
static void schedule_post(Notifier *n)
{
        if (n->post_queued || !calls_pending(&n->calls))
                return;
        n->post_queued = true;
        Tcl_DoWhenIdle(post_idle_proc, n);
}

static void post_idle_proc(ClientData data)
{
        Notifier *n = data;
        bool more;

        n->post_queued = false;
        calls_run_one(&n->calls, &more);
        if (more)
                schedule_post(n);
}

static void wake(Notifier *n)
{
        uint64_t one = 1;

        (void)!write(n->wake_fd, &one, sizeof(one));
}

static void guest_pump(Notifier *n);

static void on_host_timer(void *data)
{
        Notifier *n = data;

        n->timer = NULL;
        guest_pump(n);
}

/* Guest: the next time Tcl wants to run, on the host's clock. */
static void guest_set_timer(Notifier *n, const Tcl_Time *t)
{
        if (n->timer) {
                n->host->timer_remove(n->host_loop, n->timer);
                n->timer = NULL;
        }
        if (t)
                n->host->timer_add(n->host_loop, (uint64_t)t->sec * 1000000u + (uint64_t)t->usec,
                                   on_host_timer, n, &n->timer);
}

static void notifier_set_timer(const Tcl_Time *t)
{
        Notifier *n = self;

        /* The owner's wait gets the block time itself; a guest needs the host's timer. */
        if (n && n->host && !n->pumping)
                guest_set_timer(n, t);
}

static int notifier_wait(const Tcl_Time *t)
{
        Notifier *n = self;
        bool zero = t && t->sec == 0 && t->usec == 0;
        int timeout = -1, nfds = 1, found = 0;
        size_t count = 1;
        uint64_t value;

        for (FileHandler *h = n->handlers; h; h = h->next)
                count++;
        struct pollfd fds[count];

        if (t)
                timeout = (int)(t->sec * 1000 + (t->usec + 999) / 1000);
        /* Inside the host's loop we never block: the host waits for us. */
        if (n->pumping)
                timeout = 0;

        fds[0] = (struct pollfd){ .fd = n->wake_fd, .events = POLLIN };
        for (FileHandler *h = n->handlers; h; h = h->next)
                fds[nfds++] = (struct pollfd){
                        .fd = h->fd,
                        .events = (short)(((h->mask & TCL_READABLE) ? POLLIN : 0) |
                                          ((h->mask & TCL_WRITABLE) ? POLLOUT : 0) |
                                          ((h->mask & TCL_EXCEPTION) ? POLLPRI : 0)),
                };
        if (n == gui_notifier && !n->pumping && host_services &&
            GUILOOP_HOST_HAS(host_services, loop_idle))
                host_services->loop_idle(host_services->data);
        found = poll(fds, (nfds_t)nfds, timeout);
        if (n == gui_notifier && !n->pumping && host_services &&
            GUILOOP_HOST_HAS(host_services, loop_busy))
                host_services->loop_busy(host_services->data);
        if (found < 0)
                /* EINTR: report activity so that Python checks its signals. */
                return errno == EINTR ? 1 : 0;
        found = 0;

        if (fds[0].revents & POLLIN) {
                (void)!read(n->wake_fd, &value, sizeof(value));
                schedule_post(n);
                found = 1;
        }
        nfds = 1;
        for (FileHandler *h = n->handlers; h; h = h->next, nfds++) {
                short re = fds[nfds].revents;
                int ready = ((re & (POLLIN | POLLHUP | POLLERR)) ? TCL_READABLE : 0) |
                            ((re & (POLLOUT | POLLERR)) ? TCL_WRITABLE : 0) |
                            ((re & POLLPRI) ? TCL_EXCEPTION : 0);

                if (ready & h->mask) {
                        h->ready |= ready;
                        queue_file_event(h);
                        found = 1;
                }
        }

        if (n->pumping && !found) {
                /* A source that keeps asking for no wait without work must not spin. */
                if (zero && ++n->zero_waits < 16)
                        return 0;
                n->zero_waits = 0;
                guest_set_timer(n, zero ? &(Tcl_Time){ 0, 1000 } : t);
                return -1; /* ends this Tcl_DoOneEvent: back to the host */
        }
        n->zero_waits = 0;
        return found;
}

static void on_host_fd(void *data, int fd, unsigned events)
{
        (void)fd;
        (void)events;
        guest_pump(data);
}

static void notifier_create_file_handler(int fd, int mask, Tcl_FileProc *proc, ClientData data)
{
        Notifier *n = self;
        FileHandler *h;
        unsigned events = ((mask & TCL_READABLE) ? GUILOOP_FD_IN : 0) |
                          ((mask & TCL_WRITABLE) ? GUILOOP_FD_OUT : 0);

        for (h = n->handlers; h; h = h->next)
                if (h->fd == fd)
                        break;
        if (!h) {
                h = calloc(1, sizeof(*h));
                if (!h)
                        Tcl_Panic("guiloop tk: out of memory");
                h->fd = fd;
                h->next = n->handlers;
                n->handlers = h;
        }
        h->mask = mask;
        h->proc = proc;
        h->data = data;
        if (n->host) {
                if (h->watch)
                        n->host->watch_update(n->host_loop, h->watch, events);
                else
                        n->host->watch_add(n->host_loop, fd, events, on_host_fd, n, &h->watch);
        }
}

static void notifier_delete_file_handler(int fd)
{
        Notifier *n = self;

        for (FileHandler **p = &n->handlers; *p; p = &(*p)->next) {
                FileHandler *h = *p;

                if (h->fd != fd)
                        continue;
                *p = h->next;
                if (h->watch)
                        n->host->watch_remove(n->host_loop, h->watch);
                /* A queued FileEvent finds no handler and does nothing. */
                free(h);
                return;
        }
}

static ClientData notifier_init(void)
{
        Notifier *n = calloc(1, sizeof(*n));

        if (!n)
                Tcl_Panic("guiloop tk: out of memory");
        n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (n->wake_fd < 0)
                Tcl_Panic("guiloop tk: eventfd: %s", strerror(errno));
        calls_init(&n->calls);
        n->thread = Tcl_GetCurrentThread();
        self = n;
        if (pthread_equal(pthread_self(), gui_thread) && !gui_notifier)
                gui_notifier = n;
        return n;
}

static void notifier_finalize(ClientData data)
{
        Notifier *n = data;

        /* The GUI thread's notifier lives as long as the process: the loop uses it. */
        if (n == gui_notifier)
                return;
        while (n->handlers) {
                FileHandler *h = n->handlers;

                n->handlers = h->next;
                free(h);
        }
        close(n->wake_fd);
        calls_clear(&n->calls);
        free(n);
        self = NULL;
}

static void notifier_alert(ClientData data)
{
        /* Any thread: Tcl_ThreadQueueEvent() put something in that thread's queue. */
        wake(data);
}

static void notifier_service_mode(int mode)
{
        (void)mode;
}

static Tcl_NotifierProcs notifier_procs = {
        .setTimerProc = notifier_set_timer,
        .waitForEventProc = notifier_wait,
        .createFileHandlerProc = notifier_create_file_handler,
        .deleteFileHandlerProc = notifier_delete_file_handler,
        .initNotifierProc = notifier_init,
        .finalizeNotifierProc = notifier_finalize,
        .alertNotifierProc = notifier_alert,
        .serviceModeHookProc = notifier_service_mode,
};

/* Install the notifier and create the GUI thread's; before any interpreter exists. */
static int notifier_install(char *err, size_t errlen)
{
        if (gui_notifier)
                return 0;
        gui_thread = pthread_self();
        Tcl_SetNotifier(&notifier_procs);
        /* Initialises Tcl, and with it this thread's notifier: ours. */
        Tcl_FindExecutable(NULL);
        if (!gui_notifier) {
                snprintf(err, errlen, "Tcl did not take guiloop's notifier");
                return -EIO;
        }
        return 0;
}

/* ---- guest ---- */

static void guest_pump(Notifier *n)
{
        PyGILState_STATE gil;
        int i;

        /* A tkinter callback may run the host loop again; the outer pump goes on. */
        if (n->pumping || !Py_IsInitialized())
                return;
        gil = PyGILState_Ensure();
        n->pumping = true;
        for (i = 0; i < PUMP_BATCH; i++)
                if (do_one_event(TCL_ALL_EVENTS) <= 0)
                        break;
        n->pumping = false;
        if (i == PUMP_BATCH)
                guest_set_timer(n, &(Tcl_Time){ 0, 0 });
        PyGILState_Release(gil);
}

static int guest_new(const GuiloopHost *host, GuiloopLoop *loop, const GuiloopLoopOps *ops,
                     GuiloopGuest **out, char *err, size_t errlen)
{
        GuiloopGuest *g;
        int r;

        /* Any version this header knows, down to version 1's fields: all Tk uses. */
        if (!guiloop_loop_ops_ok(ops)) {
                snprintf(err, errlen, "the host loop's table (version %u, %u bytes) is not one "
                         "this plugin knows", ops ? ops->version : 0, ops ? ops->size : 0);
                return -EINVAL;
        }
        if (!ops->watch_add || !ops->watch_update || !ops->watch_remove || !ops->timer_add ||
            !ops->timer_remove) {
                snprintf(err, errlen, "the host loop has no fd watches or timers");
                return -ENOTSUP;
        }
        host_services = host;
        r = notifier_install(err, errlen);
        if (r < 0)
                return r;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->notifier = gui_notifier;
        g->notifier->host = ops;
        g->notifier->host_loop = loop;
        ops->watch_add(loop, g->notifier->wake_fd, GUILOOP_FD_IN, on_host_fd, g->notifier,
                       &g->notifier->wake_watch);
        *out = g;
        return 0;
}

static void guest_free(GuiloopGuest *g)
{
        Notifier *n;

        if (!g)
                return;
        n = g->notifier;
        if (n->timer)
                n->host->timer_remove(n->host_loop, n->timer);
        n->timer = NULL;
        if (n->wake_watch)
                n->host->watch_remove(n->host_loop, n->wake_watch);
        n->wake_watch = NULL;
        for (FileHandler *h = n->handlers; h; h = h->next)
                if (h->watch) {
                        n->host->watch_remove(n->host_loop, h->watch);
                        h->watch = NULL;
                }
        n->host = NULL;
        free(g);
}

/* ---- owner ---- */

static const char *loop_describe(GuiloopLoop *loop)
{
        int major, minor, patch;

        Tcl_GetVersion(&major, &minor, &patch, NULL);
        snprintf(loop->describe, sizeof(loop->describe), "Tcl/Tk %d.%d.%d", major, minor, patch);
        return loop->describe;
}

static int loop_run(GuiloopLoop *loop)
{
        while (!__atomic_load_n(&loop->quit, __ATOMIC_SEQ_CST)) {
                PyGILState_STATE gil = PyGILState_Ensure();
                int r = do_one_event(TCL_ALL_EVENTS);

                PyGILState_Release(gil);
                if (r < 0)
                        return -EIO;
        }
        return 0;
}

static void loop_quit(GuiloopLoop *loop)
{
        __atomic_store_n(&loop->quit, 1, __ATOMIC_SEQ_CST);
        wake(loop->notifier);
}

static int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        int r = calls_push(&loop->notifier->calls, fn, data);

        if (r == 0)
                wake(loop->notifier);
        return r;
}

struct GuiloopWatch {
        int fd;
        GuiloopFdFn fn;
        void *data;
};

static void on_tcl_file(ClientData data, int mask)
{
        GuiloopWatch *w = data;
        unsigned events = ((mask & TCL_READABLE) ? GUILOOP_FD_IN : 0) |
                          ((mask & TCL_WRITABLE) ? GUILOOP_FD_OUT : 0);

        w->fn(w->data, w->fd, events);
}

static int tcl_mask(unsigned events)
{
        return ((events & GUILOOP_FD_IN) ? TCL_READABLE : 0) |
               ((events & GUILOOP_FD_OUT) ? TCL_WRITABLE : 0);
}

static int loop_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn,
                          void *data, GuiloopWatch **out)
{
        GuiloopWatch *w = malloc(sizeof(*w));

        (void)loop;
        if (!w)
                return -ENOMEM;
        w->fd = fd;
        w->fn = fn;
        w->data = data;
        Tcl_CreateFileHandler(fd, tcl_mask(events), on_tcl_file, w);
        *out = w;
        return 0;
}

static int loop_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events)
{
        (void)loop;
        Tcl_CreateFileHandler(w->fd, tcl_mask(events), on_tcl_file, w);
        return 0;
}

static void loop_watch_remove(GuiloopLoop *loop, GuiloopWatch *w)
{
        (void)loop;
        Tcl_DeleteFileHandler(w->fd);
        free(w);
}

struct GuiloopTimer {
        Tcl_TimerToken token; /* NULL: an idle handler (a timer of 0) */
        GuiloopFn fn;
        void *data;
};

static bool in_idle_timer; /* the main thread runs a timer of 0's fn */

static void on_tcl_timer(ClientData data)
{
        GuiloopTimer *t = data;
        GuiloopFn fn = t->fn;
        void *fn_data = t->data;
        bool idle = !t->token, outer = in_idle_timer;

        free(t);
        in_idle_timer = idle;
        fn(fn_data);
        in_idle_timer = outer;
}

static int loop_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                          GuiloopTimer **out)
{
        GuiloopTimer *t = malloc(sizeof(*t));

        (void)loop;
        if (!t)
                return -ENOMEM;
        t->fn = fn;
        t->data = data;
        /*
         * Due now: an idle handler, in turn with posted calls and Tk's
         * redraws.  Tcl_DoOneEvent() serves idle handlers only when no
         * event was ready, and a 0 ms timer that re-adds itself is a ready
         * event on every turn: it starved them all.  But one added by a
         * timer of 0's own fn is a 0 ms timer again: an idle handler that
         * re-adds itself never lets a loop that serves idle handlers until
         * none is left return (`update idletasks`; one of Tk's own idle
         * handlers ran such a loop, and the daemon hung in it).  So such a
         * chain alternates, and idle work runs at least every other turn.
         */
        t->token = NULL;
        if (usec == 0 && !in_idle_timer)
                Tcl_DoWhenIdle(on_tcl_timer, t);
        else
                t->token = Tcl_CreateTimerHandler((int)((usec + 999) / 1000), on_tcl_timer, t);
        if (out)
                *out = t;
        return 0;
}

static void loop_timer_remove(GuiloopLoop *loop, GuiloopTimer *t)
{
        (void)loop;
        if (t->token)
                Tcl_DeleteTimerHandler(t->token);
        else
                Tcl_CancelIdleCall(on_tcl_timer, t);
        free(t);
}

/* ---- losing the X server ---- */

static Display *x_display; /* the owner's own connection, kept to notice a lost server */

static int on_x_io_error(Display *display)
{
        const char *name = getenv("DISPLAY");

        (void)display;
        host_services->log(host_services->data, GUILOOP_LOG_ERR,
                           "tk: lost the connection to the X server (DISPLAY=%s); exiting",
                           name ? name : "");
        _exit(69);
}

static void on_x_readable(ClientData data, int mask)
{
        (void)data;
        (void)mask;
        /* Reads what came (nothing is selected); EOF calls on_x_io_error. */
        while (XPending(x_display) > 0) {
                XEvent ev;

                XNextEvent(x_display, &ev);
        }
}

static void loop_free(GuiloopLoop *loop)
{
        if (x_display) {
                Tcl_DeleteFileHandler(ConnectionNumber(x_display));
                XSetIOErrorHandler(NULL);
                XCloseDisplay(x_display);
                x_display = NULL;
        }
        free(loop);
}

static const GuiloopLoopOps loop_ops = {
        .version = GUILOOP_LOOP_OPS_VERSION,
        .size = sizeof(GuiloopLoopOps),
        .describe = loop_describe,
        .run = loop_run,
        .quit = loop_quit,
        .post = loop_post,
        .watch_add = loop_watch_add,
        .watch_update = loop_watch_update,
        .watch_remove = loop_watch_remove,
        .timer_add = loop_timer_add,
        .timer_remove = loop_timer_remove,
        .free = loop_free,
};

static int loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops,
                    char *err, size_t errlen)
{
        const char *name = getenv("DISPLAY");
        GuiloopLoop *loop;
        Display *display;
        int r;

        /* Tk opens its display only when tkinter.Tk() runs: check it now, once. */
        display = name && *name ? XOpenDisplay(name) : NULL;
        if (!display) {
                if (name && *name)
                        snprintf(err, errlen, "cannot open display '%s'", name);
                else
                        snprintf(err, errlen, "cannot open a display: DISPLAY is not set");
                return GUILOOP_PLUGIN_E_UNAVAILABLE;
        }
        host_services = host;
        r = notifier_install(err, errlen);
        if (r < 0) {
                XCloseDisplay(display);
                return r;
        }
        x_display = display;
        XSetIOErrorHandler(on_x_io_error);
        Tcl_CreateFileHandler(ConnectionNumber(display), TCL_READABLE, on_x_readable, NULL);
        loop = calloc(1, sizeof(*loop));
        if (!loop)
                return -ENOMEM;
        loop->host = host;
        loop->notifier = gui_notifier;
        *out = loop;
        *ops = &loop_ops;
        return 0;
}

static const GuiloopPlugin plugin = {
        .abi = GUILOOP_PLUGIN_ABI,
        .size = sizeof(GuiloopPlugin),
        .name = "tk",
        .description = "Tcl/Tk 8.6 main loop, or guest in another loop (own Tcl notifier)",
        .loop_new = loop_new,
        .guest_new = guest_new,
        .guest_free = guest_free,
        .python_setup = tk_setup_py,
};

GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)
{
        return &plugin;
}
