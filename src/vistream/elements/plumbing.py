"""Plumbing elements: ``queue``, ``tee``, ``identity`` and ``streamdemux``.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch(
    ...     "testsrc num-buffers=3 ! tee name=t  t. ! queue ! appsink name=a  t. ! appsink name=b")
    >>> _ = p.run(timeout=10)
    >>> len(p["a"].batches), len(p["b"].batches)
    (3, 3)
"""

from __future__ import annotations

import time
from typing import Any

from vistream.core.buffer import Batch
from vistream.core.element import ANY_SINK, Element, Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.events import EOS, Event, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element

_SRC_REQUEST = PadTemplate("src_%u", PadDirection.SRC, PadPresence.REQUEST, ("any",))


@register_element("queue")
class Queue(Element):
    """A thread boundary with its own bounded buffer; leaky drops the oldest batch instead of blocking."""

    max_size_buffers = Property(int, 8, "Batches held before the producer blocks (or the oldest is dropped)", minimum=1)
    leaky = Property(bool, False, "Drop the oldest batch when full instead of blocking upstream")

    @property
    def queue_capacity(self) -> int:  # type: ignore[override]
        return self.max_size_buffers


@register_element("tee")
class Tee(Element):
    """Send every batch to all linked ``src_%u`` pads (the same batch object: metadata is shared)."""

    pad_templates = (ANY_SINK, _SRC_REQUEST)

    def process(self, batch: Batch) -> None:
        for pad in self.src_pads():
            self.push(batch, pad.name)
        return None


@register_element("identity")
class Identity(Element):
    """Pass batches through unchanged; optionally sleep or drop every Nth batch (for tests)."""

    sleep_time = Property(int, 0, "Microseconds to sleep per batch (simulates a slow element)", minimum=0)
    drop_probability = Property(float, 0.0, "Fraction of batches to drop", minimum=0.0, maximum=1.0)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self._count = 0

    def process(self, batch: Batch) -> Batch | None:
        if self.sleep_time:
            time.sleep(self.sleep_time / 1e6)
        self._count += 1
        if self.drop_probability and (self._count * self.drop_probability) % 1.0 < self.drop_probability:
            return None
        return batch


@register_element("streamdemux")
class StreamDemux(Element):
    """Split batches back into per-source streams on ``src_N`` (N = source_id)."""

    pad_templates = (ANY_SINK, _SRC_REQUEST)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.unrouted = 0

    def process(self, batch: Batch) -> None:
        by_source: dict[int, list[int]] = {}
        for index, frame in enumerate(batch.frames):
            by_source.setdefault(frame.source_id, []).append(index)
        for source_id, positions in by_source.items():
            pad = self.pads.get(f"src_{source_id}")
            if pad is None or pad.peer is None:
                self.unrouted += len(positions)
                continue
            self.push(batch.select(positions), pad.name)
        return None

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            name = f"src_{event.source_id}"
            if name in self.pads and not self.pads[name].eos:
                self.pads[name].eos = True
                self.push_event(EOS(), name)
            return
        if isinstance(event, EOS):
            for out in self.src_pads():
                if not out.eos:
                    out.eos = True
                    self.push_event(EOS(), out.name)
            self.finished = True
            return
        super().handle_event(event, pad)
