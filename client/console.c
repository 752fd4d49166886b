/* SPDX-License-Identifier: MIT */
/*
 * guiloopctl console: the threaded shell over D-Bus.  IPython's prompts,
 * libedit for editing and history, Enter decided by IsComplete, Tab through
 * Complete (complete.c), NAME? through Inspect, %run through SubmitFile, output
 * live (live.c).  One poll() loop: while the line is edited, libedit reads
 * its characters through console_getc(), which also serves the bus (so
 * background output shows above the prompt) and Ctrl-C.
 */
#include <errno.h>
#include <histedit.h>
#include <inttypes.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "api.h"
#include "commands.h"
#include "complete.h"
#include "ctl.h"
#include "execute.h"
#include "live.h"

#define HISTORY_SIZE 1000
#define CTRL_C 3

typedef struct Console {
        Completer comp; /* first: complete.c finds it through EL_CLIENTDATA */
        Client *c;
        Live live;
        EditLine *el;
        History *hist;
        char *history_path;
        int sigfd;
        bool at_prompt;   /* inside el_gets() */
        bool interrupted; /* Ctrl-C at the prompt: the input is dropped */
        bool bus_gone;
        bool daemon_gone; /* the name has no owner since we last knew */
        bool blank_before_prompt;
        bool no_is_complete;
        uint64_t next_id; /* N of In [N], from the daemon's counters */
        uint64_t shown_id; /* the N the prompt shows */
        bool first_line;  /* the prompt is In [N], not ...: */
        char prompt[128];
        bool colour;
        mbstate_t mb;
} Console;

typedef enum { CELL_OK, CELL_EOF, CELL_INTERRUPTED } CellEnd;

/* -- output around the prompt ---------------------------------------------- */

static void sink_before(void *data)
{
        Console *con = data;

        if (con->at_prompt) {
                fputs("\r\033[K", stdout);
                fflush(stdout);
        }
}

static void sink_after(void *data)
{
        Console *con = data;

        if (con->at_prompt)
                el_set(con->el, EL_REFRESH);
}

/* A line of the console's own (not the code's), above the prompt if one is drawn. */
static void notice(Console *con, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(Console *con, const char *fmt, ...)
{
        va_list ap;

        sink_before(con);
        live_end_line(&con->live);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
        sink_after(con);
}

/* -- the daemon -------------------------------------------------------------- */

/* The banner, and N for the next prompt; 0 or EXIT_BUS (said). */
static int greet(Console *con, bool again)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *props = NULL;
        DBusError e = DBUS_ERROR_INIT;
        const char *version = "?", *toolkit = "?", *python = "?";
        uint64_t guest = 0, count = 0, queued = 0, busy = 0;
        size_t pylen;
        int r;

        r = api_properties(con->c, true, &props, &e);
        if (r == CLIENT_E_DBUS) {
                r = ctl_bus_error(con->c, NULL, &e);
                dbus_error_free(&e);
                return r;
        }
        if (r < 0)
                return ctl_fatal(r);
        api_property_string(props, "Version", &version);
        api_property_string(props, "Toolkit", &toolkit);
        api_property_string(props, "PythonVersion", &python);
        api_property_uint(props, "TkGuest", &guest);
        api_property_uint(props, "ExecutionCount", &count);
        api_property_uint(props, "QueueLength", &queued);
        api_property_uint(props, "Busy", &busy);
        con->next_id = count + queued + busy + 1;
        pylen = strcspn(python, " ");

        if (again)
                notice(con, "[guiloopd is back: a new daemon, its namespace is empty]");
        sink_before(con);
        printf("guiloopd %s, toolkit %s%s, Python %.*s, on %s%s%s%s\n", version, toolkit,
               guest ? " with the Tk guest" : "", (int)pylen, python, client_name(con->c),
               ctl_instance ? " (instance " : "", ctl_instance ?: "", ctl_instance ? ")" : "");
        if (!again)
                printf("Tab completes, NAME? shows help, %%run FILE runs a file, "
                       "Ctrl-D leaves (the daemon keeps running).\n");
        fflush(stdout);
        con->live.subscribed = false;
        execute_subscribe(&con->live, false);
        sink_after(con);
        con->daemon_gone = false;
        return 0;
}

