"""ByteTrack: associate every detection box, recovering low-score ones in a second stage.

Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box", ECCV 2022.
Stage 1 matches confirmed tracks (also lost ones) to high-confidence detections; stage 2 matches
the confirmed tracks still unmatched that were seen at the last detection to low-confidence
detections (occluded objects score low); stage 3 matches tentative tracks to the high-confidence
detections left. Only high-confidence detections start tracks.

Example:
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.track import ByteTracker, TrackerConfig
    >>> tracker = ByteTracker(TrackerConfig(probation_age=1))
    >>> _ = tracker.update(Objects.from_arrays([[0, 0, 40, 80]], confidence=[0.9]), 0)
    >>> # Partly occluded: the detector is unsure, the track continues anyway.
    >>> tracker.update(Objects.from_arrays([[2, 0, 42, 80]], confidence=[0.2]), 1).object_id.tolist()
    [1]
"""

from __future__ import annotations

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.track.base import Tracker


class ByteTracker(Tracker):
    """Two-stage (high / low confidence) association with a Kalman filter."""

    uses_kalman = True

    def associate(self, detections: Objects, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        config = self.config
        tracks = self.tracks
        high = detections.confidence >= config.high_confidence
        high_rows = np.flatnonzero(high)
        low_rows = np.flatnonzero(~high)
        confirmed = self.live_rows(tracks.confirmed)
        tentative = self.live_rows(~tracks.confirmed)

        score = self.iou_score(confirmed, detections, high_rows, boxes, config.min_iou)
        t1, d1 = self.match(score, confirmed, high_rows)

        # Stage 2: tracks followed until now whose object may be partly hidden (low score).
        free = np.ones(len(tracks), dtype=bool)
        free[t1] = False
        left = self.live_rows(free & tracks.confirmed & (tracks.misses == 0))
        score = self.iou_score(left, detections, low_rows, boxes, config.min_iou_low_confidence)
        t2, d2 = self.match(score, left, low_rows)

        unused = high.copy()
        unused[d1] = False
        remaining_high = np.flatnonzero(unused)
        score = self.iou_score(tentative, detections, remaining_high, boxes, config.min_iou_tentative)
        t3, d3 = self.match(score, tentative, remaining_high)
        return np.concatenate([t1, t2, t3]), np.concatenate([d1, d2, d3])

    def _start_tracks(self, candidates: np.ndarray, detections: Objects, boxes: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        # Low-confidence detections only continue tracks, they never start one.
        candidates = candidates[detections.confidence[candidates] >= self.config.high_confidence]
        return super()._start_tracks(candidates, detections, boxes)
