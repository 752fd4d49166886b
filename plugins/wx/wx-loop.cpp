/* SPDX-License-Identifier: MIT */
/*
 * The wxWidgets 3.2 toolkit plugin (wxGTK).
 *
 * The application object is wxPython's: at the start of run() the plugin
 * creates a wx.App subclass through wxPython itself (wx_setup.py, which
 * also says how unmodified programs' own wx.App objects and MainLoop() calls
 * work, as measured), so that wx.GetApp() in
 * executed code is that very object, with every wx.App method.  (A C++
 * wxApp of our own would come back from wx.GetApp() as a bare wx.AppConsole
 * wrapper, without SetTopWindow, SetExitOnFrameDelete, MainLoop and the
 * rest: measured with wxPython 4.2.0.)  Creating it in run() keeps the ~0.2 s
 * of `import wx` and GTK start-up out of the time to the bus name; calls
 * that come earlier wait in the post queue.
 *
 * The loop itself is wx's: an event loop of the app's traits, installed as
 * the app's main loop so that wx.GetApp().IsMainLoopRunning() and
 * ExitMainLoop() mean what they say, run again until our own quit().
 *
 * wxGTK runs on GLib's default context, and wx has no public fd watch on
 * GTK that would exist before the app does (a Tk guest asks for its watches
 * before Python starts), so posted calls, fd watches and timers are GLib
 * sources of our own, as in the gtk plugin.  Posted calls share wx's idle
 * priority (G_PRIORITY_LOW), below input, redraws and timers; one runs per
 * iteration, and after each wx idles as after its own event handlers: what
 * the call left (wx.CallAfter, frames to delete) is done before the next
 * one starts.  Nothing polls: an idle daemon with frames open never wakes.
 * The poll function of plugins/glib reports each wait to the host.
 *
 * GDK exits 1 when the X server goes away; an Xlib I/O error handler of
 * ours, set once GDK opened its display, logs one line and exits 69.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <X11/Xlib.h>
#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <glib.h>
#include <memory>
#include <unistd.h>

#include <wx/app.h>
#include <wx/apptrait.h>
#include <wx/evtloop.h>
#include <wx/version.h>

#include "glib-sources.h"
#include "guiloop/plugin.h"
#include "sealed.hpp"
#include "wx-setup-py.h"

/*
 * Posted calls at the priority of wx's idle handler (pending events such as
 * wx.CallAfter, windows waiting for deletion), which a call wakes and which
 * then runs before the next call.  A timer of 0 runs at it too.
 */
constexpr int POSTS_PRIORITY = G_PRIORITY_LOW;

struct GuiloopLoop {
        const GuiloopHost *host;
        GMainContext *context;
        GlibPosts *posts;
        gint quit;              /* atomic: quit() was called */
        wxEventLoopBase *events; /* our event loop while run() runs it */
        char describe[64];
};

namespace {

const char setup_module[] = "_guiloop_setup_wx";

/* The app's main loop pointer (protected in wxAppConsoleBase). */
struct AppAccess : wxApp {
        static wxEventLoopBase *&main_loop(wxAppConsoleBase *app)
        {
                return app->*(&AppAccess::m_mainLoop);
        }
};

/* Whether an event loop is inside its Run() (protected in wxEventLoopBase). */
struct LoopAccess : wxEventLoopBase {
        static bool inside_run(const wxEventLoopBase *events)
        {
                return (events->*(&LoopAccess::IsInsideRun))();
        }
};

/* ---- posted calls ---- */

/* Executed code is our event handler: wx idles after it, as after its own. */
/* Called by GLib (C) after each posted call: sealed like an op. */
void wake_wx_idle(void *data) noexcept
{
        guiloop::guard_void(static_cast<const GuiloopHost *>(data), "wx", "idle", [] {
                if (wxTheApp)
                        wxTheApp->WakeUpIdle();
        });
}

int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        return glib_posts_push(loop->posts, fn, data);
}

/* ---- the application ---- */

/* Log the pending Python exception as one line. GIL held. */
void log_python_error(GuiloopLoop *loop, const char *what)
{
        PyObject *type, *value, *tb, *text = nullptr;
        const char *msg = nullptr;

        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value)
                text = PyObject_Repr(value);
        if (text)
                msg = PyUnicode_AsUTF8(text);
        PyErr_Clear();
        loop->host->log(loop->host->data, GUILOOP_LOG_ERR, "wx: %s: %s", what,
                        msg ? msg : "unknown Python error");
        Py_XDECREF(text);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
}

/* wxPython's wx.App, made through the setup module. Main thread, no GIL held. */
int create_app(GuiloopLoop *loop)
{
        PyGILState_STATE gil = PyGILState_Ensure();
        PyObject *module, *app = nullptr;

        module = PyImport_ImportModule(setup_module);
        if (module) {
                app = PyObject_CallMethod(module, "create_app", nullptr);
                Py_DECREF(module);
        }
        if (!app)
                log_python_error(loop, "cannot create the application");
        Py_XDECREF(app); /* the setup module keeps it */
        PyGILState_Release(gil);
        /* GTK set the locale from the environment; Python and Tcl want "C" numbers. */
        setlocale(LC_NUMERIC, "C");
        if (!app || !wxTheApp)
                return -EIO;
        return 0;
}

