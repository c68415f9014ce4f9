"""multiurisrc: many streams decoded and batched by one element, on real clips."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import vistream
from vistream.core.events import StreamEOS


def run(description: str, timeout: float = 120):
    pipeline = vistream.parse_launch(description)
    pipeline.run(timeout=timeout)
    return pipeline, list(pipeline["out"].frames())


def per_stream(frames) -> dict[int, list]:
    streams: dict[int, list] = {}
    for frame in frames:
        streams.setdefault(frame.source_id, []).append(frame)
    return streams


def test_batches_every_frame_of_real_clips_across_streams(bikes, vtest):
    pipeline, frames = run(f"multiurisrc uri-list={bikes},{vtest},{bikes} batch-size=3 ! appsink name=out")
    streams = per_stream(frames)
    assert {sid: len(f) for sid, f in streams.items()} == {0: 250, 1: 795, 2: 250}
    for sid, got in streams.items():
        assert [f.frame_num for f in got] == list(range(len(got)))
        pts = [f.pts for f in got]
        assert pts[0] == 0 and all(b > a for a, b in zip(pts, pts[1:], strict=False))
        assert got[0].meta.source_name == f"{pipeline['out'].pads['sink'].peer.element.name}_{sid}"
    assert (streams[1][0].width, streams[1][0].height) == (768, 576)
    np.testing.assert_array_equal(streams[0][100].image, streams[2][100].image)  # the same clip twice
    batches = pipeline["out"].batches
    assert max(len(b) for b in batches) == 3 and any(len(set(b.source_ids)) > 1 for b in batches)
    ended = sorted(e.source_id for e in pipeline["out"].events if isinstance(e, StreamEOS))
    assert ended == [0, 1, 2] and not pipeline.bus.errors


def test_a_missing_or_corrupt_stream_fails_alone(tmp_path: Path, bikes):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    missing = tmp_path / "missing.mp4"
    pipeline, frames = run(f"multiurisrc name=multi uri-list={missing},{bikes},{garbage} ! appsink name=out")
    assert {sid: len(f) for sid, f in per_stream(frames).items()} == {1: 250}
    errors = " | ".join(m.text for m in pipeline.bus.errors)
    assert str(missing) in errors and str(garbage) in errors and "multiurisrc 'multi'" in errors
    assert sorted(e.source_id for e in pipeline["out"].events if isinstance(e, StreamEOS)) == [0, 1, 2]


def test_sync_paces_each_stream_at_its_frame_rate():
    started = time.monotonic()
    _, frames = run("multiurisrc sync=true uri-list=lavfi:testsrc2=size=64x48:rate=20:duration=0.6,"
                    "lavfi:testsrc2=size=64x48:rate=10:duration=0.6 ! appsink name=out")
    elapsed = time.monotonic() - started
    streams = per_stream(frames)
    assert len(streams[0]) == 12 and len(streams[1]) == 6
    assert elapsed >= 0.5  # 12 frames at 20 fps take 0.55 s when paced


def test_bad_properties_are_named():
    with pytest.raises(Exception, match="uri-list"):
        vistream.parse_launch("multiurisrc ! appsink name=out").run(timeout=10)
    pipeline = vistream.parse_launch("multiurisrc uri-list=ftp://host/x.mp4 ! appsink name=out")
    with pytest.raises(Exception, match="ftp://host/x.mp4"):
        pipeline.run(timeout=10)


# ---- the NVDEC path, on the CPU: a stand-in decoder that reuses its surfaces like PyNvVideoCodec --------
class _ReusingDecoder:
    """Serves NV12 frames as views of one buffer that every read overwrites (as NVDEC surfaces are reused)."""

    clips: dict[str, list[np.ndarray]] = {}
    opened: list[_ReusingDecoder] = []

    def __init__(self, target: str, gpu_id: int = 0, low_latency: bool = False, threaded: bool = False) -> None:
        import torch

        self.images = self.clips[Path(target).name]
        self.surfaces = torch.zeros((4, *self.images[0].shape), dtype=torch.uint8)
        self.position = 0
        self.fps = 25.0
        self.broken = "broken" in target
        self.rewinds = 0
        _ReusingDecoder.opened.append(self)

    def read_views(self, count: int, stream_ptr: int) -> list:
        import torch

        from vistream.core.errors import SourceError

        if self.broken and self.position >= 8:
            raise SourceError("NVDEC failed on 'broken.mp4': stand-in failure")
        views = []
        for slot in range(min(count, len(self.images) - self.position)):
            self.surfaces[slot].copy_(torch.from_numpy(self.images[self.position]))
            views.append(self.surfaces[slot])
            self.position += 1
        return views

    def rewind(self) -> bool:
        self.position = 0
        self.rewinds += 1
        return True

    def close(self) -> None:
        self.surfaces.zero_()


@pytest.fixture
def reusing_decoder(monkeypatch, tmp_path: Path, bikes):
    """multiurisrc's NVDEC path on the CPU: 30 NV12 frames of bikes.mp4 served by the stand-in decoder;
    ``other.mp4`` serves 21 of them backwards, ``broken.mp4`` fails after 8."""
    pytest.importorskip("torch")
    import av

    from vistream.accel.cuda_preprocess import rgb_to_nv12
    from vistream.media import multiurisrc

    with av.open(str(bikes)) as container:
        rgb = [f.to_ndarray(format="rgb24") for _, f in zip(range(30), container.decode(video=0), strict=False)]
    nv12 = [rgb_to_nv12(image).numpy() for image in rgb]
    paths = {"bikes": bikes, "other": tmp_path / "other.mp4", "broken": tmp_path / "broken.mp4"}
    for name in ("other", "broken"):
        paths[name].write_bytes(bikes.read_bytes())
    _ReusingDecoder.clips = {bikes.name: nv12, "other.mp4": nv12[::-1][:21], "broken.mp4": nv12}
    _ReusingDecoder.opened = []
    monkeypatch.setattr(multiurisrc, "NvdecReader", _ReusingDecoder)
    monkeypatch.setattr(multiurisrc, "nvdec_usable", lambda gpu_id: (True, ""))
    monkeypatch.setattr(multiurisrc, "_copy_stream", lambda gpu_id: None)
    return paths, nv12


def test_nvdec_streams_are_read_copied_and_batched_in_one_thread(reusing_decoder):
    paths, nv12 = reusing_decoder
    bikes, other, broken = paths["bikes"], paths["other"], paths["broken"]
    pipeline, frames = run(f"multiurisrc decoder=nvdec direct-nvdec=true batch-size=4 uri-list={bikes},{other},{broken} "
                           "! appsink name=out")
    streams = per_stream(frames)
    assert len(streams[0]) == 30 and len(streams[1]) == 21 and len(streams[2]) == 8
    for got, want in ((streams[0], nv12), (streams[1], nv12[::-1][:21]), (streams[2], nv12)):
        for frame, expected in zip(got, want, strict=False):
            assert frame.memory == "cuda"  # NVDEC frames: on the GPU on a real machine
            np.testing.assert_array_equal(np.asarray(frame.image), expected)  # copied before the surface was reused
    assert [f.pts for f in streams[0][:3]] == [0, 40_000_000, 80_000_000]
    assert max(len(b) for b in pipeline["out"].batches) == 4
    errors = [m.text for m in pipeline.bus.errors]
    assert len(errors) == 1 and "stream 2" in errors[0] and str(broken) in errors[0] and "stand-in failure" in errors[0]
    assert sorted(e.source_id for e in pipeline["out"].events if isinstance(e, StreamEOS)) == [0, 1, 2]


def test_looping_nvdec_streams_start_again_on_their_decoders(reusing_decoder):
    paths, nv12 = reusing_decoder
    pipeline = vistream.parse_launch(f"multiurisrc decoder=nvdec direct-nvdec=true loop=true "
                                     f"uri-list={paths['bikes']},{paths['other']} ! appsink name=out")
    pipeline.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(per_stream(pipeline["out"].frames()).get(1, [])) < 50:
        time.sleep(0.02)
    pipeline.stop()
    other = per_stream(pipeline["out"].frames())[1][:50]
    assert [f.frame_num for f in other] == list(range(50))
    assert [f.pts for f in other] == [i * 40_000_000 for i in range(50)]  # one clock across the loops
    np.testing.assert_array_equal(np.asarray(other[21 + 3].image), nv12[::-1][3])  # the second pass, copied
    assert len(_ReusingDecoder.opened) == 2 and min(d.rewinds for d in _ReusingDecoder.opened) >= 1
    assert not pipeline.bus.errors


def test_drop_frame_interval_on_both_paths(reusing_decoder):
    paths, nv12 = reusing_decoder
    _, direct = run(f"multiurisrc decoder=nvdec direct-nvdec=true drop-frame-interval=3 uri-list={paths['bikes']} "
                    "! appsink name=out")
    assert len(direct) == 10 and direct[1].pts == 120_000_000 and direct[0].fps == pytest.approx(25 / 3)
    np.testing.assert_array_equal(np.asarray(direct[1].image), nv12[3])
    _, helped = run("multiurisrc drop-frame-interval=2 uri-list=lavfi:testsrc2=size=32x24:rate=10:duration=1 "
                    "! appsink name=out")
    assert len(helped) == 5 and helped[0].fps == pytest.approx(5.0)


def test_an_unreachable_camera_is_given_up_alone():
    from tests.conftest import free_port

    camera = f"rtsp://127.0.0.1:{free_port()}/cam"
    started = time.monotonic()
    pipeline, frames = run(f"multiurisrc reconnect-attempts=0 timeout=2 uri-list={camera},"
                           "lavfi:testsrc2=size=32x24:rate=10:duration=0.5 ! appsink name=out", timeout=60)
    assert {sid: len(f) for sid, f in per_stream(frames).items()} == {1: 5}
    errors = [m.text for m in pipeline.bus.errors]
    assert len(errors) == 1 and camera in errors[0] and "gave up after 0 reconnect attempts" in errors[0]
    assert time.monotonic() - started < 30
