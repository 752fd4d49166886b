# SPDX-License-Identifier: MIT
"""Fixtures for guiloop's integration tests.

Session-wide: an Xvfb server and a private dbus-daemon (tests/data/session.conf)
on a unix socket in a world-readable folder under /tmp, so that a test may
also connect as user nobody.  Per test: guiloopd processes, started with a
clean environment (no user config, the private bus, the Xvfb display) and
stopped with SIGTERM at teardown, which must give exit code 0.

Tests that start a daemon run once per toolkit in TOOLKITS (set
GUILOOP_TEST_TOOLKITS=gtk,qt to choose); mark a test with
@pytest.mark.toolkits("gtk") to restrict it, or with @pytest.mark.core when
it checks only the toolkit-independent core (bus thread, output capture,
configuration): those run with the first toolkit only, to keep the run short.
"""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True

import dbus  # noqa: E402
import dbus.bus  # noqa: E402
import pytest  # noqa: E402

from helpers import BUILD_DIR, GUILOOPD, PLUGIN_BUILD_DIR, SOURCE_DIR, Daemon  # noqa: E402

# The toolkits every conformance test runs against: gtk always (it must be
# built), the others when their plugin is in the build tree.
ALL_TOOLKITS = ["gtk", "tk", "qt", "wx", "gtk4", "qt6"]
REQUIRED_TOOLKITS = {"gtk"}
TOOLKITS = [t for t in ALL_TOOLKITS
            if t in REQUIRED_TOOLKITS or (PLUGIN_BUILD_DIR / f"{t}.so").exists()]
if os.environ.get("GUILOOP_TEST_TOOLKITS"):
    TOOLKITS = [t for t in os.environ["GUILOOP_TEST_TOOLKITS"].split(",") if t]

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
STACKS_AFTER = 7.0  # a daemon not stopped by then has its threads' stacks taken

# Environment variables a daemon may inherit from the test run (debugging aids).
PASSTHROUGH = ("LD_LIBRARY_PATH", "LD_PRELOAD", "ASAN_OPTIONS", "LSAN_OPTIONS",
               "UBSAN_OPTIONS", "MALLOC_CHECK_", "MALLOC_PERTURB_", "G_DEBUG",
               "G_SLICE")


def pytest_configure(config):
    config.addinivalue_line("markers", "toolkits(*names): run only for these toolkits")
    config.addinivalue_line("markers", "core: checks the toolkit-independent core of the "
                            "daemon; run with the first toolkit only")
    config.addinivalue_line("markers", "every_toolkit: run for every toolkit even in a "
                            "module marked core")


def pytest_report_header(config):
    return [f"guiloopd: {GUILOOPD}", f"build dir: {BUILD_DIR}",
            f"toolkits: {', '.join(TOOLKITS)}"]


def pytest_generate_tests(metafunc):
    if "toolkit" in metafunc.fixturenames:
        m = metafunc.definition.get_closest_marker("toolkits")
        names = [t for t in TOOLKITS if m is None or t in m.args]
        if (metafunc.definition.get_closest_marker("core")
                and not metafunc.definition.get_closest_marker("every_toolkit")):
            names = names[:1]
        metafunc.parametrize("toolkit", names, indirect=True)


@pytest.fixture
def toolkit(request):
    tk = request.param
    if tk not in REQUIRED_TOOLKITS and not (PLUGIN_BUILD_DIR / f"{tk}.so").exists():
        pytest.skip(f"the {tk} plugin is not built")
    return tk


