# SPDX-License-Identifier: MIT
"""Interrupt and execution.timeout work whatever SIGINT handler executed code
installs (issue 8, item 4).

signal.signal(SIGINT, SIG_IGN) in executed code once made Interrupt() answer
true and do nothing (and SIG_DFL let the next one kill the daemon); the
daemon's interrupt now travels on a signal of its own, so a handler the code
sets changes only what a terminal's Ctrl-C does to it.
"""
import time

import pytest

HANDLERS = ["SIG_DFL", "SIG_IGN", "lambda *a: None"]


def _install(handler):
    value = f"signal.{handler}" if handler.startswith("SIG") else handler
    return f"import signal\nsignal.signal(signal.SIGINT, {value})\n"


def _interrupted(reply):
    success, _, _, err = reply
    return not success and err.endswith("KeyboardInterrupt\n")


@pytest.mark.parametrize("handler", HANDLERS)
def test_interrupt_after_a_replaced_handler(daemon, handler):
    assert daemon.execute(_install(handler))[0]
    slow = daemon.execute_bg("import time\ntime.sleep(6)\n'slept'")
    daemon.wait_busy()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert daemon.interrupt() is True
    assert _interrupted(slow.result(10)), slow.value
    assert slow.t_done - t0 < 1.5
    assert daemon.alive(), daemon.log()
    # The daemon's handler is Python's again for the next one.
    assert daemon.value("__import__('signal').getsignal(2).__name__") == "sigint"
    assert "replaced the SIGINT handler" in daemon.log()
    assert daemon.interrupt() is False


@pytest.mark.parametrize("handler", HANDLERS)
def test_interrupt_while_the_handler_is_replaced(daemon, handler):
    """The replacement and the interrupt inside one execution."""
    call = daemon.execute_bg(_install(handler) + "import time\ntime.sleep(6)\n'survived'")
    daemon.wait_busy()
    time.sleep(0.3)
    assert daemon.interrupt() is True
    assert _interrupted(call.result(10)), call.value
    assert daemon.alive(), daemon.log()
    assert daemon.execute("1+1") == (True, "2", "", "")


@pytest.mark.parametrize("handler", ["SIG_IGN", "SIG_DFL"])
def test_timeout_while_the_handler_is_replaced(start_daemon, handler):
    d = start_daemon(config="[execution]\ntimeout = 0.5\n")
    t0 = time.monotonic()
    reply = d.execute(_install(handler) + "import time\ntime.sleep(6)\n'survived'")
    assert _interrupted(reply), reply
    assert time.monotonic() - t0 < 3
    assert d.execute("1+1") == (True, "2", "", "")
