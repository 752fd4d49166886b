"""guiloopd's Qt plugins (qt: Qt 5 and PyQt5, qt6: Qt 6 and PyQt6), Python
side: programs written for a plain python3 run unmodified on the daemon's
QApplication.  Run once as _guiloop_setup_qt or _guiloop_setup_qt6.

Qt 5 and Qt 6 cannot share a process (both register the same C++ symbols
and Qt's one application object): importing the other binding (PyQt6 under
qt, PyQt5 under qt6) is an ImportError that names the --toolkit to use.

Measured with PyQt5 5.15 (sip 12) on Qt 5.15, and the same with PyQt6 6.4
(sip 13) on Qt 6.4, where only exec() exists:

- The application object stays the plugin's C++ QApplication (Qt allows one
  per process; a second one replaced the first and crashed at exit).
  QApplication(sys.argv), QApplication([]) and a subclass's
  super().__init__(argv) get a new Python wrapper of that same object:
  sip.cast() makes a wrapper outside sip's map (so it never deletes the C++
  object), and __class__ is then set to the class the program asked for, so
  its __init__ runs on it and its own attributes and methods work (C++
  virtuals it overrides, such as notify(), are not called: the C++ object is
  not sip's subclass).  QApplication.instance() answers with the newest such
  object.
- exec_()/exec() of the application return 0 at once: the daemon's loop
  already runs, so sys.exit(app.exec_()) is a normal end.  quit()/exit()
  end every Qt event loop of the thread, and the plugin's run() enters its
  loop again: they never stop the daemon.
- Nested loops (QEventLoop.exec_(), QDialog.exec_(), QMenu.exec_(), the static
  QMessageBox/QInputDialog/QFileDialog functions, processEvents()) run
  through _guiloop_boot.run_nested(), so Interrupt ends them and raises
  KeyboardInterrupt where they were called.
- matplotlib is told to use the plugin's PyQt (QT_API), unless the user chose.
- PyQt5 calls qFatal() (abort) on an exception in a slot while
  sys.excepthook is Python's own: a hook of ours only prints it.
"""
import importlib
import os
import sys

from _guiloop_boot import after_import, run_nested

TOOLKIT = __name__.rpartition("_setup_")[2]
PYQT, OTHER_PYQT, OTHER = {"qt": ("PyQt5", "PyQt6", "qt6"),
                           "qt6": ("PyQt6", "PyQt5", "qt")}[TOOLKIT]
# matplotlib's Qt backends take the first binding they find, PyQt6 before
# PyQt5 when neither is imported yet: a second Qt in the process aborted it.
os.environ.setdefault("QT_API", PYQT.lower())
_current = None  # the newest application object a program made


class ToolkitConflict(ImportError):
    """The other PyQt: its Qt cannot share this process."""


class _RefuseOtherPyQt:
    """sys.meta_path entry: the other PyQt is an ImportError saying why."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname == OTHER_PYQT or fullname.startswith(OTHER_PYQT + "."):
            raise ToolkitConflict(
                f"guiloopd runs {PYQT} on Qt {PYQT[-1]} (toolkit {TOOLKIT}): {OTHER_PYQT} "
                f"is Qt {OTHER_PYQT[-1]}'s, and Qt 5 and Qt 6 cannot share one process; "
                f"run this code in a guiloopd started with --toolkit {OTHER}",
                name=fullname)
        return None


def _sip():
    try:
        return importlib.import_module(PYQT + ".sip")
    except ImportError:
        import sip
        return sip


_real_instance = None  # QCoreApplication.instance() as PyQt made it


def _existing():
    return _real_instance() if _real_instance is not None else None


def _patch_app_class(cls):
    if cls.__dict__.get("_guiloop_patched"):
        return
    sip = _sip()
    real_new = cls.__new__
    real_init = cls.__init__

    def __new__(klass, *args, **kwargs):
        global _current
        # sip wraps an existing application (instance(), qApp) by calling
        # the class without arguments; constructing one takes argv.
        if not args and not kwargs:
            return real_new(klass)
        existing = _existing()
        if existing is None:
            return real_new(klass)
        if type(existing) is klass:
            _current = None
            return existing
        # A new wrapper of the one application, of the program's class.
        made = sip.cast(existing, type(existing))
        made.__class__ = klass
        _current = made
        return made

    def __init__(self, *args, **kwargs):
        global _current
        if not sip.isdeleted(self):
            return  # the one application exists: nothing to construct
        real_init(self, *args, **kwargs)
        if args or kwargs:
            _current = self

    def exec_(*args, **kwargs):
        return 0

    cls.__new__ = __new__
    cls.__init__ = __init__
    for name in ("exec_", "exec"):
        if name in cls.__dict__:
            setattr(cls, name, staticmethod(exec_))
    cls._guiloop_patched = True


def _excepthook(exc_type, exc, tb):
    sys.__excepthook__(exc_type, exc, tb)


def _nested_method(cls, names, quit_of):
    for name in names:
        if name not in cls.__dict__:
            continue
        real = getattr(cls, name)  # the dict holds sip's descriptor

        def method(self, *args, _real=real, **kwargs):
            return run_nested(lambda: quit_of(self), _real, self, *args, **kwargs)

        method.__name__ = name
        setattr(cls, name, method)


def _exit_all_loops():
    importlib.import_module(PYQT + ".QtCore").QCoreApplication.exit(0)


def _nested_static(cls, names):
    for name in names:
        if name not in cls.__dict__:
            continue
        real = getattr(cls, name)

        def function(*args, _real=real, **kwargs):
            return run_nested(_exit_all_loops, _real, *args, **kwargs)

        function.__name__ = name
        setattr(cls, name, staticmethod(function))


def _patch_core(module):
    global _real_instance
    _patch_app_class(module.QCoreApplication)
    real_instance = _real_instance = module.QCoreApplication.instance
    sip = _sip()

    def instance():
        if _current is not None and not sip.isdeleted(_current):
            return _current
        return real_instance()

    module.QCoreApplication.instance = staticmethod(instance)
    _nested_method(module.QEventLoop, ("exec_", "exec"), lambda loop: loop.exit(0))
    real_process = getattr(module.QCoreApplication, "processEvents", None)
    if real_process is not None:
        def processEvents(*args, **kwargs):
            return run_nested(None, real_process, *args, **kwargs)
        module.QCoreApplication.processEvents = staticmethod(processEvents)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook


def _patch_gui(module):
    _patch_app_class(module.QGuiApplication)


def _patch_widgets(module):
    _patch_app_class(module.QApplication)
    # The classes with an exec_() of their own (PyQt5 5.15): QDialog (and
    # with it QMessageBox, QFileDialog, ...), QMenu.
    _nested_method(module.QDialog, ("exec_", "exec"), lambda dialog: dialog.done(0))
    _nested_method(module.QMenu, ("exec_", "exec"), lambda menu: menu.close())
    _nested_static(module.QMessageBox, ("question", "information", "warning", "critical",
                                        "about", "aboutQt"))
    _nested_static(module.QInputDialog, ("getText", "getInt", "getDouble", "getItem",
                                         "getMultiLineText"))
    _nested_static(module.QFileDialog, ("getOpenFileName", "getOpenFileNames",
                                        "getSaveFileName", "getExistingDirectory"))
    _nested_static(module.QColorDialog, ("getColor",))
    _nested_static(module.QFontDialog, ("getFont",))


sys.meta_path.insert(0, _RefuseOtherPyQt)
after_import(PYQT + ".QtCore", _patch_core)
after_import(PYQT + ".QtGui", _patch_gui)
after_import(PYQT + ".QtWidgets", _patch_widgets)
