"""Dwell time: how long each tracked object has been inside a zone; ``entered`` / ``left`` events
and the zone's queue length.

Example:
    >>> import numpy as np
    >>> from vistream.elements.analytics.dwell import DwellTime
    >>> dwell = DwellTime("till", queue_min_dwell=1.0)
    >>> ids, labels = np.array([4]), ["person"]
    >>> [e["type"] for e in dwell.update(ids, np.array([True]), labels, frame_num=0, pts_ns=0)]
    ['entered']
    >>> _ = dwell.update(ids, np.array([True]), labels, frame_num=20, pts_ns=2_000_000_000)
    >>> dwell.dwell_s.tolist(), dwell.queue_length
    ([2.0], 1)
    >>> [(e["type"], e["dwell_s"]) for e in dwell.update(ids, np.array([False]), labels, 21, 2_100_000_000)]
    [('left', 2.1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vistream.elements.analytics.memory import TrackMemory


class DwellTime:
    """Track enter time per object inside one zone.

    Args:
        zone: zone name used in events.
        queue_min_dwell: seconds inside after which an object counts towards the queue length.
        max_age: frames an unseen object stays "inside" before a ``left`` event (reason ``lost``).
    """

    def __init__(self, zone: str, queue_min_dwell: float = 0.0, max_age: int = 30) -> None:
        self.zone = zone
        self.queue_min_dwell = queue_min_dwell
        self._memory = TrackMemory(width=1, max_age=max_age)  # enter pts (ns)
        self.dwell_s = np.zeros(0)
        self.queue_length = 0
        self._labels: dict[int, str] = {}  # for "left" events of lost tracks (touched only on events)

    @property
    def occupants(self) -> np.ndarray:
        """Track ids currently inside."""
        return self._memory.ids.copy()

    def update(self, ids: np.ndarray, inside: np.ndarray, labels: Sequence[str], frame_num: int,
               pts_ns: int) -> list[dict[str, Any]]:
        """Feed one frame's tracked objects (ids >= 0) and their inside mask.

        Sets :attr:`dwell_s` (seconds inside, 0 for objects outside) per given object.
        """
        ids = np.asarray(ids, dtype=np.int64)
        inside = np.asarray(inside, dtype=bool)
        events: list[dict[str, Any]] = []
        found, enter = self._memory.lookup(ids)
        entering = inside & ~found
        leaving = ~inside & found
        for i in np.flatnonzero(entering):
            self._labels[int(ids[i])] = labels[i]
            events.append(self._event("entered", ids[i], labels[i], frame_num, 0.0))
        for i in np.flatnonzero(leaving):
            events.append(self._event("left", ids[i], labels[i], frame_num, (pts_ns - enter[i, 0]) / 1e9))
        if leaving.any():
            self._memory.forget(np.isin(self._memory.ids, ids[leaving]))
        enter_ns = np.where(found, enter[:, 0], float(pts_ns))
        self._memory.update(ids[inside], enter_ns[inside, None], frame_num)
        stale = self._memory.stale_rows(frame_num)
        for row in np.flatnonzero(stale):
            event = self._event("left", self._memory.ids[row], self._labels.get(int(self._memory.ids[row]), ""), frame_num,
                                (pts_ns - self._memory.values[row, 0]) / 1e9)
            event["reason"] = "lost"
            events.append(event)
        if stale.any():
            self._memory.forget(stale)
        self.dwell_s = np.where(inside, (pts_ns - enter_ns) / 1e9, 0.0)
        # Only objects seen on this frame: a lost track still "inside" until max_age is not queueing.
        self.queue_length = int((inside & (self.dwell_s >= self.queue_min_dwell)).sum())
        return events

    def _event(self, kind: str, object_id: Any, label: str, frame_num: int, dwell_s: float) -> dict[str, Any]:
        if kind == "left":
            self._labels.pop(int(object_id), None)
        return {"type": kind, "zone": self.zone, "object_id": int(object_id), "label": label,
                "frame_num": frame_num, "dwell_s": round(float(dwell_s), 3)}
