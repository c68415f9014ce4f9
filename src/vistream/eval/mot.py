"""Tracking metrics on MOTChallenge-format files: MOTA, IDF1, HOTA, ID switches, fragmentation.

CLEAR MOT and identity metrics come from ``motmetrics`` (py-motmetrics, MIT); HOTA from
``motrics`` (MIT, checked bit-exact against TrackEval by its authors). Both are in the ``eval``
extra and imported lazily.

MOTChallenge rows: ``frame, id, left, top, width, height, confidence, class, visibility``
(frames from 1; results may stop after ``confidence``). Ground-truth rows less visible than
``min_visibility`` are ignored, and result boxes matching them are removed before scoring, as
TrackEval does for distractors.

Example:
    >>> import numpy as np
    >>> from vistream.eval.mot import evaluate
    >>> gt = np.array([[1, 1, 0, 0, 10, 10, 1, 1, 1], [2, 1, 1, 0, 10, 10, 1, 1, 1]], dtype=float)
    >>> scores = evaluate(gt, gt[:, :7])
    >>> scores["mota"], scores["idf1"], round(scores["hota"], 3), scores["id_switches"]
    (1.0, 1.0, 1.0, 0)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from vistream.core.errors import ConfigError
from vistream.core.meta import Objects
from vistream.elements.track.matching import iou_matrix

METRICS = ("mota", "idf1", "hota", "deta", "assa", "id_switches", "fragmentations", "precision", "recall",
           "false_positives", "misses", "num_objects", "num_tracks", "mostly_tracked", "mostly_lost")


def load_mot(path: str | Path) -> np.ndarray:
    """Read a MOTChallenge text file into a float array ``[N, 9]`` (missing columns: -1; visibility: 1)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"MOT file '{path}' does not exist")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ConfigError(f"MOT file '{path}' line {number}: expected numbers, got {line!r}") from None
        if len(values) < 6:
            raise ConfigError(f"MOT file '{path}' line {number}: expected at least 6 columns "
                              f"(frame, id, left, top, width, height), got {len(values)}")
        # Defaults for what a short row leaves out: confidence 1, class -1, visibility 1.
        values = (values + [1.0, -1.0, 1.0][len(values) - 6:])[:9] if len(values) < 9 else values[:9]
        rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(-1, 9)


def to_mot_rows(frame_num: int, objects: Objects, visibility: np.ndarray | None = None) -> np.ndarray:
    """MOTChallenge rows for one frame's objects (``frame_num`` 0-based; written 1-based)."""
    n = len(objects)
    rows = np.empty((n, 9))
    rows[:, 0] = frame_num + 1
    rows[:, 1] = objects.object_id
    rows[:, 2:4] = objects.xyxy[:, :2]
    rows[:, 4:6] = objects.xyxy[:, 2:] - objects.xyxy[:, :2]
    rows[:, 6] = objects.confidence
    rows[:, 7] = objects.class_id
    rows[:, 8] = 1.0 if visibility is None else visibility
    return rows


