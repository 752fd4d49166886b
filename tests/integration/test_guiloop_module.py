# SPDX-License-Identifier: MIT
"""`import guiloop` (issue 13): what it tells, and call_in_gui() from worker
threads -- ordered, with exceptions, and never hanging a GUI-thread wait."""
import pytest

from helpers import poll

# One widget per toolkit, its text set by `set_text(s)` and read by `get_text()`.
WIDGETS = {
    "gtk": """\
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
widget = Gtk.Label(label="start")
def set_text(s): widget.set_text(s)
def get_text(): return widget.get_text()
""",
    "qt": """\
from PyQt5 import QtWidgets
widget = QtWidgets.QLabel("start")
def set_text(s): widget.setText(s)
def get_text(): return widget.text()
""",
    "wx": """\
import wx
frame = wx.Frame(None, title="guiloop-call-in-gui")
widget = wx.StaticText(frame, label="start")
def set_text(s): widget.SetLabel(s)
def get_text(): return widget.GetLabel()
""",
    "tk": """\
import tkinter
root = tkinter.Tk()
root.withdraw()
widget = tkinter.Label(root, text="start")
def set_text(s): widget.configure(text=s)
def get_text(): return widget.cget("text")
""",
    "gtk4": """\
import gi
gi.require_version("Gtk", "4.0")
from gi.repository import Gtk
widget = Gtk.Label(label="start")
def set_text(s): widget.set_text(s)
def get_text(): return widget.get_text()
""",
}
WIDGETS["qt6"] = WIDGETS["qt"].replace("PyQt5", "PyQt6")


def test_module_attributes(daemon, toolkit):
    assert daemon.value("import guiloop\n(guiloop.toolkit, guiloop.tk_guest)") == (toolkit, False)
    assert daemon.value("guiloop.version") == daemon.get("Version")
    assert daemon.value("guiloop.in_gui_thread()") is True
    names = daemon.value("sorted(n for n in dir(guiloop) if not n.startswith('_'))")
    for n in ("call_in_gui", "execution", "in_gui_thread", "tk_guest", "toolkit", "version"):
        assert n in names


@pytest.mark.core
def test_execution_ids_follow_threads(daemon):
    """The GUI thread and the threads an execution started belong to it while it runs."""
    daemon.ok("import guiloop, threading\nseen = []\ngo = threading.Event()\n"
              "def worker():\n"
              "    seen.append(guiloop.execution())\n"
              "    go.wait(10)\n"
              "    seen.append(guiloop.execution())\n")
    # Executions are numbered from 1: this one is the second.
    assert daemon.value("t = threading.Thread(target=worker)\nt.start()\n"
                        "import time\ntime.sleep(0.2)\n(guiloop.execution(), list(seen))") == (2, [2])
    daemon.ok("go.set()\nt.join(5)")
    assert daemon.value("seen") == [2, 0]  # its execution had ended: background
    assert daemon.value("guiloop.call_in_gui(guiloop.execution).result()") == 5


def test_call_in_gui_from_eight_threads(daemon, toolkit):
    """8 threads x 40 calls changing one widget: each thread's calls run in its
    order, in the GUI thread, and the widget ends with the last one's text."""
    daemon.ok(WIDGETS[toolkit])
    daemon.ok("""\
import guiloop, threading
log = []
results = {}
def change(i, j):
    set_text(f"{i}:{j}")
    log.append((i, j))
    return (i, j, guiloop.in_gui_thread(), get_text())
def worker(i):
    futures = [guiloop.call_in_gui(change, i, j) for j in range(40)]
    results[i] = [f.result(timeout=30) for f in futures]
start = threading.Barrier(8)
def run(i):
    start.wait()
    worker(i)
threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
""")
    poll(lambda: daemon.value("len(results)") == 8, 30, interval=0.1,
         what="8 threads to get their 40 results")
    results = daemon.value("results")
    for i in range(8):
        assert results[i] == [(i, j, True, f"{i}:{j}") for j in range(40)], results[i]
    log = daemon.value("log")
    assert len(log) == 320
    for i in range(8):
        assert [j for k, j in log if k == i] == list(range(40))
    last = log[-1]
    assert daemon.value("get_text()") == f"{last[0]}:{last[1]}"


