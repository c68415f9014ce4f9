from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import vistream
from tests.media.rtsp_publisher import PublisherProcess, free_port
from vistream.core.errors import SourceError
from vistream.media.uri import parse_uri


def run_single(uri: str, extra: str = "", timeout: float = 60):
    pipeline = vistream.parse_launch(f"urisrc name=src uri={uri} {extra} ! appsink name=out")
    pipeline.run(timeout=timeout)
    return pipeline, list(pipeline["out"].frames())


def test_decodes_every_frame_of_a_real_clip(bikes):
    pipeline, frames = run_single(str(bikes))
    assert len(frames) == 250
    assert (frames[0].width, frames[0].height) == (640, 272)
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (272, 640, 3)
    assert frames[0].fps == pytest.approx(25.0)
    pts = [f.pts for f in frames]
    assert pts[0] == 0 and all(b > a for a, b in zip(pts, pts[1:]))
    assert pts[25] == pytest.approx(1e9, rel=1e-3)
    assert not pipeline.bus.errors


def test_loop_and_num_buffers_keep_timestamps_increasing(bikes):
    pipeline, frames = run_single(f"file://{bikes}", "loop=true num-buffers=300")
    assert [f.frame_num for f in frames] == list(range(300))
    assert pipeline["src"].loops == 1 and pipeline["src"].reconnects == 0  # a file's next loop is no reconnect
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))


def test_drop_frame_interval(bikes):
    _, frames = run_single(str(bikes), "drop-frame-interval=5")
    assert len(frames) == 50


def test_image_sequence(tmp_path: Path):
    for index in range(6):
        cv2.imwrite(str(tmp_path / f"img_{index:03d}.png"), np.full((24, 32, 3), index * 40, np.uint8))
    _, frames = run_single(str(tmp_path / "img_%03d.png"))
    assert len(frames) == 6
    assert [int(f.image.mean()) for f in frames] == [0, 40, 80, 120, 160, 200]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("/no/such/video.mp4", "file not found: '/no/such/video.mp4'"),
        ("gopher://host/x", "unsupported uri scheme 'gopher'"),
        ("/dev/video99", "camera device not found"),
    ],
)
def test_bad_uris_give_clear_errors(uri, message):
    pipeline, frames = run_single(uri, timeout=20) if not uri.startswith("gopher") else (None, None)
    if pipeline is None:
        with pytest.raises(SourceError, match=message):
            parse_uri(uri)
        with pytest.raises(vistream.PipelineError, match=message):
            vistream.parse_launch(f"urisrc uri={uri} ! fakesink").start()
        return
    assert frames == []
    assert message in pipeline.bus.errors[0].text and pipeline.bus.errors[0].element == "src"


def test_corrupt_and_truncated_files_fail_alone(tmp_path: Path, bikes, vtest):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(vtest.read_bytes()[: 1_500_000])
    pipeline = vistream.parse_launch(
        f"urisrc name=good0 uri={bikes} ! mux.sink_0 "
        f"urisrc name=bad uri={garbage} ! mux.sink_1 "
        f"urisrc name=cut uri={truncated} ! mux.sink_2 "
        f"urisrc name=good1 uri={bikes} num-buffers=100 ! mux.sink_3 "
        "streammux name=mux batch-size=4 ! appsink name=out")
    pipeline.run(timeout=120)
    counts: dict[int, int] = {}
    for frame in pipeline["out"].frames():
        counts[frame.source_id] = counts.get(frame.source_id, 0) + 1
    assert counts[0] == 250 and counts[3] == 100
    errors = {m.element: m.text for m in pipeline.bus.errors}
    assert "bad" in errors and str(garbage) in errors["bad"]
    # The truncated AVI decodes up to where it was cut, then ends (or reports) without hurting others.
    assert 0 < counts.get(2, 0) < 795


def test_rtsp_publisher_disconnects_and_comes_back():
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/live"
    pipeline = vistream.parse_launch(
        f"urisrc name=cam uri={url} rtsp-listen=true reconnect-interval=0.1 ! mux.sink_0 "
        "testsrc num-buffers=-1 live=true framerate=30 width=32 height=32 ! mux.sink_1 "
        "streammux name=mux live-source=true ! appsink name=out keep=-1")
    pipeline.start()
    try:
        sent, error = PublisherProcess(url, frames=45).start().join(60)
        assert (sent, error) == (45, "")

        def received() -> int:
            return sum(1 for f in pipeline["out"].frames() if f.source_id == 0)

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and received() < 44:
            time.sleep(0.1)
        before = received()
        sent, error = PublisherProcess(url, frames=45).start().join(60)
        assert (sent, error) == (45, "")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and received() < before + 40:
            time.sleep(0.1)
        after = received()
        other = sum(1 for f in pipeline["out"].frames() if f.source_id == 1)
    finally:
        pipeline.stop()
    assert before >= 40, "frames arrive from the first connection"
    assert after >= before + 40, "the source reconnected and frames arrive again"
    assert pipeline["cam"].reconnects >= 1
    assert other > 30, "the other stream kept running throughout"
    numbers = [f.frame_num for f in pipeline["out"].frames() if f.source_id == 0]
    assert numbers == list(range(len(numbers))), "frame numbers continue across the reconnect"


def test_unreachable_rtsp_gives_up_after_attempts_without_stopping_others():
    port = free_port()  # nothing listens here
    pipeline = vistream.parse_launch(
        f"urisrc name=cam uri=rtsp://127.0.0.1:{port}/x reconnect-attempts=2 reconnect-interval=0.05 timeout=1 ! mux.sink_0 "
        "testsrc num-buffers=20 width=32 height=32 ! mux.sink_1 streammux name=mux ! appsink name=out")
    pipeline.run(timeout=30)
    assert sum(1 for f in pipeline["out"].frames() if f.source_id == 1) == 20
    errors = [m for m in pipeline.bus.errors if m.element == "cam"]
    assert errors and "gave up after 2 reconnect attempts" in errors[0].text
    warnings = [m for m in pipeline.bus.messages(vistream.MessageType.WARNING) if m.element == "cam"]
    assert len(warnings) == 2


def test_http_source(tmp_path: Path, bikes):
    import functools
    import http.server
    import threading

    import av

    # Python's http.server has no range requests: serve a "fast start" MP4 (index first).
    with av.open(str(bikes)) as reader, av.open(str(tmp_path / "clip.mp4"), "w", options={"movflags": "faststart"}) as writer:
        stream = writer.add_stream_from_template(reader.streams.video[0])
        for packet in reader.demux(reader.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                writer.mux(packet)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        pipeline, frames = run_single(f"http://127.0.0.1:{port}/clip.mp4", "reconnect-attempts=0")
        missing, none = run_single(f"http://127.0.0.1:{port}/nothing.mp4", "reconnect-attempts=1 reconnect-interval=0.05")
    finally:
        server.shutdown()
    assert len(frames) == 250 and not pipeline.bus.errors
    assert none == [] and "404" in missing.bus.errors[0].text and "gave up after 1" in missing.bus.errors[0].text
