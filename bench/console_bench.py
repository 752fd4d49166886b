# SPDX-License-Identifier: MIT
"""guiloopctl's figures for bench/run: the console's first prompt, Tab to
completion shown, and `guiloopctl exec pass` as a whole process against
`busctl call ... Ping` as a whole process.

The console runs in a real pseudo-terminal (pty.openpty); times are from the
spawn (or the keystroke) to the bytes appearing on the terminal."""
import fcntl
import os
import pty
import select
import signal
import subprocess
import termios
import time

CONSOLE_TARGET_MS = 50.0   # console start -> first prompt, daemon running
TAB_TARGET_MS = 20.0       # Tab -> completion on the terminal, idle daemon
EXEC_TARGET = 1.2          # guiloopctl exec pass / busctl call Ping, processes


def _p50(values):
    s = sorted(values)
    return s[(len(s) - 1) // 2]


def _verdict(ok):
    return "PASS" if ok else "MISS"


def _env(s):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TERM": "xterm",
        "HOME": os.path.join(s.tmp, "home"),
        "XDG_STATE_HOME": os.path.join(s.tmp, "state"),
        "DBUS_SESSION_BUS_ADDRESS": s.address,
    }
    return env


def _read_until(fd, needle, timeout=10.0):
    """Bytes from fd until needle is among them; (seconds, bytes)."""
    data = b""
    t0 = time.perf_counter()
    while needle not in data:
        left = timeout - (time.perf_counter() - t0)
        if left <= 0:
            raise RuntimeError(f"{needle!r} not seen within {timeout} s: {data[-300:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"EOF before {needle!r}: {data[-300:]!r}")
            data += chunk
    return time.perf_counter() - t0, data


def _own_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class _Console:
    def __init__(self, guiloopctl, env):
        self.master, slave = pty.openpty()
        self.t0 = time.perf_counter()
        # The pty becomes its controlling terminal, as in a terminal window:
        # Ctrl-C is a SIGINT from the line discipline.
        self.proc = subprocess.Popen([guiloopctl, "console"], env=env, stdin=slave,
                                     stdout=slave, stderr=slave, preexec_fn=_own_terminal)
        os.close(slave)

    def close(self):
        self.proc.send_signal(signal.SIGHUP)
        os.close(self.master)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def first_prompt_ms(guiloopctl, env, runs):
    out = []
    for _ in range(runs):
        c = _Console(guiloopctl, env)
        try:
            _read_until(c.master, b"In [")
            out.append((time.perf_counter() - c.t0) * 1000)
        finally:
            c.close()
    return out


def tab_ms(guiloopctl, env, bus, runs, name, path, iface):
    """Tab after a unique prefix until the rest of the name is on the terminal."""
    bus.call_blocking(name, path, iface, "Execute", "s",
                      ("bench_completion_target_name = 1",), timeout=30)
    out = []
    c = _Console(guiloopctl, env)
    try:
        _read_until(c.master, b"In [")
        for _ in range(runs):
            os.write(c.master, b"bench_completion_ta")
            _read_until(c.master, b"bench_completion_ta")
            t0 = time.perf_counter()
            os.write(c.master, b"\t")
            _read_until(c.master, b"rget_name")
            out.append((time.perf_counter() - t0) * 1000)
            os.write(c.master, b"\x03")  # Ctrl-C drops the line
            _read_until(c.master, b"In [")
    finally:
        c.close()
    return out


def process_ms(argv, env, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out.append((time.perf_counter() - t0) * 1000)
        if p.returncode != 0:
            raise RuntimeError(f"{argv[0]} exited {p.returncode}: {p.stderr.decode()[-300:]}")
    return out


def run(s, guiloopctl, runs, name, path, iface, methods):
    """Print the three figures; methods: the daemon's method names."""
    env = _env(s)
    os.makedirs(env["HOME"], exist_ok=True)
    if not os.access(guiloopctl, os.X_OK):
        print(f"# guiloopctl figures skipped: {guiloopctl} is not built")
        return
    runs = max(runs, 10)

    v = first_prompt_ms(guiloopctl, env, runs)
    print(f"console_first_prompt_p50_ms={_p50(v):.1f} max_ms={max(v):.1f} "
          f"(target <= {CONSOLE_TARGET_MS:g}) {_verdict(_p50(v) <= CONSOLE_TARGET_MS)}  "
          f"[{runs} consoles, spawn to 'In [' on the pty]")

    if "Complete" in methods:
        v = tab_ms(guiloopctl, env, s.bus, runs, name, path, iface)
        print(f"console_tab_p50_ms={_p50(v):.2f} max_ms={max(v):.2f} "
              f"(target <= {TAB_TARGET_MS:g}) {_verdict(_p50(v) <= TAB_TARGET_MS)}  "
              f"[{runs} Tabs, key to completion on the pty, idle daemon]")
    else:
        print("# console_tab: skipped, this guiloopd has no Complete")

    ctl = process_ms([guiloopctl, "exec", "pass"], env, runs * 3)
    ping = process_ms(["busctl", f"--address={s.address}", "call", name, "/",
                       "org.freedesktop.DBus.Peer", "Ping"], env, runs * 3)
    ratio = _p50(ctl) / _p50(ping)
    print(f"exec_pass_process_p50_ms={_p50(ctl):.2f} busctl_ping_process_p50_ms="
          f"{_p50(ping):.2f} ratio={ratio:.2f} (target <= {EXEC_TARGET}) "
          f"{_verdict(ratio <= EXEC_TARGET)}  [{runs * 3} processes each"
          f"{'' if 'Submit' in methods else ', Execute: this guiloopd has no Submit'}]")
