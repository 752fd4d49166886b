/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static bool streq_null(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* A temporary file holding text; free() and unlink() the returned path. */
static char *write_temp(const char *text, size_t len)
{
        char *path = strdup("/tmp/test-config-XXXXXX");
        int fd;

        if (!path)
                abort();
        fd = mkstemp(path);
        if (fd < 0 || write(fd, text, len) != (ssize_t)len)
                abort();
        close(fd);
        return path;
}

static char *join(const char *a, const char *b)
{
        char *p;

        if (asprintf(&p, "%s%s", a, b) < 0)
                abort();
        return p;
}

static void remove_temp(char *path)
{
        unlink(path);
        free(path);
}

/* Compares every value, not where it came from. */
static bool config_equal(const Config *a, const Config *b)
{
        if (!streq_null(a->toolkit, b->toolkit) || a->tk_guest != b->tk_guest ||
            !streq_null(a->instance, b->instance) || !streq_null(a->plugin_dir, b->plugin_dir) ||
            a->n_allow_uids != b->n_allow_uids || a->shutdown_grace != b->shutdown_grace ||
            !streq_null(a->startup, b->startup) || !streq_null(a->python_path, b->python_path) ||
            a->switch_interval != b->switch_interval ||
            a->python_matplotlib != b->python_matplotlib || a->timeout != b->timeout ||
            a->queue_limit != b->queue_limit || a->max_output != b->max_output)
                return false;
        for (size_t i = 0; i < a->n_allow_uids; i++)
                if (a->allow_uids[i] != b->allow_uids[i])
                        return false;
        return true;
}

static bool is_defaults(const Config *c)
{
        _cleanup_(config_freep) Config *d = NULL;

        if (config_new(&d) < 0)
                abort();
        return config_equal(c, d);
}

static void test_defaults(void)
{
        _cleanup_(config_freep) Config *c = NULL;

        ok(config_new(&c) == 0, "config_new");
        ok(streq_null(c->toolkit, "gtk"), "default toolkit gtk");
        ok(!c->tk_guest, "default tk_guest false");
        ok(streq_null(c->instance, ""), "default instance empty");
        ok(!c->plugin_dir, "default plugin_dir unset");
        ok(c->n_allow_uids == 0, "default allow_uids empty");
        ok(c->shutdown_grace == 5, "default shutdown_grace 5");
        ok(!c->startup, "default startup unset");
        ok(!c->python_path, "default path unset");
        ok(c->switch_interval == 0.005, "default switch_interval 0.005");
        ok(c->python_matplotlib, "default matplotlib true");
        ok(c->timeout == 0, "default timeout 0");
        ok(c->queue_limit == 64, "default queue_limit 64");
        ok(c->max_output == 1048576, "default max_output 1048576");
        ok(!c->path && c->line_toolkit == 0 && c->line_tk_guest == 0, "no path, no lines");
        ok(config_validate(c) == 0, "defaults validate");
}

static void test_all_keys(void)
{
        static const char text[] =
                "\xef\xbb\xbf# every key\r\n"
                "[daemon]\r\n"
                "toolkit = qt\r\n"
                "tk_guest = YES ; inline comment\r\n"
                "instance = _work2\r\n"
                "plugin_dir = /opt/guiloop/plugins\r\n"
                "allow_uids = 1000 , 1001,0,  4294967294\r\n"
                "shutdown_grace=2.5\r\n"
                "\r\n"
                "[python]\r\n"
                "startup = /home/me/start.py\r\n"
                "path: /a:/b c:/d\r\n"
                "switch_interval = 1e-3\r\n"
                "[execution]\r\n"
                "timeout = .25\r\n"
                "queue_limit = 1000000\r\n"
                "max_output = 1099511627776\r\n";
        _cleanup_(config_freep) Config *c = NULL;
        char *path = write_temp(text, sizeof(text) - 1);
        int r;

        r = config_load(&c, path);
        ok(r == 0, "every key set: loads (%d: %s)", r, c ? c->error : "");
        ok(streq_null(c->path, path), "path recorded");
        ok(streq_null(c->toolkit, "qt") && c->line_toolkit == 3, "toolkit qt on line 3");
        ok(c->tk_guest && c->line_tk_guest == 4, "tk_guest YES on line 4");
        ok(streq_null(c->instance, "_work2"), "instance");
        ok(streq_null(c->plugin_dir, "/opt/guiloop/plugins"), "plugin_dir");
        ok(c->n_allow_uids == 4 && c->allow_uids[0] == 1000 && c->allow_uids[1] == 1001 &&
           c->allow_uids[2] == 0 && c->allow_uids[3] == 4294967294u, "allow_uids");
        ok(c->shutdown_grace == 2.5, "shutdown_grace");
        ok(streq_null(c->startup, "/home/me/start.py"), "startup");
        ok(streq_null(c->python_path, "/a:/b c:/d"), "python path with ':' separator");
        ok(c->switch_interval == 0.001, "switch_interval");
        ok(c->timeout == 0.25, "timeout");
        ok(c->queue_limit == 1000000, "queue_limit max");
        ok(c->max_output == UINT64_C(1) << 40, "max_output max");
        remove_temp(path);
}

static void test_config_set(void)
{
        static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "on", "ON", "1" };
        static const char *const no[] = { "false", "False", "no", "NO", "off", "Off", "0" };
        _cleanup_(config_freep) Config *c = NULL;
        char err[256];
        bool good = true;

        config_new(&c);
        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                c->tk_guest = false;
                good &= config_set(c, "daemon", "tk_guest", yes[i], err, sizeof(err)) == 0 && c->tk_guest;
                good &= config_set(c, "daemon", "tk_guest", no[i], err, sizeof(err)) == 0 && !c->tk_guest;
        }
        ok(good, "every boolean spelling");

        ok(config_set(c, "bogus", "toolkit", "qt", err, sizeof(err)) == CONFIG_E_INVALID &&
           streq_null(err, "unknown section [bogus]"), "config_set: unknown section (%s)", err);
        ok(config_set(c, "python", "toolkit", "qt", err, sizeof(err)) == CONFIG_E_INVALID &&
           streq_null(err, "unknown key 'toolkit' in section [python]"), "config_set: unknown key (%s)", err);
        ok(config_set(c, "daemon", "toolkit", "Qt", err, sizeof(err)) == CONFIG_E_INVALID &&
           streq_null(err, "toolkit: 'Qt' is not one of gtk, gtk4, qt, qt6, wx, tk, or a plugin's name ([a-z][a-z0-9_]*)"), "config_set: bad value (%s)", err);
        ok(streq_null(c->toolkit, "gtk"), "a bad value leaves the old one");
        ok(config_set(c, "daemon", "toolkit", "glib", err, sizeof(err)) == 0 &&
           streq_null(c->toolkit, "glib") &&
           config_set(c, "daemon", "toolkit", "my_tk2", err, sizeof(err)) == 0 &&
           config_set(c, "daemon", "toolkit", "gtk", err, sizeof(err)) == 0,
           "a third-party plugin's name is a toolkit (%s)", err);
        ok(config_set(c, "daemon", "toolkit", "../gtk", err, sizeof(err)) == CONFIG_E_INVALID &&
           config_set(c, "daemon", "toolkit", "2d", err, sizeof(err)) == CONFIG_E_INVALID,
           "a path or a non-name is not (%s)", err);
        ok(config_set(c, "daemon", "allow_uids", "1,2", err, sizeof(err)) == 0 &&
           config_set(c, "daemon", "allow_uids", " ", err, sizeof(err)) == 0 && c->n_allow_uids == 0,
           "allow_uids can be emptied");
        ok(config_set(c, "daemon", "plugin_dir", "/x", err, sizeof(err)) == 0 &&
           config_set(c, "daemon", "plugin_dir", "", err, sizeof(err)) == 0 && !c->plugin_dir,
           "an empty plugin_dir is unset");
        ok(config_set(c, "execution", "queue_limit", "0", NULL, 0) == 0 && c->queue_limit == 0,
           "queue_limit 0, no error buffer");
        ok(config_set(c, "execution", "queue_limit", "x", NULL, 0) == CONFIG_E_INVALID,
           "bad value, no error buffer");
}

