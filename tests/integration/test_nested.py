# SPDX-License-Identifier: MIT
"""Nested loops run the toolkit's events, and Interrupt ends them (issue 9).

Each toolkit's nested loops — modal dialogs, QEventLoop.exec_(),
GLib.MainLoop().run(), wx.GUIEventLoop, Tk's wait_window, matplotlib's
plt.pause() — started by an execution: Interrupt() answers true, the loop is
left and KeyboardInterrupt is raised in the execution, and the daemon goes on
serving.  A runaway GUI callback (a button handler that never returns) is
interrupted when no execution runs.
"""
import time

import pytest

from gui_snippets import snippet
from helpers import click_window, find_window, poll

NESTED = {
    "qt": {
        "QEventLoop": "from PyQt5 import QtCore\nQtCore.QEventLoop().exec_()",
        "QDialog": "from PyQt5 import QtWidgets\nd = QtWidgets.QDialog()\nd.exec_()",
        "QMessageBox": "from PyQt5 import QtWidgets\n"
                       "QtWidgets.QMessageBox.question(None, 'guiloop', 'Quit?')",
        "QMessageBox.exec_": "from PyQt5 import QtWidgets\n"
                             "QtWidgets.QMessageBox(text='Quit?').exec_()",
        "QMenu": "from PyQt5 import QtWidgets\nm = QtWidgets.QMenu()\nm.addAction('a')\n"
                 "m.exec_(__import__('PyQt5.QtCore').QtCore.QPoint(10, 10))",
    },
    "gtk": {
        "Gtk.Dialog": "import gi\ngi.require_version('Gtk', '3.0')\nfrom gi.repository import Gtk\n"
                      "d = Gtk.Dialog(title='guiloop')\nd.run()",
        "GLib.MainLoop": "from gi.repository import GLib\nGLib.MainLoop().run()",
        "Gtk.MessageDialog": "d = Gtk.MessageDialog(text='Quit?', modal=True)\nd.run()",
        "Gtk.FileChooserNative": "d = Gtk.FileChooserNative(title='guiloop')\nd.run()",
    },
    "wx": {
        "wx.Dialog": "import wx\nd = wx.Dialog(None, title='guiloop')\nd.ShowModal()",
        "wx.GUIEventLoop": "import wx\nwx.GUIEventLoop().Run()",
        "wx.MessageDialog": "import wx\nwx.MessageDialog(None, 'Quit?', 'guiloop').ShowModal()",
        "wx.MessageBox": "import wx\nwx.MessageBox('Quit?', 'guiloop')",
    },
    "tk": {
        "wait_window": "import tkinter\nroot = tkinter.Tk()\ntop = tkinter.Toplevel(root)\n"
                       "root.wait_window(top)",
        "wait_variable": "import tkinter\nroot = tkinter.Tk()\nv = tkinter.IntVar(root)\n"
                         "root.wait_variable(v)",
        # Tk's own dialogs wait in a Tcl vwait, where no Python code runs.
        "messagebox": "import tkinter.messagebox\ntkinter.messagebox.askyesno('guiloop', 'Quit?')",
        "filedialog": "import tkinter.filedialog\ntkinter.filedialog.askopenfilename()",
        "colorchooser": "import tkinter.colorchooser\ntkinter.colorchooser.askcolor()",
    },
}

# A nested loop that ends by itself after 0.3 s, with the 20 ms ticker running inside.
TIMED = {
    "qt": "from PyQt5 import QtCore\nloop = QtCore.QEventLoop()\n"
          "QtCore.QTimer.singleShot(300, loop.quit)\nloop.exec_()",
    "gtk": "from gi.repository import GLib\nloop = GLib.MainLoop()\n"
           "GLib.timeout_add(300, loop.quit)\nloop.run()",
    "wx": "import wx\nloop = wx.GUIEventLoop()\nwx.CallLater(300, loop.Exit)\nloop.Run()",
    "tk": "v = tkinter.IntVar(tick_root)\ntick_root.after(300, lambda: v.set(1))\n"
          "tick_root.wait_variable(v)",
}

# Qt 6 (PyQt6: exec() only) and GTK 4 (no Gtk.Dialog.run(): its nested loops are GLib's).
NESTED["qt6"] = {name: code.replace("PyQt5", "PyQt6").replace("exec_(", "exec(")
                 for name, code in NESTED["qt"].items()}
NESTED["gtk4"] = {"GLib.MainLoop": NESTED["gtk"]["GLib.MainLoop"]}
TIMED["qt6"] = TIMED["qt"].replace("PyQt5", "PyQt6").replace("exec_(", "exec(")
TIMED["gtk4"] = TIMED["gtk"]

