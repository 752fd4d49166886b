# SPDX-License-Identifier: MIT
"""RunFile(s path, as argv) -> (b success, s stdout, s stderr), like IPython's %run."""
import pytest

from helpers import DBUS_ERR, ERR

pytestmark = pytest.mark.core

SCRIPT = """\
import os, sys
import sibling_mod_q7
print('name', __name__)
print('file', __file__)
print('argv', sys.argv)
print('path0', sys.path[0])
print('sibling', sibling_mod_q7.V)
print('fresh', 'zz_preexisting' in globals())
RESULT = 42
def helper():
    return 'h'
if __name__ == '__main__':
    print('main block ran')
print('to stderr', file=sys.stderr)
"""


@pytest.fixture
def script(tmp_path):
    d = tmp_path / "scripts"
    d.mkdir()
    (d / "sibling_mod_q7.py").write_text("V = 3\n")
    p = d / "prog.py"
    p.write_text(SCRIPT)
    return p


@pytest.mark.every_toolkit
def test_runfile(daemon, script):
    daemon.ok("zz_preexisting = 1")
    argv_before = daemon.value("import sys\nlist(sys.argv)")
    success, out, err = daemon.run_file(script, ["a", "b c"])
    assert success, err
    lines = out.splitlines()
    assert lines == [
        "name __main__",
        f"file {script}",
        f"argv {[str(script), 'a', 'b c']!r}",
        f"path0 {script.parent}",
        "sibling 3",
        "fresh False",
        "main block ran",
    ]
    assert err == "to stderr\n"
    # Names are copied into the interactive namespace afterwards.
    assert daemon.ok("RESULT") == "42"
    assert daemon.ok("helper()") == "'h'"
    # sys.argv and sys.path are restored.
    assert daemon.value("import sys\nlist(sys.argv)") == argv_before
    assert daemon.value(f"import sys\n{str(script.parent)!r} in sys.path") is False
    # The interactive namespace is still __main__'s.
    assert daemon.ok("__name__") == "'__main__'"
    assert daemon.ok("zz_preexisting") == "1"


def test_runfile_without_arguments(daemon, tmp_path):
    p = tmp_path / "noargs.py"
    p.write_text("import sys\nprint(sys.argv)\n")
    assert daemon.run_file(p) == (True, f"{[str(p)]!r}\n", "")


def test_runfile_exception(daemon, tmp_path):
    p = tmp_path / "fails.py"
    p.write_text("import sys\nprint('started')\nraise ValueError('boom')\n")
    argv_before = daemon.value("import sys\nlist(sys.argv)")
    success, out, err = daemon.run_file(p, ["x"])
    assert not success
    assert out == "started\n"
    assert "Traceback" in err and str(p) in err, err
    assert err.endswith("ValueError: boom\n"), err
    assert daemon.value("import sys\nlist(sys.argv)") == argv_before
    assert daemon.value(f"import sys\n{str(tmp_path)!r} in sys.path") is False


def test_runfile_syntax_error(daemon, tmp_path):
    p = tmp_path / "bad.py"
    p.write_text("def (:\n")
    success, _, err = daemon.run_file(p)
    assert not success
    assert "SyntaxError" in err, err
    assert daemon.ok("1+1") == "2"


def test_runfile_system_exit_keeps_daemon(daemon, tmp_path):
    p = tmp_path / "exits.py"
    p.write_text("import sys\nsys.exit(4)\n")
    success, _, err = daemon.run_file(p)
    assert not success
    assert "SystemExit" in err, err
    assert daemon.alive()
    assert daemon.ok("1+1") == "2"


def test_runfile_unicode_output(daemon, tmp_path):
    p = tmp_path / "uni.py"
    p.write_text("print('grüße ✓')\n", encoding="utf-8")
    assert daemon.run_file(p) == (True, "grüße ✓\n", "")


def test_runfile_twice_reloads(daemon, tmp_path):
    p = tmp_path / "again.py"
    p.write_text("VALUE = 1\n")
    assert daemon.run_file(p)[0]
    p.write_text("VALUE = 2\n")
    assert daemon.run_file(p)[0]
    assert daemon.ok("VALUE") == "2"


def test_runfile_relative_path(daemon, tmp_path):
    (tmp_path / "rel.py").write_text("print('ran')\n")
    assert daemon.call_error("RunFile", "sas", ["rel.py", []]) == DBUS_ERR + "InvalidArgs"
    assert daemon.call_error("RunFile", "sas", ["./rel.py", ["x"]]) == DBUS_ERR + "InvalidArgs"
    assert daemon.call_error("RunFile", "sas", ["", []]) == DBUS_ERR + "InvalidArgs"


def test_runfile_missing_file(daemon, tmp_path):
    assert daemon.call_error("RunFile", "sas", [str(tmp_path / "nope.py"), []]) == \
        ERR + "FileNotFound"
    assert daemon.ok("1+1") == "2"


def test_runfile_counts_as_execution(daemon, tmp_path):
    p = tmp_path / "count.py"
    p.write_text("pass\n")
    c0 = daemon.get("ExecutionCount")
    assert daemon.run_file(p)[0]
    assert daemon.get("ExecutionCount") == c0 + 1


@pytest.mark.every_toolkit
def test_runfile_can_be_interrupted(daemon, tmp_path):
    p = tmp_path / "loop.py"
    p.write_text("while True:\n    pass\n")
    call = daemon.background("RunFile", "sas", [str(p), []])
    daemon.wait_busy()
    assert daemon.interrupt() is True
    success, _, err = call.result(10)
    assert not success
    assert err.endswith("KeyboardInterrupt\n"), err


def test_runfile_output_is_cut_at_max_output(start_daemon, tmp_path):
    d = start_daemon(config="[execution]\nmax_output = 1000\n")
    p = tmp_path / "loud.py"
    p.write_text("import sys\nprint('x' * 100000)\nprint('y' * 100000, file=sys.stderr)\n")
    success, out, err = d.run_file(p)
    assert success
    for text in (out, err):
        assert len(text.encode()) <= 1100, len(text)
        assert "bytes dropped" in text.rstrip("\n").rsplit("\n", 1)[-1], text[-200:]
