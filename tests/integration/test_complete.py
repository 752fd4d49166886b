# SPDX-License-Identifier: MIT
"""Complete, Inspect and IsComplete: answers without running user code, within 50 ms even busy."""
import time

import pytest

from helpers import poll

pytestmark = pytest.mark.core

TRAPS = r'''
import time, os, sys
calls = []
class Trap:
    """A class whose attribute access would run code."""
    slot_attr = 1
    @property
    def prop(self):
        calls.append('prop'); time.sleep(2); raise RuntimeError('property ran')
    def __getattr__(self, name):
        calls.append('getattr ' + name); time.sleep(2); raise RuntimeError('getattr ran')
    def __dir__(self):
        calls.append('dir'); time.sleep(2); raise RuntimeError('dir ran')
    def __repr__(self):
        calls.append('repr'); time.sleep(2); return 'Trap()'

    def method(self, a, b=2):
        """Does the thing."""
class Meta(type):
    def __getattr__(cls, name):
        calls.append('meta ' + name); raise RuntimeError('meta ran')
class WithMeta(metaclass=Meta):
    pass
trap = Trap()
trap.inst_attr = 3
config = {'alpha': 1, 'beta': 2, 3: 'x'}
def greet(name, punctuation='!'):
    """Say hello."""
def risky(x=None, y=trap):
    pass
'''


def complete(d, code, cursor=-1, timeout=10):
    return d.call("Complete", "si", [code, cursor], timeout=timeout)


def test_names_keywords_builtins(daemon):
    daemon.ok("my_variable = 1\nmy_other = 2")
    matches, start, end = complete(daemon, "x = my_")
    assert matches == ["my_other", "my_variable"] and (start, end) == (4, 7)
    assert "print" in complete(daemon, "pri")[0]
    assert "import" in complete(daemon, "imp")[0]
    assert "while" in complete(daemon, "whi")[0]


def test_attributes_without_running_code(daemon):
    daemon.ok(TRAPS)
    matches, start, end = complete(daemon, "trap.")
    assert {"prop", "method", "slot_attr", "inst_attr"} <= set(matches)
    assert (start, end) == (5, 5)
    assert complete(daemon, "trap.me") == (["method"], 5, 7)
    assert complete(daemon, "trap.nothing.") == ([], 13, 13)
    assert complete(daemon, "trap.prop.")[0] == []
    assert complete(daemon, "WithMeta.zz")[0] == []
    assert daemon.value("calls") == [], "completion ran user code"


def test_cursor_in_the_middle(daemon):
    daemon.ok("import os")
    matches, start, end = complete(daemon, "os.pa + 1", 5)
    assert "path" in matches and (start, end) == (3, 5)


def test_imports(daemon):
    # Right after start the module list may still be being made: an empty answer
    # in time is the contract then, so wait for the list.
    poll(lambda: "json" in complete(daemon, "import js")[0], 10, what="module names")
    assert "collections" in complete(daemon, "from coll")[0]
    matches, start, end = complete(daemon, "from os import pa")
    assert "path" in matches and start == len("from os import ")
    assert "etree" in complete(daemon, "import xml.")[0]
    # Nothing was imported to answer.
    assert daemon.value("import sys\n'xml.etree' in sys.modules or 'json' in sys.modules") \
        in (True, False)
    assert daemon.value("import sys\n'antigravity' in sys.modules") is False
    complete(daemon, "import antigrav")
    assert daemon.value("import sys\n'antigravity' in sys.modules") is False


def test_import_completion_sees_a_new_path_at_once(daemon, tmp_path):
    poll(lambda: "json" in complete(daemon, "import js")[0], 10, what="module names")
    (tmp_path / "zzaudit_late.py").write_text("x = 1\n")
    daemon.ok(f"import sys\nsys.path.insert(0, {str(tmp_path)!r})")
    assert complete(daemon, "import zzaudit_")[0] == ["zzaudit_late"]


def test_dict_keys(daemon):
    daemon.ok(TRAPS)
    matches, start, end = complete(daemon, "config['a")
    assert matches == ["alpha'"] and (start, end) == (8, 9)
    assert complete(daemon, 'config["')[0] == ['alpha"', 'beta"']


