# SPDX-License-Identifier: MIT
"""Output as a terminal shows it (DESIGN.md "Output"): file descriptors 1 and 2,
toolkit warnings, threads, callbacks' tracebacks, background output.

Every check looks at what a caller receives (the reply, Output signals) and
at the daemon's log."""
import re
import time

import pytest

from helpers import Outputs, click_window, find_window, poll

MB = 1 << 20


@pytest.fixture
def outputs(daemon):
    o = Outputs(daemon)
    yield o
    o.close()


def log_after(daemon, mark):
    log = daemon.log()
    return log[log.index(mark):] if mark in log else log


# ---- item 1: fds 1 and 2 belong to the running execution ---------------------

SOURCES = """\
import ctypes, os, subprocess, sys
os.write(1, b"os-write-out\\n")
os.write(2, b"os-write-err\\n")
subprocess.run(["echo", "subprocess-echo"])
os.system("echo os-system-out; echo os-system-err >&2")
sys.__stdout__.write("dunder-stdout\\n")
sys.__stderr__.write("dunder-stderr\\n")
ctypes.CDLL(None).printf(b"ctypes-printf-no-newline")
"""


def test_every_fd_source_reaches_the_reply(daemon, outputs):
    success, _, out, err = daemon.execute(SOURCES)
    assert success, err
    for needle in ("os-write-out\n", "subprocess-echo\n", "os-system-out\n",
                   "dunder-stdout\n"):
        assert needle in out, (needle, out)
    # libc's buffer is flushed at the end of the execution: it lands in this one.
    assert out.endswith("ctypes-printf-no-newline"), out
    for needle in ("os-write-err\n", "os-system-err\n", "dunder-stderr\n"):
        assert needle in err, (needle, err)
    assert "os-write" not in daemon.log()
    outputs.wait_for(None, "stdout", "ctypes-printf-no-newline")
    assert outputs.text(None, "stdout") == out
    assert outputs.text(None, "stderr") == err
    # Nothing of it leaked into the next execution or background output.
    assert daemon.execute("1")[2:] == ("", "")
    assert outputs.text(0, "stdout") == ""


ORDER = """\
import ctypes, os, sys
libc = ctypes.CDLL(None)
print("a")
os.write(1, b"b\\n")
print("c")
sys.__stdout__.write("d\\n")
libc.printf(b"e\\n")
print("f", file=sys.stderr)
os.write(2, b"g\\n")
print("h", file=sys.stderr)
print("i", flush=True)
"""


def test_python_and_fd_writes_keep_their_order(daemon, outputs):
    success, _, out, err = daemon.execute(ORDER)
    assert success, err
    assert out == "a\nb\nc\nd\ne\ni\n"
    assert err == "f\ng\nh\n"
    outputs.wait_for(None, "stderr", "h\n")
    outputs.wait_for(None, "stdout", "i\n")
    assert outputs.text(None, "stdout") == out
    assert outputs.text(None, "stderr") == err


@pytest.mark.core
def test_os_write_flood_is_bounded_and_answered(daemon):
    t0 = time.monotonic()
    success, _, out, err = daemon.execute(
        "import os\nn = 0\nwhile n < 5 * 1024 * 1024:\n    n += os.write(1, b'x' * 65536)\n"
        "print('after-flood', file=__import__('sys').stderr)")
    assert success, err
    assert time.monotonic() - t0 < 20
    assert len(out) < MB + 100, len(out)
    assert out.startswith("x" * 1000)
    assert re.search(r"\[guiloop: \d+ bytes dropped\]\n$", out), out[-200:]
    dropped = int(re.search(r"(\d+) bytes dropped", out).group(1))
    assert dropped == 5 * MB - MB, dropped
    assert err == "after-flood\n"
    assert daemon.execute("print('next')")[2] == "next\n"


@pytest.mark.core
def test_a_child_that_outlives_its_execution_is_background_output(daemon, outputs):
    # The execution ends only once the child has written its first line: that
    # line is the execution's own, however slowly the child starts.
    success, _, out, err = daemon.execute(
        "import os, subprocess, tempfile, time\n"
        "flag = tempfile.mktemp()\n"
        "late = subprocess.Popen(['sh', '-c', 'echo early-x1; : > \"$0\"; sleep 1.5; echo late-x1',"
        " flag])\n"
        "while not os.path.exists(flag):\n"
        "    time.sleep(0.01)\n"
        "os.unlink(flag)\n")
    assert success, err
    assert out == "early-x1\n", out
    # The next execution runs while the child still sleeps: nothing of it is its own.
    success, _, out2, _ = daemon.execute("print('second-x1')")
    assert out2 == "second-x1\n"
    outputs.wait_for(0, "stdout", "late-x1\n")
    poll(lambda: "stdout: late-x1" in daemon.log(), 5, what="the background line in the log")
    daemon.ok("late.wait()")
    assert "late-x1" not in daemon.execute("print('third-x1')")[2]