/* What the signal handler noted about the daemon's name, acted on here (a
 * call cannot be made from inside the handler). */
static void check_daemon(Console *con)
{
        if (con->live.owner_lost) {
                con->live.owner_lost = false;
                con->live.subscribed = false;
                if (!con->live.owner_new) {
                        con->daemon_gone = true;
                        notice(con, "[guiloopd left the bus; the next input starts it again "
                                    "when D-Bus can activate it]");
                }
        }
        if (con->live.owner_new) {
                con->live.owner_new = false;
                con->live.highest_id = 0;
                con->daemon_gone = false;
                greet(con, true);
        }
}

/* Without Finished signals the counters are the only news of other ids. */
static void refresh_counters(Console *con)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *props = NULL;
        uint64_t count = 0, queued = 0, busy = 0;

        if (con->live.subscribed || con->daemon_gone || con->bus_gone ||
            api_properties(con->c, false, &props, NULL) != 0)
                return;
        api_property_uint(props, "ExecutionCount", &count);
        api_property_uint(props, "QueueLength", &queued);
        api_property_uint(props, "Busy", &busy);
        con->next_id = count + queued + busy + 1;
}

static uint64_t next_id(Console *con)
{
        uint64_t n = con->next_id;

        if (con->live.highest_id + 1 > n)
                n = con->live.highest_id + 1;
        return n;
}

/* -- reading a character: the terminal, the bus and Ctrl-C together --------- */

static void set_prompt(Console *con, bool first);

/* Another client's execution took the id the prompt shows: show the next. */
static void redraw_if_renumbered(Console *con)
{
        if (!con->at_prompt || !con->first_line || next_id(con) == con->shown_id)
                return;
        set_prompt(con, true);
        sink_before(con);
        sink_after(con);
}

static int console_getc(EditLine *el, wchar_t *wc)
{
        Console *con;

        el_get(el, EL_CLIENTDATA, &con);
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = STDIN_FILENO, .events = POLLIN },
                        { .fd = con->sigfd, .events = POLLIN },
                };
                int r;

                check_daemon(con);
                redraw_if_renumbered(con);
                if (!con->bus_gone) {
                        r = client_iterate(con->c, p, 2, -1);
                        if (r == -ENOTCONN) {
                                con->bus_gone = true;
                                notice(con, "[the session bus closed the connection; "
                                            "Ctrl-D leaves]");
                                continue;
                        }
                } else {
                        r = poll(p, 2, -1) < 0 && errno != EINTR ? -errno : 0;
                }
                if (r < 0)
                        return -1;
                if (p[0].revents) {
                        char b;
                        ssize_t n = read(STDIN_FILENO, &b, 1);
                        size_t k;

                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0)
                                return n == 0 ? 0 : -1;
                        k = mbrtowc(wc, &b, 1, &con->mb);
                        if (k == (size_t)-2)
                                continue; /* more bytes of this character to come */
                        if (k == (size_t)-1) {
                                memset(&con->mb, 0, sizeof(con->mb));
                                *wc = (unsigned char)b;
                        }
                        return 1;
                }
                /* After the keys typed before it: "abc" then Ctrl-C shows "abc^C". */
                if (p[1].revents) {
                        live_sigint_count(con->sigfd);
                        *wc = CTRL_C;
                        return 1;
                }
        }
}

static char *prompt_fn(EditLine *el)
{
        Console *con;

        el_get(el, EL_CLIENTDATA, &con);
        return con->prompt;
}

/* Ctrl-C at the prompt: "^C" after the input, which is dropped. */
static unsigned char interrupt_key(EditLine *el, int ch _unused_)
{
        Console *con;
        const LineInfo *li = el_line(el);

        el_get(el, EL_CLIENTDATA, &con);
        el_cursor(el, (int)(li->lastchar - li->cursor));
        el_insertstr(el, "^C");
        con->interrupted = true;
        el_push(el, "\n");
        return CC_REFRESH;
}

/* -- history ----------------------------------------------------------------- */

static int mkdir_parents(char *path)
{
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0700) < 0 && errno != EEXIST) {
                        *p = '/';
                        return -errno;
                }
                *p = '/';
        }
        return 0;
}

