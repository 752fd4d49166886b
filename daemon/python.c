/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot-py.h"
#include "build-config.h"
#include "crash.h"
#include "harden-py.h"
#include "capture.h"
#include "output-hooks-py.h"
#include "pyembed.h"
#include "log.h"
#include "signals.h"

struct Python {
        PyThreadState *main_thread; /* saved while the loop runs */
        PythonHooks hooks;
        uint64_t max_output;
        char *version;
        PyObject *boot;      /* guiloop's boot module */
        PyObject *harden;    /* harden.py: guards against code that breaks the process */
        Output *current;     /* the running execution's output; GIL-protected */
        /* Output routing (see "output routing" below). */
        Capture *capture;
        uint64_t current_id; /* id of the running execution, 0: none; GIL-protected */
        pid_t pid;           /* the daemon's: another one is a forked child */
        pthread_t gui;       /* the thread Python was started in */
        PyObject *output_hooks; /* the _guiloop_output module */
};

/*
 * Text from Python is converted at most this many code points at a time:
 * an execution printing 500 MB costs this much at once, not 4 x 500 MB.
 */
#define TEXT_CHUNK (64 * 1024)

/*
 * The built-in module _guiloop.  PyImport_AppendInittab takes no argument,
 * so the instance being set up is handed to PyInit__guiloop through this one
 * pointer, set and cleared in python_new (main thread, before any other).
 */
static Python *initialising;

typedef struct ModuleState {
        Python *py;
} ModuleState;

static Python *module_python(PyObject *module)
{
        return ((ModuleState *)PyModule_GetState(module))->py;
}

