"""The ``infer`` element's GPU fast path for YOLO-style detectors.

Pre-processing, the model, YOLO decoding, the mapping to source pixels, thresholds, size / ROI
limits, class-aware NMS, top-k per class and the post-cluster threshold all run on the GPU for the
whole batch, in the CPU path's order (:mod:`vistream.elements.infer.postprocess`); one small
device->host copy brings back the surviving boxes. For the NV12 frame sizes the sources report,
``infer`` captures all of it as one CUDA graph at start-up (:func:`prepare_fused_step`).
The ``infer`` element uses this path when the backend runs on CUDA (it works on any device), the
parser is ``yolo`` or ``yolov8`` and every class shares one set of thresholds; anything else goes
through the engine's general (host) path.

Example:
    >>> from vistream.elements.infer.engine import InferEngine  # doctest: +SKIP
    >>> engine = InferEngine.from_file("yolov3-tiny.yaml")       # doctest: +SKIP
    >>> detections = detect_on_gpu(engine, [frame.image for frame in batch], "cuda")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vistream.accel.cuda_nms import LAYOUTS, BatchDetections, BoxRules, FixedPostprocess, Postprocess


def gpu_path_applies(engine: Any) -> bool:
    """Whether :func:`detect_on_gpu` reproduces the engine's host path for this model and config."""
    config, parser = engine.config, engine.parser
    return (parser is not None and parser.name in LAYOUTS
            and config.network_type == "detector" and not config.class_attrs.per_class
            and config.cluster_mode in ("nms", "none") and len(engine.output_indices) == 1)


def postprocess_for(engine: Any) -> Postprocess:
    """The engine's config as GPU post-processing (thresholds, NMS, box rules)."""
    config = engine.config
    attrs = config.class_attrs.default
    rules = BoxRules(attrs.detected_min_w, attrs.detected_min_h, attrs.detected_max_w, attrs.detected_max_h,
                     attrs.roi_top_offset, attrs.roi_bottom_offset, attrs.topk, attrs.post_cluster_threshold,
                     tuple(config.filter_out_class_ids or ()))
    return Postprocess(engine.parser.name, engine.info.score_threshold, attrs.nms_iou_threshold,
                       max_candidates=1000, max_detections=300, cluster=config.cluster_mode == "nms", rules=rules)


def transform_rows(transforms: Sequence[Any]) -> tuple[list[tuple[float, ...]], list[tuple[int, int]]]:
    """Pre-processing transforms as the post-processing's ``(transforms, sizes)`` rows."""
    return ([(t.scale_x, t.scale_y, t.pad_x, t.pad_y, t.roi_x, t.roi_y) for t in transforms],
            [(t.source_width, t.source_height) for t in transforms])


def detect_on_gpu(engine: Any, images: Sequence[Any], memory: str) -> list[Any] | None:
    """Detections per image in source-frame pixels, or None when the GPU path does not apply."""
    import torch

    from vistream.elements.infer.parsers import Detections

    if not gpu_path_applies(engine):
        return None
    post: Postprocess | None = None  # made when a batch needs the eager path (not per batch of the graph)
    results = []
    for start in range(0, len(images), engine.batch_size):
        chunk = list(images[start:start + engine.batch_size])
        fused = fused_step(engine, chunk)
        if fused is not None:
            found, output, transforms = fused.run(chunk)
        else:
            tensor, transforms = engine.preprocess(chunk, None, memory)
            if engine.fixed_batch and len(chunk) < engine.fixed_batch:
                from vistream.elements.infer.engine import _pad_batch

                tensor = _pad_batch(tensor, engine.fixed_batch)
            output = torch.as_tensor(engine.backend.infer(tensor)[engine.output_indices[0]][:len(chunk)])
            found = None
        if found is None:  # the eager path, or the graph's fixed-size result was not exact for this batch
            post = post or postprocess_for(engine)
            found = post.run(output, *transform_rows(transforms))
        results.extend(Detections(found.boxes[i], found.scores[i], found.class_ids[i]) for i in range(len(chunk)))
    return results


