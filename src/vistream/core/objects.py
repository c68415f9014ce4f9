"""Columnar per-frame object store (:class:`Objects`) and its per-object views (:class:`ObjectMeta`).

Example:
    >>> import numpy as np
    >>> from vistream.core.objects import Objects
    >>> objects = Objects.from_arrays([[0, 0, 10, 20], [5, 5, 7, 9]], class_id=[2, 0], labels=["car", "person"])
    >>> objects.select(objects.class_id == 0).labels
    ['person']
    >>> objects[0].height
    20.0
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_COLUMN_DTYPES: dict[str, Any] = {
    "confidence": np.float32,
    "class_id": np.int32,
    "object_id": np.int64,
    "component_id": np.int32,
    "parent": np.int64,
}


class Objects:
    """Columnar store of a frame's objects.

    Columns: ``xyxy`` float32 [N, 4] in source-frame pixels, ``confidence`` float32 [N],
    ``class_id`` int32 [N], ``object_id`` int64 [N] (track id, -1 when untracked),
    ``component_id`` int32 [N] (``unique-id`` of the element that made the object),
    ``parent`` int64 [N] (``object_id`` of the parent object, -1 when none),
    ``labels`` (list of str) and ``data`` (extra per-object columns, each with N rows:
    classifier results, embeddings, analytics flags ...).
    """

    __slots__ = ("xyxy", "confidence", "class_id", "object_id", "component_id", "parent", "labels", "data")

    def __init__(self) -> None:
        self.xyxy = np.zeros((0, 4), dtype=np.float32)
        self.confidence = np.zeros(0, dtype=np.float32)
        self.class_id = np.zeros(0, dtype=np.int32)
        self.object_id = np.zeros(0, dtype=np.int64)
        self.component_id = np.zeros(0, dtype=np.int32)
        self.parent = np.zeros(0, dtype=np.int64)
        self.labels: list[str] = []
        self.data: dict[str, np.ndarray] = {}

    @classmethod
    def _empty_shell(cls) -> Objects:
        """An instance whose columns the caller sets, all of them (skips making defaults)."""
        return cls.__new__(cls)

    @classmethod
    def from_arrays(
        cls,
        xyxy: np.ndarray | Sequence[Sequence[float]],
        confidence: np.ndarray | Sequence[float] | None = None,
        class_id: np.ndarray | Sequence[int] | None = None,
        object_id: np.ndarray | Sequence[int] | None = None,
        component_id: np.ndarray | Sequence[int] | int | None = None,
        parent: np.ndarray | Sequence[int] | None = None,
        labels: Sequence[str] | None = None,
        data: dict[str, np.ndarray] | None = None,
    ) -> Objects:
        """Build a validated store; missing columns get their defaults."""
        objects = cls()
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(boxes)
        objects.xyxy = boxes
        objects.confidence = _column(confidence, n, "confidence", 1.0)
        objects.class_id = _column(class_id, n, "class_id", 0)
        objects.object_id = _column(object_id, n, "object_id", -1)
        objects.component_id = _column(component_id, n, "component_id", 0)
        objects.parent = _column(parent, n, "parent", -1)
        objects.labels = list(labels) if labels is not None else [""] * n
        if len(objects.labels) != n:
            raise ValueError(f"labels has {len(objects.labels)} entries, expected {n} (one per box)")
        objects.data = {}
        for key, value in (data or {}).items():
            objects.set_column(key, value)
        return objects

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: int) -> ObjectMeta:
        if not -len(self) <= index < len(self):
            raise IndexError(f"object index {index} out of range for {len(self)} objects")
        return ObjectMeta(self, index % len(self))

    def __iter__(self) -> Iterator[ObjectMeta]:
        return (ObjectMeta(self, i) for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Objects(n={len(self)}, columns={['xyxy', 'confidence', 'class_id', 'object_id', *self.data]})"

    def set_column(self, key: str, values: np.ndarray | Sequence[Any]) -> None:
        """Attach an extra per-object column (must have one row per object)."""
        if isinstance(values, np.ndarray):
            array = values
        else:
            # Object dtype keeps lists / dicts per row intact instead of broadcasting them.
            array = np.empty(len(values), dtype=object)
            array[:] = list(values)
        if len(array) != len(self):
            raise ValueError(f"column {key!r} has {len(array)} rows, expected {len(self)}")
        self.data[key] = array

    def select(self, selector: np.ndarray | Sequence[int] | slice) -> Objects:
        """Return a new store with the rows chosen by a boolean mask or index array."""
        if isinstance(selector, slice):
            indices = np.arange(len(self))[selector]
        else:
            selector = np.asarray(selector)
            indices = np.flatnonzero(selector) if selector.dtype == bool else selector.astype(np.int64)
        out = Objects._empty_shell()
        out.xyxy = self.xyxy[indices]
        out.confidence = self.confidence[indices]
        out.class_id = self.class_id[indices]
        out.object_id = self.object_id[indices]
        out.component_id = self.component_id[indices]
        out.parent = self.parent[indices]
        out.labels = [self.labels[i] for i in indices]
        out.data = {key: value[indices] for key, value in self.data.items()}
        return out

    def rows(self, start: int, stop: int) -> Objects:
        """Rows ``start:stop`` as a new store whose columns are views of this one's (no copy):
        the cheap way to split a table built for many frames into per-frame stores.

        Example:
            >>> table = Objects.from_arrays([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]], labels=["a", "b", "c"])
            >>> part = table.rows(1, 3)
            >>> part.labels, part.xyxy[0].tolist()
            (['b', 'c'], [2.0, 2.0, 3.0, 3.0])
        """
        out = Objects._empty_shell()
        out.xyxy = self.xyxy[start:stop]
        out.confidence = self.confidence[start:stop]
        out.class_id = self.class_id[start:stop]
        out.object_id = self.object_id[start:stop]
        out.component_id = self.component_id[start:stop]
        out.parent = self.parent[start:stop]
        out.labels = self.labels[start:stop]
        out.data = {key: value[start:stop] for key, value in self.data.items()}
        return out

    def append(self, other: Objects) -> Objects:
        """Return a new store with ``other``'s rows after this one's (extra columns must agree)."""
        if len(self) == 0:
            return other.copy()
        if len(other) == 0:
            return self.copy()
        out = Objects._empty_shell()
        out.xyxy = np.concatenate([self.xyxy, other.xyxy])
        out.confidence = np.concatenate([self.confidence, other.confidence])
        out.class_id = np.concatenate([self.class_id, other.class_id])
        out.object_id = np.concatenate([self.object_id, other.object_id])
        out.component_id = np.concatenate([self.component_id, other.component_id])
        out.parent = np.concatenate([self.parent, other.parent])
        out.labels = self.labels + other.labels
        out.data = {}
        for key in set(self.data) | set(other.data):
            left = self.data.get(key)
            right = other.data.get(key)
            if left is None:
                left = _empty_like(right, len(self))
            if right is None:
                right = _empty_like(left, len(other))
            out.data[key] = np.concatenate([left, right])
        return out

    @classmethod
    def concat(cls, parts: Sequence[Objects]) -> Objects:
        """One store with the rows of ``parts`` in order (extra columns missing in a part get
        empty values there, as in :meth:`append`).

        Example:
            >>> a = Objects.from_arrays([[0, 0, 1, 1]], labels=["a"])
            >>> Objects.concat([a, Objects(), a]).labels
            ['a', 'a']
        """
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls()
        if len(parts) == 1:
            return parts[0].copy()
        out = cls._empty_shell()
        out.xyxy = np.concatenate([p.xyxy for p in parts])
        out.confidence = np.concatenate([p.confidence for p in parts])
        out.class_id = np.concatenate([p.class_id for p in parts])
        out.object_id = np.concatenate([p.object_id for p in parts])
        out.component_id = np.concatenate([p.component_id for p in parts])
        out.parent = np.concatenate([p.parent for p in parts])
        out.labels = [label for p in parts for label in p.labels]
        out.data = {}
        keys = list(dict.fromkeys(key for p in parts for key in p.data))
        for key in keys:
            like = next(p.data[key] for p in parts if key in p.data)
            out.data[key] = np.concatenate([p.data[key] if key in p.data else _empty_like(like, len(p)) for p in parts])
        return out

    def copy(self) -> Objects:
        """Deep copy of every column."""
        return self.select(np.arange(len(self)))

    def to_list(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per object."""
        return [obj.to_dict() for obj in self]