@pytest.mark.core
def test_traceback_is_in_the_output_signals_before_the_reply(daemon, outputs):
    success, _, out, err = daemon.execute("print('before-tb')\ndef f():\n    1 / 0\nf()")
    assert not success
    assert out == "before-tb\n"
    assert err.endswith("ZeroDivisionError: division by zero\n"), err
    assert "    1 / 0" in err
    # The last Output signal left before the reply: already there when it came.
    outputs.settle(0.1)
    assert outputs.text(None, "stderr") == err
    assert outputs.text(None, "stdout") == out


@pytest.mark.core
def test_dropped_line_is_in_the_output_signals_too(start_daemon):
    d = start_daemon(config="[execution]\nmax_output = 1000\n")
    o = Outputs(d)
    try:
        success, _, out, err = d.execute("print('y' * 5000)\nraise SystemExit(3)")
        assert not success
        assert "bytes dropped]" in out and err.endswith("SystemExit: 3\n")
        o.settle(0.1)
        assert o.text(None, "stdout") == out
        assert o.text(None, "stderr") == err
    finally:
        o.close()


@pytest.mark.core
def test_capture_fd_false_leaves_fds_to_the_daemon(start_daemon):
    d = start_daemon(config="[execution]\ncapture_fd = false\n")
    success, _, out, err = d.execute(
        "import os, sys\nprint('py-out-x3')\nos.write(1, b'fd-out-x3\\n')\n"
        "print('py-err-x3', file=sys.stderr)")
    assert success, err
    assert out == "py-out-x3\n" and err == "py-err-x3\n"
    # fd 1 is the daemon's own stdout (the log file here), not the reply.
    poll(lambda: "fd-out-x3" in d.log(), 5, what="the fd write in the daemon's stdout")
    assert "py-out-x3" not in d.log()


@pytest.mark.core
def test_verbose_log_lines_never_reach_a_reply(start_daemon):
    d = start_daemon(args=["--verbose"])
    for i in range(5):
        success, _, out, err = d.execute(f"import os\nprint({i})\nos.write(2, b'e{i}\\n')")
        assert success and out == f"{i}\n" and err == f"e{i}\n", (out, err)
    assert "finished in" in d.log()  # --verbose did log each of them
    # A log line written while an execution runs (the Interrupt) stays out of it.
    seen = Outputs(d)
    call = d.execute_bg("import time\nprint('sleeping')\ntime.sleep(30)")
    seen.wait_for(None, "stdout", "sleeping")  # Busy alone can come before the print
    seen.close()
    assert d.interrupt() is True
    success, _, out, err = call.result()
    assert not success and out == "sleeping\n", out
    assert err.endswith("KeyboardInterrupt\n") and "guiloopd" not in err, err
    assert "interrupt" in log_after(d, "finished in").lower()


@pytest.mark.core
def test_background_output_is_logged_at_info_priority(start_daemon):
    d = start_daemon(journal=True)
    d.ok("import threading, time\n"
         "threading.Timer(0.1, lambda: print('bg-journal-x5')).start()")
    poll(lambda: "bg-journal-x5" in d.log(), 5, what="the background line")
    line = [x for x in d.log().splitlines() if "bg-journal-x5" in x][0]
    assert line == "<6>guiloopd: stdout: bg-journal-x5", line


# ---- item 3: threads inherit their execution ---------------------------------

@pytest.mark.core
def test_a_thread_writes_to_its_own_execution_only(daemon, outputs):
    success, _, out, err = daemon.execute(
        "import threading\n"
        "go = threading.Event()\n"
        "def later():\n    go.wait(10)\n    print('thread-of-1')\n"
        "t = threading.Thread(target=later)\nt.start()\n"
        "own = threading.Thread(target=print, args=('thread-own',))\nown.start()\nown.join()\n")
    assert success, err
    assert out == "thread-own\n"
    # Execution 2 releases the thread of execution 1 and waits for it: not its output.
    success, _, out, err = daemon.execute("go.set()\nt.join(10)\nprint('second')")
    assert success, err
    assert out == "second\n"
    outputs.wait_for(0, "stdout", "thread-of-1\n")
    poll(lambda: "stdout: thread-of-1" in daemon.log(), 5, what="the thread's line in the log")


