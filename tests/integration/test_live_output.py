# SPDX-License-Identifier: MIT
"""guiloopctl exec and run print output as the code prints it (Submit,
Output, Finished), to a pipe and to a terminal; Ctrl-C cancels their own
execution and says so; stdin as code; monitor; stacks."""
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from console_helpers import require
from ctl_helpers import (CTL_BUS, CTL_FAILED, CTL_OK, CTL_USAGE, GUILOOPCTL, ctl_env,  # noqa: F401
                         describe, guiloopctl, run_ctl)
from helpers import poll

pytestmark = pytest.mark.core

# Three lines half a second apart: live output shows them about 0.5 s apart,
# held-back output all at once at the end.
LOOP = "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.5)\n"


def arrivals(fd, proc, timeout=15):
    """(time, line) for each line read from fd until EOF."""
    out, buf = [], b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            if proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
                break
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # a pty's EIO once the child has gone
            break
        if not chunk:
            break
        now = time.monotonic()
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append((now, line.decode(errors="replace").rstrip("\r")))
    return out


def assert_spaced(lines, what):
    got = [(t, s) for t, s in lines if s.startswith("line ")]
    assert [s for _, s in got] == ["line 0", "line 1", "line 2"], lines
    gaps = [b[0] - a[0] for a, b in zip(got, got[1:])]
    assert all(0.3 < g < 1.5 for g in gaps), f"{what}: lines {gaps} s apart, not ~0.5 s"


def test_exec_to_a_pipe_is_live(daemon, guiloopctl, ctl_env):
    require(daemon, "Submit")
    proc = subprocess.Popen([str(GUILOOPCTL), "exec", LOOP], env=ctl_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines = arrivals(proc.stdout.fileno(), proc)
    assert proc.wait(10) == CTL_OK, proc.stderr.read()
    assert_spaced(lines, "exec to a pipe")


def test_exec_to_a_terminal_is_live(daemon, guiloopctl, ctl_env):
    require(daemon, "Submit")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(GUILOOPCTL), "exec", LOOP], env=ctl_env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        lines = arrivals(master, proc)
    finally:
        os.close(master)
    assert proc.wait(10) == CTL_OK
    assert_spaced(lines, "exec to a terminal")


def test_run_is_live(daemon, guiloopctl, ctl_env, tmp_path):
    require(daemon, "Submit", "Subscribe")
    script = tmp_path / "loop.py"
    script.write_text(LOOP + "import sys\nprint('args', sys.argv[1:])\n")
    proc = subprocess.Popen([str(GUILOOPCTL), "run", "loop.py", "a", "b"], env=ctl_env,
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines = arrivals(proc.stdout.fileno(), proc)
    assert proc.wait(10) == CTL_OK, proc.stderr.read()
    assert_spaced(lines, "run to a pipe")
    # Printed once: live, not again from the reply.
    assert [s for _, s in lines] == ["line 0", "line 1", "line 2", "args ['a', 'b']"], lines


def test_exec_prints_streams_and_result_in_order(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7"],
                ctl_env)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "out\n42\n", "err\n"), describe(p)


def test_output_without_newline_is_kept_as_it_is(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "print('a', end=''); print('b', end='')"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "ab"), describe(p)


def test_ctrl_c_says_which_execution_it_interrupts(daemon, guiloopctl, ctl_env, tmp_path):
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [str(GUILOOPCTL), "exec", f"import time; open({str(ready)!r}, 'w').close(); "
                                  "time.sleep(60)"],
        env=ctl_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    poll(ready.exists, 10, what="the code to start")
    running = daemon.get("Running") if "Submit" in _members(daemon) else None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == CTL_FAILED, (out, err)
    if running is not None:
        assert err.startswith(f"^C: interrupting execution {running}\u2026\n"), err
    else:
        assert err.startswith("^C: interrupting"), err
    assert err.endswith("KeyboardInterrupt\n"), err


def _members(daemon):
    from console_helpers import members
    return members(daemon)


