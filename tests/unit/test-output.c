/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "tap.h"

static void test_escape(void)
{
        char *s;

        s = text_escape("a\0b", 3);
        ok(strcmp(s, "a\\x00b") == 0, "NUL becomes \\x00: %s", s);
        free(s);
        s = text_escape("\xff\xc3\xa9\xed\xa0\x80", 6);
        ok(strcmp(s, "\\xff\xc3\xa9\\xed\\xa0\\x80") == 0,
           "invalid byte and encoded surrogate escaped, valid UTF-8 kept: %s", s);
        free(s);
        s = text_escape("\xc3", 1);
        ok(strcmp(s, "\\xc3") == 0, "truncated sequence escaped: %s", s);
        free(s);
        s = text_escape("\xc0\xaf", 2);
        ok(strcmp(s, "\\xc0\\xaf") == 0, "overlong form escaped: %s", s);
        free(s);
}

static void test_bounded(void)
{
        Output *o;
        char *s;

        output_new(&o, 10);
        output_write(o, OUTPUT_STDOUT, "hello ", 6);
        output_write(o, OUTPUT_STDOUT, "world, again", 12);
        output_write(o, OUTPUT_STDOUT, "more", 4);
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(strcmp(s, "hello worl\n[guiloop: 12 bytes dropped]\n") == 0,
           "kept 10 bytes, then the dropped line: %s", s);
        free(s);
        s = output_finish(o, OUTPUT_STDERR, "Traceback\n");
        ok(strcmp(s, "Traceback\n") == 0, "the other stream is separate: %s", s);
        free(s);
        output_free(o);

        output_new(&o, 4);
        output_write(o, OUTPUT_STDERR, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
        s = output_finish(o, OUTPUT_STDERR, "0123456789");
        ok(strcmp(s, "\xc3\xa9\xc3\xa9\n[guiloop: 2 bytes dropped]\n6789") == 0,
           "cut on a character boundary; tail keeps its end: %s", s);
        free(s);
        output_free(o);

        output_new(&o, 5);
        output_write(o, OUTPUT_STDOUT, "ab\xc3\xa9\xc3\xa9", 6);
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(strncmp(s, "ab\xc3\xa9\n", 5) == 0, "never half a character: %s", s);
        free(s);
        output_free(o);
}

static void test_large(void)
{
        size_t big = 50u << 20;
        char *chunk = malloc(1 << 20);
        Output *o;
        char *s;

        memset(chunk, 'x', 1 << 20);
        output_new(&o, 1 << 20);
        for (size_t i = 0; i < big >> 20; i++)
                output_write(o, OUTPUT_STDOUT, chunk, 1 << 20);
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(strlen(s) < (1u << 20) + 64, "50 MiB written, about 1 MiB kept (%zu)", strlen(s));
        ok(strstr(s, "[guiloop: 51380224 bytes dropped]") != NULL, "and the count is exact");
        free(s);
        free(chunk);
        output_free(o);
}

static int notified;

static void count_notify(void *data)
{
        (void)data;
        notified++;
}

static void test_take(void)
{
        char *texts[OUTPUT_N_STREAMS];
        Output *o;
        char *s;

        output_new(&o, 8);
        output_set_notify(o, count_notify, NULL);
        ok(!output_take(o, texts) && !texts[0] && !texts[1], "nothing to take at first");
        output_write(o, OUTPUT_STDOUT, "ab", 2);
        output_write(o, OUTPUT_STDERR, "x", 1);
        output_write(o, OUTPUT_STDOUT, "cd", 2);
        ok(notified == 1, "one notification for a batch of writes (%d)", notified);
        ok(output_take(o, texts) && strcmp(texts[0], "abcd") == 0 && strcmp(texts[1], "x") == 0,
           "take hands out what each stream gathered");
        free(texts[0]);
        free(texts[1]);
        output_write(o, OUTPUT_STDOUT, "efghijkl", 8);
        ok(notified == 2, "the next write after a take notifies again");
        ok(output_take(o, texts) && strcmp(texts[0], "efgh") == 0 && !texts[1],
           "only what was kept is streamed: %s", texts[0]);
        free(texts[0]);
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(strcmp(s, "abcdefgh\n[guiloop: 4 bytes dropped]\n") == 0,
           "the final text still holds everything kept: %s", s);
        free(s);
        output_free(o);
}

static void test_finish_is_streamed(void)
{
        char *texts[OUTPUT_N_STREAMS];
        Output *o;
        char *s, *again;

        output_new(&o, 4);
        output_write(o, OUTPUT_STDERR, "abcdef", 6);
        ok(output_take(o, texts) && strcmp(texts[1], "abcd") == 0, "kept part streamed");
        free(texts[0]);
        free(texts[1]);
        s = output_finish(o, OUTPUT_STDERR, "TB\n");
        ok(strcmp(s, "abcd\n[guiloop: 2 bytes dropped]\nTB\n") == 0, "final text: %s", s);
        ok(output_take(o, texts) && !texts[0] &&
           strcmp(texts[1], "\n[guiloop: 2 bytes dropped]\nTB\n") == 0,
           "the last take hands out the dropped line and the tail: %s", texts[1]);
        free(texts[1]);
        again = output_finish(o, OUTPUT_STDERR, "again\n");
        ok(strcmp(again, "abcd\n[guiloop: 2 bytes dropped]\nTB\n") == 0 && again != s,
           "a second finish returns a copy of the same text: %s", again);
        free(again);
        output_write(o, OUTPUT_STDERR, "late", 4);
        ok(!output_take(o, texts), "nothing is kept after the finish");
        ok(strcmp(s, "abcd\n[guiloop: 2 bytes dropped]\nTB\n") == 0,
           "the first finish's text is the caller's, unchanged by later writes");
        output_free(o);
        ok(strcmp(s, "abcd\n[guiloop: 2 bytes dropped]\nTB\n") == 0,
           "and outlives the Output: %s", s);
        free(s);
        output_new(&o, 4);
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(s && !*s, "a stream that got nothing finishes as an empty text");
        free(s);
        output_free(o);
}

static void test_rolling(void)
{
        char *texts[OUTPUT_N_STREAMS];
        Output *o;

        output_new(&o, 4);
        output_set_rolling(o);
        for (int i = 0; i < 3; i++) {
                output_write(o, OUTPUT_STDOUT, "abcdef", 6);
                ok(output_take(o, texts) && strcmp(texts[0], "abcd") == 0,
                   "rolling: each batch is bounded on its own, not the sum (%d)", i);
                free(texts[0]);
                free(texts[1]);
        }
        output_write(o, OUTPUT_STDOUT, "\xff", 1);
        ok(output_take(o, texts) && strcmp(texts[0], "\\xff") == 0, "still escaped: %s",
           texts[0]);
        free(texts[0]);
        free(texts[1]);
        output_free(o);
}

static void test_read(void)
{
        char carry[4], *s;
        size_t carry_len = 0;
        int fds[2];
        Output *o;
        ssize_t r;

        (void)!pipe2(fds, O_NONBLOCK);
        output_new(&o, 16);
        (void)!write(fds[1], "ab\xc3", 3);
        r = output_read(o, OUTPUT_STDOUT, fds[0], 3, carry, &carry_len);
        ok(r == 3 && carry_len == 1 && carry[0] == '\xc3', "half a character waits (%zd, %zu)", r,
           carry_len);
        (void)!write(fds[1], "\xa9!", 2);
        r = output_read(o, OUTPUT_STDOUT, fds[0], 2, carry, &carry_len);
        ok(r == 2 && carry_len == 0, "and is completed by the next read");
        (void)!write(fds[1], "x\0y", 3);
        r = output_read(o, OUTPUT_STDOUT, fds[0], 3, carry, &carry_len);
        ok(r == 3, "a NUL is read too");
        r = output_read(o, OUTPUT_STDOUT, fds[0], 3, carry, &carry_len);
        ok(r < 0 && errno == EAGAIN, "an empty pipe: EAGAIN, nothing blocks");
        (void)!write(fds[1], "0123456789", 10);
        r = output_read(o, OUTPUT_STDOUT, fds[0], 10, carry, &carry_len);
        ok(r < 0 && errno == ENOSPC, "past the bound nothing is read in place (%zd)", r);
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(strcmp(s, "ab\xc3\xa9!x\\x00y") == 0, "read in place, escaped where needed: %s", s);
        free(s);
        output_free(o);
        close(fds[0]);
        close(fds[1]);
}

/* A NUL or a non-ASCII byte anywhere in a long run of ASCII (the word-at-a-time checks). */
static void test_long_runs(void)
{
        int bad = 0;

        for (size_t pos = 0; pos < 80; pos++) {
                char text[80], want[90];
                Output *o;
                char *s;

                memset(text, 'a', sizeof(text));
                text[pos] = 0;
                memcpy(want, text, pos);
                memcpy(want + pos, "\\x00", 4);
                memset(want + pos + 4, 'a', sizeof(text) - pos - 1);
                want[sizeof(text) + 3] = 0;
                output_new(&o, 1000);
                output_write(o, OUTPUT_STDOUT, text, sizeof(text));
                s = output_finish(o, OUTPUT_STDOUT, NULL);
                bad += strcmp(s, want) != 0;
                free(s);
                output_free(o);

                memset(text, 'a', sizeof(text));
                text[pos] = '\xc3';
                if (pos + 1 < sizeof(text))
                        text[pos + 1] = '\xa9';
                output_new(&o, 1000);
                output_write(o, OUTPUT_STDOUT, text, sizeof(text));
                s = output_finish(o, OUTPUT_STDOUT, NULL);
                bad += pos + 1 < sizeof(text) ? memcmp(s, text, sizeof(text)) != 0 || s[80] :
                                                strcmp(s + pos, "\\xc3") != 0;
                free(s);
                output_free(o);
        }
        ok(bad == 0, "a NUL or a character at every offset of 80 ASCII bytes (%d wrong)", bad);
}

static void test_spare(void)
{
        Spare *sp;
        Output *o;
        char *block, *s, big[200 * 1024];
        size_t size = 0;

        spare_new(&sp, 256 * 1024);
        ok(!spare_wanted(sp), "no block is made before one is asked for");
        ok(spare_take(sp, 1024 * 1024, &size) == NULL && !spare_wanted(sp),
           "a need larger than the spare neither gets it nor asks for one");
        ok(spare_take(sp, 100 * 1024, &size) == NULL && spare_wanted(sp),
           "taking from an empty spare asks for a block");
        spare_refill(sp);
        ok(!spare_wanted(sp), "a refill answers the request");

        /* A stream that grows large takes the ready block, with what it held. */
        output_new(&o, 1024 * 1024);
        output_set_spare(o, sp);
        output_write(o, OUTPUT_STDOUT, "head ", 5);
        memset(big, 'x', sizeof(big));
        output_write(o, OUTPUT_STDOUT, big, sizeof(big));
        ok(spare_wanted(sp), "the stream took the block, and a new one is wanted");
        ok(spare_take(sp, 100 * 1024, &size) == NULL, "the spare is empty until the refill");
        s = output_finish(o, OUTPUT_STDOUT, NULL);
        ok(strlen(s) == 5 + sizeof(big) && memcmp(s, "head x", 6) == 0 &&
           s[strlen(s) - 1] == 'x', "the text moved over whole: %zu bytes", strlen(s));
        free(s);
        output_free(o);

        spare_refill(sp);
        block = spare_take(sp, 100 * 1024, &size);
        ok(block && size == 256 * 1024, "the refilled block is there, of the spare's size");
        free(block);
        spare_free(sp);
}

int main(void)
{
        test_spare();
        test_long_runs();
        test_read();
        test_take();
        test_finish_is_streamed();
        test_rolling();
        test_escape();
        test_bounded();
        test_large();
        return tap_done();
}
