"""guiloop's Python side, run once inside guiloopd's embedded interpreter.

The C code calls execute(), run_file() and startup(); output objects forward
every write to the C module _guiloop, which files it under the execution that
runs at that moment, whichever Python thread writes.
"""

import ast
import builtins
import collections
import faulthandler
import io
import linecache
import os
import signal
import sys
import tokenize
import traceback
import types

import _guiloop

_STDOUT, _STDERR = 0, 1


class _Binary(io.RawIOBase):
    """sys.stdout.buffer: bytes in, text out; undecodable bytes become \\xNN."""

    def __init__(self, stream):
        self._stream = stream

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        _guiloop.write(self._stream, data.decode("utf-8", "backslashreplace"))
        return len(data)


class _Text(io.TextIOBase):
    """sys.stdout and sys.stderr while guiloopd runs."""

    encoding = "utf-8"
    errors = "backslashreplace"
    line_buffering = False

    def __init__(self, stream, name):
        self._stream = stream
        self._name = name
        self._buffer = _Binary(stream)

    @property
    def name(self):
        return self._name

    @property
    def buffer(self):
        return self._buffer

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        _guiloop.write(self._stream, text)
        return len(text)


_interactive = sys.modules["__main__"].__dict__
_sources = collections.deque()  # (filename, cost) of linecache entries we made, oldest first
_source_bytes = 0
_MAX_SOURCES = 200
# By bytes too: 12 distinct 10 MB Executes took RSS from 25 to 298 MB.  An
# entry costs its text plus a str object per line (~56 bytes each).
_MAX_SOURCE_BYTES = 8 << 20


def _remember_source(filename, code):
    """Let tracebacks show the lines of executed code, as IPython does."""
    global _source_bytes
    cost = len(code) + 56 * code.count("\n")
    if cost > _MAX_SOURCE_BYTES:
        return  # too large to keep: its tracebacks show no source lines
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    _sources.append((filename, cost))
    _source_bytes += cost
    while len(_sources) > _MAX_SOURCES or _source_bytes > _MAX_SOURCE_BYTES:
        old, old_cost = _sources.popleft()
        linecache.cache.pop(old, None)
        _source_bytes -= old_cost


def _own_file(name):
    """boot.py's, and those of guiloop's embedded modules ("<guiloop NAME.py>")."""
    return name == _format.__code__.co_filename or (name.startswith("<guiloop ")
                                                     and name.endswith(".py>"))


def _own_frame(frame):
    return _own_file(frame.f_code.co_filename)


def _format(exc):
    """The traceback as Python prints it, without guiloop's own frames: those
    that ran the code (first) and the interrupt handler that raised
    KeyboardInterrupt in it (last), as a terminal shows the user's line last."""
    tb = exc.__traceback__
    while tb is not None and _own_frame(tb.tb_frame):
        tb = tb.tb_next
    te = traceback.TracebackException(type(exc), exc, tb, compact=True)
    while len(te.stack) > 1 and _own_file(te.stack[-1].filename):
        te.stack.pop()
    return "".join(te.format())


def print_exception(exc_type, exc, tb):
    """To sys.stderr as Python prints it, without guiloop's own frames (an
    interrupted callback's KeyboardInterrupt ends at the user's line): for
    output-hooks.py's sys.excepthook and Tk's report_callback_exception."""
    if exc is not None and tb is exc.__traceback__:
        sys.stderr.write(_format(exc))
    else:
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)


# Top-level await, async for, async with (issue 13): such code runs as a
# coroutine on the GUI thread's asyncio loop (guiloop_asyncio.py).
_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE


def _run(code, namespace, number=0):
    """exec/eval of a code object; a coroutine's (top-level await) is awaited."""
    value = eval(code, namespace)
    if code.co_flags & _CO_COROUTINE:
        import _guiloop_asyncio
        value = _guiloop_asyncio.run_execution(value, f"guiloop execution {number}")
    return value


_compiled = collections.OrderedDict()  # source -> (body, last expression, filename)
_compiled_bytes = 0
_MAX_COMPILED = 64
# The cache is for small sources sent again and again; a large one is
# compiled each time, and all that is kept stays within a few MB.
_MAX_COMPILED_SOURCE = 64 << 10
_MAX_COMPILED_BYTES = 2 << 20


