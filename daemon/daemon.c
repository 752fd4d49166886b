/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "loader.h"
#include "log.h"
#include "loopwatch.h"
#include "python.h"
#include "queue.h"
#include "signals.h"

struct Daemon {
        Config *config;
        const GuiloopPlugin *plugin;
        GuiloopLoop *loop;
        const GuiloopLoopOps *ops;
        const GuiloopPlugin *guest_plugin;
        GuiloopGuest *guest;
        GuiloopHost host;
        Python *python;
        char *python_version; /* kept: the bus thread reads it after Python is gone */
        Bus *bus;
        Queue *waiting; /* executions posted to the GUI thread, not started */

        /* Shared between the bus thread and the GUI thread. */
        pthread_mutex_t lock;
        Execution *running;
        uint64_t interrupt_for; /* id of the execution an Interrupt is meant for */
        unsigned deferred;      /* run_next calls that came while one ran (nested loop) */
        bool shutting_down;
        uint64_t next_id;
        int exit_code;

        /* Interrupts that reach beyond a plain execution (see "interrupting what holds the thread"). */
        atomic_bool interrupt_callback; /* for the GUI callback holding the thread, no execution runs */
        int poke_fd;                    /* eventfd: wakes the GUI thread's loop, nested ones too */
        GuiloopWatch *poke_watch;
};

/* ---- services for plugins ---- */

static void host_log(void *data, int priority, const char *fmt, ...)
{
        va_list ap;

        (void)data;
        va_start(ap, fmt);
        log_msgv(priority, fmt, ap);
        va_end(ap);
}

static const char *host_config(void *data, const char *section, const char *key)
{
        static __thread char buf[1024];
        Daemon *d = data;

        return config_get(d->config, section, key, buf, sizeof(buf));
}

/* ---- interrupting what holds the thread ---- */

/*
 * The GUI thread reports when it waits in a loop and when it leaves the
 * wait (plugin.h, loop_idle/loop_busy).  An interrupt meant for a GUI
 * callback lasts only until the thread is back in its loop: it can never
 * hit the next callback.
 */
static void host_loop_idle(void *data)
{
        Daemon *d = data;

        loopwatch_idle();
        if (atomic_load_explicit(&d->interrupt_callback, memory_order_relaxed))
                atomic_store(&d->interrupt_callback, false);
}

static void host_loop_busy(void *data)
{
        (void)data;
        loopwatch_busy();
}

/*
 * The interrupt signal cuts a wait short, but a loop (a nested one inside an
 * execution: QEventLoop.exec_(), Gtk.Dialog.run()) just waits again; this fd
 * makes it run Python (boot.poke) so the pending interrupt ends the loop.
 */
static void on_poke(void *data, int fd, unsigned events)
{
        Daemon *d = data;
        uint64_t n;

        (void)events;
        (void)!read(fd, &n, sizeof(n));
        python_poke(d->python);
}

static void poke(Daemon *d)
{
        uint64_t one = 1;

        if (d->poke_watch)
                (void)!write(d->poke_fd, &one, sizeof(one));
}

static void start_poke(Daemon *d)
{
        d->poke_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->poke_fd < 0 ||
            d->ops->watch_add(d->loop, d->poke_fd, GUILOOP_FD_IN, on_poke, d, &d->poke_watch) < 0)
                log_warning("cannot watch the interrupt fd; Interrupt may not end nested loops");
}

static void stop_poke(Daemon *d)
{
        if (d->poke_watch)
                d->ops->watch_remove(d->loop, d->poke_watch);
        d->poke_watch = NULL;
        if (d->poke_fd >= 0)
                close(d->poke_fd);
        d->poke_fd = -1;
}

/* ---- the GUI thread's side ---- */

/* Posted once per submitted execution; runs the oldest waiting one. */
static void run_next(void *data)
{
        Daemon *d = data;
        unsigned deferred;
        Execution *e;

        pthread_mutex_lock(&d->lock);
        if (d->running) {
                /* Executed code runs a nested loop (Gtk.main(), mainloop()): never nest. */
                d->deferred++;
                pthread_mutex_unlock(&d->lock);
                return;
        }
        e = queue_pop(d->waiting);
        if (e && d->shutting_down)
                e->status = EXECUTION_E_SHUTTING_DOWN;
        else if (e)
                d->running = e;
        pthread_mutex_unlock(&d->lock);
        if (!e)
                return;
        if (e->status) {
                bus_execution_finished(d->bus, e);
                return;
        }

        e->started_usec = now_usec();
        bus_execution_started(d->bus, e);
        python_run(d->python, e);
        e->finished_usec = now_usec();

        pthread_mutex_lock(&d->lock);
        d->running = NULL;
        d->interrupt_for = 0;
        deferred = d->deferred;
        d->deferred = 0;
        pthread_mutex_unlock(&d->lock);
        bus_execution_finished(d->bus, e);
        while (deferred--)
                d->ops->post(d->loop, run_next, d);
}

