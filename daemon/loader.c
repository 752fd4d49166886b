/* SPDX-License-Identifier: MIT */
#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <gmodule.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "util.h"

/* Is this executable the one in the build tree? Then its plugins are there too. */
static bool running_from_build_tree(void)
{
        char exe[PATH_MAX], dir[PATH_MAX];
        char *slash;

        if (!realpath("/proc/self/exe", exe) || !realpath(GUILOOP_BUILD_DAEMON_DIR, dir))
                return false;
        slash = strrchr(exe, '/');
        if (!slash)
                return false;
        *slash = 0;
        return strcmp(exe, dir) == 0;
}

const char *loader_plugin_dir(const char *cmdline_dir, const char *config_dir)
{
        const char *env = getenv("GUILOOP_PLUGIN_DIR");

        if (cmdline_dir && *cmdline_dir)
                return cmdline_dir;
        if (config_dir && *config_dir)
                return config_dir;
        if (env && *env)
                return env;
        if (running_from_build_tree())
                return GUILOOP_BUILD_PLUGIN_DIR;
        return GUILOOP_PLUGIN_DIR;
}

/* dlopen the file and check its table; everything but the role. */
static int load_file(const char *path, const GuiloopPlugin **out, char *err, size_t errlen)
{
        GuiloopPluginEntry entry;
        const GuiloopPlugin *p;
        GModule *module;

        if (access(path, F_OK) < 0) {
                snprintf(err, errlen, "plugin %s: %s", path, strerror(errno));
                return LOADER_E_NOT_FOUND;
        }
        /* Bind now: a missing symbol is reported here, not as a crash later. */
        module = g_module_open(path, G_MODULE_BIND_LOCAL);
        if (!module) {
                snprintf(err, errlen, "cannot load plugin %s: %s", path, g_module_error());
                return LOADER_E_OPEN;
        }
        if (!g_module_symbol(module, GUILOOP_PLUGIN_ENTRY_NAME, (gpointer *)&entry) || !entry) {
                snprintf(err, errlen, "plugin %s: no entry symbol %s", path,
                         GUILOOP_PLUGIN_ENTRY_NAME);
                g_module_close(module);
                return LOADER_E_NO_ENTRY;
        }
        /* Never unloaded from here on (see loader.h). */
        g_module_make_resident(module);

        p = entry();
        if (!p) {
                snprintf(err, errlen, "plugin %s: entry returned no table", path);
                return LOADER_E_ABI;
        }
        if (p->abi != GUILOOP_PLUGIN_ABI) {
                snprintf(err, errlen, "plugin %s: ABI %u, expected %u", path, p->abi,
                         GUILOOP_PLUGIN_ABI);
                return LOADER_E_ABI;
        }
        /* Smaller than today's is fine (an older plugin), down to ABI 1's first table. */
        if (p->size < GUILOOP_PLUGIN_MIN_SIZE) {
                snprintf(err, errlen, "plugin %s: table of %u bytes, ABI %u needs at least %zu",
                         path, p->size, GUILOOP_PLUGIN_ABI, (size_t)GUILOOP_PLUGIN_MIN_SIZE);
                return LOADER_E_ABI;
        }
        /* Fields we do not know may change what the others mean: refuse, never guess. */
        if (p->size > sizeof(GuiloopPlugin)) {
                snprintf(err, errlen,
                         "plugin %s: table of %u bytes, this guiloopd knows %zu: built for a "
                         "newer guiloop", path, p->size, sizeof(GuiloopPlugin));
                return LOADER_E_ABI;
        }
        if (!p->name || !p->description) {
                snprintf(err, errlen, "plugin %s: table has no name or description", path);
                return LOADER_E_ABI;
        }
        if (!p->loop_new && !p->guest_new) {
                snprintf(err, errlen, "plugin %s: neither loop_new nor guest_new", path);
                return LOADER_E_ABI;
        }
        if (!p->guest_new != !p->guest_free) {
                snprintf(err, errlen, "plugin %s: guest_new and guest_free come as a pair", path);
                return LOADER_E_ABI;
        }
        *out = p;
        return 0;
}

