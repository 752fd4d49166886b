/* SPDX-License-Identifier: MIT */
#include "complete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "api.h"
#include "ctl.h"

/* More matches than this are counted, not listed. */
#define MAX_LISTED 400

int terminal_width(void)
{
        struct winsize ws;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 80;
}

int utf8_chars(const char *s, size_t n)
{
        int chars = 0;

        for (size_t i = 0; i < n && s[i]; i++)
                if (((unsigned char)s[i] & 0xC0) != 0x80)
                        chars++;
        return chars;
}

/* Byte offset of character number chars in s (its end when shorter). */
static size_t utf8_offset(const char *s, int chars)
{
        size_t i = 0;

        for (; s[i]; i++) {
                if (((unsigned char)s[i] & 0xC0) != 0x80) {
                        if (chars == 0)
                                return i;
                        chars--;
                }
        }
        return i;
}

static int compare(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The matches in columns, down then across, as readline lists them. */
static void list_matches(Completion *comp)
{
        size_t width = 0, n = comp->n < MAX_LISTED ? comp->n : MAX_LISTED;
        size_t cols, rows;
        int term = terminal_width();

        qsort(comp->matches, comp->n, sizeof(*comp->matches), compare);
        for (size_t i = 0; i < n; i++) {
                size_t w = (size_t)utf8_chars(comp->matches[i], strlen(comp->matches[i]));

                if (w > width)
                        width = w;
        }
        width += 2;
        cols = (size_t)term / width;
        if (cols == 0)
                cols = 1;
        rows = (n + cols - 1) / cols;
        fputc('\n', stdout);
        for (size_t r = 0; r < rows; r++) {
                for (size_t k = 0; k < cols; k++) {
                        size_t i = k * rows + r;
                        const char *m;

                        if (i >= n)
                                break;
                        m = comp->matches[i];
                        fputs(m, stdout);
                        if (k + 1 < cols && (k + 1) * rows + r < n)
                                for (size_t w = (size_t)utf8_chars(m, strlen(m)); w < width; w++)
                                        fputc(' ', stdout);
                }
                fputc('\n', stdout);
        }
        if (comp->n > n)
                printf("(%zu more)\n", comp->n - n);
        fflush(stdout);
}

/* The longest beginning all matches share, in bytes. */
static size_t common_prefix(const Completion *comp)
{
        size_t len = strlen(comp->matches[0]);

        for (size_t i = 1; i < comp->n; i++) {
                size_t k = 0;

                while (k < len && comp->matches[i][k] == comp->matches[0][k])
                        k++;
                len = k;
        }
        /* Never cut a character in two. */
        while (len > 0 && ((unsigned char)comp->matches[0][len] & 0xC0) == 0x80)
                len--;
        return len;
}

/* Replace the current line's characters [start, end) by text; the cursor is
 * at cursor (all in characters of the line). */
static void replace(EditLine *el, int start, int end, int cursor, const char *text)
{
        if (end > cursor) {
                el_cursor(el, end - cursor);
                cursor = end;
        }
        if (cursor > start)
                el_deletestr(el, cursor - start);
        el_insertstr(el, text);
}

static unsigned char complete_key(EditLine *el, int ch _unused_)
{
        Completer *k;
        const LineInfo *li = el_line(el);
        size_t before_len, line_len = (size_t)(li->lastchar - li->buffer);
        _cleanup_(freep) char *code = NULL;
        DBusError e = DBUS_ERROR_INIT;
        Completion comp = { 0 };
        int offset, cursor, start, end, r;
        unsigned char ret;
        bool blank = true;

        el_get(el, EL_CLIENTDATA, &k);
        for (const char *p = li->buffer; p < li->cursor; p++)
                if (*p != ' ' && *p != '\t')
                        blank = false;
        if (blank) {
                el_insertstr(el, "    ");
                return CC_REFRESH;
        }
        before_len = k->before ? strlen(k->before) : 0;
        code = malloc(before_len + line_len + 1);
        if (!code)
                return CC_ERROR;
        memcpy(code, k->before ? k->before : "", before_len);
        memcpy(code + before_len, li->buffer, line_len);
        code[before_len + line_len] = '\0';
        offset = utf8_chars(code, before_len);
        cursor = utf8_chars(li->buffer, (size_t)(li->cursor - li->buffer));

        r = api_complete(k->c, code, offset + cursor, &comp, &e);
        /* The daemon answers empty rather than late when it cannot have the
         * GIL within 50 ms.  While other builds loaded the machine, a Tab in
         * the tests completed nothing 3 runs in 5 (never on a quiet one),
         * likely that; one more try costs a round trip. */
        if (r == 0 && comp.n == 0) {
                completion_clear(&comp);
                r = api_complete(k->c, code, offset + cursor, &comp, &e);
        }
        if (r == CLIENT_E_DBUS && ctl_unknown_method(&e)) {
                dbus_error_free(&e);
                if (k->unavailable)
                        return CC_REFRESH_BEEP;
                k->unavailable = true;
                printf("\n(no completion: this guiloopd has no Complete method)\n");
                fflush(stdout);
                return CC_REDISPLAY;
        }
        dbus_error_free(&e);
        if (r != 0 || comp.n == 0) {
                completion_clear(&comp);
                return CC_REFRESH_BEEP;
        }

        start = comp.start - offset;
        end = comp.end - offset;
        if (start < 0)
                start = 0;
        if (end < start)
                end = start;
        if (comp.n == 1) {
                replace(el, start, end, cursor, comp.matches[0]);
                ret = CC_REFRESH;
        } else {
                size_t prefix = common_prefix(&comp);
                const char *typed = li->buffer + utf8_offset(li->buffer, start);
                size_t typed_len = li->buffer + utf8_offset(li->buffer, cursor) - typed;

                if (prefix > typed_len || (prefix == typed_len && strncmp(typed, comp.matches[0],
                                                                          prefix) != 0)) {
                        comp.matches[0][prefix] = '\0';
                        replace(el, start, end, cursor, comp.matches[0]);
                        ret = CC_REFRESH;
                } else {
                        list_matches(&comp);
                        ret = CC_REDISPLAY;
                }
        }
        completion_clear(&comp);
        return ret;
}

int completer_bind(EditLine *el)
{
        if (el_set(el, EL_ADDFN, "guiloop-complete", "complete through guiloopd",
                   complete_key) != 0 ||
            el_set(el, EL_BIND, "^I", "guiloop-complete", NULL) != 0)
                return -1;
        return 0;
}
