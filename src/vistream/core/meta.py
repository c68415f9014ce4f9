"""Metadata carried by frames and batches, shaped like DeepStream's tree.

Objects are stored **columnar** per frame (:class:`Objects`): hot elements work on the
arrays, probes may use the light per-object :class:`ObjectMeta` views.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import FrameMeta, Objects
    >>> meta = FrameMeta(source_id=0, frame_num=7)
    >>> meta.objects = Objects.from_arrays(
    ...     xyxy=np.array([[10, 20, 50, 80]], dtype=np.float32),
    ...     confidence=np.array([0.9], dtype=np.float32),
    ...     class_id=np.array([2]), labels=["car"])
    >>> obj = meta.objects[0]
    >>> (obj.label, obj.width, obj.height)
    ('car', 40.0, 60.0)
    >>> meta.to_dict()["objects"][0]["bbox"]
    [10.0, 20.0, 50.0, 80.0]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vistream.core.objects import ClassifierMeta, ObjectMeta, Objects, jsonable

__all__ = ["BatchMeta", "ClassifierMeta", "DisplayMeta", "FrameMeta", "ObjectMeta", "Objects", "TensorMeta", "UserMeta"]

_jsonable = jsonable


@dataclass
class TensorMeta:
    """Raw output tensors of an inference element (``output-tensor-meta``)."""

    component_id: int
    names: list[str]
    tensors: list[Any]
    object_index: int = -1  # -1: whole frame; otherwise the object the tensor belongs to

    def to_dict(self) -> dict[str, Any]:
        return {
            "component_id": self.component_id,
            "object_index": self.object_index,
            "tensors": {name: list(np.shape(t)) for name, t in zip(self.names, self.tensors)},
        }


@dataclass
class DisplayMeta:
    """Things for ``osd`` to draw, in source-frame pixels (DeepStream's NvDsDisplayMeta).

    ``lines``: ``((x1, y1), (x2, y2), (r, g, b), thickness)``; ``polygons``: ``(points, (r, g, b),
    thickness)``; ``texts``: ``((x, y), text, (r, g, b))``; ``rects``: ``((x1, y1, x2, y2), (r, g, b),
    thickness)``.
    """

    lines: list[tuple] = field(default_factory=list)
    polygons: list[tuple] = field(default_factory=list)
    texts: list[tuple] = field(default_factory=list)
    rects: list[tuple] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": _jsonable(self.lines),
            "polygons": _jsonable(self.polygons),
            "texts": _jsonable(self.texts),
            "rects": _jsonable(self.rects),
        }


@dataclass
class UserMeta:
    """Arbitrary user data attached to a frame or batch under a type name."""

    meta_type: str
    data: Any

    def to_dict(self) -> dict[str, Any]:
        return {"meta_type": self.meta_type, "data": _jsonable(self.data)}


@dataclass
class FrameMeta:
    """Per-frame metadata (DeepStream's NvDsFrameMeta)."""

    source_id: int = 0
    frame_num: int = 0
    pts: int = 0
    ingest_ns: int = 0
    width: int = 0
    height: int = 0
    source_name: str = ""
    objects: Objects = field(default_factory=Objects)
    tensors: list[TensorMeta] = field(default_factory=list)
    display: list[DisplayMeta] = field(default_factory=list)
    user: list[UserMeta] = field(default_factory=list)
    analytics: dict[str, Any] = field(default_factory=dict)
    inferred: dict[int, bool] = field(default_factory=dict)  # unique-id -> ran on this frame

    def add_user_meta(self, meta_type: str, data: Any) -> UserMeta:
        """Attach user data; returns the new entry."""
        entry = UserMeta(meta_type, data)
        self.user.append(entry)
        return entry

    def user_meta(self, meta_type: str) -> list[Any]:
        """Data of every user meta entry of the given type."""
        return [entry.data for entry in self.user if entry.meta_type == meta_type]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source_id": self.source_id,
            "frame_num": self.frame_num,
            "pts": self.pts,
            "width": self.width,
            "height": self.height,
            "objects": self.objects.to_list(),
        }
        if self.source_name:
            out["source_name"] = self.source_name
        if self.analytics:
            out["analytics"] = _jsonable(self.analytics)
        if self.tensors:
            out["tensors"] = [t.to_dict() for t in self.tensors]
        if self.user:
            out["user"] = [u.to_dict() for u in self.user]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


@dataclass
class BatchMeta:
    """Per-batch metadata (DeepStream's NvDsBatchMeta)."""

    frames: list[FrameMeta] = field(default_factory=list)
    user: list[UserMeta] = field(default_factory=list)

    @property
    def num_frames_in_batch(self) -> int:
        return len(self.frames)

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_frames_in_batch": self.num_frames_in_batch,
            "frames": [f.to_dict() for f in self.frames],
            **({"user": [u.to_dict() for u in self.user]} if self.user else {}),
        }