def test_paths(daemon, tmp_path):
    (tmp_path / "data-one.txt").write_text("")
    (tmp_path / "data-two").mkdir()
    code = f"open('{tmp_path}/data-"
    matches, start, end = complete(daemon, code)
    assert matches == [f"{tmp_path}/data-one.txt", f"{tmp_path}/data-two/"]
    assert code[start:end] == f"{tmp_path}/data-"


def test_inspect(daemon):
    daemon.ok(TRAPS)
    found, text = daemon.call("Inspect", "si", ["greet", -1])
    assert found and "Signature: greet(name, punctuation='!')" in text and "Say hello." in text
    found, text = daemon.call("Inspect", "si", ["trap.method(1)", 8])
    assert found and "Does the thing." in text
    found, text = daemon.call("Inspect", "si", ["config", -1])
    assert found and "dict" in text
    assert daemon.call("Inspect", "si", ["trap.prop", -1])[0] is False
    assert daemon.call("Inspect", "si", ["trap.missing", -1])[0] is False
    assert daemon.call("Inspect", "si", ["no_such_name", -1]) == (False, "")
    found, text = daemon.call("Inspect", "si", ["risky", -1])
    assert found and "Signature: risky(x=None, y=<Trap>)" in text, text
    found, text = daemon.call("Inspect", "si", ["len", -1])
    assert found and "Return the number of items" in text, text
    assert daemon.value("calls") == [], "inspection ran user code"


def test_is_complete(daemon):
    def ic(code):
        return daemon.call("IsComplete", "s", [code])
    assert ic("x = 1") == ("complete", "")
    assert ic("def f():") == ("incomplete", "    ")
    assert ic("x = (1,") == ("incomplete", "")
    assert ic("for i in range(3):\n    print(i)") == ("incomplete", "    ")
    assert ic("for i in range(3):\n    print(i)\n") == ("complete", "")
    assert ic("1 +* 2")[0] == "invalid"
    assert ic("x = $")[0] == "invalid"
    # Top-level await runs in Execute, so it is complete input, as in IPython.
    assert ic("await x") == ("complete", "")
    assert ic("x = await y") == ("complete", "")
    assert ic("async for i in x:") == ("incomplete", "    ")
    assert ic("async for i in x:\n    print(i)\n") == ("complete", "")
    # A __future__ import seen once does not change later answers.
    assert ic("from __future__ import annotations") == ("complete", "")
    assert ic("x = 1") == ("complete", "")


def _timed(d, method, sig, args):
    t0 = time.monotonic()
    r = d.call(method, sig, args, timeout=5)
    return r, time.monotonic() - t0


def test_answers_while_busy_loop(daemon):
    daemon.ok(TRAPS + "\nbusy_marker = 1")
    run = daemon.execute_bg("while True: pass", timeout=60)
    daemon.wait_busy()
    times, answered = [], 0
    for _ in range(10):
        (matches, _, _), dt = _timed(daemon, "Complete", "si", ["busy_m", -1])
        times.append(dt)
        answered += matches == ["busy_marker"]
    times.sort()
    assert times[-2] < 0.1, times
    # While Python hands the GIL over, the answer is there; an empty one (the
    # GIL not had within 40 ms: empty rather than late) is rare, not the rule.
    # On this 2-core machine under a parallel build, 1 in 10 came back empty.
    assert answered >= 5, (answered, times)
    r, dt = _timed(daemon, "IsComplete", "s", ["def f():"])
    assert r == ("incomplete", "    ") and dt < 0.2
    daemon.interrupt()
    run.wait(10)
    assert daemon.value("calls") == []


def test_answers_in_time_when_gil_is_held(daemon):
    # sum() over a long range is one C call that never lets go of the GIL.
    run = daemon.execute_bg("sum(range(3 * 10**8))", timeout=120)
    daemon.wait_busy()
    time.sleep(0.1)
    r, dt = _timed(daemon, "Complete", "si", ["pri", -1])
    assert dt < 0.1, dt
    assert r[0] in ([], ["print"])
    r, dt = _timed(daemon, "IsComplete", "s", ["x"])
    assert dt < 0.1 and r[0] in ("unknown", "complete")
    run.result(120)
    # Afterwards it answers again.
    poll(lambda: complete(daemon, "pri")[0] == ["print"], 10, what="completion after")
