"""Multi-object tracking: the ``tracker`` element and its algorithms (IOU, SORT, ByteTrack, DeepSORT).

The algorithms are plain classes, usable without a pipeline:

Example:
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.track import TrackerConfig, make_tracker
    >>> tracker = make_tracker(TrackerConfig(algorithm="bytetrack", probation_age=1))
    >>> tracker.update(Objects.from_arrays([[0, 0, 40, 80]], confidence=[0.9]), 0).object_id.tolist()
    [1]
"""

from __future__ import annotations

from vistream.elements.track.base import Tracker
from vistream.elements.track.bytetrack import ByteTracker
from vistream.elements.track.config import ALGORITHMS, TrackerConfig
from vistream.elements.track.deepsort import DeepSortTracker
from vistream.elements.track.iou import IouTracker
from vistream.elements.track.sort import SortTracker

TRACKERS: dict[str, type[Tracker]] = {
    "iou": IouTracker,
    "sort": SortTracker,
    "bytetrack": ByteTracker,
    "deepsort": DeepSortTracker,
}


def make_tracker(config: TrackerConfig | None = None, source_id: int = 0) -> Tracker:
    """The tracker of ``config.algorithm`` for one stream."""
    config = config or TrackerConfig()
    return TRACKERS[config.algorithm](config, source_id)


__all__ = ["ALGORITHMS", "TRACKERS", "ByteTracker", "DeepSortTracker", "IouTracker", "SortTracker",
           "Tracker", "TrackerConfig", "make_tracker"]