static void test_get(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        char buf[64], tiny[4];

        config_new(&c);
        ok(streq_null(config_get(c, "daemon", "toolkit", buf, sizeof(buf)), "gtk"), "get toolkit");
        ok(streq_null(config_get(c, "daemon", "tk_guest", buf, sizeof(buf)), "false"), "get tk_guest");
        ok(streq_null(config_get(c, "daemon", "plugin_dir", buf, sizeof(buf)), ""), "get unset plugin_dir");
        ok(streq_null(config_get(c, "daemon", "shutdown_grace", buf, sizeof(buf)), "5"), "get shutdown_grace");
        ok(streq_null(config_get(c, "python", "switch_interval", buf, sizeof(buf)), "0.005"),
           "get switch_interval");
        ok(streq_null(config_get(c, "execution", "max_output", buf, sizeof(buf)), "1048576"), "get max_output");
        config_set(c, "daemon", "allow_uids", "7 ,8", NULL, 0);
        ok(streq_null(config_get(c, "daemon", "allow_uids", buf, sizeof(buf)), "7,8"), "get allow_uids");
        ok(!config_get(c, "daemon", "nope", buf, sizeof(buf)), "get unknown key: NULL");
        ok(!config_get(c, "execution", "toolkit", buf, sizeof(buf)), "get key of another section: NULL");
        ok(!config_get(c, "execution", "max_output", tiny, sizeof(tiny)), "get into a small buffer: NULL");
        ok(streq_null(config_get(c, "daemon", "allow_uids", tiny, sizeof(tiny)), "7,8"), "exact fit");
}