/* Python text as a malloc'd UTF-8 string fit for D-Bus: nothing dropped. */
static char *text_from_python(PyObject *text)
{
        PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace");
        char *out;

        if (!bytes) {
                bool nomem = PyErr_ExceptionMatches(PyExc_MemoryError);

                PyErr_Clear();
                return nomem ? NULL : strdup("<unprintable>");
        }
        out = text_escape(PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
        Py_DECREF(bytes);
        return out;
}

/* Bytes a code point takes once encoded and escaped (text_escape, backslashreplace). */
static size_t escaped_size(Py_UCS4 cp)
{
        if (cp == 0)
                return 4;                       /* \x00 */
        if (cp < 0x80)
                return 1;
        if (cp < 0x800)
                return 2;
        if (cp >= 0xd800 && cp <= 0xdfff)
                return 6;                       /* \udXXX */
        return cp < 0x10000 ? 3 : 4;
}

/*
 * Python text fit for D-Bus, malloc'd, at most max bytes: the first max
 * bytes (keep_end false, then a line says how many were dropped) or the last
 * (keep_end true, as a traceback is kept).  Only what is kept is copied,
 * encoded and escaped: a 500 MB repr under `prlimit --as` used to need 4 x
 * 500 MB more and crashed when that failed.  NULL when memory runs out.
 */
static char *text_bounded(PyObject *text, uint64_t max, bool keep_end)
{
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        size_t total = 0, len;
        char *kept, *out;

        if ((uint64_t)n <= max) {
                kept = text_from_python(text);
                if (!kept)
                        return NULL;
                total = strlen(kept);
        } else {
                /* A code point is at least one byte: max of them hold max bytes. */
                PyObject *part = keep_end ? PyUnicode_Substring(text, n - (Py_ssize_t)max, n) :
                                            PyUnicode_Substring(text, 0, (Py_ssize_t)max);

                if (!part) {
                        PyErr_Clear();
                        return NULL;
                }
                kept = text_from_python(part);
                Py_DECREF(part);
                if (!kept)
                        return NULL;
                if (PyUnicode_IS_ASCII(text)) {
                        total = (size_t)n;
                } else {
                        int kind = PyUnicode_KIND(text);
                        const void *data = PyUnicode_DATA(text);

                        for (Py_ssize_t i = 0; i < n; i++)
                                total += escaped_size(PyUnicode_READ(kind, data, i));
                }
        }
        len = strlen(kept);
        if (keep_end) {
                size_t skip = len > max ? len - (size_t)max : 0;

                while (skip < len && ((unsigned char)kept[skip] & 0xc0) == 0x80)
                        skip++;
                memmove(kept, kept + skip, len - skip + 1);
                return kept;
        }
        if (len <= max && total <= len)
                return kept;
        if (len > max) {
                len = (size_t)max;
                while (len > 0 && ((unsigned char)kept[len] & 0xc0) == 0x80)
                        len--;
        }
        if (asprintf(&out, "%.*s\n[guiloop: %zu bytes dropped]", (int)len, kept,
                     total > len ? total - len : 0) < 0)
                out = NULL;
        free(kept);
        return out;
}

/* Append Python text to a stream, TEXT_CHUNK code points at a time.  GIL held. */
static int write_chunked(Output *o, int stream, PyObject *text)
{
        Py_ssize_t n = PyUnicode_GET_LENGTH(text), len;
        const char *utf8;

        /* The common case, a short text: its own UTF-8 (cached by Python), no copy. */
        if (n <= TEXT_CHUNK && (utf8 = PyUnicode_AsUTF8AndSize(text, &len))) {
                output_write(o, stream, utf8, (size_t)len);
                return 0;
        }
        PyErr_Clear();
        /* At least n bytes are coming: one allocation, not a copy each time the buffer doubles. */
        output_reserve(o, stream, (size_t)n);
        /* ASCII text of any size is its own UTF-8: written in place, a chunk at a time. */
        if (PyUnicode_IS_ASCII(text)) {
                utf8 = PyUnicode_DATA(text);
                for (Py_ssize_t off = 0; off < n; off += TEXT_CHUNK)
                        output_write(o, stream, utf8 + off,
                                     (size_t)(n - off < TEXT_CHUNK ? n - off : TEXT_CHUNK));
                return 0;
        }

        for (Py_ssize_t off = 0; off < n || (off == 0 && n == 0); off += TEXT_CHUNK) {
                PyObject *part = off == 0 && n <= TEXT_CHUNK ?
                        Py_NewRef(text) : PyUnicode_Substring(text, off, off + TEXT_CHUNK);
                PyObject *bytes = part ?
                        PyUnicode_AsEncodedString(part, "utf-8", "backslashreplace") : NULL;

                Py_XDECREF(part);
                if (!bytes)
                        return -1;
                output_write(o, stream, PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
                Py_DECREF(bytes);
                if (n == 0)
                        break;
        }
        return 0;
}

/* ---- output routing (issue 11): which Output a Python write belongs to ---- */

/*
 * The execution a thread belongs to: set by _guiloop.set_execution() when a
 * threading.Thread starts (the one running when it was started) and around
 * a concurrent.futures work item (the one that submitted it).  The GUI
 * thread's is the running execution's.  Only read and written with the GIL.
 */
static __thread uint64_t thread_execution;

static uint64_t writer_execution(Python *py)
{
        if (pthread_equal(pthread_self(), py->gui))
                return py->current_id;
        return thread_execution;
}

/* _guiloop.execution(): the id of the execution the calling thread belongs to, 0: none. */
static PyObject *module_execution(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
        (void)args;
        (void)nargs;
        return PyLong_FromUnsignedLongLong(writer_execution(module_python(module)));
}

/* _guiloop.set_execution(id): the calling thread's execution from now on; the old one. */
static PyObject *module_set_execution(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
        uint64_t old = thread_execution;

        (void)module;
        if (nargs != 1 || !PyLong_Check(args[0])) {
                PyErr_SetString(PyExc_TypeError, "set_execution(id: int)");
                return NULL;
        }
        thread_execution = PyLong_AsUnsignedLongLong(args[0]);
        if (PyErr_Occurred())
                return NULL;
        return PyLong_FromUnsignedLongLong(old);
}

/*
 * _guiloop.write(stream, text): into the writer's execution while it runs,
 * else background output.  What fds 1 and 2 got before goes first.
 */
static PyObject *module_write(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
        Python *py = module_python(module);
        const char *utf8;
        Py_ssize_t len;
        PyObject *bytes;
        uint64_t id;
        int stream;

        if (nargs != 2 || !PyLong_Check(args[0]) || !PyUnicode_Check(args[1])) {
                PyErr_SetString(PyExc_TypeError, "write(stream: int, text: str)");
                return NULL;
        }
        stream = PyLong_AsLong(args[0]) == OUTPUT_STDERR ? OUTPUT_STDERR : OUTPUT_STDOUT;
        id = writer_execution(py);
        capture_sync(py->capture);
        if (py->current && id != 0 && id == py->current_id) {
                /* Chunked: a 500 MB print never needs a second 500 MB at once. */
                if (write_chunked(py->current, stream, args[1]) < 0)
                        return NULL;
                Py_RETURN_NONE;
        }
        /* ASCII text is its own UTF-8: no copy.  Lone surrogates need the escaping encoder. */
        bytes = NULL;
        utf8 = PyUnicode_AsUTF8AndSize(args[1], &len);
        if (!utf8) {
                PyErr_Clear();
                bytes = PyUnicode_AsEncodedString(args[1], "utf-8", "backslashreplace");
                if (!bytes)
                        return NULL;
                utf8 = PyBytes_AS_STRING(bytes);
                len = PyBytes_GET_SIZE(bytes);
        }
        capture_background_write(py->capture, stream, utf8, (size_t)len);
        Py_XDECREF(bytes);
        Py_RETURN_NONE;
}

/* The running execution's output, Python's and fds 1 and 2's, goes to o (GIL held). */
static void route_begin(Python *py, Execution *e)
{
        py->current = e->output;
        py->current_id = e->id;
        capture_begin(py->capture, e->output);
}

/* Python's and C's buffers flushed into it, and from now on background output (GIL held). */
static void route_end(Python *py)
{
        if (py->output_hooks) {
                PyObject *r = PyObject_CallMethod(py->output_hooks, "flush", NULL);

                if (!r)
                        PyErr_Clear();
                Py_XDECREF(r);
        }
        capture_end(py->capture);
        py->current = NULL;
        py->current_id = 0;
}

/*
 * _guiloop.interrupt_pending(): did an Interrupt ask for what runs now (the
 * execution, or the GUI callback holding the thread)?  interrupt_take():
 * the same, and the request is used up.  boot.py's handler decides where
 * the KeyboardInterrupt goes (nested loops first end).
 */
static PyObject *module_interrupt_pending(PyObject *module, PyObject *const *args,
                                          Py_ssize_t nargs)
{
        Python *py = module_python(module);

        (void)args;
        (void)nargs;
        return PyBool_FromLong(py->hooks.interrupt_wanted(py->hooks.data, false));
}

static PyObject *module_interrupt_take(PyObject *module, PyObject *const *args,
                                       Py_ssize_t nargs)
{
        Python *py = module_python(module);

        (void)args;
        (void)nargs;
        return PyBool_FromLong(py->hooks.interrupt_wanted(py->hooks.data, true));
}

/* _guiloop.log(priority, text): one line in the daemon's log. */
static PyObject *module_log(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
        const char *text;

        (void)module;
        if (nargs != 2 || !PyLong_Check(args[0]) || !PyUnicode_Check(args[1])) {
                PyErr_SetString(PyExc_TypeError, "log(priority: int, text: str)");
                return NULL;
        }
        text = PyUnicode_AsUTF8(args[1]);
        if (!text)
                return NULL;
        log_msg((int)PyLong_AsLong(args[0]), "%s", text);
        Py_RETURN_NONE;
}

/* _guiloop.log_fd(): the log's own descriptor (fd 2 may be the output capture's pipe). */
static PyObject *module_log_fd(PyObject *module, PyObject *unused)
{
        (void)module;
        (void)unused;
        return PyLong_FromLong(log_get_fd());
}

/* _guiloop.running(): the id of the running execution, 0 for none. */
static PyObject *module_running(PyObject *module, PyObject *unused)
{
        (void)unused;
        return PyLong_FromUnsignedLongLong(module_python(module)->current_id);
}

/*
 * _guiloop.forked(), in the child of os.fork(): where the fork happened,
 * 0 outside the GUI thread, 1 in the GUI thread while no execution ran
 * (a callback), 2 inside an execution.  The child writes nothing into the
 * parent's buffers from now on, and its crashes name no execution.
 */
static PyObject *module_forked(PyObject *module, PyObject *unused)
{
        Python *py = module_python(module);
        int where = !pthread_equal(pthread_self(), py->gui) ? 0 : py->current ? 2 : 1;

        (void)unused;
        py->current = NULL;
        crash_set_execution(0);
        return PyLong_FromLong(where);
}

static PyMethodDef module_methods[] = {
        { "write", (PyCFunction)(void (*)(void))module_write, METH_FASTCALL,
          "write(stream, text): output of the running execution" },
        { "execution", (PyCFunction)(void (*)(void))module_execution, METH_FASTCALL,
          "execution(): id of the execution the calling thread belongs to, 0 for none" },
        { "set_execution", (PyCFunction)(void (*)(void))module_set_execution, METH_FASTCALL,
          "set_execution(id): the calling thread belongs to that execution; returns the old" },
        { "log", (PyCFunction)(void (*)(void))module_log, METH_FASTCALL,
          "log(priority, text): a line in guiloopd's log" },
        { "log_fd", module_log_fd, METH_NOARGS, "the daemon log's own file descriptor" },
        { "running", module_running, METH_NOARGS, "id of the running execution, 0 for none" },
        { "forked", module_forked, METH_NOARGS, "called in a forked child: where it forked" },
        { "interrupt_pending", (PyCFunction)(void (*)(void))module_interrupt_pending,
          METH_FASTCALL, "interrupt_pending(): an Interrupt waits for what runs now" },
        { "interrupt_take", (PyCFunction)(void (*)(void))module_interrupt_take, METH_FASTCALL,
          "interrupt_take(): interrupt_pending(), and the request is used up" },
        { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
        PyModuleDef_HEAD_INIT,
        .m_name = "_guiloop",
        .m_doc = "guiloopd's built-in module",
        .m_size = sizeof(ModuleState),
        .m_methods = module_methods,
};

static PyObject *PyInit__guiloop(void)
{
        PyObject *m = PyModule_Create(&module_def);

        if (m)
                ((ModuleState *)PyModule_GetState(m))->py = initialising;
        return m;
}

/*
 * The pending exception as the last line of a traceback, "Type: message"
 * (or "Type"), malloc'd; the exception is cleared.  GIL held.
 */
static char *exception_line(void)
{
        PyObject *type, *value, *tb, *s = NULL;
        const char *text = NULL;
        char *out;

        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value)
                s = PyObject_Str(value);
        if (s && PyUnicode_Check(s))
                text = PyUnicode_AsUTF8(s);
        if (asprintf(&out, "%s%s%s", type ? ((PyTypeObject *)type)->tp_name : "Exception",
                     text && *text ? ": " : "", text && *text ? text : "") < 0)
                out = NULL;
        Py_XDECREF(s);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        PyErr_Clear();
        return out;
}

/* The pending exception as one line, for errors outside executed code. */
static void error_text(char *err, size_t errlen, const char *what)
{
        _cleanup_(freep) char *line = exception_line();

        snprintf(err, errlen, "%s: %s", what, line ? line : "unknown error");
}

/*
 * In the child of any fork() (os.fork(), multiprocessing, a preexec_fn):
 * the daemon's SIGINT and SIGTERM handlers write to the parent's wake-up fd,
 * so a signal sent to the child before harden.py's hook runs reached the
 * parent.  The defaults, as in a plain process; the hook then gives Python
 * its own SIGINT handler back.  Async-signal-safe.
 */
/*
 * The daemon's own descriptors that are not files: the bus socket, the
 * loop's wake-up fds, the X connection.  Taken once, when the first
 * execution starts (before any executed code opened anything), and closed in
 * every forked child: a child that outlived the daemon kept its bus
 * connection, so the name stayed owned and the next daemon exited 75.
 */
static int daemon_fds[256];
static size_t n_daemon_fds;

static void record_daemon_fds(void)
{
        static bool done;
        DIR *dir;
        struct dirent *de;

        if (done)
                return;
        done = true;
        dir = opendir("/proc/self/fd");
        if (!dir)
                return;
        while ((de = readdir(dir)) && n_daemon_fds < ARRAY_SIZE(daemon_fds)) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                struct stat st;

                if (*end || end == de->d_name || fd <= STDERR_FILENO || fd == dirfd(dir) ||
                    fd == log_get_fd() || fstat((int)fd, &st) < 0 || S_ISREG(st.st_mode) ||
                    S_ISDIR(st.st_mode))
                        continue;
                daemon_fds[n_daemon_fds++] = (int)fd;
        }
        closedir(dir);
}

/*
 * SIGINT and SIGTERM stay blocked across fork() in the forking thread: one
 * sent to the new pid before the child had its defaults back ran the
 * daemon's handler in the child and was lost (seen on wx under load).
 */
static __thread sigset_t mask_before_fork;

static void before_fork(void)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, &mask_before_fork);
}

