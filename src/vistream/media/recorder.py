"""``recorder`` (DeepStream's smart record): event-triggered clips with pre-roll, per stream.

A pass-through element: frames go on unchanged while it keeps each stream's encoded packets
(from ``encode`` upstream, or its own encoder for raw frames) in a pre-roll ring. A clip starts on

- metadata: objects of ``trigger-classes`` or analytics events of ``trigger-events``
  (``frame.meta.analytics["events"][*]["type"]``) in a frame;
- an in-band ``CustomEvent("record", {"source_id": 0, "before": 2, "after": 5})`` (no
  ``source_id``: every stream);
- the API: ``recorder.trigger(source_id, before=, after=)`` from any thread or a probe.

Each clip covers from the last keyframe at or before ``trigger - before`` to ``trigger + after``
(at most ``max-duration``), is named ``{prefix}_{source_id}_{UTC time}.{container}``, and a bus
message ``recording-done`` (type ELEMENT, data: path, source_id, frames, first/last pts, duration)
says when it is written.

Example:
    >>> import vistream, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> p = vistream.parse_launch(f"testsrc num-buffers=60 width=64 height=48 framerate=10 ! encode gop=10 "
    ...                           f"! recorder name=rec directory={folder} before=1 after=2 ! fakesink")
    >>> def at_frame_30(batch):
    ...     if batch.frames[0].frame_num == 30:
    ...         p["rec"].trigger(0)
    >>> _ = p["rec"].src.add_probe(at_frame_30)  # runs in the recorder's thread, after frame 30
    >>> _ = p.run(timeout=30)
    >>> [(m.text, m.data["frames"]) for m in p.bus.messages() if m.text == "recording-done"]
    [('recording-done', 31)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SINK, ANY_SRC, Element, Pad
from vistream.core.errors import ConfigError
from vistream.core.events import EOS, CustomEvent, Event, MessageType, StreamEOS
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.media.encode import VideoEncoder
from vistream.media.smartrecord import Clip, SmartRecorder


@register_element("recorder")
class Recorder(Element):
    """Record clips around events with pre-roll of encoded video (smart record)."""

    pad_templates = (ANY_SINK, ANY_SRC)

    directory = Property(str, "recordings", "Folder of the clips")
    prefix = Property(str, "clip", "Start of clip file names: {prefix}_{source_id}_{time}.{container}")
    container = Property(str, "mp4", "Clip container", choices=("mp4", "mkv", "ts"))
    cache = Property(float, 20.0, "Seconds of pre-roll kept per stream", minimum=0.0)
    before = Property(float, 5.0, "Default seconds recorded before the event", minimum=0.0)
    after = Property(float, 5.0, "Default seconds recorded after the event", minimum=0.0)
    max_duration = Property(float, 60.0, "Longest clip in seconds", minimum=0.1)
    trigger_classes = Property("int-list", [], "Class ids whose presence in a frame starts a clip")
    trigger_events = Property("str-list", [], "Analytics event types that start a clip (e.g. crossed;overcrowded)")
    cooldown = Property(float, 0.0, "Seconds after a clip ends before metadata may start the next", minimum=0.0)
    gop = Property(int, 0, "Keyframe interval of the own encoder for raw frames (0: one second)", minimum=0)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.recorder: SmartRecorder | None = None
        self.clips: list[Clip] = []
        self._own_encoders: dict[int, VideoEncoder] = {}
        self._quiet_until: dict[int, int] = {}

    def start(self) -> None:
        try:
            self.recorder = SmartRecorder(self.directory, self.prefix, self.cache, self.before, self.after,
                                          self.max_duration, self.container, on_done=self._done)
        except ConfigError as exc:
            raise ConfigError(f"recorder '{self.name}': {exc}") from None
        self._own_encoders = {}
        self._quiet_until = {}

    def _core(self) -> SmartRecorder:
        if self.recorder is None:
            self.start()
        assert self.recorder is not None
        return self.recorder

    # ---- API -----------------------------------------------------------------------------------
    def trigger(self, source_id: int, before: float | None = None, after: float | None = None,
                at_ns: int | None = None) -> Clip | None:
        """Start a clip of ``source_id`` around its newest frame (or ``at_ns``); None if one is running."""
        clip = self._core().trigger(source_id, at_ns, before, after)
        if clip is not None:
            self.post(MessageType.ELEMENT, "recording-started", source_id, path=str(clip.path),
                      trigger_ns=clip.trigger_ns)
        return clip

    def _done(self, clip: Clip) -> None:
        self.clips.append(clip)
        self._quiet_until[clip.source_id] = (clip.last_pts_ns or clip.end_ns) + int(self.cooldown * 1e9)
        self.post(MessageType.ELEMENT, "recording-done", clip.source_id, path=str(clip.path), frames=clip.frames,
                  first_pts_ns=clip.first_pts_ns, last_pts_ns=clip.last_pts_ns, duration=clip.duration,
                  complete=clip.complete, reason=clip.reason)

    # ---- data flow -----------------------------------------------------------------------------
    def process(self, batch: Batch) -> Batch:
        core = self._core()
        for frame in batch.frames:
            packets, encoder = self._packets(frame)
            if not frame.extra.get("tail"):
                core.note_time(frame.source_id, frame.pts)
            core.add(frame.source_id, packets, encoder)
            if not frame.extra.get("tail") and self._metadata_wants_clip(frame):
                self.trigger(frame.source_id, at_ns=frame.pts)
        return batch

    def _metadata_wants_clip(self, frame: Frame) -> bool:
        if frame.pts < self._quiet_until.get(frame.source_id, -1):
            return False
        if self.trigger_classes and len(frame.meta.objects):
            if np.isin(frame.meta.objects.class_id, self.trigger_classes).any():
                return True
        if self.trigger_events:
            events = frame.meta.analytics.get("events", [])
            return any(isinstance(e, dict) and e.get("type") in self.trigger_events for e in events)
        return False

    def _packets(self, frame: Frame) -> tuple[list[Any], VideoEncoder]:
        if "packets" in frame.extra:
            return frame.extra["packets"], frame.extra["encoder"]
        encoder = self._own_encoders.get(frame.source_id)
        if encoder is None:
            fps = frame.fps or 30.0
            encoder = VideoEncoder(frame.width, frame.height, fps=fps, gop=self.gop or max(1, round(fps)),
                                   zerolatency=True)
            self._own_encoders[frame.source_id] = encoder
        image = frame.image if frame.memory == "cpu" else frame.image.cpu().numpy()
        return encoder.encode(image, frame.pts), encoder

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, CustomEvent) and event.event_type == "record":
            data = event.data or {}
            sources = [int(data["source_id"])] if "source_id" in data else list(self._core().rings)
            for source_id in sources:
                self.trigger(source_id, data.get("before"), data.get("after"))
        elif isinstance(event, StreamEOS):
            self._flush_own(event.source_id)
            self._core().close(event.source_id)
            self._quiet_until.pop(event.source_id, None)
        elif isinstance(event, EOS):
            for source_id in list(self._own_encoders):
                self._flush_own(source_id)
            self._core().close()
        super().handle_event(event, pad)

    def _flush_own(self, source_id: int) -> None:
        encoder = self._own_encoders.pop(source_id, None)
        if encoder is not None:
            self._core().add(source_id, encoder.flush(), encoder)

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.close(reason="pipeline stopped")
