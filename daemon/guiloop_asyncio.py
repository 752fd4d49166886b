"""asyncio inside the toolkit's loop: one event loop in the GUI thread.

Loaded when executed code imports asyncio (or awaits at top level).

The loop is a SelectorEventLoop whose selector never waits: its file
descriptors are the toolkit plugin's fd watches and its one wake-up is a
plugin timer (_guiloop_gui.watch_add / timer_add, the host interface the Tk
guest uses), so the same code serves gtk, qt, wx and tk.  A watch or the
timer firing runs asyncio's _run_once() right there, in the toolkit's own
dispatch; then the timer is set again for what is due next: nothing at all
when nothing is due (an idle loop wakes nobody), "now" while callbacks are
ready.  Ready callbacks run in batches of at most _BATCH seconds before the
toolkit gets its turn again (qasync and PyGObject's gi.events do the same
kind of thing for one toolkit each); a timer of 0 runs at the toolkit's idle
priority (plugin.h), so the daemon's executions and the toolkit's idle work
(redraws) get their turns beside a task that never waits.

The loop is the GUI thread's running loop all the time, as if
run_forever() never returned: asyncio.create_task(), get_running_loop() and
get_event_loop() work in executed code, awaiting or not, and tasks keep
running between executions.

An execution that awaits (top-level await, async for, async with) becomes a
task; the execution waits for it in a nested run of the toolkit's loop, one
blocking iteration at a time -- g_main_context_iteration() for gtk, wx and
qt (their loops are GLib's default context; Qt's dispatcher is GLib's),
Tcl_DoOneEvent() through _tkinter for tk -- as GLib.MainLoop().run() or a
modal dialog would.  The daemon's queue logic stays as it is: the execution
is still the running one, the next waits (FIFO), the GUI and other tasks go
on.  (Finishing the execution from a callback instead would have meant
splitting the daemon's run of an execution in two.)  Interrupt breaks the
iteration's wait (EINTR, and Python's wakeup fd is our self-pipe); the
KeyboardInterrupt cancels the execution's task, which sees CancelledError at
its await, as under asyncio.run() in a terminal, and the execution then ends
with KeyboardInterrupt.

asyncio.run(coro) and loop.run_until_complete(coro) in executed code run on
this loop the same way (a program written for python3 runs unmodified) and
return coro's result; the tasks it started keep running, as windows do.
Inside a task they raise RuntimeError as always.  loop.run_forever() returns
at once (the loop already runs, like app.exec_()), loop.stop() and
loop.close() are ignored.  A loop of one's own (asyncio.new_event_loop())
cannot run in the GUI thread: RuntimeError, "Cannot run the event loop
while another loop is running".

A task's exception that nobody retrieved goes to the daemon's log (info,
prefixed "stderr: "), with its traceback.  At shutdown, before Python is
finalized, pending tasks are cancelled and get a few turns to clean up.
"""

import asyncio
import collections.abc
import heapq
import math
import os
import selectors
import signal
import sys
import threading
import time
import traceback

from asyncio import events, futures, tasks

import _guiloop_gui as _gui

# Ready callbacks run for at most this long before the toolkit runs again.
# 10,000 `await asyncio.sleep(0)` cost about the same as in plain python3 so,
# and a 20 ms toolkit timer still fired on time.
_BATCH = 0.002
_MAX_DELAY = 24 * 3600  # as asyncio's own MAXIMUM_SELECT_TIMEOUT

_loop = None


def _mask(events):
    return ((_gui.FD_IN if events & selectors.EVENT_READ else 0) |
            (_gui.FD_OUT if events & selectors.EVENT_WRITE else 0))


class _Map(collections.abc.Mapping):
    def __init__(self, selector):
        self._selector = selector

    def __len__(self):
        return len(self._selector._keys)

    def __iter__(self):
        return iter(self._selector._keys)

    def __getitem__(self, fileobj):
        return self._selector._keys[self._selector._fd(fileobj)]


