# SPDX-License-Identifier: MIT
"""matplotlib with no set-up (issue 13): the daemon's toolkit's backend,
interactive mode, plt.show() at once -- unless the user chose otherwise."""
import time

import pytest

from helpers import find_window, poll, xdotool

BACKENDS = {"gtk": "gtk3agg", "gtk4": "gtk4agg", "qt": "qtagg", "qt6": "qtagg",
            "wx": "wxagg", "tk": "tkagg"}


def test_plot_maps_a_window_with_no_set_up(daemon, toolkit, xvfb):
    title = f"guiloop-mpl-{toolkit}-{daemon.pid}"
    assert daemon.value("import matplotlib\n(matplotlib.get_backend().lower(), "
                        "matplotlib.is_interactive())") == (BACKENDS[toolkit], True)
    daemon.ok("import matplotlib.pyplot as plt\nline, = plt.plot([1, 3, 2])\n"
              f"plt.gcf().canvas.manager.set_window_title({title!r})", timeout=60)
    assert len(find_window(xvfb, title, timeout=20)) == 1
    t0 = time.monotonic()
    daemon.ok("plt.show()")
    assert time.monotonic() - t0 < 2, "plt.show() must return at once"
    ok, result, _, err = daemon.execute("import time\nt0 = time.monotonic()\nplt.pause(0.3)\n"
                                        "time.monotonic() - t0", timeout=30)
    assert ok, err
    assert 0.25 <= float(result) < 5, result
    daemon.ok("plt.close('all')")
    poll(lambda: xdotool(xvfb, "search", "--onlyvisible", "--name", f"^{title}$",
                         check=False).returncode != 0,
         10, interval=0.1, what="the figure window to close")


@pytest.mark.core
def test_mplbackend_is_respected(start_daemon):
    d = start_daemon(env={"MPLBACKEND": "Agg"})
    assert d.value("import matplotlib\nmatplotlib.get_backend().lower()") == "agg"
    assert d.value("matplotlib.is_interactive()") is True


@pytest.mark.core
def test_own_matplotlibrc_is_respected(start_daemon, home):
    rc = home / ".config" / "matplotlib"
    rc.mkdir(parents=True)
    (rc / "matplotlibrc").write_text("backend: Agg\n")
    d = start_daemon()
    assert d.value("import matplotlib\nmatplotlib.get_backend().lower()") == "agg"


@pytest.mark.core
def test_use_after_import_is_respected(daemon):
    assert daemon.value("import matplotlib\nmatplotlib.use('Agg')\n"
                        "import matplotlib.pyplot as plt\nplt.get_backend().lower()") == "agg"


@pytest.mark.core
def test_python_matplotlib_false_leaves_it_alone(start_daemon, toolkit):
    d = start_daemon(config="[python]\nmatplotlib = false\n")
    backend, interactive = d.value("import matplotlib\n"
                                   "(matplotlib.rcParams._get_backend_or_none(), "
                                   "matplotlib.is_interactive())")
    assert interactive is False
    # Whatever the system's matplotlibrc says (Debian's: TkAgg), not ours.
    assert (backend or "").lower() != BACKENDS[toolkit]


@pytest.mark.core
def test_bad_matplotlib_value_is_a_config_error(cli_env, tmp_path):
    from helpers import EX_CONFIG, run_guiloopd
    f = tmp_path / "bad.ini"
    f.write_text("[python]\n\nmatplotlib = maybe\n")
    p = run_guiloopd(["--config", str(f), "--check-config"], cli_env)
    assert p.returncode == EX_CONFIG, p
    assert p.stderr.strip().startswith(f"{f}:3:"), p.stderr
