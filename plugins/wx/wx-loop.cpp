/* SPDX-License-Identifier: MIT */
/*
 * The wxWidgets 3.2 toolkit plugin (wxGTK).
 *
 * The application object is wxPython's: at the start of run() the plugin
 * creates a wx.App subclass through wxPython itself, so that wx.GetApp() in
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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <X11/Xlib.h>
#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <glib.h>

#include <wx/app.h>
#include <wx/apptrait.h>
#include <wx/evtloop.h>
#include <wx/version.h>

#include "glib-sources.h"
#include "guiloop/plugin.h"

namespace {

} // namespace

struct GuiloopLoop {
        const GuiloopHost *host;
        GMainContext *context;
        GlibPosts *posts;
        gint quit;              /* atomic: quit() was called */
        wxEventLoopBase *events; /* our event loop while run() runs it */
        char describe[64];
};

namespace {

/*
 * The Python side, run once by the daemon after Python started: how run()
 * makes the application, and the guard that refuses a second one.  A second
 * wx.App would silently replace wxTheApp, and quitting would then hang
 * forever; the guard sits on wx.PyApp.__init__, which every wx.App
 * (subclasses, PySimpleApp, a bare wx.PyApp) goes through before a C++
 * object exists, and stays there even if wx is imported again.
 */
const char python_setup[] = R"PY(
"""guiloopd's wx plugin: the one wx.App, and the guard against a second."""

REFUSED = "guiloopd already runs a wx.App; use wx.GetApp()"
app = None


def _guard(wx):
    init = wx.PyApp.__init__
    if getattr(init, "_guiloop_guard", False):
        return

    def __init__(self, *args, **kwargs):
        if app is not None:
            raise RuntimeError(REFUSED)
        init(self, *args, **kwargs)

    __init__._guiloop_guard = True
    __init__.__doc__ = init.__doc__
    wx.PyApp.__init__ = __init__


def create_app():
    """Called by the plugin at the start of run(), in the GUI thread."""
    global app
    import wx

    existing = wx.GetApp()
    if isinstance(existing, wx.PyApp):
        # python.startup made one before us: adopt it rather than replace it.
        made = existing
        # wx.App() reset Python's SIGINT handler to SIG_DFL unless told not
        # to; give the daemon's Interrupt back its handler.
        import signal
        import _guiloop
        if signal.getsignal(signal.SIGINT) in (signal.SIG_DFL, signal.SIG_IGN, None):
            signal.signal(signal.SIGINT, _guiloop.sigint)
    else:
        class GuiloopApp(wx.App):
            """guiloopd's application: get it with wx.GetApp()."""

            def OnInit(self):
                return True

        # clearSigInt=False: wx.App would otherwise reset SIGINT to SIG_DFL,
        # and the daemon's Interrupt (a SIGINT at this thread) would kill it.
        made = GuiloopApp(redirect=False, clearSigInt=False)
    # Windows come and go; the daemon's loop stays until guiloopd quits.
    made.SetExitOnFrameDelete(False)
    app = made
    _guard(wx)
    return made
)PY";

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
void wake_wx_idle(void *)
{
        if (wxTheApp)
                wxTheApp->WakeUpIdle();
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

/* ---- run and quit ---- */

int loop_run(GuiloopLoop *loop)
{
        int r;

        if (g_atomic_int_get(&loop->quit))
                return 0;
        r = create_app(loop);
        if (r < 0)
                return r;

        /* Executed code may call ExitMainLoop() or close the last frame: only quit() ends this. */
        while (!g_atomic_int_get(&loop->quit) && wxTheApp) {
                wxAppConsoleBase *app = wxTheApp;
                wxEventLoopBase *events = app->GetTraits()->CreateEventLoop();

                if (!events)
                        return -ENOMEM;
                AppAccess::main_loop(app) = events;
                loop->events = events;
                events->Run();
                loop->events = nullptr;
                if (wxTheApp == app && AppAccess::main_loop(app) == events)
                        AppAccess::main_loop(app) = nullptr;
                delete events;
        }
        if (!g_atomic_int_get(&loop->quit)) {
                loop->host->log(loop->host->data, GUILOOP_LOG_ERR,
                                "wx: the application was destroyed; stopping");
                return -EIO;
        }
        return 0;
}

gboolean quit_now(gpointer data)
{
        GuiloopLoop *loop = static_cast<GuiloopLoop *>(data);
        wxEventLoopBase *active = wxEventLoopBase::GetActive();

        /* A loop nested in ours (a modal dialog, executed code's MainLoop()) ends too. */
        if (active && active != loop->events && LoopAccess::inside_run(active))
                active->ScheduleExit(0);
        if (loop->events && LoopAccess::inside_run(loop->events))
                loop->events->ScheduleExit(0);
        return G_SOURCE_REMOVE;
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
        return glib_timer_add(loop->context, usec, fn, data, out);
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
        glib_posts_free(loop->posts);
        while (g_source_remove_by_user_data(loop)) /* a quit_now() that never ran */
                ;
        free(loop);
}

const GuiloopLoopOps loop_ops = {
        GUILOOP_LOOP_OPS_VERSION,
        sizeof(GuiloopLoopOps),
        loop_describe,
        loop_run,
        loop_quit,
        loop_post,
        loop_watch_add,
        loop_watch_update,
        loop_watch_remove,
        loop_timer_add,
        loop_timer_remove,
        loop_free,
};

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
        GuiloopLoop *loop;
        int r;

        r = check_display(err, errlen);
        if (r != 0)
                return r;
        loop = static_cast<GuiloopLoop *>(calloc(1, sizeof(*loop)));
        if (!loop)
                return -ENOMEM;
        loop->host = host;
        loop->context = g_main_context_default();
        /*
         * At the priority of wx's idle handler (pending events such as
         * wx.CallAfter, windows waiting for deletion), which a call wakes and
         * which then runs before the next call.
         */
        loop->posts = glib_posts_new(loop->context, G_PRIORITY_LOW, wake_wx_idle, nullptr);
        *out = loop;
        *ops = &loop_ops;
        return 0;
}

const GuiloopPlugin plugin = {
        GUILOOP_PLUGIN_ABI,
        sizeof(GuiloopPlugin),
        "wx",
        "wxWidgets 3.2 main loop (wxPython's wx.App)",
        loop_new,
        nullptr,
        nullptr,
        python_setup,
        nullptr, /* conflicts */
};

} // namespace

extern "C" GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)
{
        return &plugin;
}
