# SPDX-License-Identifier: MIT
"""guiloopctl's interactive console in a real terminal (tmux), against the
real daemon: IPython's prompts, Enter decided by IsComplete, Tab through
Complete, NAME? through Inspect, %run, history, Ctrl-C and Ctrl-D, live and
background output, a daemon that restarts."""
import re
import time

import pytest

from console_helpers import console, console_env, members, require, terminal  # noqa: F401
from ctl_helpers import GUILOOPCTL, guiloopctl, run_ctl  # noqa: F401
from gui_snippets import snippet
from helpers import click_window, find_window, poll


@pytest.mark.core
def test_banner_and_first_prompt(console, daemon):
    s = console.screen()
    python = daemon.get("PythonVersion").split()[0]
    assert re.search(rf"^guiloopd \S+, toolkit gtk, Python {re.escape(python)}, on "
                     r"org\.guiloop\.GuiLoop1$", s, re.M), s
    assert console.last_line() == "In [1]:", s


@pytest.mark.core
def test_no_command_on_a_terminal_is_the_console(terminal, console_env, daemon, guiloopctl):
    t = terminal([GUILOOPCTL], console_env)
    t.wait_prompt(1)
    t.line("6 * 7")
    s = t.wait_for(r"^Out\[1\]: 42$")
    assert "In [1]: 6 * 7\n" in s, s


@pytest.mark.core
def test_one_liner_shows_out_with_the_execution_id(console, daemon):
    console.line("1 + 1")
    s = console.wait_prompt(2)
    assert "In [1]: 1 + 1\n" in s and "\nOut[1]: 2\n\nIn [2]:" in s, s
    # Another client's execution takes id 2: the prompt shown is renumbered.
    daemon.ok("pass")
    if "Subscribe" in members(daemon):
        console.wait_for(r"^In \[3\]: *$")
    console.line("'x' * 3")
    s = console.wait_for(r"^Out\[\d+\]: 'xxx'$")
    n = re.search(r"^Out\[(\d+)\]: 'xxx'$", s, re.M).group(1)
    assert re.search(rf"^In \[{n}\]: 'x' \* 3$", s, re.M), s


@pytest.mark.core
def test_output_streams_and_a_traceback(console):
    console.line("import sys; print('to out'); print('to err', file=sys.stderr); 1/0")
    s = console.wait_prompt(2)
    assert "to out\nto err\nTraceback (most recent call last):\n" in s, s
    assert "ZeroDivisionError: division by zero\n" in s, s
    assert "Out[" not in s


@pytest.mark.core
def test_def_over_three_lines_with_indent(console, daemon):
    require(daemon, "IsComplete")
    console.line("def twice(x):")
    s = console.wait_for(r"^   \.\.\.: ")
    # The continuation line comes indented: only the body is typed.
    console.line("y = x * 2")
    s = console.wait_for(r"^   \.\.\.:     y = x \* 2$")
    console.line("return y")
    s = console.wait_for(r"^   \.\.\.:     return y$")
    console.keys("Enter")  # the blank line (only the indent) ends the block
    console.wait_prompt(2)
    console.line("twice(21)")
    s = console.wait_for(r"^Out\[\d+\]: 42$")
    assert "In [1]: def twice(x):\n   ...:     y = x * 2\n   ...:     return y\n" in s, s


@pytest.mark.core
def test_enter_in_open_bracket_continues(console, daemon):
    require(daemon, "IsComplete")
    console.line("[1,")
    console.wait_for(r"^   \.\.\.: ")
    console.line("2]")
    s = console.wait_for(r"^Out\[1\]: \[1, 2\]$")
    assert "In [1]: [1,\n   ...: 2]\nOut[1]: [1, 2]\n" in s.replace("...:  ", "...: "), s


@pytest.mark.core
def test_tab_completes_a_name(console, daemon):
    require(daemon, "Complete")
    daemon.ok("guiloop_unique_name = 41")
    console.type("guiloop_uniq")
    console.keys("Tab")
    console.wait_for(r"^In \[\d+\]: guiloop_unique_name$")
    console.line(" + 1")
    console.wait_for(r"^Out\[\d+\]: 42$")


