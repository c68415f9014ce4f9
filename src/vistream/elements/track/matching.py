"""Similarity matrices and assignment for data association (all vectorised).

Example:
    >>> import numpy as np
    >>> from vistream.elements.track.matching import assign, iou_matrix
    >>> tracks = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)
    >>> detections = np.array([[21, 21, 31, 31], [1, 0, 11, 10], [50, 50, 60, 60]], dtype=float)
    >>> score = iou_matrix(tracks, detections)
    >>> rows, cols = assign(score, minimum=0.3)
    >>> rows.tolist(), cols.tolist()
    ([0, 1], [1, 0])
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` ``[N, 4]`` with every box of ``b`` ``[M, 4]`` (xyxy)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    # Few full-matrix operations: this runs several times per frame on [tracks, detections].
    width = np.minimum(a[:, 2:3], b[:, 2]) - np.maximum(a[:, 0:1], b[:, 0])
    np.maximum(width, 0.0, out=width)
    height = np.minimum(a[:, 3:4], b[:, 3]) - np.maximum(a[:, 1:2], b[:, 1])
    np.maximum(height, 0.0, out=height)
    inter = width * height
    area_a = np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    union = area_a[:, None] + area_b - inter
    np.maximum(union, 1e-9, out=union)
    return np.divide(inter, union, out=inter)


def size_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ratio of smaller to larger width times the same for heights, ``[N, M]`` in [0, 1]."""
    wa, ha = (a[:, 2] - a[:, 0])[:, None], (a[:, 3] - a[:, 1])[:, None]
    wb, hb = (b[:, 2] - b[:, 0])[None, :], (b[:, 3] - b[:, 1])[None, :]
    w = np.minimum(wa, wb) / np.maximum(np.maximum(wa, wb), 1e-9)
    h = np.minimum(ha, hb) / np.maximum(np.maximum(ha, hb), 1e-9)
    return w * h


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity ``[N, M]`` of row vectors (zero rows give 0)."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def assign(score: np.ndarray, minimum: float, greedy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(rows, cols)`` maximising total score; pairs scoring below ``minimum`` are not made.

    Entries set to ``-inf`` (gated out) are never paired. ``greedy`` takes the best remaining
    pair first instead of solving the global assignment (DeepStream's ``associationMatcherType: 0``).
    """
    empty = np.zeros(0, dtype=np.int64)
    if score.size == 0:
        return empty, empty
    valid = score >= minimum  # -inf (gated) is never >= minimum
    if not valid.any():
        return empty, empty
    if greedy:
        return _greedy(np.where(valid, score, -np.inf))
    # Invalid pairs get a cost no valid assignment can prefer; they are filtered out afterwards.
    cost = np.where(valid, -score, 1e6)
    rows, cols = linear_sum_assignment(cost)
    keep = valid[rows, cols]
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


def _greedy(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-score, axis=None)
    flat = score.ravel()[order]
    order = order[np.isfinite(flat)]
    rows_used = np.zeros(score.shape[0], dtype=bool)
    cols_used = np.zeros(score.shape[1], dtype=bool)
    rows, cols = [], []
    for index in order:  # only the valid pairs, a few per object
        r, c = divmod(int(index), score.shape[1])
        if rows_used[r] or cols_used[c]:
            continue
        rows_used[r] = cols_used[c] = True
        rows.append(r)
        cols.append(c)
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