/* Python's interrupt handler asks: was this interrupt meant for what runs now? */
static bool interrupt_wanted(void *data, bool take)
{
        Daemon *d = data;
        bool wanted;

        pthread_mutex_lock(&d->lock);
        if (d->running) {
                wanted = d->interrupt_for == d->running->id;
                if (wanted && take)
                        d->interrupt_for = 0;
        } else {
                wanted = atomic_load(&d->interrupt_callback);
                if (wanted && take)
                        atomic_store(&d->interrupt_callback, false);
        }
        pthread_mutex_unlock(&d->lock);
        return wanted;
}

/* ---- the bus thread's side ---- */

int daemon_submit(Daemon *d, Execution *e)
{
        int r;

        pthread_mutex_lock(&d->lock);
        if (d->shutting_down) {
                r = DAEMON_E_SHUTTING_DOWN;
        } else {
                e->id = ++d->next_id;
                r = queue_push(d->waiting, e);
                if (r == QUEUE_E_FULL)
                        r = DAEMON_E_QUEUE_FULL;
        }
        pthread_mutex_unlock(&d->lock);
        if (r != 0)
                return r;
        /* One post per execution: the loop runs between two of them. */
        r = d->ops->post(d->loop, run_next, d);
        if (r < 0)
                log_err("cannot post execution %" PRIu64 " to the GUI thread: %s", e->id,
                        strerror(-r));
        return 0;
}

bool daemon_interrupt(Daemon *d, uint64_t id)
{
        bool interrupted = false;

        pthread_mutex_lock(&d->lock);
        if (d->running && (id == 0 || d->running->id == id)) {
                d->interrupt_for = d->running->id;
                interrupted = true;
                signals_interrupt();
        } else if (!d->running && id == 0 && loopwatch_away() && python_gui_in_code(d->python)) {
                /* No execution: the GUI callback that holds the thread, if one does. */
                atomic_store(&d->interrupt_callback, true);
                interrupted = true;
                signals_interrupt();
        }
        pthread_mutex_unlock(&d->lock);
        if (interrupted)
                poke(d);
        return interrupted;
}

/* From now on nothing new runs: the waiting get ShuttingDown, any thread. */
static void refuse_waiting(Daemon *d)
{
        Execution *e;

        pthread_mutex_lock(&d->lock);
        d->shutting_down = true;
        pthread_mutex_unlock(&d->lock);

        /* The GUI thread refuses what it pops from now on; answer the rest here. */
        while ((e = queue_pop(d->waiting))) {
                e->status = EXECUTION_E_SHUTTING_DOWN;
                bus_execution_finished(d->bus, e);
        }
}

void daemon_shutdown(Daemon *d)
{
        refuse_waiting(d);
        daemon_interrupt(d, 0);
        d->ops->quit(d->loop);
}

void daemon_set_exit_code(Daemon *d, int code)
{
        pthread_mutex_lock(&d->lock);
        d->exit_code = code;
        pthread_mutex_unlock(&d->lock);
}

bool daemon_busy(Daemon *d)
{
        bool busy;

        pthread_mutex_lock(&d->lock);
        busy = d->running != NULL;
        pthread_mutex_unlock(&d->lock);
        return busy;
}

size_t daemon_queue_length(Daemon *d)
{
        return queue_length(d->waiting);
}

const Config *daemon_config(Daemon *d)
{
        return d->config;
}

const char *daemon_python_version(Daemon *d)
{
        return d->python_version;
}

/* ---- start and stop ---- */

static char *bus_name(const Config *c)
{
        char *name;

        if (asprintf(&name, "org.guiloop.GuiLoop1%s%s", *c->instance ? "." : "", c->instance) < 0)
                return NULL;
        return name;
}

