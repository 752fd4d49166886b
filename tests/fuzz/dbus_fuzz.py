#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A D-Bus fuzzer for guiloopd: every call it makes gets exactly one reply.

Random members (the real ones, unknown ones, other interfaces and paths),
random signatures and argument types (basic types, arrays, dicts, structs,
variants, nested), strings of random text (ASCII, non-ASCII, NULs are not
allowed on the wire) up to 30 MB, the no-reply flag, and senders that send
and vanish at once.  It counts the replies per serial on its own
connection: exactly one for each call that expects one, none for a call
flagged no-reply.  A fixed seed and a fixed number of calls make a run
repeatable.

Used by tests/integration/test_fuzz.py (against a daemon the fixtures
start), or alone against a running daemon:

    tests/fuzz/dbus_fuzz.py --address "$DBUS_SESSION_BUS_ADDRESS" --calls 5000 --seed 1
"""
import argparse
import collections
import json
import random
import sys
import threading
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = "org.guiloop.GuiLoop1"
PATH = "/org/guiloop/GuiLoop1"
IFACE = "org.guiloop.GuiLoop1"
PROPS = "org.freedesktop.DBus.Properties"
PEER = "org.freedesktop.DBus.Peer"

# (member, in-signature); Shutdown is left out: it would end the run.
MEMBERS = [
    ("Execute", "s"), ("RunFile", "sas"), ("Interrupt", ""), ("Submit", "sa{sv}"),
    ("Wait", "t"), ("Cancel", "t"), ("Complete", "si"), ("Inspect", "si"),
    ("IsComplete", "s"), ("Subscribe", ""), ("Unsubscribe", ""), ("Stacks", ""),
]
PROPERTIES = ["Version", "Toolkit", "TkGuest", "PythonVersion", "Busy", "QueueLength",
              "ExecutionCount", "LoopBlockedMs"]
# Code that is harmless to run many times: fast, no side effects outside the daemon.
SNIPPETS = [
    "1", "x = 1", "x", "None", "'é' * 3000", "print('out ' * 100)",
    "import sys; sys.stderr.write('err\\n')", "1/0", "def f(:", "raise SystemExit(3)",
    "raise SystemExit(0)", "[i * i for i in range(1000)][-1]", "b'\\x00\\xff'",
    "'\\udcff'", "print('\\x00')", "import time; time.sleep(0.02)", "_", "len(dir())",
    "async def g():\n    return 1", "await __import__('asyncio').sleep(0)",
]
BASIC = "ybnqiuxtdsogh"  # h (fd) is never generated as a value: only in signatures we skip


class Gen:
    """Random D-Bus types and values."""

    def __init__(self, rng, max_size):
        self.rng = rng
        self.max_size = max_size

    def size(self):
        r = self.rng.random()
        if r < 0.003:  # a few huge ones, up to max_size
            return self.rng.randint(1 << 20, self.max_size)
        if r < 0.05:
            return self.rng.randint(1000, 100_000)
        return self.rng.randint(0, 64)

    def text(self, n=None):
        n = self.size() if n is None else n
        kind = self.rng.random()
        if n > 200_000:
            unit = self.rng.choice(["x", "é", "€", "😀", "#"])
            return unit * max(1, n // len(unit.encode()))
        if kind < 0.4:
            return "".join(chr(self.rng.randint(32, 126)) for _ in range(n))
        if kind < 0.7:
            return "".join(chr(self.rng.choice([0xe9, 0x20ac, 0x1f600, 0x3b1, 0x5d0, 0xfeff]))
                           for _ in range(n))
        # any code point but NUL and surrogates
        out = []
        for _ in range(n):
            c = self.rng.randint(1, 0x10ffff)
            if 0xd800 <= c <= 0xdfff:
                c = 0xfffd
            out.append(chr(c))
        return "".join(out)

    def type(self, depth=0):
        r = self.rng.random()
        if depth >= 3 or r < 0.6:
            return self.rng.choice("ybnqiuxtdsog")
        if r < 0.75:
            return "a" + self.type(depth + 1)
        if r < 0.85:
            return "a{" + self.rng.choice("ysiut") + self.type(depth + 1) + "}"
        if r < 0.95:
            return "(" + "".join(self.type(depth + 1)
                                 for _ in range(self.rng.randint(1, 3))) + ")"
        return "v"

    def value(self, t):
        """A Python value for GLib.Variant(t, value); t a complete type."""
        rng = self.rng
        c = t[0]
        if c == "y":
            return rng.randint(0, 255)
        if c == "b":
            return rng.random() < 0.5
        if c == "n":
            return rng.randint(-(1 << 15), (1 << 15) - 1)
        if c == "q":
            return rng.randint(0, (1 << 16) - 1)
        if c == "i":
            return rng.choice([0, -1, 1, rng.randint(-(1 << 31), (1 << 31) - 1)])
        if c == "u":
            return rng.randint(0, (1 << 32) - 1)
        if c == "x":
            return rng.randint(-(1 << 63), (1 << 63) - 1)
        if c == "t":
            return rng.choice([0, 1, 2, 3, rng.randint(0, (1 << 64) - 1)])
        if c == "d":
            return rng.choice([0.0, -1.5, 1e308, float("inf"), float("nan"), rng.random()])
        if c == "s":
            return self.text()
        if c == "o":
            return "/" + "/".join(f"p{rng.randint(0, 99)}" for _ in range(rng.randint(0, 3)))
        if c == "g":
            return "".join(self.type() for _ in range(rng.randint(0, 3)))
        if c == "v":
            inner = self.type(2)
            return GLib.Variant(inner, self.value(inner))
        if c == "a" and t[1] == "{":
            kt, vt = t[2], t[3:-1]
            return {self.value(kt): self.value(vt) for _ in range(rng.randint(0, 4))}
        if c == "a":
            inner = t[1:]
            n = rng.randint(0, 5) if rng.random() < 0.95 or len(inner) > 1 else \
                rng.randint(100, 3000)
            return [self.value(inner) for _ in range(n)]
        if c == "(":
            return tuple(self.value(x) for x in split_types(t[1:-1]))
        raise ValueError(t)


def split_types(sig):
    """Complete types of a signature: 'sa{sv}(ii)' -> ['s', 'a{sv}', '(ii)']."""
    return GLib.Variant.split_signature(f"({sig})")


def describe(msg):
    body = msg.get_body()
    sig = body.get_type_string() if body is not None else "()"
    return (f"{msg.get_interface()}.{msg.get_member()}{sig} at {msg.get_path()}, "
            f"{body.get_size() if body is not None else 0} bytes")


class Fuzzer:
    def __init__(self, address, name=BUS_NAME, seed=1, calls=3000, max_size=30 << 20,
                 vanish=0.05, log=None, ascii_echo=False):
        self.address = address
        self.name = name
        self.rng = random.Random(seed)
        self.gen = Gen(self.rng, max_size)
        self.calls = calls
        self.vanish = vanish
        # Only ASCII where the daemon echoes text in an error (property and
        # interface names, RunFile's path): to look past issue 8 item 1.
        self.ascii_echo = ascii_echo
        self.log = log or (lambda *a: None)
        self.lock = threading.Lock()
        self.replies = collections.Counter()  # serial -> replies seen
        self.errors = collections.Counter()   # error name -> count
        self.expect = set()     # serials that must get exactly one reply
        self.no_reply = set()   # serials that must get none
        self.stats = collections.Counter()
        self.largest = 0
        self.last = None
        self.what = {}  # serial -> what was sent
        self.reply_errors = {}  # serial -> error name
        self.conn = self._connect()
        self.conn.add_filter(self._filter)

    def _connect(self):
        return Gio.DBusConnection.new_for_address_sync(
            self.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    def _filter(self, conn, msg, incoming):
        if incoming and msg.get_message_type() in (Gio.DBusMessageType.METHOD_RETURN,
                                                   Gio.DBusMessageType.ERROR):
            with self.lock:
                self.replies[msg.get_reply_serial()] += 1
                if msg.get_message_type() == Gio.DBusMessageType.ERROR:
                    self.errors[msg.get_error_name()] += 1
                    self.reply_errors[msg.get_reply_serial()] = msg.get_error_name()
            return None  # ours alone: GDBus has no handler waiting for it
        return msg

    def _message(self):
        rng, gen = self.rng, self.gen
        path, iface = PATH, IFACE
        r = rng.random()
        if r < 0.55:
            member, sig = rng.choice(MEMBERS)
            self.stats["member"] += 1
        elif r < 0.70:
            iface = PROPS
            member, sig = rng.choice([("Get", "ss"), ("GetAll", "s"), ("Set", "ssv")])
            self.stats["properties"] += 1
        elif r < 0.75:
            iface, member, sig = "org.freedesktop.DBus.Introspectable", "Introspect", ""
            self.stats["introspect"] += 1
        elif r < 0.80:
            iface = "org.freedesktop.DBus.Peer"
            member, sig = rng.choice([("Ping", ""), ("GetMachineId", "")])
            self.stats["peer"] += 1
        elif r < 0.88:
            member, sig = "M" + gen.text(rng.randint(0, 8)).encode("ascii", "ignore").decode(), ""
            member = "".join(ch for ch in member if ch.isalnum() and ch.isascii()) or "X"
            self.stats["unknown member"] += 1
        elif r < 0.94:
            iface = rng.choice(["org.example.Nope", "org.guiloop.GuiLoop2", IFACE + ".X"])
            member, sig = rng.choice(MEMBERS)
            self.stats["other interface"] += 1
        else:
            path = rng.choice(["/", "/org", "/org/guiloop", PATH + "/x", "/a/b/c"])
            member, sig = rng.choice(MEMBERS + [("Introspect", "")])
            if member == "Introspect":
                iface = "org.freedesktop.DBus.Introspectable"
            self.stats["other path"] += 1

        # Half the time the right signature, else a random one.
        if rng.random() < 0.5:
            sig = "".join(gen.type() for _ in range(rng.randint(0, 4)))
            self.stats["random signature"] += 1
        msg = Gio.DBusMessage.new_method_call(self.name, path, iface, member)
        while sig:
            body = GLib.Variant("(" + sig + ")", tuple(self._values(iface, member, sig)))
            if body.get_size() <= self.gen.max_size:  # the bus allows 128 MB at most
                msg.set_body(body)
                break
        return msg

    def _values(self, iface, member, sig):
        """Values for sig; the meaningful ones for the real members."""
        gen, rng = self.gen, self.rng
        types = split_types(sig)
        values = [gen.value(t) for t in types]
        if iface == IFACE and member in ("Execute", "Submit") and types[:1] == ["s"]:
            if rng.random() < 0.9:
                values[0] = rng.choice(SNIPPETS)
            elif rng.random() < 0.5:
                values[0] = "#" + gen.text()  # a comment of any size: a no-op
        if iface == IFACE and member == "Submit" and types[1:2] == ["a{sv}"]:
            values[1] = rng.choice([{}, {"stream": GLib.Variant("b", False)},
                                    {"timeout": GLib.Variant("d", 0.5)}, values[1]])
        if member == "RunFile" and types[:1] == ["s"] and rng.random() < 0.5:
            values[0] = rng.choice(["/nonexistent/x.py", "relative.py", "/", "/dev/null",
                                    "/" + gen.text(rng.randint(1, 40))])
        if iface == PROPS and types[:1] == ["s"] and rng.random() < 0.5:
            values[0] = IFACE
            if types[1:2] == ["s"] and rng.random() < 0.7:
                values[1] = rng.choice(PROPERTIES)
        if self.ascii_echo and (iface == PROPS or member == "RunFile"):
            values = [v.encode("ascii", "replace").decode() if isinstance(v, str) else v
                      for v in values]
        return values

    def _send(self, conn, msg, count):
        body = msg.get_body()
        size = body.get_size() if body is not None else 0
        no_reply = self.rng.random() < 0.1
        if no_reply:
            msg.set_flags(Gio.DBusMessageFlags.NO_REPLY_EXPECTED)
        try:
            ok, serial = conn.send_message(msg, Gio.DBusSendMessageFlags.NONE)
        except GLib.Error as e:
            raise RuntimeError(f"cannot send {describe(msg)} after {self.last}: {e.message}") from None
        self.last = describe(msg)
        self.largest = max(self.largest, size)
        if count:
            with self.lock:
                (self.no_reply if no_reply else self.expect).add(serial)
                self.what[serial] = self.last
        self.stats["no-reply" if no_reply else "reply expected"] += 1

    def run(self, settle=120.0):
        t0 = time.monotonic()
        for i in range(self.calls):
            msg = self._message()
            if self.rng.random() < self.vanish:
                # A sender that vanishes: it sends and closes before any reply.
                c = self._connect()
                self._send(c, msg, count=False)
                c.flush_sync(None)
                c.close_sync(None)
                self.stats["vanished sender"] += 1
            else:
                self._send(self.conn, msg, count=True)
            if i % 200 == 199:
                # Keep the queue from growing past the daemon's limit for ever.
                self.conn.flush_sync(None)
                self._settle(5.0)
        self.conn.flush_sync(None)
        settled = self._settle(settle)
        # A last no-reply call could still be answered: give it a moment.
        time.sleep(0.5)
        with self.lock:
            missing = sorted(s for s in self.expect if self.replies[s] == 0)
            double = sorted(s for s in self.expect | self.no_reply if self.replies[s] > 1)
            unwanted = sorted(s for s in self.no_reply if self.replies[s] > 0
                              and not self.what[s].startswith(PEER))
            # libdbus answers Peer itself, before any handler of the daemon
            # sees the call, and ignores the no-reply flag: counted, not failed.
            peer_answered = sum(1 for s in self.no_reply if self.replies[s] > 0
                                and self.what[s].startswith(PEER))
            result = {
                "calls": self.calls,
                "replies": sum(self.replies[s] for s in self.expect),
                "expected": len(self.expect),
                "no_reply_calls": len(self.no_reply),
                "missing": len(missing), "double": len(double), "unwanted": len(unwanted),
                "missing_calls": [self.what.get(s) for s in missing[:10]],
                "double_calls": [self.what.get(s) for s in double[:10]],
                "unwanted_calls": [(self.what.get(s), self.reply_errors.get(s, "reply"))
                                   for s in unwanted[:10]],
                "peer_no_reply_answered_by_libdbus": peer_answered,
                "largest_message": self.largest,
                "errors": dict(self.errors.most_common()),
                "kinds": dict(self.stats),
                "settled": settled,
                "seconds": round(time.monotonic() - t0, 1),
            }
        return result

    def _settle(self, timeout):
        """Wait until every counted call was answered (True) or timeout (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(self.replies[s] for s in self.expect):
                    return True
            time.sleep(0.02)
        return False

    def close(self):
        try:
            self.conn.close_sync(None)
        except GLib.Error:
            pass  # the bus closed it already


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", required=True)
    ap.add_argument("--name", default=BUS_NAME)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--max-size", type=int, default=30 << 20)
    ap.add_argument("--ascii-echo", action="store_true",
                    help="no non-ASCII text where the daemon echoes it in an error")
    a = ap.parse_args()
    f = Fuzzer(a.address, a.name, a.seed, a.calls, a.max_size, ascii_echo=a.ascii_echo)
    r = f.run()
    f.close()
    print(json.dumps(r, indent=1))
    return 0 if r["missing"] == r["double"] == r["unwanted"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
