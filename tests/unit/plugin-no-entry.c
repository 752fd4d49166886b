/* A shared object that is no plugin: it exports no entry symbol. */
#include "guiloop/plugin.h"

GUILOOP_PLUGIN_EXPORT int not_the_entry(void);

int not_the_entry(void)
{
        return 0;
}
