"""What output parsers receive and return.

A parser turns the raw outputs of one frame (or one object, in secondary mode; no batch axis)
into :class:`Detections` (boxes in network-input pixels) or a list of :class:`Classification`.
Built-in parsers are :class:`Parser` objects in :data:`PARSERS`; user functions are written
in Python: ``parser: mypkg.module:function``, called as ``function(outputs, info)``.

Example:
    >>> import numpy as np
    >>> d = Detections.from_arrays([[0, 0, 10, 10]], [0.9], [3])
    >>> len(d), d.class_ids.tolist()
    (1, [3])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Detections:
    """Candidate boxes of one image: ``boxes`` xyxy float32 [N, 4] in network pixels."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    @classmethod
    def from_arrays(cls, boxes: Any, scores: Any, class_ids: Any) -> Detections:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        class_ids = np.asarray(class_ids).astype(np.int32).reshape(-1)
        if not len(boxes) == len(scores) == len(class_ids):
            raise ValueError(f"detections disagree in length: {len(boxes)} boxes, {len(scores)} scores, "
                             f"{len(class_ids)} class ids")
        return cls(boxes, scores, class_ids)

    @classmethod
    def empty(cls) -> Detections:
        return cls.from_arrays(np.zeros((0, 4)), [], [])

    def select(self, mask: np.ndarray) -> Detections:
        return Detections(self.boxes[mask], self.scores[mask], self.class_ids[mask])

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True)
class Classification:
    """One classifier verdict: class id, its probability and label."""

    class_id: int
    confidence: float
    label: str = ""


@dataclass
class ParseInfo:
    """Everything a parser may need besides the tensors."""

    network_width: int
    network_height: int
    num_classes: int = 0
    labels: Sequence[str] = ()
    output_names: Sequence[str] = ()
    anchors: Sequence[float] = ()
    anchor_masks: Sequence[Sequence[int]] = ()
    classifier_threshold: float = 0.0
    classifier_activation: str = "none"
    score_threshold: float = 0.0  # lowest pre-cluster-threshold, a parser may drop below it early
    options: dict[str, Any] = field(default_factory=dict)

    def label(self, class_id: int) -> str:
        return self.labels[class_id] if 0 <= class_id < len(self.labels) else str(class_id)


ParseFunction = Callable[[list[np.ndarray], ParseInfo], Any]
CheckFunction = Callable[[list[tuple[int | None, ...]], ParseInfo], None]


@dataclass(frozen=True)
class Parser:
    """A named parser: ``kind`` is ``detector`` or ``classifier``; ``check`` validates the model's
    output shapes (without the batch axis) at start-up and raises ``ValueError`` with the reason."""

    name: str
    kind: str
    parse: ParseFunction
    check: CheckFunction | None = None
    doc: str = ""


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``[N, 4]`` centre / size boxes to corners."""
    out = np.empty_like(boxes, dtype=np.float32)
    half_w, half_h = boxes[:, 2] / 2, boxes[:, 3] / 2
    out[:, 0] = boxes[:, 0] - half_w
    out[:, 1] = boxes[:, 1] - half_h
    out[:, 2] = boxes[:, 0] + half_w
    out[:, 3] = boxes[:, 1] + half_h
    return out


def coerce_result(result: Any, kind: str, where: str) -> Detections | list[Classification]:
    """Accept what a user parser returns: Detections, ``(boxes, scores, class_ids)``, or classifications."""
    if kind == "detector":
        if isinstance(result, Detections):
            return result
        if isinstance(result, (tuple, list)) and len(result) == 3:
            return Detections.from_arrays(*result)
        raise TypeError(f"parser {where} returned {type(result).__name__}; a detector parser returns "
                        "Detections or (boxes xyxy [N,4], scores [N], class_ids [N]) in network pixels")
    if isinstance(result, Classification):
        return [result]
    if isinstance(result, (list, tuple)) and all(isinstance(r, Classification) for r in result):
        return list(result)
    raise TypeError(f"parser {where} returned {type(result).__name__}; a classifier parser returns a list of "
                    "Classification")
