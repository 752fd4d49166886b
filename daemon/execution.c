/* SPDX-License-Identifier: MIT */
#include "execution.h"

#include <errno.h>
#include <stdlib.h>

int execution_new(Execution **out, ExecutionKind kind, DBusMessage *msg, uint64_t max_output)
{
        _cleanup_(execution_freep) Execution *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return -ENOMEM;
        e->kind = kind;
        r = output_new(&e->output, max_output);
        if (r < 0)
                return r;
        e->msg = dbus_message_ref(msg);
        e->queued_usec = now_usec();
        *out = steal_pointer(&e);
        return 0;
}

Execution *execution_free(Execution *e)
{
        if (!e)
                return NULL;
        free(e->code);
        free(e->path);
        if (e->argv)
                for (char **a = e->argv; *a; a++)
                        free(*a);
        free(e->argv);
        if (e->msg)
                dbus_message_unref(e->msg);
        free(e->status_text);
        free(e->result);
        output_free(e->output);
        free(e->stdout_text);
        free(e->stderr_text);
        free(e);
        return NULL;
}