static void parent_after_fork(void)
{
        pthread_sigmask(SIG_SETMASK, &mask_before_fork, NULL);
}

static void child_after_fork(void)
{
        struct sigaction sa = { .sa_handler = SIG_DFL };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        for (size_t i = 0; i < n_daemon_fds; i++)
                close(daemon_fds[i]);
        n_daemon_fds = 0;
        pthread_sigmask(SIG_SETMASK, &mask_before_fork, NULL);
}

/* harden.py in a module of its own, installed; a new reference or NULL. */
static PyObject *load_harden(Python *py)
{
        PyObject *module = pyembed_module("_guiloop_harden", harden_py, "<guiloop harden.py>");

        if (!module)
                return NULL;
        py->harden = Py_NewRef(module);
        return PyObject_CallMethod(module, "install", "i", (int)py->pid);
}

static int boot(Python *py, const Config *c, char *err, size_t errlen)
{
        PyObject *module, *r, *version;

        module = pyembed_module("_guiloop_boot", boot_py, "<guiloop boot.py>");
        if (!module)
                goto fail;
        py->boot = Py_NewRef(module);

        r = PyObject_CallMethod(module, "setup", "sdi", c->python_path ? c->python_path : "",
                                c->switch_interval, signals_interrupt_signal());
        if (!r)
                goto fail;
        Py_DECREF(r);

        r = load_harden(py);
        if (!r)
                goto fail;
        Py_DECREF(r);

        version = PySys_GetObject("version"); /* borrowed */
        py->version = version ? text_from_python(version) : strdup("?");
        return 0;
fail:
        error_text(err, errlen, "cannot start guiloop's Python side");
        return PYTHON_E_INIT;
}