class _Selector(selectors.BaseSelector):
    """A selector that never waits: the toolkit watches, we collect."""

    def __init__(self):
        self._keys = {}     # fd -> SelectorKey
        self._watches = {}  # fd -> the plugin's watch (a capsule)
        self._ready = {}    # fd -> selectors events seen since the last select()
        self._muted = set() # fds whose watch is off until the running dispatch ends
        self._on_ready = None
        self._busy = lambda: False

    @staticmethod
    def _fd(fileobj):
        return selectors._fileobj_to_fd(fileobj)

    def register(self, fileobj, events, data=None):
        if not events or events & ~(selectors.EVENT_READ | selectors.EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        fd = self._fd(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._watches[fd] = _gui.watch_add(fd, _mask(events), self._fired)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj):
        fd = self._fd(fileobj)
        key = self._keys.pop(fd)
        _gui.watch_remove(self._watches.pop(fd))
        self._ready.pop(fd, None)
        return key

    def modify(self, fileobj, events, data=None):
        fd = self._fd(fileobj)
        key = self._keys[fd]
        if events != key.events:
            _gui.watch_update(self._watches[fd], _mask(events))
        key = key._replace(events=events, data=data)
        self._keys[fd] = key
        return key

    def select(self, timeout=None):
        ready = []
        for fd, ev in self._ready.items():
            key = self._keys.get(fd)
            if key is not None and ev & key.events:
                ready.append((key, ev & key.events))
        self._ready.clear()
        return ready

    def get_key(self, fileobj):
        return self._keys[self._fd(fileobj)]

    def get_map(self):
        return _Map(self)

    def close(self):
        for w in self._watches.values():
            _gui.watch_remove(w)
        self._watches.clear()
        self._keys.clear()
        self._ready.clear()

    def _fired(self, fd, what):
        ev = 0
        if what & (_gui.FD_IN | _gui.FD_HUP | _gui.FD_ERR):
            ev |= selectors.EVENT_READ
        if what & (_gui.FD_OUT | _gui.FD_HUP | _gui.FD_ERR):
            ev |= selectors.EVENT_WRITE
        self._ready[fd] = self._ready.get(fd, 0) | ev
        if self._busy():
            # A callback of ours runs a nested loop (plt.pause() in a task): the
            # fd stays ready and its watch would fire on every turn of that loop.
            w = self._watches.get(fd)
            if w is not None and fd not in self._muted:
                _gui.watch_update(w, 0)
                self._muted.add(fd)
            return
        if self._on_ready is not None:
            self._on_ready()

    def _unmute(self):
        for fd in self._muted:
            key = self._keys.get(fd)
            if key is not None:
                _gui.watch_update(self._watches[fd], _mask(key.events))
        self._muted.clear()


def _make_iterate():
    """One blocking iteration of the toolkit's loop, for a nested run."""
    if _gui.toolkit == "tk":
        import _tkinter
        # A Tcl interpreter without Tk, only to call Tcl_DoOneEvent() the way
        # _tkinter does (the tk plugin explains why it must be _tkinter's).
        app = _tkinter.create(None, "guiloop-asyncio", "Tk", False, True, False)

        def iterate():
            app.dooneevent(0)
        return iterate
    if _gui.toolkit == "qt":
        from PyQt5 import QtCore
        dispatcher = QtCore.QAbstractEventDispatcher.instance()
        if dispatcher is not None and "Glib" not in dispatcher.metaObject().className():
            # QT_NO_GLIB=1: Qt's own dispatcher, not GLib's default context.
            def iterate():
                QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.WaitForMoreEvents)
            return iterate
    return _gui.glib_iterate