@pytest.mark.core
def test_tab_completes_an_attribute(console, daemon):
    require(daemon, "Complete")
    daemon.ok("import os")
    console.type("os.getpi")
    console.keys("Tab")
    console.wait_for(r"^In \[\d+\]: os\.getpid$")
    console.line("() > 0")
    console.wait_for(r"^Out\[\d+\]: True$")


@pytest.mark.core
def test_tab_completes_an_import(console, daemon):
    require(daemon, "Complete")
    console.type("import collecti")
    console.keys("Tab")
    console.wait_for(r"^In \[\d+\]: import collections$")


@pytest.mark.core
def test_tab_lists_several_matches(console, daemon):
    require(daemon, "Complete")
    daemon.ok("zq_alpha = 1; zq_beta = 2")
    console.type("zq_")
    console.keys("Tab")
    s = console.wait_for(r"^zq_alpha\s+zq_beta$")
    # The line being edited comes back below the list, as typed.
    assert re.search(r"\nIn \[\d+\]: zq_\Z", s.rstrip("\n")), s
    console.type("b")
    console.keys("Tab")
    console.wait_for(r"^In \[\d+\]: zq_beta$")


@pytest.mark.core
def test_tab_at_line_start_indents(console):
    console.keys("Tab")
    console.type("x")
    console.wait_for(r"^In \[1\]:     x$")


@pytest.mark.core
def test_inspect_len(console, daemon):
    require(daemon, "Inspect")
    console.line("len?")
    s = console.wait_prompt(2)
    # What IPython shows: the type, the signature, the docstring.
    assert "builtin_function_or_method" in s, s
    assert "len(obj, /)" in s, s
    assert "Return the number of items in a container." in s, s


@pytest.mark.core
def test_inspect_unknown_name(console, daemon):
    require(daemon, "Inspect")
    console.line("no_such_name_here?")
    s = console.wait_prompt(2)
    assert "Object `no_such_name_here` not found." in s, s


@pytest.mark.core
def test_run_a_file_with_arguments(terminal, console_env, daemon, guiloopctl, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "show_args.py").write_text(
        "import sys\nprint('argv', sys.argv[1:])\nran_from = __file__\n")
    t = terminal([GUILOOPCTL, "console"], console_env, cwd=folder)
    t.wait_prompt(1)
    t.line("%run show_args.py one 'two words'")
    s = t.wait_for(r"^argv \['one', 'two words'\]$")
    t.wait_prompt(2)
    time.sleep(0.3)  # what would come late, twice
    assert t.screen().count("argv [") == 1, t.screen()
    # The path went as an absolute one, from the console's folder; names stay.
    t.line("ran_from")
    s = t.wait_for(r"^Out\[\d+\]: ")
    assert f"'{folder / 'show_args.py'}'" in s, s


@pytest.mark.core
def test_run_a_missing_file_says_so(console, tmp_path):
    console.line("%run no-such-file.py")
    s = console.wait_prompt(2)
    assert "FileNotFound" in s, s


@pytest.mark.core
def test_history_survives_a_second_console(terminal, console_env, daemon, guiloopctl):
    t = terminal([GUILOOPCTL, "console"], console_env)
    t.wait_prompt(1)
    t.line("history_marker = 17")
    t.wait_prompt(2)
    t.keys("C-d")
    assert t.wait_exit() == 0
    path = console_env["XDG_STATE_HOME"] + "/guiloop/history"
    assert "history_marker" in open(path).read()

    t2 = terminal([GUILOOPCTL, "console"], console_env)
    t2.wait_prompt(1)
    t2.keys("Up")
    t2.wait_for(r"^In \[\d+\]: history_marker = 17$")


