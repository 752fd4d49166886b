# SPDX-License-Identifier: MIT
"""Submit, Wait, Cancel, Finished and Subscribe (interface v1.1), from python3-dbus and busctl."""
import subprocess
import threading
import time

import dbus
import pytest

from bus_helpers import Listener, submit
from helpers import DBUS_ERR, ERR, IFACE, NOBODY, OBJECT_PATH, call_as_user

pytestmark = pytest.mark.core


@pytest.fixture
def listener(daemon, bus_address):
    made = []

    def make():
        li = Listener(bus_address, daemon.name)
        made.append(li)
        return li
    yield make
    for li in made:
        li.close()


def test_submit_output_finished_wait(daemon, listener):
    li = listener()
    eid = submit(li, "import sys, time\nprint('a', flush=True)\ntime.sleep(0.2)\n"
                     "print('e', file=sys.stderr)\n6*7")
    assert isinstance(eid, int) and eid >= 1
    fin = li.wait_finished(eid)
    # The caller streamed the output: Finished carries it empty, no output twice.
    assert fin == (eid, True, "42", "", "")
    assert li.output(eid) == "a\n"
    assert li.output(eid, "stderr") == "e\n"
    # Every Output came before Finished.
    members = [m for _, m, a, _ in li.events if a[0] == eid]
    assert members[-1] == "Finished" and members.count("Finished") == 1
    # Wait, from any connection, any number of times.
    assert daemon.call("Wait", "t", [eid]) == (True, "42", "a\n", "e\n")
    assert daemon.call("Wait", "t", [eid]) == (True, "42", "a\n", "e\n")


def test_large_output_streams_in_pieces(daemon, listener):
    # Printed by Python and written to fd 1, both at the end: one last batch of 1 MB.
    code = ("import os\nprint('\u00e9' * 300000, end='')\n"
            "os.write(1, ('x' + '\u00fc' * 200000).encode())\nNone")
    want = "\u00e9" * 300000 + "x" + "\u00fc" * 200000
    li, sub = listener(), listener()
    sub.call("Subscribe")
    eid = submit(li, code)
    assert li.wait_finished(eid) == (eid, True, "", "", "")
    sub.wait_finished(eid)
    for who in (li, sub):
        pieces = [a[2] for _, m, a, _ in who.events if m == "Output" and a[0] == eid]
        assert "".join(pieces) == want
        # At most 256 KiB each, cut between characters (a str came, so each was valid UTF-8).
        sizes = [len(p.encode()) for p in pieces]
        assert len(pieces) >= 4 and max(sizes) <= 256 * 1024, sizes
        members = [m for _, m, a, _ in who.events if a[0] == eid]
        assert members[-1] == "Finished" and members.count("Finished") == 1
    assert daemon.call("Wait", "t", [eid]) == (True, "", want, "")


def test_submit_ids_increase_and_wait_blocks(daemon, listener):
    li = listener()
    a = submit(li, "import time\ntime.sleep(0.5)\n'first'")
    b = submit(li, "'second'")
    assert b == a + 1
    t0 = time.monotonic()
    waiter = daemon.background("Wait", "t", [b])
    assert waiter.result(10) == (True, "'second'", "", "")
    assert waiter.t_done - t0 > 0.3, "Wait answered before the execution ran"
    assert daemon.call("Wait", "t", [a]) == (True, "'first'", "", "")


def test_submit_traceback_streams(daemon, listener):
    li = listener()
    eid = submit(li, "1/0")
    fin = li.wait_finished(eid)
    assert fin[1] is False and fin[3:] == ("", "")
    assert li.output(eid, "stderr").rstrip().endswith("ZeroDivisionError: division by zero")


def test_submit_stream_false(daemon, listener):
    li = listener()
    eid = submit(li, "print('quiet')", stream=False)
    fin = li.wait_finished(eid)
    assert li.signals("Output", eid) == []
    assert fin == (eid, True, "", "quiet\n", "")


