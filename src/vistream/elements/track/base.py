"""Track store and life cycle shared by every algorithm: tentative -> confirmed -> lost -> removed.

An algorithm only decides which detection belongs to which track (:meth:`Tracker.associate`);
this module predicts, updates, starts and ends tracks, and builds the output objects. State
lives in columns (one row per track), so a frame costs a fixed number of NumPy calls however many
objects it has.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.track import SortTracker, TrackerConfig
    >>> tracker = SortTracker(TrackerConfig(probation_age=2))
    >>> for frame in range(3):
    ...     box = [[10 + 5 * frame, 10, 50 + 5 * frame, 90]]
    ...     out = tracker.update(Objects.from_arrays(box, confidence=[0.9]), frame)
    >>> out.object_id.tolist(), tracker.num_confirmed
    ([1], 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.track.config import TrackerConfig
from vistream.elements.track.kalman import BoxKalmanFilter
from vistream.elements.track.matching import assign, iou_matrix, size_similarity

_EMPTY = np.zeros(0, dtype=np.int64)


class TrackStore:
    """Columns of live tracks: ``ids``, ``boxes`` (xyxy), ``mean`` / ``cov`` (Kalman), ``class_id``,
    ``confidence``, ``labels``, ``component_id``, ``confirmed``, ``hits``, ``misses``, ``embedding``
    and ``past`` (frame, box, confidence of the tentative period)."""

    def __init__(self, past_len: int) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.boxes = np.zeros((0, 4))
        self.mean = np.zeros((0, 8))
        self.cov = np.zeros((0, 8, 8))
        self.class_id = np.zeros(0, dtype=np.int32)
        self.confidence = np.zeros(0, dtype=np.float32)
        self.labels = np.zeros(0, dtype=object)
        self.component_id = np.zeros(0, dtype=np.int32)
        self.confirmed = np.zeros(0, dtype=bool)
        self.hits = np.zeros(0, dtype=np.int64)
        self.misses = np.zeros(0, dtype=np.int64)
        self.embedding: np.ndarray | None = None
        self.past = np.zeros((0, past_len, 6))

    _COLUMNS = ("ids", "boxes", "mean", "cov", "class_id", "confidence", "labels", "component_id",
                "confirmed", "hits", "misses", "past")

    def __len__(self) -> int:
        return len(self.ids)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` is False."""
        for name in self._COLUMNS:
            setattr(self, name, getattr(self, name)[mask])
        if self.embedding is not None:
            self.embedding = self.embedding[mask]

    def extend(self, rows: dict[str, np.ndarray]) -> None:
        """Append new tracks (every column given)."""
        for name in self._COLUMNS:
            setattr(self, name, np.concatenate([getattr(self, name), rows[name].astype(getattr(self, name).dtype)]))
        new_embedding = rows.get("embedding")
        if new_embedding is not None or self.embedding is not None:
            n_old, n_new = len(self.ids) - len(rows["ids"]), len(rows["ids"])
            old = self.embedding
            width = (old.shape[1] if old is not None else new_embedding.shape[1])  # type: ignore[union-attr]
            if old is None:
                old = np.zeros((n_old, width))
            if new_embedding is None or new_embedding.shape[1] != width:
                new_embedding = np.zeros((n_new, width))
            self.embedding = np.concatenate([old, new_embedding])


