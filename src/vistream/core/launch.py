"""GStreamer-style launch strings.

Grammar (as in ``gst-launch-1.0``): ``factory prop=value ... ! factory ...``; ``name.pad`` or
``name.`` refers to an element declared anywhere in the string (``mux.sink_0``); a chain that is
not joined by ``!`` starts a new branch. Values may be quoted.

Example:
    >>> from vistream.core.launch import parse_launch_description
    >>> d = parse_launch_description(
    ...     "testsrc ! mux.sink_0  testsrc ! mux.sink_1  streammux name=mux batch-size=2 ! fakesink")
    >>> [e.factory for e in d.elements]
    ['testsrc', 'testsrc', 'streammux', 'fakesink']
    >>> d.links[0]
    (0, None, 'mux', 'sink_0')
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from vistream.core.errors import LaunchError, VistreamError
from vistream.core.pipeline import Pipeline
from vistream.core.registry import Registry, default_registry


@dataclass
class ElementDecl:
    """One element of a launch description: its factory, optional name and raw properties."""

    factory: str
    properties: dict[str, str] = field(default_factory=dict)
    position: int = 0

    @property
    def name(self) -> str | None:
        return self.properties.get("name")


# A link endpoint is either an element index (int) or an element name (str), plus an optional pad.
Endpoint = tuple[int | str, str | None]


@dataclass
class LaunchDescription:
    """Parsed launch string: elements and links ``(src, src_pad, dst, dst_pad)``."""

    elements: list[ElementDecl]
    links: list[tuple[int | str, str | None, int | str, str | None]]


def _tokens(text: str) -> list[str]:
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars="!")
        lexer.whitespace_split = True
        lexer.wordchars += "=.:/%,;-+*~@#[]{}()&?$^|<>'\""
        return list(lexer)
    except ValueError as exc:
        raise LaunchError(f"cannot tokenise launch string ({exc}): {text!r}") from None


def parse_launch_description(text: str) -> LaunchDescription:
    """Parse a launch string into element declarations and links (no elements are created)."""
    tokens = _tokens(text)
    if not tokens:
        raise LaunchError("empty launch string")
    elements: list[ElementDecl] = []
    links: list[tuple[int | str, str | None, int | str, str | None]] = []
    previous: Endpoint | None = None
    pending_link = False
    current: ElementDecl | None = None

    for position, token in enumerate(tokens):
        if token == "!":
            if previous is None:
                raise LaunchError(f"'!' at token {position + 1} has nothing on its left")
            if pending_link:
                raise LaunchError(f"two '!' in a row at token {position + 1}")
            pending_link = True
            current = None
            continue
        if "=" in token and not token.startswith("="):
            key, _, value = token.partition("=")
            if "." in key:
                raise LaunchError(f"property name '{key}' at token {position + 1} may not contain '.'")
            if current is None:
                raise LaunchError(f"property '{token}' at token {position + 1} does not follow an element")
            current.properties[key] = value
            continue
        if "." in token:  # reference: name.pad or name.
            ref_name, _, pad = token.partition(".")
            if not ref_name:
                raise LaunchError(f"reference '{token}' at token {position + 1} has no element name")
            endpoint: Endpoint = (ref_name, pad or None)
            current = None
        else:
            decl = ElementDecl(token, position=position)
            elements.append(decl)
            endpoint = (len(elements) - 1, None)
            current = decl
        if pending_link:
            assert previous is not None
            links.append((previous[0], previous[1], endpoint[0], endpoint[1]))
            pending_link = False
        previous = endpoint
    if pending_link:
        raise LaunchError("launch string ends with '!': nothing to link to")
    return LaunchDescription(elements, links)


def parse_launch(text: str, registry: Registry | None = None, name: str = "pipeline") -> Pipeline:
    """Build a :class:`Pipeline` from a launch string.

    Example:
        >>> import vistream
        >>> p = vistream.parse_launch("testsrc num-buffers=3 ! identity ! fakesink name=sink")
        >>> [e for e in p.elements]
        ['testsrc0', 'identity0', 'sink']
    """
    description = parse_launch_description(text)
    return build_pipeline(description, registry=registry, name=name)


def build_pipeline(description: LaunchDescription, registry: Registry | None = None, name: str = "pipeline") -> Pipeline:
    """Create and link the elements of a parsed launch description."""
    registry = registry or default_registry
    pipeline = Pipeline(name=name, registry=registry)
    created = []
    for decl in description.elements:
        properties: dict[str, Any] = dict(decl.properties)
        element_name = properties.pop("name", None)
        try:
            element = registry.make(decl.factory, name=element_name, **properties)
        except VistreamError as exc:
            raise type(exc)(f"{exc} (launch element #{len(created) + 1} '{decl.factory}')") from None
        pipeline.add(element)
        created.append(element)

    def endpoint(ref: int | str, pad: str | None) -> Any:
        if isinstance(ref, int):
            element = created[ref]
        else:
            if ref not in pipeline.elements:
                raise LaunchError(f"reference to unknown element '{ref}'; named elements: "
                                  f"{', '.join(e.name for e in created)}")
            element = pipeline[ref]
        return f"{element.name}.{pad}" if pad else element

    for src, src_pad, dst, dst_pad in description.links:
        pipeline.link(endpoint(src, src_pad), endpoint(dst, dst_pad))
    return pipeline