/* Loads len bytes of text and checks the error is "PATH:" want. */
static void check_bad_bytes(const char *what, const char *text, size_t len, const char *want)
{
        _cleanup_(config_freep) Config *c = NULL;
        char *path = write_temp(text, len);
        char expect[1024];
        int r;

        snprintf(expect, sizeof(expect), "%s:%s", path, want);
        r = config_load(&c, path);
        ok(r == CONFIG_E_INVALID && c && streq_null(c->error, expect),
           "%s: %s (got %d '%s')", what, want, r, c ? c->error : "");
        remove_temp(path);
}

static void check_bad(const char *what, const char *text, const char *want)
{
        check_bad_bytes(what, text, strlen(text), want);
}

/* prefix, then ch up to len characters in all. */
static void repeat_line(char *buf, const char *prefix, char ch, size_t len)
{
        size_t n = strlen(prefix);

        memcpy(buf, prefix, n);
        memset(buf + n, ch, len - n);
        buf[len] = '\0';
}

static void test_bad_files(void)
{
        char long_line[512], text[1024];

        check_bad("syntax error", "[daemon]\n\ntoolkit qt\n", "3: syntax error: expected 'key = value' or '[section]'");
        check_bad("syntax error after comments, CRLF and a BOM",
                  "\xef\xbb\xbf; one\r\n# two\r\n\r\n[daemon]\r\n  ; five\r\ntoolkit = qt\r\n\r\n[python]\r\noops\r\n",
                  "9: syntax error: expected 'key = value' or '[section]'");
        check_bad("unclosed section header", "# x\n[daemon\n",
                  "2: syntax error: expected 'key = value' or '[section]'");
        check_bad("syntax error before a later error", "[daemon]\nbad\nfoo = 1\n[bogus]\n",
                  "2: syntax error: expected 'key = value' or '[section]'");
        check_bad("text after a section header", "[daemon] x\n",
                  "1: syntax error: unexpected text after [daemon]");
        check_bad("unknown section without keys", "# x\n[bogus]\n", "2: unknown section [bogus]");
        check_bad("unknown section with keys", "[daemon]\n[bogus] ; c\nfoo = 1\n", "2: unknown section [bogus]");
        check_bad("unknown section, wrong case", "[Daemon]\n", "1: unknown section [Daemon]");
        check_bad("unknown key", "[daemon]\ntoolkit = qt\n\nfoo = 1\n", "4: unknown key 'foo' in section [daemon]");
        check_bad("key in the wrong section", "[python]\ntimeout = 1\n",
                  "2: unknown key 'timeout' in section [python]");
        check_bad("key before any section", "# c\ntoolkit = qt\n[daemon]\n",
                  "2: key 'toolkit' comes before any [section] header");
        check_bad("duplicate key", "[daemon]\n\ntoolkit = qt\ntk_guest = no\n[python]\n[daemon]\ntoolkit = wx\n",
                  "7: duplicate key 'toolkit' (first set on line 3)");
        check_bad("continuation line", "[daemon]\nplugin_dir = /a\n  /b\n",
                  "3: duplicate key 'plugin_dir' (first set on line 2)");
        check_bad("indented header after a key is a continuation", "[daemon]\ninstance = a\n  [bogus]\n",
                  "3: duplicate key 'instance' (first set on line 2)");
        check_bad_bytes("NUL byte", "[daemon]\ntoolkit = qt\0x\n", 23, "2: line contains a NUL byte");

        repeat_line(long_line, "plugin_dir = /", 'a', 197);
        snprintf(text, sizeof(text), "[daemon]\n%s\n", long_line);
        {
                _cleanup_(config_freep) Config *c = NULL;
                char *path = write_temp(text, strlen(text));

                ok(config_load(&c, path) == 0 && strlen(c->plugin_dir) == 184,
                   "a 197-character line loads (%s)", c ? c->error : "");
                remove_temp(path);
        }
        repeat_line(long_line, "plugin_dir = /", 'a', 198);
        snprintf(text, sizeof(text), "[daemon]\n%s\n", long_line);
        check_bad("over-long line", text, "2: line too long (more than 197 characters)");
        repeat_line(long_line, "# ", '-', 300);
        snprintf(text, sizeof(text), "[daemon]\n\n%s\ntoolkit = qt\n", long_line);
        check_bad("over-long comment", text, "3: line too long (more than 197 characters)");

        check_bad("toolkit", "[daemon]\ntoolkit = Foo\n", "2: toolkit: 'Foo' is not one of gtk, gtk4, qt, qt6, wx, tk, or a plugin's name ([a-z][a-z0-9_]*)");
        check_bad("toolkit empty", "[daemon]\ntoolkit =\n", "2: toolkit: '' is not one of gtk, gtk4, qt, qt6, wx, tk, or a plugin's name ([a-z][a-z0-9_]*)");
        check_bad("tk_guest", "[daemon]\ntk_guest = maybe\n",
                  "2: tk_guest: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
        check_bad("tk_guest empty", "[daemon]\ntk_guest =\n",
                  "2: tk_guest: '' is not a boolean (true/false, yes/no, on/off, 1/0)");
        check_bad("instance digit first", "[daemon]\ninstance = 1a\n",
                  "2: instance: '1a' is not empty or a name matching [A-Za-z_][A-Za-z0-9_]*");
        check_bad("instance dash", "[daemon]\ninstance = a-b\n",
                  "2: instance: 'a-b' is not empty or a name matching [A-Za-z_][A-Za-z0-9_]*");

        static const char *const bad_uids[] = { "abc", "1000,,1001", "1000,", ",1000", "-1", "+5",
                                                 "4294967295", "99999999999999999999999", "1 2", "1;2" };
        for (size_t i = 0; i < ARRAY_SIZE(bad_uids); i++) {
                char want[256];

                snprintf(text, sizeof(text), "[daemon]\nallow_uids = %s\n", bad_uids[i]);
                snprintf(want, sizeof(want), "2: allow_uids: '%s' is not a comma-separated list of user ids",
                         bad_uids[i]);
                check_bad("allow_uids", text, want);
        }

        static const char *const bad_seconds[] = { "", "-1", "-0", "abc", "5s", "inf", "nan", "0x10",
                                                    "1e999", "+1", " 1", "1..2", "." };
        for (size_t i = 0; i < ARRAY_SIZE(bad_seconds); i++) {
                char want[256];

                snprintf(text, sizeof(text), "[daemon]\nshutdown_grace=%s\n", bad_seconds[i]);
                snprintf(want, sizeof(want), "2: shutdown_grace: '%s' is not a number of seconds >= 0",
                         bad_seconds[i][0] == ' ' ? bad_seconds[i] + 1 : bad_seconds[i]);
                /* inih strips the space, so " 1" is fine in a file. */
                if (bad_seconds[i][0] != ' ')
                        check_bad("shutdown_grace", text, want);
        }
        check_bad("timeout", "[execution]\ntimeout = -0.5\n",
                  "2: timeout: '-0.5' is not a number of seconds >= 0");
        check_bad("switch_interval zero", "[python]\nswitch_interval = 0\n",
                  "2: switch_interval: '0' is not a number of seconds > 0");
        check_bad("switch_interval underflow", "[python]\nswitch_interval = 1e-400\n",
                  "2: switch_interval: '1e-400' is not a number of seconds > 0");
        check_bad("switch_interval empty", "[python]\nswitch_interval =\n",
                  "2: switch_interval: '' is not a number of seconds > 0");

        static const char *const bad_limits[] = { "-1", "1000001", "1.5", "", "0x10", "1e3", "+1", "64 k" };
        for (size_t i = 0; i < ARRAY_SIZE(bad_limits); i++) {
                char want[256];

                snprintf(text, sizeof(text), "[execution]\n\nqueue_limit = %s\n", bad_limits[i]);
                snprintf(want, sizeof(want), "3: queue_limit: '%s' is not an integer from 0 to 1000000",
                         bad_limits[i]);
                check_bad("queue_limit", text, want);
        }
        check_bad("max_output too big", "[execution]\nmax_output = 1099511627777\n",
                  "2: max_output: '1099511627777' is not an integer from 0 to 1099511627776");
        check_bad("max_output overflow", "[execution]\nmax_output = 18446744073709551616\n",
                  "2: max_output: '18446744073709551616' is not an integer from 0 to 1099511627776");
}

static void test_bad_number_strings(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        char err[256];

        config_new(&c);
        ok(config_set(c, "daemon", "shutdown_grace", " 1", err, sizeof(err)) == CONFIG_E_INVALID,
           "leading space in a number from the command line");
        ok(config_set(c, "daemon", "shutdown_grace", "0", err, sizeof(err)) == 0 && c->shutdown_grace == 0,
           "shutdown_grace 0");
        ok(config_set(c, "daemon", "shutdown_grace", "1E2", err, sizeof(err)) == 0 && c->shutdown_grace == 100,
           "shutdown_grace 1E2");
        ok(config_set(c, "execution", "max_output", "0", err, sizeof(err)) == 0 && c->max_output == 0,
           "max_output 0");
}

static void test_open_errors(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_freep) Config *d = NULL;
        char dir[] = "/tmp/test-config-dir-XXXXXX";
        char missing[64], want[128];
        int r;

        snprintf(missing, sizeof(missing), "/tmp/test-config-missing-%d.ini", (int)getpid());
        r = config_load(&c, missing);
        snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", missing);
        ok(r == CONFIG_E_NOT_FOUND && c && streq_null(c->error, want), "missing file (%s)", c ? c->error : "");
        ok(c && streq_null(c->path, missing), "missing file: path set");

        if (!mkdtemp(dir))
                abort();
        r = config_load(&d, dir);
        snprintf(want, sizeof(want), "%s: cannot open: %s", dir, strerror(EISDIR));
        ok(r == CONFIG_E_INVALID && d && streq_null(d->error, want), "directory (%s)", d ? d->error : "");
        rmdir(dir);

        {
                _cleanup_(config_freep) Config *e = NULL;
                char *file = write_temp("", 0), *below = join(file, "/x.ini");

                r = config_load(&e, below);
                snprintf(want, sizeof(want), "%s: cannot open: %s", below, strerror(ENOTDIR));
                ok(r == CONFIG_E_INVALID && e && streq_null(e->error, want), "below a file (%s)", e ? e->error : "");
                free(below);
                remove_temp(file);
        }

        if (geteuid() != 0) {
                _cleanup_(config_freep) Config *e = NULL;
                char *path = write_temp("[daemon]\n", 9);

                chmod(path, 0);
                r = config_load(&e, path);
                snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(EACCES));
                ok(r == CONFIG_E_INVALID && e && streq_null(e->error, want), "unreadable (%s)", e ? e->error : "");
                remove_temp(path);
        } else {
                ok(1, "# SKIP unreadable file: running as root");
        }
}

