"""DeepSORT-style tracking: appearance (re-ID embeddings) plus motion, then IoU for the rest.

Wojke et al., "Simple Online and Realtime Tracking with a Deep Association Metric", 2017.
Stage 1 matches confirmed tracks to confident detections by a weighted score of cosine
similarity of embeddings (a smoothed embedding per track), IoU and size similarity, gated by
``min_visual_similarity`` and by the Kalman filter's Mahalanobis distance; this recovers objects
after long occlusions where IoU is zero. Stage 2 matches tentative and just-lost tracks by IoU.
Embeddings come from ``objects.data[embedding_key]`` (``[N, D]`` floats or one vector per
object); without them the tracker falls back to motion only.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.track import DeepSortTracker, TrackerConfig
    >>> tracker = DeepSortTracker(TrackerConfig(probation_age=1, max_shadow_tracking_age=50))
    >>> look = np.eye(4)[:2]  # two objects with different appearance
    >>> dets = lambda xs: Objects.from_arrays([[x, 0, x + 40, 80] for x in xs], confidence=[0.9, 0.9],
    ...                                      data={"embedding": look})
    >>> tracker.update(dets((0, 100)), 0).object_id.tolist()
    [1, 2]
    >>> for n in range(1, 11):  # both hidden for ten frames
    ...     _ = tracker.update(Objects(), n)
    >>> # They come back at each other's places: ids follow appearance, not position.
    >>> tracker.update(dets((90, 10)), 11).object_id.tolist()
    [1, 2]
"""

from __future__ import annotations

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.track.base import Tracker
from vistream.elements.track.kalman import CHI2_GATE_4DOF
from vistream.elements.track.matching import cosine_similarity, iou_matrix, size_similarity


class DeepSortTracker(Tracker):
    """Appearance + motion association with a Kalman filter."""

    uses_kalman = True

    def associate(self, detections: Objects, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        config = self.config
        tracks = self.tracks
        high = detections.confidence >= config.high_confidence
        high_rows = np.flatnonzero(high)
        confirmed = self.live_rows(tracks.confirmed)
        embedding = self._embeddings(detections)
        if embedding is None or tracks.embedding is None or embedding.shape[1] != tracks.embedding.shape[1]:
            t1, d1 = self.match(self.iou_score(confirmed, detections, high_rows, boxes, config.min_iou),
                                confirmed, high_rows)
        else:
            score = self._appearance_score(confirmed, detections, high_rows, boxes, embedding)
            t1, d1 = self.match(score, confirmed, high_rows)
        # Stage 2: IoU for tentative tracks and tracks lost since the last detection frame only.
        free = np.ones(len(tracks), dtype=bool)
        free[t1] = False
        left = self.live_rows(free & (~tracks.confirmed | (tracks.misses <= 1)))
        unused = high.copy()
        unused[d1] = False
        remaining = np.flatnonzero(unused)
        t2, d2 = self.match(self.iou_score(left, detections, remaining, boxes, config.min_iou), left, remaining)
        return np.concatenate([t1, t2]), np.concatenate([d1, d2])

    def _appearance_score(self, track_rows: np.ndarray, detections: Objects, det_rows: np.ndarray,
                          boxes: np.ndarray, embedding: np.ndarray) -> np.ndarray:
        config = self.config
        tracks = self.tracks
        assert tracks.embedding is not None
        det_boxes = boxes[det_rows]
        visual = cosine_similarity(tracks.embedding[track_rows], embedding[det_rows])
        iou = iou_matrix(tracks.boxes[track_rows], det_boxes)
        weights = config.weight_visual_similarity + config.weight_iou + config.weight_size_similarity
        score = config.weight_visual_similarity * visual + config.weight_iou * iou
        if config.weight_size_similarity:
            score = score + config.weight_size_similarity * size_similarity(tracks.boxes[track_rows], det_boxes)
        score = score / (weights or 1.0)
        gate = visual < config.min_visual_similarity
        if config.motion_gating and len(track_rows) and len(det_rows):
            distance = self.kalman.mahalanobis(tracks.mean[track_rows], tracks.cov[track_rows], det_boxes)
            gate |= distance > CHI2_GATE_4DOF
        score = np.where(gate, -np.inf, score)
        return self.gate_classes(score, track_rows, detections, det_rows)
