# SPDX-License-Identifier: MIT
"""Executed code uses the plugin's application object and may not replace it."""
import pytest

SECOND_APP = {
    "qt": ("from PyQt5 import QtWidgets\napp2 = QtWidgets.QApplication([])",
           "from PyQt5 import QtWidgets\nQtWidgets.QApplication.instance() is not None"),
    "wx": ("import wx\napp2 = wx.App()",
           "import wx\nwx.GetApp() is not None"),
}


@pytest.mark.toolkits("qt", "wx")
def test_second_application_object_is_refused(daemon, toolkit):
    make_second, has_app = SECOND_APP[toolkit]
    assert daemon.value(has_app) is True
    success, _, _, err = daemon.execute(make_second)
    assert not success
    last = err.strip().splitlines()[-1]
    assert "Error" in last or "Exception" in last, err
    assert daemon.alive()
    assert daemon.value(has_app) is True
    assert daemon.ok("1+1") == "2"
