"""SORT: a Kalman filter per track and one global IoU matching (Hungarian) per frame.

Bewley et al., "Simple Online and Realtime Tracking", 2016.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.track import SortTracker, TrackerConfig
    >>> tracker = SortTracker(TrackerConfig(probation_age=1))
    >>> boxes = lambda x: Objects.from_arrays([[x, 10, x + 40, 90], [200 - x, 10, 240 - x, 90]], confidence=[0.9, 0.8])
    >>> first = tracker.update(boxes(0), 0).object_id.tolist()
    >>> second = tracker.update(boxes(6), 1).object_id.tolist()
    >>> first == second == [1, 2]
    True
"""

from __future__ import annotations

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.track.base import Tracker


class SortTracker(Tracker):
    """Kalman-predicted boxes matched to every detection above ``min_detector_confidence`` by IoU."""

    uses_kalman = True

    def associate(self, detections: Objects, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        track_rows = self.live_rows()
        det_rows = np.arange(len(detections))
        score = self.iou_score(track_rows, detections, det_rows, boxes, self.config.min_iou)
        return self.match(score, track_rows, det_rows)
