# SPDX-License-Identifier: MIT
"""Qt only: the Qt 5 plugin and PyQt5 code run against its QApplication.

The module is skipped when the qt plugin is not in the build tree; CI builds
it (-Dqt=enabled), so nothing is skipped there."""
import signal
import time
from pathlib import Path

import pytest

from helpers import (EX_OK, EX_UNAVAILABLE, PLUGIN_BUILD_DIR, find_window, poll,
                     run_guiloopd, window_geometry, xdotool)

if not (PLUGIN_BUILD_DIR / "qt.so").exists():
    pytest.skip(f"the qt plugin is not built ({PLUGIN_BUILD_DIR / 'qt.so'})",
                allow_module_level=True)

pytestmark = pytest.mark.toolkits("qt")

QT = "from PyQt5 import QtCore, QtGui, QtWidgets\nfrom PyQt5.QtWidgets import QApplication\n"

TICKER = QT + """\
ticks = 0
def tick():
    global ticks
    ticks += 1
tick_timer = QtCore.QTimer()
tick_timer.setTimerType(QtCore.Qt.PreciseTimer)
tick_timer.timeout.connect(tick)
tick_timer.start(20)
"""

TK_TICKER = """\
import tkinter
tk_ticks = 0
tk_root = tkinter.Tk()
tk_root.withdraw()
def tk_tick():
    global tk_ticks
    tk_ticks += 1
    tk_root.after(20, tk_tick)
tk_root.after(20, tk_tick)
"""


def qt_window(title, name="win"):
    return QT + f"""\
{name} = QtWidgets.QWidget()
{name}.setWindowTitle({title!r})
{name}.resize(200, 100)
{name}.move(0, 0)
{name}.show()
"""


def ticking(d, name="ticks", at_least=5, interval=0.5):
    t1 = d.value(name)
    time.sleep(interval)
    t2 = d.value(name)
    assert t2 - t1 >= at_least, f"{name}: {t1} then {t2} after {interval} s"


# ---- the application object -------------------------------------------------

def test_instance_is_the_plugins_application(daemon):
    assert daemon.value(QT + "app = QApplication.instance()\n"
                        "import threading\n"
                        "(type(app).__name__, app.applicationName(), "
                        "threading.current_thread() is threading.main_thread(), "
                        "QtCore.QThread.currentThread() is app.thread(), "
                        "QApplication.quitOnLastWindowClosed())") == \
        ("QApplication", "guiloopd", True, True, False)
    assert "toolkit: Qt 5." in daemon.log()


def test_describe_and_list_plugins(make_env):
    r = run_guiloopd(["--list-plugins"], make_env(GUILOOP_PLUGIN_DIR=PLUGIN_BUILD_DIR))
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("qt ")]
    assert line and "Qt 5 main loop (QApplication)" in line[0], r.stdout


def test_no_mesa_llvm_and_user_setting_kept(start_daemon, xvfb):
    d = start_daemon()
    d.ok(qt_window(f"guiloop-gl-{d.pid}"))
    find_window(xvfb, f"guiloop-gl-{d.pid}")
    assert d.value("import os\nos.environ['QT_XCB_GL_INTEGRATION']") == "none"
    assert "libLLVM" not in Path(f"/proc/{d.pid}/maps").read_text()
    d2 = start_daemon(instance="gl", env={"QT_XCB_GL_INTEGRATION": "xcb_egl"})
    assert d2.value("import os\nos.environ['QT_XCB_GL_INTEGRATION']") == "xcb_egl"


def test_bad_display_is_a_clean_error(make_env):
    r = run_guiloopd(["--toolkit", "qt"], make_env(DISPLAY=":99"))
    assert r.returncode == EX_UNAVAILABLE, (r.returncode, r.stderr)
    assert r.stderr.strip().splitlines() == ["guiloopd: qt: cannot open display ':99'"], r.stderr
    r = run_guiloopd(["--toolkit", "qt"], make_env(display=False))
    assert r.returncode == EX_UNAVAILABLE, (r.returncode, r.stderr)
    assert "DISPLAY is not set" in r.stderr, r.stderr


# ---- application objects of executed code (DESIGN.md: programs run unmodified) ----
# These replace the earlier "a second application is refused" tests: a
# program's QApplication(argv) is a new wrapper of the plugin's one
# QApplication, of the class the program asked for.

