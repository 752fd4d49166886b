"""guiloopd's GTK plugins (gtk, gtk4), Python side: unmodified PyGObject
programs on the daemon's loop.  Run once as _guiloop_setup_gtk or
_guiloop_setup_gtk4.

GTK 3 and GTK 4 cannot share a process: their GObject types clash, and the
first widget of the other crashes or hangs.  PyGObject left alone loads the
newest Gtk typelib installed (4.0 even in a GTK 3 process), so Gtk and Gdk
are pinned to this process's version, and asking for the other one (also
through gi.require_versions) is a ToolkitConflict, both ImportError and the
ValueError gi.require_version documents, naming the --toolkit that has it.

Measured with PyGObject 3.42 on GTK 3.24 (GTK 4.8: the same, where GTK 4
has the call at all; it has no Gtk.main(), Gtk.Dialog.run() or
Gtk.main_iteration(), and its nested loops are GLib's):

- There is no application object to share: Gtk.Window() works at once.
  Gtk.Application(...) and its subclasses work as in a plain interpreter;
  run() registers the application (as NON_UNIQUE: a second run of the same
  program would otherwise find the first instance on the bus and only make
  it activate again; and while the first one still exports the id on the
  bus, the second takes the id with ".guiloop2" appended) and activates it,
  so do_startup and do_activate run, then returns 0 at once.
  register() itself does the same for applications registered directly
  (matplotlib's own GtkApplication).
  A second GtkApplication registered in one process failed (GTK 3.24
  exports /org/gtk/Profiler for each and ignores the error it gets for the
  second: register() returned False): the earlier ones give that object up
  first, through GtkApplication's own dbus_unregister.
- Gtk.main() returns at once, since the daemon's loop already runs (the
  plugin's own gtk_main() is C, untouched); Gtk.main_quit() does nothing
  (the plugin's loop would only enter gtk_main() again).
- Nested loops (Gtk.Dialog.run(), GTK 3's Gtk.NativeDialog.run() such as
  Gtk.FileChooserNative's, GLib.MainLoop().run(), and the
  iterations of Gtk.main_iteration() and GLib.MainContext.iteration(),
  through which matplotlib's plt.pause() runs GTK) go through
  _guiloop_boot.run_nested(), so Interrupt ends them and raises
  KeyboardInterrupt where they were called.  PyGObject's own SIGINT
  fallback stays out: the daemon's handler is not Python's default one.
"""
import sys
import weakref

import gi

from _guiloop_boot import after_import, run_nested

# application id -> the app exporting it.  Strong references: the tutorial
# form sys.exit(App().run(sys.argv)) drops the Python wrapper at once while
# GIO keeps the application and its object path exported (its windows hold
# it), so a weak entry vanished and the next run's register() failed with
# "An object is already exported" (measured: GTK 4.8, bench/run's hello).
_registered = {}
_released = weakref.WeakSet()  # applications that gave up /org/gtk/Profiler

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


def _pin_gtk_version():
    real = gi.require_version

    def require_version(namespace, version):
        if namespace in FOLLOW_GTK and str(version)[:1] != VERSION[:1]:
            raise ToolkitConflict(conflict_message(namespace, version))
        return real(namespace, version)

    require_version.__doc__ = real.__doc__
    # gi.require_versions() calls the module's require_version: checked too.
    gi.require_version = require_version
    for namespace in ("Gtk", "Gdk"):
        real(namespace, VERSION)


def _wrap(owner, name, quit_of=None):
    real = getattr(owner, name, None)
    if real is None or getattr(real, "_guiloop", False):
        return

    def function(*args, **kwargs):
        quit = (lambda: quit_of(args[0])) if quit_of else None
        return run_nested(quit, real, *args, **kwargs)

    function.__name__ = name
    function.__doc__ = getattr(real, "__doc__", None)
    function._guiloop = True
    setattr(owner, name, function)


def _patch_gtk(Gtk):
    if getattr(Gtk, "_guiloop_patched", False):
        return

    def main(*args, **kwargs):
        return None

    def main_quit(*args, **kwargs):
        return None

    Gtk.main = main
    Gtk.main_quit = main_quit

    def end_dialog(dialog):
        dialog.response(Gtk.ResponseType.NONE)
        dialog.hide()

    _wrap(Gtk.Dialog, "run", end_dialog)
    # GTK 3's Gtk.FileChooserNative.run(): hide() ends its loop.
    if hasattr(Gtk, "NativeDialog"):
        _wrap(Gtk.NativeDialog, "run", lambda dialog: dialog.hide())
    _wrap(Gtk, "main_iteration")
    _wrap(Gtk, "main_iteration_do")
    Gtk._guiloop_patched = True


def _patch_glib(GLib):
    _wrap(GLib.MainLoop, "run", lambda loop: loop.quit())
    _wrap(GLib.MainContext, "iteration")


def _release_profiler(app):
    """GTK 3 exports /org/gtk/Profiler for every GtkApplication it registers,
    and a second one failed (register() returned False: GTK ignores the
    error).  The earlier applications give that object up (GtkApplication's
    own dbus_unregister does only that); their windows and ids stay."""
    Gtk = sys.modules.get("gi.repository.Gtk")
    if Gtk is None or not isinstance(app, Gtk.Application):
        return
    for earlier in list(_registered.values()):
        if earlier is app or earlier in _released or not isinstance(earlier, Gtk.Application):
            continue
        if earlier.get_is_registered():
            Gtk.Application.do_dbus_unregister(earlier, earlier.get_dbus_connection(),
                                               earlier.get_dbus_object_path())
        _released.add(earlier)


def _patch_gio(Gio):
    if getattr(Gio.Application, "_guiloop_patched", False):
        return

    real_register = Gio.Application.register

    def register(self, cancellable=None):
        if self.get_is_registered():
            return real_register(self, cancellable)
        # Every registration, run()'s and a direct one (matplotlib's own
        # GtkApplication registers itself), goes through here: a later one
        # failed while an earlier one held /org/gtk/Profiler.
        self.set_flags(self.get_flags() | Gio.ApplicationFlags.NON_UNIQUE)
        # An earlier run's application may still export this id's object
        # path on the bus (an application without an id: GIO's one
        # anonymous path): registering again failed, and broke GIO's
        # state.  This one takes the next free id.
        wanted = self.get_application_id() or None
        base = wanted.rsplit(".guiloop", 1)[0] if wanted else "org.guiloop.Anonymous"
        app_id, n = wanted, 1
        while _registered.get(app_id) not in (None, self):
            n += 1
            app_id = f"{base}.guiloop{n}"
        if app_id != wanted:
            self.set_application_id(app_id)
        _registered[app_id] = self
        _release_profiler(self)
        return real_register(self, cancellable)

    def run(self, argv=None):
        if not self.get_is_registered():
            self.register(None)
        self.activate()
        return 0

    register.__doc__ = real_register.__doc__
    Gio.Application.register = register
    run.__doc__ = Gio.Application.run.__doc__
    Gio.Application.run = run
    Gio.Application._guiloop_patched = True


_pin_gtk_version()
after_import("gi.repository.Gtk", _patch_gtk)
after_import("gi.repository.GLib", _patch_glib)
after_import("gi.repository.Gio", _patch_gio)