@pytest.mark.core
def test_exception_through_a_future(daemon):
    daemon.ok("""\
import guiloop, threading, traceback
def boom():
    raise ValueError("boom in the GUI thread")
box = {}
def worker():
    fut = guiloop.call_in_gui(boom)
    try:
        fut.result(timeout=10)
    except ValueError as exc:
        box["text"] = "".join(traceback.format_exception(exc))
threading.Thread(target=worker).start()
""")
    poll(lambda: daemon.value("'text' in box"), 10, what="the worker to get the exception")
    text = daemon.value("box['text']")
    assert "in boom" in text and 'raise ValueError("boom in the GUI thread")' in text, text
    assert text.rstrip().endswith("ValueError: boom in the GUI thread"), text


@pytest.mark.core
def test_a_workers_wait_keeps_the_future_api(daemon):
    """While the GUI thread is busy, a worker's wait times out, a cancel()
    from a third thread ends it, and concurrent.futures.wait(),
    as_completed() and add_done_callback() still see the call finish."""
    daemon.ok("""\
import concurrent.futures as cf, guiloop, threading, time
box = {}
def worker():
    f = guiloop.call_in_gui(lambda: 7)
    f.add_done_callback(lambda fut: box.setdefault("callback", fut.result()))
    t0 = time.monotonic()
    try:
        f.result(timeout=0.1)
    except cf.TimeoutError:
        box["timeout"] = time.monotonic() - t0
    try:
        f.exception(timeout=0)
    except cf.TimeoutError:
        box["exception_timeout"] = True
    g = guiloop.call_in_gui(lambda: box.setdefault("ran", True))
    threading.Timer(0.1, g.cancel).start()
    try:
        g.result()
    except cf.CancelledError:
        box["cancelled"] = True
    box["wait"] = len(cf.wait([f], timeout=10).done)
    box["as_completed"] = [x.result() for x in cf.as_completed([f], timeout=10)]
    box["repr"] = "state=finished returned int" in repr(f)
    box["result"] = (f.result(timeout=10), f.exception(timeout=10))
threading.Thread(target=worker).start()
time.sleep(0.6)  # the GUI thread is busy: the calls wait
""")
    poll(lambda: daemon.value("'result' in box"), 10, what="the worker to get its result")
    box = daemon.value("box")
    assert 0.09 <= box.pop("timeout") < 0.5, box
    assert box == {"exception_timeout": True, "cancelled": True, "wait": 1,
                   "as_completed": [7], "repr": True, "result": (7, None),
                   "callback": 7}, box


@pytest.mark.core
def test_in_the_gui_thread_a_call_runs_at_once(daemon):
    assert daemon.value("import guiloop\nf = guiloop.call_in_gui(lambda x: x * 2, 21)\n"
                        "(f.done(), f.result())") == (True, 42)
    ok, _, _, err = daemon.execute("guiloop.call_in_gui(lambda: 1 / 0).result()")
    assert not ok and err.rstrip().endswith("ZeroDivisionError: division by zero"), err


def test_waiting_in_the_gui_thread_runs_the_call(daemon, toolkit):
    """The deadlock case: an execution waits for the Future of a call its own
    worker posted.  The call runs inside the wait, instead of never."""
    ok, result, out, err = daemon.execute("""\
import guiloop, queue, threading, time
q = queue.Queue()
order = []
def worker():
    q.put(guiloop.call_in_gui(lambda: order.append("first") or "one"))
    q.put(guiloop.call_in_gui(lambda: order.append("second") or "two"))
threading.Thread(target=worker).start()
f1, f2 = q.get(timeout=10), q.get(timeout=10)
t0 = time.monotonic()
# Waiting for the second runs the first too, in their order.
value = f2.result(timeout=20)
(value, f1.result(), order, time.monotonic() - t0 < 2)
""", timeout=30)
    assert ok, err
    assert result == "('two', 'one', ['first', 'second'], True)"


