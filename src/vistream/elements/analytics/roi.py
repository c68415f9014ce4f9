"""Zones (regions of interest): which objects are inside a polygon, and counts per class.

Example:
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.analytics.roi import Zone
    >>> zone = Zone("door", [(0, 0), (100, 0), (100, 100), (0, 100)])
    >>> objects = Objects.from_arrays([[10, 10, 30, 50], [150, 10, 170, 50]], class_id=[0, 0],
    ...                               labels=["person", "person"])
    >>> zone.update(objects).tolist(), zone.count, zone.counts_by_class
    ([True, False], 1, {'person': 1})
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.analytics.geometry import anchor_points, points_in_polygon


class Zone:
    """A polygon that counts the objects whose anchor lies inside (or outside with ``inverse``).

    Args:
        name: zone name used in events and metadata.
        polygon: three or more (x, y) points in frame pixels.
        classes: class ids counted (None: all).
        inverse: count objects outside the polygon (DeepStream's ``inverse-roi``).
        anchor: box point tested.
    """

    def __init__(self, name: str, polygon: Sequence[Sequence[float]] | np.ndarray,
                 classes: Sequence[int] | None = None, inverse: bool = False,
                 anchor: str = "bottom-center") -> None:
        self.name = name
        self.polygon = np.asarray(polygon, dtype=np.float64)
        self.classes = None if classes is None else np.asarray(list(classes), dtype=np.int64)
        self.inverse = inverse
        self.anchor = anchor
        self.count = 0
        self.counts_by_class: dict[str, int] = {}

    def contains(self, objects: Objects) -> np.ndarray:
        """Boolean [N]: objects of the zone's classes whose anchor is inside (outside if inverse)."""
        if len(objects) == 0:
            return np.zeros(0, dtype=bool)
        inside = points_in_polygon(anchor_points(objects.xyxy, self.anchor), self.polygon)
        if self.inverse:
            inside = ~inside
        if self.classes is not None:
            inside &= np.isin(objects.class_id, self.classes)
        return inside

    def update(self, objects: Objects) -> np.ndarray:
        """Recount for this frame; returns the inside mask."""
        inside = self.contains(objects)
        self.count = int(inside.sum())
        labels = [objects.labels[i] or str(int(objects.class_id[i])) for i in np.flatnonzero(inside)]
        values, counts = np.unique(np.array(labels, dtype=object), return_counts=True) if labels else ([], [])
        self.counts_by_class = {str(v): int(c) for v, c in zip(values, counts, strict=True)}
        return inside
