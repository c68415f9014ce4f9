"""Detection post-processing: per-class thresholds, size limits, class-aware NMS, top-k.

Order (as nvinfer): ``pre-cluster-threshold`` -> ``detected-min/max-w/h`` and ROI offsets ->
clustering (class-aware NMS, or none) -> ``topk`` per class -> ``post-cluster-threshold``.
Boxes are in source-frame pixels here. Everything is vectorised over boxes.

Example:
    >>> import numpy as np
    >>> from vistream.elements.infer.parsers import Detections
    >>> dets = Detections.from_arrays([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.7], [0, 0, 1])
    >>> out = postprocess(dets, ClassAttrTable(ClassAttrs(pre_cluster_threshold=0.5)), cluster_mode="nms")
    >>> [round(float(s), 2) for s in out.scores], out.class_ids.tolist()
    ([0.9, 0.7], [0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import cv2
import numpy as np

from vistream.elements.infer.parsers import Detections

CLUSTER_MODES = ("nms", "none")


@dataclass(frozen=True)
class ClassAttrs:
    """``[class-attrs-all]`` / ``[class-attrs-N]`` values (sizes in source-frame pixels; 0 = no limit)."""

    pre_cluster_threshold: float = 0.2
    post_cluster_threshold: float = 0.0
    nms_iou_threshold: float = 0.5
    topk: int = -1
    detected_min_w: float = 0.0
    detected_min_h: float = 0.0
    detected_max_w: float = 0.0
    detected_max_h: float = 0.0
    roi_top_offset: float = 0.0
    roi_bottom_offset: float = 0.0

    @classmethod
    def keys(cls) -> list[str]:
        """User-facing key names (``pre-cluster-threshold``, ...)."""
        return [f.name.replace("_", "-") for f in fields(cls)]

    def updated(self, values: dict[str, Any]) -> ClassAttrs:
        return replace(self, **{key.replace("-", "_"): value for key, value in values.items()})


class ClassAttrTable:
    """Defaults for every class plus per-class overrides, looked up as arrays by class id."""

    def __init__(self, default: ClassAttrs | None = None, per_class: dict[int, ClassAttrs] | None = None) -> None:
        self.default = default or ClassAttrs()
        self.per_class = dict(per_class or {})

    def lookup(self, name: str, class_ids: np.ndarray) -> np.ndarray:
        """Value of attribute ``name`` for every class id (vectorised)."""
        values = np.full(len(class_ids), getattr(self.default, name), dtype=np.float32)
        for class_id, attrs in self.per_class.items():
            values[class_ids == class_id] = getattr(attrs, name)
        return values

    @property
    def min_threshold(self) -> float:
        return min([self.default.pre_cluster_threshold,
                    *(a.pre_cluster_threshold for a in self.per_class.values())])


def nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by class-aware NMS, best score first (OpenCV's batched NMS)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), class_ids.tolist(), 0.0, float(iou_threshold))
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")]


def top_k_per_class(scores: np.ndarray, class_ids: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Mask keeping the ``k[i]`` best boxes of each box's class (``k < 0``: all)."""
    order = np.lexsort((-scores, class_ids))
    sorted_classes = class_ids[order]
    starts = np.searchsorted(sorted_classes, sorted_classes, side="left")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(len(scores)) - starts
    return (k < 0) | (rank < k)


def postprocess(detections: Detections, attrs: ClassAttrTable, cluster_mode: str = "nms",
                frame_height: float = 0.0) -> Detections:
    """Apply thresholds, size limits, clustering and top-k to one frame's detections."""
    if cluster_mode not in CLUSTER_MODES:
        raise ValueError(f"cluster mode {cluster_mode!r}; valid: {', '.join(CLUSTER_MODES)}")
    dets = detections
    if len(dets) == 0:
        return dets
    classes = dets.class_ids
    keep = dets.scores >= attrs.lookup("pre_cluster_threshold", classes)
    widths = dets.boxes[:, 2] - dets.boxes[:, 0]
    heights = dets.boxes[:, 3] - dets.boxes[:, 1]
    keep &= (widths > 0) & (heights > 0)
    keep &= widths >= attrs.lookup("detected_min_w", classes)
    keep &= heights >= attrs.lookup("detected_min_h", classes)
    max_w, max_h = attrs.lookup("detected_max_w", classes), attrs.lookup("detected_max_h", classes)
    keep &= (max_w <= 0) | (widths <= max_w)
    keep &= (max_h <= 0) | (heights <= max_h)
    top_offset = attrs.lookup("roi_top_offset", classes)
    keep &= dets.boxes[:, 1] >= top_offset
    if frame_height:
        keep &= dets.boxes[:, 3] <= frame_height - attrs.lookup("roi_bottom_offset", classes)
    dets = dets.select(keep)
    if cluster_mode == "nms" and len(dets):
        ious = attrs.lookup("nms_iou_threshold", dets.class_ids)
        kept = [np.flatnonzero(ious == value)[nms(dets.boxes[ious == value], dets.scores[ious == value],
                                                  dets.class_ids[ious == value], float(value))]
                for value in np.unique(ious)]
        index = np.concatenate(kept)
        dets = dets.select(index[np.argsort(-dets.scores[index], kind="stable")])
    else:
        dets = dets.select(np.argsort(-dets.scores, kind="stable"))
    if len(dets):
        dets = dets.select(top_k_per_class(dets.scores, dets.class_ids, attrs.lookup("topk", dets.class_ids)))
        dets = dets.select(dets.scores >= attrs.lookup("post_cluster_threshold", dets.class_ids))
    return dets