/* ---- losing the X server ---- */

const GuiloopHost *x_host;

int on_x_io_error(Display *)
{
        const char *display = getenv("DISPLAY");

        x_host->log(x_host->data, GUILOOP_LOG_ERR,
                    "wx: lost the connection to the X server (DISPLAY=%s); exiting",
                    display ? display : "");
        _exit(69);
}

/* ---- run and quit ---- */

int loop_run(GuiloopLoop *loop)
{
        int r;

        if (g_atomic_int_get(&loop->quit))
                return 0;
        r = create_app(loop);
        if (r < 0)
                return r;
        /* GDK set its own handler (it exits 1) when it opened the display. */
        x_host = loop->host;
        XSetIOErrorHandler(on_x_io_error);

        /* Executed code may call ExitMainLoop() or close the last frame: only quit() ends this. */
        while (!g_atomic_int_get(&loop->quit) && wxTheApp) {
                wxAppConsoleBase *app = wxTheApp;
                std::unique_ptr<wxEventLoopBase> events(app->GetTraits()->CreateEventLoop());

                if (!events)
                        return -ENOMEM;
                /* The app and loop->events only look at it; this scope owns it. */
                AppAccess::main_loop(app) = events.get();
                loop->events = events.get();
                events->Run();
                loop->events = nullptr;
                if (wxTheApp == app && AppAccess::main_loop(app) == events.get())
                        AppAccess::main_loop(app) = nullptr;
        }
        if (!g_atomic_int_get(&loop->quit)) {
                loop->host->log(loop->host->data, GUILOOP_LOG_ERR,
                                "wx: the application was destroyed; stopping");
                return -EIO;
        }
        return 0;
}

gboolean quit_now_unsealed(GuiloopLoop *loop)
{
        wxEventLoopBase *active = wxEventLoopBase::GetActive();

        /* A loop nested in ours (a modal dialog, executed code's MainLoop()) ends too. */
        if (active && active != loop->events && LoopAccess::inside_run(active))
                active->ScheduleExit(0);
        if (loop->events && LoopAccess::inside_run(loop->events))
                loop->events->ScheduleExit(0);
        return G_SOURCE_REMOVE;
}

/* A GLib (C) callback: sealed like an op. */
gboolean quit_now(gpointer data) noexcept
{
        GuiloopLoop *loop = static_cast<GuiloopLoop *>(data);

        return guiloop::guard(loop->host, "wx", "quit", static_cast<gboolean>(G_SOURCE_REMOVE),
                              [&] { return quit_now_unsealed(loop); });
}

void loop_quit(GuiloopLoop *loop)
{
        g_atomic_int_set(&loop->quit, 1);
        /* g_idle_add_full is thread-safe and wakes the context. */
        g_idle_add_full(G_PRIORITY_HIGH, quit_now, loop, nullptr);
}

/* ---- fd watches and timers for a guest: wxGTK's loop is GLib's ---- */

int loop_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn, void *data,
                   GuiloopWatch **out)
{
        return glib_watch_add(loop->context, fd, events, fn, data, out);
}

int loop_watch_update(GuiloopLoop *, GuiloopWatch *w, unsigned events)
{
        return glib_watch_update(w, events);
}

void loop_watch_remove(GuiloopLoop *, GuiloopWatch *w)
{
        glib_watch_remove(w);
}

int loop_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                   GuiloopTimer **out)
{
        return glib_timer_add(loop->context, usec, POSTS_PRIORITY, fn, data, out);
}

void loop_timer_remove(GuiloopLoop *, GuiloopTimer *t)
{
        glib_timer_remove(t);
}

/* ---- life ---- */

const char *loop_describe(GuiloopLoop *loop)
{
        /* wxGetLibraryVersionInfo() asserts before wx is initialised: the headers' version. */
        snprintf(loop->describe, sizeof(loop->describe), "wxWidgets %d.%d.%d", wxMAJOR_VERSION,
                 wxMINOR_VERSION, wxRELEASE_NUMBER);
        return loop->describe;
}

void loop_free(GuiloopLoop *loop)
{
        /*
         * Python is gone, and with it the app: wxPython's atexit handler ran
         * wxEntryCleanup(), which deleted the app and its windows.  Touch no
         * wx object here; GTK, like wx, goes with the process.
         */
        std::unique_ptr<GuiloopLoop> owned(loop);

        glib_posts_free(owned->posts);
        while (g_source_remove_by_user_data(loop)) /* a quit_now() that never ran */
                ;
}

/*
 * The sealed boundary: the tables hold only these noexcept wrappers
 * (guiloop::op() refuses anything else), and each runs its op inside
 * guiloop::guard(): a C++ exception becomes a log line and an error code
 * (plugins/common/sealed.hpp), never an unwinding into the daemon's C.
 */
