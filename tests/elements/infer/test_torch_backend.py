"""The torch backend on a tiny ONNX detector head, against ONNX Runtime (CPU in CI, CUDA on the device)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vistream.core.errors import ConfigError  # noqa: E402
from vistream.elements.infer.backends.base import create_backend  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")


class TinyYolo(torch.nn.Module):
    """Conv, LeakyReLU, max-pool, upsample, concat, sigmoid: the operators of yolov3-tiny / YOLOv8 heads."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.down = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = torch.nn.Conv2d(24, 7, 1)

    def forward(self, x):
        a = torch.nn.functional.leaky_relu(self.stem(x), 0.1)
        b = torch.nn.functional.max_pool2d(torch.nn.functional.leaky_relu(self.down(a), 0.1), 2)
        up = torch.nn.functional.interpolate(b, scale_factor=4, mode="nearest")
        out = torch.sigmoid(self.head(torch.cat([a, up[..., : a.shape[2], : a.shape[3]]], dim=1)))
        return out.flatten(2).transpose(1, 2)  # [B, anchors, 7]: yolo layout with 2 classes


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    torch.onnx.export(TinyYolo().eval(), torch.rand(1, 3, 32, 32), str(path), input_names=["images"],
                      output_names=["detections"], dynamic_axes={"images": {0: "batch"}, "detections": {0: "batch"}},
                      opset_version=17, dynamo=False)
    return path


def test_matches_onnxruntime_on_cpu(tiny_onnx):
    import onnxruntime

    backend = create_backend("torch", str(tiny_onnx), device="cpu")
    assert backend.device == "cpu" and backend.input.name == "images" and backend.output_names == ["detections"]
    assert backend.input.shape == (None, 3, 32, 32) and backend.max_batch_size is None
    batch = np.random.default_rng(1).uniform(0, 1, (3, 3, 32, 32)).astype(np.float32)
    (out,) = backend.infer(batch)
    (ref,) = onnxruntime.InferenceSession(str(tiny_onnx), providers=["CPUExecutionProvider"]).run(None, {"images": batch})
    assert isinstance(out, np.ndarray) and out.shape == ref.shape == (3, 1024, 7)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_static_batch_module_matches_dynamic_model(tiny_onnx):
    """The CUDA-graph path's module (batch fixed, shapes folded by ONNX Runtime, traced, frozen) on the CPU."""
    from vistream.elements.infer.backends.torch import bucket

    assert [bucket(n) for n in (1, 2, 3, 5, 8, 9, 64, 65)] == [1, 2, 4, 8, 8, 16, 64, 128]
    backend = create_backend("torch", str(tiny_onnx), device="cpu")
    batch = torch.rand(4, 3, 32, 32)
    static = backend._static_module(4, batch)
    kinds = {node.kind() for node in static.graph.nodes()}
    assert "aten::Int" not in kinds and "aten::to" not in kinds  # no host round trips left
    np.testing.assert_allclose(static(batch).numpy(), backend.infer(batch.numpy())[0], atol=1e-5)


def test_native_module_and_errors(tmp_path):
    backend = create_backend("torch", "", device="cpu", module=TinyYolo(), input_shape=(3, 32, 32))
    assert backend.infer(torch.rand(2, 3, 32, 32))[0].shape == (2, 1024, 7)
    with pytest.raises(ConfigError, match="not found"):
        create_backend("torch", str(tmp_path / "missing.onnx"), device="cpu")
    with pytest.raises(ConfigError, match="input_shape"):
        create_backend("torch", "", device="cpu", module=TinyYolo())
    with pytest.raises(ConfigError, match="valid: cuda, cpu, auto"):
        create_backend("torch", "", device="tpu", module=TinyYolo(), input_shape=(3, 32, 32))
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot read ONNX"):
        create_backend("torch", str(tmp_path / "bad.onnx"), device="cpu")


def test_torchvision_stub_does_not_leak():
    import sys

    from vistream.elements.infer.backends.torch import import_onnx2torch

    assert import_onnx2torch().convert is not None
    module = sys.modules.get("torchvision")
    assert module is None or getattr(module, "__file__", None) is not None  # never the stand-in


