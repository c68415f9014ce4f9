"""vistream: an open video-analytics streaming SDK (DeepStream's model, on any CPU and on NVIDIA GPUs).

Example:
    >>> import vistream
    >>> pipeline = vistream.parse_launch("testsrc num-buffers=3 ! fakesink name=sink")
    >>> _ = pipeline.run(timeout=10)
    >>> pipeline.stats()["streams"][0]["frames"]
    3
"""

from __future__ import annotations

from vistream.core.buffer import Batch, Frame
from vistream.core.element import DROP, Element, Pad, PadTemplate, Sink, Source
from vistream.core.errors import (
    ConfigError,
    ElementNotFoundError,
    LaunchError,
    LinkError,
    PipelineError,
    PropertyError,
    SourceError,
    SpecError,
    VistreamError,
)
from vistream.core.events import EOS, Message, MessageType, StreamAdded, StreamEOS
from vistream.core.functional import element
from vistream.core.launch import parse_launch
from vistream.core.meta import (
    BatchMeta,
    ClassifierMeta,
    DisplayMeta,
    FrameMeta,
    ObjectMeta,
    Objects,
    TensorMeta,
    UserMeta,
)
from vistream.core.pipeline import Pipeline
from vistream.core.properties import Property
from vistream.core.registry import default_registry, make_element, register_element

__version__ = "0.1.0"

__all__ = [
    "DROP", "EOS", "Batch", "BatchMeta", "ClassifierMeta", "ConfigError", "DisplayMeta", "Element",
    "ElementNotFoundError", "Frame", "FrameMeta", "LaunchError", "LinkError", "Message", "MessageType",
    "ObjectMeta", "Objects", "Pad", "PadTemplate", "Pipeline", "PipelineError", "Property", "PropertyError",
    "Sink", "Source", "SourceError", "SpecError", "StreamAdded", "StreamEOS", "TensorMeta", "UserMeta",
    "VistreamError", "default_registry", "element", "load_pipeline", "make_element", "parse_launch",
    "register_element",
]


def load_pipeline(path: str):  # noqa: ANN201 - lazy import keeps `import vistream` light
    """Build a pipeline from a YAML pipeline file (see :mod:`vistream.core.spec`)."""
    from vistream.core.spec import load_pipeline as _load

    return _load(path)