@pytest.mark.core
def test_a_pool_work_item_belongs_to_the_execution_that_submitted_it(daemon, outputs):
    daemon.ok("import concurrent.futures\npool = concurrent.futures.ThreadPoolExecutor(1)\n"
              "pool.submit(print, 'warm-up').result()")
    for i in range(2):
        success, _, out, err = daemon.execute(f"pool.submit(print, 'item-{i}').result()")
        assert success and out == f"item-{i}\n", (out, err)
    daemon.ok("pool.shutdown()")
    outputs.settle(0.1)
    assert "item-" not in outputs.text(0, "stdout")


# ---- item 2: the toolkit's own warnings ---------------------------------------

WARNINGS = {
    # A real bad call each, and what the toolkit prints about it.
    "gtk": ("import gi\ngi.require_version('Gtk', '3.0')\nfrom gi.repository import Gtk\n"
            "Gtk.Grid().attach(Gtk.Label(), 0, 0, 0, 0)",
            ["Gtk-CRITICAL **", "gtk_grid_attach: assertion 'width > 0' failed"]),
    "qt": ("from PyQt5 import QtCore\nQtCore.QObject().startTimer(-1)\n"
           "QtCore.qWarning(b'guiloop-qwarning')",
           ["QObject::startTimer: Timers cannot have negative intervals", "guiloop-qwarning"]),
    "wx": ("import wx\nwx.LogWarning('guiloop-wx-warning')\nwx.Log.FlushActive()",
           ["Warning: guiloop-wx-warning"]),
    "tk": ("import tkinter\nroot = tkinter.Tk()\nroot.withdraw()\n"
           "root.tk.call('after', 0, 'guiloop_no_such_command')\nroot.update()",
           ['invalid command name "guiloop_no_such_command"', '("after" script)']),
    "gtk4": ("import gi\ngi.require_version('Gtk', '4.0')\nfrom gi.repository import Gtk\n"
             "Gtk.Grid().attach(Gtk.Label(), 0, 0, 0, 0)",
             ["Gtk-CRITICAL **", "gtk_grid_attach: assertion 'width > 0' failed"]),
    "qt6": ("from PyQt6 import QtCore\nQtCore.QObject().startTimer(-1)\n"
            "QtCore.qWarning('guiloop-qwarning')",
            ["QObject::startTimer: Timers cannot have negative intervals", "guiloop-qwarning"]),
}


def test_toolkit_warning_is_the_executions_stderr(daemon, toolkit, outputs):
    code, needles = WARNINGS[toolkit]
    success, _, out, err = daemon.execute(code)
    assert success, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert len([line for line in err.splitlines() if needles[0] in line]) == 1, err
    for needle in needles:
        assert needle not in daemon.log(), needle
    outputs.wait_for(None, "stderr", needles[-1])
    assert outputs.text(None, "stderr") == err


BACKGROUND_WARNINGS = {
    # The same bad calls from a timer, after the execution that set it ended.
    "gtk": ("import gi\ngi.require_version('Gtk', '3.0')\nfrom gi.repository import GLib, Gtk\n"
            "GLib.timeout_add(50, lambda: Gtk.Grid().attach(Gtk.Label(), 0, 0, 0, 0))",
            "Gtk-CRITICAL **", "gtk_grid_attach: assertion 'width > 0' failed"),
    "qt": ("from PyQt5 import QtCore\n"
           "QtCore.QTimer.singleShot(50, lambda: QtCore.QObject().startTimer(-1))",
           "QObject::startTimer", "Timers cannot have negative intervals"),
    "wx": ("import wx\nwx.CallLater(50, lambda: (wx.LogWarning('guiloop-bg-wx'), "
           "wx.Log.FlushActive()))",
           "Warning:", "guiloop-bg-wx"),
    "tk": ("import tkinter\nroot = tkinter.Tk()\nroot.withdraw()\n"
           "root.tk.call('after', 50, 'guiloop_bg_no_such')",
           'invalid command name "guiloop_bg_no_such"', '("after" script)'),
    "gtk4": ("import gi\ngi.require_version('Gtk', '4.0')\nfrom gi.repository import GLib, Gtk\n"
             "GLib.timeout_add(50, lambda: Gtk.Grid().attach(Gtk.Label(), 0, 0, 0, 0))",
             "Gtk-CRITICAL **", "gtk_grid_attach: assertion 'width > 0' failed"),
    "qt6": ("from PyQt6 import QtCore\n"
            "QtCore.QTimer.singleShot(50, lambda: QtCore.QObject().startTimer(-1))",
            "QObject::startTimer", "Timers cannot have negative intervals"),
}


