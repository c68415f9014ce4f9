"""rtspsink: two PyAV clients (TCP and UDP) read one served stream at once; publishing to a server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest

import vistream
from tests.conftest import require
from vistream.core.errors import ConfigError, PipelineError
from vistream.media.rtsp_server import free_port


def gst_available() -> bool:
    try:
        from vistream.media.gstreamer import import_gst

        import_gst()
        return True
    except ConfigError:
        return False


@pytest.fixture(scope="module")
def gstreamer() -> None:
    require(gst_available(), "GStreamer rtsp-server through PyGObject (apt: gir1.2-gst-rtsp-server-1.0 python3-gi)")


def read_frames(url: str, transport: str, count: int, barrier: threading.Barrier, out: dict) -> None:
    try:
        options = {"rtsp_transport": transport, "probesize": "32", "analyzeduration": "0"}
        with av.open(url, options=options, timeout=20) as container:
            barrier.wait(20)  # both clients are connected at the same time
            images = []
            for frame in container.decode(video=0):
                images.append(frame.to_ndarray(format="rgb24"))
                if len(images) == count:
                    break
            out[transport] = images
            barrier.wait(20)
    except Exception as exc:  # reported by the test
        out[transport] = exc


def test_two_clients_tcp_and_udp_read_the_same_stream(gstreamer) -> None:
    port = free_port()
    pipeline = vistream.parse_launch(
        "testsrc live=true pattern=ball framerate=25 num-buffers=-1 width=320 height=240 "
        f"! encode zerolatency=true gop=25 ! rtspsink name=rtsp port={port} address=127.0.0.1 mount=/cam")
    pipeline.start()
    try:
        (url,) = pipeline["rtsp"].urls
        assert url == f"rtsp://127.0.0.1:{port}/cam"
        results: dict = {}
        barrier = threading.Barrier(2)
        clients = [threading.Thread(target=read_frames, args=(url, transport, 25, barrier, results))
                   for transport in ("tcp", "udp")]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        assert not pipeline.bus.errors
    finally:
        pipeline.stop()
    for transport in ("tcp", "udp"):
        images = results.get(transport)
        assert isinstance(images, list), f"{transport} client failed: {images!r}"
        assert len(images) == 25 and images[0].shape == (240, 320, 3)
        assert len({int(np.argmax(i.sum(axis=(0, 2)))) for i in images}) > 3, "the ball should move"


def test_one_mount_per_source(gstreamer) -> None:
    port = free_port()
    pipeline = vistream.parse_launch(
        "testsrc live=true pattern=white num-buffers=-1 width=64 height=48 ! mux.sink_0 "
        "testsrc live=true pattern=black num-buffers=-1 width=64 height=48 ! mux.sink_1 "
        f"streammux name=mux ! rtspsink name=rtsp port={port} address=127.0.0.1 mount=/cam{{source_id}}")
    pipeline.start()
    try:
        means = {}
        for source_id in (0, 1):
            url = f"rtsp://127.0.0.1:{port}/cam{source_id}"
            for _ in range(50):  # mounts appear with each source's first frame
                if url in pipeline["rtsp"].urls:
                    break
                threading.Event().wait(0.1)
            with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
                means[source_id] = next(container.decode(video=0)).to_ndarray(format="rgb24").mean()
    finally:
        pipeline.stop()
    assert means[0] > 200 and means[1] < 40


EXTERNAL_SERVER = """
import json, sys, av
print("ready", flush=True)
with av.open(sys.argv[1], options={"rtsp_flags": "listen", "listen_timeout": "20"}) as container:
    images = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
print(json.dumps({"frames": len(images), "shape": list(images[0].shape), "last_mean": float(images[-1].mean())}))
"""


def test_publish_to_an_external_rtsp_server() -> None:
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/live"
    # FFmpeg's RTSP listen mode, in its own process, plays the external server (it receives RECORD)
    server = subprocess.Popen([sys.executable, "-c", EXTERNAL_SERVER, url], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # av.open is listening by now (a test connection would use up its one accept)
        pipeline = vistream.parse_launch(f"testsrc pattern=white num-buffers=40 width=160 height=120 "
                                         f"framerate=25 ! rtspsink location={url}")
        pipeline.run(timeout=30)
        output = server.communicate(timeout=30)[0]
    finally:
        server.kill()
    received = json.loads(output)
    assert received["frames"] >= 35 and received["shape"] == [120, 160, 3]
    assert received["last_mean"] > 200


def test_port_in_use_is_a_start_error(gstreamer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pipeline = vistream.parse_launch(f"testsrc num-buffers=1 ! rtspsink port={port} address=127.0.0.1")
        with pytest.raises(PipelineError, match=f"127.0.0.1:{port}"):
            pipeline.start()


def test_bad_publish_url_is_a_start_error() -> None:
    with pytest.raises(PipelineError, match="rtsp:// URL"):
        vistream.parse_launch("testsrc num-buffers=1 ! rtspsink location=http://x/y").start()


def test_unreachable_publish_target_is_reported_not_fatal() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/nobody"
    pipeline = vistream.parse_launch(f"testsrc num-buffers=30 width=64 height=48 ! rtspsink location={url}")
    pipeline.run(timeout=30)
    errors = pipeline.bus.errors
    assert errors and "publish" in errors[0].text and url in errors[0].text
    assert len(errors) < 5, "one report per reconnect attempt, not one per frame"


def test_late_joiner_gets_a_keyframe_at_once(gstreamer) -> None:
    port = free_port()
    pipeline = vistream.parse_launch(
        "testsrc live=true pattern=ball framerate=25 num-buffers=-1 width=160 height=120 "
        f"! encode zerolatency=true gop=500 ! rtspsink name=rtsp port={port} address=127.0.0.1 mount=/late")
    pipeline.start()
    try:
        time.sleep(1.5)  # the only scheduled keyframe (of one every 20 s) is long gone
        started = time.monotonic()
        with av.open(f"rtsp://127.0.0.1:{port}/late", options={"rtsp_transport": "tcp"}, timeout=20) as container:
            frames = [f for _, f in zip(range(5), container.decode(video=0))]
        waited = time.monotonic() - started
    finally:
        pipeline.stop()
    assert len(frames) == 5 and waited < 8


def test_h265_is_served_too(gstreamer) -> None:
    port = free_port()
    pipeline = vistream.parse_launch(
        "testsrc live=true pattern=white framerate=25 num-buffers=-1 width=160 height=120 "
        f"! encode codec=h265 zerolatency=true gop=25 ! rtspsink codec=h265 port={port} address=127.0.0.1 mount=/hevc")
    pipeline.start()
    try:
        with av.open(f"rtsp://127.0.0.1:{port}/hevc", options={"rtsp_transport": "tcp"}, timeout=20) as container:
            assert container.streams.video[0].codec_context.name == "hevc"
            frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(5), container.decode(video=0))]
    finally:
        pipeline.stop()
    assert len(frames) == 5 and frames[-1].mean() > 200
