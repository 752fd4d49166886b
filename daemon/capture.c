/* SPDX-License-Identifier: MIT */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

/*
 * The pipes hold PIPE_SIZE, so a 1 MB os.write() never waits for this
 * thread.  What goes to an execution is read straight into its text, all
 * that is there in one read; background output a CHUNK at a time.
 */
#define CHUNK (64u * 1024u)
#define PIPE_SIZE (1024 * 1024)
/* The capture thread lets the lock go after this much, for a GUI thread waiting on it. */
#define ROUND_MAX (1024u * 1024u)
/* The spare block is a whole stream's (max + 1), but never more than this. */
#define SPARE_MAX (4u * 1024u * 1024u)
/* A background line longer than this is logged in pieces. */
#define LINE_MAX_LOG 1024u
#define WINDOW_USEC 1000000u

static const char *const stream_names[OUTPUT_N_STREAMS] = { "stdout", "stderr" };

typedef struct Background {
        pthread_mutex_t lock;
        Output *output;
        uint64_t max; /* bytes per stream per second */
        uint64_t window_start;
        uint64_t window_bytes[OUTPUT_N_STREAMS];
        uint64_t dropped[OUTPUT_N_STREAMS];
        char line[OUTPUT_N_STREAMS][LINE_MAX_LOG]; /* a log line still without its '\n' */
        size_t line_len[OUTPUT_N_STREAMS];
} Background;

struct Capture {
        bool active; /* fds 1 and 2 are ours */
        int read_fd[OUTPUT_N_STREAMS];
        int saved_stdout, saved_stderr; /* the daemon's own, close-on-exec */
        int stop_fd;
        int refill_fd; /* capture_replied(): the spare's block was taken */
        Spare *spare;  /* for the executions' large stream buffers */
        pthread_t thread;
        bool thread_started;

        /* Reading the pipes and where it goes; the capture thread or the GUI thread. */
        pthread_mutex_t lock;
        Output *sink; /* the running execution's, NULL: background */
        char carry[OUTPUT_N_STREAMS][4]; /* an incomplete UTF-8 sequence at a read's end */
        size_t carry_len[OUTPUT_N_STREAMS];

        Background bg;
};

/* ---- background output ---- */

/* Log one line of background output, escaped for the log. bg lock held. */
static void log_line(int stream, const char *text, size_t len)
{
        _cleanup_(freep) char *escaped = text_escape(text, len);

        if (escaped)
                log_info("%s: %s", stream_names[stream], escaped);
}

/* Complete lines to the log; the rest waits for its '\n'. bg lock held. */
static void log_text(Background *bg, int stream, const char *text, size_t len)
{
        char *line = bg->line[stream];
        size_t *n = &bg->line_len[stream];

        for (size_t i = 0; i < len; i++) {
                if (text[i] == '\n' || *n == LINE_MAX_LOG) {
                        /* GLib starts its messages with an empty line: not worth a log line. */
                        if (*n)
                                log_line(stream, line, *n);
                        *n = 0;
                        if (text[i] == '\n')
                                continue;
                }
                line[(*n)++] = text[i];
        }
}

/* A line without its '\n' is logged at a boundary (an execution starts, the end). */
static void log_flush(Background *bg)
{
        pthread_mutex_lock(&bg->lock);
        for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                if (bg->line_len[s])
                        log_line(s, bg->line[s], bg->line_len[s]);
                bg->line_len[s] = 0;
        }
        pthread_mutex_unlock(&bg->lock);
}

