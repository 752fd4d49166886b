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

import _guiloop
import _guiloop_boot
import _guiloop_gui



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


class _Finder(importlib.abc.MetaPathFinder):
    _embedded = _Loader()

    def find_spec(self, fullname, path=None, target=None):
        if fullname in _guiloop_gui.sources:
            spec = importlib.machinery.ModuleSpec(fullname, self._embedded, origin="built-in")
            spec.has_location = False
            return spec
        return None


def when_imported(name, fn):
    """fn(module) right after `name` is imported, or now if it already is.

    Through boot.after_import, the daemon's one post-import hook: two finders
    that each ask every other finder for the real spec recurse into each other."""
    def run(module):
        try:
            fn(module)
        except Exception:
            sys.excepthook(*sys.exc_info())
    _guiloop_boot.after_import(name, run)


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
    # The calling thread's execution: the GUI thread's is the running one; a
    # thread inherits the one that started it (output-hooks.py records it).
    mine = _guiloop.execution()
    return running if running != 0 and mine == running else 0


def install():
    sys.meta_path.insert(0, _Finder())
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