const char *sealed_describe(GuiloopLoop *loop) noexcept
{
        return guiloop::guard(loop->host, "wx", "describe", "wxWidgets",
                              [&] { return loop_describe(loop); });
}

int sealed_run(GuiloopLoop *loop) noexcept
{
        return guiloop::guard_errno(loop->host, "wx", "run", [&] { return loop_run(loop); });
}

void sealed_quit(GuiloopLoop *loop) noexcept
{
        guiloop::guard_void(loop->host, "wx", "quit", [&] { loop_quit(loop); });
}

int sealed_post(GuiloopLoop *loop, GuiloopFn fn, void *data) noexcept
{
        return guiloop::guard_errno(loop->host, "wx", "post",
                                    [&] { return loop_post(loop, fn, data); });
}

int sealed_watch_add(GuiloopLoop *loop, int fd, unsigned events, GuiloopFdFn fn, void *data,
                     GuiloopWatch **out) noexcept
{
        return guiloop::guard_errno(loop->host, "wx", "watch_add",
                                    [&] {
                                            return loop_watch_add(loop, fd, events, fn, data,
                                                                  out);
                                    });
}

int sealed_watch_update(GuiloopLoop *loop, GuiloopWatch *w, unsigned events) noexcept
{
        return guiloop::guard_errno(loop->host, "wx", "watch_update",
                                    [&] { return loop_watch_update(loop, w, events); });
}

void sealed_watch_remove(GuiloopLoop *loop, GuiloopWatch *w) noexcept
{
        guiloop::guard_void(loop->host, "wx", "watch_remove", [&] { loop_watch_remove(loop, w); });
}

int sealed_timer_add(GuiloopLoop *loop, uint64_t usec, GuiloopFn fn, void *data,
                     GuiloopTimer **out) noexcept
{
        return guiloop::guard_errno(loop->host, "wx", "timer_add",
                                    [&] { return loop_timer_add(loop, usec, fn, data, out); });
}

void sealed_timer_remove(GuiloopLoop *loop, GuiloopTimer *t) noexcept
{
        guiloop::guard_void(loop->host, "wx", "timer_remove", [&] { loop_timer_remove(loop, t); });
}

void sealed_free(GuiloopLoop *loop) noexcept
{
        const GuiloopHost *host = loop ? loop->host : nullptr;

        guiloop::guard_void(host, "wx", "free", [&] { loop_free(loop); });
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

/* wx opens the display only when the app is made, in run(): check it now, once. */
int check_display(char *err, size_t errlen)
{
        const char *name = getenv("DISPLAY");
        const char *wayland = getenv("WAYLAND_DISPLAY");
        Display *display;

        if (!name || !*name) {
                if (wayland && *wayland)
                        return 0; /* GTK's Wayland backend; wx reports its own failure */
                snprintf(err, errlen, "cannot open a display: DISPLAY is not set");
                return GUILOOP_PLUGIN_E_UNAVAILABLE;
        }
        display = XOpenDisplay(name);
        if (!display) {
                snprintf(err, errlen, "cannot open display '%s'", name);
                return GUILOOP_PLUGIN_E_UNAVAILABLE;
        }
        XCloseDisplay(display);
        return 0;
}

int loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops, char *err,
             size_t errlen)
{
        int r;

        r = check_display(err, errlen);
        if (r != 0)
                return r;
        auto loop = std::make_unique<GuiloopLoop>(); /* value-initialised: zeroed */

        loop->host = host;
        loop->context = g_main_context_default();
        loop->posts = glib_posts_new(loop->context, POSTS_PRIORITY, wake_wx_idle,
                                     const_cast<GuiloopHost *>(host));
        glib_report_waits(loop->context, host);
        *ops = &loop_ops;
        *out = loop.release();
        return 0;
}

int sealed_loop_new(const GuiloopHost *host, GuiloopLoop **out, const GuiloopLoopOps **ops,
                    char *err, size_t errlen) noexcept
{
        int r = guiloop::guard_errno(host, "wx", "loop_new",
                                     [&] { return loop_new(host, out, ops, err, errlen); });

        if (r < 0 && errlen && !*err)
                snprintf(err, errlen, "cannot start wx: %s", strerror(-r));
        return r;
}

/* wxGTK runs on GTK 3, which cannot share a process with GTK 4. */
const char *const conflicts[] = { "gtk4", nullptr };

GuiloopPlugin make_plugin() noexcept
{
        GuiloopPlugin p{};

        p.abi = GUILOOP_PLUGIN_ABI;
        p.size = sizeof(p);
        p.name = "wx";
        p.description = "wxWidgets 3.2 main loop (wxPython's wx.App)";
        p.loop_new = guiloop::op(sealed_loop_new);
        p.python_setup = wx_setup_py;
        p.conflicts = conflicts;
        return p;
}

const GuiloopPlugin plugin = make_plugin();

} // namespace

GUILOOP_PLUGIN_DEFINE(plugin)