class GuiEventLoop(asyncio.SelectorEventLoop):
    """The asyncio loop of guiloopd's GUI thread (see the module's doc)."""

    def __init__(self):
        self._armed = None       # the plugin timer, or None
        self._armed_at = None    # when it fires (loop time), 0 for "now"
        self._dispatching = False
        self._waits = 0          # nested runs going on (an execution awaits)
        self._iterating = 0      # of which inside the toolkit's iteration now
        self._stash = None       # KeyboardInterrupt/SystemExit out of a callback
        self._may_close = False
        selector = _Selector()
        super().__init__(selector)
        selector._on_ready = self._dispatch
        selector._busy = lambda: self._dispatching
        self._iterate = None  # made by the first nested run (it may import PyQt5)

    # -- scheduling: every new callback makes sure the timer is set ----------
    def call_soon(self, callback, *args, context=None):
        handle = super().call_soon(callback, *args, context=context)
        self._wake()
        return handle

    def call_at(self, when, callback, *args, context=None):
        handle = super().call_at(when, callback, *args, context=context)
        self._wake()
        return handle

    def _wake(self):
        if self._dispatching:
            return  # set again when this dispatch ends
        if not _gui.in_gui_thread():
            self._write_to_self()  # call_soon from the wrong thread: be kind
            return
        self._rearm()

    def _rearm(self):
        if self._closed:
            return
        if self._ready or self._stopping or self._selector._ready:
            when = 0
        elif self._scheduled:
            when = self._scheduled[0]._when
        else:
            when = None
        if when == self._armed_at and (when is None or self._armed is not None):
            return
        if self._armed is not None:
            _gui.timer_remove(self._armed)
            self._armed = self._armed_at = None
        if when is None:
            return
        delay = 0.0 if when == 0 else min(max(0.0, when - self.time()), _MAX_DELAY)
        self._armed = _gui.timer_add(math.ceil(delay * 1e6), self._on_timer)
        self._armed_at = when

    def _on_timer(self):
        self._armed = self._armed_at = None
        self._dispatch()

    # -- running -------------------------------------------------------------
    def _dispatch(self):
        """Run what is due; called from the toolkit's dispatch (watch, timer)."""
        if self._dispatching or self._closed:
            return  # a callback runs a nested loop: we go on when it returns
        self._dispatching = True
        try:
            deadline = time.monotonic() + _BATCH
            while True:
                self._run_once()
                self._stopping = False
                if not self._ready or time.monotonic() >= deadline:
                    break
            if self._stash is not None and not self._waits:
                # An Interrupt taken in our machinery (_interrupt_hook), for
                # a GUI callback: raised here, after the batch's last step.
                exc, self._stash = self._stash, None
                raise exc
        except (KeyboardInterrupt, SystemExit) as exc:
            if not self._waits:
                raise  # a GUI callback's: background output
            self._stash = exc  # for the execution that waits
        finally:
            self._dispatching = False
            if self._selector._muted:
                self._selector._unmute()
            self._rearm()

    def _wait(self, fut):
        """Run the toolkit's loop until fut is done; its result.  GUI thread."""
        if self._dispatching or tasks.current_task(self) is not None:
            raise RuntimeError("This event loop is already running")
        if not _gui.in_gui_thread():
            raise RuntimeError("guiloop's event loop runs in the GUI thread only")
        if self._iterate is None:
            self._iterate = _make_iterate()
        interrupted = False
        if not self._waits:
            self._stash = None  # never an earlier execution's
        self._waits += 1
        try:
            while not fut.done():
                try:
                    self._rearm()
                    self._iterating += 1
                    try:
                        self._iterate()
                    finally:
                        self._iterating -= 1
                    exc, self._stash = self._stash, None
                    if exc is not None and not (fut.done() and not fut.cancelled()
                                                and fut.exception() is exc):
                        raise exc
                except KeyboardInterrupt:
                    # Interrupt: the task sees CancelledError at its await.
                    interrupted = True
                    if isinstance(fut, _Task):
                        fut._guiloop_interrupted = True
                    fut.cancel()
        finally:
            self._waits -= 1
            if not self._waits:
                self._stash = None  # too late for this execution, not a callback's
        if fut.cancelled() and interrupted:
            raise KeyboardInterrupt
        return fut.result()

    def run_until_complete(self, future):
        self._check_closed()
        future = tasks.ensure_future(future, loop=self)
        return self._wait(future)

    def run_forever(self):
        self._check_closed()  # it already runs: return, as app.exec_() does

    def stop(self):
        pass  # the daemon's loop stops only with the daemon

    def close(self):
        if self._may_close:
            super().close()

    def _shutdown(self):
        """At the daemon's shutdown: cancel the tasks, let them clean up, close."""
        pending = [t for t in tasks.all_tasks(self) if not t.done()]
        for t in pending:
            t.cancel()
        agen = self.create_task(self.shutdown_asyncgens())
        deadline = time.monotonic() + 1.0
        while (self._ready or not agen.done()) and time.monotonic() < deadline:
            self._dispatching = True
            try:
                self._run_once()
            except (KeyboardInterrupt, SystemExit):
                pass
            finally:
                self._dispatching = False
        if self._armed is not None:
            _gui.timer_remove(self._armed)
            self._armed = self._armed_at = None
        self._thread_id = None
        events._set_running_loop(None)
        self._may_close = True
        self.close()


class _Task(asyncio.Task):
    """Executions' tasks: a C Task takes no attributes of ours."""
    _guiloop_interrupted = False