class Tracker:
    """Base of the algorithms: call :meth:`update` once per frame of one stream.

    Args:
        config: settings (defaults when None).
        source_id: the stream, used for unique ids (``use_unique_id``).
    """

    #: whether boxes are predicted by a Kalman filter (otherwise the last box is kept)
    uses_kalman: bool = True

    def __init__(self, config: TrackerConfig | None = None, source_id: int = 0) -> None:
        self.config = config or TrackerConfig()
        self.source_id = source_id
        self.kalman = BoxKalmanFilter(self.config.noise_position, self.config.noise_velocity)
        self.tracks = TrackStore(past_len=max(self.config.probation_age, 1))
        self.frame_num = -1
        self.past_frame: list[dict[str, Any]] = []
        self._next_id = 1

    # ---- public API --------------------------------------------------------------------------
    @property
    def num_confirmed(self) -> int:
        """Confirmed tracks alive now (matched or in shadow tracking)."""
        return int(self.tracks.confirmed.sum())

    def reset(self) -> None:
        """Forget every track (ids keep counting up)."""
        self.tracks = TrackStore(past_len=max(self.config.probation_age, 1))

    def update(self, objects: Objects, frame_num: int | None = None, detected: bool = True) -> Objects:
        """Track one frame.

        Args:
            objects: the frame's detections (ignored when ``detected`` is False, except that they
                are passed through).
            frame_num: the frame's number (default: one more than the last call).
            detected: whether a detector ran on this frame. When False the tracks are only
                predicted and the confirmed ones are output, so every frame carries objects.

        Returns:
            Detections that belong to confirmed tracks with ``object_id`` set (other columns kept),
            or on frames without detection the predicted boxes of confirmed tracks. Past-frame
            data of tracks confirmed on this frame is left in :attr:`past_frame`.
        """
        self.frame_num = self.frame_num + 1 if frame_num is None else int(frame_num)
        self.past_frame = []
        tracks = self.tracks
        if self.uses_kalman and len(tracks):
            tracks.mean, tracks.cov = self.kalman.predict(tracks.mean, tracks.cov)
            tracks.boxes = self.kalman.to_xyxy(tracks.mean)
        if not detected:
            return objects.append(self._predicted_objects())
        config = self.config
        candidates = np.flatnonzero(objects.confidence >= config.min_detector_confidence)
        detections = objects.select(candidates) if len(candidates) < len(objects) else objects
        det_boxes = detections.xyxy.astype(np.float64)
        track_rows, det_rows = self.associate(detections, det_boxes)
        matched_det = np.zeros(len(detections), dtype=bool)
        matched_det[det_rows] = True
        self._update_matched(track_rows, det_rows, detections, det_boxes)
        unmatched_tracks = np.ones(len(tracks), dtype=bool)
        unmatched_tracks[track_rows] = False
        tracks.misses[unmatched_tracks] += 1
        new_rows = self._start_tracks(np.flatnonzero(~matched_det), detections, det_boxes)
        # Life cycle: confirm after probation, end tentative tracks early, end lost ones late.
        newly_confirmed = ~tracks.confirmed & (tracks.hits >= config.probation_age)
        if config.output_past_frame and newly_confirmed.any():
            self._collect_past_frame(np.flatnonzero(newly_confirmed))
        tracks.confirmed |= newly_confirmed
        ended = np.where(tracks.confirmed, tracks.misses > config.max_shadow_tracking_age,
                         tracks.misses >= max(config.early_termination_age, 1))
        # Output before removal: rows of this frame's detections that belong to confirmed tracks.
        det_track = np.full(len(detections), -1, dtype=np.int64)
        det_track[det_rows] = track_rows
        det_track[new_rows[1]] = new_rows[0]
        has_track = det_track >= 0
        shown = np.zeros(len(detections), dtype=bool)
        shown[has_track] = tracks.confirmed[det_track[has_track]] & (
            detections.confidence[has_track] >= config.min_tracker_confidence)
        out = detections.select(np.flatnonzero(shown))
        out.object_id = tracks.ids[det_track[shown]]
        if config.shadow_output_age:
            shadow = ~ended & tracks.confirmed & (tracks.misses >= 1) & (tracks.misses <= config.shadow_output_age)
            if shadow.any():
                out = out.append(self._track_objects(np.flatnonzero(shadow)))
        if ended.any():
            tracks.keep(~ended)
        return out

    def associate(self, detections: Objects, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Match tracks to detections; returns ``(track_rows, detection_rows)`` of the pairs."""
        raise NotImplementedError

    # ---- helpers for the algorithms ------------------------------------------------------------
    def iou_score(self, track_rows: np.ndarray, detections: Objects, det_rows: np.ndarray,
                  boxes: np.ndarray, min_iou: float) -> np.ndarray:
        """Combined IoU (and size) score ``[len(track_rows), len(det_rows)]``; gated pairs are -inf."""
        config = self.config
        track_boxes = self.tracks.boxes[track_rows]
        det_boxes = boxes[det_rows]
        iou = iou_matrix(track_boxes, det_boxes)
        total = config.weight_iou + config.weight_size_similarity
        if config.weight_size_similarity or config.min_size_similarity:
            size = size_similarity(track_boxes, det_boxes)
            score = (iou * config.weight_iou + size * config.weight_size_similarity) / (total or 1.0)
            score[(iou < min_iou) | (size < config.min_size_similarity)] = -np.inf
        else:
            score = iou  # IoU alone (its weight normalises to 1)
            score[iou < min_iou] = -np.inf
        return self.gate_classes(score, track_rows, detections, det_rows)

    def gate_classes(self, score: np.ndarray, track_rows: np.ndarray, detections: Objects,
                     det_rows: np.ndarray) -> np.ndarray:
        """Set pairs of different classes to -inf when ``check_class_match`` is on."""
        if not self.config.check_class_match or score.size == 0:
            return score
        different = self.tracks.class_id[track_rows][:, None] != detections.class_id[det_rows]
        score[different] = -np.inf
        return score

    def match(self, score: np.ndarray, track_rows: np.ndarray, det_rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Assign on a score sub-matrix and map back to track / detection rows."""
        rows, cols = assign(score, self.config.min_matching_score_overall, greedy=self.config.matcher == 0)
        return track_rows[rows], det_rows[cols]

    # ---- internals ---------------------------------------------------------------------------
    def _update_matched(self, track_rows: np.ndarray, det_rows: np.ndarray, detections: Objects,
                        boxes: np.ndarray) -> None:
        tracks = self.tracks
        if len(track_rows) == 0:
            return
        if self.uses_kalman:
            mean, cov = self.kalman.update(tracks.mean[track_rows], tracks.cov[track_rows], boxes[det_rows])
            tracks.mean[track_rows] = mean
            tracks.cov[track_rows] = cov
        tracks.boxes[track_rows] = boxes[det_rows]
        tracks.class_id[track_rows] = detections.class_id[det_rows]
        tracks.confidence[track_rows] = detections.confidence[det_rows]
        tracks.component_id[track_rows] = detections.component_id[det_rows]
        labels = detections.labels
        tracks.labels[track_rows] = [labels[i] for i in det_rows]
        tentative = track_rows[~tracks.confirmed[track_rows]]
        if len(tentative):
            slot = np.minimum(tracks.hits[tentative], tracks.past.shape[1] - 1)
            tentative_dets = det_rows[~tracks.confirmed[track_rows]]
            tracks.past[tentative, slot] = self._past_rows(boxes[tentative_dets], detections.confidence[tentative_dets])
        tracks.hits[track_rows] += 1
        tracks.misses[track_rows] = 0
        embedding = self._embeddings(detections)
        if embedding is not None and tracks.embedding is not None and embedding.shape[1] == tracks.embedding.shape[1]:
            momentum = self.config.embedding_momentum
            mixed = momentum * tracks.embedding[track_rows] + (1 - momentum) * embedding[det_rows]
            tracks.embedding[track_rows] = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)

    def _start_tracks(self, candidates: np.ndarray, detections: Objects, boxes: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Start tentative tracks; returns ``(track_rows, detection_rows)`` of the new ones."""
        config = self.config
        tracks = self.tracks
        candidates = candidates[detections.confidence[candidates] >= config.new_track_confidence]
        if len(candidates) and len(tracks):
            # A detection that overlaps a live track this much is that track's duplicate.
            overlap = iou_matrix(boxes[candidates], tracks.boxes).max(axis=1)
            candidates = candidates[overlap <= config.min_iou_diff_new_target]
        room = config.max_targets_per_stream - len(tracks)
        candidates = candidates[: max(room, 0)]
        n = len(candidates)
        if n == 0:
            return _EMPTY, _EMPTY
        first = len(tracks)
        new_boxes = boxes[candidates]
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        if config.use_unique_id:
            ids = ids | (np.int64(self.source_id) << 32)
        mean, cov = self.kalman.initiate(new_boxes)
        past = np.zeros((n, tracks.past.shape[1], 6))
        past[:, 0] = self._past_rows(new_boxes, detections.confidence[candidates])
        embedding = self._embeddings(detections)
        rows: dict[str, Any] = {
            "ids": ids, "boxes": new_boxes, "mean": mean, "cov": cov,
            "class_id": detections.class_id[candidates], "confidence": detections.confidence[candidates],
            "labels": np.array([detections.labels[i] for i in candidates] + [None], dtype=object)[:-1],
            "component_id": detections.component_id[candidates],
            "confirmed": np.zeros(n, dtype=bool), "hits": np.ones(n, dtype=np.int64),
            "misses": np.zeros(n, dtype=np.int64), "past": past,
        }
        if embedding is not None:
            chosen = embedding[candidates]
            rows["embedding"] = chosen / np.maximum(np.linalg.norm(chosen, axis=1, keepdims=True), 1e-12)
        tracks.extend(rows)
        return np.arange(first, first + n, dtype=np.int64), candidates

    def _past_rows(self, boxes: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        rows = np.empty((len(boxes), 6))
        rows[:, 0] = self.frame_num
        rows[:, 1:5] = boxes
        rows[:, 5] = confidence
        return rows

    def _collect_past_frame(self, rows: np.ndarray) -> None:
        tracks = self.tracks
        for row in rows:  # only tracks confirmed on this frame: a handful
            count = min(int(tracks.hits[row]), tracks.past.shape[1])
            past = tracks.past[row, :count]
            past = past[past[:, 0] < self.frame_num]
            if len(past) == 0:
                continue
            self.past_frame.append({
                "object_id": int(tracks.ids[row]), "class_id": int(tracks.class_id[row]),
                "label": tracks.labels[row] or "",
                "frames": [{"frame_num": int(p[0]), "bbox": [round(float(v), 2) for v in p[1:5]],
                            "confidence": round(float(p[5]), 5)} for p in past],
            })

    def _predicted_objects(self) -> Objects:
        tracks = self.tracks
        shown = tracks.confirmed & (tracks.misses <= self.config.shadow_output_age)
        return self._track_objects(np.flatnonzero(shown))

    def _track_objects(self, rows: np.ndarray) -> Objects:
        """Objects at the tracks' current (predicted) boxes."""
        tracks = self.tracks
        rows = rows[tracks.confidence[rows] >= self.config.min_tracker_confidence]
        return Objects.from_arrays(
            tracks.boxes[rows].astype(np.float32), confidence=tracks.confidence[rows],
            class_id=tracks.class_id[rows], object_id=tracks.ids[rows], component_id=tracks.component_id[rows],
            labels=[tracks.labels[i] or "" for i in rows],
        )

    def _embeddings(self, detections: Objects) -> np.ndarray | None:
        """Embeddings of the detections as ``[N, D]`` floats, or None when they have none."""
        column = detections.data.get(self.config.embedding_key)
        if column is None or len(column) == 0:
            return None
        if column.dtype == object:
            if any(v is None for v in column):
                return None
            column = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in column])
        return np.asarray(column, dtype=np.float64).reshape(len(column), -1)
