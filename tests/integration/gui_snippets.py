# SPDX-License-Identifier: MIT
"""The same GUI actions written for each toolkit's Python binding.

Each snippet is Python code for Execute, formatted with str.format(title=...).
Names the tests read back: `ticks` (a 20 ms timer's counter), `clicks` (a
button's counter)."""
import pytest

SNIPPETS = {
    "gtk": {
        "window": """\
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
win = Gtk.Window(title={title!r})
win.set_default_size(200, 100)
win.move(0, 0)
win.show_all()
""",
        "close": "win.destroy()",
        "ticker": """\
from gi.repository import GLib
ticks = 0
def tick():
    global ticks
    ticks += 1
    return True
GLib.timeout_add(20, tick)
""",
        "button": """\
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
clicks = 0
def on_click(button):
    global clicks
    clicks += 1
bwin = Gtk.Window(title={title!r})
button = Gtk.Button(label="Click me")
button.connect("clicked", on_click)
bwin.add(button)
bwin.set_default_size(200, 100)
bwin.move(0, 0)
bwin.show_all()
""",
    },
    # GTK 4: no move() (the window manager places windows; Xvfb has none, so
    # they land at 0,0), no show_all(), children set with set_child().
    "gtk4": {
        "window": """\
import gi
gi.require_version("Gtk", "4.0")
from gi.repository import Gtk
win = Gtk.Window(title={title!r})
win.set_default_size(200, 100)
win.present()
""",
        "button": """\
import gi
gi.require_version("Gtk", "4.0")
from gi.repository import Gtk
clicks = 0
def on_click(button):
    global clicks
    clicks += 1
bwin = Gtk.Window(title={title!r})
button = Gtk.Button(label="Click me")
button.connect("clicked", on_click)
bwin.set_child(button)
bwin.set_default_size(200, 100)
bwin.present()
""",
    },
    "tk": {
        "window": """\
import tkinter
win = tkinter.Tk()
win.title({title!r})
win.geometry("200x100+0+0")
""",
        "close": "win.destroy()",
        "ticker": """\
import tkinter
ticks = 0
tick_root = tkinter.Tk()
tick_root.withdraw()
def tick():
    global ticks
    ticks += 1
    tick_root.after(20, tick)
tick_root.after(20, tick)
""",
        "button": """\
import tkinter
clicks = 0
def on_click():
    global clicks
    clicks += 1
bwin = tkinter.Tk()
bwin.title({title!r})
bwin.geometry("200x100+0+0")
button = tkinter.Button(bwin, text="Click me", command=on_click)
button.pack(fill="both", expand=True)
""",
    },
    "qt": {
        "window": """\
from PyQt5 import QtWidgets
win = QtWidgets.QWidget()
win.setWindowTitle({title!r})
win.resize(200, 100)
win.move(0, 0)
win.show()
""",
        "close": "win.close()",
        "ticker": """\
from PyQt5 import QtCore
ticks = 0
def tick():
    global ticks
    ticks += 1
tick_timer = QtCore.QTimer()
tick_timer.timeout.connect(tick)
tick_timer.start(20)
""",
        "button": """\
from PyQt5 import QtWidgets
clicks = 0
def on_click():
    global clicks
    clicks += 1
bwin = QtWidgets.QPushButton("Click me")
bwin.setWindowTitle({title!r})
bwin.clicked.connect(on_click)
bwin.resize(200, 100)
bwin.move(0, 0)
bwin.show()
""",
    },
    "wx": {
        "window": """\
import wx
win = wx.Frame(None, title={title!r}, pos=(0, 0), size=(200, 100))
win.Show()
""",
        "close": "win.Destroy()",
        "ticker": """\
import wx
ticks = 0
class Ticker(wx.Timer):
    def Notify(self):
        global ticks
        ticks += 1
tick_timer = Ticker()
tick_timer.Start(20)
""",
        "button": """\
import wx
clicks = 0
def on_click(event):
    global clicks
    clicks += 1
bwin = wx.Frame(None, title={title!r}, pos=(0, 0), size=(200, 100))
button = wx.Button(bwin, label="Click me")
button.Bind(wx.EVT_BUTTON, on_click)
bwin.Show()
""",
    },
}

# Qt 6 through PyQt6: the same calls as Qt 5's here.
SNIPPETS["qt6"] = {kind: code.replace("PyQt5", "PyQt6") for kind, code in SNIPPETS["qt"].items()}
# GLib's timer and destroy() are GTK 3's and GTK 4's alike.
SNIPPETS["gtk4"].update(close=SNIPPETS["gtk"]["close"], ticker=SNIPPETS["gtk"]["ticker"])


def snippet(toolkit, kind, **kw):
    code = SNIPPETS.get(toolkit, {}).get(kind)
    if code is None:
        pytest.skip(f"no {kind} snippet for {toolkit}")
    return code.format(**kw)