/* The thread and callback hooks of output-hooks.py, in a module of their own. */
static int setup_output_hooks(Python *py, char *err, size_t errlen)
{
        PyObject *module, *r;

        module = pyembed_module("_guiloop_output", output_hooks_py, "<guiloop output-hooks.py>");
        if (!module)
                goto fail;
        r = PyObject_CallMethod(module, "install", NULL);
        if (!r)
                goto fail;
        Py_DECREF(r);
        py->output_hooks = Py_NewRef(module);
        return 0;
fail:
        error_text(err, errlen, "cannot install guiloop's output hooks");
        return PYTHON_E_INIT;
}

static void run_startup(Python *py, const char *path)
{
        PyObject *r = PyObject_CallMethod(py->boot, "startup", "s", path);

        if (!r) {
                PyErr_Print();
                return;
        }
        if (PyUnicode_Check(r) && PyUnicode_GET_LENGTH(r) > 0) {
                _cleanup_(freep) char *tb = text_from_python(r);

                log_warning("python.startup %s raised an exception; continuing", path);
                if (tb)
                        (void)!write(STDERR_FILENO, tb, strlen(tb));
        } else {
                log_info("python.startup %s done", path);
        }
        Py_DECREF(r);
}

int python_new(Python **out, const Config *c, Capture *capture, PythonHooks hooks, char *err,
               size_t errlen)
{
        Python *py = calloc(1, sizeof(*py));
        PyConfig config;
        PyStatus status;
        int r;

        if (!py)
                return -ENOMEM;
        py->hooks = hooks;
        py->max_output = c->max_output;
        py->pid = getpid();
        py->gui = pthread_self();
        (void)pthread_atfork(before_fork, parent_after_fork, child_after_fork);
        py->capture = capture;

        PyConfig_InitPythonConfig(&config);
        /* The caller's PYTHON* variables must not change the daemon. */
        config.use_environment = 0;
        config.parse_argv = 0;
        config.install_signal_handlers = 1;
        /* sys.__stdout__ and sys.__stderr__ write through to fds 1 and 2 at once, in order. */
        config.buffered_stdio = 0;
        /* Else sys.executable is the first python3 on PATH, maybe not ours. */
        status = PyConfig_SetBytesString(&config, &config.program_name,
                                         GUILOOP_PYTHON_EXECUTABLE);
        if (PyStatus_Exception(status)) {
                PyConfig_Clear(&config);
                snprintf(err, errlen, "cannot configure Python: %s", status.err_msg);
                free(py);
                return PYTHON_E_INIT;
        }

        initialising = py;
        if (PyImport_AppendInittab("_guiloop", PyInit__guiloop) < 0) {
                PyConfig_Clear(&config);
                snprintf(err, errlen, "cannot register the _guiloop module");
                free(py);
                return PYTHON_E_INIT;
        }
        status = Py_InitializeFromConfig(&config);
        PyConfig_Clear(&config);
        if (PyStatus_Exception(status)) {
                snprintf(err, errlen, "cannot start Python: %s",
                         status.err_msg ? status.err_msg : "unknown error");
                free(py);
                return PYTHON_E_INIT;
        }

        r = boot(py, c, err, errlen);
        if (r == 0)
                r = setup_output_hooks(py, err, errlen);
        initialising = NULL;
        if (r != 0) {
                Py_FinalizeEx();
                free(py->version);
                free(py);
                return r;
        }
        /* The loop runs without the GIL: Python threads and callbacks take it. */
        py->main_thread = PyEval_SaveThread();
        *out = py;
        return 0;
}

