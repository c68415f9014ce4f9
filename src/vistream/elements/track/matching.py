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
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


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
    valid = np.isfinite(score) & (score >= minimum)
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
