/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "tap.h"

static const char *test_dir(void)
{
        const char *d = getenv("GUILOOP_TEST_PLUGIN_DIR");

        return d ? d : ".";
}

static void test_failures(void)
{
        char tmp[] = "/tmp/guiloop-loader-XXXXXX", path[256], err[1024];
        const GuiloopPlugin *p;
        FILE *f;
        int r;

        ok(mkdtemp(tmp) != NULL, "temp dir");
        r = loader_load(tmp, "gtk", &p, err, sizeof(err));
        snprintf(path, sizeof(path), "%s/gtk.so", tmp);
        ok(r == LOADER_E_NOT_FOUND && strstr(err, path) &&
           strstr(err, "No such file or directory"), "missing file: %s", err);

        f = fopen(path, "w");
        fputs("this is not an ELF file\n", f);
        fclose(f);
        r = loader_load(tmp, "gtk", &p, err, sizeof(err));
        ok(r == LOADER_E_OPEN && strstr(err, path) &&
           (strstr(err, "invalid ELF header") || strstr(err, "file too short")),
           "corrupt file names the path and dlerror(): %s", err);
        unlink(path);
        rmdir(tmp);

        r = loader_load(test_dir(), "test-no-entry", &p, err, sizeof(err));
        ok(r == LOADER_E_NO_ENTRY && strstr(err, "no entry symbol guiloop_plugin_entry"),
           "no entry symbol: %s", err);
        r = loader_load(test_dir(), "test-abi-mismatch", &p, err, sizeof(err));
        ok(r == LOADER_E_ABI && strstr(err, "ABI 2, expected 1"), "wrong ABI: %s", err);
        r = loader_load(test_dir(), "test-small-table", &p, err, sizeof(err));
        ok(r == LOADER_E_ABI && strstr(err, "table of 8 bytes") && strstr(err, "at least"),
           "a table too small for ABI 1 is refused: %s", err);
}

static void count_call(void *data)
{
        (*(int *)data)++;
}

/* Built against the first ABI 1 tables: accepted, with defaults for what they lack. */
static void test_old_table(void)
{
        GuiloopHost host = { .version = GUILOOP_HOST_VERSION, .size = sizeof(host) };
        const GuiloopLoopOps *ops = NULL;
        const GuiloopPlugin *p = NULL;
        GuiloopLoop *loop = NULL;
        char err[1024] = "";
        int r, calls = 0;

        r = loader_load(test_dir(), "test-old-table", &p, err, sizeof(err));
        ok(r == 0 && p, "a plugin with ABI 1's first, smaller table loads: %s", err);
        if (!p)
                return;
        ok(p->size == GUILOOP_PLUGIN_MIN_SIZE && p->size < sizeof(GuiloopPlugin),
           "its table is %u bytes, today's %zu", p->size, sizeof(GuiloopPlugin));
        ok(!GUILOOP_HAS_FIELD(p, conflicts) && loader_conflicts(p) == NULL,
           "a field it predates is absent, and defaults to none");
        ok(GUILOOP_HAS_FIELD(p, python_setup), "a field it has is present");
        r = p->loop_new(&host, &loop, &ops, err, sizeof(err));
        ok(r == 0 && loader_check_loop_ops(p->name, ops, err, sizeof(err)) == 0,
           "its loop table passes: %s", err);
        ok(!loader_loop_has_watches(ops) && !ops->describe, "it has no watches, no describe");
        ops->post(loop, count_call, &calls);
        ops->post(loop, count_call, &calls);
        ops->run(loop);
        ok(calls == 2, "its loop runs posted calls: %d", calls);
        ops->free(loop);
}

static int fake_run(GuiloopLoop *loop)
{
        (void)loop;
        return 0;
}

static void fake_quit(GuiloopLoop *loop)
{
        (void)loop;
}