static void test_tk_guest(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_freep) Config *d = NULL;
        _cleanup_(config_freep) Config *e = NULL;
        char *path, want[256];
        int r;

        check_bad("tk_guest with tk", "[daemon]\ntoolkit = tk\n\ntk_guest = yes\n",
                  "4: tk_guest = true cannot be used with toolkit = tk (Tk already owns the loop)");
        check_bad("tk with tk_guest", "[daemon]\ntk_guest = on\n[python]\n[daemon]\ntoolkit = tk\n",
                  "2: tk_guest = true cannot be used with toolkit = tk (Tk already owns the loop)");

        /* The file sets toolkit, the command line tk_guest. */
        path = write_temp("[daemon]\n\ntoolkit = tk\n", 23);
        r = config_load(&c, path);
        ok(r == 0 && c->line_toolkit == 3, "toolkit = tk alone loads");
        ok(config_set(c, "daemon", "tk_guest", "true", NULL, 0) == 0, "set tk_guest");
        snprintf(want, sizeof(want),
                 "%s:3: tk_guest = true cannot be used with toolkit = tk (Tk already owns the loop)", path);
        ok(config_validate(c) == CONFIG_E_INVALID && streq_null(c->error, want),
           "validate points at the toolkit line (%s)", c->error);
        ok(config_set(c, "daemon", "toolkit", "tk", NULL, 0) == 0 && c->line_toolkit == 0,
           "setting toolkit again forgets its line");
        ok(config_validate(c) == CONFIG_E_INVALID &&
           streq_null(c->error, "tk_guest cannot be used with toolkit = tk"),
           "no location once neither comes from the file (%s)", c->error);
        ok(config_set(c, "daemon", "toolkit", "qt", NULL, 0) == 0 && config_validate(c) == 0,
           "tk_guest with qt validates");
        remove_temp(path);

        config_new(&d);
        config_set(d, "daemon", "toolkit", "tk", NULL, 0);
        config_set(d, "daemon", "tk_guest", "1", NULL, 0);
        ok(config_validate(d) == CONFIG_E_INVALID &&
           streq_null(d->error, "tk_guest cannot be used with toolkit = tk"),
           "command line only: no location (%s)", d->error);

        path = write_temp("[daemon]\ntoolkit = wx\ntk_guest = true\n", 38);
        ok(config_load(&e, path) == 0 && e->tk_guest && e->line_tk_guest == 3, "tk_guest with wx loads");
        remove_temp(path);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static void make_dirs(const char *base, const char *sub)
{
        char *p = join(base, sub), *s;

        for (s = p + strlen(base) + 1; (s = strchr(s, '/')); s++) {
                *s = '\0';
                mkdir(p, 0700);
                *s = '/';
        }
        mkdir(p, 0700);
        free(p);
}