SAME_APP = ("from PyQt5 import sip\n"
            "sip.unwrapinstance(QApplication.instance()) == sip.unwrapinstance(first)")


@pytest.mark.parametrize("code,kind", [
    ("app = QApplication([])", "QApplication"),
    ("import sys\napp = QtWidgets.QApplication(sys.argv)", "QApplication"),
    ("app = QtGui.QGuiApplication([])", "QGuiApplication"),
    ("app = QtCore.QCoreApplication(['x'])", "QCoreApplication"),
    ("class MyApp(QApplication):\n"
     "    def __init__(self, argv):\n"
     "        super().__init__(argv)\n"
     "        self.mine = 42\n"
     "app = MyApp([])", "MyApp"),
    ("import PyQt5.QtWidgets\napp = PyQt5.QtWidgets.QApplication([])", "QApplication"),
])
def test_application_objects_of_executed_code(daemon, code, kind):
    daemon.ok(QT + "first = QApplication.instance()")
    for _ in range(2):
        daemon.ok(QT + code)
        assert daemon.value("type(app).__name__") == kind
        assert daemon.value(SAME_APP) is True
        assert daemon.value("QApplication.instance().applicationName()") == "guiloopd"
    if kind == "MyApp":
        assert daemon.value("QApplication.instance().mine") == 42
    assert daemon.ok(qt_window("after-a-second-app") + "win.windowTitle()") == \
        "'after-a-second-app'"


def test_application_objects_whatever_the_first_import(daemon):
    # Nothing of PyQt5 is imported yet: the hook patches at import time.
    assert daemon.value("import sys\n'PyQt5.QtCore' in sys.modules") is False
    assert daemon.ok("from PyQt5.QtCore import QCoreApplication\n"
                     "QCoreApplication([]).applicationName()") == "'guiloopd'"
    assert daemon.ok("from PyQt5 import QtWidgets\n"
                     "QtWidgets.QApplication([]).applicationName()") == "'guiloopd'"
    # Wrapping the existing object still works (sip calls the class to do it).
    assert daemon.value("QtWidgets.QApplication.instance() is not None") is True
    assert daemon.value("type(QtWidgets.qApp).__name__") == "QApplication"


def test_application_object_after_a_startup_file_imported_pyqt5(start_daemon, tmp_path):
    startup = tmp_path / "startup.py"
    startup.write_text("from PyQt5.QtWidgets import QApplication\n")
    d = start_daemon(config=f"[python]\nstartup = {startup}\n")
    assert d.ok("app = QApplication([])\napp.exec_()") == "0"
    assert d.value("QApplication.instance() is app") is True


def test_app_quit_and_exec_do_not_end_the_daemon(daemon):
    daemon.ok(TICKER)
    daemon.ok("QApplication.instance().quit()")
    daemon.ok("QApplication.instance().exit(3)")
    ticking(daemon)
    # exec_() returns 0 at once: the daemon's loop already runs.
    assert daemon.ok("QApplication.instance().exec_()") == "0"
    daemon.ok("QtCore.QTimer.singleShot(50, QApplication.instance().quit)")
    time.sleep(0.2)
    ticking(daemon)
    assert "already running" not in daemon.log()


def test_exception_in_a_slot_does_not_abort(daemon):
    # PyQt5 calls qFatal() on an exception in a slot under Python's own excepthook.
    daemon.ok(QT + "QtCore.QTimer.singleShot(0, lambda: 1 / 0)")
    time.sleep(0.3)
    assert daemon.ok("2 + 2") == "4"
    assert "ZeroDivisionError" in daemon.log()


# ---- the loop runs between requests -------------------------------------------

def test_window_is_mapped_and_closed(daemon, xvfb):
    title = f"guiloop-qt-{daemon.pid}"
    daemon.ok(qt_window(title))
    assert len(find_window(xvfb, title)) == 1
    daemon.ok("win.close()")
    poll(lambda: xdotool(xvfb, "search", "--onlyvisible", "--name", f"^{title}$",
                         check=False).returncode != 0,
         5, interval=0.1, what="the window to go away")
    assert daemon.ok("1 + 1") == "2"


def test_qtimer_fires_between_requests(daemon):
    daemon.ok(TICKER)
    time.sleep(0.5)
    assert daemon.value("ticks") >= 5
    ticking(daemon)


