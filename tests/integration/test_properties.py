# SPDX-License-Identifier: MIT
"""Properties, introspection, signals and the errors of the D-Bus interface."""
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import dbus
import pytest

from helpers import DBUS_ERR, IFACE, OBJECT_PATH, PROPS_IFACE, SignalRecorder

pytestmark = pytest.mark.core

PROPERTIES = {
    "Version": ("s", dbus.String),
    "Toolkit": ("s", dbus.String),
    "TkGuest": ("b", dbus.Boolean),
    "PythonVersion": ("s", dbus.String),
    "Busy": ("b", dbus.Boolean),
    "QueueLength": ("u", dbus.UInt32),
    "ExecutionCount": ("t", dbus.UInt64),
    "Running": ("t", dbus.UInt64),
    "LoopBlockedMs": ("u", dbus.UInt32),
}


@pytest.mark.every_toolkit
def test_property_values(daemon, toolkit):
    assert daemon.get("Version") == "0.1.0"
    assert daemon.get("Toolkit") == toolkit
    assert daemon.get("TkGuest") is False
    assert daemon.get("Busy") is False
    assert daemon.get("QueueLength") == 0
    assert daemon.get("PythonVersion") == daemon.value("import sys\nsys.version")


@pytest.mark.every_toolkit
def test_get_all(daemon, toolkit):
    raw = daemon.conn.call_blocking(daemon.name, OBJECT_PATH, PROPS_IFACE, "GetAll", "s",
                                    [IFACE], timeout=10)
    assert set(raw) == set(PROPERTIES)
    for name, (_, typ) in PROPERTIES.items():
        assert isinstance(raw[name], typ), (name, type(raw[name]))
    assert raw["Version"] == "0.1.0" and raw["Toolkit"] == toolkit


def test_property_types_with_get(daemon):
    for name, (_, typ) in PROPERTIES.items():
        v = daemon.conn.call_blocking(daemon.name, OBJECT_PATH, PROPS_IFACE, "Get", "ss",
                                      [IFACE, name], timeout=10)
        assert isinstance(v, typ), (name, type(v))


def test_execution_count(daemon):
    c0 = daemon.get("ExecutionCount")
    for i in range(3):
        daemon.ok(str(i))
        assert daemon.get("ExecutionCount") == c0 + i + 1


@pytest.mark.every_toolkit
def test_properties_answer_while_busy(daemon):
    call = daemon.execute_bg("import time\ntime.sleep(2)")
    daemon.wait_busy()
    for prop in ("Busy", "QueueLength", "Version"):
        t0 = time.monotonic()
        v = daemon.get(prop)
        assert time.monotonic() - t0 < 0.5, f"Get {prop} took {time.monotonic() - t0:.2f} s"
    assert v == "0.1.0"
    t0 = time.monotonic()
    assert daemon.get("Busy") is True
    daemon.get_all()
    daemon.call("Introspect", iface="org.freedesktop.DBus.Introspectable")
    daemon.call("Ping", iface="org.freedesktop.DBus.Peer")
    assert time.monotonic() - t0 < 0.5
    assert not call.finished()
    assert call.result(10)[0]
    assert daemon.get("Busy") is False


@pytest.mark.every_toolkit
def test_queue_length(daemon):
    running = daemon.execute_bg("import time\ntime.sleep(1)")
    daemon.wait_busy()
    queued = [daemon.execute_bg("1") for _ in range(3)]
    daemon.wait_queue(3)
    assert daemon.get("QueueLength") == 3
    running.result(10)
    for q in queued:
        q.result(10)
    assert daemon.get("QueueLength") == 0


def test_queue_full(start_daemon):
    from helpers import ERR
    d = start_daemon(config="[execution]\nqueue_limit = 1\n")
    running = d.execute_bg("import time\ntime.sleep(1)\n'first'")
    d.wait_busy()
    waiting = d.execute_bg("'second'")
    d.wait_queue(1)
    assert d.call_error("Execute", "s", ["'third'"]) == ERR + "QueueFull"
    assert d.call_error("RunFile", "sas", ["/nonexistent/x.py", []]) in (
        ERR + "QueueFull", ERR + "FileNotFound")
    assert running.result(10) == (True, "'first'", "", "")
    assert waiting.result(10) == (True, "'second'", "", "")
    assert d.ok("'fourth'") == "'fourth'"