def test_submit_timeout_option(daemon, listener):
    li = listener()
    t0 = time.monotonic()
    eid = submit(li, "import time\ntime.sleep(20)", timeout=0.5)
    fin = li.wait_finished(eid, 15)
    assert time.monotonic() - t0 < 8
    assert fin[1] is False
    assert "KeyboardInterrupt" in li.output(eid, "stderr")
    # 0 means never, even with execution.timeout set: here it simply ends.
    eid = submit(li, "'done'", timeout=0)
    assert li.wait_finished(eid)[2] == "'done'"


@pytest.mark.parametrize("options", [
    {"nope": dbus.Boolean(True, variant_level=1)},
    {"timeout": dbus.String("1", variant_level=1)},
    {"stream": dbus.Int32(1, variant_level=1)},
    {"timeout": dbus.Double(-1.0, variant_level=1)},
])
def test_submit_bad_options(daemon, options):
    err = daemon.call_error("Submit", "sa{sv}", ["1", dbus.Dictionary(options, signature="sv")])

    assert err == "org.freedesktop.DBus.Error.InvalidArgs"
    assert daemon.ok("'still fine'") == "'still fine'"


def test_wait_unknown(daemon):
    assert daemon.call_error("Wait", "t", [12345]) == ERR + "UnknownExecution"
    assert daemon.call_error("Cancel", "t", [12345]) == ERR + "UnknownExecution"


def test_keep_results(start_daemon):
    d = start_daemon(config="[execution]\nkeep_results = 2\n")
    ids = [d.call("Submit", "sa{sv}", [f"{i}", dbus.Dictionary({}, signature="sv")])
           for i in range(4)]
    assert d.call("Wait", "t", [ids[-1]])[1] == "3"
    assert d.call("Wait", "t", [ids[-2]])[1] == "2"
    assert d.call_error("Wait", "t", [ids[0]]) == ERR + "UnknownExecution"


def test_cancel_queued_running_and_others(daemon, listener):
    owner, other = listener(), listener()
    running = submit(owner, "import time\ntime.sleep(30)")
    daemon.wait_busy()
    queued = submit(owner, "'never'")
    ex = daemon.execute_bg("'queued execute'")
    daemon.wait_queue(2)
    # Another connection cancels what the owner submitted.
    assert other.call("Cancel", "t", [queued]) is True
    assert daemon.call_error("Wait", "t", [queued]) == ERR + "Cancelled"
    assert daemon.get("QueueLength") == 1
    assert other.call("Cancel", "t", [running]) is True
    fin = owner.wait_finished(running, 10)
    assert fin[1] is False and "KeyboardInterrupt" in owner.output(running, "stderr")
    # The one queued behind it was not hit.
    assert ex.result(10) == (True, "'queued execute'", "", "")
    assert other.call("Cancel", "t", [running]) is False


def test_cancel_queued_execute_caller_gets_cancelled(daemon):
    blocker = daemon.execute_bg("import time\ntime.sleep(1)")
    daemon.wait_busy()
    queued = daemon.execute_bg("'x'")
    daemon.wait_queue(1)
    eid = daemon.get("Running") + 1
    assert daemon.call("Cancel", "t", [eid]) is True
    assert queued.error_name(10) == ERR + "Cancelled"
    assert blocker.result(10)[0]


def test_running_property(daemon, listener):
    li = listener()
    assert daemon.get("Running") == 0
    eid = submit(li, "import time\ntime.sleep(0.5)")
    daemon.wait_busy()
    assert daemon.get("Running") == eid
    li.wait_finished(eid)
    assert daemon.get("Running") == 0


def test_loop_blocked_ms_idle(daemon):
    assert daemon.get("LoopBlockedMs") == 0


def test_loop_blocked_ms_is_live(daemon, listener):
    li = listener()
    eid = submit(li, "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 1.0: pass")
    daemon.wait_busy()
    time.sleep(0.5)
    v = daemon.get("LoopBlockedMs")
    assert 300 <= v <= 5000, v
    li.wait_finished(eid)


