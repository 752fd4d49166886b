# SPDX-License-Identifier: MIT
"""Every method call gets exactly one reply, from the daemon, whatever happens.

A dbus-monitor on the private bus sees every call to the daemon and every
reply it sends."""
import time

from helpers import BusMonitor


def unique_name(bus, d):
    return str(bus.get_name_owner(d.name))


def check_replies(mon, d, unique, min_calls):
    bad, n = mon.unanswered_or_twice({d.name}, unique)
    assert n >= min_calls, f"the monitor saw only {n} calls"
    assert not bad, f"calls not answered exactly once by the daemon: {bad}"


def test_one_reply_each_with_interrupts(daemon, bus, bus_address, tmp_path):
    unique = unique_name(bus, daemon)
    with BusMonitor(bus_address, tmp_path / "monitor.txt") as mon:
        running = daemon.execute_bg("import time\ntime.sleep(60)")
        daemon.wait_busy()
        queued = [daemon.execute_bg(f"{i}") for i in range(3)]
        daemon.wait_queue(3)
        for _ in range(3):
            daemon.interrupt()
        running.wait(10)
        for q in queued:
            q.wait(10)
        daemon.call_error("Nope")
        daemon.call_error("Execute", "i", [1])
        daemon.call_error("RunFile", "sas", ["relative.py", []])
        daemon.ok("1")
    check_replies(mon, daemon, unique, 10)


def test_one_reply_each_at_shutdown(daemon, bus, bus_address, tmp_path):
    unique = unique_name(bus, daemon)
    with BusMonitor(bus_address, tmp_path / "monitor.txt") as mon:
        running = daemon.execute_bg("import time\ntry:\n    time.sleep(60)\n"
                                    "except KeyboardInterrupt:\n    time.sleep(1)\n    raise")
        daemon.wait_busy()
        queued = [daemon.execute_bg(f"{i}") for i in range(4)]
        daemon.wait_queue(4)
        shutdowns = [daemon.background("Shutdown") for _ in range(2)]
        time.sleep(0.2)
        # One after the other: the Interrupt (last) ends the daemon's grace.
        late = [daemon.execute_bg("'late'").wait(5),
                daemon.background("Get", "ss", ["org.guiloop.GuiLoop1", "Busy"],
                                  iface="org.freedesktop.DBus.Properties").wait(5),
                daemon.background("Interrupt").wait(5)]
        for c in [running, *queued, *shutdowns, *late]:
            c.wait(15)
        assert daemon.wait(15) == 0
    check_replies(mon, daemon, unique, 10)


def test_one_reply_each_when_grace_runs_out(start_daemon, bus, bus_address, tmp_path):
    d = start_daemon(config="[daemon]\nshutdown_grace = 1\n")
    unique = unique_name(bus, d)
    with BusMonitor(bus_address, tmp_path / "monitor.txt") as mon:
        stubborn = d.execute_bg("import time\nwhile True:\n    try:\n        time.sleep(100)\n"
                                "    except KeyboardInterrupt:\n        pass")
        d.wait_busy()
        queued = [d.execute_bg("1"), d.execute_bg("2")]
        d.wait_queue(2)
        d.shutdown()
        for c in [stubborn, *queued]:
            c.wait(15)
        assert d.wait(15) == 0
    check_replies(mon, d, unique, 4)


def test_one_reply_each_at_sigterm(daemon, bus, bus_address, tmp_path):
    import signal
    unique = unique_name(bus, daemon)
    with BusMonitor(bus_address, tmp_path / "monitor.txt") as mon:
        running = daemon.execute_bg("import time\ntime.sleep(60)")
        daemon.wait_busy()
        queued = [daemon.execute_bg(f"{i}") for i in range(3)]
        daemon.wait_queue(3)
        daemon.send_signal(signal.SIGTERM)
        for c in [running, *queued]:
            c.wait(15)
        assert daemon.wait(15) == 0
    check_replies(mon, daemon, unique, 4)
