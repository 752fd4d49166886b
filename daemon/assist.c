/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "assist.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "complete-py.h"
#include "pyembed.h"
#include "log.h"
#include "output.h"
#include "stacks.h"

/* Requests that may wait behind one that waits for the GIL; past that, an empty answer at once. */
#define ASSIST_QUEUE_MAX 16

typedef enum State {
        STATE_QUEUED,
        STATE_RUNNING,
        STATE_ABANDONED, /* running, and nobody wants the answer any more */
} State;

typedef struct Item {
        AssistRequest *req;
        State state;
} Item;

struct Assist {
        int done_fd;
        pthread_t thread;
        bool started;
        pthread_mutex_t lock; /* the rest */
        pthread_cond_t cond;
        GQueue queue; /* Item *, oldest first */
        GQueue done;  /* AssistRequest * */
        Item *running;
        bool stop;
        unsigned long thread_id;
        PyObject *module; /* complete.py, the thread's own */
};

AssistRequest *assist_request_new(AssistKind kind, const char *code, int cursor, void *tag)
{
        AssistRequest *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        r->kind = kind;
        r->cursor = cursor;
        r->tag = tag;
        r->code = strdup(code);
        if (!r->code) {
                free(r);
                return NULL;
        }
        return r;
}

void assist_request_free(AssistRequest *r)
{
        if (!r)
                return;
        free(r->code);
        for (size_t i = 0; i < r->n_matches; i++)
                free(r->matches[i]);
        free(r->matches);
        free(r->text);
        free(r->status);
        free(r->indent);
        free(r);
}

