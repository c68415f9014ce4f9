"""Track store and life cycle shared by every algorithm: tentative -> confirmed -> lost -> removed.

An algorithm only decides which detection belongs to which track (:meth:`Tracker.associate`);
this module predicts, updates, starts and ends tracks, and builds the output objects. State
lives in columns (one row per track, with the stream it belongs to), so a call costs a fixed
number of NumPy calls however many objects it has. One tracker serves many streams: a batch's
frames (one per stream) are tracked together by :meth:`Tracker.update_many`, pairs of different
streams never match, and each stream keeps its own ids, limits and life cycle.

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
    >>> # two streams in one call: the same box in each is two objects, each stream numbers its own
    >>> same = Objects.from_arrays([[10, 10, 50, 90]], confidence=[0.9])
    >>> many = SortTracker(TrackerConfig(probation_age=1))
    >>> [o.objects.object_id.tolist() for o in many.update_many([TrackInput(0, same, 0), TrackInput(7, same, 0)])]
    [[1], [1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vistream.core.meta import Objects
from vistream.elements.track.config import TrackerConfig
from vistream.elements.track.kalman import BoxKalmanFilter
from vistream.elements.track.matching import (
    assign,
    iou_matrix,
    iou_pairs,
    same_group_pairs,
    size_similarity,
    size_similarity_pairs,
)

_EMPTY = np.zeros(0, dtype=np.int64)

#: tracks x detections above which :meth:`Tracker.update_many` splits a call into groups of
#: streams, so its dense score matrices stay small in crowded scenes
PAIR_LIMIT = 250_000


@dataclass
class TrackInput:
    """One frame of one stream for :meth:`Tracker.update_many`: its detections, number and whether
    a detector ran on it (when not, its tracks are only predicted)."""

    source_id: int
    objects: Objects
    frame_num: int
    detected: bool = True


@dataclass
class TrackOutput:
    """What :meth:`Tracker.update_many` gives back per frame: the tracked objects and the past-frame
    data of the tracks confirmed on it."""

    objects: Objects
    past_frame: list[dict[str, Any]] = field(default_factory=list)


def positions(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index in ``keys`` (distinct) of each of ``values`` (each must be in ``keys``).

    Example:
        >>> positions(np.array([7, 3, 7]), np.array([3, 9, 7])).tolist()
        [2, 0, 2]
    """
    order = np.argsort(keys, kind="stable")
    return order[np.searchsorted(keys[order], values)]


def member(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, keys)`` for a few ``keys``, without its fixed cost (it runs several times per call).

    Example:
        >>> member(np.array([1, 5, 3, 5]), np.array([5, 3])).tolist()
        [False, True, True, True]
    """
    if len(keys) == 1:
        return values == keys[0]
    if len(values) == 0 or len(keys) == 0:
        return np.zeros(len(values), dtype=bool)
    ordered = np.sort(keys)
    slot = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return ordered[slot] == values


def rank_in_runs(labels: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal consecutive ``labels``.

    Example:
        >>> rank_in_runs(np.array([4, 4, 4, 2, 2, 9])).tolist()
        [0, 1, 2, 0, 1, 0]
    """
    if len(labels) == 0:
        return _EMPTY
    index = np.arange(len(labels))
    starts = np.r_[True, labels[1:] != labels[:-1]]
    return index - np.maximum.accumulate(np.where(starts, index, 0))