/* $XDG_STATE_HOME/guiloop/history, ~/.local/state/guiloop/history by default. */
static char *history_path(void)
{
        const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char *path = NULL;

        if (state && state[0] == '/') {
                if (asprintf(&path, "%s/guiloop/history", state) < 0)
                        return NULL;
        } else if (home && home[0]) {
                if (asprintf(&path, "%s/.local/state/guiloop/history", home) < 0)
                        return NULL;
        }
        return path;
}

static void history_add(Console *con, const char *line)
{
        HistEvent ev;

        if (!line[0])
                return;
        history(con->hist, &ev, H_ENTER, line);
}

static void history_save(Console *con)
{
        HistEvent ev;

        if (con->history_path && mkdir_parents(con->history_path) == 0)
                history(con->hist, &ev, H_SAVE, con->history_path);
}

/* -- reading one input ("cell") ---------------------------------------------- */

/* IPython's colours: In green with a bold number, Out red.  PROMPT_ESC
 * brackets what takes no room on the screen, for libedit's arithmetic. */
#define PROMPT_ESC "\1"
#define GREEN "\033[32m"
#define BOLD_GREEN "\033[1;32m"
#define RED "\033[31m"
#define BOLD_RED "\033[1;31m"
#define PLAIN "\033[0m"

static void set_prompt(Console *con, bool first)
{
        char in[32];
        uint64_t n = next_id(con);
        int width = snprintf(in, sizeof(in), "In [%" PRIu64 "]: ", n);

        con->first_line = first;
        con->shown_id = n;
        if (first && con->colour)
                snprintf(con->prompt, sizeof(con->prompt),
                         PROMPT_ESC GREEN PROMPT_ESC "In [" PROMPT_ESC BOLD_GREEN PROMPT_ESC
                         "%" PRIu64 PROMPT_ESC PLAIN GREEN PROMPT_ESC "]: " PROMPT_ESC PLAIN
                         PROMPT_ESC, n);
        else if (first)
                snprintf(con->prompt, sizeof(con->prompt), "%s", in);
        else if (con->colour)
                snprintf(con->prompt, sizeof(con->prompt),
                         "%*s" PROMPT_ESC GREEN PROMPT_ESC "...: " PROMPT_ESC PLAIN PROMPT_ESC,
                         width - 5, "");
        else
                snprintf(con->prompt, sizeof(con->prompt), "%*s...: ", width - 5, "");
}

/* Colour on a terminal that has it, unless $NO_COLOR (no-color.org). */
static bool want_colour(void)
{
        const char *term = getenv("TERM"), *no = getenv("NO_COLOR");

        return isatty(STDOUT_FILENO) && term && term[0] && strcmp(term, "dumb") != 0 &&
               !(no && no[0]);
}

static bool blank(const char *s)
{
        return s[strspn(s, " \t")] == '\0';
}

/* The leading blanks of s. */
static char *indent_of(const char *s)
{
        return strndup(s, strspn(s, " \t"));
}

/* Without IsComplete: a line ending in ':' or an open bracket continues, a
 * blank line ends the block. */
static const char *guess_complete(const char *cell, const char *line, char **indent)
{
        int depth = 0;
        size_t n = strlen(line);

        for (const char *p = cell; *p; p++) {
                if (*p == '(' || *p == '[' || *p == '{')
                        depth++;
                else if ((*p == ')' || *p == ']' || *p == '}') && depth > 0)
                        depth--;
        }
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
                n--;
        if (depth > 0) {
                *indent = indent_of(line);
                return "incomplete";
        }
        if (n > 0 && line[n - 1] == ':') {
                char *base = indent_of(line);

                if (!base || asprintf(indent, "%s    ", base) < 0)
                        *indent = NULL;
                free(base);
                return "incomplete";
        }
        if (strchr(cell, '\n') && !blank(line)) {
                *indent = indent_of(line);
                return "incomplete";
        }
        *indent = strdup("");
        return "complete";
}

