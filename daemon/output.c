/* SPDX-License-Identifier: MIT */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "spare.h"

/* output_reserve()'s room past what it was asked for. */
#define RESERVE_SLACK 64u
/* Blocks this large have their new pages mapped at once (populate()). */
#define POPULATE_MIN (64u * 1024u)

typedef struct Stream {
        char *data;
        size_t len, alloc;
        size_t taken; /* bytes output_take() handed out already */
        uint64_t dropped;
        bool finished; /* output_finish() appended its note and tail */
        bool lent;     /* data belongs to output_finish()'s caller now */
} Stream;

struct Output {
        pthread_mutex_t lock;
        uint64_t max;
        Stream streams[OUTPUT_N_STREAMS];
        OutputNotify notify;
        void *notify_data;
        bool pending; /* text since the last take, notified */
        bool rolling; /* output_set_rolling(): take() forgets what it handed out */
        Spare *spare; /* where a large stream buffer comes from, when set */
};

/* n bytes and a NUL, malloc'd: what strndup does, without reading the text once more for a NUL. */
static char *text_dup(const char *text, size_t n)
{
        char *out = malloc(n + 1);

        if (out) {
                if (n)
                        memcpy(out, text, n);
                out[n] = 0;
        }
        return out;
}

int output_new(Output **out, uint64_t max)
{
        Output *o = calloc(1, sizeof(*o));

        if (!o)
                return -ENOMEM;
        pthread_mutex_init(&o->lock, NULL);
        o->max = max;
        *out = o;
        return 0;
}

void output_set_notify(Output *o, OutputNotify fn, void *data)
{
        pthread_mutex_lock(&o->lock);
        o->notify = fn;
        o->notify_data = data;
        pthread_mutex_unlock(&o->lock);
}

void output_set_spare(Output *o, Spare *spare)
{
        pthread_mutex_lock(&o->lock);
        o->spare = spare;
        pthread_mutex_unlock(&o->lock);
}

void output_set_rolling(Output *o)
{
        pthread_mutex_lock(&o->lock);
        o->rolling = true;
        pthread_mutex_unlock(&o->lock);
}

bool output_take(Output *o, char *texts[OUTPUT_N_STREAMS])
{
        bool any = false;

        pthread_mutex_lock(&o->lock);
        for (int i = 0; i < OUTPUT_N_STREAMS; i++) {
                Stream *s = &o->streams[i];

                texts[i] = NULL;
                if (s->len == s->taken)
                        continue;
                texts[i] = text_dup(s->data + s->taken, s->len - s->taken);
                s->taken = s->len;
                any = true;
                if (o->rolling) {
                        /* Background output: memory holds only what is pending. */
                        s->len = s->taken = 0;
                        s->dropped = 0;
                }
        }
        o->pending = false;
        pthread_mutex_unlock(&o->lock);
        return any;
}

Output *output_free(Output *o)
{
        if (!o)
                return NULL;
        for (int i = 0; i < OUTPUT_N_STREAMS; i++)
                if (!o->streams[i].lent)
                        free(o->streams[i].data);
        pthread_mutex_destroy(&o->lock);
        free(o);
        return NULL;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return s[0] ? 1 : 0;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Are the 32 bytes at s ASCII without a NUL?  Four words at once, no branch between. */
static bool ascii_block(const unsigned char *s)
{
        uint64_t w[4], bad = 0;

        memcpy(w, s, sizeof(w));
        for (int k = 0; k < 4; k++)
                bad |= w[k] | ((w[k] - ONES) & ~w[k]);
        return !(bad & HIGHS);
}

/* Length of the longest prefix of text that is valid UTF-8 without NUL. */
static size_t utf8_valid_prefix(const char *text, size_t len)
{
        const unsigned char *s = (const unsigned char *)text;
        size_t i = 0, n;

        while (i < len) {
                /* Most output is ASCII without a NUL: 32 bytes, then 8, at a time. */
                while (i + 32 <= len && ascii_block(s + i))
                        i += 32;
                while (i + 8 <= len) {
                        uint64_t w;

                        memcpy(&w, s + i, 8);
                        if ((w | ((w - ONES) & ~w)) & HIGHS)
                                break;
                        i += 8;
                }
                if (i < len && s[i] && s[i] < 0x80) {
                        i++;
                        continue;
                }
                if (i >= len)
                        break;
                n = utf8_sequence(s + i, len - i);
                if (!n)
                        break;
                i += n;
        }
        return i;
}

char *text_escape(const char *text, size_t len)
{
        const unsigned char *s = (const unsigned char *)text;
        char *out = malloc(len * 4 + 1), *p = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence(s + i, len - i);

                if (n) {
                        memcpy(p, s + i, n);
                        p += n;
                        i += n;
                } else {
                        p += sprintf(p, "\\x%02x", s[i]);
                        i++;
                }
        }
        *p = 0;
        return out;
}