static int fake_post(GuiloopLoop *loop, GuiloopFn fn, void *data)
{
        (void)loop;
        (void)fn;
        (void)data;
        return 0;
}

static void fake_remove(GuiloopLoop *loop, GuiloopTimer *t)
{
        (void)loop;
        (void)t;
}

static void test_loop_ops(void)
{
        GuiloopLoopOps ops = {
                GUILOOP_LOOP_OPS_HEADER,
                .run = fake_run,
                .quit = fake_quit,
                .post = fake_post,
        };
        char err[1024] = "";

        ok(loader_check_loop_ops("t", &ops, err, sizeof(err)) == 0, "run, quit, post suffice: %s",
           err);
        ok(guiloop_loop_ops_ok(&ops), "the header's check agrees");
        ops.size = GUILOOP_LOOP_OPS_MIN_SIZE_1 - 1;
        ok(loader_check_loop_ops("t", &ops, err, sizeof(err)) == LOADER_E_ABI &&
           strstr(err, "bytes") && !guiloop_loop_ops_ok(&ops),
           "too small for its version: %s", err);
        ops.size = sizeof(ops) + 8;
        ok(loader_check_loop_ops("t", &ops, err, sizeof(err)) == LOADER_E_ABI,
           "larger than known: %s", err);
        ops.size = sizeof(ops);
        ops.version = GUILOOP_LOOP_OPS_VERSION + 1;
        ok(loader_check_loop_ops("t", &ops, err, sizeof(err)) == LOADER_E_ABI &&
           strstr(err, "knows") && !guiloop_loop_ops_ok(&ops), "a newer version: %s", err);
        ops.version = GUILOOP_LOOP_OPS_VERSION;
        ops.timer_remove = fake_remove;
        ok(loader_check_loop_ops("t", &ops, err, sizeof(err)) == LOADER_E_ABI &&
           strstr(err, "1 of the 5"), "watches and timers come as a set: %s", err);
        ops.timer_remove = NULL;
        ops.post = NULL;
        ok(loader_check_loop_ops("t", &ops, err, sizeof(err)) == LOADER_E_ABI &&
           strstr(err, "post"), "post is required: %s", err);
        ok(loader_check_loop_ops("t", NULL, err, sizeof(err)) == LOADER_E_ABI, "no table: %s",
           err);
}

static void test_gtk(void)
{
        const char *dir = getenv("GUILOOP_BUILD_PLUGIN_DIR");
        const GuiloopPlugin *p = NULL;
        char err[1024] = "", path[512];
        struct stat st;

        snprintf(path, sizeof(path), "%s/gtk.so", dir ? dir : ".");
        if (!dir || stat(path, &st) < 0) {
                printf("ok %d # SKIP gtk plugin not built\n", ++tap_count);
                return;
        }
        ok(loader_load(dir, "gtk", &p, err, sizeof(err)) == 0 && p && strcmp(p->name, "gtk") == 0,
           "the built gtk plugin loads: %s", err);
        ok(p && p->loop_new && !p->guest_new, "it can own a loop");
        ok(loader_load(dir, "gtk", &p, err, sizeof(err)) == 0, "loading again is harmless");
}

static void test_dir_order(void)
{
        setenv("GUILOOP_PLUGIN_DIR", "/from/env", 1);
        ok(strcmp(loader_plugin_dir("/cmd", "/conf"), "/cmd") == 0, "--plugin-dir first");
        ok(strcmp(loader_plugin_dir(NULL, "/conf"), "/conf") == 0, "then the config");
        ok(strcmp(loader_plugin_dir(NULL, NULL), "/from/env") == 0, "then the environment");
        unsetenv("GUILOOP_PLUGIN_DIR");
        ok(loader_plugin_dir(NULL, NULL)[0] == '/', "then a built-in folder");
}

int main(void)
{
        test_failures();
        test_old_table();
        test_loop_ops();
        test_gtk();
        test_dir_order();
        return tap_done();
}
