"""Per-object state kept in arrays (no per-object Python): last values and last-seen frame per track id.

Example:
    >>> import numpy as np
    >>> from vistream.elements.analytics.memory import TrackMemory
    >>> memory = TrackMemory(width=2, max_age=5)
    >>> memory.update(np.array([7, 3]), np.array([[1.0, 1.0], [2.0, 2.0]]), frame_num=0)
    >>> found, values = memory.lookup(np.array([3, 9]))
    >>> found.tolist(), values[0].tolist()
    ([True, False], [2.0, 2.0])
    >>> memory.prune(frame_num=10).tolist()
    [3, 7]
"""

from __future__ import annotations

import numpy as np


class TrackMemory:
    """A table ``object_id -> (values[width], last_seen_frame)`` with vectorised lookup and upsert."""

    def __init__(self, width: int, max_age: int = 30) -> None:
        self.width = width
        self.max_age = max_age
        self.ids = np.zeros(0, dtype=np.int64)
        self.values = np.zeros((0, width), dtype=np.float64)
        self.last_seen = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found [N] bool, values [N, width]; rows of unknown ids are NaN)."""
        ids = np.asarray(ids, dtype=np.int64)
        values = np.full((len(ids), self.width), np.nan)
        if len(self.ids) == 0 or len(ids) == 0:
            return np.zeros(len(ids), dtype=bool), values
        pos = np.clip(np.searchsorted(self.ids, ids), 0, len(self.ids) - 1)
        found = self.ids[pos] == ids
        values[found] = self.values[pos[found]]
        return found, values

    def update(self, ids: np.ndarray, values: np.ndarray, frame_num: int) -> None:
        """Insert or overwrite rows for ``ids`` (unique) and mark them seen at ``frame_num``."""
        ids = np.asarray(ids, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64).reshape(len(ids), self.width)
        if len(ids) == 0:
            return
        keep = ~np.isin(self.ids, ids)
        all_ids = np.concatenate([self.ids[keep], ids])
        order = np.argsort(all_ids, kind="stable")
        self.ids = all_ids[order]
        self.values = np.concatenate([self.values[keep], values])[order]
        self.last_seen = np.concatenate([self.last_seen[keep], np.full(len(ids), frame_num)])[order]

    def prune(self, frame_num: int) -> np.ndarray:
        """Forget ids not seen for more than ``max_age`` frames; returns the forgotten ids."""
        stale = frame_num - self.last_seen > self.max_age
        gone = self.ids[stale]
        if len(gone):
            self.forget(stale)
        return gone

    def stale_rows(self, frame_num: int) -> np.ndarray:
        """Boolean mask of rows that :meth:`prune` would forget."""
        return frame_num - self.last_seen > self.max_age

    def forget(self, mask: np.ndarray) -> None:
        keep = ~mask
        self.ids = self.ids[keep]
        self.values = self.values[keep]
        self.last_seen = self.last_seen[keep]
