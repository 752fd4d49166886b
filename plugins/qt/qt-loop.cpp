/* SPDX-License-Identifier: MIT */
/*
 * The Qt plugins, one source built twice: `qt` against Qt 5 (PyQt5) and
 * `qt6` against Qt 6 (PyQt6), apart where QT_VERSION says otherwise.
 * QApplication::exec() in the main thread.  Qt 5 and Qt 6 (and with them
 * PyQt5 and PyQt6) cannot share a process: qt_setup.py refuses an import of
 * the other binding with an ImportError that says so.
 *
 * Posted calls wait in a FIFO of our own; one posted low-priority QEvent runs
 * the oldest and, if more wait, posts itself again once it ran.  Qt delivers
 * an event posted while it sends posted events on its next pass only, so the
 * toolkit processes its own events (input, timers, what the call posted)
 * between two calls, and QCoreApplication::postEvent() wakes the event
 * dispatcher at once: nothing polls.  A guest's fd watches are
 * QSocketNotifiers, its timers precise Qt timers on one QObject.
 *
 * Executed PyQt5 code uses our QApplication: qt_setup.py (the plugin's
 * python_setup) makes QApplication(sys.argv), a subclass, exec_() and the
 * nested loops of an unmodified program work on it; read its opening comment
 * for what was measured.  The daemon finalizes Python before free() deletes
 * the application: the reverse order crashes in ~QWidget.
 *
 * Qt's event dispatcher is GLib's (Debian's Qt 5 and 6) on the default context:
 * the poll function of plugins/glib reports each wait to the host
 * (LoopBlockedMs, interrupting a GUI callback).  When the X server goes
 * away, Qt's xcb platform says "The X11 connection broke" and calls
 * exit(1); a message handler of ours logs one line and exits 69 instead.
 */
#include <QtCore/QCoreApplication>
#include <QtCore/QEvent>
#include <QtCore/QObject>
#include <QtCore/QSocketNotifier>
#include <QtCore/QTimerEvent>
#include <QtCore/QtGlobal>
#include <QtWidgets/QApplication>

#include <xcb/xcb.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <unistd.h>
#include <unordered_map>

#include "glib-sources.h"
#include "guiloop/plugin.h"
#include "qt-setup-py.h"
#include "sealed.hpp"

#if QT_VERSION >= QT_VERSION_CHECK(6, 0, 0)
#define QT_PLUGIN_NAME "qt6"
#define QT_PLUGIN_OTHER "qt"
#define QT_PLUGIN_DESCRIPTION "Qt 6 main loop (QApplication)"
#else
#define QT_PLUGIN_NAME "qt"
#define QT_PLUGIN_OTHER "qt6"
#define QT_PLUGIN_DESCRIPTION "Qt 5 main loop (QApplication)"
#endif

namespace {

/*
 * QApplication keeps references to argc and argv for its whole life (a stack
 * variable here crashed 3 runs in 8): they live as long as the process.
 */
char app_name[] = "guiloopd";
int app_argc = 1;
char *app_argv[] = { app_name, nullptr };

struct Call {
        GuiloopFn fn;
        void *data;
};

class Pump;

} // namespace

struct GuiloopLoop {
        const GuiloopHost *host;
        /* Declared before pump: destroyed after it (members go in reverse order). */
        std::unique_ptr<QApplication> app;
        /* Receives our events and timers; parent (Qt owner) of the notifiers. */
        std::unique_ptr<Pump> pump;
        QEvent::Type post_type;
        QEvent::Type quit_type;
        std::atomic<bool> quit{ false };

        /* Posted calls: any thread appends, the loop's thread runs them. */
        std::mutex lock;
        std::deque<Call> calls;
        bool scheduled = false; /* a post event is on its way, or its call runs */

        std::unordered_map<int, std::unique_ptr<GuiloopTimer>> timers; /* by Qt timer id */
        char describe[64];
};

struct GuiloopTimer {
        int id;
        GuiloopFn fn;
        void *data;
};

namespace {

class Notifier;

} // namespace

