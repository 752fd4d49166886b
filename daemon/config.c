/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

typedef enum KeyKind {
        KEY_TOOLKIT,
        KEY_BOOL,
        KEY_NAME,       /* "" or [A-Za-z_][A-Za-z0-9_]* */
        KEY_STRING,     /* empty means NULL */
        KEY_UIDS,
        KEY_SECONDS,    /* >= 0 */
        KEY_INTERVAL,   /* > 0 */
        KEY_U32,
        KEY_U64,
} KeyKind;

typedef struct Key {
        const char *section;
        const char *name;
        KeyKind kind;
        size_t offset;  /* of the field in Config */
        uint64_t max;   /* KEY_U32, KEY_U64 */
} Key;

#define FIELD(f) offsetof(Config, f)
#define FIELD_PTR(c, k, type) ((type *)((char *)(c) + (k)->offset))

/* In print order. */
static const Key keys[] = {
        { "daemon", "toolkit", KEY_TOOLKIT, FIELD(toolkit), 0 },
        { "daemon", "tk_guest", KEY_BOOL, FIELD(tk_guest), 0 },
        { "daemon", "instance", KEY_NAME, FIELD(instance), 0 },
        { "daemon", "plugin_dir", KEY_STRING, FIELD(plugin_dir), 0 },
        { "daemon", "allow_uids", KEY_UIDS, FIELD(allow_uids), 0 },
        { "daemon", "shutdown_grace", KEY_SECONDS, FIELD(shutdown_grace), 0 },
        { "python", "startup", KEY_STRING, FIELD(startup), 0 },
        { "python", "path", KEY_STRING, FIELD(python_path), 0 },
        { "python", "switch_interval", KEY_INTERVAL, FIELD(switch_interval), 0 },
        { "python", "matplotlib", KEY_BOOL, FIELD(python_matplotlib), 0 },
        { "execution", "timeout", KEY_SECONDS, FIELD(timeout), 0 },
        { "execution", "queue_limit", KEY_U32, FIELD(queue_limit), 1000000 },
        { "execution", "max_output", KEY_U64, FIELD(max_output), UINT64_C(1) << 40 },
        { "execution", "queue_bytes", KEY_U64, FIELD(queue_bytes), UINT64_C(1) << 40 },
        { "execution", "keep_results", KEY_U32, FIELD(keep_results), 1000000 },
        { "execution", "capture_fd", KEY_BOOL, FIELD(capture_fd), 0 },
};

static const char *const sections[] = { "daemon", "python", "execution" };
/* The toolkits guiloop ships; a third-party plugin's name is any plugin_name(). */
static const char *const toolkits[] = { "gtk", "gtk4", "qt", "qt6", "wx", "tk" };

/* Room for any number or boolean as text. */
#define SCALAR_MAX 32

static bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static bool is_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool is_digit(char ch)
{
        return ch >= '0' && ch <= '9';
}

static bool is_name_start(char ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool is_section(const char *name, size_t len)
{
        for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
                if (strlen(sections[i]) == len && strncmp(sections[i], name, len) == 0)
                        return true;
        return false;
}

static const Key *find_key(const char *section, const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                if (streq(keys[i].section, section) && streq(keys[i].name, name))
                        return &keys[i];
        return NULL;
}

/* The cross-key checks want to know where toolkit and tk_guest were set. */
static unsigned *key_line(Config *c, const Key *k)
{
        if (k->offset == FIELD(toolkit))
                return &c->line_toolkit;
        if (k->offset == FIELD(tk_guest))
                return &c->line_tk_guest;
        return NULL;
}

int config_new(Config **out)
{
        _cleanup_(config_freep) Config *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->toolkit = strdup("gtk");
        c->instance = strdup("");
        if (!c->toolkit || !c->instance)
                return -ENOMEM;
        c->shutdown_grace = 5;
        c->switch_interval = 0.005;
        c->python_matplotlib = true;
        c->timeout = 0;
        c->queue_limit = 64;
        c->max_output = 1048576;
        c->queue_bytes = 268435456;
        c->keep_results = 64;
        c->capture_fd = true;

        *out = steal_pointer(&c);
        return 0;
}

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        free(c->toolkit);
        free(c->instance);
        free(c->plugin_dir);
        free(c->allow_uids);
        free(c->startup);
        free(c->python_path);
        free(c->path);
        free(c);
        return NULL;
}

