# SPDX-License-Identifier: MIT
"""Helpers shared by guiloop's integration tests.

Everything here talks to a real guiloopd on a private dbus-daemon under
Xvfb; conftest.py starts those.  Tests import this module as `helpers`.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import dbus
import dbus.bus

SOURCE_DIR = Path(os.environ.get("GUILOOP_SOURCE_DIR")
                  or Path(__file__).resolve().parents[2])
BUILD_DIR = Path(os.environ.get("GUILOOP_BUILD_DIR") or SOURCE_DIR / "build")
GUILOOPD = Path(os.environ.get("GUILOOPD") or BUILD_DIR / "daemon" / "guiloopd")
PLUGIN_BUILD_DIR = BUILD_DIR / "plugins"
PYTHON = "/usr/bin/python3"

BUS_NAME = "org.guiloop.GuiLoop1"
OBJECT_PATH = "/org/guiloop/GuiLoop1"
IFACE = "org.guiloop.GuiLoop1"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
ERR = "org.guiloop.GuiLoop1.Error."
DBUS_ERR = "org.freedesktop.DBus.Error."

NOBODY = 65534

# sysexits
EX_OK, EX_USAGE, EX_UNAVAILABLE, EX_SOFTWARE, EX_TEMPFAIL, EX_CONFIG = 0, 64, 69, 70, 75, 78

# Generous D-Bus timeout for a call (seconds): executions may be long.
CALL_TIMEOUT = 60.0


def bus_name(instance=None):
    return BUS_NAME + ("." + instance if instance else "")


def unwrap(v):
    """dbus-python values to plain Python values."""
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64,
                      dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    if isinstance(v, dbus.Double):
        return float(v)
    if isinstance(v, dbus.Dictionary):
        return {unwrap(k): unwrap(x) for k, x in v.items()}
    if isinstance(v, dbus.Struct):
        return tuple(unwrap(x) for x in v)
    if isinstance(v, dbus.Array):
        return [unwrap(x) for x in v]
    if isinstance(v, tuple):
        return tuple(unwrap(x) for x in v)
    return v


def poll(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Call predicate() until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def dbus_error_name(exc):
    return exc.get_dbus_name() if isinstance(exc, dbus.exceptions.DBusException) else None


def call(conn, name, method, signature="", args=(), iface=IFACE, path=OBJECT_PATH,
         timeout=CALL_TIMEOUT):
    """One blocking call; the reply unwrapped (() for an empty reply)."""
    r = conn.call_blocking(name, path, iface, method, signature, list(args), timeout=timeout)
    return () if r is None else unwrap(r)


class BackgroundCall(threading.Thread):
    """One D-Bus method call on its own connection in a thread.

    result() waits and returns the unwrapped reply or raises the
    DBusException the call got."""

    def __init__(self, address, name, method, signature="", args=(), iface=IFACE,
                 path=OBJECT_PATH, timeout=CALL_TIMEOUT):
        super().__init__(daemon=True)
        self.conn = dbus.bus.BusConnection(address)
        self.call = (name, path, iface, method, signature, list(args))
        self.timeout = timeout
        self.value = None
        self.error = None
        self.t_start = None
        self.t_done = None
        self.start()

    def run(self):
        self.t_start = time.monotonic()
        try:
            r = self.conn.call_blocking(*self.call, timeout=self.timeout)
            self.value = () if r is None else unwrap(r)
        except BaseException as e:  # noqa: B902 - reported by result()
            self.error = e
        finally:
            self.t_done = time.monotonic()
            try:
                self.conn.close()
            except Exception:
                pass

    def finished(self):
        return not self.is_alive()

    def wait(self, timeout=30.0):
        self.join(timeout)
        assert not self.is_alive(), f"no reply to {self.call[3]} within {timeout} s"
        return self

    def result(self, timeout=30.0):
        self.wait(timeout)
        if self.error is not None:
            raise self.error
        return self.value

    def error_name(self, timeout=30.0):
        """The D-Bus error name the call got (fails if it succeeded)."""
        self.wait(timeout)
        assert self.error is not None, f"expected an error, got reply {self.value!r}"
        assert isinstance(self.error, dbus.exceptions.DBusException), repr(self.error)
        return self.error.get_dbus_name()


class Daemon:
    """A guiloopd process started by the start_daemon fixture."""

    def __init__(self, proc, log_path, address, instance, env, argv):
        self.proc = proc
        self.pid = proc.pid
        self.log_path = Path(log_path)
        self.address = address
        self.instance = instance
        self.name = bus_name(instance)
        self.env = env
        self.argv = argv
        self.consumed = False  # the test checked the exit itself
        self._conn = None

    # -- process ---------------------------------------------------------
    def log(self):
        try:
            return self.log_path.read_text(errors="backslashreplace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=10.0):
        """Wait for the daemon to exit; return its exit code (the test owns it now)."""
        self.consumed = True
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"guiloopd did not exit within {timeout} s; log:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.alive():
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def status(self, key):
        """A field of /proc/PID/status as an int (kB for Vm*)."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        m = re.search(rf"^{key}:\s+(\d+)", text, re.M)
        return int(m.group(1))

    def context_switches(self):
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                text = (task / "status").read_text()
            except FileNotFoundError:
                continue
            for key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                total += int(re.search(rf"^{key}:\s+(\d+)", text, re.M).group(1))
        return total

    # -- bus -------------------------------------------------------------
    @property
    def conn(self):
        if self._conn is None:
            self._conn = dbus.bus.BusConnection(self.address)
        return self._conn

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def call(self, method, signature="", args=(), iface=IFACE, timeout=CALL_TIMEOUT,
             path=OBJECT_PATH):
        return call(self.conn, self.name, method, signature, args, iface=iface,
                    path=path, timeout=timeout)

    def call_error(self, method, signature="", args=(), iface=IFACE, timeout=CALL_TIMEOUT,
                   path=OBJECT_PATH):
        """Make a call that must fail; return the D-Bus error name."""
        try:
            r = self.call(method, signature, args, iface=iface, timeout=timeout, path=path)
        except dbus.exceptions.DBusException as e:
            return e.get_dbus_name()
        raise AssertionError(f"{method} should have failed, returned {r!r}")

    def background(self, method, signature="", args=(), iface=IFACE, timeout=CALL_TIMEOUT):
        return BackgroundCall(self.address, self.name, method, signature, args,
                              iface=iface, timeout=timeout)

    def execute(self, code, timeout=CALL_TIMEOUT):
        """Execute(code) -> (success, result, stdout, stderr)."""
        r = self.call("Execute", "s", [code], timeout=timeout)
        assert isinstance(r, tuple) and len(r) == 4, r
        return r

    def ok(self, code, timeout=CALL_TIMEOUT):
        """Execute code that must succeed; return its result."""
        success, result, out, err = self.execute(code, timeout)
        assert success, f"execution failed:\nstdout: {out}\nstderr: {err}"
        return result

    def value(self, expr, timeout=CALL_TIMEOUT):
        """The value of a Python literal expression evaluated in the daemon."""
        import ast
        return ast.literal_eval(self.ok(expr, timeout))

    def execute_bg(self, code, timeout=CALL_TIMEOUT):
        return self.background("Execute", "s", [code], timeout=timeout)

    def run_file(self, path, argv=(), timeout=CALL_TIMEOUT):
        return self.call("RunFile", "sas", [str(path), dbus.Array(list(argv), signature="s")],
                         timeout=timeout)

    def interrupt(self, timeout=10.0):
        return self.call("Interrupt", timeout=timeout)

    def shutdown(self, timeout=10.0):
        return self.call("Shutdown", timeout=timeout)

    def get(self, prop, timeout=10.0):
        return self.call("Get", "ss", [IFACE, prop], iface=PROPS_IFACE, timeout=timeout)

    def get_all(self, timeout=10.0):
        return self.call("GetAll", "s", [IFACE], iface=PROPS_IFACE, timeout=timeout)

    def owns_name(self):
        return bool(self.conn.name_has_owner(self.name))

    def wait_busy(self, timeout=10.0):
        poll(lambda: self.get("Busy"), timeout, what="Busy to become true")

    def wait_queue(self, n, timeout=10.0):
        poll(lambda: self.get("QueueLength") == n, timeout, what=f"QueueLength == {n}")


