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


def iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``a[i]`` with ``b[i]`` for each row (both ``[N, 4]`` xyxy)."""
    width = np.maximum(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0.0)
    height = np.maximum(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0.0)
    inter = width * height
    area_a = np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def size_similarity_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`size_similarity` of ``a[i]`` with ``b[i]`` for each row."""
    wa, ha, wb, hb = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return (np.minimum(wa, wb) / np.maximum(np.maximum(wa, wb), 1e-9)
            * np.minimum(ha, hb) / np.maximum(np.maximum(ha, hb), 1e-9))


def same_group_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)`` with ``left[i] == right[j]`` (e.g. tracks and detections of one stream),
    without building the full ``[len(left), len(right)]`` matrix.

    Example:
        >>> i, j = same_group_pairs(np.array([5, 2, 5]), np.array([2, 5, 9]))
        >>> sorted(zip(i.tolist(), j.tolist()))
        [(0, 1), (1, 0), (2, 1)]
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(left) == 0 or len(right) == 0:
        return empty, empty
    right_order = np.argsort(right, kind="stable")
    right_sorted = right[right_order]
    first = np.searchsorted(right_sorted, left, side="left")  # where each left's group starts on the right
    count = np.searchsorted(right_sorted, left, side="right") - first
    total = int(count.sum())
    if total == 0:
        return empty, empty
    left_index = np.repeat(np.arange(len(left)), count)
    offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    return left_index, right_order[np.repeat(first, count) + offset]


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
    A row and a column that may only pair with each other are paired directly; the global
    assignment is solved for the rest only (the usual case in tracking is no rest at all).
    """
    empty = np.zeros(0, dtype=np.int64)
    if score.size == 0:
        return empty, empty
    valid = score >= minimum  # -inf (gated) is never >= minimum
    if not valid.any():
        return empty, empty
    if greedy:
        return _greedy(np.where(valid, score, -np.inf))
    row_options, col_options = valid.sum(axis=1), valid.sum(axis=0)
    rows, cols = np.nonzero(valid)
    alone = (row_options[rows] == 1) & (col_options[cols] == 1)
    pairs_r, pairs_c = [rows[alone].astype(np.int64)], [cols[alone].astype(np.int64)]
    if not alone.all():
        rest_rows = np.unique(rows[~alone])
        rest_cols = np.unique(cols[~alone])
        sub_valid = valid[np.ix_(rest_rows, rest_cols)]
        # Invalid pairs get a cost no valid assignment can prefer; they are filtered out afterwards.
        cost = np.where(sub_valid, -score[np.ix_(rest_rows, rest_cols)], 1e6)
        r, c = linear_sum_assignment(cost)
        keep = sub_valid[r, c]
        pairs_r.append(rest_rows[r[keep]].astype(np.int64))
        pairs_c.append(rest_cols[c[keep]].astype(np.int64))
    return np.concatenate(pairs_r), np.concatenate(pairs_c)


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