void capture_background_write(Capture *c, int stream, const char *text, size_t len)
{
        Background *bg = &c->bg;
        uint64_t now = now_usec(), room;
        size_t n;

        pthread_mutex_lock(&bg->lock);
        if (now - bg->window_start >= WINDOW_USEC) {
                bg->window_start = now;
                for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                        char note[96];

                        bg->window_bytes[s] = 0;
                        if (!bg->dropped[s])
                                continue;
                        snprintf(note, sizeof(note), "\n[guiloop: %" PRIu64 " bytes dropped]\n",
                                 bg->dropped[s]);
                        output_write(bg->output, s, note, strlen(note));
                        log_info("%s: [guiloop: %" PRIu64 " bytes dropped]", stream_names[s],
                                 bg->dropped[s]);
                        bg->dropped[s] = 0;
                }
        }
        room = bg->max > bg->window_bytes[stream] ? bg->max - bg->window_bytes[stream] : 0;
        n = len < room ? len : (size_t)room;
        if (n < len) {
                if (!bg->dropped[stream])
                        log_warning("background output over %" PRIu64
                                    " bytes per second on %s: dropping the rest of this second",
                                    bg->max, stream_names[stream]);
                bg->dropped[stream] += len - n;
        }
        bg->window_bytes[stream] += n;
        if (n) {
                output_write(bg->output, stream, text, n);
                log_text(bg, stream, text, n);
        }
        pthread_mutex_unlock(&bg->lock);
}

Output *capture_background(Capture *c)
{
        return c->bg.output;
}

/* ---- reading the pipes (c->lock held) ---- */

static void deliver(Capture *c, int stream, const char *text, size_t len)
{
        if (len == 0)
                return;
        if (c->sink)
                output_write(c->sink, stream, text, len);
        else
                capture_background_write(c, stream, text, len);
}

/* What an incomplete sequence left goes out as it is (escaped): a boundary. */
static void flush_carry(Capture *c)
{
        for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                deliver(c, s, c->carry[s], c->carry_len[s]);
                c->carry_len[s] = 0;
        }
}

/*
 * Straight into the running execution's text when it can (one copy, the
 * kernel's); true when it did, *got is what read() returned.
 */
static bool drain_in_place(Capture *c, int stream, size_t limit, ssize_t *got)
{
        int avail = 0;

        if (!c->sink || ioctl(c->read_fd[stream], FIONREAD, &avail) < 0 || avail <= 0)
                return false;
        *got = output_read(c->sink, stream, c->read_fd[stream],
                           (size_t)avail < limit ? (size_t)avail : limit, c->carry[stream],
                           &c->carry_len[stream]);
        return !(*got < 0 && errno == ENOSPC);
}

/* Read up to limit bytes of stream without blocking; false at end of file. */
static bool drain(Capture *c, int stream, size_t limit)
{
        static char buf[4 + CHUNK]; /* used with c->lock held only */

        while (limit > 0) {
                size_t carry = c->carry_len[stream], want = limit < CHUNK ? limit : CHUNK, tail;
                ssize_t n;

                if (drain_in_place(c, stream, limit, &n)) {
                        if (n < 0)
                                return true; /* EAGAIN: empty for now */
                        if (n == 0)
                                return false;
                        limit -= (size_t)n < limit ? (size_t)n : limit;
                        continue;
                }
                n = read(c->read_fd[stream], buf + 4, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return true; /* EAGAIN: empty for now */
                if (n == 0)
                        return false;
                limit -= (size_t)n;
                memcpy(buf + 4 - carry, c->carry[stream], carry);
                tail = text_incomplete_tail(buf + 4 - carry, carry + (size_t)n);
                c->carry_len[stream] = tail;
                memcpy(c->carry[stream], buf + 4 + n - tail, tail);
                deliver(c, stream, buf + 4 - carry, carry + (size_t)n - tail);
        }
        return true;
}

/*
 * Which pipes hold something right now: one poll() for both, a fraction of
 * a microsecond, and nothing more when (nearly always) both are empty.
 */
static bool pipes_ready(Capture *c, bool ready[OUTPUT_N_STREAMS])
{
        struct pollfd fds[OUTPUT_N_STREAMS];
        bool any = false;

        for (int s = 0; s < OUTPUT_N_STREAMS; s++)
                fds[s] = (struct pollfd){ .fd = c->read_fd[s], .events = POLLIN };
        if (poll(fds, OUTPUT_N_STREAMS, 0) <= 0)
                fds[0].revents = fds[1].revents = 0;
        for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                ready[s] = fds[s].revents & POLLIN;
                any = any || ready[s];
        }
        return any;
}

