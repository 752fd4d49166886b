# SPDX-License-Identifier: MIT
"""wx only: wxPython against the plugin's application, and the traps of issue 4.

The whole module is skipped when the wx plugin is not built; CI builds it.
"""
import signal
import time

import pytest

from gui_snippets import snippet
from helpers import (EX_UNAVAILABLE, PLUGIN_BUILD_DIR, click_window, find_window, poll,
                     run_guiloopd, xdotool)

if not (PLUGIN_BUILD_DIR / "wx.so").exists():
    pytest.skip(f"the wx plugin is not built ({PLUGIN_BUILD_DIR / 'wx.so'})",
                allow_module_level=True)

pytestmark = pytest.mark.toolkits("wx")


TICKER = """\
import wx
ticks = 0
class Ticker(wx.Timer):
    def Notify(self):
        global ticks
        ticks += 1
tick_timer = Ticker()
tick_timer.Start(20)
"""


def frame(title, name="win"):
    return (f"import wx\n{name} = wx.Frame(None, title={title!r}, pos=(0, 0), size=(200, 100))\n"
            f"{name}.Show()\n")


def assert_ticking(daemon, name="ticks", at_least=5):
    time.sleep(0.5)
    t1 = daemon.value(name)
    time.sleep(0.5)
    t2 = daemon.value(name)
    assert t1 >= at_least and t2 - t1 >= at_least, (t1, t2)


def assert_clean_stop(daemon, code, how):
    assert code == 0, f"exit code {code} after {how}; log:\n{daemon.log()}"
    log = daemon.log()
    assert "stopped" in log.splitlines()[-1], log
    # The grace periods are for stuck executions, never for an ordinary stop.
    for words in ("after shutdown began", "did not end in time", "grace"):
        assert words not in log, log


def test_get_app_is_the_plugins_app(daemon):
    assert daemon.value("import wx\nwx.GetApp() is not None") is True
    assert daemon.value("isinstance(wx.GetApp(), wx.App)") is True
    assert daemon.value("import _guiloop_setup_wx\n"
                        "wx.GetApp() is _guiloop_setup_wx.app is wx.App.Get()") is True
    assert daemon.value("wx.GetApp().IsMainLoopRunning()") is True
    assert daemon.value("import threading\n"
                        "threading.current_thread() is threading.main_thread()") is True


def test_toolkit_is_described(daemon):
    poll(lambda: "toolkit: wxWidgets 3." in daemon.log(), 5, what="the toolkit line")
    assert daemon.get("Toolkit") == "wx"


def test_list_plugins_describes_wx(cli_env):
    r = run_guiloopd(["--list-plugins", "--plugin-dir", str(PLUGIN_BUILD_DIR)], cli_env)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("wx ")]
    assert line and "wxWidgets 3.2 main loop" in line[0], r.stdout


def test_frame_is_mapped(daemon, xvfb):
    title = f"guiloop-wx-frame-{daemon.pid}"
    daemon.ok(frame(title))
    assert len(find_window(xvfb, title)) == 1
    assert daemon.value("win.IsShown()") is True
    daemon.ok("win.SetTitle(win.GetTitle() + '-renamed')")
    find_window(xvfb, title + "-renamed")
    # Destroy() deletes a frame at wx's next idle time, which follows an execution.
    daemon.ok("win.Destroy()")
    poll(lambda: xdotool(xvfb, "search", "--onlyvisible", "--name", f"^{title}-renamed$",
                         check=False).returncode != 0, 5, interval=0.1,
         what="the destroyed frame to go away")
    assert daemon.value("bool(win)") is False


def test_timer_keeps_firing_between_requests(daemon):
    daemon.ok(TICKER)
    assert_ticking(daemon)
    daemon.ok("tick_timer.Stop()")
    stopped = daemon.value("ticks")
    time.sleep(0.2)
    assert daemon.value("ticks") == stopped


def test_call_after_and_call_later(daemon):
    daemon.ok("import wx\ndone = []\nwx.CallAfter(done.append, 'after')\n"
              "wx.CallLater(50, done.append, 'later')")
    poll(lambda: daemon.value("done") == ["after", "later"], 5, interval=0.05,
         what="wx.CallAfter and wx.CallLater")