@pytest.mark.gpu
@CUDA
def test_cuda_fp16_graphs_match_fp32(tiny_onnx):
    batch = torch.rand(4, 3, 32, 32)
    ref = create_backend("torch", str(tiny_onnx), device="cpu").infer(batch.numpy())[0]
    backend = create_backend("torch", str(tiny_onnx), device="cuda")
    for _ in range(3):
        (out,) = backend.infer(batch.cuda())
    assert backend.graph_replays >= 2 and out.device.type == "cuda" and out.dtype == torch.float16
    np.testing.assert_allclose(out.float().cpu().numpy(), ref, atol=2e-2)
    (eager,) = backend.infer(batch[:3].cuda())  # a second batch size: a second graph
    np.testing.assert_allclose(eager.float().cpu().numpy(), ref[:3], atol=2e-2)


@pytest.fixture(scope="module")
def yolov3_tiny():
    from tests.conftest import require

    from vistream.models.zoo import verify

    require(verify("yolov3-tiny"), "the zoo's yolov3-tiny (vistream models fetch yolov3-tiny)")
    return "yolov3-tiny"


def _bikes_frames(bikes, chosen=(100, 125, 150, 175)):
    import av

    with av.open(str(bikes)) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(200), container.decode(video=0), strict=False)]
    return [frames[i] for i in chosen]


def test_torch_backend_and_gpu_path_match_onnxruntime_on_real_frames(yolov3_tiny, bikes):
    """yolov3-tiny on bikes.mp4: onnxruntime host path == torch backend host path == torch decode/NMS path."""
    from vistream.accel.cuda_infer import detect_on_gpu, gpu_path_applies
    from vistream.elements.infer.config import load_config
    from vistream.elements.infer.engine import InferEngine
    from vistream.models.zoo import MODELS

    frames = _bikes_frames(bikes)

    def engine(backend):
        config = load_config(MODELS["yolov3-tiny"].config_path())
        config.set("backend", backend)
        config.set("device", "cpu")
        return InferEngine(config)

    ort, tch = engine("onnxruntime"), engine("torch")
    assert gpu_path_applies(tch)
    reference = ort.detect(frames)
    assert sum(len(d) for d in reference) >= 4  # cars and people in the street scene
    for dets in (tch.detect(frames), detect_on_gpu(tch, frames, "cpu")):
        for got, ref in zip(dets, reference, strict=True):
            assert got.class_ids.tolist() == ref.class_ids.tolist()
            np.testing.assert_allclose(got.boxes, ref.boxes, atol=0.05)
            np.testing.assert_allclose(got.scores, ref.scores, atol=1e-4)


def test_fused_step_reads_each_new_batch(yolov3_tiny, bikes):
    """The captured pre-processing + model + post-processing step refills its input per batch:
    outputs and detections follow the frames, and equal the eager path's.

    On the CPU the graph is replaced by an eager stand-in with the same contract (the prologue reads
    the step's own input buffer), so the plumbing that the GPU relies on is what is tested here.
    """
    from vistream.accel.cuda_infer import FusedStep, postprocess_for
    from vistream.accel.cuda_preprocess import rgb_to_nv12
    from vistream.elements.infer.config import load_config
    from vistream.elements.infer.engine import InferEngine
    from vistream.models.zoo import MODELS

    config = load_config(MODELS["yolov3-tiny"].config_path())
    config.set("backend", "torch")
    config.set("device", "cpu")
    config.set("batch-size", 2)
    engine = InferEngine(config)

    def eager_capture(size, prologue, epilogue):
        return lambda: epilogue([torch.as_tensor(o) for o in engine.backend.infer(prologue())])

    engine.backend.capture_with = eager_capture
    frames = [rgb_to_nv12(f) for f in _bikes_frames(bikes)]
    post = postprocess_for(engine)
    step = FusedStep(engine, frames[:2], post)
    boxes_seen = 0
    for batch in (frames[2:], frames[:2], frames[3:]):  # the last is a partial batch
        found, output, transforms = step.run(batch)
        tensor, expected_transforms = engine.preprocess(batch, None, "cuda")  # torch pre-processing, any device
        expected = engine.backend.infer(tensor)[engine.output_indices[0]]
        np.testing.assert_allclose(np.asarray(output), np.asarray(expected), atol=1e-5)
        assert transforms == expected_transforms
        exact = post.run(torch.as_tensor(expected), [(t.scale_x, t.scale_y, t.pad_x, t.pad_y, t.roi_x, t.roi_y) for t in transforms],
                         [(t.source_width, t.source_height) for t in transforms])
        assert found is not None and len(found.boxes) == len(batch) == len(exact.boxes)
        boxes_seen += sum(len(b) for b in found.boxes)
        for got, want in zip(found.boxes, exact.boxes, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-3)
    assert step.fallbacks == 0 and boxes_seen >= 3
