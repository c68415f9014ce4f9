"""urisrc's decoder choice (auto / cpu / nvdec) and NVDEC decoding (the latter on the GPU machine only)."""

from __future__ import annotations

import numpy as np
import pytest

import vistream
from vistream.core.errors import PipelineError
from vistream.media.nvdec import SessionLimiter, nvdec_usable

USABLE, REASON = nvdec_usable(0)
NVDEC = pytest.mark.skipif(not USABLE, reason=f"NVDEC not usable: {REASON}")


def test_session_limiter_counts_per_gpu():
    limiter = SessionLimiter()
    assert [limiter.acquire(0, 2) for _ in range(3)] == [True, True, False]
    assert limiter.acquire(1, 2) and limiter.open_count(0) == 2
    limiter.release(0)
    assert limiter.acquire(0, 2) and limiter.acquire(5, 0)


@pytest.mark.skipif(USABLE, reason="checks the fallback on a machine without NVDEC")
def test_auto_falls_back_to_cpu_and_nvdec_fails_clearly(bikes):
    p = vistream.parse_launch(f"urisrc name=src uri={bikes} num-buffers=3 ! appsink name=out")
    p.run(timeout=20)
    assert p["src"].decoding_on == "cpu" and p["src"].output_memory(None) == "cpu"
    assert [f.memory for b in p["out"].batches for f in b.frames] == ["cpu"] * 3
    p = vistream.parse_launch(f"urisrc uri={bikes} decoder=nvdec ! fakesink")
    with pytest.raises(PipelineError, match="decoder=nvdec is not usable: .*use decoder=cpu or auto"):
        p.run(timeout=10)


def test_cpu_decoder_reports_cpu_memory(bikes):
    p = vistream.parse_launch(f"urisrc name=src uri={bikes} decoder=cpu num-buffers=2 ! fakesink")
    assert p["src"].output_memory(None) == "cpu"


@pytest.mark.gpu
@NVDEC
def test_nvdec_frames_stay_on_gpu_and_match_cpu_decode(bikes):
    from vistream.accel.cuda_preprocess import to_rgb

    gpu = vistream.parse_launch(f"urisrc name=src uri={bikes} decoder=nvdec num-buffers=30 ! appsink name=out")
    gpu.run(timeout=60)
    frames = [f for b in gpu["out"].batches for f in b.frames]
    assert gpu["src"].decoding_on == "nvdec" and gpu["src"].output_memory(None) == "cuda"
    assert len(frames) == 30 and all(f.memory == "cuda" for f in frames)
    assert (frames[0].width, frames[0].height) == (640, 272) and tuple(frames[0].image.shape) == (408, 640)
    cpu = vistream.parse_launch(f"urisrc uri={bikes} decoder=cpu num-buffers=30 ! appsink name=out")
    cpu.run(timeout=60)
    ref = [f.image for b in cpu["out"].batches for f in b.frames]
    import torch

    rgb = to_rgb(frames[29].image[None], "nv12", torch.float32).clamp(0, 255)[0].permute(1, 2, 0).cpu().numpy()
    assert np.abs(rgb - ref[29].astype(np.float32)).mean() < 3.0