def test_call_after_runs_before_the_next_execution(daemon):
    # The next execution already waits while the first queues a CallAfter:
    # like at a prompt, what the first queued runs before the second starts.
    for _ in range(3):
        first = daemon.execute_bg("import time, wx\norder = []\n"
                                  "wx.CallAfter(order.append, 'call-after')\ntime.sleep(0.2)")
        daemon.wait_busy()
        second = daemon.execute_bg("order.append('next execution')")
        daemon.wait_queue(1)
        assert first.result()[0] and second.result()[0]
        assert daemon.value("order") == ["call-after", "next execution"]


def test_click_reaches_the_handler(daemon, xvfb):
    title = f"guiloop-wx-click-{daemon.pid}"
    daemon.ok(snippet("wx", "button", title=title))
    click_window(xvfb, find_window(xvfb, title)[0])
    poll(lambda: daemon.value("clicks") == 1, 5, interval=0.05, what="the wx click handler")


@pytest.mark.parametrize("code", ["while True:\n    pass", "import time\ntime.sleep(60)"],
                         ids=["busy-loop", "sleep"])
def test_interrupt(daemon, code):
    daemon.ok(TICKER)
    call = daemon.execute_bg(code)
    daemon.wait_busy()
    time.sleep(0.2)
    assert daemon.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    assert daemon.ok("1 + 1") == "2"
    assert_ticking(daemon)


# A program's own application objects work (DESIGN.md, "Programs run
# unmodified"); these replace the earlier "a second app is refused" tests.
@pytest.mark.parametrize("code", [
    "app = wx.App(False)",
    "app = wx.App()",
    "class MyApp(wx.App):\n    def OnInit(self):\n        self.mine = 42\n        return True\n"
    "app = MyApp(False)",
    "app = wx.PySimpleApp()",
    "from wx.core import App as A\napp = A(redirect=False)",
], ids=["App", "App-default", "subclass", "PySimpleApp", "core"])
def test_app_objects_of_executed_code(daemon, xvfb, code):
    title = f"guiloop-wx-second-{daemon.pid}"
    daemon.ok(frame(title) + "first = wx.GetApp()")
    for run in range(2):
        daemon.ok("import wx\n" + code)
        assert daemon.value("wx.GetApp() is app") is True
        assert daemon.ok("app.MainLoop()") == "0"
    if "MyApp" in code:
        assert daemon.value("wx.GetApp().mine") == 42
    daemon.ok(frame(title + "-after", "win2"))
    find_window(xvfb, title + "-after")
    daemon.ok(TICKER)
    assert_ticking(daemon)
    find_window(xvfb, title)
    assert_clean_stop(daemon, daemon.stop(), "SIGTERM")


def test_own_main_loop_calls_do_not_end_the_daemon(daemon, xvfb):
    title = f"guiloop-wx-nested-{daemon.pid}"
    daemon.ok(frame(title) + TICKER)
    # MainLoop() returns 0 at once: the daemon's loop already runs.
    assert daemon.value("wx.CallLater(100, wx.GetApp().ExitMainLoop)\n"
                        "(wx.GetApp().MainLoop(), 'nested done')", timeout=20) == (0, "nested done")
    # ExitMainLoop() and closing the last frame do not end the daemon's loop.
    daemon.ok("wx.GetApp().ExitMainLoop()")
    daemon.ok("win.Destroy()")
    time.sleep(0.3)
    assert daemon.alive()
    assert daemon.value("wx.GetApp().IsMainLoopRunning()") is True
    assert_ticking(daemon)
    daemon.ok(frame(title + "-again", "win2"))
    find_window(xvfb, title + "-again")


def test_lc_numeric_is_c(start_daemon):
    d = start_daemon(env={"LANG": "C.UTF-8", "LC_ALL": None, "LC_NUMERIC": None})
    d.ok(frame(f"guiloop-wx-locale-{d.pid}"))
    assert d.value("import locale\nlocale.setlocale(locale.LC_NUMERIC)") == "C"
    assert d.value("locale.localeconv()['decimal_point']") == "."


def test_idle_does_not_wake_up(daemon):
    daemon.ok(frame(f"guiloop-wx-idle-{daemon.pid}") + "button = wx.Button(win, label='idle')")
    time.sleep(1.0)
    before = daemon.context_switches()
    time.sleep(3.0)
    woke = daemon.context_switches() - before
    assert woke <= 3, f"{woke} context switches in 3 s with an idle wx frame"


