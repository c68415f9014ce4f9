"""Direction of travel: the configured direction closest to each tracked object's smoothed motion.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.analytics.direction import DirectionDetection
    >>> detect = DirectionDetection({"South": [(0, 0), (0, 10)], "North": [(0, 10), (0, 0)]})
    >>> for frame in range(4):
    ...     names = detect.update(Objects.from_arrays([[0, 5 * frame, 10, 5 * frame + 10]], object_id=[1]), frame)
    >>> names.tolist(), round(float(detect.heading_deg[0]))
    (['South'], 90)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.analytics.geometry import anchor_points
from vistream.elements.analytics.memory import TrackMemory

_MODE_COS = {"loose": float(np.cos(np.radians(90))), "balanced": float(np.cos(np.radians(45))),
             "strict": float(np.cos(np.radians(22.5)))}


class DirectionDetection:
    """Name each tracked object's direction (or ``""`` while it stands still or matches none).

    Args:
        directions: name -> vector ``(from, to)``.
        classes: class ids considered (None: all).
        mode: how close the motion must be to a vector: ``loose`` 90, ``balanced`` 45, ``strict``
            22.5 degrees.
        smoothing: weight of the newest step in the motion average (0..1].
        min_speed: pixels per frame below which an object has no direction.
    """

    def __init__(self, directions: Mapping[str, Sequence[Sequence[float]] | np.ndarray],
                 classes: Sequence[int] | None = None, mode: str = "balanced", smoothing: float = 0.5,
                 min_speed: float = 0.5, anchor: str = "bottom-center", max_age: int = 30) -> None:
        self.names = np.array(list(directions), dtype=object)
        vectors = np.array([np.subtract(v[1], v[0]) for v in directions.values()], dtype=np.float64).reshape(-1, 2)
        self.unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        self.classes = None if classes is None else np.asarray(list(classes), dtype=np.int64)
        self.min_cos = _MODE_COS[mode]
        self.smoothing = smoothing
        self.min_speed = min_speed
        self.anchor = anchor
        self._memory = TrackMemory(width=4, max_age=max_age)  # x, y, vx, vy
        self.heading_deg = np.zeros(0)
        self.speed = np.zeros(0)

    def update(self, objects: Objects, frame_num: int) -> np.ndarray:
        """Direction name per object (object array of str); sets :attr:`heading_deg` and :attr:`speed`."""
        n = len(objects)
        names = np.full(n, "", dtype=object)
        self.heading_deg = np.zeros(n)
        self.speed = np.zeros(n)
        mask = objects.object_id >= 0
        if self.classes is not None:
            mask &= np.isin(objects.class_id, self.classes)
        index = np.flatnonzero(mask)
        if len(index):
            ids = objects.object_id[index]
            points = anchor_points(objects.xyxy[index], self.anchor)
            found, previous = self._memory.lookup(ids)
            gap = np.maximum(frame_num - np.where(found, self._last_seen(ids), frame_num - 1), 1)
            step = np.where(found[:, None], (points - previous[:, :2]) / gap[:, None], 0.0)
            velocity = np.where(found[:, None], (1 - self.smoothing) * np.nan_to_num(previous[:, 2:])
                                + self.smoothing * step, 0.0)
            self._memory.update(ids, np.column_stack([points, velocity]), frame_num)
            speed = np.linalg.norm(velocity, axis=1)
            self.speed[index] = speed
            self.heading_deg[index] = np.degrees(np.arctan2(velocity[:, 1], velocity[:, 0])) % 360
            if len(self.unit):
                cos = (velocity / np.maximum(speed[:, None], 1e-9)) @ self.unit.T
                best = cos.argmax(axis=1)
                ok = (speed >= self.min_speed) & (cos[np.arange(len(best)), best] >= self.min_cos)
                names[index[ok]] = self.names[best[ok]]
        self._memory.prune(frame_num)
        return names

    def _last_seen(self, ids: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(self._memory.ids, ids), 0, max(len(self._memory.ids) - 1, 0))
        if len(self._memory.ids) == 0:
            return np.zeros(len(ids), dtype=np.int64)
        return self._memory.last_seen[pos]
