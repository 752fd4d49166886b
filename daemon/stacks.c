/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "stacks.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

/*
 * faulthandler's own dumper (Include/internal/pycore_traceback.h, exported
 * by libpython 3.11): it walks the interpreter's thread states without the
 * GIL, as faulthandler.dump_traceback(all_threads=True) does from a signal.
 */
PyAPI_FUNC(const char *) _Py_DumpTracebackThreads(int fd, PyInterpreterState *interp,
                                                  PyThreadState *current_tstate);

/* Dumps are small; a thread past this many frames is cut by faulthandler anyway. */
#define DUMP_MAX (1u << 20)

typedef struct Thread {
        unsigned long id;
        GPtrArray *frames; /* char *, most recent first, as faulthandler lists them */
} Thread;

static void thread_free(gpointer p)
{
        Thread *t = p;

        g_ptr_array_free(t->frames, TRUE);
        g_free(t);
}

/* '  File "x.py", line 3 in f' -> '  File "x.py", line 3, in f' */
static char *frame_line(const char *line)
{
        const char *in = strstr(line, " in ");
        const char *file = strstr(line, "File ");

        if (!file)
                return g_strdup_printf("  %s", g_strstrip(g_strdup(line)));
        if (!in)
                return g_strdup_printf("  %s", file);
        return g_strdup_printf("  %.*s, in %s", (int)(in - file), file, in + 4);
}

static void append_thread(GString *out, const Thread *t, bool gui)
{
        g_string_append_printf(out, "%sThread 0x%lx%s (most recent call last):\n",
                               out->len ? "\n" : "", t->id, gui ? " (GUI thread)" : "");
        if (t->frames->len == 0)
                g_string_append(out, "  <no Python frame>\n");
        for (guint i = t->frames->len; i-- > 0;)
                g_string_append_printf(out, "%s\n", (char *)g_ptr_array_index(t->frames, i));
}

char *stacks_format(const char *dump, unsigned long gui, unsigned long skip)
{
        GPtrArray *threads = g_ptr_array_new_with_free_func(thread_free);
        g_auto(GStrv) lines = g_strsplit(dump, "\n", -1);
        Thread *cur = NULL;
        GString *out = g_string_new("");
        char *text;

        for (char **l = lines; *l; l++) {
                const char *p = *l;
                unsigned long id;

                if (g_str_has_prefix(p, "Current thread "))
                        p += strlen("Current ");
                else if (g_str_has_prefix(p, "Thread "))
                        ;
                else
                        p = NULL;
                if (p && sscanf(p, "Thread 0x%lx", &id) == 1) {
                        cur = g_new0(Thread, 1);
                        cur->id = id;
                        cur->frames = g_ptr_array_new_with_free_func(g_free);
                        g_ptr_array_add(threads, cur);
                        continue;
                }
                if (cur && **l == ' ' && !strstr(*l, "<no Python frame>"))
                        g_ptr_array_add(cur->frames, frame_line(*l));
        }
        for (guint i = 0; i < threads->len; i++) {
                Thread *t = g_ptr_array_index(threads, i);

                if (t->id == gui)
                        append_thread(out, t, true);
        }
        for (guint i = 0; i < threads->len; i++) {
                Thread *t = g_ptr_array_index(threads, i);

                if (t->id != gui && t->id != skip)
                        append_thread(out, t, false);
        }
        g_ptr_array_free(threads, TRUE);
        text = strdup(out->str);
        g_string_free(out, TRUE);
        return text;
}

char *stacks_dump(unsigned long gui, unsigned long skip)
{
        _cleanup_(closep) int fd = memfd_create("guiloop-stacks", MFD_CLOEXEC);
        _cleanup_(freep) char *dump = NULL;
        const char *err;
        ssize_t n;
        off_t len;

        if (fd < 0)
                return NULL;
        err = _Py_DumpTracebackThreads(fd, PyInterpreterState_Main(), NULL);
        if (err) {
                char *text;

                return asprintf(&text, "guiloop: cannot read the stacks: %s\n", err) < 0 ? NULL : text;
        }
        len = lseek(fd, 0, SEEK_CUR);
        if (len < 0 || (size_t)len > DUMP_MAX)
                len = DUMP_MAX;
        dump = calloc(1, (size_t)len + 1);
        if (!dump)
                return NULL;
        n = pread(fd, dump, (size_t)len, 0);
        if (n < 0)
                return NULL;
        dump[n] = 0;
        return stacks_format(dump, gui, skip);
}