def test_signal_from_a_thread_is_delivered_while_idle(daemon):
    daemon.ok(QT + """\
import threading
class Source(QtCore.QObject):
    fired = QtCore.pyqtSignal(int)
received = []
def on_fired(n):
    received.append((n, threading.current_thread() is threading.main_thread()))
source = Source()
source.fired.connect(on_fired)          # queued: emitted from another thread
worker = threading.Thread(target=lambda: [source.fired.emit(i) for i in range(3)])
worker.start()
""")
    poll(lambda: daemon.value("len(received)") == 3, 5, interval=0.05,
         what="the queued signals")
    assert daemon.value("received") == [(0, True), (1, True), (2, True)]


def test_real_click_reaches_the_handler(daemon, xvfb):
    title = f"guiloop-qt-click-{daemon.pid}"
    daemon.ok(QT + f"""\
clicks = 0
def on_click():
    global clicks
    clicks += 1
bwin = QtWidgets.QWidget()
bwin.setWindowTitle({title!r})
bwin.setFixedSize(300, 200)
bwin.move(0, 0)
button = QtWidgets.QPushButton("Click me", bwin)
button.setGeometry(50, 60, 120, 40)
button.clicked.connect(on_click)
bwin.show()
""")
    wid = find_window(xvfb, title)[0]
    x, y, w, h = window_geometry(xvfb, wid)
    assert (w, h) == (300, 200), (x, y, w, h)
    # A click beside the button is not a click on it.
    xdotool(xvfb, "mousemove", "--sync", str(x + 250), str(y + 150))
    time.sleep(0.1)
    xdotool(xvfb, "click", "1")
    # The button's centre, from its known place in the window.
    xdotool(xvfb, "mousemove", "--sync", str(x + 110), str(y + 80))
    time.sleep(0.1)
    xdotool(xvfb, "click", "1")
    poll(lambda: daemon.value("clicks") == 1, 5, interval=0.05, what="the click handler")
    xdotool(xvfb, "click", "1")
    poll(lambda: daemon.value("clicks") == 2, 5, interval=0.05, what="a second click")


def test_events_an_execution_posts_come_before_the_next_one(daemon):
    # One posted call per loop iteration: what an execution posts to Qt is
    # delivered before the next queued execution runs.
    daemon.ok(QT + """\
order = []
class Recorder(QtCore.QObject):
    def event(self, e):
        if e.type() == QtCore.QEvent.User:
            order.append("event")
            return True
        return super().event(e)
recorder = Recorder()
def step(i):
    order.append(i)
    QtCore.QCoreApplication.postEvent(recorder, QtCore.QEvent(QtCore.QEvent.User))
""")
    blocker = daemon.execute_bg("import time\ntime.sleep(0.3)")
    daemon.wait_busy()
    calls = []
    for i in range(5):
        calls.append(daemon.execute_bg(f"step({i})"))
        daemon.wait_queue(i + 1)
    blocker.result(10)
    for c in calls:
        assert c.result(10)[0]
    poll(lambda: daemon.value("len(order)") == 10, 5, interval=0.05, what="the events")
    assert daemon.value("order") == [0, "event", 1, "event", 2, "event", 3, "event",
                                     4, "event"]


def test_queue_does_not_starve_the_qt_loop(daemon):
    daemon.ok(TICKER)
    blocker = daemon.execute_bg("import time\ntime.sleep(0.3)")
    daemon.wait_busy()
    calls = [daemon.execute_bg("import time\ntime.sleep(0.05)\nticks") for _ in range(10)]
    daemon.wait_queue(10)
    blocker.result(10)
    seen = [int(c.result(20)[1]) for c in calls]
    assert seen[-1] - seen[0] >= 5, seen


# ---- interrupts -----------------------------------------------------------------

@pytest.mark.parametrize("code", ["while True:\n    pass", "import time\ntime.sleep(60)"])
def test_interrupt(daemon, code):
    daemon.ok(TICKER + qt_window(f"guiloop-qt-int-{daemon.pid}"))
    call = daemon.execute_bg(code)
    daemon.wait_busy()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert daemon.interrupt() is True
    success, _, _, err = call.result(10)
    assert time.monotonic() - t0 < 2
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    ticking(daemon)


# ---- Tk as a guest in the Qt loop -------------------------------------------------

@pytest.fixture
def guest(start_daemon):
    if not (PLUGIN_BUILD_DIR / "tk.so").exists():
        pytest.fail(f"{PLUGIN_BUILD_DIR / 'tk.so'} is not built")
    return start_daemon(args=["--tk-guest"])


