"""``multifilesink``: JPEG snapshots every N frames, when chosen classes appear, or on an event.

``location`` is a pattern with ``{source_id}``, ``{frame_num}``, ``{pts}`` and ``{index}`` (a
running count), e.g. ``snaps/cam{source_id}_{frame_num:06d}.jpg``. A snapshot is taken

- every ``every`` frames of each source;
- when objects of ``classes`` are in a frame (then at most once per ``min-interval`` frames);
- on the next frame after an in-band ``CustomEvent("snapshot", {"source_id": 0})`` (without
  ``source_id``: the next frame of every source), or :meth:`MultiFileSink.snapshot`.

Each file written posts a ``snapshot`` bus message (type ELEMENT, data: path, frame_num, reason).

Example:
    >>> import vistream, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> _ = vistream.parse_launch(f"testsrc num-buffers=10 width=64 height=48 ! multifilesink every=4 "
    ...                           f"location={folder}/s_{{frame_num:03d}}.jpg").run(timeout=10)
    >>> sorted(os.listdir(folder))
    ['s_000.jpg', 's_004.jpg', 's_008.jpg']
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import Pad, Sink
from vistream.core.errors import ConfigError
from vistream.core.events import CustomEvent, Event, MessageType, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element

ALL_SOURCES = -1


def write_jpeg(path: str | Path, image: np.ndarray, quality: int = 90) -> Path:
    """Write an RGB image as JPEG (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"JPEG encoding failed for an image of shape {image.shape}")
    path.write_bytes(data.tobytes())
    return path


@register_element("multifilesink")
class MultiFileSink(Sink):
    """Save JPEG snapshots of frames: periodically, on chosen classes, or on events."""

    location = Property(str, "snapshot_{source_id}_{frame_num:06d}.jpg",
                        "File pattern: {source_id}, {frame_num}, {pts}, {index}")
    every = Property(int, 0, "Snapshot every N frames of each source (0: off)", minimum=0)
    classes = Property("int-list", [], "Snapshot frames showing objects of these class ids")
    min_interval = Property(int, 25, "Fewest frames between two class-triggered snapshots of a source", minimum=0)
    on_event = Property(bool, True, "Take a snapshot on CustomEvent('snapshot')")
    quality = Property(int, 90, "JPEG quality", minimum=1, maximum=100)
    max_files = Property(int, 0, "Keep only the newest N files written by this sink (0: all)", minimum=0)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.paths: list[Path] = []
        self._pending: set[int] = set()
        self._last_class_shot: dict[int, int] = {}
        self._lock = threading.Lock()
        self._index = 0

    def start(self) -> None:
        try:
            self.location.format(source_id=0, frame_num=0, pts=0, index=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"multifilesink '{self.name}': bad location pattern '{self.location}' ({exc}); "
                              "placeholders: {source_id}, {frame_num}, {pts}, {index}") from None
        if not self.location.lower().endswith((".jpg", ".jpeg")):
            raise ConfigError(f"multifilesink '{self.name}': location must end in .jpg or .jpeg, got '{self.location}'")

    def snapshot(self, source_id: int = ALL_SOURCES) -> None:
        """Save the next frame of ``source_id`` (default: of every source); safe from any thread."""
        with self._lock:
            self._pending.add(source_id)

    def reason_for(self, frame: Frame) -> str:
        """Why this frame is saved ('' when it is not)."""
        with self._lock:
            if frame.source_id in self._pending:
                self._pending.discard(frame.source_id)
                return "event"
        if self.every and frame.frame_num % self.every == 0:
            return "interval"
        if self.classes and len(frame.meta.objects) and np.isin(frame.meta.objects.class_id, self.classes).any():
            last = self._last_class_shot.get(frame.source_id)
            if last is None or frame.frame_num - last >= self.min_interval:
                self._last_class_shot[frame.source_id] = frame.frame_num
                return "classes"
        return ""

    def render(self, batch: Batch) -> None:
        with self._lock:
            if ALL_SOURCES in self._pending:
                # "every source": each source in this batch gets its shot, then the request is done
                self._pending.discard(ALL_SOURCES)
                self._pending.update(f.source_id for f in batch.frames)
        for frame in batch.frames:
            if frame.extra.get("tail"):
                continue
            reason = self.reason_for(frame)
            if reason:
                self.save(frame, reason)

    def save(self, frame: Frame, reason: str = "api") -> Path:
        """Write one frame now."""
        image = frame.image if frame.memory == "cpu" else frame.image.cpu().numpy()
        path = write_jpeg(self.location.format(source_id=frame.source_id, frame_num=frame.frame_num, pts=frame.pts,
                                               index=self._index), image, self.quality)
        self._index += 1
        self.paths.append(path)
        if self.max_files and len(self.paths) > self.max_files:
            self.paths.pop(0).unlink(missing_ok=True)
        self.post(MessageType.ELEMENT, "snapshot", frame.source_id, path=str(path), frame_num=frame.frame_num,
                  reason=reason)
        return path

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, CustomEvent) and event.event_type == "snapshot" and self.on_event:
            self.snapshot(int((event.data or {}).get("source_id", ALL_SOURCES)))
        elif isinstance(event, StreamEOS):
            self._last_class_shot.pop(event.source_id, None)
            with self._lock:
                self._pending.discard(event.source_id)
        super().handle_event(event, pad)