@pytest.mark.core
def test_ctrl_c_interrupts_a_sleep(console, daemon):
    console.line("import time; time.sleep(60)")
    daemon.wait_busy()
    t0 = time.monotonic()
    console.keys("C-c")
    s = console.wait_prompt(2, timeout=5)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.0, f"{elapsed:.2f} s from Ctrl-C to the next prompt"
    assert "KeyboardInterrupt" in s, s
    assert re.search(r"interrupting execution 1\u2026|interrupting the running", s), s
    assert not daemon.get("Busy")
    console.line("'alive'")
    console.wait_for(r"^Out\[\d+\]: 'alive'$")


@pytest.mark.core
def test_ctrl_c_at_the_prompt_drops_the_line(console, daemon):
    console.type("undefined_name_abc")
    console.wait_for(r"undefined_name_abc$")
    console.keys("C-c")
    s = console.wait_prompt(2)
    assert "In [1]: undefined_name_abc^C\n" in s, s
    console.line("1 + 2")
    s = console.wait_for(r"^Out\[1\]: 3$")
    assert "NameError" not in s
    assert daemon.get("ExecutionCount") == 1


@pytest.mark.core
def test_ctrl_c_in_a_continuation_drops_the_block(console, daemon):
    console.line("if True:")
    console.wait_for(r"^   \.\.\.: ")
    console.keys("C-c")
    s = console.wait_prompt(2)
    assert daemon.get("ExecutionCount") == 0, s


@pytest.mark.core
def test_ctrl_d_leaves_and_the_daemon_runs_on(console, daemon):
    console.line("kept = 'still here'")
    console.wait_prompt(2)
    console.keys("C-d")
    assert console.wait_exit() == 0
    assert daemon.alive()
    assert daemon.value("kept") == "still here"


@pytest.mark.core
def test_exit_leaves_the_console(console, daemon):
    console.line("exit")
    assert console.wait_exit() == 0
    assert daemon.alive()


@pytest.mark.core
def test_output_is_live(console, daemon):
    require(daemon, "Submit")
    console.line("import time\nfor i in range(2): print('tick', i, flush=True); time.sleep(0.8)")
    console.wait_for(r"^tick 0$")
    seen = time.monotonic()
    assert "tick 1" not in console.screen()
    console.wait_for(r"^tick 1$")
    assert time.monotonic() - seen > 0.4
    console.wait_prompt(2)


@pytest.mark.toolkits("gtk")
def test_background_traceback_from_a_clicked_button(console, daemon, xvfb):
    require(daemon, "Subscribe")
    daemon.ok(snippet("gtk", "button", title="console-bg"))
    daemon.ok("def on_click_raises(button):\n    raise ValueError('from the button')\n"
              "button.connect('clicked', on_click_raises)")
    console.type("partly typed")
    wid = find_window(xvfb, "console-bg")[0]
    click_window(xvfb, wid)
    s = console.wait_for(r"^\[bg\] ValueError: from the button$", timeout=5)
    assert "[bg] Traceback (most recent call last):" in s, s
    # The line being edited is drawn again below the background output.
    # (Its number follows the ids other clients took meanwhile.)
    assert re.search(r"In \[\d+\]: partly typed$", s.rstrip("\n")), s


@pytest.mark.core
def test_daemon_restart_is_said_and_survived(terminal, console_env, start_daemon, guiloopctl):
    d = start_daemon()
    t = terminal([GUILOOPCTL, "console"], console_env)
    t.wait_prompt(1)
    t.line("before = 1")
    t.wait_prompt(2)
    d.shutdown()
    assert d.wait(10) == 0
    t.wait_for(r"^\[guiloopd left the bus")
    start_daemon()
    t.wait_for(r"^\[guiloopd is back")
    t.line("'after'")
    t.wait_for(r"^Out\[1\]: 'after'$")


@pytest.mark.core
def test_a_pasted_block_keeps_its_own_indentation(console, daemon):
    require(daemon, "IsComplete")
    # All at once, as a terminal delivers a paste: no indentation is added.
    console.type("if True:\n    pasted = [1]\n    pasted.append(2)\nlen(pasted)\n")
    s = console.wait_for(r"^Out\[\d+\]: 2$")
    assert "   ...:     pasted.append(2)\n" in s, s
    assert "        pasted" not in s, s
