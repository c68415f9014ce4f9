"""Turn a plain function into an element.

Example:
    >>> import vistream
    >>> @vistream.element("count-objects")
    ... def count_objects(batch):
    ...     for frame in batch:
    ...         frame.meta.add_user_meta("count", len(frame.meta.objects))
    ...     return batch
    >>> p = vistream.parse_launch("testsrc num-buffers=2 ! count-objects ! appsink name=out")
    >>> _ = p.run(timeout=10)
    >>> p["out"].batches[0].frames[0].meta.user_meta("count")
    [0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vistream.core.buffer import Batch
from vistream.core.element import Element
from vistream.core.registry import default_registry


def element(factory_name: str) -> Callable[[Callable[[Batch], Any]], type[Element]]:
    """Decorator: ``fn(batch) -> batch | None`` becomes a registered element class."""

    def decorator(fn: Callable[[Batch], Any]) -> type[Element]:
        def process(self: Element, batch: Batch) -> Any:
            return fn(batch)

        cls = type(
            fn.__name__,
            (Element,),
            {"process": process, "__doc__": fn.__doc__ or f"Element made from {fn.__name__}()",
             "__module__": fn.__module__},
        )
        return default_registry.register(factory_name)(cls)

    return decorator
