# SPDX-License-Identifier: MIT
"""guiloopctl against a running daemon on the test session bus: output
streams, exit codes (0 ok, 1 the code raised, 2 usage, 3 bus/daemon error),
Ctrl-C forwarding, run with a relative path, status, interrupt, shutdown.

guiloopctl's behaviour does not depend on the toolkit, so these run with gtk
only.  Activation (no daemon running) is in test_activation.py."""
import re
import signal
import subprocess
import time

import pytest

from ctl_helpers import (CTL_BUS, CTL_FAILED, CTL_GAVE_UP, CTL_OK, CTL_USAGE, GUILOOPCTL,
                         ctl_env, describe, guiloopctl, property_names, run_ctl)  # noqa: F401
from helpers import poll, run_guiloopd

pytestmark = pytest.mark.toolkits("gtk")

ONE_LINE_ERROR = re.compile(r"^guiloopctl: [A-Za-z_][\w.]*\.[A-Za-z_]\w*: .+\n\Z")


# -- without a daemon: help, version, usage -----------------------------------------

def test_help(guiloopctl, cli_env):
    p = run_ctl(["--help"], cli_env)
    assert p.returncode == CTL_OK, describe(p)
    assert p.stdout.startswith("Usage: guiloopctl"), p.stdout
    assert p.stderr == ""
    for word in ["exec CODE", "run FILE", "interrupt", "shutdown", "status", "--instance",
                 "--version", "Ctrl-C"]:
        assert word in p.stdout, f"{word!r} missing from --help:\n{p.stdout}"
    # The exit codes are documented.
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\s+{code}\s+\S", p.stdout, re.M), f"exit {code} undocumented"


def test_version_matches_daemon(guiloopctl, guiloopd, cli_env):
    p = run_ctl(["--version"], cli_env)
    assert p.returncode == CTL_OK, describe(p)
    d = run_guiloopd(["--version"], cli_env)
    version = d.stdout.split()[-1]
    assert p.stdout == f"guiloopctl {version}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version


# No command at all is no usage error: stdin is the code, or the console on a
# terminal (test_live_output.py, test_console.py).
@pytest.mark.parametrize("args", [
    ["bogus"],
    ["--bogus", "status"],
    ["-Z", "status"],
    ["--instance"],
    ["--instance", "9bad", "status"],
    ["--instance", "has-dash", "status"],
    ["exec"],
    ["exec", "1", "2"],
    ["exec", "--"],
    ["exec", "--", "1", "2"],
    ["run"],
    ["status", "extra"],
    ["interrupt", "extra"],
    ["shutdown", "extra"],
    ["console", "extra"],
    ["monitor", "extra"],
    ["stacks", "extra"],
], ids=lambda a: " ".join(a) or "empty")
def test_usage_errors_exit_2(guiloopctl, cli_env, args):
    # No bus at all: a usage error is found before connecting.
    p = run_ctl(args, cli_env)
    assert p.returncode == CTL_USAGE, describe(p)
    assert p.stdout == ""
    assert p.stderr.startswith("guiloopctl: "), p.stderr


def test_no_session_bus_exits_3(guiloopctl, make_env):
    env = make_env(display=False, bus=False,
                   DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/guiloop-bus")
    p = run_ctl(["exec", "1"], env)
    assert p.returncode == CTL_BUS, describe(p)
    assert p.stdout == ""
    assert re.fullmatch(r"guiloopctl: cannot connect to the session bus: "
                        r"org\.freedesktop\.DBus\.Error\.\w+: .+\n", p.stderr), p.stderr


def test_no_daemon_exec_exits_3(guiloopctl, ctl_env):
    # This bus has no service folders: nothing can start org.guiloop.GuiLoop1.nosuch.
    p = run_ctl(["--instance", "nosuch", "exec", "1"], ctl_env)
    assert p.returncode == CTL_BUS, describe(p)
    assert p.stdout == ""
    assert ONE_LINE_ERROR.match(p.stderr), p.stderr
    assert "org.freedesktop.DBus.Error.ServiceUnknown" in p.stderr
    assert "org.guiloop.GuiLoop1.nosuch" in p.stderr


@pytest.mark.parametrize("command", ["interrupt", "shutdown"])
def test_no_daemon_interrupt_shutdown_exit_3(guiloopctl, ctl_env, command):
    p = run_ctl(["--instance", "nosuch", command], ctl_env)
    assert p.returncode == CTL_BUS, describe(p)
    assert p.stdout == ""
    assert p.stderr == "guiloopctl: no guiloopd is running as org.guiloop.GuiLoop1.nosuch\n"


# -- against a daemon ----------------------------------------------------------------

def test_result_like_a_repl(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "1+1"], ctl_env)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "2\n", ""), describe(p)


