# SPDX-License-Identifier: MIT
"""Execute(s code) -> (b success, s result, s stdout, s stderr)."""
import ast
import re
import time

import dbus
import pytest

from helpers import BackgroundCall

pytestmark = pytest.mark.core


@pytest.mark.parametrize("code,result", [
    ("1+1", "2"),
    ("None", ""),
    ("x = 5", ""),
    ("'a'", "'a'"),
    ("[1, 'two', None]", "[1, 'two', None]"),
    ("a = 3\nb = 4\na * b", "12"),
    ("def f(n):\n    return n * 2\nf(21)", "42"),
    ("pass", ""),
    ("", ""),
    ("# only a comment", ""),
    ("'héllo ✓'", "'héllo ✓'"),
    ("if True:\n    5", ""),
    ("for i in range(3):\n    i", ""),
    ("x = 1; x", "1"),
    ("print", "<built-in function print>"),
    # IPython's rule: a trailing ';' (comments aside) shows no result.
    ("x = 1; x;", ""),
    ("1 + 1;  # quiet", ""),
    ("1; 2", "2"),
    ("'a;'", "'a;'"),
    ("'a' # ;", "'a'"),
])
def test_result_is_repr_of_trailing_expression(daemon, code, result):
    assert daemon.execute(code) == (True, result, "", "")


def test_a_quiet_result_still_runs_and_leaves_underscore(daemon):
    daemon.ok("'before'")
    assert daemon.execute("calls = []\ncalls.append(1);") == (True, "", "", "")
    assert daemon.ok("calls, _") == "([1], 'before')"


def test_result_of_expression_followed_by_statement_is_empty(daemon):
    assert daemon.execute("1 + 1\ny = 2")[1] == ""


def test_namespace_persists(daemon):
    assert daemon.execute("x = 41") == (True, "", "", "")
    assert daemon.execute("x + 1") == (True, "42", "", "")
    assert daemon.execute("import math") == (True, "", "", "")
    assert daemon.ok("math.floor(2.5)") == "2"


def test_namespace_is_shared_by_all_callers(daemon, bus_address):
    daemon.ok("shared_value = 'set by caller 1'")
    other = BackgroundCall(bus_address, daemon.name, "Execute", "s", ["shared_value"])
    assert other.result() == (True, "'set by caller 1'", "", "")


def test_namespace_is_main(daemon):
    assert daemon.ok("__name__") == "'__main__'"
    assert daemon.ok("import __main__\nz_marker = 1\n__main__.z_marker") == "1"


def test_stdout_and_stderr_are_captured(daemon):
    code = "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.stdout.write('more')"
    success, result, out, err = daemon.execute(code)
    assert success
    assert out == "out\nmore"
    assert err == "err\n"
    assert result == "4"  # sys.stdout.write returns the length: the trailing expression


def test_output_is_per_execution(daemon):
    assert daemon.execute("print('first')")[2] == "first\n"
    assert daemon.execute("print('second')")[2] == "second\n"
    assert daemon.execute("1") == (True, "1", "", "")


def test_output_before_the_result(daemon):
    assert daemon.execute("print('hi')\n7") == (True, "7", "hi\n", "")


def test_output_of_a_thread(daemon):
    code = ("import threading, sys\n"
            "def work():\n"
            "    print('from thread')\n"
            "    print('thread err', file=sys.stderr)\n"
            "t = threading.Thread(target=work)\n"
            "t.start()\n"
            "t.join()\n")
    success, result, out, err = daemon.execute(code)
    assert success, err
    assert out == "from thread\n"
    assert err == "thread err\n"


def test_exception(daemon):
    success, result, out, err = daemon.execute("print('before')\n1/0")
    assert not success
    assert result == ""
    assert out == "before\n"
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert err.endswith("ZeroDivisionError: division by zero\n"), err


def test_exception_traceback_shows_the_failing_line(daemon):
    code = "def inner():\n    raise ValueError('bad value')\ninner()"
    success, _, _, err = daemon.execute(code)
    assert not success
    assert "in inner" in err
    assert err.endswith("ValueError: bad value\n"), err


def test_exception_keeps_namespace(daemon):
    daemon.ok("before_error = 1")
    assert not daemon.execute("after_error = 2\nraise RuntimeError('x')")[0]
    assert daemon.ok("before_error + after_error") == "3"


def test_syntax_error(daemon):
    success, result, out, err = daemon.execute("def (:\n")
    assert not success
    assert result == "" and out == ""
    assert "SyntaxError" in err.strip().splitlines()[-1], err
    assert daemon.execute("1+1") == (True, "2", "", "")