def test_subscribe_gets_others_output_unsubscribe_stops(daemon, listener):
    sub, quiet = listener(), listener()
    sub.call("Subscribe")
    success, _, out, _ = daemon.execute("print('from execute')")
    assert out == "from execute\n"
    eid = daemon.call("Submit", "sa{sv}", ["print('from submit')",
                                           dbus.Dictionary({}, signature="sv")])
    fin = sub.wait_finished(eid)
    assert sub.output(eid) == "from submit\n"
    assert fin[3] == "", "a subscriber that got the Output gets stdout empty in Finished"
    quiet.pump(0.3)
    assert quiet.signals() == [], "a connection that did not subscribe got signals"
    sub.call("Unsubscribe")
    before = len(sub.signals())
    daemon.ok("print('after')")
    sub.pump(0.3)
    assert len(sub.signals()) == before


def test_execute_output_to_subscribers_only(daemon, listener):
    sub = listener()
    sub.call("Subscribe")
    daemon.ok("print('x')")
    sub.pump(0.2)
    ex = [a for a in sub.signals("Output")]
    assert ex and ex[0][2] == "x\n"
    fins = sub.signals("Finished")
    assert len(fins) == 1 and fins[0][1] is True and fins[0][3] == ""


def test_signals_are_unicast(daemon, bus_address, listener):
    """A bus monitor-free check: the daemon sets a destination on every Output/Finished."""
    sub = listener()
    sub.call("Subscribe")
    eid = submit(sub, "print('hi')")
    sub.wait_finished(eid)
    with sub.lock:
        dests = {d for _, m, _, d in sub.events}
    assert dests == {sub.unique}


def test_order_under_20_concurrent_clients(daemon, bus_address):
    errors, lock = [], threading.Lock()

    def client(i):
        li = Listener(bus_address, daemon.name)
        try:
            eid = submit(li, f"for k in range(3): print({i}, k)\n{i}")
            fin = li.wait_finished(eid, 60)
            members = [m for _, m, a, _ in li.events if a[0] == eid]
            out = li.output(eid)
            ok = (members[-1] == "Finished" and members.count("Finished") == 1 and
                  out == "".join(f"{i} {k}\n" for k in range(3)) and fin[2] == str(i) and
                  all(a[0] == eid for _, m, a, _ in li.events))
            if not ok:
                with lock:
                    errors.append((i, members, out, fin, li.events))
        except Exception as e:
            with lock:
                errors.append((i, repr(e)))
        finally:
            li.close()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors[:3]


def test_busctl_submit_then_wait_30s(daemon, bus_address):
    env = {"DBUS_SESSION_BUS_ADDRESS": bus_address, "PATH": "/usr/bin:/bin"}
    p = subprocess.run(["busctl", "--user", "call", daemon.name, OBJECT_PATH, IFACE, "Submit",
                        "sa{sv}", "import time\ntime.sleep(30)\n'slept'", "0"],
                       capture_output=True, text=True, env=env, timeout=20)
    assert p.returncode == 0, p.stderr
    eid = int(p.stdout.split()[1])
    p = subprocess.run(["busctl", "--user", "--timeout=60", "call", daemon.name, OBJECT_PATH,
                        IFACE, "Wait", "t", str(eid)],
                       capture_output=True, text=True, env=env, timeout=70)
    assert p.returncode == 0, p.stderr
    # busctl prints the string with its quotes escaped: "\'slept\'"
    assert p.stdout.strip().replace("\\", "") == 'bsss true "\'slept\'" "" ""', p.stdout