def queued_exec(daemon, ctl_env, first):
    """guiloopctl exec, queued behind another client's running `first`."""
    require(daemon, "Submit", "Cancel")
    daemon.execute_bg(first)
    daemon.wait_busy()
    proc = subprocess.Popen([str(GUILOOPCTL), "exec", "'queued'"], env=ctl_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    poll(lambda: daemon.get("QueueLength") == 1, 10, what="exec to be queued")
    return proc


def test_ctrl_c_cancels_only_its_own_execution(daemon, guiloopctl, ctl_env, tmp_path):
    """Queued behind another client's sleep, Ctrl-C cancels this one, not that."""
    proc = queued_exec(daemon, ctl_env, "import time; time.sleep(3); 'first done'")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == CTL_FAILED, (out, err)
    assert re.search(r"^\^C: interrupting execution \d+\u2026\n"
                     r"guiloopctl: execution \d+ was cancelled before it started\n\Z", err), err
    assert out == ""
    assert daemon.get("Busy"), "the other client's execution was interrupted"


@pytest.mark.parametrize("how", ["cancel", "shutdown"])
def test_exec_says_why_its_queued_execution_never_ran(daemon, guiloopctl, ctl_env, how):
    """Cancelled by another client, or refused at shutdown: one line, exit 3."""
    proc = queued_exec(daemon, ctl_env, "import time; time.sleep(2)")
    if how == "cancel":
        # A fresh daemon: the sleep is execution 1, guiloopctl's execution 2.
        assert daemon.call("Cancel", "t", [2]) is True
        error = "Cancelled"
    else:
        daemon.shutdown()
        error = "ShuttingDown"
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == CTL_BUS, (out, err)
    assert re.fullmatch(rf"guiloopctl: org\.guiloop\.GuiLoop1\.Error\.{error}: [^\n]+\n", err), err
    assert out == ""


def test_exec_stdin_on_a_terminal_ends_at_one_ctrl_d(daemon, guiloopctl, ctl_env):
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(GUILOOPCTL), "exec", "-"], env=ctl_env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        os.write(master, b"print(6 * 7)\n")
        time.sleep(0.2)
        os.write(master, b"\x04")  # one Ctrl-D, on an empty line
        lines = arrivals(master, proc, timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.wait(5) == CTL_OK
    assert "42" in [s for _, s in lines], lines


def test_no_command_runs_stdin(daemon, guiloopctl, ctl_env):
    p = run_ctl([], ctl_env, input="import sys\nprint(6 * 7)\nsys.argv[0]\n")
    assert p.returncode == CTL_OK, describe(p)
    assert p.stdout.startswith("42\n"), describe(p)


def test_no_command_stdin_failure_exits_1(daemon, guiloopctl, ctl_env):
    p = run_ctl([], ctl_env, input="1/0\n")
    assert p.returncode == CTL_FAILED, describe(p)
    assert p.stderr.endswith("ZeroDivisionError: division by zero\n"), describe(p)


def test_console_needs_a_terminal(guiloopctl, ctl_env, daemon):
    p = run_ctl(["console"], ctl_env, input="1\n")
    assert p.returncode == CTL_USAGE, describe(p)
    assert "terminal" in p.stderr and "exec -" in p.stderr, describe(p)


def start_monitor(env):
    proc = subprocess.Popen([str(GUILOOPCTL), "monitor"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.set_blocking(proc.stdout.fileno(), False)
    os.set_blocking(proc.stderr.fileno(), False)
    return proc


def wait_monitoring(proc, timeout=10):
    """Until monitor says it listens: Subscribe has been answered."""
    err = b""
    deadline = time.monotonic() + timeout
    while b"monitoring" not in err:
        assert time.monotonic() < deadline and proc.poll() is None, err
        select.select([proc.stderr], [], [], 0.1)
        err += proc.stderr.read() or b""


def read_until(proc, pattern, timeout=10):
    buf = b""
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        select.select([proc.stdout], [], [], 0.1)
        try:
            chunk = proc.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            buf += chunk
        if rx.search(buf.decode(errors="replace")):
            return buf.decode(errors="replace")
        if proc.poll() is not None:
            break
    err = proc.stderr.read() or b""
    raise AssertionError(f"{pattern!r} not in monitor output within {timeout} s:\n"
                         f"{buf.decode(errors='replace')}\nstderr: {err.decode(errors='replace')}")


def test_monitor_sees_another_clients_output(daemon, guiloopctl, ctl_env):
    require(daemon, "Subscribe", "Submit")
    mon = start_monitor(ctl_env)
    try:
        wait_monitoring(mon)
        p = run_ctl(["exec", "import sys; print('from another'); "
                             "print('oops', file=sys.stderr); 42"], ctl_env)
        assert p.returncode == CTL_OK, describe(p)
        text = read_until(mon, r"^\[\d+ finished\] ok: 42$")
        n = re.search(r"^\[(\d+) finished\] ok: 42$", text, re.M).group(1)
        assert f"[{n} stdout] from another\n" in text, text
        assert f"[{n} stderr] oops\n" in text, text
    finally:
        mon.send_signal(signal.SIGINT)
        assert mon.wait(5) == CTL_OK


def test_stacks_shows_where_the_gui_thread_is(daemon, guiloopctl, ctl_env):
    require(daemon, "Stacks")
    daemon.execute_bg("import time\ndef stuck_here():\n    time.sleep(5)\nstuck_here()")
    daemon.wait_busy()
    p = run_ctl(["stacks"], ctl_env)
    assert p.returncode == CTL_OK, describe(p)
    assert "stuck_here" in p.stdout, describe(p)
    daemon.interrupt()


def test_help_names_the_console_monitor_and_stacks(guiloopctl, cli_env):
    p = run_ctl(["--help"], cli_env)
    assert p.returncode == CTL_OK, describe(p)
    for word in ["console", "monitor", "stacks", "Ctrl-D", "history", "cancels"]:
        assert word in p.stdout, f"{word!r} missing from --help:\n{p.stdout}"
    assert "Usage: guiloopctl [OPTION]... [COMMAND [ARG]...]" in p.stdout


def test_exec_says_when_the_daemon_dies_under_it(daemon, guiloopctl, ctl_env, tmp_path):
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [str(GUILOOPCTL), "exec", f"import time; open({str(ready)!r}, 'w').close(); "
                                  "time.sleep(60)"],
        env=ctl_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    poll(ready.exists, 10, what="the code to start")
    daemon.stop(signal.SIGKILL)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == CTL_BUS, (out, err)
    assert re.fullmatch(r"guiloopctl: guiloopd left the bus while execution \d+ ran\n", err), err


@pytest.mark.toolkits("gtk")
def test_monitor_shows_background_output(daemon, guiloopctl, ctl_env):
    mon = start_monitor(ctl_env)
    try:
        wait_monitoring(mon)
        daemon.ok("from gi.repository import GLib\n"
                  "def late():\n    print('printed by a timer')\n    return False\n"
                  "GLib.timeout_add(100, late)")
        read_until(mon, r"^\[bg stdout\] printed by a timer$", timeout=5)
    finally:
        mon.send_signal(signal.SIGINT)
        assert mon.wait(5) == CTL_OK


def test_monitor_ignores_output_signals_from_another_peer(daemon, guiloopctl, ctl_env, bus):
    """Any peer may send a signal to the monitor's connection; only the daemon's count."""
    mon = start_monitor(ctl_env)
    try:
        wait_monitoring(mon)
        unique = [n for n in bus.list_names() if n.startswith(":")]
        pid = mon.pid
        target = [n for n in unique
                  if int(bus.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                           "s", [n])) == pid]
        assert len(target) == 1, target
        import dbus
        fake = dbus.lowlevel.SignalMessage("/org/guiloop/GuiLoop1", "org.guiloop.GuiLoop1",
                                           "Output")
        fake.set_destination(target[0])
        fake.append(dbus.UInt64(0), "stdout", "forged\n")
        bus.send_message(fake)
        bus.flush()
        p = run_ctl(["exec", "print('real')"], ctl_env)
        assert p.returncode == CTL_OK, describe(p)
        text = read_until(mon, r"^\[\d+ stdout\] real$")
        assert "forged" not in text, text
    finally:
        mon.send_signal(signal.SIGINT)
        assert mon.wait(5) == CTL_OK