int loader_load(const char *dir, const char *name, const GuiloopPlugin **out,
                char *err, size_t errlen)
{
        _cleanup_(freep) char *path = NULL;
        const GuiloopPlugin *p;
        int r;

        if (asprintf(&path, "%s/%s.so", dir, name) < 0)
                return -ENOMEM;
        r = load_file(path, &p, err, errlen);
        if (r != 0)
                return r;
        if (strcmp(p->name, name) != 0) {
                snprintf(err, errlen, "plugin %s: is the '%s' plugin, expected '%s'", path,
                         p->name, name);
                return LOADER_E_ROLE;
        }
        *out = p;
        return 0;
}

int loader_check_loop_ops(const char *name, const GuiloopLoopOps *ops, char *err, size_t errlen)
{
        unsigned set;

        if (!ops) {
                snprintf(err, errlen, "plugin %s: loop_new gave no loop table", name);
                return LOADER_E_ABI;
        }
        if (ops->version < 1 || ops->version > GUILOOP_LOOP_OPS_VERSION) {
                snprintf(err, errlen, "plugin %s: loop table version %u, this guiloopd knows 1 to %u",
                         name, ops->version, GUILOOP_LOOP_OPS_VERSION);
                return LOADER_E_ABI;
        }
        if (!guiloop_loop_ops_ok(ops) || ops->size > sizeof(GuiloopLoopOps)) {
                snprintf(err, errlen, "plugin %s: loop table version %u of %u bytes, expected %zu to %zu",
                         name, ops->version, ops->size, (size_t)GUILOOP_LOOP_OPS_MIN_SIZE_1,
                         sizeof(GuiloopLoopOps));
                return LOADER_E_ABI;
        }
        if (!ops->run || !ops->quit || !ops->post) {
                snprintf(err, errlen, "plugin %s: loop table lacks run, quit or post", name);
                return LOADER_E_ABI;
        }
        set = !!ops->watch_add + !!ops->watch_update + !!ops->watch_remove + !!ops->timer_add +
              !!ops->timer_remove;
        if (set != 0 && set != 5) {
                snprintf(err, errlen,
                         "plugin %s: loop table has %u of the 5 fd watch and timer methods", name,
                         set);
                return LOADER_E_ABI;
        }
        return 0;
}

bool loader_loop_has_watches(const GuiloopLoopOps *ops)
{
        return ops->watch_add != NULL;
}

const char *const *loader_conflicts(const GuiloopPlugin *p)
{
        return GUILOOP_HAS_FIELD(p, conflicts) ? p->conflicts : NULL;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int loader_list(const char *dir, FILE *f)
{
        DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d) {
                fprintf(f, "# %s: %s\n", dir, strerror(errno));
                return 0;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char **grown;

                if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
                        continue;
                grown = realloc(names, (n + 1) * sizeof(*names));
                if (!grown)
                        break;
                names = grown;
                names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), compare_names);

        fprintf(f, "# plugins in %s\n", dir);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *path = NULL;
                const GuiloopPlugin *p;
                char err[1024];

                if (names[i] && asprintf(&path, "%s/%s", dir, names[i]) >= 0) {
                        if (load_file(path, &p, err, sizeof(err)) == 0) {
                                const char *const *c = loader_conflicts(p);

                                fprintf(f, "%-4s %s  %s%s%s", p->name, path, p->description,
                                        p->loop_new ? "" : " [no loop]",
                                        p->guest_new ? " [guest]" : "");
                                for (size_t k = 0; c && c[k]; k++)
                                        fprintf(f, "%s%s", k ? ", " : "; cannot share a process with ",
                                                c[k]);
                                fputc('\n', f);
                        } else
                                fprintf(f, "error %s\n", err);
                }
                free(names[i]);
        }
        free(names);
        return 0;
}
