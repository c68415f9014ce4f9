"""Overcrowding: a zone is crowded while it holds at least ``threshold`` objects.

Example:
    >>> from vistream.elements.analytics.crowding import Overcrowding
    >>> crowd = Overcrowding("hall", threshold=2)
    >>> [crowd.update(n, frame_num=i) for i, n in enumerate([1, 2, 3, 1])]
    [[], [{'type': 'crowded', 'zone': 'hall', 'count': 2, 'threshold': 2, 'frame_num': 1}], [], [{'type': 'crowd-cleared', 'zone': 'hall', 'count': 1, 'threshold': 2, 'frame_num': 3}]]
"""

from __future__ import annotations

from typing import Any


class Overcrowding:
    """Emit ``crowded`` when a zone's count reaches ``threshold`` and ``crowd-cleared`` when it drops below.

    Note: DeepStream's ``object-threshold`` reads the same way; vistream treats a count equal to the
    threshold as crowded.
    """

    def __init__(self, zone: str, threshold: int) -> None:
        if threshold < 1:
            raise ValueError(f"overcrowding threshold of zone {zone!r} must be >= 1, got {threshold}")
        self.zone = zone
        self.threshold = threshold
        self.crowded = False

    def update(self, count: int, frame_num: int) -> list[dict[str, Any]]:
        """Feed the zone's count for one frame; returns state-change events."""
        crowded = count >= self.threshold
        if crowded == self.crowded:
            return []
        self.crowded = crowded
        kind = "crowded" if crowded else "crowd-cleared"
        return [{"type": kind, "zone": self.zone, "count": int(count), "threshold": self.threshold,
                 "frame_num": frame_num}]