static void ignore_sigint(void)
{
        PyObject *signal = PyImport_ImportModule("signal");
        PyObject *ign = signal ? PyObject_GetAttrString(signal, "SIG_IGN") : NULL;
        PyObject *r = ign ? PyObject_CallMethod(signal, "signal", "iO", SIGINT, ign) : NULL;

        if (!r)
                PyErr_Clear();
        Py_XDECREF(r);
        Py_XDECREF(ign);
        Py_XDECREF(signal);
}

void python_run_startup(Python *py, const char *path)
{
        PyGILState_STATE gil = PyGILState_Ensure();

        run_startup(py, path);
        PyGILState_Release(gil);
}

Python *python_free(Python *py)
{
        if (!py)
                return NULL;
        PyEval_RestoreThread(py->main_thread);
        Py_CLEAR(py->boot);
        Py_CLEAR(py->harden);
        /*
         * Finalizing resets Python's SIGINT handler to SIG_DFL, and the toolkit's
         * teardown comes after: a Ctrl-C then killed a stopping daemon (qt, 100
         * SIGINTs 10 ms apart).  A stopping daemon has nothing left to interrupt.
         */
        ignore_sigint();
        Py_CLEAR(py->output_hooks);
        if (Py_FinalizeEx() < 0)
                log_warning("Python finalization reported an error");
        free(py->version);
        free(py);
        return NULL;
}

