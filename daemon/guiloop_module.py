"""guiloopd's own module, for code the daemon runs.

    toolkit          "gtk", "qt", "wx" or "tk": the toolkit that owns the loop
    tk_guest         True when Tk runs as a guest beside it
    version          guiloopd's version
    execution()      id of the execution the calling thread belongs to, 0 for none
    in_gui_thread()  the caller is the GUI thread
    call_in_gui(fn, *args, **kwargs) -> concurrent.futures.Future

call_in_gui() runs fn(*args, **kwargs) in the GUI thread at the loop's next
turn -- between two executions, or inside a nested loop of one (an await,
a modal dialog, GLib.MainLoop().run(), plt.pause()) -- and
the Future gets its result or its exception (with fn's own traceback).  It
goes through the toolkit plugin's post(): calls from one thread run in the
order they were made, and nothing polls.  Called in the GUI thread it runs
fn at once and returns a finished Future.

Waiting in the GUI thread never hangs: result() or exception() of such a
Future, called in the GUI thread before its call ran (a worker handed the
Future over to an execution, say), runs the waiting calls right there, in
their order, up to and including that one.  A wait that could only end by
itself returning -- the call is running further up the same stack -- raises
RuntimeError instead of hanging.  (concurrent.futures.wait() and
as_completed() are not covered: in the GUI thread, use result().)

A worker's result() or exception() spins for up to 0.2 ms (the GIL
released, yielding the CPU) before it sleeps, and the GUI thread wakes it
only once it has let go of the GIL: a round trip is then one wake-up of the
GUI thread and none of the worker's (bench/run's call_in_gui_rtt figure).
"""

import collections
import concurrent.futures
import os
import time
from _thread import allocate_lock as _allocate_lock

import _guiloop_gui
import _guiloop_hooks

toolkit = _guiloop_gui.toolkit
tk_guest = _guiloop_gui.tk_guest
version = _guiloop_gui.version
execution = _guiloop_hooks.execution
in_gui_thread = _guiloop_gui.in_gui_thread

__all__ = ["toolkit", "tk_guest", "version", "execution", "in_gui_thread", "call_in_gui"]

_calls = collections.deque()  # (future, fn, args, kwargs), FIFO, any thread appends
_closed = False


_base = concurrent.futures._base
_PENDING, _RUNNING, _FINISHED = _base.PENDING, _base.RUNNING, _base.FINISHED
_CANCELLED = (_base.CANCELLED, _base.CANCELLED_AND_NOTIFIED)
_DONE = (*_CANCELLED, _FINISHED)


class _GuiFuture(concurrent.futures.Future):
    """A Future whose wait in the GUI thread runs the calls instead of blocking.

    A worker waits on _event, set once the Future is done (in the GUI thread,
    or by cancel()): a C flag it spins on briefly before it sleeps, with the
    GIL released (_guiloop_gui.Event).  Nothing waits on _condition, so it
    is a plain lock: concurrent.futures.wait() and as_completed() only lock
    it, and the methods of Future that would wait on it or notify it are
    replaced here.  (A threading.Condition is nine objects more per call,
    on both threads' way.)
    """

    _running = False  # its call runs now, in the GUI thread

    def __init__(self):
        self._condition = _allocate_lock()
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks = []
        self._event = _guiloop_gui.Event()

    def _run_here(self):
        if self.done() or not in_gui_thread():
            return
        while not self.done():
            if self._running:
                raise RuntimeError("guiloop: waiting in the GUI thread for a call_in_gui() "
                                   "call that runs further up this thread's stack")
            if not _run_one():
                raise RuntimeError("guiloop: waiting in the GUI thread for a call_in_gui() "
                                   "Future whose call is not queued")

    def _wait(self, timeout):
        """Wait until done, or timeout seconds; its state then (final states
        are set before the Event)."""
        if in_gui_thread():
            self._run_here()
        else:
            self._event.wait(timeout)
        return self._state

    def result(self, timeout=None):
        state = self._wait(timeout)
        if state == _FINISHED:
            exc = self._exception
            if exc is None:
                return self._result
            try:
                raise exc
            finally:
                exc = self = None  # no cycle through the traceback
        if state in _CANCELLED:
            raise concurrent.futures.CancelledError()
        raise concurrent.futures.TimeoutError()

    def exception(self, timeout=None):
        state = self._wait(timeout)
        if state == _FINISHED:
            return self._exception
        if state in _CANCELLED:
            raise concurrent.futures.CancelledError()
        raise concurrent.futures.TimeoutError()

    def cancel(self):
        with self._condition:
            if self._state in (_RUNNING, _FINISHED):
                return False
            if self._state in _CANCELLED:
                return True
            self._state = _base.CANCELLED
        self._event.set()
        self._invoke_callbacks()
        return True

    def _finish(self, result, exception):
        """set_result() or set_exception(), but for setting _event."""
        with self._condition:
            state = self._state
            if state not in _DONE:
                self._result = result
                self._exception = exception
                self._state = _FINISHED
                for waiter in self._waiters:
                    if exception is None:
                        waiter.add_result(self)
                    else:
                        waiter.add_exception(self)
        if state in _DONE:
            raise _base.InvalidStateError(f"{state}: {self!r}")
        if self._done_callbacks:
            self._invoke_callbacks()

    def set_result(self, result):
        self._finish(result, None)
        self._event.set()

    def set_exception(self, exception):
        self._finish(None, exception)
        self._event.set()


