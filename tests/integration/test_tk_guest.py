# SPDX-License-Identifier: MIT
"""Tk as a guest beside a gtk, gtk4, qt, qt6 or wx loop (tk_guest = true)."""
import time

import pytest

from gui_snippets import snippet
from helpers import PLUGIN_BUILD_DIR, click_window, find_window, poll

pytestmark = pytest.mark.toolkits("gtk", "gtk4", "qt", "qt6", "wx")


@pytest.fixture
def guest(start_daemon, toolkit):
    if not (PLUGIN_BUILD_DIR / "tk.so").exists():
        pytest.fail(f"{PLUGIN_BUILD_DIR / 'tk.so'} is not built")
    return start_daemon(args=["--tk-guest"])


def test_tk_guest_property(guest, toolkit):
    assert guest.get("TkGuest") is True
    assert guest.get("Toolkit") == toolkit


def test_tk_guest_from_config(start_daemon, toolkit):
    d = start_daemon(config="[daemon]\ntk_guest = true\n")
    assert d.get("TkGuest") is True


def test_both_toolkits_show_windows(guest, toolkit, xvfb):
    host_title = f"guiloop-host-{guest.pid}"
    tk_title = f"guiloop-guest-{guest.pid}"
    guest.ok(snippet(toolkit, "window", title=host_title))
    guest.ok(snippet("tk", "window", title=tk_title).replace("win", "tkwin"))
    find_window(xvfb, host_title)
    find_window(xvfb, tk_title)


def test_both_timers_run_between_requests(guest, toolkit):
    guest.ok(snippet(toolkit, "ticker"))
    guest.ok(snippet("tk", "ticker").replace("ticks", "tk_ticks").replace("tick(", "tk_tick(")
             .replace("tick)", "tk_tick)"))
    time.sleep(0.5)
    a1, b1 = guest.value("(ticks, tk_ticks)")
    time.sleep(0.5)
    a2, b2 = guest.value("(ticks, tk_ticks)")
    assert a1 >= 5 and b1 >= 5, (a1, b1)
    assert a2 - a1 >= 5 and b2 - b1 >= 5, ((a1, b1), (a2, b2))


def test_tk_button_click_in_guest(guest, xvfb):
    title = f"guiloop-guest-click-{guest.pid}"
    guest.ok(snippet("tk", "button", title=title))
    click_window(xvfb, find_window(xvfb, title)[0])
    poll(lambda: guest.value("clicks") == 1, 5, interval=0.05, what="the Tk click handler")


def test_idle_guest_does_not_wake_up(guest):
    guest.ok(snippet("tk", "window", title=f"guiloop-idle-{guest.pid}"))
    time.sleep(0.5)
    before = guest.context_switches()
    time.sleep(2)
    woke = guest.context_switches() - before
    assert woke <= 20, f"{woke} context switches in 2 s with an idle Tk guest"


def test_tk_guest_interrupt(guest):
    call = guest.execute_bg("import tkinter, time\nr = tkinter.Tk()\ntime.sleep(60)")
    guest.wait_busy()
    time.sleep(0.2)
    assert guest.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err


def test_click_on_each_toolkit_in_one_daemon(guest, toolkit, xvfb):
    """The host's button and Tk's, in the same daemon, both reach their handler."""
    def click(title):
        click_window(xvfb, find_window(xvfb, title)[0])

    host = f"guiloop-host-click-{toolkit}-{guest.pid}"
    guest.ok(snippet(toolkit, "button", title=host))
    click(host)
    poll(lambda: guest.value("clicks") == 1, 5, interval=0.05, what=f"the {toolkit} click handler")

    tk = f"guiloop-tk-click-{guest.pid}"
    # Tk's counter is tk_clicks; its window maps on top, at the same place.
    guest.ok(snippet("tk", "button", title=tk).replace("clicks", "tk_clicks"))
    click(tk)
    poll(lambda: guest.value("tk_clicks") == 1, 5, interval=0.05, what="the Tk click handler")
    assert guest.value("clicks") == 1, "the click went to the host's window"