int python_setup(Python *py, const char *name, const char *source, char *err, size_t errlen)
{
        PyGILState_STATE gil = PyGILState_Ensure();
        char module_name[64], filename[96];
        PyObject *module;

        (void)py;
        snprintf(module_name, sizeof(module_name), "_guiloop_setup_%s", name);
        snprintf(filename, sizeof(filename), "<guiloop %s plugin setup>", name);
        module = pyembed_module(module_name, source, filename);
        if (!module)
                error_text(err, errlen, filename);
        PyGILState_Release(gil);
        return module ? 0 : PYTHON_E_INIT;
}

/* GIL held. */
static bool guard_sigint_locked(Python *py)
{
        PyObject *r = PyObject_CallMethod(py->boot, "guard_sigint", NULL);
        bool replaced = r == Py_True;

        if (!r)
                PyErr_Print();
        Py_XDECREF(r);
        /* signal.signal() installed Python's C handler: ours goes back on top. */
        replaced = signals_reclaim() || replaced;
        return replaced;
}

bool python_guard_sigint(Python *py)
{
        PyGILState_STATE gil = PyGILState_Ensure();
        bool r = guard_sigint_locked(py);

        PyGILState_Release(gil);
        return r;
}

bool python_gui_in_code(Python *py)
{
        /*
         * Read without the GIL, from another thread: a hint, racy by nature
         * (a frame may be pushed or popped meanwhile), never dereferenced
         * beyond the thread's own state and C stack, which stay mapped.
         */
        PyThreadState *t = py ? py->main_thread : NULL;
        _PyCFrame *cf = t ? __atomic_load_n(&t->cframe, __ATOMIC_RELAXED) : NULL;

        return cf && __atomic_load_n(&cf->current_frame, __ATOMIC_RELAXED) != NULL;
}