/* Undoes make_dirs(). */
static void remove_dirs(const char *base, const char *sub)
{
        char *p = join(base, sub), *s;

        while (rmdir(p) == 0 && (s = strrchr(p, '/')) && s > p + strlen(base) - 1)
                *s = '\0';
        rmdir(base);
        free(p);
}

static void test_find(void)
{
        char xdg[] = "/tmp/test-config-xdg-XXXXXX";
        char home[] = "/tmp/test-config-home-XXXXXX";
        char etc[] = "/tmp/test-config-etc-XXXXXX";
        char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
        char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
        char *in_xdg, *in_home, *in_etc, *p;

        if (!mkdtemp(xdg) || !mkdtemp(home) || !mkdtemp(etc))
                abort();
        make_dirs(xdg, "/guiloop");
        make_dirs(home, "/.config/guiloop");
        make_dirs(etc, "/xdg/guiloop");
        in_xdg = join(xdg, "/guiloop/guiloopd.ini");
        in_home = join(home, "/.config/guiloop/guiloopd.ini");
        in_etc = join(etc, "/xdg/guiloop/guiloopd.ini");

        setenv("XDG_CONFIG_HOME", xdg, 1);
        setenv("HOME", home, 1);
        p = config_find(etc);
        ok(!p, "config_find: nothing there");
        free(p);

        write_file(in_etc, "");
        p = config_find(etc);
        ok(streq_null(p, in_etc), "config_find: sysconfdir (%s)", p);
        free(p);

        write_file(in_home, "");
        p = config_find(etc);
        ok(streq_null(p, in_home), "config_find: HOME before sysconfdir (%s)", p);
        free(p);

        write_file(in_xdg, "");
        p = config_find(etc);
        ok(streq_null(p, in_xdg), "config_find: XDG_CONFIG_HOME first (%s)", p);
        free(p);

        setenv("XDG_CONFIG_HOME", "", 1);
        p = config_find(etc);
        ok(streq_null(p, in_home), "config_find: empty XDG_CONFIG_HOME is skipped (%s)", p);
        free(p);

        unsetenv("XDG_CONFIG_HOME");
        unsetenv("HOME");
        p = config_find(etc);
        ok(streq_null(p, in_etc), "config_find: no HOME, no XDG_CONFIG_HOME (%s)", p);
        free(p);

        unlink(in_xdg);
        unlink(in_home);
        unlink(in_etc);
        setenv("XDG_CONFIG_HOME", xdg, 1);
        p = config_find(etc);
        ok(!p, "config_find: all gone");
        free(p);

        if (old_xdg)
                setenv("XDG_CONFIG_HOME", old_xdg, 1);
        else
                unsetenv("XDG_CONFIG_HOME");
        if (old_home)
                setenv("HOME", old_home, 1);
        free(old_xdg);
        free(old_home);
        free(in_xdg);
        free(in_home);
        free(in_etc);
        remove_dirs(xdg, "/guiloop");
        remove_dirs(home, "/.config/guiloop");
        remove_dirs(etc, "/xdg/guiloop");
}

