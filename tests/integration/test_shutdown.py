# SPDX-License-Identifier: MIT
"""Shutdown(), SIGTERM, and every caller getting exactly one reply."""
import signal
import time

import dbus

from helpers import ERR

# Errors the bus itself makes up when the daemon leaves without answering.
BUS_MADE = {"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner", "org.freedesktop.DBus.Error.Disconnected",
            "org.freedesktop.DBus.Error.Timeout"}


def test_shutdown_when_idle(daemon):
    t0 = time.monotonic()
    assert daemon.shutdown() == ()
    assert daemon.wait(10) == 0
    assert time.monotonic() - t0 < 5
    assert not daemon.conn.name_has_owner(daemon.name)


def test_shutdown_runs_atexit_handlers(daemon, tmp_path):
    marker = tmp_path / "atexit"
    daemon.ok(f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').write('bye'))")
    daemon.shutdown()
    assert daemon.wait(10) == 0
    assert marker.read_text() == "bye"


def test_sigterm_runs_atexit_handlers(daemon, tmp_path):
    marker = tmp_path / "atexit"
    daemon.ok(f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').write('bye'))")
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert marker.read_text() == "bye"


def test_shutdown_with_running_and_queued_executions(daemon):
    # The running execution takes a moment to die after its interrupt, so that
    # calls made meanwhile must be refused with ShuttingDown.
    running = daemon.execute_bg("import time\ntry:\n    time.sleep(60)\n"
                                "except KeyboardInterrupt:\n    time.sleep(1.5)\n    raise")
    daemon.wait_busy()
    queued = []
    for i in range(3):
        queued.append(daemon.execute_bg(f"'queued {i}'"))
        daemon.wait_queue(i + 1)
    assert daemon.shutdown() == ()
    t0 = time.monotonic()
    late = daemon.execute_bg("'late'")
    for q in queued:
        assert q.error_name(10) == ERR + "ShuttingDown"
    assert late.error_name(10) == ERR + "ShuttingDown"
    success, _, _, err = running.result(15)
    assert not success
    assert err.endswith("KeyboardInterrupt\n"), err
    assert daemon.wait(15) == 0
    assert time.monotonic() - t0 < 8


def test_calls_after_shutdown_are_refused(daemon, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print('ran')\n")
    # Keep the daemon alive a little after Shutdown so it still owns the name.
    running = daemon.execute_bg("import time\ntry:\n    time.sleep(60)\n"
                                "except KeyboardInterrupt:\n    time.sleep(2)")
    daemon.wait_busy()
    daemon.shutdown()
    for method, sig, args in [("Execute", "s", ["1"]),
                              ("RunFile", "sas", [str(script), []])]:
        try:
            r = daemon.call(method, sig, args, timeout=10)
        except dbus.exceptions.DBusException as e:
            assert e.get_dbus_name() == ERR + "ShuttingDown", (method, e)
        else:
            raise AssertionError(f"{method} after Shutdown returned {r!r}")
    running.wait(15)
    assert daemon.wait(15) == 0


def test_shutdown_grace_with_code_that_ignores_interrupts(start_daemon):
    d = start_daemon(config="[daemon]\nshutdown_grace = 1\n")
    stubborn = d.execute_bg("import time\nwhile True:\n    try:\n        time.sleep(100)\n"
                            "    except KeyboardInterrupt:\n        pass")
    d.wait_busy()
    waiter = d.background("Wait", "t", [1])  # the stubborn one is execution 1
    queued = d.execute_bg("'queued'")
    d.wait_queue(1)
    t0 = time.monotonic()
    assert d.shutdown() == ()
    assert d.wait(10) == 0
    # The stubborn code gets its grace (1 s), then the daemon stops anyway.
    assert 0.9 <= time.monotonic() - t0 < 5
    assert queued.error_name(10) == ERR + "ShuttingDown"
    name = stubborn.error_name(10)
    assert name not in BUS_MADE, f"the stubborn caller got no reply from the daemon: {name}"
    assert waiter.error_name(10) == ERR + "ShuttingDown", "Wait got no reply from the daemon"
    # The log says where the stubborn code was when the daemon gave up on it.
    log = d.log()
    assert "still runs 1 s after shutdown began" in log, log
    assert "(GUI thread) (most recent call last):" in log, log
    assert 'File "<guiloop-1>", line 4, in <module>' in log, log


def test_sigterm_with_running_execution(daemon):
    running = daemon.execute_bg("import time\ntime.sleep(60)")
    daemon.wait_busy()
    t0 = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    success, _, _, err = running.result(15)
    assert not success and err.endswith("KeyboardInterrupt\n"), err
    assert daemon.wait(10) == 0
    assert time.monotonic() - t0 < 5


def test_shutdown_releases_name_for_a_new_daemon(start_daemon):
    d1 = start_daemon()
    d1.ok("x = 1")
    d1.shutdown()
    assert d1.wait(10) == 0
    d2 = start_daemon()
    success, _, _, err = d2.execute("x")
    assert not success and "NameError" in err
