# SPDX-License-Identifier: MIT
"""gtk (GTK 3) and gtk4 (GTK 4): one source, one process each.

PyGObject would load the newest Gtk typelib installed; the plugin pins the
version its process runs, and asking for the other one is an ImportError
that says why, instead of a crash at the first widget."""
import time

import pytest

from gui_snippets import snippet
from helpers import PLUGIN_BUILD_DIR, find_window, poll, run_guiloopd

pytestmark = pytest.mark.toolkits("gtk", "gtk4")

MAJOR = {"gtk": 3, "gtk4": 4}
OTHER = {"gtk": "gtk4", "gtk4": "gtk"}


def test_unversioned_import_gets_the_process_s_gtk(daemon, toolkit):
    assert daemon.value("from gi.repository import Gtk\nGtk.get_major_version()") == \
        MAJOR[toolkit]
    assert daemon.value("import gi\ngi.require_version('Gtk', "
                        f"'{MAJOR[toolkit]}.0')\n'same version: fine'") == "same version: fine"


@pytest.mark.parametrize("how", [
    "import gi\ngi.require_version('Gtk', '{v}.0')",
    "import gi\ngi.require_versions({{'Gdk': '{v}.0'}})",
])
def test_the_other_gtk_is_a_clear_import_error(daemon, toolkit, how):
    other = 7 - MAJOR[toolkit]
    success, _, _, err = daemon.execute(how.format(v=other))
    assert not success
    last = err.strip().splitlines()[-1]
    assert last.startswith("_guiloop_setup_") or "ToolkitConflict" in last, err
    assert "cannot share one process" in last, err
    assert f"--toolkit {OTHER[toolkit]}" in last, err
    # An ImportError, and the ValueError gi.require_version documents.
    assert daemon.value(f"try:\n    {how.format(v=other).replace(chr(10), chr(10) + '    ')}\n"
                        "except ImportError as e:\n    r = isinstance(e, ValueError)\nr") is True
    assert daemon.value("from gi.repository import Gtk\nGtk.get_major_version()") == \
        MAJOR[toolkit]


def test_list_plugins_says_they_cannot_share_a_process(cli_env, toolkit):
    p = run_guiloopd(["--list-plugins"], cli_env)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.splitlines() if str(PLUGIN_BUILD_DIR / f"{toolkit}.so") in l]
    assert line and f"cannot share a process with {OTHER[toolkit]}" in line[0], p.stdout


def test_nested_glib_main_loop(daemon):
    # GTK 4 has no Gtk.main(): a nested loop is a GLib.MainLoop, on both.
    success, result, _, err = daemon.execute(
        "from gi.repository import GLib\nnested = GLib.MainLoop()\n"
        "GLib.timeout_add(100, nested.quit)\nnested.run()\n'nested done'", timeout=20)
    assert success and result == "'nested done'", err
    assert daemon.ok("1+1") == "2"


def test_idle_of_one_execution_runs_before_the_next(daemon):
    daemon.ok("from gi.repository import GLib\norder = []")
    blocker = daemon.execute_bg("import time\ntime.sleep(0.3)")
    daemon.wait_busy()
    first = daemon.execute_bg("GLib.idle_add(lambda: order.append('idle') and False)\n"
                              "order.append('e1')")
    second = daemon.execute_bg("order.append('e2')")
    daemon.wait_queue(2)
    blocker.result(10)
    assert first.result(10)[0] and second.result(10)[0]
    assert daemon.value("order") == ["e1", "idle", "e2"]


def test_describe_in_the_log(daemon, toolkit):
    poll(lambda: f"toolkit: GTK {MAJOR[toolkit]}." in daemon.log(), 5,
         what="the toolkit line in the log")


def _threads(pid):
    import os
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass
    return names


@pytest.mark.toolkits("gtk4")
def test_gtk4_renders_without_gl_unless_told(start_daemon, xvfb):
    # GL on Xvfb is Mesa's llvmpipe: ~120 MiB and its threads for one window.
    d = start_daemon()
    d.ok(snippet("gtk4", "window", title="guiloop-gtk4-nogl"))
    time.sleep(0.3)
    assert not [t for t in _threads(d.pid) if t.startswith("llvmpipe")], _threads(d.pid)
    assert d.value("import os\nos.environ['GDK_DEBUG']") == "gl-disable"
    user = start_daemon(env={"GDK_DEBUG": ""}, instance="usergl")
    assert user.value("import os\nos.environ['GDK_DEBUG']") == ""


@pytest.mark.toolkits("gtk4")
def test_gtk4_tutorial_program_runs_again(daemon, xvfb, tmp_path):
    # The tutorial's last line drops its application object at once; GIO
    # keeps it exported, and the next run must still register.
    path = tmp_path / "hello4.py"
    path.write_text("""\
import sys
import gi
gi.require_version("Gtk", "4.0")
from gi.repository import Gtk


class App(Gtk.Application):
    def do_activate(self):
        window = Gtk.ApplicationWindow(application=self, title="guiloop-hello4-" + sys.argv[1])
        window.set_child(Gtk.Label(label="Hello"))
        window.present()


sys.exit(App(application_id="org.guiloop.Hello4").run(sys.argv))
""")
    for run in ("one", "two", "three"):
        success, out, err = daemon.run_file(path, [run])
        assert success and err == "", err
        find_window(xvfb, f"guiloop-hello4-{run}")
