/* A plugin built for a future ABI: the loader must refuse it before calling in. */
#include "guiloop/plugin.h"

static const GuiloopPlugin plugin = {
        .abi = GUILOOP_PLUGIN_ABI + 1,
        .size = sizeof(GuiloopPlugin),
        .name = "test-abi-mismatch",
        .description = "wrong ABI",
};

GUILOOP_PLUGIN_EXPORT const GuiloopPlugin *GUILOOP_PLUGIN_ENTRY(void)
{
        return &plugin;
}