@pytest.mark.parametrize("member,sig,args", [
    ("Submit", "s", ["1"]), ("Submit", "sa{ss}", ["1", {}]), ("Wait", "s", ["1"]),
    ("Wait", "", []), ("Cancel", "u", [1]), ("Subscribe", "s", ["x"]),
    ("Unsubscribe", "i", [1]), ("Complete", "s", ["x"]), ("Complete", "ss", ["x", "1"]),
    ("Inspect", "s", ["x"]), ("IsComplete", "si", ["x", 1]), ("Stacks", "s", ["x"]),
    ("SubmitFile", "sas", ["/x", []]), ("SubmitFile", "sa{sv}", ["/x", {}]),
])
def test_wrong_signatures(daemon, member, sig, args):
    assert daemon.call_error(member, sig, args) == "org.freedesktop.DBus.Error.InvalidArgs"


def test_subscribe_is_checked_like_any_method(daemon, bus_address):
    for member in ("Subscribe", "Submit", "Wait", "Cancel", "Complete", "Stacks"):
        sig, args = {"Submit": ("sa{sv}", ["1", {}]), "Wait": ("t", [1]), "Cancel": ("t", [1]),
                     "Complete": ("si", ["x", -1])}.get(member, ("", []))
        r = call_as_user(NOBODY, bus_address, daemon.name, member, sig, args)
        assert r.get("error") == DBUS_ERR + "AccessDenied", (member, r)


def test_shutdown_answers_queued_submits(daemon, listener):
    li = listener()
    running = submit(li, "import time\ntime.sleep(30)")
    daemon.wait_busy()
    queued = submit(li, "'never runs'")
    daemon.wait_queue(1)
    li.call("Shutdown")
    fin = li.wait_finished(queued, 10)
    assert fin[1] is False
    fin = li.wait_finished(running, 10)
    assert fin[1] is False and "KeyboardInterrupt" in li.output(running, "stderr")
    assert daemon.wait(15) == 0


def test_subscribed_execute_caller_gets_its_output_once(daemon, listener):
    li = listener()
    li.call("Subscribe")
    assert li.call("Execute", "s", ["print('once')"]) == (True, "", "once\n", "")
    other = daemon.ok("print('other')")
    assert other == ""
    li.pump(0.3)
    texts = [a[2] for a in li.signals("Output")]
    assert texts == ["other\n"], "an Execute caller got its own output as signals too"
    assert len(li.signals("Finished")) == 1


def test_submit_file_streams_and_waits(daemon, listener, tmp_path):
    """SubmitFile runs a file as RunFile does, with Submit's id, Output, Finished and Wait."""
    prog = tmp_path / "prog.py"
    prog.write_text("import sys, time\nprint('argv', sys.argv[1:], flush=True)\n"
                    "time.sleep(0.2)\nprint('late', file=sys.stderr)\nmade_by_prog = 5\n")
    li = listener()
    eid = li.call("SubmitFile", "sasa{sv}", [str(prog), ["one", "two"], {}])
    assert isinstance(eid, int) and eid >= 1
    fin = li.wait_finished(eid)
    assert fin == (eid, True, "", "", "")
    assert li.output(eid) == "argv ['one', 'two']\n"
    assert li.output(eid, "stderr") == "late\n"
    assert daemon.call("Wait", "t", [eid]) == (True, "", "argv ['one', 'two']\n", "late\n")
    # As RunFile: its names land in the interactive namespace.
    assert daemon.ok("made_by_prog") == "5"


def test_submit_file_errors(daemon, tmp_path):
    none = dbus.Dictionary({}, signature="sv")
    assert daemon.call_error("SubmitFile", "sasa{sv}", ["rel.py", [], none]) == \
        DBUS_ERR + "InvalidArgs"
    assert daemon.call_error("SubmitFile", "sasa{sv}", [str(tmp_path / "no.py"), [], none]) == \
        ERR + "FileNotFound"
    prog = tmp_path / "p.py"
    prog.write_text("pass\n")
    bad = dbus.Dictionary({"nope": dbus.Boolean(True, variant_level=1)}, signature="sv")
    assert daemon.call_error("SubmitFile", "sasa{sv}", [str(prog), [], bad]) == \
        DBUS_ERR + "InvalidArgs"
    assert daemon.ok("'still fine'") == "'still fine'"
