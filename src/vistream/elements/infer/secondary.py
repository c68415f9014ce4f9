"""Secondary inference: which objects to infer on, and the per-object classifier cache.

An object is eligible when it was made by ``operate-on-gie-id`` (any when -1), its class is in
``operate-on-class-ids`` (any when empty) and its box is within the input-object size limits.
A tracked object's verdict is cached by ``(source_id, object_id)`` and re-inferred only when its
box area grows by 20 % or more since the last inference, or after ``secondary-reinfer-interval``
frames (0: never by time). Untracked objects (``object_id == -1``) are inferred every time.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> objs = Objects.from_arrays([[0, 0, 10, 10], [0, 0, 50, 50]], class_id=[0, 2], component_id=1)
    >>> ObjectFilter(operate_on_gie_id=1, class_ids=[2]).select(objs).tolist()
    [1]
    >>> cache = ClassifierCache(reinfer_interval=0)
    >>> cache.needs_inference(0, 7, np.array([0, 0, 10, 10]), frame_num=0)
    True
    >>> cache.store(0, 7, np.array([0, 0, 10, 10]), 0, ["car"])
    >>> cache.needs_inference(0, 7, np.array([0, 0, 11, 10.9]), frame_num=5)
    False
    >>> cache.needs_inference(0, 7, np.array([0, 0, 11, 11]), frame_num=6)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vistream.core.meta import Objects

#: a cached verdict is refreshed when the box area grows by this factor (DeepStream's 20 %)
GROWTH = 1.2


@dataclass
class ObjectFilter:
    """Which objects a secondary element works on (sizes in source-frame pixels; 0 = no limit)."""

    operate_on_gie_id: int = -1
    class_ids: Sequence[int] = ()
    min_width: float = 0
    min_height: float = 0
    max_width: float = 0
    max_height: float = 0

    def select(self, objects: Objects) -> np.ndarray:
        """Indices of the eligible objects."""
        widths = objects.xyxy[:, 2] - objects.xyxy[:, 0]
        heights = objects.xyxy[:, 3] - objects.xyxy[:, 1]
        keep = (widths > 0) & (heights > 0)
        if self.operate_on_gie_id >= 0:
            keep &= objects.component_id == self.operate_on_gie_id
        if len(self.class_ids):
            keep &= np.isin(objects.class_id, list(self.class_ids))
        keep &= (widths >= self.min_width) & (heights >= self.min_height)
        if self.max_width > 0:
            keep &= widths <= self.max_width
        if self.max_height > 0:
            keep &= heights <= self.max_height
        return np.flatnonzero(keep)


@dataclass
class _Entry:
    area: float
    frame_num: int
    result: Any
    seen: int


@dataclass
class ClassifierCache:
    """Cached verdicts of tracked objects, per source."""

    reinfer_interval: int = 0
    forget_after: int = 300  # frames an object may be unseen before its entry is dropped
    _entries: dict[tuple[int, int], _Entry] = field(default_factory=dict)
    inferences: int = 0  # objects actually inferred (for tests and stats)

    @staticmethod
    def _area(box: np.ndarray) -> float:
        return float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))

    def needs_inference(self, source_id: int, object_id: int, box: np.ndarray, frame_num: int) -> bool:
        """Whether this object must be inferred on this frame."""
        if object_id < 0:
            return True
        entry = self._entries.get((source_id, object_id))
        if entry is None:
            return True
        entry.seen = frame_num
        if self._area(box) >= GROWTH * entry.area:
            return True
        return self.reinfer_interval > 0 and frame_num - entry.frame_num >= self.reinfer_interval

    def get(self, source_id: int, object_id: int) -> Any:
        entry = self._entries.get((source_id, object_id))
        return None if entry is None else entry.result

    def store(self, source_id: int, object_id: int, box: np.ndarray, frame_num: int, result: Any) -> None:
        """Remember a fresh verdict (untracked objects are not cached)."""
        self.inferences += 1
        if object_id >= 0:
            self._entries[(source_id, object_id)] = _Entry(self._area(box), frame_num, result, frame_num)

    def prune(self, source_id: int, frame_num: int) -> None:
        """Drop entries of ``source_id`` not seen for ``forget_after`` frames."""
        stale = [key for key, entry in self._entries.items()
                 if key[0] == source_id and frame_num - entry.seen > self.forget_after]
        for key in stale:
            del self._entries[key]

    def drop_source(self, source_id: int) -> None:
        for key in [k for k in self._entries if k[0] == source_id]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