/* Prints c, loads that back, and checks the values are the same. */
static void check_round_trip(const char *what, Config *c, const char *first_line)
{
        _cleanup_(config_freep) Config *back = NULL;
        char path[] = "/tmp/test-config-print-XXXXXX";
        char line[256] = "";
        FILE *f;
        int fd, r;

        fd = mkstemp(path);
        if (fd < 0 || !(f = fdopen(fd, "w")))
                abort();
        config_print(c, f);
        fclose(f);

        f = fopen(path, "r");
        if (!f || !fgets(line, sizeof(line), f))
                abort();
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        ok(streq_null(line, first_line), "%s: first line '%s'", what, line);

        r = config_load(&back, path);
        ok(r == 0, "%s: printed file loads (%d: %s)", what, r, back ? back->error : "");
        ok(back && config_equal(c, back), "%s: same values after print and load", what);
        unlink(path);
}

static void test_round_trip(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_freep) Config *d = NULL;
        _cleanup_(config_freep) Config *e = NULL;
        char want[300], long_dir[200];
        char *path;
        int r = 0;

        config_new(&c);
        check_round_trip("defaults", c, "# defaults (no configuration file)");

        r |= config_set(c, "daemon", "toolkit", "wx", NULL, 0);
        r |= config_set(c, "daemon", "tk_guest", "on", NULL, 0);
        r |= config_set(c, "daemon", "instance", "Test_1", NULL, 0);
        r |= config_set(c, "daemon", "plugin_dir", "/usr/lib/guiloop dir", NULL, 0);
        r |= config_set(c, "daemon", "allow_uids", "0, 65534 ,4294967294", NULL, 0);
        r |= config_set(c, "daemon", "shutdown_grace", "0.1", NULL, 0);
        r |= config_set(c, "python", "startup", "/etc/x.py", NULL, 0);
        r |= config_set(c, "python", "path", "/a:/b", NULL, 0);
        r |= config_set(c, "python", "switch_interval", "0.30000000000000004", NULL, 0);
        r |= config_set(c, "python", "matplotlib", "no", NULL, 0);
        r |= config_set(c, "execution", "timeout", "1e300", NULL, 0);
        r |= config_set(c, "execution", "queue_limit", "0", NULL, 0);
        r |= config_set(c, "execution", "max_output", "1099511627776", NULL, 0);
        ok(r == 0, "every key set by config_set");
        check_round_trip("every key", c, "# defaults (no configuration file)");

        /* A value that just fits as "key=value" still fits after printing. */
        memset(long_dir, 'd', sizeof(long_dir));
        long_dir[0] = '/';
        long_dir[186] = '\0';
        snprintf(want, sizeof(want), "[daemon]\nplugin_dir=%s\n", long_dir);
        path = write_temp(want, strlen(want));
        r = config_load(&d, path);
        ok(r == 0, "197-character plugin_dir line loads (%s)", d ? d->error : "");
        snprintf(want, sizeof(want), "# from %s", path);
        if (d)
                check_round_trip("long line", d, want);
        remove_temp(path);

        path = write_temp("[execution]\ntimeout = 3\n", 24);
        r = config_load(&e, path);
        snprintf(want, sizeof(want), "# from %s", path);
        ok(r == 0, "small file loads");
        check_round_trip("from a file", e, want);
        remove_temp(path);
}

