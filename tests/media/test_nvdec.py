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


# ---- urisrc's NVDEC path on the CPU: a stand-in reader serving real NV12 frames of bikes.mp4 ----------
class _FileReader:
    """Serves ``images`` once per pass like a threaded NVDEC file reader; ``rewind`` as PyNvVideoCodec's
    decoder reconfiguration (or refused, as by a reader that cannot)."""

    images: list = []
    can_rewind = True
    opened: list[_FileReader] = []

    def __init__(self, target: str, gpu_id: int = 0, low_latency: bool = False, threaded: bool = False) -> None:
        self.fps, self.rewinds, self.closed = 25.0, 0, False
        _FileReader.opened.append(self)

    def frames(self):
        import torch

        from vistream.media.nvdec import DecodedFrame

        for index, image in enumerate(self.images):
            yield DecodedFrame(torch.from_numpy(image), int(index * 1e9 / self.fps))

    def rewind(self) -> bool:
        self.rewinds += self.can_rewind
        return self.can_rewind

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def file_reader(monkeypatch, bikes):
    pytest.importorskip("torch")
    import av

    from vistream.accel.cuda_preprocess import rgb_to_nv12
    from vistream.media import urisrc

    with av.open(str(bikes)) as container:
        rgb = [f.to_ndarray(format="rgb24") for _, f in zip(range(30), container.decode(video=0), strict=False)]
    _FileReader.images = [rgb_to_nv12(image).numpy() for image in rgb]
    _FileReader.opened = []
    monkeypatch.setattr(urisrc, "NvdecReader", _FileReader)
    monkeypatch.setattr(urisrc, "nvdec_usable", lambda gpu_id: (True, ""))
    return _FileReader


@pytest.mark.parametrize("can_rewind", [True, False])
def test_a_looping_file_starts_again_on_the_same_decoder(file_reader, monkeypatch, bikes, can_rewind):
    monkeypatch.setattr(file_reader, "can_rewind", can_rewind)
    p = vistream.parse_launch(f"urisrc name=src uri={bikes} decoder=nvdec loop=true num-buffers=70 ! appsink name=out")
    p.run(timeout=30)
    frames = [f for b in p["out"].batches for f in b.frames]
    assert [f.frame_num for f in frames] == list(range(70)) and all(f.memory == "cuda" for f in frames)
    assert [f.pts for f in frames] == [int(i * 1e9 / 25) for i in range(70)]  # one clock across the loops
    np.testing.assert_array_equal(np.asarray(frames[65].image), file_reader.images[5])
    assert p["src"].loops == 2 and p["src"].reconnects == 0 and not p.bus.errors
    if can_rewind:  # one decoder for the whole run, started again twice
        assert len(file_reader.opened) == 1 and file_reader.opened[0].rewinds == 2
    else:  # a reader that cannot start again is replaced at each loop
        assert len(file_reader.opened) == 3 and all(r.closed for r in file_reader.opened)


def test_rewind_starts_the_file_again_on_the_same_threaded_decoder():
    from vistream.core.errors import SourceError
    from vistream.media.nvdec import LIFECYCLE_LOCK, NvdecReader

    class ThreadedDecoder:  # PyNvVideoCodec's object from CreateThreadedDecoder, as far as rewind uses it
        def __init__(self, fail: bool = False) -> None:
            self.calls, self.fail = [], fail

        def reconfigure_decoder(self, source: str, start_frame: int) -> None:
            self.calls.append((source, start_frame, LIFECYCLE_LOCK.locked()))
            if self.fail:
                raise RuntimeError("stand-in failure")

    reader = object.__new__(NvdecReader)  # no GPU here: only the state rewind reads
    reader.target, reader._threaded, reader._surfaces = "clip.mp4", ThreadedDecoder(), ["surface"]
    assert reader.rewind() and reader._threaded.calls == [("clip.mp4", 0, True)] and reader._surfaces == []
    reader._threaded = ThreadedDecoder(fail=True)
    with pytest.raises(SourceError, match="NVDEC cannot start 'clip.mp4' again: stand-in failure"):
        reader.rewind()
    reader._threaded = None  # a packet-by-packet reader (network streams) cannot: the caller opens a new one
    assert reader.rewind() is False