struct GuiloopWatch {
        int fd;
        GuiloopFdFn fn;
        void *data;
        Notifier *read;
        Notifier *write;
};

namespace {

/* Runs one posted call per event, quits, and fires the guest's timers. */
class Pump : public QObject {
    public:
        explicit Pump(GuiloopLoop *loop) : loop_(loop) {}

    protected:
        /* Qt calls these from its dispatcher, itself called from GLib's C: sealed too. */
        bool event(QEvent *e) noexcept override
        {
                return guiloop::guard(loop_->host, QT_PLUGIN_NAME, "posted call", true,
                                      [&] { return handle(e); });
        }

        void timerEvent(QTimerEvent *e) noexcept override
        {
                guiloop::guard_void(loop_->host, QT_PLUGIN_NAME, "timer", [&] { fire(e); });
        }

    private:
        bool handle(QEvent *e);
        void fire(QTimerEvent *e);

        GuiloopLoop *loop_;
};

bool Pump::handle(QEvent *e)
{
        if (e->type() == loop_->post_type) {
                Call c{};
                bool have = false, again;

                {
                        std::lock_guard<std::mutex> guard(loop_->lock);
                        if (!loop_->calls.empty()) {
                                c = loop_->calls.front();
                                loop_->calls.pop_front();
                                have = true;
                        }
                }
                /* Still scheduled while fn runs: a nested loop in it runs no other call. */
                if (have)
                        c.fn(c.data);
                {
                        std::lock_guard<std::mutex> guard(loop_->lock);
                        again = !loop_->calls.empty();
                        loop_->scheduled = again;
                }
                /*
                 * Posted now, delivered on Qt's next pass, after what fn posted
                 * (repaints are low priority too): one call per loop iteration.
                 */
                if (again)
                        QCoreApplication::postEvent(this, new QEvent(loop_->post_type),
                                                    Qt::LowEventPriority);
                return true;
        }
        if (e->type() == loop_->quit_type) {
                /* Ends every event loop of this thread, nested ones too. */
                QCoreApplication::exit(0);
                return true;
        }
        return QObject::event(e);
}

void Pump::fire(QTimerEvent *e)
{
        auto it = loop_->timers.find(e->timerId());
        GuiloopFn fn;
        void *data;

        killTimer(e->timerId());
        if (it == loop_->timers.end())
                return;
        fn = it->second->fn;
        data = it->second->data;
        /* One-shot: gone before fn runs, so fn may add the next one. */
        loop_->timers.erase(it);
        fn(data);
}

/* One direction of an fd watch. */
class Notifier : public QSocketNotifier {
    public:
        Notifier(const GuiloopHost *host, GuiloopWatch *watch, Type type, unsigned events,
                 QObject *parent)
                : QSocketNotifier(watch->fd, type, parent), host_(host), watch_(watch),
                  events_(events)
        {
        }

        void detach()
        {
                watch_ = nullptr;
                setEnabled(false);
                /* Maybe inside our own event(): Qt deletes us once that is over. */
                deleteLater();
        }

    protected:
        bool event(QEvent *e) noexcept override
        {
                return guiloop::guard(host_, QT_PLUGIN_NAME, "fd watch", true,
                                      [&] { return handle(e); });
        }

    private:
        bool handle(QEvent *e)
        {
                if (e->type() == QEvent::SockAct || e->type() == QEvent::SockClose) {
                        GuiloopWatch *w = watch_;

                        /* fn may remove this watch: touch nothing afterwards. */
                        if (w)
                                w->fn(w->data, w->fd, events_);
                        return true;
                }
                return QSocketNotifier::event(e);
        }

        const GuiloopHost *host_;
        GuiloopWatch *watch_;
        unsigned events_;
};

/* ---- posted calls, run and quit ---- */

int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        bool wake;

        try {
                std::lock_guard<std::mutex> guard(loop->lock);

                loop->calls.push_back(Call{ fn, data });
                wake = !loop->scheduled;
                loop->scheduled = true;
        } catch (const std::bad_alloc &) {
                return -ENOMEM;
        }
        /* postEvent() is thread-safe and wakes the event dispatcher. */
        if (wake)
                QCoreApplication::postEvent(loop->pump.get(), new QEvent(loop->post_type),
                                            Qt::LowEventPriority);
        return 0;
}

