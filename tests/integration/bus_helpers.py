# SPDX-License-Identifier: MIT
"""Helpers for the tests of interface v1.1 (Submit, Wait, Finished, Subscribe ...).

A Listener is a GDBus connection of its own: GDBus reads it in its worker
thread, and a message filter records every Output and Finished that reaches
it, so a test needs no main loop and may run many listeners in threads."""
import threading
import time

from gi.repository import Gio, GLib

from helpers import IFACE, OBJECT_PATH


class CallError(Exception):
    def __init__(self, name, text):
        super().__init__(f"{name}: {text}")
        self.name = name


def _variant(sig, value):
    if sig == "a{sv}":
        return GLib.Variant(sig, {k: v if isinstance(v, GLib.Variant) else
                                  GLib.Variant("b" if isinstance(v, bool) else "d", v)
                                  for k, v in value.items()})
    return GLib.Variant(sig, value)


class Listener:
    def __init__(self, address, name):
        self.name = name
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.unique = self.conn.get_unique_name()
        self.events = []  # (monotonic, member, args, destination)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.conn.add_filter(self._filter)
        # A match rule for the interface's signals: had the daemon broadcast them, this
        # connection would get them too, so "received nothing" means something.
        self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "AddMatch",
                            GLib.Variant("(s)", (f"type='signal',interface='{IFACE}'",)),
                            None, Gio.DBusCallFlags.NONE, 10000, None)

    def _filter(self, conn, msg, incoming):
        if (incoming and msg.get_message_type() == Gio.DBusMessageType.SIGNAL and
                msg.get_interface() == IFACE):
            body = msg.get_body()
            with self.cond:
                self.events.append((time.monotonic(), msg.get_member(),
                                    tuple(body.unpack()) if body else (),
                                    msg.get_destination()))
                self.cond.notify_all()
        return msg

    def call(self, method, signature="", args=(), timeout=60.0, iface=IFACE):
        params = None
        if signature:
            types = GLib.Variant.split_signature(f"({signature})")
            params = GLib.Variant.new_tuple(*[_variant(s, a) for s, a in zip(types, args)])
        try:
            r = self.conn.call_sync(self.name, OBJECT_PATH, iface, method, params, None,
                                    Gio.DBusCallFlags.NONE, int(timeout * 1000), None)
        except GLib.Error as e:
            raise CallError(Gio.DBusError.get_remote_error(e), e.message) from None
        r = r.unpack() if r is not None else ()
        return r[0] if len(r) == 1 else tuple(r)

    def call_error(self, *a, **kw):
        try:
            r = self.call(*a, **kw)
        except CallError as e:
            return e.name
        raise AssertionError(f"{a[0]} should have failed, returned {r!r}")

    def pump(self, seconds):
        time.sleep(seconds)

    def wait_finished(self, eid, timeout=30.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for _, m, a, _ in self.events:
                    if m == "Finished" and a[0] == eid:
                        return a
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no Finished for {eid} within {timeout} s: "
                                         f"{self.events}")
                self.cond.wait(left)

    def signals(self, member=None, eid=None):
        with self.lock:
            return [a for _, m, a, _ in self.events
                    if (member is None or m == member) and (eid is None or a[0] == eid)]

    def output(self, eid, stream="stdout"):
        return "".join(a[2] for a in self.signals("Output", eid) if a[1] == stream)

    def close(self):
        self.conn.close_sync(None)


def submit(target, code, **options):
    return target.call("Submit", "sa{sv}", [code, options])
