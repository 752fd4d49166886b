/* SPDX-License-Identifier: MIT */
/* plugins/common/sealed.hpp: an exception becomes an error code and a log line. */
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sealed.hpp"

static int tap_count, tap_failed;

static void ok(bool cond, const char *what)
{
        ++tap_count;
        if (!cond)
                ++tap_failed;
        std::printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, what);
}

static std::string last_line;

static void host_log(void *, int, const char *fmt, ...)
{
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        std::vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        last_line = buf;
}

static const GuiloopHost host = [] {
        GuiloopHost h{};
        h.version = GUILOOP_HOST_VERSION;
        h.size = sizeof(h);
        h.log = host_log;
        return h;
}();

static int returns_two() noexcept
{
        return 2;
}

int main()
{
        int r;

        r = guiloop::guard(&host, "qt", "post", -EIO, [] { return 7; });
        ok(r == 7 && last_line.empty(), "no exception: f's result, no log line");

        r = guiloop::guard(&host, "qt", "post", -EIO, []() -> int {
                throw std::runtime_error("boom");
        });
        ok(r == -EIO, "a std::exception: the fallback");
        ok(last_line == "qt: post: C++ exception: boom", last_line.c_str());

        r = guiloop::guard_errno(&host, "wx", "watch_add", []() -> int {
                std::vector<char> v;
                v.reserve(static_cast<size_t>(-1) / 2);
                return 0;
        });
        ok(r == -ENOMEM && last_line == "wx: watch_add: C++ exception: out of memory",
           "bad_alloc in an int op: -ENOMEM");

        r = guiloop::guard_errno(&host, "qt", "post", [] { return -EAGAIN; });
        ok(r == -EAGAIN, "guard_errno passes f's own -errno through");
        r = guiloop::guard_errno(&host, "qt", "post", []() -> int { throw std::runtime_error("x"); });
        ok(r == -EIO, "guard_errno: another exception is -EIO");
        r = guiloop::guard(&host, "wx", "quit", 0, []() -> int { throw std::bad_alloc(); });
        ok(r == 0, "guard: bad_alloc is the fallback too (a gboolean callback stays FALSE)");

        const char *s = guiloop::guard(&host, "qt", "describe", static_cast<const char *>("qt"),
                                       []() -> const char * { throw 42; });
        ok(s && std::strcmp(s, "qt") == 0 &&
           last_line == "qt: describe: C++ exception: not a std::exception",
           "anything thrown: the fallback and a line");

        bool ran = false;
        guiloop::guard_void(&host, "qt", "quit", [&] {
                ran = true;
                throw std::logic_error("late");
        });
        ok(ran && last_line == "qt: quit: C++ exception: late", "a void op");

        int (*f)() = guiloop::op(returns_two);
        ok(f() == 2, "op() passes a noexcept function through");

        std::printf("1..%d\n", tap_count);
        return tap_failed ? 1 : 0;
}
