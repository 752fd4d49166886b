"""Completion, inspection and is-complete for guiloopd's Complete, Inspect and IsComplete.

Run by the daemon's assist thread with the GIL, while executed code may be in
the middle of anything.  Nothing here ever runs user code: no property
getter, no __getattr__/__getattribute__, no __dir__, no __repr__ of a user
object, no import of a module that is not imported yet.  Objects are looked
at through their C-level slots only (type.__dict__ descriptors, dict.get),
the way inspect.getattr_static does.
"""

import ast
import builtins
import codeop
import inspect
import keyword
import os
import pkgutil
import re
import sys
import time
import types
import warnings

_MAX_MATCHES = 1000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOTTED_TAIL = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*\s*\.\s*)*)([A-Za-z_][A-Za-z0-9_]*)?\Z")
_type_dict = type.__dict__["__dict__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_name = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_SAFE_GETSET = (types.GetSetDescriptorType, types.MemberDescriptorType)
_SCALARS = (int, float, complex, bool, str, bytes, type(None))
_MISSING = object()


def _is(obj, types_):
    """isinstance() without asking obj for its __class__ (a user property could answer)."""
    return issubclass(type(obj), types_)


def _namespace():
    boot = sys.modules.get("_guiloop_boot")
    ns = None
    if boot is not None:
        ns = _module_dict(boot).get("_interactive")
    if type(ns) is not dict:
        main = sys.modules.get("__main__")
        ns = _module_dict(main) if main is not None else {}
    return ns


def _module_dict(mod):
    d = types.ModuleType.__dict__["__dict__"].__get__(mod) if _is(mod, types.ModuleType) \
        else None
    return d if type(d) is dict else {}


def _mro(obj):
    return _type_mro(type(obj))


def _static_lookup(cls_list, name):
    for klass in cls_list:
        d = _type_dict(klass)
        if name in d:
            return d[name]
    return _MISSING


def _instance_dict(obj):
    """obj.__dict__ when a C slot provides it (never a user property)."""
    if _is(obj, types.ModuleType):
        return _module_dict(obj)
    if _is(obj, type):
        return dict(_type_dict(obj))
    slot = _static_lookup(_mro(obj), "__dict__")
    if type(slot) in _SAFE_GETSET:
        try:
            d = slot.__get__(obj, type(obj))
        except Exception:
            return {}
        if type(d) is dict:
            return d
    return {}


def _attr_names(obj):
    names = set()
    names.update(k for k in _instance_dict(obj) if type(k) is str)
    classes = _type_mro(obj) if _is(obj, type) else ()
    for klass in tuple(classes) + tuple(_mro(obj)):
        names.update(k for k in _type_dict(klass) if type(k) is str)
    return names


def _getattr_static(obj, name):
    """The attribute's value if it can be had without running code, else _MISSING."""
    d = _instance_dict(obj)
    if name in d:
        return d[name]
    if _is(obj, type):
        v = _static_lookup(_type_mro(obj), name)
        if v is not _MISSING:
            if type(v) in (staticmethod, classmethod):
                return v.__func__
            return v
    v = _static_lookup(_mro(obj), name)
    if v is _MISSING:
        return _MISSING
    if _is(v, types.FunctionType):
        return v  # a method: its function is what Inspect wants
    if type(v) in (staticmethod, classmethod):
        return v.__func__
    if type(v) in (types.BuiltinFunctionType, types.MethodDescriptorType,
                   types.WrapperDescriptorType, types.ClassMethodDescriptorType):
        return v
    if _static_lookup(_mro(v), "__get__") is not _MISSING:
        return _MISSING  # a descriptor (property, ...): never called
    return v


def _resolve(dotted):
    parts = [p.strip() for p in dotted.split(".")]
    ns = _namespace()
    if parts[0] in ns:
        obj = ns[parts[0]]
    elif parts[0] in builtins.__dict__:
        obj = builtins.__dict__[parts[0]]
    else:
        return _MISSING
    for p in parts[1:]:
        obj = _getattr_static(obj, p)
        if obj is _MISSING:
            return _MISSING
    return obj


_modules_cache = (0.0, None, frozenset())  # when, for which sys.path, the names


def _refresh_modules():
    global _modules_cache
    path = tuple(sys.path)
    names = set(sys.builtin_module_names)
    names.update(k.split(".")[0] for k in list(sys.modules))
    for info in pkgutil.iter_modules():
        names.add(info.name)
    _modules_cache = (time.monotonic(), path, frozenset(names))


def _top_modules():
    # Scanning sys.path takes tens of ms on a loaded machine: only the first
    # import completion does it, and one after sys.path changed; maintain()
    # refreshes it between requests.  Modules imported since are added.
    _, path, names = _modules_cache
    if path != tuple(sys.path):
        _refresh_modules()
        names = _modules_cache[2]
    return names | {k.split(".")[0] for k in list(sys.modules)}


def maintain():
    """Called by the assist thread after an answer went out, when nothing else waits.

    Only a list made before (by an import completion) is refreshed: a daemon
    whose users never complete imports never scans sys.path."""
    if _modules_cache[1] is not None and time.monotonic() - _modules_cache[0] > 10:
        _refresh_modules()


def _submodules(package):
    mod = sys.modules.get(package)
    if mod is None:
        # Not imported: where it would be found, without running it.
        if "." in package:
            return set()
        try:
            from importlib.machinery import PathFinder
            spec = PathFinder.find_spec(package)
        except Exception:
            spec = None
        if spec is None or not spec.submodule_search_locations:
            return set()
        return {i.name for i in pkgutil.iter_modules(list(spec.submodule_search_locations))}
    names = {k.rsplit(".", 1)[1] for k in list(sys.modules)
             if k.startswith(package + ".") and "." not in k[len(package) + 1:]}
    path = _module_dict(mod).get("__path__")
    if path is not None:
        try:
            names.update(i.name for i in pkgutil.iter_modules(list(path)))
        except Exception:
            pass
    return names


def _open_string(text):
    """(quote position, prefix, fragment) of a string left open at the end of text, or None."""
    i, n, start = 0, len(text), None
    quote = None
    while i < n:
        c = text[i]
        if quote is None:
            if c == "#":
                j = text.find("\n", i)
                if j < 0:
                    return None
                i = j
            elif c in "'\"":
                if text.startswith(c * 3, i):
                    quote, start = c * 3, i
                    i += 3
                    continue
                quote, start = c, i
        else:
            if c == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            if c == "\n" and len(quote) == 1:
                quote = None
        i += 1
    if quote is None:
        return None
    return start, text[:start], text[start + len(quote):]


def _complete_path(frag, at):
    expanded = os.path.expanduser(frag)
    head, tail = os.path.split(expanded)
    out = []
    try:
        with os.scandir(head or ".") as it:
            for entry in it:
                if entry.name.startswith(tail) and (tail.startswith(".") or
                                                    not entry.name.startswith(".")):
                    name = entry.name + ("/" if entry.is_dir() else "")
                    out.append(frag[:len(frag) - len(tail)] + name)
    except OSError:
        return [], at, at
    return sorted(out)[:_MAX_MATCHES], at, at + len(frag)


def _complete(code, cursor):
    text = code[:cursor]
    # Inside a string: a dict key after NAME[, else a file name.
    s = _open_string(text)
    if s is not None:
        start, before, frag = s
        m = re.search(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\[\s*\Z", before)
        if m:
            obj = _resolve(m.group(1))
            if _is(obj, dict):
                q = text[start]
                keys = sorted(k for k in dict.keys(obj) if type(k) is str and k.startswith(frag))
                return [k + q for k in keys][:_MAX_MATCHES], start + 1, cursor
        return _complete_path(frag, start + 1)
    line = text.rsplit("\n", 1)[-1]
    line_start = len(text) - len(line)
    # import a.b / from a.b import c
    m = re.match(r"\s*(?:import|from)\s+([\w.]*)\Z", line)
    if m or re.match(r"\s*import\s+[\w.]+(?:\s*,\s*[\w.]+)*\s*,\s*([\w.]*)\Z", line):
        word = re.search(r"([\w.]*)\Z", line).group(1)
        pkg, _, last = word.rpartition(".")
        names = _submodules(pkg) if pkg else _top_modules()
        base = line_start + len(line) - len(last)
        return sorted(n for n in names if n.startswith(last))[:_MAX_MATCHES], base, cursor
    m = re.match(r"\s*from\s+([\w.]+)\s+import\s+(?:.*,\s*)?(\w*)\Z", line)
    if m:
        pkg, last = m.group(1), m.group(2)
        names = set(_submodules(pkg))
        mod = sys.modules.get(pkg)
        if mod is not None:
            names.update(k for k in _module_dict(mod) if type(k) is str)
        return (sorted(n for n in names if n.startswith(last) and
                       (last.startswith("_") or not n.startswith("_")))[:_MAX_MATCHES],
                cursor - len(last), cursor)
    m = _DOTTED_TAIL.search(text)
    chain, last = (m.group(1), m.group(2) or "") if m else ("", "")
    begin = cursor - len(last)
    if chain:
        obj = _resolve(chain.rstrip().rstrip("."))
        if obj is _MISSING:
            return [], begin, cursor
        names = _attr_names(obj)
        names = sorted(n for n in names if n.startswith(last) and
                       (last.startswith("_") or not n.startswith("_")))
        return names[:_MAX_MATCHES], begin, cursor
    if not last:
        return [], cursor, cursor
    names = set(k for k in _namespace() if type(k) is str)
    names.update(builtins.__dict__)
    names.update(keyword.kwlist)
    names = sorted(n for n in names if n.startswith(last) and
                   (last.startswith("_") or not n.startswith("_")))
    return names[:_MAX_MATCHES], begin, cursor


def complete(code, cursor):
    if cursor < 0 or cursor > len(code):
        cursor = len(code)
    try:
        return _complete(code, cursor)
    except Exception:
        return [], cursor, cursor


def _signature(obj):
    target = obj
    if _is(obj, type):
        init = _static_lookup(_type_mro(obj), "__init__")
        if not _is(init, types.FunctionType):
            return None
        target = init
    if not _is(target, (types.FunctionType, types.BuiltinFunctionType,
                               types.MethodDescriptorType, types.WrapperDescriptorType)):
        return None
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if target is not obj:
        params = params[1:]
    return _format_signature(params)


def _safe_repr(v):
    """repr() of a default only for built-in scalars: a user __repr__ never runs."""
    if type(v) in _SCALARS:
        return repr(v)[:80]
    t = type(v)
    return f"<{_type_name(t)}>"


def _format_signature(params):
    out, kw_only_marked = [], False
    for i, p in enumerate(params):
        if p.kind == p.POSITIONAL_ONLY and (i + 1 == len(params) or
                                            params[i + 1].kind != p.POSITIONAL_ONLY):
            suffix = ", /"
        else:
            suffix = ""
        if p.kind == p.KEYWORD_ONLY and not kw_only_marked:
            out.append("*")
            kw_only_marked = True
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.kind == p.VAR_POSITIONAL:
            kw_only_marked = True
        if p.default is not p.empty:
            text += "=" + _safe_repr(p.default)
        out.append(text + suffix)
    return "(" + ", ".join(out) + ")"


def _doc(obj):
    if _is(obj, types.FunctionType):
        d = types.FunctionType.__dict__["__doc__"].__get__(obj)
    elif _is(obj, type):
        d = _type_dict(obj).get("__doc__")
    elif _is(obj, types.ModuleType):
        d = _module_dict(obj).get("__doc__")
    else:
        d = _instance_dict(obj).get("__doc__", _MISSING)
        if d is _MISSING:
            d = _static_lookup(_mro(obj), "__doc__")
            if type(d) in _SAFE_GETSET:  # a C slot (builtins): reading it runs no Python
                try:
                    d = d.__get__(obj, type(obj))
                except Exception:
                    d = None
    return d if type(d) is str else None


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _name_at(code, cursor):
    if cursor < 0 or cursor > len(code):
        cursor = len(code)
    left = re.search(r"[A-Za-z_][A-Za-z0-9_.]*\Z", code[:cursor])
    right = re.match(r"[A-Za-z0-9_]*", code[cursor:])
    name = (left.group(0) if left else "") + (right.group(0) if right else "")
    return name.strip(".")


def inspect_text(code, cursor):
    try:
        name = _name_at(code, cursor)
        if not name or not all(_NAME.match(p) for p in name.split(".")):
            return ""
        obj = _resolve(name)
        if obj is _MISSING:
            return ""
        t = type(obj)
        mod = _type_module(t)
        lines = [f"Type:      {_type_name(t) if mod == 'builtins' else mod + '.' + _type_name(t)}"]
        if t in _SCALARS:
            lines.append(f"String form: {repr(obj)[:500]}")
        elif t in _CONTAINERS:
            lines.append(f"Length:    {len(obj)}")
        if _is(obj, types.ModuleType):
            f = _module_dict(obj).get("__file__")
            if type(f) is str:
                lines.append(f"File:      {f}")
        sig = _signature(obj)
        if sig is not None:
            lines.append(f"Signature: {name.rsplit('.', 1)[-1]}{sig}")
        doc = _doc(obj)
        if doc:
            lines.append("Docstring:\n" + inspect.cleandoc(doc))
        else:
            lines.append("Docstring: <no docstring>")
        return "\n".join(lines) + "\n"
    except Exception:
        return ""


def is_complete(code):
    """As Jupyter's is_complete_request: ('complete'|'incomplete'|'invalid', indent)."""
    lines = code.split("\n")
    last = lines[-1] if lines else ""
    if not code.strip():
        return "complete", ""
    try:
        # Top-level await is valid input, as Execute runs it (and IPython
        # answers); a fresh compiler: one keeps __future__ imports it saw.
        compiler = codeop.CommandCompiler()
        compiler.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = compiler(code, "<input>", "exec")
    except (SyntaxError, OverflowError, ValueError, TypeError, MemoryError):
        return "invalid", ""
    indent = re.match(r"[ \t]*", last).group(0)
    stripped = last.rstrip()
    if r is None:
        if stripped.endswith(":"):
            indent += "    "
        return "incomplete", indent
    # A block goes on until an empty line, as in an interactive interpreter.
    if len(lines) > 1 and (indent or stripped.endswith(":")) and last.strip():
        return "incomplete", indent
    return "complete", ""
