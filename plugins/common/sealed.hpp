/* SPDX-License-Identifier: MIT */
/*
 * The sealed C++ boundary of the Qt and wx plugins: no C++ exception ever
 * crosses into the daemon's C.
 *
 *   - guiloop::op(f) is how a function goes into an ABI table: it accepts
 *     only a noexcept function, so a table cannot hold one that may throw
 *     (a compile error, not a review comment);
 *   - guiloop::guard(host, plugin, what, fallback, f) runs f() inside every
 *     such op (and every callback Qt or GLib makes into the plugin): an
 *     exception becomes one log line naming the plugin and the op, and the
 *     op returns fallback; guard_errno() is the same for an op that returns
 *     0 or -errno: -ENOMEM for std::bad_alloc, else -EIO.
 *
 * Header-only; each plugin includes its own copy, nothing is exported.
 */
#pragma once

#include <cerrno>
#include <cstdio>
#include <exception>
#include <new>
#include <type_traits>

#include "guiloop/plugin.h"

namespace guiloop {

/* Only a noexcept function goes into an ABI table. */
template <typename R, typename... A>
constexpr auto op(R (*f)(A...) noexcept) noexcept -> R (*)(A...)
{
        return f;
}

inline void log_exception(const GuiloopHost *host, const char *plugin, const char *what,
                          const char *why) noexcept
{
        if (host && host->log)
                host->log(host->data, GUILOOP_LOG_ERR, "%s: %s: C++ exception: %s", plugin, what,
                          why);
        else
                std::fprintf(stderr, "%s: %s: C++ exception: %s\n", plugin, what, why);
}

/* f() or, when it throws, fallback and a log line. */
template <typename R, typename F>
R guard(const GuiloopHost *host, const char *plugin, const char *what, R fallback,
        F &&f) noexcept
{
        try {
                return f();
        } catch (const std::bad_alloc &) {
                log_exception(host, plugin, what, "out of memory");
        } catch (const std::exception &e) {
                log_exception(host, plugin, what, e.what());
        } catch (...) {
                log_exception(host, plugin, what, "not a std::exception");
        }
        return fallback;
}

/* For an op returning 0 or -errno: an exception is -ENOMEM (bad_alloc) or -EIO. */
template <typename F>
int guard_errno(const GuiloopHost *host, const char *plugin, const char *what, F &&f) noexcept
{
        bool nomem = false;
        int r = guard(host, plugin, what, -EIO, [&]() -> int {
                try {
                        return f();
                } catch (const std::bad_alloc &) {
                        nomem = true;
                        throw;
                }
        });

        return nomem ? -ENOMEM : r;
}

/* The same for an op that returns nothing. */
template <typename F>
void guard_void(const GuiloopHost *host, const char *plugin, const char *what, F &&f) noexcept
{
        guard(host, plugin, what, 0, [&] {
                f();
                return 0;
        });
}

} // namespace guiloop