/* complete, incomplete (then *indent) or invalid, for the cell so far. */
static char *is_complete(Console *con, const char *cell, const char *line, char **indent)
{
        DBusError e = DBUS_ERROR_INIT;
        char *status = NULL;
        int r;

        *indent = NULL;
        if (!con->no_is_complete) {
                r = api_is_complete(con->c, cell, &status, indent, &e);
                if (r == 0 && strcmp(status, "unknown") != 0)
                        return status;
                if (r == 0) { /* no answer in time: guess */
                        free(status);
                        free(*indent);
                        *indent = NULL;
                        return strdup(guess_complete(cell, line, indent));
                }
                if (r == CLIENT_E_DBUS && ctl_unknown_method(&e)) {
                        con->no_is_complete = true;
                        notice(con, "(this guiloopd has no IsComplete: a line ending in ':' "
                                    "continues, a blank line ends the block)");
                }
                dbus_error_free(&e);
                if (!con->no_is_complete)
                        return strdup("complete"); /* no answer: run it, Python will say */
        }
        return strdup(guess_complete(cell, line, indent));
}

static bool special(const char *line)
{
        size_t n = strlen(line);

        while (n && line[n - 1] == ' ')
                n--;
        line += strspn(line, " ");
        return line[0] == '%' || (n > 1 && line[n - 1] == '?') || line[0] == '?';
}

