"""The ``infer`` element's core, usable without a pipeline: a model + its config.

:class:`InferEngine` opens the backend, checks the config against the model at construction
(input shape, colour channels, number of classes vs labels, parser vs outputs; a dry run of
one batch), then turns images (and optional ROIs) into detections in source-frame pixels or
classifier verdicts.

Example:
    >>> import numpy as np
    >>> from vistream.models.zoo import MODELS
    >>> engine = InferEngine.from_file(MODELS["yolov3-tiny"].config_path())  # doctest: +SKIP
    >>> dets = engine.detect([np.zeros((272, 640, 3), np.uint8)])            # doctest: +SKIP
    >>> len(dets[0])                                                         # doctest: +SKIP
    0
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vistream.core.errors import ConfigError
from vistream.elements.infer.backends.base import Backend, create_backend
from vistream.elements.infer.config import InferConfig, load_config
from vistream.elements.infer.parsers import (
    Classification,
    Detections,
    ParseInfo,
    coerce_result,
    resolve_parser,
)
from vistream.elements.infer.postprocess import postprocess


def read_labels(path: str | Path) -> list[str]:
    """nvinfer label files: one label per line (detectors) or ``a;b;c`` on one line (classifiers)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"label file '{path}' does not exist")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(lines) == 1 and ";" in lines[0]:
        return [part.strip() for part in lines[0].split(";")]
    return lines