int loop_run(GuiloopLoop *loop)
{
        /* Executed code may call app.quit(): only our quit() ends the loop. */
        while (!loop->quit.load())
                loop->app->exec();
        return 0;
}

void loop_quit(GuiloopLoop *loop)
{
        loop->quit.store(true);
        QCoreApplication::postEvent(loop->pump.get(), new QEvent(loop->quit_type),
                                    Qt::HighEventPriority);
}

/* ---- fd watches and timers for a guest ---- */

int loop_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events)
{
        (void)loop;
        w->read->setEnabled(events & GUILOOP_FD_IN);
        w->write->setEnabled(events & GUILOOP_FD_OUT);
        return 0;
}

int loop_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn, void *data,
                   GuiloopWatch **out)
{
        auto w = std::make_unique<GuiloopWatch>(GuiloopWatch{ fd, fn, data, nullptr, nullptr });

        /* The notifiers belong to the pump, their Qt parent; the watch to our caller. */
        w->read = new Notifier(loop->host, w.get(), QSocketNotifier::Read, GUILOOP_FD_IN,
                               loop->pump.get());
        w->write = new Notifier(loop->host, w.get(), QSocketNotifier::Write, GUILOOP_FD_OUT,
                                loop->pump.get());
        loop_watch_update(loop, w.get(), events);
        *out = w.release();
        return 0;
}

void loop_watch_remove(GuiloopLoop *loop, GuiloopWatch *w)
{
        (void)loop;
        std::unique_ptr<GuiloopWatch> owned(w);

        owned->read->detach();
        owned->write->detach();
}

int loop_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                   GuiloopTimer **out)
{
        uint64_t ms = (usec + 999) / 1000;
        int id;

        if (ms > INT32_MAX)
                ms = INT32_MAX;
        id = loop->pump->startTimer((int)ms, Qt::PreciseTimer);
        if (id == 0)
                return -EINVAL;
        auto t = std::make_unique<GuiloopTimer>(GuiloopTimer{ id, fn, data });
        auto &slot = loop->timers[id];

        slot = std::move(t);
        if (out)
                *out = slot.get();
        return 0;
}

void loop_timer_remove(GuiloopLoop *loop, GuiloopTimer *t)
{
        loop->pump->killTimer(t->id);
        loop->timers.erase(t->id); /* deletes t */
}

/* ---- life ---- */

const char *loop_describe(GuiloopLoop *loop)
{
        snprintf(loop->describe, sizeof(loop->describe), "Qt %s", qVersion());
        return loop->describe;
}

/* Our own connection to the X server, kept to tell whether it is still there. */
xcb_connection_t *x_probe;

void loop_free(GuiloopLoop *loop)
{
        if (!loop)
                return;
        std::unique_ptr<GuiloopLoop> owned(loop);

        owned->timers.clear();
        /* Takes the notifiers of watches never removed with it. */
        owned->pump.reset();
        /* Python is gone by now: widgets it owned were deleted while the app lived. */
        owned->app.reset();
        owned.reset();
        if (x_probe)
                xcb_disconnect(x_probe);
        x_probe = nullptr;
}

/*
 * The sealed boundary: the tables hold only these noexcept wrappers
 * (guiloop::op() refuses anything else), and each runs its op inside
 * guiloop::guard(): a C++ exception becomes a log line and an error code
 * (plugins/common/sealed.hpp), never an unwinding into the daemon's C.
 */
const char *sealed_describe(GuiloopLoop *loop) noexcept
{
        return guiloop::guard(loop->host, QT_PLUGIN_NAME, "describe", "Qt",
                              [&] { return loop_describe(loop); });
}

int sealed_run(GuiloopLoop *loop) noexcept
{
        return guiloop::guard_errno(loop->host, QT_PLUGIN_NAME, "run",
                                    [&] { return loop_run(loop); });
}