class FusedStep:
    """Pre-processing, the model and post-processing as one CUDA graph, for full batches of
    same-size NV12 frames.

    Each torch call of the eager path gives up the GIL and has to win it back, which in a busy
    process costs far more than the GPU work; the graph makes a batch three calls: a copy of the
    frames into the graph's input, one replay, and one copy of the packed detections to the host.
    Post-processing in the graph has fixed sizes (:class:`~vistream.accel.cuda_nms.FixedPostprocess`);
    a batch whose result may differ from the exact path's (more candidates than the graph holds, a
    long NMS chain) is redone eagerly from the graph's model output (``fallbacks`` counts them).
    """

    def __init__(self, engine: Any, frames: list[Any], post: Postprocess) -> None:
        import torch

        self.frames_in = torch.stack(frames)
        self.transforms: list[Any] = []
        self.output_index = engine.output_indices[0]
        self.post: FixedPostprocess | None = None
        self.fallbacks = 0

        def prologue() -> Any:
            tensor, self.transforms = engine.preprocess(list(self.frames_in.unbind(0)), None, "cuda")
            return tensor

        def epilogue(outputs: list[Any]) -> tuple[Any, Any]:
            output = outputs[self.output_index]
            if self.post is None:  # first call: a warm-up run, before the capture (its constants are uploaded now)
                self.post = post.fixed(*transform_rows(self.transforms), output.device)
            return output, self.post(output)

        self.replay = engine.backend.capture_with(len(frames), prologue, epilogue)

    def run(self, frames: list[Any]) -> tuple[Any, Any, list[Any]]:
        """``(detections or None, model output, transforms)`` for ``frames`` (the size captured, at
        most as many as captured: a partial batch runs in the first rows, the rest are ignored);
        detections are None when the exact path must redo the batch from the output."""
        import torch

        count = len(frames)
        torch.stack(frames, out=self.frames_in[:count])
        output, packed = self.replay()
        assert self.post is not None
        found = self.post.read(packed.cpu().numpy())
        if found is None:
            self.fallbacks += 1
        else:
            found = BatchDetections(found.boxes[:count], found.scores[:count], found.class_ids[:count])
        return found, output[:count], self.transforms[:count]


#: most frame sizes an ``infer`` element captures a fused step for at start-up
MAX_FRAME_SIZES = 2


def prepare_fused_step(engine: Any, width: int, height: int) -> FusedStep | None:
    """Capture the engine's :class:`FusedStep` for NV12 frames of ``width`` x ``height`` now.

    Call it before any decoder runs: a capture made while other threads work on the device fails
    ("operation failed due to a previous error during capture"), and on the H100 the processes in
    which that happened were the ones that later crashed. None when the GPU path or CUDA graphs do
    not apply to this engine, or the capture failed (logged; those batches run eagerly).
    """
    import torch

    backend = engine.backend
    if not gpu_path_applies(engine) or not getattr(backend, "use_graphs", False) or not hasattr(backend, "capture_with"):
        return None
    device = backend.torch_device
    frames = [torch.zeros((height * 3 // 2, width), dtype=torch.uint8, device=device)] * engine.batch_size
    step = FusedStep(engine, frames, postprocess_for(engine))
    if step.replay is None:
        return None
    engine.gpu_steps[(tuple(frames[0].shape), str(device))] = step
    return step


def fused_step(engine: Any, frames: list[Any]) -> FusedStep | None:
    """The engine's :class:`FusedStep` for this batch, or None when there is none: frames not NV12
    on CUDA, of different sizes, or of a size no step was captured for (:func:`prepare_fused_step`)."""
    if not engine.gpu_steps or len(frames) > engine.batch_size:
        return None
    first = frames[0]
    if getattr(first, "is_cuda", False) is False or first.ndim != 2 or first.dtype.itemsize != 1:
        return None
    if any(frame.shape != first.shape or frame.device != first.device for frame in frames):
        return None
    return engine.gpu_steps.get((tuple(first.shape), str(first.device)))