def test_tk_guest_beside_wx(start_daemon, xvfb):
    if not (PLUGIN_BUILD_DIR / "tk.so").exists():
        pytest.skip("the tk plugin is not built")
    d = start_daemon(args=["--tk-guest"])
    wx_title, tk_title = f"guiloop-wx-host-{d.pid}", f"guiloop-tk-guest-{d.pid}"
    d.ok(frame(wx_title) + TICKER)
    d.ok(f"""\
import tkinter
tkwin = tkinter.Tk()
tkwin.title({tk_title!r})
tk_ticks = 0
def tk_tick():
    global tk_ticks
    tk_ticks += 1
    tkwin.after(20, tk_tick)
tkwin.after(20, tk_tick)
""")
    find_window(xvfb, wx_title)
    find_window(xvfb, tk_title)
    time.sleep(0.5)
    a1, b1 = d.value("(ticks, tk_ticks)")
    time.sleep(0.5)
    a2, b2 = d.value("(ticks, tk_ticks)")
    assert a1 >= 5 and b1 >= 5, (a1, b1)
    assert a2 - a1 >= 5 and b2 - b1 >= 5, ((a1, b1), (a2, b2))
    assert_clean_stop(d, d.stop(), "SIGTERM")


@pytest.mark.parametrize("how", ["Shutdown", "SIGTERM"])
def test_stop_with_frames_and_a_running_timer(daemon, xvfb, how):
    daemon.ok(frame(f"guiloop-wx-stop-{daemon.pid}") +
              frame(f"guiloop-wx-stop2-{daemon.pid}", "win2") + TICKER +
              "dialog = wx.Dialog(win, title='modeless')\ndialog.Show()")
    find_window(xvfb, f"guiloop-wx-stop2-{daemon.pid}")
    assert_ticking(daemon)
    t0 = time.monotonic()
    if how == "Shutdown":
        daemon.shutdown()
        code = daemon.wait(10)
    else:
        code = daemon.stop(signal.SIGTERM)
    assert_clean_stop(daemon, code, how)
    assert time.monotonic() - t0 < 3, "stopping took longer than any grace period should"


def test_shutdown_while_a_nested_main_loop_runs(daemon, xvfb):
    daemon.ok(frame(f"guiloop-wx-nest-stop-{daemon.pid}"))
    call = daemon.execute_bg("wx.GUIEventLoop().Run()")
    daemon.wait_busy()
    time.sleep(0.2)
    daemon.shutdown()
    assert_clean_stop(daemon, daemon.wait(10), "Shutdown")
    call.wait(10)


def test_display_unavailable(make_env):
    env = make_env(display=False, DISPLAY=":99")
    r = run_guiloopd(["--toolkit", "wx", "--plugin-dir", str(PLUGIN_BUILD_DIR)], env)
    assert r.returncode == EX_UNAVAILABLE, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open display ':99'" in lines[0], r.stderr


@pytest.mark.parametrize("startup", ["import wx\n", "import wx\nmine = wx.App(False)\n"],
                         ids=["imports-wx", "makes-an-app"])
def test_wx_used_by_the_startup_file(start_daemon, tmp_path, startup):
    # python.startup runs before the plugin's setup: an app made there is adopted
    # (with the daemon's SIGINT handler given back), and a later one works too.
    script = tmp_path / "startup.py"
    script.write_text(startup)
    d = start_daemon(config=f"[python]\nstartup = {script}\n")
    assert d.value("import wx\nisinstance(wx.GetApp(), wx.App)") is True
    if "mine" in startup:
        assert d.value("wx.GetApp() is mine") is True
    assert d.value("app2 = wx.App(False)\nwx.GetApp() is app2") is True
    call = d.execute_bg("import time\ntime.sleep(60)")
    d.wait_busy()
    time.sleep(0.2)
    assert d.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    d.ok(TICKER)
    assert_ticking(d)
    assert_clean_stop(d, d.stop(), "SIGTERM")


def test_pygobject_gets_gtk3_beside_wx(daemon):
    """wxGTK is GTK 3: `from gi.repository import Gtk` must not load GTK 4's typelib."""
    assert daemon.ok("import wx\nimport gi\nfrom gi.repository import Gtk\n"
                     "Gtk.get_major_version()") == "3"
