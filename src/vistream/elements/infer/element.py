"""``infer``: run a detector or classifier on whole frames (primary) or on objects (secondary).

DeepStream's nvinfer: the config file (YAML or nvinfer INI) describes the model; element
properties override it. Primary mode adds objects (``component_id = unique-id``); secondary
mode classifies objects of ``operate-on-gie-id`` (results in ``objects.data["classifiers"]``,
cached per tracked object) or detects inside them (children with ``parent = object_id``).
``interval`` skips frames per source; ``frame.meta.inferred[unique-id]`` says where it ran.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch(  # doctest: +SKIP
    ...     "urisrc uri=bikes.mp4 ! mux.sink_0 streammux name=mux ! "
    ...     "infer config=src/vistream/models/configs/yolov3-tiny.yaml ! appsink name=out")
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SINK, ANY_SRC, Element, Pad
from vistream.core.errors import ConfigError
from vistream.core.events import Event, StreamEOS
from vistream.core.meta import ClassifierMeta, Objects, TensorMeta
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.elements.infer.config import InferConfig, config_from_mapping, load_config
from vistream.elements.infer.engine import InferEngine
from vistream.elements.infer.parsers import Classification, Detections
from vistream.elements.infer.secondary import ClassifierCache, ObjectFilter

log = logging.getLogger("vistream.infer")

#: element property -> config key it overrides
OVERRIDES = {
    "model": "model", "batch_size": "batch-size", "interval": "interval", "unique_id": "gie-unique-id",
    "process_mode": "process-mode", "operate_on_gie_id": "operate-on-gie-id",
    "operate_on_class_ids": "operate-on-class-ids", "input_object_min_width": "input-object-min-width",
    "input_object_min_height": "input-object-min-height", "input_object_max_width": "input-object-max-width",
    "input_object_max_height": "input-object-max-height", "secondary_reinfer_interval": "secondary-reinfer-interval",
    "output_tensor_meta": "output-tensor-meta", "backend": "backend", "device": "device", "threads": "threads",
    "parser": "parser",
}


@register_element("infer")
class Infer(Element):
    """Detector / classifier inference with nvinfer's configuration and behaviour."""

    description = "Primary detector or secondary classifier (nvinfer): ONNX Runtime on CPU, PyTorch on CUDA"
    pad_templates = (ANY_SINK, ANY_SRC)

    config = Property(str, None, "Config file (YAML or DeepStream nvinfer INI), or a model-zoo name such as "
                      "yolov3-tiny for its ready-made config (alias of config-file-path)")
    config_file_path = Property(str, None, "Config file (nvinfer's name for 'config')")
    model = Property(str, None, "Model-zoo name or .onnx path (overrides the config)")
    batch_size = Property(int, None, "Frames (or objects) per inference batch", minimum=1)
    interval = Property(int, None, "Frames to skip between inferences, per source", minimum=0)
    unique_id = Property(int, None, "gie-unique-id: component id of the objects / verdicts it makes", minimum=0)
    process_mode = Property(str, None, "primary (whole frames) or secondary (objects)", choices=("primary", "secondary"))
    operate_on_gie_id = Property(int, None, "Secondary: only objects made by this unique-id (-1: any)")
    operate_on_class_ids = Property("int-list", None, "Secondary: only these classes (e.g. 0;2)")
    input_object_min_width = Property(int, None, "Secondary: smallest object width", minimum=0)
    input_object_min_height = Property(int, None, "Secondary: smallest object height", minimum=0)
    input_object_max_width = Property(int, None, "Secondary: largest object width (0: no limit)", minimum=0)
    input_object_max_height = Property(int, None, "Secondary: largest object height (0: no limit)", minimum=0)
    secondary_reinfer_interval = Property(int, None, "Secondary: re-classify a tracked object after N frames "
                                          "(0: only when it grows 20%)", minimum=0)
    output_tensor_meta = Property(bool, None, "Attach the raw output tensors as TensorMeta")
    backend = Property(str, None, "Inference backend (onnxruntime, torch, ...)")
    device = Property(str, None, "Backend device (auto, cpu, cuda)")
    threads = Property(int, None, "Backend CPU threads (0: every core this process may use)", minimum=0)
    parser = Property(str, None, "Output parser: yolo, yolov8, end-to-end, ssd, darknet, classifier, "
                      "or package.module:function")

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.engine: InferEngine | None = None
        self.settings: InferConfig | None = None
        self._frame_counts: dict[int, int] = {}
        self._labels: dict[int, str] = {}  # class id -> label, filled as classes show up
        self.cache = ClassifierCache()

    # ---- lifecycle ----------------------------------------------------------------------------
    def build_config(self) -> InferConfig:
        """The config file with this element's explicitly set properties applied on top."""
        path = self.config or self.config_file_path
        if path and not Path(path).exists():
            from vistream.models.zoo import MODELS

            if path in MODELS:  # `infer config=yolov3-tiny`: the zoo's ready-made config
                path = str(MODELS[path].config_path())
        config = load_config(path) if path else config_from_mapping({}, f"element '{self.name}'")
        for attr, key in OVERRIDES.items():
            value = getattr(self, attr)
            if value is not None:
                config.set(key, value)
        if self.model is not None:  # the property names the model: it wins over the file's onnx-file
            config.onnx_file = None
        return config

    def start(self) -> None:
        try:
            self.settings = self.build_config()
            self.engine = InferEngine(self.settings)
            self._labels = {}
            prepare = getattr(self.engine.backend, "prepare", None)
            if prepare is not None:  # CUDA graphs are captured now, before the sources start
                prepare(self.engine.batch_size)
            self._prepare_gpu_steps()
        except ConfigError as exc:
            raise ConfigError(f"element '{self.name}' (infer): {exc}") from None
        if self.settings.unsupported:
            self.post_warning(f"{self.settings.source}: unsupported keys ignored: {', '.join(self.settings.unsupported)}")
        s = self.settings
        self.filter = ObjectFilter(s.operate_on_gie_id, s.operate_on_class_ids, s.input_object_min_width,
                                   s.input_object_min_height, s.input_object_max_width, s.input_object_max_height)
        self.cache = ClassifierCache(reinfer_interval=s.secondary_reinfer_interval,
                                     forget_after=max(300, 2 * s.secondary_reinfer_interval))
        self._frame_counts = {}

    def _prepare_gpu_steps(self) -> None:
        """On CUDA, capture pre-processing + model + post-processing as one graph per frame size
        the sources upstream will send as GPU frames, now, while no decoder runs yet."""
        assert self.engine is not None and self.settings is not None
        if (self.engine.backend.device != "cuda" or self.settings.process_mode != "primary"
                or self.settings.output_tensor_meta):
            return
        from vistream.accel.cuda_infer import MAX_FRAME_SIZES, prepare_fused_step

        sizes: set[tuple[int, int]] = set()
        for source in self.upstream_sources():
            if source.output_memory(None) == "cuda":
                sizes |= source.frame_sizes() or set()
        for width, height in sorted(sizes)[:MAX_FRAME_SIZES]:
            if prepare_fused_step(self.engine, width, height) is not None:
                log.info("infer '%s': %dx%d frames run as one CUDA graph (pre-processing, model, post-processing)",
                         self.name, width, height)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def handle_event(self, event: Event, pad: Pad) -> None:
        if isinstance(event, StreamEOS):
            self._frame_counts.pop(event.source_id, None)
            self.cache.drop_source(event.source_id)
        super().handle_event(event, pad)

    # ---- data flow ----------------------------------------------------------------------------
    def process(self, batch: Batch) -> Batch:
        assert self.engine is not None and self.settings is not None, "infer used before start()"
        uid = self.settings.unique_id
        chosen: list[Frame] = []
        for frame in batch.frames:
            count = self._frame_counts.get(frame.source_id, 0)
            self._frame_counts[frame.source_id] = count + 1
            run = count % (self.settings.interval + 1) == 0
            frame.meta.inferred[uid] = run
            if run:
                chosen.append(frame)
        try:
            if self.settings.process_mode == "primary":
                self.infer_frames(chosen)
            else:
                self.infer_objects(batch.frames, {id(f) for f in chosen})
        except Exception as exc:  # keep streaming: report, pass the batch on unannotated
            self.post_error(f"inference failed on a batch of sources {batch.source_ids}: {type(exc).__name__}: {exc}",
                            error=exc)
        return batch

    def infer_frames(self, frames: list[Frame]) -> None:
        """Primary mode: whole frames."""
        if not frames:
            return
        engine, settings = self.engine, self.settings
        assert engine is not None and settings is not None
        memory = frames[0].memory
        if engine.backend.device == "cuda" and not settings.output_tensor_meta:
            from vistream.accel.cuda_infer import detect_on_gpu  # decode + NMS on the GPU, small host copies

            found = detect_on_gpu(engine, [f.image for f in frames], memory)
            if found is not None:
                for frame, dets in zip(frames, found, strict=False):
                    objects = self._objects(dets, parent=None)
                    frame.meta.objects = frame.meta.objects.append(objects) if len(frame.meta.objects) else objects
                return
        raw, transforms = engine.run([f.image for f in frames], None, memory)
        if settings.output_tensor_meta:
            for frame, outputs in zip(frames, raw, strict=False):
                frame.meta.tensors.append(TensorMeta(settings.unique_id, list(engine.info.output_names), outputs))
        if settings.network_type == "detector":
            for frame, dets in zip(frames, engine.detect_from(raw, transforms), strict=False):
                frame.meta.objects = frame.meta.objects.append(self._objects(dets, parent=None))
        elif settings.network_type == "classifier":
            for frame, verdicts in zip(frames, engine.classify_from(raw), strict=False):
                frame.meta.add_user_meta("classification", self._classifier_meta(verdicts))

    def infer_objects(self, frames: list[Frame], may_infer: set[int]) -> None:
        """Secondary mode: crops of eligible objects; cached verdicts are attached on every frame."""
        engine, settings = self.engine, self.settings
        assert engine is not None and settings is not None
        classifier = settings.network_type == "classifier"
        jobs: list[tuple[Frame, int]] = []
        for frame in frames:
            objects = frame.meta.objects
            eligible = self.filter.select(objects) if len(objects) else np.zeros(0, np.int64)
            for index in eligible:
                object_id = int(objects.object_id[index])
                if classifier and not self.cache.needs_inference(frame.source_id, object_id, objects.xyxy[index],
                                                                 frame.frame_num):
                    self._attach(objects, int(index), self.cache.get(frame.source_id, object_id))
                elif id(frame) in may_infer:
                    jobs.append((frame, int(index)))
                elif classifier:  # due for re-inference on a skipped frame: keep showing the last verdict
                    self._attach(objects, int(index), self.cache.get(frame.source_id, object_id))
            if frame.frame_num % 100 == 0:
                self.cache.prune(frame.source_id, frame.frame_num)
        if not jobs:
            return
        images = [frame.image for frame, _ in jobs]
        rois = [frame.meta.objects.xyxy[index].tolist() for frame, index in jobs]
        raw, transforms = engine.run(images, rois, jobs[0][0].memory)
        if settings.output_tensor_meta:
            for (frame, index), outputs in zip(jobs, raw, strict=False):
                frame.meta.tensors.append(TensorMeta(settings.unique_id, list(engine.info.output_names), outputs, index))
        if classifier:
            for (frame, index), verdicts in zip(jobs, engine.classify_from(raw), strict=False):
                objects = frame.meta.objects
                metas = self._classifier_meta(verdicts)
                self.cache.store(frame.source_id, int(objects.object_id[index]), objects.xyxy[index].copy(),
                                 frame.frame_num, metas)
                self._attach(objects, index, metas)
        elif settings.network_type == "detector":
            children: dict[int, list[Objects]] = {}
            for (frame, index), dets in zip(jobs, engine.detect_from(raw, transforms), strict=False):
                parent = int(frame.meta.objects.object_id[index])
                children.setdefault(id(frame), []).append(self._objects(dets, parent))
            for frame in frames:
                for child in children.get(id(frame), []):
                    frame.meta.objects = frame.meta.objects.append(child)

    # ---- metadata -----------------------------------------------------------------------------
    def _objects(self, dets: Detections, parent: int | None) -> Objects:
        assert self.engine is not None and self.settings is not None
        labels = self._labels
        for class_id in dets.class_ids.tolist():
            if class_id not in labels:
                labels[class_id] = self.engine.label(class_id)
        return Objects.from_arrays(dets.boxes, dets.scores, dets.class_ids, component_id=self.settings.unique_id,
                                   parent=None if parent is None else np.full(len(dets), parent),
                                   labels=[labels[c] for c in dets.class_ids.tolist()])

    def _classifier_meta(self, verdicts: list[Classification]) -> list[ClassifierMeta]:
        assert self.settings is not None
        return [ClassifierMeta(self.settings.unique_id, v.class_id, v.label, v.confidence) for v in verdicts]

    def _attach(self, objects: Objects, index: int, metas: list[ClassifierMeta] | None) -> None:
        """Set this element's verdicts on one object, keeping other classifiers' ones."""
        assert self.settings is not None
        column = objects.data.get("classifiers")
        if column is None:
            column = np.full(len(objects), None, dtype=object)
            objects.data["classifiers"] = column
        uid = self.settings.unique_id
        kept = [m for m in (column[index] or []) if m.component_id != uid]
        column[index] = kept + list(metas or [])
