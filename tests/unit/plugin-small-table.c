/* A plugin whose table is smaller than this ABI's: refused, never read past its end. */
#include "guiloop/plugin.h"

static const GuiloopPlugin plugin = {
        .abi = GUILOOP_PLUGIN_ABI,
        .size = 8,
        .name = "test-small-table",
        .description = "table too small",
};

GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)
{
        return &plugin;
}
