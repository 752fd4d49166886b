/* SPDX-License-Identifier: MIT */
#pragma once

#include <Python.h>

/*
 * Python source compiled into the daemon (the .py files of daemon/, the plugins' setup
 * files) run as a module of its own: name is put in sys.modules, source runs
 * in its namespace, and tracebacks name filename ("<guiloop boot.py>").
 * GIL held.  Returns a borrowed reference to the module (sys.modules keeps
 * it), or NULL with the Python exception set.
 */
PyObject *pyembed_module(const char *name, const char *source, const char *filename);
