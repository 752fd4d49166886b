"""Run once at guiloopd's start: make the embedded modules importable, and
act when asyncio, matplotlib or threading get imported -- not before.

Start-up cost is one finder on sys.meta_path (a dict lookup per import);
`import guiloop` compiles guiloop_module.py on first use, asyncio's 50 ms
import happens only when executed code imports asyncio (or uses top-level
await), matplotlib is configured right after its own import, never imported
by us.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys

import _guiloop_gui

_after_import = {}  # module name -> [callables run once it is imported]


class _Loader(importlib.abc.InspectLoader):
    """Our embedded sources as modules; their lines show in tracebacks."""

    def get_source(self, fullname):
        return _guiloop_gui.sources[fullname]

    def get_code(self, fullname):
        return compile(self.get_source(fullname), self.get_filename(fullname), "exec")

    @staticmethod
    def get_filename(fullname):
        # "<guiloop ...>": guiloop's own frames, left out of executions' tracebacks.
        return f"<guiloop {fullname}.py>"

    def exec_module(self, module):
        name = module.__name__
        source, filename = self.get_source(name), self.get_filename(name)
        # linecache skips "<...>" names unless told: tracebacks and Stacks() show lines.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), module.__dict__)


class _After(importlib.abc.Loader):
    """Wraps a real loader: runs the hooks once the module has been executed."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        # The module keeps its real loader; we were only passing through.
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        for fn in _after_import.pop(module.__name__, ()):
            try:
                fn(module)
            except Exception:
                sys.excepthook(*sys.exc_info())

    def __getattr__(self, name):  # get_source, is_package, ... of the real loader
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    _embedded = _Loader()

    def find_spec(self, fullname, path=None, target=None):
        if fullname in _guiloop_gui.sources:
            spec = importlib.machinery.ModuleSpec(fullname, self._embedded, origin="built-in")
            spec.has_location = False
            return spec
        if fullname not in _after_import:
            return None
        # The real spec from the finders after us, with our loader around its loader.
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _After(spec.loader)
                return spec
        return None


def when_imported(name, fn):
    """fn(module) right after `name` is imported, or now if it already is."""
    module = sys.modules.get(name)
    if module is not None:
        fn(module)
    else:
        _after_import.setdefault(name, []).append(fn)


def _asyncio_imported(module):
    import _guiloop_asyncio  # noqa: F401  (it installs the loop)


def _matplotlib_imported(module):
    import _guiloop_matplotlib
    _guiloop_matplotlib.configure(module)


def execution():
    """guiloop.execution(): the execution the calling thread belongs to, 0 for none.

    The GUI thread belongs to the running one; another thread to the one
    whose code started it (directly or through other threads), while that
    one still runs."""
    running = _guiloop_gui.running()
    if running == 0 or _guiloop_gui.in_gui_thread():
        return running
    import threading
    mine = getattr(threading.current_thread(), "_guiloop_execution", 0)
    return running if mine == running else 0


def _threading_imported(threading):
    start = threading.Thread.start

    def _start(self):
        # Recorded by the starting thread: its execution is inherited.
        self._guiloop_execution = execution()
        return start(self)

    _start.__doc__ = start.__doc__
    _start.__wrapped__ = start
    threading.Thread.start = _start


def install():
    sys.meta_path.insert(0, _Finder())
    when_imported("threading", _threading_imported)
    when_imported("asyncio", _asyncio_imported)
    if _guiloop_gui.matplotlib:
        when_imported("matplotlib", _matplotlib_imported)


def shutdown():
    """Before Python is finalized: asyncio's tasks, then guiloop's pending calls."""
    aio = sys.modules.get("_guiloop_asyncio")
    if aio is not None:
        aio.shutdown()
    gl = sys.modules.get("guiloop")
    if gl is not None:
        gl._shutdown()
