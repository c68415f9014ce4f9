"""Sinks that hand data to the application: ``fakesink``, ``appsink`` and ``jsonsink``.

Example:
    >>> import vistream, json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "meta.jsonl")
    >>> _ = vistream.parse_launch(f"testsrc num-buffers=2 ! jsonsink location={path}").run(timeout=10)
    >>> [json.loads(line)["frame_num"] for line in open(path)]
    [0, 1]
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from vistream.core.buffer import Batch
from vistream.core.element import Pad, Sink
from vistream.core.errors import ConfigError
from vistream.core.events import EOS, Event, StreamAdded, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element


@register_element("fakesink")
class FakeSink(Sink):
    """Discard batches (counts frames and measures FPS / latency)."""


@register_element("appsink")
class AppSink(Sink):
    """Hand batches to the application: a callback, an iterator, or the ``batches`` list."""

    callback = Property(object, None, "Called as callback(batch) in the sink's thread")
    keep = Property(int, -1, "Batches kept in .batches (-1: all, 0: none)", minimum=-1)
    max_buffers = Property(int, 64, "Batches buffered for pull() / iteration before the oldest is dropped", minimum=1)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.batches: list[Batch] = []
        self.events: list[Event] = []
        self._pulled: queue.Queue[Batch | None] = queue.Queue()
        self._lock = threading.Lock()
        self.eos_received = threading.Event()

    def render(self, batch: Batch) -> None:
        if self.keep != 0:
            with self._lock:
                self.batches.append(batch)
                if self.keep > 0 and len(self.batches) > self.keep:
                    del self.batches[0]
        if self.callback is not None:
            self.callback(batch)
        while self._pulled.qsize() >= self.max_buffers:
            try:
                self._pulled.get_nowait()
            except queue.Empty:
                break
        self._pulled.put(batch)

    def handle_event(self, event: Event, pad: Pad) -> None:
        self.events.append(event)
        if isinstance(event, EOS):
            self._pulled.put(None)
            self.eos_received.set()
        super().handle_event(event, pad)

    def pull(self, timeout: float | None = None) -> Batch | None:
        """Next batch, or None at EOS or after ``timeout`` seconds."""
        try:
            return self._pulled.get(timeout=timeout)
        except queue.Empty:
            return None

    def __iter__(self) -> Iterator[Batch]:
        """Iterate over batches until EOS."""
        while True:
            batch = self._pulled.get()
            if batch is None:
                return
            yield batch

    def frames(self) -> Iterator[Any]:
        """All frames received so far, in order."""
        with self._lock:
            batches = list(self.batches)
        for batch in batches:
            yield from batch.frames


@register_element("jsonsink")
class JsonSink(Sink):
    """Write frame metadata as JSON Lines (one object per frame), plus stream events if asked."""

    location = Property(str, "", "Output file (.jsonl); '-' writes to standard output")
    events = Property(bool, False, "Also write stream-added / stream-eos lines")
    skip_empty = Property(bool, False, "Leave out frames without objects")
    flush_every = Property(int, 1, "Flush the file every N batches", minimum=1)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self._file: IO[str] | None = None
        self._batches = 0
        self.lines = 0
        self.serializer: Callable[[Any], dict[str, Any]] | None = None

    def start(self) -> None:
        if not self.location:
            raise ConfigError(f"jsonsink '{self.name}': property 'location' is not set")
        if self.location == "-":
            self._file = os.fdopen(os.dup(1), "w")
            return
        path = Path(self.location)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")

    def render(self, batch: Batch) -> None:
        assert self._file is not None
        lines = []
        for frame in batch.frames:
            if self.skip_empty and len(frame.meta.objects) == 0:
                continue
            lines.append(json.dumps(frame.meta.to_dict(), separators=(",", ":")))
        if lines:
            self._file.write("\n".join(lines) + "\n")
            self.lines += len(lines)
        self._batches += 1
        if self._batches % self.flush_every == 0:
            self._file.flush()

    def handle_event(self, event: Event, pad: Pad) -> None:
        if self.events and self._file is not None and isinstance(event, (StreamAdded, StreamEOS)):
            kind = "stream-added" if isinstance(event, StreamAdded) else "stream-eos"
            self._file.write(json.dumps({"event": kind, "source_id": event.source_id}) + "\n")
        if isinstance(event, EOS) and self._file is not None:
            self._file.flush()
        super().handle_event(event, pad)

    def stop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
