# SPDX-License-Identifier: MIT
"""A real terminal for guiloopctl's console tests: a private tmux server per
test (its own socket, no user configuration), keys sent with send-keys, the
screen read back with capture-pane, the exit status from a dead pane.

Also: which members the daemon under test offers (introspection), so a test
of a member the daemon does not have yet says so in its skip reason."""
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from ctl_helpers import GUILOOPCTL
from helpers import IFACE, poll

TMUX_CONF = """\
set -g status off
set -g history-limit 10000
set -g default-terminal screen
"""


class Terminal:
    """guiloopctl (or any argv) in a tmux pane of WIDTHxHEIGHT."""

    def __init__(self, tmp_path, argv, env, cwd=None, width=120, height=40):
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (tools/install-deps)")
        self.socket = f"guiloop-{uuid.uuid4().hex[:12]}"
        conf = tmp_path / f"{self.socket}.conf"
        conf.write_text(TMUX_CONF)
        env = dict(env)
        env["TERM"] = "screen"
        # The exit status goes to a file: tmux 3.3a now and then leaves a
        # pane's exited process unreaped (seen 2 runs in 6), so the pane
        # never reads as dead.  The shell's INT trap keeps it alive for the
        # status; the program itself gets Ctrl-C with the default action.
        self.status_file = tmp_path / f"{self.socket}.status"
        program = "env -i " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        program += " " + " ".join(shlex.quote(str(a)) for a in argv)
        command = (f"trap true INT; {program}; echo $? > {shlex.quote(str(self.status_file))}"
                   "; exec sleep 3600")
        self._tmux("-f", str(conf), "new-session", "-d", "-x", str(width), "-y", str(height),
                   "-c", str(cwd or tmp_path), command)
        self.started = time.monotonic()

    def _tmux(self, *args, check=True):
        p = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                           timeout=20)
        if check:
            assert p.returncode == 0, f"tmux {' '.join(args)}: {p.stderr}"
        return p

    def type(self, text):
        """Keys as typed, literally (no Enter)."""
        self._tmux("send-keys", "-l", text)

    def keys(self, *names):
        """tmux key names: Enter, Tab, Up, C-c, C-d."""
        self._tmux("send-keys", *names)

    def line(self, text):
        self.type(text)
        self.keys("Enter")

    def screen(self):
        """Everything shown so far, scrollback included, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-").stdout.rstrip("\n") + "\n"

    def wait_for(self, pattern, timeout=10.0, after=0):
        """The screen once the regex pattern matches it (from offset after)."""
        rx = re.compile(pattern, re.M)
        try:
            return poll(lambda: rx.search(self.screen(), after) and self.screen(), timeout,
                        interval=0.03, what=f"{pattern!r} on the terminal")
        except AssertionError:
            raise AssertionError(f"{pattern!r} not on the terminal within {timeout} s; "
                                 f"screen:\n{self.screen()}") from None

    def prompts(self):
        return re.findall(r"^In \[(\d+)\]: ", self.screen(), re.M)

    def wait_prompt(self, count, timeout=10.0):
        """The screen once it shows count In prompts."""
        try:
            poll(lambda: len(self.prompts()) >= count, timeout, interval=0.03,
                 what=f"In prompt number {count}")
        except AssertionError:
            raise AssertionError(f"no prompt number {count} within {timeout} s; "
                                 f"screen:\n{self.screen()}") from None
        return self.screen()

    def last_line(self):
        return self.screen().rstrip("\n").split("\n")[-1].rstrip(" ")

    def dead_status(self):
        """The exit status once the program has ended, else None."""
        try:
            text = self.status_file.read_text()
        except FileNotFoundError:
            return None
        return int(text) if text.endswith("\n") else None

    def wait_exit(self, timeout=10.0):
        try:
            return poll(lambda: self.dead_status() is not None and (self.dead_status(),),
                        timeout, interval=0.05, what="the program to exit")[0]
        except AssertionError:
            raise AssertionError(f"still running after {timeout} s; screen:\n"
                                 f"{self.screen()}") from None

    def close(self):
        self._tmux("kill-server", check=False)


@pytest.fixture
def terminal(tmp_path):
    """terminal(argv, env, cwd=None) -> Terminal; every one is killed at teardown."""
    made = []

    def make(argv, env, cwd=None, **kw):
        t = Terminal(tmp_path, argv, env, cwd=cwd, **kw)
        made.append(t)
        return t

    yield make
    for t in made:
        print(f"----- terminal\n{t.screen()}")
        t.close()


@pytest.fixture
def console_env(make_env, tmp_path):
    """guiloopctl's environment on the test bus, with a history folder of its own."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return make_env(display=False, XDG_STATE_HOME=state, LANG="C.UTF-8")


@pytest.fixture
def console(terminal, console_env, daemon, guiloopctl):
    """A console on the test daemon, at its first prompt."""
    t = terminal([GUILOOPCTL, "console"], console_env)
    t.wait_prompt(1)
    return t


def members(daemon):
    """Method and signal names of the daemon's GuiLoop1 interface."""
    xml = daemon.call("Introspect", iface="org.freedesktop.DBus.Introspectable")
    root = ET.fromstring(str(xml))
    names = set()
    for iface in root.findall("interface"):
        if iface.get("name") == IFACE:
            names |= {m.get("name") for m in iface if m.get("name")}
    return names


def require(daemon, *names):
    """Skip, naming what is missing, when the daemon lacks one of these members
    (they come with the interface issue; guiloopctl degrades without them)."""
    missing = sorted(set(names) - members(daemon))
    if missing:
        pytest.skip(f"this guiloopd has no {', '.join(missing)} yet")
