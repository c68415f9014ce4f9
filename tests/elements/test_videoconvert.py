"""videoconvert: host <-> GPU frame copies (the conversion numerics run on the CPU in CI)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import vistream
from vistream.core.errors import PipelineError

torch = pytest.importorskip("torch")

from vistream.elements.videoconvert import to_device_rgb, to_host_rgb  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")


def _bikes_nv12(bikes):
    import av

    with av.open(str(bikes)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="nv12"), frame.to_ndarray(format="rgb24")


def test_nv12_and_chw_tensors_come_back_as_rgb(bikes):
    nv12, _ = _bikes_nv12(bikes)
    rgb = to_host_rgb(torch.from_numpy(nv12))
    ref = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)
    assert rgb.shape == (272, 640, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - ref.astype(int)).max() <= 2
    chw = torch.from_numpy(ref).permute(2, 0, 1).contiguous()
    np.testing.assert_array_equal(to_host_rgb(chw), ref)
    np.testing.assert_array_equal(to_device_rgb(ref, "cpu").permute(1, 2, 0).numpy(), ref)


def test_cpu_frames_pass_through_without_copies():
    p = vistream.parse_launch("testsrc num-buffers=3 ! videoconvert name=vc memory=cpu ! appsink name=out")
    p.run(timeout=10)
    assert [f.memory for b in p["out"].batches for f in b.frames] == ["cpu"] * 3
    assert p["vc"].host_to_device == p["vc"].device_to_host == 0
    assert p["vc"].output_memory("cuda") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_memory_cuda_without_gpu_fails_at_start():
    p = vistream.parse_launch("testsrc num-buffers=1 ! videoconvert memory=cuda ! fakesink")
    with pytest.raises(PipelineError, match="memory=cuda but GPU 0 is not available"):
        p.run(timeout=10)


@pytest.mark.gpu
@CUDA
def test_round_trip_on_gpu_counts_copies():
    p = vistream.parse_launch("testsrc num-buffers=4 ! videoconvert name=up memory=cuda ! "
                              "videoconvert name=down memory=cpu ! appsink name=out")
    p.run(timeout=20)
    frames = [f for b in p["out"].batches for f in b.frames]
    assert [f.memory for f in frames] == ["cpu"] * 4 and frames[0].image.ndim == 3
    assert p["up"].host_to_device == 4 and p["down"].device_to_host == 4