def test_no_result_prints_nothing(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "x = 5"], ctl_env)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "", ""), describe(p)
    p = run_ctl(["exec", "None"], ctl_env)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "", ""), describe(p)
    # Names persist: the namespace is the daemon's.
    p = run_ctl(["exec", "x * 2"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "10\n"), describe(p)


def test_streams_go_where_they_belong(daemon, guiloopctl, ctl_env):
    code = ("import sys\nprint('to-out')\nprint('to-err', file=sys.stderr)\n"
            "sys.stdout.write('no newline')\n'the result'")
    p = run_ctl(["exec", code], ctl_env)
    assert p.returncode == CTL_OK, describe(p)
    assert p.stdout == "to-out\nno newline'the result'\n"
    assert p.stderr == "to-err\n"


def test_exception_exits_1_traceback_on_stderr(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "print('before')\n1/0"], ctl_env)
    assert p.returncode == CTL_FAILED, describe(p)
    assert p.stdout == "before\n"
    assert p.stderr.startswith("Traceback (most recent call last):\n"), p.stderr
    assert p.stderr.endswith("ZeroDivisionError: division by zero\n"), p.stderr


@pytest.mark.parametrize("code", ["raise SystemExit(3)", "def f(:", "raise KeyboardInterrupt"])
def test_other_failures_exit_1(daemon, guiloopctl, ctl_env, code):
    p = run_ctl(["exec", code], ctl_env)
    assert p.returncode == CTL_FAILED, describe(p)
    assert p.stdout == ""
    assert p.stderr, describe(p)


def test_exec_after_double_dash(daemon, guiloopctl, ctl_env, tmp_path):
    # '--' ends the options: code or a file name that starts with '-'.
    p = run_ctl(["exec", "--", "-(7)"], ctl_env)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "-7\n", ""), describe(p)
    (tmp_path / "-dash.py").write_text("import sys\nprint(sys.argv[1:])\n")
    p = run_ctl(["run", "--", "-dash.py", "--", "x"], ctl_env, cwd=str(tmp_path))
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "['--', 'x']\n", ""), describe(p)


def test_exec_reads_stdin(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "-"], ctl_env, input="a = 6\nb = 7\nprint('hi')\na * b\n")
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "hi\n42\n", ""), describe(p)


def test_exec_stdin_not_utf8_is_usage_error(daemon, guiloopctl, ctl_env):
    p = subprocess.run([str(GUILOOPCTL), "exec", "-"], env=ctl_env, input=b"x = '\xff'\n",
                       capture_output=True, timeout=30)
    assert p.returncode == CTL_USAGE, p
    assert b"UTF-8" in p.stderr, p.stderr