@pytest.mark.every_toolkit
@pytest.mark.parametrize("code", ["raise SystemExit(3)", "import sys\nsys.exit(0)",
                                  "raise KeyboardInterrupt"])
def test_exit_does_not_stop_the_daemon(daemon, code):
    success, _, _, err = daemon.execute(code)
    # sys.exit(0) is a normal end (DESIGN.md, "Programs run unmodified").
    assert success is (code == "import sys\nsys.exit(0)")
    assert success or (err.endswith("\n") and ("SystemExit" in err or
                                               "KeyboardInterrupt" in err)), err
    assert daemon.alive()
    assert daemon.execute("2+2") == (True, "4", "", "")


def test_system_exit_traceback(daemon):
    success, _, _, err = daemon.execute("raise SystemExit(3)")
    assert not success
    assert err.strip().splitlines()[-1].startswith("SystemExit"), err


def test_input_raises_eof_error(daemon):
    t0 = time.monotonic()
    success, _, _, err = daemon.execute("input()", timeout=20)
    assert time.monotonic() - t0 < 5
    assert not success
    assert err.strip().splitlines()[-1].startswith("EOFError"), err
    assert daemon.ok("try:\n    input('prompt? ')\nexcept EOFError:\n    r = 'eof'\nr",
                     timeout=20) == "'eof'"


def test_stdin_is_empty(daemon):
    assert daemon.ok("import sys\nsys.stdin.read()", timeout=20) in ("''", "b''")


@pytest.mark.every_toolkit
def test_code_runs_in_the_main_thread(daemon):
    assert daemon.value("import os, threading\n"
                        "(threading.get_native_id() == os.getpid(),\n"
                        " threading.current_thread() is threading.main_thread())") == (True, True)


def test_sys_executable(daemon):
    assert daemon.value("import sys\nsys.executable") == "/usr/bin/python3"


def test_python_environment_variables_are_ignored(start_daemon, tmp_path):
    marker = tmp_path / "marker"
    marker.mkdir()
    (marker / "sitecustomize.py").write_text("import builtins\nbuiltins.HIJACKED = True\n")
    startup = tmp_path / "pystartup.py"
    startup.write_text("PYTHONSTARTUP_RAN = True\n")
    d = start_daemon(env={"PYTHONPATH": marker, "PYTHONOPTIMIZE": "2",
                          "PYTHONSTARTUP": startup, "PYTHONHOME": "/nonexistent"})
    assert d.value(f"import sys\n{str(marker)!r} in sys.path") is False
    assert d.value("import sys\nsys.flags.optimize") == 0
    assert d.value("import builtins\nhasattr(builtins, 'HIJACKED')") is False
    assert d.value("'PYTHONSTARTUP_RAN' in globals()") is False