void python_poke(Python *py)
{
        PyGILState_STATE gil = PyGILState_Ensure();
        PyObject *r = PyObject_CallMethod(py->boot, "poke", NULL);

        if (!r)
                PyErr_Print();
        Py_XDECREF(r);
        PyGILState_Release(gil);
}

const char *python_version(Python *py)
{
        return py->version;
}

/*
 * An exception out of guiloop's own wrapper (an interrupt between two of its
 * lines, say), ending the way a traceback does: "Type: message\n".
 */
static char *fetch_error_text(void)
{
        _cleanup_(freep) char *line = exception_line();
        char *out;

        if (asprintf(&out, "%s\n", line ? line : "Exception") < 0)
                out = NULL;
        return out;
}

/*
 * The execution returned in the child of an os.fork() it made: the child
 * ends here, as python3 would end at the end of the program, and never goes
 * back into the daemon's loop (whose wake-up fds it shares with us: on gtk
 * it took the parent's posted calls and every later call timed out).
 */
static void child_exit(Python *py, PyObject *outcome)
{
        PyObject *r = PyObject_CallMethod(py->harden, "child_exit", "(O)",
                                          outcome ? outcome : Py_None);

        (void)r;
        _exit(outcome ? 0 : 1);
}

/* sys.stdout or sys.stderr left replaced: put back, and say so in this stderr. */
static void restore_streams(Python *py, Output *o)
{
        PyObject *note = PyObject_CallMethod(py->harden, "after_execution", NULL);

        if (!note) {
                PyErr_Clear();
                return;
        }
        if (PyUnicode_Check(note) && PyUnicode_GET_LENGTH(note) > 0 &&
            write_chunked(o, OUTPUT_STDERR, note) < 0)
                PyErr_Clear();
        Py_DECREF(note);
}

