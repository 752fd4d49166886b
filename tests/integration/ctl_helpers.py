# SPDX-License-Identifier: MIT
"""Helpers and fixtures for the desktop-integration tests: guiloopctl, D-Bus
activation and meson install (test_guiloopctl.py, test_activation.py,
test_install.py).

The fixtures here build on conftest.py's (xvfb, session_bus, make_env,
start_daemon); a test module imports the ones it uses."""
import os
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import dbus
import dbus.bus
import pytest

from helpers import BUILD_DIR, GUILOOPD, IFACE, SOURCE_DIR, bus_name, poll

GUILOOPCTL = Path(os.environ.get("GUILOOPCTL") or BUILD_DIR / "client" / "guiloopctl")
INTERFACE_XML = SOURCE_DIR / "daemon" / "org.guiloop.GuiLoop1.xml"

# guiloopctl's documented exit codes.
CTL_OK, CTL_FAILED, CTL_USAGE, CTL_BUS, CTL_GAVE_UP = 0, 1, 2, 3, 130

ACTIVATION_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={dir}</listen>
  <servicedir>{servicedir}</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def run_ctl(args, env, input=None, cwd=None, timeout=30):
    """Run guiloopctl to completion; a CompletedProcess with text output."""
    try:
        return subprocess.run([str(GUILOOPCTL), *args], env=env, cwd=cwd,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, errors="backslashreplace",
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = e.stderr or b""
        if isinstance(err, bytes):
            err = err.decode(errors="backslashreplace")
        raise AssertionError(f"guiloopctl {' '.join(args)} still ran after {timeout} s "
                             f"(killed); stderr:\n{err}") from None


def describe(p):
    return f"exit {p.returncode}\n--- stdout:\n{p.stdout}\n--- stderr:\n{p.stderr}"


@pytest.fixture(scope="session")
def guiloopctl():
    if not os.access(GUILOOPCTL, os.X_OK):
        pytest.fail(f"{GUILOOPCTL} is not an executable (build the client, or set GUILOOPCTL)")
    return GUILOOPCTL


@pytest.fixture
def ctl_env(make_env):
    """Environment for guiloopctl on the conftest session bus (no display needed)."""
    return make_env(display=False)


# -- interface XML ------------------------------------------------------------

def interface_node(xml_text, name=IFACE):
    """The <interface name=NAME> of introspection XML as comparable data."""
    # The DOCTYPE is harmless to ElementTree; parse the text as it is.
    root = ET.fromstring(xml_text)
    nodes = [i for i in root.findall("interface") if i.get("name") == name]
    assert len(nodes) == 1, f"{len(nodes)} <interface name={name!r}> elements"
    iface = nodes[0]

    def annotations(el):
        return tuple(sorted((a.get("name"), a.get("value")) for a in el.findall("annotation")))

    def args(el, default_direction):
        return tuple((a.get("name"), a.get("type"), a.get("direction", default_direction))
                     for a in el.findall("arg"))

    return {
        "methods": {m.get("name"): (args(m, "in"), annotations(m))
                    for m in iface.findall("method")},
        "signals": {s.get("name"): (args(s, "out"), annotations(s))
                    for s in iface.findall("signal")},
        "properties": {p.get("name"): (p.get("type"), p.get("access"), annotations(p))
                       for p in iface.findall("property")},
        "annotations": annotations(iface),
        "children": sorted({c.tag for c in iface} - {"method", "signal", "property",
                                                     "annotation"}),
    }


def property_names():
    return list(interface_node(INTERFACE_XML.read_text())["properties"])


# -- a private bus that activates services --------------------------------------

class ActivationBus:
    """A private dbus-daemon with a <servicedir> of its own.

    add_service(name, exec_line) writes an activation file; env() is the
    environment for guiloopctl on this bus.  The bus (and so every daemon it
    activates) runs with the test's Xvfb display and an empty HOME."""

    def __init__(self, root, daemon_env):
        self.root = Path(root)
        self.servicedir = self.root / "services"
        self.servicedir.mkdir(parents=True)
        self.sockdir = Path(tempfile.mkdtemp(prefix="guiloop-act-", dir="/tmp"))
        self.conf = self.root / "bus.conf"
        self.conf.write_text(ACTIVATION_BUS_CONF.format(dir=self.sockdir,
                                                       servicedir=self.servicedir))
        self.log_path = self.root / "activation-bus.log"
        self.daemon_env = daemon_env
        self.names = []
        self.proc = None
        self.address = None
        self._conn = None

    def start(self):
        r, w = os.pipe()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={self.conf}", "--nofork", f"--print-address={w}"],
            pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env=self.daemon_env, start_new_session=True)
        os.close(w)
        log.close()
        data = b""
        deadline = time.monotonic() + 20
        while not data.endswith(b"\n"):
            assert time.monotonic() < deadline, f"dbus-daemon did not start:\n{self.log()}"
            chunk = os.read(r, 4096)
            assert chunk, f"dbus-daemon exited ({self.proc.poll()}):\n{self.log()}"
            data += chunk
        os.close(r)
        self.address = data.decode().strip()
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="backslashreplace")
        except FileNotFoundError:
            return ""

    @property
    def conn(self):
        if self._conn is None:
            self._conn = dbus.bus.BusConnection(self.address)
        return self._conn

    def add_service(self, name, exec_line, template=None):
        """Write NAME.service.  With template (an activation file's text), only
        its Name= and Exec= are replaced, so the real file is what is tested."""
        if template is None:
            template = "[D-BUS Service]\nName=NAME\nExec=EXEC\n"
        lines = []
        for line in template.splitlines():
            if line.startswith("Name="):
                line = f"Name={name}"
            elif line.startswith("Exec="):
                line = f"Exec={exec_line}"
            lines.append(line)
        (self.servicedir / f"{name}.service").write_text("\n".join(lines) + "\n")
        self.names.append(name)
        # dbus-daemon rereads its service folders on a name it does not know.

    def env(self, **overrides):
        env = dict(self.daemon_env)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        env.pop("DISPLAY", None)  # guiloopctl needs no display
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def has_owner(self, name):
        return bool(self.conn.name_has_owner(name))

    def pid_of(self, name):
        return int(self.conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                           "s", [name]))

    def stop(self):
        """Shut down every daemon it activated, then the bus.  Returns problems."""
        problems = []
        pids = []
        for name in self.names:
            try:
                if not self.has_owner(name):
                    continue
                pids.append(self.pid_of(name))
                self.conn.call_blocking(name, "/org/guiloop/GuiLoop1", IFACE, "Shutdown", "", [],
                                        timeout=10)
            except dbus.exceptions.DBusException as e:
                problems.append(f"{name}: Shutdown failed: {e}")
        for pid in pids:
            if not _wait_pid_gone(pid, 15):
                problems.append(f"activated guiloopd (pid {pid}) did not stop; killed")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self._conn is not None:
            self._conn.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in self.sockdir.iterdir():
            p.unlink()
        self.sockdir.rmdir()
        return problems


