/* A plugin whose table is smaller than ABI 1's first one: refused, never read past its end. */
#include "guiloop/plugin.h"

static const GuiloopPlugin plugin = {
        .abi = GUILOOP_PLUGIN_ABI,
        .size = 8,
        .name = "test-small-table",
        .description = "table too small",
};

GUILOOP_PLUGIN_DEFINE(plugin)
