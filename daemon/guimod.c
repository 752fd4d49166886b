/* SPDX-License-Identifier: MIT */
/*
 * _guiloop_gui: the small C layer under the embedded modules guiloop,
 * _guiloop_asyncio and _guiloop_matplotlib (see guimod.h).
 *
 * post(fn) goes through the plugin's post(): any thread, FIFO, wakes the
 * loop, never polls.  watch_add/timer_add are the plugin's fd watches and
 * one-shot timers, the host interface the Tk guest also rides on: an asyncio
 * loop built on them runs inside every toolkit's loop with no code of its
 * own per toolkit.  Each watch or timer is a capsule; dropping the capsule
 * removes what is still pending, so nothing can fire into freed memory.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "guimod.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "guiloop-asyncio-py.h"
#include "guiloop-hooks-py.h"
#include "pyembed.h"
#include "guiloop-matplotlib-py.h"
#include "guiloop-module-py.h"
#include "log.h"

static GuiModuleHost host;
static char toolkit[16];
static pthread_t gui_thread;
static bool started;
/* Python is up: posted calls that arrive later (shutdown) are dropped. */
static volatile bool python_alive;

static bool in_gui_thread(void)
{
        return started && pthread_equal(pthread_self(), gui_thread);
}

static PyObject *not_gui_thread(void)
{
        PyErr_SetString(PyExc_RuntimeError, "only the GUI thread may do this");
        return NULL;
}

/*
 * leak_hook(exc) -> bool, set by _guiloop_asyncio: a KeyboardInterrupt or
 * SystemExit out of one of our callbacks may belong to an execution that
 * waits in a nested loop (an Interrupt's signal handler runs in whatever
 * Python code comes first, which may be our fd watch's callback).
 */
static PyObject *leak_hook;

/* Call fn() with the GIL held; a leaked exception is printed (background output). */
static void call_python_failed(void);

static void call_python(PyObject *fn, PyObject *args)
{
        PyObject *r = args ? PyObject_CallObject(fn, args) : PyObject_CallNoArgs(fn);

        if (r)
                Py_DECREF(r);
        else
                call_python_failed();
}

/* The exception a callback raised: to leak_hook, or printed. */
static void call_python_failed(void)
{
        PyObject *type, *value, *tb, *taken;

        if (leak_hook && (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt) ||
                          PyErr_ExceptionMatches(PyExc_SystemExit))) {
                PyErr_Fetch(&type, &value, &tb);
                PyErr_NormalizeException(&type, &value, &tb);
                if (tb && value)
                        PyException_SetTraceback(value, tb);
                taken = PyObject_CallOneArg(leak_hook, value ? value : Py_None);
                if (taken == Py_True) {
                        Py_DECREF(taken);
                        Py_XDECREF(type);
                        Py_XDECREF(value);
                        Py_XDECREF(tb);
                        return;
                }
                if (!taken)
                        PyErr_Print();
                Py_XDECREF(taken);
                PyErr_Restore(type, value, tb);
        }
        PyErr_Print();
}

static PyObject *gui_set_leak_hook(PyObject *self, PyObject *fn)
{
        (void)self;
        Py_XSETREF(leak_hook, fn == Py_None ? NULL : Py_NewRef(fn));
        Py_RETURN_NONE;
}

/* ---- post ---- */

static void posted(void *data)
{
        PyObject *fn = data;
        PyGILState_STATE gil;

        if (!python_alive)
                return; /* Python is gone: the reference goes with it */
        gil = PyGILState_Ensure();
        call_python(fn, NULL);
        Py_DECREF(fn);
        PyGILState_Release(gil);
}