def write_mot(path: str | Path, rows: np.ndarray | Iterable[np.ndarray], ground_truth: bool = False) -> Path:
    """Write rows as a MOTChallenge file (results: 10 columns with -1 for world coordinates)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = rows if isinstance(rows, np.ndarray) else np.concatenate([np.asarray(r).reshape(-1, 9) for r in rows] or [np.zeros((0, 9))])
    lines = []
    for row in table:
        head = f"{int(row[0])},{int(row[1])},{row[2]:.2f},{row[3]:.2f},{row[4]:.2f},{row[5]:.2f}"
        if ground_truth:
            lines.append(f"{head},1,{int(row[7])},{row[8]:.3f}")
        else:
            lines.append(f"{head},{row[6]:.4f},-1,-1,-1")
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


def evaluate(gt: np.ndarray, results: np.ndarray, min_visibility: float = 0.0,
             iou_threshold: float = 0.5) -> dict[str, Any]:
    """Score tracker ``results`` against ``gt`` (both MOTChallenge arrays, see :func:`load_mot`)."""
    import motmetrics
    import motrics

    gt = np.asarray(gt, dtype=np.float64).reshape(-1, gt.shape[1] if np.ndim(gt) == 2 else 9)
    results = np.asarray(results, dtype=np.float64)
    results = results.reshape(-1, results.shape[1] if results.ndim == 2 else 7)
    frames = np.union1d(gt[:, 0], results[:, 0]).astype(np.int64)
    accumulator = motmetrics.MOTAccumulator(auto_id=False)
    gt_ids, gt_boxes, res_ids, res_boxes = [], [], [], []
    for frame in frames:
        g = gt[gt[:, 0] == frame]
        r = results[results[:, 0] == frame]
        if min_visibility > 0 and len(g):
            g, r = _drop_ignored(g, r, min_visibility, iou_threshold)
        # motmetrics 1.4's own iou_matrix uses an API NumPy 2 removed; same distances computed here.
        iou = iou_matrix(_xywh_to_xyxy(g[:, 2:6]), _xywh_to_xyxy(r[:, 2:6]))
        distances = np.where(iou >= iou_threshold, 1.0 - iou, np.nan)
        accumulator.update(g[:, 1].astype(np.int64), r[:, 1].astype(np.int64), distances, frameid=int(frame))
        gt_ids.append(g[:, 1].astype(np.int64).tolist())
        gt_boxes.append(g[:, 2:6].tolist())
        res_ids.append(r[:, 1].astype(np.int64).tolist())
        res_boxes.append(r[:, 2:6].tolist())
    host = motmetrics.metrics.create()
    names = ["mota", "idf1", "num_switches", "num_fragmentations", "precision", "recall",
             "num_false_positives", "num_misses", "num_unique_objects", "mostly_tracked", "mostly_lost"]
    summary = host.compute(accumulator, metrics=names, name="sequence").iloc[0]
    hota = motrics.compute_hota(gt_ids, gt_boxes, res_ids, res_boxes, box_format="xywh")
    return {
        "mota": _number(summary["mota"]),
        "idf1": _number(summary["idf1"]),
        "hota": float(hota.hota),
        "deta": float(hota.deta),
        "assa": float(hota.assa),
        "id_switches": int(summary["num_switches"]),
        "fragmentations": int(summary["num_fragmentations"]),
        "precision": _number(summary["precision"]),
        "recall": _number(summary["recall"]),
        "false_positives": int(summary["num_false_positives"]),
        "misses": int(summary["num_misses"]),
        "num_objects": int(summary["num_unique_objects"]),
        "num_tracks": int(len(np.unique(results[:, 1]))) if len(results) else 0,
        "mostly_tracked": int(summary["mostly_tracked"]),
        "mostly_lost": int(summary["mostly_lost"]),
    }


def track_statistics(results: np.ndarray) -> dict[str, float]:
    """Ground-truth-free statistics of a result file: tracks, mean track length, fragmentation.

    A track's length is the number of frames it appears on; its fragments are the runs of
    consecutive frames (a gap of missing frames splits a run). ``fragmentation`` is the mean
    number of extra fragments per track.
    """
    if len(results) == 0:
        return {"tracks": 0, "mean_track_length": 0.0, "mean_track_span": 0.0, "fragmentation": 0.0}
    order = np.lexsort((results[:, 0], results[:, 1]))
    ids = results[order, 1]
    frames = results[order, 0]
    starts = np.r_[True, ids[1:] != ids[:-1]]
    gap = np.r_[False, (frames[1:] - frames[:-1] > 1) & ~starts[1:]]
    track_index = np.cumsum(starts) - 1
    count = int(starts.sum())
    lengths = np.bincount(track_index, minlength=count)
    first = frames[starts]
    last = frames[np.r_[starts[1:], True]]
    gaps = np.bincount(track_index, weights=gap, minlength=count)
    return {
        "tracks": count,
        "mean_track_length": float(lengths.mean()),
        "mean_track_span": float((last - first + 1).mean()),
        "fragmentation": float(gaps.mean()),
    }


def _drop_ignored(g: np.ndarray, r: np.ndarray, min_visibility: float, iou_threshold: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Remove hidden ground truth, and the results that match it (they are neither right nor wrong)."""
    from scipy.optimize import linear_sum_assignment

    hidden = g[:, 8] < min_visibility
    if not hidden.any():
        return g, r
    if len(r):
        iou = iou_matrix(_xywh_to_xyxy(g[:, 2:6]), _xywh_to_xyxy(r[:, 2:6]))
        rows, cols = linear_sum_assignment(-iou)
        good = iou[rows, cols] >= iou_threshold
        drop = cols[good & hidden[rows]]
        r = np.delete(r, drop, axis=0)
    return g[~hidden], r


def _xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4]], axis=1)


def _number(value: Any) -> float:
    value = float(value)
    return value if np.isfinite(value) else 0.0
