"""GPU drawing (torch) on RGB and NV12 frames, against the CPU drawing; runs on the CPU in CI."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vistream.accel import draw as cpu_draw  # noqa: E402
from vistream.accel.cuda_draw import DrawStyle, draw_frame, pixelate, rgb_to_yuv  # noqa: E402
from vistream.accel.cuda_preprocess import rgb_to_nv12, to_rgb  # noqa: E402
from vistream.core.meta import Objects  # noqa: E402

BOXES = np.array([[10, 12, 60, 50], [70, 20, 118, 90], [-5, 80, 30, 140]], np.float32)
ONLY_BOXES = DrawStyle(show_labels=False, show_confidence=False, show_track_id=False)


def _objects():
    return Objects.from_arrays(BOXES, [0.9, 0.8, 0.7], [0, 1, 2], labels=["person", "car", "bike"])


@pytest.mark.parametrize("thickness", [1, 2, 3])
def test_box_outlines_match_cpu_drawing(thickness):
    style = DrawStyle(border_width=thickness, show_labels=False, show_confidence=False, show_track_id=False)
    cpu = cpu_draw.draw_frame(np.zeros((120, 128, 3), np.uint8), _objects(), [], style)
    gpu = draw_frame(torch.zeros(3, 120, 128, dtype=torch.uint8), _objects(), [], style)
    gpu = gpu.permute(1, 2, 0).numpy()
    import cv2

    drawn_cpu, drawn_gpu = cpu.any(axis=2), gpu.any(axis=2)
    assert drawn_cpu.sum() > 300 and drawn_gpu.sum() > 300
    near = np.ones((3, 3), np.uint8)  # OpenCV centres thick lines slightly differently: allow one pixel
    assert not (drawn_gpu & ~cv2.dilate(drawn_cpu.astype(np.uint8), near).astype(bool)).any()
    assert not (drawn_cpu & ~cv2.dilate(drawn_gpu.astype(np.uint8), near).astype(bool)).any()
    np.testing.assert_array_equal(gpu[drawn_cpu & drawn_gpu], cpu[drawn_cpu & drawn_gpu])


def test_nv12_boxes_and_labels_have_the_colours():
    frame = rgb_to_nv12(np.full((120, 128, 3), 40, np.uint8))
    draw_frame(frame, _objects(), [], DrawStyle())
    rgb = to_rgb(frame[None], "nv12", torch.float32).clamp(0, 255)[0].permute(1, 2, 0).numpy()
    color = DrawStyle().colors_for(np.array([0]))[0].astype(np.float32)
    assert np.abs(rgb[30, 10] - color).max() < 12  # left edge of the first box
    assert np.abs(rgb[45, 35] - 40).max() < 3  # inside the box, below its label: untouched
    labelled = rgb[14:26, 12:40]  # label of box 0 (no room above: inside; background = box colour)
    assert (np.abs(labelled - color).max(axis=2) < 12).mean() > 0.3
    assert rgb_to_yuv((255, 255, 255)) == (235, 128, 128)


def test_privacy_pixelates_and_fills():
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(0, 256, (3, 64, 64), dtype=np.uint8))
    before = frame.clone()
    pixelate(frame, np.array([[0, 0, 32, 32]]), strength=8)
    block = frame[0, :8, :8]
    assert int(block.max()) - int(block.min()) <= 1 and torch.equal(frame[:, 40:, 40:], before[:, 40:, 40:])
    pixelate(frame, np.array([[40, 40, 64, 64]]), fill=True)
    assert int(frame[:, 40:, 40:].max()) == 0
    style = DrawStyle(privacy_classes=[1], privacy_mode="fill", show_labels=False, show_confidence=False,
                      show_track_id=False)
    image = torch.full((3, 120, 128), 200, dtype=torch.uint8)
    draw_frame(image, _objects(), [], style)
    assert int(image[:, 50, 90].max()) == 0  # car (class 1) filled black, not outlined


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")
def test_cuda_frames_draw_like_cpu_tensors():
    frame = rgb_to_nv12(np.full((120, 128, 3), 90, np.uint8))
    on_gpu = draw_frame(frame.cuda(), _objects(), [], DrawStyle())
    on_cpu = draw_frame(frame.clone(), _objects(), [], DrawStyle())
    assert on_gpu.device.type == "cuda" and torch.equal(on_gpu.cpu(), on_cpu)