void sealed_quit(GuiloopLoop *loop) noexcept
{
        guiloop::guard_void(loop->host, QT_PLUGIN_NAME, "quit", [&] { loop_quit(loop); });
}

int sealed_post(GuiloopLoop *loop, GuiloopFn fn, void *data) noexcept
{
        return guiloop::guard_errno(loop->host, QT_PLUGIN_NAME, "post",
                                    [&] { return loop_post(loop, fn, data); });
}

int sealed_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn, void *data,
                     GuiloopWatch **out) noexcept
{
        return guiloop::guard_errno(loop->host, QT_PLUGIN_NAME, "watch_add",
                                    [&] {
                                            return loop_watch_add(loop, fd, events, fn, data,
                                                                  out);
                                    });
}

int sealed_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events) noexcept
{
        return guiloop::guard_errno(loop->host, QT_PLUGIN_NAME, "watch_update",
                                    [&] { return loop_watch_update(loop, w, events); });
}

void sealed_watch_remove(GuiloopLoop *loop, GuiloopWatch *w) noexcept
{
        guiloop::guard_void(loop->host, QT_PLUGIN_NAME, "watch_remove",
                            [&] { loop_watch_remove(loop, w); });
}

int sealed_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                     GuiloopTimer **out) noexcept
{
        return guiloop::guard_errno(loop->host, QT_PLUGIN_NAME, "timer_add",
                                    [&] { return loop_timer_add(loop, usec, fn, data, out); });
}

void sealed_timer_remove(GuiloopLoop *loop, GuiloopTimer *t) noexcept
{
        guiloop::guard_void(loop->host, QT_PLUGIN_NAME, "timer_remove",
                            [&] { loop_timer_remove(loop, t); });
}

void sealed_free(GuiloopLoop *loop) noexcept
{
        const GuiloopHost *host = loop ? loop->host : nullptr;

        guiloop::guard_void(host, QT_PLUGIN_NAME, "free", [&] { loop_free(loop); });
}

/* One initialiser style for the ABI tables, C++17's: a zeroed table, its fields by name. */
GuiloopLoopOps make_loop_ops() noexcept
{
        GuiloopLoopOps o{};

        o.version = GUILOOP_LOOP_OPS_VERSION;
        o.size = sizeof(o);
        o.describe = guiloop::op(sealed_describe);
        o.run = guiloop::op(sealed_run);
        o.quit = guiloop::op(sealed_quit);
        o.post = guiloop::op(sealed_post);
        o.watch_add = guiloop::op(sealed_watch_add);
        o.watch_update = guiloop::op(sealed_watch_update);
        o.watch_remove = guiloop::op(sealed_watch_remove);
        o.timer_add = guiloop::op(sealed_timer_add);
        o.timer_remove = guiloop::op(sealed_timer_remove);
        o.free = guiloop::op(sealed_free);
        return o;
}

const GuiloopLoopOps loop_ops = make_loop_ops();

/*
 * Qt's xcb platform calls qFatal() (abort) when it cannot connect: try the
 * display first, and keep that connection (*probe) at least until Qt has its
 * own (the plugin keeps it to check the server is alive): an X server without -noreset resets when its last client leaves, and Qt
 * connecting during that reset aborted 2 runs in 6.  Another platform
 * (QT_QPA_PLATFORM=offscreen, ...) is Qt's to check.
 */
int check_display(xcb_connection_t **probe, char *err, size_t errlen)
{
        const char *platform = getenv("QT_QPA_PLATFORM");
        const char *name = getenv("DISPLAY");
        xcb_connection_t *c;

        *probe = nullptr;
        if (platform && *platform && strncmp(platform, "xcb", 3) != 0)
                return 0;
        if (!name || !*name) {
                snprintf(err, errlen, "cannot open a display: DISPLAY is not set");
                return GUILOOP_PLUGIN_E_UNAVAILABLE;
        }
        c = xcb_connect(name, nullptr);
        if (xcb_connection_has_error(c)) {
                xcb_disconnect(c);
                snprintf(err, errlen, "cannot open display '%s'", name);
                return GUILOOP_PLUGIN_E_UNAVAILABLE;
        }
        *probe = c;
        return 0;
}