def _run(fut, fn, args, kwargs, defer=False):
    """Run one call into its Future.  defer: its Event is not set here but
    returned, for post_call() to set once the GIL is released."""
    event = fut._event
    if not fut.set_running_or_notify_cancel():
        return None  # cancelled: cancel() set the Event
    fut._running = True
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        fut._running = False
        fut._finish(None, exc)
        if not isinstance(exc, Exception):
            # KeyboardInterrupt, SystemExit: the caller gets it, and so does the GUI thread.
            event.set()
            raise
    else:
        fut._running = False
        fut._finish(value, None)
    finally:
        fut = fn = args = kwargs = value = exc = None  # no cycle through the traceback
    if defer:
        return event
    event.set()
    return None


def _run_one():
    """Run the oldest waiting call; False when none waits."""
    try:
        fut, fn, args, kwargs = _calls.popleft()
    except IndexError:
        return False
    _run(fut, fn, args, kwargs)
    return True


def _posted():
    """One posted turn (post_call): the oldest call; its Event, set once the
    GUI thread let go of the GIL, so that the worker wakes up only once."""
    try:
        fut, fn, args, kwargs = _calls.popleft()
    except IndexError:
        return None
    return _run(fut, fn, args, kwargs, defer=True)


def call_in_gui(fn, /, *args, **kwargs):
    """Run fn(*args, **kwargs) in the GUI thread; a Future of its result."""
    if not callable(fn):
        raise TypeError(f"call_in_gui(): {type(fn).__name__!r} object is not callable")
    fut = _GuiFuture()
    if in_gui_thread():
        _run(fut, fn, args, kwargs)
        return fut
    if _closed:
        raise RuntimeError("guiloop: the daemon is shutting down")
    _calls.append((fut, fn, args, kwargs))
    # One posted turn per call: the loop runs between two of them.
    _guiloop_gui.post_call(_posted)
    if _wake_w is not None and _guiloop_gui.running():
        # A running execution holds the posted turn (on gtk, qt and wx a nested
        # loop inside it runs no other posted call): our fd watch fires in
        # whatever loop the GUI thread runs next, a nested one included.
        try:
            os.write(_wake_w, b"\0")
        except BlockingIOError:
            pass  # bytes already wait: the watch will fire anyway
    return fut


_wake_r = _wake_w = _wake_watch = None
_WAKE_BATCH = 0.002  # seconds of calls per turn of a nested loop


def _on_wake(fd, events):
    try:
        while os.read(_wake_r, 4096):
            pass
    except BlockingIOError:
        pass
    deadline = time.monotonic() + _WAKE_BATCH
    while _calls and time.monotonic() < deadline:
        _run_one()
    if _calls:
        try:
            os.write(_wake_w, b"\0")  # the rest on the loop's next turn
        except BlockingIOError:
            pass


def _setup_wake():
    """The fd watch that serves calls inside nested loops; GUI thread."""
    global _wake_r, _wake_w, _wake_watch
    if _wake_watch is not None or _closed:
        return
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    _wake_watch = _guiloop_gui.watch_add(r, _guiloop_gui.FD_IN, _on_wake)
    _wake_r, _wake_w = r, w


if in_gui_thread():
    _setup_wake()
else:
    _guiloop_gui.post(_setup_wake)


def _shutdown():
    """Calls that will never run: their Futures get an exception."""
    global _closed, _wake_watch
    _closed = True
    if _wake_watch is not None:
        _guiloop_gui.watch_remove(_wake_watch)
        _wake_watch = None
    while True:
        try:
            fut, _, _, _ = _calls.popleft()
        except IndexError:
            break
        if fut.set_running_or_notify_cancel():
            fut.set_exception(RuntimeError("guiloop: the daemon shut down before the call ran"))