/* Tk beside the toolkit, through the loop's ops only; before Python exists. */
static int start_guest(Daemon *d, const char *plugin_dir)
{
        char err[1024] = "";
        int r;

        r = loader_load(plugin_dir, "tk", &d->guest_plugin, err, sizeof(err));
        if (r != 0) {
                log_err("%s", r > 0 ? err : strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        if (!d->guest_plugin->guest_new || !d->guest_plugin->guest_free) {
                log_err("plugin %s/tk.so cannot run as a guest", plugin_dir);
                return EXIT_UNAVAILABLE;
        }
        if (!loader_loop_has_watches(d->ops)) {
                log_err("the %s loop has no fd watches or timers: Tk cannot run as its guest",
                        d->config->toolkit);
                return EXIT_UNAVAILABLE;
        }
        r = d->guest_plugin->guest_new(&d->host, d->loop, d->ops, &d->guest, err, sizeof(err));
        if (r != 0) {
                log_err("tk guest: %s", *err ? err : strerror(r < 0 ? -r : EIO));
                return EXIT_UNAVAILABLE;
        }
        log_info("Tk runs as a guest in the %s loop", d->config->toolkit);
        return 0;
}

static int start_toolkit(Daemon *d, const char *plugin_dir)
{
        const char *toolkit = d->config->toolkit;
        char err[1024] = "";
        int r;

        r = loader_load(plugin_dir, toolkit, &d->plugin, err, sizeof(err));
        if (r != 0) {
                log_err("%s", r > 0 ? err : strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        if (!d->plugin->loop_new) {
                log_err("plugin %s/%s.so cannot own the main loop", plugin_dir, toolkit);
                return EXIT_UNAVAILABLE;
        }
        r = d->plugin->loop_new(&d->host, &d->loop, &d->ops, err, sizeof(err));
        if (r != 0) {
                log_err("%s: %s", toolkit, *err ? err : strerror(r < 0 ? -r : EIO));
                return EXIT_UNAVAILABLE;
        }
        r = loader_check_loop_ops(toolkit, d->ops, err, sizeof(err));
        if (r != 0) {
                log_err("%s", err);
                return EXIT_UNAVAILABLE;
        }
        if (d->config->tk_guest) {
                r = start_guest(d, plugin_dir);
                if (r != 0)
                        return r;
        }
        /* Toolkits set LC_NUMERIC from the environment; Python and Tcl want "C". */
        setlocale(LC_NUMERIC, "C");
        log_info("toolkit: %s", d->ops->describe ? d->ops->describe(d->loop) : d->plugin->name);
        return 0;
}

/* A plugin's Python side, if it has one. */
static int setup_plugin_python(Daemon *d, const GuiloopPlugin *p)
{
        char err[1024] = "";

        if (!p->python_setup)
                return 0;
        if (python_setup(d->python, p->name, p->python_setup, err, sizeof(err)) != 0) {
                log_err("%s", err);
                return EXIT_SOFTWARE;
        }
        return 0;
}

static int start(Daemon *d, const char *plugin_dir)
{
        PythonHooks hooks = { .data = d, .interrupt_wanted = interrupt_wanted };
        _cleanup_(freep) char *name = bus_name(d->config);
        char err[1024] = "";
        int r;

        if (!name)
                return EXIT_SOFTWARE;
        r = queue_new(&d->waiting, d->config->queue_limit ? d->config->queue_limit : 0);
        if (r < 0)
                return EXIT_SOFTWARE;

        r = start_toolkit(d, plugin_dir);
        if (r != 0)
                return r;

        r = python_new(&d->python, d->config, hooks, err, sizeof(err));
        if (r != 0) {
                log_err("%s", r > 0 ? err : strerror(-r));
                return EXIT_SOFTWARE;
        }
        r = setup_plugin_python(d, d->plugin);
        if (r == 0 && d->guest_plugin)
                r = setup_plugin_python(d, d->guest_plugin);
        if (r != 0)
                return r;
        setlocale(LC_NUMERIC, "C");
        start_poke(d);
        d->python_version = strdup(python_version(d->python));
        if (!d->python_version)
                return EXIT_SOFTWARE;

        r = bus_new(&d->bus, d, name, err, sizeof(err));
        if (r != 0) {
                log_err("%s", r > 0 ? err : strerror(-r));
                return r == BUS_E_NAME_TAKEN ? EXIT_TEMPFAIL :
                       r == BUS_E_CONNECT ? EXIT_UNAVAILABLE : EXIT_SOFTWARE;
        }
        /* The startup file or a plugin may have replaced Python's SIGINT handler. */
        if (python_guard_sigint(d->python))
                log_info("took Python's SIGINT handler back after start-up");
        r = signals_install(bus_wake_fd(d->bus), pthread_self());
        if (r == 0)
                r = bus_start(d->bus);
        if (r < 0) {
                log_err("cannot start the bus thread: %s", strerror(-r));
                return EXIT_SOFTWARE;
        }
        log_info("ready: %s on the session bus, Python %.*s", name,
                 (int)strcspn(python_version(d->python), " "), python_version(d->python));
        return 0;
}

int daemon_run(Config *config, const char *plugin_dir)
{
        Daemon d = {
                .config = config,
                .host = {
                        .version = GUILOOP_HOST_VERSION,
                        .size = sizeof(GuiloopHost),
                        .data = &d,
                        .log = host_log,
                        .config = host_config,
                        .loop_idle = host_loop_idle,
                        .loop_busy = host_loop_busy,
                },
                .poke_fd = -1,
        };
        int code, r;

        pthread_mutex_init(&d.lock, NULL);
        code = start(&d, plugin_dir);
        if (code == 0) {
                r = d.ops->run(d.loop);
                if (r < 0) {
                        log_err("the %s loop failed: %s", config->toolkit, strerror(-r));
                        code = EXIT_SOFTWARE;
                }
        }

        if (d.loop)
                stop_poke(&d);
        /* Python goes first: atexit handlers may still touch the toolkit. */
        d.python = python_free(d.python);
        signals_uninstall();
        if (d.bus)
                refuse_waiting(&d);
        d.bus = bus_free(d.bus);
        if (d.guest)
                d.guest_plugin->guest_free(d.guest);
        if (d.loop && d.ops->free)
                d.ops->free(d.loop);
        queue_free(d.waiting);
        free(d.python_version);
        pthread_mutex_destroy(&d.lock);
        if (code == 0)
                code = d.exit_code;
        if (code == 0)
                log_info("stopped");
        return code;
}