BACKENDS = {"gtk": "GTK3Agg", "qt": "QtAgg", "wx": "WXAgg", "tk": "TkAgg",
            "gtk4": "GTK4Agg", "qt6": "QtAgg"}


def _interrupt_nested(daemon, code):
    call = daemon.execute_bg(code + "\n'loop ended'")
    daemon.wait_busy()
    time.sleep(0.4)  # inside the nested loop by now
    assert not call.finished(), call.value
    t0 = time.monotonic()
    assert daemon.interrupt() is True
    success, result, _, err = call.result(10)
    assert not success, (result, err)
    assert err.endswith("KeyboardInterrupt\n"), err
    assert call.t_done - t0 < 2.0, f"the nested loop ended {call.t_done - t0:.2f} s late"
    assert daemon.interrupt() is False
    assert daemon.ok("1+1") == "2"


def test_interrupt_ends_nested_loops(daemon, toolkit):
    for name, code in NESTED[toolkit].items():
        try:
            _interrupt_nested(daemon, code)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None


@pytest.mark.toolkits("tk")
def test_interrupted_tk_dialog_closes(daemon, xvfb):
    daemon.ok("import tkinter, tkinter.messagebox\nroot = tkinter.Tk()")
    call = daemon.execute_bg("tkinter.messagebox.showinfo('guiloop-asked', 'Quit?')")
    find_window(xvfb, "guiloop-asked")
    assert daemon.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    assert daemon.ok("root.tk.call('winfo', 'exists', '.__tk__messagebox')") == "0"
    # A box answered as its Yes button does still gives the user's answer.
    assert daemon.ok("root.after(300, root.tk.call, 'set', '::tk::Priv(button)', 'yes')\n"
                     "tkinter.messagebox.askyesno('guiloop-again', 'Quit?')") == "True"


def test_nested_loop_runs_events(daemon, toolkit):
    daemon.ok(snippet(toolkit, "ticker"))
    before = daemon.value("ticks")
    t0 = time.monotonic()
    daemon.ok(TIMED[toolkit])
    elapsed = time.monotonic() - t0
    assert 0.25 < elapsed < 2, elapsed
    assert daemon.value("ticks") - before >= 8


def test_interrupt_ends_plt_pause(daemon, toolkit):
    daemon.ok(f"import matplotlib\nmatplotlib.use({BACKENDS[toolkit]!r})\n"
              "import matplotlib.pyplot as plt\nplt.figure()\nplt.plot([1, 2, 3])")
    _interrupt_nested(daemon, "plt.pause(30)")
    # The figure's window still works.
    assert daemon.ok("plt.pause(0.2)\nlen(plt.get_fignums())") == "1"


RUNAWAY = {
    "gtk": "button.connect('clicked', runaway)",
    "qt": "bwin.clicked.connect(runaway)",
    "wx": "button.Bind(wx.EVT_BUTTON, runaway)",
    "tk": "button.configure(command=runaway)",
}
RUNAWAY["gtk4"] = RUNAWAY["gtk"]
RUNAWAY["qt6"] = RUNAWAY["qt"]


def test_interrupt_a_runaway_callback(daemon, toolkit, xvfb):
    title = f"guiloop-runaway-{toolkit}-{daemon.pid}"
    daemon.ok(snippet(toolkit, "button", title=title))
    daemon.ok("spins = 0\ndef runaway(*args):\n    global spins\n    while True:\n"
              "        spins += 1\n" + RUNAWAY[toolkit])
    assert daemon.interrupt() is False
    click_window(xvfb, find_window(xvfb, title)[0])
    time.sleep(0.5)
    assert daemon.get("Busy") is False
    assert daemon.interrupt() is True
    assert daemon.execute("spins > 0", timeout=10) == (True, "True", "", "")
    poll(lambda: "KeyboardInterrupt" in daemon.log(), 5, what="the callback's traceback in the log")
    assert "runaway" in daemon.log()
    # As a terminal shows it: the user's line last, not the daemon's handler.
    assert "in sigint" not in daemon.log() and "boot.py>" not in daemon.log(), daemon.log()
    assert daemon.interrupt() is False
    assert daemon.ok("1+1") == "2"


def test_timeout_ends_a_nested_loop(start_daemon, toolkit):
    d = start_daemon(config="[execution]\ntimeout = 0.5\n")
    name, code = next(iter(NESTED[toolkit].items()))
    t0 = time.monotonic()
    success, _, _, err = d.execute(code + "\n'loop ended'", timeout=30)
    assert not success and err.endswith("KeyboardInterrupt\n"), (name, err)
    assert time.monotonic() - t0 < 3, name
    assert d.ok("1+1") == "2"
