# SPDX-License-Identifier: MIT
"""Event-driven wake-ups: an idle daemon sleeps, a request wakes it at once."""
import time


def test_idle_daemon_does_not_wake_up(daemon):
    daemon.ok("1")
    time.sleep(0.3)  # let start-up work settle
    before = daemon.context_switches()
    time.sleep(2)
    woke = daemon.context_switches() - before
    # A 10 ms polling timer anywhere would give hundreds of wake-ups.
    assert woke <= 20, f"{woke} context switches in 2 s of idling"


def test_requests_are_served_at_once(daemon):
    daemon.ok("1")
    t0 = time.monotonic()
    for i in range(20):
        assert daemon.ok(str(i)) == str(i)
    per_call = (time.monotonic() - t0) / 20
    assert per_call < 0.05, f"{per_call * 1000:.0f} ms per trivial Execute"


def test_interrupt_is_answered_at_once_when_idle(daemon):
    t0 = time.monotonic()
    for _ in range(20):
        assert daemon.interrupt() is False
    assert (time.monotonic() - t0) / 20 < 0.05
