"""guiloop's output hooks, run once inside guiloopd's embedded interpreter.

Which execution a Python write belongs to is the C module's business
(_guiloop.write files it under the writer's execution while that runs, else
it is background output).  The GUI thread belongs to the running execution;
every other thread to the one it was given here:

- a threading.Thread to the execution that ran when start() was called;
- a concurrent.futures work item to the execution that submitted it, while
  it runs (pool workers live on across executions);

and Tcl background errors of every tkinter interpreter are printed to
sys.stderr as tclsh prints them, instead of Tk's error dialog.

Tracebacks that the bindings report for an exception in a callback
(PyGObject, PyQt5 and wxPython through sys.excepthook, a thread through
threading.excepthook) are printed by the traceback module, which reads
source lines through linecache: the C default reads files only, and so
showed no line of code that came through Execute ("<guiloop-N>").
"""

import functools
import sys
import threading
import traceback

import _guiloop

# Modules patched when they are first imported: name -> patch(module).
_PATCHES = {}


def _patch_threading(module):
    Thread = module.Thread
    if getattr(Thread.start, "_guiloop_hook", False):
        return
    start = Thread.start
    bootstrap_inner = Thread._bootstrap_inner

    @functools.wraps(start)
    def start_hooked(self):
        self._guiloop_execution = _guiloop.execution()
        return start(self)

    @functools.wraps(bootstrap_inner)
    def bootstrap_inner_hooked(self):
        _guiloop.set_execution(getattr(self, "_guiloop_execution", 0))
        return bootstrap_inner(self)

    start_hooked._guiloop_hook = True
    Thread.start = start_hooked
    Thread._bootstrap_inner = bootstrap_inner_hooked


def _excepthook(exc_type, exc, tb):
    """sys.excepthook: as Python's own, with the lines of executed code, and
    without the daemon's interrupt handler as the last frame (an interrupted
    callback's KeyboardInterrupt ends at the user's line)."""
    import _guiloop_boot
    _guiloop_boot.print_exception(exc_type, exc, tb)


def _thread_excepthook(args):
    """threading.excepthook: as Python's own, with the lines of executed code."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    print(f"Exception in thread {name}:", file=sys.stderr, flush=True)
    traceback.print_exception(args.exc_type, args.exc_value, args.exc_traceback,
                              file=sys.stderr)


def _patch_futures(module):
    WorkItem = getattr(module, "_WorkItem", None)
    if WorkItem is None or getattr(WorkItem.run, "_guiloop_hook", False):
        return
    init, run = WorkItem.__init__, WorkItem.run

    @functools.wraps(init)
    def init_hooked(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._guiloop_execution = _guiloop.execution()

    @functools.wraps(run)
    def run_hooked(self):
        old = _guiloop.set_execution(getattr(self, "_guiloop_execution", 0))
        try:
            return run(self)
        finally:
            _guiloop.set_execution(old)

    run_hooked._guiloop_hook = True
    WorkItem.__init__ = init_hooked
    WorkItem.run = run_hooked


def _bgerror_for(tk):
    """A Tcl `bgerror` that prints what tclsh prints: the error's errorInfo."""
    def bgerror(message, *rest):
        try:
            info = tk.globalgetvar("errorInfo")
        except Exception:  # noqa: BLE001 - the message is all there is then
            info = message
        sys.stderr.write(f"{info}\n")
    return bgerror


def _patch_tkinter(module):
    Tk = module.Tk
    if getattr(Tk.__init__, "_guiloop_hook", False):
        return
    init = Tk.__init__

    @functools.wraps(init)
    def init_hooked(self, *args, **kwargs):
        init(self, *args, **kwargs)
        try:
            self.tk.createcommand("bgerror", _bgerror_for(self.tk))
        except Exception:  # noqa: BLE001 - Tk's own dialog stays, then
            pass

    init_hooked._guiloop_hook = True
    Tk.__init__ = init_hooked


_PATCHES.update({
    "threading": _patch_threading,
    "concurrent.futures.thread": _patch_futures,
    "tkinter": _patch_tkinter,
})


def flush():
    """End of an execution: what Python still buffers for fds 1 and 2 is its own."""
    for f in (sys.__stdout__, sys.__stderr__):
        if f is not None:
            try:
                f.flush()
            except Exception:  # noqa: BLE001 - a closed or replaced stream
                pass


def install():
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _thread_excepthook
    # One import hook for the whole daemon (boot.after_import): two finders
    # that each ask every other finder recursed into one another.
    import _guiloop_boot
    for name, patch in _PATCHES.items():
        _guiloop_boot.after_import(name, patch)