class TrackStore:
    """Columns of live tracks: ``source`` (the stream), ``ids``, ``boxes`` (xyxy), ``mean`` / ``cov``
    (Kalman), ``class_id``, ``confidence``, ``labels``, ``component_id``, ``confirmed``, ``hits``,
    ``misses``, ``embedding`` and ``past`` (frame, box, confidence of the tentative period)."""

    def __init__(self, past_len: int) -> None:
        self.source = np.zeros(0, dtype=np.int64)
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

    _COLUMNS = ("source", "ids", "boxes", "mean", "cov", "class_id", "confidence", "labels", "component_id",
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
    """Base of the algorithms: :meth:`update` once per frame of one stream, or :meth:`update_many`
    once per batch of frames of many streams.

    Args:
        config: settings (defaults when None).
        source_id: the stream :meth:`update` tracks (and the one of unique ids, ``use_unique_id``).
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
        self._next_ids: dict[int, int] = {}
        # The call in progress: which track rows may match, and the stream / frame of each detection.
        self._live = np.zeros(0, dtype=bool)
        self._det_source = _EMPTY
        self._det_frame = _EMPTY
        self._many_streams = False

    # ---- public API --------------------------------------------------------------------------
    @property
    def num_confirmed(self) -> int:
        """Confirmed tracks alive now, all streams (matched or in shadow tracking)."""
        return int(self.tracks.confirmed.sum())

    def reset(self) -> None:
        """Forget every track (ids keep counting up)."""
        self.tracks = TrackStore(past_len=max(self.config.probation_age, 1))

    def forget(self, source_id: int) -> None:
        """Drop one stream's tracks and id counter (its end of stream)."""
        if len(self.tracks):
            self.tracks.keep(self.tracks.source != source_id)
        self._next_ids.pop(source_id, None)

    def update(self, objects: Objects, frame_num: int | None = None, detected: bool = True) -> Objects:
        """Track one frame of the stream ``source_id``.

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
        (result,) = self.update_many([TrackInput(self.source_id, objects, self.frame_num, detected)])
        self.past_frame = result.past_frame
        return result.objects

    def update_many(self, frames: Sequence[TrackInput]) -> list[TrackOutput]:
        """Track one frame of each of several streams; outputs in the order of ``frames``.

        The result is the same as tracking each stream on its own with :meth:`update`, at the cost
        of one pass of NumPy calls for all of them (in groups of streams when they hold very many
        objects, see :data:`PAIR_LIMIT`).
        """
        sources = [frame.source_id for frame in frames]
        if len(set(sources)) != len(sources):
            raise ValueError(f"update_many takes one frame per stream, got streams {sources}")
        outputs: list[TrackOutput | None] = [None] * len(frames)
        for group in self._groups(list(enumerate(frames))):
            self._update_group(group, outputs)
        return outputs  # type: ignore[return-value]

    def associate(self, detections: Objects, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Match tracks to detections; returns ``(track_rows, detection_rows)`` of the pairs.

        Candidates are the rows of :meth:`live_rows`; pairs of different streams are gated out by
        :meth:`gate_classes`.
        """
        raise NotImplementedError

    # ---- helpers for the algorithms ------------------------------------------------------------
    def live_rows(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Track rows of the streams being matched now (and within ``mask`` when given)."""
        return np.flatnonzero(self._live if mask is None else self._live & mask)

    def iou_score(self, track_rows: np.ndarray, detections: Objects, det_rows: np.ndarray,
                  boxes: np.ndarray, min_iou: float) -> np.ndarray:
        """Combined IoU (and size) score ``[len(track_rows), len(det_rows)]``; gated pairs are -inf."""
        config = self.config
        track_boxes = self.tracks.boxes[track_rows]
        det_boxes = boxes[det_rows]
        if self._many_streams:
            return self._iou_score_by_stream(track_rows, detections, det_rows, track_boxes, det_boxes, min_iou)
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

    def _iou_score_by_stream(self, track_rows: np.ndarray, detections: Objects, det_rows: np.ndarray,
                             track_boxes: np.ndarray, det_boxes: np.ndarray, min_iou: float) -> np.ndarray:
        """:meth:`iou_score` for many streams: scores of same-stream pairs only, the rest -inf."""
        config = self.config
        score = np.full((len(track_rows), len(det_rows)), -np.inf)
        ti, di = same_group_pairs(self.tracks.source[track_rows], self._det_source[det_rows])
        if len(ti) == 0:
            return score
        a, b = track_boxes[ti], det_boxes[di]
        iou = iou_pairs(a, b)
        keep = iou >= min_iou
        value = iou
        if config.weight_size_similarity or config.min_size_similarity:
            size = size_similarity_pairs(a, b)
            total = config.weight_iou + config.weight_size_similarity
            value = (iou * config.weight_iou + size * config.weight_size_similarity) / (total or 1.0)
            keep &= size >= config.min_size_similarity
        if config.check_class_match:
            keep &= self.tracks.class_id[track_rows[ti]] == detections.class_id[det_rows[di]]
        score[ti[keep], di[keep]] = value[keep]
        return score

    def gate_classes(self, score: np.ndarray, track_rows: np.ndarray, detections: Objects,
                     det_rows: np.ndarray) -> np.ndarray:
        """Set pairs of different streams, and of different classes when ``check_class_match`` is
        on, to -inf."""
        if score.size == 0:
            return score
        if self._many_streams:
            score[self.tracks.source[track_rows][:, None] != self._det_source[det_rows]] = -np.inf
        if self.config.check_class_match:
            different = self.tracks.class_id[track_rows][:, None] != detections.class_id[det_rows]
            score[different] = -np.inf
        return score

    def match(self, score: np.ndarray, track_rows: np.ndarray, det_rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Assign on a score sub-matrix and map back to track / detection rows."""
        rows, cols = assign(score, self.config.min_matching_score_overall, greedy=self.config.matcher == 0)
        return track_rows[rows], det_rows[cols]

    # ---- internals ---------------------------------------------------------------------------
    def _groups(self, frames: list[tuple[int, TrackInput]]) -> list[list[tuple[int, TrackInput]]]:
        """Split the streams of one call so that tracks x detections of a group stays under PAIR_LIMIT."""
        if len(frames) <= 1:
            return [frames]
        sources, counts = np.unique(self.tracks.source, return_counts=True)
        per_source = dict(zip(sources.tolist(), counts.tolist(), strict=True))
        groups: list[list[tuple[int, TrackInput]]] = [[]]
        tracks = detections = 0
        for item in frames:
            t, d = per_source.get(item[1].source_id, 0), len(item[1].objects)
            if groups[-1] and (tracks + t) * (detections + d) > PAIR_LIMIT:
                groups.append([])
                tracks = detections = 0
            groups[-1].append(item)
            tracks, detections = tracks + t, detections + d
        return groups

    def _update_group(self, group: list[tuple[int, TrackInput]], outputs: list[TrackOutput | None]) -> None:
        config = self.config
        tracks = self.tracks
        self._predict(np.array([frame.source_id for _, frame in group]))
        detected = []
        for index, frame in group:
            if frame.detected:
                detected.append((index, frame))
            else:
                outputs[index] = TrackOutput(frame.objects.append(self._predicted_objects(frame.source_id)))
        if not detected:
            return
        # One table of every detection of the group, with its stream and frame.
        parts = [frame.objects for _, frame in detected]
        owner = np.repeat(np.arange(len(detected)), [len(part) for part in parts])
        detections = parts[0] if len(parts) == 1 else Objects.concat(parts)  # read, never changed
        candidates = np.flatnonzero(detections.confidence >= config.min_detector_confidence)
        if len(candidates) < len(detections):
            detections, owner = detections.select(candidates), owner[candidates]
        group_sources = np.array([frame.source_id for _, frame in detected], dtype=np.int64)
        self._det_source = group_sources[owner]
        self._det_frame = np.array([frame.frame_num for _, frame in detected], dtype=np.int64)[owner]
        self._live = member(tracks.source, group_sources)
        self._many_streams = len(detected) > 1
        det_boxes = detections.xyxy.astype(np.float64)
        track_rows, det_rows = self.associate(detections, det_boxes)
        matched_det = np.zeros(len(detections), dtype=bool)
        matched_det[det_rows] = True
        self._update_matched(track_rows, det_rows, detections, det_boxes)
        unmatched_tracks = self._live.copy()
        unmatched_tracks[track_rows] = False
        tracks.misses[unmatched_tracks] += 1
        new_rows = self._start_tracks(np.flatnonzero(~matched_det), detections, det_boxes)
        live = member(tracks.source, group_sources)  # the new tracks too
        # Life cycle: confirm after probation, end tentative tracks early, end lost ones late.
        newly_confirmed = live & ~tracks.confirmed & (tracks.hits >= config.probation_age)
        past: dict[int, list[dict[str, Any]]] = {}
        if config.output_past_frame and newly_confirmed.any():
            frame_of = {frame.source_id: int(frame.frame_num) for _, frame in detected}
            past = self._collect_past_frame(np.flatnonzero(newly_confirmed), frame_of)
        tracks.confirmed |= newly_confirmed
        ended = live & np.where(tracks.confirmed, tracks.misses > config.max_shadow_tracking_age,
                                tracks.misses >= max(config.early_termination_age, 1))
        # Output before removal: rows of this frame's detections that belong to confirmed tracks.
        det_track = np.full(len(detections), -1, dtype=np.int64)
        det_track[det_rows] = track_rows
        det_track[new_rows[1]] = new_rows[0]
        has_track = det_track >= 0
        shown = np.zeros(len(detections), dtype=bool)
        shown[has_track] = tracks.confirmed[det_track[has_track]] & (
            detections.confidence[has_track] >= config.min_tracker_confidence)
        shown_rows = np.flatnonzero(shown)
        out = detections.select(shown_rows)
        out.object_id = tracks.ids[det_track[shown_rows]]
        out_owner = owner[shown_rows]
        if config.shadow_output_age:
            shadow = live & ~ended & tracks.confirmed & (tracks.misses >= 1) & (tracks.misses <= config.shadow_output_age)
            shadow_rows = self._visible(np.flatnonzero(shadow))
            if len(shadow_rows):
                out = out.append(self._track_objects(shadow_rows))
                out_owner = np.concatenate([out_owner, positions(tracks.source[shadow_rows], group_sources)])
        if ended.any():
            tracks.keep(~ended)
        self._live = np.zeros(len(tracks), dtype=bool)
        self._deliver(out, out_owner, detected, past, outputs)

    def _predict(self, sources: np.ndarray) -> None:
        """Move the tracks of ``sources`` one frame on (Kalman algorithms)."""
        tracks = self.tracks
        if not self.uses_kalman or not len(tracks):
            return
        rows = np.flatnonzero(member(tracks.source, sources))
        if len(rows) == len(tracks):
            tracks.mean, tracks.cov = self.kalman.predict(tracks.mean, tracks.cov)
            tracks.boxes = self.kalman.to_xyxy(tracks.mean)
        elif len(rows):
            tracks.mean[rows], tracks.cov[rows] = self.kalman.predict(tracks.mean[rows], tracks.cov[rows])
            tracks.boxes[rows] = self.kalman.to_xyxy(tracks.mean[rows])

    @staticmethod
    def _deliver(out: Objects, owner: np.ndarray, detected: list[tuple[int, TrackInput]],
                 past: dict[int, list[dict[str, Any]]], outputs: list[TrackOutput | None]) -> None:
        """Split the group's output table into one store per frame (``owner``: position in ``detected``)."""
        if len(detected) == 1:
            index, frame = detected[0]
            outputs[index] = TrackOutput(out, past.get(frame.source_id, []))
            return
        order = np.argsort(owner, kind="stable")  # detections before shadows within each frame
        bounds = np.searchsorted(owner[order], np.arange(len(detected) + 1)).tolist()
        ordered = out.select(order)
        for position, (index, frame) in enumerate(detected):
            outputs[index] = TrackOutput(ordered.rows(bounds[position], bounds[position + 1]),
                                         past.get(frame.source_id, []))

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
            tracks.past[tentative, slot] = self._past_rows(tentative_dets, boxes, detections.confidence)
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
        live = self.live_rows()
        if len(candidates) and len(live):
            # A detection that overlaps a live track of its stream this much is that track's duplicate.
            overlap = iou_matrix(boxes[candidates], tracks.boxes[live])
            overlap[self._det_source[candidates][:, None] != tracks.source[live]] = 0.0
            candidates = candidates[overlap.max(axis=1) <= config.min_iou_diff_new_target]
        if len(candidates) == 0:
            return _EMPTY, _EMPTY
        # Room per stream (candidates of one stream are consecutive rows).
        source = self._det_source[candidates]
        known, counts = np.unique(tracks.source, return_counts=True)
        existing = np.zeros(len(candidates), dtype=np.int64)
        if len(known):
            slot = np.minimum(np.searchsorted(known, source), len(known) - 1)
            existing = np.where(known[slot] == source, counts[slot], 0)
        candidates = candidates[rank_in_runs(source) < config.max_targets_per_stream - existing]
        n = len(candidates)
        if n == 0:
            return _EMPTY, _EMPTY
        source = self._det_source[candidates]
        rank = rank_in_runs(source)
        ids = np.empty(n, dtype=np.int64)
        for stream in np.unique(source).tolist():
            mine = source == stream
            first = self._next_ids.get(stream, 1)
            ids[mine] = first + rank[mine]
            self._next_ids[stream] = first + int(mine.sum())
        if config.use_unique_id:
            ids = ids | (source << 32)
        first_row = len(tracks)
        new_boxes = boxes[candidates]
        mean, cov = self.kalman.initiate(new_boxes)
        past = np.zeros((n, tracks.past.shape[1], 6))
        past[:, 0] = self._past_rows(candidates, boxes, detections.confidence)
        embedding = self._embeddings(detections)
        rows: dict[str, Any] = {
            "source": source, "ids": ids, "boxes": new_boxes, "mean": mean, "cov": cov,
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
        return np.arange(first_row, first_row + n, dtype=np.int64), candidates

    def _past_rows(self, det_rows: np.ndarray, boxes: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        rows = np.empty((len(det_rows), 6))
        rows[:, 0] = self._det_frame[det_rows]
        rows[:, 1:5] = boxes[det_rows]
        rows[:, 5] = confidence[det_rows]
        return rows

    def _collect_past_frame(self, rows: np.ndarray, frame_of: dict[int, int]) -> dict[int, list[dict[str, Any]]]:
        """Past-frame data of the tracks at ``rows`` (confirmed on this frame), per stream
        (``frame_of``: each stream's current frame number)."""
        tracks = self.tracks
        found: dict[int, list[dict[str, Any]]] = {}
        for row in rows:  # only tracks confirmed on this frame: a handful
            source = int(tracks.source[row])
            count = min(int(tracks.hits[row]), tracks.past.shape[1])
            past = tracks.past[row, :count]
            past = past[past[:, 0] < frame_of[source]]
            if len(past) == 0:
                continue
            found.setdefault(source, []).append({
                "object_id": int(tracks.ids[row]), "class_id": int(tracks.class_id[row]),
                "label": tracks.labels[row] or "",
                "frames": [{"frame_num": int(p[0]), "bbox": [round(float(v), 2) for v in p[1:5]],
                            "confidence": round(float(p[5]), 5)} for p in past],
            })
        return found

    def _predicted_objects(self, source_id: int) -> Objects:
        tracks = self.tracks
        shown = (tracks.source == source_id) & tracks.confirmed & (tracks.misses <= self.config.shadow_output_age)
        return self._track_objects(self._visible(np.flatnonzero(shown)))

    def _visible(self, rows: np.ndarray) -> np.ndarray:
        """The rows whose confidence reaches ``min_tracker_confidence``."""
        return rows[self.tracks.confidence[rows] >= self.config.min_tracker_confidence]

    def _track_objects(self, rows: np.ndarray) -> Objects:
        """Objects at the tracks' current (predicted) boxes."""
        tracks = self.tracks
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