@pytest.mark.every_toolkit
def test_busy_properties_changed(daemon, bus_address):
    rec = SignalRecorder(bus_address, signal_name="PropertiesChanged",
                         dbus_interface=PROPS_IFACE, path=OBJECT_PATH)
    try:
        call = daemon.execute_bg("import time\ntime.sleep(0.3)")

        def busy_values():
            return [args[1]["Busy"] for _, _, args in rec.signals
                    if args[0] == IFACE and "Busy" in args[1]]
        rec.pump(until=lambda: call.finished() and len(busy_values()) >= 2, timeout=10)
        rec.pump(0.2)
        assert busy_values() == [True, False]
        assert call.result()[0]
    finally:
        rec.close()


@pytest.mark.every_toolkit
def test_busy_properties_changed_short(daemon, bus_address):
    """A short execution's start and end are seen together: Busy's true and
    false still come, after the reply, at most one pair per execution."""
    rec = SignalRecorder(bus_address, signal_name="PropertiesChanged",
                         dbus_interface=PROPS_IFACE, path=OBJECT_PATH)
    try:
        for _ in range(3):
            assert daemon.ok("1") == "1"

        def busy_values():
            return [args[1]["Busy"] for _, _, args in rec.signals
                    if args[0] == IFACE and "Busy" in args[1]]
        rec.pump(until=lambda: len(busy_values()) >= 2, timeout=10)
        rec.pump(0.2)
        values = busy_values()
        assert 2 <= len(values) <= 6, values
        assert values == [True, False] * (len(values) // 2), values
        assert daemon.get("Busy") is False
    finally:
        rec.close()


@pytest.mark.every_toolkit
def test_output_signal_streams(daemon, bus_address):
    rec = SignalRecorder(bus_address, signal_name="Output", dbus_interface=IFACE,
                         path=OBJECT_PATH)
    # Output is never broadcast: a listener subscribes to get other callers' output.
    rec.conn.call_blocking(daemon.name, OBJECT_PATH, IFACE, "Subscribe", "", [])
    try:
        call = daemon.execute_bg("import sys, time\nfor i in range(3):\n"
                                 "    print(i, flush=True)\n    time.sleep(0.3)\n"
                                 "print('e', file=sys.stderr, flush=True)")
        rec.pump(until=call.finished, timeout=20)
        rec.pump(0.2)
        reply = call.result()
        assert reply == (True, "", "0\n1\n2\n", "e\n")
        sigs = [args for _, _, args in rec.signals]
        assert sigs, "no Output signal"
        assert len({s[0] for s in sigs}) == 1, "one execution, one id"
        assert "".join(s[2] for s in sigs if s[1] == "stdout") == "0\n1\n2\n"
        assert "".join(s[2] for s in sigs if s[1] == "stderr") == "e\n"
        assert {s[1] for s in sigs} == {"stdout", "stderr"}
        first = rec.signals[0][0]
        assert first < call.t_done - 0.4, "output was not streamed while the code ran"
    finally:
        rec.close()


@pytest.mark.every_toolkit
def test_output_signal_is_coalesced(daemon, bus_address):
    rec = SignalRecorder(bus_address, signal_name="Output", dbus_interface=IFACE,
                         path=OBJECT_PATH)
    # Output is never broadcast: a listener subscribes to get other callers' output.
    rec.conn.call_blocking(daemon.name, OBJECT_PATH, IFACE, "Subscribe", "", [])
    try:
        call = daemon.execute_bg("import time\nt0 = time.monotonic()\n"
                                 "while time.monotonic() - t0 < 0.5:\n    print('x')")
        rec.pump(until=call.finished, timeout=20)
        rec.pump(0.2)
        assert call.result()[0]
        n = sum(1 for _, _, a in rec.signals if a[1] == "stdout")
        assert 1 <= n <= 0.5 / 0.05 + 3, f"{n} Output signals in 0.5 s"
    finally:
        rec.close()


def test_set_is_refused(daemon):
    for name, (sig, _) in PROPERTIES.items():
        value = {"s": dbus.String("x"), "b": dbus.Boolean(True), "u": dbus.UInt32(1),
                 "t": dbus.UInt64(1)}[sig]
        err = daemon.call_error("Set", "ssv", [IFACE, name, value], iface=PROPS_IFACE)
        assert err == DBUS_ERR + "PropertyReadOnly", (name, err)
    assert daemon.get("Version") == "0.1.0"


def test_unknown_property(daemon):
    assert daemon.call_error("Get", "ss", [IFACE, "Nope"], iface=PROPS_IFACE) == \
        DBUS_ERR + "UnknownProperty"
    assert daemon.call_error("Set", "ssv", [IFACE, "Nope", dbus.String("x")],
                             iface=PROPS_IFACE) in (DBUS_ERR + "UnknownProperty",
                                                    DBUS_ERR + "PropertyReadOnly")


def test_unknown_interface(daemon):
    assert daemon.call_error("Get", "ss", ["org.example.Nope", "Version"],
                             iface=PROPS_IFACE) == DBUS_ERR + "UnknownInterface"
    assert daemon.call_error("GetAll", "s", ["org.example.Nope"],
                             iface=PROPS_IFACE) == DBUS_ERR + "UnknownInterface"


def test_unknown_method(daemon):
    assert daemon.call_error("Nope") == DBUS_ERR + "UnknownMethod"
    assert daemon.call_error("Nope", "s", ["x"]) == DBUS_ERR + "UnknownMethod"
    assert daemon.call_error("Foo", iface="org.example.Nope") in (
        DBUS_ERR + "UnknownMethod", DBUS_ERR + "UnknownInterface")


@pytest.mark.parametrize("method,sig,args", [
    ("Execute", "i", [5]),
    ("Execute", "ss", ["1", "2"]),
    ("Execute", "", []),
    ("RunFile", "s", ["/tmp/x.py"]),
    ("RunFile", "ss", ["/tmp/x.py", "a"]),
    ("Interrupt", "s", ["x"]),
    ("Shutdown", "i", [1]),
    ("Get", "s", [IFACE]),
    ("GetAll", "", []),
])
def test_wrong_signature(daemon, method, sig, args):
    iface = PROPS_IFACE if method.startswith("Get") else IFACE
    assert daemon.call_error(method, sig, args, iface=iface) == DBUS_ERR + "InvalidArgs"
    assert daemon.alive()
    assert daemon.ok("1+1") == "2"


def busctl(bus_address, *args):
    return subprocess.run(["busctl", f"--address={bus_address}", *args],
                          capture_output=True, text=True, timeout=30)


def test_busctl_call(daemon, bus_address):
    p = busctl(bus_address, "call", daemon.name, OBJECT_PATH, IFACE, "Execute", "s", "1+1")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == 'bsss true "2" "" ""'


def test_busctl_wrong_signature(daemon, bus_address):
    p = busctl(bus_address, "call", daemon.name, OBJECT_PATH, IFACE, "Execute", "i", "5")
    assert p.returncode != 0
    assert p.stderr.strip(), "busctl shows the error"
    assert daemon.ok("1") == "1"


def test_busctl_introspect(daemon, bus_address):
    p = busctl(bus_address, "introspect", daemon.name, OBJECT_PATH)
    assert p.returncode == 0, p.stderr
    for member in ["Execute", "RunFile", "Interrupt", "Shutdown", "Output", *PROPERTIES]:
        assert re.search(rf"^\.{member}\s", p.stdout, re.M), f"{member}:\n{p.stdout}"
    for iface in ["org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties",
                  "org.freedesktop.DBus.Peer", IFACE]:
        assert iface in p.stdout


def test_gdbus_introspect(daemon, bus_address):
    import shutil
    if not shutil.which("gdbus"):
        pytest.skip("gdbus is not installed")
    p = subprocess.run(["gdbus", "introspect", "--address", bus_address, "--dest", daemon.name,
                        "--object-path", OBJECT_PATH], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    for text in ["interface org.guiloop.GuiLoop1", "Execute(", "RunFile(", "Interrupt(",
                 "Shutdown(", "signals:", "Output(", "readonly s Version", "readonly b Busy",
                 "readonly u QueueLength", "readonly t ExecutionCount",
                 "interface org.freedesktop.DBus.Peer"]:
        assert text in p.stdout, f"{text!r} not in:\n{p.stdout}"


def test_busctl_get_property(daemon, bus_address):
    p = busctl(bus_address, "get-property", daemon.name, OBJECT_PATH, IFACE, "Version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == 's "0.1.0"'


def test_introspection_xml(daemon):
    xml = daemon.call("Introspect", iface="org.freedesktop.DBus.Introspectable")
    root = ET.fromstring(xml)
    ifaces = {i.get("name"): i for i in root.findall("interface")}
    for std in ["org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties",
                "org.freedesktop.DBus.Peer"]:
        assert std in ifaces, std
    me = ifaces[IFACE]

    def args(member, direction):
        return [(a.get("name"), a.get("type")) for a in member.findall("arg")
                if (a.get("direction") or ("in" if member.tag == "method" else "out"))
                == direction]

    methods = {m.get("name"): m for m in me.findall("method")}
    assert {"Execute", "RunFile", "Interrupt", "Shutdown"} <= set(methods)
    assert [t for _, t in args(methods["Execute"], "in")] == ["s"]
    assert [t for _, t in args(methods["Execute"], "out")] == ["b", "s", "s", "s"]
    assert [n for n, _ in args(methods["Execute"], "out")] == \
        ["success", "result", "stdout", "stderr"]
    assert [t for _, t in args(methods["RunFile"], "in")] == ["s", "as"]
    assert [t for _, t in args(methods["RunFile"], "out")] == ["b", "s", "s"]
    assert args(methods["Interrupt"], "in") == []
    assert [t for _, t in args(methods["Interrupt"], "out")] == ["b"]
    assert args(methods["Shutdown"], "in") == [] and args(methods["Shutdown"], "out") == []
    props = {p.get("name"): p for p in me.findall("property")}
    assert set(props) == set(PROPERTIES)
    for name, (sig, _) in PROPERTIES.items():
        assert props[name].get("type") == sig, name
        assert props[name].get("access") == "read", name
    signals = {s.get("name"): s for s in me.findall("signal")}
    assert set(signals) == {"Output", "Finished"}
    assert [a.get("type") for a in signals["Output"].findall("arg")] == ["t", "s", "s"]


def test_introspection_matches_installed_xml(daemon):
    from helpers import SOURCE_DIR
    src = SOURCE_DIR / "daemon" / "org.guiloop.GuiLoop1.xml"
    assert src.exists(), src
    want = ET.fromstring(src.read_text())
    got = ET.fromstring(daemon.call("Introspect", iface="org.freedesktop.DBus.Introspectable"))

    def members(root):
        i = [x for x in root.iter("interface") if x.get("name") == IFACE][0]
        return sorted((c.tag, c.get("name"), c.get("type") or "", c.get("access") or "",
                       tuple((a.get("type"), a.get("direction") or "") for a in c.findall("arg")))
                      for c in i if c.tag in ("method", "property", "signal"))
    assert members(got) == members(want)


def test_peer_ping(daemon):
    assert daemon.call("Ping", iface="org.freedesktop.DBus.Peer") == ()


@pytest.mark.every_toolkit
def test_bus_thread_answers_while_code_holds_the_gil(daemon):
    # sum() over a long range is one C call that never lets go of the GIL.
    call = daemon.execute_bg("import time\nt0 = time.monotonic()\nsum(range(2 * 10**8))\n"
                             "round(time.monotonic() - t0, 1)")
    daemon.wait_busy()
    time.sleep(0.1)
    t0 = time.monotonic()
    everything = daemon.get_all()
    assert everything["Busy"] is True
    daemon.call("Introspect", iface="org.freedesktop.DBus.Introspectable")
    assert time.monotonic() - t0 < 0.5, f"answers took {time.monotonic() - t0:.2f} s"
    if not call.finished():
        t1 = time.monotonic()
        assert daemon.interrupt() is True
        assert time.monotonic() - t1 < 0.5
    call.wait(60)


def test_default_queue_limit(daemon):
    from helpers import ERR
    running = daemon.execute_bg("import time\ntime.sleep(30)")
    daemon.wait_busy()
    queued = [daemon.execute_bg("1") for _ in range(64)]
    daemon.wait_queue(64)
    assert daemon.call_error("Execute", "s", ["'one too many'"]) == ERR + "QueueFull"
    assert daemon.interrupt() is True
    running.wait(10)
    for q in queued:
        assert q.result(20) == (True, "1", "", "")
