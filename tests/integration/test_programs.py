# SPDX-License-Identifier: MIT
"""Unmodified GUI programs run in the daemon, IPython-%run-style (issue 9).

Each program is written the way its binding's own tutorial writes a first
program: it makes its application object, shows a window and enters the
toolkit's main loop, then exits with what the loop returned.  In the daemon
RunFile must succeed within a second (the main-loop call returns 0 at once),
the window must be mapped, the next Execute must read a widget, the
program's quitting call must leave the daemon running, and a second run must
do all of it again.
"""
import re
import time

import pytest

from helpers import find_window

PROGRAMS = {
    "qt-qapplication": ("qt", """\
import sys
from PyQt5.QtWidgets import QApplication, QLabel

app = QApplication(sys.argv)
label = QLabel("Hello " + sys.argv[1])
label.setWindowTitle("guiloop-program-" + sys.argv[1])
label.resize(240, 80)
label.show()
sys.exit(app.exec_())
""", "label.text()", "app.quit()"),
    "qt-subclass": ("qt", """\
import sys
from PyQt5.QtWidgets import QApplication, QLabel


class App(QApplication):
    def __init__(self, argv):
        super().__init__(argv)
        self.label = QLabel("Hello " + argv[1])
        self.label.setWindowTitle("guiloop-program-" + argv[1])
        self.label.resize(240, 80)
        self.label.show()

    def greeting(self):
        return self.label.text()


if __name__ == "__main__":
    app = App(sys.argv)
    assert QApplication.instance() is app
    sys.exit(app.exec())
""", "app.greeting()", "app.exit(0)"),
    "wx-app-subclass": ("wx", """\
import sys
import wx


class App(wx.App):
    def OnInit(self):
        self.frame = wx.Frame(None, title="guiloop-program-" + sys.argv[1], size=(240, 80))
        self.text = wx.StaticText(self.frame, label="Hello " + sys.argv[1])
        self.frame.Show()
        return True


App().MainLoop()
""", "wx.GetApp().text.GetLabel()", "wx.GetApp().ExitMainLoop()"),
    "wx-app": ("wx", """\
import sys
import wx

app = wx.App()
frame = wx.Frame(None, title="guiloop-program-" + sys.argv[1], size=(240, 80))
text = wx.StaticText(frame, label="Hello " + sys.argv[1])
frame.Show()
app.MainLoop()
""", "text.GetLabel()", "app.ExitMainLoop()"),
    "gtk-application": ("gtk", """\
import sys

import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk


class App(Gtk.Application):
    def __init__(self):
        super().__init__(application_id="org.guiloop.TestProgram")

    def do_activate(self):
        self.window = Gtk.ApplicationWindow(application=self,
                                            title="guiloop-program-" + sys.argv[1])
        self.label = Gtk.Label(label="Hello " + sys.argv[1])
        self.window.add(self.label)
        self.window.set_default_size(240, 80)
        self.window.show_all()


app = App()
sys.exit(app.run(sys.argv))
""", "app.label.get_text()", "app.quit()"),
    "gtk-main": ("gtk", """\
import sys

import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk

window = Gtk.Window(title="guiloop-program-" + sys.argv[1])
window.connect("destroy", Gtk.main_quit)
label = Gtk.Label(label="Hello " + sys.argv[1])
window.add(label)
window.set_default_size(240, 80)
window.show_all()
Gtk.main()
""", "label.get_text()", "Gtk.main_quit()"),
    "tk-mainloop": ("tk", """\
import sys
import tkinter as tk

root = tk.Tk()
root.title("guiloop-program-" + sys.argv[1])
root.geometry("240x80")
label = tk.Label(root, text="Hello " + sys.argv[1])
label.pack()
other = tk.Toplevel(root)
root.mainloop()
tk.mainloop()
""", "label.cget('text')", "root.quit()"),
}

# Qt 6: the Qt 5 programs through PyQt6, which has exec() only.
for _name in ("qt-qapplication", "qt-subclass"):
    _tk, _source, _read, _quit = PROGRAMS[_name]
    PROGRAMS[_name.replace("qt-", "qt6-")] = (
        "qt6", _source.replace("PyQt5", "PyQt6").replace("exec_()", "exec()"), _read, _quit)
# GTK 4: a Gtk.Application is its tutorial's one way (no Gtk.main()).
PROGRAMS["gtk4-application"] = ("gtk4", """\
import sys

import gi
gi.require_version("Gtk", "4.0")
from gi.repository import Gtk


class App(Gtk.Application):
    def __init__(self):
        super().__init__(application_id="org.guiloop.TestProgram4")

    def do_activate(self):
        self.window = Gtk.ApplicationWindow(application=self,
                                            title="guiloop-program-" + sys.argv[1])
        self.label = Gtk.Label(label="Hello " + sys.argv[1])
        self.window.set_child(self.label)
        self.window.set_default_size(240, 80)
        self.window.present()


app = App()
sys.exit(app.run(sys.argv))
""", "app.label.get_text()", "app.quit()")

# An application without an id: GIO exports every one at the same object
# path, so a second run while the first one's window lives must still work.
for _name in ("gtk-application", "gtk4-application"):
    _tk, _source, _read, _quit = PROGRAMS[_name]
    PROGRAMS[_name + "-anonymous"] = (_tk, re.sub(r'application_id="[^"]*"', "", _source),
                                      _read, _quit)


