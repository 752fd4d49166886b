# SPDX-License-Identifier: MIT
"""Executed code that replaces the SIGINT handler cannot break interrupts.

signal.signal(SIGINT, SIG_DFL) in executed code (wx.App() does it too) once
let the next Interrupt() kill the daemon, or crash it inside CPython's
PyErr_SetInterruptEx(); the daemon now takes its handlers back.
"""
import time

import pytest


@pytest.mark.parametrize("handler", ["SIG_DFL", "SIG_IGN", "lambda *a: None"])
def test_interrupt_survives_a_replaced_handler(daemon, handler):
    value = f"signal.{handler}" if handler.startswith("SIG") else handler
    call = daemon.execute_bg(f"import signal\nsignal.signal(signal.SIGINT, {value})")
    # The first execution only replaces the handler and returns.
    assert call.result(10)[0], call.result(10)

    slow = daemon.execute_bg("import time\ntime.sleep(0.5)\n'slept'")
    daemon.wait_busy()
    time.sleep(0.1)
    assert daemon.interrupt() is True
    reply = slow.result(10)
    assert daemon.alive(), daemon.log()
    # Python's handler was not ours during that one: it sleeps on, or stops.
    assert reply[1] == "'slept'" or reply[3].endswith("KeyboardInterrupt\n"), reply

    # From the next execution on, the guard is back and interrupts work.
    assert daemon.value("__import__('signal').getsignal(2).__name__") == "sigint"
    call = daemon.execute_bg("import time\ntime.sleep(60)")
    daemon.wait_busy()
    time.sleep(0.1)
    assert daemon.interrupt() is True
    success, _, _, err = call.result(10)
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    assert "replaced the SIGINT handler" in daemon.log()


def test_interrupt_while_the_handler_is_replaced(daemon):
    """The replacement and the interrupt inside one execution."""
    call = daemon.execute_bg("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_DFL)\n"
                             "time.sleep(0.5)\n'survived'")
    daemon.wait_busy()
    time.sleep(0.2)
    assert daemon.interrupt() is True
    assert call.result(10)[1] == "'survived'"
    assert daemon.alive(), daemon.log()
    assert daemon.execute("1+1") == (True, "2", "", "")