static bool typed_ahead(void)
{
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

        return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* One input, over as many lines as IsComplete wants; *out is its text. */
static CellEnd read_cell(Console *con, char **out)
{
        _cleanup_(freep) char *indent = NULL;
        Text cell = { 0 };
        bool first = true, last_blank = false;

        *out = NULL;
        for (;;) {
                _cleanup_(freep) char *status = NULL, *line = NULL;
                const char *got;
                int count;
                size_t len;

                set_prompt(con, first);
                con->comp.before = cell.s;
                /* Keys already waiting are a paste, which brings its own
                 * indentation: the suggested one would double it. */
                if (indent && indent[0] && !typed_ahead())
                        el_push(con->el, indent);
                con->at_prompt = true;
                got = el_gets(con->el, &count);
                con->at_prompt = false;
                con->comp.before = NULL;
                if (con->interrupted) {
                        con->interrupted = false;
                        free(cell.s);
                        return CELL_INTERRUPTED;
                }
                if (!got) {
                        fputc('\n', stdout);
                        fflush(stdout);
                        free(cell.s);
                        return CELL_EOF;
                }
                len = strlen(got);
                if (len && got[len - 1] == '\n')
                        len--;
                line = strndup(got, len);
                if (!line)
                        return CELL_EOF;
                history_add(con, line);
                if (!first && blank(line))
                        line[0] = '\0';
                if (!first && text_append(&cell, "\n", 1) < 0)
                        return CELL_EOF;
                if (text_append(&cell, line, strlen(line)) < 0)
                        return CELL_EOF;
                if (first && (blank(line) || special(line)))
                        break;
                /* Two blank lines end any block, whatever IsComplete thinks. */
                if (!first && !line[0] && last_blank)
                        break;
                last_blank = !first && !line[0];
                free(indent);
                status = is_complete(con, cell.s, line, &indent);
                if (!status || strcmp(status, "incomplete") != 0)
                        break;
                first = false;
        }
        *out = cell.s;
        return CELL_OK;
}

/* -- what an input does ------------------------------------------------------ */

static void show_outcome(Console *con, int r, Outcome *o)
{
        live_end_line(&con->live);
        if ((r == EXIT_OK || r == EXIT_FAILED) && o->result && o->result[0]) {
                uint64_t id = o->id ? o->id : next_id(con);

                if (con->colour)
                        printf(RED "Out[" BOLD_RED "%" PRIu64 PLAIN RED "]: " PLAIN, id);
                else
                        printf("Out[%" PRIu64 "]: ", id);
                printf("%s%s\n", strchr(o->result, '\n') ? "\n" : "", o->result);
                fflush(stdout);
        }
        if (o->id && o->id + 1 > con->next_id)
                con->next_id = o->id + 1;
        free(o->result);
        o->result = NULL;
}

static void run_code(Console *con, const char *code)
{
        Outcome o;
        int r = execute_code(&con->live, code, con->sigfd, &o);

        show_outcome(con, r, &o);
}

/* NAME? (or ?NAME, NAME??): Inspect. */
static void inspect(Console *con, const char *line)
{
        _cleanup_(freep) char *name = NULL, *text = NULL;
        DBusError e = DBUS_ERROR_INIT;
        size_t n;
        bool found;
        int r;

        line += strspn(line, " ?");
        name = strdup(line);
        if (!name)
                return;
        n = strlen(name);
        while (n && (name[n - 1] == '?' || name[n - 1] == ' '))
                name[--n] = '\0';
        r = api_inspect(con->c, name, utf8_chars(name, n), &found, &text, &e);
        /* Not found is also what a daemon that could not have the GIL within
         * 50 ms answers (len? said so once in a loaded test run): once more. */
        if (r == 0 && !found) {
                free(text);
                text = NULL;
                r = api_inspect(con->c, name, utf8_chars(name, n), &found, &text, &e);
        }
        if (r == CLIENT_E_DBUS && ctl_unknown_method(&e))
                printf("(no help: this guiloopd has no Inspect method)\n");
        else if (r == CLIENT_E_DBUS)
                ctl_bus_error(con->c, "Inspect", &e);
        else if (r < 0)
                ctl_fatal(r);
        else if (!found)
                printf("Object `%s` not found.\n", name);
        else
                printf("%s%s", text, text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
        dbus_error_free(&e);
        fflush(stdout);
}

/* Words of a %run line: blanks split, '…' and "…" quote, \ escapes. */
static int split_words(const char *s, char ***out, int *n)
{
        char **words = NULL;
        int count = 0;

        for (;;) {
                Text w = { 0 };
                char quote = 0;
                bool any = false;
                char **p;

                s += strspn(s, " \t");
                if (!*s)
                        break;
                for (; *s && (quote || (*s != ' ' && *s != '\t')); s++) {
                        if (!quote && (*s == '\'' || *s == '"')) {
                                quote = *s;
                                any = true;
                                continue;
                        }
                        if (quote && *s == quote) {
                                quote = 0;
                                continue;
                        }
                        if (*s == '\\' && quote != '\'' && s[1])
                                s++;
                        if (text_append(&w, s, 1) < 0)
                                goto oom;
                        any = true;
                }
                if (!any)
                        continue;
                if (!w.s && text_append(&w, "", 0) < 0)
                        goto oom;
                p = realloc(words, (size_t)(count + 2) * sizeof(*p));
                if (!p) {
                        free(w.s);
                        goto oom;
                }
                words = p;
                words[count++] = w.s;
                words[count] = NULL;
        }
        *out = words;
        *n = count;
        return 0;
oom:
        for (int i = 0; i < count; i++)
                free(words[i]);
        free(words);
        return -ENOMEM;
}

static void run_file(Console *con, const char *args)
{
        _cleanup_(freep) char *path = NULL;
        char **words = NULL;
        Outcome o;
        int n = 0, r;

        if (split_words(args, &words, &n) < 0 || n == 0) {
                printf("UsageError: %%run FILE [ARG]...\n");
                goto done;
        }
        if (words[0][0] == '~' && words[0][1] == '/' && getenv("HOME")) {
                if (asprintf(&path, "%s%s", getenv("HOME"), words[0] + 1) < 0)
                        path = NULL;
        } else if (absolute_path(words[0], &path) < 0) {
                path = NULL;
        }
        if (!path)
                goto done;
        r = execute_file(&con->live, path, words + 1, n - 1, con->sigfd, &o);
        free(o.result); /* %run shows no Out */
        o.result = NULL;
        show_outcome(con, r, &o);
done:
        for (int i = 0; i < n; i++)
                free(words[i]);
        free(words);
}

/* true: leave the console. */
static bool handle_cell(Console *con, const char *cell)
{
        const char *s = cell + strspn(cell, " \t");
        size_t n = strlen(s);

        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        if (n == 0)
                return false;
        /* As in IPython: exit and quit leave the console, not the daemon. */
        if ((n == 4 && (strncmp(s, "exit", 4) == 0 || strncmp(s, "quit", 4) == 0)) ||
            (n == 6 && (strncmp(s, "exit()", 6) == 0 || strncmp(s, "quit()", 6) == 0)))
                return true;
        con->blank_before_prompt = true;
        if (!strchr(s, '\n') && (s[0] == '?' || (n > 1 && s[n - 1] == '?')))
                inspect(con, s);
        else if (strncmp(s, "%run", 4) == 0 && (s[4] == ' ' || s[4] == '\0' || s[4] == '\t'))
                run_file(con, s + 4);
        else if (s[0] == '%' && !strchr(s, '\n'))
                printf("UsageError: Line magic function `%.*s` not found (guiloopctl knows "
                       "%%run).\n",
                       (int)strcspn(s, " \t"), s);
        else
                run_code(con, cell);
        fflush(stdout);
        return false;
}

/* -- set-up ------------------------------------------------------------------ */

static int setup_editline(Console *con)
{
        HistEvent ev;

        con->hist = history_init();
        if (!con->hist)
                return -ENOMEM;
        history(con->hist, &ev, H_SETSIZE, HISTORY_SIZE);
        history(con->hist, &ev, H_SETUNIQUE, 1);
        con->history_path = history_path();
        if (con->history_path)
                history(con->hist, &ev, H_LOAD, con->history_path);

        con->el = el_init("guiloopctl", stdin, stdout, stderr);
        if (!con->el)
                return -ENOMEM;
        el_set(con->el, EL_CLIENTDATA, con);
        el_set(con->el, EL_EDITOR, "emacs");
        el_set(con->el, EL_SIGNAL, 1);
        el_set(con->el, EL_PROMPT_ESC, prompt_fn, '\1');
        el_set(con->el, EL_HIST, history, con->hist);
        el_set(con->el, EL_GETCFN, console_getc);
        el_set(con->el, EL_ADDFN, "guiloop-interrupt", "drop the input (Ctrl-C)",
               interrupt_key);
        el_set(con->el, EL_BIND, "^C", "guiloop-interrupt", NULL);
        if (completer_bind(con->el) < 0)
                return -ENOMEM;
        /* ~/.editrc last, so that a user's own bindings win. */
        el_source(con->el, NULL);
        return 0;
}

static void console_free(Console *con)
{
        if (con->el)
                el_end(con->el);
        if (con->hist)
                history_end(con->hist);
        free(con->history_path);
        live_done(&con->live);
        client_set_signal_handler(con->c, NULL, NULL);
        if (con->sigfd >= 0)
                close(con->sigfd);
}

int cmd_console(Client *c, char **args _unused_, int n _unused_)
{
        Console con = { .c = c, .sigfd = -1 };
        int r;

        if (!isatty(STDIN_FILENO)) {
                fprintf(stderr, "guiloopctl: console: standard input is not a terminal "
                                "(to run code from it: guiloopctl exec -)\n");
                return EXIT_USAGE;
        }
        setlocale(LC_CTYPE, "");
        con.colour = want_colour();
        con.comp.c = c;
        live_init(&con.live, c);
        con.live.show_background = true;
        con.live.sink = (LiveSink){ sink_before, sink_after, &con };
        client_set_signal_handler(c, live_on_signal, &con.live);

        r = live_sigint_fd();
        if (r < 0) {
                console_free(&con);
                return ctl_fatal(r);
        }
        con.sigfd = r;
        r = client_watch_owner(c);
        if (r == 0)
                r = greet(&con, false);
        else
                r = ctl_fatal(r);
        if (r != 0) {
                console_free(&con);
                return r;
        }
        r = setup_editline(&con);
        if (r < 0) {
                console_free(&con);
                return ctl_fatal(r);
        }

        for (;;) {
                _cleanup_(freep) char *cell = NULL;
                CellEnd end;

                if (con.blank_before_prompt) {
                        live_end_line(&con.live);
                        fputc('\n', stdout);
                        con.blank_before_prompt = false;
                }
                fflush(stdout);
                refresh_counters(&con);
                end = read_cell(&con, &cell);
                if (end == CELL_EOF)
                        break;
                if (end == CELL_INTERRUPTED)
                        continue;
                history_save(&con);
                if (handle_cell(&con, cell))
                        break;
                check_daemon(&con);
        }
        history_save(&con);
        console_free(&con);
        return EXIT_OK;
}