@pytest.mark.every_toolkit
def test_numeric_locale_is_c(start_daemon):
    d = start_daemon(env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    assert d.value("import locale\nlocale.setlocale(locale.LC_NUMERIC)") == "C"


@pytest.mark.every_toolkit
def test_numeric_locale_is_c_by_default(daemon):
    assert daemon.value("import locale\nlocale.setlocale(locale.LC_NUMERIC)") == "C"


@pytest.mark.every_toolkit
def test_utf8_without_a_utf8_locale(start_daemon):
    d = start_daemon(env={"LANG": None, "LC_ALL": None})
    assert d.execute("print('ü ✓')\n'ü'") == (True, "'ü'", "ü ✓\n", "")


def test_unicode_output(daemon):
    code = "import sys\nprint('grüße ✓ 𝄞')\nprint('ошибка', file=sys.stderr)"
    assert daemon.execute(code) == (True, "", "grüße ✓ 𝄞\n", "ошибка\n")


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_nul_is_escaped(daemon, stream):
    success, _, out, err = daemon.execute(f"import sys\nprint('a\\0b', file=sys.{stream})")
    assert success
    assert (out if stream == "stdout" else err) == "a\\x00b\n"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_lone_surrogate_is_escaped(daemon, stream):
    success, _, out, err = daemon.execute(
        f"import sys\nprint('x\\ud800y', file=sys.{stream})")
    assert success, err
    assert (out if stream == "stdout" else err) == "x\\ud800y\n"


def test_invalid_bytes_are_escaped(daemon):
    success, _, out, err = daemon.execute(
        "import sys\n_ = sys.stdout.buffer.write(b'a\\xffb')\nsys.stdout.flush()")
    assert success, err
    assert out == "a\\xffb"


def test_invalid_bytes_on_stderr_are_escaped(daemon):
    success, _, out, err = daemon.execute(
        "import sys\n_ = sys.stderr.buffer.write(b'\\xfe\\n')\nsys.stderr.flush()")
    assert success, err
    assert err == "\\xfe\n"


def test_result_with_surrogate_is_escaped(daemon):
    # repr() keeps a lone surrogate as an escape already; the result must travel intact.
    assert daemon.execute("'\\ud800'") == (True, "'\\ud800'", "", "")


def test_large_code(daemon):
    code = "\n".join(f"v{i} = {i}" for i in range(20000)) + "\nv19999 + v1"
    assert daemon.ok(code) == "20000"


def test_large_result(daemon):
    result = daemon.ok("'z' * 200000")
    assert result == "'" + "z" * 200000 + "'"


def parse_dropped(text):
    """The kept text and the number of dropped bytes of a cut stream."""
    assert text.endswith("\n"), text[-200:]
    last = text[:-1].rsplit("\n", 1)[-1]
    assert "bytes dropped" in last, f"last line: {last!r}"
    m = re.search(r"\[guiloop: (\d+) bytes dropped\]", last)
    assert m, f"last line: {last!r}"
    return text[: len(text) - len(last) - 1], int(m.group(1))


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_is_cut_at_max_output(start_daemon, stream):
    d = start_daemon(config="[execution]\nmax_output = 1000\n")
    success, _, out, err = d.execute(f"import sys\nprint('x' * 100000, file=sys.{stream})")
    assert success, err[:500]
    text = out if stream == "stdout" else err
    other = err if stream == "stdout" else out
    assert other == ""
    assert len(text.encode()) <= 1000 + 100, len(text)
    kept, dropped = parse_dropped(text)
    xs = kept.rstrip("\n")
    assert set(xs) <= {"x"}, kept[-100:]
    assert 900 <= len(xs) <= 1000, len(xs)
    # 100000 x and a newline were written: what was kept plus what was dropped.
    assert dropped + len(xs) in (100000, 100001), (dropped, len(xs))


def test_output_under_max_output_is_not_cut(start_daemon):
    d = start_daemon(config="[execution]\nmax_output = 1000\n")
    out = d.execute("print('y' * 500)")[2]
    assert out == "y" * 500 + "\n"
    assert "dropped" not in out


def test_max_output_is_per_execution(start_daemon):
    d = start_daemon(config="[execution]\nmax_output = 1000\n")
    assert "bytes dropped" in d.execute("print('x' * 5000)")[2]
    assert d.execute("print('fresh')")[2] == "fresh\n"


def test_cut_output_from_many_writes(start_daemon):
    d = start_daemon(config="[execution]\nmax_output = 1000\n")
    success, _, out, _ = d.execute("for i in range(10000):\n    print(i)")
    assert success
    assert len(out.encode()) <= 1100
    kept, dropped = parse_dropped(out)
    total = sum(len(f"{i}\n") for i in range(10000))
    assert kept.startswith("0\n1\n2\n")
    assert dropped > 0 and abs(dropped + len(kept.encode()) - total) <= 1, (dropped, total)


def test_huge_output_keeps_memory_bounded(daemon):
    daemon.ok("import sys\nchunk = 'y' * (1 << 20)")
    hwm_before = daemon.status("VmHWM")
    t0 = time.monotonic()
    success, _, out, err = daemon.execute(
        "for i in range(50):\n    sys.stdout.write(chunk)\n", timeout=120)
    assert success, err
    assert time.monotonic() - t0 < 60
    assert len(out.encode()) <= 1048576 + 100
    _, dropped = parse_dropped(out)
    assert dropped >= 50 * (1 << 20) - 1048576
    growth_mb = (daemon.status("VmHWM") - hwm_before) / 1024
    assert growth_mb < 30, f"peak RSS grew by {growth_mb:.0f} MB for 50 MB of output"
    assert daemon.execute("1") == (True, "1", "", "")


def test_one_huge_print_keeps_memory_bounded(daemon):
    # The 50 MB string itself and one encoded copy are Python's; keeping the
    # whole output as well (or one more copy of it) would pass 2.5 times that.
    daemon.ok("1")
    hwm_before = daemon.status("VmHWM")
    success, _, out, err = daemon.execute("print('y' * 50_000_000)", timeout=120)
    assert success, err
    assert len(out.encode()) <= 1048576 + 100
    assert parse_dropped(out)[1] >= 50_000_001 - 1048576
    growth_mb = (daemon.status("VmHWM") - hwm_before) / 1024
    assert growth_mb < 125, f"peak RSS grew by {growth_mb:.0f} MB for a 50 MB print"


def test_execution_count_increments(daemon):
    c0 = daemon.get("ExecutionCount")
    daemon.ok("1")
    daemon.execute("1/0")
    daemon.ok("2")
    assert daemon.get("ExecutionCount") == c0 + 3


@pytest.mark.every_toolkit
def test_executions_run_in_order(daemon):
    # One long execution holds the loop; the others queue in the order they arrived.
    first = daemon.execute_bg("import time\ntime.sleep(0.5)\norder = []")
    daemon.wait_busy()
    calls = []
    for i in range(5):
        calls.append(daemon.execute_bg(f"order.append({i})"))
        daemon.wait_queue(i + 1)
    assert first.result()[0]
    for c in calls:
        assert c.result()[0]
    assert daemon.value("order") == [0, 1, 2, 3, 4]
    assert daemon.get("QueueLength") == 0


@pytest.mark.every_toolkit
def test_concurrent_callers_each_get_their_own_output(daemon):
    calls = [daemon.execute_bg(f"import time\ntime.sleep(0.05)\nprint({i})\n{i} * 10")
             for i in range(8)]
    for i, c in enumerate(calls):
        assert c.result() == (True, str(i * 10), f"{i}\n", "")


def test_code_may_call_the_daemon_over_dbus(daemon):
    code = ("import dbus\n"
            "bus = dbus.SessionBus()\n"
            f"obj = bus.get_object({daemon.name!r}, '/org/guiloop/GuiLoop1', introspect=False)\n"
            "props = dbus.Interface(obj, 'org.freedesktop.DBus.Properties')\n"
            "busy = bool(props.Get('org.guiloop.GuiLoop1', 'Busy', timeout=10))\n"
            "version = str(props.Get('org.guiloop.GuiLoop1', 'Version', timeout=10))\n"
            "(busy, version)")
    t0 = time.monotonic()
    assert daemon.execute(code, timeout=30) == (True, "(True, '0.1.0')", "", "")
    assert time.monotonic() - t0 < 10


@pytest.mark.every_toolkit
def test_code_may_interrupt_itself_over_dbus(daemon):
    code = ("import dbus, time\n"
            "bus = dbus.SessionBus()\n"
            f"obj = bus.get_object({daemon.name!r}, '/org/guiloop/GuiLoop1', introspect=False)\n"
            "r = bool(obj.Interrupt(dbus_interface='org.guiloop.GuiLoop1', timeout=10))\n"
            "time.sleep(5)\n"
            "'not interrupted'")
    t0 = time.monotonic()
    success, result, _, err = daemon.execute(code, timeout=30)
    assert not success and err.endswith("KeyboardInterrupt\n"), (result, err)
    assert time.monotonic() - t0 < 4


def test_code_string_with_wrong_type_from_python(daemon):
    with pytest.raises(dbus.exceptions.DBusException) as e:
        daemon.call("Execute", "i", [5])
    assert e.value.get_dbus_name() == "org.freedesktop.DBus.Error.InvalidArgs"
    assert daemon.ok("1") == "1"


def test_print_does_not_reach_the_daemon_log(daemon):
    daemon.execute("import sys\nprint('MARK-stdout-7f3a')\nprint('MARK-stderr-7f3a', "
                   "file=sys.stderr)\n1/0")
    assert "MARK-" not in daemon.log()


def test_startup_file_and_path(start_daemon, tmp_path):
    a, b = tmp_path / "pa", tmp_path / "pb"
    a.mkdir()
    b.mkdir()
    (b / "guiloop_mod_xyz.py").write_text("VALUE = 7\n")
    runs = tmp_path / "runs"
    startup = tmp_path / "startup.py"
    startup.write_text(f"STARTUP_MARK = 'hi'\nwith open({str(runs)!r}, 'a') as f:\n"
                       "    f.write('x')\n")
    d = start_daemon(config=f"[python]\nstartup = {startup}\npath = {a}:{b}\n")
    assert d.value("STARTUP_MARK") == "hi"
    assert d.value("import sys\nsys.path[:2]") == [str(a), str(b)]
    assert d.value("import guiloop_mod_xyz\nguiloop_mod_xyz.VALUE") == 7
    d.ok("1")
    assert runs.read_text() == "x"


@pytest.mark.parametrize("interval", [None, 0.02])
def test_switch_interval(start_daemon, interval):
    if interval is None:
        d = start_daemon()
        want = 0.005
    else:
        d = start_daemon(config=f"[python]\nswitch_interval = {interval}\n")
        want = interval
    got = d.value("import sys\nsys.getswitchinterval()")
    assert abs(got - want) < 1e-6, got


def test_reply_types(daemon):
    r = daemon.conn.call_blocking(daemon.name, "/org/guiloop/GuiLoop1", "org.guiloop.GuiLoop1",
                                  "Execute", "s", ["print(1)\n2"], timeout=30)
    assert [type(x) for x in r] == [dbus.Boolean, dbus.String, dbus.String, dbus.String]
    assert ast.literal_eval(str(r[1])) == 2
