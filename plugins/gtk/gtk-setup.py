"""guiloopd's GTK plugins (gtk, gtk4): PyGObject's Gtk is the one this process runs.

The daemon runs this once as the module _guiloop_setup_gtk or _guiloop_setup_gtk4.
GTK 3 and GTK 4 cannot share a process: their GObject types clash, and the
first widget of the other crashes or hangs.  PyGObject, left alone, loads the
newest Gtk typelib installed (4.0 even in a GTK 3 process), so the version is
pinned here, and asking for the other one is an ImportError saying why.
"""
import gi

TOOLKIT = __name__.rpartition("_setup_")[2]
VERSION = {"gtk": "3.0", "gtk4": "4.0"}[TOOLKIT]
OTHER = {"gtk": "gtk4", "gtk4": "gtk"}[TOOLKIT]
# Namespaces that exist once per GTK major version; Gsk is GTK 4's only.
FOLLOW_GTK = {"Gtk", "Gdk", "GdkX11", "GdkWayland", "Gsk"}


class ToolkitConflict(ImportError, ValueError):
    """The other GTK: an ImportError, and the ValueError gi.require_version raises."""


def conflict_message(namespace, version):
    return (f"guiloopd runs GTK {VERSION[0]} (toolkit {TOOLKIT}), and {namespace} {version} "
            f"is GTK {version[0]}'s: GTK 3 and GTK 4 cannot share one process; run this "
            f"code in a guiloopd started with --toolkit {OTHER}")


_require_version = gi.require_version


def require_version(namespace, version):
    if namespace in FOLLOW_GTK and version[:1] != VERSION[:1]:
        raise ToolkitConflict(conflict_message(namespace, version))
    return _require_version(namespace, version)


require_version.__doc__ = _require_version.__doc__
# gi.require_versions() calls the module's require_version: it is checked too.
gi.require_version = require_version
for _namespace in ("Gtk", "Gdk"):
    _require_version(_namespace, VERSION)
