"""bench/run --anchor: guiloopd's `pass` and 1 MB output figures against
ipykernel's `%gui` integration (Debian's python3-ipykernel), in the same run.

figures(bench, s, label, client, calls, big_calls) is called by bench/run with
guiloopd running for configuration `label`; `bench` is bench/run's module (its
run_c, rtt_python, percentile, CONFIGS, BIG_CODES, NAME/PATH/IFACE, Failed are
reused, not copied), `s` its Session (Xvfb DISPLAY, private bus, temp dir),
`client` the compiled libdbus client or None.  It prints one line per figure.

The ipykernel side is a raw zmq client (python3-zmq) speaking the Jupyter
messaging protocol 5.3: signed multipart messages (identities, `<IDS|MSG>`,
HMAC-SHA256 hex of header, parent_header, metadata and content, then those
four JSON frames).  jupyter_client is not used.

A round trip is what a user waits for: from sending the request to having
received the reply AND all of its output.  ipykernel: execute_request sent on
the shell socket -> its execute_reply received, its `status: idle` received on
iopub and (for the 1 MB figures) all 1 MiB received in `stream` messages with
that parent.  guiloopd: Execute sent -> its reply (which carries the output),
and Submit sent -> its Finished signal, after the Output signals carrying all
1 MiB.
"""
import datetime
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid

DELIM = b"<IDS|MSG>"
PROTOCOL = "5.3"
PYTHON = "/usr/bin/python3"
MIB = 1 << 20
GAP = 0.02      # s between two requests: each one finds the kernel idle in its GUI loop
MAX_CALLS = 500 # `pass` calls per side (each ipykernel one takes 10-40 ms with its gap)
NUDGE = 2.0     # s without a reply: a second message wakes a loop that missed the first

# bench/run's configuration -> the name %gui knows in ipykernel 6.17
# (ipykernel/eventloops.py: qt4, qt, qt5, wx, tk, gtk, gtk3, osx, asyncio).
GUI = {"gtk": "gtk3", "qt": "qt5", "wx": "wx", "tk": "tk"}


class Unavailable(Exception):
    """ipykernel cannot be measured for this configuration (said in one line)."""