/* The plugin's host, for the message handler (Qt gives it no context). */
const GuiloopHost *message_host;
QtMessageHandler next_message_handler;
bool x_server_gone(void)
{
        xcb_get_input_focus_reply_t *reply;

        if (!x_probe)
                return false;
        reply = xcb_get_input_focus_reply(x_probe, xcb_get_input_focus(x_probe), nullptr);
        free(reply);
        return !reply || xcb_connection_has_error(x_probe);
}

void on_message(QtMsgType type, const QMessageLogContext &context, const QString &text)
{
        /*
         * Qt's xcb platform, when the X server went away: it would exit(1),
         * after a warning or two from whatever failed first (a shared-memory
         * segment for a repaint, say).
         */
        bool xcb = context.category && strncmp(context.category, "qt.qpa.xcb", 10) == 0;

        if ((type == QtWarningMsg && text.startsWith(QLatin1String("The X11 connection broke"))) ||
            (xcb && x_server_gone())) {
                const char *display = getenv("DISPLAY");

                message_host->log(message_host->data, GUILOOP_LOG_ERR,
                                  QT_PLUGIN_NAME ": lost the connection to the X server (DISPLAY=%s); exiting",
                                  display ? display : "");
                _exit(69);
        }
        if (next_message_handler)
                next_message_handler(type, context, text);
}

int loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops, char *err,
             size_t errlen)
{
        xcb_connection_t *probe;
        int r;

        if (QCoreApplication::instance()) {
                snprintf(err, errlen, "a Qt application object exists already");
                return -EEXIST;
        }
        r = check_display(&probe, err, errlen);
        if (r != 0)
                return r;
        /* Without GL, the xcb GL integration loads Mesa's LLVM (~50 MB) for nothing. */
        setenv("QT_XCB_GL_INTEGRATION", "none", 0);

        /* Owned here until handed over: an exception below leaks neither. */
        std::unique_ptr<xcb_connection_t, void (*)(xcb_connection_t *)> probe_owner(
                probe, [](xcb_connection_t *c) {
                        if (c)
                                xcb_disconnect(c);
                });
        auto loop = std::make_unique<GuiloopLoop>();

        loop->host = host;
        message_host = host;
        next_message_handler = qInstallMessageHandler(on_message);
        loop->app = std::make_unique<QApplication>(app_argc, app_argv);
        glib_report_waits(g_main_context_default(), host);
        x_probe = probe_owner.release();
        /* Closing the last window must not end the daemon's loop. */
        QApplication::setQuitOnLastWindowClosed(false);
        loop->post_type = static_cast<QEvent::Type>(QEvent::registerEventType());
        loop->quit_type = static_cast<QEvent::Type>(QEvent::registerEventType());
        loop->pump = std::make_unique<Pump>(loop.get());
        *ops = &loop_ops;
        *out = loop.release();
        return 0;
}

const char *const conflicts[] = { QT_PLUGIN_OTHER, nullptr };

int sealed_loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops,
                    char *err, size_t errlen) noexcept
{
        int r = guiloop::guard_errno(host, QT_PLUGIN_NAME, "loop_new",
                                     [&] { return loop_new(host, out, ops, err, errlen); });

        if (r < 0 && errlen && !*err)
                snprintf(err, errlen, "cannot start Qt: %s", strerror(-r));
        return r;
}

GuiloopPlugin make_plugin() noexcept
{
        GuiloopPlugin p{};

        p.abi = GUILOOP_PLUGIN_ABI;
        p.size = sizeof(p);
        p.name = QT_PLUGIN_NAME;
        p.description = QT_PLUGIN_DESCRIPTION;
        p.loop_new = guiloop::op(sealed_loop_new);
        p.python_setup = qt_setup_py;
        p.conflicts = conflicts;
        return p;
}

const GuiloopPlugin plugin = make_plugin();

} // namespace

GUILOOP_PLUGIN_DEFINE(plugin)
