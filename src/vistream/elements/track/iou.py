"""IOU tracker: match each track's last box to this frame's detections by IoU; no motion model.

The cheapest tracker (DeepStream's IOU tracker): right for slow objects or high frame rates.
On frames without detection, tracks keep their last box.

Example:
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.track import IouTracker, TrackerConfig
    >>> tracker = IouTracker(TrackerConfig(probation_age=1))
    >>> ids = [tracker.update(Objects.from_arrays([[x, 0, x + 50, 50]]), n).object_id.tolist()
    ...        for n, x in enumerate((0, 5, 10))]
    >>> ids
    [[1], [1], [1]]
"""

from __future__ import annotations

from vistream.elements.track.sort import SortTracker


class IouTracker(SortTracker):
    """SORT's matching without the Kalman filter."""

    uses_kalman = False