def _run_twice(daemon, xvfb, tmp_path, name):
    _, source, read, quit = PROGRAMS[name]
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(source)
    for run in (f"first{daemon.pid}", f"second{daemon.pid}"):
        t0 = time.monotonic()
        success, out, err = daemon.run_file(path, [run])
        elapsed = time.monotonic() - t0
        assert success, f"{name} run {run}:\nstdout: {out}\nstderr: {err}"
        assert err == "", err
        assert elapsed < 1.0, f"RunFile of {name} took {elapsed:.2f} s"
        assert find_window(xvfb, f"guiloop-program-{run}")
        assert daemon.ok(read) == repr(f"Hello {run}")
        # Quitting calls never stop the daemon's loop.
        daemon.ok(quit)
        time.sleep(0.1)
        assert daemon.ok(read) == repr(f"Hello {run}")
        assert daemon.alive()
    assert "CRITICAL" not in daemon.log() and "Traceback" not in daemon.log(), daemon.log()


@pytest.mark.toolkits("qt")
def test_qapplication_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "qt-qapplication")


@pytest.mark.toolkits("qt")
def test_qapplication_subclass_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "qt-subclass")


@pytest.mark.toolkits("qt6")
def test_qapplication_program_qt6(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "qt6-qapplication")


@pytest.mark.toolkits("qt6")
def test_qapplication_subclass_program_qt6(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "qt6-subclass")


@pytest.mark.toolkits("gtk4")
def test_gtk4_application_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "gtk4-application")


@pytest.mark.toolkits("wx")
def test_wx_app_subclass_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "wx-app-subclass")


@pytest.mark.toolkits("wx")
def test_wx_app_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "wx-app")


@pytest.mark.toolkits("gtk")
def test_gtk_application_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "gtk-application")


@pytest.mark.toolkits("gtk")
def test_gtk_application_without_an_id(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "gtk-application-anonymous")


@pytest.mark.toolkits("gtk4")
def test_gtk4_application_without_an_id(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "gtk4-application-anonymous")


@pytest.mark.toolkits("gtk", "gtk4")
def test_gtk_application_after_matplotlib(daemon, toolkit, xvfb, tmp_path):
    # matplotlib's GTK backends register a GtkApplication of their own;
    # a program's application registered after it must still activate.
    daemon.ok("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.pause(0.1)")
    _run_twice(daemon, xvfb, tmp_path, "gtk-application" if toolkit == "gtk" else
               "gtk4-application")


@pytest.mark.toolkits("gtk")
def test_gtk_main_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "gtk-main")


@pytest.mark.toolkits("tk")
def test_tk_mainloop_program(daemon, xvfb, tmp_path):
    _run_twice(daemon, xvfb, tmp_path, "tk-mainloop")


MAIN_LOOP_CALLS = {
    "gtk": "import gi\ngi.require_version('Gtk', '3.0')\nfrom gi.repository import Gtk\n"
           "(Gtk.main(), Gtk.Application(application_id='org.guiloop.T').run([]))",
    "qt": "from PyQt5.QtWidgets import QApplication\napp = QApplication([])\n"
          "(app.exec_(), app.exec(), QApplication.exec_())",
    "wx": "import wx\napp = wx.App()\n(app.MainLoop(), wx.GetApp().MainLoop())",
    "tk": "import tkinter\nroot = tkinter.Tk()\n(root.mainloop(), tkinter.mainloop())",
    "gtk4": "import gi\ngi.require_version('Gtk', '4.0')\nfrom gi.repository import Gtk\n"
            "(Gtk.Application(application_id='org.guiloop.T4').run([]),)",
    "qt6": "from PyQt6.QtWidgets import QApplication\napp = QApplication([])\n"
           "(app.exec(), QApplication.exec())",
}
MAIN_LOOP_RESULTS = {"gtk": "(None, 0)", "qt": "(0, 0, 0)", "wx": "(0, 0)", "tk": "(None, None)",
                     "gtk4": "(0,)", "qt6": "(0, 0)"}


def test_main_loop_calls_return_at_once(daemon, toolkit):
    t0 = time.monotonic()
    assert daemon.ok(MAIN_LOOP_CALLS[toolkit]) == MAIN_LOOP_RESULTS[toolkit]
    assert time.monotonic() - t0 < 1.0
    assert daemon.ok("1+1") == "2"


@pytest.mark.parametrize("code,success,err", [
    ("import sys\nsys.exit(0)", True, ""),
    ("import sys\nsys.exit()", True, ""),
    ("raise SystemExit", True, ""),
    ("import sys\nsys.exit(3)", False, "SystemExit: 3\n"),
    ("import sys\nsys.exit('bad input')", False, "SystemExit: bad input\n"),
])
def test_system_exit(daemon, tmp_path, code, success, err):
    assert daemon.execute(code) == (success, "", "", err)
    path = tmp_path / "exits.py"
    path.write_text("print('before')\n" + code + "\nprint('after')\n")
    assert daemon.run_file(path) == (success, "before\n", err)
    assert daemon.ok("1+1") == "2"


@pytest.mark.toolkits("gtk", "qt", "wx")
def test_tk_program_and_nested_loop_in_a_guest(start_daemon, xvfb, tmp_path):
    """Tk beside another toolkit: the same setup applies to the guest."""
    d = start_daemon(args=["--tk-guest"])
    _run_twice(d, xvfb, tmp_path, "tk-mainloop")
    call = d.execute_bg("top = tk.Toplevel(root)\nroot.wait_window(top)\n'ended'")
    d.wait_busy()
    time.sleep(0.3)
    assert d.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    assert d.ok("label.cget('text')").startswith("'Hello")