def _read_line_from_fd(fd, timeout, what, proc):
    """Read one line a child writes to the pipe fd (e.g. -displayfd)."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"{what} did not report within {timeout} s")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"{what} exited (status {proc.poll()}) without reporting")
            data += chunk
    os.close(fd)
    return data.decode().strip()


def _stop(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="guiloop-tests-", dir="/tmp")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def xvfb(session_dir):
    """DISPLAY (":N") of a private Xvfb server."""
    r, w = os.pipe()
    log = open(session_dir / "xvfb.log", "wb")
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-nolisten", "tcp", "-noreset",
         "-screen", "0", "1280x1024x24"],
        pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        start_new_session=True)
    os.close(w)
    try:
        num = _read_line_from_fd(r, 30, "Xvfb", proc)
    except RuntimeError as e:
        _stop(proc)
        pytest.fail(f"{e}\n{(session_dir / 'xvfb.log').read_text(errors='replace')}")
    yield ":" + num
    _stop(proc)
    log.close()


@pytest.fixture(scope="session")
def session_bus(session_dir):
    """Address of a private dbus-daemon that any Unix user may connect to."""
    sock_dir = tempfile.mkdtemp(prefix="guiloop-bus-", dir="/tmp")
    os.chmod(sock_dir, 0o755)
    r, w = os.pipe()
    log = open(session_dir / "dbus-daemon.log", "wb")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={SOURCE_DIR / 'tests' / 'data' / 'session.conf'}",
         f"--address=unix:dir={sock_dir}", "--nofork", f"--print-address={w}"],
        pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        start_new_session=True)
    os.close(w)
    try:
        address = _read_line_from_fd(r, 30, "dbus-daemon", proc)
    except RuntimeError as e:
        _stop(proc)
        pytest.fail(f"{e}\n{(session_dir / 'dbus-daemon.log').read_text(errors='replace')}")
    yield address
    _stop(proc)
    log.close()
    shutil.rmtree(sock_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def bus(session_bus):
    """The test process's own connection to the private bus."""
    conn = dbus.bus.BusConnection(session_bus)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def guiloopd():
    if not os.access(GUILOOPD, os.X_OK):
        pytest.fail(f"{GUILOOPD} is not an executable (set GUILOOPD)")
    return GUILOOPD


@pytest.fixture
def home(tmp_path):
    """An empty HOME / XDG_CONFIG_HOME, so that no user configuration is read."""
    h = tmp_path / "home"
    (h / ".config").mkdir(parents=True)
    return h


