# SPDX-License-Identifier: MIT
"""Executed code gets a working application object, however often it asks.

DESIGN.md, "Programs run unmodified", replaced the earlier rule that refused
a second application object: QApplication(sys.argv) and wx.App() work as in a
plain interpreter, and QApplication.instance() / wx.GetApp() keep answering.
"""
import pytest

SECOND_APP = {
    "qt": ("from PyQt5 import QtWidgets\napp2 = QtWidgets.QApplication([])\n"
           "label = QtWidgets.QLabel('after')\nlabel.text()",
           "from PyQt5 import QtWidgets\nQtWidgets.QApplication.instance() is not None"),
    "wx": ("import wx\napp2 = wx.App()\nframe2 = wx.Frame(None, title='after')\n"
           "frame2.GetTitle()",
           "import wx\nwx.GetApp() is not None"),
}
SECOND_APP["qt6"] = tuple(code.replace("PyQt5", "PyQt6") for code in SECOND_APP["qt"])


@pytest.mark.toolkits("qt", "qt6", "wx")
def test_second_application_object_works(daemon, toolkit):
    make_second, has_app = SECOND_APP[toolkit]
    assert daemon.value(has_app) is True
    for _ in range(2):
        assert daemon.ok(make_second) == "'after'"
    assert daemon.alive()
    assert daemon.value(has_app) is True
    assert daemon.ok("1+1") == "2"
