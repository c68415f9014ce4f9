"""``osd`` (DeepStream's nvdsosd): draw boxes, labels, track trails, display meta and privacy masks.

The drawing itself is :func:`vistream.accel.draw.draw_frame`; :class:`BoxAnnotator` makes it usable
without a pipeline, and :class:`TrailHistory` keeps the recent centres of each track.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.osd import BoxAnnotator
    >>> image = np.zeros((120, 160, 3), np.uint8)
    >>> objects = Objects.from_arrays([[20, 30, 90, 100]], confidence=[0.9], class_id=[2], labels=["car"])
    >>> out = BoxAnnotator(border_width=1).annotate(image, objects)
    >>> bool(out[30, 50].any()), bool(out[60, 50].any())
    (True, False)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vistream.accel.draw import PRIVACY_MODES, DrawStyle, draw_frame
from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SINK, ANY_SRC, Element, Pad
from vistream.core.errors import ConfigError
from vistream.core.events import Event, StreamEOS
from vistream.core.meta import DisplayMeta, Objects
from vistream.core.properties import Property
from vistream.core.registry import register_element

Drawer = Callable[[Any, Objects, Sequence[DisplayMeta], DrawStyle, Sequence[tuple[int, np.ndarray]]], Any]


def parse_colors(value: Any) -> dict[int, tuple[int, int, int]]:
    """Class colours from a dict ``{class_id: (r, g, b)}`` or a string ``"0:255,0,0;2:0,0,255"``."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in str(value).split(";"):
            if part.strip():
                key, _, rgb = part.partition(":")
                items.append((key, rgb.split(",")))
    colors = {}
    for key, rgb in items:
        channels = [int(c) for c in rgb]
        if len(channels) != 3 or not all(0 <= c <= 255 for c in channels):
            raise ValueError(f"colour of class {key} must be three values 0-255 (r,g,b), got {rgb!r}")
        colors[int(key)] = (channels[0], channels[1], channels[2])
    return colors


class TrailHistory:
    """Recent box centres (bottom-centre) of each track id, per source; forgets lost tracks."""

    def __init__(self, length: int = 30) -> None:
        self.length = length
        self._points: dict[int, dict[int, deque[tuple[float, float]]]] = {}
        self._last_seen: dict[int, dict[int, int]] = {}
        self._ticks: dict[int, int] = {}

    def update(self, source_id: int, objects: Objects) -> list[tuple[int, np.ndarray]]:
        """Add this frame's tracked objects; returns ``(track_id, points [K, 2])`` per live track."""
        points = self._points.setdefault(source_id, {})
        seen = self._last_seen.setdefault(source_id, {})
        tick = self._ticks.get(source_id, 0) + 1
        self._ticks[source_id] = tick
        tracked = objects.object_id >= 0
        if tracked.any():
            boxes = objects.xyxy[tracked]
            anchors = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], 1).tolist()
            for track_id, anchor in zip(objects.object_id[tracked].tolist(), anchors, strict=True):
                points.setdefault(track_id, deque(maxlen=self.length)).append((anchor[0], anchor[1]))
                seen[track_id] = tick
        for track_id in [t for t, last in seen.items() if tick - last > self.length]:
            del seen[track_id], points[track_id]
        return [(t, np.asarray(p, dtype=np.float32)) for t, p in points.items() if seen[t] == tick]

    def forget(self, source_id: int) -> None:
        """Drop a source's trails (at its end of stream)."""
        self._points.pop(source_id, None)
        self._last_seen.pop(source_id, None)
        self._ticks.pop(source_id, None)


class BoxAnnotator:
    """Draw objects (and display meta) on an RGB image without a pipeline.

    Keyword arguments are :class:`~vistream.accel.draw.DrawStyle` fields.
    """

    def __init__(self, **style: Any) -> None:
        self.style = DrawStyle(**style)

    def annotate(self, image: np.ndarray, objects: Objects, displays: Sequence[DisplayMeta] = (),
                 trails: Sequence[tuple[int, np.ndarray]] = (), copy: bool = True) -> np.ndarray:
        """Return ``image`` with the drawing (a copy unless ``copy=False``)."""
        target = image.copy() if copy else image
        return draw_frame(target, objects, displays, self.style, trails)


