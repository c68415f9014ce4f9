"""The ``infer`` element's GPU fast path for YOLO-style detectors.

Pre-processing, the model, YOLO decoding, thresholding and class-aware NMS all run on the GPU for
the whole batch; one small device->host copy brings back the surviving boxes, and the CPU path's
:func:`~vistream.elements.infer.postprocess.postprocess` then applies size limits, top-k and the
post-cluster threshold to those few boxes (its NMS is a no-op on boxes that already passed NMS).
The ``infer`` element uses it when the backend runs on CUDA (it works on any device), the parser is ``yolo`` or ``yolov8`` and every class shares
one set of thresholds; anything else goes through the engine's general (host) path.

Example:
    >>> from vistream.elements.infer.engine import InferEngine  # doctest: +SKIP
    >>> engine = InferEngine.from_file("yolov3-tiny.yaml")       # doctest: +SKIP
    >>> detections = detect_on_gpu(engine, [frame.image for frame in batch], "cuda")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vistream.accel.cuda_nms import LAYOUTS, detect_postprocess


def gpu_path_applies(engine: Any) -> bool:
    """Whether :func:`detect_on_gpu` reproduces the engine's host path for this model and config."""
    config, parser = engine.config, engine.parser
    return (parser is not None and parser.name in LAYOUTS
            and config.network_type == "detector" and not config.class_attrs.per_class
            and config.cluster_mode in ("nms", "none") and len(engine.output_indices) == 1)


def detect_on_gpu(engine: Any, images: Sequence[Any], memory: str) -> list[Any] | None:
    """Detections per image in source-frame pixels, or None when the GPU path does not apply."""
    import torch

    from vistream.elements.infer.parsers import Detections
    from vistream.elements.infer.postprocess import postprocess

    if not gpu_path_applies(engine):
        return None
    config = engine.config
    attrs = config.class_attrs.default
    limit = attrs.topk if attrs.topk and attrs.topk > 0 else 300
    results = []
    for start in range(0, len(images), engine.batch_size):
        chunk = list(images[start:start + engine.batch_size])
        tensor, transforms = engine.preprocess(chunk, None, memory)
        if engine.fixed_batch and len(chunk) < engine.fixed_batch:
            from vistream.elements.infer.engine import _pad_batch

            tensor = _pad_batch(tensor, engine.fixed_batch)
        output = torch.as_tensor(engine.backend.infer(tensor)[engine.output_indices[0]][:len(chunk)])
        found = detect_postprocess(output, engine.parser.name, engine.info.score_threshold, attrs.nms_iou_threshold,
                                   max_candidates=1000, max_detections=max(limit, 100),
                                   cluster=config.cluster_mode == "nms")
        for index, transform in enumerate(transforms):
            dets = Detections(transform.to_source(found.boxes[index]), found.scores[index], found.class_ids[index])
            if config.filter_out_class_ids:
                dets = dets.select(~np.isin(dets.class_ids, config.filter_out_class_ids))
            results.append(postprocess(dets, config.class_attrs, config.cluster_mode, float(transform.source_height)))
    return results
