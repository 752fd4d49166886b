# SPDX-License-Identifier: MIT
"""D-Bus activation for real: a private dbus-daemon whose <servicedir> holds
the project's activation file (conf/org.guiloop.GuiLoop1.service, with Exec=
pointed at the built daemon), and activation files for two instances.
guiloopctl with no daemon running starts one; interrupt and shutdown never do."""
import pytest

from ctl_helpers import (CTL_BUS, CTL_OK, activation_bus, describe, guiloopctl,  # noqa: F401
                         run_ctl)
from helpers import GUILOOPD, bus_name, poll

DEFAULT = bus_name(None)


def test_exec_activates_the_daemon(activation_bus, guiloopctl):
    bus = activation_bus
    assert not bus.has_owner(DEFAULT)
    p = run_ctl(["exec", "1+1"], bus.env(), timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "2\n", ""), \
        describe(p) + "\n--- bus log:\n" + bus.log()
    assert bus.has_owner(DEFAULT)
    pid = bus.pid_of(DEFAULT)
    # The daemon stays: the next call reaches the same process and namespace.
    p = run_ctl(["exec", "x = 21"], bus.env())
    assert p.returncode == CTL_OK, describe(p)
    p = run_ctl(["exec", "import os; (os.getpid(), x * 2)"], bus.env())
    assert p.stdout == f"({pid}, 42)\n", describe(p)


def test_status_activates_the_daemon(activation_bus, guiloopctl):
    bus = activation_bus
    p = run_ctl(["status"], bus.env(), timeout=60)
    assert p.returncode == CTL_OK, describe(p) + "\n--- bus log:\n" + bus.log()
    assert "Toolkit: gtk\n" in p.stdout and "ExecutionCount: 0\n" in p.stdout, p.stdout
    assert bus.has_owner(DEFAULT)


def test_run_activates_the_daemon(activation_bus, guiloopctl, tmp_path):
    bus = activation_bus
    (tmp_path / "hello.py").write_text("import sys\nprint('hello', sys.argv[1:])\n")
    p = run_ctl(["run", "hello.py", "x"], bus.env(), cwd=tmp_path, timeout=60)
    assert (p.returncode, p.stdout) == (CTL_OK, "hello ['x']\n"), \
        describe(p) + "\n--- bus log:\n" + bus.log()


@pytest.mark.parametrize("command", ["interrupt", "shutdown"])
def test_interrupt_and_shutdown_do_not_activate(activation_bus, guiloopctl, command):
    bus = activation_bus
    p = run_ctl([command], bus.env())
    assert p.returncode == CTL_BUS, describe(p)
    assert p.stdout == ""
    assert p.stderr == f"guiloopctl: no guiloopd is running as {DEFAULT}\n"
    # Activation would have been possible (exec proves it), yet nothing was started.
    assert not bus.has_owner(DEFAULT)
    assert run_ctl(["exec", "1"], bus.env(), timeout=60).returncode == CTL_OK
    assert bus.has_owner(DEFAULT)


def test_shutdown_then_activate_again(activation_bus, guiloopctl):
    bus = activation_bus
    assert run_ctl(["exec", "marker = 1"], bus.env(), timeout=60).returncode == CTL_OK
    first = bus.pid_of(DEFAULT)
    p = run_ctl(["shutdown"], bus.env())
    assert (p.returncode, p.stderr) == (CTL_OK, ""), describe(p)
    assert not bus.has_owner(DEFAULT)
    # A fresh daemon: a new process and an empty namespace.
    p = run_ctl(["exec", "'marker' in globals()"], bus.env(), timeout=60)
    assert (p.returncode, p.stdout) == (CTL_OK, "False\n"), describe(p)
    assert bus.pid_of(DEFAULT) != first


def test_two_instances_side_by_side(activation_bus, guiloopctl):
    bus = activation_bus
    for inst in ("a", "b"):
        p = run_ctl(["--instance", inst, "exec", f"who = {inst!r}; import os; os.getpid()"],
                    bus.env(), timeout=60)
        assert p.returncode == CTL_OK, describe(p) + "\n--- bus log:\n" + bus.log()
        assert int(p.stdout) == bus.pid_of(bus_name(inst))
    assert bus.pid_of(bus_name("a")) != bus.pid_of(bus_name("b"))
    assert not bus.has_owner(DEFAULT)
    # Each keeps its own namespace.
    for inst in ("a", "b"):
        p = run_ctl(["--instance", inst, "exec", "who"], bus.env())
        assert (p.returncode, p.stdout) == (CTL_OK, f"{inst!r}\n"), describe(p)
    # Stopping one leaves the other.
    assert run_ctl(["--instance", "a", "shutdown"], bus.env()).returncode == CTL_OK
    assert not bus.has_owner(bus_name("a"))
    p = run_ctl(["--instance", "b", "exec", "who"], bus.env())
    assert (p.returncode, p.stdout) == (CTL_OK, "'b'\n"), describe(p)


def test_activation_failure_is_reported(activation_bus, guiloopctl):
    # A daemon that cannot start (no display) is reported as a D-Bus error, exit 3.
    bus = activation_bus
    bus.add_service(bus_name("nodisplay"), f"/usr/bin/env -u DISPLAY {GUILOOPD} "
                    "--instance nodisplay")
    p = run_ctl(["--instance", "nodisplay", "exec", "1"], bus.env(), timeout=60)
    assert p.returncode == CTL_BUS, describe(p)
    assert p.stdout == ""
    assert p.stderr.startswith("guiloopctl: org.freedesktop.DBus.Error.Spawn."), p.stderr
    assert p.stderr.count("\n") == 1, p.stderr
    assert "status 69" in p.stderr, p.stderr  # EX_UNAVAILABLE: no display
    poll(lambda: not bus.has_owner(bus_name("nodisplay")), 1)