def _column(values: Any, n: int, name: str, default: Any) -> np.ndarray:
    dtype = _COLUMN_DTYPES[name]
    if values is None:
        return np.full(n, default, dtype=dtype)
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 0:
        return np.full(n, array, dtype=dtype)
    if array.shape != (n,):
        raise ValueError(f"column {name!r} has shape {array.shape}, expected ({n},)")
    return array


def _empty_like(array: np.ndarray, n: int) -> np.ndarray:
    if array.dtype == object:
        return np.full(n, None, dtype=object)
    if np.issubdtype(array.dtype, np.floating):
        return np.full((n, *array.shape[1:]), np.nan, dtype=array.dtype)
    return np.full((n, *array.shape[1:]), -1, dtype=array.dtype)


@dataclass
class ClassifierMeta:
    """One classifier's verdict on one object (DeepStream's NvDsClassifierMeta + label info)."""

    component_id: int
    class_id: int
    label: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "component_id": self.component_id,
            "class_id": self.class_id,
            "label": self.label,
            "confidence": round(float(self.confidence), 5),
        }


class ObjectMeta:
    """A light view of one row of :class:`Objects`; writes go to the arrays."""

    __slots__ = ("_store", "index")

    def __init__(self, store: Objects, index: int) -> None:
        self._store = store
        self.index = index

    @property
    def xyxy(self) -> np.ndarray:
        return self._store.xyxy[self.index]

    @property
    def left(self) -> float:
        return float(self._store.xyxy[self.index, 0])

    @property
    def top(self) -> float:
        return float(self._store.xyxy[self.index, 1])

    @property
    def width(self) -> float:
        box = self._store.xyxy[self.index]
        return float(box[2] - box[0])

    @property
    def height(self) -> float:
        box = self._store.xyxy[self.index]
        return float(box[3] - box[1])

    @property
    def confidence(self) -> float:
        return float(self._store.confidence[self.index])

    @property
    def class_id(self) -> int:
        return int(self._store.class_id[self.index])

    @property
    def object_id(self) -> int:
        return int(self._store.object_id[self.index])

    @object_id.setter
    def object_id(self, value: int) -> None:
        self._store.object_id[self.index] = value

    @property
    def component_id(self) -> int:
        return int(self._store.component_id[self.index])

    @property
    def parent(self) -> int:
        return int(self._store.parent[self.index])

    @property
    def label(self) -> str:
        return self._store.labels[self.index]

    @label.setter
    def label(self, value: str) -> None:
        self._store.labels[self.index] = value

    @property
    def classifiers(self) -> list[ClassifierMeta]:
        """Classifier results attached by secondary ``infer`` elements."""
        column = self._store.data.get("classifiers")
        if column is None or column[self.index] is None:
            return []
        return list(column[self.index])

    def get(self, key: str, default: Any = None) -> Any:
        """Value of an extra column for this object."""
        column = self._store.data.get(key)
        return default if column is None else column[self.index]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object_id": self.object_id,
            "class_id": self.class_id,
            "label": self.label,
            "confidence": round(self.confidence, 5),
            "bbox": [round(float(v), 2) for v in self.xyxy],
            "component_id": self.component_id,
        }
        if self.parent >= 0:
            out["parent"] = self.parent
        classifiers = self.classifiers
        if classifiers:
            out["classifiers"] = [c.to_dict() for c in classifiers]
        for key, column in self._store.data.items():
            if key == "classifiers":
                continue
            value = column[self.index]
            if isinstance(value, np.ndarray) and value.size > 16:
                continue  # embeddings and the like stay out of JSON
            out[key] = jsonable(value)
        return out

    def __repr__(self) -> str:
        return (
            f"ObjectMeta(index={self.index}, label={self.label!r}, object_id={self.object_id}, "
            f"confidence={self.confidence:.3f}, xyxy={self.xyxy.tolist()})"
        )


def jsonable(value: Any) -> Any:
    """Turn NumPy scalars / arrays and nested containers into JSON-ready values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Objects):
        return value.to_list()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value