/* Whole value, digits only (no sign, no space), at most max. */
static bool parse_uint(const char *s, const char **end, uint64_t max, uint64_t *out)
{
        unsigned long long v;
        char *e;

        if (!is_digit(s[0]))
                return false;
        errno = 0;
        v = strtoull(s, &e, 10);
        if (errno || v > max)
                return false;
        *end = e;
        *out = v;
        return true;
}

static bool parse_whole_uint(const char *s, uint64_t max, uint64_t *out)
{
        const char *end;

        return parse_uint(s, &end, max, out) && *end == '\0';
}

/* Plain decimal notation only: no sign, hex, inf or nan, no trailing junk. */
static bool parse_seconds(const char *s, double *out)
{
        double d;
        char *end;

        if (!is_digit(s[0]) && !(s[0] == '.' && is_digit(s[1])))
                return false;
        if (s[strspn(s, "0123456789.eE+-")] != '\0')
                return false;
        errno = 0;
        d = strtod(s, &end);
        if (errno || *end != '\0' || !isfinite(d))
                return false;
        *out = d;
        return true;
}

static bool parse_bool(const char *s, bool *out)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *out = true;
                        return true;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *out = false;
                        return true;
                }
        }
        return false;
}

/* A plugin's file name without ".so": [a-z][a-z0-9_]*, at most 32 characters. */
static bool plugin_name(const char *s)
{
        size_t n = 0;

        if (!s || !(*s >= 'a' && *s <= 'z'))
                return false;
        for (; *s; s++, n++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_') ||
                    n >= 32)
                        return false;
        return true;
}

static bool is_name(const char *s)
{
        if (!*s)
                return true;
        if (!is_name_start(*s))
                return false;
        for (s++; *s; s++)
                if (!is_name_start(*s) && !is_digit(*s))
                        return false;
        return true;
}

static const char *skip_blanks(const char *s)
{
        return s + strspn(s, " \t");
}

/* "1000, 1001" into a fresh array; 0, -ENOMEM or CONFIG_E_INVALID. */
static int parse_uids(const char *s, uid_t **ret, size_t *ret_n)
{
        _cleanup_(freep) uid_t *uids = NULL;
        size_t n = 0, max = 1;

        for (const char *p = s; *p; p++)
                if (*p == ',')
                        max++;
        s = skip_blanks(s);
        if (*s) {
                uids = calloc(max, sizeof(*uids));
                if (!uids)
                        return -ENOMEM;
                for (;;) {
                        const char *end;
                        uint64_t v;

                        /* (uid_t) -1 means "no user" to the kernel. */
                        if (!parse_uint(s, &end, (uid_t)-1 - 1, &v))
                                return CONFIG_E_INVALID;
                        uids[n++] = (uid_t)v;
                        s = skip_blanks(end);
                        if (!*s)
                                break;
                        if (*s != ',')
                                return CONFIG_E_INVALID;
                        s = skip_blanks(s + 1);
                }
        }

        *ret = steal_pointer(&uids);
        *ret_n = n;
        return 0;
}

static int set_string(char **field, const char *value, bool empty_is_null)
{
        char *s = NULL;

        if (*value || !empty_is_null) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*field);
        *field = s;
        return 0;
}

