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

#include <sys/eventfd.h>
#include <unistd.h>

#include "assist.h"
#include "bus-names.h"
#include "bus.h"
#include "executor.h"
#include "capture.h"
#include "guimod.h"
#include "loader.h"
#include "log.h"
#include "loopwatch.h"
#include "python.h"
#include "signals.h"

struct Daemon {
        Config *config;
        const GuiloopPlugin *plugin;
        GuiloopLoop *loop;
        const GuiloopLoopOps *ops;
        const GuiloopPlugin *guest_plugin;
        GuiloopGuest *guest;
        GuiloopHost host;
        Capture *capture; /* fds 1 and 2, background output */
        Python *python;
        char *python_version; /* kept: the bus thread reads it after Python is gone */
        Executor *executor;
        Assist *assist;
        int assist_fd;
        Bus *bus;

        pthread_mutex_t lock;
        int exit_code;

        /* Interrupts that reach beyond a plain execution (see "interrupting what holds the thread"). */
        atomic_bool interrupt_callback; /* for the GUI callback holding the thread, no execution runs */
        atomic_bool poking;             /* the GUI thread runs boot.poke, the daemon's own callback */
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
        atomic_store(&d->poking, true);
        python_poke(d->python);
        atomic_store(&d->poking, false);
}

/* For guiloop.execution(): any thread. */
static uint64_t running_id(void *data)
{
        return executor_running(((Daemon *)data)->executor);
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

/* ---- the executor's services and events: the loop, Python, the bus ---- */

static int exec_post(void *data, void (*fn)(void *), void *arg)
{
        Daemon *d = data;
        int r = d->ops->post(d->loop, fn, arg);

        if (r < 0)
                log_err("cannot post an execution to the GUI thread: %s", strerror(-r));
        return r;
}

static void exec_run(void *data, Execution *e)
{
        python_run(((Daemon *)data)->python, e);
}

static void exec_interrupt(void *data)
{
        signals_interrupt();
        poke(data);
}

/*
 * No execution runs: interrupt the GUI callback that holds the thread, if
 * one does and it is in Python code.  The request lasts until the thread is
 * back in its loop (host_loop_idle), so it can never hit a later callback.
 */
static bool exec_interrupt_idle(void *data)
{
        Daemon *d = data;

        /* The poke that followed an earlier interrupt is ours, not the user's callback. */
        if (!loopwatch_away() || atomic_load(&d->poking) || !python_gui_in_code(d->python))
                return false;
        atomic_store(&d->interrupt_callback, true);
        signals_interrupt();
        poke(d);
        return true;
}

static void exec_started(void *data, Execution *e)
{
        bus_object_started(bus_object(((Daemon *)data)->bus), e);
}

static void exec_finished(void *data, Execution *e)
{
        Daemon *d = data;

        if (d->bus)
                bus_object_finished(bus_object(d->bus), e);
        else
                execution_free(e);
        capture_replied(d->capture);
}

/* Python's interrupt handler asks: was this interrupt meant for what runs now? */
static bool interrupt_wanted(void *data, bool take)
{
        Daemon *d = data;

        if (executor_running(d->executor))
                return executor_interrupt_wanted(d->executor, take);
        if (!atomic_load(&d->interrupt_callback))
                return false;
        if (take)
                atomic_store(&d->interrupt_callback, false);
        return true;
}

/* ---- the bus object's services ---- */

static void bus_quit(void *data)
{
        Daemon *d = data;

        d->ops->quit(d->loop);
}

static void bus_lost(void *data)
{
        Daemon *d = data;

        pthread_mutex_lock(&d->lock);
        d->exit_code = EXIT_UNAVAILABLE;
        pthread_mutex_unlock(&d->lock);
}

/* ---- start and stop ---- */

static char *bus_name(const Config *c)
{
        char *name;

        if (asprintf(&name, GUILOOP_BUS_NAME "%s%s", *c->instance ? "." : "", c->instance) < 0)
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

/* The guiloop module, asyncio and matplotlib hooks (guimod.c); after the plugins' setup. */
static int start_guiloop_module(Daemon *d)
{
        GuiModuleHost h = {
                .ops = d->ops,
                .loop = d->loop,
                .toolkit = d->config->toolkit,
                .tk_guest = d->config->tk_guest,
                .matplotlib = d->config->python_matplotlib,
                .data = d,
                .running = running_id,
        };
        char err[1024] = "";

        if (guimod_start(&h, err, sizeof(err)) != 0) {
                log_err("%s", err);
                return EXIT_SOFTWARE;
        }
        return 0;
}

static int start(Daemon *d, const char *plugin_dir)
{
        PythonHooks hooks = { .data = d, .interrupt_wanted = interrupt_wanted };
        const ExecutorOps exec_ops = {
                .data = d,
                .post = exec_post,
                .run = exec_run,
                .interrupt = exec_interrupt,
                .interrupt_idle = exec_interrupt_idle,
                .started = exec_started,
                .finished = exec_finished,
        };
        _cleanup_(freep) char *name = bus_name(d->config);
        BusObjectSetup setup;
        char err[1024] = "";
        int r;

        if (!name)
                return EXIT_SOFTWARE;
        r = executor_new(&d->executor, &exec_ops, d->config->queue_limit, d->config->queue_bytes);
        if (r < 0)
                return EXIT_SOFTWARE;
        /* Before the toolkit: its warnings at start-up are background output too. */
        r = capture_new(&d->capture, d->config->capture_fd, d->config->max_output);
        if (r < 0) {
                log_err("cannot capture file descriptors 1 and 2: %s", strerror(-r));
                return EXIT_SOFTWARE;
        }

        r = start_toolkit(d, plugin_dir);
        if (r != 0)
                return r;

        r = python_new(&d->python, d->config, d->capture, hooks, err, sizeof(err));
        if (r != 0) {
                log_err("%s", r > 0 ? err : strerror(-r));
                return EXIT_SOFTWARE;
        }
        r = setup_plugin_python(d, d->plugin);
        if (r == 0 && d->guest_plugin)
                r = setup_plugin_python(d, d->guest_plugin);
        if (r != 0)
                return r;
        r = start_guiloop_module(d);
        if (r != 0)
                return r;
        if (d->config->startup)
                python_run_startup(d->python, d->config->startup);
        setlocale(LC_NUMERIC, "C");
        start_poke(d);
        d->python_version = strdup(python_version(d->python));
        if (!d->python_version)
                return EXIT_SOFTWARE;

        d->assist_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r = d->assist_fd < 0 ? -errno : assist_new(&d->assist, d->assist_fd);
        if (r < 0)
                log_warning("no Complete, Inspect or IsComplete: %s", strerror(-r));
        setup = (BusObjectSetup){
                .config = d->config,
                .executor = d->executor,
                .assist = d->assist,
                .python_version = d->python_version,
                .gui_thread = (unsigned long)pthread_self(),
                .assist_fd = d->assist_fd,
                .services = { .data = d, .quit = bus_quit, .lost = bus_lost },
        };
        r = bus_new(&d->bus, name, &setup, err, sizeof(err));
        if (r != 0) {
                log_err("%s", r > 0 ? err : strerror(-r));
                return r == BUS_E_NAME_TAKEN ? EXIT_TEMPFAIL :
                       r == BUS_E_CONNECT ? EXIT_UNAVAILABLE : EXIT_SOFTWARE;
        }
        bus_object_set_background(bus_object(d->bus), capture_background(d->capture));
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
                .assist_fd = -1,
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
        /* The assist thread lets go of Python before it is finalized, Stacks too. */
        assist_stop(d.assist);
        if (d.bus)
                bus_object_python_gone(bus_object(d.bus));
        /* Python goes first: atexit handlers may still touch the toolkit. */
        if (d.python)
                guimod_stop(); /* asyncio's tasks are cancelled while Python lives */
        d.python = python_free(d.python);
        /* fds 1 and 2 back; the bus still sends what was left as background output. */
        capture_stop(d.capture);
        signals_uninstall();
        if (d.executor)
                executor_shutdown(d.executor);
        d.bus = bus_free(d.bus);
        d.assist = assist_free(d.assist);
        if (d.assist_fd >= 0)
                close(d.assist_fd);
        d.executor = executor_free(d.executor);
        d.capture = capture_free(d.capture);
        if (d.guest)
                d.guest_plugin->guest_free(d.guest);
        if (d.loop && d.ops->free)
                d.ops->free(d.loop);
        free(d.python_version);
        pthread_mutex_destroy(&d.lock);
        if (code == 0)
                code = d.exit_code;
        if (code == 0)
                log_info("stopped");
        return code;
}
