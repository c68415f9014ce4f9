"""Line crossing: cumulative counts per direction and class for tracked objects.

An object crosses when its anchor point (``bottom-center`` by default) moves from one side of the
line to the other between two sightings and the step touches the line segment (or the infinite
line with ``extended``). Without a ``direction`` vector, ``in`` is a crossing to the right-hand
side of p1 -> p2 in image coordinates (y down: a left-to-right line counts downward motion as
``in``); with one, ``in`` is a crossing towards the side the vector points to, and ``mode`` says
how closely the motion must follow the vector (``loose``: any crossing; ``balanced``: within 70
degrees; ``strict``: within 45 degrees). Objects need a track id (``object_id >= 0``).

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.analytics.lines import LineCrossing
    >>> line = LineCrossing("road", [(0, 100), (200, 100)])
    >>> def at(y): return Objects.from_arrays([[40, y - 20, 60, y]], class_id=[2], object_id=[5], labels=["car"])
    >>> line.update(at(90), frame_num=0)
    []
    >>> [(e["type"], e["direction"], e["object_id"]) for e in line.update(at(110), frame_num=1)]
    [('crossed', 'in', 5)]
    >>> line.counts
    {'in': 1, 'out': 0}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.analytics.geometry import anchor_points, segments_intersect, side_of_line
from vistream.elements.analytics.memory import TrackMemory

_MODE_COS = {"loose": -1.0, "balanced": float(np.cos(np.radians(70))), "strict": float(np.cos(np.radians(45)))}


class LineCrossing:
    """Count tracked objects crossing a line, per direction (``in`` / ``out``) and class label.

    Args:
        name: line name used in events and metadata.
        line: two points (x, y) in frame pixels.
        direction: optional vector ``(from, to)`` that defines ``in``.
        classes: class ids to count (None: all).
        extended: treat the line as infinite instead of a segment.
        mode: ``loose`` / ``balanced`` / ``strict`` alignment with ``direction``.
        anchor: box point tested (see :mod:`vistream.elements.analytics.geometry`).
        max_age: frames an unseen track is remembered.
    """

    def __init__(self, name: str, line: Sequence[Sequence[float]] | np.ndarray,
                 direction: Sequence[Sequence[float]] | np.ndarray | None = None,
                 classes: Sequence[int] | None = None, extended: bool = False, mode: str = "loose",
                 anchor: str = "bottom-center", max_age: int = 30) -> None:
        self.name = name
        self.p1, self.p2 = (np.asarray(p, dtype=np.float64) for p in np.asarray(line, dtype=np.float64))
        self.classes = None if classes is None else np.asarray(list(classes), dtype=np.int64)
        self.extended = extended
        self.anchor = anchor
        self.min_cos = _MODE_COS[mode]
        self._in_side = 1
        self._direction: np.ndarray | None = None
        if direction is not None:
            start, end = np.asarray(direction, dtype=np.float64)
            self._direction = (end - start) / max(np.linalg.norm(end - start), 1e-9)
            side = side_of_line(self.p1 + (end - start), self.p1, self.p2)[0]
            self._in_side = int(side) if side != 0 else 1
        self._memory = TrackMemory(width=3, max_age=max_age)  # x, y, side
        self.counts: dict[str, int] = {"in": 0, "out": 0}
        self.counts_by_class: dict[str, dict[str, int]] = {"in": {}, "out": {}}

    def update(self, objects: Objects, frame_num: int) -> list[dict[str, Any]]:
        """Feed one frame's objects; returns ``crossed`` events and sets ``crossed`` flags.

        The indices of objects that crossed on this frame are available as :attr:`last_crossed`.
        """
        self.last_crossed = np.zeros(len(objects), dtype=bool)
        tracked = objects.object_id >= 0
        if self.classes is not None:
            tracked &= np.isin(objects.class_id, self.classes)
        index = np.flatnonzero(tracked)
        events: list[dict[str, Any]] = []
        if len(index):
            ids = objects.object_id[index]
            points = anchor_points(objects.xyxy[index], self.anchor)
            sides = side_of_line(points, self.p1, self.p2)
            found, previous = self._memory.lookup(ids)
            prev_sides = np.where(found, previous[:, 2], 0).astype(np.int8)
            # The last side an object was seen on, ignoring frames spent exactly on the line.
            keep_sides = np.where(sides == 0, prev_sides, sides)
            changed = found & (prev_sides != 0) & (sides != 0) & (sides != prev_sides)
            if not self.extended and changed.any():
                changed[changed] = segments_intersect(previous[changed, :2], points[changed], self.p1, self.p2)
            for row in np.flatnonzero(changed):
                event = self._count(objects, int(index[row]), int(sides[row]), points[row] - previous[row, :2], frame_num)
                if event is not None:
                    events.append(event)
            self._memory.update(ids, np.column_stack([points, keep_sides]), frame_num)
        self._memory.prune(frame_num)
        return events

    def _count(self, objects: Objects, i: int, new_side: int, motion: np.ndarray, frame_num: int) -> dict[str, Any] | None:
        direction = "in" if new_side == self._in_side else "out"
        if self._direction is not None and self.min_cos > -1.0:
            norm = np.linalg.norm(motion)
            cos = float(motion @ self._direction / norm) if norm > 0 else 0.0
            if (cos if direction == "in" else -cos) < self.min_cos:
                return None
        label = objects.labels[i] or str(int(objects.class_id[i]))
        self.counts[direction] += 1
        by_class = self.counts_by_class[direction]
        by_class[label] = by_class.get(label, 0) + 1
        self.last_crossed[i] = True
        return {
            "type": "crossed", "line": self.name, "direction": direction, "frame_num": frame_num,
            "object_id": int(objects.object_id[i]), "class_id": int(objects.class_id[i]), "label": label,
            "bbox": [round(float(v), 2) for v in objects.xyxy[i]],
        }

    def summary(self) -> dict[str, Any]:
        """Cumulative counts: ``{"in": n, "out": n, "by_class": {"in": {label: n}, "out": {...}}}``."""
        return {**self.counts, "by_class": {k: dict(v) for k, v in self.counts_by_class.items()}}