def test_tk_guest_beside_qt(guest, xvfb):
    qt_title = f"guiloop-qt-host-{guest.pid}"
    tk_title = f"guiloop-tk-guest-{guest.pid}"
    guest.ok(qt_window(qt_title))
    guest.ok(f"import tkinter\ntkwin = tkinter.Tk()\ntkwin.title({tk_title!r})\n"
             "tkwin.geometry('200x100+300+0')")
    find_window(xvfb, qt_title)
    find_window(xvfb, tk_title)
    guest.ok(TICKER)
    guest.ok(TK_TICKER)
    time.sleep(0.5)
    a1, b1 = guest.value("(ticks, tk_ticks)")
    time.sleep(0.5)
    a2, b2 = guest.value("(ticks, tk_ticks)")
    assert a1 >= 5 and b1 >= 5, (a1, b1)
    assert a2 - a1 >= 5 and b2 - b1 >= 5, ((a1, b1), (a2, b2))


def test_tk_guest_idles_and_interrupts(guest):
    guest.ok(qt_window(f"guiloop-qt-idle-{guest.pid}") +
             "import tkinter\ntkwin = tkinter.Tk()\ntkwin.title('idle')")
    time.sleep(0.5)
    before = guest.context_switches()
    time.sleep(3)
    woke = guest.context_switches() - before
    assert woke <= 6, f"{woke} context switches in 3 s of idling with a Tk guest"
    call = guest.execute_bg("import time\ntime.sleep(60)")
    guest.wait_busy()
    time.sleep(0.2)
    assert guest.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err


# ---- idle, locale, shutdown ---------------------------------------------------------

def test_idle_daemon_with_a_window_does_not_wake_up(daemon, xvfb):
    daemon.ok(qt_window(f"guiloop-qt-idle-{daemon.pid}"))
    find_window(xvfb, f"guiloop-qt-idle-{daemon.pid}")
    time.sleep(0.5)
    before = daemon.context_switches()
    time.sleep(3)
    woke = daemon.context_switches() - before
    # Measured 0; a polling timer anywhere would give hundreds.
    assert woke <= 6, f"{woke} context switches in 3 s of idling"


def test_lc_numeric_is_c(daemon):
    assert daemon.value(QT + "import locale\n"
                        "(locale.setlocale(locale.LC_NUMERIC), '%.2f' % 1.5, float('2.5'), "
                        "str(0.1), QtCore.QLocale.c().toString(1.5))") == \
        ("C", "1.50", 2.5, "0.1", "1.5")
    assert daemon.env["LANG"] == "C.UTF-8"


OPEN_EVERYTHING = QT + """\
class Window(QtWidgets.QMainWindow):
    def event(self, e):
        return super().event(e)
    def closeEvent(self, e):
        print("closed")
main = Window()
main.setWindowTitle({title!r})
main.setCentralWidget(QtWidgets.QPushButton("b"))
main.show()
app_timer = QtCore.QTimer(QApplication.instance())
app_timer.timeout.connect(lambda: None)
app_timer.start(10)
free_timer = QtCore.QTimer()
free_timer.timeout.connect(lambda: None)
free_timer.start(5)
child = QtCore.QObject(QApplication.instance())
import atexit
atexit.register(main.close)
"""


@pytest.mark.parametrize("how", ["Shutdown", "SIGTERM"])
def test_shutdown_with_windows_and_timers(start_daemon, xvfb, how):
    d = start_daemon()
    title = f"guiloop-qt-bye-{d.pid}"
    d.ok(OPEN_EVERYTHING.format(title=title))
    d.ok(qt_window(title + "-2", "second"))
    find_window(xvfb, title)
    find_window(xvfb, title + "-2")
    if how == "Shutdown":
        d.shutdown()
        assert d.wait(10) == EX_OK, d.log()
    else:
        assert d.stop(signal.SIGTERM) == EX_OK, d.log()
    assert "stopped" in d.log()


def test_shutdown_while_in_a_nested_dialog(start_daemon):
    d = start_daemon()
    call = d.execute_bg(QT + "dialog = QtWidgets.QDialog()\ndialog.exec_()")
    d.wait_busy()
    time.sleep(0.2)
    d.shutdown()
    assert d.wait(10) == EX_OK, d.log()
    success, _, _, _ = call.result(10)
    assert not success
