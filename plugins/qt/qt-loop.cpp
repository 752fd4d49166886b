/* SPDX-License-Identifier: MIT */
/*
 * The Qt 5 toolkit plugin: QApplication::exec() in the main thread.
 *
 * Posted calls wait in a FIFO of our own; one posted low-priority QEvent runs
 * the oldest and, if more wait, posts itself again once it ran.  Qt delivers
 * an event posted while it sends posted events on its next pass only, so the
 * toolkit processes its own events (input, timers, what the call posted)
 * between two calls, and QCoreApplication::postEvent() wakes the event
 * dispatcher at once: nothing polls.  A guest's fd watches are
 * QSocketNotifiers, its timers precise Qt timers on one QObject.
 *
 * Executed PyQt5 code uses our QApplication; python_setup below refuses a
 * second one.  The daemon finalizes Python before free() deletes the
 * application: the reverse order crashes in ~QWidget.
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
#include <mutex>
#include <new>
#include <unordered_map>

#include "guiloop/plugin.h"

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
        QApplication *app;
        Pump *pump; /* receives our events and timers, parent of the notifiers */
        QEvent::Type post_type;
        QEvent::Type quit_type;
        std::atomic<bool> quit{ false };

        /* Posted calls: any thread appends, the loop's thread runs them. */
        std::mutex lock;
        std::deque<Call> calls;
        bool scheduled = false; /* a post event is on its way, or its call runs */

        std::unordered_map<int, GuiloopTimer *> timers; /* by Qt timer id */
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
        bool event(QEvent *e) override;
        void timerEvent(QTimerEvent *e) override;

    private:
        GuiloopLoop *loop_;
};

bool Pump::event(QEvent *e)
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

void Pump::timerEvent(QTimerEvent *e)
{
        auto it = loop_->timers.find(e->timerId());
        GuiloopTimer *t;
        GuiloopFn fn;
        void *data;

        killTimer(e->timerId());
        if (it == loop_->timers.end())
                return;
        t = it->second;
        loop_->timers.erase(it);
        fn = t->fn;
        data = t->data;
        /* One-shot: gone before fn runs, so fn may add the next one. */
        delete t;
        fn(data);
}

/* One direction of an fd watch. */
class Notifier : public QSocketNotifier {
    public:
        Notifier(GuiloopWatch *watch, Type type, unsigned events, QObject *parent)
                : QSocketNotifier(watch->fd, type, parent), watch_(watch), events_(events)
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
        bool event(QEvent *e) override
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

