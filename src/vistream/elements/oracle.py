"""``oracle-detector``: detections made from ground truth, with controlled noise (for tracker evaluation).

``testsrc pattern=scene`` attaches the exact ground truth of each frame as user meta
``ground-truth``; this element turns it into detections as a real detector would report them:
boxes jittered, some objects missed, partly hidden objects scored low, hidden ones not found,
false positives added. Results are reproducible (the noise of a frame depends only on the seed,
the stream and the frame number), so trackers can be compared on identical detections without a
real detector's noise. Like ``infer``, it can run only every ``interval + 1`` frames and marks the
frames it ran on in ``frame.meta.inferred``.

Example:
    >>> import numpy as np
    >>> from vistream.core.meta import Objects
    >>> from vistream.elements.oracle import OracleDetector
    >>> truth = Objects.from_arrays([[10, 10, 50, 90], [100, 10, 140, 90]], object_id=[1, 2],
    ...                             data={"visibility": np.array([1.0, 0.1], np.float32)})
    >>> detections = OracleDetector(jitter=0.0).detect(truth, frame_num=0)
    >>> detections.xyxy.tolist()  # the mostly hidden object is not found
    [[10.0, 10.0, 50.0, 90.0]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vistream.core.buffer import Batch
from vistream.core.element import Element
from vistream.core.meta import Objects
from vistream.core.properties import Property
from vistream.core.registry import register_element


@dataclass
class OracleDetector:
    """Ground truth -> noisy detections.

    Args:
        jitter: standard deviation of box-corner noise, as a fraction of the box's size.
        miss_rate: probability that a visible object is not detected.
        false_positives: mean number of spurious boxes per frame (Poisson).
        min_visibility: objects less visible than this are not detected.
        embedding_size: length of a synthetic appearance vector per object (0: none). Each
            ground-truth id has its own direction; ``embedding_noise`` blurs it per frame.
        seed: the noise depends only on ``(seed, source_id, frame_num)``.
    """

    jitter: float = 0.05
    miss_rate: float = 0.0
    false_positives: float = 0.0
    min_visibility: float = 0.3
    embedding_size: int = 0
    embedding_noise: float = 0.3
    seed: int = 0
    component_id: int = 1

    def detect(self, truth: Objects, frame_num: int, source_id: int = 0,
               frame_size: tuple[int, int] | None = None) -> Objects:
        """Detections for one frame's ground truth (``frame_size`` = (width, height) for false positives)."""
        rng = np.random.default_rng((self.seed, source_id, frame_num))
        visibility = truth.data.get("visibility")
        if visibility is None:
            visibility = np.ones(len(truth), dtype=np.float32)
        found = (visibility >= self.min_visibility) & (rng.random(len(truth)) >= self.miss_rate)
        chosen = truth.select(found)
        seen = visibility[found].astype(np.float64)
        boxes = chosen.xyxy.astype(np.float64)
        wh = boxes[:, 2:4] - boxes[:, 0:2]
        size = np.concatenate([wh, wh], axis=1)
        boxes = boxes + rng.normal(0.0, self.jitter, size=boxes.shape) * size
        # Partly hidden objects score lower, as real detectors do.
        confidence = np.clip(np.minimum(seen + 0.2, 1.0) * rng.uniform(0.75, 1.0, size=len(seen)), 0.05, 1.0)
        data: dict[str, np.ndarray] = {}
        if self.embedding_size:
            data["embedding"] = self._embeddings(chosen.object_id, rng)
        detections = Objects.from_arrays(
            boxes.astype(np.float32), confidence=confidence, class_id=chosen.class_id,
            component_id=self.component_id, labels=chosen.labels, data=data)
        count = rng.poisson(self.false_positives) if self.false_positives else 0
        if count and frame_size is not None:
            detections = detections.append(self._false_positives(count, rng, frame_size, truth))
        return detections

    def _embeddings(self, object_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        vectors = np.stack([np.random.default_rng((self.seed, 7919, int(i))).normal(size=self.embedding_size)
                            for i in object_ids]) if len(object_ids) else np.zeros((0, self.embedding_size))
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
        vectors = vectors + rng.normal(0.0, self.embedding_noise / np.sqrt(self.embedding_size), vectors.shape)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)

    def _false_positives(self, count: int, rng: np.random.Generator, frame_size: tuple[int, int],
                         truth: Objects) -> Objects:
        width, height = frame_size
        w = rng.uniform(0.03, 0.15, count) * width
        h = rng.uniform(0.05, 0.25, count) * height
        x = rng.uniform(0, width - w)
        y = rng.uniform(0, height - h)
        classes = truth.class_id if len(truth) else np.zeros(1, dtype=np.int32)
        labels = truth.labels if len(truth) else [""]
        pick = rng.integers(0, len(classes), count)
        data: dict[str, np.ndarray] = {}
        if self.embedding_size:
            data["embedding"] = self._embeddings((1 << 40) + rng.integers(0, 1 << 30, count), rng)
        return Objects.from_arrays(
            np.stack([x, y, x + w, y + h], axis=1).astype(np.float32), confidence=rng.uniform(0.1, 0.6, count),
            class_id=classes[pick], component_id=self.component_id, labels=[labels[i] for i in pick], data=data)


@register_element("oracle-detector")
class OracleDetectorElement(Element):
    """Turn ``testsrc pattern=scene``'s ground truth into noisy detections (tracker evaluation)."""

    jitter = Property(float, 0.05, "Box noise (std of each corner, fraction of the box size)", minimum=0.0)
    miss_rate = Property(float, 0.0, "Probability that a visible object is missed", minimum=0.0, maximum=1.0)
    false_positives = Property(float, 0.0, "Mean spurious boxes per frame", minimum=0.0)
    min_visibility = Property(float, 0.3, "Objects less visible than this are not detected", minimum=0.0, maximum=1.0)
    embedding_size = Property(int, 0, "Length of synthetic appearance embeddings (0: none)", minimum=0)
    embedding_noise = Property(float, 0.3, "Noise of the synthetic embeddings", minimum=0.0)
    seed = Property(int, 0, "Random seed")
    interval = Property(int, 0, "Frames skipped between detections (like infer's interval)", minimum=0)
    unique_id = Property(int, 1, "Component id of the detections; marks frame.meta.inferred", minimum=0)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.detector = self._make_detector()

    def _make_detector(self) -> OracleDetector:
        return OracleDetector(self.jitter, self.miss_rate, self.false_positives, self.min_visibility,
                              self.embedding_size, self.embedding_noise, self.seed, self.unique_id)

    def start(self) -> None:
        self.detector = self._make_detector()

    def process(self, batch: Batch) -> Batch:
        for frame in batch.frames:
            meta = frame.meta
            if meta.frame_num % (self.interval + 1):
                continue
            truths = meta.user_meta("ground-truth")
            truth = truths[0] if truths else Objects()
            detections = self.detector.detect(truth, meta.frame_num, meta.source_id, (meta.width, meta.height))
            meta.objects = meta.objects.append(detections)
            meta.inferred[self.unique_id] = True
        return batch