@pytest.fixture
def make_env(home, tmp_path, request):
    """make_env(display=True, bus=True, **overrides) -> environment for guiloopd.

    An override of None removes the variable."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)

    def make(display=True, bus=True, **overrides):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_RUNTIME_DIR": str(runtime),
            "LANG": "C.UTF-8",
            "NO_AT_BRIDGE": "1",   # GTK 3: no accessibility bus on the private bus
            "GTK_A11Y": "none",    # GTK 4: the same
            "GSETTINGS_BACKEND": "memory",
        }
        for k in PASSTHROUGH:
            if k in os.environ:
                env[k] = os.environ[k]
        if display:
            env["DISPLAY"] = request.getfixturevalue("xvfb")
        if bus:
            env["DBUS_SESSION_BUS_ADDRESS"] = request.getfixturevalue("session_bus")
        for k, v in overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    return make


@pytest.fixture
def cli_env(make_env):
    """An environment with no display and no session bus at all."""
    return make_env(display=False, bus=False)


def _wait_ready(d, bus_conn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        rc = d.proc.poll()
        if rc is not None:
            d.consumed = True
            pytest.fail(f"guiloopd exited with {rc} before owning {d.name}; output:\n{d.log()}")
        try:
            if bus_conn.name_has_owner(d.name):
                pid = bus_conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus",
                                             "GetConnectionUnixProcessID", "s", [d.name])
                if int(pid) == d.pid:
                    return
        except dbus.exceptions.DBusException:
            pass  # the owner went away between the two calls
        if time.monotonic() > deadline:
            pytest.fail(f"guiloopd did not own {d.name} within {timeout} s; output:\n{d.log()}")
        time.sleep(0.02)


@pytest.fixture
def start_daemon(guiloopd, session_bus, bus, make_env, tmp_path, toolkit):
    """start_daemon(config=None, args=(), env=None, instance=None, toolkit=<param>,
    wait=True, journal=False) -> Daemon.

    config: ini text (written to a file and passed with --config) or a Path.
    env: overrides of the daemon's environment (None removes a variable).
    wait: wait until the daemon owns its bus name (else return at once).
    journal: set JOURNAL_STREAM to the device:inode of the daemon's stderr.
    display: give the daemon DISPLAY.  name: the bus name to wait for, when
    not the one instance implies (e.g. an instance set in the config file).
    """
    started = []
    default_tk = toolkit

    def start(config=None, args=(), env=None, instance=None, toolkit=default_tk, wait=True,
              journal=False, display=True, name=None):
        n = len(started)
        argv = [str(guiloopd)]
        if config is not None:
            if isinstance(config, str):
                path = tmp_path / f"guiloopd-{n}.ini"
                path.write_text(config)
            else:
                path = config
            argv += ["--config", str(path)]
        if toolkit is not None:
            argv += ["--toolkit", toolkit]
        if instance is not None:
            argv += ["--instance", instance]
        argv += [str(a) for a in args]
        full_env = make_env(display=display, **(env or {}))
        log_path = tmp_path / f"guiloopd-{n}.log"
        log = open(log_path, "wb")
        if journal:
            st = os.fstat(log.fileno())
            full_env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, cwd=str(tmp_path))
        log.close()
        d = Daemon(proc, log_path, session_bus, instance, full_env, argv)
        if name is not None:
            d.name = name
        started.append(d)
        if wait:
            _wait_ready(d, bus, START_TIMEOUT)
        return d

    yield start

    problems = []
    for d in started:
        d.close()
        if d.consumed:
            if d.alive():
                d.proc.kill()
                d.proc.wait()
        elif not d.alive():
            problems.append(f"guiloopd (pid {d.pid}) exited by itself with {d.proc.returncode}")
        else:
            problem = _stop_daemon(d)
            if problem:
                problems.append(problem)
        print(f"----- {' '.join(d.argv)} -> {d.proc.returncode}\n{d.log()[-20000:]}")
    if problems:
        pytest.fail("\n".join(problems))


def _stop_daemon(d):
    """SIGTERM, which must stop d with 0 within STOP_TIMEOUT; else what went wrong.

    A daemon still running after STACKS_AFTER has its threads' stacks taken
    (while the first shutdown_grace is over, before the forced exit); when it
    then misses STOP_TIMEOUT it is killed, after the forced exit's log line had
    a moment more to come."""
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    stacks = None
    try:
        rc = d.proc.wait(STACKS_AFTER)
    except subprocess.TimeoutExpired:
        stacks = thread_stacks(d.pid)
        try:
            rc = d.proc.wait(max(0.1, STOP_TIMEOUT + 5 - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()
            rc = None
    took = time.monotonic() - t0
    if rc is None or took > STOP_TIMEOUT:
        return (f"guiloopd (pid {d.pid}) did not stop within {STOP_TIMEOUT} s of SIGTERM "
                f"({'killed' if rc is None else f'exit {rc} after {took:.1f} s'}); "
                f"its threads {STACKS_AFTER} s after SIGTERM:\n{stacks}")
    if rc != 0:
        return f"guiloopd (pid {d.pid}) exited with {rc} after SIGTERM"
    return None


def thread_stacks(pid):
    """Where each thread of a process that will not stop is: gdb's backtraces,
    else the kernel's wait channel per thread."""
    if shutil.which("gdb"):
        try:
            p = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid),
                                "-ex", "thread apply all bt 30"],
                               capture_output=True, text=True, timeout=60)
            return "\n".join(line for line in p.stdout.splitlines()
                             if line.startswith(("Thread ", "#")))
        except subprocess.TimeoutExpired:
            pass
    lines = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            lines.append(f"{task.name} {(task / 'comm').read_text().strip()}: "
                         f"{(task / 'wchan').read_text().strip()}")
        except OSError:
            continue
    return "\n".join(lines)


@pytest.fixture
def daemon(start_daemon):
    """A guiloopd with the default configuration, for the fixture's toolkit."""
    return start_daemon()


@pytest.fixture
def bus_address(session_bus):
    return session_bus
