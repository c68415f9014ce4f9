"""``tracker``: give detections persistent ids across frames (DeepStream's nvtracker).

A batch may hold frames of many streams: they are tracked in one vectorised pass (one frame per
stream at a time; pairs of different streams never match), and each stream keeps its own tracks
and ids, dropped on its EOS. On frames where no detector ran (``infer``'s ``interval``), tracks
are predicted and output, so every frame carries objects. Settings come from a YAML file
(``config=tracker.yml``, vistream or DeepStream NvMultiObjectTracker keys) and properties, which
override the file.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch(
    ...     "testsrc pattern=scene num-objects=3 num-buffers=6 ! oracle-detector interval=2 "
    ...     "! tracker algorithm=bytetrack probation-age=1 ! appsink name=out")
    >>> _ = p.run(timeout=20)
    >>> [len(b.frames[0].meta.objects) for b in p["out"].batches]
    [3, 3, 3, 3, 3, 3]
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import Element, Pad
from vistream.core.events import Event, StreamEOS
from vistream.core.meta import Objects
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.elements.track import TRACKERS, Tracker
from vistream.elements.track.base import TrackInput
from vistream.elements.track.config import ALGORITHMS, TrackerConfig

log = logging.getLogger(__name__)

#: property name -> TrackerConfig field, for properties that override the config file
_OVERRIDES = {
    "algorithm": "algorithm",
    "probation_age": "probation_age",
    "max_shadow_tracking_age": "max_shadow_tracking_age",
    "early_termination_age": "early_termination_age",
    "min_detector_confidence": "min_detector_confidence",
    "high_confidence": "high_confidence",
    "new_track_confidence": "new_track_confidence",
    "min_iou": "min_iou",
    "check_class_match": "check_class_match",
    "use_unique_id": "use_unique_id",
    "output_past_frame": "output_past_frame",
    "shadow_output_age": "shadow_output_age",
    "embedding_key": "embedding_key",
}

PAST_FRAME_META = "tracker-past-frame"


def _default(field: str) -> str:
    """' (default: X)' for a property doc, X taken from TrackerConfig."""
    return f" (default: {getattr(TrackerConfig, field)})"


@register_element("tracker")
class TrackerElement(Element):
    """Multi-object tracker: IOU, SORT, ByteTrack or DeepSORT-style appearance matching."""

    config = Property(str, None, "Tracker YAML file (vistream or DeepStream NvMultiObjectTracker keys)")
    algorithm = Property(str, None, "Algorithm (default: from config, else bytetrack)", choices=ALGORITHMS)
    probation_age = Property(int, None, "Matches before a new track is confirmed and output [probationAge]" + _default("probation_age"), minimum=1)
    max_shadow_tracking_age = Property(int, None, "Detection frames a lost track is kept [maxShadowTrackingAge]" + _default("max_shadow_tracking_age"), minimum=0)
    early_termination_age = Property(int, None, "Misses that end a tentative track [earlyTerminationAge]" + _default("early_termination_age"), minimum=0)
    min_detector_confidence = Property(float, None, "Ignore detections below this [minDetectorConfidence]" + _default("min_detector_confidence"),
                                       minimum=0.0, maximum=1.0)
    high_confidence = Property(float, None, "First-stage confidence; lower ones only continue tracks" + _default("high_confidence"),
                               minimum=0.0, maximum=1.0)
    new_track_confidence = Property(float, None, "Confidence a detection needs to start a track" + _default("new_track_confidence"), minimum=0.0, maximum=1.0)
    min_iou = Property(float, None, "Least IoU for a match [minMatchingScore4Iou]" + _default("min_iou"), minimum=0.0, maximum=1.0)
    check_class_match = Property(bool, None, "Match only objects of the same class [checkClassMatch]" + _default("check_class_match"))
    use_unique_id = Property(bool, None, "Ids unique across streams (source_id << 32 | n) [useUniqueID]" + _default("use_unique_id"))
    output_past_frame = Property(bool, None, f"Attach past-frame data of late-confirmed tracks as '{PAST_FRAME_META}' user meta" + _default("output_past_frame"))
    shadow_output_age = Property(int, None, "Detection frames a missed track is still output, predicted"
                                 + _default("shadow_output_age"), minimum=0)
    embedding_key = Property(str, None, "Object column with re-ID embeddings (deepsort)" + _default("embedding_key"))
    operate_on_gie_id = Property(int, -1, "Track only objects of this component (unique-id); -1: all", minimum=-1)
    detection_frames = Property(
        str, "auto", "Which frames carry detections: 'inferred' (frame.meta.inferred says so), 'all', or "
        "'auto' (inferred once a stream shows inference marks, else all)", choices=("auto", "inferred", "all"))

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self._tracker: Tracker | None = None
        self._inference_marked: set[int] = set()
        self._settings: TrackerConfig | None = None
        self._warned_embeddings: set[int] = set()

    @property
    def settings(self) -> TrackerConfig:
        """The effective configuration (file + properties), built on first use."""
        if self._settings is None:
            self._settings = self.build_config()
        return self._settings

    def build_config(self) -> TrackerConfig:
        """Read the config file (if any) and apply the properties that were set."""
        base = TrackerConfig.from_file(self.config) if self.config else TrackerConfig()
        changes = {field: getattr(self, attr) for attr, field in _OVERRIDES.items() if getattr(self, attr) is not None}
        merged = TrackerConfig.from_mapping(changes, origin=f"element '{self.name}' properties", base=base)
        merged.unsupported = list(base.unsupported)
        return merged

    def start(self) -> None:
        self._settings = self.build_config()
        self._tracker = None
        self._inference_marked.clear()
        if self._settings.unsupported:
            text = (f"tracker config '{self.config}': keys without a meaning here, ignored: "
                    f"{', '.join(self._settings.unsupported)}")
            log.warning("%s: %s", self.name, text)
            self.post_warning(text)

    @property
    def tracker(self) -> Tracker:
        """The tracker of every stream (created on first use)."""
        if self._tracker is None:
            config = self.settings
            self._tracker = TRACKERS[config.algorithm](config)
        return self._tracker

    def process(self, batch: Batch) -> Batch:
        for round_ in self.rounds(batch.frames):
            self.track_frames(round_)
        return batch

    @staticmethod
    def rounds(frames: list[Frame]) -> list[list[Frame]]:
        """Frames grouped for :meth:`track_frames`: at most one frame of a stream per group, a
        stream's frames in order (a batch holds two frames of a stream when it runs ahead)."""
        seen: dict[int, int] = {}
        groups: list[list[Frame]] = []
        for frame in frames:
            occurrence = seen[frame.source_id] = seen.get(frame.source_id, -1) + 1
            if occurrence == len(groups):
                groups.append([])
            groups[occurrence].append(frame)
        return groups

    def track_frames(self, frames: list[Frame]) -> None:
        """Track frames of different streams together, in place (ids set, predictions added on
        frames without detection)."""
        tracker = self.tracker
        inputs, passed = [], []
        for frame in frames:
            meta = frame.meta
            objects = meta.objects
            rest = None
            if self.operate_on_gie_id >= 0 and len(objects):
                mine = objects.component_id == self.operate_on_gie_id
                rest = objects.select(~mine)
                objects = objects.select(mine)
            detected = self.is_detection_frame(frame)
            if detected and tracker.config.algorithm == "deepsort":
                self._attach_embeddings(frame, objects, tracker.config)
            inputs.append(TrackInput(meta.source_id, objects, meta.frame_num, detected))
            passed.append(rest)
        # Frames whose objects have other extra columns go separately, so none gains another's.
        by_columns: dict[tuple[str, ...], list[int]] = {}
        for index, item in enumerate(inputs):
            by_columns.setdefault(tuple(item.objects.data), []).append(index)
        results: list[Any] = [None] * len(inputs)
        for indices in by_columns.values():
            for index, result in zip(indices, tracker.update_many([inputs[i] for i in indices]), strict=True):
                results[index] = result
        for frame, rest, result in zip(frames, passed, results, strict=True):
            out = result.objects
            frame.meta.objects = rest.append(out) if rest is not None and len(rest) else out
            if result.past_frame:
                frame.meta.add_user_meta(PAST_FRAME_META, result.past_frame)

    def is_detection_frame(self, frame: Frame) -> bool:
        """Whether a detector ran on this frame (see ``detection-frames``)."""
        if self.detection_frames == "all":
            return True
        inferred = frame.meta.inferred
        if inferred:
            self._inference_marked.add(frame.source_id)
        elif self.detection_frames == "auto" and frame.source_id not in self._inference_marked:
            return True
        if self.operate_on_gie_id >= 0:
            return bool(inferred.get(self.operate_on_gie_id))
        return any(inferred.values())

    def _attach_embeddings(self, frame: Frame, objects: Objects, config: TrackerConfig) -> None:
        """Fill ``objects.data[embedding_key]`` from per-object tensor output when missing."""
        if config.embedding_key in objects.data or len(objects) == 0:
            return
        per_object = [t for t in frame.meta.tensors if t.object_index >= 0 and t.tensors
                      and config.embedding_component_id in (-1, t.component_id)]
        if not per_object:
            if frame.source_id not in self._warned_embeddings:
                self._warned_embeddings.add(frame.source_id)
                self.post_warning(f"no '{config.embedding_key}' embeddings on the objects of source "
                                  f"{frame.source_id}: deepsort matches by motion only", frame.source_id)
            return
        vectors: dict[int, np.ndarray] = {}
        for tensor in per_object:
            vectors[tensor.object_index] = np.asarray(tensor.tensors[0], dtype=np.float32).ravel()
        width = len(next(iter(vectors.values())))
        table = np.zeros((len(objects), width), dtype=np.float32)
        for index, vector in vectors.items():
            if index < len(objects) and len(vector) == width:
                table[index] = vector
        objects.set_column(config.embedding_key, table)

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            if self._tracker is not None:
                self._tracker.forget(event.source_id)
            self._inference_marked.discard(event.source_id)
        super().handle_event(event, pad)
