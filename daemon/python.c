/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot-py.h"
#include "build-config.h"
#include "log.h"
#include "signals.h"

struct Python {
        PyThreadState *main_thread; /* saved while the loop runs */
        PythonHooks hooks;
        uint64_t max_output;
        char *version;
        PyObject *boot;      /* guiloop's boot module */
        Output *current;     /* the running execution's output; GIL-protected */
};

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
                PyErr_Clear();
                return strdup("<unprintable>");
        }
        out = text_escape(PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
        Py_DECREF(bytes);
        return out;
}

/* _guiloop.write(stream, text): into the running execution, else to our own fd. */
static PyObject *module_write(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
        Python *py = module_python(module);
        const char *utf8;
        Py_ssize_t len;
        PyObject *bytes;
        int stream;

        if (nargs != 2 || !PyLong_Check(args[0]) || !PyUnicode_Check(args[1])) {
                PyErr_SetString(PyExc_TypeError, "write(stream: int, text: str)");
                return NULL;
        }
        stream = PyLong_AsLong(args[0]) == OUTPUT_STDERR ? OUTPUT_STDERR : OUTPUT_STDOUT;
        bytes = PyUnicode_AsEncodedString(args[1], "utf-8", "backslashreplace");
        if (!bytes)
                return NULL;
        utf8 = PyBytes_AS_STRING(bytes);
        len = PyBytes_GET_SIZE(bytes);
        if (py->current) {
                output_write(py->current, stream, utf8, (size_t)len);
        } else {
                /* No execution runs (a thread, the startup file, atexit): keep it visible. */
                int fd = stream == OUTPUT_STDERR ? STDERR_FILENO : STDOUT_FILENO;

                Py_BEGIN_ALLOW_THREADS
                for (Py_ssize_t off = 0; off < len;) {
                        ssize_t n = write(fd, utf8 + off, (size_t)(len - off));

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        off += n;
                }
                Py_END_ALLOW_THREADS
        }
        Py_DECREF(bytes);
        Py_RETURN_NONE;
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

static PyMethodDef module_methods[] = {
        { "write", (PyCFunction)(void (*)(void))module_write, METH_FASTCALL,
          "write(stream, text): output of the running execution" },
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

static int boot(Python *py, const Config *c, char *err, size_t errlen)
{
        PyObject *module, *globals, *code, *r, *version;

        module = PyImport_AddModule("_guiloop_boot"); /* borrowed */
        if (!module)
                goto fail;
        globals = PyModule_GetDict(module);
        if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
                goto fail;
        code = Py_CompileString(boot_py, "<guiloop boot.py>", Py_file_input);
        if (!code)
                goto fail;
        r = PyEval_EvalCode(code, globals, globals);
        Py_DECREF(code);
        if (!r)
                goto fail;
        Py_DECREF(r);
        py->boot = Py_NewRef(module);

        r = PyObject_CallMethod(module, "setup", "sdi", c->python_path ? c->python_path : "",
                                c->switch_interval, signals_interrupt_signal());
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

int python_new(Python **out, const Config *c, PythonHooks hooks, char *err, size_t errlen)
{
        Python *py = calloc(1, sizeof(*py));
        PyConfig config;
        PyStatus status;
        int r;

        if (!py)
                return -ENOMEM;
        py->hooks = hooks;
        py->max_output = c->max_output;

        PyConfig_InitPythonConfig(&config);
        /* The caller's PYTHON* variables must not change the daemon. */
        config.use_environment = 0;
        config.parse_argv = 0;
        config.install_signal_handlers = 1;
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
        if (r == 0 && c->startup)
                run_startup(py, c->startup);
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

Python *python_free(Python *py)
{
        if (!py)
                return NULL;
        PyEval_RestoreThread(py->main_thread);
        Py_CLEAR(py->boot);
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
        PyObject *module, *globals, *code, *r = NULL;

        (void)py;
        snprintf(module_name, sizeof(module_name), "_guiloop_setup_%s", name);
        snprintf(filename, sizeof(filename), "<guiloop %s plugin setup>", name);
        module = PyImport_AddModule(module_name); /* borrowed */
        globals = module ? PyModule_GetDict(module) : NULL;
        if (globals && PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0) {
                code = Py_CompileString(source, filename, Py_file_input);
                if (code) {
                        r = PyEval_EvalCode(code, globals, globals);
                        Py_DECREF(code);
                }
        }
        if (!r)
                error_text(err, errlen, filename);
        Py_XDECREF(r);
        PyGILState_Release(gil);
        return r ? 0 : PYTHON_E_INIT;
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

/* Cut a result to max bytes, saying so, as output streams do. */
static char *cut_result(char *text, uint64_t max)
{
        size_t len = strlen(text), n = (size_t)max;
        char *out;

        if (len <= max)
                return text;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
                n--;
        if (asprintf(&out, "%.*s\n[guiloop: %zu bytes dropped]", (int)n, text, len - n) < 0)
                out = NULL;
        free(text);
        return out;
}

void python_run(Python *py, Execution *e)
{
        PyGILState_STATE gil = PyGILState_Ensure();
        _cleanup_(freep) char *traceback = NULL;
        PyObject *r, *argv;

        py->current = e->output;
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

        if (!r) {
                e->success = false;
                traceback = fetch_error_text();
        } else if (e->kind == EXECUTION_CODE && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 3) {
                e->success = PyObject_IsTrue(PyTuple_GET_ITEM(r, 0)) == 1;
                e->result = cut_result(text_from_python(PyTuple_GET_ITEM(r, 1)), py->max_output);
                traceback = text_from_python(PyTuple_GET_ITEM(r, 2));
        } else if (e->kind == EXECUTION_FILE && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2) {
                PyObject *ok = PyTuple_GET_ITEM(r, 0);

                if (ok == Py_None) {
                        e->status = EXECUTION_E_FILE_NOT_FOUND;
                        e->status_text = text_from_python(PyTuple_GET_ITEM(r, 1));
                } else {
                        e->success = PyObject_IsTrue(ok) == 1;
                        traceback = text_from_python(PyTuple_GET_ITEM(r, 1));
                }
        } else {
                e->success = false;
                traceback = strdup("guiloop: unexpected value from the boot code\n");
        }
        Py_XDECREF(r);
        py->current = NULL;
        /* Two sigaction() calls; only code that replaced a handler costs more. */
        if (signals_reclaim()) {
                guard_sigint_locked(py);
                log_warning("execution %" PRIu64 " replaced the SIGINT handler; guiloopd took it back",
                            e->id);
        }
        PyGILState_Release(gil);

        e->stdout_text = output_finish(e->output, OUTPUT_STDOUT, NULL);
        e->stderr_text = output_finish(e->output, OUTPUT_STDERR,
                                       traceback && *traceback ? traceback : NULL);
        if (!e->result)
                e->result = strdup("");
}