def _quiet(code):
    """IPython's rule: a trailing ';' (comments aside) shows no result."""
    if ";" not in code:
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    for token in reversed(tokens):
        if token.type not in (tokenize.ENDMARKER, tokenize.NEWLINE, tokenize.NL,
                              tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            return token.type == tokenize.OP and token.string == ";"
    return False


def _compile(code, number):
    """Code objects for the body and a trailing expression (or None), cached:
    clients often send the same source again, and parsing is most of what a
    small execution costs."""
    global _compiled_bytes
    entry = _compiled.get(code)
    if entry is not None:
        _compiled.move_to_end(code)
        return entry
    filename = f"<guiloop-{number}>"
    _remember_source(filename, code)
    tree = compile(code, filename, "exec", ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not _quiet(code):
        last = compile(ast.Expression(tree.body.pop().value), filename, "eval", _AWAIT)
    entry = (compile(tree, filename, "exec", _AWAIT), last, filename)
    del tree
    if len(code) > _MAX_COMPILED_SOURCE:
        return entry
    _compiled[code] = entry
    _compiled_bytes += len(code)
    while len(_compiled) > _MAX_COMPILED or _compiled_bytes > _MAX_COMPILED_BYTES:
        _compiled_bytes -= len(_compiled.popitem(last=False)[0])
    return entry


def _exit_status(exc):
    """SystemExit as a plain python3 ends with it: (success, stderr)."""
    if exc.code is None or exc.code == 0:
        return True, ""
    return False, f"SystemExit: {exc.code}\n"


def execute(code, number):
    """Run code in the interactive namespace: (success, repr or "", traceback)."""
    try:
        body, last, _ = _compile(code, number)
        _run(body, _interactive, number)
        if last is None:
            return True, "", ""
        value = _run(last, _interactive, number)
        if value is None:
            return True, "", ""
        _interactive["_"] = value
        return True, repr(value), ""
    except SystemExit as exc:
        success, err = _exit_status(exc)
        return success, "", err
    except BaseException as exc:
        return False, "", _format(exc)


def run_file(path, argv):
    """IPython's %run: (success, traceback), or (None, why) if unreadable."""
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    except BaseException as exc:  # an Interrupt that came this early
        return False, _format(exc)

    module = types.ModuleType("__main__")
    namespace = module.__dict__
    namespace.update(__file__=path, __builtins__=builtins)
    folder = os.path.dirname(path)
    saved_argv, saved_main = sys.argv, sys.modules.get("__main__")
    sys.argv = [path, *argv]
    sys.path.insert(0, folder)
    sys.modules["__main__"] = module
    try:
        _run(compile(source, path, "exec", _AWAIT), namespace)
        return True, ""
    except SystemExit as exc:
        return _exit_status(exc)
    except BaseException as exc:
        return False, _format(exc)
    finally:
        sys.argv = saved_argv
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
        elif folder in sys.path:
            sys.path.remove(folder)
        sys.modules["__main__"] = saved_main
        _interactive.update((k, v) for k, v in namespace.items()
                            if not (k.startswith("__") and k.endswith("__")))


def startup(path):
    """python.startup: run once, in the interactive namespace; "" or the traceback."""
    try:
        with open(path, "rb") as f:
            source = f.read()
        exec(compile(source, path, "exec"), _interactive)
        return ""
    except BaseException as exc:
        return _format(exc)


# ---- patching toolkit bindings ----

_after_import = {}  # module name -> [fn(module), ...] still to call


class _PatchingLoader:
    """The real loader of a module that a toolkit setup patches once loaded."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        for fn in _after_import.pop(module.__name__, ()):
            fn(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _PatchingLegacyLoader:
    """The same for a loader with load_module() only (PyGObject's gi.repository)."""

    def __init__(self, loader):
        self._loader = loader

    def load_module(self, fullname):
        module = self._loader.load_module(fullname)
        for fn in _after_import.pop(fullname, ()):
            fn(module)
        return module

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _PatchingFinder:
    """sys.meta_path entry: wraps the loader of a module named in after_import()."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname not in _after_import:
            return None
        for finder in sys.meta_path:
            if finder is cls:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        if hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader)
        elif hasattr(spec.loader, "load_module"):
            spec.loader = _PatchingLegacyLoader(spec.loader)
        return spec


def after_import(name, fn):
    """Call fn(module) once module name is imported (now, if it is already)."""
    module = sys.modules.get(name)
    if module is not None:
        fn(module)
        return
    _after_import.setdefault(name, []).append(fn)
    if _PatchingFinder not in sys.meta_path:
        sys.meta_path.insert(0, _PatchingFinder)


# ---- interrupts ----
#
# Interrupt() sends the GUI thread a signal of its own (signals.h); this is
# its Python handler, and SIGINT's too (which only _thread.interrupt_main()
# can still trip: the daemon's C handler takes the real one).  It raises
# KeyboardInterrupt only when the daemon asked for what runs now.
#
# Inside a nested loop (a modal dialog, QEventLoop.exec_(), GLib.MainLoop.run(),
# plt.pause()) the handler runs in one of the loop's callbacks, or in poke()
# while the loop waits: raising there would only end that callback, and the
# loop would go on.  So the toolkit setups run nested loops through
# run_nested(), which says how to end them: the handler ends every nested
# loop, innermost first, and the outermost run_nested() raises once its loop
# has returned, in the code that started the loop.

_nested = []          # quit callables (or None) of the nested loops we are in
_outer_frame = None   # the frame of the outermost run_nested()
_leaving = False      # the nested loops were told to quit for this interrupt
_interrupt_signal = None


def _leave_nested():
    global _leaving
    if _leaving:
        return
    _leaving = True
    for quit in reversed(_nested):
        if quit is not None:
            try:
                quit()
            except Exception:
                pass


def run_nested(quit, fn, *args, **kwargs):
    """Run fn(*args, **kwargs), which runs a nested loop that quit() ends
    (None: it ends by itself, as processEvents() does).  If an Interrupt
    came meanwhile, KeyboardInterrupt is raised here once the outermost
    nested loop has returned."""
    global _outer_frame, _leaving
    outermost = not _nested
    _nested.append(quit)
    if outermost:
        _outer_frame = sys._getframe()
    try:
        result = fn(*args, **kwargs)
    finally:
        _nested.pop()
        if outermost:
            _outer_frame = None
            _leaving = False
    if outermost and _guiloop.interrupt_take():
        raise KeyboardInterrupt
    return result


def sigint(signum=None, frame=None):
    """The daemon's interrupt handler."""
    if not _guiloop.interrupt_pending():
        return
    if _nested and frame is not _outer_frame:
        _leave_nested()
        return
    # An execution that awaits (guiloop_asyncio.py) iterates the toolkit's
    # loop: the handler runs in whatever callback comes first, which would
    # swallow the KeyboardInterrupt; the asyncio loop takes it for the
    # awaiting execution instead, and never lets it be raised inside
    # asyncio's own bookkeeping.
    hook = getattr(_guiloop, "interrupt_hook", None)
    verdict = hook(frame) if hook is not None else False
    if verdict is None:
        return  # not here: left untaken, the daemon sends it again
    if verdict:
        _guiloop.interrupt_take()
        return
    if frame is not None and frame.f_code is poke.__code__:
        # The loop runs poke(), but no nested loop of ours is known (one
        # run_nested() does not wrap): raising here would only print a
        # traceback into the log.  Such a loop is not ended.
        return
    _guiloop.interrupt_take()
    raise KeyboardInterrupt


def poke():
    """Called by the daemon after an Interrupt, in the GUI thread's loop
    (nested ones too): running this function lets Python run the handler."""
    return None


def guard_sigint():
    """Make the daemon's handler Python's again; True if it was not."""
    replaced = False
    for signum in (signal.SIGINT, _interrupt_signal):
        if signal.getsignal(signum) is not sigint:
            signal.signal(signum, sigint)
            replaced = True
    return replaced


def setup(paths, switch_interval, interrupt_signal):
    global _interrupt_signal
    # A fatal signal (a segfault in a binding) writes every thread's Python
    # stack to the daemon's log, on a descriptor of its own.
    try:
        faulthandler.enable(file=os.dup(_guiloop.log_fd()), all_threads=True)
    except (OSError, ValueError):
        pass
    sys.stdout = _Text(_STDOUT, "<stdout>")
    sys.stderr = _Text(_STDERR, "<stderr>")
    # Code that reads standard input gets EOF instead of hanging the GUI.
    sys.stdin = io.StringIO()
    sys.path[0:0] = [p for p in paths.split(":") if p]
    sys.setswitchinterval(switch_interval)
    _interrupt_signal = interrupt_signal
    guard_sigint()