def _alive(pid):
    """Running, not a zombie (activated daemons are reaped by dbus-daemon)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_pid_gone(pid, timeout):
    try:
        poll(lambda: not _alive(pid), timeout, what=f"pid {pid} to exit")
        return True
    except AssertionError:
        return False


def activation_file_template():
    """The configured activation file of the build under test."""
    for p in (BUILD_DIR / "conf" / "org.guiloop.GuiLoop1.service",
              SOURCE_DIR / "conf" / "org.guiloop.GuiLoop1.service"):
        if p.exists():
            return p.read_text()
    pytest.fail("conf/org.guiloop.GuiLoop1.service is missing")


@pytest.fixture
def activation_bus(make_env, tmp_path, guiloopd):
    """An ActivationBus whose services are the built guiloopd: the default name
    and the instances a and b.  Nothing runs until a call activates it."""
    env = make_env(bus=False)
    bus = ActivationBus(tmp_path / "activation", env).start()
    template = activation_file_template()
    bus.add_service(bus_name(None), f"{GUILOOPD}", template)
    for inst in ("a", "b"):
        bus.add_service(bus_name(inst), f"{GUILOOPD} --instance {inst}", template)
    yield bus
    problems = bus.stop()
    print(f"----- activation bus log\n{bus.log()[-20000:]}")
    if problems:
        pytest.fail("\n".join(problems))
