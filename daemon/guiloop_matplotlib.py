"""matplotlib with no set-up, as IPython's %matplotlib: configure() runs
right after executed code imported matplotlib (a post-import hook; the
daemon never imports it), unless python.matplotlib = false.

- The daemon's toolkit's backend becomes the default, unless the user chose
  one: $MPLBACKEND, or a matplotlibrc of the user's own that sets `backend`
  ($PWD/matplotlibrc, $MATPLOTLIBRC, ~/.config/matplotlib/matplotlibrc).
  Debian's /etc/matplotlibrc says `backend: TkAgg` for every program; that
  is the packager's default, not a choice, and is overridden.
  matplotlib.use() afterwards works as always (pyplot is not imported yet).
- Interactive mode is on: plt.plot() shows its figure at once, plt.show()
  returns at once; plt.pause(t) runs the toolkit's loop for t seconds
  (matplotlib's own start_event_loop, a nested loop of the toolkit).
"""

import os
import re
import sys

import _guiloop_gui

BACKENDS = {
    "gtk": "GTK3Agg",
    "gtk4": "GTK4Agg",
    "qt": "QtAgg",
    "qt6": "QtAgg",
    "wx": "WXAgg",
    "tk": "TkAgg",
}

_BACKEND_LINE = re.compile(r"^\s*backend\s*:", re.M)


def _packaged_rc(mpl, path):
    """The rc file every program gets (Debian's /etc/matplotlibrc, mpl-data's)."""
    real = os.path.realpath(path)
    defaults = {os.path.realpath("/etc/matplotlibrc")}
    try:
        defaults.add(os.path.realpath(os.path.join(mpl.get_data_path(), "matplotlibrc")))
    except Exception:
        pass
    return real in defaults


def user_chose_backend(mpl):
    if os.environ.get("MPLBACKEND"):
        return True
    try:
        path = mpl.matplotlib_fname()
    except Exception:
        return False
    if _packaged_rc(mpl, path):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return bool(_BACKEND_LINE.search(f.read()))
    except OSError:
        return False


def configure(mpl):
    backend = BACKENDS.get(_guiloop_gui.toolkit)
    if backend and not user_chose_backend(mpl):
        if backend == "QtAgg":
            _prefer_our_qt()
        # rcParams, not matplotlib.use(): nothing is imported before pyplot is.
        mpl.rcParams["backend"] = backend
    mpl.interactive(True)


_QT_BINDINGS = ("PyQt6.QtCore", "PySide6.QtCore", "PyQt5.QtCore", "PySide2.QtCore")


def _prefer_our_qt():
    """matplotlib takes the Qt binding already imported, else tries PyQt6 first:
    make it the daemon's own."""
    if os.environ.get("QT_API") or any(m in sys.modules for m in _QT_BINDINGS):
        return
    ours = "PyQt6" if _guiloop_gui.toolkit == "qt6" else "PyQt5"
    other = "PyQt5" if ours == "PyQt6" else "PyQt6"
    import importlib.util
    if importlib.util.find_spec(other) is not None:
        importlib.import_module(ours + ".QtCore")
