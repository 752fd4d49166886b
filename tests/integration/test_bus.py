# SPDX-License-Identifier: MIT
"""The bus name: instances side by side, and a name that is already taken (exit 75)."""
import pytest

from helpers import BUS_NAME, EX_TEMPFAIL, bus_name

pytestmark = pytest.mark.core


def test_default_name(daemon, bus):
    assert daemon.name == BUS_NAME
    assert bus.name_has_owner(BUS_NAME)


def test_instance_option(start_daemon, bus):
    d = start_daemon(instance="foo")
    assert bus.name_has_owner("org.guiloop.GuiLoop1.foo")
    assert not bus.name_has_owner(BUS_NAME)
    assert d.ok("1+1") == "2"


def test_instance_from_config(start_daemon, bus):
    d = start_daemon(config="[daemon]\ninstance = from_cfg\n", name=bus_name("from_cfg"))
    assert d.ok("3") == "3"
    assert not bus.name_has_owner(BUS_NAME)


def test_instances_side_by_side(start_daemon):
    a = start_daemon(instance="alpha")
    b = start_daemon(instance="beta")
    plain = start_daemon()
    a.ok("who = 'alpha'")
    b.ok("who = 'beta'")
    assert a.ok("who") == "'alpha'"
    assert b.ok("who") == "'beta'"
    success, _, _, err = plain.execute("who")
    assert not success and "NameError" in err
    assert len({a.pid, b.pid, plain.pid}) == 3


@pytest.mark.every_toolkit
@pytest.mark.parametrize("instance", [None, "dup"])
def test_name_already_owned(start_daemon, instance):
    first = start_daemon(instance=instance)
    second = start_daemon(instance=instance, wait=False)
    rc = second.wait(15)
    out = second.log()
    assert rc == EX_TEMPFAIL, (rc, out)
    assert bus_name(instance) in out, out
    assert "--instance" in out, out
    # The first one is untouched.
    assert first.ok("'still here'") == "'still here'"