/* 0, -ENOMEM, or CONFIG_E_INVALID when the value does not fit the key. */
static int set_value(Config *c, const Key *k, const char *value)
{
        uid_t *uids;
        size_t n;
        uint64_t u;
        double d;
        bool b;
        int r;

        switch (k->kind) {
        case KEY_TOOLKIT:
                for (size_t i = 0; i < ARRAY_SIZE(toolkits); i++)
                        if (streq(value, toolkits[i]))
                                return set_string(FIELD_PTR(c, k, char *), value, false);
                /* A plugin of a third party (doc/examples/plugin): the loader checks it. */
                if (!plugin_name(value))
                        return CONFIG_E_INVALID;
                return set_string(FIELD_PTR(c, k, char *), value, false);
        case KEY_BOOL:
                if (!parse_bool(value, &b))
                        return CONFIG_E_INVALID;
                *FIELD_PTR(c, k, bool) = b;
                return 0;
        case KEY_NAME:
                if (!is_name(value))
                        return CONFIG_E_INVALID;
                return set_string(FIELD_PTR(c, k, char *), value, false);
        case KEY_STRING:
                return set_string(FIELD_PTR(c, k, char *), value, true);
        case KEY_UIDS:
                r = parse_uids(value, &uids, &n);
                if (r != 0)
                        return r;
                free(c->allow_uids);
                c->allow_uids = uids;
                c->n_allow_uids = n;
                return 0;
        case KEY_SECONDS:
        case KEY_INTERVAL:
                if (!parse_seconds(value, &d))
                        return CONFIG_E_INVALID;
                if (k->kind == KEY_INTERVAL && !(d > 0))
                        return CONFIG_E_INVALID;
                *FIELD_PTR(c, k, double) = d;
                return 0;
        case KEY_U32:
                if (!parse_whole_uint(value, k->max, &u))
                        return CONFIG_E_INVALID;
                *FIELD_PTR(c, k, uint32_t) = (uint32_t)u;
                return 0;
        case KEY_U64:
                if (!parse_whole_uint(value, k->max, &u))
                        return CONFIG_E_INVALID;
                *FIELD_PTR(c, k, uint64_t) = u;
                return 0;
        }
        return CONFIG_E_INVALID;
}

/* What a valid value looks like, for "key: 'value' is not ..." */
static const char *expected(const Key *k, char *buf, size_t len)
{
        switch (k->kind) {
        case KEY_TOOLKIT:
                return "one of gtk, gtk4, qt, qt6, wx, tk, or a plugin's name ([a-z][a-z0-9_]*)";
        case KEY_BOOL:
                return "a boolean (true/false, yes/no, on/off, 1/0)";
        case KEY_NAME:
                return "empty or a name matching [A-Za-z_][A-Za-z0-9_]*";
        case KEY_UIDS:
                return "a comma-separated list of user ids";
        case KEY_SECONDS:
                return "a number of seconds >= 0";
        case KEY_INTERVAL:
                return "a number of seconds > 0";
        case KEY_U32:
        case KEY_U64:
                snprintf(buf, len, "an integer from 0 to %llu", (unsigned long long)k->max);
                return buf;
        case KEY_STRING:
                break;
        }
        return "valid";
}

__attribute__((format(printf, 3, 4)))
static int invalid(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (err && errlen > 0) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return CONFIG_E_INVALID;
}

int config_set(Config *c, const char *section, const char *key, const char *value,
               char *err, size_t errlen)
{
        char buf[64];
        const Key *k;
        unsigned *line;
        int r;

        if (!is_section(section, strlen(section)))
                return invalid(err, errlen, "unknown section [%s]", section);
        k = find_key(section, key);
        if (!k)
                return invalid(err, errlen, "unknown key '%s' in section [%s]", key, section);
        r = set_value(c, k, value);
        if (r == CONFIG_E_INVALID)
                return invalid(err, errlen, "%s: '%s' is not %s", key, value,
                               expected(k, buf, sizeof(buf)));
        if (r < 0)
                return r;

        /* Set from elsewhere than the file (the command line): no longer a line of it. */
        line = key_line(c, k);
        if (line)
                *line = 0;
        return 0;
}

int config_validate(Config *c)
{
        unsigned line = c->line_tk_guest ? c->line_tk_guest : c->line_toolkit;

        if (!c->tk_guest || !streq(c->toolkit, "tk"))
                return 0;
        if (line && c->path)
                snprintf(c->error, sizeof(c->error),
                         "%s:%u: tk_guest = true cannot be used with toolkit = tk (Tk already owns the loop)",
                         c->path, line);
        else
                snprintf(c->error, sizeof(c->error), "tk_guest cannot be used with toolkit = tk");
        return CONFIG_E_INVALID;
}

