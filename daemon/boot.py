"""guiloop's Python side, run once inside guiloopd's embedded interpreter.

The C code calls execute(), run_file() and startup(); output objects forward
every write to the C module _guiloop, which files it under the execution that
runs at that moment, whichever Python thread writes.
"""

import ast
import builtins
import collections
import io
import linecache
import os
import signal
import sys
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
_sources = collections.deque()  # linecache entries we made, oldest first
_MAX_SOURCES = 200


def _remember_source(filename, code):
    """Let tracebacks show the lines of executed code, as IPython does."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    _sources.append(filename)
    while len(_sources) > _MAX_SOURCES:
        linecache.cache.pop(_sources.popleft(), None)


def _own_frame(frame):
    """boot.py's, and those of guiloop's embedded modules ("<guiloop NAME.py>")."""
    name = frame.f_code.co_filename
    return name == _format.__code__.co_filename or (name.startswith("<guiloop ")
                                                     and name.endswith(".py>"))


def _format(exc):
    """The traceback as Python prints it, without guiloop's own frames."""
    tb = exc.__traceback__
    while tb is not None and _own_frame(tb.tb_frame):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


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
_MAX_COMPILED = 64


def _compile(code, number):
    """Code objects for the body and a trailing expression (or None), cached:
    clients often send the same source again, and parsing is most of what a
    small execution costs."""
    entry = _compiled.get(code)
    if entry is not None:
        _compiled.move_to_end(code)
        return entry
    filename = f"<guiloop-{number}>"
    _remember_source(filename, code)
    tree = compile(code, filename, "exec", ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), filename, "eval", _AWAIT)
    entry = (compile(tree, filename, "exec", _AWAIT), last, filename)
    _compiled[code] = entry
    if len(_compiled) > _MAX_COMPILED:
        _compiled.popitem(last=False)
    return entry


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


def guard_sigint():
    """Make the guard Python's SIGINT handler again; True if it was not."""
    if signal.getsignal(signal.SIGINT) is _guiloop.sigint:
        return False
    signal.signal(signal.SIGINT, _guiloop.sigint)
    return True


def setup(paths, switch_interval):
    sys.stdout = _Text(_STDOUT, "<stdout>")
    sys.stderr = _Text(_STDERR, "<stderr>")
    # Code that reads standard input gets EOF instead of hanging the GUI.
    sys.stdin = io.StringIO()
    sys.path[0:0] = [p for p in paths.split(":") if p]
    sys.setswitchinterval(switch_interval)
    # Only an Interrupt aimed at the running execution raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, _guiloop.sigint)
