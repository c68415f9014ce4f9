"""Output parsers of the ``infer`` element, and resolution of user parsers (``module:function``).

Example:
    >>> resolve_parser("yolov8", "detector").name
    'yolov8'
    >>> resolve_parser("vistream.elements.infer.parsers.detectors:parse_ssd", "detector").kind
    'detector'
"""

from __future__ import annotations

import importlib

from vistream.core.errors import ConfigError
from vistream.elements.infer.parsers.base import (
    Classification,
    Detections,
    ParseInfo,
    Parser,
    coerce_result,
)
from vistream.elements.infer.parsers.classifier import CLASSIFIER_PARSERS
from vistream.elements.infer.parsers.detectors import DETECTOR_PARSERS

PARSERS: dict[str, Parser] = {**DETECTOR_PARSERS, **CLASSIFIER_PARSERS}

__all__ = ["PARSERS", "Classification", "Detections", "ParseInfo", "Parser", "coerce_result", "resolve_parser"]


def resolve_parser(name: str, kind: str) -> Parser:
    """A built-in parser by name, or a user function ``package.module:function``.

    ``kind`` (``detector`` / ``classifier``) is what the config's ``network-type`` says; a
    built-in of the other kind is an error.
    """
    if ":" in name:
        module_name, _, function_name = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"custom parser '{name}': cannot import module '{module_name}' ({exc})") from exc
        function = getattr(module, function_name, None)
        if not callable(function):
            raise ConfigError(f"custom parser '{name}': module '{module_name}' has no function '{function_name}'")
        return Parser(name, kind, function)
    parser = PARSERS.get(name)
    if parser is None:
        raise ConfigError(f"unknown parser '{name}'; built-in parsers: {', '.join(sorted(PARSERS))}, "
                          "or a Python function 'package.module:function'")
    if parser.kind != kind:
        raise ConfigError(f"parser '{name}' is a {parser.kind} parser but the network type is {kind}")
    return parser
