# SPDX-License-Identifier: MIT
"""The daemon's end when something below Python fails (issues 8 and 9).

A crash in native code writes every Python thread's stack to the log
(faulthandler) and the exit status is non-zero, so a user unit restarts the
daemon.  Losing the X server is one log line and exit 69 on every toolkit.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from gui_snippets import snippet


@pytest.mark.skipif(bool(os.environ.get("GUILOOP_ASAN")),
                    reason="under ASan a SIGSEGV is the sanitizer's own report, not faulthandler's")
def test_native_crash_logs_the_python_stack(start_daemon, toolkit):
    d = start_daemon()
    d.execute_bg("import ctypes\ndef crash_in_a_binding():\n    ctypes.string_at(0)\n"
                 "crash_in_a_binding()")
    rc = d.wait(15)
    assert rc != 0
    log = d.log()
    assert "Fatal Python error: Segmentation fault" in log, log
    assert "crash_in_a_binding" in log, log


@pytest.fixture
def own_xvfb():
    """A private X server that the test may kill: (DISPLAY, process)."""
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-nolisten", "tcp", "-noreset",
                             "-screen", "0", "640x480x24"],
                            pass_fds=(w,), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not report its display"
    yield ":" + number, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.mark.parametrize("window", [True, False], ids=["window", "no-window"])
def test_losing_the_x_server_exits_69(start_daemon, toolkit, own_xvfb, window):
    # Without a window, tk had no X connection at all and ran on unaware.
    display, xvfb = own_xvfb
    d = start_daemon(env={"DISPLAY": display})
    if window:
        d.ok(snippet(toolkit, "window", title="guiloop-x-lost"))
    else:
        d.ok("1")
    before = len(d.log().splitlines())
    xvfb.send_signal(signal.SIGKILL)
    xvfb.wait()
    rc = d.wait(15)
    assert rc == 69, d.log()
    after = d.log().splitlines()[before:]
    lost = [line for line in after if re.search(r"lost the connection to the X server", line)]
    assert len(lost) == 1, after
    assert len(after) == 1, after
    time.sleep(0.1)
    assert not d.conn.name_has_owner(d.name)
