"""YAML pipeline files, validated; errors name the file, line and key.

Format::

    name: two-cameras
    elements:
      - {type: urisrc, name: cam0, uri: "${CAM0:-samples/bikes.mp4}"}
      - {type: urisrc, name: cam1, uri: samples/vtest.avi}
      - {type: streammux, name: mux, batch-size: 2}
      - {type: fakesink, name: sink}
    links:
      - cam0 -> mux.sink_0
      - cam1 -> mux.sink_1
      - mux -> sink

``links`` may also be chains (``a -> b -> c``). Instead of ``elements`` and ``links`` a file may
give a ``launch:`` string. ``${VAR}`` and ``${VAR:-default}`` are replaced from the environment.

Example:
    >>> from vistream.core.spec import pipeline_from_yaml
    >>> p = pipeline_from_yaml('''
    ... elements:
    ...   - {type: testsrc, name: src, num-buffers: 2}
    ...   - {type: fakesink, name: sink}
    ... links: [src -> sink]
    ... ''')
    >>> p.links()
    [('src.src', 'sink.sink')]
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vistream.core.errors import SpecError, VistreamError
from vistream.core.launch import parse_launch
from vistream.core.pipeline import Pipeline
from vistream.core.registry import Registry, default_registry

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _LineDict(dict):
    """A dict remembering the line of each key (1-based) and its own line."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


class _LineList(list):
    """A list remembering the line of each item."""

    item_lines: list[int]


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class ElementSpec(BaseModel):
    """One element: its factory ``type``, optional ``name``; every other key is a property."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="Element factory name, e.g. urisrc, streammux, infer")
    name: str | None = Field(default=None, description="Unique element name (default: type + counter)")


class PipelineSpec(BaseModel):
    """A whole pipeline file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="pipeline", description="Pipeline name")
    elements: list[ElementSpec] = Field(default_factory=list, description="Elements in any order")
    links: list[str] = Field(default_factory=list, description="'a -> b.sink_0' links or chains")
    launch: str | None = Field(default=None, description="A launch string instead of elements and links")


def expand_env(value: Any) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in strings (recursively)."""
    if isinstance(value, str):
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise SpecError(f"environment variable '{name}' is not set and has no default (${{{name}:-default}})")
        return _ENV.sub(replace, value)
    if isinstance(value, dict):
        out = type(value)() if isinstance(value, _LineDict) else {}
        if isinstance(value, _LineDict):
            out.line, out.key_lines = value.line, value.key_lines
        for k, v in value.items():
            out[k] = expand_env(v)
        return out
    if isinstance(value, list):
        out_list = _LineList(expand_env(v) for v in value)
        out_list.item_lines = getattr(value, "item_lines", [])
        return out_list
    return value


def _line_of(document: Any, loc: tuple[Any, ...]) -> int:
    node, line = document, getattr(document, "line", 1)
    for part in loc:
        if isinstance(node, _LineDict):
            line = node.key_lines.get(str(part), line)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            lines = getattr(node, "item_lines", None)
            node = node[part]
            line = getattr(node, "line", lines[part] if lines else line)
        else:
            break
    return line


def _where(origin: str, line: int, key: str) -> str:
    return f"{origin}:{line}: {key}"


def pipeline_from_yaml(text: str, origin: str = "<string>", registry: Registry | None = None) -> Pipeline:
    """Build a pipeline from YAML text; ``origin`` names the file in errors."""
    registry = registry or default_registry
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise SpecError(f"{origin}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{origin}:1: expected a mapping with 'elements' and 'links' (or 'launch'), got {type(document).__name__}")
    document = expand_env(document)
    try:
        spec = PipelineSpec.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(p) for p in loc)
            problems.append(f"{_where(origin, _line_of(document, loc), key)}: {error['msg']}")
        raise SpecError("; ".join(problems) + " (valid top-level keys: name, elements, links, launch)") from None

    if spec.launch:
        if spec.elements or spec.links:
            raise SpecError(f"{origin}:{document.key_lines['launch']}: launch: give either 'launch' or 'elements'/'links', not both")
        try:
            return parse_launch(spec.launch, registry=registry, name=spec.name)
        except VistreamError as exc:
            raise SpecError(f"{_where(origin, document.key_lines['launch'], 'launch')}: {exc}") from None

    pipeline = Pipeline(name=spec.name, registry=registry)
    raw_elements = document.get("elements", [])
    for index, element_spec in enumerate(spec.elements):
        raw = raw_elements[index]
        properties = dict(element_spec.model_extra or {})
        try:
            element_cls = registry.get(element_spec.type)
        except VistreamError as exc:
            raise SpecError(f"{_where(origin, _line_of(document, ('elements', index, 'type')), f'elements[{index}].type')}: {exc}") from None
        element = element_cls(name=element_spec.name)
        for key, value in properties.items():
            try:
                element.set_property(key, value)
            except VistreamError as exc:
                line = _line_of(document, ("elements", index, key))
                raise SpecError(f"{_where(origin, line, f'elements[{index}].{key}')}: {exc}") from None
        try:
            pipeline.add(element)
        except VistreamError as exc:
            raise SpecError(f"{_where(origin, getattr(raw, 'line', 0), f'elements[{index}].name')}: {exc}") from None

    for index, link in enumerate(spec.links):
        parts = [p.strip() for p in link.split("->")]
        line = _line_of(document, ("links", index))
        if len(parts) < 2 or not all(parts):
            raise SpecError(f"{_where(origin, line, f'links[{index}]')}: expected 'a -> b' or 'a -> b -> c', got {link!r}")
        for upstream, downstream in zip(parts, parts[1:]):
            try:
                pipeline.link(upstream, downstream)
            except (VistreamError, KeyError) as exc:
                message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
                raise SpecError(f"{_where(origin, line, f'links[{index}]')}: {message}") from None
    return pipeline


def load_pipeline(path: str | Path, registry: Registry | None = None) -> Pipeline:
    """Build a pipeline from a YAML file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"pipeline file not found: '{path}'")
    return pipeline_from_yaml(path.read_text(encoding="utf-8"), origin=str(path), registry=registry)