def cpu_fallback_drawer(image: Any, objects: Objects, displays: Sequence[DisplayMeta], style: DrawStyle,
                        trails: Sequence[tuple[int, np.ndarray]] = ()) -> Any:
    """Draw on a host copy of a CUDA RGB tensor (HxWx3 or 3xHxW) and copy it back.

    Used when the GPU drawer (``vistream.accel.cuda_draw.draw_frame``) cannot be imported.
    """
    import torch

    channels_first = image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3
    hwc = image.permute(1, 2, 0) if channels_first else image
    host = np.ascontiguousarray(hwc.cpu().numpy())
    draw_frame(host, objects, displays, style, trails)
    hwc.copy_(torch.from_numpy(host).to(image.device))
    return image


def drawer_for(memory: str) -> Drawer:
    """The drawing function for frames in ``memory``: CPU OpenCV, or the GPU one when installed."""
    if memory == "cuda":
        try:
            from vistream.accel import cuda_draw
        except ImportError:
            return cpu_fallback_drawer
        return cuda_draw.draw_frame
    return draw_frame


@register_element("osd")
class Osd(Element):
    """Draw boxes, labels (class, confidence, track id), trails, display meta; blur chosen classes."""

    pad_templates = (ANY_SINK, ANY_SRC)

    display_bbox = Property(bool, True, "Draw object boxes")
    display_text = Property(bool, True, "Draw the class label above each box")
    display_confidence = Property(bool, True, "Add the confidence to the label")
    display_track_id = Property(bool, True, "Add the track id to the label")
    border_width = Property(int, 2, "Box outline width in pixels", minimum=1, maximum=64)
    font_scale = Property(float, 0.5, "Label text scale", minimum=0.1, maximum=10)
    text_background = Property(bool, True, "Fill the label background with the object's colour")
    colors = Property(parse_colors, {}, "Colour per class id, e.g. '0:255,0,0;2:0,0,255' (others: palette)")
    trail_length = Property(int, 0, "Points in each track's trail (0: no trails)", minimum=0, maximum=1000)
    privacy_classes = Property("int-list", [], "Class ids to mask instead of draw (e.g. faces, plates)")
    privacy_mode = Property(str, "blur", "How to mask privacy classes", choices=PRIVACY_MODES)
    privacy_strength = Property(int, 16, "Blur kernel / pixel block size of the mask", minimum=2, maximum=256)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.trails = TrailHistory()

    def style(self) -> DrawStyle:
        """The :class:`DrawStyle` of the current properties (they may change while running)."""
        try:
            return DrawStyle(
                border_width=self.border_width, font_scale=self.font_scale, show_boxes=self.display_bbox,
                show_labels=self.display_text, show_confidence=self.display_text and self.display_confidence,
                show_track_id=self.display_text and self.display_track_id, text_background=self.text_background,
                colors=self.colors, privacy_classes=tuple(self.privacy_classes), privacy_mode=self.privacy_mode,
                privacy_strength=self.privacy_strength)
        except ConfigError as exc:
            raise ConfigError(f"osd '{self.name}': {exc}") from None

    def start(self) -> None:
        self.style()
        self.trails = TrailHistory(max(self.trail_length, 1))

    def draw(self, frame: Frame, style: DrawStyle) -> None:
        """Draw one frame in place."""
        trails = self.trails.update(frame.source_id, frame.meta.objects) if self.trail_length else ()
        drawer_for(frame.memory)(frame.image, frame.meta.objects, frame.meta.display, style, trails)

    def process(self, batch: Batch) -> Batch:
        style = self.style()
        for frame in batch.frames:
            if frame.extra.get("tail"):
                continue
            if frame.memory == "cpu" and not frame.image.flags.writeable:
                frame.image = frame.image.copy()
            self.draw(frame, style)
        return batch

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            self.trails.forget(event.source_id)
        super().handle_event(event, pad)
