"""guiloopd's guards against executed code that takes the process apart.

Run once after boot.py's setup(), in its own module.  The C code calls
install(), after_execution() after every execution, and child_exit() when
an execution returns in a process that os.fork() made.
"""

import io
import os
import signal
import sys

import _guiloop

_daemon_pid = None
_streams = {}  # "stdout"/"stderr" -> the object setup() installed
_real_exit = os._exit


def _exit(status):
    """os._exit(), which skips every log and atexit handler: say who called it."""
    if os.getpid() == _daemon_pid:
        running = _guiloop.running()
        who = f"execution {running}" if running else "code outside any execution"
        try:
            code = int(status)
        except Exception:  # os._exit() itself will complain
            code = status
        _guiloop.log(4, f"{who} called os._exit({code}); guiloopd exits with status {code}")
    _real_exit(status)


_exit.__doc__ = os._exit.__doc__
_exit.__name__ = "_exit"
_exit.__qualname__ = "_exit"


def _child_stream(fd):
    """In a forked child: text to the fd itself, never into the daemon's buffers."""
    try:
        raw = io.FileIO(fd, "w", closefd=False)
    except OSError:
        raw = io.FileIO(os.devnull, "w")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace",
                            line_buffering=True, write_through=True)


def _child_profile(frame, event, arg):
    """Forked while no execution ran (a GUI callback): end when it returns to C."""
    if event == "return" and frame.f_back is None:
        _flush()
        _real_exit(0)


def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except Exception:
            pass


def _after_fork_in_child():
    """os.fork() in executed code: the child is a plain Python process.

    It keeps no part of the daemon: its output goes to fds 1 and 2 (the
    output buffers' lock may be held by a thread that does not exist here),
    SIGINT and SIGTERM act as in a plain interpreter, and it exits when the
    code that forked returns to guiloopd (child_exit), instead of going back
    into the daemon's loop, whose wake-up fds and bus it shares."""
    where = _guiloop.forked()  # 0: not the GUI thread, 1: GUI callback, 2: execution
    sys.stdout = _child_stream(1)
    sys.stderr = _child_stream(2)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):
        pass
    if where == 1:
        sys.setprofile(_child_profile)


def child_exit(outcome):
    """An execution returned in a forked child: report as python3 would, and end."""
    try:
        success, traceback_text = True, ""
        if isinstance(outcome, tuple) and outcome:
            success = bool(outcome[0])
            traceback_text = outcome[-1] if isinstance(outcome[-1], str) else ""
        if traceback_text:
            sys.stderr.write(traceback_text)
        _flush()
    except BaseException:
        success = False
    _real_exit(0 if success else 1)


def after_execution():
    """Put back sys.stdout and sys.stderr if the code left them replaced.

    Returns the warning for that execution's stderr, or ""."""
    notes = []
    for name, ours in _streams.items():
        now = getattr(sys, name, None)
        if now is not ours:
            setattr(sys, name, ours)
            notes.append(f"guiloop: sys.{name} was left replaced (by a "
                         f"{type(now).__name__} object); guiloopd put its own back\n")
    return "".join(notes)


def install(daemon_pid):
    global _daemon_pid
    _daemon_pid = daemon_pid
    _streams["stdout"] = sys.stdout
    _streams["stderr"] = sys.stderr
    os._exit = _exit
    os.register_at_fork(after_in_child=_after_fork_in_child)

