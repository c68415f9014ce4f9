"""``tiler`` (DeepStream's nvmultistreamtiler): one mosaic frame per batch, objects mapped into it.

Source ``i`` goes to tile ``i`` (row-major). Each source's last image is kept, so a batch that
lacks a source still shows it. The output frame (``source_id`` 0) carries every source's objects
and display meta scaled into tile coordinates, so ``osd`` after ``tiler`` draws them in place;
``objects.data["source_id"]`` says where each object came from. ``show-source`` (settable while
running) shows one source full-size instead.

Example:
    >>> import numpy as np
    >>> from vistream.core.buffer import Frame
    >>> from vistream.elements.tiler import Tiler
    >>> tiler = Tiler(rows=1, columns=2, width=200, height=100)
    >>> frames = [Frame.from_image(np.full((50, 50, 3), 80 * (i + 1), np.uint8), source_id=i) for i in range(2)]
    >>> canvas, objects, displays = tiler.compose(frames)
    >>> canvas.shape, int(canvas[50, 50, 0]), int(canvas[50, 150, 0])
    ((100, 200, 3), 80, 160)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SINK, SRC, Element, Pad
from vistream.core.events import Event, StreamAdded, StreamEOS
from vistream.core.meta import DisplayMeta, Objects
from vistream.core.properties import Property
from vistream.core.registry import register_element


@dataclass(frozen=True)
class TileRect:
    """Where a source lands in the mosaic: offset and scale from source pixels."""

    x: int
    y: int
    width: int
    height: int
    scale_x: float
    scale_y: float

    def map_points(self, points: np.ndarray) -> np.ndarray:
        """Source-frame (x, y) pairs (last axis) into mosaic pixels."""
        out = np.asarray(points, dtype=np.float32).copy()
        out[..., 0::2] = out[..., 0::2] * self.scale_x + self.x
        out[..., 1::2] = out[..., 1::2] * self.scale_y + self.y
        return out


def grid_for(count: int) -> tuple[int, int]:
    """(rows, columns) of the squarest grid holding ``count`` tiles."""
    columns = max(1, math.ceil(math.sqrt(max(count, 1))))
    return max(1, math.ceil(max(count, 1) / columns)), columns


class Tiler:
    """Compose frames of many sources into one mosaic (core of ``tiler``; no pipeline needed).

    ``rows`` / ``columns`` of 0 are worked out from the number of sources seen. ``labels`` draws a
    caption (the source name or ``source N``) in each tile's corner.
    """

    def __init__(self, rows: int = 0, columns: int = 0, width: int = 1280, height: int = 720,
                 labels: bool = False, show_source: int = -1) -> None:
        self.rows, self.columns = rows, columns
        self.width, self.height = width - width % 2, height - height % 2
        self.labels = labels
        self.show_source = show_source
        self.canvas = np.zeros((self.height, self.width, 3), np.uint8)
        self._last: dict[int, Frame] = {}
        self.known_sources: set[int] = set()

    def grid(self) -> tuple[int, int]:
        """(rows, columns) in use now."""
        if self.rows and self.columns:
            return self.rows, self.columns
        count = max([len(self.known_sources), *(s + 1 for s in self.known_sources)], default=1)
        rows, columns = grid_for(count)
        if self.rows:
            return self.rows, max(1, math.ceil(count / self.rows))
        if self.columns:
            return max(1, math.ceil(count / self.columns)), self.columns
        return rows, columns

    def tile_rect(self, source_id: int, frame_width: int, frame_height: int) -> TileRect | None:
        """The tile of ``source_id`` (None when it has no tile)."""
        if self.show_source >= 0:
            if source_id != self.show_source:
                return None
            return TileRect(0, 0, self.width, self.height, self.width / frame_width, self.height / frame_height)
        rows, columns = self.grid()
        if source_id >= rows * columns:
            return None
        tile_w, tile_h = self.width // columns, self.height // rows
        row, column = divmod(source_id, columns)
        return TileRect(column * tile_w, row * tile_h, tile_w, tile_h, tile_w / frame_width, tile_h / frame_height)

    def forget(self, source_id: int) -> None:
        """A source ended: its tile goes black."""
        self._last.pop(source_id, None)
        self.known_sources.discard(source_id)

    def compose(self, frames: Sequence[Frame]) -> tuple[np.ndarray, Objects, list[DisplayMeta]]:
        """Mosaic of the latest frame of every source, with their objects and display meta mapped."""
        for frame in frames:
            self._last[frame.source_id] = frame
            self.known_sources.add(frame.source_id)
        canvas = np.zeros_like(self.canvas)
        objects = Objects()
        displays: list[DisplayMeta] = []
        for source_id, frame in sorted(self._last.items()):
            rect = self.tile_rect(source_id, frame.width, frame.height)
            if rect is None:
                continue
            image = frame.image if frame.memory == "cpu" else frame.image.cpu().numpy()
            tile = cv2.resize(image, (rect.width, rect.height), interpolation=cv2.INTER_AREA
                              if rect.scale_x < 1 else cv2.INTER_LINEAR)
            canvas[rect.y:rect.y + rect.height, rect.x:rect.x + rect.width] = tile
            mapped = frame.meta.objects.copy()
            if len(mapped):
                mapped.xyxy = rect.map_points(mapped.xyxy)
                mapped.set_column("source_id", np.full(len(mapped), source_id, np.int32))
                objects = objects.append(mapped)
            displays.extend(map_display(d, rect) for d in frame.meta.display)
            if self.labels:
                text = frame.meta.source_name or f"source {source_id}"
                cv2.putText(canvas, text, (rect.x + 6, rect.y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                            (255, 255, 255), 2, cv2.LINE_AA)
        return canvas, objects, displays


def map_display(display: DisplayMeta, rect: TileRect) -> DisplayMeta:
    """A copy of ``display`` with every coordinate moved into the tile."""
    def pt(point: Sequence[float]) -> tuple[float, float]:
        x, y = rect.map_points(np.asarray(point, dtype=np.float32)).tolist()
        return x, y

    return DisplayMeta(
        lines=[(pt(a), pt(b), color, thickness) for a, b, color, thickness in display.lines],
        polygons=[([pt(p) for p in points], color, thickness) for points, color, thickness in display.polygons],
        texts=[(pt(origin), text, color) for origin, text, color in display.texts],
        rects=[(tuple(rect.map_points(np.asarray(box, np.float32)).tolist()), color, thickness)
               for box, color, thickness in display.rects],
    )


@register_element("tiler")
class TilerElement(Element):
    """Compose a batch of many sources into one mosaic frame (source 0) with mapped objects."""

    pad_templates = (ANY_SINK, SRC)  # CUDA frames are copied to the host; the mosaic is CPU

    rows = Property(int, 0, "Tile rows (0: from the number of sources)", minimum=0, maximum=64)
    columns = Property(int, 0, "Tile columns (0: from the number of sources)", minimum=0, maximum=64)
    width = Property(int, 1280, "Output width", minimum=16, maximum=8192)
    height = Property(int, 720, "Output height", minimum=16, maximum=8192)
    show_labels = Property(bool, True, "Caption each tile with its source name")
    show_source = Property(int, -1, "Show only this source, full size (-1: all tiles); settable while running",
                           minimum=-1)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.tiler = self._make_tiler()
        self._frame_num = 0
        self._last_pts = 0

    def _make_tiler(self) -> Tiler:
        return Tiler(self.rows, self.columns, self.width, self.height, self.show_labels, self.show_source)

    def start(self) -> None:
        self.tiler = self._make_tiler()
        self._frame_num = 0

    def process(self, batch: Batch) -> Batch | None:
        frames = [f for f in batch.frames if not f.extra.get("tail")]
        if not frames:
            return None
        self.tiler.show_source = self.show_source
        canvas, objects, displays = self.tiler.compose(frames)
        first = frames[0]
        # Sources in one batch may be at different times; the mosaic's own timeline must only go up.
        period = int(1e9 / first.fps) if first.fps else 1
        pts = max(max(f.pts for f in frames), self._last_pts + period) if self._frame_num else max(f.pts for f in frames)
        self._last_pts = pts
        out = Frame.from_image(canvas, source_id=0, frame_num=self._frame_num, pts=pts,
                               ingest_ns=min(f.ingest_ns for f in frames), fps=first.fps, source_name=self.name)
        out.meta.objects = objects
        out.meta.display = displays
        out.meta.user = [u for f in frames for u in f.meta.user]
        out.meta.analytics = {str(f.source_id): f.meta.analytics for f in frames if f.meta.analytics}
        self._frame_num += 1
        return Batch([out])

    def handle_event(self, event: Event, pad: Pad) -> None:
        # One output stream: per-source events end here, or a StreamEOS(0) would close the mosaic's file.
        if isinstance(event, StreamEOS):
            self.tiler.forget(event.source_id)
            return
        if isinstance(event, StreamAdded):
            if event.source_id >= 0:
                self.tiler.known_sources.add(event.source_id)
            return
        super().handle_event(event, pad)