static PyObject *gui_post(PyObject *self, PyObject *fn)
{
        int r;

        (void)self;
        if (!PyCallable_Check(fn)) {
                PyErr_SetString(PyExc_TypeError, "post(fn): fn must be callable");
                return NULL;
        }
        Py_INCREF(fn);
        r = host.ops->post(host.loop, posted, fn);
        if (r < 0) {
                Py_DECREF(fn);
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        Py_RETURN_NONE;
}

/* ---- Event: what a worker waits on for a call_in_gui() Future ---- */

/*
 * A one-shot flag set in the GUI thread and waited for in a worker, with the
 * GIL released.  Its state lives apart from the Python object, refcounted:
 * post_call() below sets it after the GUI thread has let go of the GIL, when
 * the waiter may already have returned and dropped the object.
 *
 * wait() first spins for a while (the GIL released, yielding the CPU at each
 * turn), then sleeps on a futex.  A call_in_gui() round trip is two wake-ups
 * (worker -> GUI thread -> worker); on a VM each costs tens of microseconds
 * when it lands on an idle vCPU.  The spin saves the second one when the
 * GUI thread answers soon, as it does when it is idle; a wait for a long
 * call costs EVENT_SPIN_NS of a core, then sleeps as before.
 */
#define EVENT_SPIN_NS 200000 /* 0.2 ms */

enum { EVENT_UNSET, EVENT_SET, EVENT_WAITED }; /* WAITED: unset, a thread sleeps on it */

typedef struct EventCore {
        atomic_uint state;
        atomic_uint refs;
} EventCore;

typedef struct Event {
        PyObject_HEAD
        EventCore *core;
} Event;

static PyTypeObject event_type;

static long futex(atomic_uint *addr, int op, unsigned val, const struct timespec *timeout)
{
        return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

static void core_unref(EventCore *c)
{
        if (atomic_fetch_sub(&c->refs, 1) == 1)
                free(c);
}

/* Any thread, with or without the GIL. */
static void core_set(EventCore *c)
{
        if (atomic_exchange(&c->state, EVENT_SET) == EVENT_WAITED)
                futex(&c->state, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Without the GIL.  deadline: CLOCK_MONOTONIC ns, UINT64_MAX for none.  True once set. */
static bool core_wait(EventCore *c, uint64_t deadline)
{
        uint64_t t = now_ns(), spin_end = t + EVENT_SPIN_NS;
        unsigned expected;

        while (atomic_load(&c->state) != EVENT_SET) {
                if (t >= deadline)
                        return false;
                if (t < spin_end) {
                        sched_yield();
                } else {
                        struct timespec rel, *timeout = NULL;

                        expected = EVENT_UNSET;
                        if (!atomic_compare_exchange_strong(&c->state, &expected, EVENT_WAITED) &&
                            expected == EVENT_SET)
                                return true;
                        if (deadline != UINT64_MAX) {
                                rel.tv_sec = (time_t)((deadline - t) / 1000000000u);
                                rel.tv_nsec = (long)((deadline - t) % 1000000000u);
                                timeout = &rel;
                        }
                        /* EINTR, EAGAIN (set meanwhile), ETIMEDOUT: look again. */
                        futex(&c->state, FUTEX_WAIT_PRIVATE, EVENT_WAITED, timeout);
                }
                t = now_ns();
        }
        return true;
}

static PyObject *event_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
        static char *kwlist[] = { NULL };
        Event *e;

        if (!PyArg_ParseTupleAndKeywords(args, kwds, ":Event", kwlist))
                return NULL;
        e = (Event *)type->tp_alloc(type, 0);
        if (!e)
                return NULL;
        e->core = calloc(1, sizeof(*e->core));
        if (!e->core) {
                Py_DECREF(e);
                return PyErr_NoMemory();
        }
        atomic_init(&e->core->state, EVENT_UNSET);
        atomic_init(&e->core->refs, 1);
        return (PyObject *)e;
}

static void event_dealloc(PyObject *self)
{
        Event *e = (Event *)self;

        if (e->core)
                core_unref(e->core);
        Py_TYPE(self)->tp_free(self);
}

static PyObject *event_set(PyObject *self, PyObject *unused)
{
        (void)unused;
        core_set(((Event *)self)->core);
        Py_RETURN_NONE;
}

static PyObject *event_is_set(PyObject *self, PyObject *unused)
{
        (void)unused;
        return PyBool_FromLong(atomic_load(&((Event *)self)->core->state) == EVENT_SET);
}

/* wait(timeout=None) -> bool, as threading.Event.wait(). */
static PyObject *event_wait(PyObject *self, PyObject *args)
{
        EventCore *c = ((Event *)self)->core;
        PyObject *timeout = Py_None;
        uint64_t deadline = UINT64_MAX;
        bool set;

        if (!PyArg_ParseTuple(args, "|O:wait", &timeout))
                return NULL;
        if (atomic_load(&c->state) == EVENT_SET)
                Py_RETURN_TRUE;
        if (timeout != Py_None) {
                double s = PyFloat_AsDouble(timeout);

                if (s == -1.0 && PyErr_Occurred())
                        return NULL;
                if (!(s > 0))
                        Py_RETURN_FALSE;
                if (s < 1e9)
                        deadline = now_ns() + (uint64_t)(s * 1e9);
        }
        Py_BEGIN_ALLOW_THREADS
        set = core_wait(c, deadline);
        Py_END_ALLOW_THREADS
        return PyBool_FromLong(set);
}

static PyMethodDef event_methods[] = {
        { "set", event_set, METH_NOARGS, "set(): wake the threads that wait; any thread" },
        { "is_set", event_is_set, METH_NOARGS, "is_set() -> bool" },
        { "wait", event_wait, METH_VARARGS,
          "wait(timeout=None) -> bool: until set (True) or timeout seconds (False), "
          "the GIL released" },
        { NULL, NULL, 0, NULL },
};

static PyTypeObject event_type = {
        PyVarObject_HEAD_INIT(NULL, 0)
        .tp_name = "_guiloop_gui.Event",
        .tp_basicsize = sizeof(Event),
        .tp_flags = Py_TPFLAGS_DEFAULT,
        .tp_doc = "Event(): a one-shot flag a worker waits on, set in the GUI thread",
        .tp_new = event_new,
        .tp_dealloc = event_dealloc,
        .tp_methods = event_methods,
};

/*
 * post_call(fn): as post(fn), and when fn() returns an Event, that Event is
 * set once the GUI thread has released the GIL: the worker it wakes does
 * not wake only to wait for the GIL, which would cost it a second wake-up.
 */
static void posted_call(void *data)
{
        PyObject *fn = data, *r;
        EventCore *wake = NULL;
        PyGILState_STATE gil;

        if (!python_alive)
                return;
        gil = PyGILState_Ensure();
        r = PyObject_CallNoArgs(fn);
        if (r && Py_IS_TYPE(r, &event_type)) {
                wake = ((Event *)r)->core;
                atomic_fetch_add(&wake->refs, 1);
        }
        if (r)
                Py_DECREF(r);
        else
                call_python_failed();
        Py_DECREF(fn);
        PyGILState_Release(gil);
        if (wake) {
                core_set(wake);
                core_unref(wake);
        }
}

static PyObject *gui_post_call(PyObject *self, PyObject *fn)
{
        int r;

        (void)self;
        if (!PyCallable_Check(fn)) {
                PyErr_SetString(PyExc_TypeError, "post_call(fn): fn must be callable");
                return NULL;
        }
        Py_INCREF(fn);
        r = host.ops->post(host.loop, posted_call, fn);
        if (r < 0) {
                Py_DECREF(fn);
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        Py_RETURN_NONE;
}

/* ---- one-shot timers ---- */

typedef struct Timer {
        GuiloopTimer *timer; /* NULL once fired or removed */
        PyObject *fn;
} Timer;

static void timer_fired(void *data)
{
        Timer *t = data;
        PyGILState_STATE gil = PyGILState_Ensure();
        PyObject *fn = Py_NewRef(t->fn);

        t->timer = NULL;
        /* fn may drop the capsule and so free t: t is not touched again. */
        call_python(fn, NULL);
        Py_DECREF(fn);
        PyGILState_Release(gil);
}

static void timer_capsule_free(PyObject *capsule)
{
        Timer *t = PyCapsule_GetPointer(capsule, "guiloop.timer");

        if (!t)
                return;
        if (t->timer)
                host.ops->timer_remove(host.loop, t->timer);
        Py_XDECREF(t->fn);
        free(t);
}

static PyObject *gui_timer_add(PyObject *self, PyObject *args)
{
        unsigned long long usec;
        PyObject *fn, *capsule;
        Timer *t;
        int r;

        (void)self;
        if (!PyArg_ParseTuple(args, "KO:timer_add", &usec, &fn))
                return NULL;
        if (!in_gui_thread())
                return not_gui_thread();
        t = calloc(1, sizeof(*t));
        if (!t)
                return PyErr_NoMemory();
        t->fn = Py_NewRef(fn);
        capsule = PyCapsule_New(t, "guiloop.timer", timer_capsule_free);
        if (!capsule) {
                Py_DECREF(t->fn);
                free(t);
                return NULL;
        }
        r = host.ops->timer_add(host.loop, usec, timer_fired, t, &t->timer);
        if (r < 0) {
                t->timer = NULL;
                Py_DECREF(capsule);
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        return capsule;
}

static PyObject *gui_timer_remove(PyObject *self, PyObject *capsule)
{
        Timer *t = PyCapsule_GetPointer(capsule, "guiloop.timer");

        (void)self;
        if (!t)
                return NULL;
        if (!in_gui_thread())
                return not_gui_thread();
        if (t->timer)
                host.ops->timer_remove(host.loop, t->timer);
        t->timer = NULL;
        Py_RETURN_NONE;
}

/* ---- fd watches ---- */

typedef struct Watch {
        GuiloopWatch *watch; /* NULL once removed */
        PyObject *fn;        /* fn(fd, events) */
} Watch;

static void watch_fired(void *data, int fd, unsigned events)
{
        Watch *w = data;
        PyGILState_STATE gil = PyGILState_Ensure();
        PyObject *fn = Py_NewRef(w->fn);
        PyObject *args = Py_BuildValue("(iI)", fd, events);

        /* fn may remove the watch and drop its capsule: w is not touched again. */
        if (args)
                call_python(fn, args);
        else
                PyErr_Print();
        Py_XDECREF(args);
        Py_DECREF(fn);
        PyGILState_Release(gil);
}

static void watch_capsule_free(PyObject *capsule)
{
        Watch *w = PyCapsule_GetPointer(capsule, "guiloop.watch");

        if (!w)
                return;
        if (w->watch)
                host.ops->watch_remove(host.loop, w->watch);
        Py_XDECREF(w->fn);
        free(w);
}

static PyObject *gui_watch_add(PyObject *self, PyObject *args)
{
        unsigned events;
        PyObject *fn, *capsule;
        Watch *w;
        int fd, r;

        (void)self;
        if (!PyArg_ParseTuple(args, "iIO:watch_add", &fd, &events, &fn))
                return NULL;
        if (!in_gui_thread())
                return not_gui_thread();
        w = calloc(1, sizeof(*w));
        if (!w)
                return PyErr_NoMemory();
        w->fn = Py_NewRef(fn);
        capsule = PyCapsule_New(w, "guiloop.watch", watch_capsule_free);
        if (!capsule) {
                Py_DECREF(w->fn);
                free(w);
                return NULL;
        }
        r = host.ops->watch_add(host.loop, fd, events & (GUILOOP_FD_IN | GUILOOP_FD_OUT),
                                watch_fired, w, &w->watch);
        if (r < 0) {
                w->watch = NULL;
                Py_DECREF(capsule);
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        return capsule;
}

static PyObject *gui_watch_update(PyObject *self, PyObject *args)
{
        PyObject *capsule;
        unsigned events;
        Watch *w;
        int r;

        (void)self;
        if (!PyArg_ParseTuple(args, "OI:watch_update", &capsule, &events))
                return NULL;
        w = PyCapsule_GetPointer(capsule, "guiloop.watch");
        if (!w)
                return NULL;
        if (!in_gui_thread())
                return not_gui_thread();
        if (!w->watch) {
                PyErr_SetString(PyExc_ValueError, "the watch was removed");
                return NULL;
        }
        r = host.ops->watch_update(host.loop, w->watch, events & (GUILOOP_FD_IN | GUILOOP_FD_OUT));
        if (r < 0) {
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        Py_RETURN_NONE;
}

static PyObject *gui_watch_remove(PyObject *self, PyObject *capsule)
{
        Watch *w = PyCapsule_GetPointer(capsule, "guiloop.watch");

        (void)self;
        if (!w)
                return NULL;
        if (!in_gui_thread())
                return not_gui_thread();
        if (w->watch)
                host.ops->watch_remove(host.loop, w->watch);
        w->watch = NULL;
        Py_RETURN_NONE;
}

/* ---- the rest ---- */

static PyObject *gui_running(PyObject *self, PyObject *unused)
{
        (void)self;
        (void)unused;
        return PyLong_FromUnsignedLongLong(host.running ? host.running(host.data) : 0);
}

static PyObject *gui_in_gui_thread(PyObject *self, PyObject *unused)
{
        (void)self;
        (void)unused;
        return PyBool_FromLong(in_gui_thread());
}

/*
 * One blocking iteration of the thread-default GLib main context without the
 * GIL: the nested loop of gtk, wx and qt (Qt's event dispatcher is GLib's
 * here).  An interrupt breaks the wait (EINTR, or the wakeup fd) and is
 * raised here.
 */
static PyObject *gui_glib_iterate(PyObject *self, PyObject *unused)
{
        gboolean dispatched;

        (void)self;
        (void)unused;
        if (!in_gui_thread())
                return not_gui_thread();
        Py_BEGIN_ALLOW_THREADS
        dispatched = g_main_context_iteration(NULL, TRUE);
        Py_END_ALLOW_THREADS
        if (PyErr_CheckSignals() < 0)
                return NULL;
        return PyBool_FromLong(dispatched);
}

/* log(priority, text): each line into the daemon's log. */
static PyObject *gui_log(PyObject *self, PyObject *args)
{
        const char *text;
        int prio;

        (void)self;
        if (!PyArg_ParseTuple(args, "is:log", &prio, &text))
                return NULL;
        while (*text) {
                size_t n = strcspn(text, "\n");

                log_msg(prio, "%.*s", (int)n, text);
                text += n;
                if (*text)
                        text++;
        }
        Py_RETURN_NONE;
}

static PyMethodDef gui_methods[] = {
        { "post", gui_post, METH_O, "post(fn): run fn() in the GUI thread at the loop's next turn" },
        { "post_call", gui_post_call, METH_O,
          "post_call(fn): as post(fn); an Event fn() returns is set after the GIL is released" },
        { "timer_add", gui_timer_add, METH_VARARGS, "timer_add(usec, fn) -> timer" },
        { "timer_remove", gui_timer_remove, METH_O, "timer_remove(timer)" },
        { "watch_add", gui_watch_add, METH_VARARGS, "watch_add(fd, events, fn) -> watch" },
        { "watch_update", gui_watch_update, METH_VARARGS, "watch_update(watch, events)" },
        { "watch_remove", gui_watch_remove, METH_O, "watch_remove(watch)" },
        { "running", gui_running, METH_NOARGS, "id of the running execution, 0 when none" },
        { "in_gui_thread", gui_in_gui_thread, METH_NOARGS, "the caller is the GUI thread" },
        { "glib_iterate", gui_glib_iterate, METH_NOARGS, "one blocking GLib iteration" },
        { "log", gui_log, METH_VARARGS, "log(priority, text): into the daemon's log" },
        { "set_leak_hook", gui_set_leak_hook, METH_O,
          "set_leak_hook(fn): fn(exc) -> True takes a KeyboardInterrupt/SystemExit "
          "out of a callback" },
        { NULL, NULL, 0, NULL },
};

static struct PyModuleDef gui_def = {
        PyModuleDef_HEAD_INIT,
        .m_name = "_guiloop_gui",
        .m_doc = "guiloopd: the GUI thread's loop, for guiloop, asyncio and matplotlib",
        .m_size = -1,
        .m_methods = gui_methods,
};

static int add_constants(PyObject *m)
{
        PyObject *sources = PyDict_New();
        int r = -1;

        if (!sources)
                return -1;
        if (PyType_Ready(&event_type) < 0 ||
            PyModule_AddObjectRef(m, "Event", (PyObject *)&event_type) < 0)
                goto out;
        if (PyModule_AddStringConstant(m, "toolkit", toolkit) < 0 ||
            PyModule_AddObjectRef(m, "tk_guest", host.tk_guest ? Py_True : Py_False) < 0 ||
            PyModule_AddObjectRef(m, "matplotlib", host.matplotlib ? Py_True : Py_False) < 0 ||
            PyModule_AddStringConstant(m, "version", GUILOOP_VERSION) < 0 ||
            PyModule_AddIntConstant(m, "FD_IN", GUILOOP_FD_IN) < 0 ||
            PyModule_AddIntConstant(m, "FD_OUT", GUILOOP_FD_OUT) < 0 ||
            PyModule_AddIntConstant(m, "FD_ERR", GUILOOP_FD_ERR) < 0 ||
            PyModule_AddIntConstant(m, "FD_HUP", GUILOOP_FD_HUP) < 0 ||
            PyModule_AddIntConstant(m, "LOG_INFO", GUILOOP_LOG_INFO) < 0 ||
            PyModule_AddIntConstant(m, "LOG_WARNING", GUILOOP_LOG_WARNING) < 0)
                goto out;
        /* Embedded modules, imported on demand by guiloop_hooks.py's finder. */
        {
                static const struct {
                        const char *name, *source;
                } embedded[] = {
                        { "guiloop", guiloop_module_py },
                        { "_guiloop_asyncio", guiloop_asyncio_py },
                        { "_guiloop_matplotlib", guiloop_matplotlib_py },
                };

                for (size_t i = 0; i < sizeof(embedded) / sizeof(embedded[0]); i++) {
                        PyObject *s = PyUnicode_FromString(embedded[i].source);

                        if (!s || PyDict_SetItemString(sources, embedded[i].name, s) < 0) {
                                Py_XDECREF(s);
                                goto out;
                        }
                        Py_DECREF(s);
                }
        }
        r = PyModule_AddObjectRef(m, "sources", sources);
out:
        Py_DECREF(sources);
        return r;
}

/* The pending exception as one line into err. */
static void exception_into(char *err, size_t errlen, const char *what)
{
        PyObject *type, *value, *tb, *s = NULL;

        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value)
                s = PyObject_Str(value);
        snprintf(err, errlen, "%s: %s: %s", what,
                 type ? ((PyTypeObject *)type)->tp_name : "Exception",
                 s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : "?");
        PyErr_Clear();
        Py_XDECREF(s);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
}

int guimod_start(const GuiModuleHost *h, char *err, size_t errlen)
{
        PyGILState_STATE gil;
        PyObject *m = NULL, *hooks = NULL, *code = NULL, *r = NULL;
        int ret = -1;

        host = *h;
        snprintf(toolkit, sizeof(toolkit), "%s", h->toolkit);
        gui_thread = pthread_self();
        started = true;
        gil = PyGILState_Ensure();
        python_alive = true;
        m = PyModule_Create(&gui_def);
        if (!m || add_constants(m) < 0 ||
            PyDict_SetItemString(PyImport_GetModuleDict(), "_guiloop_gui", m) < 0)
                goto out;
        hooks = pyembed_module("_guiloop_hooks", guiloop_hooks_py, "<guiloop guiloop_hooks.py>");
        if (!hooks)
                goto out;
        r = PyObject_CallMethod(hooks, "install", NULL);
        if (!r)
                goto out;
        ret = 0;
out:
        if (ret < 0)
                exception_into(err, errlen, "cannot start the guiloop module");
        Py_XDECREF(r);
        Py_XDECREF(code);
        Py_XDECREF(m);
        PyGILState_Release(gil);
        return ret;
}

void guimod_stop(void)
{
        PyGILState_STATE gil;
        PyObject *hooks, *r;

        if (!started || !python_alive)
                return;
        gil = PyGILState_Ensure();
        hooks = PyImport_AddModule("_guiloop_hooks"); /* borrowed */
        r = hooks ? PyObject_CallMethod(hooks, "shutdown", NULL) : NULL;
        if (!r)
                PyErr_Print();
        Py_XDECREF(r);
        Py_CLEAR(leak_hook);
        /* From here on, a posted call that still arrives is dropped, not run. */
        python_alive = false;
        PyGILState_Release(gil);
}
