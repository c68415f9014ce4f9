"""Vectorised geometry shared by the analytics tools: anchors, point-in-polygon, sides of a line.

Example:
    >>> import numpy as np
    >>> from vistream.elements.analytics.geometry import anchor_points, points_in_polygon
    >>> boxes = np.array([[10, 10, 30, 50], [100, 100, 120, 140]], dtype=np.float32)
    >>> anchor_points(boxes, "bottom-center").tolist()
    [[20.0, 50.0], [110.0, 140.0]]
    >>> points_in_polygon(anchor_points(boxes, "center"), [(0, 0), (60, 0), (60, 60), (0, 60)]).tolist()
    [True, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vistream.core.errors import ConfigError

Point = tuple[float, float]

#: anchor name -> (fraction of width from the left, fraction of height from the top)
ANCHORS: dict[str, tuple[float, float]] = {
    "bottom-center": (0.5, 1.0),
    "center": (0.5, 0.5),
    "top-center": (0.5, 0.0),
    "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0),
    "top-left": (0.0, 0.0),
    "top-right": (1.0, 0.0),
}


def check_anchor(anchor: str, where: str = "analytics") -> str:
    """Return ``anchor`` or raise :class:`ConfigError` listing the valid names."""
    if anchor not in ANCHORS:
        raise ConfigError(f"{where}: unknown anchor {anchor!r}; valid anchors: {', '.join(ANCHORS)}")
    return anchor


def anchor_points(xyxy: np.ndarray, anchor: str = "bottom-center") -> np.ndarray:
    """[N, 2] float64 anchor point of each box (``bottom-center`` is where a person or car stands)."""
    fx, fy = ANCHORS[check_anchor(anchor)]
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    x = boxes[:, 0] + fx * (boxes[:, 2] - boxes[:, 0])
    y = boxes[:, 1] + fy * (boxes[:, 3] - boxes[:, 1])
    return np.stack([x, y], axis=1)


def as_points(points: Sequence[Sequence[float]], minimum: int, what: str) -> np.ndarray:
    """Validate a list of (x, y) pairs into a float64 [N, 2] array."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: expected a list of [x, y] points, got {points!r}") from None
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < minimum:
        raise ConfigError(f"{what}: expected at least {minimum} [x, y] points, got {points!r}")
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{what}: coordinates must be finite numbers, got {points!r}")
    return array


def points_in_polygon(points: np.ndarray, polygon: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Boolean [N]: which points lie inside the polygon (even-odd rule; edges count as inside)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    x = pts[:, 0:1]
    y = pts[:, 1:2]
    x1, y1 = poly[:, 0][None, :], poly[:, 1][None, :]
    x2, y2 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    inside = np.logical_xor.reduce(straddles & (x < x_cross), axis=1)
    return inside | _on_boundary(pts, poly)


def _on_boundary(pts: np.ndarray, poly: np.ndarray, tolerance: float = 1e-9) -> np.ndarray:
    a = poly[None, :, :]
    b = np.roll(poly, -1, axis=0)[None, :, :]
    p = pts[:, None, :]
    ab = b - a
    ap = p - a
    cross = ab[..., 0] * ap[..., 1] - ab[..., 1] * ap[..., 0]
    dot = (ap * ab).sum(-1)
    length2 = (ab * ab).sum(-1)
    on = (np.abs(cross) <= tolerance * np.maximum(length2, 1)) & (dot >= 0) & (dot <= length2)
    return on.any(axis=1)


def side_of_line(points: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Sign of each point relative to the line p1 -> p2: +1 right-hand side (y down), -1 left, 0 on it."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    d = p2 - p1
    cross = d[0] * (pts[:, 1] - p1[1]) - d[1] * (pts[:, 0] - p1[0])
    return np.sign(cross).astype(np.int8)


def segments_intersect(a1: np.ndarray, a2: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Boolean [N]: whether each segment a1[i] -> a2[i] touches the segment p1 -> p2."""
    a1 = np.asarray(a1, dtype=np.float64).reshape(-1, 2)
    a2 = np.asarray(a2, dtype=np.float64).reshape(-1, 2)
    d1 = side_of_line(a1, p1, p2)
    d2 = side_of_line(a2, p1, p2)
    d3 = _side_many(p1, a1, a2)
    d4 = _side_many(p2, a1, a2)
    return (d1 * d2 <= 0) & (d3 * d4 <= 0)


def _side_many(point: np.ndarray, a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    d = a2 - a1
    cross = d[:, 0] * (point[1] - a1[:, 1]) - d[:, 1] * (point[0] - a1[:, 0])
    return np.sign(cross)
