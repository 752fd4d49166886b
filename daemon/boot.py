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


def _format(exc):
    """The traceback as Python prints it, without guiloop's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _format.__code__.co_filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


_compiled = collections.OrderedDict()  # source -> (body, last expression, filename)
_compiled_bytes = 0
_MAX_COMPILED = 64
# The cache is for small sources sent again and again; a large one is
# compiled each time, and all that is kept stays within a few MB.
_MAX_COMPILED_SOURCE = 64 << 10
_MAX_COMPILED_BYTES = 2 << 20


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
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), filename, "eval")
    entry = (compile(tree, filename, "exec"), last, filename)
    del tree
    if len(code) > _MAX_COMPILED_SOURCE:
        return entry
    _compiled[code] = entry
    _compiled_bytes += len(code)
    while len(_compiled) > _MAX_COMPILED or _compiled_bytes > _MAX_COMPILED_BYTES:
        _compiled_bytes -= len(_compiled.popitem(last=False)[0])
    return entry


def execute(code, number):
    """Run code in the interactive namespace: (success, repr or "", traceback)."""
    try:
        body, last, _ = _compile(code, number)
        exec(body, _interactive)
        if last is None:
            return True, "", ""
        value = eval(last, _interactive)
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
        exec(compile(source, path, "exec"), namespace)
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