/* The shortest text that strtod() turns back into exactly d. */
static void format_double(double d, char buf[static SCALAR_MAX])
{
        for (int precision = 1; precision <= 17; precision++) {
                snprintf(buf, SCALAR_MAX, "%.*g", precision, d);
                if (strtod(buf, NULL) == d)
                        return;
        }
}

/* allow_uids as "1000,1001"; returns the length it needs, like snprintf(). */
static size_t format_uids(const Config *c, char *buf, size_t len)
{
        size_t pos = 0;

        if (len > 0)
                buf[0] = '\0';
        for (size_t i = 0; i < c->n_allow_uids; i++) {
                int n = snprintf(pos < len ? buf + pos : NULL, pos < len ? len - pos : 0,
                                 "%s%u", i ? "," : "", (unsigned)c->allow_uids[i]);
                pos += n > 0 ? (size_t)n : 0;
        }
        return pos;
}

/* The text of any value but allow_uids: short ones in buf, strings as they are. */
static const char *value_text(const Config *c, const Key *k, char buf[static SCALAR_MAX])
{
        const char *s;

        switch (k->kind) {
        case KEY_TOOLKIT:
        case KEY_NAME:
        case KEY_STRING:
                s = *FIELD_PTR(c, k, char *);
                return s ? s : "";
        case KEY_BOOL:
                return *FIELD_PTR(c, k, bool) ? "true" : "false";
        case KEY_SECONDS:
        case KEY_INTERVAL:
                format_double(*FIELD_PTR(c, k, double), buf);
                return buf;
        case KEY_U32:
                snprintf(buf, SCALAR_MAX, "%u", (unsigned)*FIELD_PTR(c, k, uint32_t));
                return buf;
        case KEY_U64:
                snprintf(buf, SCALAR_MAX, "%llu", (unsigned long long)*FIELD_PTR(c, k, uint64_t));
                return buf;
        case KEY_UIDS:
                break;
        }
        return "";
}

const char *config_get(Config *c, const char *section, const char *key, char *buf, size_t len)
{
        char scalar[SCALAR_MAX];
        const Key *k;
        size_t n;

        k = find_key(section, key);
        if (!k || !buf || len == 0)
                return NULL;
        if (k->kind == KEY_UIDS)
                n = format_uids(c, buf, len);
        else
                n = (size_t)snprintf(buf, len, "%s", value_text(c, k, scalar));
        return n < len ? buf : NULL;
}

static void print_key(const Config *c, const Key *k, FILE *f)
{
        char scalar[SCALAR_MAX];
        const char *text = NULL;
        size_t len;

        if (k->kind == KEY_UIDS) {
                len = format_uids(c, NULL, 0);
        } else {
                text = value_text(c, k, scalar);
                len = strlen(text);
        }

        /* A value that filled a line as "key=value" must still fit when printed. */
        if (len == 0)
                fprintf(f, "%s =", k->name);
        else if (strlen(k->name) + 3 + len > INI_MAX_LINE - 3)
                fprintf(f, "%s=", k->name);
        else
                fprintf(f, "%s = ", k->name);
        if (text)
                fputs(text, f);
        for (size_t i = 0; !text && i < c->n_allow_uids; i++)
                fprintf(f, "%s%u", i ? "," : "", (unsigned)c->allow_uids[i]);
        fputc('\n', f);
}

void config_print(Config *c, FILE *f)
{
        const char *section = NULL;

        if (c->path)
                fprintf(f, "# from %s\n", c->path);
        else
                fprintf(f, "# defaults (no configuration file)\n");
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                if (!section || !streq(section, keys[i].section)) {
                        section = keys[i].section;
                        fprintf(f, "%s[%s]\n", i ? "\n" : "", section);
                }
                print_key(c, &keys[i], f);
        }
}

