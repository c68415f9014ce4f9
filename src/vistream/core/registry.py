"""Element factory: factory name -> element class, with built-ins and plugin entry points.

Built-in elements live in modules under ``vistream.elements`` and register themselves with
:func:`register_element`; they are imported on the first lookup, so ``import vistream`` stays
fast. Third-party packages add elements through the ``vistream.elements`` entry-point group.

Example:
    >>> from vistream.core.registry import Registry
    >>> from vistream.core.element import Element
    >>> registry = Registry(builtins=False)
    >>> @registry.register("passthrough")
    ... class Passthrough(Element):
    ...     '''Forwards batches unchanged.'''
    >>> registry.make("passthrough", name="p").name
    'p'
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from vistream.core.element import Element
from vistream.core.errors import ElementNotFoundError

log = logging.getLogger("vistream.registry")

E = TypeVar("E", bound=type[Element])

BUILTIN_PACKAGES = ("vistream.elements", "vistream.media")
ENTRY_POINT_GROUP = "vistream.elements"


class Registry:
    """Maps factory names to element classes."""

    def __init__(self, builtins: bool = True) -> None:
        self._classes: dict[str, type[Element]] = {}
        self._builtins = builtins
        self._loaded = not builtins
        self._lock = threading.RLock()
        #: module -> error, for built-in modules that failed to import
        self.load_errors: dict[str, str] = {}

    def _walk_error(self, name: str) -> None:
        self.load_errors[name] = "package failed to import"

    def register(self, factory_name: str) -> Callable[[E], E]:
        """Class decorator registering an element under ``factory_name``."""

        def decorator(cls: E) -> E:
            cls.factory_name = factory_name
            if not cls.description and cls.__doc__:
                cls.description = cls.__doc__.strip().splitlines()[0]
            self._classes[factory_name] = cls
            return cls

        return decorator

    def add(self, factory_name: str, cls: type[Element]) -> None:
        self.register(factory_name)(cls)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for package_name in BUILTIN_PACKAGES:
                package = importlib.import_module(package_name)
                for info in pkgutil.walk_packages(package.__path__, package_name + ".", onerror=self._walk_error):
                    try:
                        importlib.import_module(info.name)
                    except Exception as exc:  # one broken module must not hide every other element
                        self.load_errors[info.name] = f"{type(exc).__name__}: {exc}"
                        log.warning("element module %s failed to import: %s", info.name, exc)
            for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                try:
                    loaded = entry_point.load()
                    if isinstance(loaded, type) and issubclass(loaded, Element):
                        self.add(entry_point.name, loaded)
                except Exception as exc:  # a broken plugin must not break the built-ins
                    log.warning("plugin element %r failed to load: %s", entry_point.name, exc)

    def get(self, factory_name: str) -> type[Element]:
        if factory_name not in self._classes:
            self._load()
        cls = self._classes.get(factory_name)
        if cls is None:
            close = [n for n in self.names() if factory_name in n or n in factory_name]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            if self.load_errors:
                broken = "; ".join(f"{module}: {error}" for module, error in self.load_errors.items())
                hint += f"; some element modules failed to import ({broken})"
            raise ElementNotFoundError(
                f"no element named '{factory_name}'{hint}; available: {', '.join(self.names())}"
            )
        return cls

    def make(self, factory_name: str, name: str | None = None, **properties: Any) -> Element:
        """Instantiate an element by factory name."""
        return self.get(factory_name)(name=name, **properties)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._classes)

    def __contains__(self, factory_name: str) -> bool:
        try:
            self.get(factory_name)
        except ElementNotFoundError:
            return False
        return True


#: The registry used by :func:`register_element`, ``parse_launch`` and pipeline files.
default_registry = Registry()


def register_element(factory_name: str) -> Callable[[E], E]:
    """Register an element class in the default registry.

    Example:
        >>> from vistream import Element, register_element
        >>> @register_element("my-counter")
        ... class Counter(Element):
        ...     '''Counts frames.'''
        ...     def process(self, batch):
        ...         return batch
    """
    return default_registry.register(factory_name)


def make_element(factory_name: str, name: str | None = None, **properties: Any) -> Element:
    """Instantiate a registered element (``vistream.make_element("streammux", batch_size=4)``)."""
    return default_registry.make(factory_name, name, **properties)
