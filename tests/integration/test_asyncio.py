# SPDX-License-Identifier: MIT
"""asyncio living in the toolkit's loop (issue 13): top-level await in
executions, tasks that outlive them, real sockets, Interrupt, background
tracebacks, no idle wake-ups, cancellation at shutdown."""
import socket
import threading
import time

import dbus
import pytest

from gui_snippets import snippet
from helpers import poll


def test_await_while_a_toolkit_timer_ticks(daemon, toolkit):
    daemon.ok(snippet(toolkit, "ticker"))
    ok, result, out, err = daemon.execute(
        "import asyncio, time\nt0, n0 = time.monotonic(), ticks\n"
        "await asyncio.sleep(0.5)\n(time.monotonic() - t0, ticks - n0)")
    assert ok, err
    assert (out, err) == ("", "")  # the first use of asyncio is silent
    elapsed, ticked = eval(result)
    assert 0.5 <= elapsed < 1.5, elapsed
    # A 20 ms timer: 25 ticks in 0.5 s if the loop kept running.
    assert ticked >= 10, f"{ticked} ticks of a 20 ms timer during await asyncio.sleep(0.5)"


def test_task_outlives_its_execution(daemon, toolkit):
    daemon.ok("""\
import asyncio
count = 0
async def counter():
    global count
    while True:
        count += 1
        await asyncio.sleep(0.02)
task = asyncio.create_task(counter())
""")
    seen = []
    for _ in range(3):
        time.sleep(0.2)
        seen.append(daemon.value("(task.done(), count)"))
    assert all(not done for done, _ in seen), seen
    counts = [c for _, c in seen]
    assert counts[0] >= 3 and counts[1] > counts[0] and counts[2] > counts[1], counts
    daemon.ok("task.cancel()")


def test_top_level_async_for_and_async_with(daemon, toolkit):
    assert daemon.value("""\
import asyncio
async def numbers():
    for i in range(3):
        await asyncio.sleep(0.01)
        yield i
lock = asyncio.Lock()
got = []
async with lock:
    async for n in numbers():
        got.append(n)
(got, lock.locked(), [n async for n in numbers()])
""") == ([0, 1, 2], False, [0, 1, 2])


@pytest.mark.core
def test_loop_is_the_gui_threads(daemon):
    assert daemon.value("import asyncio\nloop = asyncio.get_event_loop()\n"
                        "loop is asyncio.get_running_loop()") is True
    assert daemon.value("async def f():\n    return asyncio.get_running_loop()\n"
                        "(await f()) is loop and asyncio.get_event_loop() is loop") is True
    # A plain expression that makes a coroutine is a value, not awaited.
    assert daemon.value("type(f()).__name__") == "coroutine"


