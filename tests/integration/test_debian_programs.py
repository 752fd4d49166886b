# SPDX-License-Identifier: MIT
"""Real programs nobody here wrote, from Debian's packages, run unmodified
(issue 9): pyqt5-examples' digital clock, python3.11-examples' turtledemo
clock, wxPython's wx.lib.plot example.  Each runs twice; its window is
mapped and its timers keep running between executions."""
import time
from pathlib import Path

import pytest

from helpers import find_window

DIGITAL_CLOCK = Path("/usr/share/doc/pyqt5-examples/examples/widgets/digitalclock.py")
TURTLE_CLOCK = Path("/usr/lib/python3.11/turtledemo/clock.py")
WX_PLOT = Path("/usr/lib/python3/dist-packages/wx/lib/plot/examples/simple_example.py")


def _run(daemon, path):
    if not path.exists():
        pytest.skip(f"{path} is not installed (tools/install-deps)")
    t0 = time.monotonic()
    success, out, err = daemon.run_file(path)
    assert success, err
    assert time.monotonic() - t0 < 2.0
    return out


@pytest.mark.toolkits("qt")
def test_pyqt5_digital_clock(daemon, xvfb):
    for run in range(2):
        _run(daemon, DIGITAL_CLOCK)
        assert daemon.value("clock.windowTitle(), clock.isVisible()") == ("Digital Clock", True)
    assert len(find_window(xvfb, "Digital Clock")) == 2
    assert daemon.value("from PyQt5.QtCore import QTimer\n"
                        "[t.isActive() for t in clock.findChildren(QTimer)]") == [True]


@pytest.mark.toolkits("tk")
def test_turtledemo_clock(daemon, xvfb):
    for run in range(2):
        assert _run(daemon, TURTLE_CLOCK) == "EVENTLOOP\n"
        find_window(xvfb, "Python Turtle Graphics")
        first = daemon.value("second_hand.heading()")
        time.sleep(1.1)
        # The clock's 100 ms ontimer() moved the second hand meanwhile.
        assert daemon.value("second_hand.heading()") != first


@pytest.mark.toolkits("wx")
def test_wx_plot_example(daemon, xvfb):
    for run in range(2):
        _run(daemon, WX_PLOT)
        assert daemon.value("frame.GetTitle(), frame.IsShown()") == \
            ("Example of wx.lib.plot", True)
    assert len(find_window(xvfb, "Example of wx.lib.plot")) == 2