void python_run(Python *py, Execution *e)
{
        PyGILState_STATE gil = PyGILState_Ensure();
        _cleanup_(freep) char *traceback = NULL;
        bool out_of_memory = false;
        PyObject *r, *argv;

        record_daemon_fds();
        route_begin(py, e);
        crash_set_execution(e->id);
        if (e->kind == EXECUTION_CODE) {
                r = PyObject_CallMethod(py->boot, "execute", "sK", e->code,
                                        (unsigned long long)e->id);
        } else {
                argv = PyList_New(0);
                for (char **a = e->argv; argv && *a; a++) {
                        PyObject *s = PyUnicode_DecodeFSDefault(*a);

                        if (!s || PyList_Append(argv, s) < 0)
                                Py_CLEAR(argv);
                        Py_XDECREF(s);
                }
                r = argv ? PyObject_CallMethod(py->boot, "run_file", "sO", e->path, argv) : NULL;
                Py_XDECREF(argv);
        }

        if (getpid() != py->pid)
                child_exit(py, r);

        if (!r) {
                e->success = false;
                traceback = fetch_error_text();
        } else if (e->kind == EXECUTION_CODE && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 3 &&
                   PyUnicode_Check(PyTuple_GET_ITEM(r, 1)) &&
                   PyUnicode_Check(PyTuple_GET_ITEM(r, 2))) {
                e->success = PyObject_IsTrue(PyTuple_GET_ITEM(r, 0)) == 1;
                e->result = text_bounded(PyTuple_GET_ITEM(r, 1), py->max_output, false);
                traceback = text_bounded(PyTuple_GET_ITEM(r, 2), py->max_output, true);
                if (!e->result || !traceback)
                        out_of_memory = true;
        } else if (e->kind == EXECUTION_FILE && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2) {
                PyObject *ok = PyTuple_GET_ITEM(r, 0);

                if (ok == Py_None) {
                        e->status = EXECUTION_E_FILE_NOT_FOUND;
                        e->status_text = text_from_python(PyTuple_GET_ITEM(r, 1));
                } else {
                        e->success = PyObject_IsTrue(ok) == 1;
                        traceback = PyUnicode_Check(PyTuple_GET_ITEM(r, 1)) ?
                                text_bounded(PyTuple_GET_ITEM(r, 1), py->max_output, true) :
                                NULL;
                        if (!traceback)
                                out_of_memory = true;
                }
        } else {
                e->success = false;
                traceback = strdup("guiloop: unexpected value from the boot code\n");
        }
        Py_XDECREF(r);
        restore_streams(py, e->output);
        route_end(py);
        crash_set_execution(0);
        /* Two sigaction() calls; only code that replaced a handler costs more. */
        if (signals_reclaim()) {
                guard_sigint_locked(py);
                log_warning("execution %" PRIu64 " replaced the SIGINT handler; guiloopd took it back",
                            e->id);
        }
        PyGILState_Release(gil);

        /* Every allocation that failed makes a failed reply, never a crash. */
        if (out_of_memory) {
                e->success = false;
                free(traceback);
                traceback = NULL;
        }
        e->stdout_text = output_finish(e->output, OUTPUT_STDOUT, NULL);
        e->stderr_text = output_finish(e->output, OUTPUT_STDERR,
                                       out_of_memory ? "MemoryError: guiloopd ran out of memory "
                                                       "building the reply\n" :
                                       traceback && *traceback ? traceback : NULL);
        if (!e->stdout_text || !e->stderr_text)
                e->success = false;
        if (!e->result)
                e->result = strdup("");
}