/* A Python str as D-Bus-safe UTF-8, malloc'd.  GIL held. */
static char *text_of(PyObject *s)
{
        PyObject *bytes;
        char *out;

        if (!s || !PyUnicode_Check(s))
                return strdup("");
        bytes = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
        if (!bytes) {
                PyErr_Clear();
                return strdup("");
        }
        out = text_escape(PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
        Py_DECREF(bytes);
        return out;
}

static PyObject *load_module(void)
{
        PyObject *module = pyembed_module("_guiloop_complete", complete_py,
                                          "<guiloop complete.py>");

        return module ? Py_NewRef(module) : NULL;
}

/* Answer r with complete.py.  GIL held; nothing of it ever runs user code. */
static void answer(Assist *a, AssistRequest *r)
{
        PyObject *res = NULL;

        if (r->kind == ASSIST_STACKS) {
                r->text = stacks_dump(r->gui_thread, a->thread_id);
                return;
        }
        if (!a->module && !(a->module = load_module())) {
                PyErr_Print();
                return;
        }
        switch (r->kind) {
        case ASSIST_COMPLETE:
                res = PyObject_CallMethod(a->module, "complete", "si", r->code, r->cursor);
                if (res && PyTuple_Check(res) && PyTuple_GET_SIZE(res) == 3 &&
                    PyList_Check(PyTuple_GET_ITEM(res, 0))) {
                        PyObject *list = PyTuple_GET_ITEM(res, 0);
                        Py_ssize_t n = PyList_GET_SIZE(list);

                        r->matches = calloc((size_t)n + 1, sizeof(char *));
                        for (Py_ssize_t i = 0; r->matches && i < n; i++)
                                if ((r->matches[r->n_matches] = text_of(PyList_GET_ITEM(list, i))))
                                        r->n_matches++;
                        r->start = (int)PyLong_AsLong(PyTuple_GET_ITEM(res, 1));
                        r->end = (int)PyLong_AsLong(PyTuple_GET_ITEM(res, 2));
                }
                break;
        case ASSIST_INSPECT:
                res = PyObject_CallMethod(a->module, "inspect_text", "si", r->code, r->cursor);
                if (res && PyUnicode_Check(res) && PyUnicode_GET_LENGTH(res) > 0) {
                        r->found = true;
                        r->text = text_of(res);
                }
                break;
        case ASSIST_IS_COMPLETE:
                res = PyObject_CallMethod(a->module, "is_complete", "s", r->code);
                if (res && PyTuple_Check(res) && PyTuple_GET_SIZE(res) == 2) {
                        r->status = text_of(PyTuple_GET_ITEM(res, 0));
                        r->indent = text_of(PyTuple_GET_ITEM(res, 1));
                }
                break;
        case ASSIST_STACKS:
                break;
        }
        if (!res) {
                /* A bug of ours, not of the user's code: log it, answer empty. */
                log_warning("complete.py failed:");
                PyErr_Print();
        }
        Py_XDECREF(res);
}

/* complete.py's upkeep (the module list), between requests.  GIL held. */
static void maintain(Assist *a)
{
        PyObject *r;

        if (!a->module && !(a->module = load_module())) {
                PyErr_Print();
                return;
        }
        r = PyObject_CallMethod(a->module, "maintain", NULL);
        if (!r)
                PyErr_Print();
        Py_XDECREF(r);
}

static void *assist_thread(void *data)
{
        Assist *a = data;
        PyGILState_STATE gil;
        PyThreadState *ts;
        uint64_t one = 1;

        /* One thread state for the thread's life: no set-up per request. */
        gil = PyGILState_Ensure();
        pthread_mutex_lock(&a->lock);
        a->thread_id = PyThread_get_thread_ident();
        pthread_mutex_unlock(&a->lock);
        ts = PyEval_SaveThread();

        pthread_mutex_lock(&a->lock);
        for (;;) {
                Item *it;

                while (!a->stop && g_queue_is_empty(&a->queue))
                        pthread_cond_wait(&a->cond, &a->lock);
                if (a->stop)
                        break;
                it = g_queue_pop_head(&a->queue);
                it->state = STATE_RUNNING;
                a->running = it;
                pthread_mutex_unlock(&a->lock);

                PyEval_RestoreThread(ts);
                answer(a, it->req);
                ts = PyEval_SaveThread();

                pthread_mutex_lock(&a->lock);
                a->running = NULL;
                if (it->state == STATE_ABANDONED) {
                        assist_request_free(it->req);
                } else {
                        g_queue_push_tail(&a->done, it->req);
                        (void)!write(a->done_fd, &one, sizeof(one));
                }
                free(it);
                if (g_queue_is_empty(&a->queue)) {
                        /*
                         * The answer is out: now the slow upkeep, while nobody
                         * waits.  Never on a timer: an idle daemon makes no
                         * wake-ups (a warm-up 1 s after start gave the qt idle
                         * test 49 context switches in 3 s).
                         */
                        pthread_mutex_unlock(&a->lock);
                        PyEval_RestoreThread(ts);
                        maintain(a);
                        ts = PyEval_SaveThread();
                        pthread_mutex_lock(&a->lock);
                }
        }
        pthread_mutex_unlock(&a->lock);

        PyEval_RestoreThread(ts);
        Py_CLEAR(a->module);
        PyGILState_Release(gil);
        return NULL;
}

int assist_new(Assist **out, int done_fd)
{
        Assist *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->done_fd = done_fd;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        g_queue_init(&a->queue);
        g_queue_init(&a->done);
        r = pthread_create(&a->thread, NULL, assist_thread, a);
        if (r != 0) {
                assist_free(a);
                return -r;
        }
        pthread_setname_np(a->thread, "guiloopd-assist");
        a->started = true;
        *out = a;
        return 0;
}

void assist_stop(Assist *a)
{
        if (!a || !a->started)
                return;
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
        a->started = false;
}

Assist *assist_free(Assist *a)
{
        Item *it;
        AssistRequest *r;

        if (!a)
                return NULL;
        assist_stop(a);
        while ((it = g_queue_pop_head(&a->queue))) {
                assist_request_free(it->req);
                free(it);
        }
        while ((r = g_queue_pop_head(&a->done)))
                assist_request_free(r);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        free(a);
        return NULL;
}

int assist_submit(Assist *a, AssistRequest *r)
{
        Item *it = calloc(1, sizeof(*it));
        int ret = 0;

        if (!it)
                return -ENOMEM;
        it->req = r;
        pthread_mutex_lock(&a->lock);
        if (a->stop || !a->started)
                ret = -ESHUTDOWN;
        else if (a->queue.length >= ASSIST_QUEUE_MAX)
                ret = -EBUSY;
        if (ret == 0) {
                g_queue_push_tail(&a->queue, it);
                pthread_cond_signal(&a->cond);
        }
        pthread_mutex_unlock(&a->lock);
        if (ret != 0)
                free(it);
        return ret;
}

AssistRequest *assist_take_done(Assist *a)
{
        AssistRequest *r;

        pthread_mutex_lock(&a->lock);
        r = g_queue_pop_head(&a->done);
        pthread_mutex_unlock(&a->lock);
        return r;
}

void assist_abandon(Assist *a, AssistRequest *r)
{
        pthread_mutex_lock(&a->lock);
        if (a->running && a->running->req == r) {
                a->running->state = STATE_ABANDONED;
                r = NULL;
        } else {
                for (GList *l = a->queue.head; l; l = l->next) {
                        Item *it = l->data;

                        if (it->req == r) {
                                g_queue_delete_link(&a->queue, l);
                                free(it);
                                break;
                        }
                }
                /* An answer already done is dropped from the done list too. */
                g_queue_remove(&a->done, r);
        }
        pthread_mutex_unlock(&a->lock);
        assist_request_free(r);
}

unsigned long assist_thread_id(Assist *a)
{
        unsigned long id;

        pthread_mutex_lock(&a->lock);
        id = a->thread_id;
        pthread_mutex_unlock(&a->lock);
        return id;
}