def _report(loop, context):
    """Unhandled exceptions of tasks and callbacks: background output (the log)."""
    lines = [context.get("message") or "Unhandled exception in event loop"]
    for key in sorted(context):
        if key not in ("message", "exception"):
            lines.append(f"{key}: {context[key]!r}")
    exc = context.get("exception")
    if exc is not None:
        lines.extend("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                     .rstrip("\n").split("\n"))
    _gui.log(_gui.LOG_INFO, "\n".join(f"stderr: {line}" for line in lines))


async def _main(coro):
    try:
        return await coro
    except asyncio.CancelledError as exc:
        if tasks.current_task()._guiloop_interrupted:
            # The execution ends as Interrupt says; the traceback shows its await.
            raise KeyboardInterrupt().with_traceback(exc.__traceback__) from None
        raise


def run_execution(coro, name="guiloop execution"):
    """Run the coroutine of an execution's code to its end; its value."""
    loop = install()
    task = _Task(_main(coro), loop=loop, name=name)
    return loop._wait(task)


_real_run = asyncio.run


def run(main, *, debug=None):
    """asyncio.run(): on the daemon's loop in the GUI thread (see the module's doc)."""
    loop = _loop
    if loop is None or loop.is_closed() or not _gui.in_gui_thread():
        return _real_run(main, debug=debug)
    if loop._dispatching or tasks.current_task(loop) is not None:
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    if not asyncio.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")
    if debug is not None:
        loop.set_debug(debug)
    return loop._wait(_Task(_main(main), loop=loop))


run.__wrapped__ = _real_run


def _interrupt_hook(frame):
    """The daemon's SIGINT guard asks (boot.py): where does this Interrupt go?
    True: taken here, for the awaiting execution; False: raise it in frame;
    None: not now (the daemon sends it again while an execution runs).

    While an execution awaits, the signal's handler runs in whatever Python
    code the toolkit's iteration runs first -- a tkinter after() callback or
    a GLib timeout would swallow the KeyboardInterrupt (a full test run under
    load lost one of 3 interrupts on tk and on wx, with a 20 ms ticker).
    Then the execution gets it: stashed, and the iteration woken.  It is
    raised in place in a callback or task step of the program's own, and
    when an earlier one is still undelivered (a callback stuck in a nested
    loop).

    Never in the loop's machinery (this module, asyncio, selectors): raised
    between _run_once() popping a task's step and running it, the step was
    lost and the task, never stepped again, ignored every cancel -- the
    execution hung for good (the fuzz test under ASan, and 1 of 2 interrupts
    of `for ...: await asyncio.sleep(0)`).  There it is stashed: _wait takes
    it after the iteration, _dispatch after its batch's last step."""
    loop = _loop
    if loop is None:
        return False
    machinery = frame is not None and _is_machinery(frame.f_code.co_filename)
    if not loop._waits and not (machinery and loop._dispatching):
        return False
    if loop._stash is None and (machinery or (loop._iterating and not loop._dispatching)):
        loop._stash = KeyboardInterrupt()
        loop._write_to_self()
        return True
    return None if machinery else False


def _is_machinery(filename):
    return filename in _MACHINERY_FILES or filename.startswith(_ASYNCIO_DIR)


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_MACHINERY_FILES = {selectors.__file__, _is_machinery.__code__.co_filename}


def _leaked(exc):
    """A KeyboardInterrupt/SystemExit out of a toolkit callback of ours (see
    guimod.c): the awaiting execution's, if one waits."""
    loop = _loop
    if loop is not None and loop._waits and loop._stash is None:
        loop._stash = exc
        return True
    return False


def install():
    """The GUI thread's loop, made once (GUI thread)."""
    global _loop
    if _loop is not None:
        return _loop
    if not _gui.in_gui_thread():
        # asyncio imported by a worker first: the GUI thread makes the loop.
        _gui.post(install)
        return None
    loop = GuiEventLoop()
    loop.set_exception_handler(_report)
    # As run_forever() would, for good: the running loop, asyncgen hooks.
    loop._thread_id = threading.get_ident()
    events._set_running_loop(loop)
    sys.set_asyncgen_hooks(firstiter=loop._asyncgen_firstiter_hook,
                           finalizer=loop._asyncgen_finalizer_hook)
    asyncio.set_event_loop(loop)
    # An interrupt's signal wakes a nested run even between two waits.
    try:
        signal.set_wakeup_fd(loop._csock.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError):
        pass
    asyncio.run = run
    asyncio.runners.run = run
    _gui.set_leak_hook(_leaked)
    import _guiloop
    _guiloop.interrupt_hook = _interrupt_hook
    _loop = loop
    return loop


def shutdown():
    global _loop
    loop, _loop = _loop, None
    if loop is None or loop.is_closed():
        return
    _gui.set_leak_hook(None)
    import _guiloop
    _guiloop.interrupt_hook = None
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    loop._shutdown()
    asyncio.run = _real_run
    asyncio.runners.run = _real_run


# Imported because asyncio was (guiloop_hooks.py), or for a first top-level
# await, whose import of asyncio above re-enters the hook: it makes the loop here.
install()
