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
        ok(r == LOADER_E_ABI && strstr(err, "table of 8 bytes"), "small table: %s", err);
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
        test_gtk();
        test_dir_order();
        return tap_done();
}