static void test_print_text(void)
{
        static const char want[] =
                "# defaults (no configuration file)\n"
                "[daemon]\n"
                "toolkit = gtk\n"
                "tk_guest = false\n"
                "instance =\n"
                "plugin_dir =\n"
                "allow_uids =\n"
                "shutdown_grace = 5\n"
                "\n"
                "[python]\n"
                "startup =\n"
                "path =\n"
                "switch_interval = 0.005\n"
                "matplotlib = true\n"
                "\n"
                "[execution]\n"
                "timeout = 0\n"
                "queue_limit = 64\n"
                "max_output = 1048576\n"
                "queue_bytes = 268435456\n"
                "keep_results = 64\n"

                "capture_fd = true\n";
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *text = NULL;
        size_t len;
        FILE *f;

        config_new(&c);
        f = open_memstream(&text, &len);
        if (!f)
                abort();
        config_print(c, f);
        fclose(f);
        if (!ok(streq_null(text, want), "config_print of the defaults"))
                for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                        printf("# %s\n", line);
}

static void test_shipped_file(void)
{
        _cleanup_(config_freep) Config *c = NULL;
        const char *dir = getenv("GUILOOP_SOURCE_DIR");
        char *path;
        int r;

        if (dir && *dir)
                path = join(dir, "/conf/guiloopd.ini");
        else
                path = strdup("../conf/guiloopd.ini");
        r = config_load(&c, path);
        ok(r == 0, "%s loads (%d: %s)", path, r, c ? c->error : "");
        ok(c && is_defaults(c), "%s holds the defaults", path);
        free(path);
}

int main(void)
{
        test_defaults();
        test_all_keys();
        test_config_set();
        test_get();
        test_bad_files();
        test_bad_number_strings();
        test_open_errors();
        test_tk_guest();
        test_find();
        test_round_trip();
        test_print_text();
        test_shipped_file();
        return tap_done();
}
