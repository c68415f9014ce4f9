"""Exception types; every message names the element, source, file or key and what would be valid."""

from __future__ import annotations


class VistreamError(Exception):
    """Base of all vistream errors."""


class ElementNotFoundError(VistreamError, LookupError):
    """An element factory name is not registered."""


class PropertyError(VistreamError, ValueError):
    """An unknown property, or a value of the wrong type or out of range."""


class LinkError(VistreamError):
    """Two pads cannot be linked (unknown pad, already linked, incompatible memory)."""


class LaunchError(VistreamError, ValueError):
    """A launch string cannot be parsed."""


class SpecError(VistreamError, ValueError):
    """A pipeline file is invalid; the message names file, line and key."""


class PipelineError(VistreamError, RuntimeError):
    """The pipeline cannot start or stopped on an error."""


class SourceError(VistreamError, IOError):
    """A source cannot be opened or read (missing file, unreachable camera, corrupt stream)."""


class ConfigError(VistreamError, ValueError):
    """A configuration file or value is invalid; the message names the file and key."""
