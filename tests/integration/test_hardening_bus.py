# SPDX-License-Identifier: MIT
"""Issue 8 at the bus edge: UTF-8 cuts, a queue of huge calls, the caller check, no bus
address, callers that vanish, and rate-limited log lines."""
import os
import subprocess
import sys
import time

import dbus
import pytest

from helpers import (BUS_NAME, DBUS_ERR, ERR, EX_UNAVAILABLE, IFACE, NOBODY, OBJECT_PATH,
                     PROPS_IFACE, PYTHON, call_as_user, poll)

pytestmark = pytest.mark.core

LONG_E = "é" * 600  # 1200 bytes: more than any fixed buffer, cut in the middle of a character


def wait_queue_long(d, n, timeout=120):
    """QueueLength == n, with calls that may wait behind 90 MB still on their way to it."""
    poll(lambda: d.call("Get", "ss", [IFACE, "QueueLength"], iface=PROPS_IFACE,
                        timeout=timeout) == n, timeout, what=f"QueueLength == {n}")


def busctl(address, *args, timeout=30):
    env = {"DBUS_SESSION_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(["busctl", "--user", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


# -- 1. every string built for D-Bus is valid UTF-8 ----------------------------------------

@pytest.mark.parametrize("args", [
    ["Get", "ss", IFACE, LONG_E],
    ["Get", "ss", LONG_E, "Busy"],
    ["GetAll", "s", LONG_E],
    ["Set", "ssv", IFACE, LONG_E, "s", "x"],
    ["Set", "ssv", LONG_E, "Busy", "b", "true"],
])
def test_long_non_ascii_property_names(daemon, bus_address, args):
    p = busctl(bus_address, "call", daemon.name, OBJECT_PATH, PROPS_IFACE, *args)
    assert p.returncode != 0 and p.stderr.strip(), p
    assert daemon.alive(), "the daemon died"
    assert daemon.ok("'alive'") == "'alive'"


@pytest.mark.parametrize("path", ["/" + LONG_E, LONG_E, "relative/" + LONG_E + ".py",
                                  "/tmp/" + "é" * 2000 + "/x.py"])
def test_long_non_ascii_run_file_paths(daemon, path):
    err = daemon.call_error("RunFile", "sas", [path, dbus.Array([], signature="s")])
    assert err in (DBUS_ERR + "InvalidArgs", ERR + "FileNotFound")
    assert daemon.alive()
    assert daemon.ok("1") == "1"


# -- 2. queued executions keep only what they need --------------------------------------

def test_interrupt_instant_with_three_30mb_executes_queued(daemon):
    running = daemon.execute_bg("import time\nstarted = 1\ntime.sleep(60)\n'first'", timeout=120)
    daemon.wait_busy()
    big = "#" + "a" * (30 * 1024 * 1024) + "\nran = globals().get('ran', 0) + 1\n'big'"
    queued = [daemon.execute_bg(big, timeout=120) for _ in range(3)]
    wait_queue_long(daemon, 3)
    t0 = time.monotonic()
    assert daemon.interrupt() is True
    dt = time.monotonic() - t0
    assert dt < 1.0, f"Interrupt took {dt:.2f} s"
    success, _, _, err = running.result(20)
    assert not success and "KeyboardInterrupt" in err, "the interrupt hit the running one"
    for q in queued:
        assert q.result(60)[:2] == (True, "'big'"), "a queued execution was hit"
    assert daemon.value("ran") == 3


def test_queue_full_by_bytes(start_daemon):
    d = start_daemon(config="[execution]\nqueue_bytes = 1000000\n")
    running = d.execute_bg("import time\ntime.sleep(30)", timeout=60)
    d.wait_busy()
    first = d.execute_bg("#" + "a" * 600_000 + "\n'one'")
    d.wait_queue(1)
    assert d.call_error("Execute", "s", ["#" + "b" * 600_000]) == ERR + "QueueFull"
    small = d.execute_bg("'small'")
    d.wait_queue(2)
    d.interrupt()
    running.wait(10)
    assert first.result(10)[1] == "'one'" and small.result(10)[1] == "'small'"


# -- 3. the caller check never blocks the bus thread, never denies for slowness ----------

def test_new_callers_answered_at_once_under_load(daemon, bus_address):
    running = daemon.execute_bg("import time\ntime.sleep(60)", timeout=120)
    daemon.wait_busy()
    big = "#" + "a" * (30 * 1024 * 1024)
    queued = [daemon.execute_bg(big, timeout=120) for _ in range(3)]
    wait_queue_long(daemon, 3)
    # Each call below is a new sender: its uid is asked of the bus first.
    for _ in range(5):
        t0 = time.monotonic()
        conn = dbus.bus.BusConnection(bus_address)
        try:
            assert conn.call_blocking(daemon.name, OBJECT_PATH, IFACE, "Cancel", "t",
                                      [10**6], timeout=5) is not None or True
        except dbus.exceptions.DBusException as e:
            assert e.get_dbus_name() == ERR + "UnknownExecution", e
        finally:
            conn.close()
        assert time.monotonic() - t0 < 1.0
    daemon.interrupt()
    running.wait(10)
    for q in queued:
        q.wait(60)


def test_order_of_a_new_callers_messages_kept(daemon, bus_address):
    """Messages that arrive while a new sender's uid lookup is pending wait, in order."""
    from gi.repository import Gio, GLib
    from bus_helpers import Listener
    li = Listener(bus_address, daemon.name)  # a sender the daemon has never seen
    got = []

    def done(conn, res, i):
        got.append((i, conn.call_finish(res).unpack()[0]))
    try:
        for i in range(10):
            li.conn.call(daemon.name, OBJECT_PATH, IFACE, "Submit",
                         GLib.Variant("(sa{sv})", (f"{i}", {})), None, Gio.DBusCallFlags.NONE,
                         10000, None, done, i)
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + 10
        while len(got) < 10 and time.monotonic() < deadline:
            ctx.iteration(True)
    finally:
        li.close()
    assert len(got) == 10
    ids = [eid for _, eid in sorted(got)]
    assert ids == sorted(ids) and len(set(ids)) == 10, got
    assert [daemon.call("Wait", "t", [eid])[1] for eid in ids] == [str(i) for i in range(10)]


def test_denied_callers_rate_limited_log(daemon, bus_address):
    for _ in range(12):
        r = call_as_user(NOBODY, bus_address, daemon.name, "Execute", "s", ["1"])
        assert r.get("error") == DBUS_ERR + "AccessDenied", r
    time.sleep(0.2)
    lines = [l for l in daemon.log().splitlines() if "denied a call" in l]
    assert 1 <= len(lines) <= 6, lines


# -- 8. no DBUS_SESSION_BUS_ADDRESS ---------------------------------------------------

def test_no_bus_address_uses_xdg_runtime_dir_bus(start_daemon, session_bus, tmp_path, bus):
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    sock = session_bus.split("path=", 1)[1].split(",")[0] if "path=" in session_bus else None
    if sock is None:
        # unix:dir= addresses: ask the bus which socket it listens on.
        pytest.skip(f"cannot tell the socket of {session_bus}")
    os.symlink(sock, runtime / "bus")
    d = start_daemon(env={"DBUS_SESSION_BUS_ADDRESS": None, "XDG_RUNTIME_DIR": runtime})
    assert d.ok("'via runtime dir'") == "'via runtime dir'"


def test_no_bus_address_and_no_runtime_bus_exits_69(make_env, tmp_path, guiloopd):
    runtime = tmp_path / "empty-rt"
    runtime.mkdir(mode=0o700)
    env = make_env(bus=False, XDG_RUNTIME_DIR=runtime)
    before = _processes("dbus-launch")
    p = subprocess.run([str(guiloopd), "--toolkit", "gtk"], env=env, capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert "DBUS_SESSION_BUS_ADDRESS" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) <= 3, p.stderr
    assert _processes("dbus-launch") <= before, "a bus was autolaunched"


def _processes(name):
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return set(out.split())


# -- 10. queued executions of a caller that left are dropped ----------------------------

_SEND_AND_LEAVE = r"""
import sys, dbus, dbus.bus, dbus.lowlevel
conn = dbus.bus.BusConnection(sys.argv[1])
for i in range(int(sys.argv[3])):
    m = dbus.lowlevel.MethodCallMessage(sys.argv[2], "/org/guiloop/GuiLoop1",
                                        "org.guiloop.GuiLoop1", "Execute")
    m.append("dropped_ran = globals().get('dropped_ran', 0) + 1\nimport time\ntime.sleep(5)",
             signature="s")
    conn.send_message(m)
sub = conn.call_blocking(sys.argv[2], "/org/guiloop/GuiLoop1", "org.guiloop.GuiLoop1",
                         "Submit", "sa{sv}", ["'kept for Wait'", {}])
print(int(sub))
conn.flush()
"""


def test_vanished_callers_queued_executes_are_dropped(daemon, bus_address):
    blocker = daemon.execute_bg("import time\ntime.sleep(1.5)\n'blocker'")
    daemon.wait_busy()
    p = subprocess.run([PYTHON, "-c", _SEND_AND_LEAVE, bus_address, daemon.name, "5"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    sub_id = int(p.stdout.strip())
    # The five Executes are dropped as soon as their caller has left; the Submit stays.
    poll(lambda: daemon.get("QueueLength") == 1, 10, what="the dropped executions to go")
    assert blocker.result(10)[1] == "'blocker'"
    assert daemon.call("Wait", "t", [sub_id]) == (True, "'kept for Wait'", "", "")
    assert daemon.value("globals().get('dropped_ran', 0)") == 0
    assert "dropped 5 queued executions" in daemon.log()


def test_vanished_callers_log_is_rate_limited(daemon, bus_address):
    blocker = daemon.execute_bg("import time\ntime.sleep(4)")
    daemon.wait_busy()
    for _ in range(12):
        p = subprocess.run([PYTHON, "-c", _SEND_AND_LEAVE, bus_address, daemon.name, "1"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    poll(lambda: daemon.get("QueueLength") == 12, 10, what="only the Submits to wait")
    lines = [l for l in daemon.log().splitlines() if "which left the bus" in l]
    assert 1 <= len(lines) <= 6, lines
    daemon.interrupt()
    blocker.wait(10)