size_t utf8_cut(const char *text, size_t len, size_t max)
{
        if (len <= max)
                return len;
        while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
                max--;
        return max;
}

/*
 * The pages of a large block about to be written, mapped in one call: a
 * fresh 1 MB took 310 us as 256 faults, 137 us so (measured), and 10 us
 * when they are there already.
 */
static void populate(char *at, size_t n)
{
        if (n >= POPULATE_MIN)
                page_populate(at, n);
}

/* A large block from o's spare, its pages mapped already; false when none is ready. */
static bool stream_take_spare(Output *o, Stream *s, size_t alloc)
{
        size_t size;
        char *block;

        if (!o->spare || alloc < POPULATE_MIN || !(block = spare_take(o->spare, alloc, &size)))
                return false;
        if (s->len)
                memcpy(block, s->data, s->len);
        free(s->data);
        s->data = block;
        s->alloc = size;
        return true;
}

/*
 * Room for n more bytes and a NUL, doubling, but never past the bound: a
 * stream holds at most max bytes before output_finish(), and a 1 MB write
 * takes a block of 1 MB, which the next one can reuse, not one of 2 MB.
 * A large block is the spare's when it has one ready.
 */
static bool stream_grow(Output *o, Stream *s, size_t n)
{
        size_t alloc = s->alloc ? s->alloc : 256, need = s->len + n + 1;
        char *data;

        if (need <= s->alloc)
                return true;
        while (alloc < need)
                alloc *= 2;
        if (alloc > o->max + 1 && need <= o->max + 1)
                alloc = (size_t)o->max + 1;
        if (stream_take_spare(o, s, alloc))
                return true;
        data = realloc(s->data, alloc);
        if (!data)
                return false;
        populate(data + s->len, alloc - s->len);
        s->data = data;
        s->alloc = alloc;
        return true;
}

void output_reserve(Output *o, int stream, size_t n)
{
        Stream *s = &o->streams[stream];
        size_t room;

        pthread_mutex_lock(&o->lock);
        room = o->max > s->len ? (size_t)(o->max - s->len) : 0;
        /* A little more: print() writes its "\n" next, which would grow the block by a byte. */
        n = room > RESERVE_SLACK && n < room - RESERVE_SLACK ? n + RESERVE_SLACK : room;
        if (!s->finished && !s->lent)
                (void)stream_grow(o, s, n);
        pthread_mutex_unlock(&o->lock);
}

size_t text_incomplete_tail(const char *text, size_t len)
{
        const unsigned char *buf = (const unsigned char *)text;

        for (size_t back = 1; back <= 3 && back <= len; back++) {
                unsigned char ch = buf[len - back];
                size_t need;

                if ((ch & 0xc0) == 0x80)
                        continue; /* a continuation byte: look further back */
                need = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc0 ? 2 : 1;
                return need > back ? back : 0;
        }
        return 0;
}

/*
 * Unlock o, then, when this write (wrote) is the first output waiting since
 * the listener last took it, tell the listener: outside the lock.
 */
static void unlock_and_notify(Output *o, bool wrote)
{
        OutputNotify notify = wrote && !o->pending ? o->notify : NULL;
        void *notify_data = o->notify_data;

        if (notify)
                o->pending = true;
        pthread_mutex_unlock(&o->lock);
        if (notify)
                notify(notify_data);
}