def test_toolkit_warning_from_a_callback_is_background_output(daemon, toolkit, outputs):
    code, first, last = BACKGROUND_WARNINGS[toolkit]
    success, _, out, err = daemon.execute(code)
    assert success and (out, err) == ("", ""), err
    text = outputs.wait_for(0, "stderr", last)
    assert first in text, text
    poll(lambda: "stderr: " in daemon.log() and last in daemon.log(), 5,
         what="the warning in the log")
    line = [x for x in daemon.log().splitlines() if last in x][0]
    assert "stderr: " in line and first in log_after(daemon, "stderr: "), line


# ---- item 4 and 5: a callback's output and traceback are background output ----

BUTTONS = {
    "gtk": """\
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
bwin = Gtk.Window(title={title!r})
button = Gtk.Button(label="Click me")
button.connect("clicked", lambda b: handler())
bwin.add(button)
bwin.set_default_size(200, 100)
bwin.move(0, 0)
bwin.show_all()
""",
    "tk": """\
import tkinter
bwin = tkinter.Tk()
bwin.title({title!r})
bwin.geometry("200x100+0+0")
button = tkinter.Button(bwin, text="Click me", command=lambda: handler())
button.pack(fill="both", expand=True)
""",
    "qt": """\
from PyQt5 import QtWidgets
bwin = QtWidgets.QPushButton("Click me")
bwin.setWindowTitle({title!r})
bwin.clicked.connect(lambda checked: handler())
bwin.resize(200, 100)
bwin.move(0, 0)
bwin.show()
""",
    "wx": """\
import wx
bwin = wx.Frame(None, title={title!r}, pos=(0, 0), size=(200, 100))
button = wx.Button(bwin, label="Click me")
button.Bind(wx.EVT_BUTTON, lambda event: handler())
bwin.Show()
""",
    "gtk4": """\
import gi
gi.require_version("Gtk", "4.0")
from gi.repository import Gtk
bwin = Gtk.Window(title={title!r})
button = Gtk.Button(label="Click me")
button.connect("clicked", lambda b: handler())
bwin.set_child(button)
bwin.set_default_size(200, 100)
bwin.present()
""",
}
BUTTONS["qt6"] = BUTTONS["qt"].replace("PyQt5", "PyQt6")

HANDLER = """\
def handler():
    print("clicked-x4")
    raise {exc}("boom-x4")
"""


@pytest.mark.parametrize("exc", ["ValueError", "KeyboardInterrupt"])
def test_clicked_handler_prints_and_raises_as_background_output(daemon, toolkit, xvfb,
                                                                 outputs, exc):
    title = f"guiloop-out-{daemon.pid}-{exc}"
    daemon.ok(HANDLER.format(exc=exc))
    daemon.ok(BUTTONS[toolkit].format(title=title))
    wid = find_window(xvfb, title)[0]
    time.sleep(0.3)
    click_window(xvfb, wid)
    assert outputs.wait_for(0, "stdout", "clicked-x4\n") == "clicked-x4\n"
    tb = outputs.wait_for(0, "stderr", f"{exc}: boom-x4\n")
    # As Python prints it, with the line of the handler that raised.
    assert "Traceback (most recent call last):" in tb, tb
    assert f'    raise {exc}("boom-x4")' in tb, tb
    assert "in handler" in tb, tb
    poll(lambda: f"stderr: {exc}: boom-x4" in daemon.log(), 5, what="the traceback in the log")
    assert "stdout: clicked-x4" in daemon.log()
    assert daemon.alive()
    # Background output went nowhere else.
    assert daemon.execute("print('after-click')")[2] == "after-click\n"
    daemon.ok("bwin.destroy()" if toolkit in ("gtk", "gtk4", "tk") else
              "bwin.close()" if toolkit in ("qt", "qt6") else "bwin.Destroy()")


@pytest.mark.core
def test_background_output_is_bounded_per_second(start_daemon):
    d = start_daemon(config="[execution]\nmax_output = 10000\n")
    o = Outputs(d)
    try:
        d.ok("import threading\n"
             "import time\n"
             "def spam():\n    time.sleep(0.2)\n    for i in range(2000):\n        print('s' * 99)\n"
             "threading.Thread(target=spam).start()")
        o.settle(1.5)
        got = o.text(0, "stdout")
        assert 5000 <= len(got) <= 10000 + 200, len(got)
        assert "over 10000 bytes per second" in d.log()
        assert d.log().count("stdout: " + "s" * 99) <= 101
    finally:
        o.close()


@pytest.mark.toolkits("gtk")
def test_tcl_errors_of_a_tk_guest_are_the_executions_stderr(start_daemon):
    d = start_daemon(args=["--tk-guest"])
    code, needles = WARNINGS["tk"]
    success, _, out, err = d.execute(code)
    assert success, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert d.execute(WARNINGS["gtk"][0])[3].count("Gtk-CRITICAL") == 1
