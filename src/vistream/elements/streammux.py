"""``streammux``: batch frames of many sources (DeepStream's nvstreammux).

Each request pad ``sink_N`` is one source; the frames it delivers get ``source_id = N``.
A batch is pushed when it holds ``batch-size`` frames (by default one per linked source), or when ``batched-push-timeout`` has passed since its first frame. A source's EOS flushes its
frames and travels downstream as :class:`~vistream.core.events.StreamEOS`.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch(
    ...     "testsrc num-buffers=4 ! mux.sink_0  testsrc num-buffers=4 ! mux.sink_1 "
    ...     "streammux name=mux batch-size=2 width=32 height=32 ! appsink name=out")
    >>> _ = p.run(timeout=10)
    >>> sorted(len(b) for b in p["out"].batches)[-1], p["out"].batches[0].frames[0].width
    (2, 32)
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from vistream.accel.preprocess import fit
from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SRC, Element, Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.events import EOS, Event, StreamAdded, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element

INTERPOLATION = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
                 "area": cv2.INTER_AREA}


def letterbox(image: np.ndarray, width: int, height: int, keep_aspect: bool,
              interpolation: int = cv2.INTER_LINEAR, symmetric: bool = True) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Resize ``image`` to ``width`` x ``height``; with ``keep_aspect`` pad with black.

    Returns the image and ``(scale_x, scale_y, pad_x, pad_y)``: output = input * scale + pad.

    Example:
        >>> import numpy as np
        >>> out, t = letterbox(np.zeros((50, 100, 3), np.uint8), 64, 64, keep_aspect=True)
        >>> out.shape, t
        ((64, 64, 3), (0.64, 0.64, 0.0, 16.0))
    """
    in_h, in_w = image.shape[:2]
    if not keep_aspect:
        sx, sy = width / in_w, height / in_h
        return cv2.resize(image, (width, height), interpolation=interpolation), (sx, sy, 0.0, 0.0)
    # The same geometry as infer's letterbox, so boxes map identically in both places.
    new_w, new_h, pad_x, pad_y = fit(in_w, in_h, width, height, True, symmetric)
    scale = min(width / in_w, height / in_h)
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    out = np.zeros((height, width, image.shape[2]), dtype=image.dtype)
    out[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    return out, (scale, scale, float(pad_x), float(pad_y))


@register_element("streammux")
class StreamMux(Element):
    """Batch frames from many sources; scale them to one size if asked."""

    pad_templates = (PadTemplate("sink_%u", PadDirection.SINK, PadPresence.REQUEST, ("any",)), ANY_SRC)
    queue_capacity = 4
    stream_stats_rank = 2  # per-source counts at the muxer stay exact when a tiler merges streams

    batch_size = Property(int, 0, "Frames per batch (0: the number of linked sources)", minimum=0)
    batched_push_timeout = Property(int, -1, "Microseconds to wait for a full batch after its first frame "
                                    "(-1: one frame interval of the fastest source)", minimum=-1)
    width = Property(int, 0, "Output width (0: keep each source's size)", minimum=0)
    height = Property(int, 0, "Output height (0: keep each source's size)", minimum=0)
    enable_padding = Property(bool, False, "Keep the aspect ratio when scaling, padding with black")
    interpolation = Property(str, "bilinear", "Scaling filter", choices=tuple(INTERPOLATION))
    live_source = Property(bool, False, "Sources are live: always push on timeout, never wait for slow sources")
    max_same_source_frames = Property(int, 0, "Most frames of one source in a batch (0: no limit)", minimum=0)
    drop_pipeline_eos = Property(bool, False, "Stay alive when every source has ended (service mode)")

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self._pending: list[Frame] = []
        self._first_at = 0.0
        self._active: set[int] = set()
        self._fps: dict[int, float] = {}
        self._timeout: float | None = None
        self.frames_in = 0
        self.batches_out = 0

    def start(self) -> None:
        self._pending = []
        self._active = {self._pad_index(p) for p in self.sink_pads() if p.is_linked}

    @staticmethod
    def _pad_index(pad: Pad) -> int:
        return int(pad.name.rsplit("_", 1)[1])

    # ---- batching ------------------------------------------------------------------------------------
    @property
    def effective_batch_size(self) -> int:
        return self.batch_size or max(1, len(self._active))

    def timeout_seconds(self) -> float:
        """The push timeout in seconds (cached: asked on every turn of the element's loop)."""
        if self.batched_push_timeout >= 0:
            return self.batched_push_timeout / 1e6
        if self._timeout is None:
            fastest = max((fps for sid, fps in self._fps.items() if sid in self._active and fps > 0), default=30.0)
            self._timeout = 1.0 / fastest
        return self._timeout

    def _scale(self, frame: Frame) -> None:
        if not (self.width and self.height) or frame.memory != "cpu":
            return
        if frame.width == self.width and frame.height == self.height:
            return
        image, transform = letterbox(frame.image, self.width, self.height, self.enable_padding,
                                     INTERPOLATION[self.interpolation])
        frame.extra["mux_transform"] = transform
        frame.meta.objects.xyxy = frame.meta.objects.xyxy * np.array(transform[:2] * 2, np.float32) + \
            np.array(transform[2:] * 2, np.float32)
        frame.set_image(image)

    def accept(self, frame: Frame, source_id: int) -> None:
        frame.meta.source_id = source_id
        self.stream_stats.record(source_id)  # counts only: latency is measured at the sinks
        if source_id not in self._active:
            self._active.add(source_id)
            self._timeout = None
        if frame.fps and self._fps.get(source_id) != frame.fps:
            self._fps[source_id] = frame.fps
            self._timeout = None
        self._scale(frame)
        if not self._pending:
            self._first_at = time.monotonic()
        if self.max_same_source_frames:
            same = sum(1 for f in self._pending if f.source_id == source_id)
            if same >= self.max_same_source_frames:
                self._flush()
                self._first_at = time.monotonic()
        self._pending.append(frame)
        self.frames_in += 1
        if len(self._pending) >= self.effective_batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        frames, self._pending = self._pending, []
        self.batches_out += 1
        self.push(Batch(frames))

    def next_deadline(self) -> float | None:
        return self._first_at + self.timeout_seconds() if self._pending else None

    def on_timeout(self) -> None:
        self._flush()

    def items_wanted(self) -> int:
        """The first frame of a batch wakes the thread (it starts the push timeout); then the rest of the batch."""
        return max(1, self.effective_batch_size - len(self._pending)) if self._pending else 1

    # ---- runner hooks --------------------------------------------------------------------------------
    def handle_event(self, event: Event, pad: Pad) -> None:
        source_id = self._pad_index(pad)
        if isinstance(event, StreamAdded):
            if source_id not in self._active:
                self._active.add(source_id)
                self._timeout = None
            self.push_event(StreamAdded(source_id, event.name, event.uri))
            return
        if isinstance(event, (EOS, StreamEOS)):
            self._end_source(source_id, pad)
            return
        self.push_event(event)

    def _end_source(self, source_id: int, pad: Pad) -> None:
        if any(f.source_id == source_id for f in self._pending):
            self._flush()
        self._active.discard(source_id)
        self._fps.pop(source_id, None)
        self._timeout = None
        self.push_event(StreamEOS(source_id))
        # Release the request pad so a new source can take its index (queue first: a new pad of
        # the same name must not lose what is queued for it).
        runner = getattr(self, "_runner", None)
        if runner is not None:
            runner.queue.remove_pad(pad.name)
        if pad.peer is not None:
            pad.peer.peer = None
        self.release_pad(pad)
        if not self.sink_pads() and not self.drop_pipeline_eos:
            self._flush()
            self.push_event(EOS())
            self.finished = True

    def receive(self, batch: Batch, pad: Pad) -> None:
        source_id = self._pad_index(pad)
        for frame in batch.frames:
            self.accept(frame, source_id)
        return None
