# SPDX-License-Identifier: MIT
"""Access control: only the daemon's own Unix user and allow_uids may call."""
import os

import pytest

from helpers import DBUS_ERR, NOBODY, call_as_user

pytestmark = pytest.mark.core

CALLS = [
    ("Execute", "s", ["denied_ran = True"]),
    ("RunFile", "sas", ["/nonexistent/x.py", []]),
    ("Interrupt", "", []),
    ("Shutdown", "", []),
]


@pytest.mark.parametrize("method,sig,args", CALLS, ids=[c[0] for c in CALLS])
def test_other_user_is_denied(daemon, bus_address, method, sig, args):
    assert os.getuid() != NOBODY
    c0 = daemon.get("ExecutionCount")
    r = call_as_user(NOBODY, bus_address, daemon.name, method, sig, args)
    assert r.get("error") == DBUS_ERR + "AccessDenied", r
    assert daemon.alive()
    assert daemon.get("ExecutionCount") == c0
    assert daemon.ok("'denied_ran' in globals()") == "False"


def test_denied_interrupt_does_not_interrupt(daemon, bus_address):
    call = daemon.execute_bg("import time\ntime.sleep(1)\n'finished'")
    daemon.wait_busy()
    r = call_as_user(NOBODY, bus_address, daemon.name, "Interrupt")
    assert r.get("error") == DBUS_ERR + "AccessDenied", r
    assert call.result(10) == (True, "'finished'", "", "")


@pytest.mark.parametrize("uids", ["65534", "1000,65534", "65534, 1000"])
def test_allow_uids(start_daemon, bus_address, uids):
    d = start_daemon(config=f"[daemon]\nallow_uids = {uids}\n")
    r = call_as_user(NOBODY, bus_address, d.name, "Execute", "s",
                     ["import os\nprint(os.getuid())\n6*7"])
    assert r == {"reply": [True, "42", f"{os.getuid()}\n", ""]}, r


def test_allow_uids_other_user_still_denied(start_daemon, bus_address):
    d = start_daemon(config="[daemon]\nallow_uids = 1000\n")
    r = call_as_user(NOBODY, bus_address, d.name, "Execute", "s", ["1"])
    assert r.get("error") == DBUS_ERR + "AccessDenied", r


def test_own_user_from_another_process(daemon, bus_address):
    r = call_as_user(os.getuid(), bus_address, daemon.name, "Execute", "s", ["1+1"])
    assert r == {"reply": [True, "2", "", ""]}, r