/* What the ready pipes hold right now (not what keeps coming): bounded, never blocks. */
static void drain_present(Capture *c, const bool ready[OUTPUT_N_STREAMS])
{
        for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                int n = 0;

                if (ready[s] && ioctl(c->read_fd[s], FIONREAD, &n) == 0 && n > 0)
                        drain(c, s, (size_t)n);
        }
}

/* c->lock held: what the pipes hold now goes to the current sink, incomplete sequences too. */
static void settle(Capture *c)
{
        bool ready[OUTPUT_N_STREAMS];

        if (pipes_ready(c, ready))
                drain_present(c, ready);
        flush_carry(c);
}

static void *capture_thread(void *data)
{
        Capture *c = data;
        bool open[OUTPUT_N_STREAMS] = { true, true };

        for (;;) {
                enum { STOP = OUTPUT_N_STREAMS, REFILL, N_FDS };
                struct pollfd fds[N_FDS];
                uint64_t n;

                for (int s = 0; s < OUTPUT_N_STREAMS; s++)
                        fds[s] = (struct pollfd){ .fd = open[s] ? c->read_fd[s] : -1,
                                                  .events = POLLIN };
                fds[STOP] = (struct pollfd){ .fd = c->stop_fd, .events = POLLIN };
                fds[REFILL] = (struct pollfd){ .fd = c->refill_fd, .events = POLLIN };
                if (poll(fds, N_FDS, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_err("capture: poll: %s", strerror(errno));
                        break;
                }
                if (fds[STOP].revents)
                        break;
                pthread_mutex_lock(&c->lock);
                for (int s = 0; s < OUTPUT_N_STREAMS; s++)
                        if (fds[s].revents & (POLLIN | POLLHUP | POLLERR))
                                open[s] = drain(c, s, ROUND_MAX);
                pthread_mutex_unlock(&c->lock);
                /* After the pipes: output waits for no refill. */
                if (fds[REFILL].revents && read(c->refill_fd, &n, sizeof(n)) == sizeof(n))
                        spare_refill(c->spare);
        }
        return NULL;
}

/* ---- the GUI thread's side ---- */

void capture_begin(Capture *c, Output *o)
{
        if (c->active) {
                /* What C code printed before, without a newline, is not this execution's. */
                fflush(NULL);
                pthread_mutex_lock(&c->lock);
                settle(c);
                c->sink = o;
                pthread_mutex_unlock(&c->lock);
                output_set_spare(o, c->spare);
        }
        /* A background line still without its '\n' is logged as it is now. */
        log_flush(&c->bg);
}

void capture_end(Capture *c)
{
        if (!c->active)
                return;
        /* libc's stdout on a pipe: a printf() without '\n' waits in its buffer. */
        fflush(NULL);
        pthread_mutex_lock(&c->lock);
        settle(c);
        c->sink = NULL;
        pthread_mutex_unlock(&c->lock);
}

void capture_replied(Capture *c)
{
        uint64_t one = 1;

        /*
         * An eventfd, not a pipe: its wake-up is not a "sync" one, so the
         * scheduler need not put the capture thread on this CPU, where
         * dbus-daemon was just woken to read the reply.
         */
        if (c && c->spare && spare_wanted(c->spare))
                (void)!write(c->refill_fd, &one, sizeof(one));
}

void capture_sync(Capture *c)
{
        bool ready[OUTPUT_N_STREAMS];

        /* One poll() for both pipes: a print costs a fraction of a microsecond more. */
        if (!c->active || !pipes_ready(c, ready))
                return;
        pthread_mutex_lock(&c->lock);
        drain_present(c, ready);
        pthread_mutex_unlock(&c->lock);
}

/* ---- life ---- */

static int start_capture(Capture *c, uint64_t max)
{
        int fds[OUTPUT_N_STREAMS][2];
        sigset_t all, old;
        int r;

        /* fd 1 or 2 closed at start: /dev/null stands in, so no file we open lands there. */
        for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_WRONLY) != fd)
                        return -EBADF;
        c->saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        c->saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (c->saved_stdout < 0 || c->saved_stderr < 0)
                return -errno;
        c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        c->refill_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->stop_fd < 0 || c->refill_fd < 0)
                return -errno;
        r = spare_new(&c->spare, max + 1 < SPARE_MAX ? (size_t)max + 1 : SPARE_MAX);
        if (r < 0)
                return r;
        fflush(stdout);
        for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                if (pipe2(fds[s], O_CLOEXEC) < 0)
                        return -errno;
                c->read_fd[s] = fds[s][0];
                fcntl(fds[s][0], F_SETFL, O_NONBLOCK);
                /* Best effort: the default 64 KiB means a thread switch per 64 KiB. */
                (void)fcntl(fds[s][1], F_SETPIPE_SZ, PIPE_SIZE);
        }
        /* The daemon's own lines keep going to the stderr it was started with (log.c's own copy). */
        c->active = true; /* capture_stop() puts fds 1 and 2 back, even after a failure below */
        for (int s = 0; s < OUTPUT_N_STREAMS; s++) {
                /* dup2 leaves close-on-exec off: child processes write here too. */
                if (dup2(fds[s][1], STDOUT_FILENO + s) < 0) {
                        r = -errno;
                        close(fds[s][1]);
                        return r;
                }
                close(fds[s][1]);
        }
        /* On a pipe libc would hold C's stdout until 4 KiB gathered or the exit. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        /* Signals are for the GUI thread and the handlers (as the bus thread does). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&c->thread, NULL, capture_thread, c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        /* A name of its own in top and in bench/run's per-thread wake-up counts. */
        pthread_setname_np(c->thread, "guiloopd-fd");
        c->thread_started = true;
        return 0;
}

