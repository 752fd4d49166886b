/*
 * A plugin built against ABI 1 as first released (commit 639db67): its tables
 * are that header's, copied here, smaller than today's.  The loader must
 * accept it, use defaults for what it lacks, and never read past its end.
 * Its loop is a toy that runs posted calls until quit(), with no fd watches
 * or timers (an optional set it leaves out) and no describe().
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct GuiloopLoop GuiloopLoop;
typedef void (*GuiloopFn)(void *data);

/* That first include/guiloop/plugin.h, abridged to the fields' types. */
typedef struct OldHost {
        uint32_t version, size;
        void *data;
        void (*log)(void *data, int priority, const char *fmt, ...);
        const char *(*config)(void *data, const char *section, const char *key);
} OldHost;

typedef struct OldLoopOps {
        uint32_t version, size;
        const char *(*describe)(GuiloopLoop *loop);
        int (*run)(GuiloopLoop *loop);
        void (*quit)(GuiloopLoop *loop);
        int (*post)(GuiloopLoop *loop, GuiloopFn fn, void *data);
        void *watch_add, *watch_update, *watch_remove, *timer_add, *timer_remove;
        void (*free)(GuiloopLoop *loop);
} OldLoopOps;

typedef struct OldPlugin {
        uint32_t abi, size;
        const char *name, *description;
        int (*loop_new)(const OldHost *host, GuiloopLoop **out, const OldLoopOps **ops,
                        char *err, size_t errlen);
        void *guest_new, *guest_free;
        const char *python_setup;
} OldPlugin;

struct GuiloopLoop {
        GuiloopFn fn[8];
        void *data[8];
        int head, tail, quit;
};

static int loop_run(GuiloopLoop *loop)
{
        while (!loop->quit && loop->head < loop->tail) {
                int i = loop->head++;

                loop->fn[i](loop->data[i]);
        }
        return 0;
}

static void loop_quit(GuiloopLoop *loop)
{
        loop->quit = 1;
}

static int loop_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        if (loop->tail == 8)
                return -ENOMEM;
        loop->fn[loop->tail] = fn;
        loop->data[loop->tail++] = data;
        return 0;
}

static void loop_free(GuiloopLoop *loop)
{
        free(loop);
}

static const OldLoopOps loop_ops = {
        .version = 1,
        .size = sizeof(OldLoopOps),
        .run = loop_run,
        .quit = loop_quit,
        .post = loop_post,
        .free = loop_free,
};

static int loop_new(const OldHost *host, GuiloopLoop **out, const OldLoopOps **ops, char *err,
                    size_t errlen)
{
        (void)host;
        (void)err;
        (void)errlen;
        *out = calloc(1, sizeof(**out));
        if (!*out)
                return -ENOMEM;
        *ops = &loop_ops;
        return 0;
}

static const OldPlugin plugin = {
        .abi = 1,
        .size = sizeof(OldPlugin),
        .name = "test-old-table",
        .description = "built against ABI 1's first tables",
        .loop_new = loop_new,
};

__attribute__((visibility("default"))) const OldPlugin *guiloop_plugin_entry(void);
__attribute__((visibility("default"))) const OldPlugin *guiloop_plugin_entry(void)
{
        return &plugin;
}
