"""One pattern for every extension point: a name -> object table.

The atlas has four places where code plugs in by name: architectures
(``atlas.compute.models``), dataset kinds (``atlas.compute.datasets.spec``), job kinds
(``atlas.jobs.runtime.kinds``) and exporters (``atlas.exchange.export``). Each is a
:class:`Registry`, so each behaves alike: a name is registered once (a second, different
object under the same name is refused with one line), an unknown name is one line that
lists the known ones, and the built-in entries can live in modules that are imported only
when a name is first looked up. That last part is what keeps this module, and whoever
holds a registry, free of torch: the registry knows its built-in modules by dotted name
and imports them with :mod:`importlib` on first use, never at import time.

Two ways to fill a registry::

    EXPORTERS: Registry[Callable] = Registry("export format", error=InvalidInput)

    @EXPORTERS.register("json")          # decorator form: the object is at hand
    def to_json(graph): ...

    EXPORTERS.register_lazy("png", "atlas.exchange.figure:png")   # resolved on first get

This module imports nothing of the atlas but :mod:`atlas.errors`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar, overload

from atlas.errors import AtlasError, InvalidInput, NotFound

T = TypeVar("T")

__all__ = ["Registry", "resolve_target"]


def _identity(obj: object) -> object:
    """What makes two registrations "the same": functions and classes by their qualified
    name (re-importing a module, or ``python -m`` of an imported module, makes a new
    object that is still the same code), anything else by equality."""
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str) and callable(obj):
        return f"{getattr(obj, '__module__', '?')}.{qualname}"
    return obj


def resolve_target(target: str) -> Any:
    """The object named by ``package.module:attribute`` (imported now)."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInput(f"invalid target {target!r}: use package.module:attribute")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class _Lazy:
    """A registered ``module:attribute`` not yet imported."""

    __slots__ = ("target",)

    def __init__(self, target: str):
        self.target = target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Lazy) and other.target == self.target

    def __hash__(self) -> int:
        return hash(self.target)


class Registry(Generic[T]):
    """Objects of one extension point by name.

    ``what`` names the kind of thing in messages ("architecture", "job kind");
    ``builtin_modules`` are dotted module names imported (once, in order) before the first
    lookup, whose import registers the built-in entries; ``error`` is the error class an
    unknown name raises (``NotFound`` unless the name came from a user's argument, where
    ``InvalidInput`` reads better); ``hint`` is appended to that message ("or
    module:factory").
    """

    def __init__(self, what: str, builtin_modules: Iterable[str] = (), *,
                 error: type[AtlasError] = NotFound, hint: str = ""):
        self.what = what
        self._builtin_modules = list(builtin_modules)
        self._error = error
        self._hint = hint
        self._entries: dict[str, T | _Lazy] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # -- filling -------------------------------------------------------------------

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T) -> T: ...

    def register(self, name: str, obj: Any = ...) -> Any:
        """Register ``obj`` under ``name`` and return it; without ``obj``, a decorator.

        Registering the same object again is harmless (see :func:`_identity`); a
        different object under a taken name is refused.
        """
        if obj is ...:
            return lambda target: self.register(name, target)
        self._put(name, obj)
        return obj

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``package.module:attribute`` under ``name``, imported on first get."""
        if ":" not in target:
            raise InvalidInput(f"invalid target {target!r} for {self.what} {name!r}: use package.module:attribute")
        self._put(name, _Lazy(target))

    def add_builtin_module(self, module: str) -> None:
        """Add a module to import before the next lookup (an extension's own entries)."""
        with self._lock:
            if module not in self._builtin_modules:
                self._builtin_modules.append(module)
                self._loaded = False

    def _put(self, name: str, obj: T | _Lazy) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"invalid {self.what} name {name!r}")
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None and _identity(existing) != _identity(obj):
                raise InvalidInput(f"{self.what} {name!r} is already registered by {self._describe(existing)}")
            self._entries[name] = obj

    @staticmethod
    def _describe(obj: object) -> str:
        if isinstance(obj, _Lazy):
            return obj.target
        ident = _identity(obj)
        return ident if isinstance(ident, str) else repr(obj)[:80]

    # -- looking up ----------------------------------------------------------------

    def load_builtins(self) -> None:
        """Import the built-in modules now (a worker does this at start)."""
        with self._lock:
            if self._loaded:
                return
            # Marked first: a built-in module that registers (or looks up) while it is
            # being imported must not start the import over.
            self._loaded = True
            for module in list(self._builtin_modules):
                try:
                    importlib.import_module(module)
                except BaseException:
                    self._loaded = False
                    raise

    def get(self, name: str) -> T:
        """The object registered as ``name``, or one line listing the known names."""
        self.load_builtins()
        with self._lock:
            try:
                entry = self._entries[name]
            except (KeyError, TypeError):
                raise self._error(self.unknown_message(name)) from None
            if isinstance(entry, _Lazy):
                entry = resolve_target(entry.target)
                self._entries[name] = entry
            return entry

    def unknown_message(self, name: object) -> str:
        """The one line an unknown ``name`` gets (for callers that check before get)."""
        known = ", ".join(self.names()) or "none"
        return f"unknown {self.what} {name!r}; known: {known}{self._hint}"

    def names(self) -> list[str]:
        """The registered names, sorted (built-ins included)."""
        self.load_builtins()
        with self._lock:
            return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self.load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {len(self._entries)} entries)"
