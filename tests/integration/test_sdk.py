# SPDX-License-Identifier: MIT
"""The plugin SDK as a third party uses it.

guiloop is installed into a temporary prefix (toolkits off: the example
needs none), the out-of-tree example plugin doc/examples/plugin is built
against that prefix through `pkg-config guiloop-plugin` alone and installed
there, and the installed daemon runs it: by its installed plugin folder and
by --plugin-dir, Execute works, GLib timers run between requests."""
import os
import shutil
import subprocess
import time

import pytest

from helpers import SOURCE_DIR

pytestmark = pytest.mark.core

TOOLKITS_OFF = [f"-D{t}=disabled" for t in ("gtk", "gtk4", "qt", "qt6", "wx", "tk")]


def _run(argv, what, env=None, timeout=300):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        pytest.fail(f"{what} failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    """{prefix, pkgconfig env, example build dir, installed plugin dir}."""
    if not shutil.which("meson") or not shutil.which("pkg-config"):
        pytest.skip("meson and pkg-config are needed")
    base = tmp_path_factory.mktemp("sdk")
    prefix = base / "prefix"
    _run(["meson", "setup", str(base / "build"), str(SOURCE_DIR), f"--prefix={prefix}",
          "--buildtype=plain", "-Dman=disabled", *TOOLKITS_OFF], "meson setup of guiloop")
    _run(["meson", "install", "-C", str(base / "build"), "--quiet"], "meson install of guiloop")
    pcs = list(prefix.rglob("guiloop-plugin.pc"))
    assert len(pcs) == 1, f"guiloop-plugin.pc not installed under {prefix}"
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent))
    # The example sees guiloop only through pkg-config: the source tree is not on its path.
    example = base / "example"
    shutil.copytree(SOURCE_DIR / "doc" / "examples" / "plugin", example)
    _run(["meson", "setup", str(base / "ex-build"), str(example), f"--prefix={prefix}"],
         "meson setup of the example", env=env)
    _run(["meson", "install", "-C", str(base / "ex-build")], "building the example", env=env)
    plugins = pcs[0].parent.parent / "guiloop" / "plugins"
    return {"prefix": prefix, "env": env, "build": base / "ex-build", "plugins": plugins}


@pytest.fixture
def guiloopd(sdk):
    """The installed daemon, for start_daemon (overrides conftest's)."""
    return sdk["prefix"] / "bin" / "guiloopd"


def test_pkg_config_gives_the_installed_header(sdk):
    p = _run(["pkg-config", "--cflags", "guiloop-plugin"], "pkg-config", env=sdk["env"])
    include = p.stdout.strip().removeprefix("-I")
    assert (sdk["prefix"] / "include" / "guiloop" / "plugin.h").samefile(
        os.path.join(include, "guiloop", "plugin.h")), p.stdout
    p = _run(["pkg-config", "--variable=plugindir", "guiloop-plugin"], "pkg-config",
             env=sdk["env"])
    assert os.path.samefile(p.stdout.strip(), sdk["plugins"])


def test_example_exports_only_its_entry(sdk):
    p = _run(["nm", "-D", "--defined-only", str(sdk["build"] / "glib.so")], "nm")
    names = {line.split()[-1] for line in p.stdout.splitlines() if line.strip()}
    assert names == {"guiloop_plugin_entry"}, names


def test_installed_daemon_lists_it(sdk, cli_env):
    p = subprocess.run([str(sdk["prefix"] / "bin" / "guiloopd"), "--list-plugins"],
                       env=cli_env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.splitlines() if str(sdk["plugins"] / "glib.so") in l]
    assert line and line[0].startswith("glib "), p.stdout


@pytest.mark.parametrize("where", ["installed", "plugin-dir"])
def test_daemon_runs_the_example(start_daemon, sdk, where):
    args = ["--plugin-dir", str(sdk["build"])] if where == "plugin-dir" else []
    # No display at all: the example's loop needs none.
    d = start_daemon(toolkit="glib", args=args, display=False)
    assert d.get("Toolkit") == "glib"
    assert d.ok("6 * 7") == "42"
    d.ok("from gi.repository import GLib\nticks = 0\n"
         "def tick():\n    global ticks\n    ticks += 1\n    return True\n"
         "GLib.timeout_add(20, tick)")
    t1 = d.value("ticks")
    time.sleep(0.5)
    assert d.value("ticks") - t1 >= 10
    assert "toolkit: GLib 2." in d.log()
    # Interrupt reaches a running execution on this loop too.
    call = d.execute_bg("import time\nwhile True:\n    time.sleep(0.01)")
    d.wait_busy()
    assert d.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and "KeyboardInterrupt" in err, err
