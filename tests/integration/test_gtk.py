# SPDX-License-Identifier: MIT
"""GTK only: what test_gui.py does not cover for every toolkit."""
import pytest

from helpers import find_window, poll, window_geometry, xdotool

pytestmark = pytest.mark.toolkits("gtk")

GTK = 'import gi\ngi.require_version("Gtk", "3.0")\nfrom gi.repository import Gtk, GLib\n'


def test_gtk_is_initialised_in_the_main_thread(daemon):
    assert daemon.value(GTK + "import threading\n"
                        "threading.current_thread() is threading.main_thread()") is True
    assert daemon.value(GTK + "Gtk.main_level()") >= 1


def test_key_press(daemon, xvfb):
    title = f"guiloop-keys-{daemon.pid}"
    daemon.ok(GTK + f"""\
win = Gtk.Window(title={title!r})
entry = Gtk.Entry()
win.add(entry)
win.set_default_size(200, 40)
win.move(0, 0)
win.show_all()
win.present()
entry.grab_focus()
""")
    wid = find_window(xvfb, title)[0]
    x, y, w, h = window_geometry(xvfb, wid)
    xdotool(xvfb, "mousemove", "--sync", str(x + w // 2), str(y + h // 2))
    xdotool(xvfb, "click", "1")
    xdotool(xvfb, "windowfocus", "--sync", wid, check=False)
    xdotool(xvfb, "type", "--delay", "20", "hello")
    poll(lambda: daemon.value("entry.get_text()") == "hello", 5, interval=0.05,
         what="the typed text in the entry")


def test_nested_main_loop(daemon):
    # A nested gtk_main() inside an execution must not wedge the daemon.
    success, _, _, err = daemon.execute(GTK + "GLib.timeout_add(100, Gtk.main_quit)\n"
                                        "Gtk.main()\n'nested done'", timeout=20)
    assert success, err
    assert daemon.ok("1+1") == "2"


def test_window_survives_between_executions(daemon, xvfb):
    title = f"guiloop-persist-{daemon.pid}"
    daemon.ok(GTK + f"w = Gtk.Window(title={title!r})\nw.show_all()")
    find_window(xvfb, title)
    daemon.ok("w.set_title(w.get_title() + '-renamed')")
    find_window(xvfb, title + "-renamed")
    assert daemon.value("w.get_visible()") is True


def test_idle_of_one_execution_runs_before_the_next(daemon):
    """What an execution scheduled at g_idle_add()'s priority goes before the
    next queued execution, as after a GTK event handler."""
    daemon.ok(GTK + "order = []")
    blocker = daemon.execute_bg("import time\ntime.sleep(0.3)")
    daemon.wait_busy()
    first = daemon.execute_bg("GLib.idle_add(lambda: order.append('idle') and False)\n"
                              "order.append('e1')")
    second = daemon.execute_bg("order.append('e2')")
    daemon.wait_queue(2)
    blocker.result(10)
    assert first.result(10)[0] and second.result(10)[0]
    assert daemon.value("order") == ["e1", "idle", "e2"]