def run_guiloopd(args, env, timeout=15, cwd=None):
    """Run guiloopd to completion (command-line checks); a CompletedProcess.

    A daemon that is still running after timeout seconds is killed and the
    test fails."""
    try:
        return subprocess.run([str(GUILOOPD), *args], env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="backslashreplace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="backslashreplace")
        raise AssertionError(f"guiloopd {' '.join(args)} still ran after {timeout} s "
                             f"(killed); stderr:\n{err}") from None


_NOBODY_SCRIPT = r"""
import json, sys
import dbus, dbus.bus
req = json.loads(sys.argv[1])
conn = dbus.bus.BusConnection(req["address"])
def unwrap(v):
    if isinstance(v, dbus.Boolean): return bool(v)
    if isinstance(v, (list, tuple)): return [unwrap(x) for x in v]
    if isinstance(v, dict): return {str(k): unwrap(x) for k, x in v.items()}
    if isinstance(v, str): return str(v)
    if isinstance(v, int): return int(v)
    return repr(v)
try:
    r = conn.call_blocking(req["name"], req["path"], req["iface"], req["method"],
                           req["signature"], req["args"], timeout=30)
    print(json.dumps({"reply": unwrap(r)}))
except dbus.exceptions.DBusException as e:
    print(json.dumps({"error": e.get_dbus_name(), "message": str(e)}))
"""


def call_as_user(uid, address, name, method, signature="", args=(), iface=IFACE,
                 path=OBJECT_PATH):
    """Make one D-Bus call from a process running as Unix user uid.

    Returns {"reply": [...]} or {"error": NAME, "message": ...}."""
    req = dict(address=address, name=name, method=method, signature=signature,
               args=list(args), iface=iface, path=path)
    env = {"PATH": "/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS": address, "HOME": "/",
           "LANG": "C.UTF-8"}
    p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        PYTHON, "-c", _NOBODY_SCRIPT, json.dumps(req)],
                       env=env, capture_output=True, text=True, timeout=60, cwd="/")
    assert p.returncode == 0, f"client as uid {uid} failed: {p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def xdotool(display, *args, check=True, timeout=20):
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    if args[:2] == ("mousemove", "--sync"):
        # `mousemove --sync` waits for the pointer to move, which never happens
        # when it already is there (an earlier test clicked the same spot):
        # go somewhere else first.
        subprocess.run(["xdotool", "mousemove", "1279", "1023"], env=env,
                       capture_output=True, timeout=timeout)
    p = subprocess.run(["xdotool", *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, f"xdotool {' '.join(args)}: {p.stderr}"
    return p


def find_window(display, title, timeout=10.0):
    """Window ids of visible windows named title (polls until there is one)."""
    def look():
        p = xdotool(display, "search", "--onlyvisible", "--name", f"^{re.escape(title)}$",
                    check=False)
        return p.stdout.split() if p.returncode == 0 else None
    return poll(look, timeout, interval=0.1, what=f"a visible window named {title!r}")


def click_window(display, wid):
    """A real left click in the middle of an X window (a button filling it)."""
    x, y, w, h = window_geometry(display, wid)
    assert w >= 50 and h >= 20, (x, y, w, h)
    xdotool(display, "mousemove", "--sync", str(x + w // 2), str(y + h // 2))
    time.sleep(0.1)
    xdotool(display, "click", "1")


def window_geometry(display, wid):
    """(x, y, width, height) of an X window, from xwininfo."""
    p = subprocess.run(["xwininfo", "-id", str(wid)], env={"DISPLAY": display},
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    def field(label):
        return int(re.search(rf"{label}:\s+(-?\d+)", p.stdout).group(1))
    return (field("Absolute upper-left X"), field("Absolute upper-left Y"),
            field("Width"), field("Height"))


def parse_ini(text):
    """A small, lenient ini reader for --check-config output: {section: {key: value}}."""
    out, section = {}, None
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", s)
        if m:
            section = out.setdefault(m.group(1).strip(), {})
            continue
        m = re.fullmatch(r"([A-Za-z0-9_]+)\s*[=:]\s*(.*)", s)
        assert m and section is not None, f"not an ini line: {line!r}\n{text}"
        section[m.group(1)] = m.group(2).strip()
    return out


def dlerror_of(path):
    """What dlopen(path) says, as the daemon should report it."""
    import ctypes
    try:
        ctypes.CDLL(str(path))
    except OSError as e:
        return str(e)
    raise AssertionError(f"{path} loads")



class SignalRecorder:
    """Records D-Bus signals on a connection driven by the test thread's GLib context.

    match: keyword arguments of add_signal_receiver (signal_name, dbus_interface,
    path, ...).  Call pump() to let signals in."""

    def __init__(self, address, **match):
        from dbus.mainloop.glib import DBusGMainLoop
        from gi.repository import GLib
        self.ctx = GLib.MainContext.default()
        self.conn = dbus.bus.BusConnection(address, mainloop=DBusGMainLoop())
        self.signals = []  # (monotonic time, member, args)
        self.conn.add_signal_receiver(self._got, member_keyword="member", **match)
        # A round trip to the bus so that the match rule is surely in place.
        self.conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "GetId", "", [])

    def _got(self, *args, member=None):
        self.signals.append((time.monotonic(), member, unwrap(args)))

    def pump(self, seconds=0.0, until=None, timeout=30.0):
        """Dispatch signals until until() is true (then seconds more), or for seconds."""
        deadline = time.monotonic() + timeout
        while until is not None and not until():
            while self.ctx.iteration(False):
                pass
            assert time.monotonic() < deadline, "timed out pumping signals"
            time.sleep(0.005)
        end = time.monotonic() + seconds
        while True:
            while self.ctx.iteration(False):
                pass
            if time.monotonic() >= end:
                break
            time.sleep(0.005)

    def close(self):
        self.conn.close()


class Outputs:
    """Output signals as a subscriber gets them (Subscribe when the daemon has it;
    before that, Output is broadcast and a match rule is enough)."""

    def __init__(self, daemon):
        self.rec = SignalRecorder(daemon.address, signal_name="Output", dbus_interface=IFACE,
                                  path=OBJECT_PATH)
        try:
            self.rec.conn.call_blocking(daemon.name, OBJECT_PATH, IFACE, "Subscribe", "", [])
        except dbus.exceptions.DBusException as e:
            if e.get_dbus_name() != "org.freedesktop.DBus.Error.UnknownMethod":
                raise

    def text(self, execution, stream):
        """What arrived for execution (0: background; None: any but 0) on stream."""
        return "".join(args[2] for _, _, args in self.rec.signals
                       if args[1] == stream and (args[0] == execution if execution is not None
                                                 else args[0] != 0))

    def wait_for(self, execution, stream, needle, timeout=10.0):
        self.rec.pump(until=lambda: needle in self.text(execution, stream), timeout=timeout)
        return self.text(execution, stream)

    def settle(self, seconds=0.2):
        self.rec.pump(seconds)

    def close(self):
        self.rec.close()


class BusMonitor:
    """dbus-monitor --monitor on the private bus, to count the replies to each call.

    Use as a context manager; afterwards calls_to(unique_name) and
    replies_from(unique_name) tell who asked what and how often it was answered."""

    HEADER = re.compile(r"^(method call|method return|error|signal) time=\S+ sender=(\S+) -> "
                        r"destination=(\S+)(?: error_name=(\S+))?(?: serial=(\d+))?"
                        r"(?: reply_serial=(\d+))?(?:.*member=(\w+))?")

    def __init__(self, address, log_path):
        self.log_path = Path(log_path)
        self.address = address
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(["dbus-monitor", "--address", self.address, "--monitor"],
                                     stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        poll(lambda: "NameLost" in self.log_path.read_text(), 10, what="dbus-monitor")
        return self

    def __exit__(self, *exc):
        time.sleep(0.2)  # the last messages
        self.proc.terminate()
        self.proc.wait(10)

    def messages(self):
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = self.HEADER.match(line)
            if m:
                kind, sender, dest, error, serial, reply_serial, member = m.groups()
                out.append(dict(kind=kind, sender=sender, dest=dest, error=error,
                                serial=serial, reply_serial=reply_serial, member=member))
        return out

    def unanswered_or_twice(self, names, unique):
        """Calls to the daemon (by any of names or its unique name) not answered
        exactly once by the daemon itself: {(caller, serial, member): count}."""
        msgs = self.messages()
        calls = {(m["sender"], m["serial"]): m["member"] for m in msgs
                 if m["kind"] == "method call" and (m["dest"] in names or m["dest"] == unique)}
        replies = {}
        for m in msgs:
            if m["kind"] in ("method return", "error") and m["sender"] == unique:
                key = (m["dest"], m["reply_serial"])
                replies[key] = replies.get(key, 0) + 1
        return {(c, s, member): replies.get((c, s), 0) for (c, s), member in calls.items()
                if replies.get((c, s), 0) != 1}, len(calls)
