/* SPDX-License-Identifier: MIT */
/*
 * The host table grows by appending (plugin.h): a plugin reads an appended
 * method only through GUILOOP_HOST_HAS, which says no for an older daemon's
 * smaller table and for a NULL method, yes otherwise.
 */
#include <stddef.h>
#include <string.h>

#include "guiloop/plugin.h"
#include "tap.h"

static int idles;

static void count_idle(void *data)
{
        (void)data;
        idles++;
}

int main(void)
{
        GuiloopHost host;

        memset(&host, 0, sizeof(host));
        host.version = GUILOOP_HOST_VERSION;
        host.loop_idle = count_idle;
        host.loop_busy = count_idle;

        /* What the first daemons passed: the table ended after config. */
        host.size = (uint32_t)offsetof(GuiloopHost, loop_idle);
        ok(!GUILOOP_HOST_HAS(&host, loop_idle), "an older, smaller table has no loop_idle");
        ok(!GUILOOP_HOST_HAS(&host, loop_busy), "an older, smaller table has no loop_busy");

        host.size = (uint32_t)offsetof(GuiloopHost, loop_busy);
        ok(GUILOOP_HOST_HAS(&host, loop_idle), "a table ending after loop_idle has it");
        ok(!GUILOOP_HOST_HAS(&host, loop_busy), "... but not loop_busy");

        host.size = sizeof(host);
        ok(GUILOOP_HOST_HAS(&host, loop_idle) && GUILOOP_HOST_HAS(&host, loop_busy),
           "today's table has both");
        host.loop_busy = NULL;
        ok(!GUILOOP_HOST_HAS(&host, loop_busy), "a NULL method is absent");
        if (GUILOOP_HOST_HAS(&host, loop_idle))
                host.loop_idle(host.data);
        ok(idles == 1, "a present method is called");
        return tap_done();
}