def test_non_ascii_round_trip(daemon, guiloopctl, ctl_env):
    p = run_ctl(["exec", "print('h\u00e9 \u2603'); '\u00fc'"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "h\u00e9 \u2603\n'\u00fc'\n"), describe(p)


def test_dbus_error_exits_3_on_one_line(daemon, guiloopctl, ctl_env, tmp_path):
    p = run_ctl(["run", str(tmp_path / "missing.py")], ctl_env)
    assert p.returncode == CTL_BUS, describe(p)
    assert p.stdout == ""
    assert ONE_LINE_ERROR.match(p.stderr), p.stderr
    assert p.stderr.startswith("guiloopctl: org.guiloop.GuiLoop1.Error.FileNotFound: "), p.stderr


def test_run_relative_path_from_another_cwd(daemon, guiloopctl, ctl_env, tmp_path):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    script = work / "sub" / "relative.py"
    script.write_text("import sys, os\nprint(repr(sys.argv))\nprint(__file__)\n"
                      "print('err line', file=sys.stderr)\nran_from = __file__\n")
    # The daemon's cwd is elsewhere (the test's tmp_path): the client must make the path absolute.
    p = run_ctl(["run", "sub/relative.py", "arg", "--opt", "-"], ctl_env, cwd=work)
    assert p.returncode == CTL_OK, describe(p)
    assert p.stdout == f"{[str(script), 'arg', '--opt', '-']!r}\n{script}\n", p.stdout
    assert p.stderr == "err line\n"
    p = run_ctl(["run", "./sub/relative.py"], ctl_env, cwd=work)
    assert p.returncode == CTL_OK, describe(p)
    # The file's names land in the interactive namespace.
    p = run_ctl(["exec", "ran_from"], ctl_env)
    assert p.stdout == f"{str(script)!r}\n", describe(p)


def test_run_failure_exits_1(daemon, guiloopctl, ctl_env, tmp_path):
    (tmp_path / "bad.py").write_text("print('partial')\nraise ValueError('nope')\n")
    p = run_ctl(["run", "bad.py"], ctl_env, cwd=tmp_path)
    assert p.returncode == CTL_FAILED, describe(p)
    assert p.stdout == "partial\n"
    assert p.stderr.endswith("ValueError: nope\n"), p.stderr


def test_status_lists_every_property(daemon, guiloopctl, ctl_env):
    run_ctl(["exec", "1"], ctl_env)
    p = run_ctl(["status"], ctl_env)
    assert p.returncode == CTL_OK, describe(p)
    assert p.stderr == ""
    got = {}
    for line in p.stdout.splitlines():
        m = re.fullmatch(r"([A-Za-z]+): (.*)", line)
        assert m, f"not a 'Name: value' line: {line!r}\n{p.stdout}"
        got[m.group(1)] = m.group(2)
    assert sorted(got) == sorted(property_names())
    props = daemon.get_all()
    assert got["Version"] == props["Version"]
    assert got["Toolkit"] == props["Toolkit"] == "gtk"
    assert got["TkGuest"] == "false"
    assert got["Busy"] == "false"
    assert got["QueueLength"] == "0"
    assert got["PythonVersion"] == props["PythonVersion"].splitlines()[0]
    assert int(got["ExecutionCount"]) >= 1


def test_status_shows_busy(daemon, guiloopctl, ctl_env):
    bg = daemon.execute_bg("import time; time.sleep(60)")
    daemon.wait_busy()
    p = run_ctl(["status"], ctl_env)
    assert p.returncode == CTL_OK, describe(p)
    assert "Busy: true\n" in p.stdout, p.stdout
    daemon.interrupt()
    bg.wait()


def test_interrupt_command(daemon, guiloopctl, ctl_env):
    p = run_ctl(["interrupt"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "nothing was running\n"), describe(p)
    bg = daemon.execute_bg("import time; time.sleep(60)")
    daemon.wait_busy()
    p = run_ctl(["interrupt"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "interrupted\n"), describe(p)
    success, _, _, err = bg.result()
    assert not success and "KeyboardInterrupt" in err


def test_instance_option(start_daemon, guiloopctl, ctl_env):
    start_daemon(instance="other")
    p = run_ctl(["--instance", "other", "exec", "'other here'"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "'other here'\n"), describe(p)
    p = run_ctl(["-i", "other", "status"], ctl_env)
    assert p.returncode == CTL_OK, describe(p)
    # Without --instance, the default name: nobody owns it on this bus.
    p = run_ctl(["interrupt"], ctl_env)
    assert p.returncode == CTL_BUS, describe(p)


# -- Ctrl-C ----------------------------------------------------------------------------

def start_ctl(args, env, **kw):
    return subprocess.Popen([str(GUILOOPCTL), *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(proc, timeout):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"guiloopctl did not exit within {timeout} s; stderr:\n{err}")
    return out, err


def test_ctrl_c_interrupts_the_code(daemon, guiloopctl, ctl_env, tmp_path):
    ready = tmp_path / "ready"
    proc = start_ctl(["exec", f"import time; open({str(ready)!r}, 'w').close(); time.sleep(60)"],
                     ctl_env)
    poll(ready.exists, 10, what="the code to start")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc, 5)
    elapsed = time.monotonic() - t0
    assert proc.returncode == CTL_FAILED, (proc.returncode, out, err)
    assert elapsed < 2.0, f"guiloopctl took {elapsed:.2f} s to come back after Ctrl-C"
    assert out == ""
    # Ctrl-C is said first (issue 12), then comes the code's traceback.
    assert re.match(r"\^C: interrupting (execution \d+|the running execution)\u2026\n"
                    r"Traceback \(most recent call last\):\n", err), err
    assert err.endswith("KeyboardInterrupt\n"), err
    # The daemon is alive and answers.
    assert daemon.alive()
    p = run_ctl(["exec", "'still here'"], ctl_env)
    assert (p.returncode, p.stdout) == (CTL_OK, "'still here'\n"), describe(p)


def test_second_ctrl_c_interrupts_again(daemon, guiloopctl, ctl_env, tmp_path):
    flag, ready = tmp_path / "caught", tmp_path / "ready"
    # The code says when it sits in the try, so that the first interrupt is caught.
    code = (f"import time\ntry:\n    open({str(ready)!r}, 'w').close(); time.sleep(60)\n"
            "except KeyboardInterrupt:\n"
            f"    print('caught once'); open({str(flag)!r}, 'w').close()\ntime.sleep(60)")
    proc = start_ctl(["exec", code], ctl_env)
    poll(ready.exists, 10, what="the code to start")
    proc.send_signal(signal.SIGINT)
    poll(flag.exists, 5, what="the first KeyboardInterrupt to be caught")
    assert proc.poll() is None, "guiloopctl exited after the first Ctrl-C"
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc, 5)
    assert proc.returncode == CTL_FAILED, (proc.returncode, out, err)
    assert out == "caught once\n"
    assert err.endswith("KeyboardInterrupt\n"), err


def test_third_ctrl_c_stops_waiting(daemon, guiloopctl, ctl_env, tmp_path):
    flag, ready = tmp_path / "count", tmp_path / "ready"
    code = ("import time\nfor i in range(3):\n    try:\n"
            f"        open({str(ready)!r}, 'a').write('x'); time.sleep(60)\n"
            f"    except KeyboardInterrupt:\n        open({str(flag)!r}, 'a').write('x')\n")
    proc = start_ctl(["exec", code], ctl_env)
    for n in (1, 2):
        poll(lambda: ready.exists() and len(ready.read_text()) == n, 10,
             what=f"the code to sit in try number {n}")
        proc.send_signal(signal.SIGINT)
        poll(lambda: flag.exists() and len(flag.read_text()) == n, 5,
             what=f"KeyboardInterrupt number {n}")
    poll(lambda: len(ready.read_text()) == 3, 10, what="the code to sit in try number 3")
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc, 5)
    assert proc.returncode == CTL_GAVE_UP, (proc.returncode, out, err)
    assert "stopped waiting" in err
    # The third Ctrl-C did not reach the daemon: the code still runs.
    assert daemon.get("Busy") is True
    daemon.interrupt()
    poll(lambda: not daemon.get("Busy"), 10, what="the execution to end")
    assert len(flag.read_text()) == 3


def test_shutdown_command_waits_for_exit(daemon, guiloopctl, ctl_env):
    p = run_ctl(["shutdown"], ctl_env)
    assert (p.returncode, p.stdout, p.stderr) == (CTL_OK, "", ""), describe(p)
    # guiloopctl came back only once the daemon had left the bus.
    assert not daemon.owns_name()
    assert daemon.wait(10) == 0, daemon.log()
