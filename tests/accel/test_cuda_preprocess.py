"""GPU pre-processing (torch) against the CPU path, on real frames; runs on the CPU in CI."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vistream.accel import cuda_preprocess, preprocess  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")

CASES = [
    dict(width=416, height=416, net_scale_factor=1 / 255, maintain_aspect_ratio=True, symmetric_padding=True),
    dict(width=320, height=192, net_scale_factor=1 / 255, color_format="BGR"),
    dict(width=224, height=224, net_scale_factor=0.0174, offsets=(123.7, 116.3, 103.5), maintain_aspect_ratio=True),
    dict(width=96, height=64, net_scale_factor=1.0, color_format="GRAY", dtype="float16"),
]


def _compare(gpu_out, cpu_out, scale):
    diff = np.abs(gpu_out.float().cpu().numpy() - cpu_out.astype(np.float32)) / scale
    return float(diff.mean()), float(np.percentile(diff, 99))


@pytest.mark.parametrize("case", CASES)
def test_nv12_batch_matches_cpu_path(bikes_frames, case):
    """NV12 frames (as NVDEC delivers) give what the CPU path gives for the same frames in RGB."""
    case = dict(case)
    width, height = case.pop("width"), case.pop("height")
    rgbs = [cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12) for _, nv12 in bikes_frames]
    ref, ref_t = preprocess.preprocess_batch(rgbs, width, height, **case)
    out, out_t = cuda_preprocess.preprocess_batch([torch.from_numpy(nv12) for _, nv12 in bikes_frames],
                                                  width, height, **case)
    assert tuple(out.shape) == ref.shape and str(out.dtype).endswith(case.get("dtype", "float32"))
    mean, p99 = _compare(out, ref, case["net_scale_factor"])
    assert mean < 1.5 and p99 < 12, (mean, p99)  # pixel levels; chroma resampling differs slightly
    assert out_t == ref_t


def test_rgb_chw_and_rois_match_cpu_path(bikes_frames):
    """Secondary-inference crops (ROIs) from a CHW RGB tensor equal the CPU crops within rounding."""
    rgb = bikes_frames[0][0]
    rois = [(10.5, 20.2, 200.7, 180.0), None, (300, 100, 340, 260)]
    kwargs = dict(net_scale_factor=1 / 255, maintain_aspect_ratio=True, symmetric_padding=True, rois=rois)
    ref, ref_t = preprocess.preprocess_batch([rgb] * 3, 64, 64, **kwargs)
    chw = torch.from_numpy(rgb).permute(2, 0, 1).contiguous()
    out, out_t = cuda_preprocess.preprocess_batch([chw] * 3, 64, 64, **kwargs)
    mean, p99 = _compare(out, ref, 1 / 255)
    assert mean < 1.0 and p99 < 6, (mean, p99)
    assert out_t == ref_t


def test_nv12_colour_conversion_matches_opencv(bikes_frames):
    _, nv12 = bikes_frames[1]
    rgb = cuda_preprocess.to_rgb(torch.from_numpy(nv12)[None], "nv12", torch.float32).clamp(0, 255)
    ref = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12).astype(np.float32)
    diff = np.abs(rgb[0].permute(1, 2, 0).numpy() - ref)
    assert diff.max() <= 2.5, diff.max()


def test_bad_arguments_raise():
    frame = torch.zeros(6, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match="color_format"):
        cuda_preprocess.preprocess_batch([frame], 8, 8, color_format="YUV")
    with pytest.raises(ValueError, match="interpolation"):
        cuda_preprocess.preprocess_batch([frame], 8, 8, interpolation="cubic-ish")
    with pytest.raises(ValueError, match="expected NV12"):
        cuda_preprocess.preprocess_batch([torch.zeros(2, 2, 2, 2, dtype=torch.uint8)], 8, 8)


@pytest.mark.gpu
@CUDA
def test_cuda_matches_cpu_torch(bikes_frames):
    frames = [torch.from_numpy(nv12) for _, nv12 in bikes_frames]
    kwargs = dict(net_scale_factor=1 / 255, maintain_aspect_ratio=True, symmetric_padding=True)
    cpu, _ = cuda_preprocess.preprocess_batch(frames, 416, 416, **kwargs)
    cuda, _ = cuda_preprocess.preprocess_batch([f.cuda() for f in frames], 416, 416, dtype="float16", **kwargs)
    assert cuda.device.type == "cuda" and cuda.dtype == torch.float16
    assert float((cuda.float().cpu() - cpu).abs().max()) < 3 / 255


@pytest.mark.parametrize("size,target", [((1080, 1920), (416, 416)), ((272, 640), (640, 640)), ((7, 5), (3, 9))])
def test_separable_uint8_resize_equals_interpolate(size, target):
    plane = torch.randint(0, 256, (2, 2, *size), dtype=torch.uint8)
    ours = cuda_preprocess.resize_bilinear_u8(plane, *target, torch.float32)
    ref = torch.nn.functional.interpolate(plane.float(), size=target, mode="bilinear", align_corners=False)
    assert float((ours - ref).abs().max()) < 0.02  # of 255 levels: float rounding of the source positions