@pytest.mark.core
def test_waiting_for_its_own_call_raises(daemon):
    """A call that waits for its own Future could only hang: RuntimeError."""
    daemon.ok("""\
import guiloop, threading
box = {}
def selfish():
    return box["fut"].result()
def worker():
    box["fut"] = guiloop.call_in_gui(selfish)
t = threading.Thread(target=worker)
t.start()
t.join(10)
""")
    poll(lambda: daemon.value("box['fut'].done()"), 10, what="the call to run")
    assert "runs further up" in daemon.value("str(box['fut'].exception())")
    assert daemon.value("type(box['fut'].exception()).__name__") == "RuntimeError"


def test_call_in_gui_runs_while_an_execution_awaits(daemon, toolkit):
    """Between executions, or inside one that awaits: the call does not wait
    for the awaiting execution to end."""
    ok, result, _, err = daemon.execute("""\
import asyncio, guiloop, threading
got = []
threading.Thread(target=lambda: got.append(guiloop.call_in_gui(lambda: 42).result())).start()
for _ in range(100):
    if got:
        break
    await asyncio.sleep(0.05)
got
""", timeout=30)
    assert ok, err
    assert result == "[42]"


# A nested loop of each toolkit inside an execution, left once `got` is set
# (checked by a 20 ms timer) or after 5 s.
NESTED = {
    "gtk": """\
from gi.repository import GLib
ml = GLib.MainLoop()
def check():
    if got:
        ml.quit()
        return False
    return True
GLib.timeout_add(20, check)
GLib.timeout_add(5000, ml.quit)
ml.run()
""",
    "qt": """\
from PyQt5 import QtCore
ml = QtCore.QEventLoop()
check = QtCore.QTimer()
check.timeout.connect(lambda: got and ml.quit())
check.start(20)
QtCore.QTimer.singleShot(5000, ml.quit)
ml.exec_()
check.stop()
""",
    "wx": """\
import wx
ml = wx.GUIEventLoop()
class Check(wx.Timer):
    def Notify(self):
        if got:
            ml.Exit()
check = Check()
check.Start(20)
wx.CallLater(5000, ml.Exit)
ml.Run()
check.Stop()
""",
    "tk": """\
import tkinter
root = tkinter.Tk()
root.withdraw()
done = tkinter.IntVar(root)
def check():
    if got:
        done.set(1)
    else:
        root.after(20, check)
root.after(20, check)
root.after(5000, lambda: done.set(1))
root.wait_variable(done)
""",
}
NESTED["gtk4"] = NESTED["gtk"]
NESTED["qt6"] = NESTED["qt"].replace("PyQt5", "PyQt6").replace("ml.exec_()", "ml.exec()")


def test_call_in_gui_runs_inside_a_nested_loop(daemon, toolkit):
    """A worker's call runs inside an execution's nested loop, not after it."""
    ok, result, _, err = daemon.execute(
        "import guiloop, threading, time\ngot = []\nt0 = time.monotonic()\n"
        "threading.Thread(target=lambda: got.append(guiloop.call_in_gui("
        "lambda: guiloop.execution()).result())).start()\n"
        + NESTED[toolkit] + "(got, time.monotonic() - t0 < 3)", timeout=30)
    assert ok, err
    assert result == "([1], True)"


@pytest.mark.core
def test_an_execution_awaits_a_workers_future(daemon):
    """asyncio.wrap_future() of a worker's call_in_gui() Future: the call runs
    while the execution awaits it."""
    ok, result, _, err = daemon.execute("""\
import asyncio, guiloop, queue, threading
q = queue.Queue()
threading.Thread(target=lambda: q.put(guiloop.call_in_gui(lambda: 6 * 7))).start()
fut = q.get(timeout=10)
await asyncio.wait_for(asyncio.wrap_future(fut), 10)
""", timeout=30)
    assert ok, err
    assert result == "42"
