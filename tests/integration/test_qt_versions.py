# SPDX-License-Identifier: MIT
"""qt (Qt 5, PyQt5) and qt6 (Qt 6, PyQt6): one source, one Qt per process.

What test_qt.py checks in depth for Qt 5, here for both, written in the API
the two bindings share (PyQt6 has exec() only, and scoped enums)."""
import time

import pytest

from helpers import EX_OK, PLUGIN_BUILD_DIR, poll, run_guiloopd

pytestmark = pytest.mark.toolkits("qt", "qt6")

PYQT = {"qt": "PyQt5", "qt6": "PyQt6"}
OTHER = {"qt": "qt6", "qt6": "qt"}
MAJOR = {"qt": 5, "qt6": 6}


def qt(toolkit):
    return (f"from {PYQT[toolkit]} import QtCore, QtGui, QtWidgets\n"
            f"from {PYQT[toolkit]}.QtWidgets import QApplication\n")


def other_pyqt(toolkit):
    return PYQT[OTHER[toolkit]]


@pytest.mark.parametrize("how", ["import {m}", "from {m}.QtWidgets import QApplication",
                                 "import {m}.QtCore"])
def test_the_other_pyqt_is_a_clear_import_error(daemon, toolkit, how):
    success, _, _, err = daemon.execute(how.format(m=other_pyqt(toolkit)))
    assert not success
    last = err.strip().splitlines()[-1]
    assert "ToolkitConflict" in last and "cannot share one process" in last, err
    assert f"--toolkit {OTHER[toolkit]}" in last, err
    assert daemon.value(f"try:\n    import {other_pyqt(toolkit)}\nexcept ImportError:\n"
                        "    r = 'ImportError'\nr") == "ImportError"
    # The right one still works afterwards, and is the only one loaded.
    assert daemon.value(qt(toolkit) + "QtCore.QT_VERSION_STR.split('.')[0]") == \
        str(MAJOR[toolkit])
    assert daemon.value(f"import sys\n'{other_pyqt(toolkit)}' in sys.modules") is False


def test_list_plugins_says_they_cannot_share_a_process(cli_env, toolkit):
    p = run_guiloopd(["--list-plugins"], cli_env)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.splitlines() if str(PLUGIN_BUILD_DIR / f"{toolkit}.so") in l]
    assert line and f"Qt {MAJOR[toolkit]} main loop" in line[0], p.stdout
    assert f"cannot share a process with {OTHER[toolkit]}" in line[0], p.stdout


def test_describe_in_the_log(daemon, toolkit):
    poll(lambda: f"toolkit: Qt {MAJOR[toolkit]}." in daemon.log(), 5,
         what="the toolkit line in the log")


def test_program_s_application_is_the_plugin_s(daemon, toolkit):
    assert daemon.value(qt(toolkit) + "import sys\napp = QApplication(sys.argv)\n"
                        "(app.exec(), QApplication.instance() is app,"
                        " QApplication.quitOnLastWindowClosed())") == (0, True, False)
    assert daemon.ok("1 + 1") == "2"


def test_exception_in_a_slot_does_not_abort(daemon, toolkit):
    # PyQt calls qFatal() on an exception in a slot under Python's own excepthook.
    daemon.ok(qt(toolkit) + "QtCore.QTimer.singleShot(0, lambda: 1 / 0)")
    time.sleep(0.3)
    assert daemon.ok("2 + 2") == "4"
    assert "ZeroDivisionError" in daemon.log()


def test_precise_timer_between_requests(daemon, toolkit):
    daemon.ok(qt(toolkit) + """\
ticks = 0
def tick():
    global ticks
    ticks += 1
tick_timer = QtCore.QTimer()
tick_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
tick_timer.timeout.connect(tick)
tick_timer.start(20)
""")
    t1 = daemon.value("ticks")
    time.sleep(0.5)
    assert daemon.value("ticks") - t1 >= 10


def test_interrupt_ends_a_nested_dialog(daemon, toolkit):
    call = daemon.execute_bg(qt(toolkit) + "dialog = QtWidgets.QDialog()\ndialog.exec()")
    daemon.wait_busy()
    time.sleep(0.2)
    assert daemon.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and "KeyboardInterrupt" in err, err
    assert daemon.ok("1 + 1") == "2"


def test_shutdown_while_in_a_nested_dialog(start_daemon, toolkit):
    d = start_daemon()
    call = d.execute_bg(qt(toolkit) + "dialog = QtWidgets.QDialog()\ndialog.exec()")
    d.wait_busy()
    time.sleep(0.2)
    d.shutdown()
    assert d.wait(10) == EX_OK, d.log()
    success, _, _, _ = call.result(10)
    assert not success