def to_numpy(value: Any) -> np.ndarray:
    """NumPy view of an output (``torch.Tensor`` outputs are copied to the host)."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class InferEngine:
    """A checked model: backend + pre-processing + parser + post-processing."""

    def __init__(self, config: InferConfig, backend: Backend | None = None) -> None:
        self.config = config
        where = config.source
        if config.network_type not in ("detector", "classifier", "other"):
            raise ConfigError(f"{where}: network-type '{config.network_type}' is not supported")
        onnx_file, labels_file = config.onnx_file, config.labelfile_path
        if config.model and not onnx_file:
            if config.model.endswith(".onnx"):
                onnx_file = config.model
            else:
                from vistream.models.zoo import resolve

                files = resolve(config.model)
                onnx_file, labels_file = str(files.onnx), labels_file or str(files.labels)
        if not onnx_file and backend is None:
            raise ConfigError(f"{where}: no model: set 'onnx-file' (a path) or 'model' (a model-zoo name)")
        self.labels = list(config.labels) or (read_labels(labels_file) if labels_file else [])
        #: (batch, frame shape, device) -> captured pre-processing + model (``vistream.accel.cuda_infer``)
        self.gpu_steps: dict[tuple, Any] = {}
        self.backend = backend or create_backend(config.backend, str(onnx_file), device=config.device,
                                                 threads=config.threads or None)
        self._check_input(where)
        self.output_indices = self._output_indices(where)
        try:
            self.parser = resolve_parser(config.parser, config.network_type) if config.network_type != "other" else None
        except ConfigError as exc:
            raise ConfigError(f"{where}: key 'parser': {exc}") from None
        classes = config.num_detected_classes
        if classes and self.labels and config.network_type == "detector" and classes != len(self.labels):
            raise ConfigError(f"{where}: num-detected-classes is {classes} but the labels have {len(self.labels)} "
                              "entries")
        self.info = ParseInfo(
            self.width, self.height, num_classes=classes or (len(self.labels) if config.network_type == "detector" else 0),
            labels=self.labels, output_names=[self.backend.outputs[i].name for i in self.output_indices],
            anchors=config.anchors, anchor_masks=config.anchor_masks,
            classifier_threshold=config.classifier_threshold, classifier_activation=config.classifier_activation,
            score_threshold=config.class_attrs.min_threshold, options=dict(config.parser_options))
        if self.parser is not None and self.parser.check is not None:
            shapes = [tuple(self.backend.outputs[i].shape[1:]) for i in self.output_indices]
            try:
                self.parser.check(shapes, self.info)
            except ValueError as exc:
                raise ConfigError(f"{where}: parser '{self.parser.name}' does not fit the model: {exc}") from None
        self._dry_run(where)

    @classmethod
    def from_file(cls, path: str | Path) -> InferEngine:
        return cls(load_config(path))

    # ---- start-up checks --------------------------------------------------------------------
    def _check_input(self, where: str) -> None:
        shape = self.backend.input.shape
        if len(shape) != 4:
            raise ConfigError(f"{where}: model input '{self.backend.input.name}' has shape {shape}; expected NCHW")
        channels = 1 if self.config.model_color_format == "GRAY" else 3
        if shape[1] not in (None, channels):
            raise ConfigError(f"{where}: model input has {shape[1]} channels but model-color-format "
                              f"{self.config.model_color_format} gives {channels}")
        dims = self.config.infer_dims
        if dims and len(dims) != 3:
            raise ConfigError(f"{where}: infer-dims must be C;H;W, got {dims}")
        height = shape[2] or (dims[1] if dims else None)
        width = shape[3] or (dims[2] if dims else None)
        if height is None or width is None:
            raise ConfigError(f"{where}: the model's input size is dynamic; set infer-dims (C;H;W)")
        if dims and (dims[1], dims[2]) != (height, width) or dims and shape[1] and dims[0] != shape[1]:
            raise ConfigError(f"{where}: infer-dims {dims} disagree with the model input {list(shape[1:])}")
        self.height, self.width = int(height), int(width)
        fixed = self.backend.max_batch_size
        self.batch_size = min(self.config.batch_size, fixed) if fixed else self.config.batch_size
        self.fixed_batch = fixed

    def _output_indices(self, where: str) -> list[int]:
        names = [o.name for o in self.backend.outputs]
        if not self.config.output_blob_names:
            return list(range(len(names)))
        missing = [n for n in self.config.output_blob_names if n not in names]
        if missing:
            raise ConfigError(f"{where}: output-blob-names {missing} not in the model; outputs: {', '.join(names)}")
        return [names.index(n) for n in self.config.output_blob_names]

    def _dry_run(self, where: str) -> None:
        try:
            image = np.zeros((self.height, self.width, 3), np.uint8)
            outputs, _ = self.run([image])
            if self.parser is not None:
                coerce_result(self.parser.parse(outputs[0], self.info), self.parser.kind, self.parser.name)
        except ConfigError:
            raise
        except Exception as exc:  # any failure here is a model / config mismatch: report at start-up
            raise ConfigError(f"{where}: a test inference failed: {type(exc).__name__}: {exc}") from exc

    # ---- inference ----------------------------------------------------------------------------
    def preprocess(self, images: Sequence[Any], rois: Sequence[Any] | None, memory: str) -> tuple[Any, list]:
        """Dispatch by memory: CPU (NumPy / OpenCV) or CUDA (``vistream.accel.cuda_preprocess``)."""
        if memory == "cuda" or self.backend.device == "cuda":
            from vistream.accel.cuda_preprocess import preprocess_batch
        else:
            from vistream.accel.preprocess import preprocess_batch
        c = self.config
        return preprocess_batch(images, self.width, self.height, net_scale_factor=c.net_scale_factor,
                                offsets=c.offsets, color_format=c.model_color_format,
                                maintain_aspect_ratio=c.maintain_aspect_ratio, symmetric_padding=c.symmetric_padding,
                                interpolation=c.scaling_filter, rois=rois,
                                dtype=self.backend.input.dtype if self.backend.input.dtype == "float16" else "float32")

    def run(self, images: Sequence[Any], rois: Sequence[Any] | None = None,
            memory: str = "cpu") -> tuple[list[list[np.ndarray]], list]:
        """Raw outputs per image (batch axis removed, outputs in parser order) and transforms."""
        per_image: list[list[np.ndarray]] = []
        transforms: list = []
        for start in range(0, len(images), self.batch_size):
            chunk = list(images[start:start + self.batch_size])
            chunk_rois = list(rois[start:start + self.batch_size]) if rois is not None else None
            tensor, chunk_transforms = self.preprocess(chunk, chunk_rois, memory)
            count = len(chunk)
            if self.fixed_batch and count < self.fixed_batch:  # models with a fixed batch axis: pad
                tensor = _pad_batch(tensor, self.fixed_batch)
            outputs = [to_numpy(o) for o in self.backend.infer(tensor)]
            outputs = [outputs[i] for i in self.output_indices]
            per_image.extend([o[k] for o in outputs] for k in range(count))
            transforms.extend(chunk_transforms)
        return per_image, transforms

    def detect(self, images: Sequence[Any], rois: Sequence[Any] | None = None,
               memory: str = "cpu") -> list[Detections]:
        """Detections per image in source-frame pixels, after thresholds, clustering and limits."""
        raw, transforms = self.run(images, rois, memory)
        return self.detect_from(raw, transforms)

    def detect_from(self, raw: list[list[np.ndarray]], transforms: list) -> list[Detections]:
        """Parse and post-process outputs of :meth:`run`."""
        assert self.parser is not None
        results = []
        for outputs, transform in zip(raw, transforms, strict=False):
            parsed = coerce_result(self.parser.parse(outputs, self.info), "detector", self.parser.name)
            parsed = Detections(transform.to_source(parsed.boxes), parsed.scores, parsed.class_ids)
            if self.config.filter_out_class_ids:
                parsed = parsed.select(~np.isin(parsed.class_ids, self.config.filter_out_class_ids))
            results.append(postprocess(parsed, self.config.class_attrs, self.config.cluster_mode,
                                       float(transform.source_height)))
        return results

    def classify(self, images: Sequence[Any], rois: Sequence[Any] | None = None,
                 memory: str = "cpu") -> list[list[Classification]]:
        """Classifier verdicts per image (or ROI)."""
        raw, _ = self.run(images, rois, memory)
        return self.classify_from(raw)

    def classify_from(self, raw: list[list[np.ndarray]]) -> list[list[Classification]]:
        assert self.parser is not None
        return [coerce_result(self.parser.parse(outputs, self.info), "classifier", self.parser.name)
                for outputs in raw]

    def label(self, class_id: int) -> str:
        return self.info.label(class_id)

    def close(self) -> None:
        self.backend.close()


def _pad_batch(tensor: Any, size: int) -> Any:
    if isinstance(tensor, np.ndarray):
        pad = np.zeros((size - len(tensor), *tensor.shape[1:]), dtype=tensor.dtype)
        return np.concatenate([tensor, pad])
    import torch

    return torch.cat([tensor, tensor.new_zeros((size - tensor.shape[0], *tensor.shape[1:]))])