int capture_new(Capture **out, bool capture_fd, uint64_t max)
{
        _cleanup_(capture_freep) Capture *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->read_fd[0] = c->read_fd[1] = -1;
        c->saved_stdout = c->saved_stderr = c->stop_fd = c->refill_fd = -1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->bg.lock, NULL);
        c->bg.max = max;
        c->bg.window_start = now_usec();
        r = output_new(&c->bg.output, max);
        if (r < 0)
                return r;
        output_set_rolling(c->bg.output);
        if (capture_fd) {
                r = start_capture(c, max);
                if (r < 0)
                        return r;
        }
        *out = steal_pointer(&c);
        return 0;
}

void capture_stop(Capture *c)
{
        uint64_t one = 1;

        if (!c)
                return;
        if (c->active) {
                fflush(NULL);
                /* The write ends go away (children may keep theirs): the thread sees the end. */
                dup2(c->saved_stdout, STDOUT_FILENO);
                dup2(c->saved_stderr, STDERR_FILENO);
                c->active = false;
        }
        if (c->thread_started) {
                (void)!write(c->stop_fd, &one, sizeof(one));
                pthread_join(c->thread, NULL);
                c->thread_started = false;
                pthread_mutex_lock(&c->lock);
                c->sink = NULL;
                settle(c);
                pthread_mutex_unlock(&c->lock);
        }
        log_flush(&c->bg);
}

Capture *capture_free(Capture *c)
{
        if (!c)
                return NULL;
        capture_stop(c);
        for (int s = 0; s < OUTPUT_N_STREAMS; s++)
                if (c->read_fd[s] >= 0)
                        close(c->read_fd[s]);
        if (c->saved_stdout >= 0)
                close(c->saved_stdout);
        if (c->saved_stderr >= 0)
                close(c->saved_stderr);
        if (c->stop_fd >= 0)
                close(c->stop_fd);
        if (c->refill_fd >= 0)
                close(c->refill_fd);
        spare_free(c->spare);
        output_free(c->bg.output);
        pthread_mutex_destroy(&c->lock);
        pthread_mutex_destroy(&c->bg.lock);
        free(c);
        return NULL;
}