    private:
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
                QCoreApplication::postEvent(loop->pump, new QEvent(loop->post_type),
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
        QCoreApplication::postEvent(loop->pump, new QEvent(loop->quit_type),
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
        GuiloopWatch *w = new (std::nothrow) GuiloopWatch{ fd, fn, data, nullptr, nullptr };

        if (!w)
                return -ENOMEM;
        w->read = new Notifier(w, QSocketNotifier::Read, GUILOOP_FD_IN, loop->pump);
        w->write = new Notifier(w, QSocketNotifier::Write, GUILOOP_FD_OUT, loop->pump);
        loop_watch_update(loop, w, events);
        *out = w;
        return 0;
}

void loop_watch_remove(GuiloopLoop *loop, GuiloopWatch *w)
{
        (void)loop;
        w->read->detach();
        w->write->detach();
        delete w;
}

int loop_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                   GuiloopTimer **out)
{
        uint64_t ms = (usec + 999) / 1000;
        GuiloopTimer *t;
        int id;

        if (ms > INT32_MAX)
                ms = INT32_MAX;
        id = loop->pump->startTimer((int)ms, Qt::PreciseTimer);
        if (id == 0)
                return -EINVAL;
        t = new (std::nothrow) GuiloopTimer{ id, fn, data };
        if (!t) {
                loop->pump->killTimer(id);
                return -ENOMEM;
        }
        loop->timers[id] = t;
        if (out)
                *out = t;
        return 0;
}

void loop_timer_remove(GuiloopLoop *loop, GuiloopTimer *t)
{
        loop->pump->killTimer(t->id);
        loop->timers.erase(t->id);
        delete t;
}

/* ---- life ---- */

const char *loop_describe(GuiloopLoop *loop)
{
        snprintf(loop->describe, sizeof(loop->describe), "Qt %s", qVersion());
        return loop->describe;
}

void loop_free(GuiloopLoop *loop)
{
        if (!loop)
                return;
        for (auto &it : loop->timers)
                delete it.second;
        loop->timers.clear();
        /* Takes the notifiers of watches never removed with it. */
        delete loop->pump;
        /* Python is gone by now: widgets it owned were deleted while the app lived. */
        delete loop->app;
        delete loop;
}

const GuiloopLoopOps loop_ops = {
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

/*
 * Qt's xcb platform calls qFatal() (abort) when it cannot connect: try the
 * display first, and keep that connection until Qt has its own (*probe):
 * an X server without -noreset resets when its last client leaves, and Qt
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

int loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops, char *err,
             size_t errlen)
{
        xcb_connection_t *probe;
        GuiloopLoop *loop;
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

        loop = new (std::nothrow) GuiloopLoop;
        if (!loop) {
                if (probe)
                        xcb_disconnect(probe);
                return -ENOMEM;
        }
        loop->host = host;
        loop->app = new QApplication(app_argc, app_argv);
        if (probe)
                xcb_disconnect(probe);
        /* Closing the last window must not end the daemon's loop. */
        QApplication::setQuitOnLastWindowClosed(false);
        loop->post_type = static_cast<QEvent::Type>(QEvent::registerEventType());
        loop->quit_type = static_cast<QEvent::Type>(QEvent::registerEventType());
        loop->pump = new Pump(loop);
        *out = loop;
        *ops = &loop_ops;
        return 0;
}

/*
 * Run once in the daemon's Python before any execution.
 *
 * PyQt5 wraps our QApplication for QApplication.instance(), but a second
 * application created by executed code would silently replace it and crash
 * at exit: the constructors of QCoreApplication, QGuiApplication and
 * QApplication raise instead, patched when PyQt5 loads those modules (or now,
 * if python.startup imported them already).  Subclasses get there through
 * super().__init__().
 *
 * PyQt5 also calls qFatal() (abort) on an exception in a slot while
 * sys.excepthook is Python's own: a hook of ours only prints it.
 */
const char python_setup[] = R"PY(
import sys

_REFUSED = {
    "PyQt5.QtCore": "QCoreApplication",
    "PyQt5.QtGui": "QGuiApplication",
    "PyQt5.QtWidgets": "QApplication",
}
_MESSAGE = "guiloopd already runs a QApplication; use QApplication.instance()"


def _guard(cls):
    """Make cls refuse to construct an application object."""
    if cls.__dict__.get("_guiloop_guarded"):
        return
    init = cls.__init__  # sip's own

    def __init__(self, *args, **kwargs):
        # sip wraps an existing application (QApplication.instance(), qApp)
        # by calling the class without arguments; constructing takes argv.
        if args or kwargs:
            raise RuntimeError(_MESSAGE)
        init(self)

    __init__.__qualname__ = cls.__name__ + ".__init__"
    cls.__init__ = __init__
    cls._guiloop_guarded = True


def _excepthook(exc_type, exc, tb):
    sys.__excepthook__(exc_type, exc, tb)


def _patch(module):
    cls = getattr(module, _REFUSED[module.__name__], None)
    if cls is not None:
        _guard(cls)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook


class _Loader:
    """The real loader of a PyQt5 module, patching what it loaded."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        _patch(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class QtApplicationGuard:
    """sys.meta_path entry: PyQt5's application classes refuse a second app."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname not in _REFUSED:
            return None
        for finder in sys.meta_path:
            if finder is cls:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


for _name in _REFUSED:
    if _name in sys.modules:
        _patch(sys.modules[_name])
sys.meta_path.insert(0, QtApplicationGuard)
)PY";

const GuiloopPlugin plugin = {
        .abi = GUILOOP_PLUGIN_ABI,
        .size = sizeof(GuiloopPlugin),
        .name = "qt",
        .description = "Qt 5 main loop (QApplication)",
        .loop_new = loop_new,
        .guest_new = nullptr,
        .guest_free = nullptr,
        .python_setup = python_setup,
        .conflicts = nullptr,
};

} // namespace

extern "C" GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)
{
        return &plugin;
}