def test_open_connection_to_a_local_server(daemon, toolkit):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(100)
                if not chunk:
                    return
                data += chunk
            time.sleep(0.2)  # the daemon awaits the answer meanwhile
            conn.sendall(b"pong " + data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        assert daemon.value(f"""\
import asyncio
reader, writer = await asyncio.open_connection("127.0.0.1", {port})
writer.write(b"ping\\n")
await writer.drain()
line = await asyncio.wait_for(reader.readline(), 10)
writer.close()
await writer.wait_closed()
line
""", timeout=30) == b"pong ping\n"
    finally:
        srv.close()
        t.join(5)


def test_interrupt_an_await(daemon, toolkit):
    # Imported first: an interrupt that lands in an import leaves it half done.
    daemon.ok("import asyncio")
    call = daemon.execute_bg("await asyncio.sleep(60)")
    daemon.wait_busy()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert daemon.interrupt() is True
    ok, _, _, err = call.result(15)
    assert time.monotonic() - t0 < 5
    assert not ok
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert "await asyncio.sleep(60)" in err, err
    # The loop goes on: a new await works, the daemon is not busy.
    assert daemon.value("await asyncio.sleep(0.05, result=3)") == 3
    assert daemon.get("Busy") is False


def test_interrupt_a_loop_of_awaits_always_ends_it(daemon, toolkit):
    # Most of such a loop's time is asyncio's own code.  An interrupt raised
    # there, between _run_once() taking the task's step and running it, lost
    # the step: the execution then hung for good, deaf to every Interrupt
    # (1 of 2 rounds here, and the D-Bus fuzz test under ASan).
    daemon.ok("import asyncio")
    for i in range(15):
        call = daemon.execute_bg("for i in range(10**8):\n    await asyncio.sleep(0)")
        daemon.wait_busy()
        time.sleep(0.05 + 0.01 * i)
        assert daemon.interrupt() is True
        ok, _, _, err = call.result(10)
        assert not ok and err.rstrip().endswith("KeyboardInterrupt"), (i, err)
        assert "await asyncio.sleep(0)" in err, (i, err)
    assert daemon.value("await asyncio.sleep(0.01, result=4)") == 4


SPINNER = ("import asyncio\nsteps = 0\n"
           "async def spin():\n    global steps\n"
           "    while True:\n        steps += 1\n        await asyncio.sleep(0)\n"
           "spinner = asyncio.create_task(spin())")


def test_a_task_that_never_waits_starves_nothing(daemon, toolkit):
    # Such a task keeps a callback ready all the time.  Executions (posted
    # calls, at the toolkit's idle priority) and the toolkit's own timers
    # still get their turns.  A 0 ms timer of the default priority was due
    # on every turn: on gtk, gtk4, wx and tk no execution ran again.
    daemon.ok(snippet(toolkit, "ticker"))
    daemon.ok(SPINNER)
    try:
        t0 = time.monotonic()
        for _ in range(5):
            daemon.value("steps", timeout=10)
        took = time.monotonic() - t0
        ticks0, steps0 = daemon.value("(ticks, steps)")
        time.sleep(0.5)
        ticks1, steps1 = daemon.value("(ticks, steps)")
        assert took < 2.5, f"5 executions took {took:.2f} s beside a spinning task"
        assert steps1 > steps0, (steps0, steps1)
        assert ticks1 - ticks0 >= 10, f"{ticks1 - ticks0} ticks of a 20 ms timer in 0.5 s"
    finally:
        daemon.ok("spinner.cancel()")


def test_interrupt_between_executions_leaves_tasks_stepping(daemon, toolkit):
    # With no execution running, an Interrupt goes to what holds the GUI
    # thread: here asyncio's dispatch of a task that steps without pause.
    # The task ends with the KeyboardInterrupt or keeps stepping; it is never
    # left pending with its step lost.
    daemon.ok(SPINNER)
    for i in range(10):
        time.sleep(0.03)
        daemon.interrupt()
    before = daemon.value("(spinner.done(), steps)")
    time.sleep(0.3)
    done, steps = daemon.value("(spinner.done(), steps)")
    assert done or steps > before[1], (before, steps)
    assert daemon.value("await asyncio.sleep(0.01, result=5)") == 5
    daemon.ok("spinner.cancel()")


def test_the_next_execution_waits_for_an_awaiting_one(daemon, toolkit):
    first = daemon.execute_bg("import asyncio, time\nawait asyncio.sleep(0.6)\ntime.monotonic()")
    daemon.wait_busy()
    t0 = time.monotonic()
    ok, result, _, err = daemon.execute("import time\ntime.monotonic()", timeout=20)
    assert ok, err
    ok1, result1, _, err1 = first.result(10)
    assert ok1, err1
    assert float(result) > float(result1)  # FIFO: the second ran after the first
    assert time.monotonic() - t0 >= 0.3


def test_failing_task_traceback_in_the_log(daemon, toolkit):
    daemon.ok("""\
import asyncio
async def doomed():
    await asyncio.sleep(0.05)
    raise ValueError("task went wrong")
asyncio.create_task(doomed()); pass
""")
    poll(lambda: "ValueError: task went wrong" in daemon.log(), 10, interval=0.1,
         what="the task's traceback in the log")
    log = daemon.log()
    assert "Task exception was never retrieved" in log
    assert 'raise ValueError("task went wrong")' in log
    assert "in doomed" in log
    assert daemon.value("1 + 1") == 2


def test_idle_with_a_pending_sleep_does_not_wake_up(daemon, toolkit):
    daemon.ok("import asyncio, guiloop\nsleeper = asyncio.create_task(asyncio.sleep(3600))")
    daemon.ok("await asyncio.sleep(0.1)")
    time.sleep(0.3)
    before = daemon.context_switches()
    time.sleep(2)
    woke = daemon.context_switches() - before
    assert woke <= 20, f"{woke} context switches in 2 s with a task asleep for an hour"
    assert daemon.value("sleeper.done()") is False


@pytest.mark.core
def test_asyncio_run_runs_on_the_daemons_loop(daemon):
    """asyncio.run() in executed code: the daemon's loop, its result, tasks live on."""
    assert daemon.value("""\
import asyncio
loop = asyncio.get_event_loop()
async def main():
    global side
    side = asyncio.create_task(asyncio.sleep(30))
    await asyncio.sleep(0.05)
    return asyncio.get_running_loop() is loop
asyncio.run(main())
""") is True
    assert daemon.value("side.done()") is False
    # Inside a coroutine, as in python3: RuntimeError.
    ok, _, _, err = daemon.execute("async def nested():\n    asyncio.run(asyncio.sleep(0))\n"
                                   "await nested()")
    assert not ok and "cannot be called from a running event loop" in err, err
    # A loop of one's own cannot run in the GUI thread: a clear error.
    ok, _, _, err = daemon.execute("asyncio.new_event_loop().run_until_complete(asyncio.sleep(0))")
    assert not ok and "another loop is running" in err, err
    assert daemon.value("loop.run_until_complete(asyncio.sleep(0.01, result='ok'))") == "ok"
    daemon.ok("side.cancel()")


@pytest.mark.core
def test_run_file_with_await_and_asyncio_run(daemon, tmp_path):
    top = tmp_path / "top_await.py"
    top.write_text("import asyncio\nawait asyncio.sleep(0.01)\nprint('awaited at top')\n")
    ok, out, err = daemon.run_file(top)
    assert ok, err
    assert out == "awaited at top\n"
    prog = tmp_path / "asyncio_program.py"
    prog.write_text("import asyncio\n\nasync def main():\n    await asyncio.sleep(0.01)\n"
                    "    print('main ran')\n    return 7\n\n"
                    "if __name__ == '__main__':\n    print(asyncio.run(main()))\n")
    ok, out, err = daemon.run_file(prog)
    assert ok, err
    assert out == "main ran\n7\n"


@pytest.mark.core
def test_submit_with_await(daemon):
    try:
        eid = daemon.call("Submit", "sa{sv}", ["import asyncio\nawait asyncio.sleep(0.1, result=9)",
                                               dbus.Dictionary({}, signature="sv")])
    except dbus.exceptions.DBusException as e:
        if e.get_dbus_name() == "org.freedesktop.DBus.Error.UnknownMethod":
            pytest.skip("Submit is not in this build")
        raise
    ok, result, _, err = daemon.call("Wait", "t", [eid], timeout=20)
    assert ok, err
    assert result == "9"


@pytest.mark.core
def test_shutdown_cancels_pending_tasks(daemon, tmp_path):
    mark = tmp_path / "cancelled"
    daemon.ok(f"""\
import asyncio
async def patient():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        open({str(mark)!r}, "w").write("cancelled")
        raise
waiter = asyncio.create_task(patient())
""")
    daemon.ok("await asyncio.sleep(0.05)")
    daemon.shutdown()
    assert daemon.wait(15) == 0
    assert mark.read_text() == "cancelled"


@pytest.mark.core
def test_nothing_is_imported_at_start(daemon):
    assert daemon.value("import sys\n[m for m in ('asyncio', 'matplotlib', 'guiloop', "
                        "'concurrent.futures') if m in sys.modules]") == []


@pytest.mark.toolkits("gtk")
def test_await_with_the_tk_guest(start_daemon):
    """Tk as a guest rides on the same host watches and timers as asyncio."""
    d = start_daemon(args=["--tk-guest"])
    d.ok(snippet("tk", "ticker"))
    ok, result, _, err = d.execute("import asyncio\nn0 = ticks\nawait asyncio.sleep(0.4)\n"
                                   "ticks - n0")
    assert ok, err
    assert int(result) >= 8, f"{result} ticks of Tk's 20 ms timer in 0.4 s"


def test_interrupt_an_await_while_callbacks_run(daemon, toolkit):
    """The interrupt reaches the awaiting execution, not a toolkit callback
    that happens to run first (without the interrupt hook: 1 lost in 25)."""
    daemon.ok(snippet(toolkit, "ticker").replace("(20", "(2"))  # a 2 ms timer
    daemon.ok("import asyncio")  # not interrupted in the middle of its import
    for i in range(10):
        call = daemon.execute_bg("await asyncio.sleep(60)")
        poll(lambda: call.finished() or daemon.get("Busy"), 10, what="Busy")
        assert not call.finished(), f"run {i} ended by itself: {call.result(1)}"
        time.sleep(0.05 + (i % 5) * 0.013)
        assert daemon.interrupt() is True
        ok, _, _, err = call.result(15)
        assert not ok and err.rstrip().endswith("KeyboardInterrupt"), err
    n0 = daemon.value("ticks")
    time.sleep(0.2)
    assert daemon.value("ticks") > n0


@pytest.mark.toolkits("gtk")
def test_nested_loop_in_a_callback_does_not_spin(daemon):
    """A loop callback that runs a nested loop (plt.pause() in a task, say)
    while one of our fds is ready: its watch is off until the callback ends."""
    ok, result, _, err = daemon.execute("""\
import asyncio, socket, time
from gi.repository import GLib
a, b = socket.socketpair()
a.setblocking(False)
got = []
loop = asyncio.get_event_loop()
loop.add_reader(a, lambda: got.append(a.recv(10)))
def nested():
    ml = GLib.MainLoop()
    GLib.timeout_add(400, ml.quit)
    c0 = time.process_time()
    b.send(b"x")
    ml.run()
    got.append(time.process_time() - c0)
loop.call_soon(nested)
await asyncio.sleep(0.7)
loop.remove_reader(a)
got
""", timeout=20)
    assert ok, err
    cpu, data = eval(result)
    assert data == b"x"  # read once the callback returned
    assert cpu < 0.1, f"{cpu:.3f} s of CPU in a 0.4 s nested loop"


@pytest.mark.core
def test_shutdown_while_an_execution_awaits(daemon):
    call = daemon.execute_bg("import asyncio\nawait asyncio.sleep(60)")
    daemon.wait_busy()
    t0 = time.monotonic()
    daemon.shutdown()
    ok, _, _, err = call.result(15)
    assert not ok
    assert daemon.wait(15) == 0
    assert time.monotonic() - t0 < 5


@pytest.mark.core
def test_threads_subprocesses_and_timeouts(daemon):
    """What wakes the loop from other threads (to_thread, a child watcher) and
    asyncio.timeout(), which needs the execution to be a task."""
    assert daemon.value("import asyncio\nawait asyncio.to_thread(sum, [1, 2, 3])") == 6
    assert daemon.value("p = await asyncio.create_subprocess_exec('echo', 'hi', "
                        "stdout=asyncio.subprocess.PIPE)\n"
                        "(await p.communicate())[0], p.returncode") == (b"hi\n", 0)
    assert daemon.value("try:\n    async with asyncio.timeout(0.05):\n"
                        "        await asyncio.sleep(5)\n    r = 'no'\n"
                        "except TimeoutError:\n    r = 'timed out'\nr") == "timed out"


@pytest.mark.toolkits("qt")
def test_await_on_qt_without_glib(start_daemon):
    """QT_NO_GLIB=1: Qt's own dispatcher runs the nested loop instead of GLib."""
    d = start_daemon(env={"QT_NO_GLIB": "1"})
    d.ok(snippet("qt", "ticker"))
    ok, result, _, err = d.execute("import asyncio\nn0 = ticks\nawait asyncio.sleep(0.4)\n"
                                   "ticks - n0")
    assert ok, err
    assert int(result) >= 8, f"{result} ticks of a 20 ms QTimer in 0.4 s"
    call = d.execute_bg("await asyncio.sleep(60)")
    d.wait_busy()
    time.sleep(0.1)
    assert d.interrupt() is True
    ok, _, _, err = call.result(15)
    assert not ok and err.rstrip().endswith("KeyboardInterrupt"), err


@pytest.mark.core
def test_startup_file_uses_guiloop_and_asyncio(start_daemon, tmp_path):
    """python.startup runs after the guiloop module exists: it may start tasks."""
    startup = tmp_path / "startup.py"
    startup.write_text("import asyncio, guiloop\nFROM_STARTUP = guiloop.toolkit\nbeats = 0\n"
                       "async def beat():\n    global beats\n    while True:\n"
                       "        beats += 1\n        await asyncio.sleep(0.02)\n"
                       "heart = asyncio.get_event_loop().create_task(beat())\n")
    d = start_daemon(config=f"[python]\nstartup = {startup}\n")
    assert d.value("FROM_STARTUP") == d.get("Toolkit")
    poll(lambda: d.value("beats") >= 5, 5, what="the startup file's task to run")
    assert "python.startup" in d.log() and "done" in d.log()
