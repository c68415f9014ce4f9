"""In-band events that travel with batches, and bus messages that report to the application.

Events flow through pads in order with batches (EOS for one source or the whole pipeline, stream
added / removed). Messages go to the pipeline's :class:`~vistream.core.pipeline.Bus`.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of in-band events."""


@dataclass(frozen=True)
class EOS(Event):
    """End of the whole stream on this pad: nothing follows."""


@dataclass(frozen=True)
class StreamEOS(Event):
    """End of one source's frames (``source_id``) inside a multi-source stream."""

    source_id: int


@dataclass(frozen=True)
class StreamAdded(Event):
    """A source joined a multi-source stream."""

    source_id: int
    name: str = ""
    uri: str = ""


@dataclass(frozen=True)
class CustomEvent(Event):
    """Application-defined event with a type name and payload (e.g. ``record`` for ``recorder``)."""

    event_type: str
    data: dict = field(default_factory=dict)


class MessageType(enum.Enum):
    """Kinds of bus messages."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    EOS = "eos"
    STREAM_EOS = "stream-eos"
    STREAM_ADDED = "stream-added"
    STREAM_REMOVED = "stream-removed"
    STATE_CHANGED = "state-changed"
    ELEMENT = "element"


@dataclass
class Message:
    """A bus message: what happened, which element said it, and for which source."""

    type: MessageType
    element: str = ""
    text: str = ""
    source_id: int | None = None
    error: BaseException | None = None
    data: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)

    def __str__(self) -> str:
        where = f"{self.element}" + (f" (source {self.source_id})" if self.source_id is not None else "")
        return f"[{self.type.value}] {where}: {self.text}"