static char *existing_file(const char *dir, const char *rest)
{
        char *p;

        if (asprintf(&p, "%s/%s", dir, rest) < 0)
                return NULL;
        if (access(p, F_OK) == 0)
                return p;
        free(p);
        return NULL;
}

char *config_find(const char *sysconfdir)
{
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        char *p = NULL;

        if (xdg && *xdg)
                p = existing_file(xdg, "guiloop/guiloopd.ini");
        if (!p && home && *home)
                p = existing_file(home, ".config/guiloop/guiloopd.ini");
        if (!p && sysconfdir)
                p = existing_file(sysconfdir, "xdg/guiloop/guiloopd.ini");
        return p;
}

/*
 * Parsing state.  inih counts one line per call of the reader, and the reader
 * hands over whole lines only, so its line numbers and ours agree.
 */
typedef struct Loader {
        Config *config;
        FILE *file;
        char *line;             /* getline() buffer */
        size_t size;
        unsigned lineno;        /* lines handed to inih so far */
        unsigned error_line;    /* of the first error recorded in config->error */
        int read_errno;
        int fatal;              /* negative errno */
        bool after_key;         /* inih takes an indented line for a continuation */
        unsigned key_lines[ARRAY_SIZE(keys)];
} Loader;

__attribute__((format(printf, 3, 4)))
static void loader_error(Loader *l, unsigned line, const char *fmt, ...)
{
        char reason[sizeof(l->config->error)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        snprintf(l->config->error, sizeof(l->config->error), "%s:%u: %.400s",
                 l->config->path, line, reason);
        l->error_line = line;
}

/* The end of "[name]" the way inih finds it: ']' or an inline comment. */
static const char *section_end(const char *s)
{
        bool was_space = false;

        for (; *s && *s != ']'; s++) {
                if (was_space && *s == ';')
                        break;
                was_space = is_space(*s);
        }
        return s;
}

/* inih says nothing about a section without keys, so look at headers here. */
static int check_header(Loader *l)
{
        const char *s = l->line, *name, *end, *rest;
        int len;

        if (l->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
                s += 3;
        while (is_space(*s))
                s++;
        if (*s == '\0' || *s == ';' || *s == '#')
                return 0;
        if (l->after_key && s > l->line)
                return 0;
        if (*s != '[')
                return 0;
        end = section_end(s + 1);
        if (*end != ']')
                return 0;       /* inih reports it */

        name = s + 1;
        len = (int)(end - name);
        if (!is_section(name, (size_t)len)) {
                loader_error(l, l->lineno, "unknown section [%.*s]", len, name);
                return CONFIG_E_INVALID;
        }
        for (rest = end + 1; is_space(*rest); rest++)
                ;
        if (*rest && *rest != ';' && *rest != '#') {
                loader_error(l, l->lineno, "syntax error: unexpected text after [%.*s]", len, name);
                return CONFIG_E_INVALID;
        }
        l->after_key = false;
        return 0;
}

static char *read_line(char *str, int num, void *stream)
{
        Loader *l = stream;
        ssize_t n;
        size_t len;

        if (l->error_line || l->fatal || l->read_errno)
                return NULL;

        errno = 0;
        n = getline(&l->line, &l->size, l->file);
        if (n < 0) {
                if (errno == ENOMEM)
                        l->fatal = -ENOMEM;
                else if (!feof(l->file))
                        l->read_errno = errno ? errno : EIO;
                return NULL;
        }
        l->lineno++;

        if (strlen(l->line) != (size_t)n) {
                loader_error(l, l->lineno, "line contains a NUL byte");
                return NULL;
        }
        len = (size_t)n;
        if (len > 0 && l->line[len - 1] == '\n')
                len--;
        if (len > 0 && l->line[len - 1] == '\r')
                len--;
        /* inih needs room for "\r\n\0" and would split a longer line in two. */
        if (num < 4 || len > (size_t)num - 3) {
                loader_error(l, l->lineno, "line too long (more than %d characters)", num - 3);
                return NULL;
        }
        if (check_header(l) != 0)
                return NULL;

        memcpy(str, l->line, (size_t)n + 1);
        return str;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
        Loader *l = user;
        char reason[sizeof(l->config->error)];
        const Key *k;
        unsigned *line;
        size_t i;
        int r;

        l->after_key = true;
        if (l->error_line || l->fatal)
                return 0;
        if (!*section) {
                loader_error(l, l->lineno, "key '%s' comes before any [section] header", name);
                return 0;
        }

        k = find_key(section, name);
        i = k ? (size_t)(k - keys) : 0;
        if (k && l->key_lines[i]) {
                loader_error(l, l->lineno, "duplicate key '%s' (first set on line %u)",
                             name, l->key_lines[i]);
                return 0;
        }
        r = config_set(l->config, section, name, value, reason, sizeof(reason));
        if (r < 0) {
                l->fatal = r;
                return 0;
        }
        if (r > 0) {
                loader_error(l, l->lineno, "%s", reason);
                return 0;
        }

        l->key_lines[i] = l->lineno;
        line = key_line(l->config, k);
        if (line)
                *line = l->lineno;
        return 1;
}

/*
 * A configuration file is a regular file of sane size.  /dev/zero was read
 * until ENOMEM (exit 70) and a FIFO blocked fopen() for ever: open without
 * blocking, look at what it is, and only then read.
 */
#define CONFIG_MAX_BYTES (1024 * 1024)

static int open_file(Config *c, FILE **ret)
{
        struct stat st;
        FILE *f;
        int fd, e;

        fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                e = errno;
                if (e == ENOMEM)
                        return -ENOMEM;
                snprintf(c->error, sizeof(c->error), "%s: cannot open: %s", c->path, strerror(e));
                return e == ENOENT ? CONFIG_E_NOT_FOUND : CONFIG_E_INVALID;
        }
        if (fstat(fd, &st) < 0) {
                e = errno;
                close(fd);
                snprintf(c->error, sizeof(c->error), "%s: cannot open: %s", c->path, strerror(e));
                return CONFIG_E_INVALID;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                snprintf(c->error, sizeof(c->error), "%s: cannot open: %s", c->path,
                         S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
                return CONFIG_E_INVALID;
        }
        if (st.st_size > CONFIG_MAX_BYTES) {
                close(fd);
                snprintf(c->error, sizeof(c->error), "%s: too large: %lld bytes, at most %d",
                         c->path, (long long)st.st_size, CONFIG_MAX_BYTES);
                return CONFIG_E_INVALID;
        }
        /* A regular file never blocks; back to plain reads all the same. */
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

static int parse_file(Config *c, FILE *f)
{
        Loader l = { .config = c, .file = f };
        int r;

        r = ini_parse_stream(read_line, &l, handle_key, &l);
        free(l.line);
        if (l.fatal)
                return l.fatal;
        if (r == -2)
                return -ENOMEM;

        /* inih keeps going after its own syntax errors: the first line wins. */
        if (r > 0 && (!l.error_line || (unsigned)r < l.error_line))
                loader_error(&l, (unsigned)r, "syntax error: expected 'key = value' or '[section]'");
        if (l.error_line)
                return CONFIG_E_INVALID;
        if (l.read_errno) {
                snprintf(c->error, sizeof(c->error), "%s: cannot read: %s",
                         c->path, strerror(l.read_errno));
                return CONFIG_E_INVALID;
        }
        return 0;
}

int config_load(Config **out, const char *path)
{
        _cleanup_(config_freep) Config *c = NULL;
        FILE *f = NULL;
        int r;

        *out = NULL;
        r = config_new(&c);
        if (r < 0)
                return r;
        c->path = strdup(path);
        if (!c->path)
                return -ENOMEM;

        r = open_file(c, &f);
        if (r == 0) {
                r = parse_file(c, f);
                fclose(f);
        }
        if (r == 0)
                r = config_validate(c);
        if (r < 0)
                return r;

        *out = steal_pointer(&c);
        return r;
}