def ipykernel_version():
    try:
        r = subprocess.run([PYTHON, "-c", "import ipykernel, zmq; print(ipykernel.__version__)"],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0 or not r.stdout.strip():
        return None
    if importlib.util.find_spec("zmq") is None:     # the client, in bench/run's python3
        return None
    return r.stdout.strip()


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            k = socket.socket()
            k.bind(("127.0.0.1", 0))
            socks.append(k)
        return [k.getsockname()[1] for k in socks]
    finally:
        for k in socks:
            k.close()


class Kernel:
    """One `python3 -m ipykernel_launcher -f CONNECTION.json` on the bench's DISPLAY."""

    def __init__(self, s):
        self.tmp = os.path.join(s.tmp, "ipykernel")
        os.makedirs(self.tmp, exist_ok=True)
        ports = free_ports(5)
        self.conn = {
            "transport": "tcp", "ip": "127.0.0.1",
            "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
            "control_port": ports[3], "hb_port": ports[4],
            "key": secrets.token_hex(32), "signature_scheme": "hmac-sha256",
            "kernel_name": "python3",
        }
        self.path = os.path.join(self.tmp, "kernel.json")
        with open(self.path, "w") as f:
            json.dump(self.conn, f)
        home = os.path.join(self.tmp, "home")
        runtime = os.path.join(self.tmp, "runtime")
        os.makedirs(home, exist_ok=True)
        os.makedirs(runtime, 0o700, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "DISPLAY": s.display,
            "DBUS_SESSION_BUS_ADDRESS": s.address,
            "NO_AT_BRIDGE": "1",
            "GTK_A11Y": "none",
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "XDG_RUNTIME_DIR": runtime,
            "IPYTHONDIR": os.path.join(home, ".ipython"),
            "JUPYTER_CONFIG_DIR": os.path.join(home, ".jupyter"),
            "JUPYTER_DATA_DIR": os.path.join(home, ".jupyter-data"),
            "JUPYTER_RUNTIME_DIR": runtime,
        }
        self.log = os.path.join(self.tmp, "kernel.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "ipykernel_launcher", "-f", self.path], env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)

    def log_tail(self, n=1500):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self, client):
        """shutdown_request on control; then SIGTERM, SIGKILL; never leaves it running."""
        if self.proc.poll() is None and client is not None:
            try:
                client.send(client.control, "shutdown_request", {"restart": False})
                self.proc.wait(timeout=5)
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Client:
    """A raw zmq Jupyter client: shell and control DEALERs, an iopub SUB."""

    def __init__(self, conn):
        import zmq
        self.zmq = zmq
        self.ctx = zmq.Context()
        self.key = conn["key"].encode("ascii")
        self.session = uuid.uuid4().hex
        url = f"tcp://{conn['ip']}:"
        self.shell = self.ctx.socket(zmq.DEALER)
        self.shell.linger = 0
        self.shell.connect(url + str(conn["shell_port"]))
        self.control = self.ctx.socket(zmq.DEALER)
        self.control.linger = 0
        self.control.connect(url + str(conn["control_port"]))
        self.iopub = self.ctx.socket(zmq.SUB)
        self.iopub.linger = 0
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(url + str(conn["iopub_port"]))
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)

    def close(self):
        self.ctx.destroy(linger=0)

    def sign(self, frames):
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for f in frames:
            h.update(f)
        return h.hexdigest().encode("ascii")

    def send(self, sock, msg_type, content):
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "session": self.session, "username": "bench",
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  "msg_type": msg_type, "version": PROTOCOL}
        frames = [json.dumps(x).encode() for x in (header, {}, {}, content)]
        sock.send_multipart([DELIM, self.sign(frames), *frames])
        return msg_id

    def recv(self, sock):
        parts = sock.recv_multipart()
        i = parts.index(DELIM)
        sig, frames = parts[i + 1], parts[i + 2:i + 6]
        if not hmac.compare_digest(sig, self.sign(frames)):
            raise RuntimeError("a message from the kernel has a bad signature")
        header, parent, _, content = (json.loads(f) for f in frames)
        return header["msg_type"], parent.get("msg_id"), content

    def wait_ready(self, timeout=60):
        """kernel_info_request until its reply and an iopub message for it arrive
        (a SUB socket only gets what is published after it has joined)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mid = self.send(self.shell, "kernel_info_request", {})
            replied = seen = False
            end = time.monotonic() + 1.0
            while time.monotonic() < end and not (replied and seen):
                for sock, _ in self.poller.poll(100):
                    kind, parent, content = self.recv(sock)
                    if parent == mid:
                        if sock is self.shell:
                            replied = content
                        else:
                            seen = True
            if replied and seen:
                return replied
        raise TimeoutError(f"no kernel_info_reply within {timeout} s")

    def execute(self, code, want_bytes=0, timeout=30, nudge_after=None):
        """-> (seconds from sending to reply + idle + want_bytes of stdout,
        reply content, stdout bytes received, seconds to the reply, to idle and to
        the last of want_bytes, nudged).  nudge_after: when no reply came within that many seconds, send a
        kernel_info_request (a new message on the shell socket wakes a GUI loop
        that missed the first one's wake-up) and say so (nudged = True)."""
        nudged = False
        t0 = time.perf_counter()
        mid = self.send(self.shell, "execute_request", {
            "code": code, "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        reply = t_reply = t_idle = None
        got = 0
        t_out = t0 if want_bytes == 0 else None
        deadline = t0 + timeout
        next_nudge = t0 + (nudge_after or 0)
        while reply is None or t_idle is None or t_out is None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(
                    f"execute_request {code[:40]!r}: after {timeout} s reply="
                    f"{reply is not None} idle={t_idle is not None} stdout={got} bytes")
            if nudge_after is not None and reply is None:
                left = min(left, next_nudge - time.perf_counter())
                if left <= 0:
                    self.send(self.shell, "kernel_info_request", {})
                    nudged = True
                    next_nudge += nudge_after
                    continue
            for sock, _ in self.poller.poll(left * 1000):
                kind, parent, content = self.recv(sock)
                now = time.perf_counter()
                if parent != mid:
                    continue
                if sock is self.shell and kind == "execute_reply":
                    reply, t_reply = content, now
                elif kind == "status" and content.get("execution_state") == "idle":
                    t_idle = now
                elif kind == "stream" and content.get("name") == "stdout":
                    got += len(content["text"].encode())
                    if t_out is None and got >= want_bytes:
                        t_out = now
        return (max(t_reply, t_idle, t_out) - t0, reply, got, t_reply - t0, t_idle - t0,
                t_out - t0, nudged)


def submit_big(bench, s, code, calls, want=MIB):
    """guiloopd: Submit(code) -> Finished, after Output signals with want bytes of
    stdout (GDBus, whose worker thread reads the socket).  -> list of ms."""
    from gi.repository import Gio, GLib
    conn = Gio.DBusConnection.new_for_address_sync(
        s.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    cond = threading.Condition()
    got = {}        # execution id -> [stdout bytes in Output, Finished time, its stdout bytes]

    def on_message(c, msg, incoming):
        if not incoming or msg.get_interface() != bench.IFACE:
            return msg
        member = msg.get_member()
        if member in ("Output", "Finished"):
            body = msg.get_body()
            eid = body.get_child_value(0).get_uint64()
            with cond:
                rec = got.setdefault(eid, [0, None, 0])
                if member == "Output":
                    if body.get_child_value(1).get_string() == "stdout":
                        rec[0] += len(body.get_child_value(2).get_string().encode())
                else:
                    rec[1] = time.perf_counter()
                    rec[2] = len(body.get_child_value(3).get_string().encode())
                cond.notify_all()
        return msg
    fid = conn.add_filter(on_message)
    out = []
    try:
        for i in range(calls + 2):
            time.sleep(GAP)
            t0 = time.perf_counter()
            r = conn.call_sync(bench.NAME, bench.PATH, bench.IFACE, "Submit",
                               GLib.Variant("(sa{sv})", (code, {})), None,
                               Gio.DBusCallFlags.NONE, 60000, None)
            eid = r.unpack()[0]
            with cond:
                deadline = time.monotonic() + 30
                while got.get(eid, [0, None])[1] is None and time.monotonic() < deadline:
                    cond.wait(1)
                rec = got.pop(eid, [0, None, 0])
            if rec[1] is None:
                raise bench.Failed(f"Submit({code[:40]!r}): no Finished within 30 s")
            if rec[0] + rec[2] < want:
                raise bench.Failed(f"Submit({code[:40]!r}): {rec[0]} bytes in Output, "
                                   f"{rec[2]} in Finished, of {want}")
            if i >= 2:
                out.append((rec[1] - t0) * 1000)
    finally:
        conn.remove_filter(fid)
        conn.close_sync(None)
    return out


def guiloopd_figures(bench, s, client, calls, big_calls):
    """guiloopd's side, with bench/run's own functions: {figure: (p50, p99, how)}."""
    g = {}
    pct = bench.percentile
    if client:
        out = bench.run_c(client, s, "rtt", calls, calls // 10)
        g["pass"] = (pct(out["execute"], 50), pct(out["execute"], 99),
                     "Execute('pass') reply, libdbus C client, back to back")
    ex = []
    for i in range(calls + calls // 10):       # like ipykernel's: GAP apart
        time.sleep(GAP)
        t0 = time.perf_counter()
        if not bench.execute(s.bus, "pass")[0]:
            raise bench.Failed("Execute('pass') returned success=false")
        if i >= calls // 10:
            ex.append((time.perf_counter() - t0) * 1e6)
    g["pass_gap"] = (pct(ex, 50), pct(ex, 99), f"Execute('pass') reply, python3-dbus "
                     f"client, {GAP * 1000:.0f} ms apart")
    echo = None
    if client:
        # rtt's "big" interleaves Execute with its echo service's bare 1 MiB reply
        echo = subprocess.Popen([client, s.address, "echo-serve"], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
    try:
        if echo and echo.stdout.readline().strip() != "ready":
            raise bench.Failed("the echo service did not start")
        for name, code in bench.BIG_CODES:
            if echo:
                out = bench.run_c(client, s, "big", big_calls, code, MIB)
                ms = [x / 1000 for x in out["execute"]]
                g[name] = (pct(ms, 50), pct(ms, 99),
                           "Execute reply carrying 1 MiB, libdbus C client, back to back")
                g["bare"] = pct([x / 1000 for x in out["echo"]], 50)
    finally:
        if echo:
            echo.kill()
            echo.wait()
    for name, code in bench.BIG_CODES:
        ms = submit_big(bench, s, code, big_calls)
        g[name + "_submit"] = (pct(ms, 50), pct(ms, 99),
                               f"Submit -> Output signals with 1 MiB -> Finished, GDBus client, "
                               f"{GAP * 1000:.0f} ms apart")
    return g


def ipykernel_figures(bench, s, label, calls, big_calls):
    """Start a kernel, %gui, open the configuration's window, measure, stop it."""
    pct = bench.percentile
    k = Kernel(s)
    c = None
    try:
        c = Client(k.conn)
        try:
            c.wait_ready(60)
        except TimeoutError as e:
            raise Unavailable(f"the kernel did not answer: {e}; its log: "
                              f"{k.log_tail(300)!r}")
        gui = GUI[label]
        try:
            reply = c.execute(f"%gui {gui}", timeout=30)[1]
            if reply.get("status") != "ok":
                raise Unavailable(f"%gui {gui} failed: {reply.get('ename')}: "
                                  f"{reply.get('evalue')}")
            time.sleep(GAP)
            reply = c.execute(bench.CONFIGS[label][1], timeout=10, nudge_after=NUDGE)[1]
        except TimeoutError as e:
            raise Unavailable(f"after %gui {gui} the kernel stopped answering ({e})")
        if reply.get("status") != "ok":
            raise Unavailable(f"opening the {label} window under %gui {gui} failed: "
                              f"{reply.get('ename')}: {reply.get('evalue')}")
        time.sleep(0.3)
        r = {"gui": gui}

        def series(code, n, warmup, want, scale):
            """-> (p50, p99, calls that needed a nudge, calls whose output came
            after status idle, measured calls); nudged calls are left out."""
            lat, nudged, late = [], 0, 0
            for i in range(warmup + n):
                time.sleep(GAP)
                try:
                    t, reply, _, _, t_idle, t_out, nudge = c.execute(
                        code, want_bytes=want, nudge_after=NUDGE)
                except TimeoutError as e:
                    raise Unavailable(f"under %gui {gui} the kernel stopped answering ({e})")
                if reply.get("status") != "ok":
                    raise Unavailable(f"execute_request({code[:40]!r}) failed: "
                                      f"{reply.get('ename')}: {reply.get('evalue')}")
                if i < warmup:
                    continue
                if nudge:
                    nudged += 1
                    continue
                lat.append(t * scale)
                late += t_out > t_idle
            if not lat:
                raise Unavailable(f"every execute_request({code[:40]!r}) needed a nudge")
            return pct(lat, 50), pct(lat, 99), nudged, late, len(lat)

        r["pass"] = series("pass", calls, calls // 10, 0, 1e6)
        for name, code in bench.BIG_CODES:
            try:
                r[name] = series(code, big_calls, 2, MIB, 1e3)
            except Unavailable as e:
                r[name] = e
        return r
    finally:
        k.stop(c)
        if c is not None:
            c.close()


def ratio(a, b):
    return f"{a / b:.2f}"


def figures(bench, s, label, client, calls, big_calls=20):
    """Print the anchor lines for configuration `label` (guiloopd is running)."""
    if label not in GUI:
        why = ("Tk as a guest has no ipykernel counterpart" if "guest" in label else
               f"ipykernel {ipykernel_version() or '?'} has no %gui for {label} "
               f"(its eventloops.py knows qt4, qt, qt5, wx, tk, gtk, gtk3, osx, asyncio)")
        print(f"anchor_{label}: skipped, {why}")
        return
    calls = min(calls, MAX_CALLS)
    version = ipykernel_version()
    if version is None:
        print(f"anchor_{label}: skipped, ipykernel or zmq is not importable by {PYTHON} "
              f"(apt-get install python3-ipykernel; tools/install-deps)")
        return
    try:
        k = ipykernel_figures(bench, s, label, calls, big_calls)
    except Unavailable as e:
        why = f"ipykernel {version} not measured: {e}"
        if GUI[label] == "gtk3" and "stopped answering" in str(e):
            why += (" -- ipykernel/gui/gtk3embed.py's GTK timer calls the coroutine "
                    "kernel.do_one_iteration() without awaiting it, so once Gtk.main() "
                    "runs no shell message is handled")
        print(f"anchor_{label}: {why}")
        return
    sys.stdout.flush()
    g = guiloopd_figures(bench, s, client, calls, big_calls)
    how = f"ipykernel {version} %gui {k['gui']}, raw zmq client"

    def against(keys, p50, p99, unit, fmt):
        out = ""
        for key in keys:
            if key in g:
                q50, q99, what = g[key]
                out += (f" | guiloopd {what}: p50 {q50:{fmt}} p99 {q99:{fmt}} {unit}, "
                        f"ratio_p50={q50 / p50:.2f} ratio_p99={q99 / p99:.2f}")
        return out

    def note(n, nudged, late):
        extra = f"{n} calls {GAP * 1000:.0f} ms apart"
        if nudged:
            extra += (f"; {nudged} more got no reply within {NUDGE:.0f} s until a second "
                      f"message woke the kernel, left out")
        if late:
            extra += f"; in {late} the last output came after status idle"
        return extra

    p50, p99, nudged, late, n = k["pass"]
    print(f"anchor_{label}_pass_p50_us={p50:.1f} anchor_{label}_pass_p99_us={p99:.1f}"
          + against(("pass", "pass_gap"), p50, p99, "us", ".1f")
          + f"  [{how}, execute_request -> execute_reply and status idle; "
          f"{note(n, nudged, late)}]")
    for name, fig in (("print", "print_1mb"), ("os_write", "oswrite_1mb")):
        v = k[name]
        if isinstance(v, Exception):
            print(f"anchor_{label}_{fig}_p50_ms: not measured, ipykernel did not deliver "
                  f"1 MiB of stdout for {dict(bench.BIG_CODES)[name]!r}: {v}")
            continue
        p50, p99, nudged, late, n = v
        print(f"anchor_{label}_{fig}_p50_ms={p50:.2f} anchor_{label}_{fig}_p99_ms={p99:.2f}"
              + against((name, name + "_submit"), p50, p99, "ms", ".2f")
              + f"  [{how}, execute_request -> execute_reply, status idle and 1 MiB in "
              f"stream messages; {note(n, nudged, late)}"
              + (f"; bare 1 MiB D-Bus reply p50 {g['bare']:.2f} ms]" if "bare" in g else "]"))