ssize_t output_read(Output *o, int stream, int fd, size_t n, char carry[4], size_t *carry_len)
{
        Stream *s = &o->streams[stream];
        size_t c = *carry_len, room, total, tail, valid;
        char *at, *copy;
        ssize_t r;

        pthread_mutex_lock(&o->lock);
        room = o->max > s->len ? (size_t)(o->max - s->len) : 0;
        /* Near the bound, or after it: output_write() cuts and counts. */
        if (s->finished || s->dropped || o->rolling || c + n > room ||
            !stream_grow(o, s, c + n)) {
                pthread_mutex_unlock(&o->lock);
                errno = ENOSPC;
                return -1;
        }
        at = s->data + s->len;
        memcpy(at, carry, c);
        do
                r = read(fd, at + c, n);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
                pthread_mutex_unlock(&o->lock);
                return r;
        }
        total = c + (size_t)r;
        tail = text_incomplete_tail(at, total);
        valid = total - tail;
        memcpy(carry, at + valid, tail);
        *carry_len = tail;
        if (utf8_valid_prefix(at, valid) == valid) {
                s->len += valid;
                unlock_and_notify(o, valid > 0);
                return r;
        }
        /* Something to escape (a NUL, a stray byte): output_write() does it, from a copy. */
        copy = text_dup(at, valid);
        pthread_mutex_unlock(&o->lock);
        if (copy)
                output_write(o, stream, copy, valid);
        free(copy);
        return r;
}

void output_write(Output *o, int stream, const char *text, size_t len)
{
        Stream *s = &o->streams[stream];
        _cleanup_(freep) char *escaped = NULL;
        const char *src;
        size_t room, take, elen, n;

        pthread_mutex_lock(&o->lock);
        room = o->max > s->len ? (size_t)(o->max - s->len) : 0;
        /* Once a stream dropped something it keeps nothing more: no holes. */
        take = s->finished || (s->dropped && !o->rolling) ? 0 : utf8_cut(text, len, room);
        /* Valid text (nearly all of it) is copied once, without an escaped copy. */
        if (utf8_valid_prefix(text, take) == take) {
                src = text;
                elen = take;
        } else {
                escaped = text_escape(text, take);
                src = escaped;
                elen = escaped ? strlen(escaped) : 0;
        }
        n = src ? utf8_cut(src, elen, room) : 0;
        if (n > 0 && !stream_grow(o, s, n))
                n = 0;
        if (n > 0)
                memcpy(s->data + s->len, src, n);
        s->len += n;
        s->dropped += (len - take) + (elen - n);
        unlock_and_notify(o, n > 0);
}

/* Append n bytes past the bound (the dropped line, a traceback). Lock held. */
static void stream_append(Stream *s, const char *text, size_t n)
{
        char *data;

        if (n == 0)
                return;
        if (s->len + n + 1 > s->alloc) {
                data = realloc(s->data, s->len + n + 1);
                if (!data)
                        return;
                s->data = data;
                s->alloc = s->len + n + 1;
        }
        memcpy(s->data + s->len, text, n);
        s->len += n;
        s->data[s->len] = 0;
}

char *output_finish(Output *o, int stream, const char *tail)
{
        Stream *s = &o->streams[stream];
        size_t tail_len = tail ? strlen(tail) : 0;
        char *out;

        if (tail_len > o->max) {
                size_t skip = tail_len - (size_t)o->max;

                while (skip < tail_len && ((unsigned char)tail[skip] & 0xc0) == 0x80)
                        skip++;
                tail += skip;
                tail_len -= skip;
        }

        pthread_mutex_lock(&o->lock);
        /*
         * The note and the tail go into the stream itself, so that what
         * output_take() hands the Output signal ends as the reply does.
         */
        if (!s->finished) {
                char note[96] = "";

                if (s->dropped)
                        snprintf(note, sizeof(note), "%s[guiloop: %" PRIu64 " bytes dropped]\n",
                                 s->len && s->data[s->len - 1] != '\n' ? "\n" : "", s->dropped);
                stream_append(s, note, strlen(note));
                stream_append(s, tail ? tail : "", tail_len);
                s->finished = true;
                /*
                 * The kept text itself is the caller's, cut to size (in place, or
                 * mremap for a large one): a 1 MB output is not copied once more.
                 */
                if (s->data) {
                        char *data = realloc(s->data, s->len + 1);

                        if (data) {
                                s->data = data;
                                s->alloc = s->len + 1;
                        }
                        s->data[s->len] = 0;
                        s->lent = true;
                        out = s->data;
                        pthread_mutex_unlock(&o->lock);
                        return out;
                }
        }
        out = text_dup(s->data ? s->data : "", s->len);
        pthread_mutex_unlock(&o->lock);
        return out;
}
