/* SPDX-License-Identifier: MIT */
#include "execution.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int execution_new(Execution **out, ExecutionKind kind, uint64_t max_output)
{
        _cleanup_(execution_freep) Execution *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return -ENOMEM;
        e->kind = kind;
        r = output_new(&e->output, max_output);
        if (r < 0)
                return r;
        e->queued_usec = now_usec();
        *out = steal_pointer(&e);
        return 0;
}

int execution_set_code(Execution *e, const char *code)
{
        size_t len = strlen(code);

        e->code = malloc(len + 1);
        if (!e->code)
                return -ENOMEM;
        memcpy(e->code, code, len + 1);
        e->bytes += len + 1;
        return 0;
}

int execution_set_file(Execution *e, const char *path, const char *const *argv, size_t argc)
{
        if (!(e->path = strdup(path)) || !(e->argv = calloc(argc + 1, sizeof(char *))))
                return -ENOMEM;
        e->bytes += strlen(path) + 1;
        for (size_t i = 0; i < argc; i++) {
                if (!(e->argv[i] = strdup(argv[i])))
                        return -ENOMEM;
                e->bytes += strlen(argv[i]) + 1 + sizeof(char *);
        }
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
        free(e->status_text);
        free(e->result);
        output_free(e->output);
        free(e->stdout_text);
        free(e->stderr_text);
        free(e);
        return NULL;
}
