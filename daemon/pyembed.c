/* SPDX-License-Identifier: MIT */
#include "pyembed.h"

PyObject *pyembed_module(const char *name, const char *source, const char *filename)
{
        PyObject *module = PyImport_AddModule(name); /* borrowed */
        PyObject *globals, *code, *r;

        if (!module)
                return NULL;
        globals = PyModule_GetDict(module);
        if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0)
                return NULL;
        code = Py_CompileString(source, filename, Py_file_input);
        if (!code)
                return NULL;
        r = PyEval_EvalCode(code, globals, globals);
        Py_DECREF(code);
        if (!r)
                return NULL;
        Py_DECREF(r);
        return module;
}
