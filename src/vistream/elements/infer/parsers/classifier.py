"""Classifier output parser: softmax or raw scores, a threshold, labels.

Each output layer (``[classes]`` or ``[classes, 1, 1]``) gives its best class when its
probability reaches ``classifier-threshold``.

Example:
    >>> import numpy as np
    >>> info = ParseInfo(224, 224, labels=["cat", "dog"], classifier_threshold=0.5,
    ...                  classifier_activation="softmax")
    >>> parse_classifier([np.array([0.0, 2.0], np.float32)], info)
    [Classification(class_id=1, confidence=0.8807970285415649, label='dog')]
"""

from __future__ import annotations

import numpy as np

from vistream.elements.infer.parsers.base import Classification, ParseInfo, Parser, sigmoid

ACTIVATIONS = ("none", "softmax", "sigmoid")


def activate(scores: np.ndarray, activation: str) -> np.ndarray:
    if activation == "softmax":
        shifted = np.exp(scores - scores.max())
        return shifted / shifted.sum()
    if activation == "sigmoid":
        return sigmoid(scores)
    return scores


def parse_classifier(outputs: list[np.ndarray], info: ParseInfo) -> list[Classification]:
    """Best class of each output layer at or above the threshold."""
    results = []
    for output in outputs:
        scores = activate(np.asarray(output, dtype=np.float32).reshape(-1), info.classifier_activation)
        best = int(scores.argmax())
        confidence = float(scores[best])
        if confidence >= info.classifier_threshold:
            results.append(Classification(best, confidence, info.label(best)))
    return results


def _check_classifier(shapes: list[tuple[int | None, ...]], info: ParseInfo) -> None:
    classes = shapes[0][0] if shapes[0] else None
    if info.labels and classes is not None and len(shapes) == 1 and classes != len(info.labels):
        raise ValueError(f"classifier output has {classes} classes but the label file has {len(info.labels)} labels")


CLASSIFIER_PARSERS = {
    "classifier": Parser("classifier", "classifier", parse_classifier, _check_classifier,
                         "best class per output layer, softmax / sigmoid / none, threshold"),
}
